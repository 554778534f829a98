r"""Convolutions: ``conv1d``/``conv2d`` and the ``Conv1d``/``Conv2d`` modules.

Cross-correlation, as every framework computes it (PyTorch's definition):

.. math::
    y[n, o, h, w] = b[o] + \sum_{c \in \text{group}(o)} \sum_{i, j}
        W[o, c, i, j]\; x_{\text{pad}}[n, c,\; h s_h + i d_h,\; w s_w + j d_w]

with stride s, dilation d, zero padding, and ``groups`` g: the C input channels and the
O output channels are split into g groups and group k of outputs sees only group k of
inputs (g = C = O is a depthwise convolution; a 1×1 kernel a pointwise one).

How it is computed (im2col). Every output pixel's receptive field is copied out as a
column, and the convolution becomes one matrix product per group k::

    Y_k = W_k @ cols_k          (O/g, C/g·kH·kW) @ (C/g·kH·kW, pixels)

``cols`` comes from a stride-tricks *view* of the zero-padded input that lists, for
every group, channel, kernel offset (i, j), image and output pixel, the input value it
multiplies, shape (g, C/g, kH, kW, N, pixels) (no copy, :func:`_receptive_fields`); one
copy of that view is ``cols``. Three choices make it fast:

- Blocks. On the CPU the columns are built for a block of images at a time (about 2 MB
  of columns, often one image), into one reused buffer: the product reads them from
  cache right after the copy wrote them, and the 9×-the-input array of a whole batch
  is never allocated. On a GPU the whole batch is one block.
- The pixel grid. For stride 1, output pixel (h, w) starts at h·Wp + w in the padded
  (Hp, Wp) plane, so the pixels of a kernel offset are *one* run of (Ho − 1)·Wp + Wo
  consecutive positions if the Wp − Wo "gap" positions between rows are taken along.
  Their columns cost a few percent more products (ignored in y, multiplied by zeros in
  the gradients), and each copy becomes one long contiguous run instead of Ho runs of
  Wo, several times faster. (Strided convolutions, and GPUs, use the compact grid.)
- No transposed copy of x or y: the product of a block comes out as (O, nb, pixels),
  and a strided view of its grid pixels is copied straight into y (N, O, Ho, Wo).

The backward pass is two more products with the same matrices::

    gW_k = Σ_blocks gY_k @ cols_kᵀ                          (the weight gradient)
    gcols_k = W_kᵀ @ gY_k,  gx = col2im(gcols)              (the input gradient)

with gY the block's output gradient placed on the same grid (zeros in the gaps). The
weight gradient reuses the forward's columns when the batch was a single block (small
images; always on a GPU) and otherwise rebuilds them block by block (a cached copy).
col2im adds each kernel offset's slab of ``gcols`` back into a zero-padded block
through the same receptive-field view, one offset at a time (kH·kW strided adds; the
fields of different offsets overlap). When the convolution has stride 1 and keeps the
image size ('same' padding), the input gradient is itself such a convolution: of gY,
padded bottom/right by the forward's top/left padding, with W flipped in space and its
input and output channels swapped. It costs the same products and gathers instead of
scattering, so it is computed that way.

Double backward. The three maps are bilinear and close under differentiation
(B(x, W, gY) = ⟨gY, conv(x, W)⟩):

============================  ==========================  ===========================
op                             VJP w.r.t. first input       VJP w.r.t. second input
============================  ==========================  ===========================
y = conv(x, W)                 gx = grad_input(gy, W)       gW = grad_weight(x, gy)
gx = grad_input(gy, W)         ggy = conv(u, W)             gW = grad_weight(u, gy)
gW = grad_weight(x, gy)        gx = grad_input(gy, V)       ggy = conv(x, V)
============================  ==========================  ===========================

so each is its own :class:`~minigrad.autograd.Function` and every derivative of every
order is again one of them (``gradgradcheck`` in ``tests/nn/test_conv.py``).

Conv1d is Conv2d on a height-1 image. The transposed convolution (``conv_transpose2d``,
``ConvTranspose2d``) *is* the input-gradient map ``Conv2dGradInput`` applied to its input,
so it has the same three-op closure under differentiation. The 3-D convolutions
(:mod:`minigrad.nn.conv3d`) use the same im2col and the same three ops, written for any
number of spatial dims, beside this tuned 2-D path.
"""
from __future__ import annotations

import math

import numpy as np

from ..amp.autocast_mode import autocast_dtype, autocast_inputs, half_matmul
from ..autograd.function import ADDED, Function, ieee
from ..ops.shape import pad
from ..tensor import Tensor
from . import conv_device, init
from .module import Module, Parameter

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "Conv1d", "Conv2d",
           "ConvTranspose1d", "ConvTranspose2d"]


def _pair(v, what="value"):
    if isinstance(v, int):
        return (v, v)
    v = tuple(int(t) for t in v)
    if len(v) == 1:
        return (v[0], v[0])
    if len(v) != 2:
        raise ValueError(f"expected an int or a pair for {what}, got {v}")
    return v


def _triple(v, what="value"):
    """An int, a 1-tuple or a 3-tuple as a 3-tuple (the 3-D layers' kernel, stride...)."""
    if isinstance(v, int):
        return (v, v, v)
    v = tuple(int(t) for t in v)
    if len(v) == 1:
        return v * 3
    if len(v) != 3:
        raise ValueError(f"expected an int or a triple for {what}, got {v}")
    return v


class ConvSpec:
    """The geometry of a 2-D convolution: kernel (kh, kw), stride, padding
    ((top, bottom), (left, right)), dilation, groups."""

    __slots__ = ("kh", "kw", "sh", "sw", "pt", "pb", "pl", "pr", "dh", "dw", "groups")

    def __init__(self, kernel, stride, padding, dilation, groups):
        self.kh, self.kw = kernel
        self.sh, self.sw = stride
        (self.pt, self.pb), (self.pl, self.pr) = padding
        self.dh, self.dw = dilation
        self.groups = groups

    def out_size(self, H, W):
        Ho = (H + self.pt + self.pb - self.dh * (self.kh - 1) - 1) // self.sh + 1
        Wo = (W + self.pl + self.pr - self.dw * (self.kw - 1) - 1) // self.sw + 1
        return Ho, Wo


# On the CPU the columns are built a block of images at a time, about this many bytes,
# so that they are still in cache when the product reads them (and a 100 MB array is never
# allocated).
_BLOCK_BYTES = 2 << 20


def _on_cpu(xp):
    """The CPU layout: blocks of images, and for stride 1 the grid with gaps (both make
    the copies run over cache-resident memory in long contiguous runs). On a GPU, where
    neither helps, the whole batch is one block (one launch per step) on the compact
    grid (no wasted products)."""
    return xp is np


def _pixel_grid(xp, s, H, W):
    """Where the output pixels start in the padded (Hp, Wp) image plane, in elements:
    the grid the columns are laid out on, as (shape, strides, row pitch).

    Compact: the (Ho, Wo) output pixels, strides (s_h·Wp, s_w), pitch Wo.
    With gaps (stride 1, on the CPU): one run of (Ho − 1)·Wp + Wo consecutive positions,
    row after row, pitch Wp. The Wp − Wo positions between two rows start no output
    pixel: their columns are computed and then ignored in y, and multiplied by zeros in
    the gradients. In exchange every copy or add of one kernel offset is one long
    contiguous run, several times faster than Ho runs of Wo."""
    Ho, Wo = s.out_size(H, W)
    Wp = W + s.pl + s.pr
    if s.sh == s.sw == 1 and _on_cpu(xp):
        return ((Ho - 1) * Wp + Wo,), (1,), Wp
    return (Ho, Wo), (s.sh * Wp, s.sw), Wo


def _image_blocks(xp, N, bytes_per_image):
    """Consecutive ranges (n0, n1) covering the N images of a batch."""
    nb = max(1, min(N, _BLOCK_BYTES // max(1, bytes_per_image))) if _on_cpu(xp) else N
    return [(n0, min(n0 + nb, N)) for n0 in range(0, N, nb)]


def _receptive_fields(xp, xb, s, grid):
    """The view (g, C/g, kh, kw, nb, *grid) of a zero-padded block xb (nb, C, Hp, Wp)
    whose [k, c, i, j, n, p] is xb[n, k·C/g + c, i·d_h + h_p, j·d_w + w_p], (h_p, w_p) the
    top-left corner of output pixel p's receptive field. No copy."""
    nb, C, Hp, Wp = xb.shape
    g = s.groups
    shape, strides, _ = grid
    e = xb.itemsize
    return xp.lib.stride_tricks.as_strided(
        xb, shape=(g, C // g, s.kh, s.kw, nb) + shape,
        strides=(C // g * Hp * Wp * e, Hp * Wp * e, s.dh * Wp * e, s.dw * e, C * Hp * Wp * e)
        + tuple(t * e for t in strides))


def _padded_block(xp, s, nb, C, H, W, dtype):
    """A zero buffer for nb padded images (nb, C, Hp, Wp)."""
    return xp.zeros((nb, C, H + s.pt + s.pb, W + s.pl + s.pr), dtype=dtype)


def _columns(xp, x, s, grid, blocks):
    """For each block of images n0:n1, yield (n0, n1, cols): the receptive field of every
    grid pixel of those images as a column, cols of shape (g, C/g·kh·kw, nb·G).

    The block is copied into a zero-padded buffer (its border is written once and stays
    zero) and one copy of :func:`_receptive_fields` makes the columns. Both buffers are
    reused from block to block."""
    N, C, H, W = x.shape
    G = math.prod(grid[0])
    K = C * s.kh * s.kw
    xpad = _padded_block(xp, s, blocks[0][1], C, H, W, x.dtype)
    buf = xp.empty(blocks[0][1] * K * G, dtype=x.dtype)
    for n0, n1 in blocks:
        xb = xpad[:n1 - n0]
        xb[:, :, s.pt:s.pt + H, s.pl:s.pl + W] = x[n0:n1]
        view = _receptive_fields(xp, xb, s, grid)
        cols = buf[:view.size].reshape(view.shape)
        cols[...] = view
        yield n0, n1, cols.reshape(s.groups, K // s.groups, (n1 - n0) * G)


def _grid_pixels(xp, a, nb, grid, Ho, Wo):
    """The (nb, O, Ho, Wo) output pixels of a product a (O, nb·G) laid out on the grid,
    as a view (writable: used both to read y and to place gy on the grid)."""
    G = math.prod(grid[0])
    e = a.itemsize
    return xp.lib.stride_tricks.as_strided(
        a, shape=(nb, a.size // (nb * G), Ho, Wo), strides=(G * e, nb * G * e, grid[2] * e, e))


def _gy_on_grid(xp, gy, grid, g, cache):
    """gy (nb, O, Ho, Wo) placed on the grid, (g, O/g, nb·G), zero in the gaps (one
    zero buffer per block size, reused)."""
    nb, O, Ho, Wo = gy.shape
    buf = cache.get(nb)
    if buf is None:
        buf = cache[nb] = xp.zeros((g, O // g, nb * math.prod(grid[0])), dtype=gy.dtype)
    _grid_pixels(xp, buf, nb, grid, Ho, Wo)[...] = gy
    return buf


def _conv_forward(xp, x, w, s):
    """y = conv(x, w) as arrays: per block Y_k = W_k @ cols_k (O/g, nb·G) for each
    group k, whose grid pixels are y (nb, O, Ho, Wo). Returns (y, cols), cols the
    columns of the whole batch when it was one block (kept for the weight gradient),
    else None."""
    N, C, H, W = x.shape
    O = w.shape[0]
    Ho, Wo = s.out_size(H, W)
    if N == 0:  # an empty batch: no blocks, no columns
        return xp.zeros((0, O, Ho, Wo), dtype=x.dtype), None
    if conv_device.applies(xp, s):
        return conv_device.forward(xp, x, w, s)
    grid = _pixel_grid(xp, s, H, W)
    blocks = _image_blocks(xp, N, C * s.kh * s.kw * math.prod(grid[0]) * x.itemsize)
    wg = w.reshape(s.groups, O // s.groups, math.prod(w.shape[1:]))
    y = xp.empty((N, O, Ho, Wo), dtype=x.dtype)
    for n0, n1, cols in _columns(xp, x, s, grid, blocks):
        y[n0:n1] = _grid_pixels(xp, half_matmul(xp, wg, cols), n1 - n0, grid, Ho, Wo)
    return y, (cols if len(blocks) == 1 else None)


def _conv_grad_weight(xp, x, gy, w_shape, s, cols=None):
    """gW_k = Σ_blocks gY_k @ cols_kᵀ, gY_k the block's output gradient on the grid
    (O/g, nb·G) (summed in float32 for half inputs). ``cols``: the forward's columns of
    the whole batch, if it kept them."""
    N, C, H, W = x.shape
    if N == 0:
        return xp.zeros(w_shape, dtype=gy.dtype)
    if conv_device.applies(xp, s):
        return conv_device.grad_weight(xp, x, gy, w_shape, s, cols)
    g = s.groups
    grid = _pixel_grid(xp, s, H, W)
    blocks = _image_blocks(xp, N, C * s.kh * s.kw * math.prod(grid[0]) * x.itemsize)
    acc = np.float32 if x.itemsize < 4 else x.dtype
    gw, cache = None, {}
    parts = [(0, N, cols)] if cols is not None else _columns(xp, x, s, grid, blocks)
    for n0, n1, cols in parts:
        gyg = _gy_on_grid(xp, gy[n0:n1], grid, g, cache)
        part = half_matmul(xp, gyg, cols.transpose(0, 2, 1), out_dtype=np.float32)
        gw = part.astype(acc, copy=False) if gw is None else gw + part
    return gw.astype(gy.dtype, copy=False).reshape(w_shape)


def _conv_grad_input(xp, gy, w, x_shape, s):
    """gx = col2im(Wᵀ gy), a block of images at a time: gcols_k = W_kᵀ @ gY_k
    (C/g·kh·kw, nb·G), then each kernel offset's slab of gcols is added back into the
    zero-padded block through :func:`_receptive_fields` (kh·kw strided adds; one offset
    at a time, since the fields of different offsets overlap), whose interior is gx.

    A stride-1 convolution whose output is as large as its input ('same' padding) has
    as its input gradient another such convolution: of gy, padded the other way round
    (bottom/right by the forward's top/left padding), with W flipped in space and its
    input and output channels swapped. That costs the same products, and gathers
    columns instead of scattering them, so it is used there."""
    N, C, H, W = x_shape
    if N == 0:
        return xp.zeros(x_shape, dtype=gy.dtype)
    if conv_device.applies(xp, s):
        return conv_device.grad_input(xp, gy, w, x_shape, s)
    g = s.groups
    O = w.shape[0]
    if s.sh == s.sw == 1 and gy.shape[2:] == (H, W):
        spec = ConvSpec((s.kh, s.kw), (1, 1), ((s.pb, s.pt), (s.pr, s.pl)), (s.dh, s.dw), g)
        w_t = w.reshape(g, O // g, C // g, s.kh, s.kw).transpose(0, 2, 1, 3, 4)
        w_t = xp.ascontiguousarray(w_t[..., ::-1, ::-1]).reshape(C, O // g, s.kh, s.kw)
        return _conv_forward(xp, gy, w_t, spec)[0]
    grid = _pixel_grid(xp, s, H, W)
    blocks = _image_blocks(xp, N, C * s.kh * s.kw * math.prod(grid[0]) * gy.itemsize)
    wgT = w.reshape(g, O // g, math.prod(w.shape[1:])).transpose(0, 2, 1)
    gxp = _padded_block(xp, s, blocks[0][1], C, H, W, gy.dtype)
    gx = xp.empty((N, C, H, W), dtype=gy.dtype)
    cache = {}
    for n0, n1 in blocks:
        gyg = _gy_on_grid(xp, gy[n0:n1], grid, g, cache)
        gb = gxp[:n1 - n0]
        gb.fill(0)
        fields = _receptive_fields(xp, gb, s, grid)
        gcols = half_matmul(xp, wgT, gyg).reshape(fields.shape)
        for i in range(s.kh):
            for j in range(s.kw):
                fields[:, :, i, j] += gcols[:, :, i, j]
        gx[n0:n1] = gb[:, :, s.pt:s.pt + H, s.pl:s.pl + W]
    return gx


def _conv_add_grad_weight(xp, x, gy, w_shape, s, cols, dest):
    """gW added into ``dest`` (the leaf weight's ``.grad``) by the weight-gradient GEMM
    itself (β = 1) where the GPU path (conv_device) computes it, of gy's dtype and not
    aliasing gy; returns whether it did (else the caller computes gW)."""
    if x.shape[0] == 0 or not conv_device.applies(xp, s) or dest.dtype != gy.dtype or \
            xp.may_share_memory(dest, gy):
        return False
    conv_device.grad_weight(xp, x, gy, w_shape, s, cols, add_to=dest)
    return True


class _ConvFamily:
    """A convolution in one number of spatial dims: its three array functions (forward,
    input gradient, weight gradient) and the three Functions built on them, each of which
    is the derivative of another (:class:`_ConvFunction`). conv.py has the 2-D family (1-D
    runs through it), conv3d.py the 3-D one."""

    def __init__(self, forward, grad_input, grad_weight, add_grad_weight=None):
        self.forward, self.grad_input, self.grad_weight = forward, grad_input, grad_weight
        # add_grad_weight(xp, x, gy, w_shape, spec, cols, dest) -> whether it added gW into
        # dest (w.grad's array) itself; None: the family never does
        self.add_grad_weight = add_grad_weight
        self.Function = self.GradInput = self.GradWeight = None

    def bind(self, function, grad_input, grad_weight):
        self.Function, self.GradInput, self.GradWeight = function, grad_input, grad_weight
        for cls in (function, grad_input, grad_weight):
            cls.family = self


class _ConvFunction(Function):
    """y = conv(x, W) (+ b).   VJP: gx = GradInput(gy, W), gW = GradWeight(x, gy),
    gb = Σ of gy over the batch and spatial dims (``family``: the dims' three Functions)."""

    amp_policy = "half"
    family = None
    adds_to_leaf_grads = True  # the weight's gradient: see backward
    # the weight gradient reads gy as (C_out, N·L): a producer of gy may lay it out so
    # (batch norm's backward kernel does), and then nothing is copied
    wants_channel_major_grad = True

    def __init__(self, spec):
        self.spec = spec
        self._cols = None

    @ieee
    def forward(self, xp, x, w, *b):
        y, cols = self.family.forward(xp, x, w, self.spec)
        self._cols = cols  # the batch's columns when they were one block; see release()
        if b:
            y += b[0].reshape((1, -1) + (1,) * (y.ndim - 2))
        return y

    def backward(self, gy):
        x, w = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        fam = self.family
        gx = fam.GradInput(self.spec, x.shape)(gy, w) if need[0] else None
        gw = None
        dest = self.offered_grad(1)
        if dest is not None and fam.add_grad_weight is not None and fam.add_grad_weight(
                x.xp, x.data, gy.data, w.shape, self.spec, self._cols, dest):
            gw = ADDED  # a leaf weight: its GEMM added gW into w.grad (no add of its own)
        elif need[1]:
            gw = fam.GradWeight(self.spec, w.shape, self._cols)(x, gy)
        out = (gx, gw)
        if len(self.inputs) == 3:
            out += (gy.sum((0,) + tuple(range(2, gy.ndim))) if need[2] else None,)
        return out

    def release(self):
        super().release()
        self._cols = None


class _ConvGradInput(Function):
    """gx = the convolution's input gradient (a transposed convolution of gy with W).
    VJP for cotangent u: g_gy = conv(u, W), g_W = GradWeight(u, gy)."""

    amp_policy = "half"
    family = None

    def __init__(self, spec, x_shape):
        self.spec, self.x_shape = spec, tuple(x_shape)

    @ieee
    def forward(self, xp, gy, w):
        return self.family.grad_input(xp, gy, w, self.x_shape, self.spec)

    def backward(self, u):
        gy, w = self.inputs
        need = self.needs_input_grad
        g_gy = self.family.Function(self.spec)(u, w) if need[0] else None
        g_w = self.family.GradWeight(self.spec, w.shape)(u, gy) if need[1] else None
        return g_gy, g_w


class _ConvGradWeight(Function):
    """gW = the convolution's weight gradient (correlation of x with gy).
    VJP for cotangent V: g_x = GradInput(gy, V), g_gy = conv(x, V)."""

    amp_policy = "half"
    family = None

    def __init__(self, spec, w_shape, cols=None):
        self.spec, self.w_shape = spec, tuple(w_shape)
        self._cols = cols  # x's columns, when the forward kept them

    @ieee
    def forward(self, xp, x, gy):
        gw = self.family.grad_weight(xp, x, gy, self.w_shape, self.spec, self._cols)
        self._cols = None
        return gw

    def backward(self, v):
        x, gy = self.inputs
        need = self.needs_input_grad
        g_x = self.family.GradInput(self.spec, x.shape)(gy, v) if need[0] else None
        g_gy = self.family.Function(self.spec)(x, v) if need[1] else None
        return g_x, g_gy


class Conv2dFunction(_ConvFunction):
    """y = conv2d(x, W) (+ b).   VJP: gx = Conv2dGradInput(gy, W),
    gW = Conv2dGradWeight(x, gy), gb = Σ_{n,h,w} gy."""


class Conv2dGradInput(_ConvGradInput):
    """gx = conv2d's input gradient (a transposed convolution of gy with W).
    VJP for cotangent u: g_gy = conv2d(u, W), g_W = Conv2dGradWeight(u, gy)."""


class Conv2dGradWeight(_ConvGradWeight):
    """gW = conv2d's weight gradient (correlation of x with gy).
    VJP for cotangent V: g_x = Conv2dGradInput(gy, V), g_gy = conv2d(x, V)."""


_ConvFamily(_conv_forward, _conv_grad_input, _conv_grad_weight, _conv_add_grad_weight).bind(
    Conv2dFunction, Conv2dGradInput, Conv2dGradWeight)


# --------------------------------------------------------------------------- functional


def _same_padding(k, d):
    total = d * (k - 1)
    return (total // 2, total - total // 2)


def _padding_pairs(padding, kernel, stride, dilation, op):
    """Padding as ((top, bottom), (left, right)); 'valid' = 0, 'same' keeps the size
    (stride 1 only; an odd total puts the extra row/column at the end, as PyTorch)."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride})")
            return (_same_padding(kernel[0], dilation[0]), _same_padding(kernel[1], dilation[1]))
        raise ValueError(f"{op}: invalid padding string {padding!r}, expected 'valid' or 'same'")
    ph, pw = _pair(padding, "padding")
    if ph < 0 or pw < 0:
        raise ValueError(f"{op}: negative padding {padding} is not supported")
    return ((ph, ph), (pw, pw))


def _check_conv_args(op, layout, input, weight, stride, dilation, groups, spatial=2):
    """The checks conv2d/conv3d and their transposes share (``spatial`` = 2 or 3 dims).
    Returns the input with a batch dim, whether it had none, and stride and dilation as
    tuples of ``spatial`` ints."""
    if weight.ndim != spatial + 2:
        raise ValueError(f"{op}: weight must be {spatial + 2}-D {layout}, got shape "
                         f"{weight.shape}")
    unbatched = input.ndim == spatial + 1
    if unbatched:
        input = input.unsqueeze(0)
    if input.ndim != spatial + 2:
        dims = ", ".join(("D", "H", "W")[3 - spatial:])
        raise ValueError(f"{op}: expected {spatial + 1}-D (unbatched) or {spatial + 2}-D input "
                         f"(N, C, {dims}), got shape {input.shape}")
    as_tuple = _pair if spatial == 2 else _triple
    stride, dilation = as_tuple(stride, "stride"), as_tuple(dilation, "dilation")
    if min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"{op}: stride {stride} and dilation {dilation} must be positive")
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups!r}")
    return input, unbatched, stride, dilation


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    r"""2-D convolution (cross-correlation) of ``input`` (N, C_in, H, W) or (C_in, H, W)
    with ``weight`` (C_out, C_in/groups, kH, kW); PyTorch's ``F.conv2d``.

    ``padding`` is an int, a pair, ``"valid"`` or ``"same"``.

    Examples
    --------
    >>> import minigrad as mg
    >>> x = mg.ones(1, 1, 4, 4)
    >>> w = mg.ones(1, 1, 3, 3)
    >>> conv2d(x, w, padding=1)[0, 0]
    tensor([[4., 6., 6., 4.],
            [6., 9., 9., 6.],
            [6., 9., 9., 6.],
            [4., 6., 6., 4.]])
    """
    input, unbatched, stride, dilation = _check_conv_args(
        "conv2d", "(C_out, C_in/groups, kH, kW)", input, weight, stride, dilation, groups)
    O, Cg, kh, kw = weight.shape
    C = input.shape[1]
    if O % groups:
        raise ValueError(f"conv2d: out_channels ({O}) must be divisible by groups ({groups})")
    if C != Cg * groups:
        raise ValueError(
            f"conv2d: weight of shape {weight.shape} with groups={groups} expects input with "
            f"{Cg * groups} channels, got input of shape {input.shape}")
    pads = _padding_pairs(padding, (kh, kw), stride, dilation, "conv2d")
    spec = ConvSpec((kh, kw), stride, pads, dilation, groups)
    H, W = input.shape[2:]
    eff = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    padded = (H + pads[0][0] + pads[0][1], W + pads[1][0] + pads[1][1])
    if eff[0] > padded[0] or eff[1] > padded[1]:
        raise ValueError(
            f"conv2d: kernel size {(kh, kw)} (dilated: {eff}) is larger than the padded "
            f"input size {padded} (input {input.shape}, padding {padding})")
    if input.dtype != weight.dtype and autocast_dtype() is None:  # autocast casts both
        raise TypeError(f"conv2d: input dtype {input.dtype} and weight dtype {weight.dtype} "
                        "differ")
    args = (input, weight) if bias is None else (input, weight, bias)
    if bias is not None and bias.shape != (O,):
        raise ValueError(f"conv2d: bias must have shape ({O},), got {bias.shape}")
    y = Conv2dFunction(spec)(*args)
    return y.squeeze(0) if unbatched else y


def _single(op):
    """An int or a 1-tuple as an int (a 1-D convolution's or pooling's stride,
    padding...), or a ValueError naming ``op``."""
    def one(v, what="each size"):
        v = (v,) if isinstance(v, int) else tuple(v)
        if len(v) != 1:
            raise ValueError(f"{op}: expected an int or a 1-tuple for {what}, got {v}")
        return v[0]
    return one


def check_window_1d(op, input, kernel, stride, padding, dilation=1):
    """The 1-D window parameters of ``op`` (conv1d, max_pool1d, avg_pool1d) checked in
    1-D terms, before the op runs as its 2-D counterpart on a height-1 image (whose own
    errors would show the inner 4-D shapes)."""
    for what, v, least in (("kernel size", kernel, 1), ("stride", stride, 1),
                           ("padding", padding, 0), ("dilation", dilation, 1)):
        if v < least:
            raise ValueError(f"{op}: {what} must be at least {least}, got {v}")
    span, length = dilation * (kernel - 1) + 1, input.shape[-1] + 2 * padding
    if span > length:
        raise ValueError(f"{op}: the kernel spans {span} positions (size {kernel}, dilation "
                         f"{dilation}), more than the padded input length {length} (input "
                         f"shape {input.shape}, padding {padding})")


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of ``input`` (N, C_in, L) or (C_in, L) with ``weight``
    (C_out, C_in/groups, k): conv2d on a height-1 image."""
    if weight.ndim != 3:
        raise ValueError(f"conv1d: weight must be 3-D (C_out, C_in/groups, k), got shape "
                         f"{weight.shape}")
    unbatched = input.ndim == 2
    if unbatched:
        input = input.unsqueeze(0)
    if input.ndim != 3:
        raise ValueError(f"conv1d: expected 2-D (unbatched) or 3-D input (N, C, L), got "
                         f"shape {input.shape}")

    one = _single("conv1d")
    stride, dilation = one(stride, "stride"), one(dilation, "dilation")
    if not isinstance(padding, str):
        check_window_1d("conv1d", input, weight.shape[-1], stride, one(padding, "padding"),
                        dilation)
        padding = (0, one(padding, "padding"))
    y = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, stride), padding,
               (1, dilation), groups)
    y = y.squeeze(2)
    return y.squeeze(0) if unbatched else y


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    r"""2-D transposed convolution of ``input`` (N, C_in, H, W) or (C_in, H, W) with
    ``weight`` (C_in, C_out/groups, kH, kW); PyTorch's ``F.conv_transpose2d``.

    It is the gradient of :func:`conv2d` with respect to its input: each input pixel
    scatters W·x into a kH×kW window of the output, windows s apart, and the outer
    ``padding`` rows and columns are cut off. Output size
    H_out = (H − 1)·s − 2p + d(k − 1) + output_padding + 1; ``output_padding`` (< s or
    < d) picks one of the several sizes a strided conv2d maps to size H.

    Examples
    --------
    >>> import minigrad as mg
    >>> x = mg.ones(1, 1, 2, 2)
    >>> w = mg.ones(1, 1, 3, 3)
    >>> conv_transpose2d(x, w, stride=2)[0, 0]
    tensor([[1., 1., 2., 1., 1.],
            [1., 1., 2., 1., 1.],
            [2., 2., 4., 2., 2.],
            [1., 1., 2., 1., 1.],
            [1., 1., 2., 1., 1.]])
    """
    op = "conv_transpose2d"
    input, unbatched, stride, dilation = _check_conv_args(
        op, "(C_in, C_out/groups, kH, kW)", input, weight, stride, dilation, groups)
    padding, output_padding = _pair(padding, "padding"), _pair(output_padding, "output_padding")
    if min(padding) < 0:
        raise ValueError(f"{op}: negative padding {padding} is not supported")
    for o, s_, d in zip(output_padding, stride, dilation):
        if not 0 <= o < max(s_, d):
            raise ValueError(f"{op}: output_padding {output_padding} must be smaller than "
                             f"the stride {stride} or the dilation {dilation}")
    C, Og, kh, kw = weight.shape
    if input.shape[1] != C or C % groups:
        raise ValueError(f"{op}: weight of shape {weight.shape} with groups={groups} expects "
                         f"input with {C} channels (divisible by groups), got input of shape "
                         f"{input.shape}")
    if input.dtype != weight.dtype and autocast_dtype() is None:
        raise TypeError(f"{op}: input dtype {input.dtype} and weight dtype {weight.dtype} "
                        "differ")
    O = Og * groups
    if bias is not None and bias.shape != (O,):
        raise ValueError(f"{op}: bias must have shape ({O},), got {bias.shape}")
    H, W = input.shape[2:]
    Ho, Wo = ((n - 1) * s_ - 2 * p + d * (k - 1) + o + 1 for n, s_, p, d, k, o in
              zip((H, W), stride, padding, dilation, (kh, kw), output_padding))
    if Ho < 1 or Wo < 1:
        raise ValueError(f"{op}: the output size ({Ho}, {Wo}) of input {input.shape} is not "
                         f"positive (padding {padding} too large)")
    spec = ConvSpec((kh, kw), stride, tuple((p, p) for p in padding), dilation, groups)
    # The conv2d whose input gradient this is maps (Ho, Wo) to (H, W), or, when an
    # output_padding ≥ s (allowed for d > s) adds a row the stride reaches, to one more:
    # that row's gradient is zero, so pad it in.
    Hc, Wc = spec.out_size(Ho, Wo)
    if (Hc, Wc) != (H, W):
        input = pad(input, (0, Wc - W, 0, Hc - H))
    y = Conv2dGradInput(spec, (input.shape[0], O, Ho, Wo))(input, weight)
    if bias is not None:
        # under autocast y is half: the bias joins it in half (as conv2d's, cast with its
        # operands), not promoting the output back to float32
        (bias,) = autocast_inputs(bias)
        y = y + bias.reshape(1, O, 1, 1)
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """1-D transposed convolution of ``input`` (N, C_in, L) or (C_in, L) with ``weight``
    (C_in, C_out/groups, k): conv_transpose2d on a height-1 image."""
    if weight.ndim != 3:
        raise ValueError(f"conv_transpose1d: weight must be 3-D (C_in, C_out/groups, k), got "
                         f"shape {weight.shape}")
    if input.ndim not in (2, 3):
        raise ValueError(f"conv_transpose1d: expected 2-D (unbatched) or 3-D input "
                         f"(N, C, L), got shape {input.shape}")
    one = _single("conv_transpose1d")
    y = conv_transpose2d(input.unsqueeze(-2), weight.unsqueeze(2), bias,
                         (1, one(stride, "stride")), (0, one(padding, "padding")),
                         (0, one(output_padding, "output_padding")), groups,
                         (1, one(dilation, "dilation")))
    return y.squeeze(-2)


# --------------------------------------------------------------------------- modules


class _ConvNd(Module):
    _dims = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None):
        super().__init__()
        self._build(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                    bias, padding_mode, device, dtype, output_padding=0)

    def _build(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
               groups, bias, padding_mode, device, dtype, output_padding):
        """The layer's checks, attributes and parameters (shared with the transposed
        convolutions, which alone take ``output_padding``)."""
        name = type(self).__name__
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by "
                             f"groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by "
                             f"groups ({groups})")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"{name}: padding_mode must be one of 'zeros', 'reflect', "
                             f"'replicate' or 'circular', got {padding_mode!r}")
        n = self._dims
        tup = (lambda v: (v,) * n if isinstance(v, int) else tuple(v))
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = tup(kernel_size)
        self.stride = tup(stride)
        self.padding = padding if isinstance(padding, str) else tup(padding)
        self.dilation = tup(dilation)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, expected "
                                 "'valid' or 'same'")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 "convolutions")
        for what, v in (("kernel_size", self.kernel_size), ("stride", self.stride),
                        ("dilation", self.dilation)):
            if len(v) != n or any(t < 1 for t in v):
                raise ValueError(f"{name}: {what} must be {n} positive ints, got {v}")
        self.output_padding = tup(output_padding)
        self.groups = groups
        self.padding_mode = padding_mode
        from .. import creation

        # conv: (C_out, C_in/g, k...); transposed, the adjoint map: (C_in, C_out/g, k...)
        channels = ((in_channels, out_channels // groups) if self._transposed
                    else (out_channels, in_channels // groups))
        self.weight = Parameter(creation.empty(channels + self.kernel_size, dtype=dtype,
                                               device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: W ~ kaiming_uniform_(a=√5) (U[±1/√fan_in]), b ~ U[±1/√fan_in]."""
        init.reset_layer_(self.weight, self.bias)

    def forward(self, input):
        self._check_input(input)
        if self.padding_mode == "zeros":
            return self._functional(input, self.weight, self.bias, self.stride, self.padding,
                                    self.dilation, self.groups)
        # pad in the mode first, then convolve without padding (as PyTorch)
        widths = [w for pair in reversed(self._padding_pairs()) for w in pair]  # F.pad order
        try:
            padded = pad(input, widths, self.padding_mode)
        except ValueError as e:
            raise ValueError(f"{self!r}: {e}") from None
        return self._functional(padded, self.weight, self.bias, self.stride, 0,
                                self.dilation, self.groups)

    def _padding_pairs(self):
        """(before, after) for each spatial dim; 'same' puts an odd extra at the end."""
        if self.padding == "valid":
            return [(0, 0)] * self._dims
        if self.padding == "same":
            return [_same_padding(k, d) for k, d in zip(self.kernel_size, self.dilation)]
        return [(p, p) for p in self.padding]

    def _check_input(self, x):
        n = self._dims
        if not isinstance(x, Tensor):
            raise TypeError(f"{self!r}: expected a Tensor input, got {type(x).__name__}")
        if x.ndim not in (n + 1, n + 2) or x.shape[-n - 1] != self.in_channels:
            spatial = {1: "L", 2: "H, W", 3: "D, H, W"}[n]
            raise ValueError(
                f"{self!r}: expected input of shape (N, {self.in_channels}, {spatial}) or "
                f"({self.in_channels}, {spatial}), got {x.shape}")

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._dims:
            s += f", padding={self.padding}"  # PyTorch's text: padding=same, unquoted
        if self.dilation != (1,) * self._dims:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._dims:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"  # unquoted, as PyTorch prints it
        return s


class Conv2d(_ConvNd):
    r"""2-D convolution layer (PyTorch's ``nn.Conv2d``; see :func:`conv2d`).

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, padding, dilation : int or pair (``padding`` also
        ``"valid"``/``"same"``)
    groups : int
        ``groups = in_channels`` is a depthwise convolution.
    bias : bool
    padding_mode : ``"zeros"`` (default), ``"reflect"``, ``"replicate"`` or ``"circular"``

    Shapes: weight (C_out, C_in/groups, kH, kW), bias (C_out,); input (N, C_in, H, W),
    output (N, C_out, H_out, W_out) with
    H_out = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1.

    Examples
    --------
    >>> import minigrad as mg
    >>> conv = Conv2d(3, 8, 3, padding=1)
    >>> conv(mg.randn(2, 3, 16, 16)).shape
    (2, 8, 16, 16)
    >>> conv
    Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    """

    _functional = staticmethod(conv2d)


class Conv1d(_ConvNd):
    r"""1-D convolution layer (PyTorch's ``nn.Conv1d``): weight (C_out, C_in/groups, k),
    input (N, C_in, L)."""

    _dims = 1
    _functional = staticmethod(conv1d)


class _ConvTransposeNd(_ConvNd):
    """The transposed convolutions: PyTorch's argument order (output_padding, groups, bias,
    dilation), weight (C_in, C_out/groups, k...), zero padding only (as PyTorch)."""

    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        name = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported (as in "
                             f"PyTorch), got {padding_mode!r}")
        if isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int or a tuple, got {padding!r}")
        Module.__init__(self)
        self._build(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                    bias, padding_mode, device, dtype, output_padding)

    def forward(self, input, output_size=None):
        """``output_size`` (the trailing spatial sizes, or a full shape) picks the
        output_padding that gives that size, as PyTorch's ``forward(input, output_size)``."""
        self._check_input(input)
        output_padding = (self.output_padding if output_size is None
                          else self._output_padding_for(input, output_size))
        return self._functional(input, self.weight, self.bias, self.stride, self.padding,
                                output_padding, self.groups, self.dilation)

    def _output_padding_for(self, input, output_size):
        n = self._dims
        size = tuple(output_size)[-n:]
        if len(size) != n:
            raise ValueError(f"{self!r}: output_size {tuple(output_size)} needs {n} spatial "
                             "sizes")
        out = []
        for L, want, k, s_, p, d in zip(input.shape[-n:], size, self.kernel_size, self.stride,
                                        self.padding, self.dilation):
            smallest = (L - 1) * s_ - 2 * p + d * (k - 1) + 1
            if not 0 <= want - smallest < max(s_, d):
                raise ValueError(f"{self!r}: output_size {size} is out of reach for input "
                                 f"{input.shape}: each size must be in [{smallest}, "
                                 f"{smallest + max(s_, d) - 1}]")
            out.append(want - smallest)
        return tuple(out)


class ConvTranspose2d(_ConvTransposeNd):
    r"""2-D transposed convolution layer (PyTorch's ``nn.ConvTranspose2d``; see
    :func:`conv_transpose2d`): the adjoint of a Conv2d, used to upsample in decoders.

    Shapes: weight (C_in, C_out/groups, kH, kW), bias (C_out,); input (N, C_in, H, W),
    output (N, C_out, H_out, W_out) with H_out = (H − 1)s − 2p + d(k − 1) + output_padding + 1.

    Examples
    --------
    >>> import minigrad as mg
    >>> up = ConvTranspose2d(8, 3, 3, stride=2, padding=1, output_padding=1)
    >>> up(mg.randn(2, 8, 16, 16)).shape
    (2, 3, 32, 32)
    >>> up
    ConvTranspose2d(8, 3, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1))
    """

    _functional = staticmethod(conv_transpose2d)


class ConvTranspose1d(_ConvTransposeNd):
    r"""1-D transposed convolution layer (PyTorch's ``nn.ConvTranspose1d``): weight
    (C_in, C_out/groups, k), input (N, C_in, L)."""

    _dims = 1
    _functional = staticmethod(conv_transpose1d)
