"""F.affine_grid and F.grid_sample: the coordinate rules worked by hand (identity θ,
a half-pixel shift, border and reflection coordinates, round-half-even, bicubic taps),
gradcheck and gradgradcheck in float64 with grid points kept away from the jumps, every
error, and PyTorch as an oracle for values and gradients (input, grid, θ) in every
mode × padding_mode × align_corners, when it is installed."""
import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.testing import assert_close

MODES = ["bilinear", "nearest", "bicubic"]
PADDINGS = ["zeros", "border", "reflection"]


def _t(a, device="cpu", grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=grad)


def _normalize(u, n, align_corners):
    """The normalized coordinate of the pixel coordinate u along a dim of size n."""
    return 2 * u / (n - 1) - 1 if align_corners else (2 * u + 1) / n - 1


def _away_grid(rng, n, out, sizes, align_corners):
    """Points (n, *out, k) whose pixel coordinates (sizes in x, y[, z] order) lie 0.1-0.4
    or 0.6-0.9 past an integer, 2 pixels beyond either edge included: away from the
    integers (the taps change), the half-integers (rint, and reflection without aligned
    corners) and the clip points."""
    shape, cols = (n,) + tuple(out), []
    for m in sizes:
        if m == 1 and align_corners:       # u = 0 whatever g is
            cols.append(rng.uniform(-1.5, 1.5, shape))
            continue
        u = (rng.integers(-2, m + 2, shape) + rng.uniform(0.1, 0.4, shape)
             + 0.5 * rng.integers(0, 2, shape))
        cols.append(_normalize(u, m, align_corners))
    return np.stack(cols, axis=-1)


def _row_grid(us, n, align_corners):
    """A (1, 1, len(us), 2) grid reading a 1-row input at the pixel x-coordinates us."""
    g = [[_normalize(u, n, align_corners), 0.0] for u in us]
    return np.array(g, dtype=np.float64)[None, None]


# ----------------------------------------------------------------- by hand


@pytest.mark.parametrize("mode", MODES)
def test_identity_theta_reproduces_the_input(mode, device):
    """θ = [I | 0]: the grid is every pixel's own centre, for both conventions (the base
    points follow align_corners), so every mode returns the input."""
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    theta = _t(np.tile([[1.0, 0, 0], [0, 1.0, 0]], (2, 1, 1)), device)
    for align in (True, False):
        grid = F.affine_grid(theta, (2, 3, 4, 5), align_corners=align)
        for padding in PADDINGS:
            y = F.grid_sample(_t(x, device), grid, mode, padding, align_corners=align)
            assert_close(y, x, rtol=1e-12, atol=1e-12)


def test_identity_theta_3d(device):
    x = np.random.default_rng(1).standard_normal((1, 2, 3, 4, 2))
    theta = _t([[[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0]]], device)
    grid = F.affine_grid(theta, (1, 2, 3, 4, 2), align_corners=True)
    assert grid.shape == (1, 3, 4, 2, 3)
    for mode in ("bilinear", "nearest"):
        assert_close(F.grid_sample(_t(x, device), grid, mode, align_corners=True), x,
                     rtol=1e-12, atol=1e-12)


def test_affine_grid_by_hand(device):
    """W = 3, H = 2. Aligned: x = −1, 0, 1 and y = −1, 1. Not aligned: the pixel centres
    x = (2j + 1)/3 − 1 = −⅔, 0, ⅔ and y = ∓½. θ = [[0, 1, 0.5], [−1, 0, 0]] maps (x, y)
    to (y + 0.5, −x)."""
    theta = _t([[[0.0, 1.0, 0.5], [-1.0, 0.0, 0.0]]], device)
    g = F.affine_grid(theta, (1, 1, 2, 3), align_corners=True).cpu().numpy()[0]
    x, y = np.meshgrid([-1.0, 0.0, 1.0], [-1.0, 1.0])
    assert_close(g, np.stack([y + 0.5, -x], -1), rtol=1e-15)
    g = F.affine_grid(theta, (1, 1, 2, 3), align_corners=False).cpu().numpy()[0]
    x, y = np.meshgrid([-2 / 3, 0.0, 2 / 3], [-0.5, 0.5])
    assert_close(g, np.stack([y + 0.5, -x], -1), rtol=1e-15)
    # a size-1 dim sits at 0, whichever convention
    one = F.affine_grid(_t([[[1.0, 0, 0], [0, 1.0, 0]]], device), (1, 1, 1, 2), True)
    assert_close(one, np.array([[[[-1.0, 0.0], [1.0, 0.0]]]]), rtol=1e-15)


def test_half_pixel_shift_by_hand(device):
    """A shift of half a pixel to the right (t_x = 1/W without aligned corners) reads
    u = j + ½: the mean of neighbours; the last point, u = 3.5, is past the last centre:
    zeros gives x[3]/2; border clips u to 3; reflection folds u about 3.5, the image
    edge, onto itself (d = 4 = span: f = 1, e = 0 → 3.5), then clips to 3."""
    x = _t(np.array([0.0, 10.0, 20.0, 40.0]).reshape(1, 1, 1, 4), device)
    theta = _t([[[1.0, 0.0, 1 / 4], [0.0, 1.0, 0.0]]], device)
    grid = F.affine_grid(theta, (1, 1, 1, 4), align_corners=False)
    want = {"zeros": [5, 15, 30, 20], "border": [5, 15, 30, 40], "reflection": [5, 15, 30, 40]}
    for padding, row in want.items():
        y = F.grid_sample(x, grid, padding_mode=padding, align_corners=False)
        assert_close(y, np.array(row, float).reshape(1, 1, 1, 4), rtol=1e-12)


# pixel coordinates u on a row of 5 with x_i = 10(i + 1), so a value inside is 10(u + 1)
@pytest.mark.parametrize("align, us, want", [
    # aligned, span 4 about 0 and 4: −1 → 1; 4.5 → 3.5; 9 → f = 2, e = 1 → 1
    (True, [-1.0, 4.5, 9.0, 1.75], {"zeros": [0, 25, 0, 27.5], "border": [10, 50, 50, 27.5],
                                    "reflection": [20, 45, 20, 27.5]}),
    # not aligned, span 5 about −½ and 4.5: −1 → 0; 5.5 → 3.5; −3 → −½ + 2.5 = 2 (f = 0)
    (False, [-1.0, 5.5, -3.0, 1.75], {"zeros": [0, 0, 0, 27.5], "border": [10, 50, 10, 27.5],
                                      "reflection": [10, 45, 30, 27.5]}),
])
def test_border_and_reflection_coordinates_by_hand(align, us, want, device):
    x = _t(10.0 * np.arange(1, 6).reshape(1, 1, 1, 5), device)
    grid = _t(_row_grid(us, 5, align), device)
    for padding, row in want.items():
        y = F.grid_sample(x, grid, padding_mode=padding, align_corners=align)
        assert_close(y, np.array(row, float).reshape(1, 1, 1, -1), rtol=1e-12, atol=1e-12)


def test_nearest_rounds_half_to_even_and_gives_the_grid_a_zero_gradient(device):
    """u = 0.5, 1.5, 2.5 → taps 0, 2, 2 (rint, as PyTorch's nearbyint); u = 5 is outside."""
    x = _t(10.0 * np.arange(1, 6).reshape(1, 1, 1, 5), device)
    grid = _t(_row_grid([0.5, 1.5, 2.5, 5.0], 5, True), device)
    y = F.grid_sample(x, grid, mode="nearest", align_corners=True)
    assert_close(y, np.array([[[[10.0, 30.0, 30.0, 0.0]]]]), rtol=1e-15)
    (y * _t(np.arange(1.0, 5.0).reshape(1, 1, 1, 4), device, False)).sum().backward()
    assert_close(grid.grad, np.zeros((1, 1, 4, 2)))
    assert_close(x.grad, np.array([[[[1.0, 0.0, 5.0, 0.0, 0.0]]]]))   # 2 + 3 at x[2]


def test_bicubic_by_hand(device):
    """H = 1 with aligned corners pins y at row 0 (t_y = 0: weights 0, 1, 0, 0). Along x,
    u = 1.75 reads taps 0..3 with Keys' weights of t = 0.75 (a = −0.75); u = 0.25 reads
    taps −1..2, the tap −1 being 0 (zeros), x[0] (border) or x[1] (reflection about 0)."""
    a = -0.75

    def c1(t):
        return ((a + 2) * t - (a + 3)) * t * t + 1

    def c2(t):
        return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a

    def w(t):
        return [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)]

    row = np.array([1.0, 3.0, 2.0, 7.0, 5.0])
    x = _t(row.reshape(1, 1, 1, 5), device)
    grid = _t(_row_grid([1.75, 0.25], 5, True), device)
    w1, w2 = w(0.75), w(0.25)
    inner = np.dot(w1, row[0:4])
    for padding, tap in (("zeros", 0.0), ("border", row[0]), ("reflection", row[1])):
        y = F.grid_sample(x, grid, "bicubic", padding, align_corners=True)
        want = [inner, np.dot(w2, [tap, *row[0:3]])]
        assert_close(y, np.array(want).reshape(1, 1, 1, 2), rtol=1e-12)


def test_non_finite_points(device):
    """Border clips ±inf to the edges and NaN to 0; zeros reads 0 outside (PyTorch's
    CUDA kernel: the coordinate becomes −100)."""
    x = _t(np.arange(1.0, 5.0).reshape(1, 1, 1, 4), device)
    grid = _t([[[[math.inf, 0.0], [-math.inf, 0.0], [math.nan, 0.0]]]], device)
    assert_close(F.grid_sample(x, grid, padding_mode="border"), np.array([[[[4.0, 1, 1]]]]))
    assert_close(F.grid_sample(x, grid, padding_mode="zeros"), np.zeros((1, 1, 1, 3)))
    assert_close(F.grid_sample(x, grid, padding_mode="reflection"), np.ones((1, 1, 1, 3)))


def test_shapes_and_channels(device):
    x = _t(np.random.default_rng(2).standard_normal((2, 3, 4, 5)), device)
    grid = _t(np.zeros((2, 6, 7, 2)), device)
    y = F.grid_sample(x, grid, align_corners=True)
    assert y.shape == (2, 3, 6, 7)
    # the centre of a 4 × 5 image with aligned corners: u = (1.5, 2), between rows 1 and 2
    centre = 0.5 * (x.detach().cpu().numpy()[:, :, 1, 2] + x.detach().cpu().numpy()[:, :, 2, 2])
    assert_close(y[:, :, 3, 4], centre, rtol=1e-12)
    y5 = F.grid_sample(_t(np.ones((1, 2, 3, 4, 5)), device), _t(np.zeros((1, 2, 3, 4, 3)),
                                                                 device))
    assert y5.shape == (1, 2, 2, 3, 4)


# ----------------------------------------------------------------- gradients


@pytest.mark.parametrize("mode, padding, align",
                         list(itertools.product(MODES, PADDINGS, [False, True])))
def test_gradcheck_and_gradgradcheck_every_combination(mode, padding, align, device):
    rng = np.random.default_rng(3)
    x = _t(rng.standard_normal((2, 2, 3, 4)), device)
    grid = _t(_away_grid(rng, 2, (2, 3), (4, 3), align), device)

    def f(a, g):
        return F.grid_sample(a, g, mode, padding, align)

    # On CUDA the input gradient is a scatter of atomic adds, whose order varies: border
    # padding piles many taps onto the edge pixels, so two evaluations of the gradient may
    # differ in the last bits (PyTorch's own CUDA tests pass nondet_tol there too).
    tol = 1e-12 if device == "cuda" else 0.0
    assert mg.gradcheck(f, (x, grid), nondet_tol=tol)
    assert mg.gradgradcheck(f, (x, grid), nondet_tol=tol)


@pytest.mark.parametrize("mode, padding, align",
                         list(itertools.product(["bilinear", "nearest"], PADDINGS,
                                                [False, True])))
def test_gradcheck_5d(mode, padding, align, device):
    rng = np.random.default_rng(4)
    x = _t(rng.standard_normal((1, 2, 2, 3, 4)), device)
    grid = _t(_away_grid(rng, 1, (2, 2, 1), (4, 3, 2), align), device)

    def f(a, g):
        return F.grid_sample(a, g, mode, padding, align)

    assert mg.gradcheck(f, (x, grid))
    if mode == "bilinear":
        assert mg.gradgradcheck(f, (x, grid))


@st.composite
def sample_cases(draw):
    k = draw(st.sampled_from([2, 3]))
    mode = draw(st.sampled_from(MODES if k == 2 else MODES[:2]))
    padding = draw(st.sampled_from(PADDINGS))
    align = draw(st.booleans())
    spatial = tuple(draw(st.integers(1, 4)) for _ in range(k))
    out = tuple(draw(st.integers(1, 3)) for _ in range(k))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    x = rng.standard_normal((n, c) + spatial)
    grid = _away_grid(rng, n, out, spatial[::-1], align)
    return x, grid, (mode, padding, align)


@given(case=sample_cases())
def test_grid_sample_gradcheck_on_drawn_geometries(case):
    x, grid, args = case
    assert mg.gradcheck(lambda a, g: F.grid_sample(a, g, *args), (_t(x), _t(grid)))


@pytest.mark.parametrize("size", [(2, 1, 3, 4), (1, 2, 2, 3, 2)])
@pytest.mark.parametrize("align", [False, True])
def test_affine_grid_gradcheck(size, align, device):
    k = len(size) - 2
    theta = _t(np.random.default_rng(5).standard_normal((size[0], k, k + 1)), device)
    assert mg.gradcheck(lambda t: F.affine_grid(t, size, align_corners=align), (theta,))


def test_spatial_transformer_gradcheck(device):
    """θ → affine_grid → grid_sample: the gradient reaches θ (near the identity, a small
    rotation and shift, the points of this seed away from the pixel boundaries)."""
    x = _t(np.random.default_rng(6).standard_normal((1, 2, 4, 5)), device)
    theta = _t([[[0.9, 0.3, 0.13], [-0.2, 1.1, -0.07]]], device)

    def f(a, t):
        return F.grid_sample(a, F.affine_grid(t, (1, 2, 3, 3), False), "bilinear", "border",
                             False)

    assert mg.gradcheck(f, (x, theta))
    assert mg.gradgradcheck(f, (x, theta))


# ----------------------------------------------------------------- errors


def test_grid_sample_errors():
    x, grid = mg.randn(1, 2, 3, 4), mg.zeros(1, 5, 5, 2)
    cases = [
        (dict(mode="cubic"), ValueError, "mode must be one of"),
        (dict(padding_mode="circular"), ValueError, "padding_mode must be one of"),
    ]
    for kwargs, err, msg in cases:
        with pytest.raises(err, match=msg):
            F.grid_sample(x, grid, **kwargs)
    with pytest.raises(ValueError, match=r"grid must have shape \(N, \*spatial_out, 2\)"):
        F.grid_sample(x, mg.zeros(1, 5, 5, 3))
    with pytest.raises(ValueError, match="N = 1"):
        F.grid_sample(x, mg.zeros(2, 5, 5, 2))
    with pytest.raises(ValueError, match="grid must have shape"):
        F.grid_sample(x, mg.zeros(1, 5, 2))
    with pytest.raises(ValueError, match="4-D .* or 5-D"):
        F.grid_sample(mg.randn(1, 2, 3), mg.zeros(1, 3, 1))
    with pytest.raises(ValueError, match="bicubic interpolation only supports 4-D"):
        F.grid_sample(mg.randn(1, 1, 2, 2, 2), mg.zeros(1, 1, 1, 1, 3), mode="bicubic")
    with pytest.raises(ValueError, match="non-empty spatial dims"):
        F.grid_sample(mg.randn(1, 1, 0, 2), mg.zeros(1, 1, 1, 2))
    with pytest.raises(TypeError, match="same dtype"):
        F.grid_sample(x, mg.zeros(1, 5, 5, 2, dtype=mg.float64))
    with pytest.raises(TypeError, match="floating point"):
        F.grid_sample(mg.tensor([[[[1, 2]]]]), mg.zeros(1, 1, 1, 2))
    with pytest.raises(TypeError, match="must be a Tensor"):
        F.grid_sample(np.zeros((1, 1, 2, 2)), grid)


def test_affine_grid_errors():
    theta = mg.zeros(2, 2, 3)
    with pytest.raises(ValueError, match=r"shape \(2, 2, 3\) for size"):
        F.affine_grid(mg.zeros(2, 3, 4), (2, 1, 4, 4))
    with pytest.raises(ValueError, match=r"shape \(2, 3, 4\) for size"):
        F.affine_grid(theta, (2, 1, 3, 4, 4))
    with pytest.raises(ValueError, match=r"shape \(3, 2, 3\)"):
        F.affine_grid(theta, (3, 1, 4, 4))                 # batch mismatch
    with pytest.raises(ValueError, match="size must be"):
        F.affine_grid(theta, (2, 1, 4))
    with pytest.raises(ValueError, match="positive output size"):
        F.affine_grid(theta, (2, 1, 0, 4))
    with pytest.raises(TypeError, match="floating-point"):
        F.affine_grid(mg.zeros(2, 2, 3, dtype=mg.int64), (2, 1, 4, 4))


# ----------------------------------------------------------------- PyTorch oracle


@pytest.mark.parametrize("k", [2, 3])
def test_grid_sample_matches_torch(k):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    for mode, padding, align in itertools.product(MODES, PADDINGS, [False, True]):
        if k == 3 and mode == "bicubic":
            continue
        for spatial in ([(3, 4), (1, 5), (4, 1)] if k == 2 else [(2, 3, 4), (1, 2, 3)]):
            x = rng.standard_normal((2, 3) + spatial)
            grid = rng.uniform(-1.6, 1.6, (2,) + (3, 2, 4)[:k] + (k,))
            xt = torch.tensor(x, requires_grad=True)
            gt = torch.tensor(grid, requires_grad=True)
            yt = torch.nn.functional.grid_sample(xt, gt, mode, padding, align_corners=align)
            gy = rng.standard_normal(tuple(yt.shape))
            yt.backward(torch.tensor(gy))
            xm, gm = _t(x), _t(grid)
            ym = F.grid_sample(xm, gm, mode, padding, align_corners=align)
            ym.backward(mg.tensor(gy))
            what = f"{mode}, {padding}, align_corners={align}, spatial {spatial}"
            np.testing.assert_allclose(ym.cpu().numpy(), yt.detach().cpu().numpy(), rtol=1e-10,
                                       atol=1e-12, err_msg=what)
            np.testing.assert_allclose(xm.grad.cpu().numpy(), xt.grad.cpu().numpy(), rtol=1e-10,
                                       atol=1e-12, err_msg=what)
            np.testing.assert_allclose(gm.grad.cpu().numpy(), gt.grad.cpu().numpy(), rtol=1e-10,
                                       atol=1e-11, err_msg=what)


def test_grid_sample_matches_torch_in_float32():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x = rng.standard_normal((1, 2, 5, 6)).astype(np.float32)
    grid = rng.uniform(-1.2, 1.2, (1, 4, 3, 2)).astype(np.float32)
    for mode, padding in itertools.product(MODES, PADDINGS):
        yt = torch.nn.functional.grid_sample(torch.tensor(x), torch.tensor(grid), mode, padding,
                                             align_corners=False)
        ym = F.grid_sample(mg.tensor(x), mg.tensor(grid), mode, padding, align_corners=False)
        assert ym.dtype == mg.float32
        np.testing.assert_allclose(ym.cpu().numpy(), yt.cpu().numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 1, 3), (1, 2, 3, 4, 5), (2, 1, 1, 2, 1)])
@pytest.mark.parametrize("align", [False, True])
def test_affine_grid_matches_torch(size, align):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    k = len(size) - 2
    theta = rng.standard_normal((size[0], k, k + 1))
    tt = torch.tensor(theta, requires_grad=True)
    with warnings.catch_warnings():     # PyTorch warns about size-1 dims with align_corners
        warnings.simplefilter("ignore")
        gt = torch.nn.functional.affine_grid(tt, size, align_corners=align)
    gy = rng.standard_normal(tuple(gt.shape))
    gt.backward(torch.tensor(gy))
    tm = _t(theta)
    gm = F.affine_grid(tm, size, align_corners=align)
    gm.backward(mg.tensor(gy))
    np.testing.assert_allclose(gm.cpu().numpy(), gt.detach().cpu().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(tm.grad.cpu().numpy(), tt.grad.numpy(), rtol=1e-12, atol=1e-13)
