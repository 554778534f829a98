"""Creation functions (PyTorch names and signatures): shapes may be given as a tuple
or as separate ints; floats default to float32."""
from __future__ import annotations

import math
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


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    """``obj`` (a Tensor, array, number or nested sequence) as a tensor: shared when
    dtype and device allow and ``copy`` is not True; ``copy=False`` refuses to copy."""
    if isinstance(obj, Tensor):
        source = obj.data
    else:
        source = obj
    target_device = normalize_device(device) if device is not None else (
        obj.device if isinstance(obj, Tensor) else None)
    t = Tensor(source, dtype=dtype, device=target_device)
    same = _shares(t.data, source)
    if copy is True and same:
        t = Tensor(t.data.copy())
    elif copy is False and not same:
        raise ValueError("asarray: copy=False, but the result needs a copy (another dtype, "
                         "device or a Python sequence)")
    if requires_grad:
        t.requires_grad_(True)
    return t


def _shares(a, b):
    """Whether the array ``a`` uses the memory of ``b`` (an array, or anything else)."""
    if a is b:
        return True
    if not (hasattr(b, "__array_interface__") or hasattr(b, "__cuda_array_interface__")):
        return False
    from ._backend import get_array_module

    try:
        return bool(get_array_module(a).shares_memory(a, b))
    except (TypeError, ValueError):
        return False


def scalar_tensor(s, dtype=None, device=None, requires_grad=False):
    """A 0-d tensor holding the number ``s`` (the default float dtype unless ``dtype``)."""
    dtype = _float_dtype(dtype)
    xp = _module(device, dtype)
    if isinstance(s, float) and _dt.is_floating(dtype):
        return _finish(_dt.float_scalar(xp, s, dtype), requires_grad)
    return _finish(xp.asarray(s, dtype=dtype), requires_grad)


def from_dlpack(ext_tensor):
    """A tensor sharing memory with any DLPack producer (a PyTorch, JAX, CuPy or NumPy
    array): zero copy, on the producer's device (CPU, or CUDA through CuPy)."""
    kind = ext_tensor.__dlpack_device__()[0] if hasattr(ext_tensor, "__dlpack_device__") \
        else 1
    if kind == 1:  # kDLCPU
        return Tensor(np.from_dlpack(ext_tensor))
    from ._backend import cupy

    return Tensor(cupy().from_dlpack(ext_tensor))


def from_numpy(array):
    """A tensor sharing memory with the NumPy array ``array``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    if not _dt.holds_numbers(array.dtype):
        raise TypeError(f"from_numpy: can't convert an array of dtype {array.dtype}; tensors "
                        "hold bools, integers or floats")
    return _make_tensor(array, np, False)


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    dtype = _float_dtype(dtype)
    return _finish(_module(device, dtype).zeros(_shape_args(shape, "zeros", sizes=True), dtype),
                   requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    dtype = _float_dtype(dtype)
    return _finish(_module(device, dtype).ones(_shape_args(shape, "ones", sizes=True), dtype),
                   requires_grad)


def empty(*shape, dtype=None, device=None, requires_grad=False):
    dtype = _float_dtype(dtype)
    return _finish(_module(device, dtype).empty(_shape_args(shape, "empty", sizes=True), dtype),
                   requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        dtype = (_dt.bool if isinstance(fill_value, bool) else _dt.int64
                 if isinstance(fill_value, int) else _dt.get_default_dtype())
    dtype = _dt.as_dtype(dtype)
    size = _shape_args((size,) if isinstance(size, numbers.Integral) else size, "full",
                       sizes=True)
    if not isinstance(fill_value, (numbers.Number, np.generic)) and not (
            isinstance(fill_value, Tensor) and fill_value.ndim == 0):
        raise TypeError(f"full: fill_value must be a number, got {type(fill_value).__name__}")
    fill_value = fill_value.item() if isinstance(fill_value, Tensor) else fill_value
    if dtype.kind in "iub" and isinstance(fill_value, float) and not math.isfinite(fill_value):
        raise ValueError(f"full: cannot fill an integer tensor ({dtype}) with {fill_value}")
    xp = _module(device, dtype)
    if isinstance(fill_value, float) and _dt.is_floating(dtype):
        fill_value = _dt.float_scalar(xp, fill_value, dtype)     # ±inf beyond its range
    return _finish(xp.full(size, fill_value, dtype=dtype), requires_grad)


def _like(x, dtype, device):
    if not isinstance(x, Tensor):
        raise TypeError(f"*_like: expects a Tensor, got {type(x).__name__}")
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


def _steps(steps, op):
    if not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"{op}: steps must be a non-negative integer, got {steps!r}")
    return int(steps)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    dtype = _float_dtype(dtype)
    steps = _steps(steps, "linspace")
    return _finish(_module(device, dtype).linspace(start, end, steps, dtype=dtype), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    dtype = _float_dtype(dtype)
    n, m = _shape_args((n, n if m is None else m), "eye", sizes=True)
    return _finish(_module(device, dtype).eye(n, m, dtype=dtype), requires_grad)


def rand(*shape, generator=None, dtype=None, device=None, requires_grad=False):
    """U[0, 1) samples from minigrad's seeded generator (or ``generator``'s stream)."""
    device = normalize_device(device)
    arr = _random.uniform(_shape_args(shape, "rand", sizes=True), 0.0, 1.0, dtype, device,
                          generator)
    return _finish(arr, requires_grad)


def randn(*shape, generator=None, dtype=None, device=None, requires_grad=False):
    """N(0, 1) samples from minigrad's seeded generator (or ``generator``'s stream)."""
    device = normalize_device(device)
    return _finish(_random.normal(_shape_args(shape, "randn", sizes=True), 0.0, 1.0, dtype,
                                  device, generator), requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None):
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
    arr = _random.integers(low, high, size, dtype, normalize_device(device), generator)
    return _finish(arr, False)


def rand_like(x, dtype=None, device=None, requires_grad=False):
    dtype, device = _like(x, dtype, device)
    return rand(x.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(x, dtype=None, device=None, requires_grad=False):
    dtype, device = _like(x, dtype, device)
    return randn(x.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randint_like(x, low=0, high=None, dtype=None, device=None):
    """Integers uniform in [low, high) shaped like ``x`` (``randint_like(x, high)`` too)."""
    if high is None:
        low, high = 0, low
    dtype, device = _like(x, dtype, device)
    return randint(low, high, x.shape, dtype=dtype, device=device)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0 … n − 1 (int64) from minigrad's seeded generator.

    >>> import minigrad as mg
    >>> sorted(mg.randperm(5).tolist())
    [0, 1, 2, 3, 4]
    """
    if not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"randperm: n must be a non-negative int, got {n!r}")
    dtype = _dt.as_dtype(dtype) or _dt.int64
    perm = _random.permutation(int(n), normalize_device(device), generator).astype(
        dtype, copy=False)
    return _finish(perm, requires_grad)


def _probabilities(input, op):
    """The host-checked float64 array of ``input`` (a tensor of probabilities or weights):
    finite and non-negative, as PyTorch requires."""
    p = input.data.astype(np.float64)
    xp = input.xp
    if not bool(xp.isfinite(p).all()) or bool((p < 0).any()):
        raise ValueError(f"{op}: probabilities must be finite and non-negative")
    return p


def bernoulli(input, p=None, *, generator=None):
    """0/1 samples in ``input``'s dtype with P(1) = ``input`` elementwise (or = ``p``
    everywhere when given); not differentiable.

    >>> import minigrad as mg
    >>> mg.bernoulli(mg.tensor([0.0, 1.0])).tolist()
    [0.0, 1.0]
    """
    probs = input.data if p is None else input.xp.full(input.shape, p, dtype=np.float64)
    if not bool(((probs >= 0) & (probs <= 1)).all()):
        raise ValueError("bernoulli: probabilities must lie in [0, 1]")
    dtype = input.dtype if _dt.is_floating(input.dtype) else _dt.get_default_dtype()
    u = _random.uniform(input.shape, 0.0, 1.0, _dt.float64, input.device, generator)
    return _finish((u < probs).astype(dtype), False)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """``num_samples`` category indices per row of ``input`` (a 1-d or 2-d tensor of
    non-negative weights, not necessarily normalized), int64.

    With replacement each draw inverts the row's cumulative distribution at a uniform
    u; without, the indices of the ``num_samples`` largest keys log(u)/w (the exponential
    race of Efraimidis & Spirakis 2006: the same law as drawing one at a time and removing
    what was drawn), in draw order. Zero weights are never drawn.

    >>> import minigrad as mg
    >>> mg.multinomial(mg.tensor([0.0, 1.0, 0.0]), 2, replacement=True).tolist()
    [1, 1]
    """
    if input.ndim not in (1, 2):
        raise ValueError(f"multinomial: input must be 1-d or 2-d, got shape {input.shape}")
    if not isinstance(num_samples, numbers.Integral) or num_samples <= 0:
        raise ValueError(f"multinomial: num_samples must be a positive int, got "
                         f"{num_samples!r}")
    xp = input.xp
    w = _probabilities(input, "multinomial").reshape(-1, input.shape[-1])
    rows, k = w.shape
    total = w.sum(axis=1, keepdims=True)
    if rows and not bool((total > 0).all()):
        raise ValueError("multinomial: a row of weights sums to 0 (invalid distribution)")
    positive = int((w > 0).sum(axis=1).min()) if rows else 0
    if not replacement and num_samples > positive:
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without "
                         f"replacement from a row with {positive} categories of positive "
                         "weight")
    u = _random.uniform((rows, num_samples if replacement else k), 0.0, 1.0, _dt.float64,
                        input.device, generator)
    if replacement:
        cdf = xp.cumsum(w / total, axis=1)
        cdf[:, -1] = 1.0  # no u ≥ 1 exists; rounding must not leave a gap at the top
        offset = 2.0 * xp.arange(rows, dtype=np.float64)[:, None]  # rows in one search
        flat = xp.searchsorted((cdf + offset).reshape(-1), (u + offset).reshape(-1),
                               side="right").reshape(rows, num_samples)
        out = flat - k * xp.arange(rows)[:, None]
    else:
        with np.errstate(divide="ignore"):
            keys = xp.where(w > 0, xp.log(u) / xp.where(w > 0, w, 1.0), -np.inf)
        out = xp.argsort(-keys, axis=1)[:, :num_samples]
    out = out.astype(np.int64)
    return _finish(out.reshape(-1) if input.ndim == 1 else out, False)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None):
    """Samples of N(mean, std²), ``mean`` and ``std`` numbers or tensors (broadcast
    together) or, with ``size``, numbers; not differentiable (a sample, as
    ``torch.normal``: its gradient with respect to mean and std is zero).

    >>> import minigrad as mg
    >>> mg.normal(mg.zeros(3), 0.0).tolist()
    [0.0, 0.0, 0.0]
    """
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if tensors:
        if size is not None:
            raise ValueError("normal: size is only for a number mean and std")
        device = device or tensors[0].device
        m = mean.data if isinstance(mean, Tensor) else mean
        s = std.data if isinstance(std, Tensor) else std
        shape = np.broadcast_shapes(*(t.shape for t in tensors))
        dtype = dtype or next(t.dtype for t in tensors if _dt.is_floating(t.dtype))
    else:
        if size is None:
            raise ValueError("normal: pass size when mean and std are numbers")
        m, s, shape = mean, std, _shape_args((size,) if isinstance(size, int) else size)
    xp = _module(device, _float_dtype(dtype))
    if bool((xp.asarray(s) < 0).any()):
        raise ValueError("normal: std must be non-negative")
    z = _random.normal(shape, 0.0, 1.0, dtype, normalize_device(device), generator)
    return _finish((z * s + m).astype(_float_dtype(dtype), copy=False), False)


def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False):
    """``base ** linspace(start, end, steps)``, computed in float64 and rounded once."""
    dtype = _float_dtype(dtype)
    steps = _steps(steps, "logspace")
    xp = _module(device, dtype)
    values = xp.power(float(base), xp.linspace(start, end, steps, dtype=np.float64))
    return _finish(values.astype(dtype), requires_grad)


def _triangle_indices(row, col, offset, dtype, device, lower):
    if row < 0 or col < 0:
        raise ValueError(f"{'tril' if lower else 'triu'}_indices: row and col must be "
                         f"non-negative, got {row} and {col}")
    fn = np.tril_indices if lower else np.triu_indices
    i, j = fn(row, offset, col)
    dtype = _dt.as_dtype(dtype) or _dt.int64
    return _finish(_module(device, dtype).asarray(np.stack([i, j]).astype(dtype)), False)


def tril_indices(row, col, offset=0, dtype=None, device=None):
    """The (2, N) indices of the lower triangle of a row × col matrix (with diagonal
    ``offset``), row by row, as PyTorch orders them.

    >>> import minigrad as mg
    >>> mg.tril_indices(3, 3).tolist()
    [[0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2]]
    """
    return _triangle_indices(row, col, offset, dtype, device, True)


def triu_indices(row, col, offset=0, dtype=None, device=None):
    """The (2, N) indices of the upper triangle of a row × col matrix (see
    :func:`tril_indices`)."""
    return _triangle_indices(row, col, offset, dtype, device, False)


cat = _shape.cat
stack = _shape.stack
where = _elementwise.where


# ----------------------------------------------------------------- window functions


def _window(name, window_length, periodic, dtype, device, requires_grad, formula):
    """A window of ``window_length`` samples from ``formula(t)``, t = n/(N − 1) in [0, 1]
    for the symmetric window of N points; a periodic window (for spectral analysis) is
    the symmetric one of N + 1 points without its last. Computed in float64, then cast."""
    if isinstance(window_length, bool) or not isinstance(window_length, numbers.Integral) \
            or window_length < 0:
        raise ValueError(f"{name}: window_length must be a non-negative integer, got "
                         f"{window_length!r}")
    dtype = _float_dtype(dtype)
    if not _dt.is_floating(dtype):
        raise TypeError(f"{name}: expected a floating dtype, got {dtype}")
    if window_length <= 1:
        values = np.ones(window_length)
    else:
        n = window_length + 1 if periodic else window_length
        values = formula(np.arange(n) / (n - 1))[:window_length]
    return _finish(_module(device, dtype).asarray(values.astype(dtype)), requires_grad)


def hann_window(window_length, periodic=True, *, dtype=None, device=None,
                requires_grad=False):
    """w(t) = ½ − ½ cos 2πt (the raised cosine).

    >>> import minigrad as mg
    >>> mg.hann_window(4).tolist()
    [0.0, 0.5, 1.0, 0.5]
    """
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   lambda t: 0.5 - 0.5 * np.cos(2 * np.pi * t))


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None,
                   device=None, requires_grad=False):
    """w(t) = α − β cos 2πt."""
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   lambda t: alpha - beta * np.cos(2 * np.pi * t))


def blackman_window(window_length, periodic=True, *, dtype=None, device=None,
                    requires_grad=False):
    """w(t) = 0.42 − 0.5 cos 2πt + 0.08 cos 4πt."""
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   lambda t: 0.42 - 0.5 * np.cos(2 * np.pi * t) + 0.08 * np.cos(4 * np.pi * t))


def bartlett_window(window_length, periodic=True, *, dtype=None, device=None,
                    requires_grad=False):
    """w(t) = 1 − |2t − 1| (the triangle)."""
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   lambda t: 1.0 - np.abs(2 * t - 1))


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, device=None,
                  requires_grad=False):
    """w(t) = I₀(β √(1 − (2t − 1)²)) / I₀(β), I₀ the modified Bessel function of order 0."""
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad,
                   lambda t: np.i0(beta * np.sqrt(np.clip(1 - (2 * t - 1) ** 2, 0, None)))
                   / np.i0(beta))
