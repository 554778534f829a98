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
* hardshrink and softshrink turned NaN into 0, hiding it (PyTorch keeps NaN).
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F


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
