"""The margin, ranking and likelihood losses (margin_ranking, hinge_embedding,
cosine_embedding, triplet_margin, soft_margin, multilabel_soft_margin, multi_margin,
poisson_nll, gaussian_nll): values against the formulas written out in NumPy and worked
by hand, gradcheck in float64 (random cotangents) on hypothesis-drawn shapes with inputs
kept away from the hinges, gradgradcheck, the modules, and every error. None of this needs
PyTorch; the oracle tests at the end import it inside each test and skip without it.
"""
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.testing import arrays, assert_close

REDUCTIONS = ["none", "mean", "sum"]


def T(a, device="cpu", requires_grad=True):
    a = np.asarray(a)
    return mg.tensor(a, device=device, requires_grad=requires_grad and a.dtype.kind == "f")


def reduce_np(loss, reduction):
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


def softplus_np(z):
    return np.logaddexp(0.0, z)


# ----------------------------------------------------------------- NumPy references
# Written element by element (or sample by sample) from PyTorch's definitions.


def margin_ranking_ref(x1, x2, y, margin=0.0):
    return np.maximum(0.0, -y * (x1 - x2) + margin)


def hinge_embedding_ref(x, y, margin=1.0):
    return np.where(y != 1, np.maximum(0.0, margin - x), 0.0) + np.where(y != -1, x, 0.0)


def cosine_embedding_ref(x1, x2, y, margin=0.0):
    d = x1.ndim - 1
    cos = (x1 * x2).sum(d) / np.sqrt(((x1 * x1).sum(d) + 1e-12) * ((x2 * x2).sum(d) + 1e-12))
    return np.where(y == 1, 1 - cos, np.where(y == -1, np.maximum(0.0, cos - margin), 0.0))


def dist_ref(u, v, p=2, eps=1e-6):
    return (np.abs(u - v + eps) ** p).sum(-1) ** (1.0 / p)


def triplet_ref(a, p_, n, margin=1.0, p=2, eps=1e-6, swap=False):
    d_neg = dist_ref(a, n, p, eps)
    if swap:
        d_neg = np.minimum(d_neg, dist_ref(p_, n, p, eps))
    return np.maximum(0.0, dist_ref(a, p_, p, eps) - d_neg + margin)


def soft_margin_ref(x, y):
    return softplus_np(-y * x)


def multilabel_ref(x, y, weight=None):
    loss = y * softplus_np(-x) + (1 - y) * softplus_np(x)
    if weight is not None:
        loss = loss * weight
    return loss.mean(-1)


def multi_margin_ref(x, t, p=1, margin=1.0, weight=None):
    x2, t2 = np.atleast_2d(x), np.atleast_1d(t)
    C = x2.shape[1]
    out = []
    for row, y in zip(x2, t2):
        w = 1.0 if weight is None else weight[y]
        out.append(sum(w * max(0.0, margin - row[y] + row[c]) ** p
                       for c in range(C) if c != y) / C)
    out = np.array(out)
    return out.reshape(np.shape(t))


def poisson_ref(x, y, log_input=True, full=False, eps=1e-8):
    loss = np.exp(x) - y * x if log_input else x - y * np.log(x + eps)
    if full:
        with np.errstate(divide="ignore", invalid="ignore"):
            s = y * np.log(y) - y + 0.5 * np.log(2 * np.pi * y)
        loss = loss + np.where(y > 1, s, 0.0)
    return loss


def gaussian_ref(x, y, var, full=False, eps=1e-6):
    var = np.maximum(var, eps)
    loss = 0.5 * (np.log(var) + (x - y) ** 2 / var)
    return loss + 0.5 * np.log(2 * np.pi) if full else loss


# ----------------------------------------------------------------- cases
# Each strategy draws (function, NumPy reference, arrays, which arrays are differentiable,
# options), with the hinge arguments at least 0.1 from their kink.

sizes = st.integers(1, 4)


def _signs(draw, shape):
    return draw(arrays(shape=shape, min_value=-1, max_value=1)) >= 0


@st.composite
def margin_ranking_case(draw):
    shape = tuple(draw(st.lists(sizes, min_size=1, max_size=3)))
    margin = draw(st.sampled_from([0.0, 0.5]))
    y = np.where(_signs(draw, shape), 1.0, -1.0)
    x1 = draw(arrays(shape=shape))
    z = draw(arrays(shape=shape, avoid=(0.0,), margin=0.1))  # the hinge argument
    x2 = x1 + y * (z - margin)
    return (F.margin_ranking_loss, margin_ranking_ref, [x1, x2, y], [True, True, True],
            dict(margin=margin))


@st.composite
def hinge_embedding_case(draw):
    shape = tuple(draw(st.lists(sizes, min_size=1, max_size=3)))
    margin = draw(st.sampled_from([1.0, 0.5]))
    x = draw(arrays(shape=shape, avoid=(margin,), margin=0.1))
    y = draw(st.sampled_from([np.array([1.0, -1.0]), np.array([1.0, -1.0, 0.0])]))
    y = np.resize(y, shape)
    return F.hinge_embedding_loss, hinge_embedding_ref, [x, y], [True, False], dict(margin=margin)


@st.composite
def cosine_embedding_case(draw):
    batched = draw(st.booleans())
    D = draw(st.integers(2, 4))
    shape = (draw(sizes), D) if batched else (D,)
    x1 = draw(arrays(shape=shape, min_value=0.2, max_value=2.0))
    x2 = draw(arrays(shape=shape, min_value=-2.0, max_value=2.0, avoid=(0.0,), margin=0.2))
    y = np.resize(np.array([1.0, -1.0, 0.0]), shape[:-1])
    cos = cosine_embedding_ref(x1, x2, np.ones(shape[:-1]))
    margin = float(np.clip(np.min(1 - cos) - 1.2, -1.0, 0.9))  # cos − margin ≥ 0.2 > 0
    return (F.cosine_embedding_loss, cosine_embedding_ref, [x1, x2, y], [True, True, False],
            dict(margin=margin))


@st.composite
def triplet_case(draw):
    shape = (draw(sizes), draw(st.integers(2, 4)))
    a, p_, n = (draw(arrays(shape=shape)) for _ in range(3))
    p = draw(st.sampled_from([1, 2, 3]))
    swap = draw(st.booleans())
    d_ap, d_an, d_pn = dist_ref(a, p_, p), dist_ref(a, n, p), dist_ref(p_, n, p)
    # no two points within 0.1 (the norm's kink at 0), no coordinate of a difference
    # near 0 (the kink of |·| in the 1-norm), no tie between the negatives
    assume(min(d_ap.min(), d_an.min(), d_pn.min()) > 0.1)
    assume(min(np.abs(a - p_).min(), np.abs(a - n).min(), np.abs(p_ - n).min()) > 1e-3)
    if swap and np.abs(d_an - d_pn).min() < 1e-3:
        swap = False
    d_neg = np.minimum(d_an, d_pn) if swap else d_an
    margin = float(max(np.max(d_neg - d_ap), 0.0) + 0.5)  # every triplet 0.5 inside
    return (F.triplet_margin_loss, triplet_ref, [a, p_, n], [True, True, True],
            dict(margin=margin, p=p, swap=swap))


@st.composite
def soft_margin_case(draw):
    shape = tuple(draw(st.lists(sizes, max_size=3)))
    x = draw(arrays(shape=shape))
    y = np.where(_signs(draw, shape), 1.0, -1.0)
    return F.soft_margin_loss, soft_margin_ref, [x, y], [True, True], {}


@st.composite
def multilabel_case(draw):
    shape = tuple(draw(st.lists(sizes, min_size=1, max_size=2)))
    x = draw(arrays(shape=shape))
    y = draw(arrays(shape=shape, min_value=0.0, max_value=1.0))
    weighted = draw(st.booleans())
    w = draw(arrays(shape=shape[-1:], min_value=0.2, max_value=2.0)) if weighted else None
    arrays_ = [x, y] + ([w] if weighted else [])
    return (lambda x, y, *w, **kw: F.multilabel_soft_margin_loss(x, y, *w, **kw),
            lambda x, y, *w: multilabel_ref(x, y, *w), arrays_,
            [True, True, True], {})


@st.composite
def multi_margin_case(draw):
    C = draw(st.integers(2, 5))
    batched = draw(st.booleans())
    shape = (draw(sizes), C) if batched else (C,)
    # scores on a 0.25 grid (plus small noise), margin 0.6: no hinge argument near 0
    x = draw(arrays(shape=shape, min_value=-8, max_value=8)).round() / 4
    x = x + draw(arrays(shape=shape, min_value=0.0, max_value=0.01))
    t = draw(arrays(shape=shape[:-1], min_value=0, max_value=C - 1)).round().astype(np.int64)
    p = draw(st.sampled_from([1, 2]))
    w = draw(st.none() | arrays(shape=(C,), min_value=0.2, max_value=2.0))
    return (lambda x, t, **kw: F.multi_margin_loss(x, t, p=p, margin=0.6, weight=kw["w"],
                                                   reduction=kw["reduction"]),
            lambda x, t, w: multi_margin_ref(x, t, p=p, margin=0.6, weight=w),
            [x, t], [True, False], dict(w=w))


@st.composite
def poisson_case(draw):
    shape = tuple(draw(st.lists(sizes, max_size=3)))
    log_input, full = draw(st.booleans()), draw(st.booleans())
    x = draw(arrays(shape=shape, min_value=-2.0, max_value=2.0))
    if not log_input:
        x = np.exp(x)  # a rate: positive
    y = draw(arrays(shape=shape, min_value=0.0, max_value=6.0)).round()
    y = np.where(np.abs(y - 1) < 0.1, 1.3, y)  # y ≤ 1 switches the Stirling term off
    return (F.poisson_nll_loss, poisson_ref, [x, y], [True, True],
            dict(log_input=log_input, full=full))


@st.composite
def gaussian_case(draw):
    shape = tuple(draw(st.lists(sizes, min_size=1, max_size=3)))
    kind = draw(st.sampled_from(["same", "last dim dropped", "one dim of size 1"]))
    if kind == "same":
        vshape = shape
    elif kind == "last dim dropped":
        vshape = shape[:-1]
    else:
        i = draw(st.integers(0, len(shape) - 1))
        vshape = shape[:i] + (1,) + shape[i + 1:]
    x, y = draw(arrays(shape=shape)), draw(arrays(shape=shape))
    var = draw(arrays(shape=vshape, min_value=0.1, max_value=3.0))
    var_b = var[..., None] if kind == "last dim dropped" else var
    return (F.gaussian_nll_loss, lambda x, y, v, full: gaussian_ref(x, y, var_b, full),
            [x, y, var], [True, True, True], dict(full=draw(st.booleans())))


CASES = {
    "margin_ranking_loss": margin_ranking_case,
    "hinge_embedding_loss": hinge_embedding_case,
    "cosine_embedding_loss": cosine_embedding_case,
    "triplet_margin_loss": triplet_case,
    "soft_margin_loss": soft_margin_case,
    "multilabel_soft_margin_loss": multilabel_case,
    "multi_margin_loss": multi_margin_case,
    "poisson_nll_loss": poisson_case,
    "gaussian_nll_loss": gaussian_case,
}


def _call(fn, tensors, opts, reduction):
    return fn(*tensors, **opts, reduction=reduction)


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=15)
@given(data=st.data())
def test_matches_numpy_formula(name, data, device):
    fn, ref, arrs, _, opts = data.draw(CASES[name]())
    reduction = data.draw(st.sampled_from(REDUCTIONS))
    out = _call(fn, [T(a, device) for a in arrs], opts, reduction)
    expected = reduce_np(np.asarray(ref(*arrs, **opts)), reduction)
    assert_close(out, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=10)
@given(data=st.data())
def test_gradcheck(name, data, device):
    fn, _, arrs, diff, opts = data.draw(CASES[name]())
    reduction = data.draw(st.sampled_from(REDUCTIONS))
    tensors = [T(a, device, requires_grad=d) for a, d in zip(arrs, diff)]
    assert mg.gradcheck(lambda *ts: _call(fn, ts, opts, reduction), tuple(tensors))


@pytest.mark.parametrize("name", ["cosine_embedding_loss", "triplet_margin_loss",
                                  "soft_margin_loss", "multilabel_soft_margin_loss",
                                  "poisson_nll_loss", "gaussian_nll_loss"])
@settings(max_examples=4)
@given(data=st.data())
def test_gradgradcheck(name, data):
    fn, _, arrs, diff, opts = data.draw(CASES[name]())
    tensors = [T(a, requires_grad=d) for a, d in zip(arrs, diff)]
    assert mg.gradgradcheck(lambda *ts: _call(fn, ts, opts, "none"), tuple(tensors))


# ----------------------------------------------------------------- worked by hand


def test_values_worked_by_hand():
    # margin ranking: y = 1, x₁ − x₂ = 1 → max(0, −1 + 0.5) = 0; y = −1, x₁ − x₂ = −1 → 0;
    # y = 1, x₁ − x₂ = −1 → 1.5
    out = F.margin_ranking_loss(T([2.0, 0.0, 0.0]), T([1.0, 1.0, 1.0]), T([1.0, -1.0, 1.0]),
                                margin=0.5, reduction="none")
    assert_close(out, np.array([0.0, 0.0, 1.5]))
    # hinge embedding: y = 1 → x; y = −1 → max(0, 1 − x); y = 0 → both
    out = F.hinge_embedding_loss(T([0.5, 2.0, 0.25, -1.0]), T([1.0, -1.0, -1.0, 0.0]),
                                 reduction="none")
    assert_close(out, np.array([0.5, 0.0, 0.75, 2.0 - 1.0]))
    # cosine embedding: orthogonal pair, y = 1 → 1; parallel pair, y = −1, margin 0.5 → 0.5
    out = F.cosine_embedding_loss(T([[1.0, 0.0], [2.0, 2.0]]), T([[0.0, 3.0], [1.0, 1.0]]),
                                  T([1.0, -1.0]), margin=0.5, reduction="none")
    assert_close(out, np.array([1.0, 0.5]), rtol=1e-10)
    # triplet: d(a, p) = 0 (ε aside), d(a, n) = 5 (a 3-4-5 triangle), margin 6 → 1
    out = F.triplet_margin_loss(T([[0.0, 0.0]]), T([[0.0, 0.0]]), T([[3.0, 4.0]]), margin=6.0,
                                eps=0.0)
    assert_close(out, np.array(1.0), rtol=1e-12)
    # soft margin at 0: log 2
    assert_close(F.soft_margin_loss(T([0.0]), T([1.0])), np.array(math.log(2)))
    # multi margin: x = (1, 0, 0.5), y = 0, margin 1: (max(0, 0) + max(0, 0.5))/3 = 1/6
    out = F.multi_margin_loss(T([[1.0, 0.0, 0.5]]), T(np.array([0])), reduction="none")
    assert_close(out, np.array([1 / 6]), rtol=1e-12)
    # poisson with log_input: exp(0) − 3·0 = 1; full adds 3 log 3 − 3 + ½ log 6π
    out = F.poisson_nll_loss(T([0.0]), T([3.0]), full=True)
    assert_close(out, np.array(1 + 3 * math.log(3) - 3 + 0.5 * math.log(6 * math.pi)))
    # gaussian: var = 1, x − y = 2 → ½(0 + 4) = 2; var below eps is clamped
    assert_close(F.gaussian_nll_loss(T([2.0]), T([0.0]), T([1.0])), np.array(2.0))
    assert_close(F.gaussian_nll_loss(T([0.0]), T([0.0]), T([0.0]), eps=0.5),
                 np.array(0.5 * math.log(0.5)))


def test_gaussian_var_clamp_passes_the_gradient_straight_through():
    # PyTorch clamps var under no_grad: the value is max(var, eps), the gradient is that
    # of the clamped value with respect to var as if unclamped
    var = T([1e-9])
    F.gaussian_nll_loss(T([1.0]), T([0.0]), var, eps=0.5).backward()
    # ∂/∂v ½(log v + 1/v) at v = 0.5: ½(1/v − 1/v²) = ½(2 − 4) = −1
    assert_close(var.grad, np.array([-1.0]), rtol=1e-12)


def test_gaussian_var_as_a_number_is_a_constant():
    x = T([1.0, 2.0])
    out = F.gaussian_nll_loss(x, T([0.0, 0.0]), 2.0, reduction="none")
    assert_close(out, 0.5 * (np.log(2.0) + np.array([1.0, 4.0]) / 2))


def test_poisson_stirling_term_has_zero_gradient_where_target_at_most_one():
    y = T([0.0, 1.0, 4.0])
    F.poisson_nll_loss(T([0.1, 0.2, 0.3]), y, full=True, reduction="sum").backward()
    # d/dy (y log y − y + ½ log 2πy) = log y + 1/(2y) at y = 4; −x from the first term
    assert_close(y.grad, np.array([-0.1, -0.2, -0.3 + math.log(4) + 1 / 8]), rtol=1e-12)
    assert np.isfinite(y.grad.numpy()).all()


def test_soft_margin_is_stable_for_large_margins():
    # −y·x = 1000: log(1 + e¹⁰⁰⁰) = 1000 exactly in float64 (PyTorch's log1p(exp) is inf)
    x = T([-1000.0])
    out = F.soft_margin_loss(x, T([1.0]))
    out.backward()
    assert out.item() == 1000.0 and x.grad.item() == -1.0


def test_smooth_l1_beta_zero_is_l1_values_and_gradients():
    # beta = 0 would divide by zero in ½d²/β: it is the L1 loss, with gradient sign(d)
    # and the subgradient 0 at d = 0, as PyTorch
    for reduction in REDUCTIONS:
        a, b = T([0.0, 1.5, -2.0, 0.25]), T([0.0, 1.5, -2.0, 0.25])
        target = T([0.0, 0.5, 1.0, 0.25], requires_grad=False)
        s = F.smooth_l1_loss(a, target, beta=0.0, reduction=reduction)
        l1 = F.l1_loss(b, target, reduction=reduction)
        assert_close(s, l1.numpy())
        s.sum().backward()
        l1.sum().backward()
        assert_close(a.grad, b.grad.numpy())
    assert_close(a.grad, np.array([0.0, 1.0, -1.0, 0.0]) / (4 if reduction == "mean" else 1))


def test_hinge_target_is_a_constant():
    y = T([1.0, -1.0])
    x = T([0.3, 0.2])
    F.hinge_embedding_loss(x, y).backward()
    assert y.grad is None
    assert_close(x.grad, np.array([0.5, -0.5]))


# ----------------------------------------------------------------- modules


MODULES = [
    (nn.MarginRankingLoss(margin=0.5), F.margin_ranking_loss, dict(margin=0.5), 3),
    (nn.HingeEmbeddingLoss(margin=2.0), F.hinge_embedding_loss, dict(margin=2.0), 2),
    (nn.CosineEmbeddingLoss(margin=0.1), F.cosine_embedding_loss, dict(margin=0.1), 3),
    (nn.TripletMarginLoss(margin=2.0, p=1, swap=True), F.triplet_margin_loss,
     dict(margin=2.0, p=1, swap=True), 3),
    (nn.SoftMarginLoss(reduction="sum"), F.soft_margin_loss, dict(reduction="sum"), 2),
    (nn.PoissonNLLLoss(log_input=False, full=True), F.poisson_nll_loss,
     dict(log_input=False, full=True), 2),
    (nn.GaussianNLLLoss(full=True), F.gaussian_nll_loss, dict(full=True), 3),
]


@pytest.mark.parametrize("module, fn, kw, n", MODULES, ids=lambda m: type(m).__name__)
def test_modules_call_their_function(module, fn, kw, n):
    rng = np.random.default_rng(0)
    args = [T(rng.uniform(0.5, 2.0, (3, 4))) for _ in range(n)]
    if n == 3 and isinstance(module, (nn.MarginRankingLoss, nn.CosineEmbeddingLoss)):
        args[2] = T(np.ones(3) if isinstance(module, nn.CosineEmbeddingLoss)
                    else np.ones((3, 4)), requires_grad=False)
    assert_close(module(*args), fn(*args, **kw).numpy())
    assert repr(module) == f"{type(module).__name__}()"  # PyTorch's text


def test_weighted_modules_keep_weight_as_a_buffer():
    w = mg.tensor([1.0, 2.0, 3.0])
    for module in (nn.MultiMarginLoss(weight=w), nn.MultiLabelSoftMarginLoss(weight=w)):
        assert list(module.state_dict()) == ["weight"] and not list(module.parameters())
    x = T([[0.1, 0.5, 0.2]])
    m = nn.MultiMarginLoss(p=2, margin=0.7, weight=w)
    assert_close(m(x, T(np.array([1]))), multi_margin_ref(x.numpy(), np.array([1]), 2, 0.7,
                                                          w.numpy()).mean())
    y = T([[1.0, 0.0, 1.0]], requires_grad=False)
    assert_close(nn.MultiLabelSoftMarginLoss(weight=w)(x, y),
                 multilabel_ref(x.numpy(), y.numpy(), w.numpy()).mean())


# ----------------------------------------------------------------- errors


def test_bad_reduction_is_a_value_error():
    x = T([0.5, 1.0])
    with pytest.raises(ValueError, match="soft_margin_loss: reduction must be one of"):
        F.soft_margin_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="TripletMarginLoss: reduction"):
        nn.TripletMarginLoss(reduction="batchmean")


@pytest.mark.parametrize("call, match", [
    (lambda: F.margin_ranking_loss(T(np.ones((2, 3))), T(np.ones(3)), T(np.ones(3))),
     r"margin_ranking_loss: .*same number of dims.*\(2, 3\)"),
    (lambda: F.margin_ranking_loss(T(np.ones(2)), T(np.ones(3)), T(np.ones(3))),
     r"margin_ranking_loss: shapes do not broadcast: input1 \(2,\), input2 \(3,\)"),
    (lambda: F.hinge_embedding_loss(T(np.ones(2)), T(np.ones(3))),
     r"hinge_embedding_loss: shapes do not broadcast"),
    (lambda: F.cosine_embedding_loss(T(np.ones((3, 4))), T(np.ones((3, 4))), T(np.ones((3, 1)))),
     r"cosine_embedding_loss: expected inputs \(N, D\) with target \(N,\)"),
    (lambda: F.cosine_embedding_loss(T(np.ones(4)), T(np.ones(4)), T(np.ones(1))),
     r"cosine_embedding_loss: .*target \(1,\)"),
    (lambda: F.triplet_margin_loss(T(np.ones((2, 3))), T(np.ones((2, 3))), T(np.ones(3))),
     r"triplet_margin_loss: .*same number"),
    (lambda: F.triplet_margin_loss(T(np.ones(3)), T(np.ones(3)), T(np.ones(3)), margin=0),
     r"triplet_margin_loss: margin must be greater than 0"),
    (lambda: nn.TripletMarginLoss(margin=-1.0), r"margin must be greater than 0"),
    (lambda: F.soft_margin_loss(T(np.ones(4)), T(np.ones((3, 4)))),
     r"soft_margin_loss: target \(3, 4\) must broadcast to the input's shape \(4,\)"),
    (lambda: F.multilabel_soft_margin_loss(T(np.array(1.0)), T(np.array(1.0))),
     r"multilabel_soft_margin_loss: input needs a class dimension"),
    (lambda: F.multi_margin_loss(T(np.ones((2, 3))), T(np.array([0, 1])), p=3),
     r"multi_margin_loss: only p == 1 and p == 2"),
    (lambda: nn.MultiMarginLoss(p=0), r"MultiMarginLoss: only p == 1 and p == 2"),
    (lambda: nn.MultiMarginLoss(weight=mg.ones(2, 2)), r"weight must be one-dimensional"),
    (lambda: F.multi_margin_loss(T(np.ones((2, 3, 4))), T(np.array([0, 1]))),
     r"multi_margin_loss: expected input \(N, C\) with target \(N,\)"),
    (lambda: F.multi_margin_loss(T(np.ones((2, 3))), T(np.array([0, 1, 2]))),
     r"multi_margin_loss: .*target \(3,\)"),
    (lambda: F.multi_margin_loss(T(np.ones((2, 3))), T(np.array([0, 1])),
                                 weight=mg.ones(4)),
     r"multi_margin_loss: weight must have shape \(3,\)"),
    (lambda: F.gaussian_nll_loss(T(np.ones((2, 3))), T(np.ones((2, 3))), T(np.ones((3, 2)))),
     r"gaussian_nll_loss: var is of incorrect size \(3, 2\)"),
    (lambda: F.gaussian_nll_loss(T(np.ones((2, 3))), T(np.ones((2, 3))), T(-np.ones((2, 3)))),
     r"gaussian_nll_loss: var has negative"),
    (lambda: F.gaussian_nll_loss(T(np.ones(2)), T(np.ones(2)), -1.0),
     r"gaussian_nll_loss: var has negative"),
    (lambda: F.poisson_nll_loss(T(np.ones(2)), T(np.ones(3))), r"poisson_nll_loss: shapes"),
])
def test_bad_shapes_and_arguments_are_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_targets():
    with pytest.raises(IndexError, match=r"multi_margin_loss: target class indices must be in "
                                         r"\[0, 3\)"):
        F.multi_margin_loss(T(np.ones((2, 3))), T(np.array([0, 3])))
    with pytest.raises(TypeError, match="multi_margin_loss: target must hold integer"):
        F.multi_margin_loss(T(np.ones((2, 3))), T(np.array([0.0, 1.0])))
    with pytest.raises(TypeError, match="gaussian_nll_loss: var must be a Tensor or a number"):
        F.gaussian_nll_loss(T(np.ones(2)), T(np.ones(2)), "1")


# ----------------------------------------------------------------- PyTorch oracle


# PyTorch refuses a target that requires grad here (minigrad differentiates it)
CONSTANT_TARGET = {"soft_margin_loss"}


def _oracle(name, fn_args, opts, reduction, rtol=1e-10):
    """Run the F function of ``name`` in minigrad and in PyTorch on the same float64
    arrays; compare the values and, under a random cotangent, every input's gradient."""
    torch = pytest.importorskip("torch")
    grad = [a.dtype.kind == "f" and not (i == 1 and name in CONSTANT_TARGET)
            for i, a in enumerate(fn_args)]
    ours = [mg.tensor(a, requires_grad=g) for a, g in zip(fn_args, grad)]
    theirs = [torch.tensor(a, requires_grad=g) for a, g in zip(fn_args, grad)]
    th_opts = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v)
               for k, v in opts.items()}
    mg_opts = {k: (mg.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in opts.items()}
    a = getattr(F, name)(*ours, **mg_opts, reduction=reduction)
    b = getattr(torch.nn.functional, name)(*theirs, **th_opts, reduction=reduction)
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=rtol, atol=1e-12)
    v = np.random.default_rng(1).standard_normal(b.shape)
    a.backward(mg.tensor(v))
    b.backward(torch.tensor(v))
    for x, y in zip(ours, theirs):
        if y.grad is not None:
            np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=rtol, atol=1e-12)


def _rng_arrays(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def _pm1(seed, shape, zero=False):
    values = [1.0, -1.0, 0.0] if zero else [1.0, -1.0]
    return np.random.default_rng(seed).choice(values, size=shape)


ORACLE = [
    ("margin_ranking_loss", lambda: _rng_arrays(0, (4, 3), (4, 3)) + [_pm1(1, (4, 3))],
     dict(margin=0.3)),
    ("margin_ranking_loss", lambda: _rng_arrays(2, (4, 1), (1, 3)) + [_pm1(3, (4, 3))], {}),
    ("hinge_embedding_loss", lambda: _rng_arrays(4, (5, 3)) + [_pm1(5, (5, 3), zero=True)],
     dict(margin=0.7)),
    ("cosine_embedding_loss", lambda: _rng_arrays(6, (5, 4), (5, 4)) + [_pm1(7, 5, True)],
     dict(margin=-0.2)),
    ("cosine_embedding_loss", lambda: _rng_arrays(8, (4,), (4,)) + [np.array(-1.0)], {}),
    ("triplet_margin_loss", lambda: _rng_arrays(9, (5, 4), (5, 4), (5, 4)), {}),
    ("triplet_margin_loss", lambda: _rng_arrays(10, (5, 4), (5, 4), (5, 4)),
     dict(margin=2.0, p=1, swap=True)),
    ("triplet_margin_loss", lambda: _rng_arrays(11, (2, 3, 4), (2, 3, 4), (2, 3, 4)),
     dict(margin=1.5, p=3, eps=1e-3)),
    ("soft_margin_loss", lambda: _rng_arrays(12, (4, 3)) + [_pm1(13, (4, 3))], {}),
    ("multilabel_soft_margin_loss",
     lambda: _rng_arrays(14, (4, 3)) + [np.random.default_rng(15).integers(0, 2, (4, 3))
                                        .astype(float)],
     dict(weight=np.array([0.5, 1.0, 2.0]))),
    ("multilabel_soft_margin_loss", lambda: _rng_arrays(16, (5,), (5,)), {}),
    ("multi_margin_loss",
     lambda: _rng_arrays(17, (6, 4)) + [np.random.default_rng(18).integers(0, 4, 6)], {}),
    ("multi_margin_loss",
     lambda: _rng_arrays(19, (6, 4)) + [np.random.default_rng(20).integers(0, 4, 6)],
     dict(p=2, margin=0.5, weight=np.array([1.0, 0.5, 2.0, 1.5]))),
    ("multi_margin_loss", lambda: _rng_arrays(21, (4,)) + [np.array(2)], dict(margin=2.0)),
    ("poisson_nll_loss",
     lambda: _rng_arrays(22, (4, 3)) + [np.random.default_rng(23).integers(2, 6, (4, 3))
                                        .astype(float)], dict(full=True)),
    ("poisson_nll_loss",
     lambda: [np.random.default_rng(24).uniform(0.1, 3, (4, 3)),
              np.random.default_rng(25).uniform(0, 5, (4, 3))],
     dict(log_input=False, full=True, eps=1e-3)),
    ("gaussian_nll_loss",
     lambda: _rng_arrays(26, (4, 3), (4, 3)) + [np.random.default_rng(27).uniform(0.1, 2, 4)],
     dict(full=True)),
    ("gaussian_nll_loss",
     lambda: _rng_arrays(28, (4, 3, 2), (4, 3, 2))
     + [np.random.default_rng(29).uniform(0, 2, (4, 1, 2)) * [[[1.0, 1e-9]]]],
     dict(eps=1e-2)),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, make, opts", ORACLE,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(ORACLE)])
def test_against_pytorch(name, make, opts, reduction):
    _oracle(name, make(), opts, reduction)


def test_module_reprs_and_defaults_match_pytorch():
    torch = pytest.importorskip("torch")
    for name in ("MarginRankingLoss", "HingeEmbeddingLoss", "CosineEmbeddingLoss",
                 "TripletMarginLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss",
                 "MultiMarginLoss", "PoissonNLLLoss", "GaussianNLLLoss"):
        ours, theirs = getattr(nn, name)(), getattr(torch.nn, name)()
        assert repr(ours) == repr(theirs)
        for attr in ("margin", "p", "eps", "swap", "log_input", "full", "reduction"):
            if hasattr(theirs, attr):
                assert getattr(ours, attr) == getattr(theirs, attr), (name, attr)


def test_poisson_full_with_counts_zero_and_one_against_pytorch():
    # PyTorch's target gradient is NaN where y = 0 (0·log 0 inside masked_fill); here it is
    # the gradient of the loss without the Stirling term there, −x. Values and the input
    # gradient agree.
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(30).standard_normal(6)
    y = np.array([0.0, 1.0, 0.0, 2.0, 3.0, 1.0])
    xm, ym = mg.tensor(x, requires_grad=True), mg.tensor(y, requires_grad=True)
    xt, yt = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    a = F.poisson_nll_loss(xm, ym, full=True, reduction="sum")
    b = torch.nn.functional.poisson_nll_loss(xt, yt, full=True, reduction="sum")
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-12)
    a.backward()
    b.backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    assert np.isnan(yt.grad.numpy()[y == 0]).all()
    np.testing.assert_allclose(ym.grad.numpy()[y == 0], -x[y == 0], rtol=1e-12)
    counted = y > 0
    np.testing.assert_allclose(ym.grad.numpy()[counted], yt.grad.numpy()[counted], rtol=1e-12)


def test_triplet_margin_with_distance_loss_by_hand(device):
    """With a cosine distance d = 1 − cos: a = (1, 0), p = (1, 1) (d = 1 − 1/√2),
    n = (0, 1) (d = 1): ℓ = max(0, 1 − 1/√2 − 1 + margin) = margin − 1/√2 for margin 1;
    with swap, d(p, n) = 1 − 1/√2 < 1 is the negative distance instead: ℓ = 1. The default
    distance is triplet_margin_loss's, and gradients pass through any distance."""
    a, p_, n = (T([v], device) for v in ([1.0, 0.0], [1.0, 1.0], [0.0, 1.0]))

    def cosine_distance(x, y):
        return 1.0 - F.cosine_similarity(x, y)

    loss = F.triplet_margin_with_distance_loss(a, p_, n, distance_function=cosine_distance)
    assert_close(loss, np.array(1.0 - 1 / math.sqrt(2)), rtol=1e-12)
    swapped = nn.TripletMarginWithDistanceLoss(distance_function=cosine_distance, swap=True)
    assert_close(swapped(a, p_, n), np.array(1.0), rtol=1e-12)
    rng = np.random.default_rng(0)
    xs = [T(rng.standard_normal((4, 3)), device) for _ in range(3)]
    assert_close(F.triplet_margin_with_distance_loss(*xs, margin=2.0),
                 F.triplet_margin_loss(*xs, margin=2.0), rtol=1e-14)
    assert mg.gradcheck(lambda *t: F.triplet_margin_with_distance_loss(
        *t, distance_function=cosine_distance, margin=3.0, reduction="sum"), tuple(xs))


def test_triplet_margin_with_distance_loss_errors():
    a = T([[1.0, 0.0]])
    with pytest.raises(TypeError, match="callable"):
        F.triplet_margin_with_distance_loss(a, a, a, distance_function=2.0)
    with pytest.raises(TypeError, match="must return a Tensor"):
        F.triplet_margin_with_distance_loss(a, a, a, distance_function=lambda x, y: 1.0)
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        nn.TripletMarginWithDistanceLoss(margin=0)
    with pytest.raises(ValueError, match="reduction"):
        F.triplet_margin_with_distance_loss(a, a, a, reduction="avg")


def test_triplet_margin_with_distance_loss_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    arrays_ = [rng.standard_normal((5, 4)) for _ in range(3)]
    for swap in (False, True):
        ours = [T(a) for a in arrays_]
        theirs = [torch.tensor(a, requires_grad=True) for a in arrays_]
        dist_m = lambda x, y: (x - y).abs().sum(-1)  # noqa: E731  (an L1 distance)
        loss = F.triplet_margin_with_distance_loss(*ours, distance_function=dist_m,
                                                   margin=1.5, swap=swap)
        ref = torch.nn.functional.triplet_margin_with_distance_loss(
            *theirs, distance_function=dist_m, margin=1.5, swap=swap)
        loss.backward()
        ref.backward()
        assert_close(loss, ref.detach().numpy(), rtol=1e-12)
        for o, t in zip(ours, theirs):
            assert_close(o.grad, t.grad.numpy(), rtol=1e-12, atol=1e-14)
