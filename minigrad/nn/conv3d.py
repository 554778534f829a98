r"""3-D convolutions: ``conv3d``/``conv_transpose3d`` and the ``Conv3d``/``ConvTranspose3d``
modules (PyTorch's names, arguments and shapes).

Cross-correlation over volumes (PyTorch's definition):

.. math::
    y[n, o, t, h, w] = b[o] + \sum_{c \in \text{group}(o)} \sum_{i, j, l}
        W[o, c, i, j, l]\; x_{\text{pad}}[n, c,\; t s_d + i d_d,\; h s_h + j d_h,\;
        w s_w + l d_w]

How it is computed: im2col, as :mod:`minigrad.nn.conv` does in 2-D. A stride-tricks *view*
of the zero-padded input lists, for every group, channel, kernel offset (i, j, l), image
and output voxel, the input value it multiplies, shape (g, C/g, kD, kH, kW, N, Do, Ho, Wo)
(no copy, :func:`_receptive_fields`); one copy of it is the columns, and

    Y_k = W_k @ cols_k          (O/g, C/g·kD·kH·kW) @ (C/g·kD·kH·kW, voxels)

for each group k. The backward is two more products with the same matrices::

    gW_k = Σ_blocks gY_k @ cols_kᵀ                          (the weight gradient)
    gcols_k = W_kᵀ @ gY_k,  gx = col2im(gcols)              (the input gradient)

where col2im adds each kernel offset's slab of ``gcols`` back into a zero-padded block
through the same receptive-field view, one offset at a time (kD·kH·kW strided adds; the
fields of different offsets overlap, those of one offset do not).

The helpers below are written for any number of spatial dims (the spec's tuples say how
many) and are used for 3-D; the tuned 2-D path of :mod:`~minigrad.nn.conv` (grid with
gaps, the flipped-kernel input gradient) is left as it is. On the CPU the columns are
built a block of images at a time (``conv._image_blocks``: about 2 MB of columns, so a
whole batch's k³-times-the-input array is never allocated); on a GPU the batch is one
block. The forward keeps the batch's columns when it was one block, for the weight
gradient.

Double backward: the three maps are bilinear and close under differentiation exactly as
in 2-D (:class:`Conv3dFunction`, :class:`Conv3dGradInput`, :class:`Conv3dGradWeight`;
see the table in :mod:`minigrad.nn.conv`), so every derivative of every order is again one
of them. The transposed convolution *is* :class:`Conv3dGradInput` applied to its input.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from ..amp.autocast_mode import autocast_dtype, autocast_inputs, half_matmul
from ..ops.shape import pad
from .conv import (
    _check_conv_args,
    _ConvFamily,
    _ConvFunction,
    _ConvGradInput,
    _ConvGradWeight,
    _ConvNd,
    _ConvTransposeNd,
    _image_blocks,
    _same_padding,
    _triple,
)

__all__ = ["conv3d", "conv_transpose3d", "Conv3d", "ConvTranspose3d"]


class Conv3dSpec:
    """The geometry of a convolution over the trailing spatial dims: ``kernel``,
    ``stride``, ``dilation`` (one int per dim), ``padding`` ((before, after) per dim) and
    ``groups``."""

    __slots__ = ("kernel", "stride", "padding", "dilation", "groups")

    def __init__(self, kernel, stride, padding, dilation, groups):
        self.kernel, self.stride = tuple(kernel), tuple(stride)
        self.padding, self.dilation = tuple(tuple(p) for p in padding), tuple(dilation)
        self.groups = groups

    def padded_size(self, size):
        return tuple(n + lo + hi for n, (lo, hi) in zip(size, self.padding))

    def out_size(self, size):
        """⌊(n + p_lo + p_hi − d(k − 1) − 1)/s⌋ + 1 per spatial dim."""
        return tuple((n - d * (k - 1) - 1) // s + 1 for n, k, s, d in
                     zip(self.padded_size(size), self.kernel, self.stride, self.dilation))

    def interior(self, size):
        """The index of the unpadded input inside a padded block."""
        return (slice(None), slice(None)) + tuple(slice(lo, lo + n) for n, (lo, _) in
                                                  zip(size, self.padding))


def _receptive_fields(xp, xb, s, out):
    """The view (g, C/g, *kernel, nb, *out) of a padded block xb (nb, C, *padded) whose
    [k, c, i..., n, p...] is xb[n, k·C/g + c, p·s + i·d ...] (per spatial dim). No copy."""
    g = s.groups
    sn, sc, *sp = xb.strides
    C = xb.shape[1]
    shape = (g, C // g) + s.kernel + (xb.shape[0],) + tuple(out)
    strides = ((C // g * sc, sc) + tuple(d * t for d, t in zip(s.dilation, sp)) + (sn,)
               + tuple(st * t for st, t in zip(s.stride, sp)))
    return xp.lib.stride_tricks.as_strided(xb, shape=shape, strides=strides)


def _columns(xp, x, s, out, blocks):
    """For each block of images n0:n1, yield (n0, n1, cols): every output voxel's
    receptive field as a column, cols of shape (g, C/g·prod(kernel), nb·prod(out)). The
    zero-padded block buffer (its border written once) and the column buffer are reused
    from block to block."""
    N, C = x.shape[:2]
    size = x.shape[2:]
    K = C * math.prod(s.kernel)
    xpad = xp.zeros((blocks[0][1], C) + s.padded_size(size), dtype=x.dtype)
    buf = xp.empty(blocks[0][1] * K * math.prod(out), dtype=x.dtype)
    inside = s.interior(size)
    for n0, n1 in blocks:
        xb = xpad[:n1 - n0]
        xb[inside] = x[n0:n1]
        view = _receptive_fields(xp, xb, s, out)
        cols = buf[:view.size].reshape(view.shape)
        cols[...] = view
        yield n0, n1, cols.reshape(s.groups, K // s.groups, (n1 - n0) * math.prod(out))


def _blocks(xp, x_shape, s, out, itemsize):
    C = x_shape[1]
    return _image_blocks(xp, x_shape[0], C * math.prod(s.kernel) * math.prod(out) * itemsize)


def _gy_columns(gy, g):
    """gy (nb, O, *out) as (g, O/g, nb·prod(out)): output channels first, as the
    products lay them out (a copy)."""
    nb, O = gy.shape[:2]
    return gy.swapaxes(0, 1).reshape(g, O // g, nb * math.prod(gy.shape[2:]))


def _conv_forward(xp, x, w, s):
    """y = conv(x, w) as arrays: per block Y_k = W_k @ cols_k (O/g, nb·prod(out)) for
    each group k. Returns (y, cols), cols the columns of the whole batch when it was one
    block (kept for the weight gradient), else None."""
    N, O = x.shape[0], w.shape[0]
    out = s.out_size(x.shape[2:])
    if N == 0:  # an empty batch: no blocks, no columns
        return xp.zeros((0, O) + out, dtype=x.dtype), None
    blocks = _blocks(xp, x.shape, s, out, x.itemsize)
    wg = w.reshape(s.groups, O // s.groups, math.prod(w.shape[1:]))
    y = xp.empty((N, O) + out, dtype=x.dtype)
    for n0, n1, cols in _columns(xp, x, s, out, blocks):
        y[n0:n1] = half_matmul(xp, wg, cols).reshape((O, n1 - n0) + out).swapaxes(0, 1)
    return y, (cols if len(blocks) == 1 else None)


def _conv_grad_weight(xp, x, gy, w_shape, s, cols=None):
    """gW_k = Σ_blocks gY_k @ cols_kᵀ (summed in float32 for half inputs). ``cols``: the
    forward's columns of the whole batch, if it kept them."""
    N = x.shape[0]
    if N == 0:
        return xp.zeros(w_shape, dtype=gy.dtype)
    out = gy.shape[2:]
    acc = np.float32 if x.itemsize < 4 else x.dtype
    parts = ([(0, N, cols)] if cols is not None else
             _columns(xp, x, s, out, _blocks(xp, x.shape, s, out, x.itemsize)))
    gw = None
    for n0, n1, cols in parts:
        part = half_matmul(xp, _gy_columns(gy[n0:n1], s.groups), cols.transpose(0, 2, 1),
                           out_dtype=np.float32)
        gw = part.astype(acc, copy=False) if gw is None else gw + part
    return gw.astype(gy.dtype, copy=False).reshape(w_shape)


def _conv_grad_input(xp, gy, w, x_shape, s):
    """gx = col2im(Wᵀ gy), a block of images at a time: gcols_k = W_kᵀ @ gY_k, then each
    kernel offset's slab of gcols is added into the zero-padded block through
    :func:`_receptive_fields` (one offset at a time: the fields of different offsets
    overlap), whose interior is gx."""
    N, C = x_shape[:2]
    size = tuple(x_shape[2:])
    if N == 0:
        return xp.zeros(x_shape, dtype=gy.dtype)
    g, O = s.groups, w.shape[0]
    out = gy.shape[2:]
    blocks = _blocks(xp, x_shape, s, out, gy.itemsize)
    wgT = w.reshape(g, O // g, math.prod(w.shape[1:])).transpose(0, 2, 1)
    gxp = xp.empty((blocks[0][1], C) + s.padded_size(size), dtype=gy.dtype)
    gx = xp.empty(tuple(x_shape), dtype=gy.dtype)
    inside = s.interior(size)
    for n0, n1 in blocks:
        gb = gxp[:n1 - n0]
        gb.fill(0)
        fields = _receptive_fields(xp, gb, s, out)
        gcols = half_matmul(xp, wgT, _gy_columns(gy[n0:n1], g)).reshape(fields.shape)
        for offset in itertools.product(*(range(k) for k in s.kernel)):
            at = (slice(None), slice(None)) + offset
            fields[at] += gcols[at]
        gx[n0:n1] = gb[inside]
    return gx


class Conv3dFunction(_ConvFunction):
    """y = conv3d(x, W) (+ b).   VJP: gx = Conv3dGradInput(gy, W),
    gW = Conv3dGradWeight(x, gy), gb = Σ_{n,t,h,w} gy."""


class Conv3dGradInput(_ConvGradInput):
    """gx = conv3d's input gradient (a transposed convolution of gy with W).
    VJP for cotangent u: g_gy = conv3d(u, W), g_W = Conv3dGradWeight(u, gy)."""


class Conv3dGradWeight(_ConvGradWeight):
    """gW = conv3d's weight gradient (correlation of x with gy).
    VJP for cotangent V: g_x = Conv3dGradInput(gy, V), g_gy = conv3d(x, V)."""


# the same three Functions as 2-D (conv._ConvFunction...), on the 3-D array functions above
_ConvFamily(_conv_forward, _conv_grad_input, _conv_grad_weight).bind(
    Conv3dFunction, Conv3dGradInput, Conv3dGradWeight)


# --------------------------------------------------------------------------- functional


def _check_args(op, layout, input, weight, stride, dilation, groups):
    """conv.py's shared checks in 3-D, and the dtypes (outside autocast, which casts
    both)."""
    input, unbatched, stride, dilation = _check_conv_args(op, layout, input, weight, stride,
                                                          dilation, groups, spatial=3)
    if input.dtype != weight.dtype and autocast_dtype() is None:
        raise TypeError(f"{op}: input dtype {input.dtype} and weight dtype {weight.dtype} "
                        "differ")
    return input, unbatched, stride, dilation


def _padding_pairs(padding, kernel, stride, dilation, op):
    """Padding as (before, after) per dim; 'valid' = 0, 'same' keeps the size (stride 1
    only; an odd total puts the extra at the end, as PyTorch)."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * 3
        if padding == "same":
            if stride != (1, 1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride})")
            return tuple(_same_padding(k, d) for k, d in zip(kernel, dilation))
        raise ValueError(f"{op}: invalid padding string {padding!r}, expected 'valid' or 'same'")
    padding = _triple(padding, "padding")
    if min(padding) < 0:
        raise ValueError(f"{op}: negative padding {padding} is not supported")
    return tuple((p, p) for p in padding)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    r"""3-D convolution (cross-correlation) of ``input`` (N, C_in, D, H, W) or
    (C_in, D, H, W) with ``weight`` (C_out, C_in/groups, kD, kH, kW); PyTorch's
    ``F.conv3d``. ``padding`` is an int, a triple, ``"valid"`` or ``"same"``.

    Output size per dim: ⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1.

    Examples
    --------
    >>> import minigrad as mg
    >>> x = mg.zeros(1, 1, 3, 3, 3)
    >>> x.data[0, 0, 1, 1, 1] = 1.0                  # a delta in the centre
    >>> w = mg.arange(8.0).reshape(1, 1, 2, 2, 2)
    >>> conv3d(x, w)[0, 0]                            # the kernel, flipped
    tensor([[[7., 6.],
             [5., 4.]],
    <BLANKLINE>
            [[3., 2.],
             [1., 0.]]])
    """
    op = "conv3d"
    input, unbatched, stride, dilation = _check_args(
        op, "(C_out, C_in/groups, kD, kH, kW)", input, weight, stride, dilation, groups)
    O, Cg = weight.shape[:2]
    kernel = tuple(weight.shape[2:])
    if O % groups:
        raise ValueError(f"{op}: out_channels ({O}) must be divisible by groups ({groups})")
    if input.shape[1] != Cg * groups:
        raise ValueError(
            f"{op}: weight of shape {weight.shape} with groups={groups} expects input with "
            f"{Cg * groups} channels, got input of shape {input.shape}")
    spec = Conv3dSpec(kernel, stride, _padding_pairs(padding, kernel, stride, dilation, op),
                      dilation, groups)
    eff = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    padded = spec.padded_size(input.shape[2:])
    if any(e > n for e, n in zip(eff, padded)):
        raise ValueError(
            f"{op}: kernel size {kernel} (dilated: {eff}) is larger than the padded input "
            f"size {padded} (input {input.shape}, padding {padding})")
    if bias is not None and bias.shape != (O,):
        raise ValueError(f"{op}: bias must have shape ({O},), got {bias.shape}")
    args = (input, weight) if bias is None else (input, weight, bias)
    y = Conv3dFunction(spec)(*args)
    return y.squeeze(0) if unbatched else y


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    r"""3-D transposed convolution of ``input`` (N, C_in, D, H, W) or (C_in, D, H, W) with
    ``weight`` (C_in, C_out/groups, kD, kH, kW); PyTorch's ``F.conv_transpose3d``.

    The gradient of :func:`conv3d` with respect to its input: each input voxel scatters
    W·x into a kD×kH×kW window of the output, windows s apart, and the outer ``padding``
    planes are cut off. Output size per dim n_out = (n − 1)·s − 2p + d(k − 1) +
    output_padding + 1; ``output_padding`` (< s or < d) picks one of the sizes a strided
    conv3d maps to n.

    Examples
    --------
    >>> import minigrad as mg
    >>> conv_transpose3d(mg.ones(1, 1, 2, 1, 1), mg.ones(1, 1, 3, 1, 1), stride=2)
    tensor([[[[[1.]],
    <BLANKLINE>
              [[1.]],
    <BLANKLINE>
              [[2.]],
    <BLANKLINE>
              [[1.]],
    <BLANKLINE>
              [[1.]]]]])
    """
    op = "conv_transpose3d"
    input, unbatched, stride, dilation = _check_args(
        op, "(C_in, C_out/groups, kD, kH, kW)", input, weight, stride, dilation, groups)
    padding = _triple(padding, "padding")
    output_padding = _triple(output_padding, "output_padding")
    if min(padding) < 0:
        raise ValueError(f"{op}: negative padding {padding} is not supported")
    for o, s_, d in zip(output_padding, stride, dilation):
        if not 0 <= o < max(s_, d):
            raise ValueError(f"{op}: output_padding {output_padding} must be smaller than "
                             f"the stride {stride} or the dilation {dilation}")
    C, Og = weight.shape[:2]
    kernel = tuple(weight.shape[2:])
    if input.shape[1] != C or C % groups:
        raise ValueError(f"{op}: weight of shape {weight.shape} with groups={groups} expects "
                         f"input with {C} channels (divisible by groups), got input of shape "
                         f"{input.shape}")
    O = Og * groups
    if bias is not None and bias.shape != (O,):
        raise ValueError(f"{op}: bias must have shape ({O},), got {bias.shape}")
    size = input.shape[2:]
    out = tuple((n - 1) * s_ - 2 * p + d * (k - 1) + o + 1 for n, s_, p, d, k, o in
                zip(size, stride, padding, dilation, kernel, output_padding))
    if min(out) < 1:
        raise ValueError(f"{op}: the output size {out} of input {input.shape} is not "
                         f"positive (padding {padding} too large)")
    spec = Conv3dSpec(kernel, stride, tuple((p, p) for p in padding), dilation, groups)
    # The conv3d whose input gradient this is maps `out` to `size`, or, when an
    # output_padding ≥ s (allowed for d > s) adds a plane the stride reaches, to one more:
    # that plane's gradient is zero, so pad it in.
    reach = spec.out_size(out)
    if reach != tuple(size):
        input = pad(input, [w for r, n in zip(reversed(reach), reversed(size))
                            for w in (0, r - n)])
    y = Conv3dGradInput(spec, (input.shape[0], O) + out)(input, weight)
    if bias is not None:
        # under autocast y is half: the bias joins it in half (as conv3d's), not promoting
        # the output back to float32
        (bias,) = autocast_inputs(bias)
        y = y + bias.reshape(1, O, 1, 1, 1)
    return y.squeeze(0) if unbatched else y


# --------------------------------------------------------------------------- modules


class Conv3d(_ConvNd):
    r"""3-D convolution layer (PyTorch's ``nn.Conv3d``; see :func:`conv3d`).

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, padding, dilation : int or triple (``padding`` also
        ``"valid"``/``"same"``)
    groups : int
    bias : bool
    padding_mode : ``"zeros"`` (default), ``"reflect"``, ``"replicate"`` or ``"circular"``

    Shapes: weight (C_out, C_in/groups, kD, kH, kW), bias (C_out,); input
    (N, C_in, D, H, W) or (C_in, D, H, W), output (N, C_out, D_out, H_out, W_out).

    Examples
    --------
    >>> import minigrad as mg
    >>> conv = Conv3d(2, 4, 3, padding=1)
    >>> conv(mg.randn(1, 2, 5, 6, 7)).shape
    (1, 4, 5, 6, 7)
    >>> conv
    Conv3d(2, 4, kernel_size=(3, 3, 3), stride=(1, 1, 1), padding=(1, 1, 1))
    """

    _dims = 3
    _functional = staticmethod(conv3d)


class ConvTranspose3d(_ConvTransposeNd):
    r"""3-D transposed convolution layer (PyTorch's ``nn.ConvTranspose3d``; see
    :func:`conv_transpose3d`). ``forward(input, output_size=None)``.

    Shapes: weight (C_in, C_out/groups, kD, kH, kW), bias (C_out,).

    Examples
    --------
    >>> import minigrad as mg
    >>> up = ConvTranspose3d(4, 2, 3, stride=2, padding=1, output_padding=1)
    >>> up(mg.randn(1, 4, 3, 4, 5)).shape
    (1, 2, 6, 8, 10)
    """

    _dims = 3
    _functional = staticmethod(conv_transpose3d)
