r"""Pooling: ``max_pool2d``, ``avg_pool2d``, ``adaptive_avg_pool2d`` (and 1-D forms) with
their modules.

Every window op here is a loop over the kH·kW kernel offsets, each iteration one
vectorized strided slice of the padded input (never a loop over pixels):

- max pooling keeps the running maximum and which offset gave it (the first one on ties,
  as PyTorch). Its gradient sends gy to that offset; the scatter (gradient) and the
  gather (its adjoint) are each other's VJP, so every derivative order exists.
- average pooling is a window *sum* (linear; its VJP is the adjoint scatter, whose VJP
  is the window sum again) divided by the window size;
- adaptive max pooling finds each window's argmax on the arrays and gathers it;
- adaptive average pooling averages the rectangle [⌊iH/H_o⌋, ⌈(i+1)H/H_o⌉) ×
  [⌊jW/W_o⌋, ⌈(j+1)W/W_o⌉); an average over a rectangle is separable, so
  y = P_H · x · P_Wᵀ with two constant averaging matrices (two matmuls).
"""
from __future__ import annotations

import numpy as np

from ..amp.autocast_mode import is_half
from ..autograd.function import Function
from ..dtypes import is_floating
from ..ops.elementwise import const
from ..tensor import Tensor, _make_tensor
from .conv import _pair, _single
from .module import Module

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "max_pool1d", "avg_pool1d",
           "adaptive_avg_pool1d", "adaptive_max_pool1d", "adaptive_max_pool2d", "MaxPool2d",
           "AvgPool2d", "AdaptiveAvgPool2d", "MaxPool1d", "AvgPool1d", "AdaptiveAvgPool1d",
           "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]


class PoolSpec:
    """Window geometry: kernel, stride, dilation, the user padding and the extra padding
    at the bottom/right that ``ceil_mode`` needs; output size."""

    __slots__ = ("kh", "kw", "sh", "sw", "ph", "pw", "dh", "dw", "eh", "ew", "Ho", "Wo",
                 "H", "W")

    def __init__(self, op, shape, kernel, stride, padding, dilation, ceil_mode):
        self.kh, self.kw = _pair(kernel, "kernel_size")
        stride = kernel if stride is None or stride == () or stride == [] else stride
        self.sh, self.sw = _pair(stride, "stride")
        self.ph, self.pw = _pair(padding, "padding")
        self.dh, self.dw = _pair(dilation, "dilation")
        if min(self.kh, self.kw, self.sh, self.sw, self.dh, self.dw) < 1:
            raise ValueError(f"{op}: kernel_size, stride and dilation must be positive, got "
                             f"kernel_size={kernel}, stride={stride}, dilation={dilation}")
        if self.ph < 0 or self.pw < 0:
            raise ValueError(f"{op}: padding must be non-negative, got {padding}")
        ekh, ekw = self.dh * (self.kh - 1) + 1, self.dw * (self.kw - 1) + 1
        if self.ph > ekh // 2 or self.pw > ekw // 2:
            raise ValueError(f"{op}: padding {(self.ph, self.pw)} should be at most half of "
                             f"the (dilated) kernel size {(ekh, ekw)}")
        self.H, self.W = shape[-2], shape[-1]
        self.Ho = self._out(self.H, self.ph, ekh, self.sh, ceil_mode)
        self.Wo = self._out(self.W, self.pw, ekw, self.sw, ceil_mode)
        if self.Ho < 1 or self.Wo < 1:
            raise ValueError(
                f"{op}: kernel size {(self.kh, self.kw)} (dilated: {(ekh, ekw)}) is larger "
                f"than the padded input size {(self.H + 2 * self.ph, self.W + 2 * self.pw)} "
                f"(input shape {tuple(shape)})")
        # extra rows/cols past the right padding that ceil_mode windows reach
        self.eh = max(0, (self.Ho - 1) * self.sh + ekh - (self.H + 2 * self.ph))
        self.ew = max(0, (self.Wo - 1) * self.sw + ekw - (self.W + 2 * self.pw))

    @staticmethod
    def _out(size, p, ek, s, ceil_mode):
        span = size + 2 * p - ek
        if span < 0:
            return 0
        n = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (n - 1) * s >= size + p:  # the last window must start inside
            n -= 1
        return n

    def padded(self, xp, x, value):
        if self.ph or self.pw or self.eh or self.ew:
            pad = ((0, 0),) * (x.ndim - 2) + ((self.ph, self.ph + self.eh),
                                              (self.pw, self.pw + self.ew))
            return xp.pad(x, pad, constant_values=value)
        return x

    def window(self, i, j):
        """The index of kernel offset (i, j) across all output positions."""
        h0, w0 = i * self.dh, j * self.dw
        return (Ellipsis, slice(h0, h0 + self.sh * (self.Ho - 1) + 1, self.sh),
                slice(w0, w0 + self.sw * (self.Wo - 1) + 1, self.sw))

    def offsets(self):
        for i in range(self.kh):
            for j in range(self.kw):
                yield i * self.kw + j, self.window(i, j)

    def crop(self, a):
        if self.ph or self.pw or self.eh or self.ew:
            return a[..., self.ph:self.ph + self.H, self.pw:self.pw + self.W]
        return a


# --------------------------------------------------------------------------- max


class MaxPool2dFunction(Function):
    """y = max over each window.   VJP: gx = gy scattered to the argmax of each window."""

    def __init__(self, spec):
        self.spec = spec

    def forward(self, xp, x):
        s = self.spec
        floating = is_floating(x.dtype)
        fill = -xp.inf if floating else np.iinfo(x.dtype).min
        xpad = s.padded(xp, x, fill)
        nan = floating and bool(xp.isnan(x).any())
        small = s.kh * s.kw < 128
        y = arg = None
        for k, win in s.offsets():
            v = xpad[win]
            if y is None:
                y = v.copy()
                arg = xp.zeros(y.shape, dtype=np.int8 if small else np.int32)
                continue
            better = v > y  # strict: the first maximum wins, as PyTorch
            if nan:  # the first NaN of a window wins and propagates, as PyTorch
                better |= xp.isnan(v) & ~xp.isnan(y)
            xp.maximum(y, v, out=y)
            b = better.view(np.int8) if small else better.astype(np.int32)
            arg += b * (k - arg)  # arg = k where better (arithmetic: faster than where)
        self.arg = arg
        return y

    def backward(self, gy):
        return MaxPoolScatter(self.spec, self.arg, self.inputs[0].shape)(gy)


class MaxPoolScatter(Function):
    """gx = gy placed at each window's argmax (linear in gy).   VJP: MaxPoolGather."""

    def __init__(self, spec, arg, x_shape):
        self.spec, self.arg, self.x_shape = spec, arg, x_shape

    def forward(self, xp, gy):
        s = self.spec
        lead = self.x_shape[:-2]
        gxp = xp.zeros(lead + (s.H + 2 * s.ph + s.eh, s.W + 2 * s.pw + s.ew), dtype=gy.dtype)
        disjoint = s.sh >= s.dh * (s.kh - 1) + 1 and s.sw >= s.dw * (s.kw - 1) + 1
        for k, win in s.offsets():
            if disjoint:  # each input position is in at most one window: write, not add
                xp.multiply(gy, self.arg == k, out=gxp[win])
            else:
                gxp[win] += gy * (self.arg == k)
        return s.crop(gxp)

    def backward(self, u):
        return MaxPoolGather(self.spec, self.arg, self.x_shape)(u)


class MaxPoolGather(Function):
    """y = u read at each window's argmax (linear in u).   VJP: MaxPoolScatter."""

    def __init__(self, spec, arg, x_shape):
        self.spec, self.arg, self.x_shape = spec, arg, x_shape

    def forward(self, xp, u):
        s = self.spec
        upad = s.padded(xp, u, 0)
        y = xp.zeros(self.arg.shape, dtype=u.dtype)
        for k, win in s.offsets():
            y += upad[win] * (self.arg == k)
        return y

    def backward(self, gy):
        return MaxPoolScatter(self.spec, self.arg, self.x_shape)(gy)


def _spatial_input(x, op, n):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.ndim not in (n + 1, n + 2):
        raise ValueError(f"{op}: expected {n + 1}-D (unbatched) or {n + 2}-D input, got shape "
                         f"{x.shape}")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling of (N, C, H, W) or (C, H, W) (PyTorch's ``F.max_pool2d``).

    ``return_indices=True`` also returns the flat index h·W + w of each maximum in its
    input plane (int64, as PyTorch).

    >>> import minigrad as mg
    >>> x = mg.arange(16.0).reshape(1, 1, 4, 4)
    >>> max_pool2d(x, 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    _spatial_input(input, "max_pool2d", 2)
    spec = PoolSpec("max_pool2d", input.shape, kernel_size, stride, padding, dilation,
                    ceil_mode)
    fn = MaxPool2dFunction(spec)
    y = fn(input)
    if not return_indices:
        return y
    xp = input.xp
    i, j = fn.arg // spec.kw, fn.arg % spec.kw
    h = xp.arange(spec.Ho).reshape(-1, 1) * spec.sh - spec.ph + i * spec.dh
    w = xp.arange(spec.Wo).reshape(1, -1) * spec.sw - spec.pw + j * spec.dw
    return y, _make_tensor((h * spec.W + w).astype(np.int64), xp, False)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling of (N, C, L) or (C, L): max_pool2d on a height-1 image."""
    _spatial_input(input, "max_pool1d", 1)
    one = _single("max_pool1d")
    out = max_pool2d(input.unsqueeze(-2), (1, one(kernel_size)),
                     None if stride is None else (1, one(stride)), (0, one(padding)),
                     (1, one(dilation)), ceil_mode, return_indices)
    if return_indices:
        return out[0].squeeze(-2), _make_tensor(out[1].data[..., 0, :], None, False)
    return out.squeeze(-2)


# --------------------------------------------------------------------------- average


class WindowSum(Function):
    """y = Σ over each window (zero padding).   VJP: gx = WindowSumAdjoint(gy)."""

    def __init__(self, spec):
        self.spec = spec

    def forward(self, xp, x):
        s = self.spec
        xpad = s.padded(xp, x, 0)
        acc = np.float32 if is_half(x.dtype) else x.dtype  # PyTorch's accumulate type
        y = None
        for _, win in s.offsets():
            y = xpad[win].astype(acc) if y is None else y + xpad[win]
        return y.astype(x.dtype, copy=False)

    def backward(self, gy):
        return WindowSumAdjoint(self.spec, self.inputs[0].shape)(gy)


class WindowSumAdjoint(Function):
    """gx = gy added back into every position of its window.   VJP: WindowSum."""

    def __init__(self, spec, x_shape):
        self.spec, self.x_shape = spec, x_shape

    def forward(self, xp, gy):
        s = self.spec
        gxp = xp.zeros(self.x_shape[:-2] + (s.H + 2 * s.ph + s.eh, s.W + 2 * s.pw + s.ew),
                       dtype=gy.dtype)
        for _, win in s.offsets():
            gxp[win] += gy
        return s.crop(gxp)

    def backward(self, u):
        return WindowSum(self.spec)(u)


def _window_counts(xp, spec, count_include_pad, dtype):
    """Divisor per output position: how many elements of the padded (or, without
    ``count_include_pad``, the real) input each window covers; ceil_mode overhang
    is never counted (PyTorch's rule)."""
    s = spec
    m = np.zeros((s.H + 2 * s.ph + s.eh, s.W + 2 * s.pw + s.ew))
    if count_include_pad:
        m[:s.H + 2 * s.ph, :s.W + 2 * s.pw] = 1
    else:
        m[s.ph:s.ph + s.H, s.pw:s.pw + s.W] = 1
    count = sum(m[win] for _, win in s.offsets())
    return xp.asarray(count, dtype=dtype)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling (PyTorch's ``F.avg_pool2d``): window sum / window size.

    >>> import minigrad as mg
    >>> avg_pool2d(mg.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 2.5,  4.5],
              [10.5, 12.5]]]])
    """
    _spatial_input(input, "avg_pool2d", 2)
    spec = PoolSpec("avg_pool2d", input.shape, kernel_size, stride, padding, 1, ceil_mode)
    total = WindowSum(spec)(input)
    if divisor_override is not None:
        if divisor_override == 0:
            raise ValueError("avg_pool2d: divisor_override must be non-zero")
        return total * (1.0 / divisor_override)
    if not (spec.ph or spec.pw or spec.eh or spec.ew):
        return total * (1.0 / (spec.kh * spec.kw))
    counts = _window_counts(input.xp, spec, count_include_pad, input.dtype)
    return total * const(1.0 / counts)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    _spatial_input(input, "avg_pool1d", 1)
    one = _single("avg_pool1d")
    return avg_pool2d(input.unsqueeze(-2), (1, one(kernel_size)),
                      None if stride is None else (1, one(stride)), (0, one(padding)),
                      ceil_mode, count_include_pad).squeeze(-2)


def _adaptive_matrix(xp, n_in, n_out, dtype):
    """P (n_out, n_in): row i averages [⌊i·n_in/n_out⌋, ⌈(i+1)·n_in/n_out⌉)."""
    P = np.zeros((n_out, n_in))
    for i in range(n_out):
        a = (i * n_in) // n_out
        b = -(-((i + 1) * n_in) // n_out)
        P[i, a:b] = 1.0 / (b - a)
    return const(xp.asarray(P, dtype=dtype))


def _adaptive_size(op, output_size, H, W):
    """(H_o, W_o) from an int, a pair, or ``None`` entries (which keep the input size)."""
    if isinstance(output_size, int) or output_size is None:
        output_size = (output_size, output_size)
    if len(output_size) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size}")
    Ho, Wo = (H if output_size[0] is None else output_size[0],
              W if output_size[1] is None else output_size[1])
    if Ho < 1 or Wo < 1:
        raise ValueError(f"{op}: output_size must be positive, got {output_size}")
    return Ho, Wo


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed ``output_size`` (an int, a pair, ``None`` entries keep
    the input size), PyTorch's windows."""
    _spatial_input(input, "adaptive_avg_pool2d", 2)
    H, W = input.shape[-2:]
    Ho, Wo = _adaptive_size("adaptive_avg_pool2d", output_size, H, W)
    if (Ho, Wo) == (1, 1):
        return input.mean((-2, -1), keepdim=True)
    y = input
    if Ho != H:
        y = _adaptive_matrix(input.xp, H, Ho, input.dtype) @ y
    if Wo != W:
        y = y @ _adaptive_matrix(input.xp, W, Wo, input.dtype).T
    return y


def adaptive_avg_pool1d(input, output_size):
    _spatial_input(input, "adaptive_avg_pool1d", 1)
    if output_size is None:
        raise TypeError("adaptive_avg_pool1d: output_size must be an int or a 1-tuple, got None")
    size = _single("adaptive_avg_pool1d")(output_size)
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, size)).squeeze(-2)


def _adaptive_windows(n_in, n_out):
    """The windows [⌊i·n_in/n_out⌋, ⌈(i+1)·n_in/n_out⌉) of adaptive pooling, i < n_out."""
    return [((i * n_in) // n_out, -(-((i + 1) * n_in) // n_out)) for i in range(n_out)]


def adaptive_max_pool2d(input, output_size, return_indices=False):
    r"""Max pooling to a fixed ``output_size`` (PyTorch's ``F.adaptive_max_pool2d``): output
    (i, j) is the maximum over rows [⌊iH/H_o⌋, ⌈(i+1)H/H_o⌉) and columns
    [⌊jW/W_o⌋, ⌈(j+1)W/W_o⌉). ``return_indices=True`` also returns the flat index
    h·W + w of each maximum in its input plane (int64).

    The argmax is found on the arrays, separably: the first maximal column of each row's
    window, then the first row whose maximum is the window's, which is the first maximum
    in row-major order, PyTorch's choice on ties. The output is then a gather of those
    positions, whose gradient scatters gy there (and whose second derivative exists).
    Where minigrad differs: a window holding several NaNs reports the first (PyTorch:
    the last); the value is NaN either way.

    >>> import minigrad as mg
    >>> adaptive_max_pool2d(mg.arange(9.0).reshape(1, 3, 3), 2)
    tensor([[[4., 5.],
             [7., 8.]]])
    """
    op = "adaptive_max_pool2d"
    _spatial_input(input, op, 2)
    H, W = input.shape[-2:]
    if H < 1 or W < 1:
        raise ValueError(f"{op}: expected a non-empty input plane, got shape {input.shape}")
    Ho, Wo = _adaptive_size(op, output_size, H, W)
    xp, x = input.xp, input.data
    cols = _adaptive_windows(W, Wo)
    row_max = xp.stack([x[..., a:b].max(-1) for a, b in cols], -1)            # (..., H, Wo)
    col_arg = xp.stack([x[..., a:b].argmax(-1) + a for a, b in cols], -1)     # (..., H, Wo)
    row_arg = xp.stack([row_max[..., a:b, :].argmax(-2) + a
                        for a, b in _adaptive_windows(H, Ho)], -2)             # (..., Ho, Wo)
    flat = row_arg * W + xp.take_along_axis(col_arg, row_arg, -2)
    lead = input.shape[:-2]
    y = input.reshape(*lead, H * W).gather(-1, flat.reshape(*lead, Ho * Wo))
    y = y.reshape(*lead, Ho, Wo)
    if return_indices:
        return y, _make_tensor(flat.astype(np.int64), xp, False)
    return y


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling of (N, C, L) or (C, L) to ``output_size`` (PyTorch's
    ``F.adaptive_max_pool1d``): adaptive_max_pool2d on a height-1 image."""
    op = "adaptive_max_pool1d"
    _spatial_input(input, op, 1)
    if output_size is None:
        raise TypeError(f"{op}: output_size must be an int or a 1-tuple, got None")
    out = adaptive_max_pool2d(input.unsqueeze(-2), (1, _single(op)(output_size)),
                              return_indices)
    if return_indices:
        return out[0].squeeze(-2), _make_tensor(out[1].data[..., 0, :], None, False)
    return out.squeeze(-2)


# --------------------------------------------------------------------------- modules


class MaxPool2d(Module):
    """2-D max pooling (PyTorch's ``nn.MaxPool2d``); ``stride`` defaults to the kernel."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input):
        return max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(MaxPool2d):
    """1-D max pooling (PyTorch's ``nn.MaxPool1d``)."""

    def forward(self, input):
        return max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)


class AvgPool2d(Module):
    """2-D average pooling (PyTorch's ``nn.AvgPool2d``)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input):
        return avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(AvgPool2d):
    """1-D average pooling (PyTorch's ``nn.AvgPool1d``)."""

    def forward(self, input):
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad)


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (PyTorch's ``nn.AdaptiveAvgPool2d``)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    def forward(self, input):
        return adaptive_avg_pool1d(input, self.output_size)


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed output size (PyTorch's ``nn.AdaptiveMaxPool2d``); see
    :func:`adaptive_max_pool2d`."""

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input):
        return adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(AdaptiveMaxPool2d):
    """1-D max pooling to a fixed output size (PyTorch's ``nn.AdaptiveMaxPool1d``)."""

    def forward(self, input):
        return adaptive_max_pool1d(input, self.output_size, self.return_indices)
