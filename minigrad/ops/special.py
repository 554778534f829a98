r"""The gamma-function family: log|Γ(x)| (``lgamma``), the digamma ψ(x) = d log Γ(x)/dx and
the polygamma ψ⁽ⁿ⁾(x) = dⁿψ(x)/dxⁿ, each the derivative of the one before, so every one is
differentiable to any order:

===========  =====================================  ===========================
op           y                                      VJP
===========  =====================================  ===========================
Lgamma       log|Γ(x)|                              gx = gy·ψ(x)
Digamma      ψ(x)                                   gx = gy·ψ⁽¹⁾(x)
Polygamma    ψ⁽ⁿ⁾(x), n ≥ 1                          gx = gy·ψ⁽ⁿ⁺¹⁾(x)
===========  =====================================  ===========================

Computed in float64 on the array module (NumPy or CuPy: no SciPy needed) and rounded to
the input's dtype; integers compute in the default float dtype.

* log Γ: the Lanczos approximation (g = 7, nine coefficients; Press et al., *Numerical
  Recipes*, 3rd ed., §6.1), about 1e-15 relative for x ≥ ½, and for x < ½ the reflection
  log|Γ(x)| = log π − log|sin πx| − log|Γ(1 − x)|. Poles (0, −1, −2, ...) give +inf.
* ψ: the recurrence ψ(x) = ψ(x + 1) − 1/x up to x ≥ 10, then the asymptotic series
  ψ(x) ~ log x − 1/(2x) − Σ B₂ₖ/(2k x²ᵏ); for x < 0 the reflection
  ψ(x) = ψ(1 − x) − π/tan πx. Poles give nan (PyTorch: −inf at 0 in some versions).
* ψ⁽ⁿ⁾: (−1)ⁿ⁺¹ n! Σₖ (x + k)⁻⁽ⁿ⁺¹⁾ summed up to x + k ≥ 10 + n (negative non-integer x
  too), then the asymptotic series (−1)ⁿ⁺¹[(n − 1)!/xⁿ + n!/(2xⁿ⁺¹) + Σ B₂ₖ (2k + n − 1)!
  /((2k)! x²ᵏ⁺ⁿ)]. Poles give +inf for odd n and nan for even n.

Checked against SciPy and PyTorch in ``tests/core/test_special.py``: within 1e-14 relative
(absolute where |y| < 1), 3e-13 next to the poles of ψ, where the reflection's π/tan πx
dominates.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function, ieee
from .elementwise import to_float

__all__ = ["Lgamma", "Digamma", "Polygamma", "lgamma", "digamma", "polygamma",
           "lgamma_array", "digamma_array", "polygamma_array", "mvlgamma"]

_LANCZOS_G = 7.0
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028,
            771.32342877765313, -176.61502916214059, 12.507343278686905,
            -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7)
# B₂ₖ for k = 1 … 9 (the asymptotic series; truncated where the terms are below 1e-17
# for x ≥ 10)
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510,
              43867 / 798)


def _float64(f):
    """``f(xp, x64)`` computed in float64 and rounded to x's floating dtype."""
    def wrapped(xp, x, *args):
        x = to_float(x)
        return f(xp, x.astype(_dt.float64, copy=False), *args).astype(x.dtype, copy=False)
    return wrapped


def _lgamma_positive(xp, x):
    """log Γ(x) for x ≥ ½ (Lanczos)."""
    z = x - 1.0
    s = xp.full(x.shape, _LANCZOS[0])
    for i, c in enumerate(_LANCZOS[1:], start=1):
        s = s + c / (z + i)
    t = z + _LANCZOS_G + 0.5
    return 0.5 * math.log(2 * math.pi) + (z + 0.5) * xp.log(t) - t + xp.log(s)


def lgamma_array(xp, x):
    """log|Γ(x)| of a float64 array (see the module notes)."""
    small = x < 0.5
    big = _lgamma_positive(xp, xp.where(small, 1.0 - x, x))     # Γ(1 − x) for small x
    with np.errstate(divide="ignore", invalid="ignore"):
        sin = xp.abs(xp.sin(math.pi * (x - xp.round(x))))       # |sin πx| = |sin πr|, r
        # = x − round(x) exact in [−½, ½]: full relative precision next to the poles
        reflected = math.log(math.pi) - xp.log(sin) - big
    pole = (x <= 0) & (x == xp.floor(x))
    out = xp.where(pole, xp.inf, xp.where(small, reflected, big))
    return xp.where((x == 1) | (x == 2), 0.0, out)      # Γ(1) = Γ(2) = 1 exactly


def _shifted(xp, x, target):
    """(x + m, m) for the least whole m ≥ 0 with x + m ≥ target (elementwise)."""
    m = xp.maximum(xp.ceil(target - x), 0.0)
    return x + m, m


def digamma_array(xp, x):
    """ψ(x) of a float64 array (see the module notes)."""
    negative = x < 0
    y = xp.where(negative, 1.0 - x, x)                           # ψ(1 − x) for x < 0
    acc = xp.zeros(x.shape)
    steps = int(xp.max(xp.maximum(xp.ceil(10.0 - y), 0.0))) if y.size else 0
    for _ in range(steps):                                       # ψ(y) = ψ(y + 1) − 1/y
        below = y < 10.0
        with np.errstate(divide="ignore"):
            acc = acc - xp.where(below, 1.0 / y, 0.0)
        y = xp.where(below, y + 1.0, y)
    inv2 = 1.0 / (y * y)
    series = xp.zeros(x.shape)
    power = inv2
    for k, b in enumerate(_BERNOULLI, start=1):
        series = series + b / (2 * k) * power
        power = power * inv2
    psi = acc + xp.log(y) - 0.5 / y - series
    with np.errstate(divide="ignore", invalid="ignore"):
        psi = xp.where(negative, psi - math.pi / xp.tan(math.pi * (x - xp.round(x))), psi)
    pole = (x <= 0) & (x == xp.floor(x))
    return xp.where(pole, xp.nan, psi)


def polygamma_array(xp, n, x):
    """ψ⁽ⁿ⁾(x), n ≥ 1, of a float64 array (see the module notes)."""
    sign = 1.0 if n % 2 else -1.0                                # (−1)ⁿ⁺¹
    target = 10.0 + n
    y = x
    acc = xp.zeros(x.shape)
    steps = int(xp.max(xp.maximum(xp.ceil(target - x), 0.0))) if x.size else 0
    fact = math.factorial(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(steps):                                   # n!·(x + k)⁻⁽ⁿ⁺¹⁾
            below = y < target
            acc = acc + xp.where(below, fact / y ** (n + 1), 0.0)
            y = xp.where(below, y + 1.0, y)
    tail = math.factorial(n - 1) / y ** n + fact / (2 * y ** (n + 1))
    power = 1.0 / y ** (n + 2)
    inv2 = 1.0 / (y * y)
    for k, b in enumerate(_BERNOULLI, start=1):
        tail = tail + b * math.factorial(2 * k + n - 1) / math.factorial(2 * k) * power
        power = power * inv2
    out = sign * (acc + tail)
    pole = (x <= 0) & (x == xp.floor(x))
    return xp.where(pole, xp.inf if n % 2 else xp.nan, out)


class Lgamma(Function):
    """y = log|Γ(x)|.   VJP: gx = gy·ψ(x)."""

    amp_policy = "float32"

    @ieee
    def forward(self, xp, x):
        return _float64(lgamma_array)(xp, x)

    def backward(self, gy):
        return gy * digamma(self.inputs[0])


class Digamma(Function):
    """y = ψ(x) = Γ'(x)/Γ(x).   VJP: gx = gy·ψ⁽¹⁾(x)."""

    amp_policy = "float32"

    @ieee
    def forward(self, xp, x):
        return _float64(digamma_array)(xp, x)

    def backward(self, gy):
        return gy * polygamma(1, self.inputs[0])


class Polygamma(Function):
    """y = ψ⁽ⁿ⁾(x), n ≥ 1.   VJP: gx = gy·ψ⁽ⁿ⁺¹⁾(x)."""

    amp_policy = "float32"

    def __init__(self, n):
        self.n = n

    @ieee
    def forward(self, xp, x):
        n = self.n
        return _float64(lambda xp, x64: polygamma_array(xp, n, x64))(xp, x)

    def backward(self, gy):
        return gy * polygamma(self.n + 1, self.inputs[0])


def lgamma(input):
    """log|Γ(x)| (:class:`Lgamma`).

    >>> import minigrad as mg
    >>> mg.lgamma(mg.tensor([1.0, 5.0, 0.5])).tolist()     # 0, log 24, log √π
    [0.0, 3.178053855895996, 0.5723649263381958]
    """
    return Lgamma()(input)


def digamma(input):
    """ψ(x), the derivative of log Γ (:class:`Digamma`)."""
    return Digamma()(input)


def polygamma(n, input):
    """ψ⁽ⁿ⁾(x); n = 0 is :func:`digamma` (:class:`Polygamma`)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"polygamma: n must be a non-negative int, got {n!r}")
    return digamma(input) if n == 0 else Polygamma(n)(input)


def mvlgamma(input, p):
    r"""The multivariate log-gamma log Γ_p(x) = p(p − 1)/4 · log π + Σ_{j<p} log Γ(x − j/2)
    (PyTorch's ``mvlgamma``; every x must exceed (p − 1)/2)."""
    if isinstance(p, bool) or not isinstance(p, int) or p < 1:
        raise ValueError(f"mvlgamma: p must be a positive int, got {p!r}")
    if not bool((to_float(input.data) > (p - 1) / 2).all()):
        raise ValueError(f"mvlgamma: all elements must be greater than (p-1)/2 = "
                         f"{(p - 1) / 2}")
    total = lgamma(input)
    for j in range(1, p):
        total = total + lgamma(input - j / 2)
    return total + p * (p - 1) / 4 * math.log(math.pi)
