"""BatchNorm1d/2d, LayerNorm, GroupNorm: outputs against the formula, gradients through the
batch statistics (gradcheck with a random, non-uniform cotangent) and second derivatives,
running statistics against a hand computation, train/eval behaviour, errors; PyTorch
oracles when torch is importable."""
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.testing import arrays, assert_close


def _t(a, device="cpu", grad=True):
    return mg.tensor(a, dtype=mg.float64, device=device, requires_grad=grad)


def _bn_reference(x, gamma, beta, eps=1e-5):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)


def _affine_params(module, rng, device):
    """Non-trivial γ and β (γ = 1, β = 0 would hide a wrong gradient)."""
    with mg.no_grad():
        module.weight.data[...] = module.weight.xp.asarray(
            rng.uniform(0.5, 1.5, module.weight.shape))
        module.bias.data[...] = module.bias.xp.asarray(rng.standard_normal(module.bias.shape))
    return module


@given(x=arrays(shape=st.tuples(st.integers(2, 4), st.integers(1, 3), st.integers(1, 3),
                                st.integers(1, 3))))
def test_batchnorm2d_train_forward_and_gradcheck(x, device):
    rng = np.random.default_rng(0)
    bn = _affine_params(nn.BatchNorm2d(x.shape[1]).double().to(device), rng, device)
    X = _t(x, device)
    y = bn(X)
    assert_close(y, _bn_reference(x, bn.weight.cpu().numpy(), bn.bias.cpu().numpy()),
                 rtol=1e-8, atol=1e-9)
    # gradient through the batch statistics, random (non-uniform) cotangent
    assert mg.gradcheck(bn, (X,), atol=1e-5, rtol=1e-3)
    assert mg.gradcheck(lambda w, b: bn(X), (bn.weight, bn.bias))


@given(x=arrays(shape=st.tuples(st.integers(2, 5), st.integers(1, 3))))
def test_batchnorm1d_2d_input_gradcheck(x, device):
    bn = _affine_params(nn.BatchNorm1d(x.shape[1]).double().to(device),
                        np.random.default_rng(1), device)
    assert mg.gradcheck(bn, (_t(x, device),))


def test_batchnorm_backward_matches_closed_form():
    """gx = γ/σ·(g − mean(g) − x̂·mean(g·x̂)) with a non-uniform upstream gradient."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 3, 2, 2)) * 3 + 1
    gy = rng.standard_normal(x.shape)
    bn = _affine_params(nn.BatchNorm2d(3).double(), rng, "cpu")
    X = _t(x)
    bn(X).backward(mg.tensor(gy))
    axes = (0, 2, 3)
    mu, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    g = gy * bn.weight.numpy().reshape(1, -1, 1, 1)
    gx = (g - g.mean(axes, keepdims=True) - xhat * (g * xhat).mean(axes, keepdims=True)) \
        / np.sqrt(var + 1e-5)
    assert_close(X.grad, gx, rtol=1e-10, atol=1e-12)
    assert_close(bn.weight.grad, (gy * xhat).sum(axes), rtol=1e-10, atol=1e-12)
    assert_close(bn.bias.grad, gy.sum(axes), rtol=1e-10, atol=1e-12)


@settings(max_examples=4)
@given(x=arrays(shape=st.tuples(st.integers(2, 3), st.integers(1, 2), st.integers(1, 2),
                                st.integers(1, 2))))
def test_batchnorm_gradgradcheck(x):
    bn = _affine_params(nn.BatchNorm2d(x.shape[1]).double(), np.random.default_rng(3), "cpu")
    assert mg.gradgradcheck(lambda x, w, b: bn(x), (_t(x), bn.weight, bn.bias))


def test_batchnorm_one_node_equals_normalize_then_affine(device):
    """BatchNormFunction (γ·x̂ + β as one node) against Normalize followed by the affine
    ops (the path taken without a bias), values and all three gradients, 2-D to 4-D, and
    its second derivatives on (N, C, L) input."""
    from minigrad.nn.normalization import BatchNormFunction, Normalize

    rng = np.random.default_rng(5)
    for shape in [(7, 3), (5, 3, 4), (4, 3, 3, 5)]:
        axes = (0,) + tuple(range(2, len(shape)))
        bshape = (1, 3) + (1,) * (len(shape) - 2)
        x, gy = rng.standard_normal(shape) * 2 + 1, rng.standard_normal(shape)
        w, b = rng.uniform(0.5, 1.5, 3), rng.standard_normal(3)
        ins1 = [_t(a, device) for a in (x, w, b)]
        ins2 = [_t(a, device) for a in (x, w, b)]
        y1 = BatchNormFunction(axes, 1e-5)(*ins1)
        y2 = Normalize(axes, 1e-5)(ins2[0]) * ins2[1].reshape(bshape) + ins2[2].reshape(bshape)
        assert_close(y1, y2, rtol=1e-12, atol=1e-12)
        y1.backward(mg.tensor(gy, device=device))
        y2.backward(mg.tensor(gy, device=device))
        for a1, a2 in zip(ins1, ins2):
            assert_close(a1.grad, a2.grad, rtol=1e-10, atol=1e-12)
    x3 = _t(rng.standard_normal((4, 2, 3)), device)
    w3, b3 = _t(rng.uniform(0.5, 1.5, 2), device), _t(rng.standard_normal(2), device)
    assert mg.gradgradcheck(lambda x, w, b: BatchNormFunction((0, 2), 1e-5)(x, w, b),
                            (x3, w3, b3))
    bn = nn.BatchNorm2d(3, bias=False).double().to(device)  # weight only: Normalize path
    assert mg.gradcheck(lambda x, w: bn(x), (_t(rng.standard_normal((4, 3, 2, 2)), device),
                                             bn.weight))


def test_running_statistics_by_hand():
    """running ← (1 − m)·running + m·stat, with the unbiased batch variance."""
    rng = np.random.default_rng(4)
    bn = nn.BatchNorm1d(3, momentum=0.1).double()
    mean, var = np.zeros(3), np.ones(3)
    for step in range(3):
        x = rng.standard_normal((5, 3, 4)) * (step + 1) + step
        bn(_t(x, grad=False))
        n = 5 * 4
        mean = 0.9 * mean + 0.1 * x.mean(axis=(0, 2))
        var = 0.9 * var + 0.1 * x.var(axis=(0, 2)) * n / (n - 1)
        assert_close(bn.running_mean, mean, rtol=1e-12)
        assert_close(bn.running_var, var, rtol=1e-12)
        assert bn.num_batches_tracked.item() == step + 1
    assert bn.num_batches_tracked.dtype == mg.int64


def test_momentum_none_is_cumulative_average():
    rng = np.random.default_rng(5)
    bn = nn.BatchNorm2d(2, momentum=None).double()
    xs = [rng.standard_normal((4, 2, 3, 3)) + i for i in range(4)]
    for x in xs:
        bn(_t(x, grad=False))
    means = np.mean([x.mean(axis=(0, 2, 3)) for x in xs], axis=0)
    vars_ = np.mean([x.var(axis=(0, 2, 3), ddof=1) for x in xs], axis=0)
    assert_close(bn.running_mean, means, rtol=1e-12)
    assert_close(bn.running_var, vars_, rtol=1e-12)


def test_eval_uses_running_statistics(device):
    rng = np.random.default_rng(6)
    bn = _affine_params(nn.BatchNorm2d(3).double().to(device), rng, device)
    for _ in range(5):
        bn(_t(rng.standard_normal((8, 3, 2, 2)) * 2 + 3, device, grad=False))
    bn.eval()
    x = rng.standard_normal((2, 3, 2, 2))
    X = _t(x, device)
    y = bn(X)
    rm, rv = bn.running_mean.cpu().numpy(), bn.running_var.cpu().numpy()
    g, b = bn.weight.cpu().numpy(), bn.bias.cpu().numpy()
    shape = (1, -1, 1, 1)
    ref = (x - rm.reshape(shape)) / np.sqrt(rv.reshape(shape) + 1e-5) * g.reshape(shape) \
        + b.reshape(shape)
    assert_close(y, ref, rtol=1e-10, atol=1e-12)
    before = bn.running_mean.cpu().numpy().copy()
    bn(X)
    assert_close(bn.running_mean, before)  # eval does not update
    assert bn.num_batches_tracked.item() == 5
    # eval mode: one sample per channel is fine, and the map is affine in x
    assert bn(_t(x[:1, :, :1, :1], device)).shape == (1, 3, 1, 1)
    assert mg.gradcheck(bn, (X,))
    assert mg.gradgradcheck(lambda x, w, b: bn(x), (X, bn.weight, bn.bias))


def test_track_running_stats_false_and_affine_false():
    bn = nn.BatchNorm1d(4, affine=False, track_running_stats=False).double()
    assert list(bn.state_dict()) == [] and list(bn.parameters()) == []
    x = np.random.default_rng(7).standard_normal((6, 4))
    bn.eval()  # no running stats: batch statistics even in eval
    assert_close(bn(_t(x)), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-10)


def test_reset_running_stats():
    bn = nn.BatchNorm1d(2)
    bn(mg.randn(4, 2) * 3 + 1)
    bn.reset_running_stats()
    assert bn.running_mean.tolist() == [0, 0] and bn.running_var.tolist() == [1, 1]
    assert bn.num_batches_tracked.item() == 0


def test_batchnorm_errors():
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when "
                                         "training, got input size \\(1, 3\\)"):
        nn.BatchNorm1d(3)(mg.randn(1, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm2d(3)(mg.randn(1, 3, 1, 1))
    with pytest.raises(ValueError, match="BatchNorm2d\\(3.*expected 4D input, got 3D"):
        nn.BatchNorm2d(3)(mg.randn(2, 3, 4))
    with pytest.raises(ValueError, match="BatchNorm1d\\(3.*expected input with 3 channels "
                                         "\\(dim 1\\), got shape \\(4, 5\\)"):
        nn.BatchNorm1d(3)(mg.randn(4, 5))
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm1d(3, momentum=1.5)


def test_state_dict_names_and_buffers():
    bn = nn.BatchNorm2d(3)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var",
                                                  "num_batches_tracked"]


@given(x=arrays(shape=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(2, 4))),
       k=st.integers(1, 2))
def test_layernorm_forward_gradcheck(x, k, device):
    shape = x.shape[-k:]
    ln = _affine_params(nn.LayerNorm(shape).double().to(device), np.random.default_rng(8),
                        device)
    X = _t(x, device)
    axes = tuple(range(x.ndim - k, x.ndim))
    ref = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + 1e-5) \
        * ln.weight.cpu().numpy() + ln.bias.cpu().numpy()
    assert_close(ln(X), ref, rtol=1e-8, atol=1e-9)
    assert mg.gradcheck(lambda x, w, b: ln(x), (X, ln.weight, ln.bias))


@settings(max_examples=4)
@given(x=arrays(shape=st.tuples(st.integers(1, 2), st.integers(2, 4))))
def test_layernorm_gradgradcheck(x):
    ln = _affine_params(nn.LayerNorm(x.shape[-1]).double(), np.random.default_rng(9), "cpu")
    assert mg.gradgradcheck(lambda x, w, b: ln(x), (_t(x), ln.weight, ln.bias))


@given(data=st.data())
def test_groupnorm_forward_gradcheck(data, device):
    G = data.draw(st.sampled_from([1, 2, 4]))
    C = 4
    x = data.draw(arrays(shape=(data.draw(st.integers(1, 2)), C, data.draw(st.integers(1, 3)),
                                2)))
    gn = _affine_params(nn.GroupNorm(G, C).double().to(device), np.random.default_rng(10),
                        device)
    X = _t(x, device)
    xg = x.reshape(x.shape[0], G, -1)
    ref = ((xg - xg.mean(2, keepdims=True)) / np.sqrt(xg.var(2, keepdims=True) + 1e-5)
           ).reshape(x.shape) * gn.weight.cpu().numpy().reshape(1, C, 1, 1) \
        + gn.bias.cpu().numpy().reshape(1, C, 1, 1)
    assert_close(gn(X), ref, rtol=1e-8, atol=1e-9)
    assert mg.gradcheck(lambda x, w, b: gn(x), (X, gn.weight, gn.bias))


def test_groupnorm_gradgradcheck_and_errors():
    gn = _affine_params(nn.GroupNorm(2, 4).double(), np.random.default_rng(11), "cpu")
    x = _t(np.random.default_rng(12).standard_normal((2, 4, 3)))
    assert mg.gradgradcheck(lambda x, w, b: gn(x), (x, gn.weight, gn.bias))
    with pytest.raises(ValueError, match="num_channels \\(6\\) must be divisible by "
                                         "num_groups \\(4\\)"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match="GroupNorm\\(2, 4.*expected input of shape "
                                         "\\(N, 4, \\*\\), got \\(2, 3\\)"):
        gn(mg.randn(2, 3))
    with pytest.raises(ValueError, match="LayerNorm\\(\\(5,\\).*trailing shape \\(5,\\), "
                                         "got shape \\(2, 4\\)"):
        nn.LayerNorm(5)(mg.randn(2, 4))


def test_functional_batch_norm_matches_module():
    rng = np.random.default_rng(13)
    x = _t(rng.standard_normal((4, 3, 2)), grad=False)
    rm, rv = mg.zeros(3, dtype=mg.float64), mg.ones(3, dtype=mg.float64)
    y = F.batch_norm(x, rm, rv, training=True, momentum=0.2)
    bn = nn.BatchNorm1d(3, momentum=0.2, affine=False).double()
    assert_close(y, bn(x), rtol=1e-12)
    assert_close(rm, bn.running_mean, rtol=1e-12)
    assert_close(rv, bn.running_var, rtol=1e-12)


def test_float16_batchnorm_stats_in_float32():
    x = (mg.randn(64, 3) * 100 + 1000).half()
    y = nn.BatchNorm1d(3).half()(x)
    assert y.dtype == mg.float16
    assert np.abs(y.float().numpy().mean(0)).max() < 1e-2


def test_half_input_with_float32_parameters_gives_a_half_output(device):
    """PyTorch's mixed batch norm (what autocast meets after a half convolution): statistics
    and affine in float32, y rounded once to the input's half dtype; x.grad half, the
    parameters' gradients float32."""
    rng = np.random.default_rng(15)
    xs = rng.standard_normal((6, 3, 4, 4)) * 3 + 1
    gy = rng.standard_normal(xs.shape)
    bn = nn.BatchNorm2d(3).to(device)
    x = mg.tensor(xs, dtype=mg.float16, device=device, requires_grad=True)
    y = bn(x)
    assert y.dtype == mg.float16
    y.backward(mg.tensor(gy, dtype=mg.float16, device=device))
    assert x.grad.dtype == mg.float16 and bn.weight.grad.dtype == mg.float32
    x64 = x.detach().cpu().numpy().astype(np.float64)  # the half values, exactly
    mu, var = x64.mean((0, 2, 3), keepdims=True), x64.var((0, 2, 3), keepdims=True)
    want = (x64 - mu) / np.sqrt(var + 1e-5)
    assert np.abs(y.detach().cpu().numpy().astype(np.float64) - want).max() < 4e-3
    assert np.abs(bn.bias.grad.cpu().numpy() - gy.astype(np.float16).sum((0, 2, 3))).max() \
        < 1e-3 * np.abs(gy).sum((0, 2, 3)).max()


# ------------------------------------------------------------------ oracles


def test_batchnorm_matches_torch_train_and_eval():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(14)
    bn = nn.BatchNorm2d(3, momentum=0.3).double()
    tbn = torch.nn.BatchNorm2d(3, momentum=0.3).double()
    with torch.no_grad():
        tbn.weight.copy_(torch.tensor(rng.uniform(0.5, 1.5, 3)))
        tbn.bias.copy_(torch.tensor(rng.standard_normal(3)))
    bn.load_state_dict({k: v.numpy() for k, v in tbn.state_dict().items()})
    for mode in ("train", "train", "eval"):
        bn.train(mode == "train")
        tbn.train(mode == "train")
        x = rng.standard_normal((5, 3, 4, 3)) * 2 + 1
        gy = rng.standard_normal(x.shape)
        X, tx = _t(x), torch.tensor(x, requires_grad=True)
        bn.zero_grad()
        tbn.zero_grad()
        y, ty = bn(X), tbn(tx)
        y.backward(mg.tensor(gy))
        ty.backward(torch.tensor(gy))
        assert_close(y, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        assert_close(X.grad, tx.grad.numpy(), rtol=1e-9, atol=1e-11)
        assert_close(bn.weight.grad, tbn.weight.grad.numpy(), rtol=1e-10, atol=1e-11)
        assert_close(bn.bias.grad, tbn.bias.grad.numpy(), rtol=1e-10, atol=1e-11)
        for k, v in tbn.state_dict().items():
            assert_close(bn.state_dict()[k], v.numpy(), rtol=1e-12, msg=k)


def test_groupnorm_layernorm_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(15)
    x = rng.standard_normal((3, 6, 4, 2))
    gy = rng.standard_normal(x.shape)
    for ours, theirs in [(nn.GroupNorm(3, 6), torch.nn.GroupNorm(3, 6)),
                         (nn.LayerNorm((4, 2)), torch.nn.LayerNorm((4, 2)))]:
        ours.double()
        theirs.double()
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(rng.uniform(0.5, 1.5, theirs.weight.shape)))
            theirs.bias.copy_(torch.tensor(rng.standard_normal(theirs.bias.shape)))
        ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
        X, tx = _t(x), torch.tensor(x, requires_grad=True)
        y, ty = ours(X), theirs(tx)
        y.backward(mg.tensor(gy))
        ty.backward(torch.tensor(gy))
        assert_close(y, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        assert_close(X.grad, tx.grad.numpy(), rtol=1e-9, atol=1e-11)
        assert_close(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-10, atol=1e-11)
        assert_close(ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-10, atol=1e-11)


@pytest.mark.gpu
@pytest.mark.parametrize("x_dtype, p_dtype", [("float32", "float32"), ("float64", "float64"),
                                              ("float16", "float16"), ("float16", "float32")])
def test_gpu_fused_batchnorm_equals_the_xp_path(monkeypatch, x_dtype, p_dtype):
    """BatchNormFunction's fused CUDA kernels (forward, backward, running statistics)
    against the pure-xp path they replace, on the same device: values, all three
    gradients, the blended running statistics."""
    from minigrad.nn import normalization

    if not mg.cuda.is_available():
        pytest.skip("needs CuPy and a CUDA device")
    rng = np.random.default_rng(7)
    tol = dict(float64=1e-12, float32=2e-5, float16=2e-3)[x_dtype]

    def run(fused, shape):
        if not fused:
            monkeypatch.setattr(normalization, "_fusable", lambda *a: False)
        else:
            _spy_on_bn_kernels(monkeypatch, normalization, calls)
        bn = nn.BatchNorm1d(shape[1]) if len(shape) < 4 else nn.BatchNorm2d(shape[1])
        bn = bn.to(dtype=getattr(mg, p_dtype)).to("cuda")
        r = np.random.default_rng(3)
        with mg.no_grad():
            bn.weight.data[...] = bn.weight.xp.asarray(r.uniform(0.5, 1.5, shape[1]))
            bn.bias.data[...] = bn.bias.xp.asarray(r.standard_normal(shape[1]))
        x = mg.tensor(xs, dtype=getattr(mg, x_dtype), device="cuda", requires_grad=True)
        for _ in range(2):  # the second backward adds into γ's and β's .grad if fused
            y = bn(x)
            y.backward(mg.tensor(gy, dtype=y.dtype, device="cuda"))
        monkeypatch.undo()
        assert bn.num_batches_tracked.item() == 2  # counted by the running kernel if fused
        out = [y, x.grad, bn.weight.grad, bn.bias.grad, bn.running_mean, bn.running_var]
        return [t.cpu().numpy().astype(np.float64) for t in out]

    for shape in [(9, 3), (5, 4, 7), (6, 3, 5, 4)]:
        xs = rng.standard_normal(shape) * 3 + 1
        gy = rng.standard_normal(shape)
        calls = []
        for got, want, name in zip(run(True, shape), run(False, shape),
                                   ["y", "x.grad", "weight.grad", "bias.grad",
                                    "running_mean", "running_var"]):
            scale = max(np.abs(want).max(), 1.0)
            assert np.abs(got - want).max() <= tol * scale, (shape, name)
        assert calls == ["forward_running", "backward", "forward_running", "backward_into"], \
            (shape, calls)


def _emulated_bn_kernels(x_dtype, acc_dtype, y_dtype, p_dtype):
    """NumPy stand-ins for normalization._bn_kernels with CuPy's calling conventions
    (elementwise kernels return their outputs) and CuPy's type check: an array argument
    must have its declared dtype. (The per-channel sums run batchnorm.cu's NumPy twin on
    NumPy arrays.)"""
    acc, x_dt, y_dt, p_dt = (np.dtype(d) for d in (acc_dtype, x_dtype, y_dtype, p_dtype))

    def typed(fn, *dtypes):
        def call(*args, **kwargs):
            for a, d in zip(args, dtypes):
                if isinstance(a, np.ndarray):
                    assert a.dtype == d, f"Type is mismatched: {a.dtype} for {d}"
            if fn is backward and len(args) == len(dtypes) + 2:  # (..., m, gx): gx given
                *args, out = args
                assert out.dtype == y_dt and out.shape == args[0].shape
                out[...] = fn(*args)
                return out
            out = fn(*args)
            return out.sum(axis=kwargs["axis"]) if "axis" in kwargs else out
        return call

    def forward(x, mu, inv, gamma, beta):
        xhat = (x.astype(acc) - mu) * inv
        return xhat, (xhat * gamma.astype(acc) + beta.astype(acc)).astype(y_dt)

    def backward(g, xhat, gamma, inv, s1, s2, m):
        return (gamma.astype(acc) * inv * (g.astype(acc) - (s1 + xhat * s2) / m)).astype(y_dt)

    def backward_into(g, xhat, gamma, inv, s1, s2, m, s1c, s2c, C, gx, ggamma, gbeta):
        """In place, as the CUDA kernel: gx, and the sums added into γ's and β's grads."""
        assert s1c.shape == s2c.shape == ggamma.shape == gbeta.shape == (C,)
        assert gx.dtype == y_dt and ggamma.dtype == gbeta.dtype == p_dt
        gx[...] = backward(g, xhat, gamma, inv, s1, s2, m)
        ggamma += s2c.astype(p_dt)
        gbeta += s1c.astype(p_dt)

    return dict(
        forward=typed(forward, x_dt, acc, acc, p_dt, p_dt),
        backward=typed(backward, x_dt, acc, p_dt, acc, acc, acc),
        backward_into=typed(backward_into, x_dt, acc, p_dt, acc, acc, acc, acc, acc, acc))


def _spy_on_bn_kernels(monkeypatch, normalization, calls):
    """Record in ``calls`` which forward and backward kernel each fused pass launches."""
    make, make_running = normalization._bn_kernels, normalization._bn_forward_running_kernel

    def spy(name, kernel):
        return lambda *a: calls.append(name) or kernel(*a)

    def spied(*dtypes):
        kernels = dict(make(*dtypes))
        for name in ("forward", "backward", "backward_into"):
            kernels[name] = spy(name, kernels[name])
        return kernels
    monkeypatch.setattr(normalization, "_bn_kernels", spied)
    monkeypatch.setattr(normalization, "_bn_forward_running_kernel",
                        lambda *dtypes: spy("forward_running", make_running(*dtypes)))


def _emulated_running_kernel(acc_dtype, r_dtype, counted=False):
    def update(mu, var, one_minus_m, m, unbias, rm, rv, *batches):
        assert mu.dtype == var.dtype == np.dtype(acc_dtype)
        assert rm.dtype == rv.dtype == np.dtype(r_dtype)
        assert len(batches) == counted and all(b.dtype == np.int64 for b in batches)
        r = np.dtype(r_dtype).type
        rm[...] = r(one_minus_m) * rm + r(m) * mu.astype(r_dtype)
        rv[...] = r(one_minus_m) * rv + r(m) * (var * acc_dtype.type(unbias)).astype(r_dtype)
        for b in batches:
            b += 1
    return update


def _emulated_forward_running_kernel(x_dtype, acc_dtype, y_dtype, p_dtype, r_dtype, counted):
    """normalization._bn_forward_running_kernel: the forward and the running update, in
    place on its outputs (x̂, y, running mean and variance, counter) as the CUDA kernel."""
    forward = _emulated_bn_kernels(x_dtype, acc_dtype, y_dtype, p_dtype)["forward"]
    update = _emulated_running_kernel(np.dtype(acc_dtype), r_dtype, counted)

    def run(x, mu, inv, gamma, beta, mu_c, var_c, one_minus_m, m, unbias, C, xhat, y, rm, rv,
            *batches):
        assert mu_c.shape == var_c.shape == rm.shape == rv.shape == (C,)
        xhat[...], y[...] = forward(x, mu, inv, gamma, beta)
        update(mu_c, var_c, one_minus_m, m, unbias, rm, rv, *batches)
    return run


@pytest.mark.parametrize("kernels", ["numpy twins", "cuda text on the host"])
@pytest.mark.parametrize("x_dtype, p_dtype", [("float32", "float32"), ("float64", "float64"),
                                              ("float16", "float16"), ("float16", "float32")])
def test_fused_batchnorm_orchestration_on_emulated_kernels(monkeypatch, x_dtype, p_dtype,
                                                           kernels):
    """The CUDA path of BatchNormFunction (its two-stage per-channel sums, shapes, dtypes,
    the running-statistics kernel) run on the CPU, against the NumPy path, with its
    elementwise kernels as NumPy twins (_emulated_bn_kernels), or as their own CUDA text
    compiled as host C++ by g++ (tests/kernels/elementwise_cuda.HostElementwiseKernel):
    the kernels' statements checked without a GPU. The GPU test above runs them there."""
    from minigrad import _backend
    from minigrad.nn import normalization

    if kernels != "numpy twins" and shutil.which("g++") is None:
        pytest.skip("g++ not found")

    rng = np.random.default_rng(7)
    tol = dict(float64=1e-12, float32=2e-5, float16=2e-3)[x_dtype]

    def run(fused, shape, xs, gy):
        if fused:
            monkeypatch.setattr(normalization, "_fusable", lambda *arrays: all(
                a.dtype.name in normalization._CTYPES for a in arrays))
            if kernels == "numpy twins":
                monkeypatch.setattr(normalization, "_bn_kernels", _emulated_bn_kernels)
                monkeypatch.setattr(normalization, "_bn_running_kernel",
                                    _emulated_running_kernel)
                monkeypatch.setattr(normalization, "_bn_forward_running_kernel",
                                    _emulated_forward_running_kernel)
            else:
                from tests.kernels.elementwise_cuda import host_cupy

                monkeypatch.setattr(_backend, "cupy", host_cupy)
                for f in ("_bn_kernels", "_bn_running_kernel", "_bn_forward_running_kernel"):
                    monkeypatch.setattr(normalization, f,
                                        getattr(normalization, f).__wrapped__)
            _spy_on_bn_kernels(monkeypatch, normalization, calls)
        bn = nn.BatchNorm1d(shape[1]) if len(shape) < 4 else nn.BatchNorm2d(shape[1])
        bn = bn.to(dtype=getattr(mg, p_dtype))
        r = np.random.default_rng(3)
        with mg.no_grad():
            bn.weight.data[...] = r.uniform(0.5, 1.5, shape[1])
            bn.bias.data[...] = r.standard_normal(shape[1])
        x = mg.tensor(xs, dtype=getattr(mg, x_dtype), requires_grad=True)
        y = bn(x)
        y.backward(mg.tensor(gy, dtype=y.dtype))
        y = bn(x)  # a second batch: num_batches_tracked counted by the kernel when fused
        y.backward(mg.tensor(gy, dtype=y.dtype))
        monkeypatch.undo()
        assert bn.num_batches_tracked.item() == 2
        return [t.numpy().astype(np.float64) for t in
                (y, x.grad, bn.weight.grad, bn.bias.grad, bn.running_mean, bn.running_var)]

    for shape in [(9, 3), (5, 4, 7), (6, 3, 5, 4), (2, 1, 1, 1)]:
        xs, gy = rng.standard_normal(shape) * 3 + 1, rng.standard_normal(shape)
        calls = []
        for got, want, name in zip(run(True, shape, xs, gy), run(False, shape, xs, gy),
                                   ["y", "x.grad", "weight.grad", "bias.grad",
                                    "running_mean", "running_var"]):
            scale = max(np.abs(want).max(), 1.0)
            assert np.abs(got - want).max() <= tol * scale, (shape, name)
        # the forward blends the running statistics; the first backward makes γ's and β's
        # .grad, the second adds into them in-kernel
        assert calls == ["forward_running", "backward", "forward_running", "backward_into"], \
            (shape, calls)


@pytest.mark.gpu
def test_gpu_conv_then_batchnorm_gradients_with_a_channel_major_gy():
    """Batch norm after a convolution writes the convolution's output gradient laid out
    (C, N, H, W), which the convolution's GEMMs read without a copy: the gradients of the
    input, the conv weight and γ, β equal the float64 CPU ones, over two passes."""
    rng = np.random.default_rng(11)
    x0 = rng.standard_normal((3, 2, 6, 5))
    gys = [rng.standard_normal((3, 4, 6, 5)) for _ in range(2)]
    grads, layouts = [], []
    for dev, dt in (("cuda", mg.float32), ("cpu", mg.float64)):
        mg.manual_seed(0)
        net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4))
        net = net.to(dtype=dt).to(dev)
        x = mg.tensor(x0, dtype=dt, device=dev, requires_grad=True)
        for gy in gys:
            y = net(x)
            conv_out = y.creator.inputs[0]  # BatchNorm's input: the convolution's output
            conv_out.retain_grad()
            y.backward(mg.tensor(gy, dtype=dt, device=dev))
            layouts.append(conv_out.grad.data.strides)
        grads.append([t.grad.cpu().numpy().astype(np.float64)
                      for t in (x, net[0].weight, net[1].weight, net[1].bias)])
    N, H, W, item = 3, 6, 5, 4
    assert layouts[0] == (H * W * item, N * H * W * item, W * item, item)  # (C, N, H, W)
    for got, want in zip(*grads):
        scale = max(np.abs(want).max(), 1.0)
        assert np.abs(got - want).max() <= 2e-5 * scale


@pytest.mark.parametrize("layer", [nn.BatchNorm2d(3), nn.LayerNorm([3, 4, 4]),
                                   nn.GroupNorm(1, 3), nn.InstanceNorm2d(3)])
def test_an_inf_in_the_input_gives_nan_silently(layer, recwarn):
    """An overflowed activation (fp16 training before the scaler backs off) gives nan
    statistics, without NumPy's RuntimeWarning (which a -W error run turns into a NumPy
    traceback from inside the layer)."""
    x = mg.randn(2, 3, 4, 4)
    x.data[0, 0, 0, 0] = np.inf
    x.requires_grad_()
    y = layer(x)
    y.sum().backward()
    assert np.isnan(y.detach().numpy()).any() and not np.isnan(y.detach().numpy()).all()
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_layer_norm_with_parameters_of_another_dtype_promotes(device):
    """γ, β of another dtype than the input promote the result, as the ops y = x̂·γ + β
    do (the one-node LayerNormFunction takes one dtype; such calls keep the composition):
    float32 x with float64 γ gives float64, and the gradients keep their leaves' dtypes."""
    rng = np.random.default_rng(8)
    x = mg.tensor(rng.standard_normal((3, 4)).astype(np.float32), device=device,
                  requires_grad=True)
    w = mg.tensor(rng.standard_normal(4), device=device, requires_grad=True)
    y = F.layer_norm(x, (4,), w)
    assert y.dtype == mg.float64
    y.sum().backward()
    assert x.grad.dtype == mg.float32 and w.grad.dtype == mg.float64
    same = F.layer_norm(x.detach().double(), (4,), w.detach())
    np.testing.assert_allclose(y.detach().cpu().numpy(), same.cpu().numpy(), rtol=1e-6,
                               atol=1e-6)  # x̂ in float32
