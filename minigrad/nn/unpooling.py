r"""Max unpooling: ``max_unpool1d/2d/3d`` and ``MaxUnpool1d/2d/3d`` (PyTorch's names and
arguments), the partial inverse of max pooling.

Given the pooled values x and the flat indices that ``max_pool*(..., return_indices=True)``
returned (each maximum's position in its input plane, row-major: l, h·W + w, or
t·H·W + h·W + w), unpooling writes every value back at its index in a zero plane of the
output size and leaves the rest zero:

.. math::  y[n, c, :] = 0, \qquad y[n, c, \text{idx}[n, c, p]] = x[n, c, p]

The output size per dim is (n_in − 1)·s − 2p + k, or ``output_size`` when given (within
the stride of that, as PyTorch checks). Gradient (PyTorch's): gx = gy read at the
indices, a gather, whose own VJP is the scatter-add of its cotangent, so every derivative
order exists.

Where indices repeat in a plane (max pooling with overlapping windows reports one
maximum twice), the value written there is one of the repeated ones (the last here; they
are equal when the indices come from max pooling) and, as in PyTorch, each of them gets
that position's gradient.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ..ops.shape import _index_grid, take_along
from ..tensor import Tensor
from .conv import _pair, _single, _triple
from .module import Module

__all__ = ["max_unpool1d", "max_unpool2d", "max_unpool3d", "MaxUnpool1d", "MaxUnpool2d",
           "MaxUnpool3d"]


class MaxUnpoolFunction(Function):
    """y (..., P_out) zero but y[..., idx[..., p]] = x[..., p] (the last plane dim flat).
    VJP: gx = gy gathered at idx (its VJP, the scatter-add of the cotangent, is
    :func:`~minigrad.ops.shape.take_along`'s)."""

    def __init__(self, index, plane):
        self.index, self.plane = index, plane  # int64 array like x; P_out

    def forward(self, xp, x):
        y = xp.zeros(x.shape[:-1] + (self.plane,), dtype=x.dtype)
        y[_index_grid(xp, self.index, x.ndim - 1)] = x
        return y

    def backward(self, gy):
        return take_along(gy, gy.ndim - 1, self.index)


def _unpool_output_size(op, input, kernel, stride, padding, output_size):
    """(n_in − 1)·s − 2p + k per dim, or ``output_size`` (its last n entries when it has
    n + 2), which must lie strictly within one stride of that (PyTorch's rule)."""
    n = len(kernel)
    default = tuple((m - 1) * s - 2 * p + k for m, k, s, p in
                    zip(input.shape[-n:], kernel, stride, padding))
    if output_size is None:
        size = default
    else:
        size = tuple(int(m) for m in output_size)
        if len(size) == n + 2:
            size = size[2:]
        if len(size) != n:
            raise ValueError(f"{op}: output_size should have {n} or {n + 2} elements, got "
                             f"{tuple(output_size)}")
        for d, (m, m0, s) in enumerate(zip(size, default, stride)):
            if not m0 - s < m < m0 + s:
                raise ValueError(f"{op}: invalid output_size {size} (dim {d} must be between "
                                 f"{m0 - s} and {m0 + s}, exclusive)")
    if min(size) < 0:
        raise ValueError(f"{op}: the output size {size} is negative")
    return size


def _max_unpool(op, n, tup, input, indices, kernel_size, stride, padding, output_size):
    if not isinstance(input, Tensor) or not isinstance(indices, Tensor):
        raise TypeError(f"{op}: expected Tensors for input and indices, got "
                        f"{type(input).__name__} and {type(indices).__name__}")
    if input.ndim not in (n + 1, n + 2):
        raise ValueError(f"{op}: expected {n + 1}-D (unbatched) or {n + 2}-D input, got shape "
                         f"{input.shape}")
    if indices.shape != input.shape or indices.dtype.kind not in "iu":
        raise ValueError(f"{op}: indices must be an integer tensor of the input's shape "
                         f"{input.shape}, got {indices.dtype} of shape {indices.shape}")
    kernel = tup(kernel_size, "kernel_size")
    stride = kernel if stride is None else tup(stride, "stride")
    padding = tup(padding, "padding")
    size = _unpool_output_size(op, input, kernel, stride, padding, output_size)
    plane = math.prod(size)
    lead = input.shape[:-n]
    index = indices.data.reshape(lead + (-1,)).astype(np.int64, copy=False)
    if index.size and not (0 <= int(index.min()) and int(index.max()) < plane):
        bad = int(index.min()) if int(index.min()) < 0 else int(index.max())
        raise ValueError(f"{op}: found an invalid max index {bad}: the output planes {size} "
                         f"have {plane} elements")
    x = input.reshape(*lead, math.prod(input.shape[-n:]))
    return MaxUnpoolFunction(index, plane)(x).reshape(*lead, *size)


def _one(op):
    one = _single(op)
    return lambda v, what="each size": (one(v, what),)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of :func:`~minigrad.nn.functional.max_pool1d` (PyTorch's
    ``F.max_unpool1d``): (N, C, L_in) or (C, L_in) values written at their ``indices`` in
    zero rows of length (L_in − 1)·s − 2p + k (or ``output_size``).

    >>> import minigrad as mg
    >>> max_unpool1d(mg.tensor([[5.0, 7.0]]), mg.tensor([[1, 2]]), 2).tolist()
    [[0.0, 5.0, 7.0, 0.0]]
    """
    op = "max_unpool1d"
    return _max_unpool(op, 1, _one(op), input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of :func:`~minigrad.nn.functional.max_pool2d` (PyTorch's
    ``F.max_unpool2d``): (N, C, H_in, W_in) or (C, H_in, W_in) values written at their flat
    ``indices`` h·W + w in zero planes of size (n_in − 1)·s − 2p + k per dim (or
    ``output_size``)."""
    return _max_unpool("max_unpool2d", 2, _pair, input, indices, kernel_size, stride,
                       padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of :func:`~minigrad.nn.functional.max_pool3d` (PyTorch's
    ``F.max_unpool3d``): values written at their flat ``indices`` t·H·W + h·W + w in
    zero volumes of size (n_in − 1)·s − 2p + k per dim (or ``output_size``)."""
    return _max_unpool("max_unpool3d", 3, _triple, input, indices, kernel_size, stride,
                       padding, output_size)


class _MaxUnpoolNd(Module):
    """kernel_size, stride (default: the kernel) and padding stored as tuples, PyTorch's
    attributes and repr; ``forward(input, indices, output_size=None)``."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        tup = self._tuple()
        self.kernel_size = tup(kernel_size, "kernel_size")
        self.stride = tup(stride if stride is not None else kernel_size, "stride")
        self.padding = tup(padding, "padding")

    def forward(self, input, indices, output_size=None):
        return self._functional(input, indices, self.kernel_size, self.stride, self.padding,
                                output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of MaxPool1d (PyTorch's ``nn.MaxUnpool1d``); see
    :func:`max_unpool1d`."""

    _functional = staticmethod(max_unpool1d)

    def _tuple(self):
        return _one(type(self).__name__)


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of MaxPool2d (PyTorch's ``nn.MaxUnpool2d``); see
    :func:`max_unpool2d`.

    >>> import minigrad as mg
    >>> from minigrad import nn
    >>> y, i = nn.MaxPool2d(2, return_indices=True)(mg.arange(16.0).reshape(1, 4, 4))
    >>> MaxUnpool2d(2)(y, i)
    tensor([[[ 0.,  0.,  0.,  0.],
             [ 0.,  5.,  0.,  7.],
             [ 0.,  0.,  0.,  0.],
             [ 0., 13.,  0., 15.]]])
    """

    _functional = staticmethod(max_unpool2d)

    def _tuple(self):
        return _pair


class MaxUnpool3d(_MaxUnpoolNd):
    """Partial inverse of MaxPool3d (PyTorch's ``nn.MaxUnpool3d``); see
    :func:`max_unpool3d`."""

    _functional = staticmethod(max_unpool3d)

    def _tuple(self):
        return _triple
