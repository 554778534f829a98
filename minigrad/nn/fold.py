r"""Sliding blocks: ``F.unfold`` (im2col) and ``F.fold`` (col2im), the ``Unfold``/``Fold``
modules, and the sub-pixel rearrangements ``pixel_shuffle``/``pixel_unshuffle``.

Unfold lists the receptive field of every output position of a convolution as a column,
PyTorch's layout::

    cols[n, (c·kH + i)·kW + j, h·W_o + w] = x_pad[n, c, h·s_h + i·d_h, w·s_w + j·d_w]
    H_o = ⌊(H + 2p_h − d_h(kH − 1) − 1)/s_h⌋ + 1,  and the same for W_o

so a convolution is ``W.reshape(O, −1) @ unfold(x)``. Fold is its adjoint (transpose):
each column entry is *added* back at the position it was read from, overlaps summing,
and the padding cut off; ``fold(unfold(x))`` is x times the number of blocks that cover
each pixel.

How. Unfold *is* a convolution: the depthwise one (``groups=C``) with the constant
selector kernel E (C·kH·kW, 1, kH, kW), E[c·K + k, 0, i, j] = [k = i·kW + j], K = kH·kW,
whose output channel c·K + k copies kernel offset k of channel c. So it runs on
:mod:`minigrad.nn.conv`'s im2col machinery, and fold, its adjoint, is the transposed
convolution with the same E. Conv2d and its two gradient maps close under
differentiation, so both ops have derivatives of every order. Both run with autocast
disabled: they move values, they are not products to be done in half precision.

Pixel shuffle (Shi et al. 2016, sub-pixel convolution) moves r×r channel blocks into
r×r spatial blocks: y[…, c, h·r + i, w·r + j] = x[…, c·r² + i·r + j, h, w]; a reshape,
a permutation and a reshape (pixel_unshuffle is its inverse).
"""
from __future__ import annotations

import numbers

from ..amp.autocast_mode import autocast
from ..ops.elementwise import const
from ..tensor import Tensor
from .conv import _pair, conv2d, conv_transpose2d
from .module import Module

__all__ = ["unfold", "fold", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "Unfold",
           "Fold", "PixelShuffle", "PixelUnshuffle", "ChannelShuffle"]


def _geometry(op, kernel_size, dilation, padding, stride):
    """kernel, dilation, padding, stride as pairs, checked as PyTorch checks them."""
    k, d, p, s = (_pair(v, what) for v, what in ((kernel_size, "kernel_size"),
                                                  (dilation, "dilation"),
                                                  (padding, "padding"), (stride, "stride")))
    if min(k + d + s) < 1 or min(p) < 0:
        raise ValueError(f"{op}: kernel_size {k}, dilation {d} and stride {s} must be "
                         f"positive and padding {p} non-negative")
    return k, d, p, s


def _blocks(size, k, d, p, s):
    """The number of block positions along one dim: ⌊(size + 2p − d(k − 1) − 1)/s⌋ + 1."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _selector(xp, C, k, dtype):
    """E (C·kH·kW, 1, kH, kW): output channel c·K + k of the depthwise convolution with E
    copies kernel offset k = i·kW + j of channel c."""
    K = k[0] * k[1]
    E = xp.zeros((C, K, K), dtype=dtype)
    E[:, xp.arange(K), xp.arange(K)] = 1
    return const(E.reshape(C * K, 1, k[0], k[1]))


def _check_tensor(op, input, dims):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if input.ndim not in dims:
        raise ValueError(f"{op}: expected {' or '.join(f'{n}-D' for n in dims)} input, got "
                         f"shape {input.shape}")


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    r"""Extract sliding blocks (im2col; PyTorch's ``F.unfold``): (N, C, H, W) →
    (N, C·kH·kW, L), L = H_o·W_o the number of blocks (see the module docstring); a
    3-D (C, H, W) input gives (C·kH·kW, L).

    Examples
    --------
    >>> import minigrad as mg
    >>> unfold(mg.arange(9.0).reshape(1, 1, 3, 3), 2)
    tensor([[[0., 1., 3., 4.],
             [1., 2., 4., 5.],
             [3., 4., 6., 7.],
             [4., 5., 7., 8.]]])
    """
    op = "unfold"
    _check_tensor(op, input, (3, 4))
    k, d, p, s = _geometry(op, kernel_size, dilation, padding, stride)
    x = input.unsqueeze(0) if input.ndim == 3 else input
    N, C, H, W = x.shape
    Ho, Wo = (_blocks(n, *g) for n, g in zip((H, W), zip(k, d, p, s)))
    if Ho < 1 or Wo < 1:
        raise ValueError(f"{op}: kernel_size {k} with dilation {d} does not fit the input "
                         f"{input.shape} padded by {p}: no sliding block")
    with autocast(enabled=False):
        cols = conv2d(x, _selector(x.xp, C, k, x.dtype), None, s, p, d, groups=C)
    cols = cols.reshape(N, C * k[0] * k[1], Ho * Wo)
    return cols.squeeze(0) if input.ndim == 3 else cols


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    r"""Sum sliding blocks back into an image (col2im; PyTorch's ``F.fold``), the adjoint
    of :func:`unfold`: (N, C·kH·kW, L) → (N, C, H, W) with (H, W) = ``output_size``, each
    column entry added at the pixel unfold reads it from; (C·kH·kW, L) gives (C, H, W).

    Examples
    --------
    >>> import minigrad as mg
    >>> fold(mg.ones(1, 4, 4), (3, 3), 2)[0, 0]   # how many 2×2 blocks cover each pixel
    tensor([[1., 2., 1.],
            [2., 4., 2.],
            [1., 2., 1.]])
    """
    op = "fold"
    _check_tensor(op, input, (2, 3))
    k, d, p, s = _geometry(op, kernel_size, dilation, padding, stride)
    H, W = _pair(output_size, "output_size")
    y = input.unsqueeze(0) if input.ndim == 2 else input
    N, CK, L = y.shape
    K = k[0] * k[1]
    if CK % K:
        raise ValueError(f"{op}: expected input's dimension 1 ({CK}, input shape "
                         f"{input.shape}) to be divisible by the product of kernel_size {k}")
    Ho, Wo = (_blocks(n, *g) for n, g in zip((H, W), zip(k, d, p, s)))
    if Ho < 1 or Wo < 1 or L != Ho * Wo:
        raise ValueError(f"{op}: output_size {(H, W)} with kernel_size {k}, dilation {d}, "
                         f"padding {p}, stride {s} has {max(Ho, 0)} × {max(Wo, 0)} sliding "
                         f"blocks, but the input {input.shape} has L = {L}")
    C = CK // K
    # the rows and columns past the last block that output_size asks for
    extra = tuple((n + 2 * p_ - d_ * (k_ - 1) - 1) % s_
                  for n, k_, d_, p_, s_ in zip((H, W), k, d, p, s))
    with autocast(enabled=False):
        x = conv_transpose2d(y.reshape(N, CK, Ho, Wo), _selector(y.xp, C, k, y.dtype), None,
                             s, p, extra, groups=C, dilation=d)
    return x.squeeze(0) if input.ndim == 2 else x


def _factor(op, r, what):
    if not isinstance(r, numbers.Integral) or isinstance(r, bool) or r < 1:
        raise ValueError(f"{op}: {what} must be a positive integer, got {r!r}")
    return int(r)


def pixel_shuffle(input, upscale_factor):
    r"""(*, C·r², H, W) → (*, C, H·r, W·r): y[…, c, h·r + i, w·r + j] =
    x[…, c·r² + i·r + j, h, w] (PyTorch's ``F.pixel_shuffle``; Shi et al. 2016).

    >>> import minigrad as mg
    >>> pixel_shuffle(mg.arange(4.0).reshape(4, 1, 1), 2)
    tensor([[[0., 1.],
             [2., 3.]]])
    """
    op = "pixel_shuffle"
    r = _factor(op, upscale_factor, "upscale_factor")
    if not isinstance(input, Tensor) or input.ndim < 3:
        raise ValueError(f"{op}: expected a Tensor with at least 3 dims (*, C·r², H, W), got "
                         f"{getattr(input, 'shape', type(input).__name__)}")
    *lead, C, H, W = input.shape
    if C % (r * r):
        raise ValueError(f"{op}: the channel dim of input {input.shape} ({C}) must be "
                         f"divisible by upscale_factor² = {r * r}")
    b = len(lead)
    x = input.reshape(*lead, C // (r * r), r, r, H, W)
    x = x.permute(*range(b), b, b + 3, b + 1, b + 4, b + 2)  # (*, C, H, r, W, r)
    return x.reshape(*lead, C // (r * r), H * r, W * r)


def pixel_unshuffle(input, downscale_factor):
    r"""(*, C, H·r, W·r) → (*, C·r², H, W), the inverse of :func:`pixel_shuffle`
    (PyTorch's ``F.pixel_unshuffle``)."""
    op = "pixel_unshuffle"
    r = _factor(op, downscale_factor, "downscale_factor")
    if not isinstance(input, Tensor) or input.ndim < 3:
        raise ValueError(f"{op}: expected a Tensor with at least 3 dims (*, C, H·r, W·r), got "
                         f"{getattr(input, 'shape', type(input).__name__)}")
    *lead, C, H, W = input.shape
    if H % r or W % r:
        raise ValueError(f"{op}: the height and width of input {input.shape} must be "
                         f"divisible by downscale_factor {r}")
    b = len(lead)
    x = input.reshape(*lead, C, H // r, r, W // r, r)
    x = x.permute(*range(b), b, b + 2, b + 4, b + 1, b + 3)  # (*, C, r, r, H/r, W/r)
    return x.reshape(*lead, C * r * r, H // r, W // r)


# --------------------------------------------------------------------------- modules


class Unfold(Module):
    """Sliding blocks as columns (PyTorch's ``nn.Unfold``); see :func:`unfold`."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, input):
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Unfold):
    """Columns summed back into an image (PyTorch's ``nn.Fold``); see :func:`fold`."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__(kernel_size, dilation, padding, stride)
        self.output_size = output_size

    def forward(self, input):
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                    self.stride)

    def extra_repr(self):
        return f"output_size={self.output_size}, " + super().extra_repr()


def channel_shuffle(input, groups):
    r"""(N, g·k, *) → the channels regrouped: out channel i·g + j is input channel
    j·k + i (PyTorch's ``F.channel_shuffle``; ShuffleNet, Zhang et al. 2018): a reshape
    to (N, g, k, *), a transpose of g and k, and a reshape back.

    >>> import minigrad as mg
    >>> channel_shuffle(mg.arange(6.0).reshape(1, 6, 1), 2).reshape(6).tolist()
    [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    """
    if not isinstance(groups, int) or isinstance(groups, bool) or groups <= 0:
        raise ValueError(f"channel_shuffle: groups must be a positive int, got {groups!r}")
    if not isinstance(input, Tensor) or input.ndim < 3:
        raise ValueError(f"channel_shuffle: expected a Tensor (N, C, *) with at least 3 dims, "
                         f"got {getattr(input, 'shape', type(input).__name__)}")
    N, C, *rest = input.shape
    if C % groups:
        raise ValueError(f"channel_shuffle: {C} channels do not divide into {groups} groups")
    x = input.reshape(N, groups, C // groups, *rest).transpose(1, 2)
    return x.reshape(N, C, *rest)


class ChannelShuffle(Module):
    """Shuffle the channels of (N, C, *) across ``groups`` (:func:`channel_shuffle`)."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, input):
        return channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"


class PixelShuffle(Module):
    """(*, C·r², H, W) → (*, C, H·r, W·r) (PyTorch's ``nn.PixelShuffle``)."""

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H·r, W·r) → (*, C·r², H, W) (PyTorch's ``nn.PixelUnshuffle``)."""

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"
