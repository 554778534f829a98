r"""Pooling in 1, 2 and 3 spatial dims: max, average, adaptive and power-average (LP)
pooling, functions and modules with PyTorch's names (``max_pool3d``, ``MaxPool3d``, ...).

Every window op here is a loop over the kernel offsets (kH·kW, or kD·kH·kW), each
iteration one vectorized strided slice of the padded input (never a loop over pixels);
:class:`PoolSpec` holds the geometry for any number of spatial dims, and 1-D pooling is
2-D pooling of a height-1 image.

- max pooling keeps the running maximum and which offset gave it (the first one on ties,
  as PyTorch). Its gradient sends gy to that offset; the scatter (gradient) and the
  gather (its adjoint) are each other's VJP, so every derivative order exists.
  ``return_indices=True`` also returns each maximum's flat index in its input plane
  (h·W + w, or t·H·W + h·W + w), PyTorch's convention, which ``max_unpool*`` reads.
- average pooling is a window *sum* (linear; its VJP is the adjoint scatter, whose VJP
  is the window sum again) divided by the window size;
- adaptive max pooling finds each window's argmax on the arrays and gathers it;
- adaptive average pooling averages the box [⌊iH/H_o⌋, ⌈(i+1)H/H_o⌉) × ... ; an average
  over a box is separable, so y = P_H · x · P_Wᵀ with constant averaging matrices (one
  matmul per pooled dim);
- LP pooling (power-average) is (Σ_window x^p)^(1/p), computed as PyTorch does: the
  average pool of x^p times the kernel size, then the 1/p-th power.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from ..amp.autocast_mode import autocast_off, is_half
from ..autograd.function import Function, ieee
from ..cuda_graphs import is_current_stream_capturing
from ..dtypes import is_floating
from ..ops.elementwise import const, in_float32, where
from ..tensor import Tensor, _make_tensor
from .conv import _pair, _single, _triple, check_window_1d
from .module import Module

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "lp_pool1d",
           "lp_pool2d", "lp_pool3d", "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d",
           "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
           "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
           "LPPool1d", "LPPool2d", "LPPool3d"]


class PoolSpec:
    """Window geometry over the trailing ``n`` spatial dims (one entry per dim in each
    tuple): ``kernel``, ``stride``, ``dilation``, the user ``padding``, the ``extra``
    padding at the end that ``ceil_mode`` windows reach, the input ``size`` and the
    output size ``out``."""

    __slots__ = ("kernel", "stride", "padding", "dilation", "extra", "size", "out")

    def __init__(self, op, shape, kernel, stride, padding, dilation, ceil_mode, n=2):
        tup = {2: _pair, 3: _triple}[n]
        self.kernel = tup(kernel, "kernel_size")
        stride = kernel if stride is None or stride == () or stride == [] else stride
        self.stride = tup(stride, "stride")
        self.padding = tup(padding, "padding")
        self.dilation = tup(dilation, "dilation")
        if min(self.kernel + self.stride + self.dilation) < 1:
            raise ValueError(f"{op}: kernel_size, stride and dilation must be positive, got "
                             f"kernel_size={kernel}, stride={stride}, dilation={dilation}")
        if min(self.padding) < 0:
            raise ValueError(f"{op}: padding must be non-negative, got {padding}")
        ek = tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))
        if any(p > e // 2 for p, e in zip(self.padding, ek)):
            raise ValueError(f"{op}: padding {self.padding} should be at most half of "
                             f"the (dilated) kernel size {ek}")
        self.size = tuple(shape[-n:])
        self.out = tuple(self._out(m, p, e, s, ceil_mode) for m, p, e, s in
                         zip(self.size, self.padding, ek, self.stride))
        if min(self.out) < 1:
            padded = tuple(m + 2 * p for m, p in zip(self.size, self.padding))
            more = " by more than stride − 1 (what ceil_mode allows)" if ceil_mode else ""
            raise ValueError(f"{op}: kernel size {self.kernel} (dilated: {ek}) is larger than "
                             f"the padded input size {padded}{more} (input shape "
                             f"{tuple(shape)}, stride {self.stride}): no output")
        # extra rows/cols past the end padding that ceil_mode windows reach
        self.extra = tuple(max(0, (o - 1) * s + e - (m + 2 * p)) for o, s, e, m, p in
                           zip(self.out, self.stride, ek, self.size, self.padding))

    @staticmethod
    def _out(size, p, ek, s, ceil_mode):
        """PyTorch's ``pooling_output_shape``: ⌊(size + 2p − ek (+ s − 1 with ceil_mode)) /
        s⌋ + 1, rounding toward −∞, so that with ceil_mode a kernel larger than the padded
        input still gives one partial window; then, with ceil_mode, one less if the last
        window would start in the right padding (it must start inside the input or the
        left padding). Below 1: no output (the caller refuses it)."""
        n = (size + 2 * p - ek + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (n - 1) * s >= size + p:  # the last window must start inside
            n -= 1
        return n

    def has_padding(self):
        """Whether the windows reach past the input (padding or ceil_mode overhang)."""
        return bool(any(self.padding) or any(self.extra))

    def padded_size(self):
        """The input size with its padding and the ceil_mode extra."""
        return tuple(m + 2 * p + e for m, p, e in zip(self.size, self.padding, self.extra))

    def padded(self, xp, x, value):
        if self.has_padding():
            pad = ((0, 0),) * (x.ndim - len(self.size)) + tuple(
                (p, p + e) for p, e in zip(self.padding, self.extra))
            return xp.pad(x, pad, constant_values=value)
        return x

    def window(self, offset):
        """The index of kernel offset (i, j, ...) across all output positions."""
        return (Ellipsis,) + tuple(slice(i * d, i * d + s * (o - 1) + 1, s) for i, d, s, o in
                                   zip(offset, self.dilation, self.stride, self.out))

    def offsets(self):
        """(k, index) for every kernel offset, k its row-major number."""
        for k, offset in enumerate(itertools.product(*(range(n) for n in self.kernel))):
            yield k, self.window(offset)

    def crop(self, a):
        if self.has_padding():
            return a[(Ellipsis,) + tuple(slice(p, p + m) for p, m in
                                         zip(self.padding, self.size))]
        return a

    def disjoint(self):
        """Whether no input position lies in two windows (stride ≥ dilated kernel)."""
        return all(s >= d * (k - 1) + 1 for s, d, k in
                   zip(self.stride, self.dilation, self.kernel))


# --------------------------------------------------------------------------- max


class MaxPoolFunction(Function):
    """y = max over each window.   VJP: gx = gy scattered to the argmax of each window."""

    piecewise_linear = True  # gradients from constants: see Function

    def __init__(self, spec):
        self.spec = spec

    def forward(self, xp, x):
        s = self.spec
        floating = is_floating(x.dtype)
        fill = -xp.inf if floating else np.iinfo(x.dtype).min
        xpad = s.padded(xp, x, fill)
        # Whether NaN needs its own rule; a CUDA graph capture may not read the answer on
        # the host, so it takes the NaN rule unasked (same result, one kernel more).
        nan = floating and (is_current_stream_capturing() or bool(xp.isnan(x).any()))
        small = math.prod(s.kernel) < 128
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
        lead = self.x_shape[:-len(s.size)]
        gxp = xp.zeros(lead + s.padded_size(), dtype=gy.dtype)
        disjoint = s.disjoint()
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


def _spatial_input(x, op, n, nonempty_plane=False):
    """``x`` is an (N, C, *) or (C, *) tensor with n spatial dims (all of size ≥ 1 with
    ``nonempty_plane``: adaptive pooling has no window over an empty dim)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.ndim not in (n + 1, n + 2):
        raise ValueError(f"{op}: expected {n + 1}-D (unbatched) or {n + 2}-D input, got shape "
                         f"{x.shape}")
    if nonempty_plane and min(x.shape[-n:]) < 1:
        raise ValueError(f"{op}: expected a non-empty input plane, got shape {x.shape}")


def _flat_indices(xp, spec, arg):
    """The flat index in its input plane (row-major over ``spec.size``) of the input
    element each window's offset number ``arg`` points at: per dim, position =
    output index·s − p + offset·d."""
    n = len(spec.size)
    arg = arg.astype(np.int64)  # (int8 offsets times a dilation would overflow)
    flat = 0
    for dim in range(n):
        offset = arg // math.prod(spec.kernel[dim + 1:]) % spec.kernel[dim]
        where_ = xp.arange(spec.out[dim]).reshape((-1,) + (1,) * (n - 1 - dim))
        pos = where_ * spec.stride[dim] - spec.padding[dim] + offset * spec.dilation[dim]
        flat = flat + pos * math.prod(spec.size[dim + 1:])
    return flat


def _max_pool(op, n, input, kernel_size, stride, padding, dilation, ceil_mode,
              return_indices):
    _spatial_input(input, op, n)
    spec = PoolSpec(op, input.shape, kernel_size, stride, padding, dilation, ceil_mode, n)
    fn = MaxPoolFunction(spec)
    y = fn(input)
    if not return_indices:
        return y
    return y, _make_tensor(_flat_indices(input.xp, spec, fn.arg), input.xp, False)


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
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """3-D max pooling of (N, C, D, H, W) or (C, D, H, W) (PyTorch's ``F.max_pool3d``).

    ``return_indices=True`` also returns the flat index t·H·W + h·W + w of each maximum
    in its input volume (int64, as PyTorch).

    >>> import minigrad as mg
    >>> y, i = max_pool3d(mg.arange(8.0).reshape(1, 2, 2, 2), 2, return_indices=True)
    >>> y.tolist(), i.tolist()
    ([[[[7.0]]]], [[[[7]]]])
    """
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def _check_window_1d(op, input, kernel, stride, padding, dilation, ceil_mode):
    """The 1-D window checked in 1-D terms (errors that name the 1-D shapes). Without
    ceil_mode the kernel must fit in the padded input; with it, a window may overhang the
    end, and only an empty output (:meth:`PoolSpec._out` below 1) is refused."""
    if not ceil_mode:
        check_window_1d(op, input, kernel, stride, padding, dilation)
        return
    for what, v, least in (("kernel size", kernel, 1), ("stride", stride, 1),
                           ("padding", padding, 0), ("dilation", dilation, 1)):
        if v < least:
            raise ValueError(f"{op}: {what} must be at least {least}, got {v}")
    span, length = dilation * (kernel - 1) + 1, input.shape[-1] + 2 * padding
    if PoolSpec._out(input.shape[-1], padding, span, stride, True) < 1:
        raise ValueError(f"{op}: the kernel spans {span} positions (size {kernel}, dilation "
                         f"{dilation}), more than the padded input length {length} plus "
                         f"stride − 1 = {stride - 1} (what ceil_mode allows; input shape "
                         f"{input.shape}, padding {padding}): no output")


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling of (N, C, L) or (C, L): max_pool2d on a height-1 image."""
    _spatial_input(input, "max_pool1d", 1)
    one = _single("max_pool1d")
    _check_window_1d("max_pool1d", input, one(kernel_size),
                     one(kernel_size if stride is None else stride), one(padding),
                     one(dilation), ceil_mode)
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

    @ieee
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

    @ieee
    def forward(self, xp, gy):
        s = self.spec
        gxp = xp.zeros(self.x_shape[:-len(s.size)] + s.padded_size(), dtype=gy.dtype)
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
    m = np.zeros(s.padded_size())
    if count_include_pad:
        m[tuple(slice(0, n + 2 * p) for n, p in zip(s.size, s.padding))] = 1
    else:
        m[tuple(slice(p, p + n) for n, p in zip(s.size, s.padding))] = 1
    count = sum(m[win] for _, win in s.offsets())
    return xp.asarray(count, dtype=dtype)


def _avg_pool(op, n, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    _spatial_input(input, op, n)
    spec = PoolSpec(op, input.shape, kernel_size, stride, padding, 1, ceil_mode, n)
    padded = tuple(m + 2 * p for m, p in zip(spec.size, spec.padding))
    if n == 3 and any(m < k for m, k in zip(padded, spec.kernel)):
        # PyTorch's avg_pool3d (only it) refuses an input smaller than the kernel, even
        # where ceil_mode would give a partial window
        raise ValueError(f"{op}: kernel size {spec.kernel} is larger than the padded input "
                         f"size {padded} (avg_pool3d refuses it even with ceil_mode, as "
                         "PyTorch)")
    total = WindowSum(spec)(input)
    if divisor_override is not None:
        if divisor_override == 0:
            raise ValueError(f"{op}: divisor_override must be non-zero")
        return total * (1.0 / divisor_override)
    if not spec.has_padding():
        return total * (1.0 / math.prod(spec.kernel))
    counts = _window_counts(input.xp, spec, count_include_pad, input.dtype)
    return total * const(1.0 / counts)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling (PyTorch's ``F.avg_pool2d``): window sum / window size.

    >>> import minigrad as mg
    >>> avg_pool2d(mg.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 2.5,  4.5],
              [10.5, 12.5]]]])
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """3-D average pooling of (N, C, D, H, W) or (C, D, H, W) (PyTorch's
    ``F.avg_pool3d``): window sum / window size (the number of elements the window
    covers in the padded input, or in the real input without ``count_include_pad``; or
    ``divisor_override``).

    >>> import minigrad as mg
    >>> avg_pool3d(mg.arange(8.0).reshape(1, 2, 2, 2), 2).tolist()
    [[[[3.5]]]]
    """
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    _spatial_input(input, "avg_pool1d", 1)
    one = _single("avg_pool1d")
    _check_window_1d("avg_pool1d", input, one(kernel_size),
                     one(kernel_size if stride is None else stride), one(padding), 1,
                     ceil_mode)
    return avg_pool2d(input.unsqueeze(-2), (1, one(kernel_size)),
                      None if stride is None else (1, one(stride)), (0, one(padding)),
                      ceil_mode, count_include_pad).squeeze(-2)


# --------------------------------------------------------------------------- adaptive


def _adaptive_matrix(xp, n_in, n_out, dtype):
    """P (n_out, n_in): row i averages [⌊i·n_in/n_out⌋, ⌈(i+1)·n_in/n_out⌉)."""
    P = np.zeros((n_out, n_in))
    for i in range(n_out):
        a = (i * n_in) // n_out
        b = -(-((i + 1) * n_in) // n_out)
        P[i, a:b] = 1.0 / (b - a)
    return const(xp.asarray(P, dtype=dtype))


def _adaptive_size(op, output_size, size):
    """The output size per spatial dim from an int, a tuple, or ``None`` entries (which
    keep the input size)."""
    n = len(size)
    if isinstance(output_size, int) or output_size is None:
        output_size = (output_size,) * n
    if len(output_size) != n:
        raise ValueError(f"{op}: output_size must be an int or a {'pair' if n == 2 else 'triple'}"
                         f", got {output_size}")
    out = tuple(m if o is None else o for m, o in zip(size, output_size))
    if min(out) < 1:
        raise ValueError(f"{op}: output_size must be positive, got {output_size}")
    return out


def _adaptive_avg(input, out):
    """Average pooling of the trailing len(out) dims to ``out``: a mean where ``out`` is all
    ones (float32 accumulation, rounded once; float32 under autocast, as sums), else
    :func:`_adaptive_avg_products`."""
    n = len(out)
    if all(o == 1 for o in out):
        return input.mean(tuple(range(-n, 0)), keepdim=True)
    return _adaptive_avg_products(input, out)


@in_float32
@autocast_off  # its products are not the matmuls autocast lists
def _adaptive_avg_products(input, out):
    """One averaging matrix per pooled dim (P @ x for a leading dim, with the dims after it
    flattened; x @ Pᵀ for the last); a half input in float32, rounded once (P's 1/3 in
    half, and a rounding between the products, left 25 ulps)."""
    n = len(out)
    size = input.shape[-n:]
    y = input
    for k in range(n):
        if out[k] == size[k]:
            continue
        P = _adaptive_matrix(input.xp, size[k], out[k], input.dtype)
        if k == n - 1:
            y = y @ P.T
            continue
        lead, rest = y.shape[:y.ndim - n + k], y.shape[y.ndim - n + k + 1:]
        if k == n - 2:
            y = P @ y
        else:
            y = (P @ y.reshape(*lead, size[k], math.prod(rest))).reshape(*lead, out[k], *rest)
    return y


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed ``output_size`` (an int, a pair, ``None`` entries keep
    the input size), PyTorch's windows."""
    _spatial_input(input, "adaptive_avg_pool2d", 2, nonempty_plane=True)
    return _adaptive_avg(input, _adaptive_size("adaptive_avg_pool2d", output_size,
                                               input.shape[-2:]))


def adaptive_avg_pool3d(input, output_size):
    r"""Average pooling of (N, C, D, H, W) or (C, D, H, W) to a fixed ``output_size`` (an
    int, a triple, ``None`` entries keep the input size): output (t, i, j) averages the box
    [⌊tD/D_o⌋, ⌈(t+1)D/D_o⌉) × [⌊iH/H_o⌋, ⌈(i+1)H/H_o⌉) × [⌊jW/W_o⌋, ⌈(j+1)W/W_o⌉)
    (PyTorch's ``F.adaptive_avg_pool3d``).

    >>> import minigrad as mg
    >>> adaptive_avg_pool3d(mg.arange(8.0).reshape(1, 2, 2, 2), (1, 2, 1)).tolist()
    [[[[2.5], [4.5]]]]
    """
    _spatial_input(input, "adaptive_avg_pool3d", 3, nonempty_plane=True)
    return _adaptive_avg(input, _adaptive_size("adaptive_avg_pool3d", output_size,
                                               input.shape[-3:]))


def adaptive_avg_pool1d(input, output_size):
    _spatial_input(input, "adaptive_avg_pool1d", 1, nonempty_plane=True)
    if output_size is None:
        raise TypeError("adaptive_avg_pool1d: output_size must be an int or a 1-tuple, got None")
    size = _single("adaptive_avg_pool1d")(output_size)
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, size)).squeeze(-2)


def _adaptive_windows(n_in, n_out):
    """The windows [⌊i·n_in/n_out⌋, ⌈(i+1)·n_in/n_out⌉) of adaptive pooling, i < n_out."""
    return [((i * n_in) // n_out, -(-((i + 1) * n_in) // n_out)) for i in range(n_out)]


def _adaptive_argmax(xp, x, out):
    """The flat index (row-major over the trailing len(out) dims) of the first maximum of
    every adaptive window of ``x``, shape (..., *out).

    Separably, one dim at a time from the last: the first maximum along that dim of each
    window, carrying along where the maxima of the dims already reduced were. The first
    maximum in the lexicographic (row-major) order is found this way, PyTorch's choice on
    ties."""
    n = len(out)
    size = x.shape[-n:]
    vals, pos = x, []  # pos: indices along the dims already reduced, last dim first
    for k in reversed(range(n)):
        axis = x.ndim - n + k
        parts = []
        for a, b in _adaptive_windows(size[k], out[k]):
            cut = (slice(None),) * axis + (slice(a, b),)
            arg = xp.expand_dims(vals[cut].argmax(axis), axis)
            parts.append([xp.take_along_axis(v[cut], arg, axis) for v in [vals] + pos]
                         + [arg + a])
        vals, *pos = (xp.concatenate(column, axis) for column in zip(*parts))
    return sum(p * math.prod(size[n - i:]) for i, p in enumerate(pos))


def _adaptive_max(op, n, input, output_size, return_indices):
    _spatial_input(input, op, n, nonempty_plane=True)
    size = input.shape[-n:]
    out = _adaptive_size(op, output_size, size)
    xp = input.xp
    flat = _adaptive_argmax(xp, input.data, out)
    lead = input.shape[:-n]
    y = input.reshape(*lead, math.prod(size)).gather(-1, flat.reshape(*lead, math.prod(out)))
    y = y.reshape(*lead, *out)
    if return_indices:
        return y, _make_tensor(flat.astype(np.int64), xp, False)
    return y


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
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    r"""Max pooling of (N, C, D, H, W) or (C, D, H, W) to a fixed ``output_size``
    (PyTorch's ``F.adaptive_max_pool3d``): the maximum over each box of
    :func:`adaptive_avg_pool3d`, found as in :func:`adaptive_max_pool2d` (one dim at a
    time). ``return_indices=True`` also returns the flat index t·H·W + h·W + w of each
    maximum in its input volume (int64).

    >>> import minigrad as mg
    >>> adaptive_max_pool3d(mg.arange(8.0).reshape(1, 2, 2, 2), (2, 1, 1)).tolist()
    [[[[3.0]], [[7.0]]]]
    """
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, return_indices)


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


# --------------------------------------------------------------------------- LP (power-average)


def _lp_pool(op, n, input, norm_type, kernel_size, stride, ceil_mode):
    r"""(Σ_window x^p)^(1/p), PyTorch's way: out = avg_pool(x^p) (no padding), then
    (sign(out)·relu(|out|)·K)^(1/p), K the number of kernel elements; p = ±inf is the
    max of |x| (the min for −inf).

    Where PyTorch's relu backward masks, here the window sums that are 0 go through the
    power as 1 and are then replaced by 0: the value is 0 and the gradient 0 (PyTorch's
    documented "if the sum of all inputs to the power of p is zero, the gradient is set
    to zero as well"), rather than 0·∞."""
    pool, max_pool, tup = {1: (avg_pool1d, max_pool1d, _single(op)),
                           2: (avg_pool2d, max_pool2d, _pair),
                           3: (avg_pool3d, max_pool3d, _triple)}[n]
    _spatial_input(input, op, n)
    if norm_type == math.inf:
        return max_pool(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -math.inf:
        return -max_pool(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == 0:
        raise ValueError(f"{op}: norm_type must be non-zero, got {norm_type}")
    K = math.prod(tup(kernel_size)) if n > 1 else tup(kernel_size, "kernel_size")
    out = pool(input ** norm_type, kernel_size, stride, 0, ceil_mode)
    r = out.sign() * out.abs().relu()   # PyTorch's sign handling (= out, gradient 1)
    nonzero = r.data != 0
    safe = where(nonzero, r, 1.0)
    return where(nonzero, (safe * K) ** (1.0 / norm_type), 0.0)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    r"""1-D power-average pooling of (N, C, L) or (C, L) (PyTorch's ``F.lp_pool1d``):
    y = (Σ_window x^p)^(1/p), computed as avg_pool1d(x^p)·k, then the 1/p-th power.

    With p = 1 it is sum pooling; a window whose sum is negative (odd p) gives NaN, as
    PyTorch; a zero sum gives 0 with a zero gradient. See ``_lp_pool`` for the details.

    >>> import minigrad as mg
    >>> lp_pool1d(mg.tensor([[3.0, 4.0, 1.0, -1.0]]), 2, 2).tolist()
    [[5.0, 1.4142135381698608]]
    """
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    r"""2-D power-average pooling of (N, C, H, W) or (C, H, W) (PyTorch's
    ``F.lp_pool2d``): (Σ_window x^p)^(1/p) as avg_pool2d(x^p)·kH·kW, then the 1/p-th
    power (see :func:`lp_pool1d`)."""
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    r"""3-D power-average pooling of (N, C, D, H, W) or (C, D, H, W) (PyTorch's
    ``F.lp_pool3d``): (Σ_window x^p)^(1/p) as avg_pool3d(x^p)·kD·kH·kW, then the 1/p-th
    power (see :func:`lp_pool1d`)."""
    return _lp_pool("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)


# --------------------------------------------------------------------------- modules


class MaxPool2d(Module):
    """2-D max pooling (PyTorch's ``nn.MaxPool2d``); ``stride`` defaults to the kernel."""

    _functional = staticmethod(max_pool2d)

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input):
        return self._functional(input, self.kernel_size, self.stride, self.padding,
                                self.dilation, self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(MaxPool2d):
    """1-D max pooling (PyTorch's ``nn.MaxPool1d``)."""

    _functional = staticmethod(max_pool1d)


class MaxPool3d(MaxPool2d):
    """3-D max pooling of (N, C, D, H, W) or (C, D, H, W) (PyTorch's ``nn.MaxPool3d``);
    ``return_indices=True`` also returns the flat indices that ``MaxUnpool3d`` reads.

    >>> import minigrad as mg
    >>> MaxPool3d(2)(mg.randn(1, 3, 4, 6, 8)).shape
    (1, 3, 2, 3, 4)
    """

    _functional = staticmethod(max_pool3d)


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

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)

    def forward(self, input):
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad)


class AvgPool3d(AvgPool2d):
    """3-D average pooling of (N, C, D, H, W) or (C, D, H, W) (PyTorch's
    ``nn.AvgPool3d``)."""

    def forward(self, input):
        return avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (PyTorch's ``nn.AdaptiveAvgPool2d``)."""

    _functional = staticmethod(adaptive_avg_pool2d)

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return self._functional(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    """1-D average pooling to a fixed output size (PyTorch's ``nn.AdaptiveAvgPool1d``)."""

    _functional = staticmethod(adaptive_avg_pool1d)


class AdaptiveAvgPool3d(AdaptiveAvgPool2d):
    """3-D average pooling to a fixed output size (PyTorch's ``nn.AdaptiveAvgPool3d``)."""

    _functional = staticmethod(adaptive_avg_pool3d)


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed output size (PyTorch's ``nn.AdaptiveMaxPool2d``); see
    :func:`adaptive_max_pool2d`."""

    _functional = staticmethod(adaptive_max_pool2d)

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input):
        return self._functional(input, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(AdaptiveMaxPool2d):
    """1-D max pooling to a fixed output size (PyTorch's ``nn.AdaptiveMaxPool1d``)."""

    _functional = staticmethod(adaptive_max_pool1d)


class AdaptiveMaxPool3d(AdaptiveMaxPool2d):
    """3-D max pooling to a fixed output size (PyTorch's ``nn.AdaptiveMaxPool3d``)."""

    _functional = staticmethod(adaptive_max_pool3d)


class LPPool2d(Module):
    """2-D power-average pooling (PyTorch's ``nn.LPPool2d``); see :func:`lp_pool2d`."""

    _functional = staticmethod(lp_pool2d)

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    def forward(self, input):
        return self._functional(input, float(self.norm_type), self.kernel_size, self.stride,
                                self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(LPPool2d):
    """1-D power-average pooling (PyTorch's ``nn.LPPool1d``); see :func:`lp_pool1d`."""

    _functional = staticmethod(lp_pool1d)


class LPPool3d(LPPool2d):
    """3-D power-average pooling (PyTorch's ``nn.LPPool3d``); see :func:`lp_pool3d`."""

    _functional = staticmethod(lp_pool3d)
