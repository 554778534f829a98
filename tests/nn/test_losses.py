"""Losses and regularizers: values against the formulas written out in NumPy, gradcheck
(float64, random cotangent) on hypothesis-drawn shapes and every option, stability, the
loss modules, and every error. No other framework needed (the PyTorch oracle is in
``test_losses_torch_oracle.py``)."""
import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
import minigrad.nn.losses as L
from minigrad.testing import arrays, assert_close, shapes

REDUCTIONS = ["none", "mean", "sum"]


def T(a, device, requires_grad=True):
    a = np.asarray(a)
    return mg.tensor(a, device=device, requires_grad=requires_grad and a.dtype.kind == "f")


def reduce_np(loss, reduction):
    return {"none": loss, "mean": loss.mean() if loss.size else np.nan,
            "sum": loss.sum()}[reduction]


def log_softmax_np(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


# ----------------------------------------------------------------- NumPy references
# Written sample by sample from the formulas in the docstrings (PyTorch's definitions).


def ce_index_ref(x, t, weight=None, ignore_index=-100, reduction="mean", ls=0.0,
                 log_probs=False):
    """x: (N, C, d...) logits (or log-probabilities), t: (N, d...) class indices."""
    C = x.shape[1]
    logp = x if log_probs else log_softmax_np(x, 1)
    w = np.ones(C) if weight is None else weight
    rows = np.moveaxis(logp, 1, -1).reshape(-1, C)
    losses, denom = [], 0.0
    for lp, tn in zip(rows, t.reshape(-1)):
        if tn == ignore_index:
            losses.append(0.0)
            continue
        losses.append((1 - ls) * w[tn] * -lp[tn] + ls / C * np.sum(w * -lp))
        denom += w[tn]
    losses = np.array(losses).reshape(t.shape)
    return {"none": losses, "sum": losses.sum(), "mean": losses.sum() / denom}[reduction]


def ce_prob_ref(x, p, weight=None, reduction="mean", ls=0.0):
    C = x.shape[1]
    q = (1 - ls) * p + ls / C
    w = np.ones(C) if weight is None else weight
    w = w.reshape((1, C) + (1,) * (x.ndim - 2))
    losses = -(w * q * log_softmax_np(x, 1)).sum(1)
    return reduce_np(losses, reduction)


# ----------------------------------------------------------------- strategies


@st.composite
def classification(draw, min_classes=1):
    """(logits, class targets, options) with 0-2 extra dims and every option."""
    N = draw(st.integers(1, 4))
    C = draw(st.integers(min_classes, 5))
    extra = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    x = draw(arrays(shape=(N, C) + extra))
    t = draw(hnp.arrays(np.int64, (N,) + extra, elements=st.integers(0, C - 1)))
    ignore_index = draw(st.sampled_from([-100, 1]))
    if ignore_index == -100:
        ignored = draw(hnp.arrays(bool, t.shape))
        ignored.flat[0] = False  # at least one target counts (else the mean is 0/0)
        t = np.where(ignored, -100, t)
    elif (t == 1).all():
        t.flat[0] = 0
    weight = draw(st.none() | arrays(shape=(C,), min_value=0.2, max_value=2.0))
    ls = draw(st.sampled_from([0.0, 0.1, 0.5]))
    reduction = draw(st.sampled_from(REDUCTIONS))
    return x, t, dict(weight=weight, ignore_index=ignore_index, reduction=reduction,
                      label_smoothing=ls)


@st.composite
def probabilities(draw):
    N = draw(st.integers(1, 4))
    C = draw(st.integers(1, 5))
    extra = tuple(draw(st.lists(st.integers(1, 3), max_size=1)))
    shape = (N, C) + extra
    x = draw(arrays(shape=shape))
    p = draw(arrays(shape=shape, min_value=0.05, max_value=1.0))
    p = p / p.sum(1, keepdims=True)
    weight = draw(st.none() | arrays(shape=(C,), min_value=0.2, max_value=2.0))
    ls = draw(st.sampled_from([0.0, 0.2]))
    return x, p, dict(weight=weight, reduction=draw(st.sampled_from(REDUCTIONS)),
                      label_smoothing=ls)


def _with_device_weight(opts, device):
    opts = dict(opts)
    if opts.get("weight") is not None:
        opts["weight"] = T(opts["weight"], device, requires_grad=False)
    return opts


# ----------------------------------------------------------------- cross-entropy / NLL


@given(case=classification())
def test_cross_entropy_indices_matches_formula(case, device):
    x, t, opts = case
    out = L.cross_entropy(T(x, device), T(t, device), **_with_device_weight(opts, device))
    ref = ce_index_ref(x, t, opts["weight"], opts["ignore_index"], opts["reduction"],
                       opts["label_smoothing"])
    assert_close(out, np.asarray(ref), rtol=1e-10, atol=1e-12)


@given(case=classification())
def test_cross_entropy_indices_gradcheck(case, device):
    x, t, opts = case
    opts = _with_device_weight(opts, device)
    target = T(t, device)
    assert mg.gradcheck(lambda x: L.cross_entropy(x, target, **opts), (T(x, device),))


@given(case=probabilities())
def test_cross_entropy_probabilities_matches_formula_and_gradcheck(case, device):
    x, p, opts = case
    dev_opts = _with_device_weight(opts, device)
    xs, ps = T(x, device), T(p, device)
    out = L.cross_entropy(xs, ps, **dev_opts)
    ref = ce_prob_ref(x, p, opts["weight"], opts["reduction"], opts["label_smoothing"])
    assert_close(out, np.asarray(ref), rtol=1e-10, atol=1e-12)
    # the soft targets are differentiable too
    assert mg.gradcheck(lambda x, p: L.cross_entropy(x, p, **dev_opts), (xs, ps))


@given(case=classification())
def test_nll_loss_matches_formula_and_gradcheck(case, device):
    x, t, opts = case
    del opts["label_smoothing"]
    logp = log_softmax_np(x, 1)
    ref = ce_index_ref(logp, t, opts["weight"], opts["ignore_index"], opts["reduction"],
                       log_probs=True)
    opts = _with_device_weight(opts, device)
    target = T(t, device)
    assert_close(L.nll_loss(T(logp, device), target, **opts), np.asarray(ref), rtol=1e-10,
                 atol=1e-12)
    assert mg.gradcheck(lambda lp: L.nll_loss(lp, target, **opts), (T(logp, device),))


def test_cross_entropy_equals_nll_of_log_softmax(device):
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    a = L.cross_entropy(T(x, device), T(t, device))
    b = L.nll_loss(T(x, device).log_softmax(1), T(t, device))
    assert_close(a, b, rtol=1e-12)


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    """∂/∂x of mean CE = (softmax(x) − onehot(t)) / N, the textbook result."""
    rng = np.random.default_rng(1)
    x, t = rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    xs = T(x, "cpu")
    L.cross_entropy(xs, mg.tensor(t)).backward()
    p = np.exp(log_softmax_np(x, 1))
    assert_close(xs.grad, (p - np.eye(3)[t]) / 5, rtol=1e-10, atol=1e-14)


def test_cross_entropy_value_by_hand():
    # logits [2, 0, 0], target 0: −log(e²/(e² + 2)) = log(1 + 2e⁻²)
    out = L.cross_entropy(mg.tensor([[2.0, 0.0, 0.0]], dtype=mg.float64), mg.tensor([0]))
    assert out.item() == pytest.approx(np.log1p(2 * np.exp(-2.0)), rel=1e-14)


def test_weighted_mean_divides_by_the_weights_of_the_counted_targets():
    x = np.zeros((3, 2))  # every -log p = log 2
    t = np.array([0, 1, -100])
    w = np.array([1.0, 3.0])
    out = L.cross_entropy(mg.tensor(x), mg.tensor(t), weight=mg.tensor(w))
    # (1·log2 + 3·log2) / (1 + 3), the ignored sample counts in neither
    assert out.item() == pytest.approx(np.log(2), rel=1e-12)
    out = L.cross_entropy(mg.tensor(x), mg.tensor(t), weight=mg.tensor(w), reduction="sum")
    assert out.item() == pytest.approx(4 * np.log(2), rel=1e-12)


def test_label_smoothing_by_hand():
    """ε = 0.3, C = 3: target distribution (0.8, 0.1, 0.1) for class 0."""
    x = np.array([[1.0, -0.5, 2.0]])
    lp = log_softmax_np(x, 1)[0]
    expected = -(0.8 * lp[0] + 0.1 * lp[1] + 0.1 * lp[2])
    out = L.cross_entropy(mg.tensor(x), mg.tensor([0]), label_smoothing=0.3)
    assert out.item() == pytest.approx(expected, rel=1e-12)
    # the same as probability targets (0.8, 0.1, 0.1) without smoothing
    soft = L.cross_entropy(mg.tensor(x), mg.tensor([[0.8, 0.1, 0.1]], dtype=mg.float64))
    assert soft.item() == pytest.approx(expected, rel=1e-12)


def test_all_targets_ignored_gives_nan_mean_and_zero_sum():
    x, t = mg.zeros(2, 3, dtype=mg.float64), mg.tensor([-100, -100])
    assert np.isnan(L.cross_entropy(x, t).item())
    assert L.cross_entropy(x, t, reduction="sum").item() == 0.0
    assert L.cross_entropy(x, t, reduction="none").tolist() == [0.0, 0.0]


def test_ignored_targets_get_no_gradient():
    x = T(np.random.default_rng(0).standard_normal((3, 4)), "cpu")
    L.cross_entropy(x, mg.tensor([1, -100, 2]), label_smoothing=0.2).backward()
    assert np.all(x.grad.numpy()[1] == 0)
    assert np.all(x.grad.numpy()[[0, 2]] != 0)


@pytest.mark.parametrize("target", [np.int64(2), np.array([0.1, 0.2, 0.3, 0.4])])
def test_cross_entropy_single_sample(target):
    x = np.array([0.5, -1.0, 2.0, 0.0])
    out = L.cross_entropy(mg.tensor(x), mg.tensor(target), reduction="none")
    assert out.shape == ()
    batched = L.cross_entropy(mg.tensor(x[None]), mg.tensor(np.asarray(target)[None]))
    assert out.item() == pytest.approx(batched.item(), rel=1e-12)


def test_cross_entropy_stable_for_huge_logits():
    x = mg.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]], requires_grad=True)
    loss = L.cross_entropy(x, mg.tensor([0, 0]))
    loss.backward()
    assert loss.item() == pytest.approx(1e4, rel=1e-6)
    assert np.isfinite(x.grad.numpy()).all()


@settings(max_examples=8)
@given(case=classification(min_classes=2))
def test_cross_entropy_gradgradcheck(case):
    x, t, opts = case
    opts = _with_device_weight(opts, "cpu")
    target = mg.tensor(t)
    assert mg.gradgradcheck(lambda x: L.cross_entropy(x, target, **opts), (T(x, "cpu"),))


def test_cross_entropy_accepts_array_targets_and_float32():
    x = mg.randn(4, 3)
    out = L.cross_entropy(x, [0, 1, 2, 0])
    assert out.dtype == mg.float32
    assert out.item() == pytest.approx(
        ce_index_ref(x.numpy().astype(np.float64), np.array([0, 1, 2, 0])), rel=1e-5)


# ----------------------------------------------------------------- regression losses


def huber_np(d, delta):
    a = np.abs(d)
    return np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))


def smooth_l1_np(d, beta):
    a = np.abs(d)
    if beta == 0:
        return a
    return np.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)


REGRESSION = {
    "mse_loss": (lambda x, y, r: L.mse_loss(x, y, reduction=r), lambda d: d * d, ()),
    "l1_loss": (lambda x, y, r: L.l1_loss(x, y, reduction=r), np.abs, (0.0,)),
    "huber_loss": (lambda x, y, r: L.huber_loss(x, y, reduction=r, delta=0.7),
                   lambda d: huber_np(d, 0.7), (0.0, 0.7, -0.7)),
    "huber_loss_delta2": (lambda x, y, r: L.huber_loss(x, y, r, delta=2.0),
                          lambda d: huber_np(d, 2.0), (0.0, 2.0, -2.0)),
    "smooth_l1_loss": (lambda x, y, r: L.smooth_l1_loss(x, y, reduction=r, beta=0.5),
                       lambda d: smooth_l1_np(d, 0.5), (0.0, 0.5, -0.5)),
    "smooth_l1_loss_beta0": (lambda x, y, r: L.smooth_l1_loss(x, y, reduction=r, beta=0.0),
                             np.abs, (0.0,)),
}


@st.composite
def regression_pair(draw, avoid):
    shape = draw(shapes(max_dims=3))
    x = draw(arrays(shape=shape))
    d = draw(arrays(shape=shape, avoid=avoid, margin=1e-2))  # d = x − y away from kinks
    return x, x - d, draw(st.sampled_from(REDUCTIONS))


@pytest.mark.parametrize("name", REGRESSION)
@given(data=st.data())
def test_regression_losses(name, data, device):
    fn, ref, avoid = REGRESSION[name]
    x, y, reduction = data.draw(regression_pair(avoid))
    xs, ys = T(x, device), T(y, device)
    assert_close(fn(xs, ys, reduction), np.asarray(reduce_np(ref(x - y), reduction)),
                 rtol=1e-10, atol=1e-12)
    assert mg.gradcheck(lambda a, b: fn(a, b, reduction), (xs, ys))


def test_huber_is_delta_times_smooth_l1():
    rng = np.random.default_rng(0)
    x, y = mg.tensor(rng.standard_normal(20) * 3), mg.tensor(rng.standard_normal(20))
    a = L.huber_loss(x, y, reduction="none", delta=1.5)
    b = L.smooth_l1_loss(x, y, reduction="none", beta=1.5)
    assert_close(a, 1.5 * b.numpy(), rtol=1e-12)


def test_huber_gradient_is_clipped_residual():
    x = T([-3.0, -0.5, 0.2, 4.0], "cpu")
    L.huber_loss(x, mg.zeros(4, dtype=mg.float64), reduction="sum", delta=1.0).backward()
    assert x.grad.tolist() == [-1.0, -0.5, 0.2, 1.0]


def test_regression_gradgradcheck():
    rng = np.random.default_rng(3)
    x, y = T(rng.standard_normal(6), "cpu"), T(rng.standard_normal(6), "cpu")
    assert mg.gradgradcheck(lambda a, b: L.mse_loss(a, b), (x, y))
    assert mg.gradgradcheck(lambda a, b: L.huber_loss(a, b, delta=0.5), (x, y))


# ----------------------------------------------------------------- binary cross-entropy


@st.composite
def binary_case(draw, probabilities_input):
    shape = draw(shapes(min_dims=1, max_dims=3))
    lo, hi = (0.05, 0.95) if probabilities_input else (-4.0, 4.0)
    x = draw(arrays(shape=shape, min_value=lo, max_value=hi))
    y = draw(arrays(shape=shape, min_value=0.0, max_value=1.0))
    weight = draw(st.none() | arrays(shape=shape[-1:], min_value=0.2, max_value=2.0))
    pos_weight = draw(st.none() | arrays(shape=shape[-1:], min_value=0.2, max_value=3.0))
    return x, y, weight, pos_weight, draw(st.sampled_from(REDUCTIONS))


@given(case=binary_case(True))
def test_binary_cross_entropy(case, device):
    x, y, weight, _, reduction = case
    w = 1.0 if weight is None else weight
    ref = -w * (y * np.log(x) + (1 - y) * np.log(1 - x))
    wt = None if weight is None else T(weight, device, False)
    xs, ys = T(x, device), T(y, device)
    out = L.binary_cross_entropy(xs, ys, weight=wt, reduction=reduction)
    assert_close(out, np.asarray(reduce_np(ref, reduction)), rtol=1e-10, atol=1e-12)
    # targets must lie in [0, 1] (as PyTorch checks): central differences need them inside
    ys_inner = T(np.clip(y, 1e-3, 1 - 1e-3), device)
    assert mg.gradcheck(lambda a, b: L.binary_cross_entropy(a, b, wt, reduction),
                        (xs, ys_inner))


@given(case=binary_case(False))
def test_binary_cross_entropy_with_logits(case, device):
    x, y, weight, pos_weight, reduction = case
    w = 1.0 if weight is None else weight
    p = 1.0 if pos_weight is None else pos_weight
    s = 1 / (1 + np.exp(-x))
    ref = -w * (p * y * np.log(s) + (1 - y) * np.log(1 - s))  # the textbook form
    wt = None if weight is None else T(weight, device, False)
    pw = None if pos_weight is None else T(pos_weight, device, False)
    xs, ys = T(x, device), T(y, device)
    fn = lambda a, b: L.binary_cross_entropy_with_logits(a, b, wt, reduction, pw)
    assert_close(fn(xs, ys), np.asarray(reduce_np(ref, reduction)), rtol=1e-9, atol=1e-12)
    assert mg.gradcheck(fn, (xs, ys))


def test_bce_with_logits_equals_bce_of_sigmoid():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(10), rng.random(10)
    a = L.binary_cross_entropy_with_logits(mg.tensor(x), mg.tensor(y))
    b = L.binary_cross_entropy(mg.tensor(x).sigmoid(), mg.tensor(y))
    assert a.item() == pytest.approx(b.item(), rel=1e-12)


def test_bce_with_logits_stable_at_1e4_float32():
    x = mg.tensor([-1e4, 1e4, -1e4, 1e4, -2e4, 3e4], dtype=mg.float32, requires_grad=True)
    y = mg.tensor([0.0, 1.0, 1.0, 0.0, 0.5, 0.25], dtype=mg.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is fine
        loss = L.binary_cross_entropy_with_logits(x, y, reduction="none",
                                                  pos_weight=mg.tensor([2.0]))
        loss.sum().backward()
    assert loss.dtype == mg.float32
    # −[p·y·log σ(x) + (1 − y)·log(1 − σ(x))] with log σ(x) = −max(−x, 0) here:
    # 0, 0, p·1e4, 1e4, p·0.5·2e4, 0.75·3e4
    assert loss.tolist() == [0.0, 0.0, 2e4, 1e4, 2e4, 22500.0]
    # gradient: (1 + (p − 1)y)σ(x) − p·y  →  σ(x) ∈ {0, 1}
    assert x.grad.tolist() == [0.0, 0.0, -2.0, 1.0, -1.0, 0.75]


def test_bce_clamps_log_at_minus_100_without_nan():
    x = mg.tensor([0.0, 1.0, 0.0, 1.0], dtype=mg.float64, requires_grad=True)
    y = mg.tensor([0.0, 1.0, 1.0, 0.0], dtype=mg.float64)
    loss = L.binary_cross_entropy(x, y, reduction="none")
    assert loss.tolist() == [0.0, 0.0, 100.0, 100.0]
    loss.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_bce_gradgradcheck():
    rng = np.random.default_rng(5)
    x, y = T(rng.standard_normal(5), "cpu"), T(rng.random(5), "cpu")
    pw = mg.tensor([1.5], dtype=mg.float64)
    assert mg.gradgradcheck(
        lambda a, b: L.binary_cross_entropy_with_logits(a, b, pos_weight=pw), (x, y))


# ----------------------------------------------------------------- KL, distillation, entropy


@st.composite
def kl_case(draw):
    shape = draw(shapes(min_dims=1, max_dims=3))
    logq = log_softmax_np(draw(arrays(shape=shape)), -1)
    p = draw(arrays(shape=shape, min_value=0.05, max_value=1.0))
    p = p / p.sum(-1, keepdims=True)
    return logq, p, draw(st.sampled_from(REDUCTIONS + ["batchmean"])), draw(st.booleans())


@given(case=kl_case())
def test_kl_div(case, device):
    logq, p, reduction, log_target = case
    pointwise = p * (np.log(p) - logq)
    target = np.log(p) if log_target else p
    if reduction == "batchmean":
        ref = pointwise.sum() / logq.shape[0]
    else:
        ref = reduce_np(pointwise, reduction)
    xs, ts = T(logq, device), T(target, device)
    fn = lambda a, b: L.kl_div(a, b, reduction=reduction, log_target=log_target)
    assert_close(fn(xs, ts), np.asarray(ref), rtol=1e-10, atol=1e-12)
    assert mg.gradcheck(fn, (xs, ts))


def test_kl_div_zero_target_contributes_zero():
    logq = mg.tensor([[-1.0, -0.5, -2.0]], dtype=mg.float64, requires_grad=True)
    p = mg.tensor([[0.0, 1.0, 0.0]], dtype=mg.float64, requires_grad=True)
    out = L.kl_div(logq, p, reduction="sum")
    assert out.item() == pytest.approx(0.5)
    out.backward()
    assert np.isfinite(p.grad.numpy()).all() and np.isfinite(logq.grad.numpy()).all()


def test_kl_of_a_distribution_with_itself_is_zero():
    p = np.array([[0.2, 0.3, 0.5]])
    out = L.kl_div(mg.tensor(np.log(p)), mg.tensor(p), reduction="batchmean")
    assert abs(out.item()) < 1e-15


def distillation_np(s, t, y, T_, alpha):
    q_log = log_softmax_np(s / T_, 1)
    p_log = log_softmax_np(t / T_, 1)
    kl = (np.exp(p_log) * (p_log - q_log)).sum(1)          # KL(p_teacher ‖ q_student)
    ce = -log_softmax_np(s, 1)[np.arange(len(y)), y]
    return alpha * T_ ** 2 * kl + (1 - alpha) * ce


@pytest.mark.parametrize("T_, alpha", [(4.0, 0.9), (1.0, 0.5), (2.5, 0.0), (3.0, 1.0)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_distillation_loss_formula_and_gradcheck(T_, alpha, reduction, device):
    rng = np.random.default_rng(int(T_ * 10 + alpha * 100))
    s, t, y = rng.standard_normal((5, 4)) * 2, rng.standard_normal((5, 4)) * 2, \
        rng.integers(0, 4, 5)
    ss, ts, ys = T(s, device), T(t, device), T(y, device)
    fn = lambda a, b: L.distillation_loss(a, b, ys, T=T_, alpha=alpha, reduction=reduction)
    ref = reduce_np(distillation_np(s, t, y, T_, alpha), reduction)
    assert_close(fn(ss, ts), np.asarray(ref), rtol=1e-10, atol=1e-12)
    assert mg.gradcheck(fn, (ss, ts))


def test_distillation_soft_term_is_batchmean_kl_times_T2():
    rng = np.random.default_rng(7)
    s, t = mg.tensor(rng.standard_normal((3, 5))), mg.tensor(rng.standard_normal((3, 5)))
    y = mg.tensor([0, 1, 2])
    soft = L.distillation_loss(s, t, y, T=3.0, alpha=1.0)
    kl = L.kl_div((s / 3.0).log_softmax(1), (t / 3.0).softmax(1), reduction="batchmean")
    assert soft.item() == pytest.approx(9.0 * kl.item(), rel=1e-12)
    hard = L.distillation_loss(s, t, y, T=3.0, alpha=0.0)
    assert hard.item() == pytest.approx(L.cross_entropy(s, y).item(), rel=1e-12)


@given(x=arrays(shape=shapes(min_dims=1, max_dims=3)), reduction=st.sampled_from(REDUCTIONS))
def test_entropy_penalty(x, reduction, device):
    dim = 0 if x.ndim == 1 else 1
    lp = log_softmax_np(x, dim)
    ref = reduce_np(-(np.exp(lp) * lp).sum(dim), reduction)
    xs = T(x, device)
    assert_close(L.entropy_penalty(xs, reduction=reduction), np.asarray(ref), rtol=1e-10,
                 atol=1e-12)
    assert mg.gradcheck(lambda a: L.entropy_penalty(a, reduction=reduction), (xs,))


def test_entropy_extremes():
    uniform = L.entropy_penalty(mg.zeros(2, 8, dtype=mg.float64))
    assert uniform.item() == pytest.approx(np.log(8), rel=1e-14)
    peaked = L.entropy_penalty(mg.tensor([[100.0, 0.0, 0.0]], dtype=mg.float64))
    assert peaked.item() < 1e-40


# ----------------------------------------------------------------- penalties


def test_l1_l2_penalty_values_and_gradients(device):
    rng = np.random.default_rng(0)
    arrays_ = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    ps = [T(a, device) for a in arrays_]
    l1, l2 = L.l1_penalty(iter(ps)), L.l2_penalty(ps)
    assert l1.item() == pytest.approx(sum(np.abs(a).sum() for a in arrays_), rel=1e-12)
    assert l2.item() == pytest.approx(0.5 * sum((a * a).sum() for a in arrays_), rel=1e-12)
    l2.backward()
    for p, a in zip(ps, arrays_):
        assert_close(p.grad, a, rtol=1e-12)  # ∇(½‖θ‖²) = θ
    assert mg.gradcheck(lambda a, b: L.l1_penalty([a, b]) + L.l2_penalty([a, b]),
                        (T(arrays_[0] + 0.1, device), T(arrays_[1], device)))


def test_l2_penalty_is_sgd_coupled_weight_decay():
    from minigrad.optim import SGD

    rng = np.random.default_rng(1)
    w0, x = rng.standard_normal(4), rng.standard_normal(4)
    lam, lr = 0.1, 0.5
    a = mg.tensor(w0, requires_grad=True)
    loss = (a * mg.tensor(x)).sum() + lam * L.l2_penalty([a])
    loss.backward()
    SGD([a], lr=lr).step()
    b = mg.tensor(w0, requires_grad=True)
    (b * mg.tensor(x)).sum().backward()
    SGD([b], lr=lr, weight_decay=lam).step()
    assert_close(a, b.numpy(), rtol=1e-14)


def test_penalty_of_a_single_tensor():
    p = mg.tensor([-1.0, 2.0], requires_grad=True)
    assert L.l1_penalty(p).item() == 3.0
    assert L.l2_penalty(p).item() == 2.5


# ----------------------------------------------------------------- modules

MODULE_CASES = [
    (L.MSELoss, {}, L.mse_loss, "reg"),
    (L.L1Loss, {"reduction": "sum"}, L.l1_loss, "reg"),
    (L.HuberLoss, {"delta": 0.5}, L.huber_loss, "reg"),
    (L.SmoothL1Loss, {"beta": 0.3, "reduction": "none"}, L.smooth_l1_loss, "reg"),
    (L.BCELoss, {"weight": [1.0, 2.0, 0.5]}, L.binary_cross_entropy, "prob"),
    (L.BCEWithLogitsLoss, {"pos_weight": [2.0, 1.0, 0.5]}, L.binary_cross_entropy_with_logits,
     "reg"),
    (L.KLDivLoss, {"reduction": "batchmean", "log_target": True}, L.kl_div, "reg"),
    (L.CrossEntropyLoss, {"weight": [1.0, 2.0, 0.5], "label_smoothing": 0.1,
                          "ignore_index": 2}, L.cross_entropy, "cls"),
    (L.NLLLoss, {"weight": [1.0, 2.0, 0.5]}, L.nll_loss, "cls"),
]


@pytest.mark.parametrize("cls, kwargs, fn, kind", MODULE_CASES,
                         ids=[c[0].__name__ for c in MODULE_CASES])
def test_loss_module_equals_function(cls, kwargs, fn, kind):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3))
    if kind == "prob":
        x = 1 / (1 + np.exp(-x))
    y = rng.integers(0, 3, 4) if kind == "cls" else rng.random((4, 3))
    module = cls(**kwargs)
    fkw = {k: (mg.tensor(v) if isinstance(v, list) else v) for k, v in kwargs.items()}
    assert_close(module(mg.tensor(x), mg.tensor(y)), fn(mg.tensor(x), mg.tensor(y), **fkw),
                 rtol=1e-12)
    assert isinstance(module, mg.nn.module.Module)
    assert cls.__name__ in repr(module)


def test_weighted_loss_modules_keep_weights_as_buffers():
    m = L.CrossEntropyLoss(weight=mg.tensor([1.0, 2.0]))
    assert list(m.state_dict()) == ["weight"] and not list(m.parameters())
    m2 = L.BCEWithLogitsLoss(weight=[1.0, 1.0], pos_weight=[3.0, 1.0])
    assert list(m2.state_dict()) == ["weight", "pos_weight"]
    assert list(L.CrossEntropyLoss().state_dict()) == []
    m.to(dtype=mg.float64)
    assert m.weight.dtype == mg.float64


def test_distillation_module():
    rng = np.random.default_rng(0)
    s, t, y = mg.tensor(rng.standard_normal((3, 4))), mg.tensor(rng.standard_normal((3, 4))), \
        mg.tensor([0, 3, 1])
    m = L.DistillationLoss(T=2.0, alpha=0.7)
    assert m(s, t, y).item() == pytest.approx(
        L.distillation_loss(s, t, y, T=2.0, alpha=0.7).item(), rel=1e-14)
    assert "T=2.0" in repr(m)


# ----------------------------------------------------------------- errors

ALL_FUNCTIONS = {
    "mse_loss": lambda r: L.mse_loss(mg.ones(2), mg.ones(2), reduction=r),
    "l1_loss": lambda r: L.l1_loss(mg.ones(2), mg.ones(2), reduction=r),
    "huber_loss": lambda r: L.huber_loss(mg.ones(2), mg.ones(2), reduction=r),
    "smooth_l1_loss": lambda r: L.smooth_l1_loss(mg.ones(2), mg.ones(2), reduction=r),
    "cross_entropy": lambda r: L.cross_entropy(mg.ones(2, 3), mg.tensor([0, 1]), reduction=r),
    "nll_loss": lambda r: L.nll_loss(mg.ones(2, 3), mg.tensor([0, 1]), reduction=r),
    "binary_cross_entropy": lambda r: L.binary_cross_entropy(mg.ones(2) / 2, mg.ones(2),
                                                             reduction=r),
    "binary_cross_entropy_with_logits": lambda r: L.binary_cross_entropy_with_logits(
        mg.ones(2), mg.ones(2), reduction=r),
    "kl_div": lambda r: L.kl_div(mg.ones(2), mg.ones(2), reduction=r),
    "distillation_loss": lambda r: L.distillation_loss(mg.ones(2, 3), mg.ones(2, 3),
                                                       mg.tensor([0, 1]), reduction=r),
    "entropy_penalty": lambda r: L.entropy_penalty(mg.ones(2, 3), reduction=r),
}


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_invalid_reduction(name):
    with pytest.raises(ValueError, match=rf"{name}: reduction must be one of .*'avg'"):
        ALL_FUNCTIONS[name]("avg")


@pytest.mark.parametrize("cls", [L.MSELoss, L.L1Loss, L.HuberLoss, L.SmoothL1Loss,
                                 L.CrossEntropyLoss, L.NLLLoss, L.BCELoss,
                                 L.BCEWithLogitsLoss, L.KLDivLoss, L.DistillationLoss])
def test_module_invalid_reduction(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: reduction must be"):
        cls(reduction="elementwise_mean")


def test_batchmean_only_for_kl():
    L.KLDivLoss(reduction="batchmean")
    with pytest.raises(ValueError, match="mse_loss: reduction"):
        L.mse_loss(mg.ones(2), mg.ones(2), reduction="batchmean")


@pytest.mark.parametrize("fn", [L.mse_loss, L.l1_loss, L.huber_loss, L.smooth_l1_loss,
                                L.binary_cross_entropy_with_logits, L.kl_div])
def test_shape_mismatch_names_both_shapes(fn):
    with pytest.raises(ValueError, match=rf"{fn.__name__}.*\(4, 1\).*\(4,\)"):
        fn(mg.ones(4, 1), mg.ones(4))


def test_bce_shape_mismatch_and_range():
    with pytest.raises(ValueError, match=r"binary_cross_entropy.*\(3,\).*\(2,\)"):
        L.binary_cross_entropy(mg.ones(3) / 2, mg.ones(2))
    with pytest.raises(ValueError, match=r"probability in \[0, 1\].*1\.5"):
        L.binary_cross_entropy(mg.tensor([0.5, 1.5]), mg.ones(2))
    with pytest.raises(ValueError, match="probability"):
        L.binary_cross_entropy(mg.tensor([0.5, float("nan")]), mg.ones(2))


@pytest.mark.parametrize("bad", [10, 12, -3])
def test_class_index_out_of_range_names_index_and_classes(bad):
    with pytest.raises(IndexError, match=rf"cross_entropy: target class index {bad} is out "
                                         r"of range for 10 classes"):
        L.cross_entropy(mg.zeros(3, 10), mg.tensor([0, bad, 1]))
    with pytest.raises(IndexError, match=rf"nll_loss: .*{bad}.*10 classes"):
        L.nll_loss(mg.zeros(3, 10), mg.tensor([0, bad, 1]))


def test_cross_entropy_target_shape_errors():
    with pytest.raises(ValueError, match=r"shape \(4,\) for input of shape \(4, 3\), got "
                                         r"target shape \(5,\)"):
        L.cross_entropy(mg.zeros(4, 3), mg.tensor([0, 1, 2, 0, 1]))
    with pytest.raises(ValueError, match=r"\(2, 4\) for input of shape \(2, 3, 4\).*\(2, 5\)"):
        L.cross_entropy(mg.zeros(2, 3, 4), mg.zeros(2, 5, dtype=mg.int64))
    with pytest.raises(ValueError, match=r"probability targets.*\(4, 3\).*\(4, 2\)"):
        L.cross_entropy(mg.zeros(4, 3), mg.zeros(4, 2))
    with pytest.raises(TypeError, match="integer tensor, got float32 with shape"):
        L.nll_loss(mg.zeros(4, 3), mg.zeros(4))
    with pytest.raises(ValueError, match="class dimension"):
        L.cross_entropy(mg.tensor(1.0), mg.tensor(0))


def test_cross_entropy_option_errors():
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\).*got \(2,\)"):
        L.cross_entropy(mg.zeros(4, 3), mg.tensor([0, 1, 2, 0]), weight=mg.ones(2))
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\], got 1.5"):
        L.cross_entropy(mg.zeros(4, 3), mg.tensor([0, 1, 2, 0]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="label_smoothing"):
        L.CrossEntropyLoss(label_smoothing=-0.1)
    with pytest.raises(TypeError, match="floating-point"):
        L.cross_entropy(mg.zeros(4, 3, dtype=mg.int64), mg.tensor([0, 1, 2, 0]))
    with pytest.raises(TypeError, match="input must be a Tensor"):
        L.mse_loss(np.ones(3), mg.ones(3))


def test_hyperparameter_errors():
    with pytest.raises(ValueError, match="huber_loss: delta must be positive, got 0"):
        L.huber_loss(mg.ones(2), mg.ones(2), delta=0)
    with pytest.raises(ValueError, match="HuberLoss: delta"):
        L.HuberLoss(delta=-1.0)
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be non-negative"):
        L.smooth_l1_loss(mg.ones(2), mg.ones(2), beta=-0.5)
    with pytest.raises(ValueError, match="SmoothL1Loss: beta"):
        L.SmoothL1Loss(beta=-1)
    s = mg.ones(2, 3)
    with pytest.raises(ValueError, match="temperature T must be positive, got 0"):
        L.distillation_loss(s, s, mg.tensor([0, 1]), T=0)
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\], got 1.5"):
        L.distillation_loss(s, s, mg.tensor([0, 1]), alpha=1.5)
    with pytest.raises(ValueError, match=r"student and teacher.*\(2, 3\).*\(2, 4\)"):
        L.distillation_loss(s, mg.ones(2, 4), mg.tensor([0, 1]))
    with pytest.raises(ValueError, match="DistillationLoss: alpha"):
        L.DistillationLoss(alpha=-0.1)
    with pytest.raises(ValueError, match="l2_penalty: got no parameters"):
        L.l2_penalty([])
    with pytest.raises(TypeError, match="l1_penalty: expected Tensors, got ndarray"):
        L.l1_penalty([np.ones(2)])


def test_docstring_examples():
    result = doctest.testmod(L, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_cross_entropy_with_a_masked_class_is_finite():
    """A logit of −inf (a masked-out class) that is not the target gives a finite loss
    and zero gradient for that class, as in PyTorch."""
    import minigrad as mg
    from minigrad.nn import functional as F

    x = mg.tensor([[2.0, float("-inf"), 0.5], [0.1, float("-inf"), 1.0]], requires_grad=True)
    loss = F.cross_entropy(x, mg.tensor([0, 2]))
    expected = -np.mean([2.0 - np.log(np.exp(2.0) + np.exp(0.5)),
                         1.0 - np.log(np.exp(0.1) + np.exp(1.0))])
    assert np.isclose(loss.item(), expected, rtol=1e-6)
    loss.backward()
    assert np.isfinite(x.grad.numpy()).all() and (x.grad.numpy()[:, 1] == 0).all()


def test_loss_reprs_are_pytorchs():
    """PyTorch prints a loss module as its bare class name, whatever its options."""
    assert repr(L.MSELoss()) == "MSELoss()"
    assert repr(L.CrossEntropyLoss(reduction="sum", label_smoothing=0.1)) == "CrossEntropyLoss()"
    assert repr(L.KLDivLoss(reduction="batchmean")) == "KLDivLoss()"
