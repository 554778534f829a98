"""PyTorch's tensor-manipulation functions, built from the primitive shape and indexing
ops of :mod:`.shape` (permute, reshape, broadcast_to, cat, flip, getitem, gather,
scatter): movedim, tile, repeat_interleave, atleast_1d/2d/3d, hstack/vstack/dstack/
column_stack, meshgrid, rot90, fliplr/flipud, diff, take_along_dim, index_add/
index_copy/index_fill, masked_select, broadcast_tensors/broadcast_shapes, block_diag,
cartesian_prod, combinations, unravel_index, isin, rsub.

None of them has a derivative rule of its own: each is a composition, so its gradient
(and the gradient of that gradient) is the one of the primitives it is made of.
"""
from __future__ import annotations

import itertools
import math
import numbers

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor
from . import shape as _shape
from .elementwise import _check_bool_condition
from .elementwise import const as _const
from .shape import _dim

__all__ = [
    "movedim", "tile", "repeat_interleave", "atleast_1d", "atleast_2d", "atleast_3d",
    "hstack", "vstack", "dstack", "column_stack", "meshgrid", "rot90", "fliplr", "flipud",
    "diff", "take_along_dim", "index_add", "index_copy", "index_fill", "masked_select",
    "broadcast_shapes", "broadcast_tensors", "block_diag", "cartesian_prod", "combinations",
    "unravel_index", "isin", "rsub",
]


def _dims(dims):
    return (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)


def movedim(input, source, destination):
    """Move the dims ``source`` to the positions ``destination`` (ints, or sequences of
    equal length); the other dims keep their order (NumPy's ``moveaxis``).

    >>> import minigrad as mg
    >>> mg.movedim(mg.zeros(2, 3, 4), 0, -1).shape
    (3, 4, 2)
    """
    x = input
    src = [_dim(d, x.ndim, "movedim") for d in _dims(source)]
    dst = [_dim(d, x.ndim, "movedim") for d in _dims(destination)]
    if len(src) != len(dst):
        raise ValueError(f"movedim: {len(src)} source dims but {len(dst)} destination dims")
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"movedim: repeated dim in source {tuple(src)} or destination "
                         f"{tuple(dst)}")
    if x.ndim == 0:
        return x
    order = [d for d in range(x.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return x.permute(*order)


def tile(input, dims):
    """Repeat ``input`` ``dims[i]`` times along each dim; fewer ``dims`` than the
    tensor's dims are padded with 1s in front (where :meth:`Tensor.repeat` refuses).

    >>> import minigrad as mg
    >>> mg.tile(mg.tensor([1, 2]), (2,)).tolist()
    [1, 2, 1, 2]
    """
    dims = _dims(dims)
    if any(int(r) < 0 for r in dims):
        raise ValueError(f"tile: repeats must be non-negative, got {dims}")
    dims = (1,) * (input.ndim - len(dims)) + dims
    return _shape.repeat(input, dims)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element ``repeats`` times along ``dim`` (``repeats`` an int or a 1-d
    integer tensor with one count per element; without ``dim``, of the flattened input).
    ``repeat_interleave(counts)`` alone gives ``[0]*counts[0] + [1]*counts[1] + ...``.

    >>> import minigrad as mg
    >>> mg.repeat_interleave(mg.tensor([1, 2]), 2).tolist()
    [1, 1, 2, 2]
    >>> mg.repeat_interleave(mg.tensor([2, 0, 1])).tolist()
    [0, 0, 2]
    """
    x = input
    if repeats is None:  # the one-argument form: x holds the counts
        counts = _counts(x, None, "repeat_interleave")
        return Tensor(np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts),
                      device=x.device)
    if dim is None:
        x, dim = x.reshape(-1), 0
    dim = _dim(dim, x.ndim, "repeat_interleave")
    if x.ndim == 0:
        x = x.reshape(1)
    n = x.shape[dim]
    counts = _counts(repeats, n, "repeat_interleave")
    index = np.repeat(np.arange(n), counts if counts.shape[0] == n else int(counts[0]))
    if output_size is not None and output_size != index.shape[0]:
        raise ValueError(f"repeat_interleave: output_size {output_size} does not match the "
                         f"{index.shape[0]} repeated entries")
    return x[_shape._along(dim, index)]


def _counts(repeats, n, op):
    """``repeats`` (an int or a 1-d integer tensor) as a host int64 array of counts, one
    per entry (or a single count, applied to all, when ``n`` allows it)."""
    if isinstance(repeats, numbers.Integral):
        counts = np.array([repeats], dtype=np.int64)
    else:
        data = repeats.data if isinstance(repeats, Tensor) else repeats
        data = data.get() if hasattr(data, "get") else np.asarray(data)
        if data.dtype.kind not in "iu" or data.ndim > 1:
            raise TypeError(f"{op}: repeats must be an int or a 1-d integer tensor, got "
                            f"{data.dtype} of shape {data.shape}")
        counts = data.reshape(-1).astype(np.int64)
    if (counts < 0).any():
        raise ValueError(f"{op}: repeats must be non-negative, got {counts.tolist()}")
    if n is not None and counts.shape[0] not in (1, n):
        raise ValueError(f"{op}: {counts.shape[0]} repeats for a dim of size {n}")
    return counts


def _atleast(tensors, ndim, place):
    """Each tensor with at least ``ndim`` dims, its new size-1 dims placed by ``place``
    (a function of the current shape); one tensor in, one tensor out."""
    one = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and not one:
        tensors = tuple(tensors[0])
    out = tuple(t if t.ndim >= ndim else t.reshape(place(t.shape)) for t in tensors)
    return out[0] if one else out


def atleast_1d(*tensors):
    """``tensors`` with a 0-d one viewed as shape (1,)."""
    return _atleast(tensors, 1, lambda s: (1,))


def atleast_2d(*tensors):
    """``tensors`` with 0-d ones as (1, 1) and 1-d ones (n,) as a row (1, n)."""
    return _atleast(tensors, 2, lambda s: (1,) * (2 - len(s)) + s)


def atleast_3d(*tensors):
    """``tensors`` with 0-d ones as (1, 1, 1), (n,) as (1, n, 1) and (m, n) as (m, n, 1)
    (PyTorch's and NumPy's placement)."""
    return _atleast(tensors, 3, lambda s: {0: (1, 1, 1), 1: (1,) + s + (1,),
                                           2: s + (1,)}[len(s)])


def _sequence(tensors, op):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: expects a non-empty sequence of tensors")
    return tensors


def hstack(tensors):
    """Join along dim 1 (along dim 0 when every tensor is 1-d), after atleast_1d.

    >>> import minigrad as mg
    >>> mg.hstack([mg.tensor([1, 2]), mg.tensor([3])]).tolist()
    [1, 2, 3]
    """
    tensors = [atleast_1d(t) for t in _sequence(tensors, "hstack")]
    return _shape.cat(tensors, 0 if all(t.ndim == 1 for t in tensors) else 1)


def vstack(tensors):
    """Join along dim 0 after atleast_2d (1-d tensors become rows).

    >>> import minigrad as mg
    >>> mg.vstack([mg.tensor([1, 2]), mg.tensor([3, 4])]).tolist()
    [[1, 2], [3, 4]]
    """
    return _shape.cat([atleast_2d(t) for t in _sequence(tensors, "vstack")], 0)


row_stack = vstack


def dstack(tensors):
    """Join along dim 2 after atleast_3d."""
    return _shape.cat([atleast_3d(t) for t in _sequence(tensors, "dstack")], 2)


def column_stack(tensors):
    """Join along dim 1, 0-d and 1-d tensors first made columns (n, 1).

    >>> import minigrad as mg
    >>> mg.column_stack([mg.tensor([1, 2]), mg.tensor([3, 4])]).tolist()
    [[1, 3], [2, 4]]
    """
    tensors = [t.reshape(-1, 1) if t.ndim <= 1 else t
               for t in _sequence(tensors, "column_stack")]
    return _shape.cat(tensors, 1)


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-d tensors (0-d ones count as one element): output k
    varies along dim k. ``indexing="xy"`` swaps the first two dims (NumPy's default).

    Where minigrad differs: PyTorch warns when ``indexing`` is left out and then uses
    "ij"; here "ij" is simply the default.

    >>> import minigrad as mg
    >>> X, Y = mg.meshgrid(mg.tensor([1, 2, 3]), mg.tensor([4, 5]))
    >>> X.shape, X[:, 0].tolist(), Y[0].tolist()
    ((3, 2), [1, 2, 3], [4, 5])
    """
    if len(tensors) == 1 and not isinstance(tensors[0], Tensor):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if not tensors:
        raise ValueError("meshgrid: expects at least one tensor")
    for t in tensors:
        if t.ndim > 1:
            raise ValueError(f"meshgrid: expects 0-d or 1-d tensors, got shape {t.shape}")
    flat = [t.reshape(-1) for t in tensors]
    shape = tuple(t.shape[0] for t in flat)
    k = len(flat)
    grids = [t.reshape((1,) * i + (-1,) + (1,) * (k - i - 1)).broadcast_to(shape)
             for i, t in enumerate(flat)]
    if indexing == "xy" and k >= 2:  # the first two dims swapped: (len y, len x, ...)
        grids = [g.transpose(0, 1) for g in grids]
    return tuple(grids)


def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90° ``k`` times in the plane of ``dims``, from the first dim towards the
    second (NumPy's rot90).

    >>> import minigrad as mg
    >>> mg.rot90(mg.tensor([[1, 2], [3, 4]])).tolist()
    [[2, 4], [1, 3]]
    """
    x = input
    dims = tuple(dims)
    if len(dims) != 2:
        raise ValueError(f"rot90: dims must name 2 dims, got {dims}")
    d0, d1 = (_dim(d, x.ndim, "rot90") for d in dims)
    if x.ndim < 2 or d0 == d1:
        raise ValueError(f"rot90: needs two different dims of a tensor with at least 2 "
                         f"dims, got dims {dims} for shape {x.shape}")
    k %= 4
    if k == 1:
        return x.flip(d1).transpose(d0, d1)
    if k == 2:
        return x.flip((d0, d1))
    if k == 3:
        return x.flip(d0).transpose(d0, d1)
    return x


def fliplr(input):
    """Reverse dim 1 (left/right), for tensors of at least 2 dims."""
    if input.ndim < 2:
        raise ValueError(f"fliplr: needs at least 2 dims, got shape {input.shape}")
    return input.flip(1)


def flipud(input):
    """Reverse dim 0 (up/down), for tensors of at least 1 dim."""
    if input.ndim < 1:
        raise ValueError("flipud: needs at least 1 dim, got a 0-d tensor")
    return input.flip(0)


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The ``n``-th forward difference along ``dim``: ``out[i] = x[i + 1] − x[i]``,
    applied ``n`` times, after joining ``prepend`` and ``append`` (tensors with the same
    shape outside ``dim``) to the ends. Boolean tensors give ``x[i + 1] != x[i]``.

    >>> import minigrad as mg
    >>> mg.diff(mg.tensor([1, 4, 9, 16]), n=2).tolist()
    [2, 2]
    """
    x = input
    if x.ndim == 0:
        raise ValueError("diff: needs at least 1 dim, got a 0-d tensor")
    if not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"diff: n must be a non-negative int, got {n!r}")
    dim = _dim(dim, x.ndim, "diff")
    parts = [t for t in (prepend, x, append) if t is not None]
    if len(parts) > 1:
        parts = [t if isinstance(t, Tensor) else Tensor(x.xp.asarray(t)) for t in parts]
        for t in parts:   # a 0-d one (a number) is broadcast, as NumPy's diff does
            if t.ndim not in (0, x.ndim):
                raise ValueError(f"diff: prepend and append must have the input's {x.ndim} "
                                 f"dims (or be 0-d), got shape {t.shape}")
        x = _shape.cat([t.broadcast_to(x.shape[:dim] + (t.shape[dim] if t.ndim else 1,)
                                       + x.shape[dim + 1:]) if t.ndim != x.ndim else t
                        for t in parts], dim)
    for _ in range(n):
        m = x.shape[dim]
        if m == 0:
            break
        later, earlier = x.narrow(dim, 1, m - 1), x.narrow(dim, 0, m - 1)
        x = later != earlier if x.dtype == np.bool_ else later - earlier
    return x


def take_along_dim(input, indices, dim=None):
    """``input`` read at ``indices`` along ``dim`` (a gather whose other dims broadcast
    between the two); without ``dim``, of the flattened input.

    >>> import minigrad as mg
    >>> x = mg.tensor([[10, 30, 20], [60, 40, 50]])
    >>> mg.take_along_dim(x, x.argmax(dim=1, keepdim=True), dim=1).tolist()
    [[30], [60]]
    """
    x = input
    if dim is None:
        return _shape.gather(x.reshape(-1), 0, _index_data(indices, x).reshape(-1))
    index = _index_data(indices, x)
    if index.ndim != x.ndim:
        raise ValueError(f"take_along_dim: indices have {index.ndim} dims, the input "
                         f"{x.ndim} ({index.shape} vs {x.shape})")
    dim = _dim(dim, x.ndim, "take_along_dim")
    try:
        common = np.broadcast_shapes(x.shape[:dim] + x.shape[dim + 1:],
                                     index.shape[:dim] + index.shape[dim + 1:])
    except ValueError:
        raise ValueError(f"take_along_dim: shapes {x.shape} and {index.shape} do not "
                         f"broadcast outside dim {dim}") from None
    lead, tail = common[:dim], common[dim:]
    x = x.broadcast_to(lead + (x.shape[dim],) + tail)
    index = x.xp.broadcast_to(index, lead + (index.shape[dim],) + tail)
    return _shape.gather(x, dim, index)


def _index_data(index, x):
    """An index (a tensor on x's device or an array-like) as an integer array there."""
    if isinstance(index, Tensor):
        if index.device != x.device:
            raise RuntimeError(f"index is on {index.device} but the input is on "
                               f"{x.device}; move one with .to()")
        return index.data
    return x.xp.asarray(index)


def _along_index(x, dim, index, source_shape, op):
    """The 1-d ``index`` of entries of ``dim`` expanded to ``source_shape`` (what
    scatter/scatter_add take), after PyTorch's checks for index_add/index_copy."""
    index = _index_data(index, x)
    if index.ndim > 1 or index.dtype.kind not in "iu":
        raise ValueError(f"{op}: index must be a 1-d integer tensor, got {index.dtype} of "
                         f"shape {index.shape}")
    index = index.reshape(-1)
    _shape._check_index_range(index, x.shape[dim], dim, op)
    expected = x.shape[:dim] + (index.shape[0],) + x.shape[dim + 1:]
    if tuple(source_shape) != expected:
        raise ValueError(f"{op}: source must have shape {expected} (the input {x.shape} "
                         f"with dim {dim} of the index's length), got {tuple(source_shape)}")
    shape = [1] * x.ndim
    shape[dim] = index.shape[0]
    return x.xp.broadcast_to(index.reshape(shape), expected)


def index_add(input, dim, index, source, *, alpha=1):
    """A copy of ``input`` with ``alpha · source[..., i, ...]`` added to entry
    ``index[i]`` of ``dim`` (repeated entries accumulate). Gradients: ``input`` gets gy,
    ``source`` alpha times the gy of its target entry.

    >>> import minigrad as mg
    >>> mg.index_add(mg.zeros(3), 0, mg.tensor([0, 2, 0]), mg.tensor([1., 2., 3.])).tolist()
    [4.0, 0.0, 2.0]
    """
    x = input
    if x.ndim == 0:
        return index_add(x.reshape(1), 0, index, source.reshape(1), alpha=alpha).reshape(())
    dim = _dim(dim, x.ndim, "index_add")
    idx = _along_index(x, dim, index, source.shape, "index_add")
    return _shape.scatter_add(x, dim, idx, source if alpha == 1 else source * alpha)


def index_copy(input, dim, index, source):
    """A copy of ``input`` with entry ``index[i]`` of ``dim`` replaced by
    ``source[..., i, ...]``. Gradients: ``input`` gets gy with zeros at the replaced
    entries, ``source`` the gy of its target (see :func:`minigrad.ops.shape.scatter`
    for repeated indices)."""
    x = input
    if x.ndim == 0:
        return index_copy(x.reshape(1), 0, index, source.reshape(1)).reshape(())
    dim = _dim(dim, x.ndim, "index_copy")
    return _shape.scatter(x, dim, _along_index(x, dim, index, source.shape, "index_copy"),
                          source)


def index_fill(input, dim, index, value):
    """A copy of ``input`` with the entries ``index`` of ``dim`` set to ``value`` (a
    number, or a 0-d tensor that then receives their gradient)."""
    x = input
    dim = _dim(dim, x.ndim, "index_fill")
    index = _index_data(index, x)
    if index.ndim > 1 or index.dtype.kind not in "iu":
        raise ValueError(f"index_fill: index must be a 1-d integer tensor, got "
                         f"{index.dtype} of shape {index.shape}")
    n = x.shape[dim] if x.ndim else 1
    index = index.reshape(-1)
    if index.size and not (-n <= int(index.min()) and int(index.max()) < n):
        raise IndexError(f"index_fill: index out of range [{-n}, {n}) of dim {dim}")
    mask = x.xp.zeros(n, dtype=bool)
    mask[index] = True
    if x.ndim:
        mask = mask.reshape((n,) + (1,) * (x.ndim - 1 - dim))
    else:
        mask = mask.reshape(())
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ValueError(f"index_fill: value must be a number or a 0-d tensor, got shape "
                         f"{value.shape}")
    return x.masked_fill(_const(mask), value)


def masked_select(input, mask):
    """The entries of ``input`` where ``mask`` (broadcast with it) is true, as a 1-d
    tensor in row-major order; the gradient flows back to those entries.

    >>> import minigrad as mg
    >>> x = mg.tensor([[1, 2], [3, 4]])
    >>> mg.masked_select(x, x > 2).tolist()
    [3, 4]
    """
    m = mask.data if isinstance(mask, Tensor) else input.xp.asarray(mask)
    _check_bool_condition("masked_select", "mask", m)
    try:
        shape = np.broadcast_shapes(input.shape, m.shape)
    except ValueError:
        raise ValueError(f"masked_select: mask {m.shape} does not broadcast with the input "
                         f"{input.shape}") from None
    if not shape:  # 0-d: one entry or none
        return input.reshape(1)[_const(m.reshape(1))]
    x = input.broadcast_to(shape) if input.shape != shape else input
    return x[_const(input.xp.broadcast_to(m, shape))]


# ---------------------------------------------------- broadcasting, products of sets


def broadcast_shapes(*shapes):
    """The shape that tensors of ``shapes`` broadcast to (ints count as 1-d shapes).

    >>> import minigrad as mg
    >>> mg.broadcast_shapes((2, 1), (3,), 1)
    (2, 3)
    """
    shapes = [(s,) if isinstance(s, numbers.Integral) else tuple(s) for s in shapes]
    try:
        return tuple(int(n) for n in np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError(f"broadcast_shapes: shapes {', '.join(map(str, shapes))} do not "
                         "broadcast together") from None


def broadcast_tensors(*tensors):
    """The tensors broadcast to their common shape (views; gradients are summed back).

    >>> import minigrad as mg
    >>> a, b = mg.broadcast_tensors(mg.zeros(2, 1), mg.zeros(3))
    >>> a.shape, b.shape
    ((2, 3), (2, 3))
    """
    if len(tensors) == 1 and not isinstance(tensors[0], Tensor):
        tensors = tuple(tensors[0])
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(t if t.shape == shape else t.broadcast_to(shape) for t in tensors)


def block_diag(*tensors):
    """A block-diagonal matrix of the tensors (0-d ones are 1×1, 1-d ones rows), in the
    promoted dtype; zeros elsewhere. Differentiable in every block.

    >>> import minigrad as mg
    >>> mg.block_diag(mg.tensor([[1, 2]]), mg.tensor(3)).tolist()
    [[1, 2, 0], [0, 0, 3]]
    """
    blocks = []
    for t in tensors:
        if t.ndim > 2:
            raise ValueError(f"block_diag: expects tensors of at most 2 dims, got {t.shape}")
        blocks.append(t.reshape(1, -1) if t.ndim < 2 else t)
    if not blocks:  # no blocks: an empty 1×0 matrix, as in PyTorch
        return Tensor(np.zeros((1, 0), dtype=_dt.get_default_dtype()))
    width = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        right = width - left - b.shape[1]
        rows.append(_shape.pad(b, (left, right, 0, 0)))
        left += b.shape[1]
    return _shape.cat(rows, 0)


def cartesian_prod(*tensors):
    """Every combination of one element from each 1-d tensor, one per row (in the order
    of nested loops, the last tensor fastest); one tensor is returned as it is.

    >>> import minigrad as mg
    >>> mg.cartesian_prod(mg.tensor([1, 2]), mg.tensor([3, 4])).tolist()
    [[1, 3], [1, 4], [2, 3], [2, 4]]
    """
    for t in tensors:
        if t.ndim != 1:
            raise ValueError(f"cartesian_prod: expects 1-d tensors, got shape {t.shape}")
    if len(tensors) == 1:
        return tensors[0]
    return _shape.stack([g.reshape(-1) for g in meshgrid(*tensors)], 1)


def combinations(input, r=2, with_replacement=False):
    """The length-``r`` combinations of the elements of a 1-d tensor, one per row, as
    Python's ``itertools.combinations`` (``combinations_with_replacement``) orders them.

    >>> import minigrad as mg
    >>> mg.combinations(mg.tensor([1, 2, 3])).tolist()
    [[1, 2], [1, 3], [2, 3]]
    """
    if input.ndim != 1:
        raise ValueError(f"combinations: expects a 1-d tensor, got shape {input.shape}")
    if not isinstance(r, numbers.Integral) or r < 0:
        raise ValueError(f"combinations: r must be a non-negative integer, got {r!r}")
    if r == 0:
        return input[:0]
    make = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    rows = list(make(range(input.shape[0]), r))
    index = np.asarray(rows, dtype=np.int64).reshape(len(rows), r)
    return input[_const(input.xp.asarray(index))]


def unravel_index(indices, shape):
    """The coordinates, one int64 tensor per dim of ``shape``, of the flat (row-major)
    ``indices``; negative indices count from the end.

    >>> import minigrad as mg
    >>> [t.tolist() for t in mg.unravel_index(mg.tensor([5, 7]), (2, 4))]
    [[1, 1], [1, 3]]
    """
    shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(int(n) for n in shape)
    if any(n < 0 for n in shape):
        raise ValueError(f"unravel_index: shape {shape} has a negative size")
    idx = indices if isinstance(indices, Tensor) else Tensor(np.asarray(indices))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"unravel_index: expected integer indices, got {idx.dtype}")
    size = math.prod(shape)
    flat = idx.data.astype(np.int64)
    if bool(((flat < -size) | (flat >= size)).any()):
        raise IndexError(f"unravel_index: an index is out of range for shape {shape} "
                         f"(size {size})")
    flat = flat % size if size else flat
    xp = idx.xp
    return tuple(Tensor(c.astype(np.int64)) for c in xp.unravel_index(flat, shape)) \
        if shape else ()


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Bool tensor shaped like ``elements``: whether each is in ``test_elements`` (either
    may be a number). ``invert`` gives the complement. No gradient.

    >>> import minigrad as mg
    >>> mg.isin(mg.tensor([1, 2, 3, 4]), mg.tensor([2, 4])).tolist()
    [False, True, False, True]
    """
    ref = elements if isinstance(elements, Tensor) else test_elements
    if not isinstance(ref, Tensor):
        raise TypeError("isin: expects at least one tensor")
    xp = ref.xp

    def array(v):
        return v.data if isinstance(v, Tensor) else xp.asarray(v)

    a, b = array(elements), array(test_elements)
    if a.dtype == np.bool_ or b.dtype == np.bool_:
        raise TypeError("isin: bool elements are not supported (as PyTorch)")
    return Tensor(xp.isin(a, b, assume_unique=assume_unique, invert=invert))


def rsub(input, other, *, alpha=1):
    """``other − alpha·input`` (subtraction with the operands reversed).

    >>> import minigrad as mg
    >>> mg.rsub(mg.tensor([1.0, 2.0]), 10).tolist()
    [9.0, 8.0]
    """
    return other - (input * alpha if alpha != 1 else input)
