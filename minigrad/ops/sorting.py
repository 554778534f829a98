"""Sorting and selection: sort, argsort, topk, kthvalue, median.

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
    holding NaN has median NaN, as in PyTorch. The gradient goes to the one element
    picked."""
    x = input
    xp = x.xp
    if dim is None:
        if x.data.size == 0:
            dt = x.dtype if _dt.is_floating(x.dtype) else _dt.get_default_dtype()
            return _make_tensor(xp.asarray(np.nan, dtype=dt), None, False)
        return median(x.reshape(-1), 0).values
    if x.ndim == 0:
        return _zero_d(x, "median", dim)
    axis = _dim(dim, x.ndim, "median")
    n = x.shape[axis]
    if n == 0:
        raise ValueError(f"median: cannot reduce over an empty dim of shape {x.shape}")
    order = _argsort(xp, x.data, axis, False)
    pos = xp.full(order.shape[:axis] + (1,) + order.shape[axis + 1:], (n - 1) // 2,
                  dtype=np.int64)
    if _dt.is_floating(x.dtype):  # bfloat16 too
        nans = xp.isnan(x.data).sum(axis=axis, keepdims=True)
        pos = xp.where(nans > 0, n - nans, pos)          # NaNs sort last: the first of them
    return _pick(x, axis, order, pos.astype(np.int64, copy=False), keepdim)
