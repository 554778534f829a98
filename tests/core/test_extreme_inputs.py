"""Values and gradients at extreme inputs: ±inf, NaN, tiny and huge magnitudes.

Found at stop 28 by running every one- and two-tensor function that minigrad shares with
PyTorch on a grid of ±inf, ±1e308, ±1e30, ±800, ±709, ±100, ±20, ±1, ±½, ±1e-300, ±0, 1e-8
and NaN, in float64 and float32, and keeping where values or gradients differ. Most
differences were conventions at poles and NaN inputs, or PyTorch's own rounding (where
minigrad is nearer the true value, e.g. sinc's gradient at 1e-8, log_ndtr's at −800); the
ones fixed, each checked here by hand:

* the gradient of a / b with respect to b was −gy·a/b², whose b² underflows: in float16
  (autocast) b = 2e-4 gave −3355 for −5000, and in float64 b = 1e-200 gave −inf;
* Huber and smooth-L1 losses gave a NaN gradient for an infinite residual (the quadratic
  branch not taken still carried 0·∞ back); the gradient there is ±δ (±1);
* hardshrink and softshrink turned NaN into 0, hiding it (PyTorch keeps NaN);
* multi_margin_loss was NaN for an infinite score (its target score was picked by a
  product with a one-hot mask, 0·∞): −∞ in a wrong class gives that term 0, +∞ gives ∞;
* nextafter had no gradient (PyTorch's is 1 for input where input ≠ other, else 0), and
  F.linear refused the 1-D weight that PyTorch takes;
* 24 functions let NumPy's RuntimeWarnings out at these inputs (sin/cos/tan of ∞, gelu and
  silu of ∞, norm, prod, cumsum and cumprod overflowing, the backward of outer/kron at
  1e308, a float16 tensor times 65536.0): every forward and backward here now runs quietly,
  as PyTorch's do (test_no_numpy_warnings_at_extreme_inputs);
* sinc of large x: sin(π·x) of the rounded product π·x lost the argument (float16
  sinc(1000) was −3e-4, and NaN at 65504, where π·x overflows); sin πx now comes from
  x − round(x), and half inputs compute in float32;
* logsigmoid took −softplus(−x) with softplus's linear threshold (x past 20), so below
  x = −20 it dropped log1p(eˣ) (3.6e-11 relative at −21; PyTorch's is exact), and gelu's
  ½(1 + erf(x/√2)) cancelled in the negative tail (float32 gelu(−3) 2e-5 off, gelu(−10)
  0; PyTorch's too): both exact now, gelu by ½ erfc(−x/√2);
* igamma/igammac (special.gammainc/gammaincc) for a large shape a near x: the power series
  ran out of iterations (P(1e10, 1e10) was 0.34, not ½, and 2e-10 relative at a = 1e6);
  a ≥ 1e5 now takes Temme's uniform asymptotic expansion, and the gradient's density
  x^{a−1}e^{−x}/Γ(a) Stirling's series for a ≥ 100 (its log lost 2e-5 at a = 1e10).
"""
import math
import warnings

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

from .api_functions import NOT_OF_VALUES, extreme_columns, tensor_functions


def _grads(f, *values, dtype=np.float64):
    xs = [mg.tensor(np.array(v, dtype), requires_grad=True) for v in values]
    f(*xs).sum().backward()
    return [x.grad.numpy() for x in xs]


# ---------------------------------------------------------------- division by tiny b

def test_division_gradient_does_not_square_a_tiny_denominator():
    # d(a/b)/db = −a/b²: finite although b² underflows float64
    ga, gb = _grads(lambda a, b: a / b, [1e-200, 0.0, 3.0], [1e-200, 1e-200, 2.0])
    np.testing.assert_allclose(ga, [1e200, 1e200, 0.5], rtol=1e-15)
    np.testing.assert_allclose(gb, [-1e200, 0.0, -0.75], rtol=1e-15)
    assert np.isfinite(gb).all()


def test_division_gradient_in_float16():
    # b² = 4e-8 is below float16's smallest normal (6.1e-5) and rounds to a subnormal:
    # −a/b² was −3355; −(a/b)/b is the true −5000 (to float16's precision)
    _, gb = _grads(lambda a, b: a / b, [2e-4], [2e-4], dtype=np.float16)
    assert gb.dtype == np.float16
    np.testing.assert_allclose(gb.astype(np.float64), [-5000.0], rtol=2e-3)


def test_division_gradient_is_still_differentiable_twice():
    a = mg.tensor([1.5, -2.0], dtype=mg.float64, requires_grad=True)
    b = mg.tensor([0.5, 3.0], dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(lambda a, b: a / b, (a, b))
    assert mg.gradgradcheck(lambda a, b: a / b, (a, b))


# ---------------------------------------------------------------- robust losses

@pytest.mark.parametrize("delta", [1.0, 0.5])
def test_huber_gradient_at_an_infinite_residual_is_plus_minus_delta(delta):
    x = [np.inf, -np.inf, 3.0, 0.25, -0.25]
    (g,) = _grads(lambda x: F.huber_loss(x, mg.zeros(5, dtype=mg.float64), delta=delta), x)
    # d clipped to [−δ, δ], over n = 5
    np.testing.assert_allclose(g, np.clip(x, -delta, delta) / 5, rtol=1e-15)


@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_smooth_l1_gradient_at_an_infinite_residual_is_plus_minus_one(beta):
    x = [np.inf, -np.inf, 3.0, 0.25, -0.25]
    (g,) = _grads(lambda x: F.smooth_l1_loss(x, mg.zeros(5, dtype=mg.float64), beta=beta), x)
    np.testing.assert_allclose(g, np.clip(np.array(x) / beta, -1, 1) / 5, rtol=1e-15)


def test_huber_and_smooth_l1_values_are_unchanged():
    d = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
    x, y = mg.tensor(d), mg.zeros(7, dtype=mg.float64)
    huber = np.where(np.abs(d) < 1, 0.5 * d * d, np.abs(d) - 0.5)
    np.testing.assert_allclose(F.huber_loss(x, y, reduction="none").numpy(), huber)
    smooth = np.where(np.abs(d) < 0.5, d * d, np.abs(d) - 0.25)    # β = ½: ½d²/β = d²
    np.testing.assert_allclose(F.smooth_l1_loss(x, y, reduction="none", beta=0.5).numpy(),
                               smooth)
    y = mg.zeros(4, dtype=mg.float64)
    for f in (lambda x: F.huber_loss(x, y, delta=0.7), lambda x: F.smooth_l1_loss(x, y)):
        assert mg.gradcheck(f, (mg.tensor([-2.0, -0.3, 0.4, 1.9], dtype=mg.float64,
                                          requires_grad=True),))


@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin_loss_with_infinite_scores(p):
    x = mg.tensor([[-np.inf, 0.0, 0.0], [np.inf, 0.0, 0.0], [0.3, -0.2, 1.0]],
                  dtype=mg.float64, requires_grad=True)
    loss = F.multi_margin_loss(x, mg.tensor([1, 1, 2]), p=p, reduction="none")
    # (1/C)·Σ_{c≠y} max(0, 1 − x_y + x_c)^p: row 0 has terms 0 and 1, row 1 has ∞ and 1,
    # row 2 has max(0, 0.3)^p and 0
    assert loss.tolist() == pytest.approx([1 / 3, np.inf, 0.3 ** p / 3])
    loss[[0, 2]].sum().backward()
    g = x.grad.numpy()
    np.testing.assert_allclose(g[0], [0.0, -1 / 3 * p, 1 / 3 * p])   # the −∞ class: no gradient
    np.testing.assert_allclose(g[2], [p * 0.3 ** (p - 1) / 3, 0.0, -p * 0.3 ** (p - 1) / 3])


# ---------------------------------------------------------------- shrinkage keeps NaN

@pytest.mark.parametrize("name", ["hardshrink", "softshrink"])
def test_shrinkage_keeps_nan(name):
    f = getattr(F, name)
    out = f(mg.tensor([np.nan, 2.0, -2.0, 0.3]), 0.5).numpy()
    assert np.isnan(out[0])
    expected = [2.0, -2.0, 0.0] if name == "hardshrink" else [1.5, -1.5, 0.0]
    np.testing.assert_array_equal(out[1:], expected)


@pytest.mark.parametrize("name", ["hardshrink", "softshrink"])
def test_shrinkage_gradient_is_zero_inside_and_at_the_threshold(name):
    (g,) = _grads(lambda x: getattr(F, name)(x, 0.5), [-2.0, -0.5, 0.0, 0.5, 0.7, np.inf])
    np.testing.assert_array_equal(g, [1.0, 0.0, 0.0, 0.0, 1.0, 1.0])
    assert getattr(F, name)(mg.tensor([np.inf, -np.inf]), 0.5).tolist() == [np.inf, -np.inf]


# ---------------------------------------------------------------- incomplete gamma, large a

def _p(a, x, upper=False):
    f = mg.igammac if upper else mg.igamma
    return f(mg.tensor(np.asarray(a, np.float64)), mg.tensor(np.asarray(x, np.float64))).numpy()


def test_incomplete_gamma_limits_at_huge_a():
    # P(a, ∞) = 1 for every finite a (2a overflows at a = 1e308: x = ∞ passed "x ≤ 2a")
    assert _p([1e308, 1e6], [np.inf, np.inf]).tolist() == [1.0, 1.0]
    assert _p([1e308], [np.inf], upper=True).tolist() == [0.0]
    assert _p([1e308], [1e308])[0] == pytest.approx(0.5)


@pytest.mark.parametrize("a", [1e5, 1e7, 1e10, 1e14])
def test_incomplete_gamma_at_x_equal_a(a):
    # Temme at η = 0: P(a, a) = ½ + (1/3 + 1/(540a))/√(2πa) + O(a^{−5/2})
    want = 0.5 + (1 / 3 + 1 / (540 * a)) / math.sqrt(2 * math.pi * a)
    assert _p([a], [a])[0] == pytest.approx(want, rel=1e-15, abs=0)
    assert _p([a], [a], upper=True)[0] == pytest.approx(1 - want, rel=1e-14, abs=0)


def test_temme_and_the_series_agree_where_they_meet():
    from minigrad.ops import special

    a = np.full(9, special._TEMME_MIN_A)
    x = a * np.array([0.5, 0.7, 0.9, 0.99, 0.999, 0.9999, 1.0, 0.995, 0.95])
    with np.errstate(all="ignore"):
        temme = special._igam_temme(np, a, x, upper=False)
        series = special._igam_series(np, a, x)
    np.testing.assert_allclose(temme, series, rtol=1e-12, atol=0)
    # and across the switch, from the series (a one float below 1e5) to Temme (a = 1e5): P
    # moves there by ∂P/∂a·1.5e-11 only, about 2e-14 (∂P/∂a ≈ −1/√(2πa) at x = a)
    a_below = np.nextafter(special._TEMME_MIN_A, 0)
    below = _p([a_below] * 2, [1e5, 1.001e5])
    at = _p([special._TEMME_MIN_A] * 2, [1e5, 1.001e5])
    np.testing.assert_allclose(below, at, rtol=1e-12)


def test_incomplete_gamma_gradient_integrates_to_its_value():
    # Simpson's rule over the gradient (the density, from Stirling's series for a ≥ 100)
    # gives back P(a, x₂) − P(a, x₁) (from Temme or the series): the two agree
    for a in (150.0, 1e5, 1e8):
        s = math.sqrt(a)
        x = mg.tensor(np.linspace(a - 4 * s, a + 3 * s, 4001), requires_grad=True)
        mg.igamma(mg.tensor([a], dtype=mg.float64), x).sum().backward()
        g, h = x.grad.numpy(), 7 * s / 4000
        integral = h / 3 * (g[0] + g[-1] + 4 * g[1:-1:2].sum() + 2 * g[2:-1:2].sum())
        p = _p([a, a], [a - 4 * s, a + 3 * s])
        assert integral == pytest.approx(p[1] - p[0], rel=1e-11)


def test_incomplete_gamma_gradient_is_differentiable_twice_at_large_a():
    a = mg.tensor([[150.0], [3.0], [1e4]], dtype=mg.float64)
    x = mg.tensor([140.0, 2.0, 1.01e4, 0.5], dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(lambda x: mg.igamma(a, x), (x,))
    assert mg.gradgradcheck(lambda x: mg.igammac(a, x), (x,))
    x0 = mg.tensor([0.0, 150.0], dtype=mg.float64, requires_grad=True)     # x = 0: density 0
    mg.igamma(mg.tensor([150.0, 5.0], dtype=mg.float64), x0).sum().backward()
    assert x0.grad.numpy()[0] == 0.0 and np.isfinite(x0.grad.numpy()).all()


def test_incomplete_gamma_for_large_a_matches_mpmath():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40

    def p_series(a, x):       # the defining series, summed in 40 digits
        a, x = mp.mpf(a), mp.mpf(x)
        term = total = mp.mpf(1)
        n = 0
        while term > total * mp.mpf(10) ** -30:
            n += 1
            term *= x / (a + n)
            total += term
        return mp.exp(a * mp.log(x) - x - mp.loggamma(a + 1)) * total

    for a, lam in [(1e5, 0.99), (1e6, 0.99), (1e6, 0.999), (1e7, 0.9995), (1e5, 0.6)]:
        x = a * lam
        want = float(p_series(a, x))
        assert _p([a], [x])[0] == pytest.approx(want, rel=5e-12)
        xt = mg.tensor([x], dtype=mg.float64, requires_grad=True)
        mg.igamma(mg.tensor([a], dtype=mg.float64), xt).sum().backward()
        density = float(mp.exp((a - 1) * mp.log(mp.mpf(x)) - x - mp.loggamma(a)))
        assert xt.grad.item() == pytest.approx(density, rel=1e-12)


# ---------------------------------------------------------------- PyTorch's conventions

def test_nextafter_passes_the_gradient_to_input():
    # y − a is one ulp where a ≠ b: PyTorch's gradient is 1 for input there, 0 where a = b
    # (y = b), and 0 for other
    ga, gb = _grads(lambda a, b: mg.nextafter(a, b), [1.0, 2.0, np.inf, 3.0],
                    [2.0, 0.0, 0.0, 3.0])
    np.testing.assert_array_equal(ga, [1.0, 1.0, 1.0, 0.0])
    np.testing.assert_array_equal(gb, [0.0, 0.0, 0.0, 0.0])
    y = mg.nextafter(mg.tensor([1, 2]), mg.tensor([2.0, 0.0], requires_grad=True))
    assert y.dtype == mg.float32 and y.requires_grad  # (an integer input promotes)


def test_linear_with_a_one_dimensional_weight():
    # PyTorch's F.linear takes W (in,): one output feature, dropped: y = x·W + b
    x = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
    w, b = np.array([0.1, -0.2, 0.3]), 0.25
    (gx, gw, gb) = _grads(lambda x, w, b: F.linear(x, w, b), x, w, b)
    y = F.linear(mg.tensor(x), mg.tensor(w), mg.tensor(b, dtype=mg.float64))
    assert y.shape == (2,)
    np.testing.assert_allclose(y.numpy(), x @ w + b)
    np.testing.assert_allclose(gx, np.tile(w, (2, 1)))
    np.testing.assert_allclose(gw, x.sum(0))
    assert gb == 2.0
    assert F.linear(mg.tensor(x[0]), mg.tensor(w)).shape == ()
    with pytest.raises(ValueError, match="with a 1-D weight .* the bias must be 0-d or"):
        F.linear(mg.tensor(x), mg.tensor(w), mg.tensor([1.0, 2.0], dtype=mg.float64))
    with pytest.raises(ValueError, match="weight must be 2-D .* or 1-D"):
        F.linear(mg.tensor(x), mg.zeros((1, 2, 3), dtype=mg.float64))


# ---------------------------------------------------------------- tails of activations

def test_logsigmoid_is_exact_below_minus_20():
    x = np.array([-21.0, -30.0, -700.0, 0.0, 25.0])
    y = F.logsigmoid(mg.tensor(x)).numpy()
    want = x - np.log1p(np.exp(x))                 # log σ(x) = x − log(1 + eˣ) for x < 0
    want[3:] = [-math.log(2.0), -math.log1p(math.exp(-25.0))]  # and −log1p(e^{−x}) above
    np.testing.assert_allclose(y, want, rtol=1e-15)
    (g,) = _grads(F.logsigmoid, x[:2])            # σ(−x) = 1/(1 + eˣ)
    np.testing.assert_allclose(g, 1 / (1 + np.exp(x[:2])), rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_gelu_keeps_its_negative_tail(dtype):
    # x·Φ(x) with Φ(−3), Φ(−10), Φ(−30) (to 16 digits: A&S 26.2, mpmath)
    x = np.array([-3.0, -10.0, -30.0, 2.0], dtype)
    phi = np.array([1.3498980316300946e-03, 7.619853024160527e-24, 4.906713927148187e-198,
                    0.9772498680518208])
    want = x.astype(np.float64) * phi
    if dtype == np.float32:
        want[2] = 0.0                              # (below float32's smallest subnormal)
    y = F.gelu(mg.tensor(x)).numpy().astype(np.float64)
    # (the rounding of x/√2 alone costs up to 2z²·ε relative: 1e-13 at x = −30 in float64)
    np.testing.assert_allclose(y, want, rtol=2e-13 if dtype == np.float64 else 1e-5)
    (g,) = _grads(F.gelu, x[:2].astype(np.float64))   # Φ(x) + x·φ(x)
    pdf = np.exp(-x[:2].astype(np.float64) ** 2 / 2) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(g, phi[:2] + x[:2] * pdf, rtol=1e-13)


# ---------------------------------------------------------------- sinc of large x

@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16],
                         ids=["float64", "float32", "float16"])
def test_sinc_of_large_arguments(dtype):
    # sin π(k + r) = (−1)ᵏ sin πr: 0 at the integers, ±1/(πx) at the half-integers
    x = np.array([1000.0, 1000.5, 1001.5, -1000.5, 20000.0, 65504.0], dtype)
    y = mg.sinc(mg.tensor(x)).numpy()
    assert y.dtype == dtype
    want = [0.0, 1 / (math.pi * 1000.5), -1 / (math.pi * 1001.5), 1 / (math.pi * 1000.5),
            0.0, 0.0]
    np.testing.assert_allclose(y.astype(np.float64), want, rtol=2e-3, atol=1e-12)
    # s'(x) = (πx cos πx − sin πx)/(πx²): 1/x at even integers, −1/(πx²) at k + ½, k even
    (g,) = _grads(mg.sinc, [1000.0, 1000.5], dtype=dtype)
    np.testing.assert_allclose(g.astype(np.float64), [1e-3, -1 / (math.pi * 1000.5 ** 2)],
                               rtol=2e-3, atol=6e-8)   # (−3.2e-7 is subnormal in float16)


def test_sinc_stays_twice_differentiable():
    x = mg.tensor([0.3, 1e-3, 0.0, 2.7, -1000.25, 7.0], dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(mg.sinc, (x,)) and mg.gradgradcheck(mg.sinc, (x,))


# ---------------------------------------------------------------- no NumPy warnings

@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16],
                         ids=["float64", "float32", "float16"])
@pytest.mark.parametrize("module", ["mg", "F", "special", "linalg"])
def test_no_numpy_warnings_at_extreme_inputs(module, dtype):
    """Every one- and two-tensor function, forward and backward, on the extreme grid (and
    all its pairs): ±inf and NaN come out as in PyTorch, with no RuntimeWarning from
    inside NumPy (a test run with -W error would otherwise stop in NumPy's code)."""
    modules = {"mg": mg, "F": F, "special": mg.special, "linalg": mg.linalg}
    warned, ran = [], 0
    for name, fn, n in tensor_functions(modules[module], NOT_OF_VALUES):
        cols = extreme_columns(n, dtype)
        for grad in (False, True):
            args = [mg.tensor(c.copy(), requires_grad=grad) for c in cols]
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    out = fn(*args)
                    out = out[0] if isinstance(out, tuple) else out
                    if grad:
                        out.sum().backward()
                    ran += 1
                except Exception:  # noqa: BLE001 - refusing these inputs is allowed here
                    continue
            for w in caught:
                if issubclass(w.category, RuntimeWarning):
                    warned.append(f"{module}.{name} ({'backward' if grad else 'forward'}): "
                                  f"{w.message} at {w.filename}:{w.lineno}")
                    break
    assert ran > (5 if module == "linalg" else 20)   # (linalg: most need matrices)
    assert not warned, "\n".join(warned)


def test_python_floats_beyond_a_dtypes_range_are_infinite_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        half = mg.ones(2, dtype=mg.float16)
        assert (half * 65536.0).tolist() == [np.inf, np.inf]      # a loss-scale factor
        assert (mg.ones(2) * -1e308).tolist() == [-np.inf, -np.inf]
        assert mg.full((2,), 1e308).tolist() == [np.inf, np.inf]
        assert mg.scalar_tensor(-1e39).item() == -np.inf
        assert mg.ones(2).fill_(1e308).tolist() == [np.inf, np.inf]
        assert (half * 2.0).tolist() == [2.0, 2.0] and (half * 2.0).dtype == mg.float16
