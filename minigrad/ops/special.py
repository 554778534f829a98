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
  ψ(x) = ψ(1 − x) − π/tan πx. ψ(±0) = ∓∞, as PyTorch and SciPy; the negative integers,
  where ψ has no limit, give nan.
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
from .elementwise import const, erfc_array, promote, to_float, where

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
    out = xp.where(pole | (x == xp.inf), xp.inf, xp.where(small, reflected, big))
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
    steps = int(xp.max(xp.where(y < 10.0, xp.ceil(10.0 - y), 0.0))) if y.size else 0  # NaN: 0
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
    # at ±0 the limit is ∓∞ (PyTorch and SciPy), at the negative integers there is none
    zero = xp.where(xp.signbit(x), xp.inf, -xp.inf)
    return xp.where(x == 0, zero, xp.where(pole, xp.nan, psi))


def _cot_derivative(xp, n, x):
    """dⁿ/dxⁿ cot(πx) as a polynomial in c = cot(πx): P₀(c) = c, P_{k+1} = −π(1 + c²)P_k'(c)
    (since dc/dx = −π(1 + c²)); c from the fractional part of x, where cot is exact."""
    poly = np.poly1d([1.0, 0.0])
    for _ in range(n):
        poly = -math.pi * np.poly1d([1.0, 0.0, 1.0]) * poly.deriv()
    with np.errstate(divide="ignore", invalid="ignore"):
        c = 1.0 / xp.tan(math.pi * (x - xp.round(x)))
    out = xp.zeros(x.shape)
    for coefficient in poly.coeffs:                              # Horner
        out = out * c + coefficient
    return out


_REFLECT_BELOW = -20.0  # ψ⁽ⁿ⁾ of x below this comes from 1 − x (not |x| recurrence steps)


def polygamma_array(xp, n, x):
    """ψ⁽ⁿ⁾(x), n ≥ 1, of a float64 array (see the module notes). Far below 0 it uses the
    reflection ψ⁽ⁿ⁾(x) = (−1)ⁿ ψ⁽ⁿ⁾(1 − x) − π dⁿ/dxⁿ cot(πx), so the cost does not grow
    with |x|."""
    far = xp.isfinite(x) & (x < _REFLECT_BELOW)
    if bool(far.any()):
        reflected = polygamma_array(xp, n, xp.where(far, 1.0 - x, x))
        cot = _cot_derivative(xp, n, xp.where(far, x, 0.5))
        out = xp.where(far, (-1.0) ** n * reflected - math.pi * cot, reflected)
        pole = (x <= 0) & (x == xp.floor(x))
        return xp.where(pole, xp.inf if n % 2 else xp.nan, out)
    sign = 1.0 if n % 2 else -1.0                                # (−1)ⁿ⁺¹
    target = 10.0 + n
    y = x
    acc = xp.zeros(x.shape)
    short = xp.isfinite(x) & (x < target)                        # not NaN nor −inf
    steps = int(xp.max(xp.where(short, xp.ceil(target - x), 0.0))) if x.size else 0
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

    opmath = True

    amp_policy = "float32"

    @ieee
    def forward(self, xp, x):
        return _float64(lgamma_array)(xp, x)

    def backward(self, gy):
        return gy * digamma(self.inputs[0])


class Digamma(Function):
    """y = ψ(x) = Γ'(x)/Γ(x).   VJP: gx = gy·ψ⁽¹⁾(x)."""

    opmath = True

    amp_policy = "float32"

    @ieee
    def forward(self, xp, x):
        return _float64(digamma_array)(xp, x)

    def backward(self, gy):
        return gy * polygamma(1, self.inputs[0])


class Polygamma(Function):
    """y = ψ⁽ⁿ⁾(x), n ≥ 1.   VJP: gx = gy·ψ⁽ⁿ⁺¹⁾(x)."""

    opmath = True

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


# ---- modified Bessel functions of the first kind, and the incomplete gamma functions
#
# =========  ==================================  ==========================================
# op         y                                   VJP
# =========  ==================================  ==========================================
# I0         I₀(x)                               gx = gy·I₁(x)
# I0e        e^{−|x|}·I₀(x)                      gx = gy·(i1e(x) − sign(x)·y)
# I1         I₁(x)                               gx = gy·(I₀(x) − I₁(x)/x) (a series near 0)
# I1e        e^{−|x|}·I₁(x)                      gx = gy·(i0e(x) − y·(sign(x) + 1/x)) (idem)
# Igamma     P(a, x) = γ(a, x)/Γ(a)              gx = gy·x^{a−1}e^{−x}/Γ(a); none for a
# Igammac    Q(a, x) = 1 − P(a, x)               gx = −gy·x^{a−1}e^{−x}/Γ(a); none for a
# =========  ==================================  ==========================================
#
# The rules are PyTorch's (its derivatives.yaml), so these differentiate again. All are
# computed in float64 on the array module and rounded to the input's dtype.

__all__ += ["I0", "I0e", "I1", "I1e", "Igamma", "Igammac", "i0", "i0e", "i1", "i1e",
            "igamma", "igammac", "i0_array", "i0e_array", "i1_array", "i1e_array",
            "gammainc_array", "gammaincc_array"]

# Chebyshev coefficients of Cephes' i0.c and i1.c (S. L. Moshier, Cephes Math Library
# 2.8, as SciPy and PyTorch use them), highest order first: e^{−x}·I₀(x) (A) and
# e^{−x}·I₁(x)/x (A) in Tₖ(x/2 − 2) on [0, 8]; e^{−x}·√x·I₀(x) and e^{−x}·√x·I₁(x) (B)
# in Tₖ(32/x − 2) on (8, ∞). About 1e-16 relative in float64.
_I0E_A = (-4.41534164647933937950e-18, 3.33079451882223809783e-17,
          -2.43127984654795469359e-16, 1.71539128555513303061e-15,
          -1.16853328779934516808e-14, 7.67618549860493561688e-14,
          -4.85644678311192946090e-13, 2.95505266312963983461e-12,
          -1.72682629144155570723e-11, 9.67580903537323691224e-11,
          -5.18979560163526290666e-10, 2.65982372468238665035e-9,
          -1.30002500998624804212e-8, 6.04699502254191894932e-8,
          -2.67079385394061173391e-7, 1.11738753912010371815e-6,
          -4.41673835845875056359e-6, 1.64484480707288970893e-5,
          -5.75419501008210370398e-5, 1.88502885095841655729e-4,
          -5.76375574538582365885e-4, 1.63947561694133579842e-3,
          -4.32430999505057594430e-3, 1.05464603945949983183e-2,
          -2.37374148058994688156e-2, 4.93052842396707084878e-2,
          -9.49010970480476444210e-2, 1.71620901522208775349e-1,
          -3.04682672343198398683e-1, 6.76795274409476084995e-1)
_I0E_B = (-7.23318048787475395456e-18, -4.83050448594418207126e-18,
          4.46562142029675999901e-17, 3.46122286769746109310e-17,
          -2.82762398051658348494e-16, -3.42548561967721913462e-16,
          1.77256013305652638360e-15, 3.81168066935262242075e-15,
          -9.55484669882830764870e-15, -4.15056934728722208663e-14,
          1.54008621752140982691e-14, 3.85277838274214270114e-13,
          7.18012445138366623367e-13, -1.79417853150680611778e-12,
          -1.32158118404477131188e-11, -3.14991652796324136454e-11,
          1.18891471078464383424e-11, 4.94060238822496958910e-10,
          3.39623202570838634515e-9, 2.26666899049817806459e-8,
          2.04891858946906374183e-7, 2.89137052083475648297e-6,
          6.88975834691682398426e-5, 3.36911647825569408990e-3,
          8.04490411014108831608e-1)
_I1E_A = (2.77791411276104639959e-18, -2.11142121435816608115e-17,
          1.55363195773620046921e-16, -1.10559694773538630805e-15,
          7.60068429473540693410e-15, -5.04218550472791168711e-14,
          3.22379336594557470981e-13, -1.98397439776494371520e-12,
          1.17361862988909016308e-11, -6.66348972350202774223e-11,
          3.62559028155211703701e-10, -1.88724975172282928790e-9,
          9.38153738649577178388e-9, -4.44505912879632808065e-8,
          2.00329475355213526229e-7, -8.56872026469545474066e-7,
          3.47025130813767847674e-6, -1.32731636560394358279e-5,
          4.78156510755005422638e-5, -1.61760815825896745588e-4,
          5.12285956168575772895e-4, -1.51357245063125314899e-3,
          4.15642294431288815669e-3, -1.05640848946261981558e-2,
          2.47264490306265168283e-2, -5.29459812080949914269e-2,
          1.02643658689847095384e-1, -1.76416518357834055153e-1,
          2.52587186443633654823e-1)
_I1E_B = (7.51729631084210481353e-18, 4.41434832307170791151e-18,
          -4.65030536848935832153e-17, -3.20952592199342395980e-17,
          2.96262899764595013876e-16, 3.30820231092092828324e-16,
          -1.88035477551078244854e-15, -3.81440307243700780478e-15,
          1.04202769841288027642e-14, 4.27244001671195135429e-14,
          -2.10154184277266431302e-14, -4.08355111109219731823e-13,
          -7.19855177624590851209e-13, 2.03562854414708950722e-12,
          1.41258074366137813316e-11, 3.25260358301548823856e-11,
          -1.89749581235054123450e-11, -5.58974346219658380687e-10,
          -3.83538038596423702205e-9, -2.63146884688951950684e-8,
          -2.51223623787020892529e-7, -3.88256480887769039346e-6,
          -1.10588938762623716291e-4, -9.76109749136146840777e-3,
          7.78576235018280120474e-1)


def _chbevl(xp, t, coeffs):
    """½(b₀ − b₂) of Clenshaw's recurrence bₖ = t·bₖ₊₁ − bₖ₊₂ + cₖ: the Chebyshev series
    Σ' cₖ Tₖ(t/2) with the coefficients highest order first (Cephes' ``chbevl``)."""
    b0, b1, b2 = xp.full(t.shape, coeffs[0]), xp.zeros(t.shape), xp.zeros(t.shape)
    for c in coeffs[1:]:
        b2, b1 = b1, b0
        b0 = t * b1 - b2 + c
    return 0.5 * (b0 - b2)


def _bessel_scaled(xp, x, inner, outer, order):
    """e^{−|x|}·I_order(|x|) of a float64 array: the series of ``inner`` on |x| ≤ 8 (times
    |x| for order 1), of ``outer`` over √|x| beyond. Each series sees a harmless stand-in
    where it is not used."""
    a = xp.abs(x)
    small = a <= 8
    a_in, a_out = xp.where(small, a, 8.0), xp.where(small, 8.0, a)
    near = _chbevl(xp, a_in / 2 - 2, inner) * (a_in if order else 1.0)
    far = _chbevl(xp, 32 / a_out - 2, outer) / xp.sqrt(a_out)
    return xp.where(small, near, far)


def i0e_array(xp, x):
    """e^{−|x|}·I₀(x) of a float64 array (0 at ±inf)."""
    return _bessel_scaled(xp, x, _I0E_A, _I0E_B, 0)


def i1e_array(xp, x):
    """e^{−|x|}·I₁(x) of a float64 array (I₁ is odd; ±0 at ±inf)."""
    y = _bessel_scaled(xp, x, _I1E_A, _I1E_B, 1)
    return xp.where(x < 0, -y, y)


def i0_array(xp, x):
    """I₀(x) = e^{|x|}·i0e(x) of a float64 array; inf beyond |x| ≈ 709.8, where e^{|x|}
    overflows (and at ±inf, where PyTorch's formula gives inf·0 = nan)."""
    y = xp.exp(xp.abs(x)) * i0e_array(xp, x)
    return xp.where(xp.isinf(x), xp.inf, y)


def i1_array(xp, x):
    """I₁(x) = e^{|x|}·i1e(x) of a float64 array; ±inf at ±inf (PyTorch: nan)."""
    y = xp.exp(xp.abs(x)) * i1e_array(xp, x)
    return xp.where(xp.isinf(x), x, y)


class I0(Function):
    """y = I₀(x), the modified Bessel function of the first kind of order 0.
    VJP: gx = gy·I₁(x)."""

    opmath = True

    @ieee
    def forward(self, xp, x):
        return _float64(i0_array)(xp, x)

    def backward(self, gy):
        return gy * i1(self.inputs[0])


class I0e(Function):
    """y = e^{−|x|}·I₀(x).   VJP: gx = gy·(i1e(x) − sign(x)·y)."""

    opmath = True

    save_output = True

    @ieee
    def forward(self, xp, x):
        return _float64(i0e_array)(xp, x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * (i1e(x) - x.sign() * self.saved_output)


# I₁'(x) = I₀(x) − I₁(x)/x = Σₖ (2k + 1)/(2k + 2)·(x/2)^{2k}/(k!)², k = 0…10: for |x| < 1
# the next term is below 1e-20 of the sum.
_I1_PRIME_SERIES = tuple((2 * k + 1) / (2 * k + 2) / (4 ** k * math.factorial(k) ** 2)
                         for k in range(11))


def _i1_prime_parts(x):
    """(near, series, xf): the mask |x| < 1, I₁'(x) by its Taylor series there (where
    I₀(x) − I₁(x)/x cancels: its second derivative would lose all digits near 0), and x
    elsewhere with a stand-in 1 inside, for the closed forms. Each form sees only its own
    points, so no 0/0 reaches a higher derivative."""
    near = abs(x.data) < 1
    xn = where(near, x, 0.0)
    xf = where(near, 1.0, x)
    u = xn * xn
    series = _I1_PRIME_SERIES[-1]
    for c in reversed(_I1_PRIME_SERIES[:-1]):
        series = series * u + c
    return near, series, xf


class I1(Function):
    """y = I₁(x), of order 1.   VJP: gx = gy·I₁'(x), I₁'(x) = I₀(x) − I₁(x)/x for
    |x| ≥ 1 and its Taylor series below (½ at 0), exact to any order. A NaN x gets NaN
    (PyTorch: ½)."""

    opmath = True

    @ieee
    def forward(self, xp, x):
        return _float64(i1_array)(xp, x)

    def backward(self, gy):
        (x,) = self.inputs
        near, series, xf = _i1_prime_parts(x)
        return gy * where(near, series, i0(xf) - i1(xf) / xf)


class I1e(Function):
    """y = e^{−|x|}·I₁(x).   VJP: gx = gy·(i0e(x) − y·(sign(x) + 1/x)) for |x| ≥ 1, and
    gy·e^{−|x|}·(I₁'(x) − sign(x)·I₁(x)) with the series of I₁' below (½ at 0)."""

    opmath = True

    save_output = True

    @ieee
    def forward(self, xp, x):
        return _float64(i1e_array)(xp, x)

    def backward(self, gy):
        (x,) = self.inputs
        near, series, xf = _i1_prime_parts(x)
        sign = x.sign()
        inner = (-x.abs()).exp() * (series - sign * i1(where(near, x, 0.0)))
        return gy * where(near, inner, i0e(xf) - self.saved_output * (sign + 1 / xf))


def i0(input):
    """I₀(x), the modified Bessel function of the first kind of order 0 (:class:`I0`);
    integers compute in the default float dtype.

    >>> import minigrad as mg
    >>> [round(v, 6) for v in mg.i0(mg.tensor([0.0, 1.0, -2.0])).tolist()]
    [1.0, 1.266066, 2.279585]
    """
    return I0()(input)


def i0e(input):
    """e^{−|x|}·I₀(x), without the overflow of I₀ (:class:`I0e`)."""
    return I0e()(input)


def i1(input):
    """I₁(x), the modified Bessel function of the first kind of order 1 (:class:`I1`)."""
    return I1()(input)


def i1e(input):
    """e^{−|x|}·I₁(x) (:class:`I1e`)."""
    return I1e()(input)


# The regularized incomplete gamma functions, after Cephes' igam.c as revised in SciPy
# (and ported to PyTorch's ATen/native/Math.h): the power series of P (DLMF 8.11.4), the
# series of Q for small x (DLMF 8.7.3) and the continued fraction of Q (DLMF 8.9.2),
# chosen by the same rules, with the prefactor xᵃe⁻ˣ/Γ(a) from Boost's Lanczos sum near
# x = a. Where minigrad differs: the uniform asymptotic expansion (DLMF 8.12.3) that
# SciPy uses for a > 20 with x near a is left out; the series and the fraction converge
# there too, in about 9√a terms, so a ≫ 1e4 gets slow, and a far from x loses digits
# like SciPy's (ε·a·log x in the exponent of the prefactor).
_MACHEP = 1.11022302462515654042e-16
_MAXLOG = 7.09782712893383996843e2
_BIG, _BIGINV = 4.503599627370496e15, 2.22044604925031308085e-16
_MAXITER = 100_000
_LANCZOS_G13 = 6.024680040776729583740234375
_LANCZOS_NUM = (0.006061842346248907, 0.5098416655656676, 19.519927882476175,
                449.9445569063168, 6955.999602515376, 75999.29304014542, 601859.6171681099,
                3481712.154980646, 14605578.087685067, 43338889.32467614, 86363131.2881386,
                103794043.11634454, 56906521.913471565)
_LANCZOS_DEN = (1.0, 66.0, 1925.0, 32670.0, 357423.0, 2637558.0, 13339535.0, 45995730.0,
                105258076.0, 150917976.0, 120543840.0, 39916800.0, 0.0)


def _horner(xp, t, coeffs):
    p = xp.full(t.shape, coeffs[0])
    for c in coeffs[1:]:
        p = p * t + c
    return p


def _lanczos_sum_expg_scaled(xp, a):
    """Boost's 13-term Lanczos sum scaled by e^g, a rational function of a > 0, evaluated
    in 1/a beyond 1 (no overflow of a¹²), as SciPy's ``ratevl``."""
    big = a > 1
    t = xp.where(big, 1 / a, a)
    forward = _horner(xp, t, _LANCZOS_NUM) / _horner(xp, t, _LANCZOS_DEN)
    backward = _horner(xp, t, _LANCZOS_NUM[::-1]) / _horner(xp, t, _LANCZOS_DEN[::-1])
    return xp.where(big, backward, forward)


def _igam_fac(xp, a, x):
    """xᵃe⁻ˣ/Γ(a) for a, x > 0: from log Γ where x is far from a, else from the Lanczos
    sum, which keeps its digits where the exponent a·log x − x − log Γ(a) cancels."""
    far = xp.abs(a - x) > 0.4 * xp.abs(a)
    ax = a * xp.log(x) - x - lgamma_array(xp, a)
    far_value = xp.where(ax < -_MAXLOG, 0.0, xp.exp(ax))
    fac = a + _LANCZOS_G13 - 0.5
    res = xp.sqrt(fac / math.e) / _lanczos_sum_expg_scaled(xp, a)
    numfac = (x - a - _LANCZOS_G13 + 0.5) / fac
    moderate = res * xp.exp(a - x) * (x / fac) ** a
    large = res * xp.exp(a * (xp.log1p(numfac) - numfac) + x * (0.5 - _LANCZOS_G13) / fac)
    return xp.where(far, far_value, xp.where((a < 200) & (x < 200), moderate, large))


def _converge(xp, state, step, compact=None):
    """Iterate ``step(state) -> (state, done)`` on 1-d arrays; each element keeps the state
    of the step that set its ``done`` (or its last, after _MAXITER steps). An element with
    a NaN in its starting state is done at once (it would never converge, and its result
    is NaN whatever the state).

    Two ways, the same numbers: ``compact`` (NumPy's default) drops the finished elements
    every step, so each series runs only as long as its slowest element needs it; the
    other (CuPy's) keeps the arrays whole and freezes finished elements with ``where``,
    asking the device whether any is still running only every 16 steps: boolean indexing
    on a GPU is a host sync and a compaction per step, which made the CUDA igamma
    gradchecks outlast their time limit. Returns the final state, in the original order."""
    compact = xp is np if compact is None else compact
    n = state[0].shape[0]
    running = ~xp.any(xp.stack([xp.isnan(s) for s in state]), axis=0) if n else \
        xp.zeros(0, dtype=bool)
    if not compact:
        for i in range(_MAXITER):
            if i % 16 == 0 and not bool(running.any()):
                break
            new, done = step(state)
            state = [xp.where(running, a, b) for a, b in zip(new, state)]
            running = running & ~done
        return state
    out = [s.copy() for s in state]
    idx = xp.arange(n)[running]
    state = [s[running] for s in state]
    for _ in range(_MAXITER):
        if idx.shape[0] == 0:
            break
        state, done = step(state)
        finished = idx[done]
        for o, s in zip(out, state):
            o[finished] = s[done]
        keep = ~done
        idx, state = idx[keep], [s[keep] for s in state]
    for o, s in zip(out, state):  # (not converged within _MAXITER: the last terms)
        o[idx] = s
    return out


def _igam_series(xp, a, x):
    """P(a, x) = xᵃe⁻ˣ/Γ(a + 1)·Σₙ xⁿ/((a + 1)⋯(a + n)) (DLMF 8.11.4)."""
    ax = _igam_fac(xp, a, x)
    one = xp.ones(a.shape)

    def step(state):
        r, c, total, xs = state
        r = r + 1
        c = c * xs / r
        total = total + c
        return [r, c, total, xs], c <= _MACHEP * total

    _, _, total, _ = _converge(xp, [a.copy(), one, one.copy(), x], step)
    return xp.where(ax == 0, 0.0, total * ax / a)


def _igamc_series(xp, a, x):
    """Q(a, x) for small x: 1 − xᵃ/Γ(a + 1) − xᵃ/Γ(a)·Σₙ₌₁ (−x)ⁿ/(n!(a + n))
    (DLMF 8.7.3), without the cancellation of 1 − P."""
    zero = xp.zeros(a.shape)

    def step(state):
        n, fac, total, xs, ab = state
        n = n + 1
        fac = fac * -xs / n
        term = fac / (ab + n)
        total = total + term
        return [n, fac, total, xs, ab], xp.abs(term) <= _MACHEP * xp.abs(total)

    _, _, total, _, _ = _converge(xp, [zero, zero + 1, zero.copy(), x, a], step)
    logx = xp.log(x)
    return -xp.expm1(a * logx - lgamma_array(xp, 1 + a)) \
        - xp.exp(a * logx - lgamma_array(xp, a)) * total


def _igamc_fraction(xp, a, x):
    """Q(a, x) = xᵃe⁻ˣ/Γ(a)·(1/(x + 1 − a − 1·(1 − a)/(x + 3 − a − ⋯))), the continued
    fraction (DLMF 8.9.2) by its convergents pₖ/qₖ, rescaled when they grow large."""
    ax = _igam_fac(xp, a, x)
    y = 1 - a
    z = x + y + 1
    pkm2, qkm2, pkm1, qkm1 = xp.ones(a.shape), x.copy(), x + 1, z * x
    c = xp.zeros(a.shape)

    def step(state):
        c, y, z, pkm2, pkm1, qkm2, qkm1, ans = state
        c, y, z = c + 1, y + 1, z + 2
        yc = y * c
        pk = pkm1 * z - pkm2 * yc
        qk = qkm1 * z - qkm2 * yc
        nonzero = qk != 0
        r = pk / xp.where(nonzero, qk, 1.0)
        t = xp.where(nonzero, xp.abs((ans - r) / r), 1.0)
        ans = xp.where(nonzero, r, ans)
        scale = xp.where(xp.abs(pk) > _BIG, _BIGINV, 1.0)
        state = [c, y, z, pkm1 * scale, pk * scale, qkm1 * scale, qk * scale, ans]
        return state, t <= _MACHEP

    ans = _converge(xp, [c, y, z, pkm2, pkm1, qkm2, qkm1, pkm1 / qkm1], step)[-1]
    return xp.where(ax == 0, 0.0, ans * ax)


# Taylor coefficients in η of Temme's c₀(η) and c₁(η) (DLMF 8.12.11-8.12.12; the first
# ones are DLMF 8.12.13), from the reversion of ½η² = μ − log(1 + μ) in exact fractions
# (the same numbers as the first two rows of Temme's d table in Cephes and SciPy's igam).
_TEMME_C0 = (-1 / 3, 1 / 12, -2 / 135, 1 / 864, 1 / 2835, -139 / 777600, 1 / 25515,
             -571 / 261273600, -281 / 151559100, 163879 / 197522841600,
             -5221 / 29554024500, 5246819 / 782190452736000, 5459 / 531972441000,
             -534703531 / 122021710626816000, 91207079 / 99704934754425000,
             -4483131259 / 175711263302615040000)
_TEMME_C1 = (-1 / 540, -1 / 288, 1 / 378, -77 / 77760, 1 / 4860, -1 / 2488320,
             -2743 / 151559100, 41969 / 5486745600, -11 / 6823440, 47207 / 10158317568000,
             3761 / 27280638000, -3599669 / 62575236218880)
# From this shape on, and for ½a ≤ x ≤ 2a, Temme's expansion replaces the series, which
# need about 9√a terms at x ≈ a and lose a digit every decade of a (2e-10 relative at 1e6,
# and P(1e10, 1e10) came out 0.34, not ½). Its first omitted term, c₂(η)/a² with
# c₂(0) = 25/6048, is below 1e-16 of the result here.
_TEMME_MIN_A = 1e5


def _igam_temme(xp, a, x, upper):
    """P(a, x), or Q(a, x) (``upper``), for large a by Temme's uniform asymptotic expansion
    (N. M. Temme, SIAM J. Math. Anal. 10 (1979) 757-766; DLMF 8.12.8-8.12.10)::

        λ = x/a,  ½η² = λ − 1 − log λ,  η of the sign of λ − 1
        Q(a, x) = ½ erfc(η√(a/2)) + R,   P(a, x) = ½ erfc(−η√(a/2)) − R
        R ≈ e^{−aη²/2}/√(2πa) · (c₀(η) + c₁(η)/a)
        c₀(η) = 1/(λ − 1) − 1/η,  c₁(η) = 1/η³ − 1/(λ − 1)³ − 1/(λ − 1)² − 1/(12(λ − 1))

    The closed forms of c₀ and c₁ cancel as η → 0: below |η| = ½ they come from their
    Taylor series (_TEMME_C0, _TEMME_C1)."""
    mu = (x - a) / a                                            # λ − 1
    half_eta2 = xp.maximum(mu - xp.log1p(mu), 0.0)               # ½η²
    eta = xp.sign(mu) * xp.sqrt(2 * half_eta2)
    near = xp.abs(eta) < 0.5
    m = xp.where(near, 1.0, mu)                                 # (no 1/0 where unused)
    e = xp.where(near, 1.0, eta)
    c0 = xp.where(near, _horner(xp, eta, _TEMME_C0[::-1]), 1 / m - 1 / e)
    c1 = xp.where(near, _horner(xp, eta, _TEMME_C1[::-1]),
                  1 / e ** 3 - 1 / m ** 3 - 1 / m ** 2 - 1 / (12 * m))
    r = xp.exp(-a * half_eta2) / xp.sqrt(2 * math.pi * a) * (c0 + c1 / a)
    z = eta * xp.sqrt(a / 2)
    return erfc_array(xp, z) / 2 + r if upper else erfc_array(xp, -z) / 2 - r


def _incomplete_gamma(xp, a, x, upper):
    """P(a, x) (``upper=False``) or Q(a, x) of float64 arrays, broadcast together (for
    a ≥ 1e5 and ½a ≤ x ≤ 2a by :func:`_igam_temme`), with SciPy's values on the boundary:
    nan for a < 0 or x < 0; P(0, x > 0) = 1, P(a, 0) = 0, P(∞, x) = 0, P(a, ∞) = 1, nan for
    (0, 0) and (∞, ∞); Q = 1 − P there."""
    a, x = xp.broadcast_arrays(a, x)
    shape = a.shape
    a, x = a.reshape(-1), x.reshape(-1)
    lower = xp.full(a.shape, xp.nan)
    lower = xp.where((a == 0) & (x > 0), 1.0, lower)
    lower = xp.where((x == 0) & (a > 0), 0.0, lower)
    lower = xp.where((a == xp.inf) & (x > 0) & xp.isfinite(x), 0.0, lower)
    lower = xp.where((x == xp.inf) & (a > 0) & xp.isfinite(a), 1.0, lower)
    out = 1 - lower if upper else lower
    large = (a >= _TEMME_MIN_A) & (x >= 0.5 * a) & (x <= 2 * a) \
        & xp.isfinite(a) & xp.isfinite(x)     # (2a overflows to inf for a near 1e308)
    if bool(large.any()):
        out[large] = _igam_temme(xp, a[large], x[large], upper)
    regular = (a > 0) & (x > 0) & xp.isfinite(a) & xp.isfinite(x) & ~large
    ar, xr = a[regular], x[regular]
    # which expansion: P by its series, else Q by the continued fraction (x > 1.1) or by
    # its series (small x); Cephes' choice for igamc, and for igam P unless x > max(1, a)
    if upper:
        logx = xp.log(xp.minimum(xr, 0.5))
        use_p = ((xr > 1.1) & (xr < ar)) | ((xr <= 0.5) & (-0.4 / logx < ar)) \
            | ((xr > 0.5) & (xr <= 1.1) & (xr * 1.1 < ar))
    else:
        use_p = ~((xr > 1) & (xr > ar))
    use_cf = (xr > 1.1) & ~use_p
    use_qs = ~use_p & ~use_cf
    value = xp.empty(ar.shape)
    for mask, f in ((use_p, _igam_series), (use_cf, _igamc_fraction),
                    (use_qs, _igamc_series)):
        if bool(mask.any()):
            value[mask] = f(xp, ar[mask], xr[mask])
    wanted = use_p != upper            # computed the function asked for, or its complement
    out[regular] = xp.where(wanted, value, 1 - value)
    return out.reshape(shape)


def gammainc_array(xp, a, x):
    """P(a, x), the regularized lower incomplete gamma function, of float64 arrays."""
    return _incomplete_gamma(xp, a, x, upper=False)


def gammaincc_array(xp, a, x):
    """Q(a, x) = 1 − P(a, x), the regularized upper incomplete gamma function."""
    return _incomplete_gamma(xp, a, x, upper=True)


def _gamma_density(a, x):
    """x^{a−1}e^{−x}/Γ(a), the derivative of P(a, x) in x, as a tensor expression in x (so
    that it is differentiated again). Its log (a − 1)·log x − x − log Γ(a) subtracts terms
    of size a·log a, which costs a relative 2e-9 of the density at a = 1e6 and 2e-5 at
    1e10; for a ≥ 100 it is taken instead from Stirling's series
    log Γ(a) = (a − ½)·log a − a + ½·log 2π + 1/(12a) − 1/(360a³) + 1/(1260a⁵) − …, as
    a·(log(1 + μ) − μ) − log x + ½·log a − ½·log 2π − 1/(12a) + 1/(360a³) − 1/(1260a⁵)
    with μ = (x − a)/a, whose error is a few ulp of a·μ."""
    plain = (a - 1) * x.log() - x - lgamma(a)
    large = (a.data >= 100) & (x.data > 0)
    if not bool(large.any()):
        return plain.exp()
    xp = a.xp
    big = xp.where(large, a.data, 100.0)      # (elsewhere finite stand-ins: the branch
    inv = 1 / big                             # not taken carries no 0·∞ back)
    xs = where(const(large), x, const(big.astype(x.dtype, copy=False)))
    mu = (xs - big) * inv
    series = inv / 12 - inv ** 3 / 360 + inv ** 5 / 1260
    stirling = big * (mu.log1p() - mu) - xs.log() \
        + (0.5 * xp.log(big) - 0.5 * math.log(2 * math.pi) - series)
    return where(const(large), stirling, plain).exp()


class Igamma(Function):
    r"""y = P(a, x) = (1/Γ(a))∫₀ˣ tᵃ⁻¹e⁻ᵗ dt for inputs (a, x), broadcasting.
    VJP: gx = gy·x^{a−1}e^{−x}/Γ(a), the integrand; ∂/∂a is not implemented, as in
    PyTorch: asking for it raises."""

    opmath = True

    upper = False

    @ieee
    def forward(self, xp, a, x):
        a, x = promote(a, x)
        f = gammaincc_array if self.upper else gammainc_array
        return f(xp, a.astype(np.float64), x.astype(np.float64)).astype(a.dtype, copy=False)

    def backward(self, gy):
        a, x = self.inputs
        if self.needs_input_grad[0]:
            raise NotImplementedError(
                f"{'igammac' if self.upper else 'igamma'}: no gradient with respect to input "
                "(the shape a), as in PyTorch; pass an a that does not require grad (e.g. "
                "a.detach()) to differentiate in other")
        density = _gamma_density(a, x)
        return None, -gy * density if self.upper else gy * density


class Igammac(Igamma):
    """y = Q(a, x) = 1 − P(a, x).   VJP: gx = −gy·x^{a−1}e^{−x}/Γ(a); none for a."""

    upper = True


def _incomplete_gamma_op(op, cls, input, other):
    from ..tensor import Tensor, _as_operand

    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{op}: input or other must be a Tensor")
    ref = input if isinstance(input, Tensor) else other
    a = input if isinstance(input, Tensor) else _as_operand(input, ref)
    x = other if isinstance(other, Tensor) else _as_operand(other, ref)
    common = _dt.result_type(a.data, x.data)    # integers promote, as in PyTorch
    if not _dt.is_floating(common):
        raise TypeError(f"{op}: expects floating-point tensors (or one integer and one "
                        f"floating), got {a.dtype} and {x.dtype} (as PyTorch)")
    return cls()(a, x)


def igamma(input, other):
    """P(a, x), the regularized lower incomplete gamma function, with a = ``input`` and
    x = ``other`` (:class:`Igamma`; PyTorch's ``igamma`` and ``special.gammainc``).

    >>> import minigrad as mg
    >>> a, x = mg.tensor([1.0, 2.0], dtype=mg.float64), mg.tensor([0.5, 3.0], dtype=mg.float64)
    >>> [round(v, 12) for v in mg.igamma(a, x).tolist()]    # 1 − e^{−½}, 1 − 4e^{−3}
    [0.393469340287, 0.800851726529]
    """
    return _incomplete_gamma_op("igamma", Igamma, input, other)


def igammac(input, other):
    """Q(a, x) = 1 − P(a, x), the regularized upper incomplete gamma function
    (:class:`Igammac`; PyTorch's ``igammac`` and ``special.gammaincc``)."""
    return _incomplete_gamma_op("igammac", Igammac, input, other)


# ---- the inverse of the standard normal CDF
#
# =========  ==================================  ==========================================
# Ndtri      Φ⁻¹(p)                              gx = gy·√(2π)·e^{y²/2} (= gy/φ(y))
# =========  ==================================  ==========================================

__all__ += ["Ndtri", "ndtri", "ndtri_array"]

# Cephes' ndtri.c (S. L. Moshier, Cephes Math Library 2.8, as SciPy and PyTorch use it),
# highest order first, the leading 1 of each denominator written out: Φ⁻¹(p) = √(2π)·
# (y + y·y²·P0(y²)/Q0(y²)) with y = p − ½ for e⁻² < p ≤ 1 − e⁻²; in the tails, with q the
# smaller of p and 1 − p and x = √(−2 log q), |Φ⁻¹| = x − log(x)/x − P(1/x)/(x·Q(1/x)),
# P1/Q1 for x < 8 and P2/Q2 beyond (q below e⁻³² ≈ 1.3e-14).
_NDTRI_P0 = (-5.99633501014107895267e1, 9.80010754185999661536e1,
             -5.66762857469070293439e1, 1.39312609387279679503e1,
             -1.23916583867381258016e0)
_NDTRI_Q0 = (1.0, 1.95448858338141759834e0, 4.67627912898881538453e0,
             8.63602421390890590575e1, -2.25462687854119370527e2,
             2.00260212380060660359e2, -8.20372256168333339912e1,
             1.59056225126211695515e1, -1.18331621121330003142e0)
_NDTRI_P1 = (4.05544892305962419923e0, 3.15251094599893866154e1,
             5.71628192246421288162e1, 4.40805073893200834700e1,
             1.46849561928858024014e1, 2.18663306850790267539e0,
             -1.40256079171354495875e-1, -3.50424626827848203418e-2,
             -8.57456785154685413611e-4)
_NDTRI_Q1 = (1.0, 1.57799883256466749731e1, 4.53907635128879210584e1,
             4.13172038254672030440e1, 1.50425385692907503408e1,
             2.50464946208309415979e0, -1.42182922854787788574e-1,
             -3.80806407691578277194e-2, -9.33259480895457427372e-4)
_NDTRI_P2 = (3.23774891776946035970e0, 6.91522889068984211695e0,
             3.93881025292474443415e0, 1.33303460815807542389e0,
             2.01485389549179081538e-1, 1.23716634817820021358e-2,
             3.01581553508235416007e-4, 2.65806974686737550832e-6,
             6.23974539184983293730e-9)
_NDTRI_Q2 = (1.0, 6.02427039364742014255e0, 3.67983563856160859403e0,
             1.37702099489081330271e0, 2.16236993594496635890e-1,
             1.34204006088543189037e-2, 3.28014464682127739104e-4,
             2.89247864745380683936e-6, 6.79019408009981274425e-9)
_EXP_MINUS_2 = 0.13533528323661269189


def ndtri_array(xp, p):
    """Φ⁻¹(p) of a float64 array (Cephes' ndtri): −inf at 0, inf at 1, nan outside [0, 1].
    About 1e-16 relative over (0, 1): the tails keep their digits, where √2·erf⁻¹(2p − 1)
    loses them to the rounding of 2p − 1 (and gives −inf below p ≈ 1e-17)."""
    upper = p > 1.0 - _EXP_MINUS_2
    q = xp.where(upper, 1.0 - p, p)
    central = q > _EXP_MINUS_2
    y = p - 0.5
    y2 = y * y
    x_central = (y + y * y2 * _horner(xp, y2, _NDTRI_P0) / _horner(xp, y2, _NDTRI_Q0)) \
        * math.sqrt(2 * math.pi)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = xp.sqrt(-2.0 * xp.log(xp.where(central, 0.5, q)))
        z = 1.0 / x
        x1 = z * xp.where(x < 8.0, _horner(xp, z, _NDTRI_P1) / _horner(xp, z, _NDTRI_Q1),
                          _horner(xp, z, _NDTRI_P2) / _horner(xp, z, _NDTRI_Q2))
        x_tail = x - xp.log(x) / x - x1
    out = xp.where(central, x_central, xp.where(upper, x_tail, -x_tail))
    out = xp.where(p == 0, -xp.inf, xp.where(p == 1, xp.inf, out))
    return xp.where((p >= 0) & (p <= 1), out, xp.nan)             # NaN fails both


class Ndtri(Function):
    """y = Φ⁻¹(p).   VJP: gx = gy·√(2π)·e^{y²/2}, the reciprocal of the density at y
    (PyTorch's rule), written with y so that it differentiates again."""

    opmath = True

    save_output = True

    @ieee
    def forward(self, xp, p):
        return _float64(ndtri_array)(xp, p)

    def backward(self, gy):
        y = self.saved_output
        return gy * math.sqrt(2 * math.pi) * (y * y * 0.5).exp()


def ndtri(input):
    """Φ⁻¹(p), the quantile function of the standard normal distribution (:class:`Ndtri`;
    PyTorch's ``special.ndtri``).

    >>> import minigrad as mg
    >>> round(mg.special.ndtri(mg.tensor(0.975, dtype=mg.float64)).item(), 9)
    1.959963985
    """
    return Ndtri()(input)
