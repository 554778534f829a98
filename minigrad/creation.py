"""Creation functions (PyTorch names and signatures): shapes may be given as a tuple
or as separate ints; floats default to float32."""
from __future__ import annotations

import numbers

import numpy as np

from . import dtypes as _dt
from . import random as _random
from ._backend import array_module_for, check_dtype_on, normalize_device
from .ops import elementwise as _elementwise
from .ops import shape as _shape
from .tensor import Tensor, _make_tensor, _shape_args


def _finish(arr, requires_grad):
    t = _make_tensor(arr, None, False)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _float_dtype(dtype):
    return _dt.as_dtype(dtype) or _dt.get_default_dtype()


def _module(device, dtype):
    """The array module of ``device``, once it is known to hold ``dtype`` (bfloat16 on
    CUDA needs a CuPy that has it)."""
    device = normalize_device(device)
    check_dtype_on(device, dtype)
    return array_module_for(device)


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new leaf tensor holding a copy of ``data``."""
    if isinstance(data, Tensor):
        data = data.data
    t = Tensor(data, dtype=dtype, device=device)
    if t.data is data:
        t.data = t.data.copy()
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None):
    """A tensor sharing ``data``'s memory when dtype and device allow."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return Tensor(data, dtype=dtype, device=device)


def from_numpy(array):
    """A tensor sharing memory with the NumPy array ``array``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    return _make_tensor(array, np, False)


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    dtype = _float_dtype(dtype)
    return _finish(_module(device, dtype).zeros(_shape_args(shape), dtype), requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    dtype = _float_dtype(dtype)
    return _finish(_module(device, dtype).ones(_shape_args(shape), dtype), requires_grad)


def empty(*shape, dtype=None, device=None, requires_grad=False):
    dtype = _float_dtype(dtype)
    return _finish(_module(device, dtype).empty(_shape_args(shape), dtype), requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        dtype = (_dt.bool if isinstance(fill_value, bool) else _dt.int64
                 if isinstance(fill_value, int) else _dt.get_default_dtype())
    dtype = _dt.as_dtype(dtype)
    size = (size,) if isinstance(size, int) else tuple(size)
    return _finish(_module(device, dtype).full(size, fill_value, dtype=dtype), requires_grad)


def _like(x, dtype, device):
    return (_dt.as_dtype(dtype) or x.dtype), (device or x.device)


def zeros_like(x, dtype=None, device=None, requires_grad=False):
    dtype, device = _like(x, dtype, device)
    return zeros(x.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False):
    dtype, device = _like(x, dtype, device)
    return ones(x.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(x, dtype=None, device=None, requires_grad=False):
    dtype, device = _like(x, dtype, device)
    return empty(x.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False):
    dtype, device = _like(x, dtype, device)
    return full(x.shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """``start, start + step, …`` below ``end``: int64 when every bound is an integer
    (Python, NumPy or a 0-d tensor), else the default float dtype; an integer dtype takes
    the bounds truncated to integers, as PyTorch. Float values are computed in float64 and
    rounded once, as PyTorch does, so ``arange(1, 2.2, 0.3)`` in float32 holds the float32
    nearest to 1.6, not a sum of rounded steps."""
    if end is None:
        start, end = 0, start
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    if dtype is None:
        ints = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = _dt.int64 if ints else _dt.get_default_dtype()
    dtype = _dt.as_dtype(dtype)
    xp = _module(device, dtype)
    if not _dt.is_floating(dtype):
        # PyTorch first converts the bounds to integers (toward 0): arange(0, 5.5,
        # dtype=int64) is 0, 1, 2, 3, 4, where NumPy's would end with 5
        start, end, step = int(start), int(end), int(step)
        if step == 0:
            raise ValueError("arange: step must be nonzero (as an integer, for an integer "
                             f"dtype {dtype})")
        return _finish(xp.arange(start, end, step, dtype=dtype), requires_grad)
    return _finish(xp.arange(start, end, step, dtype=_dt.float64).astype(dtype), requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    dtype = _float_dtype(dtype)
    return _finish(_module(device, dtype).linspace(start, end, steps, dtype=dtype), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    dtype = _float_dtype(dtype)
    return _finish(_module(device, dtype).eye(n, m, dtype=dtype), requires_grad)


def rand(*shape, dtype=None, device=None, requires_grad=False):
    """U[0, 1) samples from minigrad's seeded generator."""
    device = normalize_device(device)
    arr = _random.uniform(_shape_args(shape), 0.0, 1.0, dtype, device)
    return _finish(arr, requires_grad)


def randn(*shape, dtype=None, device=None, requires_grad=False):
    """N(0, 1) samples from minigrad's seeded generator."""
    device = normalize_device(device)
    return _finish(_random.normal(_shape_args(shape), 0.0, 1.0, dtype, device), requires_grad)


def randint(low, high=None, size=None, dtype=None, device=None):
    """Integers uniform in [low, high) (``randint(high, size)`` also works, as in PyTorch)."""
    if size is None:
        if high is None or isinstance(high, int):
            raise TypeError("randint: size is required, e.g. randint(0, 10, (3,))")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    size = (size,) if isinstance(size, int) else tuple(size)
    if int(high) <= int(low):
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    arr = _random.integers(low, high, size, dtype, normalize_device(device))
    return _finish(arr, False)


def rand_like(x, dtype=None, device=None, requires_grad=False):
    dtype, device = _like(x, dtype, device)
    return rand(x.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(x, dtype=None, device=None, requires_grad=False):
    dtype, device = _like(x, dtype, device)
    return randn(x.shape, dtype=dtype, device=device, requires_grad=requires_grad)


cat = _shape.cat
stack = _shape.stack
where = _elementwise.where
