"""Gradient clipping and flat vectors (nn.utils), early stopping, and weight averaging
(swa_utils: AveragedModel with SWA and EMA, SWALR, update_bn)."""
import importlib
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    get_total_norm,
    parameters_to_vector,
    vector_to_parameters,
)
from minigrad.optim.early_stopping import EarlyStopping


def _nn():
    try:
        nn = importlib.import_module("minigrad.nn")
    except ImportError:
        return None
    return nn if hasattr(nn, "Linear") and hasattr(nn, "BatchNorm1d") else None


nn = _nn()
needs_nn = pytest.mark.skipif(nn is None, reason="minigrad.nn (Module, Linear, BatchNorm1d) "
                              "is not available yet")


def params_with_grads(device, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    params = []
    for s in shapes:
        p = mg.tensor(rng.standard_normal(s).astype(dtype), device=device, requires_grad=True)
        p.grad = mg.tensor(rng.standard_normal(s).astype(dtype), device=device)
        params.append(p)
    return params


def host(t):
    return mg.tensor(t.data).cpu().numpy()


# ============================================================================ clipping
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_by_hand(norm_type, device):
    params = params_with_grads(device)
    grads = [host(p.grad).copy() for p in params]
    flat = np.concatenate([g.ravel() for g in grads])
    total = (np.abs(flat).max() if norm_type == math.inf
             else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type))
    max_norm = 0.25 * total
    returned = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    assert math.isclose(float(returned), total, rel_tol=1e-12)
    coef = max_norm / (total + 1e-6)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(host(p.grad), g * coef, rtol=1e-12)
    flat_after = np.concatenate([host(p.grad).ravel() for p in params])
    after = (np.abs(flat_after).max() if norm_type == math.inf
             else (np.abs(flat_after) ** norm_type).sum() ** (1 / norm_type))
    assert after <= max_norm


def test_clip_grad_norm_leaves_small_gradients_alone():
    params = params_with_grads("cpu")
    before = [p.grad.data.copy() for p in params]
    total = clip_grad_norm_(params, max_norm=1e6)
    for p, g in zip(params, before):
        np.testing.assert_array_equal(p.grad.data, g)
    assert float(total) > 0


def test_clip_grad_norm_skips_missing_grads_and_accepts_one_tensor():
    a, b = params_with_grads("cpu")[:2]
    b.grad = None
    want = np.linalg.norm(a.grad.data)
    total = clip_grad_norm_(a, 1.0)  # a single Tensor
    assert total.shape == () and math.isclose(float(total), want, rel_tol=1e-12)
    assert float(clip_grad_norm_([b], 1.0)) == 0.0  # nothing to clip


def test_clip_grad_norm_nonfinite():
    params = params_with_grads("cpu")
    params[1].grad.data[0] = np.nan
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    total = clip_grad_norm_(params, 1.0)
    assert math.isnan(float(total))
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm_(params, 1.0, norm_type=-1)


def test_clip_grad_norm_with_an_infinite_gradient_is_quiet_and_gives_pytorchs_values():
    """An inf gradient (a float16 step that overflowed, clipped after unscale_): the norm is
    inf, the coefficient 1/(inf + 1e-6) = 0, so inf·0 = NaN and every finite gradient 0, as
    in PyTorch, with no RuntimeWarning from inside NumPy (pytest.ini makes one an error;
    a Trainer with amp and clip_grad_norm met it in the full suite)."""
    params = params_with_grads("cpu")
    params[1].grad.data[0] = np.inf
    total = clip_grad_norm_(params, 1.0)
    assert math.isinf(float(total))
    assert np.isnan(params[1].grad.data.flat[0])
    assert (params[1].grad.data.flat[1:] == 0).all() and (params[0].grad.data == 0).all()


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 0.0, math.inf, -math.inf])
def test_total_norm_nan_in_any_tensor_is_nan(norm_type):
    """A NaN anywhere makes the total norm NaN, whichever tensor holds it (a max over
    per-tensor norms taken in Python would drop a NaN that is not first)."""
    for where in range(3):
        params = params_with_grads("cpu")
        params[where].grad.data.flat[0] = np.nan
        total = get_total_norm([p.grad for p in params], norm_type)
        assert math.isnan(total) or norm_type == 0.0, (where, total)


def test_total_norm_zero_norm_counts_nonzeros_and_empty_tensors_count_nothing():
    a = np.array([0.0, 2.0, -3.0])
    assert get_total_norm([a, np.zeros((0, 4)), np.array([[0.0, 1.0]])], 0) == 3.0
    assert get_total_norm([np.zeros(0)], 2) == 0.0
    assert get_total_norm([np.zeros(0)], -math.inf) == 0.0
    assert get_total_norm([np.array([3.0, -4.0]), np.zeros(0)], -math.inf) == 3.0
    assert get_total_norm([np.array([3.0, -4.0]), np.zeros((2, 0))], math.inf) == 4.0
    assert math.isclose(get_total_norm([a, np.array([4.0])], 3), (8 + 27 + 64) ** (1 / 3),
                        rel_tol=1e-15)


def test_total_norm_overflowing_sum_is_inf():
    from minigrad.nn.utils import _combine_on_host

    assert _combine_on_host([1e308, 1e308], 2.0) == math.inf


def test_clip_grad_norm_float32_keeps_dtype():
    params = params_with_grads("cpu", dtype=np.float32)
    total = clip_grad_norm_(params, 0.1)
    assert total.dtype == params[0].grad.dtype == np.float32
    assert all(p.grad.data.dtype == np.float32 for p in params)


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    for norm_type in (2.0, 1.0, math.inf, 4.0):
        params = params_with_grads("cpu", seed=3)
        tparams = []
        for p in params:
            t = torch.tensor(p.data, requires_grad=True)
            t.grad = torch.tensor(p.grad.data.copy())
            tparams.append(t)
        total = clip_grad_norm_(params, 0.5, norm_type=norm_type)
        ttotal = torch.nn.utils.clip_grad_norm_(tparams, 0.5, norm_type=norm_type)
        assert math.isclose(float(total), float(ttotal), rel_tol=1e-12)
        for p, t in zip(params, tparams):
            np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_by_hand(device):
    params = params_with_grads(device)
    grads = [host(p.grad).copy() for p in params]
    assert clip_grad_value_(params, 0.5) is None
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(host(p.grad), np.clip(g, -0.5, 0.5))
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value_(params, -1.0)


def test_clip_grad_in_a_training_step():
    w = mg.tensor([3.0, 4.0], requires_grad=True)
    (w * w).sum().backward()  # grad [6, 8], norm 10
    assert float(clip_grad_norm_([w], 1.0)) == pytest.approx(10.0)
    np.testing.assert_allclose(w.grad.data, [0.6, 0.8], rtol=1e-5)


def test_parameters_to_vector_round_trip(device):
    params = params_with_grads(device)
    vec = parameters_to_vector(params)
    assert vec.shape == (12 + 4 + 8,)
    np.testing.assert_array_equal(host(vec), np.concatenate([host(p).ravel() for p in params]))
    new = mg.tensor(np.arange(24, dtype=np.float64), device=device)
    vector_to_parameters(new, params)
    np.testing.assert_array_equal(host(params[0]), np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(host(params[2]), np.arange(16.0, 24).reshape(2, 2, 2))
    # the flat vector is differentiable: d(sum(v * c))/dp = c reshaped
    for p in params:
        p.grad = None
    c = np.linspace(-1, 1, 24)
    (parameters_to_vector(params) * mg.tensor(c, device=device)).sum().backward()
    np.testing.assert_allclose(host(params[1].grad), c[12:16])


def test_vector_to_parameters_errors():
    params = params_with_grads("cpu")
    with pytest.raises(TypeError, match="Tensor"):
        vector_to_parameters(np.zeros(24), params)
    with pytest.raises(ValueError, match="24 elements"):
        vector_to_parameters(mg.zeros(23), params)


# ============================================================================ early stopping
class TinyModel:
    """A stand-in exposing state_dict/load_state_dict over one weight Tensor."""

    def __init__(self):
        self.weight = mg.tensor(np.zeros(3))

    def state_dict(self):
        return {"weight": self.weight}

    def load_state_dict(self, sd):
        self.weight.data[...] = sd["weight"].data


def test_early_stopping_patience_and_restore():
    model = TinyModel()
    stopper = EarlyStopping(patience=2, min_delta=0.01)
    losses = [1.0, 0.8, 0.795, 0.9, 0.7, 0.71, 0.705, 0.5]
    stopped_at = None
    for epoch, loss in enumerate(losses):
        model.weight.data[...] = epoch  # the weights of this epoch
        if stopper.step(loss, model):
            stopped_at = epoch
            break
    # 0.795 is not 0.01 better than 0.8: bad; 0.9 bad -> 2 bad checks -> stop at epoch 3
    assert stopped_at == 3
    assert stopper.best == 0.8 and stopper.best_epoch == 1
    np.testing.assert_array_equal(model.weight.data, 1.0)  # restored to epoch 1


def test_early_stopping_max_mode_nan_and_no_restore():
    model = TinyModel()
    stopper = EarlyStopping(patience=1, mode="max", restore_best_weights=False, model=model)
    model.weight.data[...] = 7
    assert not stopper.step(0.5)
    assert not stopper.step(0.6)
    model.weight.data[...] = 9
    assert stopper.step(float("nan"))  # nan is never an improvement
    np.testing.assert_array_equal(model.weight.data, 9.0)
    assert stopper.best == 0.6 and stopper.best_state is None


def test_early_stopping_snapshot_is_a_copy_and_state_dict():
    model = TinyModel()
    stopper = EarlyStopping(patience=3)
    stopper.step(1.0, model)
    model.weight.data[...] = 5.0  # later training must not change the snapshot
    np.testing.assert_array_equal(stopper.best_state["weight"].data, 0.0)
    sd = stopper.state_dict()
    other = EarlyStopping(patience=10)
    other.load_state_dict(sd)
    assert (other.best, other.patience, other.epoch) == (1.0, 3, 0)


def test_early_stopping_validation():
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(patience=1, mode="up")
    with pytest.raises(ValueError, match="min_delta"):
        EarlyStopping(patience=1, min_delta=-0.1)


@needs_nn
def test_early_stopping_with_a_module():
    mg.manual_seed(0)
    model = nn.Linear(3, 2)
    stopper = EarlyStopping(patience=1)
    stopper.step(1.0, model)
    best = {k: mg.tensor(v.data.copy()) for k, v in model.state_dict().items()}
    with mg.no_grad():
        for p in model.parameters():
            p.data[...] += 1.0
    assert stopper.step(2.0, model)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.data, best[k].data)


# ============================================================================ swa_utils
def _swa():
    return importlib.import_module("minigrad.optim.swa_utils")


def _perturb(model, rng):
    with mg.no_grad():
        for p in model.parameters():
            p.data[...] = rng.standard_normal(p.shape)


@needs_nn
def test_averaged_model_swa_is_the_running_mean():
    swa = _swa()
    rng = np.random.default_rng(0)
    model = nn.Linear(4, 3)
    avg = swa.AveragedModel(model)
    snaps = []
    for _ in range(5):
        _perturb(model, rng)
        snaps.append([p.data.copy() for p in model.parameters()])
        avg.update_parameters(model)
    assert int(avg.n_averaged.item()) == 5
    for p, *vals in zip(avg.module.parameters(), *snaps):
        np.testing.assert_allclose(p.data, np.mean(vals, axis=0), rtol=1e-6, atol=1e-7)
    x = mg.randn(2, 4)
    np.testing.assert_allclose(avg(x).data, avg.module(x).data)
    assert "n_averaged" in avg.state_dict()


@needs_nn
def test_averaged_model_averages_half_parameters(half_dtype):
    """float16 and bfloat16 parameters are averaged like float32 ones (bfloat16 ones were
    once only copied: NumPy does not call ml_dtypes' bfloat16 a float)."""
    swa = _swa()
    rng = np.random.default_rng(1)
    model = nn.Linear(4, 3).to(dtype=half_dtype)
    avg = swa.AveragedModel(model)
    snaps = []
    for _ in range(3):
        with mg.no_grad():
            for p in model.parameters():
                p.data[...] = rng.standard_normal(p.shape).astype(half_dtype)
        snaps.append([p.data.astype(np.float64) for p in model.parameters()])
        avg.update_parameters(model)
    for p, *vals in zip(avg.module.parameters(), *snaps):
        assert p.dtype == half_dtype
        np.testing.assert_allclose(p.data.astype(np.float64), np.mean(vals, axis=0),
                                   rtol=2e-2, atol=2e-2)


@needs_nn
@pytest.mark.parametrize("form", ["multi", "single"])
def test_averaged_model_ema_by_hand(form):
    swa = _swa()
    decay = 0.9
    rng = np.random.default_rng(1)
    model = nn.Linear(3, 2)
    kw = ({"multi_avg_fn": swa.get_ema_multi_avg_fn(decay)} if form == "multi"
          else {"avg_fn": swa.get_ema_avg_fn(decay)})
    ema = swa.AveragedModel(model, **kw)
    want = None
    for _ in range(4):
        _perturb(model, rng)
        cur = [p.data.astype(np.float64) for p in model.parameters()]
        want = cur if want is None else [decay * w + (1 - decay) * c for w, c in zip(want, cur)]
        ema.update_parameters(model)
    for p, w in zip(ema.module.parameters(), want):
        np.testing.assert_allclose(p.data, w, rtol=1e-5, atol=1e-6)


@needs_nn
def test_averaged_model_buffers():
    swa = _swa()
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    avg_copy = swa.AveragedModel(model)  # buffers copied from the model
    avg_mean = swa.AveragedModel(model, use_buffers=True)  # float buffers averaged
    bn = model[1]
    means = []
    for value in (1.0, 3.0):
        bn.running_mean.data[...] = value
        means.append(value)
        avg_copy.update_parameters(model)
        avg_mean.update_parameters(model)
    np.testing.assert_allclose(avg_copy.module[1].running_mean.data, 3.0)
    np.testing.assert_allclose(avg_mean.module[1].running_mean.data, 2.0)
    with pytest.raises(ValueError, match="only one"):
        swa.AveragedModel(model, avg_fn=swa.get_swa_avg_fn(),
                          multi_avg_fn=swa.get_swa_multi_avg_fn())


@needs_nn
def test_update_bn_recomputes_exact_statistics():
    swa = _swa()
    rng = np.random.default_rng(2)
    model = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5))
    model.eval()
    batches = [mg.tensor(rng.standard_normal((8, 3)).astype(np.float32)) for _ in range(4)]
    loader = [(x, 0) for x in batches]
    momentum = model[1].momentum
    swa.update_bn(loader, model)
    with mg.no_grad():
        feats = [model[0](x).data.astype(np.float64) for x in batches]
    want_mean = np.mean([f.mean(axis=0) for f in feats], axis=0)
    want_var = np.mean([f.var(axis=0, ddof=1) for f in feats], axis=0)
    np.testing.assert_allclose(model[1].running_mean.data, want_mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model[1].running_var.data, want_var, rtol=1e-4, atol=1e-5)
    assert model[1].momentum == momentum and not model.training


def test_update_bn_leaves_instance_norm_alone():
    """PyTorch's update_bn touches BatchNorm layers only; an InstanceNorm that tracks
    running statistics keeps its own."""
    swa = _swa()
    inorm = nn.InstanceNorm1d(2, track_running_stats=True)
    model = nn.Sequential(nn.Conv1d(2, 2, 1), inorm)
    inorm.running_mean.data[...] = 7.0
    swa.update_bn([mg.randn(3, 2, 4)], model)
    np.testing.assert_array_equal(inorm.running_mean.data, [7.0, 7.0])


def _swalr_closed(t, lr0, swa_lr, T, strategy):
    u = min(1.0, t / max(1, T))
    alpha = (1 - math.cos(math.pi * u)) / 2 if strategy == "cos" else u
    return alpha * swa_lr + (1 - alpha) * lr0


@needs_nn
@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("T", [0, 1, 5])
def test_swalr_closed_form(strategy, T):
    from minigrad.optim import SGD
    swa = _swa()
    p = mg.tensor([1.0], requires_grad=True)
    opt = SGD([p], lr=0.5)
    sched = swa.SWALR(opt, swa_lr=0.05, anneal_epochs=T, anneal_strategy=strategy)
    got = []
    for _ in range(10):
        got.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    # PyTorch's SWALR reaches α(1/T) at construction (its first step counts), then α(t/T)
    want = [_swalr_closed(t + 1 if T == 0 else t, 0.5, 0.05, T, strategy) for t in range(10)]
    if T > 0:
        want[0] = 0.5
    np.testing.assert_allclose(got, want, rtol=1e-12)


@needs_nn
def test_swalr_matches_torch():
    torch = pytest.importorskip("torch")
    from minigrad.optim import SGD
    swa = _swa()
    for T, strategy in [(5, "cos"), (3, "linear"), (0, "cos")]:
        p = mg.tensor([1.0], requires_grad=True)
        opt = SGD([p], lr=0.5)
        s = swa.SWALR(opt, swa_lr=[0.05], anneal_epochs=T, anneal_strategy=strategy)
        tp = torch.zeros(1, requires_grad=True)
        topt = torch.optim.SGD([tp], lr=0.5)
        ts = torch.optim.swa_utils.SWALR(topt, swa_lr=0.05, anneal_epochs=T,
                                         anneal_strategy=strategy)
        for _ in range(12):
            assert math.isclose(s.get_last_lr()[0], ts.get_last_lr()[0], rel_tol=1e-12)
            topt.step()
            ts.step()
            s.step()
