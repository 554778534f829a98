"""PyTorch's statistics, integer and remaining elementwise functions
(minigrad/ops/statistics.py; i0, i0e, i1, i1e, igamma, igammac in minigrad/ops/special.py;
the aliases in minigrad/__init__.py and tensor.py): values worked out by hand or from the
definition with NumPy, gradients by gradcheck and gradgradcheck on hypothesis-drawn
inputs on every device, clear errors, and PyTorch and SciPy as oracles when installed."""
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.testing import arrays, assert_close

from ..torch_oracle import before_2_14

NAN = float("nan")


def _t(a, device="cpu", **kw):
    return mg.tensor(a, device=device, **kw)


def _f64(a, device="cpu", grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=grad)


def _gradcheck(fn, *arrays, device):
    xs = [_f64(a, device) for a in arrays]
    assert mg.gradcheck(fn, xs)
    assert mg.gradgradcheck(fn, xs)


def _bessel_series(nu, x, terms=80):
    """I_ν(x) = Σₖ (x/2)^{2k+ν} / (k!·(k + ν)!), the defining series (exact enough in
    float64 for |x| ≤ 12 with 80 terms)."""
    return sum((x / 2) ** (2 * k + nu) / (math.factorial(k) * math.factorial(k + nu))
               for k in range(terms))


# ------------------------------------------------------------------ by hand: aliases


def test_aliases_and_predicates_by_hand(device):
    x = _t([[1.0, -2.0], [3.0, -4.0]], device)
    assert mg.absolute(x).tolist() == [[1.0, 2.0], [3.0, 4.0]] == x.absolute().tolist()
    assert mg.sgn(x).tolist() == [[1.0, -1.0], [1.0, -1.0]] == x.sgn().tolist()
    assert mg.greater(x, 1).tolist() == [[False, False], [True, False]] == x.greater(1).tolist()
    assert mg.greater_equal(x, 1).tolist()[0] == [True, False] == x.greater_equal(1).tolist()[0]
    assert mg.less(x, -2).tolist()[1] == [False, True] == x.less(-2).tolist()[1]
    assert mg.less_equal(x, -2).tolist()[0] == [False, True] == x.less_equal(-2).tolist()[0]
    assert mg.not_equal(x, 3.0).tolist()[1] == [False, True] == x.not_equal(3.0).tolist()[1]
    assert mg.positive(x) is x and x.positive() is x
    assert x.negative().tolist()[0] == [-1.0, 2.0] and x.multiply(2).tolist()[0] == [2.0, -4.0]
    assert x.subtract(1, alpha=2).tolist()[0] == [-1.0, -4.0]
    assert mg.subtract(x, x, alpha=0.5).tolist()[0] == [0.5, -1.0]
    assert x.divide(2).tolist()[0] == [0.5, -1.0]
    n = _t([-7, 7], device)
    assert mg.divide(n, 2, rounding_mode="trunc").tolist() == [-3, 3]
    assert n.divide(2, rounding_mode="floor").tolist() == [-4, 3]
    assert mg.msort(_t([[3, 1], [1, 2]], device)).tolist() == [[1, 1], [3, 2]]
    assert _t([[3, 1], [1, 2]], device).msort().tolist() == [[1, 1], [3, 2]]
    assert mg.ravel(x).tolist() == [1.0, -2.0, 3.0, -4.0] and _t(5, device).ravel().shape == (1,)
    assert x.ndimension() == 2 and x.nelement() == 4
    assert mg.is_same_size(x, x.T) and not x.is_same_size(x[0])
    assert mg.is_signed(x) and mg.is_signed(n) and not _t([1], device, dtype=mg.uint8).is_signed()
    assert not _t([True], device).is_signed()
    assert mg.is_nonzero(_t([0.5], device)) and not _t([[0]], device).is_nonzero()
    assert _t(NAN, device).is_nonzero() and not mg.is_nonzero(_t(False, device))
    assert mg.isreal(x).tolist() == [[True, True], [True, True]] and not x.isreal().requires_grad


def test_dist_by_hand(device):
    a, b = _t([1.0, 2.0, 3.0], device), _t([1.0, 5.0, 7.0], device)
    assert mg.dist(a, b).item() == 5.0 and a.dist(b, 1).item() == 7.0      # √(3² + 4²), 3 + 4
    assert mg.dist(a, b, float("inf")).item() == 4.0
    assert mg.dist(a, b, float("-inf")).item() == 0.0
    assert mg.dist(a, b, 0).item() == 2.0                                   # two differ
    broadcast = mg.dist(a, _t([[1.0], [4.0]], device))     # [[0, 1, 2], [−3, −2, −1]]
    assert broadcast.item() == pytest.approx(math.sqrt(0 + 1 + 4 + 9 + 4 + 1))
    x = _f64([1.0, 2.0, 3.0], device)
    mg.dist(x, _t([1.0, 5.0, 7.0], device, dtype=mg.float64)).backward()
    assert_close(x.grad, [0.0, -0.6, -0.8], rtol=1e-15)                     # (x − y)/‖x − y‖


# ------------------------------------------------------------------ by hand: integers


def test_bitwise_ops_by_hand(device):
    a, b = _t([12, -1, 0], device), _t([10, 10, 7], device)
    assert mg.bitwise_and(a, b).tolist() == [8, 10, 0] == (a & b).tolist()
    assert mg.bitwise_or(a, b).tolist() == [14, -1, 7] == a.bitwise_or(b).tolist()
    assert mg.bitwise_xor(a, b).tolist() == [6, -11, 7] == (a ^ b).tolist()
    assert mg.bitwise_not(a).tolist() == [-13, 0, -1] == (~a).tolist()
    assert mg.bitwise_and(a, 6).tolist() == [4, 6, 0]
    assert mg.bitwise_xor(_t([5], device), True).tolist() == [4]
    t, f = _t([True, True, False], device), _t([True, False, False], device)
    assert mg.bitwise_and(t, f).tolist() == [True, False, False]
    assert mg.bitwise_xor(t, f).dtype == mg.bool
    assert t.bitwise_not().tolist() == [False, False, True]
    assert mg.bitwise_and(t, _t([3, 3, 3], device)).tolist() == [1, 1, 0]     # bool → int64
    r = mg.bitwise_and(_t([7], device, dtype=mg.int32), _t([5], device))
    assert r.dtype == mg.int64 and r.tolist() == [5]
    assert not mg.bitwise_and(a, b).requires_grad


def test_shifts_by_hand(device):
    x = _t([1, 3, -8, 8], device)
    assert mg.bitwise_left_shift(x, 2).tolist() == [4, 12, -32, 32] == (x << 2).tolist()
    assert mg.bitwise_right_shift(x, 1).tolist() == [0, 1, -4, 4] == (x >> 1).tolist()
    assert (1 << _t([0, 3], device)).tolist() == [1, 8] and (64 >> _t([2, 6], device)).tolist() \
        == [16, 1]
    # outside 0 ≤ b < 64: 0 to the left; the sign everywhere to the right (PyTorch's)
    assert x.bitwise_left_shift(_t([64, -1, 70, 63], device)).tolist() == [0, 0, 0, 0]
    assert x.bitwise_right_shift(_t([64, -1, 70, 63], device)).tolist() == [0, 0, -1, 0]
    i8 = _t([1, 64, -128], device, dtype=mg.int8)
    assert (i8 << _t([7, 1, 1], device, dtype=mg.int8)).tolist() == [-128, -128, 0]   # wraps
    assert (i8 << 8).tolist() == [0, 0, 0] and (i8 >> 9).tolist() == [0, 0, -1]
    u8 = _t([200, 3], device, dtype=mg.uint8)
    assert (u8 >> 7).tolist() == [1, 0] and (u8 >> 8).tolist() == [0, 0]
    assert (u8 << 7).tolist() == [0, 128] and (u8 << 7).dtype == mg.uint8


def test_gcd_lcm_by_hand(device):
    a, b = _t([12, -18, 0, 0, 7], device), _t([-8, 12, 5, 0, 13], device)
    assert mg.gcd(a, b).tolist() == [4, 6, 5, 0, 1] == a.gcd(b).tolist()
    assert mg.lcm(a, b).tolist() == [24, 36, 0, 0, 91] == a.lcm(b).tolist()
    assert mg.lcm(_t([4, -6], device), 6).tolist() == [12, 6]
    assert mg.gcd(_t([[4], [6]], device), _t([2, 3], device)).tolist() == [[2, 1], [2, 3]]


# ------------------------------------------------------------------ by hand: elementwise


def test_fmax_fmin_values_and_gradients_by_hand(device):
    a = _f64([1.0, NAN, 3.0, 2.0], device)
    b = _f64([NAN, 2.0, 3.0, 5.0], device)
    gy = _t([1.0, 2.0, 4.0, 8.0], device, dtype=mg.float64)
    y = mg.fmax(a, b)
    assert y.tolist() == [1.0, 2.0, 3.0, 5.0]
    y.backward(gy)              # the operand y is (the other one at a NaN); half each on a tie
    assert a.grad.tolist() == [1.0, 0.0, 2.0, 0.0] and b.grad.tolist() == [0.0, 2.0, 2.0, 8.0]
    a.grad = b.grad = None
    y = a.fmin(b)
    assert y.tolist() == [1.0, 2.0, 3.0, 2.0]
    y.backward(gy)
    assert a.grad.tolist() == [1.0, 0.0, 2.0, 8.0] and b.grad.tolist() == [0.0, 2.0, 2.0, 0.0]
    both = mg.fmax(_t([NAN], device), _t([NAN], device))
    assert math.isnan(both.item())
    assert mg.fmax(_t([1, 5], device), _t([3, 2], device)).tolist() == [3, 5]
    assert mg.fmin(_t([1, 5], device), _t([3.5, 2.0], device)).tolist() == [1.0, 2.0]


def test_fmod_frexp_ldexp_by_hand(device):
    a = _f64([5.5, -5.5, 5.5, -5.5], device)
    b = _f64([2.0, 2.0, -2.0, -2.0], device)
    y = mg.fmod(a, b)
    assert y.tolist() == [1.5, -1.5, 1.5, -1.5]          # the sign of the dividend
    y.backward(mg.ones(4, dtype=mg.float64, device=device))
    assert a.grad.tolist() == [1.0] * 4 and b.grad.tolist() == [-2.0, 2.0, 2.0, -2.0]
    assert mg.fmod(_t([-7, 7], device), _t([3, -3], device)).tolist() == [-1, 1]
    assert _t([5], device).fmod(2.5).tolist() == [0.0] and _t([5], device).fmod(2.5).dtype \
        == mg.float32
    assert math.isnan(mg.fmod(_t([5.0], device), 0).item())
    x = _f64([8.0, 0.3, -5.0, 0.0, math.inf, NAN], device)
    m, e = mg.frexp(x)
    assert m.tolist()[:5] == [0.5, 0.6, -0.625, 0.0, math.inf] and math.isnan(m.tolist()[5])
    assert e.tolist() == [4, -1, 3, 0, 0, 0] and e.dtype == mg.int32
    assert x.frexp().mantissa.dtype == mg.float64 and not e.requires_grad
    m.backward(mg.ones(6, dtype=mg.float64, device=device))
    assert x.grad.tolist() == [1 / 16, 2.0, 1 / 8, 1.0, 1.0, 1.0]      # 2⁻ᵉ
    assert mg.frexp(_t([3.0], device, dtype=mg.float16)).mantissa.dtype == mg.float16
    s = _f64([1.0, 3.0], device)
    o = _f64([2.0, -1.0], device)
    y = mg.ldexp(s, o)
    assert y.tolist() == [4.0, 1.5]
    y.backward(mg.ones(2, dtype=mg.float64, device=device))
    assert s.grad.tolist() == [4.0, 0.5]
    assert_close(o.grad, [4 * math.log(2), 1.5 * math.log(2)], rtol=1e-15)
    assert mg.ldexp(_t([1, 2], device), _t([2, 3], device)).dtype == mg.float32
    assert s.ldexp(_t([2], device)).dtype == mg.float64


def test_nextafter_and_signbit_by_hand(device):
    a = _t([1.0, 0.0, 2.0], device, dtype=mg.float64)
    b = _t([2.0, -1.0, 2.0], device, dtype=mg.float64)
    assert mg.nextafter(a, b).tolist() == [1 + 2.0 ** -52, -5e-324, 2.0]
    one = _t([1.0], device)
    assert (one.nextafter(_t([0.0], device)).item(), one.nextafter(_t([2.0], device)).item()) \
        == (1 - 2.0 ** -24, 1 + 2.0 ** -23)
    assert mg.nextafter(one, _t([2.0], device, dtype=mg.float64)).dtype == mg.float64
    assert mg.signbit(_t([-0.0, 0.0, -2.0, NAN, -math.inf], device)).tolist() == \
        [True, False, True, False, True]
    assert _t([-1, 2], device).signbit().tolist() == [True, False]
    assert mg.signbit(_t([True], device)).tolist() == [False]


def test_bessel_functions_by_hand(device):
    xs = [0.0, 1.0, -2.0, 7.5, -8.0, 9.0, -12.0]
    x = _t(xs, device, dtype=mg.float64)
    i0 = [_bessel_series(0, v) for v in xs]
    i1 = [_bessel_series(1, abs(v)) * math.copysign(1, v) for v in xs]
    assert_close(mg.i0(x), i0, rtol=1e-15) and assert_close(x.i0(), i0, rtol=1e-15)
    assert_close(mg.special.i0(x), i0, rtol=1e-15)
    assert_close(mg.special.i1(x), i1, rtol=1e-15)
    assert_close(mg.special.i0e(x), [v * math.exp(-abs(u)) for u, v in zip(xs, i0)], rtol=1e-15)
    assert_close(mg.special.i1e(x), [v * math.exp(-abs(u)) for u, v in zip(xs, i1)], rtol=1e-15)
    big = _t([math.inf, -math.inf, 800.0, NAN], device, dtype=mg.float64)
    assert mg.i0(big).tolist()[:3] == [math.inf] * 3 and math.isnan(mg.i0(big).tolist()[3])
    assert mg.special.i1(big).tolist()[:3] == [math.inf, -math.inf, math.inf]
    assert mg.special.i0e(big).tolist()[:2] == [0.0, 0.0]
    assert mg.i0(_t([1, 2], device)).dtype == mg.float32
    assert mg.special.i1e(_t([1.0], device)).dtype == mg.float32
    # gradients: I₀' = I₁, I₁' = I₀ − I₁/x (½ at 0), and the scaled forms'
    g = _f64([0.0, 1.0, -2.0], device)
    (d,) = mg.autograd.grad(mg.special.i1(g).sum(), g)
    assert_close(d, [0.5, i0[1] - i1[1], i0[2] - i1[2] / -2.0], rtol=1e-14)
    (d,) = mg.autograd.grad(mg.i0(g).sum(), g)
    assert_close(d, [0.0, i1[1], i1[2]], rtol=1e-15)
    (d,) = mg.autograd.grad(mg.special.i0e(g[1:]).sum(), g)
    assert_close(d[1:], [math.exp(-1) * (i1[1] - i0[1]), math.exp(-2) * (i1[2] + i0[2])],
                 rtol=1e-14)


def test_incomplete_gamma_by_hand(device):
    x = _t([0.5, 1.0, 3.0, 10.0], device, dtype=mg.float64)
    ex = np.exp(-np.array([0.5, 1.0, 3.0, 10.0]))
    xv = np.array([0.5, 1.0, 3.0, 10.0])
    one = _t(1.0, device, dtype=mg.float64)
    assert_close(mg.igamma(one, x), 1 - ex, rtol=1e-14)                    # P(1, x) = 1 − e⁻ˣ
    assert_close(mg.igammac(one * 2, x), (1 + xv) * ex, rtol=1e-14)         # Q(2, x)
    assert_close(mg.special.gammainc(one / 2, x), [math.erf(math.sqrt(v)) for v in xv],
                 rtol=1e-14)                                               # P(½, x) = erf √x
    assert_close(mg.special.gammaincc(one * 3, x),
                 (1 + xv + xv ** 2 / 2) * ex, rtol=1e-13)
    a = _t([3.0, 30.0], device, dtype=mg.float64)
    assert_close(mg.igamma(a, 25.0) + mg.igammac(a, 25.0), [1.0, 1.0], rtol=1e-15)
    # the boundary (SciPy's and PyTorch's values)
    a = _t([0.0, 0.0, 1.0, -1.0, 1.0, math.inf, 1.0, math.inf, NAN], device)
    z = _t([1.0, 0.0, 0.0, 1.0, -1.0, 1.0, math.inf, math.inf, 1.0], device)
    lower = [1.0, NAN, 0.0, NAN, NAN, 0.0, 1.0, NAN, NAN]
    assert_close(mg.igamma(a, z), np.array(lower, dtype=np.float32))
    assert_close(a.igammac(z), 1 - np.array(lower, dtype=np.float32))
    assert mg.igamma(_t([2.0], device), _t([1.0], device, dtype=mg.float64)).dtype == mg.float64
    # the gradient in x is the integrand x^{a−1}e^{−x}/Γ(a); none in a, as in PyTorch
    a = _t([2.0, 0.5], device, dtype=mg.float64)
    x = _f64([1.5, 2.0], device)
    (gx,) = mg.autograd.grad(mg.igamma(a, x).sum(), x)
    assert_close(gx, [1.5 * math.exp(-1.5), math.exp(-2.0) / math.sqrt(2 * math.pi)],
                 rtol=1e-14)
    (gx,) = mg.autograd.grad(mg.igammac(a, x).sum(), x)
    assert_close(gx, [-1.5 * math.exp(-1.5), -math.exp(-2.0) / math.sqrt(2 * math.pi)],
                 rtol=1e-14)
    with pytest.raises(NotImplementedError, match="igamma: no gradient with respect to input"):
        mg.igamma(_f64([2.0], device), x).sum().backward()


# ------------------------------------------------------------------ by hand: statistics


def test_bincount_histc_histogram_by_hand(device):
    x = _t([0, 1, 1, 3], device)
    assert mg.bincount(x).tolist() == [1, 2, 0, 1] == x.bincount().tolist()
    assert mg.bincount(x, minlength=6).tolist() == [1, 2, 0, 1, 0, 0]
    assert mg.bincount(_t([], device, dtype=mg.int64)).tolist() == []
    w = _t([0.5, 1.0, 2.0, 4.0], device)
    h = mg.bincount(x, weights=w)
    assert h.tolist() == [0.5, 3.0, 0.0, 4.0] and h.dtype == mg.float32
    assert mg.bincount(x, _t([1, 2, 3, 4], device)).dtype == mg.float64   # not float32: f64
    assert mg.bincount(x, w.double(), 5).dtype == mg.float64
    wg = _f64([0.5, 1.0, 2.0, 4.0], device)
    mg.bincount(x, wg).backward(_t([1.0, 2.0, 3.0, 4.0], device, dtype=mg.float64))
    assert wg.grad.tolist() == [1.0, 2.0, 2.0, 4.0]                       # the gy of its bin

    f = _t([1.0, 2.0, 1.0, 5.0, -1.0, NAN], device)
    assert mg.histc(f, bins=4, min=0, max=3).tolist() == [0.0, 2.0, 1.0, 0.0]
    assert f[:5].histc(bins=4).tolist() == [1.0, 2.0, 1.0, 1.0]         # over [−1, 5]
    assert mg.histc(_t([2.0, 2.0], device), bins=4).tolist() == [0.0, 0.0, 2.0, 0.0]   # [1, 3]
    assert mg.histc(_t([1.0, 2.0, 3.0], device), 2, 2, 2).tolist() == [1.0, 2.0]  # data range
    assert mg.histc(_t([0.1, 0.2], device, dtype=mg.float64), 3, 0, 1).dtype == mg.float64
    assert mg.histc(_t([], device), bins=3).tolist() == [0.0, 0.0, 0.0]

    hist, edges = mg.histogram(_t([1.0, 2.0, 1.0], device), bins=4, range=(0.0, 3.0))
    assert hist.tolist() == [0.0, 2.0, 1.0, 0.0] and edges.tolist() == [0.0, 0.75, 1.5, 2.25, 3.0]
    hist, edges = _t([1.0, 2.0, 1.0], device).histogram(4)
    assert hist.tolist() == [2.0, 0.0, 0.0, 1.0] and edges.tolist() == [1.0, 1.25, 1.5, 1.75, 2.0]
    r = mg.histogram(_t([2.0, 2.0], device), bins=2)
    assert r.hist.tolist() == [0.0, 2.0] and r.bin_edges.tolist() == [1.5, 2.0, 2.5]
    r = mg.histogram(_t([1.0, 2.0, 1.0], device), bins=_t([0.0, 1.0, 2.5, 3.0], device),
                     density=True)
    assert_close(r.hist, [0.0, 2 / 3, 0.0], rtol=1e-7)       # 3 in [1, 2.5): 3/3/1.5
    r = mg.histogram(_t([1.0, 2.0, 1.0], device), bins=2, weight=_t([0.5, 2.0, 1.0], device))
    assert r.hist.tolist() == [1.5, 2.0]
    r = mg.histogram(_t([[1.0, 2.0], [3.0, 4.0]], device), bins=2)
    assert r.hist.tolist() == [2.0, 2.0] and r.bin_edges.tolist() == [1.0, 2.5, 4.0]
    r = mg.histogram(_t([], device), bins=2)
    assert r.hist.tolist() == [0.0, 0.0] and r.bin_edges.tolist() == [0.0, 0.5, 1.0]
    r = mg.histogram(_t([1.0, NAN, 9.0], device), bins=2, range=(0.0, 2.0))
    assert r.hist.tolist() == [0.0, 1.0]


def test_mode_nanmedian_by_hand(device):
    v, i = mg.mode(_t([3, 1, 1, 3, 2, 2], device))     # all twice: the smallest, last index
    assert (v.item(), i.item()) == (1, 2)
    v, i = _t([2, 7, 2, 7, 7, 2], device).mode()
    assert (v.item(), i.item()) == (2, 5)
    x = _f64([[1.0, 2.0, 2.0, 3.0, 3.0], [5.0, 5.0, 4.0, 4.0, 4.0]], device)
    r = mg.mode(x)
    assert r.values.tolist() == [2.0, 4.0] and r.indices.tolist() == [2, 4]
    r.values.backward(_t([1.0, 2.0], device, dtype=mg.float64))
    assert x.grad.tolist() == [[0, 0, 1, 0, 0], [0, 0, 0, 0, 2]]
    r = mg.mode(_t([[1, 2], [1, 3]], device), dim=0, keepdim=True)
    assert r.values.tolist() == [[1, 2]] and r.indices.tolist() == [[1, 0]]
    assert mg.mode(_t(5.0, device)).values.item() == 5.0
    assert mg.mode(_t([NAN, 1.0, NAN], device)).indices.item() == 2     # NaNs as one value
    assert mg.mode(_t([True, False, True], device)).values.item() is True

    assert mg.nanmedian(_t([1.0, NAN, 3.0, 2.0], device)).item() == 2.0
    assert mg.nanmedian(_t([4.0, NAN, 1.0, 3.0], device)).item() == 3.0   # lower median
    assert math.isnan(mg.nanmedian(_t([NAN, NAN], device)).item())
    assert math.isnan(mg.nanmedian(_t([], device)).item())
    v, i = _t([[NAN, NAN, NAN], [1.0, NAN, 2.0]], device).nanmedian(1)
    assert math.isnan(v.tolist()[0]) and v.tolist()[1] == 1.0 and i.tolist() == [0, 0]
    assert mg.nanmedian(_t([3, 1, 2], device)).item() == 2
    x = _f64([[1.0, NAN, 3.0, 2.0]], device)
    mg.nanmedian(x).backward()
    assert x.grad.tolist() == [[0.0, 0.0, 0.0, 1.0]]


def test_quantile_by_hand(device):
    x = _t([0.0, 1.0, 2.0, 3.0], device, dtype=mg.float64)
    q = _t([0.5, 0.25, 0.1, 0.9, 1 / 6], device, dtype=mg.float64)       # r = 3q
    expected = {"linear": [1.5, 0.75, 0.3, 2.7, 0.5], "lower": [1, 0, 0, 2, 0],
                "higher": [2, 1, 1, 3, 1], "midpoint": [1.5, 0.5, 0.5, 2.5, 0.5],
                "nearest": [2, 1, 0, 3, 0]}                              # r = 1.5, 0.5: to even
    for how, want in expected.items():
        assert_close(mg.quantile(x, q, interpolation=how), want, rtol=1e-15, atol=1e-15)
    assert_close(x.quantile(0.4), 1.2, rtol=1e-15)
    assert mg.quantile(_t([1.0, NAN, 3.0], device), 0.5).isnan().item()
    assert mg.nanquantile(_t([1.0, NAN, 3.0], device), 0.5).item() == 2.0
    r = mg.nanquantile(_t([[NAN, NAN], [1.0, 2.0]], device, dtype=mg.float64), 0.3, dim=1)
    assert math.isnan(r.tolist()[0]) and r.tolist()[1] == pytest.approx(1.3)
    m = _t([[0.0, 1.0], [2.0, 3.0]], device)
    assert mg.quantile(m, _t([0.5, 1.0], device), dim=1, keepdim=True).shape == (2, 2, 1)
    assert mg.quantile(m, 0.5, keepdim=True).shape == (1, 1)
    assert mg.quantile(m, _t([0.5], device), keepdim=True).shape == (1, 1, 1)
    assert mg.quantile(m, _t(0.5, device)).shape == ()
    assert mg.quantile(m, _t([0.0, 1.0], device), dim=0).tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert mg.quantile(_t(3.0, device), 0.5).item() == 3.0
    # the gradient goes to the two neighbours: (1 − w) and w
    x = _f64([[3.0, 1.0, 2.0, 5.0]], device)
    mg.quantile(x, 0.3, dim=1).backward(_t([1.0], device, dtype=mg.float64))
    assert_close(x.grad, [[0.0, 0.1, 0.9, 0.0]], rtol=1e-12, atol=1e-15)  # r = 0.9: 1 and 2


def test_cov_corrcoef_renorm_by_hand(device):
    x = _t([[0.0, 1.0, 2.0], [2.0, 1.0, 0.5]], device, dtype=mg.float64)
    assert_close(mg.cov(x), [[1.0, -0.75], [-0.75, 7 / 12]], rtol=1e-15)
    assert_close(x[0].cov(), 1.0, rtol=1e-15) and x[0].cov().shape == ()
    assert mg.cov(x[:1]).shape == ()
    fw = _t([1, 2, 1], device)
    aw = _t([0.5, 1.0, 2.0], device, dtype=mg.float64)
    data = x.cpu().numpy() if device == "cpu" else x.cpu().numpy()
    for kw in ({"fweights": fw}, {"aweights": aw}, {"fweights": fw, "aweights": aw}):
        for correction in (0, 1, 2):
            ref = np.cov(data, ddof=correction, **{k: v.cpu().numpy() for k, v in kw.items()})
            assert_close(mg.cov(x, correction=correction, **kw), ref, rtol=1e-13)
    assert mg.cov(_t([[1, 2, 4], [1, 0, 0]], device)).dtype == mg.float32   # integers: float32
    with pytest.warns(RuntimeWarning, match="degrees of freedom"):
        assert math.isnan(mg.cov(_t([1.0], device)).item())
    assert_close(mg.corrcoef(x), np.corrcoef(data), rtol=1e-14)
    assert x.corrcoef().tolist()[0][0] == 1.0
    assert mg.corrcoef(_t([1.0, 2.0, 4.0], device)).item() == 1.0
    flat = mg.corrcoef(_t([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]], device))
    assert np.isnan(flat.tolist()[0]).all() and flat.tolist()[1][1] == 1.0

    m = _t([[3.0, 4.0], [0.3, 0.4]], device, dtype=mg.float64)
    assert_close(mg.renorm(m, 2, 0, 1.0), [[3 / (5 + 1e-7), 4 / (5 + 1e-7)], [0.3, 0.4]],
                 rtol=1e-15)
    assert_close(m.renorm(1, 1, 3.0), [[3 * 3 / (3.3 + 1e-7), 3.0 * 4 / (4.4 + 1e-7)],
                                       [0.3 * 3 / (3.3 + 1e-7), 0.4 * 3 / (4.4 + 1e-7)]],
                 rtol=1e-15)
    assert_close(mg.renorm(m, math.inf, 0, 2.0), [[1.5 / (1 + 2.5e-8), 2 / (1 + 2.5e-8)],
                                                  [0.3, 0.4]], rtol=1e-15)


def test_unique_consecutive_by_hand(device):
    x = _t([1, 1, 2, 2, 3, 1, 1, 2], device)
    assert mg.unique_consecutive(x).tolist() == [1, 2, 3, 1, 2]
    v, inv, cnt = x.unique_consecutive(return_inverse=True, return_counts=True)
    assert inv.tolist() == [0, 0, 1, 1, 2, 3, 3, 4] and cnt.tolist() == [2, 2, 1, 2, 1]
    m = _t([[1, 1], [1, 1], [2, 3], [1, 1]], device)
    v, inv, cnt = mg.unique_consecutive(m, True, True, dim=0)
    assert v.tolist() == [[1, 1], [2, 3], [1, 1]]
    assert inv.tolist() == [0, 0, 1, 2] and cnt.tolist() == [2, 1, 1]
    v, inv = mg.unique_consecutive(_t([[1, 1], [2, 2]], device), return_inverse=True)
    assert v.tolist() == [1, 2] and inv.tolist() == [[0, 0], [1, 1]]
    v, cnt = mg.unique_consecutive(_t([[1, 1, 2], [1, 1, 3]], device), dim=1,
                                   return_counts=True)
    assert v.tolist() == [[1, 2], [1, 3]] and cnt.tolist() == [2, 1]
    nan = mg.unique_consecutive(_t([1.0, NAN, NAN], device))
    assert len(nan.tolist()) == 3                                 # NaN never equals NaN
    assert mg.unique_consecutive(_t(5, device)).tolist() == [5]
    e = mg.unique_consecutive(_t([], device, dtype=mg.int64), return_inverse=True,
                              return_counts=True)
    assert [t.tolist() for t in e] == [[], [], []]


# ------------------------------------------------------------------ errors


def test_bad_arguments_get_clear_errors():
    f, i = mg.tensor([1.0, 2.0]), mg.tensor([1, 2])
    with pytest.raises(TypeError, match="bitwise_and: expects integer or bool tensors, got "
                                        "float32"):
        mg.bitwise_and(f, i)
    with pytest.raises(TypeError, match="bitwise_or: expects integer or bool"):
        mg.bitwise_or(i, 2.5)
    with pytest.raises(TypeError, match="bitwise_not: expects integer or bool"):
        ~mg.bitwise_not(f)
    with pytest.raises(TypeError, match="bitwise_left_shift: expects integer tensors, got bool"):
        mg.bitwise_left_shift(mg.tensor([True]), mg.tensor([True]))
    assert mg.bitwise_left_shift(mg.tensor([True]), 1).tolist() == [2]   # bool and int: int
    with pytest.raises(TypeError, match="bitwise_right_shift: expects integer tensors"):
        f >> 1
    with pytest.raises(TypeError, match="gcd: expects integer tensors, got float32"):
        mg.gcd(f, i)
    with pytest.raises(TypeError, match="lcm: expects integer tensors, got bool"):
        mg.lcm(mg.tensor([True]), mg.tensor([True]))
    with pytest.raises(ValueError, match=r"bitwise_xor: shapes do not broadcast"):
        mg.bitwise_xor(i, mg.tensor([1, 2, 3]))
    with pytest.raises(TypeError, match="input or other must be a Tensor"):
        mg.gcd(4, 6)
    with pytest.raises(ZeroDivisionError, match="fmod: integer division by zero"):
        mg.fmod(i, 0)
    with pytest.raises(TypeError, match="frexp: input must be a floating-point tensor, got "
                                        "int64"):
        mg.frexp(i)
    with pytest.raises(TypeError, match="nextafter: expects floating-point tensors"):
        mg.nextafter(i, i)
    with pytest.raises(TypeError, match="igamma: expects floating-point tensors"):
        mg.igamma(i, i)
    with pytest.raises(TypeError, match="igammac: expects floating-point tensors"):
        mg.igammac(i, mg.tensor([True, False]))
    # an integer tensor beside a floating one promotes, as in PyTorch
    assert mg.nextafter(f, i).dtype == mg.igamma(i, f).dtype == mg.float32
    with pytest.raises(TypeError, match="positive: the unary \\+ is not supported on bool"):
        mg.positive(mg.tensor([True]))
    with pytest.raises(RuntimeError, match="is_nonzero: .* more than one value"):
        f.is_nonzero()
    with pytest.raises(RuntimeError, match="is_nonzero: .* no values"):
        mg.is_nonzero(mg.tensor([]))
    with pytest.raises(TypeError, match="is_same_size: other must be a Tensor"):
        mg.is_same_size(f, 3)
    with pytest.raises(TypeError, match="dist: input must be a floating-point tensor"):
        mg.dist(i, i)
    with pytest.raises(ValueError, match="dist: shapes do not broadcast"):
        mg.dist(f, mg.zeros(3))


def test_bad_statistics_arguments_get_clear_errors():
    f, i = mg.tensor([1.0, 2.0]), mg.tensor([1, 2])
    with pytest.raises(TypeError, match="bincount: expects a tensor of non-negative integers, "
                                        "got float32"):
        mg.bincount(f)
    with pytest.raises(TypeError, match="bincount: .* got bool"):
        mg.bincount(mg.tensor([True]))
    with pytest.raises(ValueError, match="bincount: expects a 1-d tensor, got shape"):
        mg.bincount(mg.tensor([[1]]))
    with pytest.raises(ValueError, match="bincount: values must be non-negative, got -1"):
        mg.bincount(mg.tensor([2, -1]))
    with pytest.raises(ValueError, match="bincount: minlength must be a non-negative int"):
        mg.bincount(i, minlength=-1)
    with pytest.raises(ValueError, match="bincount: weights must be 1-d with one weight"):
        mg.bincount(i, weights=mg.tensor([1.0]))
    with pytest.raises(TypeError, match="histc: input must be a floating-point tensor"):
        mg.histc(i)
    with pytest.raises(ValueError, match="histc: bins must be a positive int, got 0"):
        mg.histc(f, bins=0)
    with pytest.raises(ValueError, match="histc: max must be larger than min"):
        mg.histc(f, bins=4, min=3, max=1)
    with pytest.raises(ValueError, match=r"histc: the range \[1.0, inf\] is not finite"):
        mg.histc(mg.tensor([1.0, math.inf]))
    with pytest.raises(ValueError, match="histc: the range .* is not finite"):
        mg.histc(mg.tensor([1.0, NAN]))
    with pytest.raises(ValueError, match="histogram: bins must be a positive int, got -1"):
        mg.histogram(f, -1)
    with pytest.raises(ValueError, match="histogram: min should not exceed max"):
        mg.histogram(f, 2, range=(3.0, 1.0))
    with pytest.raises(ValueError, match="histogram: bin edges must increase monotonically"):
        mg.histogram(f, mg.tensor([2.0, 1.0]))
    with pytest.raises(TypeError, match="histogram: bin edges must have the input's dtype"):
        mg.histogram(f, mg.tensor([1.0, 2.0], dtype=mg.float64))
    with pytest.raises(ValueError, match="histogram: weight must have the input's shape"):
        mg.histogram(f, 2, weight=mg.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(TypeError, match="histogram: input must be a floating-point"):
        mg.histogram(i, 2)
    with pytest.raises(ValueError, match="mode: cannot reduce over an empty dim"):
        mg.mode(mg.zeros(2, 0))
    with pytest.raises(IndexError, match="mode: dim 2 is out of range"):
        mg.mode(f, 2)
    with pytest.raises(IndexError, match="nanmedian: dim -2 is out of range"):
        mg.nanmedian(f, -2)
    with pytest.raises(TypeError, match="quantile: input must be float32 or float64, got int64"):
        mg.quantile(i, 0.5)
    with pytest.raises(ValueError, match=r"quantile: q must be in the range \[0, 1\], got 1.5"):
        mg.quantile(f, 1.5)
    with pytest.raises(ValueError, match=r"nanquantile: q values must be in the range"):
        mg.nanquantile(f, mg.tensor([0.5, -0.1]))
    with pytest.raises(ValueError, match="quantile: q must be a number or a 0-d or 1-d tensor"):
        mg.quantile(f, mg.tensor([[0.5]]))
    with pytest.raises(TypeError, match="quantile: q must have the input's dtype float32"):
        mg.quantile(f, mg.tensor([0.5], dtype=mg.float64))
    with pytest.raises(ValueError, match="quantile: input must be non-empty"):
        mg.quantile(mg.tensor([]), 0.5)
    with pytest.raises(ValueError, match="quantile: interpolation must be one of linear"):
        mg.quantile(f, 0.5, interpolation="foo")
    with pytest.raises(IndexError, match="quantile: dim 1 is out of range"):
        mg.quantile(f, 0.5, dim=1)
    with pytest.raises(ValueError, match="cov: expects a 1-d or 2-d input"):
        mg.cov(mg.zeros(1, 1, 1))
    with pytest.raises(TypeError, match="cov: fweights must have an integer dtype"):
        mg.cov(f, fweights=mg.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="cov: fweights cannot be negative"):
        mg.cov(f, fweights=mg.tensor([-1, 2]))
    with pytest.raises(TypeError, match="cov: aweights must have a floating dtype"):
        mg.cov(f, aweights=i)
    with pytest.raises(ValueError, match="cov: aweights cannot be negative"):
        mg.cov(f, aweights=mg.tensor([NAN, 1.0]))
    with pytest.raises(ValueError, match=r"cov: aweights must have one entry per observation"):
        mg.cov(f, aweights=mg.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="cov: the weights sum to zero"):
        mg.cov(f, fweights=mg.tensor([0, 0]))
    with pytest.raises(TypeError, match="cov: bool input is not supported"):
        mg.cov(mg.tensor([True, False]))
    with pytest.raises(ValueError, match="corrcoef: expects a 1-d or 2-d input"):
        mg.corrcoef(mg.zeros(1, 1, 1))
    with pytest.raises(ValueError, match="renorm: input needs at least 2 dims"):
        mg.renorm(f, 2, 0, 1.0)
    with pytest.raises(ValueError, match="renorm: p must be positive, got 0"):
        mg.renorm(f.reshape(1, 2), 0, 0, 1.0)
    with pytest.raises(ValueError, match="renorm: maxnorm must be >= 0"):
        mg.renorm(f.reshape(1, 2), 2, 0, -1.0)
    with pytest.raises(TypeError, match="renorm: input must be a floating-point tensor"):
        mg.renorm(i.reshape(1, 2), 2, 0, 1.0)
    with pytest.raises(IndexError, match="renorm: dim 2 is out of range"):
        mg.renorm(f.reshape(1, 2), 2, 2, 1.0)
    with pytest.raises(IndexError, match="unique_consecutive: dim 1 is out of range"):
        mg.unique_consecutive(f, dim=1)


# ------------------------------------------------------------------ gradients


@given(data=st.data())
def test_gradcheck_of_the_elementwise_functions(data, device):
    shape = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple))
    a, b = data.draw(arrays(shape=(2,) + shape, unique=True))   # no ties for fmax/fmin
    holes = mg.tensor(data.draw(arrays(shape=a.shape)) > 1.5, device=device)

    def nan_free_fmax(s, t):                          # a NaN in b sends the gradient to a
        return mg.fmax(s, mg.where(holes, NAN, t)) + mg.fmin(t, s) * 2
    _gradcheck(nan_free_fmax, a, b, device=device)
    divisor = data.draw(arrays(shape=a.shape, min_value=0.5, max_value=2.0))
    near = np.abs(a / divisor - np.round(a / divisor)) < 1e-2    # fmod jumps at a = k·b:
    dividend = np.where(near, a + divisor / 4, a)                # moved a quarter away
    _gradcheck(lambda s, t: mg.fmod(s, t), dividend, divisor, device=device)
    m = data.draw(arrays(shape=a.shape, avoid=(0.0,)))           # the mantissa jumps at 0
    near = np.abs(np.log2(np.abs(m)) - np.round(np.log2(np.abs(m)))) < 1e-2   # and at ±2ᵏ
    m = np.where(near, m * 1.3, m)
    _gradcheck(lambda s, t: mg.frexp(s).mantissa * mg.ldexp(s, t), m, b, device=device)


@given(data=st.data())
def test_gradcheck_of_the_bessel_and_incomplete_gamma_functions(data, device):
    x = data.draw(arrays(min_dims=1, max_dims=2, max_side=4, min_value=-12.0, max_value=12.0,
                         avoid=(0.0,), margin=1e-2))
    _gradcheck(mg.i0, x, device=device)
    _gradcheck(mg.special.i1, x, device=device)
    _gradcheck(mg.special.i0e, x, device=device)     # (a kink at 0: kept away from)
    _gradcheck(mg.special.i1e, x, device=device)
    z = data.draw(arrays(shape=x.shape, min_value=0.05, max_value=12.0))
    a = mg.tensor(data.draw(arrays(shape=x.shape[-1:], min_value=0.3, max_value=6.0)),
                  device=device)
    _gradcheck(lambda t: mg.igamma(a, t) * 3 + mg.special.gammaincc(a, t), z, device=device)


@given(data=st.data())
def test_gradcheck_of_the_order_statistics(data, device):
    x = data.draw(arrays(min_dims=1, max_dims=3, max_side=4, unique=True))
    d = data.draw(st.integers(-x.ndim, x.ndim - 1))
    qs = data.draw(st.lists(st.floats(0, 1), min_size=1, max_size=3))
    how = data.draw(st.sampled_from(["linear", "lower", "higher", "midpoint", "nearest"]))
    keep = data.draw(st.booleans())
    q = mg.tensor(np.asarray(qs), device=device)
    _gradcheck(lambda t: mg.quantile(t, q, dim=d, keepdim=keep, interpolation=how), x,
               device=device)
    _gradcheck(lambda t: mg.quantile(t, qs[0], interpolation=how), x, device=device)
    holes = x.copy()
    holes.reshape(-1)[::3] = np.nan
    nan_mask = mg.tensor(np.isnan(holes), device=device)

    def with_nans(t):  # the NaNs are constants: the gradient is checked where it exists
        return mg.where(nan_mask, NAN, t)
    _gradcheck(lambda t: mg.nanquantile(with_nans(t), q, dim=d, interpolation=how)
               .nan_to_num(0.0), x, device=device)
    _gradcheck(lambda t: mg.nanmedian(with_nans(t), d).values.nan_to_num(0.0), x,
               device=device)
    _gradcheck(lambda t: mg.msort(t) * 2, x, device=device)
    # distinct values (a tie would move under the finite differences): each occurs once,
    # so the mode is the smallest; the by-hand test checks the pick among repeats
    _gradcheck(lambda t: mg.mode(t, d).values, x, device=device)


@given(data=st.data())
def test_gradcheck_of_cov_corrcoef_renorm_dist(data, device):
    v = data.draw(st.integers(1, 3))
    n = data.draw(st.integers(3, 5))
    x = data.draw(arrays(shape=(v, n)))
    aw = data.draw(arrays(shape=(n,), min_value=0.2, max_value=2.0))
    fw = mg.tensor(np.asarray(data.draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))),
                   device=device)
    correction = data.draw(st.integers(0, 1))
    _gradcheck(lambda t, w: mg.cov(t, correction=correction, fweights=fw, aweights=w), x, aw,
               device=device)
    _gradcheck(lambda t: mg.cov(t[0]), x, device=device)
    assume(np.all(x.std(axis=1) > 1e-2))
    r = np.corrcoef(x) if v > 1 else np.ones((1, 1))
    assume(np.all(np.abs(r - np.eye(v)) < 0.99))      # inside the clip to [−1, 1]
    _gradcheck(mg.corrcoef, x, device=device)
    y = data.draw(arrays(min_dims=2, max_dims=3, max_side=4, avoid=(0.0,)))  # |x|^1.5 at 0
    d = data.draw(st.integers(0, y.ndim - 1))
    p = data.draw(st.sampled_from([1.5, 2, 3]))
    maxnorm = data.draw(st.floats(0.5, 3.0))
    norms = (np.abs(np.moveaxis(y, d, 0).reshape(y.shape[d], -1)) ** p).sum(1) ** (1 / p)
    assume(np.all(np.abs(norms - maxnorm) > 1e-3))     # away from renorm's switch
    _gradcheck(lambda t: mg.renorm(t, p, d, maxnorm), y, device=device)
    other = data.draw(arrays(shape=y.shape[-1:]))
    # each |difference| away from 0 (|d|^p has a kink or a cusp there for p ≤ 2), and the
    # norm not tiny: the k-th derivatives of a norm grow like 1/normᵏ, and with them the
    # error of the central differences
    assume(np.all(np.abs(y - other) > 1e-3) and np.abs(y - other).max() > 0.1)
    _gradcheck(lambda s, t: mg.dist(s, t, p), y, other, device=device)


@given(data=st.data())
def test_gradcheck_of_weighted_bincount(data, device):
    k = data.draw(st.integers(0, 6))
    index = mg.tensor(np.asarray(data.draw(st.lists(st.integers(0, 4), min_size=k,
                                                    max_size=k)), dtype=np.int64),
                      device=device)
    w = data.draw(arrays(shape=(k,)))
    _gradcheck(lambda t: mg.bincount(index, t, minlength=2), w, device=device)


# ------------------------------------------------------------------ PyTorch and SciPy as oracles


def test_values_and_gradients_equal_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 5))
    b = rng.standard_normal(5)
    a[0, 1], b[3], a[1, 2] = np.nan, np.nan, b[2]      # NaNs and a tie for fmax/fmin
    c = np.nan_to_num(a)
    ints = np.round(rng.standard_normal((6, 4)))
    w = np.abs(np.nan_to_num(b)) + 0.1
    cases = [
        (lambda m, x, y: m.fmax(x, y) + m.fmin(y, x), a, b),
        (lambda m, x, y: m.fmod(x * 3, y.abs() + 0.5), c, np.nan_to_num(b)),
        (lambda m, x: m.frexp(x * 100)[0], a),
        (lambda m, x, y: m.ldexp(x, y), a, b),
        (lambda m, x: m.i0(x * 5) + m.special.i0e(x * 5), a),
        (lambda m, x: m.special.i1(x * 5) * m.special.i1e(x), c),
        (lambda m, x: m.igamma(m.tensor(w * 3), x.abs() * 4), a),
        (lambda m, x: m.special.gammaincc(m.tensor(w * 3), x.abs() * 4), a),
        (lambda m, x: m.quantile(x, m.tensor([0.1, 0.5, 0.77], dtype=m.float64), dim=1,
                                 keepdim=True), c),
        (lambda m, x: m.quantile(x, 0.3, dim=1), a),
        (lambda m, x: m.nanquantile(x, m.tensor([0.0, 0.5, 1.0], dtype=m.float64), dim=0), a),
        (lambda m, x: m.quantile(x, m.tensor([0.125, 0.375, 0.625, 0.875], dtype=m.float64),
                                 interpolation="nearest"), c[:2, :4]),
        (lambda m, x: m.nanquantile(x, 0.4, interpolation="midpoint"), a),
        (lambda m, x: m.quantile(x, 0.4, dim=0, interpolation="lower"), c),
        (lambda m, x: m.quantile(x, 0.4, dim=0, interpolation="higher", keepdim=True), c),
        (lambda m, x: m.nanmedian(x, dim=1).values + m.nanmedian(x), a),
        (lambda m, x: m.mode(x, 0).values, ints),
        (lambda m, x: m.cov(x), c),
        (lambda m, x, y: m.cov(x, correction=2, fweights=m.tensor([1, 2, 0, 3, 1]), aweights=y),
         c, w),
        (lambda m, x, y: m.cov(x[1], aweights=y), c, w),
        (lambda m, x: m.corrcoef(x), rng.standard_normal((3, 6))),
        (lambda m, x: m.renorm(x, 3, 1, 1.0), rng.standard_normal((2, 3, 4))),
        (lambda m, x: m.renorm(x, float("inf"), 0, 0.9), rng.standard_normal((3, 4))),
        (lambda m, x, y: m.dist(x, y, 3.5) + m.dist(x, y), c, np.nan_to_num(b)),
        (lambda m, x: m.msort(x) + x.ravel().reshape(3, 5), c),
    ]
    if not before_2_14(torch):
        # PyTorch 2.14 gives fmax's and fmin's gradient to both inputs where one is NaN;
        # minigrad (and PyTorch 2.13) to the other one, the value y is: PyTorch's own ops
        # as that rule, fmax's tie split evenly as both do since 2.14
        def nan_to_other(f):
            return lambda a, b: torch.where(a.isnan(), b, torch.where(b.isnan(), a, f(a, b)))

        fmax, fmin = nan_to_other(torch.fmax), nan_to_other(torch.fmin)
        cases[0] = (lambda m, x, y: (m.fmax(x, y) + m.fmin(y, x)) if m is mg else
                    (fmax(x, y) + fmin(y, x)), a, b)
    for k, (fn, *data) in enumerate(cases):
        xs = [mg.tensor(v, requires_grad=True) for v in data]
        ts = [torch.tensor(v, requires_grad=True) for v in data]
        y, yt = fn(mg, *xs), fn(torch, *ts)
        assert_close(y, yt.detach().cpu().numpy(), rtol=1e-12, atol=1e-13, msg=f"case {k}")
        g = rng.standard_normal(yt.shape)
        y.backward(mg.tensor(g))
        yt.backward(torch.tensor(g))
        for x, t in zip(xs, ts):
            got = np.zeros(x.shape) if x.grad is None else x.grad.cpu().numpy()
            want = np.zeros(t.shape) if t.grad is None else t.grad.cpu().numpy()
            assert_close(got, want, rtol=1e-10, atol=1e-12, msg=f"gradient, case {k}")


def test_integer_and_histogram_results_equal_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    ia = rng.integers(-50, 50, (4, 6))
    ib = rng.integers(-5, 70, (6,))
    f = np.array([0.5, np.nan, -0.0, 2.0, -1.0, np.nan, 3.0])
    cases = [
        lambda m, x, y: m.bitwise_and(x, y) + m.bitwise_or(x, y) * 3 + (x ^ y),
        lambda m, x, y: m.bitwise_not(x) + ~y,
        lambda m, x, y: m.bitwise_left_shift(x, y) + (x >> y),
        lambda m, x, y: m.bitwise_left_shift(x.int(), y.int()),
        lambda m, x, y: m.bitwise_right_shift(x.to(m.int8), y.to(m.int8)),
        lambda m, x, y: m.bitwise_right_shift(x.abs().to(m.uint8), y.abs().to(m.uint8)),
        lambda m, x, y: m.gcd(x, y) + m.lcm(x, y),
        lambda m, x, y: m.fmod(x, y.abs() + 1),
        lambda m, x, y: m.signbit(x - 3) ^ m.signbit(-y.double()),
        lambda m, x, y: m.signbit(m.tensor(f)),
        lambda m, x, y: m.bincount(x.flatten().abs(), minlength=70),
        lambda m, x, y: m.bincount(y.abs(), weights=x[0].double()),
        lambda m, x, y: m.bincount(y.abs(), weights=x[0].float()),
        lambda m, x, y: m.bincount(y.abs(), weights=x[0]),
        lambda m, x, y: m.histc(x.float(), bins=7),
        lambda m, x, y: m.histc(x.double() / 3, bins=5, min=-10, max=10),
        lambda m, x, y: m.histogram(x.float(), bins=7)[0],
        lambda m, x, y: m.histogram(x.double(), bins=m.tensor([-40.0, -3, 0, 10, 49],
                                                              dtype=m.float64),
                                    weight=x.double().abs(), density=True)[0],
        lambda m, x, y: m.unique_consecutive(x // 20, return_inverse=True,
                                             return_counts=True)[1],
        lambda m, x, y: m.unique_consecutive(x // 20, return_counts=True)[1],
        lambda m, x, y: m.unique_consecutive((x // 40).T.repeat_interleave(2, dim=1), dim=1,
                                             return_counts=True)[0],
        lambda m, x, y: m.mode(x // 20, 1).indices,
        lambda m, x, y: m.mode(x // 20, 0, keepdim=True).values,
        lambda m, x, y: m.nanmedian(m.where(x > 20, float("nan"), x.double()), 1).indices,
        lambda m, x, y: m.nextafter(x.double(), y.double()),
    ]
    for k, fn in enumerate(cases):
        ours = fn(mg, mg.tensor(ia), mg.tensor(ib))
        theirs = fn(torch, torch.tensor(ia), torch.tensor(ib))
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), f"case {k}"
        assert np.array_equal(np.asarray(ours.tolist(), dtype=float), theirs.double().numpy(),
                              equal_nan=True), f"case {k}"
    # edges of equal bins: PyTorch's vectorized linspace rounds the inner edges by CPU
    # type, so within a few ulp; the counts agree exactly
    for dtype in (np.float32, np.float64):
        for lo, width, n in ((-1.3, 4.0, 7), (10.0, 0.1, 19), (0.0, 1e3, 37)):
            x = (lo + width * rng.random(200)).astype(dtype)
            ours = mg.histogram(mg.tensor(x), n)
            theirs = torch.histogram(torch.tensor(x), n)
            assert_close(ours.bin_edges, theirs.bin_edges.numpy(), rtol=4 * np.finfo(dtype).eps)
            assert ours.hist.tolist() == theirs.hist.tolist()
            assert mg.histc(mg.tensor(x), n).tolist() == torch.histc(torch.tensor(x), n).tolist()


def test_special_functions_equal_scipy():
    sp = pytest.importorskip("scipy.special")
    x = np.concatenate([np.linspace(-30, 30, 1201), [7.999, 8.0, 8.001, 700.0, -700.0]])
    t = mg.tensor(x)
    for ours, theirs in ((mg.i0, sp.i0), (mg.special.i0e, sp.i0e), (mg.special.i1, sp.i1),
                         (mg.special.i1e, sp.i1e)):
        assert_close(ours(t), theirs(x), rtol=1e-15, msg=ours.__name__)
    rng = np.random.default_rng(2)
    a = np.exp(rng.uniform(np.log(0.05), np.log(150.0), 4000))
    z = a * np.exp(rng.normal(0, 0.7, a.shape))
    z[::7] = rng.uniform(0, 2, z[::7].shape)
    for ours, theirs in ((mg.special.gammainc, sp.gammainc),
                         (mg.special.gammaincc, sp.gammaincc)):
        got = ours(mg.tensor(a), mg.tensor(z)).cpu().numpy()
        want = theirs(a, z)
        tiny = want < 1e-280                       # subnormal or nearly: absolute only
        assert_close(got[~tiny], want[~tiny], rtol=5e-13, msg=ours.__name__)
        assert_close(got[tiny], want[tiny], atol=1e-290)
