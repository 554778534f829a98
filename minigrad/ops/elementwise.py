"""Elementwise arithmetic and math, with NumPy broadcasting.

Each docstring gives the vector-Jacobian product (VJP). Gradients come back in the
broadcast shape; :mod:`minigrad.autograd.function` sums them to each input's shape.
Masks in backward (``x > 0`` and friends) are constants: their derivative is zero
wherever the function is differentiable, so higher derivatives stay correct.
"""
from __future__ import annotations

import math
import numbers

from .. import dtypes as _dt
from .._backend import check_dtype_on, device_of
from .._backend import erf as _erf
from ..autograd.function import Function, ieee
from ..tensor import Tensor, _make_tensor


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


class Identity(Function):
    """y = x (a copy).   VJP: gx = gy."""

    def forward(self, xp, x):
        return x.copy()

    def backward(self, gy):
        return gy


class Add(Function):
    """y = a + b.   VJP: ga = gy, gb = gy."""

    def forward(self, xp, a, b):
        a, b = promote(a, b)
        return a + b

    def backward(self, gy):
        return gy, gy


class Sub(Function):
    """y = a − b.   VJP: ga = gy, gb = −gy."""

    def forward(self, xp, a, b):
        a, b = promote(a, b)
        return a - b

    def backward(self, gy):
        return gy, -gy if self.needs_input_grad[1] else None


class Mul(Function):
    """y = a·b.   VJP: ga = gy·b, gb = gy·a."""

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
    VJP: ga = gy / b, gb = −gy·a / b²."""

    @ieee
    def forward(self, xp, a, b):
        a, b = promote(a, b)
        if not _dt.is_floating(a.dtype):  # integers and bools: true division in float32
            a, b = to_float(a), to_float(b)
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        ga = gy / b if self.needs_input_grad[0] else None
        gb = -gy * a / (b * b) if self.needs_input_grad[1] else None
        return ga, gb


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

    def forward(self, xp, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(Function):
    """y = aᵇ.   VJP: ga = gy·b·aᵇ⁻¹, gb = gy·aᵇ·log a (only when b needs a gradient)."""

    amp_policy = "float32"  # on PyTorch's CUDA autocast float32 list

    @ieee
    def forward(self, xp, a, b):
        a, b = promote(a, b)
        return a**b

    def backward(self, gy):
        a, b = self.inputs
        ga = gy * b * a ** (b - 1) if self.needs_input_grad[0] else None
        gb = gy * a**b * a.log() if self.needs_input_grad[1] else None
        return ga, gb


class PowScalar(Function):
    """y = xᶜ for a Python number c.   VJP: gx = gy·c·xᶜ⁻¹."""

    amp_policy = "float32"  # on PyTorch's CUDA autocast float32 list

    def __init__(self, c):
        self.c = c

    @ieee
    def forward(self, xp, x):
        if not isinstance(self.c, numbers.Integral):  # int ** 0.5 is float32, as PyTorch
            x = to_float(x)
        elif x.dtype.kind == "b":  # bool ** 2 is int64
            x = x.astype(_dt.int64)
        return x**self.c

    def backward(self, gy):
        (x,) = self.inputs
        if self.c == 2:
            return gy * (2 * x)
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

    amp_policy = "float32"  # on PyTorch's CUDA autocast float32 list

    @ieee
    def forward(self, xp, x):
        return xp.log1p(to_float(x))

    def backward(self, gy):
        return gy / (1 + self.inputs[0])


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

    amp_policy = "float32"  # on PyTorch's CUDA autocast float32 list

    save_output = True

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

    save_output = True

    @ieee
    def forward(self, xp, x):
        return xp.exp2(to_float(x))

    def backward(self, gy):
        return gy * self.saved_output * math.log(2)


class _LogBase(Function):
    """y = log_b x for the base b of ``ufunc``.   VJP: gx = gy / (x·ln b)."""

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

    def forward(self, xp, x):
        return xp.sin(to_float(x))

    def backward(self, gy):
        return gy * self.inputs[0].cos()


class Cos(Function):
    """y = cos x.   VJP: gx = −gy·sin x."""

    def forward(self, xp, x):
        return xp.cos(to_float(x))

    def backward(self, gy):
        return -gy * self.inputs[0].sin()


class Erf(Function):
    """y = erf x.   VJP: gx = gy·(2/√π)·e^(−x²)."""

    def forward(self, xp, x):
        return _erf(to_float(x))

    def backward(self, gy):
        (x,) = self.inputs
        return gy * (2 / math.sqrt(math.pi)) * (-(x * x)).exp()


class Clamp(Function):
    """y = min(max(x, lo), hi).   VJP: gx = gy where lo ≤ x ≤ hi, else 0."""

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
            inside = inside & (x >= self.lo)
        if self.hi is not None:
            inside = inside & (x <= self.hi)
        return gy * const(inside.astype(x.dtype))


def clamp(x, min=None, max=None):
    """min(max(x, min), max), PyTorch's ``clamp``: bounds are numbers or tensors (which
    broadcast and receive the gradient where they win); min > max gives max everywhere.
    An integer tensor with a float bound gives the default float dtype."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # x < NaN is False, so a NaN x stays; a NaN bound wins (v != v), as in PyTorch
        y = x if min is None else where((x < min) | (min != min), min, x)
        return y if max is None else where((y > max) | (max != max), max, y)
    bounds = [v for v in (min, max) if v is not None]
    if not _dt.is_floating(x.dtype) and any(
            not isinstance(v, numbers.Integral) for v in bounds):
        x = x.to(dtype=_dt.get_default_dtype())
    return Clamp(min, max)(x)


class Maximum(Function):
    """y = max(a, b).   VJP: the larger input gets gy; on ties each gets gy/2."""

    def forward(self, xp, a, b):
        return xp.maximum(*promote(a, b))

    def backward(self, gy):
        a, b = (t.data for t in self.inputs)
        wa = const(((a > b) + 0.5 * (a == b)).astype(gy.dtype))
        return gy * wa, gy * (1 - wa)


class Minimum(Function):
    """y = min(a, b).   VJP: the smaller input gets gy; on ties each gets gy/2."""

    def forward(self, xp, a, b):
        return xp.minimum(*promote(a, b))

    def backward(self, gy):
        a, b = (t.data for t in self.inputs)
        wa = const(((a < b) + 0.5 * (a == b)).astype(gy.dtype))
        return gy * wa, gy * (1 - wa)


class Where(Function):
    """y = a where cond else b.   VJP: ga = gy·cond, gb = gy·(1 − cond)."""

    def __init__(self, cond):
        self.cond = cond

    def forward(self, xp, a, b):
        return xp.where(self.cond, *promote(a, b))

    def backward(self, gy):
        c = const(self.cond.astype(gy.dtype))
        return gy * c, gy * (1 - c)


def where(condition, input=None, other=None):
    """Elementwise ``input if condition else other`` (differentiable in input and other,
    which may be Python numbers); with ``condition`` alone, ``condition.nonzero(
    as_tuple=True)``: a tuple of index tensors, one per dim, as in PyTorch."""
    if input is None and other is None:
        data = condition.data if isinstance(condition, Tensor) else condition
        return tuple(const(i) for i in data.nonzero())
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        device = condition.device if isinstance(condition, Tensor) else None
        input = Tensor(input, device=device)   # where(c, 1.0, 0.0): float32, as PyTorch
    ref = input if isinstance(input, Tensor) else other
    cond = condition.data if isinstance(condition, Tensor) else ref.xp.asarray(condition)
    if cond.dtype.kind != "b":
        cond = cond.astype(bool)
    return Where(cond)(input, other)


class Cast(Function):
    """y = x converted to ``dtype``.   VJP: gx = gy converted back to x's dtype."""

    def __init__(self, dtype):
        self.dtype = dtype

    @ieee
    def forward(self, xp, x):
        check_dtype_on(device_of(x), self.dtype)
        return x.astype(self.dtype)

    def backward(self, gy):
        return gy.to(dtype=self.inputs[0].dtype)
