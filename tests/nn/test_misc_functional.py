"""F.bilinear, F.multilabel_margin_loss / nn.MultiLabelMarginLoss, F.pdist, and the
resampling aliases (nn.UpsamplingNearest2d, nn.UpsamplingBilinear2d, F.upsample,
F.upsample_nearest, F.upsample_bilinear): values worked by hand, gradcheck and
gradgradcheck in float64, every error, and PyTorch as an oracle when it is installed."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.testing import assert_close


def _t(a, device="cpu", grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=grad)


def _i(a, device="cpu"):
    return mg.tensor(np.asarray(a, dtype=np.int64), device=device)


# ----------------------------------------------------------------- bilinear


def test_bilinear_by_hand(device):
    """y = x₁ᵀ W x₂ + b: x₁ = (1, 2), x₂ = (1, 0, −1), W₀ = [[1, 0, 2], [0, 1, 0]] gives
    1·(1 − 2) + 2·0 = −1; W₁ = ones gives (1 + 2)·(1 + 0 − 1) = 0; b = (0.5, −1)."""
    W = _t([[[1.0, 0, 2], [0, 1, 0]], np.ones((2, 3))], device)
    b = _t([0.5, -1.0], device)
    y = F.bilinear(_t([[1.0, 2.0]], device), _t([[1.0, 0.0, -1.0]], device), W, b)
    assert_close(y, np.array([[-0.5, -1.0]]), rtol=1e-15)
    # unbatched and extra leading dims, without bias
    assert F.bilinear(_t([1.0, 2.0], device), _t([1.0, 0.0, -1.0], device), W).shape == (2,)
    x1, x2 = _t(np.ones((4, 5, 2)), device), _t(np.ones((4, 5, 3)), device)
    assert F.bilinear(x1, x2, W, b).shape == (4, 5, 2)


def test_bilinear_module_uses_the_function(device):
    mg.manual_seed(0)
    bil = nn.Bilinear(3, 4, 2).double().to(device)
    rng = np.random.default_rng(0)
    x1, x2 = _t(rng.standard_normal((5, 3)), device), _t(rng.standard_normal((5, 4)), device)
    assert_close(bil(x1, x2), F.bilinear(x1, x2, bil.weight, bil.bias), rtol=0)
    ref = np.einsum("ni,kij,nj->nk", x1.detach().cpu().numpy(), bil.weight.detach().cpu().numpy(),
                    x2.detach().cpu().numpy()) + bil.bias.detach().cpu().numpy()
    assert_close(bil(x1, x2), ref, rtol=1e-12)


def test_bilinear_gradcheck_and_gradgradcheck(device):
    rng = np.random.default_rng(1)
    args = (_t(rng.standard_normal((2, 3, 2)), device), _t(rng.standard_normal((2, 3, 4)), device),
            _t(rng.standard_normal((3, 2, 4)), device), _t(rng.standard_normal(3), device))
    assert mg.gradcheck(F.bilinear, args)
    assert mg.gradgradcheck(F.bilinear, args)
    assert mg.gradcheck(lambda a, b, w: F.bilinear(a, b, w), args[:3])


def test_bilinear_errors():
    W = mg.zeros(2, 3, 4)
    with pytest.raises(ValueError, match="weight must be 3-D"):
        F.bilinear(mg.zeros(5, 3), mg.zeros(5, 4), mg.zeros(3, 4))
    with pytest.raises(ValueError, match="same leading dims"):
        F.bilinear(mg.zeros(5, 3), mg.zeros(6, 4), W)
    with pytest.raises(ValueError, match="expected last dims 3 and 4"):
        F.bilinear(mg.zeros(5, 4), mg.zeros(5, 4), W)
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\)"):
        F.bilinear(mg.zeros(5, 3), mg.zeros(5, 4), W, mg.zeros(3))


# ----------------------------------------------------------------- multilabel margin


def test_multilabel_margin_2x2_by_hand(device):
    """C = 2. Sample 0: labels {1} (then padding), x = (0.1, 0.9): one pair (j = 1, i = 0),
    max(0, 1 − (0.9 − 0.1)) = 0.2, over C: 0.1. Sample 1: labels {0}, x = (0.5, 0.2):
    max(0, 1 − 0.3) = 0.7, so 0.35. Mean 0.225. Each active hinge sends −1/C to its
    label's score and +1/C to the other, times ½ for the mean."""
    x = _t([[0.1, 0.9], [0.5, 0.2]], device)
    target = _i([[1, -1], [0, -1]], device)
    assert_close(F.multilabel_margin_loss(x, target, reduction="none"), np.array([0.1, 0.35]),
                 rtol=1e-14)
    assert_close(F.multilabel_margin_loss(x, target, reduction="sum"), np.array(0.45),
                 rtol=1e-14)
    loss = F.multilabel_margin_loss(x, target)
    assert_close(loss, np.array(0.225), rtol=1e-14)
    loss.backward()
    assert_close(x.grad, np.array([[0.25, -0.25], [-0.25, 0.25]]), rtol=1e-14)


def test_multilabel_margin_padding_repeats_and_shapes(device):
    """Everything after the first −1 is ignored; a repeated label counts twice (PyTorch);
    a sample whose labels are all the classes has no pairs: 0."""
    x = _t([0.1, 0.2, 0.4, 0.8], device)
    # labels {3, 0}: j = 3: 1 − .8 + .2, 1 − .8 + .4 → 1.0; j = 0: 1.1 + 1.3 = 2.4 → 3.4/4
    assert_close(F.multilabel_margin_loss(x, _i([3, 0, -1, 1], device)), np.array(0.85),
                 rtol=1e-14)
    # labels {3} twice: 2·(0.3 + 0.4 + 0.6)/4
    assert_close(F.multilabel_margin_loss(x, _i([3, 3, -1, 2], device)), np.array(0.65),
                 rtol=1e-14)
    assert_close(F.multilabel_margin_loss(x, _i([0, 1, 2, 3], device)), np.array(0.0))
    assert_close(F.multilabel_margin_loss(x, _i([-1, 1, 2, 3], device)), np.array(0.0))
    assert F.multilabel_margin_loss(x, _i([3, 0, -1, 1], device), reduction="none").shape == ()
    # a 0-d input is one sample of one class: no pairs
    assert_close(F.multilabel_margin_loss(_t(0.5, device), _i(0, device)), np.array(0.0))


def test_multilabel_margin_module(device):
    loss_fn = nn.MultiLabelMarginLoss(reduction="sum")
    assert repr(loss_fn) == "MultiLabelMarginLoss()"
    x, target = _t([[0.1, 0.9], [0.5, 0.2]], device), _i([[1, -1], [0, -1]], device)
    assert_close(loss_fn(x, target), np.array(0.45), rtol=1e-14)
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MultiLabelMarginLoss(reduction="batchmean")


@st.composite
def multilabel_cases(draw):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    # scores 0.13 apart (plus a little noise): no hinge 1 − (x_j − x_i) within 0.02 of 0
    x = (rng.permutation(n * c).reshape(n, c) * 0.13 + rng.uniform(0, 0.01, (n, c)))
    target = rng.integers(-1, c, (n, c))
    return x, target, draw(st.sampled_from(["none", "mean", "sum"]))


@given(case=multilabel_cases())
def test_multilabel_margin_gradcheck(case):
    x, target, reduction = case
    assert mg.gradcheck(lambda a: F.multilabel_margin_loss(a, _i(target), reduction), (_t(x),))


def test_multilabel_margin_gradgradcheck(device):
    x = _t([[0.1, 0.9, 0.37], [0.5, 0.2, -0.3]], device)
    target = _i([[1, 2, -1], [0, -1, 1]], device)
    assert mg.gradgradcheck(lambda a: F.multilabel_margin_loss(a, target), (x,))


def test_multilabel_margin_errors():
    x = mg.zeros(2, 3)
    with pytest.raises(TypeError, match="integer class indices"):
        F.multilabel_margin_loss(x, mg.zeros(2, 3))
    with pytest.raises(ValueError, match="target must have the input's shape"):
        F.multilabel_margin_loss(x, _i([[0, 1], [1, 0]]))
    with pytest.raises(ValueError, match="non-empty vector"):
        F.multilabel_margin_loss(mg.zeros(2, 3, 1), _i(np.zeros((2, 3, 1))))
    with pytest.raises(ValueError, match="non-empty vector"):
        F.multilabel_margin_loss(mg.zeros(2, 0), _i(np.zeros((2, 0))))
    with pytest.raises(IndexError, match=r"in \[0, 3\) or -1"):
        F.multilabel_margin_loss(x, _i([[0, -1, 3], [0, 1, 2]]))     # checked after −1 too
    with pytest.raises(IndexError, match=r"in \[0, 3\) or -1"):
        F.multilabel_margin_loss(x, _i([[0, -2, 1], [0, 1, 2]]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.multilabel_margin_loss(x, _i(np.zeros((2, 3))), reduction="avg")


# ----------------------------------------------------------------- pdist


def test_pdist_three_points_by_hand(device):
    """(0, 0), (3, 4), (0, 4): d₀₁ = 5, d₀₂ = 4, d₁₂ = 3. With the cotangent (1, 2, 3),
    g_x₀ = 1·(x₀ − x₁)/5 + 2·(x₀ − x₂)/4 = (−0.6, −0.8) + (0, −2) and so on."""
    x = _t([[0.0, 0.0], [3.0, 4.0], [0.0, 4.0]], device)
    d = F.pdist(x)
    assert_close(d, np.array([5.0, 4.0, 3.0]), rtol=1e-15)
    d.backward(_t([1.0, 2.0, 3.0], device, False))
    assert_close(x.grad, np.array([[-0.6, -2.8], [3.6, 0.8], [-3.0, 2.0]]), rtol=1e-14)
    # other norms: p = 1 sums |Δ|, ∞ takes the largest, 0 counts the nonzero differences
    assert_close(F.pdist(x.detach(), 1), np.array([7.0, 4.0, 3.0]))
    assert_close(F.pdist(x.detach(), math.inf), np.array([4.0, 4.0, 3.0]))
    assert_close(F.pdist(x.detach(), 0), np.array([2.0, 1.0, 1.0]))


def test_pdist_zero_distance_has_zero_gradient(device):
    for p in (2, 1, 3, 0.5, math.inf):
        x = _t([[1.0, 2.0], [1.0, 2.0], [1.0, 5.0]], device)
        d = F.pdist(x, p)
        assert d.tolist()[0] == 0.0
        d.backward(_t([1.0, 0.0, 0.0], device, False))
        assert_close(x.grad, np.zeros((3, 2)))


def test_pdist_shapes(device):
    assert F.pdist(_t(np.ones((1, 3)), device)).shape == (0,)
    assert F.pdist(_t(np.ones((5, 3)), device)).shape == (10,)
    assert F.pdist(_t(np.ones((4, 0)), device)).shape == (6,)


@given(n=st.integers(2, 4), m=st.integers(1, 3),
       p=st.sampled_from([2.0, 1.0, 3.0, 1.5, 0.7, math.inf]), seed=st.integers(0, 999))
def test_pdist_gradcheck(n, m, p, seed):
    rng = np.random.default_rng(seed)
    # rows far apart and coordinates distinct: no zero difference, no tie for ∞
    x = (rng.permutation(n * m).reshape(n, m) + rng.uniform(0.1, 0.3, (n, m))) * 0.5
    assert mg.gradcheck(lambda a: F.pdist(a, p), (_t(x),))


def test_pdist_gradgradcheck(device):
    x = _t(np.random.default_rng(2).standard_normal((4, 3)), device)
    assert mg.gradgradcheck(lambda a: F.pdist(a) + F.pdist(a, 3), (x,))


def test_pdist_errors():
    with pytest.raises(ValueError, match="only supports 2-D input"):
        F.pdist(mg.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="non-negative"):
        F.pdist(mg.zeros(2, 3), -1)
    with pytest.raises(TypeError, match="floating-point"):
        F.pdist(mg.tensor([[1, 2], [3, 4]]))


# ----------------------------------------------------------------- upsampling aliases


def test_upsampling_modules_by_hand(device):
    """Nearest doubles every pixel; bilinear with aligned corners maps 0 → 0 and 2 → 3 on a
    row of 2 resized to 4: x at u = 0, ⅓, ⅔, 1."""
    x = _t([[[[0.0, 3.0]]]], device)
    assert_close(nn.UpsamplingNearest2d(scale_factor=2)(x),
                 np.array([[[[0.0, 0.0, 3.0, 3.0], [0.0, 0.0, 3.0, 3.0]]]]))
    assert_close(nn.UpsamplingBilinear2d(size=(1, 4))(x), np.array([[[[0.0, 1.0, 2.0, 3.0]]]]),
                 rtol=1e-15)
    assert_close(F.upsample_bilinear(x, size=(1, 4)), np.array([[[[0.0, 1.0, 2.0, 3.0]]]]),
                 rtol=1e-15)
    assert_close(F.upsample_nearest(x, scale_factor=(1, 2)), np.array([[[[0.0, 0, 3, 3]]]]))
    assert_close(F.upsample(x, size=(1, 4), mode="bilinear"),
                 F.interpolate(x, size=(1, 4), mode="bilinear"), rtol=0)


def test_upsampling_modules_repr_and_attributes():
    near = nn.UpsamplingNearest2d(scale_factor=2)
    assert repr(near) == "UpsamplingNearest2d(scale_factor=2.0, mode='nearest')"
    bil = nn.UpsamplingBilinear2d(size=(3, 4))
    assert repr(bil) == "UpsamplingBilinear2d(size=(3, 4), mode='bilinear')"
    assert bil.align_corners is True and near.align_corners is None
    assert isinstance(bil, nn.Upsample)


def test_upsampling_gradcheck(device):
    x = _t(np.random.default_rng(3).standard_normal((1, 2, 2, 3)), device)
    assert mg.gradgradcheck(lambda a: nn.UpsamplingBilinear2d(scale_factor=2)(a) ** 2, (x,))
    assert mg.gradcheck(lambda a: F.upsample_nearest(a, size=(3, 5)), (x,))


# ----------------------------------------------------------------- PyTorch oracle


def test_bilinear_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal(s) for s in ((2, 3, 2), (2, 3, 4), (5, 2, 4), (5,))]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    yt = torch.nn.functional.bilinear(*ts)
    gy = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(gy))
    ms = [_t(a) for a in arrays]
    ym = F.bilinear(*ms)
    ym.backward(mg.tensor(gy))
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=1e-12)
    for m, t in zip(ms, ts):
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_multilabel_margin_matches_torch(reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    for shape in ((4, 5), (6,), (3, 1)):
        x = rng.standard_normal(shape)
        target = rng.integers(-1, shape[-1], shape)
        xt = torch.tensor(x, requires_grad=True)
        lt = torch.nn.functional.multilabel_margin_loss(xt, torch.tensor(target),
                                                        reduction=reduction)
        gy = rng.standard_normal(tuple(lt.shape))
        lt.backward(torch.tensor(gy))
        xm = _t(x)
        lm = nn.MultiLabelMarginLoss(reduction=reduction)(xm, _i(target))
        lm.backward(mg.tensor(gy))
        np.testing.assert_allclose(lm.numpy(), lt.detach().numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, 0.0, math.inf])
def test_pdist_matches_torch(p):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x = rng.standard_normal((5, 3))
    x[3] = x[1]                                     # a zero distance
    x[4, 0] = x[0, 0]                               # a zero difference in one coordinate
    xt = torch.tensor(x, requires_grad=True)
    dt = torch.nn.functional.pdist(xt, p)
    gy = rng.standard_normal(tuple(dt.shape))
    dt.backward(torch.tensor(gy))
    xm = _t(x)
    dm = F.pdist(xm, p)
    dm.backward(mg.tensor(gy))
    np.testing.assert_allclose(dm.numpy(), dt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_upsampling_aliases_match_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(7).standard_normal((2, 3, 4, 5))
    cases = [
        (nn.UpsamplingNearest2d(scale_factor=2), torch.nn.UpsamplingNearest2d(scale_factor=2)),
        (nn.UpsamplingNearest2d(size=(7, 3)), torch.nn.UpsamplingNearest2d(size=(7, 3))),
        (nn.UpsamplingBilinear2d(scale_factor=1.5),
         torch.nn.UpsamplingBilinear2d(scale_factor=1.5)),
        (nn.UpsamplingBilinear2d(size=(3, 8)), torch.nn.UpsamplingBilinear2d(size=(3, 8))),
    ]
    for ours, theirs in cases:
        assert repr(ours) == repr(theirs)
        np.testing.assert_allclose(ours(_t(x, grad=False)).numpy(),
                                   theirs(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-14)
    import warnings

    with warnings.catch_warnings():           # PyTorch's deprecation warnings
        warnings.simplefilter("ignore")
        pairs = [
            (F.upsample_bilinear(_t(x), size=(6, 7)),
             torch.nn.functional.upsample_bilinear(torch.tensor(x), size=(6, 7))),
            (F.upsample_nearest(_t(x), scale_factor=2),
             torch.nn.functional.upsample_nearest(torch.tensor(x), scale_factor=2)),
            (F.upsample(_t(x), size=(5, 9), mode="bicubic", align_corners=True),
             torch.nn.functional.upsample(torch.tensor(x), size=(5, 9), mode="bicubic",
                                          align_corners=True)),
        ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-14)
