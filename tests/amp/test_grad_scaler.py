"""GradScaler: PyTorch's dynamic loss scaling, step by step.

The scale trajectory is pinned on a planted overflow (inf gradients at known steps):
halve and skip, grow after ``growth_interval`` clean steps; skipped steps leave the
parameters *and* the optimizer state untouched; unscale_ then clipping sees the true
gradients; state_dict round trips. When PyTorch is installed, the same run is compared
with ``torch.amp.GradScaler`` as an oracle.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad import optim
from minigrad._backend import to_device
from minigrad.amp import GradScaler
from minigrad.nn.utils import clip_grad_norm_

# The planted overflows are meant to overflow.
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")

C_CLEAN = np.array([1.0, -2.0, 0.5], np.float32)


def host(a):
    return np.asarray(to_device(a, "cpu"))


def planted_loss(w, t, bad_steps, poison=1e36):
    """(w·c).sum() with c[1] = 1e36 on the bad steps: the scaled gradient overflows."""
    c = C_CLEAN.copy()
    if t in bad_steps:
        c[1] = poison
    return (w * mg.tensor(c, device=w.device)).sum()


def test_scale_trajectory_on_planted_overflow(device):
    w = mg.tensor([1.0, 1.0, 1.0], device=device, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    scaler = GradScaler(init_scale=2.0**10, growth_interval=3)
    bad = {2, 7}
    expected_scale = [1024, 512, 512, 512, 1024, 1024, 512, 512, 512, 1024]
    expected_tracker = [1, 0, 1, 2, 0, 1, 0, 1, 2, 0]
    w_ref = np.ones(3, np.float32)
    for t in range(1, 11):
        opt.zero_grad()
        loss = planted_loss(w, t, bad)
        scaler.scale(loss).backward()
        before = host(w.data).copy()
        scaler.step(opt)
        scaler.update()
        if t in bad:
            np.testing.assert_array_equal(host(w.data), before)  # skipped
        else:
            w_ref = w_ref - np.float32(0.1) * C_CLEAN              # the true gradient is c
            np.testing.assert_allclose(host(w.data), w_ref, rtol=1e-6)
        assert scaler.get_scale() == expected_scale[t - 1], t
        assert scaler._get_growth_tracker() == expected_tracker[t - 1], t


def test_nan_gradient_skips_and_backs_off():
    w = mg.tensor([1.0, 1.0, 1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    scaler = GradScaler()
    loss = planted_loss(w, 1, {1}, poison=np.nan)
    scaler.scale(loss).backward()
    assert scaler.step(opt) is None
    scaler.update()
    np.testing.assert_array_equal(w.data, np.ones(3, np.float32))
    assert scaler.get_scale() == 2.0**15


def test_skipped_steps_leave_optimizer_state_untouched():
    w = mg.tensor([1.0, 1.0, 1.0], requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    scaler = GradScaler(init_scale=2.0**12)
    for t in (1, 2):
        opt.zero_grad()
        scaler.scale(planted_loss(w, t, {2})).backward()
        snapshot = {k: (v.copy() if hasattr(v, "copy") else v) for k, v in opt.state[w].items()} \
            if w in opt.state else None
        scaler.step(opt)
        scaler.update()
    # step 2 was skipped: Adam's step count, m and v are those of step 1
    assert opt.state[w]["step"] == 1
    for key in ("m", "v"):
        np.testing.assert_array_equal(opt.state[w][key], snapshot[key])


def test_growth_after_growth_interval_clean_steps():
    w = mg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.0)
    scaler = GradScaler(init_scale=4.0, growth_factor=3.0, growth_interval=2)
    scales = []
    for _ in range(6):
        opt.zero_grad()
        scaler.scale((w * 2).sum()).backward()
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
    assert scales == [4.0, 12.0, 12.0, 36.0, 36.0, 108.0]


def test_growth_is_skipped_when_the_new_scale_would_be_infinite():
    w = mg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.0)
    scaler = GradScaler(init_scale=2.0**127, growth_interval=1)
    scaler.scale((w * 1e-30).sum()).backward()
    scaler.step(opt)
    scaler.update()
    assert scaler.get_scale() == 2.0**127  # 2**128 is inf in float32
    assert scaler._get_growth_tracker() == 0


def test_unscale_then_clip_grad_norm():
    """unscale_ gives the true gradients, clipping acts on them, step does not unscale
    again; the result equals an unscaled run with the same clipping."""
    rng = np.random.default_rng(0)
    W0 = rng.standard_normal((4, 3)).astype(np.float32)
    x = mg.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    W, W_ref = (mg.tensor(W0.copy(), requires_grad=True) for _ in range(2))
    opt, opt_ref = optim.SGD([W], lr=0.1), optim.SGD([W_ref], lr=0.1)
    scaler = GradScaler(init_scale=2.0**14)
    for _ in range(3):
        opt.zero_grad()
        opt_ref.zero_grad()
        scaler.scale(((x @ W) ** 2).sum()).backward()
        ((x @ W_ref) ** 2).sum().backward()
        scaler.unscale_(opt)
        np.testing.assert_allclose(W.grad.data, W_ref.grad.data, rtol=1e-6)
        norm = clip_grad_norm_([W], max_norm=1.0)
        norm_ref = clip_grad_norm_([W_ref], max_norm=1.0)
        assert float(norm) == pytest.approx(float(norm_ref), rel=1e-6)
        assert float(norm) > 1.0  # the clipping is active
        scaler.step(opt)
        scaler.update()
        opt_ref.step()
        np.testing.assert_allclose(W.data, W_ref.data, rtol=1e-6)


def test_state_dict_round_trip():
    w = mg.tensor([1.0, 1.0, 1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    a = GradScaler(init_scale=2.0**10, growth_interval=3)
    for t in range(1, 4):
        opt.zero_grad()
        a.scale(planted_loss(w, t, {2})).backward()
        a.step(opt)
        a.update()
    sd = a.state_dict()
    assert sd == {"scale": 512.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                  "growth_interval": 3, "_growth_tracker": 1}
    b = GradScaler()
    b.load_state_dict(sd)
    assert b.state_dict() == sd
    for t in range(4, 9):  # both continue identically: growth at t = 5 and t = 8
        for s in (a, b):
            opt.zero_grad()
            s.scale(planted_loss(w, t, set())).backward()
            s.step(opt)
            s.update()
        assert a.get_scale() == b.get_scale()
        assert a._get_growth_tracker() == b._get_growth_tracker()
    assert a.get_scale() == 2048.0


def test_state_dict_of_disabled_scaler():
    off = GradScaler(enabled=False)
    assert off.state_dict() == {}
    with pytest.raises(RuntimeError, match="empty"):
        GradScaler().load_state_dict({})
    off.load_state_dict({"scale": 3.0})  # a disabled scaler ignores it, as PyTorch's


def test_defaults_are_pytorchs():
    s = GradScaler()
    assert s.get_scale() == 2.0**16
    assert (s.get_growth_factor(), s.get_backoff_factor(), s.get_growth_interval()) == (
        2.0, 0.5, 2000)
    assert s.is_enabled()
    assert GradScaler("cuda").get_scale() == 2.0**16  # torch.amp.GradScaler("cuda")


def test_device_first_shifts_every_positional_argument():
    """torch.amp.GradScaler(device, init_scale, growth_factor, backoff_factor,
    growth_interval, enabled): 1024 was read as the growth factor."""
    s = GradScaler("cpu", 1024.0)
    assert s.get_scale() == 1024.0 and s.get_growth_factor() == 2.0
    s = GradScaler("cuda", 8.0, 3.0, 0.25, 7)
    assert s.state_dict() == {"scale": 8.0, "growth_factor": 3.0, "backoff_factor": 0.25,
                              "growth_interval": 7, "_growth_tracker": 0}
    assert not GradScaler("cpu", 8.0, 3.0, 0.25, 7, False).is_enabled()
    assert GradScaler("cpu", init_scale=8.0, growth_interval=3).state_dict()[
        "growth_interval"] == 3
    assert GradScaler(device="cpu", init_scale=4.0).get_scale() == 4.0
    s = GradScaler(8.0, 3.0)  # minigrad's (torch.cuda.amp's) order is unchanged
    assert (s.get_scale(), s.get_growth_factor()) == (8.0, 3.0)
    with pytest.raises(TypeError, match="device"):
        GradScaler("cpu", device="cpu")
    with pytest.raises(TypeError):
        GradScaler("cpu", 8.0, init_scale=4.0)


def _zero_scale_iteration(w, opt, scaler):
    opt.zero_grad()
    scaler.scale((w * mg.tensor([1.0, -2.0])).sum()).backward()
    out = scaler.step(opt)
    scaler.update()
    return out


def test_zero_scale_skips_steps_instead_of_dividing_by_zero():
    """S = 0 (here from update(0.0)): 1/S = inf, every gradient unscales to 0·inf = NaN,
    the step is skipped (minigrad checks after unscaling; see the Notes) and S stays 0
    (0·γ = 0) until a new scale is set."""
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.5)
    scaler = GradScaler(init_scale=4.0, growth_interval=1)
    _zero_scale_iteration(w, opt, scaler)      # clean: θ − 0.5·[1, −2], then S = 8
    np.testing.assert_array_equal(w.data, [0.5, 3.0])
    scaler.update(0.0)
    assert scaler.get_scale() == 0.0
    for _ in range(2):
        assert _zero_scale_iteration(w, opt, scaler) is None
        assert np.isnan(w.grad.data).all()
        np.testing.assert_array_equal(w.data, [0.5, 3.0])  # skipped
        assert scaler.get_scale() == 0.0 and scaler._get_growth_tracker() == 0
    scaler.update(2.0)                          # a new scale: steps again
    _zero_scale_iteration(w, opt, scaler)
    np.testing.assert_array_equal(w.data, [0.0, 4.0])
    assert scaler.get_scale() == 4.0


def test_scale_underflowing_to_zero_by_back_off():
    """The smallest float32 subnormal 2⁻¹⁴⁹ halved rounds to 0: the next iteration
    raised ZeroDivisionError."""
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.5)
    scaler = GradScaler(init_scale=2.0**-149)
    opt.zero_grad()
    scaler.scale((w * mg.tensor([1.0, np.inf])).sum()).backward()
    assert scaler.step(opt) is None
    scaler.update()
    assert scaler.get_scale() == 0.0
    assert _zero_scale_iteration(w, opt, scaler) is None
    np.testing.assert_array_equal(w.data, [1.0, 2.0])


def test_finite_gradient_overflowing_when_unscaled_skips_the_step():
    """Documented difference: the check follows the multiplication by 1/S, so 3e38 at
    S = 0.5 (6e38 > float32 max once unscaled) skips and backs off; PyTorch steps."""
    w = mg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.0)
    scaler = GradScaler(init_scale=0.5)
    scaler.scale(w.sum()).backward()
    w.grad = mg.tensor([3e38])
    assert scaler.step(opt) is None
    scaler.update()
    assert scaler.get_scale() == 0.25
    np.testing.assert_array_equal(w.data, [1.0])


def test_device_first_and_zero_scale_match_torch():
    torch = pytest.importorskip("torch")
    for args in [("cpu", 1024.0), ("cpu", 8.0, 3.0, 0.25, 7)]:
        ts, ms = torch.amp.GradScaler(*args), GradScaler(*args)
        assert ms.state_dict() == ts.state_dict()
    tw = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    t_opt, ts = torch.optim.SGD([tw], lr=0.5), torch.amp.GradScaler("cpu", 4.0)
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    opt, ms = optim.SGD([w], lr=0.5), GradScaler("cpu", 4.0)
    ts.scale((tw * torch.tensor([1.0, -2.0])).sum()).backward()
    ts.step(t_opt)
    ts.update(0.0)
    _zero_scale_iteration(w, opt, ms)
    ms.update(0.0)
    for _ in range(2):  # neither raises; S stays 0 in both (the steps differ: see Notes)
        t_opt.zero_grad()
        ts.scale((tw * torch.tensor([1.0, -2.0])).sum()).backward()
        ts.step(t_opt)
        ts.update()
        _zero_scale_iteration(w, opt, ms)
        assert ms.get_scale() == ts.get_scale() == 0.0


def test_disabled_scaler_is_transparent():
    w = mg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.5)
    s = GradScaler(enabled=False)
    loss = (w * 3).sum()
    assert s.scale(loss) is loss
    loss.backward()
    s.unscale_(opt)
    s.step(opt)
    s.update()
    assert s.get_scale() == 1.0 and not s.is_enabled()
    assert w.item() == pytest.approx(-0.5)


def test_misuse_raises_pytorchs_errors():
    w = mg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    s = GradScaler()
    with pytest.raises(RuntimeError, match="did not use scaler.scale"):
        s.unscale_(opt)
    s.scale((w * 2).sum()).backward()
    s.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called on this optimizer"):
        s.unscale_(opt)
    s.step(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step"):
        s.unscale_(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        s.step(opt)
    s.update()
    with pytest.raises(RuntimeError, match="No inf checks were recorded prior to update"):
        s.update()
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        s.step(opt, closure=lambda: None)
    opt.zero_grad()
    with pytest.raises(RuntimeError, match="No inf checks were recorded for this optimizer"):
        s.step(opt)  # no parameter has a gradient
    with pytest.raises(ValueError, match="growth factor"):
        GradScaler(growth_factor=1.0)
    with pytest.raises(ValueError, match="backoff factor"):
        GradScaler(backoff_factor=1.0)
    with pytest.raises(ValueError, match="growth_interval"):
        GradScaler(growth_interval=0)


def test_fp16_gradients_are_refused():
    w = mg.tensor([1.0], dtype=mg.float16, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    s = GradScaler(init_scale=8.0)
    s.scale((w * 2).sum()).backward()
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients"):
        s.unscale_(opt)


def test_scale_promotes_half_outputs_and_keeps_structure():
    s = GradScaler()
    h = mg.tensor([1.0, 2.0], dtype=mg.float16)
    out = s.scale(h)
    assert out.dtype == mg.float32  # 2**16 does not fit in float16
    np.testing.assert_array_equal(out.data, [65536.0, 131072.0])
    a, (b, c) = s.scale([mg.tensor(1.0), (mg.tensor(2.0), mg.tensor(3.0))])
    assert (a.item(), b.item(), c.item()) == (65536.0, 131072.0, 196608.0)
    with pytest.raises(TypeError, match="Tensor"):
        s.scale(3.0)


def test_update_with_new_scale():
    w = mg.tensor([1.0], requires_grad=True)
    s = GradScaler()
    s.scale((w * 2).sum())
    s.update(new_scale=128.0)
    assert s.get_scale() == 128.0
    s.update(new_scale=mg.tensor([32.0]))
    assert s.get_scale() == 32.0
    with pytest.raises(ValueError, match="new_scale"):
        s.update(new_scale=mg.tensor([1.0, 2.0]))


def test_two_optimizers_skip_independently_but_share_the_scale():
    """PyTorch: each step checks its own optimizer's gradients; update backs off when any
    optimizer saw inf/NaN."""
    w1 = mg.tensor([1.0], requires_grad=True)
    w2 = mg.tensor([1.0], requires_grad=True)
    o1, o2 = optim.SGD([w1], lr=0.5), optim.SGD([w2], lr=0.5)
    s = GradScaler(init_scale=4.0)
    loss = (w1 * 1.0).sum() + (w2 * mg.tensor([np.inf])).sum()
    s.scale(loss).backward()
    s.step(o1)
    s.step(o2)
    s.update()
    assert w1.item() == 0.5 and w2.item() == 1.0
    assert s.get_scale() == 2.0


def test_matches_torch_grad_scaler():
    """The same planted-overflow run through torch.amp.GradScaler on CPU."""
    torch = pytest.importorskip("torch")
    try:
        ts = torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=3)
    except Exception as e:  # an old torch without CPU GradScaler
        pytest.skip(f"torch.amp.GradScaler on cpu unavailable: {e}")
    tw = torch.ones(3, requires_grad=True)
    topt = torch.optim.SGD([tw], lr=0.1)
    w = mg.tensor([1.0, 1.0, 1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    s = GradScaler(init_scale=2.0**10, growth_interval=3)
    bad = {2, 3, 9}
    for t in range(1, 13):
        c = C_CLEAN.copy()
        if t in bad:
            c[1] = 1e36
        topt.zero_grad()
        ts.scale((tw * torch.from_numpy(c)).sum()).backward()
        ts.step(topt)
        ts.update()
        opt.zero_grad()
        s.scale((w * mg.tensor(c)).sum()).backward()
        s.step(opt)
        s.update()
        assert s.get_scale() == ts.get_scale(), t
        assert s.state_dict() == {k: (v if not hasattr(v, "item") else v.item())
                                  for k, v in ts.state_dict().items()}, t
        np.testing.assert_array_equal(w.data, tw.detach().numpy())


@pytest.mark.gpu
def test_cuda_unscale_kernel_flags_inf_and_nan():
    """The fused unscale kernel: multiply in place and raise the flag (GPU only)."""
    from minigrad._backend import cupy
    from minigrad.amp.grad_scaler import _unscale_and_check

    cp = cupy()
    for bad in (np.inf, -np.inf, np.nan, None):
        g = cp.asarray(np.random.default_rng(0).standard_normal(10_001).astype(np.float32))
        if bad is not None:
            g[5000] = bad
        ref = cp.asnumpy(g) * np.float32(1 / 1024)
        flag = cp.zeros(1, dtype=np.int32)
        _unscale_and_check(cp, g, np.float32(1 / 1024), flag)
        assert int(flag[0]) == (bad is not None)
        np.testing.assert_array_equal(cp.asnumpy(g), ref)


# ------------------------------------------------ one unscale launch per flat gradient buffer


def test_whole_buffers_takes_the_buffer_only_when_views_tile_it():
    from minigrad.amp.grad_scaler import _whole_buffers

    flat = np.arange(10, dtype=np.float32)
    a, b, c = flat[:4].reshape(2, 2), flat[4:7], flat[7:]
    own = np.ones(3, np.float32)
    assert [x is flat for x in _whole_buffers([c, own, a, b])] == [False, True]
    partial = _whole_buffers([a, c])                      # flat[4:7] missing
    assert len(partial) == 2 and all(x.base is flat for x in partial)
    overlapping = _whole_buffers([flat[:6], flat[4:], flat[6:]])
    assert len(overlapping) == 3
    strided = flat[::2]                                   # not contiguous: on its own
    assert _whole_buffers([strided])[0] is strided


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the planted overflow
def test_fused_optimizer_gradients_are_unscaled_in_one_pass(monkeypatch, device):
    """With a fused optimizer and zero_grad(set_to_none=False) the gradients are views of
    one flat buffer: GradScaler unscales it with one launch, and the steps (a skipped one
    included) equal those of the per-parameter optimizer to the last bit."""
    import minigrad.amp.grad_scaler as gs

    calls = []
    real = gs._unscale_and_check
    monkeypatch.setattr(gs, "_unscale_and_check",
                        lambda xp, g, s, f: (calls.append(g.size), real(xp, g, s, f)))
    rng = np.random.default_rng(0)
    w0 = [rng.standard_normal(s).astype(np.float32) for s in ((4, 3), (3,), (3, 2))]
    x = mg.tensor(rng.standard_normal((5, 4)).astype(np.float32), device=device)
    runs = {}
    for fused in (False, True):
        params = [mg.tensor(w, device=device, requires_grad=True) for w in w0]
        opt = optim.Adam(params, lr=1e-2, fused=fused)
        scaler = GradScaler(init_scale=2.0**10)
        calls.clear()
        for t in range(4):
            opt.zero_grad(set_to_none=False)
            h = (x @ params[0] + params[1]).tanh() @ params[2]
            loss = (h * h).sum() * (1e38 if t == 2 else 1.0)  # t = 2 overflows: skipped
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        runs[fused] = [host(p.data) for p in params]
        if fused:  # the first step packs the buffer; after that one pass per step
            assert calls[-3:] == [4 * 3 + 3 + 3 * 2] * 3, calls
        else:
            assert calls == [12, 3, 6] * 4
    for a, b in zip(runs[False], runs[True]):
        np.testing.assert_array_equal(a, b)
