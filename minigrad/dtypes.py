"""Dtypes: minigrad uses NumPy's dtype objects (CuPy shares them).

``mg.float32`` is ``numpy.dtype("float32")`` and so on. The default floating dtype is
float32, as in PyTorch. ``mg.bfloat16`` exists when the ``ml_dtypes`` package is
installed (NumPy itself has no bfloat16); otherwise it is ``None`` and asking for it
raises a clear error.
"""
from __future__ import annotations

import builtins
import functools

import numpy as np

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int8 = np.dtype("int8")
uint8 = np.dtype("uint8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
bool = np.dtype("bool")  # noqa: A001 - the public name mirrors torch.bool

try:  # pragma: no cover - depends on an optional package
    import ml_dtypes

    bfloat16 = np.dtype(ml_dtypes.bfloat16)
except Exception:  # pragma: no cover
    bfloat16 = None

half = float16
float = float32  # noqa: A001
double = float64
long = int64

_default_float = float32


@functools.cache
def dtype_name(dtype) -> str:
    """NumPy's name of ``dtype`` ("float32", "bfloat16"; a dtype, a scalar type or a name),
    memoized: ``numpy.dtype.name`` is a Python property of several calls (about 2 µs on
    a GPU machine's host), and the CUDA launchers ask it over a hundred times in a
    training step whose time is host time."""
    return np.dtype(dtype).name


def get_default_dtype():
    """The dtype that Python floats and float lists become (float32 unless changed)."""
    return _default_float


def set_default_dtype(d) -> None:
    """Set the default floating dtype (float16, float32 or float64)."""
    global _default_float
    dtype = as_dtype(d)
    if dtype is None or dtype.kind != "f":
        raise TypeError(f"set_default_dtype expects a floating dtype, got {d!r}")
    _default_float = dtype


def as_dtype(dtype):
    """Turn ``dtype`` (a NumPy dtype, a name, a Python type, or None) into a NumPy dtype."""
    if dtype is None:
        return None
    if dtype is builtins.float:
        return _default_float
    if dtype is builtins.int:
        return int64
    if dtype is builtins.bool:
        return bool
    if isinstance(dtype, str) and dtype == "bfloat16":
        if bfloat16 is None:
            raise TypeError("bfloat16 needs the ml_dtypes package (pip install ml_dtypes)")
        return bfloat16
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"not a dtype: {dtype!r}") from None
    if not holds_numbers(dt):
        raise TypeError(f"not a dtype minigrad has: {dtype!r} ({dt}); tensors hold bools, "
                        "integers or floats")
    return dt


def holds_numbers(dtype) -> builtins.bool:
    """True for the dtypes a tensor can hold: bool, integers, floats (bfloat16 too)."""
    return dtype.kind in "biuf" or is_floating(dtype)


def is_floating(dtype) -> builtins.bool:
    """True for float16/bfloat16/float32/float64."""
    return dtype.kind == "f" or (bfloat16 is not None and dtype == bfloat16)


def require_floating(op, x, name="input", hint="") -> None:
    """A TypeError naming ``op`` unless ``x`` (a tensor or an array) is floating-point: the
    check of the ops PyTorch computes in floating point only (normalizations, norms,
    softmax, linear algebra...); ``hint`` is added in parentheses."""
    if not is_floating(x.dtype):
        raise TypeError(f"{op}: {name} must be a floating-point tensor, got {x.dtype}"
                        + (f" ({hint})" if hint else ""))


def finfo(dtype=None):
    """Machine limits of a floating dtype (default: the default dtype): ``np.finfo``
    (eps, max, min, tiny, smallest_normal, resolution, bits), or ml_dtypes' for bfloat16
    (which ``np.finfo`` does not know)."""
    dtype = as_dtype(dtype) or _default_float
    if not is_floating(dtype):
        raise TypeError(f"finfo: expected a floating dtype, got {dtype}")
    if bfloat16 is not None and dtype == bfloat16:
        return ml_dtypes.finfo(dtype)
    return np.finfo(dtype)


_FLOAT_MAX = {}


def float_scalar(xp, x, dtype):
    """``xp.asarray(x, dtype=dtype)`` of a Python float in a floating ``dtype``: a value
    beyond the dtype's range is ±inf, silently, as in PyTorch, where NumPy warns
    "overflow encountered in cast" (a float16 loss times GradScaler's 65536.0, say). The
    range checks keep the common case one call."""
    if -65504.0 <= x <= 65504.0:   # within every floating dtype's range (float16's max)
        return xp.asarray(x, dtype=dtype)
    top = _FLOAT_MAX.get(dtype)
    if top is None:
        top = _FLOAT_MAX[dtype] = np.float64(finfo(dtype).max).item()
    if -top <= x <= top:
        return xp.asarray(x, dtype=dtype)
    with np.errstate(over="ignore"):   # (CuPy's casts do not warn)
        return xp.asarray(x, dtype=dtype)


def iinfo(dtype):
    """Machine limits of an integer dtype (``np.iinfo``: bits, min, max)."""
    dtype = as_dtype(dtype)
    if dtype.kind not in "iub":
        raise TypeError(f"iinfo: expected an integer dtype, got {dtype}")
    return np.iinfo(dtype)


def promote_types(type1, type2):
    """The dtype PyTorch promotes two dtypes to (bool < integers < floats; within a kind
    the wider, and uint8 with int8 gives int16).

    >>> promote_types(int64, float16)
    dtype('float16')
    """
    a, b = as_dtype(type1), as_dtype(type2)
    return result_type(np.zeros(1, a), np.zeros(1, b))


def can_cast(from_, to) -> builtins.bool:
    """Whether PyTorch's type promotion allows casting ``from_`` to ``to``: anything but a
    cast down a kind (float to integer, integer to bool).

    >>> can_cast(float64, float16), can_cast(float32, int64)
    (True, False)
    """
    return _category(as_dtype(from_)) <= _category(as_dtype(to))


def _category(dtype) -> int:
    """0 for bool, 1 for integers, 2 for floats: the order PyTorch promotes in."""
    if is_floating(dtype):
        return 2
    return 0 if dtype.kind == "b" else 1


def result_type(*arrays):
    """The dtype PyTorch gives an elementwise op of ``arrays`` (NumPy/CuPy arrays).

    PyTorch's rule, which differs from NumPy's: the result takes the highest category
    (bool < integer < float) among the operands, and within it the widest dtype of the
    highest-priority operands that have that category, where tensors with dims outrank
    0-d tensors. So int64 + float32 is float32 (NumPy: float64), float16 + a 0-d float64
    tensor is float16, and int64 + a 0-d float64 tensor is float64. Python numbers reach
    here as 0-d arrays already given their PyTorch dtype (see ``tensor._as_operand``).

    Examples
    --------
    >>> import numpy as np
    >>> result_type(np.zeros(2, np.int64), np.zeros(2, np.float32))
    dtype('float32')
    >>> result_type(np.zeros(2, np.float16), np.zeros((), np.float64))
    dtype('float16')
    """
    first = arrays[0].dtype
    if all(a.dtype == first for a in arrays[1:]):
        return first
    top = max(_category(a.dtype) for a in arrays)
    for tier in ([a for a in arrays if a.ndim], arrays):  # dimensioned operands first
        found = [a.dtype for a in tier if _category(a.dtype) == top]
        if found:
            try:
                return np.result_type(*found)
            except TypeError:  # float16 with bfloat16: PyTorch gives float32
                return float32
