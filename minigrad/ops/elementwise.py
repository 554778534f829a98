"""Elementwise arithmetic and math, with NumPy broadcasting.

Each docstring gives the vector-Jacobian product (VJP). Gradients come back in the
broadcast shape; :mod:`minigrad.autograd.function` sums them to each input's shape.
Masks in backward (``x > 0`` and friends) are constants: their derivative is zero
wherever the function is differentiable, so higher derivatives stay correct.
"""
from __future__ import annotations

import functools
import inspect
import math
import numbers

import numpy as np

from .. import dtypes as _dt
from .._backend import check_dtype_on, device_of
from .._backend import erf as _erf
from .._backend import erfc as _erfc
from ..amp.autocast_mode import autocast_dtype, autocast_off, is_half
from ..autograd.function import ADDED, Function, ieee, product_inputs_read, widen
from ..tensor import Tensor, _as_operand, _make_tensor


def const(array):
    """A constant Tensor (no gradient) around ``array``."""
    return _make_tensor(array, None, False)


def promote(*arrays):
    """The arrays cast to the dtype PyTorch gives their elementwise result
    (:func:`minigrad.dtypes.result_type`: int64 with float32 is float32, not NumPy's
    float64). The engine casts each gradient back to its input's dtype."""
    dt = arrays[0].dtype
    for a in arrays:
        if a.dtype != dt:
            dt = _dt.result_type(*arrays)
            return tuple(a if a.dtype == dt else a.astype(dt) for a in arrays)
    return arrays


def check_integer_divisor(b, op):
    """Integer division by 0 has no value (NumPy quietly gives 0): refuse it, as PyTorch
    and Python do."""
    if not _dt.is_floating(b.dtype) and b.dtype.kind != "b" and not b.all():
        raise ZeroDivisionError(f"{op}: integer division by zero")


def to_float(x):
    """An integer or bool array (or Tensor) as the default float dtype (float32), as
    PyTorch computes true division, exp, log, sqrt... of integers; floats unchanged."""
    if _dt.is_floating(x.dtype):
        return x
    if isinstance(x, Tensor):
        return x.to(dtype=_dt.get_default_dtype())
    return x.astype(_dt.get_default_dtype())


def in_float32(fn=None, *, autocast_list=False):
    """Decorate a function composed of several ops (hardswish, mish, selu, a loss...):
    given a float16 or bfloat16 tensor first, it runs on float32 copies of its half
    tensors and its result is rounded once to that tensor's dtype, as PyTorch's fused
    kernel for it computes in float32. Its gradient, through the casts, is likewise
    computed in float32 and rounded once. (A single
    :class:`~minigrad.autograd.function.Function` says ``opmath = True`` instead.)

    Inside an autocast region it computes in float32 too (autocast off within it);
    ``autocast_list=True`` for a function on autocast's float32 list (variance, losses)
    keeps its result float32 there, as PyTorch's."""
    if fn is None:
        return functools.partial(in_float32, autocast_list=autocast_list)
    first = next(iter(inspect.signature(fn).parameters))
    in_float32_only = autocast_off(fn)  # float32 throughout: no product cast back to half

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        x = args[0] if args else kwargs.get(first)
        if not (isinstance(x, Tensor) and is_half(x.dtype)):
            return fn(*args, **kwargs)
        y = in_float32_only(*[widen(a) for a in args],
                            **{k: widen(v) for k, v in kwargs.items()})
        return y if autocast_list and autocast_dtype() is not None else y.to(dtype=x.dtype)

    return wrapper


class Identity(Function):
    """y = x (a copy).   VJP: gx = gy."""
    reads_inputs = False  # its backward needs no input's values

    def forward(self, xp, x):
        return x.copy()

    def backward(self, gy):
        return gy


_BOOL_MINUS = ("{}, the `-` operator, {} is not supported (as in PyTorch); to invert a "
               "mask use `~` or logical_not(), to compare masks logical_xor()")


class Add(Function):
    """y = a + b.   VJP: ga = gy, gb = gy."""
    reads_inputs = False  # its backward needs no input's values

    @ieee  # inf − inf, 0·inf: nan, silently, as in PyTorch
    def forward(self, xp, a, b):
        a, b = promote(a, b)
        return a + b

    def backward(self, gy):
        return gy, gy


class Sub(Function):
    """y = a − b.   VJP: ga = gy, gb = −gy."""
    reads_inputs = False  # its backward needs no input's values

    @ieee  # inf − inf, 0·inf: nan, silently, as in PyTorch
    def forward(self, xp, a, b):
        if a.dtype.kind == "b" or b.dtype.kind == "b":
            raise TypeError(_BOOL_MINUS.format("Subtraction", "with a bool tensor"))
        a, b = promote(a, b)
        return a - b

    def backward(self, gy):
        return gy, -gy if self.needs_input_grad[1] else None


class Mul(Function):
    """y = a·b.   VJP: ga = gy·b, gb = gy·a."""

    inputs_read = product_inputs_read

    @ieee  # inf − inf, 0·inf: nan, silently, as in PyTorch
    def forward(self, xp, a, b):
        a, b = promote(a, b)
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        ga = gy * b if self.needs_input_grad[0] else None
        gb = gy * a if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    """y = a / b, true division (integers give the default float dtype).
    VJP: ga = gy / b, gb = −gy·a / b², computed as −gy·(a / b) / b, as PyTorch does: b²
    underflows to 0 for |b| below √(smallest normal) (1e-154 in float64, 1e-19 in float32,
    6e-3 in float16, whose gradients meet such values under autocast), which would turn a
    finite gradient into ±inf or 0/0 = nan."""

    @ieee
    def forward(self, xp, a, b):
        a, b = promote(a, b)
        if not _dt.is_floating(a.dtype):  # integers and bools: true division in float32
            a, b = to_float(a), to_float(b)
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        ga = gy / b if self.needs_input_grad[0] else None
        gb = -gy * (a / b) / b if self.needs_input_grad[1] else None
        return ga, gb

    def inputs_read(self):
        return (0, 1) if self.needs_input_grad[1] else (1,)  # b always, a for gb only


class FloorDivide(Function):
    """y = ⌊a / b⌋ (rounded toward −∞, PyTorch's ``//`` since 1.13).
    VJP: ga = gb = 0, the derivative wherever it exists (PyTorch raises instead)."""

    @ieee
    def forward(self, xp, a, b):
        a, b = promote(a, b)
        check_integer_divisor(b, "floor_divide")
        return a // b

    def backward(self, gy):
        return gy * 0, gy * 0


class Remainder(Function):
    """y = a − ⌊a / b⌋·b, with the sign of b (Python's and PyTorch's ``%``).
    VJP: ga = gy, gb = −gy·⌊a / b⌋."""

    @ieee
    def forward(self, xp, a, b):
        a, b = promote(a, b)
        check_integer_divisor(b, "remainder")
        return a % b

    def backward(self, gy):
        a, b = self.inputs
        return gy, -gy * (a // b) if self.needs_input_grad[1] else None


class Neg(Function):
    """y = −x.   VJP: gx = −gy."""
    reads_inputs = False  # its backward needs no input's values

    def forward(self, xp, x):
        if x.dtype.kind == "b":
            raise TypeError(_BOOL_MINUS.format("Negation", "on a bool tensor"))
        return -x

    def backward(self, gy):
        return -gy


class Pow(Function):
    """y = aᵇ.   VJP: ga = gy·b·aᵇ⁻¹, gb = gy·aᵇ·log a (only when b needs a gradient);
    as in PyTorch, ga = 0 where b = 0 and gb = 0 where a = 0 and b ≥ 0 (the limits the
    formulas reach as 0·∞ or 0·log 0 there)."""

    opmath = True

    amp_policy = "float32"  # on PyTorch's CUDA autocast float32 list

    @ieee
    def forward(self, xp, a, b):
        a, b = promote(a, b)
        if b.dtype.kind in "iu" and bool((b < 0).any()):
            return _integer_pow(xp, a, b)
        return a**b

    def backward(self, gy):
        a, b = self.inputs
        ga = gb = None
        if self.needs_input_grad[0]:
            # b·aᵇ⁻¹ is 0·∞ only at a = b = 0 (elsewhere exactly 0 where b = 0, and smooth
            # in b there: a mask on b = 0 alone would zero the second derivative)
            ga = where(const((a.data == 0) & (b.data == 0)), 0.0, gy * b * a ** (b - 1))
        if self.needs_input_grad[1]:
            gb = where(const((a.data == 0) & (b.data >= 0)), 0.0, gy * a**b * a.log())
        return ga, gb


def _integer_pow(xp, a, b):
    """aᵇ of integers with some b < 0, as PyTorch's integer pow (NumPy refuses it): 1/aᵇ
    rounded toward 0, which is 1 for a = 1, ±1 for a = −1 (by b's parity) and 0 otherwise
    (0 too for a = 0)."""
    negative = b < 0
    y = a ** xp.where(negative, 0, b)
    odd = (b % 2) != 0
    reciprocal = xp.where(a == 1, 1, xp.where(a == -1, xp.where(odd, -1, 1), 0))
    return xp.where(negative, reciprocal.astype(y.dtype), y)


class PowScalar(Function):
    """y = xᶜ for a Python number c.   VJP: gx = gy·c·xᶜ⁻¹ (0 for c = 0)."""

    opmath = True

    amp_policy = "float32"  # on PyTorch's CUDA autocast float32 list

    def __init__(self, c):
        self.c = c

    @ieee
    def forward(self, xp, x):
        if not isinstance(self.c, numbers.Integral):  # int ** 0.5 is float32, as PyTorch
            x = to_float(x)
        elif self.c < 0 and x.dtype.kind in "iub":
            raise RuntimeError(f"pow: integers to negative integer powers are not allowed "
                               f"(a {x.dtype} tensor ** {self.c}), as in PyTorch; convert "
                               "the tensor to a float dtype first")
        elif x.dtype.kind == "b":  # bool ** 2 is int64
            x = x.astype(_dt.int64)
        return x**self.c

    def backward(self, gy):
        (x,) = self.inputs
        if self.c == 2:
            return gy * (2 * x)
        if self.c == 0:  # 0, also at x = 0 where 0·x⁻¹ is nan (PyTorch: 0)
            return gy * 0.0
        return gy * self.c * x ** (self.c - 1)


def pow(x, exponent):
    """``x ** exponent``: a Python-number exponent keeps x's dtype and needs no log."""
    if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
        if exponent == 1:
            return Identity()(x)
        return PowScalar(exponent)(x)
    return Pow()(x, exponent)


class Exp(Function):
    """y = eˣ.   VJP: gx = gy·y."""

    amp_policy = "float32"  # on PyTorch's CUDA autocast float32 list

    save_output = True

    @ieee
    def forward(self, xp, x):
        return xp.exp(to_float(x))

    def backward(self, gy):
        return gy * self.saved_output


class Log(Function):
    """y = log x.   VJP: gx = gy / x."""

    amp_policy = "float32"  # on PyTorch's CUDA autocast float32 list

    @ieee
    def forward(self, xp, x):
        return xp.log(to_float(x))

    def backward(self, gy):
        return gy / self.inputs[0]


class Log1p(Function):
    """y = log(1 + x).   VJP: gx = gy / (1 + x)."""

    opmath = True

    amp_policy = "float32"  # on PyTorch's CUDA autocast float32 list

    @ieee
    def forward(self, xp, x):
        return xp.log1p(to_float(x))

    def backward(self, gy):
        return gy / (1 + self.inputs[0])


class Entr(Function):
    """y = −x log x for x > 0, 0 at x = 0, −∞ for x < 0 (NaN stays NaN).
    VJP: gx = −gy·(1 + log x) everywhere, as PyTorch's: +∞ at 0 (the one-sided limit),
    NaN for x < 0 (where log x is NaN), −∞ at +∞."""

    opmath = True

    amp_policy = "float32"  # a log inside, as Log

    @ieee
    def forward(self, xp, x):
        x = to_float(x)
        inside = xp.where(x > 0, x, x.dtype.type(1))
        y = xp.where(x > 0, -inside * xp.log(inside), x.dtype.type(0))
        y = xp.where(x < 0, x.dtype.type(-np.inf), y)
        return xp.where(x != x, x, y)

    def backward(self, gy):
        return -gy * (1 + self.inputs[0].log())


class Sqrt(Function):
    """y = √x.   VJP: gx = gy / (2y)."""

    save_output = True

    @ieee
    def forward(self, xp, x):
        return xp.sqrt(to_float(x))

    def backward(self, gy):
        return gy / (2 * self.saved_output)


class Rsqrt(Function):
    """y = 1/√x.   VJP: gx = −½·gy·y³."""

    opmath = True

    amp_policy = "float32"  # on PyTorch's CUDA autocast float32 list

    save_output = True

    @ieee
    def forward(self, xp, x):
        return 1 / xp.sqrt(to_float(x))

    def backward(self, gy):
        y = self.saved_output
        return -0.5 * gy * y * y * y


class Abs(Function):
    """y = |x|.   VJP: gx = gy·sign(x) (0 at x = 0)."""

    piecewise_linear = True  # gradients from constants: see Function

    def forward(self, xp, x):
        return xp.abs(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * const(x.xp.sign(x.data))


class _Step(Function):
    """A piecewise-constant y (sign, floor, ceil, round, trunc).   VJP: gx = 0, the
    derivative wherever it exists (PyTorch returns 0 at the jumps too)."""

    def backward(self, gy):
        return gy * 0


class Sign(_Step):
    """y = sign(x), with PyTorch's sign(nan) = 0 (NumPy's is nan); a bool tensor is its
    own sign.   VJP: gx = 0."""

    @ieee  # ml_dtypes warns when it compares a bfloat16 NaN
    def forward(self, xp, x):
        if _dt.is_floating(x.dtype):
            return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)
        return x.copy() if x.dtype.kind == "b" else xp.sign(x)


class Floor(_Step):
    """y = ⌊x⌋; integer tensors unchanged (same dtype).   VJP: gx = 0."""

    def forward(self, xp, x):
        return xp.floor(x) if _dt.is_floating(x.dtype) else x.copy()


class Ceil(_Step):
    """y = ⌈x⌉; integer tensors unchanged.   VJP: gx = 0."""

    def forward(self, xp, x):
        return xp.ceil(x) if _dt.is_floating(x.dtype) else x.copy()


class Trunc(_Step):
    """y = x rounded toward 0; integer tensors unchanged.   VJP: gx = 0."""

    def forward(self, xp, x):
        return xp.trunc(x) if _dt.is_floating(x.dtype) else x.copy()


class Round(_Step):
    """y = x rounded to ``decimals`` places, halves to even: rint(x·10ᵈ)/10ᵈ, or
    rint(x/10⁻ᵈ)·10⁻ᵈ for d < 0 (PyTorch's formula, in at least float32); integer
    tensors unchanged (PyTorch refuses them with ``decimals``).   VJP: gx = 0."""

    def __init__(self, decimals=0):
        self.decimals = decimals

    @ieee  # x·10ᵈ may overflow: inf, as in PyTorch
    def forward(self, xp, x):
        if not _dt.is_floating(x.dtype):
            return x.copy()
        d = self.decimals
        if d == 0:
            return xp.rint(x)
        w = x if x.dtype.itemsize >= 4 else x.astype(_dt.float32)   # PyTorch's opmath
        s = 10.0 ** abs(d)
        y = xp.rint(w * s) / s if d > 0 else xp.rint(w / s) * s
        return y.astype(x.dtype, copy=False)


class Frac(Function):
    """y = x − trunc(x) (the sign of x; integer tensors give 0).   VJP: gx = gy."""

    @ieee
    def forward(self, xp, x):
        return x - xp.trunc(x) if _dt.is_floating(x.dtype) else xp.zeros_like(x)

    def backward(self, gy):
        return gy


class NanToNum(Function):
    """y = x with nan → ``nan``, +inf → ``posinf``, −inf → ``neginf`` (None: the dtype's
    largest / lowest finite value); integer tensors unchanged.
    VJP: gx = gy where x is finite, 0 where it was replaced (PyTorch's)."""

    def __init__(self, nan=0.0, posinf=None, neginf=None):
        self.nan, self.posinf, self.neginf = nan, posinf, neginf

    @ieee  # a replacement value too large for the dtype becomes inf, as in PyTorch
    def forward(self, xp, x):
        if not _dt.is_floating(x.dtype):
            return x.copy()
        info = _dt.finfo(x.dtype)
        posinf = float(info.max) if self.posinf is None else self.posinf
        neginf = float(info.min) if self.neginf is None else self.neginf
        w = x if x.dtype.kind == "f" else x.astype(_dt.float32)  # NumPy skips bfloat16
        y = xp.nan_to_num(w, nan=self.nan, posinf=posinf, neginf=neginf)
        return y.astype(x.dtype, copy=False)

    def backward(self, gy):
        x = self.inputs[0]
        return gy * const(x.xp.isfinite(x.data).astype(gy.dtype))


class Tan(Function):
    """y = tan x.   VJP: gx = gy·(1 + y²)."""

    opmath = True

    amp_policy = "float32"  # on PyTorch's CUDA autocast float32 list

    save_output = True

    @ieee
    def forward(self, xp, x):
        return xp.tan(to_float(x))

    def backward(self, gy):
        y = self.saved_output
        return gy * (1 + y * y)


class Expm1(Function):
    """y = eˣ − 1 (accurate near 0).   VJP: gx = gy·(y + 1)."""

    amp_policy = "float32"  # on PyTorch's CUDA autocast float32 list

    save_output = True

    @ieee
    def forward(self, xp, x):
        return xp.expm1(to_float(x))

    def backward(self, gy):
        return gy * (self.saved_output + 1)


class Exp2(Function):
    """y = 2ˣ.   VJP: gx = gy·y·ln 2."""

    opmath = True

    save_output = True

    @ieee
    def forward(self, xp, x):
        return xp.exp2(to_float(x))

    def backward(self, gy):
        return gy * self.saved_output * math.log(2)


class _LogBase(Function):
    """y = log_b x for the base b of ``ufunc``.   VJP: gx = gy / (x·ln b)."""

    opmath = True

    amp_policy = "float32"  # log2 and log10 are on PyTorch's CUDA autocast float32 list

    ufunc, base = None, None

    @ieee
    def forward(self, xp, x):
        return getattr(xp, self.ufunc)(to_float(x))

    def backward(self, gy):
        return gy / (self.inputs[0] * math.log(self.base))


class Log2(_LogBase):
    """y = log₂ x.   VJP: gx = gy / (x·ln 2)."""

    ufunc, base = "log2", 2


class Log10(_LogBase):
    """y = log₁₀ x.   VJP: gx = gy / (x·ln 10)."""

    ufunc, base = "log10", 10


class Sin(Function):
    """y = sin x.   VJP: gx = gy·cos x."""

    opmath = True

    @ieee
    def forward(self, xp, x):
        return xp.sin(to_float(x))

    def backward(self, gy):
        return gy * self.inputs[0].cos()


class Cos(Function):
    """y = cos x.   VJP: gx = −gy·sin x."""

    opmath = True

    @ieee
    def forward(self, xp, x):
        return xp.cos(to_float(x))

    def backward(self, gy):
        return -gy * self.inputs[0].sin()


class Erf(Function):
    """y = erf x.   VJP: gx = gy·(2/√π)·e^(−x²)."""

    opmath = True

    def forward(self, xp, x):
        return _erf(to_float(x))

    def backward(self, gy):
        (x,) = self.inputs
        return gy * (2 / math.sqrt(math.pi)) * (-(x * x)).exp()


class Clamp(Function):
    """y = min(max(x, lo), hi), number bounds.   VJP: gx = gy where lo < x < hi, else 0:
    at a bound, the minimum-norm subgradient 0, as relu's at 0, hardtanh's and PyTorch's
    since 2.14 (before 2.14 PyTorch passed gy at the bounds)."""

    piecewise_linear = True  # gradients from constants: see Function

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, xp, x):
        y = x if self.lo is None else xp.maximum(x, self.lo)
        y = y if self.hi is None else xp.minimum(y, self.hi)
        return y.astype(x.dtype, copy=False)  # NumPy promotes bfloat16 with a Python float

    def backward(self, gy):
        x = self.inputs[0].data
        inside = x == x  # all True, NaN aside
        if self.lo is not None:
            inside = inside & (x > self.lo)
        if self.hi is not None:
            inside = inside & (x < self.hi)
        return gy * const(inside.astype(x.dtype))


def clamp(x, min=None, max=None):
    """min(max(x, min), max), PyTorch's ``clamp``: bounds are numbers or tensors (which
    broadcast and receive the gradient where they win); min > max gives max everywhere.
    An integer tensor with a float bound gives the default float dtype.

    The gradient where x sits on a bound, as PyTorch's since 2.14: 0 for a number bound
    (:class:`Clamp`); split evenly between x and a single tensor bound, which is
    max(x, min) or min(x, max) (:class:`Maximum`, :class:`Minimum`); all to x with two
    bounds, one of them a tensor (PyTorch left that case as it was; minigrad also takes a
    number beside a tensor there)."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        shapes = [v.shape for v in (x, min, max) if isinstance(v, Tensor)]
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            raise ValueError(f"clamp: the shapes of the input and the bounds do not "
                             f"broadcast: {' and '.join(map(str, shapes))}") from None
        if max is None:   # one bound, the tensor min
            return Maximum()(x, min)
        if min is None:
            return Minimum()(x, max)
        # x < NaN is False, so a NaN x stays; a NaN bound wins (v != v), as in PyTorch
        y = where((x < min) | (min != min), min, x)
        return where((y > max) | (max != max), max, y)
    bounds = [v for v in (min, max) if v is not None]
    if not _dt.is_floating(x.dtype) and any(
            not isinstance(v, numbers.Integral) for v in bounds):
        x = x.to(dtype=_dt.get_default_dtype())
    return Clamp(min, max)(x)


class Maximum(Function):
    """y = max(a, b), NaN if either is.   VJP: the input y is gets gy (the larger, or the
    NaN; a when both are NaN); on ties each gets gy/2, the minimum-norm subgradient.
    PyTorch gives gy to both inputs where one is NaN."""

    piecewise_linear = True  # gradients from constants: see Function

    def forward(self, xp, a, b):
        return xp.maximum(*promote(a, b))

    def backward(self, gy):
        a, b = (t.data for t in self.inputs)
        wa = const((((a > b) | (a != a)) + 0.5 * (a == b)).astype(gy.dtype))
        return gy * wa, gy * (1 - wa)


class Minimum(Function):
    """y = min(a, b), NaN if either is.   VJP: the input y is gets gy (the smaller, or the
    NaN; a when both are NaN); on ties each gets gy/2 (see :class:`Maximum`)."""

    piecewise_linear = True  # gradients from constants: see Function

    def forward(self, xp, a, b):
        return xp.minimum(*promote(a, b))

    def backward(self, gy):
        a, b = (t.data for t in self.inputs)
        wa = const((((a < b) | (a != a)) + 0.5 * (a == b)).astype(gy.dtype))
        return gy * wa, gy * (1 - wa)


class Where(Function):
    """y = a where cond else b.   VJP: ga = gy where cond else 0, gb = 0 where cond else gy
    (selected, not multiplied by the mask: an inf or NaN in gy where a branch was not
    taken gives that branch 0, as in PyTorch, not NaN)."""

    piecewise_linear = True  # gradients from constants: see Function
    reads_inputs = False  # its backward needs no input's values

    def __init__(self, cond):
        self.cond = cond

    def forward(self, xp, a, b):
        return xp.where(self.cond, *promote(a, b))

    def backward(self, gy):
        need_a, need_b = self.needs_input_grad
        ga = masked(gy, self.cond) if need_a else None
        gb = masked(gy, ~self.cond) if need_b else None
        return ga, gb


def masked(g, mask):
    """``g`` where ``mask`` (a bool array), else 0, differentiably: selected, so that an
    inf or NaN in g outside the mask gives 0 there (PyTorch's where/threshold backward),
    not NaN. On NumPy, when g is finite everywhere (nearly always), as g times the 0/1
    mask: the same numbers, and np.where with a random mask runs some 30× slower (branch
    mispredictions); on CuPy ``where`` is one elementwise kernel like the product."""
    if g.xp is not np or not bool(np.isfinite(g.data).all()):
        return Where(mask)(g, 0.0)
    return g * const(mask.astype(g.dtype))


_SAME_SIZE_INT = {2: np.int16, 4: np.int32, 8: np.int64}


def masked_array(g, mask):
    """:func:`masked` on NumPy float arrays (not differentiable): g where mask, else +0,
    selected on the bits: g's integer view ANDed with the mask as 0 or all ones. An inf or
    NaN outside the mask gives 0, no pass checks for them, and float16 costs what float32
    does (NumPy's float16 product was 130x slower: 17 ms for 2²⁰ elements)."""
    bits = _SAME_SIZE_INT[g.dtype.itemsize]
    return (g.view(bits) & -mask.view(np.int8).astype(bits)).view(g.dtype)


def _check_bool_condition(op, name, cond):
    """A TypeError naming ``op`` when ``cond`` is not boolean: as in PyTorch, a float or
    integer tensor is not read as true where nonzero (a 0.5 mask is most likely a
    probability or a weight passed by mistake)."""
    if cond.dtype.kind != "b":
        raise TypeError(f"{op}: the {name} must be boolean, got {cond.dtype}"
                        f" (compare it, e.g. {name} != 0, or convert it with .bool())")


def where(condition, input=None, other=None):
    """Elementwise ``input if condition else other`` (differentiable in input and other,
    which may be Python numbers); with ``condition`` alone, ``condition.nonzero(
    as_tuple=True)``: a tuple of index tensors, one per dim, as in PyTorch."""
    if input is None and other is None:
        data = condition.data if isinstance(condition, Tensor) else condition
        return tuple(const(i) for i in data.nonzero())
    if input is None or other is None:
        raise TypeError("where: give both input and other (or neither, for the positions "
                        "where condition holds)")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        device = condition.device if isinstance(condition, Tensor) else None
        input = Tensor(input, device=device)   # where(c, 1.0, 0.0): float32, as PyTorch
    ref = input if isinstance(input, Tensor) else other
    cond = condition.data if isinstance(condition, Tensor) else ref.xp.asarray(condition)
    _check_bool_condition("where", "condition", cond)
    shapes = [tuple(cond.shape)] + [t.shape for t in (input, other) if isinstance(t, Tensor)]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"where: the condition {shapes[0]} and the values "
                         f"{' and '.join(map(str, shapes[1:]))} do not broadcast") from None
    return Where(cond)(input, other)


class Cast(Function):
    """y = x converted to ``dtype``.   VJP: gx = gy converted back to x's dtype.

    When x is a leaf with a ``.grad`` (a float32 master weight under autocast), gy is
    added into it converting as it goes: one kernel, where the conversion and the add were
    two (the same numbers: the widening is exact)."""
    reads_inputs = False  # its backward needs no input's values

    adds_to_leaf_grads = True

    def __init__(self, dtype):
        self.dtype = dtype

    @ieee
    def forward(self, xp, x):
        check_dtype_on(device_of(x), self.dtype)
        return x.astype(self.dtype)

    def backward(self, gy):
        x = self.inputs[0]
        dest = self.offered_grad(0)
        g = gy.data
        if dest is not None and _dt.dtype_name(dest.dtype) in \
                _WIDENS.get(_dt.dtype_name(g.dtype), ()) and \
                not x.xp.may_share_memory(dest, g):
            x.xp.add(dest, g, out=dest)
            return ADDED
        return gy.to(dtype=x.dtype)


# gradient dtype -> the .grad dtypes it is added into exactly by one mixed add
_WIDENS = {"float16": ("float32", "float64"), "float32": ("float64",)}


# ---- inverse trigonometric, hyperbolic and special functions
#
# PyTorch's names for NumPy's hyperbolic and inverse trigonometric functions, the
# complementary and inverse error functions, logit, sinc, the two-operand functions atan2,
# hypot, logaddexp(2), xlogy and copysign, and the compositions PyTorch names (deg2rad,
# lerp, addcmul, float_power...). As for exp and log, integer and bool inputs compute in
# the default float dtype; outside a domain the value is nan or ±inf, as in NumPy and
# PyTorch, without a warning.

def _need_tensors(op, **named):
    """A TypeError naming ``op`` for each operand that must be a Tensor and is not."""
    for name, x in named.items():
        if not isinstance(x, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")


def _need_number(op, name, x):
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number, got {type(x).__name__}")


def _check_broadcast(op, **named):
    """A ValueError naming ``op`` and every shape when the Tensor operands of a composition
    do not broadcast (before one of its inner ops reports it under its own name)."""
    shapes = {name: tuple(x.shape) for name, x in named.items() if isinstance(x, Tensor)}
    try:
        np.broadcast_shapes(*shapes.values())
    except ValueError:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"{op}: shapes do not broadcast: {listed}") from None


def _floats(a, b):
    """Two operands at their common dtype, integers and bools as the default float dtype."""
    a, b = promote(a, b)
    return to_float(a), to_float(b)


class Sinh(Function):
    """y = sinh x.   VJP: gx = gy·cosh x."""

    opmath = True

    amp_policy = "float32"  # on PyTorch's CUDA autocast float32 list

    @ieee
    def forward(self, xp, x):
        return xp.sinh(to_float(x))

    def backward(self, gy):
        return gy * self.inputs[0].cosh()


class Cosh(Function):
    """y = cosh x.   VJP: gx = gy·sinh x."""

    opmath = True

    amp_policy = "float32"  # on PyTorch's CUDA autocast float32 list

    @ieee
    def forward(self, xp, x):
        return xp.cosh(to_float(x))

    def backward(self, gy):
        return gy * self.inputs[0].sinh()


class Asin(Function):
    """y = arcsin x (nan outside [−1, 1]).   VJP: gx = gy / √((1 − x)(1 + x)).

    (1 − x)(1 + x) rather than 1 − x²: it keeps its digits where x is near ±1."""

    opmath = True

    amp_policy = "float32"  # on PyTorch's CUDA autocast float32 list

    @ieee
    def forward(self, xp, x):
        return xp.arcsin(to_float(x))

    def backward(self, gy):
        (x,) = self.inputs
        return gy * ((1 - x) * (1 + x)).rsqrt()


class Acos(Function):
    """y = arccos x (nan outside [−1, 1]).   VJP: gx = −gy / √((1 − x)(1 + x))."""

    opmath = True

    amp_policy = "float32"  # on PyTorch's CUDA autocast float32 list

    @ieee
    def forward(self, xp, x):
        return xp.arccos(to_float(x))

    def backward(self, gy):
        (x,) = self.inputs
        return -gy * ((1 - x) * (1 + x)).rsqrt()


class Atan(Function):
    """y = arctan x.   VJP: gx = gy / (1 + x²)."""

    opmath = True

    @ieee
    def forward(self, xp, x):
        return xp.arctan(to_float(x))

    def backward(self, gy):
        (x,) = self.inputs
        return gy / (1 + x * x)


class Asinh(Function):
    """y = arsinh x = log(x + √(x² + 1)).   VJP: gx = gy / √(x² + 1)."""

    opmath = True

    @ieee
    def forward(self, xp, x):
        return xp.arcsinh(to_float(x))

    def backward(self, gy):
        (x,) = self.inputs
        return gy * (x * x + 1).rsqrt()


class Acosh(Function):
    """y = arcosh x (nan below 1).   VJP: gx = gy / √((x − 1)(x + 1))."""

    opmath = True

    @ieee
    def forward(self, xp, x):
        return xp.arccosh(to_float(x))

    def backward(self, gy):
        (x,) = self.inputs
        return gy * ((x - 1) * (x + 1)).rsqrt()


class Atanh(Function):
    """y = artanh x (±inf at ±1, nan outside [−1, 1]).   VJP: gx = gy / ((1 − x)(1 + x))."""

    opmath = True

    @ieee
    def forward(self, xp, x):
        return xp.arctanh(to_float(x))

    def backward(self, gy):
        (x,) = self.inputs
        return gy / ((1 - x) * (1 + x))


# W. J. Cody's rational approximations of erfc (SPECFUN's CALERF): x·e^{x²}·erfc x on
# 0.46875 < x ≤ 4 as C(x)/D(x), and on x > 4 as 1/√π − P(z)/Q(z) with z = 1/x².
_CODY_C = (5.64188496988670089e-1, 8.88314979438837594e0, 6.61191906371416295e1,
           2.98635138197400131e2, 8.81952221241769090e2, 1.71204761263407058e3,
           2.05107837782607147e3, 1.23033935479799725e3, 2.15311535474403846e-8)
_CODY_D = (1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2,
           1.62138957456669019e3, 3.29079923573345963e3, 4.36261909014324716e3,
           3.43936767414372164e3, 1.23033935480374942e3)
_CODY_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
           1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_CODY_Q = (2.56852019228982242e0, 1.87295284992346047e0, 5.27905102951428412e-1,
           6.05183413124413191e-2, 2.33520497626869185e-3)


def _erfc_positive(xp, y):
    """erfc y for y > 0.46875 (float64 array), Cody's algorithm: the rational factor times
    e^{−y²}, with y² split as s² + (y − s)(y + s), s = ⌊16y⌋/16 exact, so that the
    exponential loses nothing to the rounding of y²."""
    y = xp.minimum(y, 28.0)  # erfc 28 < 1e-342 is 0 in float64; keeps 16y and e^{s²} finite
    num, den = _CODY_C[8] * y, y
    for c, d in zip(_CODY_C[:7], _CODY_D[:7]):
        num, den = (num + c) * y, (den + d) * y
    middle = (num + _CODY_C[7]) / (den + _CODY_D[7])
    z = 1 / (y * y)
    num, den = _CODY_P[5] * z, z
    for p, q in zip(_CODY_P[:4], _CODY_Q[:4]):
        num, den = (num + p) * z, (den + q) * z
    far = (1 / math.sqrt(math.pi) - z * (num + _CODY_P[4]) / (den + _CODY_Q[4])) / y
    s = xp.trunc(y * 16) / 16
    return xp.exp(-s * s) * xp.exp(-(y - s) * (y + s)) * xp.where(y <= 4, middle, far)


def erfc_array(xp, x):
    """erfc x = 1 − erf x of a float64 array, to a few ulp also where it is tiny: 1 − erf x
    for |x| ≤ 0.46875 (no cancellation there), Cody's approximation beyond, and
    erfc(−x) = 2 − erfc x.

    References: W. J. Cody, "Rational Chebyshev approximations for the error function",
    Math. Comp. 23 (1969) 631-637; SPECFUN's CALERF (Netlib)."""
    y = xp.abs(x)
    tail = _erfc_positive(xp, xp.maximum(y, 0.46875))  # (the floor: no 1/0 where unused)
    tail = xp.where(x < 0, 2 - tail, tail)
    return xp.where(y <= 0.46875, 1 - _erf(x), tail)  # nan stays nan: y ≤ … is False


# M. Giles's single-precision erfinv polynomial in w − 2.5, w = −log(1 − x²) < 5 (|x| below
# 0.9966): a start within 4e-7 for the Halley steps of erfinv_array.
_GILES = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
          -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)


def erfinv_array(xp, x):
    r"""erf⁻¹ x of a float64 array, within a few ulp (4 at most against mpmath); ±inf at
    ±1, nan outside [−1, 1].

    A start, refined by two Halley steps on f(t) = erf t − |x| (f'' = −2t·f', so a step is
    t ← t − u/(1 + t·u) with u = f/f'). The start is Giles's polynomial for |x| < 0.9966
    and, in the tail, the root of erfc t ≈ e^{−t²}/(t√π)·(1 − 1/(2t²)) by two fixed-point
    steps. Beyond |x| = ½ the residual is taken as (1 − |x|) − erfc t, where 1 − |x| is
    exact and erfc keeps its digits: erf t − |x| would cancel to nothing near 1.

    References: M. Giles, "Approximating the erfinv function", GPU Computing Gems Jade
    (2011); Cody (1969) for erfc (:func:`erfc_array`)."""
    a = xp.abs(x)
    inside = a < 1
    a = xp.where(inside, a, 0.5)  # ±1, beyond and nan are set at the end: no inf or nan here
    q = 1 - a
    w = -xp.log(q * (1 + a))
    u = w - 2.5
    p = _GILES[0]
    for c in _GILES[1:]:
        p = p * u + c
    q_tail = xp.minimum(q, 0.01)  # the tail start is used where w ≥ 5, i.e. q < 0.0068
    t = xp.sqrt(-xp.log(q_tail))
    for _ in range(2):
        t = xp.sqrt(-xp.log(q_tail * math.sqrt(math.pi) * t / (1 - 0.5 / (t * t))))
    t = xp.where(w < 5, p * a, t)
    for _ in range(2):  # Halley: the error goes from ≤ 2e-3 to ≤ 1e-8, then to rounding
        f = xp.where(a <= 0.5, _erf(t) - a, q - erfc_array(xp, t))
        u = f * (math.sqrt(math.pi) / 2) * xp.exp(t * t)
        t = t - u / (1 + t * u)
    t = xp.where(inside, t, xp.where(xp.abs(x) == 1, math.inf, math.nan))
    return xp.copysign(t, x)  # erfinv(−0) = −0, as in PyTorch


def _in_float64(f, xp, x):
    """f(xp, x) computed in float64 and rounded back to x's (floating) dtype."""
    return f(xp, x.astype(_dt.float64, copy=False)).astype(x.dtype, copy=False)


class Erfc(Function):
    """y = erfc x = 1 − erf x, with its digits also where it is tiny (x ≫ 1): C's erfc on
    the CPU (Numba), :func:`erfc_array` in float64 on CuPy.
    VJP: gx = −gy·(2/√π)·e^(−x²)."""

    opmath = True

    def forward(self, xp, x):
        if xp is np:
            return _erfc(to_float(x))
        return _in_float64(erfc_array, xp, to_float(x))

    def backward(self, gy):
        (x,) = self.inputs
        return -gy * (2 / math.sqrt(math.pi)) * (-(x * x)).exp()


class Erfinv(Function):
    """y = erf⁻¹ x (±inf at ±1, nan outside [−1, 1]; computed in float64).
    VJP: gx = gy·(√π/2)·e^(y²), with y computed again from x, as PyTorch's: the rounded
    saved y would carry its rounding into e^(y²) amplified by 2y² (4 half ulps at y ≈ 1.3,
    and in float32 as well)."""

    opmath = True

    amp_policy = "float32"  # on PyTorch's CUDA autocast float32 list

    def forward(self, xp, x):
        return _in_float64(erfinv_array, xp, to_float(x))

    def backward(self, gy):
        y = Erfinv()(self.inputs[0])
        return gy * (math.sqrt(math.pi) / 2) * (y * y).exp()


class Logit(Function):
    """y = log(z / (1 − z)), z = x, or z = clamp(x, eps, 1 − eps) when ``eps`` is given
    (PyTorch's ``logit``; a negative or nan eps clamps nothing, as there).
    VJP: gx = gy / (x(1 − x)) on [eps, 1 − eps]; outside it 0 with eps (the clamp is flat
    there) and nan without (x is outside [0, 1]), as in PyTorch."""

    opmath = True

    def __init__(self, eps=None):
        self.eps = None if eps is None or not eps >= 0 else eps  # nan: none either

    def bounds(self, dtype):
        """(lo, hi): (eps, 1 − eps) rounded to ``dtype`` as PyTorch rounds them, or (0, 1)."""
        if self.eps is None:
            return 0.0, 1.0
        lo = np.asarray(self.eps, dtype=dtype)
        return float(lo), float(1 - lo)

    @ieee
    def forward(self, xp, x):
        x = to_float(x)
        if self.eps is not None:
            x = xp.clip(x, *self.bounds(x.dtype)).astype(x.dtype, copy=False)
        return xp.log(x / (1 - x))

    def backward(self, gy):
        (x,) = self.inputs
        lo, hi = self.bounds(x.dtype)
        inside = ~((x.data < lo) | (x.data > hi))  # nan counts as inside: its gradient is nan
        z = where(inside, x, 0.5)  # outside, a harmless point: no 0/0 for higher derivatives
        return where(inside, gy / (z * (1 - z)), math.nan if self.eps is None else 0.0)


# s'(t) = (t cos t − sin t)/t² = t·Σₖ (−1)ᵏ 2k t²⁽ᵏ⁻¹⁾/(2k + 1)!, k = 1…9: for |t| < 1
# the next term is below 1e-18 of the sum.
_SINC_SERIES = tuple((-1) ** k * 2 * k / math.factorial(2 * k + 1) for k in range(1, 10))


def _half_turns(xp, x):
    """(k, (−1)ᵏ) of an array, k = round(x): sin πx = (−1)ᵏ·sin π(x − k) and cos πx =
    (−1)ᵏ·cos π(x − k), with x − k in [−½, ½] exact, where the product π·x, rounded, would
    lose the argument's digits for large x (sin(π·1000) of float16 π·1000 is 0.4, not 0)."""
    k = xp.where(xp.isfinite(x), xp.rint(x), 0)   # (±∞, NaN: NaN all the same)
    return k, (1 - 2 * (k % 2)).astype(x.dtype, copy=False)


def _sinpi_cospi(x):
    """(sin πx, cos πx) of a tensor, by :func:`_half_turns` (differentiable again)."""
    k, sign = _half_turns(x.xp, x.data)
    r = x - const(k)
    return const(sign) * (math.pi * r).sin(), const(sign) * (math.pi * r).cos()


class Sinc(Function):
    r"""y = sin(πx)/(πx), and 1 at x = 0 (the normalized sinc of NumPy and PyTorch).
    VJP: gx = gy·π·s'(πx) with s(t) = sin t / t: the closed form (t cos t − sin t)/t² for
    |t| ≥ 1 and its Taylor series for |t| < 1, where the closed form cancels (PyTorch's
    gradient at x = 1e-8 is off by a third; this one is exact to rounding: 0 at x = 0,
    where the second derivative is −π²/3).

    sin πx and cos πx come from x's distance to the nearest integer (:func:`_half_turns`),
    so sinc keeps its digits for large x (sinc(1000) is 0 to rounding: NumPy's and
    PyTorch's float32 sinc(1000) are 2.8e-8, 4% of the next lobe's scale, and float16's
    was 3e-4); float16/bfloat16 compute in float32 (``opmath``: π·x overflows float16
    beyond 20860)."""

    opmath = True

    @ieee
    def forward(self, xp, x):
        x = to_float(x)
        k, sign = _half_turns(xp, x)
        sin = sign * xp.sin(math.pi * (x - k))
        t = math.pi * x
        return xp.where(x == 0, 1, sin / t).astype(x.dtype, copy=False)

    def backward(self, gy):
        (x,) = self.inputs
        t = x * math.pi
        near = abs(t.data) < 1
        tn = where(near, t, 0.0)  # each form sees only its own points: the 0/0 of the
        tf = where(near, 1.0, t)  # closed form at t = 0 never reaches a higher derivative
        u = tn * tn
        s = _SINC_SERIES[-1]
        for c in reversed(_SINC_SERIES[:-1]):
            s = s * u + c
        sin, cos = _sinpi_cospi(where(near, 1.0 / math.pi, x))
        closed = (tf * cos - sin) / (tf * tf)
        return gy * math.pi * where(near, tn * s, closed)


class Atan2(Function):
    """y = atan2(a, b): the angle of the point (b, a), in [−π, π], with C's signed zeros
    and infinities (NumPy's ``arctan2``).
    VJP: ga = gy·b/r², gb = −gy·a/r², r = hypot(a, b) (no overflow or underflow of
    a² + b²); 0 at the origin, as in PyTorch."""

    opmath = True

    @ieee
    def forward(self, xp, a, b):
        return xp.arctan2(*_floats(a, b))

    def backward(self, gy):
        a, b = self.inputs
        r = a.hypot(b)
        r = r + const((r.data == 0).astype(r.dtype))  # r = 1 at the origin: a = b = 0 there
        ga = gy * (b / r) / r if self.needs_input_grad[0] else None
        gb = -gy * (a / r) / r if self.needs_input_grad[1] else None
        return ga, gb


class Hypot(Function):
    """y = √(a² + b²), without overflow or underflow.
    VJP: ga = gy·a/y, gb = gy·b/y (nan at the origin, as in PyTorch)."""

    opmath = True

    save_output = True

    @ieee
    def forward(self, xp, a, b):
        return xp.hypot(*_floats(a, b))

    def backward(self, gy):
        a, b = self.inputs
        y = self.saved_output
        ga = gy * (a / y) if self.needs_input_grad[0] else None
        gb = gy * (b / y) if self.needs_input_grad[1] else None
        return ga, gb


class LogAddExp(Function):
    """y = log(eᵃ + eᵇ), without overflow: exact for equal infinities (NumPy's ``logaddexp``).
    VJP: ga = gy·σ(a − b), gb = gy·σ(b − a), σ the logistic sigmoid."""

    opmath = True

    @ieee
    def forward(self, xp, a, b):
        return xp.logaddexp(*_floats(a, b))

    def backward(self, gy):
        a, b = self.inputs
        d = a - b
        ga = gy * d.sigmoid() if self.needs_input_grad[0] else None
        gb = gy * (-d).sigmoid() if self.needs_input_grad[1] else None
        return ga, gb


class LogAddExp2(Function):
    """y = log₂(2ᵃ + 2ᵇ), without overflow (NumPy's ``logaddexp2``).
    VJP: ga = gy·σ((a − b)·ln 2), gb = gy·σ((b − a)·ln 2)."""

    opmath = True

    @ieee
    def forward(self, xp, a, b):
        return xp.logaddexp2(*_floats(a, b))

    def backward(self, gy):
        a, b = self.inputs
        d = (a - b) * math.log(2)
        ga = gy * d.sigmoid() if self.needs_input_grad[0] else None
        gb = gy * (-d).sigmoid() if self.needs_input_grad[1] else None
        return ga, gb


class XLogY(Function):
    """y = x·log z, and 0 where x = 0 (even where z = 0), nan where z is nan: PyTorch's
    ``xlogy``.   VJP: gx = gy·log z (again 0 where gy = 0, and 0 where x = 0 and z ≤ 0, as
    PyTorch), gz = gy·x / z."""

    opmath = True

    @ieee
    def forward(self, xp, x, z):
        x, z = _floats(x, z)
        y = x * xp.log(z)
        return xp.where((x == 0) & ~xp.isnan(z), xp.zeros((), y.dtype), y)

    def backward(self, gy):
        x, z = self.inputs
        gx = gz = None
        if self.needs_input_grad[0]:
            flat = (x.data == 0) & (z.data <= 0)
            gx = where(flat, 0.0, XLogY()(gy, z))
        if self.needs_input_grad[1]:
            gz = gy * x / z
        return gx, gz


class CopySign(Function):
    """y = |a| with the sign (bit) of b, as C's ``copysign``.
    VJP: ga = gy·y/a: ±1 (constant by parts), 0 where a = 0 and nan where a is nan, as
    PyTorch's rule (which gives nan at a = ±inf too, where this keeps ±1); gb = 0, the
    derivative wherever it exists (the sign of b is piecewise constant), as PyTorch."""

    save_output = True

    @ieee
    def forward(self, xp, a, b):
        return xp.copysign(*_floats(a, b))

    def backward(self, gy):
        xp, a, y = self.inputs[0].xp, self.inputs[0].data, self.saved_output.data
        ratio = xp.where(xp.signbit(a) == xp.signbit(y), 1.0, -1.0)  # y/a without 0/0
        ratio = xp.where(a == 0, 0.0, xp.where(xp.isnan(a), math.nan, ratio))
        ga = gy * const(ratio.astype(gy.dtype, copy=False))
        return ga, gy * 0 if self.needs_input_grad[1] else None


def sinh(input):
    """Hyperbolic sine (:class:`Sinh`)."""
    return Sinh()(input)


def cosh(input):
    """Hyperbolic cosine (:class:`Cosh`)."""
    return Cosh()(input)


def asin(input):
    """Inverse sine, in [−π/2, π/2] (:class:`Asin`)."""
    return Asin()(input)


def acos(input):
    """Inverse cosine, in [0, π] (:class:`Acos`)."""
    return Acos()(input)


def atan(input):
    """Inverse tangent, in (−π/2, π/2) (:class:`Atan`)."""
    return Atan()(input)


def asinh(input):
    """Inverse hyperbolic sine (:class:`Asinh`)."""
    return Asinh()(input)


def acosh(input):
    """Inverse hyperbolic cosine, defined from 1 on (:class:`Acosh`)."""
    return Acosh()(input)


def atanh(input):
    """Inverse hyperbolic tangent, on (−1, 1) (:class:`Atanh`)."""
    return Atanh()(input)


def erfc(input):
    """Complementary error function 1 − erf x (:class:`Erfc`)."""
    return Erfc()(input)


def erfinv(input):
    """Inverse error function, on [−1, 1] (:class:`Erfinv`)."""
    return Erfinv()(input)


def logit(input, eps=None):
    """log(p / (1 − p)), the inverse of the sigmoid, with p clamped to [eps, 1 − eps] when
    ``eps`` is given (:class:`Logit`).

    >>> import minigrad as mg
    >>> mg.logit(mg.tensor([0.05, 0.5, 0.75]), eps=0.1)
    tensor([-2.1972246,  0.       ,  1.0986123])
    """
    if eps is not None:
        _need_number("logit", "eps", eps)
    return Logit(eps)(input)


def sinc(input):
    """The normalized sinc, sin(πx)/(πx) and 1 at 0 (:class:`Sinc`)."""
    return Sinc()(input)


def atan2(input, other):
    """The angle of the point (other, input), elementwise, broadcasting (:class:`Atan2`).

    >>> import minigrad as mg
    >>> mg.atan2(mg.tensor([1.0, 0.0, -0.0]), mg.tensor([-1.0, -1.0, -1.0]))
    tensor([ 2.3561945,  3.1415927, -3.1415927])
    """
    return Atan2()(input, other)


def hypot(input, other):
    """√(input² + other²), broadcasting, without overflow (:class:`Hypot`)."""
    return Hypot()(input, other)


def logaddexp(input, other):
    """log(e^input + e^other), broadcasting, without overflow (:class:`LogAddExp`)."""
    return LogAddExp()(input, other)


def logaddexp2(input, other):
    """log₂(2^input + 2^other), broadcasting, without overflow (:class:`LogAddExp2`)."""
    return LogAddExp2()(input, other)


def xlogy(input, other):
    """input·log(other), 0 where input is 0 (:class:`XLogY`); either may be a number.

    >>> import minigrad as mg
    >>> mg.xlogy(mg.tensor([0.0, 0.0, 2.0]), mg.tensor([0.0, float("nan"), 1.0]))
    tensor([ 0., nan,  0.])
    """
    return XLogY()(input, other)


def copysign(input, other):
    """|input| with the sign of other, broadcasting (:class:`CopySign`)."""
    return CopySign()(input, other)


arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh
arctan2 = atan2


@in_float32
def deg2rad(input):
    """input·π/180 (integers give the default float dtype).   Gradient by the composition."""
    _need_tensors("deg2rad", input=input)
    return input * (math.pi / 180)


@in_float32
def rad2deg(input):
    """input·180/π (integers give the default float dtype).   Gradient by the composition."""
    _need_tensors("rad2deg", input=input)
    return input * (180 / math.pi)


def true_divide(dividend, divisor):
    """dividend / divisor, true division: PyTorch's alias of ``div`` (:class:`Div`)."""
    if not isinstance(dividend, Tensor) and not isinstance(divisor, Tensor):
        raise TypeError("true_divide: dividend or divisor must be a Tensor")
    return Div()(dividend, divisor)


@in_float32
def lerp(input, end, weight):
    """input + weight·(end − input), PyTorch's ``lerp``, broadcasting the three; ``weight``
    is a number or a Tensor. Computed as PyTorch does, ``input + w·(end − input)`` where
    |w| < ½ and ``end − (end − input)·(1 − w)`` elsewhere, so that w = 0 gives input and
    w = 1 gives end exactly. Integers compute in the default float dtype (PyTorch refuses
    them).   Gradients by the composition: gy·(1 − w), gy·w and gy·(end − input).

    >>> import minigrad as mg
    >>> mg.lerp(mg.tensor([0.0, 10.0]), mg.tensor([1.0, 20.0]), 0.25)
    tensor([ 0.25, 12.5 ])
    """
    _need_tensors("lerp", input=input, end=end)
    if not isinstance(weight, Tensor):
        _need_number("lerp", "weight", weight)
    _check_broadcast("lerp", input=input, end=end, weight=weight)
    input, end = to_float(input), to_float(end)
    diff = end - input
    if isinstance(weight, Tensor):
        return where(weight.abs() < 0.5, input + weight * diff, end - diff * (1 - weight))
    return input + weight * diff if abs(weight) < 0.5 else end - diff * (1 - weight)


@in_float32
def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value·tensor1·tensor2, PyTorch's ``addcmul``, broadcasting the three.
    With integer tensors PyTorch truncates a float ``value`` to an integer; so does this.
    Gradients by the composition."""
    _need_tensors("addcmul", input=input, tensor1=tensor1, tensor2=tensor2)
    _need_number("addcmul", "value", value)
    _check_broadcast("addcmul", input=input, tensor1=tensor1, tensor2=tensor2)
    if not any(_dt.is_floating(t.dtype) for t in (input, tensor1, tensor2)):
        value = int(value)
    return input + (tensor1 * tensor2 if value == 1 else value * tensor1 * tensor2)


@in_float32
def addcdiv(input, tensor1, tensor2, *, value=1):
    """input + value·tensor1/tensor2, PyTorch's ``addcdiv``, broadcasting the three. As in
    PyTorch, tensor1 and tensor2 may not both be integers (a TypeError here).
    Gradients by the composition."""
    _need_tensors("addcdiv", input=input, tensor1=tensor1, tensor2=tensor2)
    _need_number("addcdiv", "value", value)
    if not _dt.is_floating(tensor1.dtype) and not _dt.is_floating(tensor2.dtype):
        raise TypeError(f"addcdiv: integer division of tensor1 by tensor2 ({tensor1.dtype}, "
                        f"{tensor2.dtype}) is not supported, as in PyTorch; give one of "
                        "them a float dtype")
    _check_broadcast("addcdiv", input=input, tensor1=tensor1, tensor2=tensor2)
    return input + (tensor1 / tensor2 if value == 1 else value * tensor1 / tensor2)


def float_power(input, exponent):
    """input ** exponent computed in float64 whatever the dtypes (PyTorch's
    ``float_power``): the result is float64, and each tensor's gradient comes back in its
    own dtype (through :class:`Cast`). One of the two may be a Python number."""
    if isinstance(input, Tensor):
        base = input.to(dtype=_dt.float64)
        if isinstance(exponent, Tensor):
            return Pow()(base, exponent.to(dtype=_dt.float64))
        _need_number("float_power", "exponent", exponent)
        return pow(base, exponent)
    _need_tensors("float_power", exponent=exponent)
    _need_number("float_power", "input", input)
    return Pow()(float(input), exponent.to(dtype=_dt.float64))


def heaviside(input, values):
    """The step function: 0 where input < 0, ``values`` where input = 0, 1 where input > 0
    (and 0 for nan, as PyTorch's kernel gives), broadcasting.

    Not differentiable, like the comparisons: the result never requires grad (its
    derivative is 0 wherever it exists; PyTorch raises at backward instead). Mixed dtypes
    promote as in the other binary ops (PyTorch refuses them), and ``values`` may be a
    Python number.

    >>> import minigrad as mg
    >>> mg.heaviside(mg.tensor([-1.5, 0.0, 2.0]), mg.tensor(0.5))
    tensor([0. , 0.5, 1. ])
    """
    _need_tensors("heaviside", input=input)
    if isinstance(values, Tensor):
        if values.device != input.device:
            raise RuntimeError(f"heaviside: expected all tensors on one device, got "
                               f"{input.device}, {values.device}; move them explicitly "
                               "with .to(device)")
    elif isinstance(values, numbers.Number):
        values = _as_operand(values, input)
    else:
        raise TypeError(f"heaviside: values must be a Tensor or a number, got "
                        f"{type(values).__name__}")
    _check_broadcast("heaviside", input=input, values=values)
    x, v = promote(input.data, values.data)
    return const(input.xp.where(x == 0, v, x > 0).astype(x.dtype, copy=False))


def result_type(tensor1, tensor2):
    """The dtype of an elementwise op of ``tensor1`` and ``tensor2`` (tensors or Python
    numbers) under PyTorch's promotion: a Python number takes the tensor's dtype within
    its kind, a float with an integer tensor the default floating dtype.

    >>> import minigrad as mg
    >>> mg.result_type(mg.tensor([1, 2]), 1.0), mg.result_type(mg.tensor([1, 2]), 1)
    (dtype('float32'), dtype('int64'))
    """
    if not isinstance(tensor1, Tensor):
        if not isinstance(tensor2, Tensor):  # two numbers: as 0-d tensors of each
            return result_type(Tensor(tensor1), tensor2)
        tensor1, tensor2 = tensor2, tensor1
    other = tensor2 if isinstance(tensor2, Tensor) else _as_operand(tensor2, tensor1)
    return _dt.result_type(tensor1.data, other.data)
