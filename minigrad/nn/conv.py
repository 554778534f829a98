r"""Convolutions: ``conv1d``/``conv2d`` and the ``Conv1d``/``Conv2d`` modules.

Cross-correlation, as every framework computes it (PyTorch's definition):

.. math::
    y[n, o, h, w] = b[o] + \sum_{c \in \text{group}(o)} \sum_{i, j}
        W[o, c, i, j]\; x_{\text{pad}}[n, c,\; h s_h + i d_h,\; w s_w + j d_w]

with stride s, dilation d, zero padding, and ``groups`` g: the C input channels and the
O output channels are split into g groups and group k of outputs sees only group k of
inputs (g = C = O is a depthwise convolution; a 1×1 kernel a pointwise one).

How it is computed (im2col). A stride-tricks *view* of the padded input lists, for every
sample, group and output pixel, the receptive field it sees: shape
(N, g, C/g, kH, kW, H_out, W_out), no copy. Reshaping it to ``cols``
(N, g, C/g·kH·kW, H_out·W_out) copies once, and the whole convolution is then one
batched matrix product, already in (N, C_out, H_out, W_out) order::

    Y[n, k] = W_k @ cols[n, k]             (O/g, H_out·W_out) for group k

(For small images the columns of the whole batch go into one matrix per group,
(C/g·kH·kW, N·H_out·W_out), so that a single large product replaces N tiny ones.)
The backward pass is two more products with the same matrices::

    gW_k = Σ_n gY[n, k] @ cols[n, k]ᵀ                  (the weight gradient)
    gcols_k = W_kᵀ @ gY_k,  gx = col2im(gcols)          (the input gradient)

col2im adds each kernel offset's slab of ``gcols`` back into the padded input: a loop
over the kH·kW kernel positions only, each iteration a vectorized strided add (computed
with the batch as the last axis, so that each add runs over long contiguous rows).

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

Conv1d is Conv2d on a height-1 image.
"""
from __future__ import annotations

import math

import numpy as np

from ..amp.autocast_mode import autocast_dtype, half_matmul
from ..autograd.function import Function
from ..tensor import Tensor
from . import init
from .module import Module, Parameter

__all__ = ["conv1d", "conv2d", "Conv1d", "Conv2d"]


def _pair(v, what="value"):
    if isinstance(v, int):
        return (v, v)
    v = tuple(int(t) for t in v)
    if len(v) == 1:
        return (v[0], v[0])
    if len(v) != 2:
        raise ValueError(f"expected an int or a pair for {what}, got {v}")
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


def _pad(xp, x, s):
    if s.pt or s.pb or s.pl or s.pr:
        return xp.pad(x, ((0, 0), (0, 0), (s.pt, s.pb), (s.pl, s.pr)))
    return x


# Below this many output pixels per image, the per-image products of the batched layout
# are too small to keep BLAS busy (and to use a second thread); one big product over
# the whole batch is faster then, even with the transposes it needs.
_ONE_PRODUCT_MAX_PIXELS = 256


def _im2col(xp, x, s):
    """The receptive field of every output pixel as a column (one copy of a
    stride-tricks view), in one of two layouts:

    - per image, (N, g, C/g·kh·kw, Ho·Wo), when the images are large;
    - one matrix per group, (g, C/g·kh·kw, N·Ho·Wo), when they are small.
    """
    N, C, H, W = x.shape
    Ho, Wo = s.out_size(H, W)
    xpad = _pad(xp, x, s)
    g = s.groups
    Cg = C // g
    K = Cg * s.kh * s.kw
    sN, sC, sH, sW = xpad.strides
    taps = (sC, sH * s.dh, sW * s.dw)  # strides of (c, i, j) inside one receptive field
    pixels = (sH * s.sh, sW * s.sw)  # strides of (h, w) between output pixels
    if Ho * Wo > _ONE_PRODUCT_MAX_PIXELS:
        view = xp.lib.stride_tricks.as_strided(
            xpad, shape=(N, g, Cg, s.kh, s.kw, Ho, Wo),
            strides=(sN, Cg * sC) + taps + pixels)
        return view.reshape(N, g, K, Ho * Wo), Ho, Wo
    view = xp.lib.stride_tricks.as_strided(
        xpad, shape=(g, Cg, s.kh, s.kw, N, Ho, Wo),
        strides=(Cg * sC,) + taps + (sN,) + pixels)
    return view.reshape(g, K, N * Ho * Wo), Ho, Wo


def _conv_forward(xp, x, w, s, cols=None):
    """y = conv(x, w) as arrays; returns (y, cols).

    Per-image layout: W_g (O/g, K/g) @ cols[n, g] (K/g, L), already in (N, O, Ho, Wo)
    order. One-product layout: W_g @ cols[g] (K/g, N·L), then (g, O/g, N, L) is
    transposed to (N, O, Ho, Wo)."""
    N = x.shape[0]
    O = w.shape[0]
    g = s.groups
    if cols is None:
        cols, Ho, Wo = _im2col(xp, x, s)
    else:
        Ho, Wo = s.out_size(x.shape[2], x.shape[3])
    y = half_matmul(xp, w.reshape(g, O // g, -1), cols)
    if cols.ndim == 4:  # (N, g, O/g, L)
        return y.reshape(N, O, Ho, Wo), cols
    y = y.reshape(g, O // g, N, Ho * Wo).transpose(2, 0, 1, 3)
    return xp.ascontiguousarray(y).reshape(N, O, Ho, Wo), cols


def _conv_grad_weight(xp, x, gy, w_shape, s, cols=None):
    """gW_g = Σ_n gy[n, g] cols[n, g]ᵀ (per-image layout: batched products summed over n;
    one-product layout: (O/g, N·L) @ (N·L, K/g))."""
    if cols is None:
        cols, _, _ = _im2col(xp, x, s)
    N, O = gy.shape[:2]
    g = s.groups
    gy_ = gy.reshape(N, g, O // g, -1)
    if cols.ndim == 4:
        # float32 products: the sum over the batch must not round to half per term
        gw = half_matmul(xp, gy_, cols.transpose(0, 1, 3, 2), out_dtype=np.float32)
        gw = gw.sum(axis=0).astype(gy.dtype, copy=False)
    else:
        gy_t = gy_.transpose(1, 2, 0, 3).reshape(g, O // g, -1)
        gw = half_matmul(xp, gy_t, cols.transpose(0, 2, 1))
    return gw.reshape(w_shape)


def _conv_grad_input(xp, gy, w, x_shape, s):
    """gx = col2im(Wᵀ gy). Batch-last layout: per group one product
    (K/g, O/g) @ (O/g, Ho·Wo·N), then each kernel offset's slab (C/g, Ho, Wo, N) is added
    back into the padded input (kh·kw strided adds whose inner runs are Wo·N long)."""
    N, C, H, W = x_shape
    g = s.groups
    Cg = C // g
    O = w.shape[0]
    Ho, Wo = gy.shape[2], gy.shape[3]
    wg = w.reshape(g, O // g, -1)
    gy_t = gy.reshape(N, g, O // g, Ho, Wo).transpose(1, 2, 3, 4, 0).reshape(g, O // g, -1)
    gcols = half_matmul(xp, wg.transpose(0, 2, 1), gy_t).reshape(g, Cg, s.kh, s.kw, Ho, Wo, N)
    Hp, Wp = H + s.pt + s.pb, W + s.pl + s.pr
    gxp = xp.zeros((g, Cg, Hp, Wp, N), dtype=gy.dtype)
    for i in range(s.kh):
        h0 = i * s.dh
        hs = slice(h0, h0 + s.sh * (Ho - 1) + 1, s.sh)
        for j in range(s.kw):
            w0 = j * s.dw
            gxp[:, :, hs, w0:w0 + s.sw * (Wo - 1) + 1:s.sw] += gcols[:, :, i, j]
    gxp = gxp[:, :, s.pt:s.pt + H, s.pl:s.pl + W]
    return xp.ascontiguousarray(gxp.transpose(4, 0, 1, 2, 3)).reshape(N, C, H, W)


class Conv2dFunction(Function):
    """y = conv2d(x, W) (+ b).   VJP: gx = Conv2dGradInput(gy, W),
    gW = Conv2dGradWeight(x, gy), gb = Σ_{n,h,w} gy."""

    amp_policy = "half"

    def __init__(self, spec):
        self.spec = spec
        self._cols = None

    def forward(self, xp, x, w, *b):
        y, cols = _conv_forward(xp, x, w, self.spec)
        self._cols = cols  # reused by the weight gradient; dropped by release()
        if b:
            y += b[0].reshape(1, -1, 1, 1)
        return y

    def backward(self, gy):
        x, w = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        gx = Conv2dGradInput(self.spec, x.shape)(gy, w) if need[0] else None
        gw = Conv2dGradWeight(self.spec, w.shape, self._cols)(x, gy) if need[1] else None
        out = (gx, gw)
        if len(self.inputs) == 3:
            out += (gy.sum((0, 2, 3)) if need[2] else None,)
        return out

    def release(self):
        super().release()
        self._cols = None


class Conv2dGradInput(Function):
    """gx = conv2d's input gradient (a transposed convolution of gy with W).
    VJP for cotangent u: g_gy = conv2d(u, W), g_W = Conv2dGradWeight(u, gy)."""

    amp_policy = "half"

    def __init__(self, spec, x_shape):
        self.spec, self.x_shape = spec, tuple(x_shape)

    def forward(self, xp, gy, w):
        return _conv_grad_input(xp, gy, w, self.x_shape, self.spec)

    def backward(self, u):
        gy, w = self.inputs
        need = self.needs_input_grad
        g_gy = Conv2dFunction(self.spec)(u, w) if need[0] else None
        g_w = Conv2dGradWeight(self.spec, w.shape)(u, gy) if need[1] else None
        return g_gy, g_w


class Conv2dGradWeight(Function):
    """gW = conv2d's weight gradient (correlation of x with gy).
    VJP for cotangent V: g_x = Conv2dGradInput(gy, V), g_gy = conv2d(x, V)."""

    amp_policy = "half"

    def __init__(self, spec, w_shape, cols=None):
        self.spec, self.w_shape = spec, tuple(w_shape)
        self._cols = cols

    def forward(self, xp, x, gy):
        gw = _conv_grad_weight(xp, x, gy, self.w_shape, self.spec, self._cols)
        self._cols = None
        return gw

    def backward(self, v):
        x, gy = self.inputs
        need = self.needs_input_grad
        g_x = Conv2dGradInput(self.spec, x.shape)(gy, v) if need[0] else None
        g_gy = Conv2dFunction(self.spec)(x, v) if need[1] else None
        return g_x, g_gy


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
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must be 4-D (C_out, C_in/groups, kH, kW), got shape "
                         f"{weight.shape}")
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    if input.ndim != 4:
        raise ValueError(f"conv2d: expected 3-D (unbatched) or 4-D input (N, C, H, W), got "
                         f"shape {input.shape}")
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    if min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"conv2d: stride {stride} and dilation {dilation} must be positive")
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"conv2d: groups must be a positive integer, got {groups!r}")
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

    def one(v, what):
        v = (v,) if isinstance(v, int) else tuple(v)
        if len(v) != 1:
            raise ValueError(f"conv1d: expected an int or a 1-tuple for {what}, got {v}")
        return v[0]

    stride, dilation = one(stride, "stride"), one(dilation, "dilation")
    if not isinstance(padding, str):
        padding = (0, one(padding, "padding"))
    y = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, stride), padding,
               (1, dilation), groups)
    y = y.squeeze(2)
    return y.squeeze(0) if unbatched else y


# --------------------------------------------------------------------------- modules


class _ConvNd(Module):
    _dims = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, bias, padding_mode, device, dtype):
        super().__init__()
        name = type(self).__name__
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by "
                             f"groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by "
                             f"groups ({groups})")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is implemented, got "
                             f"{padding_mode!r}")
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
        self.groups = groups
        self.padding_mode = padding_mode
        from .. import creation

        self.weight = Parameter(creation.empty(
            (out_channels, in_channels // groups) + self.kernel_size, dtype=dtype,
            device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: W ~ kaiming_uniform_(a=√5) (U[±1/√fan_in]), b ~ U[±1/√fan_in]."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _check_input(self, x):
        n = self._dims
        if not isinstance(x, Tensor):
            raise TypeError(f"{self!r}: expected a Tensor input, got {type(x).__name__}")
        if x.ndim not in (n + 1, n + 2) or x.shape[-n - 1] != self.in_channels:
            spatial = ", ".join("HW"[i] if n == 2 else "L" for i in range(n))
            raise ValueError(
                f"{self!r}: expected input of shape (N, {self.in_channels}, {spatial}) or "
                f"({self.in_channels}, {spatial}), got {x.shape}")

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._dims:
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) \
                else f", padding={self.padding}"
        if self.dilation != (1,) * self._dims:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
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

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)

    def forward(self, input):
        self._check_input(input)
        return conv2d(input, self.weight, self.bias, self.stride, self.padding,
                      self.dilation, self.groups)


class Conv1d(_ConvNd):
    r"""1-D convolution layer (PyTorch's ``nn.Conv1d``): weight (C_out, C_in/groups, k),
    input (N, C_in, L)."""

    _dims = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)

    def forward(self, input):
        self._check_input(input)
        return conv1d(input, self.weight, self.bias, self.stride, self.padding,
                      self.dilation, self.groups)
