"""Inverse trigonometric, hyperbolic and special functions, the two-operand functions
(atan2, hypot, logaddexp, logaddexp2, xlogy, copysign, heaviside) and PyTorch's named
compositions (lerp, addcmul, addcdiv, float_power, true_divide, deg2rad, rad2deg), worked
out by hand: quadrants and signed zeros, infinities, the points where a formula would give
0/0, dtypes, broadcasting and errors.

The tests at the end ask PyTorch itself, when it is installed; each fetches it with
``pytest.importorskip`` inside the test, so the rest of the file runs without it. The
random inputs of op_specs.py (gradcheck, gradgradcheck) cover the same ops too.
"""
import decimal
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.testing import assert_close

# NumPy's floating-point warnings (RuntimeWarning) would mean an op leaked one.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

INF, NAN = math.inf, math.nan
PI = math.pi


def _t(values, device="cpu", dtype=mg.float64, requires_grad=False):
    return mg.tensor(values, dtype=dtype, device=device, requires_grad=requires_grad)


def _grads(f, *values, device="cpu", gy=None):
    """The gradients of sum(gy·f(x, ...)) for float64 leaves made from ``values``."""
    xs = [_t(v, device, requires_grad=True) for v in values]
    y = f(*xs)
    y.backward(mg.ones_like(y) if gy is None else _t(gy, device))
    return [x.grad for x in xs]


def _second(f, x, device="cpu"):
    """d²f/dx² elementwise (f elementwise), by differentiating the gradient."""
    x = _t(x, device, requires_grad=True)
    (g,) = mg.autograd.grad(f(x).sum(), [x], create_graph=True)
    (gg,) = mg.autograd.grad(g.sum(), [x])
    return gg


def _signbits(t):
    return np.signbit(t.cpu().numpy()).tolist()


# --------------------------------------------------------------------- one operand


@pytest.mark.parametrize("name, x, expected", [
    ("sinh", [0.0, 1.0, -2.0], [0.0, math.sinh(1), math.sinh(-2)]),
    ("cosh", [0.0, 1.0, -2.0], [1.0, math.cosh(1), math.cosh(2)]),
    ("asin", [0.0, 0.5, -1.0, 1.0], [0.0, PI / 6, -PI / 2, PI / 2]),
    ("acos", [1.0, 0.5, -1.0, 0.0], [0.0, PI / 3, PI, PI / 2]),
    ("atan", [0.0, 1.0, -1.0, INF, -INF], [0.0, PI / 4, -PI / 4, PI / 2, -PI / 2]),
    ("asinh", [0.0, 1.0, -1e300], [0.0, math.log(1 + math.sqrt(2)), -math.asinh(1e300)]),
    ("acosh", [1.0, 2.0, INF], [0.0, math.log(2 + math.sqrt(3)), INF]),
    ("atanh", [0.0, 0.5, 1.0, -1.0], [0.0, 0.5 * math.log(3), INF, -INF]),
    ("erfc", [0.0, -INF, INF, 1.0, -1.0], [1.0, 2.0, 0.0, math.erfc(1), math.erfc(-1)]),
    ("erfinv", [0.0, 1.0, -1.0, 0.5], [0.0, INF, -INF, 0.4769362762044699]),
    ("sinc", [0.0, 0.5, -0.5, 1.5], [1.0, 2 / PI, 2 / PI, -2 / (3 * PI)]),
    ("deg2rad", [180.0, -90.0, 0.0], [PI, -PI / 2, 0.0]),
    ("rad2deg", [PI, -PI / 2, 0.0], [180.0, -90.0, 0.0]),
])
def test_values(name, x, expected, device):
    x = _t(x, device)
    assert_close(getattr(x, name)(), np.array(expected), rtol=1e-15, atol=1e-300)
    assert_close(getattr(mg, name)(x), np.array(expected), rtol=1e-15, atol=1e-300)


@pytest.mark.parametrize("name, x", [
    ("asin", [1.5, -1.01]), ("acos", [2.0, -INF]), ("acosh", [0.5, -1.0]),
    ("atanh", [1.5, -2.0]), ("erfinv", [1.0000001, -3.0, INF]), ("logit", [-0.5, 1.5]),
    ("sinc", [INF, -INF]),
])
def test_out_of_domain_is_nan_without_a_warning(name, x, device):
    y = getattr(_t(x, device), name)()
    assert np.isnan(y.cpu().numpy()).all()


@pytest.mark.parametrize("name", ["sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh",
                                  "atanh", "erfc", "erfinv", "logit", "sinc"])
def test_nan_stays_nan(name, device):
    assert np.isnan(getattr(_t([NAN], device), name)().cpu().numpy()).all()


def test_signed_zeros_are_kept(device):
    z = _t([-0.0], device)
    for name in ("sinh", "asin", "atan", "asinh", "atanh", "erfinv", "deg2rad"):
        assert _signbits(getattr(z, name)()) == [True], name


@pytest.mark.parametrize("name, derivative", [
    ("sinh", math.cosh), ("cosh", math.sinh), ("atan", lambda x: 1 / (1 + x * x)),
    ("asinh", lambda x: 1 / math.sqrt(x * x + 1)),
    ("asin", lambda x: 1 / math.sqrt(1 - x * x)),
    ("acos", lambda x: -1 / math.sqrt(1 - x * x)),
    ("atanh", lambda x: 1 / (1 - x * x)),
    ("erfc", lambda x: -2 / math.sqrt(PI) * math.exp(-x * x)),
])
def test_gradients_by_hand(name, derivative, device):
    x = [-0.7, -0.2, 0.0, 0.3, 0.9]
    (g,) = _grads(lambda t: getattr(t, name)(), x, device=device)
    assert_close(g, np.array([derivative(v) for v in x]), rtol=1e-14)


def test_acosh_gradient_is_infinite_at_1_and_finite_above(device):
    (g,) = _grads(lambda t: t.acosh(), [1.0, 2.0], device=device)
    assert_close(g, np.array([INF, 1 / math.sqrt(3)]), rtol=1e-15)


def test_asin_gradient_near_1_keeps_its_digits(device):
    """(1 − x)(1 + x), not 1 − x²: at x = 1 − 2⁻³⁰, 1/√(1 − x²) to full precision."""
    x = 1 - 2.0 ** -30
    (g,) = _grads(lambda t: t.asin(), [x], device=device)
    exact = 1 / math.sqrt((1 - x) * (1 + x))  # 1 − x is exact here
    assert_close(g, np.array([exact]), rtol=2e-16)


# ----------------------------------------------------------------- erfc and erfinv


def test_erfc_keeps_its_digits_in_the_tail(device):
    """erfc(10) = 2.088e-45, where 1 − erf(10) is 0; within a few ulp of libm's erfc over
    [−6, 27] (erfc(27) is a subnormal)."""
    x = np.linspace(-6.0, 27.0, 3301)
    y = _t(x, device).erfc().cpu().numpy()
    expected = np.array([math.erfc(v) for v in x])
    normal = expected > 1e-300
    ulps = np.abs(y - expected)[normal] / np.spacing(expected[normal])
    assert ulps.max() <= 8
    assert y[-1] > 0 and _t([28.0, 40.0, 1e300], device).erfc().tolist() == [0.0, 0.0, 0.0]
    assert_close(_t([10.0], device).erfc(), np.array([2.0884875837625447e-45]), rtol=1e-15)


def test_erfc_is_one_minus_erf_near_zero(device):
    # (no cancellation there: 1 − erf x is within an ulp; the CPU's erfc is C's, the GPU's
    # Cody's, which takes 1 − erf x itself)
    x = _t(np.linspace(-0.46875, 0.46875, 101), device)
    assert_close(x.erfc(), 1 - x.erf().cpu().numpy(), rtol=2.3e-16, atol=0)


def test_erfinv_inverts_erf(device):
    x = np.linspace(-1.0, 1.0, 201)
    y = _t(x, device).erf().erfinv()
    assert_close(y, x, rtol=1e-14, atol=1e-300)


def test_erfinv_in_the_tail_inverts_erfc(device):
    """Near 1 the result is found through erfc(t) = 1 − y, which keeps its digits:
    erfc(erfinv(1 − q)) = q down to q = 2⁻⁵³."""
    q = 2.0 ** -np.arange(4, 54)
    t = _t(1 - q, device).erfinv()
    assert_close(t.erfc(), q, rtol=1e-13)
    assert_close(_t(q - 1, device).erfinv(), -t.cpu().numpy(), rtol=0)


def test_erfinv_is_accurate_to_a_few_ulp():
    special = pytest.importorskip("scipy.special")
    y = np.concatenate([np.linspace(-1, 1, 4001)[1:-1], 1 - np.logspace(-16, -1, 400),
                        np.logspace(-300, -1, 100)])
    got = _t(y).erfinv().cpu().numpy()
    expected = special.erfinv(y)
    assert (np.abs(got - expected) / np.spacing(np.abs(expected))).max() <= 6


def test_erfinv_gradient(device):
    (g,) = _grads(lambda t: t.erfinv(), [0.0, 0.5, 1.0], device=device)
    y = 0.4769362762044699
    assert_close(g, np.array([math.sqrt(PI) / 2, math.sqrt(PI) / 2 * math.exp(y * y), INF]),
                 rtol=1e-15)


# --------------------------------------------------------------------------- logit


def test_logit_values_and_infinities(device):
    x = _t([0.5, 0.0, 1.0, 0.25, -0.5, 1.5], device)
    assert_close(x.logit(), np.array([0.0, -INF, INF, -math.log(3), NAN, NAN]), rtol=1e-15)


def test_logit_eps_clamps_and_stops_the_gradient_outside(device):
    x = [-0.5, 0.05, 0.1, 0.5, 0.9, 0.95, 1.5]
    y = mg.logit(_t(x, device), eps=0.1)
    l9 = math.log(9)
    assert_close(y, np.array([-l9, -l9, -l9, 0.0, l9, l9, l9]), rtol=1e-15)
    (g,) = _grads(lambda t: t.logit(eps=0.1), x, device=device)
    # PyTorch: 1/(x(1 − x)) on [eps, 1 − eps], bounds included, 0 outside
    assert_close(g, np.array([0.0, 0.0, 1 / 0.09, 4.0, 1 / 0.09, 0.0, 0.0]), rtol=1e-14)


def test_logit_gradient_without_eps(device):
    (g,) = _grads(lambda t: t.logit(), [0.5, 0.0, 1.0, -0.5, 1.5], device=device)
    assert_close(g, np.array([4.0, INF, INF, NAN, NAN]), rtol=1e-15)


def test_logit_eps_zero_and_negative(device):
    x = [-0.5, 0.0, 0.5, 1.5]
    assert_close(mg.logit(_t(x, device), eps=0.0), np.array([-INF, -INF, 0.0, INF]))
    (g,) = _grads(lambda t: t.logit(eps=0.0), x, device=device)
    assert_close(g, np.array([0.0, INF, 4.0, 0.0]))  # 0 outside: no 0/0 at the clamp
    # a negative eps clamps nothing, as in PyTorch
    assert_close(mg.logit(_t(x, device), eps=-1.0), _t(x, device).logit())


def test_logit_eps_second_derivative_is_finite_outside(device):
    gg = _second(lambda t: t.logit(eps=0.1), [-0.5, 0.0, 0.3], device=device)
    d2 = (2 * 0.3 - 1) / (0.3 * 0.7) ** 2  # d/dx 1/(x(1 − x))
    assert_close(gg, np.array([0.0, 0.0, d2]), rtol=1e-13)


# ---------------------------------------------------------------------------- sinc


def test_sinc_at_and_near_zero(device):
    """sin(πx)/(πx) is 1 at 0; its derivative π·(t cos t − sin t)/t² (t = πx) cancels
    near 0, where the Taylor series −π²x/3 + … gives it to rounding (PyTorch's formula is
    off by a third at x = 1e-8)."""
    x = [0.0, 1e-8, -1e-5, 1e-3]
    expected = [1.0] + [math.sin(PI * v) / (PI * v) for v in x[1:]]
    assert_close(_t(x, device).sinc(), np.array(expected), rtol=1e-15)
    (g,) = _grads(lambda t: t.sinc(), x, device=device)

    def exact(v):  # the series to t⁵, plenty for |t| ≤ π·1e-3
        t = PI * v
        return PI * (-t / 3 + t ** 3 / 30 - t ** 5 / 840)

    assert g.tolist()[0] == 0.0
    assert_close(g, np.array([exact(v) for v in x]), rtol=1e-14)


def test_sinc_second_derivative_at_zero(device):
    gg = _second(lambda t: t.sinc(), [0.0, 0.5], device=device)
    t = PI / 2  # s''(t) = −sin t/t − 2cos t/t² + 2 sin t/t³
    s2 = -math.sin(t) / t - 2 * math.cos(t) / t**2 + 2 * math.sin(t) / t**3
    assert_close(gg, np.array([-PI * PI / 3, PI * PI * s2]), rtol=1e-13)


def test_sinc_gradient_away_from_zero(device):
    (g,) = _grads(lambda t: t.sinc(), [0.5, 1.0, -2.0], device=device)
    assert_close(g, np.array([-4 / PI, -1.0, -0.5]), rtol=1e-14)  # at n: (−1)ⁿ/n


# --------------------------------------------------------------------- two operands


def test_atan2_quadrants_and_signed_zeros(device):
    a = _t([1.0, 1.0, -1.0, -1.0, 0.0, -0.0, 0.0, -0.0, 0.0, INF, -INF, 1.0], device)
    b = _t([1.0, -1.0, -1.0, 1.0, -1.0, -1.0, 0.0, 0.0, -0.0, INF, 1.0, -INF], device)
    y = a.atan2(b)
    assert_close(y, np.array([PI / 4, 3 * PI / 4, -3 * PI / 4, -PI / 4, PI, -PI, 0.0, -0.0,
                              PI, PI / 4, -PI / 2, PI]), rtol=1e-15)
    assert _signbits(y)[6:8] == [False, True]
    assert mg.arctan2 is mg.atan2 and mg.Tensor.arctan2 is mg.Tensor.atan2


def test_atan2_gradient(device):
    ga, gb = _grads(lambda a, b: mg.atan2(a, b), [1.0, 3.0, 0.0], [1.0, -4.0, 0.0],
                    device=device)
    # ga = b/(a² + b²), gb = −a/(a² + b²); 0 at the origin, as PyTorch
    assert_close(ga, np.array([0.5, -4 / 25, 0.0]), rtol=1e-15)
    assert_close(gb, np.array([-0.5, -3 / 25, 0.0]), rtol=1e-15)


def test_atan2_gradient_neither_overflows_nor_underflows(device):
    ga, gb = _grads(lambda a, b: a.atan2(b), [1e-200, 1e200], [1e-200, 1e200], device=device)
    assert_close(ga, np.array([0.5e200, 0.5e-200]), rtol=1e-15)
    assert_close(gb, np.array([-0.5e200, -0.5e-200]), rtol=1e-15)


def test_hypot_values_and_gradient(device):
    a, b = _t([3.0, 1e200, 1e-200, 0.0], device), _t([4.0, 1e200, 1e-200, -2.0], device)
    r2 = math.sqrt(2)
    assert_close(a.hypot(b), np.array([5.0, r2 * 1e200, r2 * 1e-200, 2.0]), rtol=1e-15)
    ga, gb = _grads(lambda a, b: a.hypot(b), [3.0, 0.0], [4.0, 0.0], device=device)
    assert_close(ga, np.array([0.6, NAN]), rtol=1e-15)  # nan at the origin, as PyTorch
    assert_close(gb, np.array([0.8, NAN]), rtol=1e-15)


def test_logaddexp_is_exact_at_the_extremes(device):
    a = _t([1e308, -INF, INF, -INF, 1000.0, -1000.0, 0.0, 800.0], device)
    b = _t([1e308, -INF, INF, 1.0, 1000.0, -1000.0, 0.0, -800.0], device)
    ln2 = math.log(2)
    expected = [1e308, -INF, INF, 1.0, 1000 + ln2, -1000 + ln2, ln2, 800.0]
    assert_close(a.logaddexp(b), np.array(expected), rtol=1e-15)
    ga, gb = _grads(lambda a, b: a.logaddexp(b), [0.0, 1000.0, -INF, 1e308],
                    [0.0, 0.0, 1.0, 1e308], device=device)
    assert_close(ga, np.array([0.5, 1.0, 0.0, 0.5]), rtol=1e-15)
    assert_close(gb, np.array([0.5, 0.0, 1.0, 0.5]), rtol=1e-15)


def test_logaddexp2(device):
    a, b = _t([1.0, 3.0, -INF, 1e308, -INF], device), _t([1.0, 5.0, -INF, 1e308, 3.0],
                                                          device)
    assert_close(a.logaddexp2(b), np.array([2.0, 5 + math.log2(1.25), -INF, 1e308, 3.0]),
                 rtol=1e-15)
    ga, gb = _grads(lambda a, b: mg.logaddexp2(a, b), [1.0, 3.0], [1.0, 5.0], device=device)
    assert_close(ga, np.array([0.5, 0.2]), rtol=1e-15)
    assert_close(gb, np.array([0.5, 0.8]), rtol=1e-15)


def test_xlogy_at_zero(device):
    """0·log z is 0 even where log z is −inf (z = 0) or nan (z < 0); a nan z gives nan,
    as PyTorch (which checks z for nan first)."""
    x = _t([0.0, 0.0, 0.0, 0.0, 2.0, 1.0, NAN, 3.0], device)
    z = _t([0.0, -1.0, NAN, 5.0, math.e, 0.0, 1.0, -1.0], device)
    assert_close(x.xlogy(z), np.array([0.0, 0.0, NAN, 0.0, 2.0, -INF, NAN, NAN]),
                 rtol=1e-15)
    gx, gz = _grads(lambda x, z: x.xlogy(z), [0.0, 0.0, 0.0, 3.0], [0.0, -1.0, 2.0, 2.0],
                    device=device)
    # PyTorch: gx = log z, 0 where x = 0 and z ≤ 0; gz = x/z
    assert_close(gx, np.array([0.0, 0.0, math.log(2), math.log(2)]), rtol=1e-15)
    assert_close(gz, np.array([NAN, -0.0, 0.0, 1.5]), rtol=1e-15)


def test_xlogy_with_a_number(device):
    z = _t([1.0, 4.0], device)
    assert_close(mg.xlogy(2, z), np.array([0.0, 2 * math.log(4)]), rtol=1e-15)
    assert_close(mg.xlogy(0, _t([0.0], device)), np.array([0.0]))
    assert_close(z.xlogy(0.5), np.array([math.log(0.5), 4 * math.log(0.5)]), rtol=1e-15)


def test_copysign_values_and_gradient(device):
    a, b = [-1.0, 0.0, -0.0, 2.0, 0.0, 3.0], [1.0, -1.0, 1.0, -0.0, -0.0, NAN]
    y = _t(a, device).copysign(_t(b, device))
    assert_close(y, np.array([1.0, -0.0, 0.0, -2.0, -0.0, 3.0]))
    assert _signbits(y)[:5] == [False, True, False, True, True]
    ga, gb = _grads(lambda a, b: a.copysign(b), a, b, device=device)
    # PyTorch's: y/a (±1), 0 where a = 0; no gradient for b (zeros)
    assert_close(ga, np.array([-1.0, 0.0, 0.0, -1.0, 0.0, 1.0]))
    assert gb.tolist() == [0.0] * 6
    ga, _ = _grads(lambda a, b: a.copysign(b), [NAN, INF, -INF], [1.0, -1.0, 1.0],
                   device=device)
    assert_close(ga, np.array([NAN, -1.0, -1.0]))  # nan: y/a; ±inf: ±1 (PyTorch: nan)


def test_heaviside(device):
    x = _t([-2.0, -0.0, 0.0, 3.0, NAN, -INF, INF], device)
    y = x.heaviside(_t([0.5], device))
    assert_close(y, np.array([0.0, 0.5, 0.5, 1.0, 0.0, 0.0, 1.0]))  # nan → 0, as PyTorch
    assert_close(mg.heaviside(x, 7.0), np.array([0.0, 7.0, 7.0, 1.0, 0.0, 0.0, 1.0]))
    # values broadcast; integers stay integers (a step, not a float function)
    i = mg.tensor([[-1], [0], [2]], device=device)
    hi = i.heaviside(mg.tensor([5, 6], device=device))
    assert hi.dtype == mg.int64 and hi.tolist() == [[0, 0], [5, 6], [1, 1]]


def test_heaviside_has_no_gradient_like_the_comparisons(device):
    x = _t([-1.0, 0.0, 1.0], device, requires_grad=True)
    v = _t([0.5], device, requires_grad=True)
    y = x.heaviside(v)
    assert not y.requires_grad and y.grad_fn is None
    assert not (x > 0).requires_grad


# -------------------------------------------------------------------- compositions


def test_lerp_ends_are_exact(device):
    a, b = _t([0.1, -3.0, 1e16], device), _t([0.7, 2.5, 1.0], device)
    assert a.lerp(b, 0.0).tolist() == a.tolist()
    assert a.lerp(b, 1.0).tolist() == b.tolist()
    w = _t([0.0, 1.0, 1.0], device)
    assert mg.lerp(a, b, w).tolist() == [0.1, 2.5, 1.0]
    assert_close(a.lerp(b, 0.25), np.array([0.25, -1.625, 0.75e16 + 0.25]), rtol=1e-15)
    assert_close(a.lerp(b, 2.0), np.array([1.3, 8.0, 2 - 1e16]), rtol=1e-15)


def test_lerp_gradients(device):
    gs, ge, gw = _grads(lambda s, e, w: s.lerp(e, w), [1.0, 2.0], [3.0, 5.0], [0.2, 0.7],
                        device=device)
    assert_close(gs, np.array([0.8, 0.3]), rtol=1e-15)
    assert_close(ge, np.array([0.2, 0.7]), rtol=1e-15)
    assert_close(gw, np.array([2.0, 3.0]), rtol=1e-15)
    gs, ge = _grads(lambda s, e: s.lerp(e, 0.7), [1.0], [3.0], device=device)
    assert_close(gs, np.array([0.3]), rtol=1e-15) and assert_close(ge, np.array([0.7]))


def test_addcmul_addcdiv(device):
    a, b, c = _t([1.0, 2.0], device), _t([[3.0], [4.0]], device), _t([2.0, -0.5], device)
    assert_close(a.addcmul(b, c), np.array([[7.0, 0.5], [9.0, 0.0]]))
    assert_close(mg.addcmul(a, b, c, value=-2), np.array([[-11.0, 5.0], [-15.0, 6.0]]))
    assert_close(a.addcdiv(b, c), np.array([[2.5, -4.0], [3.0, -6.0]]))
    assert_close(mg.addcdiv(a, b, c, value=0.5), np.array([[1.75, -1.0], [2.0, -2.0]]))
    ga, gb, gc = _grads(lambda a, b, c: a.addcdiv(b, c, value=3.0), [1.0], [2.0], [4.0],
                        device=device)
    assert_close(ga, np.array([1.0])) and assert_close(gb, np.array([0.75]))
    assert_close(gc, np.array([-3 * 2 / 16]))


def test_addcmul_integers_truncate_value_as_pytorch(device):
    i = mg.tensor([1, 2, 0, -3], device=device)
    y = i.addcmul(i, i, value=1.7)  # PyTorch: value becomes 1
    assert y.dtype == mg.int64 and y.tolist() == [2, 6, 0, 6]
    assert mg.addcmul(i, i, i, value=-0.5).tolist() == [1, 2, 0, -3]


def test_addcdiv_refuses_integer_division(device):
    i = mg.tensor([1, 2], device=device)
    with pytest.raises(TypeError, match="addcdiv.*integer division"):
        _t([1.0, 1.0], device).addcdiv(i, i)
    y = i.addcdiv(i, _t([2.0, 4.0], device, dtype=mg.float32))
    assert y.dtype == mg.float32 and y.tolist() == [1.5, 2.5]


def test_float_power_computes_in_float64(device):
    x = mg.tensor([2.0, 3.0], dtype=mg.float32, device=device, requires_grad=True)
    y = x.float_power(2)
    assert y.dtype == mg.float64 and y.tolist() == [4.0, 9.0]
    y.sum().backward()
    assert x.grad.dtype == mg.float32 and x.grad.tolist() == [4.0, 6.0]
    i = mg.tensor([2, 3], device=device)
    assert mg.float_power(i, i).dtype == mg.float64 and mg.float_power(i, i).tolist() == [
        4.0, 27.0]
    assert_close(mg.float_power(2, _t([0.5, 3.0], device)), np.array([math.sqrt(2), 8.0]),
                 rtol=1e-15)
    assert np.isnan(mg.float_power(_t([-8.0], device), 1 / 3).cpu().numpy()).all()
    ge, = _grads(lambda e: mg.float_power(2.0, e), [3.0], device=device)
    assert_close(ge, np.array([8 * math.log(2)]), rtol=1e-15)


def test_true_divide_is_div(device):
    i = mg.tensor([1, 3], device=device)
    y = mg.true_divide(i, 2)
    assert y.dtype == mg.float32 and y.tolist() == [0.5, 1.5]
    assert i.true_divide(mg.tensor([4, 4], device=device)).tolist() == [0.25, 0.75]
    assert mg.true_divide(3, _t([2.0], device)).tolist() == [1.5]


def test_deg2rad_rad2deg_round_trip(device):
    x = _t([0.0, 45.0, -720.0, 1e-300], device)
    assert_close(x.deg2rad().rad2deg(), x.cpu().numpy(), rtol=2e-16)
    (g,) = _grads(lambda t: t.deg2rad(), [1.0, 2.0], device=device)
    assert_close(g, np.array([PI / 180] * 2), rtol=1e-16)


# ---------------------------------------------------------------------- tanhshrink


def _x_minus_tanh(x):
    """x − tanh x to 30 digits (decimal, 120 of them: x³/3 at 1e-30 lies 60 digits below x;
    tanh x = (e²ˣ − 1)/(e²ˣ + 1))."""
    with decimal.localcontext() as ctx:
        ctx.prec = 120
        d = decimal.Decimal(x)
        e = (2 * d).exp()
        return float(d - (e - 1) / (e + 1))


@pytest.mark.parametrize("dtype, rtol", [(mg.float64, 1e-15), (mg.float32, 1e-7)])
def test_tanhshrink_keeps_its_digits_near_zero(dtype, rtol):
    """x − tanh x cancels for small x (at 1e-4 PyTorch's float32 value is 5% off): below ½
    the Taylor series, above it the difference in float64. The gradient is tanh² x."""
    xs = [1e-30, 1e-4, 0.01, 0.3, 0.49, 0.5, 0.51, 0.7, 2.0, 30.0, -0.3, -1e-4]
    x = _t(xs, dtype=dtype, requires_grad=True)
    y = mg.nn.functional.tanhshrink(x)
    exact = np.array([_x_minus_tanh(float(v)) for v in x.detach().to(dtype=mg.float64).numpy()])
    np.testing.assert_allclose(y.detach().numpy(), exact.astype(dtype), rtol=rtol)  # (1e-91: 0)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.tanh(x.detach().numpy()) ** 2, rtol=rtol)


def test_gelu_tanh_approximation_without_cancellation():
    """gelu(x, "tanh") = ½x(1 + tanh u) = x·σ(2u): for x ≪ 0, 1 + tanh u rounds to 0
    in float32 (PyTorch's gelu(−10, "tanh") is −0.0); x·σ(2u) keeps the value."""
    x64 = np.array([-10.0, -5.0, -1.0, 0.5, 3.0])
    u = math.sqrt(2 / PI) * (x64 + 0.044715 * x64**3)
    want = x64 / (1 + np.exp(-2 * u))
    s, s_neg = 1 / (1 + np.exp(-2 * u)), 1 / (1 + np.exp(2 * u))
    dwant = s + 2 * x64 * s * s_neg * math.sqrt(2 / PI) * (1 + 3 * 0.044715 * x64**2)
    for dtype, rtol in ((mg.float64, 1e-14), (mg.float32, 1e-6)):
        x = _t(x64, dtype=dtype, requires_grad=True)
        y = mg.nn.functional.gelu(x, approximate="tanh")
        y.sum().backward()
        np.testing.assert_allclose(y.detach().numpy(), want.astype(dtype), rtol=rtol)
        np.testing.assert_allclose(x.grad.numpy(), dwant.astype(dtype), rtol=rtol)
    assert want[0] < -1.2e-38  # (−1.2e-37: a normal float32 number, not 0)


# ------------------------------------------------------------ dtypes and broadcasting

UNARY = ["sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "erfc",
         "erfinv", "logit", "sinc", "deg2rad", "rad2deg", "arcsin", "arccos", "arctan",
         "arcsinh", "arccosh", "arctanh"]
BINARY = ["atan2", "arctan2", "hypot", "logaddexp", "logaddexp2", "xlogy", "copysign",
          "true_divide"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_dtypes(name, device):
    for dtype in (mg.int64, mg.int32, mg.bool):
        assert getattr(mg.tensor([1, 0], dtype=dtype, device=device), name)().dtype == \
            mg.float32, dtype
    for dtype in (mg.float16, mg.float32, mg.float64):
        assert getattr(mg, name)(mg.ones(2, dtype=dtype, device=device)).dtype == dtype


@pytest.mark.parametrize("name", BINARY)
def test_binary_dtypes_and_broadcasting(name, device):
    i = mg.tensor([1, 2], device=device)
    assert getattr(i, name)(i).dtype == mg.float32
    f32 = mg.ones(3, 1, dtype=mg.float32, device=device)
    f64 = mg.ones(2, dtype=mg.float64, device=device)
    assert getattr(f32, name)(i).dtype == mg.float32
    assert getattr(mg, name)(f32, f64).dtype == mg.float64
    assert getattr(f32, name)(2.5).dtype == mg.float32  # a number takes the tensor's dtype
    a = _t(np.full((3, 1), 0.5), device, requires_grad=True)
    b = _t(np.full(4, 0.75), device, requires_grad=True)
    y = getattr(mg, name)(a, b)
    assert y.shape == (3, 4)
    y.backward(mg.ones_like(y))
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,)


@pytest.mark.parametrize("name", ["lerp", "addcmul", "addcdiv"])
def test_three_operands_broadcast(name, device):
    xs = [_t(np.full(s, 0.5), device, requires_grad=True) for s in [(2, 1, 3), (4, 1), (3,)]]
    y = getattr(mg, name)(*xs)
    assert y.shape == (2, 4, 3)
    y.backward(mg.ones_like(y))
    assert [x.grad.shape for x in xs] == [(2, 1, 3), (4, 1), (3,)]


def test_aliases_are_the_same_functions():
    for alias, name in [("arcsin", "asin"), ("arccos", "acos"), ("arctan", "atan"),
                        ("arcsinh", "asinh"), ("arccosh", "acosh"), ("arctanh", "atanh"),
                        ("arctan2", "atan2")]:
        assert getattr(mg, alias) is getattr(mg, name)
        assert getattr(mg.Tensor, alias) is getattr(mg.Tensor, name)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("f", [
    lambda a, b: a.atan2(b), lambda a, b: mg.hypot(a, b), lambda a, b: a.logaddexp(b),
    lambda a, b: a.logaddexp2(b), lambda a, b: a.xlogy(b), lambda a, b: a.copysign(b),
    lambda a, b: a.heaviside(b), lambda a, b: a.lerp(b, 0.5), lambda a, b: a.addcmul(a, b),
    lambda a, b: mg.addcdiv(a, b, b), lambda a, b: a.float_power(b),
])
def test_shapes_that_do_not_broadcast_name_the_op(f):
    with pytest.raises(ValueError, match=r"(?i)(atan2|hypot|logaddexp|xlogy|copysign|"
                                         r"heaviside|lerp|addc|pow).*\(2, 3\).*\(4,\)"):
        f(mg.ones(2, 3), mg.ones(4))


def test_wrong_types_name_the_op():
    x = mg.ones(2)
    cases = [
        (lambda: mg.sinh(1.0), "Sinh"), (lambda: mg.logit(x, eps="a"), "logit"),
        (lambda: mg.lerp(1.0, x, 0.5), "lerp"), (lambda: mg.lerp(x, x, "w"), "lerp"),
        (lambda: mg.addcmul(x, x, 2.0), "addcmul"), (lambda: x.addcdiv(x, x, value="2"),
                                                      "addcdiv"),
        (lambda: x.heaviside("a"), "heaviside"), (lambda: mg.heaviside(0.0, x), "heaviside"),
        (lambda: mg.float_power(2, 3), "float_power"), (lambda: mg.deg2rad(1.0), "deg2rad"),
        (lambda: mg.true_divide(1, 2), "true_divide"),
    ]
    for f, name in cases:
        with pytest.raises(TypeError, match=name):
            f()


# ---------------------------------------------------------------- PyTorch as oracle


def _inside(rng, shape):
    return rng.uniform(-0.95, 0.95, shape)


def _any(rng, shape):
    return rng.uniform(-3, 3, shape)


def _positive(rng, shape):
    return rng.uniform(0.3, 3, shape)


def _away(rng, shape):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 3, shape)


def _sinc_input(rng, shape):  # PyTorch's sinc gradient cancels near 0
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.05, 3, shape)


# (name, f(lib or tensor methods), draws of the tensor operands): f works unchanged on
# minigrad and torch tensors, since names and keywords are PyTorch's.
_SHAPES = [(3, 4), (4,), (3, 1)]
ORACLE = [
    ("sinh", lambda m, x: m.sinh(x), [_any]),
    ("cosh", lambda m, x: x.cosh(), [_any]),
    ("asin", lambda m, x: m.asin(x), [_inside]),
    ("arcsin", lambda m, x: x.arcsin(), [_inside]),
    ("acos", lambda m, x: m.arccos(x), [_inside]),
    ("atan", lambda m, x: x.atan(), [_any]),
    ("asinh", lambda m, x: m.arcsinh(x), [_any]),
    ("acosh", lambda m, x: x.acosh(), [lambda rng, s: rng.uniform(1.05, 4, s)]),
    ("atanh", lambda m, x: m.atanh(x), [_inside]),
    ("erfc", lambda m, x: m.erfc(x), [lambda rng, s: rng.uniform(-3, 9, s)]),
    ("erfinv", lambda m, x: x.erfinv(), [_inside]),
    ("logit", lambda m, x: m.logit(x), [lambda rng, s: rng.uniform(0.02, 0.98, s)]),
    ("logit_eps", lambda m, x: x.logit(eps=0.2), [lambda rng, s: rng.uniform(-0.3, 1.3, s)]),
    ("sinc", lambda m, x: m.sinc(x), [_sinc_input]),
    ("deg2rad", lambda m, x: x.deg2rad(), [_any]),
    ("rad2deg", lambda m, x: m.rad2deg(x), [_any]),
    ("atan2", lambda m, a, b: m.atan2(a, b), [_any, _any]),
    ("arctan2", lambda m, a, b: a.arctan2(b), [_any, _any]),
    ("hypot", lambda m, a, b: m.hypot(a, b), [_any, _any]),
    ("logaddexp", lambda m, a, b: a.logaddexp(b), [_any, _any]),
    ("logaddexp2", lambda m, a, b: m.logaddexp2(a, b), [_any, _any]),
    ("xlogy", lambda m, x, z: m.xlogy(x, z), [_any, _positive]),
    ("copysign", lambda m, a, b: a.copysign(b), [_away, _away]),
    ("heaviside", lambda m, a, b: m.heaviside(a, b), [_away, _any]),
    ("lerp", lambda m, a, b: m.lerp(a, b, 0.3), [_any, _any]),
    ("lerp_high", lambda m, a, b: a.lerp(b, 0.8), [_any, _any]),
    ("lerp_tensor", lambda m, a, b, w: m.lerp(a, b, w),
     [_any, _any, lambda rng, s: rng.uniform(-0.5, 1.5, s)]),
    ("addcmul", lambda m, a, b, c: m.addcmul(a, b, c, value=0.7), [_any, _any, _any]),
    ("addcdiv", lambda m, a, b, c: a.addcdiv(b, c, value=-1.5), [_any, _any, _away]),
    ("float_power", lambda m, a, b: m.float_power(a, b), [_positive, _any]),
    ("float_power_scalar", lambda m, x: x.float_power(3), [_any]),
    ("true_divide", lambda m, a, b: m.true_divide(a, b), [_any, _away]),
]


@pytest.mark.parametrize("name, f, draws", ORACLE, ids=[c[0] for c in ORACLE])
def test_values_and_gradients_match_pytorch(name, f, draws):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [draw(rng, shape) for draw, shape in zip(draws, _SHAPES)]
    xs = [_t(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=name != "heaviside")
          for a in arrays]
    y, yt = f(mg, *xs), f(torch, *ts)
    assert_close(y, yt.detach().cpu().numpy(), rtol=1e-13, atol=1e-300, msg=name)
    if name == "heaviside":  # no gradient in either (PyTorch raises at backward)
        assert not y.requires_grad
        return
    gy = rng.standard_normal(y.shape)
    y.backward(_t(gy))
    yt.backward(torch.tensor(gy))
    for i, (x, t) in enumerate(zip(xs, ts)):
        assert_close(x.grad, t.grad.numpy(), rtol=1e-12, atol=1e-300, msg=f"{name} input {i}")


@pytest.mark.parametrize("name", UNARY)
def test_unary_dtypes_match_pytorch(name):
    torch = pytest.importorskip("torch")
    for values, dtype in [([1, 0], "int64"), ([True, False], "bool"),
                          ([0.5, 0.25], "float32"), ([0.5, 0.25], "float64")]:
        got = getattr(mg.tensor(values, dtype=getattr(mg, dtype)), name)().dtype
        expected = getattr(torch.tensor(values, dtype=getattr(torch, dtype)), name)().dtype
        assert str(got) == str(expected).removeprefix("torch."), (name, dtype)


@pytest.mark.parametrize("name", BINARY + ["float_power", "heaviside"])
def test_binary_dtypes_match_pytorch_where_it_has_them(name):
    """Where PyTorch computes the pair of dtypes at all (it refuses integer hypot and
    logaddexp, and heaviside of mixed dtypes; minigrad computes them in float32 / promotes)."""
    torch = pytest.importorskip("torch")
    pairs = [("int64", "int64"), ("float32", "int64"), ("int64", "float32"),
             ("float32", "float64"), ("float64", "float64")]
    for da, db in pairs:
        ta = torch.tensor([1, 2], dtype=getattr(torch, da))
        tb = torch.tensor([2, 3], dtype=getattr(torch, db))
        try:
            expected = getattr(torch, name)(ta, tb).dtype
        except (RuntimeError, NotImplementedError):
            continue
        a = mg.tensor([1, 2], dtype=getattr(mg, da))
        b = mg.tensor([2, 3], dtype=getattr(mg, db))
        got = getattr(mg, name)(a, b).dtype
        assert str(got) == str(expected).removeprefix("torch."), (name, da, db)


def test_special_points_match_pytorch():
    torch = pytest.importorskip("torch")
    cases = [
        ("xlogy", [0.0, 0.0, 0.0, 1.0, NAN], [0.0, NAN, -1.0, 0.0, 1.0]),
        ("logaddexp", [INF, -INF, -INF, 1e308], [INF, -INF, 1.0, 1e308]),
        ("atan2", [0.0, -0.0, 0.0, -0.0], [0.0, 0.0, -0.0, -0.0]),
        ("copysign", [-1.0, 0.0, -0.0, 2.0], [1.0, -1.0, 1.0, -0.0]),
    ]
    for name, a, b in cases:
        xs = [_t(a, requires_grad=True), _t(b, requires_grad=True)]
        ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a, b)]
        y, yt = getattr(mg, name)(*xs), getattr(torch, name)(*ts)
        assert_close(y, yt.detach().cpu().numpy(), msg=name)
        assert _signbits(y) == np.signbit(yt.detach().cpu().numpy()).tolist(), name
        with np.errstate(invalid="ignore"):  # the backward of logaddexp takes inf − inf
            y.backward(mg.ones_like(y))
        yt.backward(torch.ones_like(yt))
        for x, t in zip(xs, ts):
            assert_close(x.grad, t.grad.numpy(), msg=name)
    x = [-0.5, 0.0, 0.1, 0.5, 1.0, 1.5]
    for eps in (None, 0.1, 0.0, -1.0):
        xm, xt = _t(x, requires_grad=True), torch.tensor(x, dtype=torch.float64,
                                                         requires_grad=True)
        y, yt = xm.logit(eps=eps), torch.logit(xt, eps=eps)
        assert_close(y, yt.detach().cpu().numpy(), rtol=1e-15, msg=f"logit eps={eps}")
        y.backward(mg.ones_like(y))
        yt.backward(torch.ones_like(yt))
        assert_close(xm.grad, xt.grad.numpy(), rtol=1e-15, msg=f"logit eps={eps}")
    e = [1.0, -1.0, 0.0, -0.0, 0.999999]
    assert_close(mg.erfinv(_t(e)), torch.erfinv(torch.tensor(e, dtype=torch.float64)).numpy(),
                 rtol=1e-15)
