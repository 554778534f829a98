r"""``minigrad.special``: PyTorch's ``torch.special`` names, differentiable.

Most are other names for ops that live elsewhere (``expit`` is the sigmoid, ``gammaln``
is ``lgamma``, ``psi`` is ``digamma``...); the ones defined here are compositions:

==================  ====================================================================
``ndtr(x)``          Φ(x) = ½ erfc(−x/√2), the standard normal CDF
``ndtri(p)``         Φ⁻¹(p) = √2·erfinv(2p − 1)
``log_ndtr(x)``      log Φ(x), accurate in both tails (see its docstring)
``entr(x)``          −x log x (0 at 0, −∞ for x < 0)
``xlog1py(x, y)``    x·log(1 + y), 0 where x = 0
``multigammaln``     the multivariate log-gamma (``mvlgamma``)
==================  ====================================================================

Examples
--------
>>> import minigrad as mg
>>> f"{mg.special.ndtr(mg.tensor(1.96, dtype=mg.float64)).item():.6f}"
'0.975002'
>>> mg.special.entr(mg.tensor([0.0, 0.5, 1.0])).tolist()
[0.0, 0.3465735912322998, -0.0]
"""
from __future__ import annotations

import math

from . import dtypes as _dt
from .ops.activation import sigmoid as expit
from .ops.elementwise import const, erfc, erfinv, logit, sinc, where, xlogy
from .ops.reduction import log_softmax, logsumexp, softmax
from .ops.special import (
    digamma,
    i0,
    i0e,
    i1,
    i1e,
    igamma,
    igammac,
    lgamma,
    mvlgamma,
    polygamma,
)
from .tensor import Tensor

__all__ = ["expit", "logit", "erf", "erfc", "erfinv", "gammaln", "digamma", "psi",
           "polygamma", "multigammaln", "log1p", "expm1", "exp2", "xlogy", "xlog1py", "sinc",
           "entr", "logsumexp", "softmax", "log_softmax", "ndtr", "ndtri", "log_ndtr",
           "round"]

gammaln = lgamma
psi = digamma
multigammaln = mvlgamma


def erf(input):
    return input.erf()


def log1p(input):
    return input.log1p()


def expm1(input):
    return input.expm1()


def exp2(input):
    return input.exp2()


def round(input, decimals=0):  # noqa: A001  (PyTorch's name)
    return input.round(decimals)


def ndtr(input):
    """Φ(x) = ½ erfc(−x/√2): exact in the lower tail, where 1 + erf would cancel."""
    return 0.5 * erfc(-input / math.sqrt(2))


def ndtri(input):
    """Φ⁻¹(p) = √2·erf⁻¹(2p − 1) (±inf at 1 and 0, nan outside [0, 1])."""
    return math.sqrt(2) * erfinv(2 * input - 1)


def log_ndtr(input):
    """log Φ(x) with its digits everywhere: log1p(−½ erfc(x/√2)) above x = −1 (log(1 − ε)
    would lose them), log(½ erfc(−x/√2)) on [−20, −1], and below −20 (erfc underflows
    near −38) the asymptotic series −x²/2 − log(−x√(2π)) + log(1 − 1/x² + 3/x⁴ − …),
    ten terms. Each branch sees a harmless stand-in where it is not used (no NaN in the
    gradient)."""
    data = input.data
    high, tail = const(data >= -1), const(data < -20)
    x_high = where(high, input, 0.0)
    x_mid = where(high, -2.0, where(tail, -2.0, input))
    x_tail = where(tail, input, -30.0)
    upper = (-0.5 * erfc(x_high / math.sqrt(2))).log1p()
    middle = (0.5 * erfc(-x_mid / math.sqrt(2))).log()
    inv2 = 1 / (x_tail * x_tail)
    series, term = 1.0, 1.0
    for k in range(1, 11):                           # Σ (−1)ᵏ (2k − 1)!! / x²ᵏ
        term = term * inv2 * (-(2 * k - 1))
        series = series + term
    lower = -0.5 * x_tail * x_tail - (-x_tail).log() - 0.5 * math.log(2 * math.pi) \
        + series.log()
    return where(high, upper, where(tail, lower, middle))


def entr(input):
    """−x log x elementwise: 0 at x = 0, −∞ for x < 0 (gradient −(1 + log x))."""
    x = input
    data = x.data
    inside = where(const(data > 0), x, 1.0)
    value = -inside * inside.log()
    value = where(const(data == 0), 0.0, value)
    return where(const(data < 0), float("-inf"), value)


def xlog1py(input, other):
    """x·log1p(y), 0 where x = 0 (even where log1p(y) is −∞ or nan), broadcasting;
    log1p keeps the digits of small y that 1 + y would round away. Gradients as
    PyTorch's: ∂/∂x = log1p(y) (0 where x = 0 and y ≤ −1), ∂/∂y = x/(1 + y)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"xlog1py: input must be a Tensor, got {type(input).__name__}")
    y = other if isinstance(other, Tensor) else input.new_tensor(other)
    common = _dt.result_type(input.data, y.data)
    if not _dt.is_floating(common):
        common = _dt.get_default_dtype()
    input, y = input.to(dtype=common), y.to(dtype=common)   # log1p in the result's dtype
    # where x = 0 and log1p(y) is −∞ or nan (y ≤ −1) it is replaced by log1p(0): the
    # product is then exactly 0 and ∂/∂x is 0 there, as PyTorch's; elsewhere ∂/∂x = log1p(y)
    y_data = y.data
    bad = const((input.data == 0) & ~(y_data > -1))
    return input * where(bad, 0.0, y).log1p()


# the modified Bessel functions of the first kind, I₀ and I₁ and their scaled forms, and
# the regularized incomplete gamma functions P(a, x) and Q(a, x) (minigrad/ops/special.py)
__all__ += ["i0", "i0e", "i1", "i1e", "gammainc", "gammaincc"]
gammainc, gammaincc = igamma, igammac
