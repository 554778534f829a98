"""Shape ops: reshape, permute, broadcast_to/sum_to, indexing and its scatter-add
gradient, gather/scatter/scatter_add, cat/stack/split/chunk, pad, flip, repeat, device
moves."""
from __future__ import annotations

import math
import numbers

import numpy as np

from .._backend import quiet_fp_off, quiet_fp_on, to_device
from .._backend import scatter_add as _scatter_add
from ..amp.autocast_mode import is_half
from ..autograd.function import Function, SliceGrad, slice_grads_accepted
from ..tensor import Tensor
from .elementwise import const as _const
from .elementwise import promote
from .elementwise import where as _where


def accumulate(xp, op, a, wide=False, **kwargs):
    """``xp.<op>(a, **kwargs)`` for op = "sum", "mean", "prod", "cumsum" or "cumprod", with
    float16/bfloat16 data accumulated in float32 and rounded once at the end, as PyTorch
    reduces them (ml_dtypes' bfloat16 sum accumulates in bfloat16: 70000 ones gave 256,
    their mean 0.0037); a result past the half range is inf, silently, as in PyTorch.
    ``wide``: a half input's result stays float32 (autocast's reductions): one kernel
    reading the half data, no float32 copy of it.

    As in PyTorch, unsigned integers give int64 (NumPy: uint64), and a float32 cumsum or
    cumprod on the CPU runs in float64 (PyTorch's CPU kernels do: 2¹⁷ copies of 0.1 end at
    13107.2, where a float32 running sum reaches 13093.6; a float32 vander's x⁵⁹ was 10
    ulps off, PyTorch's ½). So does a float32 sum on the CPU: NumPy sums an axis other
    than the last one row after row, in float32 (a bias gradient's sum over a batch of 4096
    was 3e-4 off, 40 ulps; PyTorch's cascade sum is ~1 ulp), at about 2x its time."""
    reduce = getattr(xp, op)
    if not is_half(a.dtype):
        if a.dtype.kind == "u":
            return reduce(a, dtype=np.int64, **kwargs)
        if op in ("sum", "cumsum", "cumprod") and xp is np and a.dtype == np.float32:
            return reduce(a, dtype=np.float64, **kwargs).astype(np.float32)
        return reduce(a, **kwargs)
    token = quiet_fp_on()
    try:
        if xp is np or a.dtype == np.float16:
            result = reduce(a, dtype=np.float32, **kwargs)
        else:  # CuPy's reductions take no bfloat16 -> float32 dtype: convert first
            result = reduce(a.astype(np.float32), **kwargs)
        return result if wide else result.astype(a.dtype)
    finally:
        quiet_fp_off(token)


def _sum_to_array(xp, x, shape):
    """Sum the array ``x`` down to ``shape`` (undo NumPy broadcasting)."""
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1
    )
    y = accumulate(xp, "sum", x, axis=axes, keepdims=True) if axes else x
    if lead:
        y = y.reshape(shape)
    return y


class Reshape(Function):
    """y = x viewed with a new shape.   VJP: gx = gy reshaped back."""
    reads_inputs = False  # its backward needs no input's values

    def __init__(self, shape):
        self.shape = shape

    def forward(self, xp, x):
        self.x_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return gy.reshape(self.x_shape)


class Permute(Function):
    """y = x with its axes reordered.   VJP: gx = gy with the inverse order."""
    reads_inputs = False  # its backward needs no input's values

    def __init__(self, dims):
        self.dims = dims

    def forward(self, xp, x):
        if len(self.dims) != x.ndim or sorted(d % max(x.ndim, 1) for d in self.dims) != list(
                range(x.ndim)):
            raise ValueError(f"permute: dims {self.dims} are not a permutation of {x.ndim} axes")
        return xp.transpose(x, self.dims)

    def backward(self, gy):
        ndim = len(self.dims)
        inverse = [0] * ndim
        for i, d in enumerate(self.dims):
            inverse[d % ndim] = i
        return gy.permute(*inverse)


class BroadcastTo(Function):
    """y = x broadcast to ``shape``.   VJP: gx = gy summed back to x's shape."""
    reads_inputs = False  # its backward needs no input's values

    def __init__(self, shape):
        self.shape = shape

    def forward(self, xp, x):
        self.x_shape = x.shape
        return xp.broadcast_to(x, self.shape)

    def backward(self, gy):
        return gy.sum_to(self.x_shape)


class SumTo(Function):
    """y = x summed down to ``shape``.   VJP: gx = gy broadcast to x's shape."""
    reads_inputs = False  # its backward needs no input's values

    def __init__(self, shape):
        self.shape = shape

    def forward(self, xp, x):
        self.x_shape = x.shape
        return _sum_to_array(xp, x, self.shape)

    def backward(self, gy):
        return gy.broadcast_to(self.x_shape)


def reshape(x, shape):
    if shape == x.shape:
        return x
    for i, n in enumerate(shape):
        if n < -1:
            raise ValueError(f"reshape: invalid size {n} at index {i} of shape {shape} (-1 "
                             "infers one size)")
    return Reshape(shape)(x)


def broadcast_to(x, shape):
    if shape == x.shape:
        return x
    return BroadcastTo(shape)(x)


def sum_to(x, shape):
    if shape == x.shape:
        return x
    return SumTo(shape)(x)


def transpose(x, dim0, dim1):
    dim0, dim1 = _dim(dim0, x.ndim, "transpose"), _dim(dim1, x.ndim, "transpose")
    if x.ndim == 0:
        return x
    dims = list(range(x.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return Permute(tuple(dims))(x)


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return x.reshape(1)
    s, e = _dim(start_dim, x.ndim, "flatten"), _dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim ({start_dim}) comes after end_dim ({end_dim}) "
                         f"for shape {x.shape}")
    n = 1
    for d in x.shape[s:e + 1]:
        n *= d
    return x.reshape(x.shape[:s] + (n,) + x.shape[e + 1:])


def squeeze(x, dim=None):
    if dim is None:
        return x.reshape(tuple(d for d in x.shape if d != 1))
    dims = {_dim(d, x.ndim, "squeeze") for d in ((dim,) if isinstance(dim, int) else dim)}
    return x.reshape(tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1)))


def unsqueeze(x, dim):
    dim = _dim(dim, x.ndim + 1, "unsqueeze")
    return x.reshape(x.shape[:dim] + (1,) + x.shape[dim:])


def expand(x, sizes):
    """PyTorch's expand: -1 keeps a dimension; new dimensions go in front."""
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: cannot expand shape {x.shape} to {sizes}")
    shape = tuple(
        (x.shape[i - lead] if s == -1 else s) if i >= lead else s for i, s in enumerate(sizes)
    )
    return broadcast_to(x, shape)


def repeat(x, repeats):
    """PyTorch's repeat (NumPy's tile): reshape to (1, a, 1, b), broadcast, reshape."""
    if len(repeats) < x.ndim:
        raise ValueError(f"repeat: {len(repeats)} repeats for a tensor with {x.ndim} dims")
    shape = (1,) * (len(repeats) - x.ndim) + x.shape
    x = x.reshape(shape)
    inter, expanded, final = [], [], []
    for r, s in zip(repeats, shape):
        inter += [1, s]
        expanded += [r, s]
        final.append(r * s)
    return x.reshape(tuple(inter)).broadcast_to(tuple(expanded)).reshape(tuple(final))


class Flip(Function):
    """y = x reversed along ``dims``.   VJP: gx = gy reversed along ``dims``."""
    reads_inputs = False  # its backward needs no input's values

    def __init__(self, dims):
        self.dims = dims

    def forward(self, xp, x):
        return xp.flip(x, axis=self.dims)

    def backward(self, gy):
        return gy.flip(self.dims)


def flip(x, dims):
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    return Flip(dims)(x)


def _dim(dim, ndim, op):
    """``dim`` as a non-negative axis, with PyTorch's range check (a 0-d tensor takes
    0 and −1)."""
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__} {dim!r}")
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dim {dim} is out of range (expected one in [{-n}, {n - 1}])")
    return dim % n


def _sized_dim(dim, x, op):
    """``dim`` of ``x`` for the ops that index the dim's size (split, chunk, unbind...): as
    :func:`_dim`, but a 0-d tensor, which has no size to split, is refused."""
    if x.ndim == 0:
        raise ValueError(f"{op}: expects a tensor with at least 1 dim, got a 0-d tensor")
    return _dim(dim, x.ndim, op)


def _along(dim, index):
    """The index tuple that applies ``index`` (a slice, an int or an array) to ``dim``."""
    return (slice(None),) * dim + (index,)


def roll(x, shifts, dims=None):
    """Shift elements along ``dims`` cyclically (PyTorch's roll; without dims, of the
    flattened tensor). A gather, so the gradient is rolled back."""
    if dims is None:
        return roll(x.reshape(-1), shifts, 0).reshape(x.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: {len(shifts)} shifts for {len(dims)} dims")
    if x.ndim == 0 and dims:  # PyTorch refuses too; roll(shifts) without dims is fine
        raise IndexError(f"roll: dims {dims} given for a 0-d tensor, which has no "
                         "dimensions (leave dims out)")
    for s, d in zip(shifts, dims):
        d = _dim(d, x.ndim, "roll")
        n = x.shape[d]
        x = x[_along(d, (np.arange(n) - s) % max(n, 1))]  # output i reads input i − s
    return x


def gather(x, dim, index):
    """PyTorch's gather: ``out[i][j][k] = x[index[i][j][k]][j][k]`` for dim 0, and so on
    for the other dims; ``index`` is an integer tensor with as many dims as ``x``, no
    larger than ``x`` outside ``dim``, its values in [0, size of ``dim``) (a negative one
    is an error, as in PyTorch, not counted from the end). The gradient scatter-adds back
    into x (repeated indices accumulate)."""
    dim, index = _checked_index(x, dim, index, "gather")
    return take_along(x, dim, index)


def take_along(x, dim, index):
    """:func:`gather` without its checks, for an ``index`` array known to be valid (the
    sorting and max/min ops, which make it)."""
    if x.ndim == 0:
        return x[()]
    return x[_index_grid(x.xp, index, dim)]


def _checked_index(x, dim, index, op):
    """``(dim, index array)`` after PyTorch's checks for gather/scatter: an integer index
    with x's number of dims, no larger than x except along ``dim``, every value in
    [0, x.shape[dim])."""
    if isinstance(index, Tensor) and index.device != x.device:
        raise RuntimeError(f"{op}: index is on {index.device} but the input is on "
                           f"{x.device}; move one with .to()")
    index = index.data if isinstance(index, Tensor) else x.xp.asarray(index)
    dim = _dim(dim, x.ndim, op)
    if index.dtype.kind not in "iu" or index.ndim != x.ndim:
        raise ValueError(f"{op}: index must be an integer tensor with {x.ndim} dims like "
                         f"the input {x.shape}, got {index.dtype} of shape {index.shape}")
    if any(d != dim and index.shape[d] > x.shape[d] for d in range(x.ndim)):
        raise ValueError(f"{op}: index of shape {index.shape} is larger than the input "
                         f"{x.shape} outside dim {dim}")
    _check_index_range(index, x.shape[dim] if x.ndim else 1, dim, op)
    return dim, index


def _index_grid(xp, index, dim):
    """The advanced index that reads ``x[i][j][index[i][j][k]]`` for every position
    (i, j, k) of ``index`` (here with dim 2): ``index`` on ``dim``, broadcasting aranges
    on the other dims. Gather reads through it, scatter writes through it."""
    grid = [xp.arange(n).reshape((n,) + (1,) * (index.ndim - 1 - d))
            for d, n in enumerate(index.shape)]
    grid[dim] = index
    return tuple(grid)


def _scatter_operands(x, dim, index, src, op):
    """Check PyTorch's rules for ``x.scatter*(dim, index, src)`` and return the dim, the
    write index (:func:`_index_grid`) and the part of ``src`` that is written (its
    leading ``index.shape`` corner, a differentiable slice when ``src`` is larger)."""
    dim, index = _checked_index(x, dim, index, op)
    if isinstance(src, Tensor):
        if src.dtype != x.dtype:
            raise TypeError(f"{op}: src has dtype {src.dtype}, the input {x.dtype}; "
                            "they must be equal, as in PyTorch")
        if src.ndim != x.ndim or any(i > n for i, n in zip(index.shape, src.shape)):
            raise ValueError(f"{op}: index of shape {index.shape} is larger than src "
                             f"{src.shape}")
        if src.shape != index.shape:
            src = src[tuple(slice(0, n) for n in index.shape)]
    return dim, _index_grid(x.xp, index, dim), src


def scatter(input, dim, index, src=None, value=None):
    """PyTorch's out-of-place scatter: a copy of ``input`` with ``out[i][index[i][j]] =
    src[i][j]`` (here dim 1) for every position of ``index``; ``src`` may be a tensor
    (as large as ``index`` at least) or a number (``value``).

    Gradients: ``input`` gets gy with zeros at the overwritten positions (PyTorch's
    rule), ``src`` the gy of the position it was written to (a gather).

    Where minigrad differs: where ``index`` names one position several times, PyTorch
    leaves undefined which ``src`` element lands there and sends each of them the
    gradient; here the last one (in index order) lands, and it alone gets the gradient.
    PyTorch's ``reduce=`` argument is not supported. A ``src`` larger than ``index``
    gets zeros where it was not read (PyTorch's backward fails on it)."""
    x = input
    if src is None and value is None:
        raise TypeError("scatter: expects src (a tensor) or value (a number)")
    if src is not None and not isinstance(src, Tensor):
        src, value = None, src
    if x.ndim == 0:
        one = src.reshape(1) if src is not None else None
        idx = index.reshape(1) if isinstance(index, Tensor) else x.xp.reshape(index, 1)
        return scatter(x.reshape(1), dim, idx, one, value).reshape(())
    dim, grid, src = _scatter_operands(x, dim, index, src, "scatter")
    xp = x.xp
    strides = [int(np.prod(x.shape[d + 1:], dtype=np.int64)) for d in range(x.ndim)]
    flat = sum(g * s for g, s in zip(grid, strides))
    flat = xp.broadcast_to(flat, grid[dim].shape).reshape(-1)
    # the last writer of each target: first occurrences in the reversed order
    last = flat.size - 1 - xp.unique(flat[::-1], return_index=True)[1]
    targets = xp.unravel_index(flat[last], x.shape)
    written = xp.zeros(x.shape, dtype=bool)
    written[targets] = True
    if src is None:
        return _where(written, _const(xp.asarray(value, dtype=x.dtype)), x)
    return _where(written, IndexAdd(targets, x.shape)(src.reshape(-1)[last]), x)


def scatter_add(input, dim, index, src):
    """PyTorch's out-of-place scatter_add: ``out = input`` with ``out[i][index[i][j]] +=
    src[i][j]`` (here dim 1) for every position of ``index``, repeated positions
    accumulating. Gradients: ``input`` gets gy, ``src`` the gy of its target (a gather:
    the backward of :class:`IndexAdd`)."""
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add: src must be a tensor, got {type(src).__name__}")
    x = input
    if x.ndim == 0:
        idx = index.reshape(1) if isinstance(index, Tensor) else x.xp.reshape(index, 1)
        return scatter_add(x.reshape(1), dim, idx, src.reshape(1)).reshape(())
    dim, grid, src = _scatter_operands(x, dim, index, src, "scatter_add")
    return x + IndexAdd(grid, x.shape)(src)


def index_select(x, dim, index):
    """The entries ``index`` (a 1-d integer tensor) of ``dim``, in that order."""
    index = index.data if isinstance(index, Tensor) else np.asarray(index)
    if index.ndim > 1 or index.dtype.kind not in "iu":
        raise ValueError(f"index_select: index must be a 1-d integer tensor, got "
                         f"{index.dtype} of shape {index.shape}")
    dim = _dim(dim, x.ndim, "index_select")
    _check_index_range(index, x.shape[dim] if x.ndim else 1, dim, "index_select")
    return x[_along(dim, index.reshape(-1))]


def _check_index_range(index, n, dim, op):
    """Every entry of ``index`` in [0, n) (one read back from a GPU: CuPy would wrap an
    out-of-range index around, silently)."""
    if index.size and not (0 <= int(index.min()) and int(index.max()) < n):
        raise IndexError(f"{op}: index out of range [0, {n}) of dim {dim}")


def narrow(x, dim, start, length):
    """``length`` entries of ``dim`` from ``start`` (negative counts from the end)."""
    dim = _dim(dim, x.ndim, "narrow")
    n = x.shape[dim]
    start = start + n if start < 0 else start
    if not (0 <= start and length >= 0 and start + length <= n):
        raise IndexError(f"narrow: start {start} + length {length} exceeds size {n} of "
                         f"dim {dim}")
    return x[_along(dim, slice(start, start + length))]


def unbind(x, dim=0):
    """The slices along ``dim``, as a tuple (``dim`` removed from each)."""
    dim = _sized_dim(dim, x, "unbind")
    return tuple(x[_along(dim, i)] for i in range(x.shape[dim]))


def unflatten(x, dim, sizes):
    """Split ``dim`` into ``sizes`` (one entry may be −1), the inverse of ``flatten``."""
    dim = _sized_dim(dim, x, "unflatten")
    sizes = tuple(int(s) for s in sizes)
    known = math.prod(s for s in sizes if s != -1)
    n = x.shape[dim]
    if sizes.count(-1) > 1 or (-1 not in sizes and known != n) or \
            (-1 in sizes and (known == 0 or n % known)):
        raise ValueError(f"unflatten: sizes {list(sizes)} do not multiply up to the size "
                         f"{n} of dim {dim} (one -1 may stand for the rest)")
    return x.reshape(x.shape[:dim] + sizes + x.shape[dim + 1:])


# --------------------------------------------------------------------------- indexing


def _is_basic(index):
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in index)


def normalize_index(index, shape=None, op="getitem"):
    """Turn Tensors inside an index into arrays and boolean masks into integer arrays.
    With ``shape`` (the indexed tensor's), a boolean mask must have the shape of the dims
    it covers (NumPy would take a shorter mask's True entries as positions)."""
    if not isinstance(index, tuple):
        index = (index,)
    entries = []
    for i in index:
        if isinstance(i, Tensor):
            i = i.data
        if isinstance(i, list):
            i = np.asarray(i)
        entries.append(i)
    if shape is not None:
        _check_masks(entries, shape, op)
    out = []
    for i in entries:
        if _is_mask(i):
            out.extend(i.nonzero())
            continue
        if hasattr(i, "dtype") and getattr(i, "ndim", 1) == 0 and i.dtype.kind in "iu":
            i = int(i)
        out.append(i)
    return tuple(out)


def _is_mask(i):
    return hasattr(i, "dtype") and getattr(i, "ndim", 0) > 0 and i.dtype.kind == "b"


def _check_masks(entries, shape, op):
    """PyTorch's rule: a boolean mask at index entry k covers as many dims as it has, and
    must match their sizes."""
    def covers(i):
        return 0 if i is None or i is Ellipsis else i.ndim if _is_mask(i) else 1

    dim = 0
    for i in entries:
        if i is Ellipsis:
            dim += len(shape) - sum(covers(e) for e in entries)
        elif _is_mask(i):
            if tuple(i.shape) != tuple(shape[dim:dim + i.ndim]):
                raise IndexError(f"{op}: the shape of the mask {tuple(i.shape)} at index "
                                 f"{dim} does not match the shape of the indexed tensor "
                                 f"{tuple(shape)}")
        dim += covers(i)


class GetItem(Function):
    """y = x[index] (slices, integers, integer arrays, boolean masks).
    VJP: gx = zeros with gy scatter-added at ``index`` (repeated indices accumulate)."""
    reads_inputs = False  # its backward needs no input's values

    def __init__(self, index):
        self.index = index

    def forward(self, xp, x):
        try:
            return x[self.index]
        except IndexError as e:
            raise IndexError(f"getitem: index {self.index!r} into shape {x.shape}: {e}") from None

    def backward(self, gy):
        if _is_basic(self.index) and slice_grads_accepted():
            # (values at the slice, not a whole zero array per slice: see SliceGrad)
            return SliceGrad(self.index, gy.data, self.inputs[0].shape)
        return IndexAdd(self.index, self.inputs[0].shape)(gy)


class IndexAdd(Function):
    """y = zeros(shape) with y[index] += g.   VJP: gg = gy[index]."""
    reads_inputs = False  # its backward needs no input's values

    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, xp, g):
        y = xp.zeros(self.shape, dtype=g.dtype)
        if _is_basic(self.index):
            y[self.index] = g
        elif is_half(g.dtype):  # repeated indices accumulate in float32, as in PyTorch
            wide = _scatter_add(xp.zeros(self.shape, dtype=np.float32), self.index,
                                g.astype(np.float32))
            token = quiet_fp_on()
            try:
                y = wide.astype(g.dtype)
            finally:
                quiet_fp_off(token)
        else:
            _scatter_add(y, self.index, g)
        return y

    def backward(self, gy):
        return GetItem(self.index)(gy)


class AsStrided(Function):
    """y = the elements of x's row-major values at ``offset + Σ i_k·stride_k``, shaped
    ``size``: a view of a contiguous x (Tensor.as_strided). ``positions`` holds those flat
    positions (Tensor.as_strided links the view to x for the in-place check: NumPy's
    as_strided does not name x as its base).
    VJP: gx = zeros of x's shape with gy scatter-added at the positions (overlapping
    windows add)."""
    reads_inputs = False  # its backward needs no input's values

    def __init__(self, size, stride, offset, positions):
        self.size, self.stride, self.offset, self.positions = size, stride, offset, positions

    def forward(self, xp, x):
        self.x_shape = x.shape
        flat = x.reshape(-1)[self.offset:]  # a view: x is contiguous
        y = xp.lib.stride_tricks.as_strided(
            flat, self.size, tuple(s * x.itemsize for s in self.stride))
        return y

    def backward(self, gy):
        n = math.prod(self.x_shape)
        return IndexAdd((self.positions,), (n,))(gy).reshape(self.x_shape)


def split_selects(index):
    """PyTorch's reading of an index that mixes integers with index arrays: the integers
    select first (their dims go), then the rest indexes what is left, so ``x[0, :, [0, 1]]``
    of a (2, 3, 4) tensor is (3, 2). NumPy counts the integers among the advanced indices,
    which here are separated by the slice, and puts their broadcast dims first: (2, 3).
    Returns ``(selects, rest)``: a basic index of the integers (a view) and the index
    that follows it; ``selects`` is None when the two readings agree (no integer, or no
    index array)."""
    ints = arrays = False
    for i in index:
        if type(i) is int:
            ints = True
        elif getattr(i, "ndim", 0) > 0:
            arrays = True
    if not (ints and arrays):
        return None, index
    selects = tuple(i if type(i) is int or i is Ellipsis else slice(None)
                    for i in index if i is not None)
    return selects, tuple(i for i in index if type(i) is not int)


def getitem(x, index):
    index = normalize_index(index, x.shape)
    selects, index = split_selects(index)
    if selects is not None:
        x = GetItem(selects)(x)
    xp = x.xp
    if xp.__name__ != "numpy":  # index arrays must live where the data lives
        index = tuple(xp.asarray(i) if hasattr(i, "ndim") else i for i in index)
    return GetItem(index)(x)


class Cat(Function):
    """y = the inputs joined along ``dim``.   VJP: each input gets its slice of gy."""
    reads_inputs = False  # its backward needs no input's values

    def __init__(self, dim):
        self.dim = dim

    def forward(self, xp, *xs):
        self.sizes = [x.shape[self.dim] for x in xs]
        return xp.concatenate(promote(*xs), axis=self.dim)

    def backward(self, gy):
        out, start = [], 0
        lead = (slice(None),) * (self.dim % gy.ndim)
        for size, need in zip(self.sizes, self.needs_input_grad):
            out.append(gy[lead + (slice(start, start + size),)] if need else None)
            start += size
        return tuple(out)


def _tensor_list(tensors, op):
    """The tensors of ``cat``/``stack``: a non-empty sequence of Tensors (a single tensor
    is refused, as in PyTorch, rather than split along its first dim)."""
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: expects a sequence of tensors, got a single tensor; wrap it "
                        "in a list")
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: expects a non-empty sequence of tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expects a sequence of tensors, but element {i} is "
                            f"{type(t).__name__}")
    return tensors


def cat(tensors, dim=0):
    tensors = _tensor_list(tensors, "cat")
    ndim = tensors[0].ndim
    if ndim == 0:
        raise ValueError("cat: zero-dimensional tensors cannot be concatenated")
    for t in tensors[1:]:
        if t.ndim != ndim:
            raise ValueError(f"cat: tensors have different numbers of dims: {t.shape} vs "
                             f"{tensors[0].shape}")
    return Cat(_dim(dim, ndim, "cat"))(*tensors)


def stack(tensors, dim=0):
    tensors = _tensor_list(tensors, "stack")
    shape = tensors[0].shape
    for t in tensors[1:]:
        if t.shape != shape:
            raise ValueError(f"stack: expects tensors of equal shape, got {shape} and {t.shape}")
    dim = _dim(dim, len(shape) + 1, "stack")
    return cat([t.unsqueeze(dim) for t in tensors], dim)


def split(tensor, split_size_or_sections, dim=0):
    """Split along ``dim`` into chunks of a given size (the last may be smaller) or into
    the given list of sizes. Each piece is a differentiable slice."""
    x = tensor
    dim = _sized_dim(dim, x, "split")
    n = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, n - s) for s in range(0, n, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split: sections {sizes} do not add up to size {n} of dim {dim}")
    lead = (slice(None),) * (dim % x.ndim)
    out, start = [], 0
    for s in sizes:
        out.append(x[lead + (slice(start, start + s),)])
        start += s
    return tuple(out)


def unflatten_pieces(flat, shapes):
    """The pieces of a 1-d tensor holding several tensors' values one after the other,
    reshaped to ``shapes``: differentiable views (:func:`split`, then reshape)."""
    sizes = [int(np.prod(shape, dtype=np.int64)) for shape in shapes]
    return [piece.reshape(shape) for piece, shape in zip(split(flat, sizes), shapes)]


def broadcasts_to(shape, target) -> bool:
    """Whether an array of ``shape`` broadcasts to exactly ``target`` (without growing
    it)."""
    try:
        return tuple(np.broadcast_shapes(shape, target)) == tuple(target)
    except ValueError:
        return False


def chunk(x, chunks, dim=0):
    """Split into ``chunks`` pieces of size ceil(n / chunks) (PyTorch's rule)."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    dim = _sized_dim(dim, x, "chunk")
    n = x.shape[dim]
    return split(x, max(-(-n // chunks), 1), dim)


class Pad(Function):
    """Constant padding by non-negative widths, ``widths[i] = (before, after)`` for dim i.
    VJP: gx = gy with the padding sliced off."""
    reads_inputs = False  # its backward needs no input's values

    def __init__(self, widths, value):
        self.widths, self.value = widths, value

    def forward(self, xp, x):
        if x.ndim == 0:  # (NumPy cannot pad a 0-d array by no widths; a copy, as PyTorch)
            return x.copy()
        return xp.pad(x, self.widths, mode="constant", constant_values=self.value)

    def backward(self, gy):
        if gy.ndim == 0:
            return gy
        index = tuple(slice(lo, gy.shape[i] - hi) for i, (lo, hi) in enumerate(self.widths))
        return gy[index]


PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _source_index(n, lo, hi, mode):
    """Which input position each output position of a padded dim reads (non-constant modes).

    Output position i ∈ [−lo, n + hi) of an input dim of size n reads
    reflect: the mirror image without repeating the edge (−1 → 1, n → n − 2);
    replicate: the nearest edge (clip to [0, n − 1]); circular: i mod n.
    """
    i = np.arange(-lo, n + hi)
    if mode == "reflect":
        return np.where(i < 0, -i, np.where(i >= n, 2 * (n - 1) - i, i))
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    return i % n


def pad(input, pad, mode="constant", value=None):
    """Pad (or, with negative widths, crop) the trailing dims: PyTorch's ``F.pad``.
    ``pad = (left_last, right_last, left_2nd_last, right_2nd_last, ...)``.

    ``mode``: ``"constant"`` fills with ``value`` (default 0); ``"reflect"`` mirrors the
    input without repeating the edge (widths < the dim's size); ``"replicate"`` repeats the
    edge; ``"circular"`` wraps around (widths ≤ the dim's size). The non-constant modes are
    gathers, so their gradient scatter-adds back to the positions read.

    Where minigrad differs: PyTorch limits the non-constant modes to the last 1–3 dims of a
    2-D to 5-D input; here they pad any number of trailing dims of any input.
    """
    x = input
    pad = tuple(pad)
    if len(pad) % 2 or not all(isinstance(p, numbers.Integral) for p in pad):
        raise ValueError(f"pad: expects an even number of integer pad sizes, got {pad}")
    pad = tuple(int(p) for p in pad)
    k = len(pad) // 2
    if k > x.ndim:
        raise ValueError(f"pad: {k} padded dims for a tensor with {x.ndim} dims")
    if mode not in PAD_MODES:
        raise ValueError(f"pad: mode must be one of {PAD_MODES}, got {mode!r}")
    if mode != "constant" and value is not None:
        raise ValueError(f'pad: mode "{mode}" does not take a value argument')
    # widths[d] = (before, after) for every dim d, zeros for the unpadded leading dims
    widths = [(0, 0)] * (x.ndim - k) + [(pad[2 * i], pad[2 * i + 1]) for i in reversed(range(k))]
    # negative widths crop, as PyTorch: they are cut off, the positive ones padded; the
    # constant and circular paddings see the cut input (circular wraps to the cut edge),
    # reflect and replicate read the uncut one (cut after)
    crops = [(-min(lo, 0), -min(hi, 0)) for lo, hi in widths]
    if mode == "constant":
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
        return Pad(widths, 0.0 if value is None else value)(_crop(x, crops, pad))
    if mode == "circular":
        x = _crop(x, crops, pad)
    for d, (lo, hi) in enumerate(widths):
        lo, hi = max(lo, 0), max(hi, 0)
        if lo == hi == 0:
            continue
        n = x.shape[d]
        limit = {"reflect": n - 1, "replicate": float("inf"), "circular": n}[mode]
        if max(lo, hi) > limit or n == 0:
            rule = {"reflect": "< the size", "replicate": "on a non-empty dim",
                    "circular": "≤ the size"}[mode]
            raise ValueError(f"pad: {mode} padding ({lo}, {hi}) of dim {d} with size {n} "
                             f"(shape {tuple(x.shape)}): widths must be {rule}")
        x = x[(slice(None),) * d + (_source_index(n, lo, hi, mode),)]
    return x if mode == "circular" else _crop(x, crops, pad)


def _crop(x, crops, pad):
    """``x`` without ``crops[d] = (first, last)`` elements at the ends of each dim d."""
    if not any(cl or ch for cl, ch in crops):
        return x
    for d, (cl, ch) in enumerate(crops):
        if cl + ch > x.shape[d]:
            raise ValueError(f"pad: cropping {pad} removes more than dim {d} of shape "
                             f"{tuple(x.shape)}")
    return x[tuple(slice(cl, x.shape[d] - ch) for d, (cl, ch) in enumerate(crops))]


class ToDevice(Function):
    """y = x copied to another device.   VJP: gx = gy copied back."""
    reads_inputs = False  # its backward needs no input's values

    def __init__(self, device):
        self.device = device

    def forward(self, xp, x):
        self.source = "cpu" if xp.__name__ == "numpy" else "cuda"
        return to_device(x, self.device)

    def backward(self, gy):
        return gy.to(self.source)
