r"""Fractional max pooling (Graham, "Fractional Max-Pooling", 2014; PyTorch's
``nn.FractionalMaxPool2d``/``3d``): the output size is any size below the input's, reached
by windows whose starts advance by a non-integer step α on average.

Along one dim of input size n, window size k and output size m, with a random
u ∈ [0, 1) per sample and channel (PyTorch's pseudo-random "interval" sequence):

    α = (n − k) / (m − 1)
    start_i = ⌊(i + u) α⌋ − ⌊u α⌋        for i = 0 … m − 2,      start_{m−1} = n − k

and output i is the maximum of input[start_i : start_i + k]. In 2-D u is drawn for W
(``_random_samples[..., 0]``) and for H (``[..., 1]``); in 3-D for T, H, W in that order.
The returned indices are flat within each input plane (volume), as in ``max_pool2d``;
the gradient flows to the maximum of each window (a gather, so differentiable again).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import random as _random
from ..ops import elementwise as _elementwise
from ..ops import shape as _shape
from ..tensor import Tensor
from .module import Module

__all__ = ["fractional_max_pool2d", "fractional_max_pool3d",
           "fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices",
           "FractionalMaxPool2d", "FractionalMaxPool3d"]


def _tuple(v, n, what, op):
    t = (v,) * n if isinstance(v, numbers.Number) else tuple(v)
    if len(t) != n:
        raise ValueError(f"{op}: {what} must be a number or {n} numbers, got {v!r}")
    return t


def _starts(xp, u, n, k, m):
    """The window starts, shape u.shape + (m,), for samples ``u`` (float64)."""
    i = xp.arange(m, dtype=np.float64)
    if m == 1:
        return xp.full(u.shape + (1,), n - k, dtype=np.int64)
    alpha = (n - k) / (m - 1)
    s = (xp.floor((i + u[..., None]) * alpha) - xp.floor(u[..., None] * alpha)).astype(np.int64)
    s[..., -1] = n - k
    return s


def _fractional(op, dims, input, kernel_size, output_size, output_ratio, return_indices,
                _random_samples):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if input.ndim not in (dims + 1, dims + 2):
        raise ValueError(f"{op}: expected a {dims + 1}-D or {dims + 2}-D input, got shape "
                         f"{input.shape}")
    unbatched = input.ndim == dims + 1
    x = input.unsqueeze(0) if unbatched else input
    spatial = x.shape[2:]
    k = _tuple(kernel_size, dims, "kernel_size", op)
    if (output_size is None) == (output_ratio is None):
        raise ValueError(f"{op}: pass exactly one of output_size and output_ratio")
    if output_size is None:
        ratio = _tuple(output_ratio, dims, "output_ratio", op)
        if not all(0 < r < 1 for r in ratio):
            raise ValueError(f"{op}: output_ratio must be in (0, 1), got {output_ratio!r}")
        output_size = tuple(int(s * r) for s, r in zip(spatial, ratio))
    out = _tuple(output_size, dims, "output_size", op)
    for n, kk, m in zip(spatial, k, out):
        if kk < 1 or m < 1 or m + kk - 1 > n:
            raise ValueError(f"{op}: output size {out} with kernel {k} does not fit the "
                             f"input size {tuple(spatial)} (need output + kernel − 1 ≤ "
                             "input in every dim)")
    N, C = x.shape[:2]
    xp = x.xp
    if _random_samples is None:
        u = _random.uniform((N, C, dims), 0.0, 1.0, np.float64, x.device)
    else:
        u = (_random_samples.data if isinstance(_random_samples, Tensor)
             else xp.asarray(_random_samples)).astype(np.float64)
        if u.shape != (N, C, dims):
            raise ValueError(f"{op}: _random_samples must have shape {(N, C, dims)}, got "
                             f"{tuple(u.shape)}")
    # the dims' samples in spatial order: 2-D (W, H) → (H, W); 3-D (T, H, W) as they are
    order = [1, 0] if dims == 2 else [0, 1, 2]
    starts = [_starts(xp, u[:, :, j], n, kk, m)
              for j, n, kk, m in zip(order, spatial, k, out)]
    # flat in-plane index of every window element: (N, C, *out, *k)
    strides = [math.prod(spatial[d + 1:]) for d in range(dims)]
    flat = 0
    for d in range(dims):
        pos = starts[d].reshape((N, C) + tuple(out[d] if e == d else 1 for e in range(dims))
                                + (1,) * dims)
        offs = xp.arange(k[d]).reshape((1, 1) + (1,) * dims
                                       + tuple(k[d] if e == d else 1 for e in range(dims)))
        flat = flat + (pos + offs) * strides[d]
    flat = flat.reshape(N, C, math.prod(out), math.prod(k))
    plane = x.data.reshape(N, C, -1)
    values = xp.take_along_axis(plane, flat.reshape(N, C, -1), axis=2).reshape(flat.shape)
    best = values.argmax(-1)
    if values.dtype.kind == "f":  # a NaN in a window wins (as max_pool does)
        nan = xp.isnan(values)
        if bool(nan.any()):
            best = xp.where(nan.any(-1), nan.argmax(-1), best)
    idx = xp.take_along_axis(flat, best[..., None], axis=-1)[..., 0]  # (N, C, prod(out))
    y = _shape.gather(x.reshape(N, C, -1), 2, _elementwise.const(idx)).reshape(
        (N, C) + out)
    indices = Tensor(idx.reshape((N, C) + out).astype(np.int64))
    if unbatched:
        y, indices = y.squeeze(0), indices.squeeze(0)
    return (y, indices) if return_indices else y


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """Fractional max pooling of (N, C, H, W) or (C, H, W) to ``output_size`` (or
    ``output_ratio`` × the input size); ``_random_samples`` (N, C, 2) in [0, 1) fixes the
    windows (drawn from minigrad's generator otherwise).

    >>> import minigrad as mg
    >>> x = mg.arange(25.0).reshape(1, 1, 5, 5)
    >>> fractional_max_pool2d(x, 2, output_size=3, _random_samples=mg.zeros(1, 1, 2))
    tensor([[[[ 6.,  7.,  9.],
              [11., 12., 14.],
              [21., 22., 24.]]]])
    """
    return _fractional("fractional_max_pool2d", 2, input, kernel_size, output_size,
                       output_ratio, return_indices, _random_samples)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """Fractional max pooling of (N, C, T, H, W) or (C, T, H, W); ``_random_samples``
    has shape (N, C, 3)."""
    return _fractional("fractional_max_pool3d", 3, input, kernel_size, output_size,
                       output_ratio, return_indices, _random_samples)


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None,
                                       output_ratio=None, return_indices=False,
                                       _random_samples=None):
    """:func:`fractional_max_pool2d` returning (output, indices)."""
    return fractional_max_pool2d(input, kernel_size, output_size, output_ratio, True,
                                 _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None,
                                       output_ratio=None, return_indices=False,
                                       _random_samples=None):
    """:func:`fractional_max_pool3d` returning (output, indices)."""
    return fractional_max_pool3d(input, kernel_size, output_size, output_ratio, True,
                                 _random_samples)


class _FractionalMaxPool(Module):
    _fn = None

    def __init__(self, kernel_size, output_size=None, output_ratio=None,
                 return_indices=False, _random_samples=None):
        super().__init__()
        if (output_size is None) == (output_ratio is None):
            raise ValueError(f"{type(self).__name__}: pass exactly one of output_size and "
                             "output_ratio")
        self.kernel_size, self.output_size = kernel_size, output_size
        self.output_ratio, self.return_indices = output_ratio, return_indices
        self._random_samples = _random_samples

    def forward(self, input):
        return self._fn(input, self.kernel_size, self.output_size, self.output_ratio,
                              self.return_indices, self._random_samples)

    def extra_repr(self):
        size = (f"output_size={self.output_size}" if self.output_size is not None
                else f"output_ratio={self.output_ratio}")
        return f"kernel_size={self.kernel_size}, {size}"


class FractionalMaxPool2d(_FractionalMaxPool):
    """Module form of :func:`fractional_max_pool2d` (new random windows every call)."""
    _fn = staticmethod(fractional_max_pool2d)


class FractionalMaxPool3d(_FractionalMaxPool):
    """Module form of :func:`fractional_max_pool3d`."""
    _fn = staticmethod(fractional_max_pool3d)
