r"""``minigrad.special``: PyTorch's ``torch.special`` names, differentiable.

Most are other names for ops that live elsewhere (``expit`` is the sigmoid, ``gammaln``
is ``lgamma``, ``psi`` is ``digamma``...); the ones defined here are compositions:

==================  ====================================================================
``ndtr(x)``          Φ(x) = ½ erfc(−x/√2), the standard normal CDF
``ndtri(p)``         Φ⁻¹(p) (Cephes' rational approximations)
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
from .ops.elementwise import (
    Entr,
    _check_broadcast,
    const,
    erfc,
    erfinv,
    in_float32,
    logit,
    sinc,
    to_float,
    where,
    xlogy,
)
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
from .ops.special import ndtri as _ndtri
from .tensor import Tensor, _as_operand

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


@in_float32
def ndtr(input):
    """Φ(x) = ½ erfc(−x/√2): exact in the lower tail, where 1 + erf would cancel."""
    return 0.5 * erfc(-to_float(input) / math.sqrt(2))   # −x of an unsigned int wraps


def ndtri(input):
    """Φ⁻¹(p) (±inf at 1 and 0, nan outside [0, 1]): Cephes' rational approximations
    (:class:`~minigrad.ops.special.Ndtri`), which keep the digits of the tails that
    √2·erf⁻¹(2p − 1) loses to the rounding of 2p − 1."""
    return _ndtri(input)


def log_ndtr(input):
    """log Φ(x) with its digits everywhere: log1p(−½ erfc(x/√2)) above x = −1 (log(1 − ε)
    would lose them), log(½ erfc(−x/√2)) on [−20, −1], and below −20 (erfc underflows
    near −38) the asymptotic series −x²/2 − log(−x√(2π)) + log(1 − 1/x² + 3/x⁴ − …),
    ten terms. Each branch sees a harmless stand-in where it is not used (no NaN in the
    gradient). Lower precisions are computed in float64 and rounded once (a float32 erfc
    underflows near x = −14, where log Φ is still −101)."""
    if input.dtype != _dt.float64 and _dt.is_floating(input.dtype):
        return log_ndtr(input.to(dtype=_dt.float64)).to(dtype=input.dtype)
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
    """−x log x elementwise: 0 at x = 0, −∞ for x < 0; gradient −(1 + log x) everywhere,
    as PyTorch's (+∞ at 0, NaN for x < 0): :class:`~minigrad.ops.elementwise.Entr`."""
    return Entr()(input)


@in_float32
def xlog1py(input, other):
    """x·log1p(y), 0 where x = 0 (even where log1p(y) is −∞ or nan; NaN where y is NaN,
    as in PyTorch), broadcasting;
    log1p keeps the digits of small y that 1 + y would round away. Gradients as
    PyTorch's: ∂/∂x = log1p(y) (0 where x = 0 and y ≤ −1), ∂/∂y = x/(1 + y)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("xlog1py: input or other must be a Tensor")
    # a number takes the tensor's dtype, or the default float beside an integer tensor
    y = other if isinstance(other, Tensor) else _as_operand(other, input)
    input = input if isinstance(input, Tensor) else _as_operand(input, other)
    _check_broadcast("xlog1py", input=input, other=y)
    common = _dt.result_type(input.data, y.data)
    if not _dt.is_floating(common):
        common = _dt.get_default_dtype()
    input, y = input.to(dtype=common), y.to(dtype=common)   # log1p in the result's dtype
    # where x = 0 and log1p(y) is −∞ or nan (y ≤ −1) it is replaced by log1p(0): the
    # product is then exactly 0 and ∂/∂x is 0 there, as PyTorch's; elsewhere ∂/∂x = log1p(y)
    y_data = y.data
    # (y = +∞ too: 0·log1p(∞) is 0 in PyTorch)
    bad = const((input.data == 0) & ((y_data <= -1) | (y_data == float("inf"))))
    return input * where(bad, 0.0, y).log1p()


# the modified Bessel functions of the first kind, I₀ and I₁ and their scaled forms, and
# the regularized incomplete gamma functions P(a, x) and Q(a, x) (minigrad/ops/special.py)
__all__ += ["i0", "i0e", "i1", "i1e", "gammainc", "gammaincc"]
gammainc, gammaincc = igamma, igammac
