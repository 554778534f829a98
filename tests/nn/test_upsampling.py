"""F.interpolate and nn.Upsample: the index rules worked by hand, gradcheck on hypothesis
geometries in every mode, errors, and PyTorch as an extra oracle when it is installed."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.testing import assert_close


def _t(a, device="cpu", grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=grad)


X = [[[0.0, 10.0, 20.0, 30.0]]]                       # one row of 4, (N, C, L) = (1, 1, 4)


@pytest.mark.parametrize("kwargs, expected", [
    # nearest: i = ⌊j·4/6⌋ → 0 0 1 2 2 3
    (dict(size=6), [0, 0, 10, 20, 20, 30]),
    # nearest-exact: i = ⌊(j + ½)·4/6⌋ → 0 1 1 2 3 3
    (dict(size=6, mode="nearest-exact"), [0, 10, 10, 20, 30, 30]),
    # downsampling by 2 reads every other element
    (dict(scale_factor=0.5), [0, 20]),
    # linear, corners aligned: u = j·3/6, steps of 5
    (dict(size=7, mode="linear", align_corners=True), [0, 5, 10, 15, 20, 25, 30]),
    # linear, centres aligned: u = max((j + ½)/2 − ½, 0) = 0, .25, .75, 1.25, ... , 3
    (dict(scale_factor=2, mode="linear"), [0, 2.5, 7.5, 12.5, 17.5, 22.5, 27.5, 30]),
    # area: means of the adaptive pooling windows [0, 2) and [2, 4)
    (dict(size=2, mode="area"), [5, 25]),
])
def test_interpolate_by_hand(kwargs, expected, device):
    assert_close(F.interpolate(_t(X, device), **kwargs), np.array([[expected]], float))


def test_scale_factor_maps_indices_with_its_inverse(device):
    """PyTorch's rule: with a scale_factor, u uses r = 1/scale_factor, not in/out; size 4
    by 1.5 gives 6 outputs either way, but 5 by 1.5 gives 7 and r = 2/3, not 5/7."""
    x = _t([[[0.0, 1.0, 2.0, 3.0, 4.0]]], device)
    y = F.interpolate(x, scale_factor=1.5, mode="linear")
    u = np.maximum((np.arange(7) + 0.5) / 1.5 - 0.5, 0)       # the source coordinates
    assert_close(y, np.minimum(u, 4)[None, None], rtol=1e-12)
    y = F.interpolate(x, scale_factor=1.5, mode="linear", recompute_scale_factor=True)
    u = np.maximum((np.arange(7) + 0.5) * 5 / 7 - 0.5, 0)
    assert_close(y, np.minimum(u, 4)[None, None], rtol=1e-12)   # past the last: x[4]


def test_bilinear_is_linear_along_each_dim(device):
    """Resize rows, then columns, with 1-D linear maps: the same as bilinear at once."""
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    y = F.interpolate(_t(x, device), size=(7, 3), mode="bilinear", align_corners=True)
    rows = F.interpolate(_t(x.transpose(0, 1, 3, 2).reshape(2, 15, 4), device), size=7,
                         mode="linear", align_corners=True).cpu().numpy()
    rows = rows.reshape(2, 3, 5, 7).transpose(0, 1, 3, 2)           # (2, 3, 7, 5)
    both = F.interpolate(_t(rows.reshape(2, 21, 5), device), size=3, mode="linear",
                         align_corners=True).cpu().numpy().reshape(2, 3, 7, 3)
    assert_close(y, both, rtol=1e-12)


def test_bicubic_by_hand(device):
    """Upsampling 4 → 8 (r = ½): output 2 sits at u = 2.5·½ − ½ = 0.75, so t = 0.75 and
    it reads x[−1→0], x[0], x[1], x[2] with Keys' weights for a = −0.75."""
    a, t = -0.75, 0.75
    c1 = lambda x: ((a + 2) * x - (a + 3)) * x * x + 1           # noqa: E731
    c2 = lambda x: ((a * x - 5 * a) * x + 8 * a) * x - 4 * a     # noqa: E731
    w = [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)]
    assert sum(w) == pytest.approx(1.0)
    row = np.array([0.0, 10.0, 20.0, 40.0])
    x = _t(row.reshape(1, 1, 1, 4), device)
    y = F.interpolate(x, size=(1, 8), mode="bicubic")
    assert y.tolist()[0][0][0][2] == pytest.approx(w[0] * 0 + w[1] * 0 + w[2] * 10 + w[3] * 20)
    const = F.interpolate(_t(np.full((1, 2, 3, 4), 3.5), device), scale_factor=2.5,
                          mode="bicubic")
    assert_close(const, np.full((1, 2, 7, 10), 3.5), rtol=1e-14)   # weights sum to 1
    with pytest.raises(ValueError, match="'bicubic' needs a 4-D input"):
        F.interpolate(mg.randn(1, 2, 5), size=3, mode="bicubic")


@st.composite
def interpolate_cases(draw):
    mode = draw(st.sampled_from(["nearest", "nearest-exact", "linear", "bilinear",
                                 "bicubic", "trilinear", "area"]))
    k = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}.get(mode) or draw(
        st.integers(1, 2 if mode == "area" else 3))
    spatial = tuple(draw(st.integers(1, 4)) for _ in range(k))
    kwargs = {"mode": mode}
    if mode in ("linear", "bilinear", "bicubic", "trilinear"):
        kwargs["align_corners"] = draw(st.booleans())
    if draw(st.booleans()):
        kwargs["size"] = tuple(draw(st.integers(1, 6)) for _ in range(k))
    else:
        kwargs["scale_factor"] = tuple(draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.5]))
                                       for _ in range(k))
        if min(int(n * s) for n, s in zip(spatial, kwargs["scale_factor"])) < 1:
            kwargs["scale_factor"] = (2.0,) * k
    x = np.random.default_rng(draw(st.integers(0, 999))).standard_normal((2, 2) + spatial)
    return x, kwargs


@given(case=interpolate_cases())
def test_interpolate_gradcheck(case):
    x, kwargs = case
    assert mg.gradcheck(lambda t: F.interpolate(t, **kwargs), (_t(x),))


def test_upsample_module_and_its_second_derivative(device):
    up = nn.Upsample(scale_factor=2, mode="bilinear")
    assert repr(up) == "Upsample(scale_factor=2.0, mode='bilinear')"
    x = _t(np.random.default_rng(1).standard_normal((1, 2, 3, 3)), device)
    assert up(x).shape == (1, 2, 6, 6)
    assert mg.gradgradcheck(lambda t: up(t) ** 2, (x,))
    assert repr(nn.Upsample(size=(3, 4))) == "Upsample(size=(3, 4), mode='nearest')"


@pytest.mark.parametrize("kwargs, message", [
    (dict(size=3, mode="cubic"), "mode must be one of"),
    (dict(size=3, mode="bilinear"), "'bilinear' needs a 4-D input"),
    (dict(size=3, align_corners=True), "align_corners applies to the linear modes"),
    (dict(), "exactly one of size and scale_factor"),
    (dict(size=3, scale_factor=2), "exactly one of size and scale_factor"),
    (dict(size=(3, 4)), "one entry per spatial dim"),
    (dict(scale_factor=0.1), "must be positive"),
    (dict(scale_factor=-2), "must be positive"),
    (dict(size=3, antialias=True), "antialias"),
])
def test_interpolate_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        F.interpolate(mg.randn(1, 2, 5), **kwargs)


def test_interpolate_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    cases = [((2, 3, 5), dict(size=7, mode="nearest")),
             ((2, 3, 5), dict(scale_factor=1.5, mode="linear")),
             ((2, 3, 5), dict(scale_factor=0.7, mode="nearest-exact")),
             ((2, 3, 4, 5), dict(size=(7, 3), mode="bilinear", align_corners=True)),
             ((2, 3, 4, 5), dict(scale_factor=(2.5, 0.5), mode="bilinear")),
             ((2, 3, 4, 5), dict(scale_factor=1.2, mode="bilinear",
                                 recompute_scale_factor=True)),
             ((2, 3, 4, 5), dict(size=(3, 2), mode="area")),
             ((1, 2, 3, 4, 3), dict(scale_factor=(2, 0.5, 1.5), mode="trilinear")),
             ((2, 3, 4, 5), dict(scale_factor=2, mode="bicubic")),
             ((2, 3, 4, 5), dict(size=(9, 3), mode="bicubic", align_corners=True)),
             ((2, 3, 6, 5), dict(scale_factor=(0.6, 1.7), mode="bicubic"))]
    for shape, kwargs in cases:
        x = rng.standard_normal(shape)
        X, T = _t(x), torch.tensor(x, requires_grad=True)
        y, yt = F.interpolate(X, **kwargs), torch.nn.functional.interpolate(T, **kwargs)
        g = rng.standard_normal(yt.shape)
        y.backward(_t(g, grad=False))
        yt.backward(torch.tensor(g))
        assert_close(y, yt.detach().numpy(), rtol=1e-12, atol=1e-13)
        assert_close(X.grad, T.grad.numpy(), rtol=1e-12, atol=1e-13)


def test_antialias_bilinear_by_hand(device):
    """Row 0 10 20 30 down to 2 (s = 2): the triangle widens to support σ = 2 and reads
    f((i − c + ½)/2) around c = s·(j + ½). Output 0 (c = 1) covers i = 0, 1, 2 with
    f(−¼), f(¼), f(¾) = ¾, ¾, ¼, normalised 3/7, 3/7, 1/7 → (0 + 30 + 20)/7; output 1
    (c = 3) covers i = 1, 2, 3 with 1/7, 3/7, 3/7 → (10 + 60 + 90)/7."""
    x = _t([[[[0.0, 10.0, 20.0, 30.0]]]], device)
    y = F.interpolate(x, size=(1, 2), mode="bilinear", antialias=True)
    assert_close(y, np.array([[[[50 / 7, 160 / 7]]]]), rtol=1e-14)


def test_antialias_bicubic_by_hand(device):
    """Row i² up 4 → 8 (s = ½, plain support 2): outputs 3 and 4 (c = 1.75, 2.25) read all
    four taps i = 0…3 with Keys' weights for a = −½, which reproduce quadratics, so they
    give u² at u = c − ½ (a = −0.75, the plain bicubic's, would not)."""
    x = _t(np.arange(4.0).reshape(1, 1, 1, 4) ** 2, device)
    y = F.interpolate(x, size=(1, 8), mode="bicubic", antialias=True).cpu().numpy()
    assert y[0, 0, 0, 3:5] == pytest.approx([1.25 ** 2, 1.75 ** 2], rel=1e-14)


def test_lanczos_by_hand(device):
    """Row 0, 10, 20, 30 down to 2 (s = 2): Pillow's Lanczos-3 window f(x) = sinc(x)
    sinc(x/3), widened by s, read at x = (i − c + ½)/2 around c = 1 and 3: offsets −¼, ¼, ¾,
    5/4 for output 0 and −5/4, −¾, −¼, ¼ for output 1, each row normalised to sum 1."""
    def f(x):
        return 1.0 if x == 0 else (math.sin(math.pi * x) / (math.pi * x)
                                   * math.sin(math.pi * x / 3) / (math.pi * x / 3))
    row = [0.0, 10.0, 20.0, 30.0]
    want = []
    for c in (1, 3):
        w = [f((i - c + 0.5) / 2) for i in range(4)]
        want.append(sum(wi * v for wi, v in zip(w, row)) / sum(w))
    y = F.interpolate(_t([[[row]]], device), size=(1, 2), mode="lanczos", antialias=True)
    assert_close(y, np.array([[[want]]]), rtol=1e-14)
    # upsampling keeps the plain window: it reproduces a constant and interpolates a line
    # near the middle (f's weights sum to about 1 and are symmetric)
    z = F.interpolate(_t(np.full((1, 1, 1, 6), 2.5), device), size=(1, 13), mode="lanczos",
                      antialias=True)
    assert_close(z, np.full((1, 1, 1, 13), 2.5), rtol=1e-14)


@pytest.mark.parametrize("kwargs, message", [
    (dict(antialias=False), "'lanczos' needs antialias=True"),
    (dict(antialias=True, align_corners=True), "'lanczos' does not take align_corners=True"),
])
def test_lanczos_errors(kwargs, message):
    """PyTorch's rules: Lanczos is an antialiased filter on pixel centres (PyTorch raises
    for both too)."""
    with pytest.raises(ValueError, match=message):
        F.interpolate(mg.randn(1, 2, 5, 4), size=(2, 2), mode="lanczos", **kwargs)
    torch = pytest.importorskip("torch")
    with pytest.raises((ValueError, RuntimeError), match="Lanczos mode"):
        torch.nn.functional.interpolate(torch.randn(1, 2, 5, 4), size=(2, 2), mode="lanczos",
                                        **kwargs)


def test_antialias_bilinear_upsampling_is_plain_bilinear(device):
    """Upsampling keeps the triangle's support 1, so (centres aligned) it is bilinear; a
    single column too (where PyTorch 2.13's CPU forward repeats the first row)."""
    rng = np.random.default_rng(3)
    for shape, kwargs in [((2, 3, 4, 5), dict(size=(9, 5))),
                          ((2, 3, 4, 5), dict(size=(7, 11))),
                          ((2, 3, 4, 5), dict(scale_factor=(2.5, 1.5))),
                          ((2, 3, 3, 1), dict(size=(5, 1)))]:
        x = _t(rng.standard_normal(shape), device)
        assert_close(F.interpolate(x, mode="bilinear", antialias=True, **kwargs),
                     F.interpolate(x, mode="bilinear", **kwargs), rtol=1e-12, atol=1e-14)


@st.composite
def antialias_cases(draw, largest=12):
    """(x, kwargs): H, W in 1…largest resized up, down or not at all to 1…largest, by a
    size or by a scale_factor (with or without recompute_scale_factor)."""
    spatial = tuple(draw(st.integers(1, largest)) for _ in range(2))
    out = tuple(draw(st.integers(1, largest)) for _ in range(2))
    mode = draw(st.sampled_from(["bilinear", "bicubic", "lanczos"]))
    kwargs = {"mode": mode, "antialias": True,   # (lanczos: pixel centres only, as PyTorch)
              "align_corners": draw(st.booleans()) and mode != "lanczos"}
    if draw(st.booleans()):
        kwargs["size"] = out
    else:   # a factor whose ⌊n·factor⌋ is the drawn size, but not the ratio of the sizes
        kwargs["scale_factor"] = tuple((m + draw(st.floats(0.01, 0.99))) / n
                                       for n, m in zip(spatial, out))
        kwargs["recompute_scale_factor"] = draw(st.booleans())
    x = np.random.default_rng(draw(st.integers(0, 999))).standard_normal((2, 2) + spatial)
    return x, kwargs


@given(case=antialias_cases())
def test_antialias_matches_torch(case):
    """Values and input gradients against PyTorch in float64, with two PyTorch 2.13 (CPU)
    quirks stepped around. Its forward pass repeats the first row when the output width
    is 1 and the height changes (its backward is right): that case is run transposed.
    Where a dim keeps its size under a scale_factor ≠ 1 (used as is: no recompute, no
    align_corners), its forward copies the dim, as minigrad does, but its backward applies
    that scale's weights all the same: the gradient is compared elsewhere."""
    torch = pytest.importorskip("torch")
    x, kwargs = case
    X, T = _t(x), torch.tensor(x, requires_grad=True)
    y = F.interpolate(X, **kwargs)
    if y.shape[3] == 1 and y.shape[2] != x.shape[2]:
        swapped = {k: v[::-1] if k in ("size", "scale_factor") else v
                   for k, v in kwargs.items()}
        yt = torch.nn.functional.interpolate(T.mT, **swapped).mT
    else:
        yt = torch.nn.functional.interpolate(T, **kwargs)
    assert_close(y, yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = np.random.default_rng(4).standard_normal(yt.shape)
    y.backward(_t(g, grad=False))
    yt.backward(torch.tensor(g))
    scale_used = ("scale_factor" in kwargs and not kwargs["recompute_scale_factor"]
                  and not kwargs["align_corners"])
    if not (scale_used and any(n == m for n, m in zip(x.shape[2:], yt.shape[2:]))):
        assert_close(X.grad, T.grad.numpy(), rtol=1e-10, atol=1e-10)


@given(case=antialias_cases(largest=6))
def test_antialias_gradcheck(case):
    x, kwargs = case
    assert mg.gradcheck(lambda t: F.interpolate(t, **kwargs), (_t(x),))
    assert mg.gradgradcheck(lambda t: F.interpolate(t, **kwargs) ** 2, (_t(x[:1, :1]),))


ANTIALIAS_ERRORS = [
    ((1, 2, 5), "nearest", "antialias=True applies to modes 'bilinear', 'bicubic' and "
                           "'lanczos'"),
    ((1, 2, 5, 4), "nearest-exact", "not 'nearest-exact'"),
    ((1, 2, 5, 4), "area", "not 'area'"),
    ((1, 2, 5), "linear", "not 'linear'"),
    ((1, 2, 3, 5, 4), "trilinear", "not 'trilinear'"),
    ((1, 2, 5), "bilinear", "'bilinear' needs a 4-D input"),
    ((1, 2, 3, 5, 4), "bicubic", "'bicubic' needs a 4-D input"),
    ((1, 2, 5), "lanczos", "'lanczos' needs a 4-D input"),
]


@pytest.mark.parametrize("shape, mode, message", ANTIALIAS_ERRORS)
def test_antialias_errors(shape, mode, message):
    with pytest.raises(ValueError, match=message):
        F.interpolate(mg.randn(*shape), scale_factor=0.5, mode=mode, antialias=True)


@pytest.mark.parametrize("shape, mode, message", ANTIALIAS_ERRORS)
def test_antialias_errors_are_torch_errors(shape, mode, message):
    """PyTorch refuses each of these too (antialias: bilinear and bicubic on 4-D only)."""
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="Anti-alias option is restricted"):
        torch.nn.functional.interpolate(torch.randn(*shape), scale_factor=0.5, mode=mode,
                                        antialias=True)
