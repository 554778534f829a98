r"""Padding layers (PyTorch's ``nn.ZeroPad1d/2d/3d``, ``ConstantPad1d/2d/3d``,
``ReflectionPad1d/2d/3d``, ``ReplicationPad1d/2d/3d``, ``CircularPad1d/2d/3d``): thin
modules over :func:`minigrad.ops.shape.pad` (``F.pad``), which does the work and the
gradients.

``padding`` is an int (the same width on every side) or a tuple in F.pad's order, last
dim first: (left, right) for the 1-d layers, (left, right, top, bottom) for the 2-d ones,
(left, right, top, bottom, front, back) for the 3-d ones.
With W the width and x_pad the padded row, the modes read

=============  ==============================================  ==================
mode           x_pad[i] for i < 0 (left of the input)           widths allowed
=============  ==============================================  ==================
constant       value (0 for ZeroPad)                            any (< 0 crops)
reflect        x[−i]          (mirror, edge not repeated)       < W
replicate      x[0]           (the edge repeated)               ≥ 0
circular       x[W + i]       (wrap around)                     ≤ W
=============  ==============================================  ==================

and symmetrically on the right. Every mode is a gather of the input (constant: a copy into
a filled array), so the gradient adds gy back to the positions read.

Where minigrad differs: a padding tuple of the wrong length raises (PyTorch passes it to
F.pad as given, padding fewer dims than the layer's name says).
"""
from __future__ import annotations

import numbers

from ..ops.shape import pad
from ..tensor import Tensor
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d",
           "CircularPad2d", "CircularPad3d"]


class _PadNd(Module):
    """Pads the last ``_dims`` dims in ``_mode``; ``padding`` is stored as the full tuple
    (PyTorch's attribute, and its repr)."""

    _dims = 1
    _mode = "constant"

    def __init__(self, padding):
        super().__init__()
        n = 2 * self._dims
        if isinstance(padding, numbers.Integral):
            padding = (int(padding),) * n
        padding = tuple(padding)
        if len(padding) != n or not all(isinstance(p, numbers.Integral) for p in padding):
            raise ValueError(f"{type(self).__name__}: padding must be an int or {n} ints, got "
                             f"{padding}")
        self.padding = padding

    def _value(self):
        return None

    def forward(self, input):
        if not isinstance(input, Tensor):
            raise TypeError(f"{self!r}: expected a Tensor, got {type(input).__name__}")
        n = self._dims
        if self._mode != "constant" and input.ndim not in (n + 1, n + 2):
            raise ValueError(f"{self!r}: expected {n + 1}D (unbatched) or {n + 2}D input, got "
                             f"shape {input.shape}")
        try:
            return pad(input, self.padding, self._mode, self._value())
        except ValueError as e:
            raise ValueError(f"{self!r}: {e}") from None

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def _value(self):
        return self.value

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dim with ``value``: padding (left, right)."""


class ConstantPad2d(_ConstantPadNd):
    """Pads the last two dims with ``value``: padding (left, right, top, bottom)."""

    _dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pads the last three dims with ``value``: padding (left, right, top, bottom, front,
    back)."""

    _dims = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Pads the last dim with zeros: padding (left, right)."""


class ZeroPad2d(_ZeroPadNd):
    """Pads the last two dims with zeros: padding (left, right, top, bottom).

    >>> import minigrad as mg
    >>> ZeroPad2d((1, 0, 0, 1))(mg.ones(1, 1, 1))
    tensor([[[0., 1.],
             [0., 0.]]])
    """

    _dims = 2


class ZeroPad3d(_ZeroPadNd):
    """Pads the last three dims with zeros: padding (left, right, top, bottom, front,
    back).

    >>> import minigrad as mg
    >>> ZeroPad3d((0, 0, 0, 0, 1, 0))(mg.ones(1, 1, 1, 1)).tolist()
    [[[[0.0]], [[1.0]]]]
    """

    _dims = 3


class ReflectionPad1d(_PadNd):
    """Mirrors (N, C, W) or (C, W) at its edges, the edge itself not repeated."""

    _mode = "reflect"


class ReflectionPad2d(ReflectionPad1d):
    """Mirrors (N, C, H, W) or (C, H, W) at its edges, the edges not repeated."""

    _dims = 2


class ReflectionPad3d(ReflectionPad1d):
    """Mirrors (N, C, D, H, W) or (C, D, H, W) at its faces, the faces not repeated."""

    _dims = 3


class ReplicationPad1d(_PadNd):
    """Repeats the edge values of (N, C, W) or (C, W)."""

    _mode = "replicate"


class ReplicationPad2d(ReplicationPad1d):
    """Repeats the edge values of (N, C, H, W) or (C, H, W)."""

    _dims = 2


class ReplicationPad3d(ReplicationPad1d):
    """Repeats the face values of (N, C, D, H, W) or (C, D, H, W)."""

    _dims = 3


class CircularPad1d(_PadNd):
    """Wraps (N, C, W) or (C, W) around: the left pad is the right end, and so on."""

    _mode = "circular"


class CircularPad2d(CircularPad1d):
    """Wraps (N, C, H, W) or (C, H, W) around in both dims (a torus)."""

    _dims = 2


class CircularPad3d(CircularPad1d):
    """Wraps (N, C, D, H, W) or (C, D, H, W) around in all three dims."""

    _dims = 3
