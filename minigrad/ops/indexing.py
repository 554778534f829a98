r"""PyTorch's indexing, scattering and splitting functions, built from the primitive
indexing ops of :mod:`.shape` (getitem and its scatter-add gradient ``IndexAdd``,
scatter, scatter_add, split) and :mod:`.elementwise` (where): select, select_scatter,
slice_scatter, diagonal_scatter, take, put, index_put, masked_scatter, scatter_reduce,
index_reduce, tensor_split, hsplit/vsplit/dsplit, split_with_sizes, unfold,
narrow_copy, diagflat.

Most are compositions, so their gradient (and the gradient of that gradient) is the one
of the primitives they are made of. Two have a derivative rule of their own, each in its
docstring: :class:`ScatterReduce` (PyTorch's rules for prod, mean, amax and amin) and
:class:`Unfold` (a strided view of the sliding windows, whose VJP adds each window's
gradient back where it was read).

Views: select, tensor_split and its relatives, split_with_sizes and unfold return views
of the input's data, as in PyTorch (a write through ``__setitem__`` shows in the input);
narrow_copy, take and the ``*_scatter``/``put`` functions return new tensors.
"""
from __future__ import annotations

import numbers

import numpy as np

from .._backend import scatter_add as _scatter_add
from ..amp.autocast_mode import is_half
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor
from . import shape as _shape
from .elementwise import _check_bool_condition
from .elementwise import const as _const
from .elementwise import where as _where
from .linalg import _diagonal_positions, _two_dims, diag_embed
from .manipulation import _along_index, _index_data
from .shape import IndexAdd, _along, _dim, _scatter_operands

__all__ = [
    "select", "select_scatter", "slice_scatter", "diagonal_scatter", "take", "put",
    "index_put", "masked_scatter", "scatter_reduce", "index_reduce", "tensor_split",
    "hsplit", "vsplit", "dsplit", "split_with_sizes", "unfold", "narrow_copy", "diagflat",
]


def _int(value, op, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{op}: {what} must be an int, got {type(value).__name__}")
    return int(value)


def _integer_index(index, x, op, what="index"):
    """``index`` (a tensor on x's device or an array-like) as an integer array there; a
    float or bool index is a TypeError."""
    index = _index_data(index, x)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: {what} must be an integer tensor, got {index.dtype}")
    return index


# --------------------------------------------------------------------------- select / *_scatter


def select(input, dim, index):
    """The slice ``index`` of ``dim``, that dim removed: ``x[:, index]`` for dim 1 (a view).

    >>> import minigrad as mg
    >>> mg.select(mg.tensor([[1, 2, 3], [4, 5, 6]]), 1, -1).tolist()
    [3, 6]
    """
    x = input
    if x.ndim == 0:
        raise IndexError("select: cannot be applied to a 0-d tensor")
    dim = _dim(dim, x.ndim, "select")
    index = _int(index, "select", "index")
    n = x.shape[dim]
    if not -n <= index < n:
        raise IndexError(f"select: index {index} out of range for a tensor of shape "
                         f"{x.shape} at dim {dim}")
    return x[_along(dim, index % n)]


def _embed(op, x, index, src, expected):
    """A copy of ``x`` with ``src`` written at the basic index ``index`` (whose slice of
    x has shape ``expected``). Gradients: x gets gy with zeros there, src the gy there."""
    if not isinstance(src, Tensor):
        raise TypeError(f"{op}: src must be a tensor, got {type(src).__name__}")
    if tuple(src.shape) != tuple(expected):
        raise ValueError(f"{op}: src must have the shape {tuple(expected)} of the slice it "
                         f"replaces, got {src.shape}")
    if src.dtype != x.dtype:  # PyTorch copies src into a tensor of x's dtype
        src = src.to(dtype=x.dtype)
    written = x.xp.zeros(x.shape, dtype=bool)
    written[index] = True
    return _where(written, IndexAdd(index, x.shape)(src), x)


def select_scatter(input, src, dim, index):
    """A copy of ``input`` with the slice :func:`select` (dim, index) replaced by ``src``.

    >>> import minigrad as mg
    >>> mg.select_scatter(mg.zeros(2, 2), mg.ones(2), 0, 0).tolist()
    [[1.0, 1.0], [0.0, 0.0]]
    """
    view = select(input, dim, index)  # PyTorch's checks of dim and index
    dim = _dim(dim, input.ndim, "select_scatter")
    return _embed("select_scatter", input, _along(dim, index % input.shape[dim]), src,
                  view.shape)


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """A copy of ``input`` with the slice ``start:end:step`` of ``dim`` replaced by ``src``
    (Python's slice rules: negative bounds count from the end, large ones are clipped).

    >>> import minigrad as mg
    >>> mg.slice_scatter(mg.zeros(5), mg.ones(2), start=1, step=2).tolist()
    [0.0, 1.0, 0.0, 1.0, 0.0]
    """
    x = input
    dim = _dim(dim, x.ndim, "slice_scatter")
    step = _int(step, "slice_scatter", "step")
    if step <= 0:
        raise ValueError(f"slice_scatter: step must be positive, got {step}")
    index = _along(dim, slice(start, end, step)) if x.ndim else ()
    return _embed("slice_scatter", x, index, src, x.data[index].shape)


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """A copy of ``input`` with the diagonal ``offset`` of its (dim1, dim2) planes replaced
    by ``src``, laid out as :meth:`Tensor.diagonal` returns it (the diagonal as the last
    dim).

    >>> import minigrad as mg
    >>> mg.diagonal_scatter(mg.zeros(2, 3), mg.tensor([1.0, 2.0]), 1).tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]]
    """
    x = input
    if x.ndim < 2:
        raise ValueError(f"diagonal_scatter: input must have at least 2 dims, got shape "
                         f"{x.shape}")
    d1, d2 = _two_dims("diagonal_scatter", dim1, dim2, x.ndim)
    rows, cols = _diagonal_positions(x.shape[d1], x.shape[d2], offset)
    xp = x.xp
    # the index of the diagonal in the planes moved last: (..., rows, cols)
    order = [d for d in range(x.ndim) if d not in (d1, d2)] + [d1, d2]
    moved = x.permute(*order)
    index = (Ellipsis, xp.asarray(rows), xp.asarray(cols))
    expected = moved.shape[:-2] + (len(rows),)
    if not isinstance(src, Tensor):
        raise TypeError(f"diagonal_scatter: src must be a tensor, got {type(src).__name__}")
    if tuple(src.shape) != expected:
        raise ValueError(f"diagonal_scatter: src must have the shape {expected} of the "
                         f"diagonal it replaces, got {src.shape}")
    out = _embed("diagonal_scatter", moved, index, src, expected)
    inverse = [order.index(d) for d in range(x.ndim)]
    return out.permute(*inverse)


# --------------------------------------------------------------------------- take / put


def _flat_range_check(index, n, op):
    if index.size and not (-n <= int(index.min()) and int(index.max()) < n):
        bad = int(index.max()) if int(index.max()) >= n else int(index.min())
        raise IndexError(f"{op}: index {bad} is out of range for a tensor of {n} elements")


def take(input, index):
    """``input`` read as a flat 1-d tensor at ``index`` (negative entries count from the
    end); the result has the shape of ``index``.

    >>> import minigrad as mg
    >>> mg.take(mg.tensor([[1, 2], [3, 4]]), mg.tensor([[0, -1]])).tolist()
    [[1, 4]]
    """
    x = input
    index = _integer_index(index, x, "take")
    _flat_range_check(index, x.numel(), "take")
    flat = x.reshape(-1)
    if index.ndim == 0:  # a 1-element gather rather than a basic index, which is a view
        return flat[index.reshape(1)].reshape(())
    return flat[index]


def index_put(input, indices, values, accumulate=False):
    """A copy of ``input`` with ``x[indices] = values`` (``indices`` a tuple of integer or
    boolean tensors, as in ``x[i, j]``; ``values`` broadcast to the indexed shape), or
    ``x[indices] += values`` with ``accumulate`` (repeated positions add up).

    Gradients: ``input`` gets gy (with zeros at the written positions unless
    ``accumulate``), ``values`` the gy of the positions it was written to.

    Where minigrad differs: without ``accumulate``, where ``indices`` name one position
    several times the last value (in index order) lands there, and it alone gets the
    gradient (PyTorch leaves the value undefined and sends the gradient to each), as in
    :func:`minigrad.ops.shape.scatter`.

    >>> import minigrad as mg
    >>> x = mg.zeros(2, 3)
    >>> mg.index_put(x, (mg.tensor([0, 1]), mg.tensor([2, 0])), mg.tensor(5.0)).tolist()
    [[0.0, 0.0, 5.0], [5.0, 0.0, 0.0]]
    >>> mg.index_put(mg.zeros(3), (mg.tensor([1, 1]),), mg.tensor([1.0, 2.0]),
    ...              accumulate=True).tolist()
    [0.0, 3.0, 0.0]
    """
    x = input
    if isinstance(indices, Tensor) or not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put: indices must be a tuple of tensors, got "
                        f"{type(indices).__name__}")
    if not isinstance(values, Tensor):
        raise TypeError(f"index_put: values must be a tensor, got {type(values).__name__}")
    if values.dtype != x.dtype:
        raise TypeError(f"index_put: values have dtype {values.dtype}, the input "
                        f"{x.dtype}; they must be equal, as in PyTorch")
    arrays = []
    for i in indices:
        a = _index_data(i, x)
        if a.dtype.kind not in "iub":
            raise TypeError(f"index_put: indices must be integer or bool tensors, got "
                            f"{a.dtype}")
        arrays.append(a)
    xp = x.xp
    try:  # the flat position of every indexed element (NumPy's indexing rules and checks)
        positions = xp.arange(x.numel()).reshape(x.shape)[tuple(arrays)]
    except IndexError as e:
        raise IndexError(f"index_put: {e} (input of shape {x.shape})") from None
    if not _shape.broadcasts_to(values.shape, positions.shape):
        raise ValueError(f"index_put: values of shape {values.shape} cannot be broadcast to "
                         f"the indexed shape {positions.shape}")
    flat, v = x.reshape(-1), values.broadcast_to(positions.shape).reshape(-1)
    positions = positions.reshape(-1)
    if accumulate:
        return _shape.scatter_add(flat, 0, positions, v).reshape(x.shape)
    return _shape.scatter(flat, 0, positions, v).reshape(x.shape)


def put(input, index, source, accumulate=False):
    """A copy of ``input`` with ``source`` written at the flat positions ``index``
    (negative entries count from the end; as many as ``source`` has elements), or added
    there with ``accumulate``: :func:`index_put` on the flattened input (so, without
    ``accumulate``, the last of repeated positions lands and gets the gradient).

    >>> import minigrad as mg
    >>> mg.put(mg.zeros(2, 2), mg.tensor([0, -1]), mg.tensor([1.0, 2.0])).tolist()
    [[1.0, 0.0], [0.0, 2.0]]
    """
    x = input
    index = _integer_index(index, x, "put")
    if not isinstance(source, Tensor):
        raise TypeError(f"put: source must be a tensor, got {type(source).__name__}")
    if source.numel() != index.size:
        raise ValueError(f"put: source and index must have the same number of elements, "
                         f"got {source.numel()} and {index.size}")
    _flat_range_check(index, x.numel(), "put")
    flat = index_put(x.reshape(-1), (index.reshape(-1),), source.reshape(-1), accumulate)
    return flat.reshape(x.shape)


def masked_scatter(input, mask, source):
    """A copy of ``input`` (broadcast with ``mask``) whose entries where ``mask`` is true
    are, in row-major order, the first elements of ``source`` (read flat; it must have at
    least as many elements as ``mask`` has true entries).

    Gradients: ``input`` gets gy where mask is false, ``source`` the gy where each of its
    elements landed (zero for the elements not used).

    >>> import minigrad as mg
    >>> mask = mg.tensor([[True, False], [False, True]])
    >>> mg.masked_scatter(mg.zeros(2, 2), mask, mg.tensor([7.0, 8.0, 9.0])).tolist()
    [[7.0, 0.0], [0.0, 8.0]]
    """
    x = input
    m = _index_data(mask, x)
    _check_bool_condition("masked_scatter", "mask", m)
    if not isinstance(source, Tensor):
        raise TypeError(f"masked_scatter: source must be a tensor, got "
                        f"{type(source).__name__}")
    if source.dtype != x.dtype:
        raise TypeError(f"masked_scatter: source has dtype {source.dtype}, the input "
                        f"{x.dtype}; they must be equal, as in PyTorch")
    try:
        shape = tuple(np.broadcast_shapes(x.shape, m.shape))
    except ValueError:
        raise ValueError(f"masked_scatter: mask {m.shape} does not broadcast with the input "
                         f"{x.shape}") from None
    xp = x.xp
    positions = xp.flatnonzero(xp.broadcast_to(m, shape))
    k = int(positions.size)
    if source.numel() < k:
        raise ValueError(f"masked_scatter: source has {source.numel()} elements, fewer "
                         f"than the {k} true entries of mask")
    flat = x.broadcast_to(shape).reshape(-1)
    return _shape.scatter(flat, 0, positions, source.reshape(-1)[:k]).reshape(shape)


# --------------------------------------------------------------------------- scatter_reduce

_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def _segment_reduce(xp, out, targets, values, ufunc):
    """``out[t] = ufunc(out[t], v)`` for every pair (t, v) of ``targets``, ``values`` in
    order, repeated targets included, on flat arrays. The pairs are sorted by target and
    applied in rounds, the r-th value of every target in round r (no target twice in a
    round, so a plain fancy-index assignment is exact): as many rounds as the largest
    number of values for one target. Written against ``xp`` for NumPy and CuPy alike
    (CuPy has no ``multiply.at``)."""
    n = targets.size
    if n == 0:
        return out
    order = xp.lexsort(xp.stack([xp.arange(n), targets]))   # by target, then position
    t, v = targets[order], values[order]
    start = xp.concatenate([xp.ones(1, dtype=bool), t[1:] != t[:-1]])
    group = xp.cumsum(start) - 1
    rank = xp.arange(n) - xp.flatnonzero(start)[group]       # r: the r-th value for t
    for r in range(int(rank.max()) + 1):
        sel = rank == r
        out[t[sel]] = ufunc(out[t[sel]], v[sel])
    return out


def _identity(reduce, dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "f" or is_half(dtype):
        return -np.inf if reduce == "amax" else np.inf
    info = np.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


class ScatterReduce(Function):
    r"""y = input with, at every position t, the ``reduce`` ("sum", "prod", "mean", "amax",
    "amin") of the src elements j scattered there (t(j) = ``targets[j]``, flat positions),
    and of input[t] itself when ``include_self``; positions no src element reaches keep
    input. Integer "mean" rounds down, as PyTorch.

    VJP (PyTorch's ``scatter_reduce_backward``), with G = gy and N the number of reduced
    values at a position (the src elements there, plus 1 with ``include_self``):

    - sum:  gx = G, gsrcⱼ = G_t(j);
    - mean: gx = G/N, gsrcⱼ = G_t(j)/N_t(j);
    - amax, amin: the gradient is shared evenly between the values equal to the result,
      gx = [x = y]·G/K, gsrcⱼ = [srcⱼ = y_t(j)]·G_t(j)/K_t(j), K the number of them
      (PyTorch counts input[t] in K even without ``include_self``; so does this rule);
    - prod: gx = G·Π_{j→t} srcⱼ; gsrcⱼ = G_t(j)·y_t(j)/srcⱼ where srcⱼ ≠ 0, and where
      srcⱼ is the only zero of its position, G_t(j) times the product with srcⱼ replaced
      by 1 (a second ScatterReduce). A second derivative where two or more zeros of src
      meet at one position is refused, as in PyTorch.

    Without ``include_self`` gx is also zero where src elements land. Every backward is
    made of this Function, gathers and where, so it is differentiable again."""

    save_output = True

    def __init__(self, targets, reduce, include_self):
        self.targets, self.reduce, self.include_self = targets, reduce, include_self

    def forward(self, xp, x, src):
        dtype = x.dtype
        work = np.float32 if is_half(dtype) else dtype   # half accumulates in float32
        y = x.astype(work).reshape(-1)                     # a copy, reduced in place
        v, t = src.astype(work).reshape(-1), self.targets
        if not self.include_self:
            y[t] = _identity(self.reduce, y.dtype)
        if self.reduce in ("sum", "mean"):
            _scatter_add(y, t, v)
            if self.reduce == "mean":
                count = self._count(xp, y.size, y.dtype)
                y = y / count if y.dtype.kind == "f" else y // count.astype(y.dtype)
        else:
            ufunc = {"prod": xp.multiply, "amax": xp.maximum, "amin": xp.minimum}
            _segment_reduce(xp, y, t, v, ufunc[self.reduce])
        return y.astype(dtype).reshape(x.shape)

    def _count(self, xp, size, dtype):
        """N: the number of values reduced at each flat position, 1 where none."""
        count = xp.full(size, 1 if self.include_self else 0, dtype=np.float64)
        _scatter_add(count, self.targets, xp.ones(self.targets.size))
        return xp.where(count == 0, 1, count).astype(dtype)

    def backward(self, gy):
        x, src = self.inputs
        xp, t = gy.xp, self.targets

        def gather(g):  # g's value at each src element's target, in src's shape
            return g.reshape(-1)[t].reshape(src.shape)

        gx = gsrc = None
        if self.reduce == "sum":
            gx, gsrc = gy, gather(gy)
        elif self.reduce == "mean":
            g = gy / _const(self._count(xp, gy.numel(), gy.dtype).reshape(gy.shape))
            gx, gsrc = g, gather(g)
        elif self.reduce in ("amax", "amin"):
            gx, gsrc = self._extremum_grads(xp, x, src, gy, gather)
        else:
            gx, gsrc = self._prod_grads(xp, x, src, gy, gather)
        if not self.include_self and gx is not None:   # None: prod without x's grad
            scattered = xp.zeros(x.numel(), dtype=bool)
            scattered[t] = True
            gx = _where(scattered.reshape(x.shape), 0.0, gx)
        return (gx if self.needs_input_grad[0] else None,
                gsrc if self.needs_input_grad[1] else None)

    def _extremum_grads(self, xp, x, src, gy, gather):
        y = self._output_array
        t = self.targets
        self_is = x.data == y
        src_is = src.data.reshape(-1) == y.reshape(-1)[t]
        K = self_is.astype(np.float64).reshape(-1)
        _scatter_add(K, t, src_is.astype(np.float64))
        K = xp.where(K == 0, 1, K).astype(gy.dtype).reshape(gy.shape)   # 0: nan results
        g = gy / _const(K)
        return (_where(self_is, g, 0.0),
                _where(src_is.reshape(src.shape), gather(g), 0.0))

    def _prod_grads(self, xp, x, src, gy, gather):
        t = self.targets
        gx = None
        if self.needs_input_grad[0]:  # G times the product of the src elements there
            ones = _const(xp.ones(x.shape, dtype=x.dtype))
            gx = gy * ScatterReduce(t, "prod", False)(ones, src)
        if not self.needs_input_grad[1]:
            return gx, None
        zero = src.data.reshape(-1) == 0
        zeros_at = xp.zeros(x.numel())
        _scatter_add(zeros_at, t, zero.astype(np.float64))
        zeros_at = zeros_at[t]                       # the number of zeros at each target
        if is_grad_enabled() and bool((zeros_at > 1).any()):
            raise RuntimeError("scatter_reduce: the second derivative of reduce='prod' is "
                               "not supported where two or more zeros of src are scattered "
                               "to one position (as in PyTorch)")
        single = (zero & (zeros_at == 1)).reshape(src.shape)
        y = self.saved_output
        gsrc = gather(gy * y) / _where(zero.reshape(src.shape), 1.0, src)
        if single.any():  # the product with the one zero replaced by 1
            others = ScatterReduce(t, "prod", self.include_self)(x, _where(single, 1.0, src))
            gsrc = _where(single, gather(gy * others), gsrc)
        return gx, gsrc


def _check_reduce(op, reduce, allowed):
    if reduce not in allowed:
        names = ", ".join(repr(r) for r in allowed)
        raise ValueError(f"{op}: reduce must be one of {names}, got {reduce!r}")


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    r"""A copy of ``input`` where each element of ``src`` is reduced into the position
    ``index`` names along ``dim`` (``out[i][index[i][j]] ⊕= src[i][j]`` for dim 1):
    ``reduce`` is "sum", "prod", "mean", "amax" or "amin"; with ``include_self=False``
    the values of ``input`` at the positions that receive src elements are left out of
    the reduction (positions that receive none keep them). Gradients: PyTorch's rules
    (:class:`ScatterReduce`).

    >>> import minigrad as mg
    >>> x = mg.tensor([1.0, 2.0, 3.0])
    >>> src, index = mg.tensor([5.0, 4.0, 6.0]), mg.tensor([0, 0, 2])
    >>> x.scatter_reduce(0, index, src, "amax").tolist()
    [5.0, 2.0, 6.0]
    >>> x.scatter_reduce(0, index, src, "mean", include_self=False).tolist()
    [4.5, 2.0, 6.0]
    """
    _check_reduce("scatter_reduce", reduce, _REDUCES)
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_reduce: src must be a tensor, got {type(src).__name__}")
    x = input
    if x.ndim == 0:
        idx = index.reshape(1) if isinstance(index, Tensor) else x.xp.reshape(index, 1)
        return scatter_reduce(x.reshape(1), dim, idx, src.reshape(1), reduce,
                              include_self=include_self).reshape(())
    dim, grid, src = _scatter_operands(x, dim, index, src, "scatter_reduce")
    xp = x.xp
    strides = [int(np.prod(x.shape[d + 1:], dtype=np.int64)) for d in range(x.ndim)]
    targets = sum(g * s for g, s in zip(grid, strides))
    targets = xp.broadcast_to(targets, grid[dim].shape).reshape(-1)
    return ScatterReduce(targets, reduce, include_self)(x, src)


def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    r"""A copy of ``input`` with each slice ``source[..., i, ...]`` (along ``dim``)
    reduced into the slice ``index[i]``: ``reduce`` is "prod", "mean", "amax" or "amin"
    (PyTorch's, which has no "sum": that is :func:`minigrad.index_add`); with
    ``include_self=False`` the input's values at the indexed slices are left out. It is
    :func:`scatter_reduce` with ``index`` expanded along ``source``, and has its
    gradients.

    >>> import minigrad as mg
    >>> x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> x.index_reduce(0, mg.tensor([1, 1]), mg.tensor([[2.0, 1.0], [5.0, 0.5]]),
    ...                "amax").tolist()
    [[1.0, 2.0], [5.0, 4.0]]
    """
    _check_reduce("index_reduce", reduce, ("prod", "mean", "amax", "amin"))
    if not isinstance(source, Tensor):
        raise TypeError(f"index_reduce: source must be a tensor, got {type(source).__name__}")
    x = input
    if x.ndim == 0:
        return index_reduce(x.reshape(1), dim, index, source.reshape(-1), reduce,
                            include_self=include_self).reshape(())
    dim = _dim(dim, x.ndim, "index_reduce")
    idx = _along_index(x, dim, index, source.shape, "index_reduce")
    return scatter_reduce(x, dim, idx, source, reduce, include_self=include_self)


# --------------------------------------------------------------------------- splitting


def _sections(indices_or_sections, op):
    """An int (a number of sections) or a list of ints (split points), from an int, a
    sequence, or a 0-d / 1-d integer tensor."""
    s = indices_or_sections
    if isinstance(s, Tensor) or hasattr(s, "dtype"):
        data = s.data if isinstance(s, Tensor) else s
        data = data.get() if hasattr(data, "get") else np.asarray(data)
        if data.dtype.kind not in "iu" or data.ndim > 1:
            raise TypeError(f"{op}: indices_or_sections must be an int, a sequence of ints "
                            f"or a 0-d/1-d integer tensor, got {data.dtype} of shape "
                            f"{data.shape}")
        return int(data) if data.ndim == 0 else [int(i) for i in data]
    if isinstance(s, numbers.Integral) and not isinstance(s, bool):
        return int(s)
    return [_int(i, op, "each split index") for i in s]


def tensor_split(input, indices_or_sections, dim=0):
    """Views of ``input`` split along ``dim``: into n pieces for an int n (the first
    size % n pieces one longer, as NumPy's array_split), or at the given indices
    (``x[:i0], x[i0:i1], ..., x[ik:]``, Python's slice rules).

    >>> import minigrad as mg
    >>> [t.tolist() for t in mg.tensor_split(mg.arange(7), 3)]
    [[0, 1, 2], [3, 4], [5, 6]]
    >>> [t.tolist() for t in mg.tensor_split(mg.arange(7), [1, 5])]
    [[0], [1, 2, 3, 4], [5, 6]]
    """
    x = input
    if x.ndim == 0:
        raise ValueError("tensor_split: expects a tensor with at least 1 dim, got a 0-d "
                         "tensor")
    dim = _dim(dim, x.ndim, "tensor_split")
    s = _sections(indices_or_sections, "tensor_split")
    if isinstance(s, int):
        if s <= 0:
            raise ValueError(f"tensor_split: the number of sections must be positive, got {s}")
        q, r = divmod(x.shape[dim], s)
        bounds = [i * q + min(i, r) for i in range(s + 1)]
    else:
        bounds = [0] + s + [None]
    return tuple(x[_along(dim, slice(a, b))] for a, b in zip(bounds[:-1], bounds[1:]))


def _split_along(op, x, indices_or_sections, dim, min_ndim):
    if x.ndim < min_ndim:
        raise ValueError(f"{op}: expects a tensor with at least {min_ndim} dims, got shape "
                         f"{x.shape}")
    s = _sections(indices_or_sections, op)
    if isinstance(s, int) and (s <= 0 or x.shape[dim] % s):
        raise ValueError(f"{op}: cannot split dim {dim} of size {x.shape[dim]} into {s} "
                         "equal sections")
    return tensor_split(x, s, dim)


def hsplit(input, indices_or_sections):
    """:func:`tensor_split` along dim 1 (dim 0 of a 1-d tensor); an int must divide the
    size evenly.

    >>> import minigrad as mg
    >>> [t.shape for t in mg.hsplit(mg.zeros(2, 4), 2)]
    [(2, 2), (2, 2)]
    """
    return _split_along("hsplit", input, indices_or_sections, 0 if input.ndim == 1 else 1, 1)


def vsplit(input, indices_or_sections):
    """:func:`tensor_split` along dim 0 of a tensor with at least 2 dims; an int must
    divide the size evenly."""
    return _split_along("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input, indices_or_sections):
    """:func:`tensor_split` along dim 2 of a tensor with at least 3 dims; an int must
    divide the size evenly."""
    return _split_along("dsplit", input, indices_or_sections, 2, 3)


def split_with_sizes(input, split_sizes, dim=0):
    """Views of ``input`` along ``dim`` with the given sizes (non-negative, adding up to
    the size of ``dim``).

    >>> import minigrad as mg
    >>> [t.tolist() for t in mg.split_with_sizes(mg.arange(5), [2, 3])]
    [[0, 1], [2, 3, 4]]
    """
    x = input
    if x.ndim == 0:
        raise ValueError("split_with_sizes: expects a tensor with at least 1 dim, got a 0-d "
                         "tensor")
    dim = _dim(dim, x.ndim, "split_with_sizes")
    sizes = [_int(s, "split_with_sizes", "each split size") for s in split_sizes]
    if any(s < 0 for s in sizes):
        raise ValueError(f"split_with_sizes: split_sizes must be non-negative, got {sizes}")
    n = x.shape[dim]
    if sum(sizes) != n:
        raise ValueError(f"split_with_sizes: split_sizes {sizes} must add up to {n}, the "
                         f"size of dim {dim}")
    return _shape.split(x, sizes, dim)


# --------------------------------------------------------------------------- windows


class Unfold(Function):
    r"""y = the sliding windows of x along ``dim``: y[..., w, ..., k] = x[..., w·step + k,
    ...], the window w in place of ``dim`` and its ``size`` elements as a new last dim; a
    strided view of x's data, as in PyTorch.
    VJP: gx = zeros with each gy[..., w, ..., k] added at x[..., w·step + k, ...]
    (overlapping windows accumulate): :class:`~minigrad.ops.shape.IndexAdd` at the
    integer index that reads the windows, whose own VJP is that read (a gather)."""
    reads_inputs = False  # its backward needs no input's values

    def __init__(self, dim, size, step):
        self.dim, self.size, self.step = dim, size, step

    def forward(self, xp, x):
        self.x_shape = x.shape
        d, n = self.dim, x.shape[self.dim]
        windows = (n - self.size) // self.step + 1
        shape = x.shape[:d] + (windows,) + x.shape[d + 1:] + (self.size,)
        strides = (x.strides[:d] + (x.strides[d] * self.step,) + x.strides[d + 1:]
                   + (x.strides[d],))
        return xp.lib.stride_tricks.as_strided(x, shape, strides)

    def backward(self, gy):
        xp, d, ndim = gy.xp, self.dim, len(self.x_shape)

        def along(values, axis):  # values placed on ``axis`` of an (ndim + 1)-d index
            return values.reshape((1,) * axis + (-1,) + (1,) * (ndim - axis))

        index = [along(xp.arange(n), a) for a, n in enumerate(self.x_shape)]
        index[d] = (along(xp.arange(gy.shape[d]) * self.step, d)
                    + along(xp.arange(self.size), ndim))
        return IndexAdd(tuple(index), self.x_shape)(gy)


def unfold(input, dimension, size, step):
    """``Tensor.unfold``: the windows of ``size`` elements of dim ``dimension``, ``step``
    apart, as a view with the window index in place of that dim and the window's
    elements as a new last dim (a 0-d tensor counts as one element).

    >>> import minigrad as mg
    >>> mg.arange(5).unfold(0, 2, 2).tolist()
    [[0, 1], [2, 3]]
    """
    x = input
    if x.ndim == 0:
        return unfold(x.reshape(1), dimension, size, step).reshape(-1)
    dim = _dim(dimension, x.ndim, "unfold")
    size, step = _int(size, "unfold", "size"), _int(step, "unfold", "step")
    n = x.shape[dim]
    if not 0 <= size <= n:
        raise ValueError(f"unfold: size {size} must be in [0, {n}], the size of dim {dim} "
                         f"(shape {x.shape})")
    if step <= 0:
        raise ValueError(f"unfold: step must be positive, got {step}")
    return Unfold(dim, size, step)(x)


def narrow_copy(input, dim, start, length):
    """:meth:`Tensor.narrow` as a new tensor (a copy, not a view)."""
    return _shape.narrow(input, dim, start, length).clone()


def diagflat(input, offset=0):
    """The square matrix with the flattened ``input`` on its diagonal ``offset`` (> 0 above
    the main one).

    >>> import minigrad as mg
    >>> mg.diagflat(mg.tensor([[1, 2]]), 1).tolist()
    [[0, 1, 0], [0, 0, 2], [0, 0, 0]]
    """
    return diag_embed(input.reshape(-1), _int(offset, "diagflat", "offset"), 0, 1)
