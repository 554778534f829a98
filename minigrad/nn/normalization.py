r"""Normalization layers: BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, LayerNorm, GroupNorm,
RMSNorm, LocalResponseNorm, and their functions.

All three standardize x over some axes A and then apply a per-feature affine map:

.. math::
    \mu = \frac{1}{M}\sum_{A} x, \quad \sigma^2 = \frac{1}{M}\sum_{A} (x - \mu)^2, \quad
    \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \quad y = \gamma \hat x + \beta

- BatchNorm: A = (N, H, W) per channel, (N, D, H, W) for BatchNorm3d, (N, L) or (N,) for
  BatchNorm1d (Ioffe & Szegedy 2015). Training uses the batch
  statistics and updates the running ones,
  ``running ← (1 − momentum)·running + momentum·stat`` where the variance fed in is the
  *unbiased* σ²·M/(M − 1); ``momentum=None`` gives the cumulative average
  (momentum_t = 1/t). Evaluation uses the running statistics.
- LayerNorm: A = the last ``len(normalized_shape)`` dims of each sample (Ba et al. 2016).
- GroupNorm: A = (C/G channels of a group, H, W) of each sample (Wu & He 2018).
- InstanceNorm: A = (H, W) of each sample and channel (Ulyanov et al. 2016): GroupNorm
  with one channel per group, plus optional running statistics as BatchNorm's.

Two more normalizations divide without centring: RMSNorm (Zhang & Sennrich 2019),
y = γ·x / √(mean(x²) + ε) over the trailing ``normalized_shape``, and local response
normalization (Krizhevsky et al. 2012), which divides each channel by a power of the
summed squares of its neighbouring channels. Both are compositions of Tensor ops.

The standardization x ↦ x̂ is one Function, :class:`Normalize`, with the closed-form VJP

.. math::
    g_x = \frac{1}{\sqrt{\sigma^2+\epsilon}}\Bigl(g - \overline{g} - \hat x\,
          \overline{g \hat x}\Bigr) \qquad (\overline{\,\cdot\,} = \text{mean over } A)

which carries the gradient through the batch statistics. When the backward itself is
being recorded (``create_graph=True``), μ, σ and x̂ are recomputed from x in Tensor ops,
so the second derivative flows through them; otherwise the saved arrays are used (no
graph is built, so treating them as constants is exact).

Batch normalization in training (with both γ and β) is one Function,
:class:`BatchNormFunction`, y = γ·x̂ + β, rather than Normalize followed by a product
and a sum: the VJP shares the two per-channel sums Σ g and Σ g·x̂ between gβ, gγ and
gx, and the full-size temporaries of the separate ops are not made (1.4–1.8× faster
fwd+bwd on ResNet shapes). The variance is still the two-pass Σ (x − μ)²/M; the
per-channel sums are ``einsum`` reductions on the CPU (no temporary array). On CUDA its
forward, backward and the running-statistics update are a few fused kernels with the same
formulas (see "CUDA: fused kernels" below), since there the cost of a step is mostly
kernel launches.

Layer normalization is likewise one Function, :class:`LayerNormFunction` (x̂·γ + β over
each row, its VJP sharing the rows' Σ g·γ and Σ g·γ·x̂): on CUDA 4 launches forward and
5 backward, where Normalize and the affine ops took 23 (counted on the CuPy stand-in).
Group normalization normalizes each group as such a row (without γ, β); RMS normalization
is :class:`RMSNormFunction`, the same kernels with μ = 0 (3 launches each way, not 22).
"""
from __future__ import annotations

import functools
import math
import numbers
import warnings

import numpy as np

from .. import creation
from .._backend import get_array_module, quietly
from ..amp.autocast_mode import is_half
from ..autograd.function import ADDED, Function, ieee
from ..autograd.grad_mode import is_grad_enabled
from ..dtypes import require_floating
from ..kernels.reference import acc_dtype
from ..ops.elementwise import const, in_float32
from ..ops.fused import _CUDA_TYPES as _CTYPES  # dtype name -> CUDA type
from ..ops.shape import pad
from ..tensor import Tensor
from . import init
from .module import Module, Parameter

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm",
           "local_response_norm", "Normalize", "BatchNormFunction", "LayerNormFunction",
           "RMSNormFunction", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm",
           "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "RMSNorm",
           "LocalResponseNorm"]


class Normalize(Function):
    r"""x̂ = (x − μ)/√(σ² + ε) over ``axes`` (biased σ²).
    VJP: gx = (g − mean(g) − x̂·mean(g·x̂)) / √(σ² + ε)."""

    def __init__(self, axes, eps):
        self.axes, self.eps = tuple(axes), eps
        self.mean = self.var = self.inv = self.xhat = None

    @ieee  # an inf or nan in x gives nan statistics, silently (as PyTorch)
    def forward(self, xp, x):
        xc = x if x.dtype.itemsize >= 4 else x.astype(np.float32)  # float16: stats in fp32
        mean = xc.mean(axis=self.axes, keepdims=True)
        d = xc - mean
        var = (d * d).mean(axis=self.axes, keepdims=True)
        inv = 1.0 / xp.sqrt(var + self.eps)
        xhat = d * inv
        self.mean, self.var, self.inv, self.xhat = mean, var, inv, xhat
        return xhat.astype(x.dtype, copy=False)

    def backward(self, g):
        a = self.axes
        if not is_grad_enabled():
            # Nothing records this backward: the saved arrays are exact constants here.
            gd = g.data.astype(self.xhat.dtype, copy=False)
            xhat = self.xhat
            gx = self.inv * (gd - gd.mean(axis=a, keepdims=True)
                             - xhat * (gd * xhat).mean(axis=a, keepdims=True))
            return const(gx.astype(g.dtype, copy=False))
        return normalize_vjp_recorded(self.inputs[0], g, a, self.eps)[0]

    def release(self):
        super().release()
        self.mean = self.var = self.inv = self.xhat = None


def normalize_vjp_recorded(x, g, axes, eps):
    """(gx, x̂): Normalize's VJP in Tensor ops for a recorded backward (create_graph), μ, σ
    and x̂ rebuilt from x so that their dependence on x is recorded."""
    d = x - x.mean(axes, keepdim=True)
    inv = ((d * d).mean(axes, keepdim=True) + eps).rsqrt()
    xhat = d * inv
    gx = inv * (g - g.mean(axes, keepdim=True) - xhat * (g * xhat).mean(axes, keepdim=True))
    return gx, xhat


def _channel_sum(xp, a, b=None):
    """Σ a (or Σ a·b) over every axis but the channel axis 1, shape (C,). NumPy: einsum, one
    pass and no temporary (BLAS-like float32 accumulation, as a matmul's). CuPy: a product
    and :func:`_per_channel` sums, since cupy.einsum spends ~0.2 ms of host time parsing
    and planning each call (measured on an H200: 5 of the 18 ms of a small ResNet's step)."""
    if xp is not np:
        return _per_channel(lambda t, axis: t.sum(axis=axis), a if b is None else a * b)
    idx = "abcdefgh"[:a.ndim]
    if b is None:
        return xp.einsum(f"{idx}->b", a)
    return xp.einsum(f"{idx},{idx}->b", a, b)


# ---------------------------------------------------------------- CUDA: fused kernels
# On CuPy every elementwise operator is a kernel launch with ~10 µs of host time, and the
# training step of a small CNN is bound by that host time (measured on an H200: flat from
# batch 8 to 128). BatchNormFunction's forward and backward on CUDA are therefore a few
# fused kernels with the same formulas as the NumPy path: the per-channel sums of
# ``minigrad.kernels.bn_channel_sums`` (batchnorm.cu: one launch for μ, σ² and
# 1/√(σ² + ε) — each block's two passes, Σx then Σ(x − μ_b)², merged across blocks — and
# one for the backward's Σg and Σg·x̂ together, each over every axis but 1 in a fixed
# order), then one elementwise kernel. ``A`` is the accumulation type: double for float64
# data, float otherwise.


def _per_channel(reduce, *arrays):
    """Per-channel sums on CUDA in two stages, ``reduce(*arrays as (N, C, L), axis=2)``
    then a sum over N: shape (C,). One reduction over the axes (0, 2, ...) at once gives a
    GPU only C outputs to spread its blocks over (measured on an H200: a ResNet step at
    batch 512 went from 35 to 92 ms); N·C rows of the contiguous L are plenty. (The paths
    the fused kernels do not take: bfloat16, other axes.)"""
    parts = reduce(*(a.reshape(a.shape[0], a.shape[1], -1) for a in arrays), axis=2)
    return parts.sum(axis=0)


def _channel_sums(mode, x, **kwargs):
    """``kernels.bn_channel_sums`` of x (N, C, ...) viewed as (N, C, L), C-contiguous (for
    NumPy arrays its twin ``reference.bn_channel_sums``: the orchestration test runs this
    path on the CPU)."""
    from .. import kernels

    xp = get_array_module(x)

    def as3d(a):
        return xp.ascontiguousarray(a).reshape(a.shape[0], a.shape[1], -1)

    if "xhat" in kwargs:
        kwargs["xhat"] = as3d(kwargs["xhat"])
    sums = kernels.reference.bn_channel_sums if xp is np else kernels.bn_channel_sums
    return sums(mode, as3d(x), **kwargs)


_FUSABLE_DTYPES = frozenset(np.dtype(name) for name in _CTYPES)


def _fusable(*arrays):
    """Whether the fused kernels take these arrays: CuPy, float16/32/64 (not bfloat16)."""
    return all(not isinstance(a, np.ndarray) and a.dtype in _FUSABLE_DTYPES for a in arrays)


@functools.cache
def _bn_kernels(x_dtype, acc_dtype, y_dtype, p_dtype):
    """The fused kernels for data ``x_dtype`` (the backward: the incoming gradient's
    dtype), accumulation ``acc_dtype``, output ``y_dtype`` (the backward: gx's, x's dtype)
    and parameters (γ, β) ``p_dtype``, built once."""
    from .._backend import cupy

    cp = cupy()
    # parameter lists take NumPy's dtype names ("float" would be float64 there); the
    # bodies cast with C's (typedef A: the accumulation type)
    X, A, Y, P = (np.dtype(d).name for d in (x_dtype, acc_dtype, y_dtype, p_dtype))
    Yc, Pc = _CTYPES[Y], _CTYPES[P]
    pre = f"typedef {_CTYPES[A]} A;\n"
    gx = f"gx = ({Yc})((A)gamma * inv * ((A)g - (s1 + xhat * s2) / m));"

    return dict(
        # x̂ = (x − μ)·inv, y = γ·x̂ + β
        forward=cp.ElementwiseKernel(
            _FORWARD_IN.format(X=X, A=A, P=P), f"{A} xhat, {Y} y", _forward_body(Yc),
            "minigrad_bn_forward", preamble=pre),
        # gx = γ·inv·(g − (Σ g + x̂·Σ g·x̂)/M)
        backward=cp.ElementwiseKernel(
            f"{X} g, {A} xhat, {P} gamma, {A} inv, {A} s1, {A} s2, {A} m", f"{Y} gx",
            gx, "minigrad_bn_backward", preamble=pre),
        # the same, and γ.grad += Σ g·x̂, β.grad += Σ g (the leaves' own arrays, offered by
        # the backward sweep) by the first C threads: two adds fewer a layer. The sums come
        # again as (C,) raw arrays; each add rounds as the sweep's `grad += sum.astype(P)`.
        backward_into=cp.ElementwiseKernel(
            f"{X} g, {A} xhat, {P} gamma, {A} inv, {A} s1, {A} s2, {A} m, "
            f"raw {A} s1c, raw {A} s2c, int64 channels",
            f"{Y} gx, raw {P} ggamma, raw {P} gbeta",
            gx + "\nif (i < channels) {\n"
            f"  ggamma[i] = ({Pc})((A)ggamma[i] + (A)({Pc})s2c[i]);\n"
            f"  gbeta[i] = ({Pc})((A)gbeta[i] + (A)({Pc})s1c[i]);\n}}",
            "minigrad_bn_backward_into", preamble=pre),
    )


_FORWARD_IN = "{X} x, {A} mu, {A} inv, {P} gamma, {P} beta"


def _forward_body(Yc):
    return f"xhat = ((A)x - mu) * inv; y = ({Yc})(xhat * (A)gamma + (A)beta);"


def _running_body(Rc, counted, at="", mu="mu", var="var"):
    """r_μ ← (1 − m)·r_μ + m·μ, r_σ² ← (1 − m)·r_σ² + m·σ²·unbias for the element ``at``
    ("" for elementwise arguments, "[i]" for raw ones), and the counter + 1 by thread 0."""
    return (f"rm{at} = one_minus_m * rm{at} + m * ({Rc}){mu}{at};"
            f" rv{at} = one_minus_m * rv{at} + m * ({Rc})({var}{at} * unbias);"
            + ("\nif (i == 0) batches[0] += 1;" if counted else ""))


@functools.cache
def _bn_running_kernel(acc_dtype, r_dtype, counted=False):
    """Both running statistics blended in one kernel, with the NumPy path's roundings:
    r_μ ← (1 − m)·r_μ + m·μ, r_σ² ← (1 − m)·r_σ² + m·σ²·M/(M − 1). ``counted``: also the
    module's batch counter (a last argument, int64, one element) + 1, by the first thread,
    so that ``num_batches_tracked += 1`` costs no launch of its own. (BatchNormFunction's
    forward does all this in its own kernel: :func:`_bn_forward_running_kernel`.)"""
    from .._backend import cupy

    A, R = np.dtype(acc_dtype).name, np.dtype(r_dtype).name
    return cupy().ElementwiseKernel(
        f"{A} mu, {A} var, {R} one_minus_m, {R} m, {A} unbias",
        f"{R} rm, {R} rv" + (", raw int64 batches" if counted else ""),
        _running_body(_CTYPES[R], counted),
        "minigrad_bn_running_counted" if counted else "minigrad_bn_running")


@functools.cache
def _bn_forward_running_kernel(x_dtype, acc_dtype, y_dtype, p_dtype, r_dtype, counted):
    """The forward kernel of :func:`_bn_kernels` that also blends the running statistics
    (and counts the batch) as :func:`_bn_running_kernel` does, by its first C threads
    from the (C,) batch statistics passed again as raw arrays: one launch a layer fewer.
    Arguments: the forward's, then μ, σ² (C,), 1 − m, m, M/(M − 1), C; outputs x̂, y, the
    running mean and variance (and the int64 counter)."""
    from .._backend import cupy

    X, A, Y, P, R = (np.dtype(d).name for d in (x_dtype, acc_dtype, y_dtype, p_dtype,
                                                 r_dtype))
    return cupy().ElementwiseKernel(
        _FORWARD_IN.format(X=X, A=A, P=P)
        + f", raw {A} mu_c, raw {A} var_c, {R} one_minus_m, {R} m, {A} unbias, "
        "int64 channels",
        f"{A} xhat, {Y} y, raw {R} rm, raw {R} rv" + (", raw int64 batches" if counted else ""),
        _forward_body(_CTYPES[Y]) + "\nif (i < channels) {\n  "  # (channels ≥ 1: i = 0 too)
        + _running_body(_CTYPES[R], counted, "[i]", "mu_c", "var_c") + "\n}",
        "minigrad_bn_forward_running_counted" if counted else "minigrad_bn_forward_running",
        preamble=f"typedef {_CTYPES[A]} A;\n")


def _bn_out_dtype(x, gamma, beta):
    """The dtype of batch norm's output: x's when x is float16/bfloat16 and the parameters
    float32 (PyTorch's mixed-precision batch norm, what autocast meets after a half
    convolution: statistics and affine in float32, the output half, so the next half op
    needs no cast), else NumPy's promotion of the three."""
    if is_half(x.dtype) and gamma.dtype == beta.dtype == np.float32:
        return x.dtype
    return np.result_type(x.dtype, gamma.dtype, beta.dtype)


class BatchNormFunction(Function):
    r"""y = γ·x̂ + β with x̂ standardized over ``axes`` (every axis but the channel axis 1)
    and γ, β of shape (C,): batch normalization in training, one node instead of three.
    VJP: gβ = Σ g, gγ = Σ g·x̂,
    gx = γ/√(σ² + ε)·(g − mean(g) − x̂·mean(g·x̂)) (sums and means over ``axes``)."""

    adds_to_leaf_grads = True  # γ's and β's gradients, on CUDA: see _backward_cuda

    def __init__(self, axes, eps, running=None):
        self.axes, self.eps = tuple(axes), eps
        self.mean = self.var = self.inv = self.xhat = None
        # the running statistics for the CUDA forward kernel to blend: (running mean,
        # running var, momentum, M/(M − 1), int64 counter or None) arrays; ran_running
        # says whether it did (else :func:`_batch_norm` blends them)
        self.running, self.ran_running = running, False

    def _channel_axes(self, ndim):
        """Whether ``axes`` are every axis but 1 (what the fused CUDA kernels reduce)."""
        return self.axes == (0,) + tuple(range(2, ndim))

    @ieee  # an inf or nan in x gives nan statistics, silently (as PyTorch)
    def forward(self, xp, x, gamma, beta):
        if _fusable(x, gamma, beta) and self._channel_axes(x.ndim):
            return self._forward_cuda(x, gamma, beta)
        xc = x if x.dtype.itemsize >= 4 else x.astype(np.float32)  # float16: stats in fp32
        shape = (1, -1) + (1,) * (x.ndim - 2)
        M = x.size // x.shape[1]
        mean = xc.mean(axis=self.axes, keepdims=True)
        d = xc - mean
        var = _channel_sum(xp, d, d).reshape(shape) / M  # two-pass: Σ (x − μ)² / M
        inv = 1.0 / xp.sqrt(var + self.eps)
        d *= inv  # d is x̂ from here on
        self.mean, self.var, self.inv, self.xhat = mean, var, inv, d
        out = _bn_out_dtype(x, gamma, beta)
        y = d * gamma.reshape(shape).astype(d.dtype, copy=False)
        y += beta.reshape(shape).astype(d.dtype, copy=False)
        return y.astype(out, copy=False)

    def _forward_cuda(self, x, gamma, beta):
        """The forward in two kernels (see the CUDA section above), the second one also
        blending ``running`` (set by :func:`_batch_norm`) into the running statistics."""
        out = _bn_out_dtype(x, gamma, beta)
        acc = acc_dtype(x.dtype)
        beta = beta.astype(gamma.dtype, copy=False)
        shape = (1, -1) + (1,) * (x.ndim - 2)
        mean_c, var_c, inv = _channel_sums(3, x, eps=self.eps)  # μ, σ², 1/√(σ² + ε)
        mean, var, inv = (a.reshape(shape) for a in (mean_c, var_c, inv))
        args = (x, mean, inv, gamma.reshape(shape), beta.reshape(shape))
        if self.running is None:
            xhat, y = _bn_kernels(x.dtype, acc, out, gamma.dtype)["forward"](*args)
        else:
            rm, rv, momentum, unbias, batches = self.running
            xp = get_array_module(x)
            xhat, y = xp.empty(x.shape, dtype=acc), xp.empty(x.shape, dtype=out)
            r = rm.dtype.type
            counter = () if batches is None else (batches,)
            _bn_forward_running_kernel(x.dtype, acc, out, gamma.dtype, rm.dtype,
                                       batches is not None)(
                *args, mean_c, var_c, r(1 - momentum), r(momentum), acc.type(unbias),
                np.int64(x.shape[1]), xhat, y, rm, rv, *counter)
            self.ran_running = True
        self.running = None
        self.mean, self.var, self.inv, self.xhat = mean, var, inv, xhat
        return y

    def _backward_cuda(self, g, x, gamma):
        """gx, Σ g·x̂ and Σ g in two kernels (the saved arrays are constants here); where
        the sweep offers γ's and β's ``.grad`` (and gx is wanted), the second kernel adds
        the sums into them: (gx, ADDED, ADDED). gx's layout: :meth:`_grad_input_array`."""
        acc = self.xhat.dtype.type
        k = _bn_kernels(g.dtype, self.xhat.dtype, x.dtype, gamma.dtype)
        M, C = x.size // x.shape[1], x.shape[1]
        shape = (1, -1) + (1,) * (x.ndim - 2)
        s1c, s2c = _channel_sums(2, g, xhat=self.xhat)
        s1, s2 = s1c.reshape(shape), s2c.reshape(shape)
        args = (g, self.xhat, gamma.reshape(shape), self.inv, s1, s2, acc(M))
        gg, gb = self.offered_grad(1), self.offered_grad(2)
        if not self.needs_input_grad[0]:
            return None, s2c.astype(gamma.dtype, copy=False), s1c.astype(gamma.dtype,
                                                                         copy=False)
        gx = self._grad_input_array(x)
        # (not float16 parameters with float64 sums: CuPy's float16 rounds a double to
        # float first, two roundings where the sweep's astype makes one)
        if gg is not None and gb is not None and \
                not (gamma.dtype == np.float16 and acc is np.float64):
            k["backward_into"](*args, s1c, s2c, np.int64(C), gx, gg, gb)
            return gx, ADDED, ADDED
        k["backward"](*args, gx)
        return gx, s2c.astype(gamma.dtype, copy=False), s1c.astype(gamma.dtype, copy=False)

    def _grad_input_array(self, x):
        """The array gx is written into: x's shape and dtype, laid out channel-major
        (C, N, ...) — a transposed view — when x came from a Function that wants its
        output gradient so (``wants_channel_major_grad``: a convolution, whose
        weight-gradient GEMM reads gy as (C, N·L) and would copy it into that layout),
        else C-contiguous. The elementwise kernel writes either at the same speed."""
        xp = get_array_module(x)
        creator = self.inputs[0].creator
        if x.ndim >= 3 and getattr(creator, "wants_channel_major_grad", False):
            order = (1, 0) + tuple(range(2, x.ndim))
            return xp.empty(tuple(x.shape[i] for i in order), dtype=x.dtype).transpose(order)
        return xp.empty(x.shape, dtype=x.dtype)

    def backward(self, g):
        a = self.axes
        x, gamma, _ = self.inputs
        shape = (1, -1) + (1,) * (x.ndim - 2)
        need = self.needs_input_grad
        if not is_grad_enabled() and self.xhat is not None and \
                _fusable(g.data, x.data, gamma.data) and self._channel_axes(x.ndim):
            grads = self._backward_cuda(g.data, x.data, gamma.data)
            return tuple(None if not need[i] else r if r is ADDED else const(r)
                         for i, r in enumerate(grads))
        if not is_grad_enabled():
            # Nothing records this backward: the saved arrays are exact constants here.
            xhat = self.xhat
            xp = g.xp
            gd = g.data.astype(xhat.dtype, copy=False)
            M = gd.size // gd.shape[1]
            s1 = _channel_sum(xp, gd).reshape(shape)  # Σ g
            s2 = _channel_sum(xp, gd, xhat).reshape(shape)  # Σ g·x̂
            gx = None
            if need[0]:
                k = gamma.data.reshape(shape).astype(xhat.dtype, copy=False) * self.inv
                gx = xhat * (-k * s2 / M)
                gx -= k * s1 / M
                gx += gd * k
                gx = const(gx.astype(x.dtype, copy=False))
            gg = const(s2.reshape(-1).astype(gamma.dtype, copy=False)) if need[1] else None
            gb = const(s1.reshape(-1).astype(gamma.dtype, copy=False)) if need[2] else None
            return gx, gg, gb
        # create_graph: rebuild μ, σ, x̂ from x so that their dependence on x is recorded.
        d = x - x.mean(a, keepdim=True)
        inv = ((d * d).mean(a, keepdim=True) + self.eps).rsqrt()
        xhat = d * inv
        gxhat = g * gamma.reshape(shape)
        gx = inv * (gxhat - gxhat.mean(a, keepdim=True)
                    - xhat * (gxhat * xhat).mean(a, keepdim=True))
        return gx, (g * xhat).sum(a), g.sum(a)

    def release(self):
        super().release()
        self.mean = self.var = self.inv = self.xhat = self.running = None


def _affine(y, weight, bias, shape):
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


@quietly   # (a batch of ±1e308 overflows float32 running statistics to ∞, silently)
def blend_running_stats(running_mean, running_var, mean, var, momentum, count):
    """running ← (1 − momentum)·running + momentum·statistic, in place, for each running
    buffer given (None: skipped); ``mean`` and ``var`` are the batch's per-channel arrays
    over ``count`` values, the variance made unbiased (× count/(count − 1)) first."""
    m = momentum
    if running_mean is not None:
        running_mean.data[...] = (1 - m) * running_mean.data + m * mean.astype(
            running_mean.dtype)
    if running_var is not None:
        unbiased = (var * (count / (count - 1))).astype(running_var.dtype)
        running_var.data[...] = (1 - m) * running_var.data + m * unbiased


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    r"""Batch normalization over (N, *) per channel (dim 1); PyTorch's ``F.batch_norm``.

    In training the batch statistics normalize and, when ``running_mean``/``running_var``
    are given, are blended into them in place:
    ``running_mean ← (1 − momentum)·running_mean + momentum·μ_B`` and
    ``running_var ← (1 − momentum)·running_var + momentum·σ²_B·M/(M − 1)``.
    Otherwise the running statistics normalize.
    """
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum,
                       eps)


def _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps,
                batches=None):
    """:func:`batch_norm`; in training also ``batches`` (a module's num_batches_tracked,
    or None) + 1, by the running-statistics kernel where that runs (no launch of its own),
    else on its own, before any error, as PyTorch's module counts first."""
    if batches is not None and not (training and running_mean is not None
                                    and running_var is not None):
        raise ValueError("batch_norm: a batch counter needs training with running stats")
    require_floating("batch_norm", input)
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input with at least 2 dims (N, C, ...), got "
                         f"shape {input.shape}")
    C = input.shape[1]
    axes = (0,) + tuple(range(2, input.ndim))
    shape = (1, C) + (1,) * (input.ndim - 2)
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (C,):
            raise ValueError(f"batch_norm: {name} has shape {t.shape}, expected ({C},) for "
                             f"input of shape {input.shape}")
    if training:
        M = input.numel() // C
        # the running statistics are blended by the CUDA kernel below (which, for M > 1 and
        # C > 0, also counts the batch): the batch's mean (float32/64) is an array of the
        # input's type, which must be theirs
        fused_running = (running_mean is not None and running_var is not None
                         and type(input.data) is type(running_mean.data)
                         and _fusable(running_mean.data, running_var.data)
                         and running_mean.dtype == running_var.dtype)
        fused_count = batches is not None and M > 1 and C > 0 and fused_running
        if batches is not None and not fused_count:
            batches.data += 1
        if M == 0:  # an empty batch: nothing to normalize, running statistics untouched
            return _affine(input, weight, bias, shape)
        if M == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got "
                             f"input size {input.shape}")
        if weight is not None and bias is not None:
            running = None
            if fused_running:  # for the forward kernel to blend, where it runs on CUDA
                running = (running_mean.data, running_var.data, momentum, M / (M - 1),
                           batches.data if fused_count else None)
            fn = BatchNormFunction(axes, eps, running)
            y = fn(input, weight, bias)
        else:
            fn = Normalize(axes, eps)
            y = _affine(fn(input), weight, bias, shape)
        if not fused_running:
            blend_running_stats(running_mean, running_var, fn.mean.reshape(C),
                                fn.var.reshape(C), momentum, M)
        elif not getattr(fn, "ran_running", False):  # (else the forward kernel did it)
            counter = (batches.data,) if fused_count else ()
            _bn_running_kernel(fn.mean.dtype, running_mean.dtype, fused_count)(
                fn.mean.reshape(C), fn.var.reshape(C), 1 - momentum, momentum, M / (M - 1),
                running_mean.data, running_var.data, *counter)
        return y
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var are needed when "
                         "training=False")
    # y = x·scale + shift, with scale = γ/√(var + ε), shift = β − mean·scale
    xp = input.xp
    inv = (1.0 / xp.sqrt(running_var.data.astype(input.dtype) + eps)).reshape(shape)
    mean = running_mean.data.astype(input.dtype).reshape(shape)
    scale = const(inv) if weight is None else weight.reshape(shape) * const(inv)
    shift = -(const(mean) * scale)
    if bias is not None:
        shift = shift + bias.reshape(shape)
    return input * scale + shift


def _trailing(op, input, normalized_shape):
    """``normalized_shape`` as a tuple that ends ``input``'s shape, or a ValueError (and
    a floating-point input, or a TypeError)."""
    require_floating(op, input)
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(int(n) for n in normalized_shape)
    k = len(normalized_shape)
    if input.ndim < k or input.shape[input.ndim - k:] != normalized_shape:
        raise ValueError(f"{op}: expected input with trailing shape {normalized_shape}, got "
                         f"shape {input.shape}")
    return normalized_shape


@functools.cache
def _ln_kernels(dtype):
    """LayerNormFunction's CUDA kernels for float32/float64 ``dtype`` (layer_norm widens
    half tensors first): the rows' Σ(x − μ)² and 1/√(σ² + ε); y = (x − μ)·inv·γ + β; the
    VJP's row sums Σ g·γ and Σ g·γ·x̂, gx, and γ's column sum Σ g·x̂. ReductionKernels and
    ElementwiseKernels, built once."""
    from .._backend import cupy

    cp, T = cupy(), np.dtype(dtype).name
    xhat = "((x - mu) * inv)"

    def reduce(args, expr, name):
        return cp.ReductionKernel(args, f"{T} s", expr, "a + b", "s = a", "0", name)
    return dict(
        sumsq=reduce(f"{T} x, {T} mu", "(x - mu) * (x - mu)", "minigrad_ln_sumsq"),
        inv=cp.ElementwiseKernel(f"{T} ss, {T} n, {T} eps", f"{T} inv",
                                 "inv = (A)1 / sqrt(ss / n + eps)", "minigrad_ln_inv",
                                 preamble=f"typedef {_CTYPES[T]} A;"),
        forward=cp.ElementwiseKernel(f"{T} x, {T} mu, {T} inv, {T} w, {T} b", f"{T} y",
                                     f"y = {xhat} * w + b", "minigrad_ln_forward"),
        s1=reduce(f"{T} g, {T} w", "g * w", "minigrad_ln_vjp_s1"),
        s2=reduce(f"{T} g, {T} w, {T} x, {T} mu, {T} inv", f"g * w * {xhat}",
                  "minigrad_ln_vjp_s2"),
        gx=cp.ElementwiseKernel(
            f"{T} g, {T} w, {T} x, {T} mu, {T} inv, {T} s1, {T} s2, {T} n", f"{T} gx",
            f"gx = inv * (g * w - (s1 + {xhat} * s2) / n)", "minigrad_ln_vjp"),
        gw=reduce(f"{T} g, {T} x, {T} mu, {T} inv", f"g * {xhat}", "minigrad_ln_vjp_gw"),
    )


class _RowNormFunction(Function):
    """What LayerNormFunction and RMSNormFunction share: rows of the last ``k`` dims, and
    a backward that is ``_vjp_arrays`` from the forward's statistics when nothing records
    it, else ``_vjp_recorded`` in Tensor ops (differentiable again)."""

    def _rows(self, x):
        """C, the elements of a row (the last ``k`` dims of ``x``)."""
        return math.prod(x.shape[x.ndim - self.k:])

    def backward(self, gy):
        x = self.inputs[0]
        if not is_grad_enabled():
            return self._vjp_arrays(x.xp, gy.data, x.data, self._rows(x))
        return self._vjp_recorded(gy, x, tuple(range(x.ndim - self.k, x.ndim)))


class LayerNormFunction(_RowNormFunction):
    r"""Layer normalization of the rows x (the last dims, C elements each), with optional
    γ, β of the normalized shape::

        μ = mean(x),  σ² = mean((x − μ)²),  inv = 1/√(σ² + ε),  x̂ = (x − μ)·inv
        y = x̂·γ + β

    VJP (gd = gy·γ):  gx = inv·(gd − (Σ gd + x̂·Σ gd·x̂)/C),  gγ = Σ_rows gy·x̂,  gβ = Σ_rows gy.

    One node for the whole layer, on NumPy as above; on CUDA the forward is 4 launches (a
    mean, Σ(x − μ)², inv, and y in one elementwise kernel) and an unrecorded VJP 5 (two row
    sums, gx, gγ, gβ), where Normalize and the affine ops took 23. A recorded VJP
    (create_graph) rebuilds μ, inv and x̂ from x in Tensor ops, so it is differentiable again.
    """

    def __init__(self, k, eps, has_weight, has_bias):
        self.k, self.eps = k, eps
        self.has_weight, self.has_bias = has_weight, has_bias
        self.norm = self.mu = self.inv = None

    def _params(self, C, params):
        """γ and β as (C,) arrays, or the scalars 1 and 0 when absent."""
        params = list(params)
        w = params.pop(0).reshape(C) if self.has_weight else 1.0
        b = params.pop(0).reshape(C) if self.has_bias else 0.0
        return w, b

    @ieee  # an inf or nan in x gives nan statistics, silently (as PyTorch)
    def forward(self, xp, x, *params):
        C = self._rows(x)
        w, b = self._params(C, params)
        if xp is np:  # x̂ by Normalize (its saved arrays serve the VJP), then γ and β
            self.norm = Normalize(range(x.ndim - self.k, x.ndim), self.eps)
            y = self.norm.forward(np, x).reshape(-1, C)
            y = y * w if self.has_weight else y
            y = y + b if self.has_bias else y
        else:
            x2 = x.reshape(-1, C)
            k = _ln_kernels(x.dtype)
            self.mu = x2.mean(axis=1, keepdims=True)
            self.inv = k["inv"](k["sumsq"](x2, self.mu, axis=1, keepdims=True), C, self.eps)
            y = k["forward"](x2, self.mu, self.inv, w, b)
        return y.astype(x.dtype, copy=False).reshape(x.shape)

    def _vjp_recorded(self, gy, x, axes):
        gd = gy * self.inputs[1] if self.has_weight else gy
        gx, xhat = normalize_vjp_recorded(x, gd, axes, self.eps)
        return (gx,) + ((gy * xhat,) if self.has_weight else ()) + \
            ((gy,) if self.has_bias else ())

    def _vjp_arrays(self, xp, g, x, C):
        """The VJP from the forward's statistics (nothing recorded: they are constants)."""
        g2 = g.reshape(-1, C)
        w, _ = self._params(C, [p.data for p in self.inputs[1:]])
        if xp is np:  # gx by Normalize's VJP of gd = g·γ; gγ = Σ g·x̂
            gd = (g2 * w).reshape(g.shape) if self.has_weight else g
            gx = self.norm.backward(const(gd)).data
            gw = (g2 * self.norm.xhat.reshape(-1, C)).sum(axis=0) if self.has_weight else None
        else:
            x2, mu, inv = x.reshape(-1, C), self.mu, self.inv
            k = _ln_kernels(x.dtype)
            s1 = k["s1"](g2, w, axis=1, keepdims=True)
            s2 = k["s2"](g2, w, x2, mu, inv, axis=1, keepdims=True)
            gx = k["gx"](g2, w, x2, mu, inv, s1, s2, C)
            gw = k["gw"](g2, x2, mu, inv, axis=0) if self.has_weight else None
        grads = [const(gx.astype(x.dtype, copy=False).reshape(x.shape))]
        shape = x.shape[x.ndim - self.k:]
        if self.has_weight:
            grads.append(const(gw.astype(x.dtype, copy=False).reshape(shape)))
        if self.has_bias:
            grads.append(const(g2.sum(axis=0).astype(x.dtype, copy=False).reshape(shape)))
        return tuple(grads)

    def release(self):
        super().release()
        self.norm = self.mu = self.inv = None


class RMSNormFunction(_RowNormFunction):
    r"""Root-mean-square normalization of the rows x (the last dims, C elements each), with
    an optional γ of the normalized shape::

        inv = 1/√(mean(x²) + ε),  x̂ = x·inv,  y = x̂·γ

    VJP (gd = gy·γ):  gx = inv·(gd − x̂·Σ gd·x̂/C),  gγ = Σ_rows gy·x̂.

    :class:`LayerNormFunction` with μ = 0 and no β, and on CUDA its kernels so (μ and Σ gd
    passed as 0): 3 launches forward (Σ x², inv, y) and 3 for an unrecorded VJP (Σ gd·x̂,
    gx, gγ), where the Tensor-op composition took 7 and 15. A recorded VJP (create_graph)
    rebuilds inv and x̂ from x in Tensor ops.
    """

    def __init__(self, k, eps, has_weight):
        self.k, self.eps, self.has_weight = k, eps, has_weight
        self.inv = None

    @ieee
    def forward(self, xp, x, *params):
        C = self._rows(x)
        x2 = x.reshape(-1, C)
        w = params[0].reshape(C) if self.has_weight else 1.0
        if xp is np:
            self.inv = 1.0 / np.sqrt((x2 * x2).mean(axis=1, keepdims=True) + self.eps)
            y = x2 * self.inv
            y = y * w if self.has_weight else y
        else:
            k = _ln_kernels(x.dtype)
            self.inv = k["inv"](k["sumsq"](x2, 0.0, axis=1, keepdims=True), C, self.eps)
            y = k["forward"](x2, 0.0, self.inv, w, 0.0)
        return y.astype(x.dtype, copy=False).reshape(x.shape)

    def _vjp_recorded(self, gy, x, axes):
        inv = ((x * x).mean(axes, keepdim=True) + self.eps).rsqrt()
        xhat = x * inv
        gd = gy * self.inputs[1] if self.has_weight else gy
        gx = inv * (gd - xhat * (gd * xhat).mean(axes, keepdim=True))
        return (gx, gy * xhat) if self.has_weight else gx

    def _vjp_arrays(self, xp, g, x, C):
        """The VJP from the forward's inv (nothing recorded: a constant)."""
        g2, x2, inv = g.reshape(-1, C), x.reshape(-1, C), self.inv
        w = self.inputs[1].data.reshape(C) if self.has_weight else 1.0
        if xp is np:
            with np.errstate(invalid="ignore", over="ignore"):
                xhat = x2 * inv
                gd = g2 * w if self.has_weight else g2
                gx = inv * (gd - xhat * ((gd * xhat).sum(axis=1, keepdims=True) / C))
                gw = (g2 * xhat).sum(axis=0) if self.has_weight else None
        else:
            k = _ln_kernels(x.dtype)
            s2 = k["s2"](g2, w, x2, 0.0, inv, axis=1, keepdims=True)
            gx = k["gx"](g2, w, x2, 0.0, inv, 0.0, s2, C)
            gw = k["gw"](g2, x2, 0.0, inv, axis=0) if self.has_weight else None
        gx = const(gx.astype(x.dtype, copy=False).reshape(x.shape))
        if not self.has_weight:
            return gx
        return gx, const(gw.astype(x.dtype, copy=False).reshape(x.shape[x.ndim - self.k:]))

    def release(self):
        super().release()
        self.inv = None


@in_float32(autocast_list=True)
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalization over the last ``len(normalized_shape)`` dims (``F.layer_norm``):
    one :class:`LayerNormFunction` node."""
    shape = _trailing("layer_norm", input, normalized_shape)
    for what, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != tuple(shape):
            raise ValueError(f"layer_norm: {what} must have the normalized shape "
                             f"{tuple(shape)}, got {tuple(t.shape)}")
    params = [t for t in (weight, bias) if t is not None]
    if input.size == 0 or math.prod(shape) == 0 or any(t.dtype != input.dtype for t in params):
        # no rows, or empty ones; or γ, β of another dtype, which promote the result (the
        # kernels take one dtype): Normalize's x̂ and the affine ops
        xhat = Normalize(tuple(range(input.ndim - len(shape), input.ndim)), eps)(input)
        return _affine(xhat, weight, bias, shape)
    return LayerNormFunction(len(shape), eps, weight is not None, bias is not None)(
        input, *params)


@in_float32(autocast_list=True)
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalization of (N, C, *) over groups of C/G channels (``F.group_norm``)."""
    require_floating("group_norm", input)
    if input.ndim < 2:
        raise ValueError(f"group_norm: expected input (N, C, ...), got shape {input.shape}")
    N, C = input.shape[:2]
    if not isinstance(num_groups, numbers.Integral) or num_groups < 1 or C % num_groups:
        raise ValueError(f"group_norm: num_channels ({C}) must be divisible by num_groups "
                         f"({num_groups!r}), a positive integer")
    # the group size spelled out rather than -1, so that an empty batch (N = 0) reshapes
    x = input.reshape(N, num_groups, C // num_groups * math.prod(input.shape[2:]))
    if x.size == 0:
        xhat = Normalize((2,), eps)(x)
    else:  # each group a row: LayerNormFunction's kernels on CUDA (4 + 3 launches, not 15)
        xhat = LayerNormFunction(1, eps, False, False)(x)
    return _affine(xhat.reshape(input.shape), weight, bias, (1, C) + (1,) * (input.ndim - 2))


def _instance_axes(op, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    require_floating(op, input)
    if input.ndim < 3:
        raise ValueError(f"{op}: expected input (N, C, *) with at least one spatial dim, got "
                         f"shape {input.shape}")
    return tuple(range(2, input.ndim))


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    r"""Instance normalization of (N, C, *) (PyTorch's ``F.instance_norm``)::

        μₙ,c = mean over the spatial dims of xₙ,c,   σ²ₙ,c = biased variance there
        y = γ_c·(x − μₙ,c)/√(σ²ₙ,c + ε) + β_c

    With ``use_input_stats`` (the default, and training) each sample's own statistics
    normalize, and given running statistics are blended in place with their batch mean:
    ``running_mean ← (1 − momentum)·running_mean + momentum·meanₙ μₙ,c`` and likewise
    ``running_var`` with meanₙ of the *unbiased* σ²ₙ,c·M/(M − 1), M the spatial size.
    Otherwise ``running_mean``/``running_var`` normalize, as batch norm in eval.
    """
    op = "instance_norm"
    axes = _instance_axes(op, input)
    C = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (C,):
            raise ValueError(f"{op}: {name} has shape {t.shape}, expected ({C},) for input "
                             f"of shape {input.shape}")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError(f"{op}: running_mean and running_var are needed when "
                             "use_input_stats=False")
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    M = math.prod(input.shape[2:])
    if M <= 1:
        raise ValueError(f"{op}: expected more than 1 spatial element when training, got "
                         f"input size {input.shape}")
    fn = Normalize(axes, eps)
    y = _affine(fn(input), weight, bias, (1, C) + (1,) * len(axes))
    if input.shape[0] and (running_mean is not None or running_var is not None):
        blend_running_stats(running_mean, running_var, fn.mean.reshape(-1, C).mean(0),
                            fn.var.reshape(-1, C).mean(0), momentum, M)
    return y


def rms_norm(input, normalized_shape, weight=None, eps=None):
    r"""Root-mean-square layer normalization (Zhang & Sennrich 2019; ``F.rms_norm``) over
    the trailing ``normalized_shape``::

        y = γ · x / √(mean(x²) + ε)

    No mean is subtracted and there is no bias. ``eps=None`` is the machine epsilon of
    the dtype the statistics are computed in: the input's (2.2e-16 for float64, 1.2e-7
    for float32); float16/bfloat16 inputs are computed in float32 and take float32's
    epsilon, then cast back, as PyTorch's CPU kernel does (PyTorch's documentation says
    the input dtype's epsilon).
    """
    normalized_shape = _trailing("rms_norm", input, normalized_shape)
    if weight is not None and weight.shape != normalized_shape:
        raise ValueError(f"rms_norm: weight must have shape {normalized_shape}, got "
                         f"{weight.shape}")
    x = input if input.dtype.itemsize >= 4 else input.to(dtype=np.float32)
    if eps is None:
        eps = float(np.finfo(x.dtype).eps)
    if weight is not None and weight.dtype != x.dtype:
        weight = weight.to(dtype=x.dtype)
    if x.size == 0 or math.prod(normalized_shape) == 0:  # nothing to normalize
        axes = tuple(range(input.ndim - len(normalized_shape), input.ndim))
        y = x * ((x * x).mean(axes, keepdim=True) + eps).rsqrt()
        y = y if weight is None else y * weight
    else:  # one node (RMSNormFunction): on CUDA 3 launches each way
        params = () if weight is None else (weight,)
        y = RMSNormFunction(len(normalized_shape), eps, weight is not None)(x, *params)
    return y if y.dtype == input.dtype else y.to(dtype=input.dtype)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    r"""Local response normalization across channels (Krizhevsky et al. 2012;
    ``F.local_response_norm``) of (N, C, *)::

        y_c = x_c / (k + (α/n)·Σ_{c'} x_{c'}²)^β,    c' from c − ⌊n/2⌋ to c + ⌊(n−1)/2⌋

    with n = ``size``; channels past either end count as zeros (and n stays the divisor),
    as PyTorch.
    """
    if input.ndim < 3:
        raise ValueError(f"local_response_norm: expected input (N, C, *) with 3 or more dims, "
                         f"got shape {input.shape}")
    if not isinstance(size, numbers.Integral) or size < 1:
        raise ValueError(f"local_response_norm: size must be a positive integer, got {size!r}")
    if input.numel() == 0:
        return input
    C = input.shape[1]
    # zero channels around the squares: F.pad's widths, last dim first, dim 1 last
    sq = pad(input * input, (0, 0) * (input.ndim - 2) + (size // 2, (size - 1) // 2))
    window = sq[:, 0:C]
    for j in range(1, size):
        window = window + sq[:, j:j + C]
    return input / (window * (alpha / size) + k) ** beta


# --------------------------------------------------------------------------- modules


def _affine_parameters(module, shape, affine, bias, kw):
    """The learnable γ (ones) and β (zeros) of ``shape`` on ``module``: both when
    ``affine`` (β only with ``bias``), else registered as None."""
    module.register_parameter(
        "weight", Parameter(creation.ones(shape, **kw)) if affine else None)
    module.register_parameter(
        "bias", Parameter(creation.zeros(shape, **kw)) if affine and bias else None)


class _NormBase(Module):
    """What BatchNorm and InstanceNorm share (PyTorch's ``_NormBase``): the per-channel
    ``weight``/``bias``, the running statistics, their reset, and the repr."""

    def __init__(self, num_features, eps, momentum, affine, track_running_stats, device,
                 dtype, bias):
        super().__init__()
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{type(self).__name__}: momentum must be in [0, 1] or None, got "
                             f"{momentum}")
        if eps <= 0:
            raise ValueError(f"{type(self).__name__}: eps must be positive, got {eps}")
        if not isinstance(num_features, numbers.Integral) or num_features < 0:
            raise ValueError(f"{type(self).__name__}: num_features must be a non-negative "
                             f"integer, got {num_features!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        kw = dict(dtype=dtype, device=device)
        _affine_parameters(self, num_features, affine, bias, kw)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, **kw))
            self.register_buffer("running_var", creation.ones(num_features, **kw))
            self.register_buffer("num_batches_tracked",
                                 creation.tensor(0, dtype=np.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        """running_mean ← 0, running_var ← 1, num_batches_tracked ← 0."""
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    _expected = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias)

    def _check_input_dim(self, input):
        if not isinstance(input, Tensor):
            raise TypeError(f"{self!r}: expected a Tensor, got {type(input).__name__}")
        if input.ndim not in self._expected:
            raise ValueError(f"{self!r}: expected {' or '.join(f'{d}D' for d in self._expected)}"
                             f" input, got {input.ndim}D input of shape {input.shape}")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{self!r}: expected input with {self.num_features} channels "
                             f"(dim 1), got shape {input.shape}")

    def _count_batch(self):
        """(the running-average factor, the counter batch_norm is to add 1 to): for a
        training batch with a ``momentum``, ``momentum`` and num_batches_tracked (counted
        by the running-statistics kernel on CUDA); with ``momentum=None`` (cumulative
        average) the batch is counted here, as the factor 1/t needs t."""
        if not (self.training and self.track_running_stats):
            return (0.0 if self.momentum is None else self.momentum), None
        if self.momentum is not None:
            return self.momentum, self.num_batches_tracked
        self.num_batches_tracked.data += 1
        return 1.0 / float(self.num_batches_tracked.item()), None

    def forward(self, input):
        self._check_input_dim(input)
        factor, batches = self._count_batch()
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return _batch_norm(input, self.running_mean if track else None,
                           self.running_var if track else None, self.weight, self.bias,
                           use_batch_stats, factor, self.eps, batches)


class BatchNorm1d(_BatchNorm):
    r"""Batch normalization of (N, C) or (N, C, L) per channel (PyTorch's
    ``nn.BatchNorm1d``). Parameters ``weight`` (γ, ones), ``bias`` (β, zeros); buffers
    ``running_mean``, ``running_var`` (unbiased), ``num_batches_tracked``.

    >>> import minigrad as mg
    >>> bn = BatchNorm1d(3)
    >>> y = bn(mg.randn(8, 3) * 5 + 2)
    >>> [abs(round(float(v), 5)) for v in y.mean(0)]   # each channel: mean 0, var 1
    [0.0, 0.0, 0.0]
    >>> [round(float(v), 3) for v in y.var(0, correction=0)]
    [1.0, 1.0, 1.0]
    """

    _expected = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) per channel (PyTorch's ``nn.BatchNorm2d``)."""

    _expected = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalization of (N, C, D, H, W) per channel, over (N, D, H, W) (PyTorch's
    ``nn.BatchNorm3d``); parameters and buffers as :class:`BatchNorm1d`.

    >>> import minigrad as mg
    >>> y = BatchNorm3d(2)(mg.randn(4, 2, 3, 3, 3) * 3 + 1)
    >>> [abs(round(float(v), 5)) for v in y.mean((0, 2, 3, 4))]
    [0.0, 0.0]
    """

    _expected = (5,)


class _TrailingNorm(Module):
    """What LayerNorm and RMSNorm share: the trailing ``normalized_shape`` they normalize
    over, ``eps``, and ``weight`` (ones) and ``bias`` (zeros) of that shape."""

    def __init__(self, normalized_shape, eps, elementwise_affine, bias, device, dtype):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        if not all(isinstance(n, numbers.Integral) and n >= 0 for n in normalized_shape):
            raise ValueError(f"{type(self).__name__}: normalized_shape must hold non-negative "
                             f"integers, got {normalized_shape!r}")
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        _affine_parameters(self, self.normalized_shape, elementwise_affine, bias,
                           dict(dtype=dtype, device=device))

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)


class LayerNorm(_TrailingNorm):
    """Layer normalization over the trailing ``normalized_shape`` (PyTorch's
    ``nn.LayerNorm``); ``weight`` (ones) and ``bias`` (zeros) of that shape."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__(normalized_shape, eps, elementwise_affine, bias, device, dtype)

    def forward(self, input):
        k = len(self.normalized_shape)
        if input.ndim < k or input.shape[input.ndim - k:] != self.normalized_shape:
            raise ValueError(f"{self!r}: expected input with trailing shape "
                             f"{self.normalized_shape}, got shape {input.shape}")
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Group normalization (PyTorch's ``nn.GroupNorm``): per sample over groups of
    ``num_channels/num_groups`` channels; ``weight``/``bias`` per channel."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        if (not isinstance(num_groups, numbers.Integral) or num_groups < 1
                or num_channels % num_groups):
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = (
            num_groups, num_channels, eps, affine)
        _affine_parameters(self, num_channels, affine, bias, dict(dtype=dtype, device=device))

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise ValueError(f"{self!r}: expected input of shape (N, {self.num_channels}, *), "
                             f"got {input.shape}")
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _InstanceNorm(_NormBase):
    _spatial = 1

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias)

    def forward(self, input):
        n = self._spatial
        if not isinstance(input, Tensor):
            raise TypeError(f"{self!r}: expected a Tensor, got {type(input).__name__}")
        if input.ndim not in (n + 1, n + 2):
            raise ValueError(f"{self!r}: expected {n + 1}D (unbatched) or {n + 2}D input, got "
                             f"{input.ndim}D input of shape {input.shape}")
        c = input.ndim - n - 1  # the channel dim
        if input.shape[c] != self.num_features:
            if self.affine or self.track_running_stats:
                raise ValueError(f"{self!r}: expected input's size at dim={c} to match "
                                 f"num_features ({self.num_features}), got shape {input.shape}")
            warnings.warn(f"{type(self).__name__}: input's size at dim={c} does not match "
                          "num_features, which is not used because affine=False", stacklevel=2)
        unbatched = input.ndim == n + 1
        x = input.unsqueeze(0) if unbatched else input
        y = instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          self.training or not self.track_running_stats,
                          0.0 if self.momentum is None else self.momentum, self.eps)
        return y.squeeze(0) if unbatched else y


class InstanceNorm1d(_InstanceNorm):
    r"""Instance normalization of (N, C, L) or (C, L) (PyTorch's ``nn.InstanceNorm1d``):
    each sample's channel is standardized over its L positions, then γ_c·x̂ + β_c.

    PyTorch's defaults: ``affine=False`` (no parameters) and ``track_running_stats=False``
    (the input's statistics in training and in eval). With ``track_running_stats=True``
    the running averages of the per-instance statistics are kept (buffers
    ``running_mean``, ``running_var``, ``num_batches_tracked``, the last never
    incremented, as PyTorch) and normalize in eval; ``momentum=None`` means 0 here (the
    statistics freeze), not BatchNorm's cumulative average, also as PyTorch.
    """


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) or (C, H, W) (PyTorch's
    ``nn.InstanceNorm2d``); see :class:`InstanceNorm1d`."""

    _spatial = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization of (N, C, D, H, W) or (C, D, H, W) (PyTorch's
    ``nn.InstanceNorm3d``): each sample's channel standardized over its D·H·W voxels; see
    :class:`InstanceNorm1d`."""

    _spatial = 3


class RMSNorm(_TrailingNorm):
    r"""RMS normalization over the trailing ``normalized_shape`` (PyTorch's
    ``nn.RMSNorm``): y = γ·x/√(mean(x²) + ε), with ``weight`` γ (ones) when
    ``elementwise_affine`` and no bias, and ε = the dtype's machine epsilon when ``eps``
    is None (see :func:`rms_norm`)."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None,
                 dtype=None):
        super().__init__(normalized_shape, eps, elementwise_affine, False, device, dtype)

    def forward(self, x):  # (PyTorch's RMSNorm names it x)
        return rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class LocalResponseNorm(Module):
    """Local response normalization across channels (PyTorch's ``nn.LocalResponseNorm``);
    see :func:`local_response_norm`."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
