"""PyTorch's statistics, integer and remaining elementwise functions.

- statistics: bincount, histc, histogram, mode, nanmedian, quantile, nanquantile, cov,
  corrcoef, renorm, unique_consecutive, dist;
- integers (no gradient; integer, and for the logical ones bool, tensors only):
  bitwise_and/or/xor/not, bitwise_left_shift/right_shift, gcd, lcm;
- elementwise: fmax, fmin, fmod, frexp, ldexp, nextafter, signbit;
- small predicates and aliases: positive, msort, ravel, is_same_size, is_signed,
  is_nonzero, isreal.

Four new derivative rules live here (:class:`FMax`, :class:`FMin`, :class:`Fmod`, and
:class:`Frexp` for the mantissa); everything else is a composition of existing ops, so
its gradient, and the gradient of that, is the one of the parts: quantile and
nanquantile sort (a gather) and interpolate with ``lerp``; mode and nanmedian pick one
element with the sort machinery of :mod:`.sorting`; cov, corrcoef, renorm and dist are
arithmetic, matmul and norms; bincount with weights is an ``index_add``.

Where minigrad differs from PyTorch, it says so in the function's docstring.
"""
from __future__ import annotations

import math
import numbers
import operator
import warnings
from collections import namedtuple

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function, ieee
from ..tensor import Tensor, _as_operand, _make_tensor
from . import manipulation as _manipulation
from . import sorting as _sorting
from .elementwise import (
    _check_broadcast,
    _need_number,
    _need_tensors,
    check_integer_divisor,
    const,
    in_float32,
    lerp,
    masked,
    promote,
    where,
)
from .shape import _dim, take_along
from .sorting import _argsort, _pick, _selection_axis, _zero_d

__all__ = [
    "positive", "msort", "ravel", "is_same_size", "is_signed", "is_nonzero", "isreal",
    "dist", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
    "bitwise_right_shift", "gcd", "lcm", "FMax", "FMin", "Fmod", "Frexp", "fmax", "fmin",
    "fmod", "frexp", "ldexp", "nextafter", "signbit", "bincount", "histc", "histogram",
    "mode", "nanmedian", "quantile", "nanquantile", "cov", "corrcoef", "renorm",
    "unique_consecutive",
]

#: the result of :func:`frexp`
frexp_result = namedtuple("frexp", ["mantissa", "exponent"])
#: the result of :func:`histogram`
histogram_result = namedtuple("histogram", ["hist", "bin_edges"])


def _need_tensor(op, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expects a Tensor, got {type(x).__name__}")


def _host(a):
    """A device array as a NumPy array (a copy from the GPU; the array itself on the CPU)."""
    return a.get() if hasattr(a, "get") else np.asarray(a)


# ------------------------------------------------------------------ predicates and aliases


def positive(input):
    """``input`` itself (PyTorch's unary ``+``), refused for bool tensors as there.

    >>> import minigrad as mg
    >>> x = mg.tensor([1, -2])
    >>> mg.positive(x) is x
    True
    """
    _need_tensor("positive", input)
    if input.dtype == _dt.bool:
        raise TypeError("positive: the unary + is not supported on bool tensors (as PyTorch)")
    return input


def msort(input):
    """``input`` sorted along dim 0 (the values of ``sort(input, dim=0)``).

    >>> import minigrad as mg
    >>> mg.msort(mg.tensor([[3, 1], [1, 2]])).tolist()
    [[1, 1], [3, 2]]
    """
    _need_tensor("msort", input)
    return _sorting.sort(input, 0).values


def ravel(input):
    """``input`` flattened to 1-d (a 0-d tensor becomes shape (1,))."""
    _need_tensor("ravel", input)
    return input.reshape(-1)


def is_same_size(input, other) -> bool:
    """Whether the two tensors have the same shape."""
    _need_tensors("is_same_size", input=input, other=other)
    return input.shape == other.shape


def is_signed(input) -> bool:
    """Whether the dtype holds negative numbers: floats and signed integers (not uint8,
    not bool)."""
    _need_tensor("is_signed", input)
    return _dt.is_floating(input.dtype) or input.dtype.kind == "i"


def is_nonzero(input) -> bool:
    """Whether the one element of ``input`` is not 0 (NaN counts as non-zero); a tensor
    of any other size is ambiguous (a RuntimeError, as PyTorch's)."""
    _need_tensor("is_nonzero", input)
    n = input.numel()
    if n != 1:
        what = "no values" if n == 0 else "more than one value"
        raise RuntimeError(f"is_nonzero: the truth value of a tensor with {what} is "
                           "ambiguous")
    return bool(input.data.reshape(()) != 0)


def isreal(input):
    """True everywhere: minigrad has no complex dtypes (a bool tensor, no gradient)."""
    _need_tensor("isreal", input)
    return const(input.xp.ones(input.shape, dtype=bool))


def dist(input, other, p=2):
    r"""‖input − other‖_p over all elements, after broadcasting: the p-norm of the
    difference for any real p (p = 0 counts the non-zero differences; ±inf is the largest
    or smallest |difference|). Differentiable, through :func:`minigrad.linalg.vector_norm`.

    Where minigrad differs: for p = 0 the gradient is 0 (PyTorch's backward fails).

    >>> import minigrad as mg
    >>> mg.dist(mg.tensor([1.0, 2.0, 3.0]), mg.tensor([1.0, 5.0, 7.0])).item()   # √(3² + 4²)
    5.0
    >>> mg.dist(mg.tensor([1.0, 2.0, 3.0]), mg.tensor([1.0, 5.0, 7.0]), p=1).item()
    7.0
    """
    from ..linalg import vector_norm

    _need_tensors("dist", input=input, other=other)
    _dt.require_floating("dist", input)
    _dt.require_floating("dist", other, "other")
    _check_broadcast("dist", input=input, other=other)
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or math.isnan(p):
        raise ValueError(f"dist: p must be a real number or ±inf, got {p!r}")
    return vector_norm(input - other, p)


# ------------------------------------------------------------------ integers and bits


def _integer_operands(op, input, other, allow_bool):
    """(xp, a, b): the two operands (Tensors or Python ints/bools) as arrays of their
    common dtype, after checking that both are integers (or bools, with ``allow_bool``)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{op}: input or other must be a Tensor")
    ref = input if isinstance(input, Tensor) else other
    a = input if isinstance(input, Tensor) else _as_operand(input, ref)
    b = other if isinstance(other, Tensor) else _as_operand(other, ref)
    if a.device != b.device:
        raise RuntimeError(f"{op}: expected all tensors on one device, got {a.device}, "
                           f"{b.device}; move them explicitly with .to(device)")
    _check_broadcast(op, input=a, other=b)
    x, y = promote(a.data, b.data)
    _check_integers(op, x.dtype, allow_bool, f"{a.dtype} and {b.dtype}")  # bool and int: int
    return ref.xp, x, y


def _check_integers(op, dtype, allow_bool, got=None):
    kind = dtype.kind
    if kind not in "iu" and not (allow_bool and kind == "b"):
        wanted = "integer or bool" if allow_bool else "integer"
        raise TypeError(f"{op}: expects {wanted} tensors, got {got or dtype} (as PyTorch)")


def bitwise_and(input, other):
    """Elementwise a & b of integer or bool tensors (or a Python int), broadcasting.

    >>> import minigrad as mg
    >>> mg.bitwise_and(mg.tensor([12, -1]), 10).tolist()
    [8, 10]
    """
    xp, a, b = _integer_operands("bitwise_and", input, other, True)
    return const(xp.bitwise_and(a, b))


def bitwise_or(input, other):
    """Elementwise a | b of integer or bool tensors, broadcasting."""
    xp, a, b = _integer_operands("bitwise_or", input, other, True)
    return const(xp.bitwise_or(a, b))


def bitwise_xor(input, other):
    """Elementwise a ^ b of integer or bool tensors, broadcasting."""
    xp, a, b = _integer_operands("bitwise_xor", input, other, True)
    return const(xp.bitwise_xor(a, b))


def bitwise_not(input):
    """Elementwise ~a: the bits flipped (−a − 1 for signed integers), logical not for
    bools.

    >>> import minigrad as mg
    >>> mg.bitwise_not(mg.tensor([0, 5])).tolist(), mg.bitwise_not(mg.tensor([True])).tolist()
    ([-1, -6], [False])
    """
    _need_tensor("bitwise_not", input)
    _check_integers("bitwise_not", input.dtype, True)
    return const(input.xp.invert(input.data))


def _shift(op, input, other, left):
    """a shifted by b bits, with PyTorch's values outside 0 ≤ b < bits: 0 to the left;
    to the right the sign bit everywhere (−1 or 0) for signed, 0 for unsigned dtypes."""
    xp, a, b = _integer_operands(op, input, other, False)
    bits = a.dtype.itemsize * 8
    outside = (b < 0) | (b >= bits)
    s = xp.where(outside, 0, b).astype(a.dtype, copy=False)
    if left:
        y = xp.where(outside, 0, xp.left_shift(a, s))
    else:
        fill = xp.right_shift(a, bits - 1) if a.dtype.kind == "i" else xp.zeros_like(a)
        y = xp.where(outside, fill, xp.right_shift(a, s))
    return const(y.astype(a.dtype, copy=False))


def bitwise_left_shift(input, other):
    """a << b (a·2ᵇ, wrapping in the dtype) of integer tensors; 0 for b < 0 or b ≥ the
    dtype's bits, as in PyTorch.

    >>> import minigrad as mg
    >>> mg.bitwise_left_shift(mg.tensor([1, 3]), mg.tensor([2, 64])).tolist()
    [4, 0]
    """
    return _shift("bitwise_left_shift", input, other, True)


def bitwise_right_shift(input, other):
    """a >> b (⌊a/2ᵇ⌋, arithmetic for signed dtypes) of integer tensors; for b < 0 or
    b ≥ the dtype's bits, −1 for negative a and 0 otherwise, as in PyTorch.

    >>> import minigrad as mg
    >>> mg.bitwise_right_shift(mg.tensor([-8, 8]), 1).tolist()
    [-4, 4]
    """
    return _shift("bitwise_right_shift", input, other, False)


def gcd(input, other):
    """The greatest common divisor, elementwise, of integer tensors (non-negative;
    gcd(0, 0) = 0).

    >>> import minigrad as mg
    >>> mg.gcd(mg.tensor([12, -18, 0]), mg.tensor([-8, 12, 5])).tolist()
    [4, 6, 5]
    """
    xp, a, b = _integer_operands("gcd", input, other, False)
    return const(xp.gcd(a, b))


def lcm(input, other):
    """The least common multiple, elementwise, of integer tensors (non-negative; 0 when
    either is 0).

    >>> import minigrad as mg
    >>> mg.lcm(mg.tensor([4, -6, 0]), mg.tensor([6, 4, 5])).tolist()
    [12, 12, 0]
    """
    xp, a, b = _integer_operands("lcm", input, other, False)
    return const(xp.lcm(a, b))


# ------------------------------------------------------------------ elementwise


def _nan_ignoring_vjp(fn, gy, beats):
    """(ga, gb) of fmax (``beats`` is >) or fmin (<): gy to the operand y is (a where a
    beats b or b is NaN), split evenly on a tie (the minimum-norm subgradient, as
    :class:`Maximum`'s and PyTorch's since 2.14; before 2.14 PyTorch gave a tie to a)."""
    a, b = (t.data for t in fn.inputs)
    a_wins, tie = beats(a, b) | (b != b), a == b
    share = const((1 - 0.5 * tie).astype(gy.dtype))
    need_a, need_b = fn.needs_input_grad
    return (masked(gy, a_wins | tie) * share if need_a else None,
            masked(gy, ~a_wins) * share if need_b else None)


class FMax(Function):
    """y = max(a, b) ignoring NaN: the other operand where one is NaN, NaN where both are
    (C's ``fmax``).   VJP: ga = gy where a > b or b is NaN, gb = gy where b > a or a is
    NaN, gy/2 each on a tie (:func:`_nan_ignoring_vjp`)."""

    piecewise_linear = True  # gradients from constants: see Function

    def forward(self, xp, a, b):
        return xp.fmax(*promote(a, b))

    def backward(self, gy):
        return _nan_ignoring_vjp(self, gy, operator.gt)


class FMin(Function):
    """y = min(a, b) ignoring NaN (C's ``fmin``).   VJP: ga = gy where a < b or b is NaN,
    gb = gy where b < a or a is NaN, gy/2 each on a tie (:func:`_nan_ignoring_vjp`)."""

    piecewise_linear = True  # gradients from constants: see Function

    def forward(self, xp, a, b):
        return xp.fmin(*promote(a, b))

    def backward(self, gy):
        return _nan_ignoring_vjp(self, gy, operator.lt)


class Fmod(Function):
    """y = a − trunc(a / b)·b, with the sign of a (C's ``fmod``; ``remainder`` takes the
    sign of b).   VJP: ga = gy, gb = −gy·trunc(a / b) (constant by parts, as PyTorch)."""

    @ieee
    def forward(self, xp, a, b):
        a, b = promote(a, b)
        if a.dtype.kind == "b":
            raise TypeError("fmod: not defined for bool tensors (as PyTorch)")
        check_integer_divisor(b, "fmod")
        return xp.fmod(a, b)

    def backward(self, gy):
        a, b = self.inputs
        gb = -gy * a.div(b, rounding_mode="trunc") if self.needs_input_grad[1] else None
        return gy, gb


class Frexp(Function):
    """The mantissa m of x = m·2ᵉ with ½ ≤ |m| < 1 (m = x for 0, ±inf and NaN, with
    e = 0); the exponent e is kept on the Function (int32).   VJP: gx = gy·2⁻ᵉ
    (PyTorch's)."""

    def forward(self, xp, x):
        m, e = xp.frexp(x.astype(np.float32) if x.dtype.kind == "V" else x)  # bfloat16
        self.exponent = e.astype(np.int32)
        return m.astype(x.dtype, copy=False)

    def backward(self, gy):
        xp = gy.xp
        with np.errstate(over="ignore"):  # 2⁻ᵉ of a subnormal x: inf, as in PyTorch
            scale = xp.ldexp(xp.ones((), np.float64), -self.exponent).astype(gy.dtype)
        return gy * const(scale)


def fmax(input, other):
    """The elementwise maximum that ignores NaN (:class:`FMax`), broadcasting.

    >>> import minigrad as mg
    >>> mg.fmax(mg.tensor([1.0, float("nan"), 3.0]), mg.tensor([2.0, 2.0, float("nan")]))
    tensor([2., 2., 3.])
    """
    return FMax()(input, other)


def fmin(input, other):
    """The elementwise minimum that ignores NaN (:class:`FMin`), broadcasting."""
    return FMin()(input, other)


def fmod(input, other):
    """C's remainder a − trunc(a/b)·b, with the sign of the dividend (:class:`Fmod`);
    ``other`` may be a number. Integer division by 0 raises ZeroDivisionError.

    >>> import minigrad as mg
    >>> mg.fmod(mg.tensor([5.5, -5.5]), 2.0).tolist()    # remainder: [1.5, 0.5]
    [1.5, -1.5]
    """
    _need_tensors("fmod", input=input)
    return Fmod()(input, other)


def frexp(input):
    """``(mantissa, exponent)`` with input = mantissa·2^exponent and ½ ≤ |mantissa| < 1
    (a named tuple; the exponent int32, without gradient). Floating tensors only.

    >>> import minigrad as mg
    >>> m, e = mg.frexp(mg.tensor([8.0, 0.3, -5.0, 0.0]))
    >>> m.tolist(), e.tolist()
    ([0.5, 0.6000000238418579, -0.625, 0.0], [4, -1, 3, 0])
    """
    _need_tensor("frexp", input)
    _dt.require_floating("frexp", input)
    fn = Frexp()
    mantissa = fn(input)
    return frexp_result(mantissa, const(fn.exponent))


def ldexp(input, other):
    """input·2^other, PyTorch's composition ``input * 2 ** other``, in the operands'
    promoted dtype (integers give the default float dtype); differentiable in both.

    >>> import minigrad as mg
    >>> mg.ldexp(mg.tensor([1.0, 3.0]), mg.tensor([2, -1])).tolist()
    [4.0, 1.5]
    """
    _need_tensors("ldexp", input=input)
    y = input * 2.0 ** other
    if isinstance(other, Tensor):   # the operands' promoted dtype (2.0 ** an int is float32)
        common = _dt.result_type(input.data, other.data)
        common = common if _dt.is_floating(common) else _dt.get_default_dtype()
        y = y if y.dtype == common else y.to(dtype=common)
    return y


class Nextafter(Function):
    """y = the next float after a towards b (b itself where a = b).
    VJP: ga = gy where a ≠ b, else 0; gb = 0 (PyTorch's: y − a is one ulp, a constant,
    where a ≠ b)."""

    piecewise_linear = True  # gradients from constants: see Function

    @ieee
    def forward(self, xp, a, b):
        if a.dtype.kind == "V":  # bfloat16: no nextafter loop in NumPy or CuPy
            return _nextafter_bits(xp, a, b)
        return xp.nextafter(a, b)

    def backward(self, gy):
        a, b = self.inputs
        return where(const(a.data != b.data), gy, 0.0), gy * 0


def _nextafter_bits(xp, a, b):
    """nextafter of 16-bit floats on their bits: the integer the bits of a spell, one step
    up where b lies further from 0 on a's side, else down; from ±0 the smallest subnormal
    with b's sign; b where a = b; NaN where either is NaN."""
    up = (b > a) == (a > 0)
    bits = (a.view(xp.uint16).astype(xp.int32) + xp.where(up, 1, -1)).astype(xp.uint16)
    bits = xp.where(a == 0, xp.where(b < 0, 0x8001, 0x0001).astype(xp.uint16), bits)
    y = xp.where(a == b, b, bits.view(a.dtype))
    return xp.where(xp.isnan(a) | xp.isnan(b), a + b, y)


def nextafter(input, other):
    """The next floating-point value after ``input`` towards ``other``, elementwise,
    broadcasting (floating tensors, or an integer one beside a floating one, promoted as
    in PyTorch). The gradient is PyTorch's: 1 for ``input`` where it differs from
    ``other`` (0 where they are equal), 0 for ``other`` (:class:`Nextafter`).

    >>> import minigrad as mg
    >>> y = mg.nextafter(mg.tensor([1.0], dtype=mg.float64), mg.tensor([2.0], dtype=mg.float64))
    >>> y.item() - 1 == 2.0**-52
    True
    """
    _need_tensors("nextafter", input=input, other=other)
    _check_broadcast("nextafter", input=input, other=other)
    a, b = promote(input.data, other.data)
    if not _dt.is_floating(a.dtype):   # an integer beside a float promotes, as in PyTorch
        raise TypeError(f"nextafter: expects floating-point tensors, got {input.dtype} and "
                        f"{other.dtype} (as PyTorch)")
    if a.dtype != input.dtype or b.dtype != other.dtype:   # (promoted: cast in the graph)
        input, other = input.to(dtype=a.dtype), other.to(dtype=a.dtype)
    return Nextafter()(input, other)


def signbit(input):
    """Whether the sign bit is set, elementwise (True for −0.0 and negative numbers;
    integers: x < 0; bools: False). A bool tensor, no gradient.

    >>> import minigrad as mg
    >>> mg.signbit(mg.tensor([-0.0, 0.0, -2.0])).tolist()
    [True, False, True]
    """
    _need_tensor("signbit", input)
    x, xp = input.data, input.xp
    if x.dtype.kind == "V":
        x = x.astype(np.float32)  # exact, sign of zeros and NaN included
    return const(xp.signbit(x) if x.dtype.kind == "f" else x < 0)


# ------------------------------------------------------------------ counting and histograms


def bincount(input, weights=None, minlength=0):
    """How often each value 0, 1, …, max(input) occurs in the 1-d non-negative integer
    ``input`` (at least ``minlength`` bins): int64 counts, or with ``weights`` (one per
    element) the sum of the weights in each bin, float32 for float32 weights and float64
    for any other dtype, as in PyTorch.

    Where minigrad differs: the weighted counts are differentiable in ``weights`` (an
    ``index_add``); PyTorch has no derivative for bincount.

    >>> import minigrad as mg
    >>> mg.bincount(mg.tensor([0, 1, 1, 3])).tolist()
    [1, 2, 0, 1]
    >>> mg.bincount(mg.tensor([0, 1, 1]), weights=mg.tensor([0.5, 1.0, 2.0])).tolist()
    [0.5, 3.0]
    """
    _need_tensor("bincount", input)
    x = input
    if x.dtype.kind not in "iu":
        raise TypeError(f"bincount: expects a tensor of non-negative integers, got "
                        f"{x.dtype} (as PyTorch)")
    if x.ndim != 1:
        raise ValueError(f"bincount: expects a 1-d tensor, got shape {x.shape}")
    if isinstance(minlength, bool) or not isinstance(minlength, numbers.Integral) \
            or minlength < 0:
        raise ValueError(f"bincount: minlength must be a non-negative int, got {minlength!r}")
    xp, data = x.xp, x.data
    if data.size and int(data.min()) < 0:
        raise ValueError(f"bincount: values must be non-negative, got {int(data.min())}")
    n = max(int(data.max()) + 1 if data.size else 0, int(minlength))
    if weights is None:
        counts = xp.bincount(data.astype(np.int64), minlength=n)
        return const(counts.astype(np.int64, copy=False))
    _need_tensor("bincount", weights)
    if weights.shape != x.shape:
        raise ValueError(f"bincount: weights must be 1-d with one weight per element "
                         f"{x.shape}, got shape {weights.shape}")
    dtype = _dt.float32 if weights.dtype == _dt.float32 else _dt.float64
    zeros = const(xp.zeros(n, dtype=dtype))
    return _manipulation.index_add(zeros, 0, x, weights.to(dtype=dtype))


def _check_bins(op, bins):
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or bins <= 0:
        raise ValueError(f"{op}: bins must be a positive int, got {bins!r}")
    return int(bins)


def _flat_values(x):
    """x's data flattened, bfloat16 as float32 (exactly; NumPy's ufuncs skip bfloat16)."""
    data = x.data.reshape(-1)
    return data.astype(np.float32) if data.dtype.kind == "V" else data


def histc(input, bins=100, min=0, max=0):  # noqa: A002  (PyTorch's names)
    """The counts of ``input``'s elements in ``bins`` equal bins over [min, max], as the
    input's dtype (no gradient). Elements outside the range, and NaN, are not counted;
    max itself falls in the last bin. With min = max (the default 0, 0) the range is the
    data's [min, max]; if that is one point too, [point − 1, point + 1]. A bin index is
    ⌊(x − min)·bins/(max − min)⌋ computed in the input's dtype, as in PyTorch.

    >>> import minigrad as mg
    >>> mg.histc(mg.tensor([1.0, 2.0, 1.0]), bins=4, min=0, max=3).tolist()
    [0.0, 2.0, 1.0, 0.0]
    """
    _need_tensor("histc", input)
    _dt.require_floating("histc", input)
    bins = _check_bins("histc", bins)
    _need_number("histc", "min", min)
    _need_number("histc", "max", max)
    xp, data = input.xp, _flat_values(input)
    lo, hi = float(min), float(max)
    if lo == hi and data.size:
        lo, hi = float(data.min()), float(data.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"histc: the range [{lo}, {hi}] is not finite")
    if not lo < hi:
        raise ValueError(f"histc: max must be larger than min, got min {lo} and max {hi}")
    left, right = data.dtype.type(lo), data.dtype.type(hi)
    inside = data[(data >= left) & (data <= right)]
    with np.errstate(over="ignore", invalid="ignore"):
        pos = ((inside - left) * bins / (right - left)).astype(np.int64)
    pos = xp.minimum(pos, bins - 1)           # x = max: the last bin
    return const(xp.bincount(pos, minlength=bins).astype(input.dtype))


def _linspace(xp, start, end, steps, dtype):
    """PyTorch's CPU linspace in ``dtype``: start + i·step for the first half, end − (steps
    − 1 − i)·step for the second, step = (end − start)/(steps − 1); both ends exact."""
    t = np.dtype(dtype).type
    start, end = t(start), t(end)
    step = (end - start) / t(steps - 1) if steps > 1 else t(0)
    i = xp.arange(steps)
    head = start + step * i.astype(dtype)
    tail = end - step * (steps - 1 - i).astype(dtype)
    return xp.where(i < steps // 2, head, tail).astype(dtype, copy=False)


def histogram(input, bins, *, range=None, weight=None, density=False):  # noqa: A002
    r"""``(hist, bin_edges)`` of the flattened ``input`` (a named tuple, both in the input's
    floating dtype; no gradient). ``bins`` is a number of equal bins over ``range`` (by
    default the data's [min, max], widened by ½ on each side when that is one point; [0, 1]
    for an empty input), or a 1-d tensor of increasing edges. Bin i holds
    edgesᵢ ≤ x < edgesᵢ₊₁, the last one its right edge too; elements outside, and NaN, are
    not counted. ``weight`` (the input's shape) adds a weight per element instead of 1;
    ``density`` divides by the total and the bin widths, so the histogram integrates to 1.

    Where minigrad differs: edges that decrease raise a ValueError (NumPy's rule; PyTorch
    does not check them).

    >>> import minigrad as mg
    >>> h, edges = mg.histogram(mg.tensor([1.0, 2.0, 1.0]), bins=4, range=(0.0, 3.0))
    >>> h.tolist(), edges.tolist()
    ([0.0, 2.0, 1.0, 0.0], [0.0, 0.75, 1.5, 2.25, 3.0])
    """
    _need_tensor("histogram", input)
    _dt.require_floating("histogram", input)
    xp, data = input.xp, _flat_values(input)
    dtype = data.dtype
    if isinstance(bins, Tensor):
        if range is not None:
            raise ValueError("histogram: range cannot be given with a tensor of bin edges")
        if bins.ndim != 1 or bins.shape[0] < 1:
            raise ValueError(f"histogram: bin edges must be a non-empty 1-d tensor, got "
                             f"shape {bins.shape}")
        if bins.dtype != input.dtype:
            raise TypeError(f"histogram: bin edges must have the input's dtype "
                            f"{input.dtype}, got {bins.dtype} (as PyTorch)")
        if bins.device != input.device:
            raise RuntimeError(f"histogram: bin edges on {bins.device}, the input on "
                               f"{input.device}; move one with .to()")
        edges = _flat_values(bins)
        if bool((edges[1:] < edges[:-1]).any()):
            raise ValueError("histogram: bin edges must increase monotonically")
    else:
        n = _check_bins("histogram", bins)
        if range is not None:
            lo, hi = (float(v) for v in range)
        elif data.size:
            lo, hi = float(data.min()), float(data.max())
        else:
            lo, hi = 0.0, 1.0
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"histogram: the range [{lo}, {hi}] is not finite")
        if lo > hi:
            raise ValueError(f"histogram: min should not exceed max, got min {lo} and "
                             f"max {hi}")
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        edges = _linspace(xp, lo, hi, n + 1, dtype)
    nbins = edges.shape[0] - 1
    inside = (data >= edges[0]) & (data <= edges[-1]) & (nbins > 0)
    pos = xp.minimum(xp.searchsorted(edges, data[inside], side="right") - 1, nbins - 1)
    if weight is None:
        hist = xp.bincount(pos, minlength=nbins).astype(dtype)
    else:
        _need_tensor("histogram", weight)
        if weight.shape != input.shape or weight.dtype != input.dtype:
            raise ValueError(f"histogram: weight must have the input's shape {input.shape} "
                             f"and dtype {input.dtype}, got {weight.shape} and {weight.dtype}")
        w = _flat_values(weight)[inside]
        hist = xp.bincount(pos, weights=w, minlength=nbins).astype(dtype)
    hist = hist[:nbins]
    if density:
        with np.errstate(divide="ignore", invalid="ignore"):
            hist = hist / hist.sum() / (edges[1:] - edges[:-1])
    out_dtype = input.dtype
    return histogram_result(const(hist.astype(out_dtype, copy=False)),
                            const(edges.astype(out_dtype, copy=False)))


# ------------------------------------------------------------------ order statistics


def mode(input, dim=-1, keepdim=False):
    """``(values, indices)``: the most frequent value along ``dim`` (the smallest of them
    on a tie) and the index of its last occurrence. The gradient goes to that element.

    Where minigrad differs: NaNs count as one value (sorted last); PyTorch leaves NaN's
    mode and, among equal values, which index it returns unspecified (its CPU kernel gives
    the last occurrence in practice).

    >>> import minigrad as mg
    >>> v, i = mg.mode(mg.tensor([3, 1, 1, 3, 2, 2]))
    >>> v.item(), i.item()
    (1, 2)
    """
    _need_tensor("mode", input)
    x = input
    if x.ndim == 0:
        return _zero_d(x, "mode", dim)
    axis = _selection_axis(x, dim, "mode")
    n = x.shape[axis]
    from .reduction import ufunc_accumulate

    xp = x.xp
    order = _argsort(xp, x.data, axis, False)
    s = xp.moveaxis(xp.take_along_axis(x.data, order, axis), axis, -1)
    if s.dtype.kind == "V":
        s = s.astype(np.float32)
    same = s[..., 1:] == s[..., :-1]            # within a run of equal values
    if s.dtype.kind == "f":
        same |= (s[..., 1:] != s[..., 1:]) & (s[..., :-1] != s[..., :-1])  # NaN with NaN
    edge = xp.ones(s.shape[:-1] + (1,), dtype=bool)
    starts = xp.concatenate([edge, ~same], axis=-1)
    ends = xp.concatenate([~same, edge], axis=-1)
    positions = xp.arange(n)
    run_start = ufunc_accumulate(xp, "maximum", xp.where(starts, positions, 0), -1)
    length = xp.where(ends, positions - run_start + 1, 0)    # at the end of each run
    best = xp.argmax(length, axis=-1)[..., None]             # the first: the smallest value
    return _pick(x, axis, order, xp.moveaxis(best, -1, axis).astype(np.int64), keepdim)


def nanmedian(input, dim=None, keepdim=False):
    """The lower median of the non-NaN elements: of all elements, a 0-d tensor; along
    ``dim``, ``(values, indices)``. A slice of NaNs only gives NaN (index 0); integer
    tensors are :func:`~minigrad.ops.sorting.median`. Along ``dim`` the gradient goes to
    the element picked; of all elements it is shared equally by the elements equal to the
    median (:class:`~minigrad.ops.reduction.NanMedianOfAll`), as PyTorch's.

    >>> import minigrad as mg
    >>> mg.nanmedian(mg.tensor([1.0, float("nan"), 3.0, 2.0])).item()
    2.0
    """
    _need_tensor("nanmedian", input)
    x = input
    if not _dt.is_floating(x.dtype):
        return _sorting.median(x, dim, keepdim)
    if dim is None:
        if x.data.size == 0:
            return _sorting.median(x)
        from .reduction import NanMedianOfAll

        return NanMedianOfAll()(x)
    if x.ndim == 0:
        return _zero_d(x, "nanmedian", dim)
    axis = _selection_axis(x, dim, "nanmedian")
    xp = x.xp
    order = _argsort(xp, x.data, axis, False)               # NaN sorts last
    k = (~xp.isnan(x.data)).sum(axis=axis, keepdims=True)   # the non-NaN count
    pos = xp.where(k > 0, (k - 1) // 2, 0).astype(np.int64)
    return _pick(x, axis, order, pos, keepdim)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(op, input, q, dim, keepdim, interpolation, ignore_nan):
    """PyTorch's ``quantile_impl``: sort along the reduced dim (moved last), rank
    r = q·(n − 1) (n the non-NaN count with ``ignore_nan``; the last index where a slice
    holds NaN without it), then read the sorted values at ⌊r⌋ and ⌈r⌉ and ``lerp``."""
    _need_tensor(op, input)
    x = input
    if x.dtype not in (_dt.float32, _dt.float64):
        raise TypeError(f"{op}: input must be float32 or float64, got {x.dtype} (as "
                        "PyTorch)")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{op}: interpolation must be one of {', '.join(_INTERPOLATIONS)}, "
                         f"got {interpolation!r}")
    xp = x.xp
    if isinstance(q, Tensor):
        if q.ndim > 1:
            raise ValueError(f"{op}: q must be a number or a 0-d or 1-d tensor, got shape "
                             f"{q.shape}")
        if q.dtype != x.dtype:
            raise TypeError(f"{op}: q must have the input's dtype {x.dtype}, got {q.dtype} "
                            "(as PyTorch)")
        if q.device != x.device:
            raise RuntimeError(f"{op}: q is on {q.device}, the input on {x.device}")
        qs, scalar = q.data.reshape(-1), q.ndim == 0
        if not bool(((qs >= 0) & (qs <= 1)).all()):
            raise ValueError(f"{op}: q values must be in the range [0, 1]")
    else:
        _need_number(op, "q", q)
        if not 0 <= q <= 1:
            raise ValueError(f"{op}: q must be in the range [0, 1], got {q}")
        qs, scalar = xp.asarray([q], dtype=x.dtype), True  # q rounded to x's dtype, as there
    if x.data.size == 0:
        raise ValueError(f"{op}: input must be non-empty, got shape {x.shape}")
    if dim is None:
        flat, axis = x.reshape(-1), 0
        reduced = (1,) * x.ndim if keepdim else ()
    else:
        axis = _dim(dim, x.ndim, op)
        flat = x if x.ndim else x.reshape(1)
        reduced = x.shape[:axis] + ((1,) if keepdim else ()) + x.shape[axis + 1:]
        reduced = reduced if x.ndim else ()                 # a 0-d input stays 0-d
    s = _sorting.sort(flat.movedim(axis, -1), -1).values   # (..., n), NaN last
    last = s.ndim - 1
    n = s.shape[-1]
    nan = xp.isnan(s.data)
    t = x.dtype.type
    if ignore_nan:
        count = (~nan).sum(axis=-1, keepdims=True)
        ranks = qs * (count - 1).astype(x.dtype)
        ranks = xp.where(ranks < 0, t(0), ranks)          # all NaN: rank 0 (a NaN)
    else:
        ranks = xp.broadcast_to(qs * t(n - 1), s.shape[:-1] + qs.shape)
        ranks = xp.where(nan.any(axis=-1, keepdims=True), t(n - 1), ranks)
    if interpolation == "lower":
        ranks = xp.floor(ranks)
    elif interpolation == "higher":
        ranks = xp.ceil(ranks)
    elif interpolation == "nearest":
        ranks = xp.round(ranks)                           # halves to even, as PyTorch
    below = ranks.astype(np.int64)
    values = take_along(s, last, below)
    if interpolation in ("linear", "midpoint"):
        above = xp.ceil(ranks).astype(np.int64)
        weight = 0.5 if interpolation == "midpoint" else const(ranks - below.astype(x.dtype))
        values = lerp(values, take_along(s, last, above), weight)
    out = values.movedim(-1, 0)                           # (len(q), ...)
    return out.reshape(reduced) if scalar else out.reshape((qs.shape[0],) + reduced)


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    r"""The ``q``-quantiles of ``input`` along ``dim`` (of all elements by default): q a
    number or a 1-d tensor of them in [0, 1] (the result then has a first dim of len(q)).
    With the sorted values v₀ ≤ … ≤ vₙ₋₁ and r = q·(n − 1): ``linear`` v_⌊r⌋ + (r − ⌊r⌋)·
    (v_⌈r⌉ − v_⌊r⌋), ``lower`` v_⌊r⌋, ``higher`` v_⌈r⌉, ``midpoint`` (v_⌊r⌋ + v_⌈r⌉)/2,
    ``nearest`` v at r rounded half to even. A slice holding NaN gives NaN. float32 and
    float64 only, q with the input's dtype. Differentiable: the gradient goes to the one
    or two elements read.

    >>> import minigrad as mg
    >>> x = mg.tensor([0.0, 1.0, 2.0, 3.0])
    >>> mg.quantile(x, 0.5).item(), mg.quantile(x, 0.5, interpolation="lower").item()
    (1.5, 1.0)
    >>> mg.quantile(x, mg.tensor([0.25, 1.0])).tolist()
    [0.75, 3.0]
    """
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """:func:`quantile` of the non-NaN elements only (NaN where a slice has none).

    >>> import minigrad as mg
    >>> mg.nanquantile(mg.tensor([1.0, float("nan"), 3.0]), 0.5).item()
    2.0
    """
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


# ------------------------------------------------------------------ covariance


def cov(input, *, correction=1, fweights=None, aweights=None):
    r"""The covariance matrix of the variables in the rows of ``input`` (2-d, observations
    in the columns; a 1-d input is one variable, and the result is then 0-d), PyTorch's
    and NumPy's estimator: with weights w = fweights·aweights (integer frequencies and
    float importance weights, one per observation), x̄ = Σ w·x / Σw and
    C = (x − x̄)·diag(w)·(x − x̄)ᵀ / (Σw − correction·Σ(w·aweights)/Σw) (without aweights
    the denominator is Σw − correction; unweighted, n − correction). A denominator ≤ 0
    warns and becomes 0, as in PyTorch. Differentiable in ``input`` and ``aweights``.

    >>> import minigrad as mg
    >>> mg.cov(mg.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.5]])).tolist()
    [[1.0, -0.75], [-0.75, 0.5833333730697632]]
    """
    _need_tensor("cov", input)
    x = input
    if x.ndim > 2:
        raise ValueError(f"cov: expects a 1-d or 2-d input (variables × observations), got "
                         f"shape {x.shape}")
    if x.dtype == _dt.bool:
        raise TypeError("cov: bool input is not supported (as PyTorch)")
    _need_number("cov", "correction", correction)
    x = x.reshape(1, -1) if x.ndim < 2 else x
    n = x.shape[1]
    w = None
    if fweights is not None:
        _check_weights("cov", "fweights", fweights, n, integral=True)
        w = fweights
    if aweights is not None:
        _check_weights("cov", "aweights", aweights, n, integral=False)
        w = aweights if w is None else w * aweights
    w_sum = n if w is None else w.sum()
    if w is not None and not bool(w_sum.data != 0):
        raise ValueError("cov: the weights sum to zero and cannot be normalized")
    xw = x if w is None else x * w
    mean = xw.sum(1) / w_sum
    if w is not None and aweights is not None and correction != 0:
        norm = w_sum - correction * (w * aweights).sum() / w_sum
    else:
        norm = w_sum - correction
    if float(norm.data if isinstance(norm, Tensor) else norm) <= 0:
        warnings.warn("cov: degrees of freedom <= 0; the correction should be smaller "
                      "than the number of observations", RuntimeWarning, stacklevel=2)
        norm = norm * 0
    d = x - mean.unsqueeze(1)
    c = d @ (d if w is None else d * w).T
    return (c / norm).squeeze()


def _check_weights(op, name, w, n, integral):
    _need_tensor(op, w)
    if w.ndim > 1:
        raise ValueError(f"{op}: {name} must have one or fewer dims, got shape {w.shape}")
    if integral and w.dtype.kind not in "iu":
        raise TypeError(f"{op}: {name} must have an integer dtype, got {w.dtype}")
    if not integral and not _dt.is_floating(w.dtype):
        raise TypeError(f"{op}: {name} must have a floating dtype, got {w.dtype}")
    if w.numel() != n:
        raise ValueError(f"{op}: {name} must have one entry per observation ({n}), got "
                         f"{w.numel()}")
    if n and not bool((w.data >= 0).all()):  # NaN fails too, as in PyTorch
        raise ValueError(f"{op}: {name} cannot be negative")


def corrcoef(input):
    r"""Pearson's correlation coefficients of the variables in the rows of ``input``:
    C_ij / √(C_ii·C_jj) for C = cov(input), clipped to [−1, 1] as PyTorch does (a
    constant variable gives NaN). A 1-d input gives the 0-d C/C.

    >>> import minigrad as mg
    >>> r = mg.corrcoef(mg.tensor([[1.0, 2.0, 4.0], [2.0, 4.0, 8.0]], dtype=mg.float64))
    >>> r.tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    _need_tensor("corrcoef", input)
    if input.ndim > 2:
        raise ValueError(f"corrcoef: expects a 1-d or 2-d input, got shape {input.shape}")
    c = cov(input)
    if c.ndim == 0:
        return c / c
    std = c.diagonal().sqrt()
    c = c / std.reshape(-1, 1)
    c = c / std.reshape(1, -1)
    return c.clamp(-1, 1)


@in_float32(autocast_list=True)
def renorm(input, p, dim, maxnorm):
    r"""Each slice ``input.select(dim, i)`` whose p-norm exceeds ``maxnorm`` scaled down
    to norm ``maxnorm``: x·maxnorm/(‖x‖_p + 1e-7) there, x elsewhere (PyTorch's formula,
    ε included). Differentiable through the norm, as PyTorch's ``renorm_backward``.

    >>> import minigrad as mg
    >>> mg.renorm(mg.tensor([[3.0, 4.0], [0.3, 0.4]]), 2, 0, 1.0).tolist()
    [[0.6000000238418579, 0.800000011920929], [0.30000001192092896, 0.4000000059604645]]
    """
    from ..linalg import vector_norm

    _need_tensor("renorm", input)
    x = input
    _dt.require_floating("renorm", x)
    _need_number("renorm", "p", p)
    _need_number("renorm", "maxnorm", maxnorm)
    if not p > 0:
        raise ValueError(f"renorm: p must be positive, got {p}")
    if not maxnorm >= 0:
        raise ValueError(f"renorm: maxnorm must be >= 0, got {maxnorm}")
    if x.ndim < 2:
        raise ValueError(f"renorm: input needs at least 2 dims, got shape {x.shape}")
    dim = _dim(dim, x.ndim, "renorm")
    norm = vector_norm(x, p, tuple(d for d in range(x.ndim) if d != dim), keepdim=True)
    factor = where(norm.data > maxnorm, maxnorm / (norm + 1e-7), 1.0)
    return x * factor.to(dtype=x.dtype)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """The values (of the flattened tensor, or the slices along ``dim``) with each run of
    consecutive equal ones kept once, and on request the inverse indices (the run of each
    element, shaped like ``input``, or one per slice of ``dim``) and the run lengths. NaN
    never equals NaN, so each NaN is its own run. Not differentiable.

    >>> import minigrad as mg
    >>> values, counts = mg.unique_consecutive(mg.tensor([1, 1, 2, 2, 3, 1]), return_counts=True)
    >>> values.tolist(), counts.tolist()
    ([1, 2, 3, 1], [2, 2, 1, 1])
    """
    _need_tensor("unique_consecutive", input)
    x = input
    xp = x.xp
    if dim is None:
        a = x.data.reshape(-1)
        rows, axis = a.reshape(-1, 1), 0
    else:
        axis = _sorting.unique_dim(x, dim, "unique_consecutive")
        a = x.data
        slice_size = math.prod(a.shape[:axis] + a.shape[axis + 1:])
        rows = xp.moveaxis(a, axis, 0).reshape(a.shape[axis], slice_size)
    m = rows.shape[0]
    new = xp.ones(m, dtype=bool)                      # a run starts here
    if m > 1:
        new[1:] = (rows[1:] != rows[:-1]).any(axis=1) if rows.shape[1] else False
    starts = xp.nonzero(new)[0]
    values = xp.take(a, starts, axis=axis)
    out = [_make_tensor(values, None, False)]
    if return_inverse:
        inverse = (xp.cumsum(new) - 1).astype(np.int64)
        out.append(_make_tensor(inverse.reshape(x.shape) if dim is None else inverse, None,
                                False))
    if return_counts:
        bounds = xp.concatenate([starts, xp.asarray([m])])
        out.append(_make_tensor(xp.diff(bounds).astype(np.int64), None, False))
    return out[0] if len(out) == 1 else tuple(out)
