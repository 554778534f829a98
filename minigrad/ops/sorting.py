"""Sorting, selection and searching: sort, argsort, topk, kthvalue, median, cummax,
cummin; searchsorted, bucketize, unique, nonzero, argwhere, count_nonzero (integer
results, no gradient).

Each finds indices on the raw array (a stable argsort; NaN sorts as the largest value, as
in PyTorch) and reads the values with :func:`~minigrad.ops.shape.take_along` (a gather),
so the gradient is gather's: gy scatter-added back to the positions the values came
from. No new derivative rule is needed.

Where minigrad differs from PyTorch: every sort here is stable (equal values keep their
index order, with ``descending=True`` too), so ``stable=False`` gives the same answer as
``stable=True``; PyTorch leaves the order of ties unspecified then, and in ``topk``.
``topk(sorted=False)`` returns the values sorted too.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..tensor import _make_tensor, values_indices
from .shape import _along, _dim, take_along


def _argsort(xp, x, axis, descending):
    """Stable argsort of the array ``x`` along ``axis`` (int64 indices). Descending: the
    ascending stable order of the reversed array, reversed back, keeps ties in index
    order and puts NaN first. bfloat16 is sorted as float32 (exactly): NumPy's sort of
    ml_dtypes' bfloat16 does not order NaN and leaves the array unsorted."""
    if x.dtype.kind == "V":
        x = x.astype(np.float32)
    if descending:
        n = x.shape[axis]
        return n - 1 - xp.flip(_argsort(xp, xp.flip(x, axis), axis, False), axis)
    order = xp.argsort(x, axis=axis, kind="stable") if xp is np else xp.argsort(x, axis=axis)
    return order.astype(np.int64, copy=False)


def _zero_d(x, op, dim):
    """A 0-d tensor is its own sort: (a copy, index 0)."""
    _dim(dim, 0, op)
    return values_indices(x.clone(), _make_tensor(x.xp.asarray(0), None, False))


def _selection_axis(x, dim, op):
    """The axis of a selection of one element along ``dim`` (median, mode, nanmedian):
    an empty dim has none to select."""
    axis = _dim(dim, x.ndim, op)
    if x.shape[axis] == 0:
        raise ValueError(f"{op}: cannot reduce over an empty dim of shape {x.shape}")
    return axis


def _pick(x, axis, order, pos, keepdim):
    """``(values, indices)`` of the elements at sorted positions ``pos`` (an array shaped
    like ``order`` except on ``axis``)."""
    indices = _make_tensor(x.xp.take_along_axis(order, pos, axis), None, False)
    values = take_along(x, axis, indices.data)
    if not keepdim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return values_indices(values, indices)


def sort(input, dim=-1, descending=False, stable=False):
    """``(values, indices)`` of ``input`` sorted along ``dim`` (always stable)."""
    x = input
    if x.ndim == 0:
        return _zero_d(x, "sort", dim)
    axis = _dim(dim, x.ndim, "sort")
    indices = _make_tensor(_argsort(x.xp, x.data, axis, descending), None, False)
    return values_indices(take_along(x, axis, indices.data), indices)


def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort ``input`` along ``dim`` (always stable)."""
    x = input
    if x.ndim == 0:
        return _zero_d(x, "argsort", dim).indices
    axis = _dim(dim, x.ndim, "argsort")
    return _make_tensor(_argsort(x.xp, x.data, axis, descending), None, False)


def topk(input, k, dim=None, largest=True, sorted=True):
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) elements
    along ``dim`` (default: the last), in sorted order; ties go to the lower index."""
    x = input
    dim = -1 if dim is None else dim
    n = x.shape[_dim(dim, x.ndim, "topk")] if x.ndim else 1
    if not 0 <= k <= n:
        raise ValueError(f"topk: k = {k} is out of range for a dim of size {n}")
    if x.ndim == 0:                      # k = 0 too gives the element, as in PyTorch
        return _zero_d(x, "topk", dim)
    axis = _dim(dim, x.ndim, "topk")
    order = _argsort(x.xp, x.data, axis, largest)[_along(axis, slice(0, k))]
    indices = _make_tensor(order, None, False)
    return values_indices(take_along(x, axis, indices.data), indices)


def kthvalue(input, k, dim=-1, keepdim=False):
    """``(values, indices)`` of the ``k``-th smallest element (k from 1) along ``dim``."""
    x = input
    n = x.shape[_dim(dim, x.ndim, "kthvalue")] if x.ndim else 1
    if not 1 <= k <= n:
        raise ValueError(f"kthvalue: k = {k} is out of range [1, {n}] for dim {dim}")
    if x.ndim == 0:
        return _zero_d(x, "kthvalue", dim)
    axis = _dim(dim, x.ndim, "kthvalue")
    order = _argsort(x.xp, x.data, axis, False)
    pos = x.xp.full(order.shape[:axis] + (1,) + order.shape[axis + 1:], k - 1, dtype=np.int64)
    return _pick(x, axis, order, pos, keepdim)


def median(input, dim=None, keepdim=False):
    """The lower median (the ⌊(n − 1)/2⌋-th smallest element): of all elements, a 0-d
    tensor (NaN for an empty tensor); along ``dim``, ``(values, indices)``. A slice
    holding NaN has median NaN, as in PyTorch. Along ``dim`` the gradient goes to the one
    element picked (its index); of all elements it is shared equally by the elements
    equal to the median, as PyTorch's (:class:`~minigrad.ops.reduction.MedianOfAll`)."""
    x = input
    xp = x.xp
    if x.dtype == _dt.bool:
        raise TypeError("median: bool tensors have no median (as PyTorch)")
    if dim is None:
        if x.data.size == 0:
            dt = x.dtype if _dt.is_floating(x.dtype) else _dt.get_default_dtype()
            return _make_tensor(xp.asarray(np.nan, dtype=dt), None, False)
        from .reduction import MedianOfAll

        return MedianOfAll()(x)
    if x.ndim == 0:
        return _zero_d(x, "median", dim)
    axis = _selection_axis(x, dim, "median")
    n = x.shape[axis]
    order = _argsort(xp, x.data, axis, False)
    pos = xp.full(order.shape[:axis] + (1,) + order.shape[axis + 1:], (n - 1) // 2,
                  dtype=np.int64)
    if _dt.is_floating(x.dtype):  # bfloat16 too
        nans = xp.isnan(x.data).sum(axis=axis, keepdims=True)
        pos = xp.where(nans > 0, n - nans, pos)          # NaNs sort last: the first of them
    return _pick(x, axis, order, pos.astype(np.int64, copy=False), keepdim)


def _cumulative_extremum(input, dim, name, better):
    """``(values, indices)`` of the running max (``better`` = "maximum") or min along
    ``dim``: indices[i] is the position of the last element up to i that equals
    values[i] (PyTorch's tie rule); a NaN propagates, with the index of the latest NaN."""
    x = input
    if x.ndim == 0:
        return _zero_d(x, name, dim)
    from .reduction import ufunc_accumulate

    xp = x.xp
    axis = _dim(dim, x.ndim, name)
    a = x.data.astype(np.float32) if x.dtype.kind == "V" else x.data  # bfloat16
    running = ufunc_accumulate(xp, better, a, axis)
    hit = running == a
    if a.dtype.kind == "f":
        hit |= xp.isnan(a)
    positions = xp.arange(a.shape[axis], dtype=np.int64).reshape(
        (-1,) + (1,) * (a.ndim - 1 - axis))
    indices = ufunc_accumulate(xp, "maximum", xp.where(hit, positions, 0), axis)
    indices = _make_tensor(indices, None, False)
    return values_indices(take_along(x, axis, indices.data), indices)


def cummax(input, dim):
    """``(values, indices)``: the running maximum along ``dim`` and where it was taken
    (the last of equal values; once a NaN is met, NaN and the last NaN's index). The
    gradient goes to the element each value came from.

    >>> import minigrad as mg
    >>> v, i = mg.cummax(mg.tensor([1.0, 3.0, 2.0, 3.0]), 0)
    >>> v.tolist(), i.tolist()
    ([1.0, 3.0, 3.0, 3.0], [0, 1, 1, 3])
    """
    return _cumulative_extremum(input, dim, "cummax", "maximum")


def cummin(input, dim):
    """``(values, indices)``: the running minimum along ``dim``; see :func:`cummax`."""
    return _cumulative_extremum(input, dim, "cummin", "minimum")


def _host_or_device(t, like):
    """A tensor or array-like as an array on the device of ``like`` (a Tensor)."""
    from .._backend import to_device

    if hasattr(t, "requires_grad"):
        if t.device != like.device:
            raise RuntimeError(f"searchsorted: tensors on {t.device} and {like.device}; "
                               "move one with .to()")
        return t.data
    return to_device(np.asarray(t), like.device)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None):
    """For each value of ``input``, the index where it would be inserted into
    ``sorted_sequence`` (sorted along its last dim) to keep it sorted: the first such
    place (``right=False``/``side="left"``) or the last (``right=True``/``side="right"``).
    A 1-d sequence serves every value; an N-d one is searched row by row, its leading
    dims matching ``input``'s. ``sorter`` gives the order of an unsorted sequence.

    >>> import minigrad as mg
    >>> mg.searchsorted(mg.tensor([1, 3, 5, 7]), mg.tensor([3, 6])).tolist()
    [1, 3]
    >>> mg.searchsorted(mg.tensor([1, 3, 5, 7]), mg.tensor([3, 6]), right=True).tolist()
    [2, 3]
    """
    seq = sorted_sequence
    if side is not None:
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise ValueError("searchsorted: right=True contradicts side='left'")
        right = side == "right"
    scalar = not hasattr(input, "requires_grad")
    values = _host_or_device(input, seq)
    xp = seq.xp
    a = seq.data
    if sorter is not None:
        order = _host_or_device(sorter, seq)
        if order.shape != a.shape:
            raise ValueError(f"searchsorted: sorter {order.shape} must have the sequence's "
                             f"shape {a.shape}")
        a = xp.take_along_axis(a, order.astype(np.int64), axis=-1)
    side = "right" if right else "left"
    if a.dtype == _dt.bool or values.dtype == _dt.bool:
        raise TypeError("searchsorted: bool tensors are not supported (as PyTorch)")
    if a.ndim == 0:
        raise ValueError("searchsorted: the sequence must have at least 1 dim")
    if a.ndim == 1:
        out = xp.searchsorted(a, values, side=side)
    else:
        if values.ndim != a.ndim or values.shape[:-1] != a.shape[:-1]:
            raise ValueError(f"searchsorted: an N-d sequence {a.shape} needs values with the "
                             f"same leading dims, got {values.shape}")
        rows = a.reshape(-1, a.shape[-1])
        vals = values.reshape(-1, values.shape[-1])
        out = xp.stack([xp.searchsorted(r, v, side=side) for r, v in zip(rows, vals)]) \
            .reshape(values.shape) if rows.shape[0] else xp.zeros(values.shape, np.int64)
    out = xp.asarray(out).astype(np.int32 if out_int32 else np.int64)
    return _make_tensor(out.reshape(()) if scalar and out.ndim else out, None, False)


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value of ``input`` between the sorted 1-d ``boundaries``:
    i with ``boundaries[i−1] < x ≤ boundaries[i]`` (``right=True``: ``boundaries[i−1] ≤
    x < boundaries[i]``), from 0 to ``len(boundaries)``.

    >>> import minigrad as mg
    >>> mg.bucketize(mg.tensor([0.5, 1.0, 2.5]), mg.tensor([1.0, 2.0])).tolist()
    [0, 0, 2]
    """
    if boundaries.ndim != 1:
        raise ValueError(f"bucketize: boundaries must be 1-d, got shape {boundaries.shape}")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def unique_dim(x, dim, op):
    """``dim`` of :func:`unique` and ``unique_consecutive`` as an axis, with PyTorch's
    checks: a 0-d tensor has no dim to take, and every other dim must be non-empty."""
    if x.ndim == 0:
        raise IndexError(f"{op}: dim {dim} given for a 0-d tensor, which has no dimensions")
    axis = _dim(dim, x.ndim, op)
    if any(n == 0 for i, n in enumerate(x.shape) if i != axis):
        raise ValueError(f"{op}: a dim other than dim {dim} of shape {x.shape} is empty, "
                         "so there are no slices to compare")
    return axis


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values of ``input`` in ascending order (of the flattened tensor, or
    the distinct slices along ``dim``), with, on request, the inverse indices (where each
    element went, shaped like ``input``, or one per slice of ``dim``) and the counts.
    Each NaN is a distinct value (sorted last), as in PyTorch. Not differentiable.

    Where minigrad differs: the values are always sorted (``sorted=False`` is accepted and
    gives them sorted too; PyTorch's CPU kernel does the same in practice).

    >>> import minigrad as mg
    >>> values, inverse = mg.unique(mg.tensor([3, 1, 3, 2]), return_inverse=True)
    >>> values.tolist(), inverse.tolist()
    ([1, 2, 3], [2, 0, 2, 1])
    """
    x = input
    xp = x.xp
    a = x.data
    if dim is None:                  # each NaN is a value of its own, as in PyTorch
        values, inverse, counts = xp.unique(a.reshape(-1), return_inverse=True,
                                            return_counts=True, equal_nan=False)
        inverse = inverse.reshape(a.shape)
    else:
        axis = unique_dim(x, dim, "unique")
        values, inverse, counts = xp.unique(a, return_inverse=True, return_counts=True,
                                            axis=axis)
        inverse = inverse.reshape(-1)
    out = [_make_tensor(values, None, False)]
    if return_inverse:
        out.append(_make_tensor(inverse.astype(np.int64), None, False))
    if return_counts:
        out.append(_make_tensor(counts.astype(np.int64), None, False))
    return out[0] if len(out) == 1 else tuple(out)


def nonzero(input, *, as_tuple=False):
    """The indices of the non-zero elements: an (n, ndim) int64 tensor, one row per
    element in row-major order, or with ``as_tuple=True`` one 1-d tensor per dim (a 0-d
    input counts as 1-d there, as in PyTorch).

    >>> import minigrad as mg
    >>> mg.nonzero(mg.tensor([[0, 2], [3, 0]])).tolist()
    [[0, 1], [1, 0]]
    """
    a = input.data
    xp = input.xp
    if as_tuple:
        return tuple(_make_tensor(i.astype(np.int64), None, False)
                     for i in xp.nonzero(a.reshape(1) if a.ndim == 0 else a))
    if a.ndim == 0:
        return _make_tensor(xp.zeros((int(bool(a)), 0), dtype=np.int64), None, False)
    return _make_tensor(xp.stack(xp.nonzero(a), axis=1).astype(np.int64), None, False)


def argwhere(input):
    """``nonzero(input)``: the (n, ndim) indices of the non-zero elements."""
    return nonzero(input)


def count_nonzero(input, dim=None):
    """How many elements are non-zero, in all or along ``dim`` (an int or a tuple)."""
    from .reduction import normalize_dims

    a = input.data
    axes = None if dim is None else normalize_dims(dim, input.ndim, "count_nonzero")
    count = input.xp.count_nonzero(a, axis=axes)
    return _make_tensor(input.xp.asarray(count, dtype=np.int64), None, False)
