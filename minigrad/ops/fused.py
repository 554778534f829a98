r"""Fused forward kernels: softmax/log-softmax, softmax cross-entropy, bias + activation.

Each op here is a :class:`~minigrad.autograd.Function` whose *forward* is one pass over
the data on CUDA (a row kernel that keeps a running maximum and a rescaled running sum
— the "online softmax" of Milakov & Gimelshein 2018 — or one ``ElementwiseKernel``) and
a NumPy expression on CPU, and whose *backward* is written in Tensor ops, so that every
derivative of every order is available (gradgradcheck in ``tests/amp/test_fused.py``).
The cross-entropy's backward when no graph is recorded (a plain ``loss.backward()``) is
its formula in one pass instead (:func:`_ce_grad`: one elementwise kernel on CUDA).

===========================================  =========================================
``fused_cross_entropy(x, t, ...)``             ℓₙ = lse(xₙ) − (1 − ε)·xₙ,ₜₙ − (ε/C)·Σ_c xₙ,c
                                              (softmax cross-entropy with label
                                              smoothing ε; on CUDA one row kernel,
                                              one for the sum or mean, one backward)
``fused_log_softmax(x)`` / ``fused_softmax``   x − lse(x) / e^(x − lse(x)) over the last dim
``bias_act(x, b, "gelu")``                     act(x + b) in one elementwise kernel
``softmax_rows(x, log)``                       F.softmax / F.log_softmax over the last
                                              dim on CUDA (their Functions call it): the
                                              row kernel's lse and one kernel, and a row
                                              reduction and one kernel for the VJP
===========================================  =========================================

Why the backward stays correct to every order: the row kernel's log-sum-exp ``lse`` is
used only to *evaluate* softmax(x) at the very input it was computed from
(:class:`_SoftmaxFromLSE`); the derivatives of that evaluation are softmax's, taken from
:class:`~minigrad.ops.reduction.Softmax`. The bias + activation backward re-forms
z = x + b in Tensor ops and calls the activation's own VJP from
:mod:`minigrad.ops.activation`: one formula per activation, not a copy (ReLU's reads its
saved output instead: y > 0 exactly where z > 0).

Notes
-----
* Under :func:`minigrad.amp.autocast`, ``fused_cross_entropy`` and the softmaxes upcast
  half inputs to float32 (PyTorch's autocast list); ``bias_act`` keeps its inputs' dtype.
* Half inputs are computed in float32 inside the kernels and rounded once.
* A row holding +inf has no softmax: its softmax, log-softmax and loss are NaN on every
  device, as the unfused ops and PyTorch give (−inf logits are fine: masked classes).
* On CUDA an out-of-range class index gives a NaN loss instead of an error (checking
  would cost a device synchronization); on CPU it raises ``IndexError``.
* ``fused_cross_entropy`` takes (N, C) logits and (N,) class indices; class weights are
  not supported (use :func:`minigrad.nn.losses.cross_entropy`).

References
----------
M. Milakov, N. Gimelshein, "Online normalizer calculation for softmax", 2018.
"""
from __future__ import annotations

import functools
import math
import numbers

import numpy as np

from ..amp.autocast_mode import autocast_float32
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..dtypes import dtype_name
from ..tensor import Tensor
from . import activation as _act
from .elementwise import const
from .reduction import LogSoftmax, Softmax

__all__ = ["fused_cross_entropy", "fused_log_softmax", "fused_softmax", "bias_act",
           "check_class_indices",
           "SoftmaxCrossEntropy", "FusedLogSoftmax", "FusedSoftmax", "BiasAct",
           "ACTIVATIONS"]

_REDUCTIONS = ("none", "mean", "sum")


def _acc_dtype(dtype):
    """The dtype a row is reduced in: float64 stays, everything else float32."""
    return np.dtype(np.float64) if dtype == np.float64 else np.dtype(np.float32)


# --------------------------------------------------------------------------- row kernel

_CE_REDUCE_THREADS = 256  # ce_reduce's block (CE_REDUCE_THREADS in the source)
_ROWS_SOURCE = f"#define CE_REDUCE_THREADS {_CE_REDUCE_THREADS}\n" + r"""
template <typename T> __device__ __forceinline__ T neg_inf();
template <> __device__ __forceinline__ float neg_inf<float>() {
    return __int_as_float(0xff800000);
}
template <> __device__ __forceinline__ double neg_inf<double>() {
    return __longlong_as_double(0xfff0000000000000ULL);
}

// (m, s) represents Σ e^(x − m) = s: merge two partial sums over disjoint elements.
// m is never NaN (it only takes values v > m); a NaN element makes s NaN, and s·0 keeps
// that NaN where a part without a finite maximum (m = −inf) is merged. m == mx needs no
// exp: it also keeps +inf maxima finite (e^(inf − inf) would be NaN).
template <typename T> __device__ __forceinline__ void lse_merge(T& m, T& s, T m2, T s2) {
    T mx = m > m2 ? m : m2;
    T a = (m == neg_inf<T>()) ? s * T(0) : (m == mx ? s : s * exp(m - mx));
    T b = (m2 == neg_inf<T>()) ? s2 * T(0) : (m2 == mx ? s2 : s2 * exp(m2 - mx));
    m = mx;
    s = a + b;
}

// One block per row of x (N × C, row-major): lse[row] = log Σ_c e^x[row, c] (one pass,
// online), sum_x = Σ_c x[row, c]; returned to thread 0.
template <typename T>
__device__ void row_stats(const T* __restrict__ xr, long long C, T& lse, T& sum_x) {
    T m = neg_inf<T>(), s = T(0), sx = T(0);
    for (long long c = threadIdx.x; c < C; c += blockDim.x) {
        T v = xr[c];
        if (v > m) {
            // s·0, not 0, when m = −inf: s is 0 or NaN (a NaN element seen before any
            // finite one), and the NaN must survive, as in NumPy's logsumexp.
            s = (m == neg_inf<T>() ? s * T(0) : s * exp(m - v)) + T(1);
            m = v;
        } else if (v != neg_inf<T>()) {
            s += (v == m) ? T(1) : exp(v - m);  // NaN propagates; v = m = +inf adds 1
        }
        sx += v;
    }
    for (int off = 16; off > 0; off >>= 1) {
        T m2 = __shfl_down_sync(0xffffffffu, m, off);
        T s2 = __shfl_down_sync(0xffffffffu, s, off);
        T sx2 = __shfl_down_sync(0xffffffffu, sx, off);
        lse_merge(m, s, m2, s2);
        sx += sx2;
    }
    __shared__ T sh_m[32], sh_s[32], sh_x[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) { sh_m[warp] = m; sh_s[warp] = s; sh_x[warp] = sx; }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < (int)(blockDim.x >> 5); ++w) {
            lse_merge(m, s, sh_m[w], sh_s[w]);
            sx += sh_x[w];
        }
        // a +inf logit leaves softmax undefined: NaN (inf - inf) for the row, as the
        // unfused ops and PyTorch give
        lse = (isinf(m) && m > T(0)) ? m - m : m + log(s);
        sum_x = sx;
    }
}

template <typename T>
__global__ void lse_rows(const T* __restrict__ x, long long C, T* __restrict__ lse_out) {
    T lse, sx;
    row_stats<T>(x + (long long)blockIdx.x * C, C, lse, sx);
    if (threadIdx.x == 0) lse_out[blockIdx.x] = lse;
}

// Softmax cross-entropy per row: loss = lse − (1 − ε)·x[t] − (ε/C)·Σx (0 if t is ignored).
template <typename T>
__global__ void ce_rows(const T* __restrict__ x, const long long* __restrict__ target,
                        long long C, long long ignore_index, T one_minus_eps, T eps_over_C,
                        T* __restrict__ lse_out, T* __restrict__ loss_out) {
    const T* xr = x + (long long)blockIdx.x * C;
    T lse, sx;
    row_stats<T>(xr, C, lse, sx);
    if (threadIdx.x == 0) {
        lse_out[blockIdx.x] = lse;
        const long long t = target[blockIdx.x];
        T loss;
        if (t == ignore_index) {
            loss = T(0);
        } else if (t < 0 || t >= C) {
            loss = lse - lse + neg_inf<T>() - neg_inf<T>();  // NaN: bad class index
        } else {
            loss = lse - one_minus_eps * xr[t];
            if (eps_over_C != T(0)) loss = loss - eps_over_C * sx;
        }
        loss_out[blockIdx.x] = loss;
    }
}

// The sum of the N row losses, or their mean over the kept targets (0/0 = NaN when none
// is kept), and that count, by one block of CE_REDUCE_THREADS: thread k adds rows k,
// k + CE_REDUCE_THREADS, ... in order, then a fixed tree in shared memory.
template <typename T>
__global__ void ce_reduce(const T* __restrict__ rows, const long long* __restrict__ target,
                          long long N, long long ignore_index, int mean, T* __restrict__ out,
                          long long* __restrict__ count_out) {
    __shared__ T sh[CE_REDUCE_THREADS];
    __shared__ long long sh_k[CE_REDUCE_THREADS];
    const int k = threadIdx.x;
    T s = T(0);
    long long kept = 0;
    for (long long n = k; n < N; n += CE_REDUCE_THREADS) {
        s += rows[n];
        kept += target[n] != ignore_index;
    }
    sh[k] = s;
    sh_k[k] = kept;
    __syncthreads();
    for (int stride = CE_REDUCE_THREADS / 2; stride > 0; stride >>= 1) {
        if (k < stride) {
            sh[k] += sh[k + stride];
            sh_k[k] += sh_k[k + stride];
        }
        __syncthreads();
    }
    if (k == 0) {
        count_out[0] = sh_k[0];
        out[0] = mean ? sh[0] / (T)sh_k[0] : sh[0];
    }
}
"""

_ROW_KERNELS = ("lse_rows<float>", "lse_rows<double>", "ce_rows<float>", "ce_rows<double>",
                "ce_reduce<float>", "ce_reduce<double>")


@functools.cache
def _row_module():
    """The row kernels, compiled on first use (NVRTC), one module per process."""
    from .._backend import cupy

    return cupy().RawModule(code=_ROWS_SOURCE, name_expressions=_ROW_KERNELS)


def _row_launch(C):
    """Threads per row: a warp for short rows, up to 256 for long ones."""
    if C <= 64:
        return 32
    if C <= 2048:
        return 128
    return 256


# dtype name -> the CUDA type CuPy's kernels see it as (the dtypes the kernels here take)
_CUDA_TYPES = {"float16": "float16", "float32": "float", "float64": "double"}


def _cuda_type_name(dtype):
    return _CUDA_TYPES[dtype_name(dtype)]


def _lse_rows(xp, x2):
    """log Σ_c e^x over the last axis of the 2-D array ``x2`` (acc dtype), shape (N, 1)."""
    N, C = x2.shape
    if xp is np:
        mx = x2.max(axis=1, keepdims=True) if C else np.zeros((N, 1), x2.dtype)
        m = np.where(np.isfinite(mx), mx, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            lse = m + np.log(np.exp(x2 - m).sum(axis=1, keepdims=True))
        return np.where(np.isposinf(mx), np.nan, lse)  # a +inf logit: a NaN row (as above)
    x2 = xp.ascontiguousarray(x2)
    lse = xp.empty((N, 1), dtype=x2.dtype)
    if N:
        kernel = _row_module().get_function(f"lse_rows<{_cuda_type_name(x2.dtype)}>")
        kernel((N,), (_row_launch(C),), (x2, np.int64(C), lse))
    return lse


def _as_rows(x, dim, op):
    """``x`` (array) as (N, C) rows over ``dim``, which must be the last dimension."""
    if x.ndim == 0:
        raise ValueError(f"{op}: needs at least one dimension, got a 0-d tensor")
    if dim not in (-1, x.ndim - 1):
        raise ValueError(f"{op}: only the last dimension is fused (dim=-1), got dim={dim} "
                         f"for shape {tuple(x.shape)}")
    return x.reshape(int(np.prod(x.shape[:-1], dtype=np.int64)), x.shape[-1])


# --------------------------------------------------------------------------- softmaxes


class _SoftmaxFromLSE(Softmax):
    r"""y = e^(x − lse) with ``lse`` = logsumexp(x) already computed for this very x (a
    constant of the forward only). VJP: softmax's, gx = y·(gy − Σ gy·y), inherited."""

    def __init__(self, lse, dim=-1):
        super().__init__(dim)
        self.lse = lse

    def forward(self, xp, x):
        return xp.exp(x.astype(self.lse.dtype, copy=False) - self.lse).astype(x.dtype)


class FusedSoftmax(Softmax):
    """Softmax over the last dim: the row kernel's lse, then one exp. VJP: Softmax's."""

    def forward(self, xp, x):
        x2 = _as_rows(x, self.dim, "fused_softmax")
        lse = _lse_rows(xp, x2.astype(_acc_dtype(x.dtype), copy=False))
        return xp.exp(x2 - lse).astype(x.dtype).reshape(x.shape)


class FusedLogSoftmax(LogSoftmax):
    """Log-softmax over the last dim: the row kernel's lse, then one subtraction.
    VJP: LogSoftmax's, gx = gy − e^y·Σ gy."""

    def forward(self, xp, x):
        x2 = _as_rows(x, self.dim, "fused_log_softmax")
        lse = _lse_rows(xp, x2.astype(_acc_dtype(x.dtype), copy=False))
        return (x2 - lse).astype(x.dtype).reshape(x.shape)


def fused_softmax(x, dim=-1):
    """Softmax over the last dimension with a fused forward (float32 under autocast)."""
    (x,) = autocast_float32(x)
    return FusedSoftmax(dim)(x)


def fused_log_softmax(x, dim=-1):
    """Log-softmax over the last dimension with a fused forward (float32 under autocast)."""
    (x,) = autocast_float32(x)
    return FusedLogSoftmax(dim)(x)


@functools.cache
def _softmax_kernels(dtype):
    """Softmax's and log-softmax's CUDA kernels over rows, for float32/float64 ``dtype``:
    y = e^(x − lse) from the row kernel's lse; Σ gy·y over a row (a ReductionKernel);
    softmax's VJP y·(gy − s) and log-softmax's gy − e^y·s, each one elementwise kernel."""
    from .._backend import cupy

    cp, T = cupy(), dtype_name(dtype)
    return dict(
        softmax=cp.ElementwiseKernel(f"{T} x, {T} lse", f"{T} y", "y = exp(x - lse)",
                                     "minigrad_softmax"),
        dot=cp.ReductionKernel(f"{T} gy, {T} y", f"{T} s", "gy * y", "a + b", "s = a", "0",
                               "minigrad_softmax_dot"),
        softmax_vjp=cp.ElementwiseKernel(f"{T} gy, {T} y, {T} s", f"{T} gx",
                                         "gx = y * (gy - s)", "minigrad_softmax_vjp"),
        log_softmax_vjp=cp.ElementwiseKernel(f"{T} gy, {T} y, {T} s", f"{T} gx",
                                             "gx = gy - exp(y) * s",
                                             "minigrad_log_softmax_vjp"),
    )


def softmax_rows(x, log):
    """Softmax (``log``: log-softmax) of the CuPy array ``x`` (float32/float64) over its
    last dim: the one-pass row kernel's lse, then e^(x − lse) in one kernel (x − lse)."""
    from .._backend import cupy

    x2 = x.reshape(-1, x.shape[-1])
    lse = _lse_rows(cupy(), x2)
    y = x2 - lse if log else _softmax_kernels(x.dtype)["softmax"](x2, lse)
    return y.reshape(x.shape)


def softmax_rows_vjp(gy, y, log):
    """The VJP of :func:`softmax_rows` from its output ``y`` (CuPy, over the last dim):
    gx = y·(gy − Σ gy·y), or for log-softmax gx = gy − e^y·Σ gy, each a row reduction
    and one elementwise kernel."""
    k = _softmax_kernels(y.dtype)
    if log:
        return k["log_softmax_vjp"](gy, y, gy.sum(axis=-1, keepdims=True))
    return k["softmax_vjp"](gy, y, k["dot"](gy, y, axis=-1, keepdims=True))


# --------------------------------------------------------------------------- cross-entropy


def check_class_indices(name, t, C, ignore_index):
    """IndexError naming the first target of ``t`` (integer array) outside 0..C − 1 that
    is not ``ignore_index``; else the mask t ≠ ignore_index. On CUDA the check waits for
    the GPU (it reads one flag back)."""
    valid = t != ignore_index
    # as unsigned, a negative index is ≥ C too: one comparison (a view: no copy)
    unsigned = t.view(t.dtype.str.replace("i", "u")) if t.dtype.kind == "i" else t
    out_of_range = valid & (unsigned >= C)
    if out_of_range.any():
        bad = int(t[out_of_range].reshape(-1)[0])
        raise IndexError(f"{name}: target class index {bad} is out of range for {C} classes "
                         f"(expected 0..{C - 1}, or ignore_index={ignore_index})")
    return valid


def _ce_rows_numpy(xa, t, valid, one_minus_eps, eps_over_C):
    """(lse (N, 1), rows (N,)): the ``ce_rows`` kernel's outputs on NumPy, ``xa`` in the
    accumulation dtype, ``valid`` the mask t ≠ ignore_index (an ignored row's loss 0)."""
    lse = _lse_rows(np, xa)
    x_t = np.take_along_axis(xa, np.where(valid, t, 0)[:, None], axis=1)
    rows = lse - one_minus_eps * x_t
    if eps_over_C:
        rows = rows - eps_over_C * xa.sum(axis=1, keepdims=True)
    return lse, np.where(valid[:, None], rows, 0).reshape(-1)


class SoftmaxCrossEntropy(Function):
    r"""Softmax cross-entropy of (N, C) logits against class indices, label smoothing ε.

    ::

        ℓₙ = [tₙ ≠ ignore]·(lse(xₙ) − (1 − ε)·xₙ,ₜₙ − (ε/C)·Σ_c xₙ,c)
        mean: Σₙ ℓₙ / Σₙ [tₙ ≠ ignore]

    VJP: gxₙ = sₙ·[tₙ ≠ ignore]·(softmax(xₙ) − qₙ), qₙ = (1 − ε)·onehot(tₙ) + ε/C, with
    sₙ = gy (sum), gy/count (mean) or gyₙ (none); an ignored row's gradient is 0 (NaN for
    a NaN row), also when no target is kept (the mean's count 0), as PyTorch's. When a
    graph is recorded, softmax(x) is :class:`_SoftmaxFromLSE` of the forward's lse, so the
    VJP is differentiable again; when none is, it is :func:`_ce_grad`, one pass.
    """

    def __init__(self, target, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        self.target = target
        self.ignore_index = int(ignore_index)
        self.reduction = reduction
        self.eps = float(label_smoothing)

    def forward(self, xp, x):
        N, C = x.shape
        t = self.target
        acc = _acc_dtype(x.dtype)
        xa = x.astype(acc, copy=False)
        one_minus_eps, eps_over_C = 1.0 - self.eps, self.eps / C if C else 0.0
        if xp is np:
            valid = check_class_indices("fused_cross_entropy", t, C, self.ignore_index)
            lse, rows = _ce_rows_numpy(xa, t, valid, acc.type(one_minus_eps),
                                       acc.type(eps_over_C))
        else:
            xa, t = xp.ascontiguousarray(xa), xp.ascontiguousarray(t)
            lse = xp.empty((N, 1), dtype=acc)
            rows = xp.empty(N, dtype=acc)
            if N:
                kernel = _row_module().get_function(f"ce_rows<{_cuda_type_name(acc)}>")
                kernel((N,), (_row_launch(C),),
                       (xa, t, np.int64(C), np.int64(self.ignore_index),
                        acc.type(one_minus_eps), acc.type(eps_over_C), lse, rows))
        self.lse = lse
        if self.reduction == "none":
            out = rows
        elif xp is not np and N:  # the sum or mean, and the count, in one launch
            out, count = xp.empty((), dtype=acc), xp.empty((), dtype=np.int64)
            _row_module().get_function(f"ce_reduce<{_cuda_type_name(acc)}>")(
                (1,), (_CE_REDUCE_THREADS,),
                (rows, t, np.int64(N), np.int64(self.ignore_index),
                 np.int32(self.reduction == "mean"), out, count))
            self.count = count
        elif self.reduction == "sum":
            out = rows.sum()
        else:
            self.count = (t != self.ignore_index).sum()
            with np.errstate(invalid="ignore", divide="ignore"):
                out = rows.sum() / self.count.astype(acc)
        return xp.asarray(out).astype(x.dtype, copy=False)

    def backward(self, gy):
        (x,) = self.inputs
        xp = x.xp
        N, C = x.shape
        t = self.target
        if not is_grad_enabled() and dtype_name(x.dtype) in _CUDA_TYPES:
            # nothing records this backward: the VJP's formula in one pass (one kernel on
            # CUDA, instead of the ~14 launches of the Tensor ops below)
            count = self.count if self.reduction == "mean" else 1
            g = gy.data.reshape(N, 1) if self.reduction == "none" else gy.data
            return const(_ce_grad(xp, x.data, self.lse, t, g.astype(x.dtype, copy=False),
                                  count, self.ignore_index, 1.0 - self.eps,
                                  self.eps / C if C else 0.0))
        valid = t != self.ignore_index
        onehot = (xp.arange(C)[None, :] == xp.where(valid, t, 0)[:, None]).astype(x.dtype)
        q = onehot * (1.0 - self.eps) + self.eps / C
        # sₙ's constant part: [tₙ ≠ ignore] (/ count for the mean); 0 for an ignored row
        # even when no target is kept (count 0), as PyTorch
        coef = valid.astype(np.float64)[:, None]
        if self.reduction == "mean":
            coef = coef / xp.maximum(self.count, 1)
        p = _SoftmaxFromLSE(self.lse)(x)
        gx = (p - const(q.astype(x.dtype))) * const(coef.astype(x.dtype))
        return gx * (gy.reshape(N, 1) if self.reduction == "none" else gy)

    def release(self):
        super().release()
        self.lse = None


def _ce_grad(xp, x, lse, t, gy, count, ignore, one_minus_eps, eps_over_C):
    r"""SoftmaxCrossEntropy's VJP when no graph is recorded, in one pass over (N, C):

        gxₙ,c = sₙ·(e^(xₙ,c − lseₙ) − qₙ,c),  sₙ = [tₙ ≠ ignore]·gyₙ / count,
        qₙ,c = (1 − ε)·[c = tₙ] + ε/C

    in lse's (the accumulation) dtype, rounded once to x's; ``gy`` is 0-d or (N, 1), and
    ``count`` the mean's number of kept targets (1 for sum and none; sₙ = 0 for an
    ignored row even when count is 0). The numbers of the Tensor-op composition up to
    rounding, NaN included (a NaN row's gradient is NaN, ignored or not). NumPy on the
    CPU; one elementwise kernel on CUDA."""
    N, C = x.shape
    acc = lse.dtype.type
    if xp is np:
        onehot = np.arange(C)[None, :] == t[:, None]
        q = np.where(onehot, acc(one_minus_eps), acc(0)) + acc(eps_over_C)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            s = np.where((t != ignore)[:, None], gy.astype(acc) / acc(count), acc(0))
            return (s * (np.exp(x.astype(acc) - lse) - q)).astype(x.dtype)
    kernel = _ce_grad_kernel(x.dtype, lse.dtype, t.dtype, getattr(count, "dtype", np.int64))
    return kernel(x, lse, t.reshape(N, 1), gy, count, np.int64(ignore), acc(one_minus_eps),
                  acc(eps_over_C), np.int64(C))


@functools.cache
def _ce_grad_kernel(x_dtype, acc_dtype, t_dtype, count_dtype):
    """:func:`_ce_grad`'s elementwise kernel for these dtypes, built once."""
    from .._backend import cupy

    X, A, T, K = (np.dtype(d).name for d in (x_dtype, acc_dtype, t_dtype, count_dtype))
    return cupy().ElementwiseKernel(
        f"{X} x, {A} lse, {T} t, {X} gy, {K} count, int64 ignore, {A} one_minus_eps, "
        f"{A} eps_over_C, int64 n_classes", f"{X} gx",
        "const A s = t != ignore ? (A)gy / (A)count : (A)0;\n"
        "const A q = (i % n_classes == t ? one_minus_eps : (A)0) + eps_over_C;\n"
        f"gx = ({_cuda_type_name(X)})(s * (exp((A)x - lse) - q));",
        "minigrad_ce_grad", preamble=f"typedef {_cuda_type_name(A)} A;\n")


def fused_cross_entropy(input, target, ignore_index=-100, reduction="mean",
                        label_smoothing=0.0):
    r"""Softmax cross-entropy of (N, C) logits and (N,) class indices, fused forward.

    Same value and gradient as ``nn.functional.cross_entropy(input, target,
    ignore_index=..., reduction=..., label_smoothing=...)`` without class weights.

    Examples
    --------
    >>> import minigrad as mg
    >>> logits = mg.tensor([[2.0, 0.0, 0.0]], requires_grad=True)
    >>> loss = fused_cross_entropy(logits, mg.tensor([0]))
    >>> round(loss.item(), 4)
    0.2395
    >>> loss.backward()
    >>> [round(v, 4) for v in logits.grad.tolist()[0]]      # softmax − onehot
    [-0.213, 0.1065, 0.1065]
    """
    name = "fused_cross_entropy"
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of 'none', 'mean', 'sum', got "
                         f"{reduction!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim != 2:
        raise ValueError(f"{name}: input must be (N, C) logits, got shape {input.shape}")
    t = target.data if isinstance(target, Tensor) else input.xp.asarray(target)
    if isinstance(target, Tensor) and target.device != input.device:
        raise RuntimeError(f"{name}: target is on {target.device} but the input is on "
                           f"{input.device}")
    if t.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold integer class indices, got {t.dtype}")
    if t.shape != (input.shape[0],):
        raise ValueError(f"{name}: target must have shape ({input.shape[0]},) for input of "
                         f"shape {input.shape}, got {tuple(t.shape)}")
    (input,) = autocast_float32(input)
    t = t.astype(np.int64, copy=False)
    return SoftmaxCrossEntropy(t, ignore_index, reduction, label_smoothing)(input)


# --------------------------------------------------------------------------- bias + act

# name → (minigrad.ops.activation class, its constructor keywords, CUDA statements
# computing ``r`` from ``z`` in the accumulation type ``A``; {p} are the keywords; the
# helpers mg_sigmoid, mg_hardsigmoid, mg_softplus are _ACT_HELPERS').
ACTIVATIONS = {
    "identity": (None, {}, "r = z;"),
    "relu": (_act.ReLU, {}, "r = (z > (A)0 || z != z) ? z : (A)0;"),
    "leaky_relu": (_act.LeakyReLU, {"negative_slope": 0.01},
                   "r = z > (A)0 ? z : z * (A)({negative_slope!r});"),
    "elu": (_act.ELU, {"alpha": 1.0},
            "r = (z > (A)0 || z != z) ? z : (A)({alpha!r}) * expm1(z);"),
    "gelu": (_act.GELU, {"approximate": "none"}, None),  # statements chosen below
    "silu": (_act.SiLU, {}, "r = z * mg_sigmoid(z);"),
    "sigmoid": (_act.Sigmoid, {}, "r = mg_sigmoid(z);"),
    "tanh": (_act.Tanh, {}, "r = tanh(z);"),
    "softplus": (_act.Softplus, {"beta": 1.0, "threshold": 20.0},
                 "A bz = (A)({beta!r}) * z; r = bz > (A)({threshold!r}) ? z"
                 " : mg_softplus(bz) / (A)({beta!r});"),
    "hardsigmoid": (_act.Hardsigmoid, {}, "r = mg_hardsigmoid(z);"),
    "hardswish": (_act.Hardswish, {}, "r = z * mg_hardsigmoid(z);"),
    "mish": (_act.Mish, {}, "r = z * tanh(z > (A)20 ? z : mg_softplus(z));"),
}

# The activations' shared pieces, by the CPU's formulas (ops.activation), in the preamble
# of every activation kernel: σ(z) from e^(−|z|) ≤ 1, which never overflows; relu6(z + 3)/6
# with a NaN kept (NumPy's clip keeps it); log(1 + eᶻ) as max(z, 0) + log1p(e^(−|z|)).
_ACT_HELPERS = r"""
__device__ __forceinline__ A mg_sigmoid(A z) {
    A e = exp(-fabs(z));
    return z >= (A)0 ? (A)1 / ((A)1 + e) : e / ((A)1 + e);
}
__device__ __forceinline__ A mg_hardsigmoid(A z) {
    A t = z + (A)3;
    return (t != t ? t : (t > (A)0 ? (t < (A)6 ? t : (A)6) : (A)0)) * (A)0.16666666666666666;
}
__device__ __forceinline__ A mg_hardsigmoid_grad(A z) {  // 1/6 strictly inside (-3, 3)
    A t = z + (A)3;
    return (t > (A)0 && t < (A)6) ? (A)0.16666666666666666 : (A)0;
}
__device__ __forceinline__ A mg_softplus(A z) {
    return fmax(z, (A)0) + log1p(exp(-fabs(z)));
}
"""

# GELU's forms (the CPU's, in activation.GELU): z·½erfc(−z/√2) and z·σ(2u), where
# ½(1 + erf) and ½(1 + tanh u) would cancel for z ≪ 0
_GELU_SOURCES = {
    "none": "r = (A)0.5 * z * erfc(z * (A)-0.7071067811865476);",
    "tanh": "A u = (A)" + repr(math.sqrt(2 / math.pi)) + " * (z + (A)0.044715 * (z * z * z));"
            " r = z * mg_sigmoid((A)2 * u);",
}


def _c_literal(value):
    """A number as a CUDA C++ double literal. ``repr`` of a NumPy scalar is
    ``np.float64(0.2)`` under NumPy 2 (not C++), and ``inf``/``nan`` are no literals."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return value
    v = float(value)
    if math.isfinite(v):
        return _CLiteral(repr(v))
    bits = {math.inf: "0x7ff0000000000000ULL", -math.inf: "0xfff0000000000000ULL"}
    return _CLiteral(f"__longlong_as_double({bits.get(v, '0x7ff8000000000000ULL')})")


class _CLiteral(str):
    def __repr__(self):  # the templates format with !r
        return str(self)


def _act_source(activation, kwargs):
    cls, defaults, source = ACTIVATIONS[activation]
    if activation == "gelu":
        approximate = kwargs.get("approximate", "none")
        if approximate not in _GELU_SOURCES:
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        return _GELU_SOURCES[approximate]
    return source.format(**{k: _c_literal(v) for k, v in kwargs.items()})


# act′(z), the derivative of each activation but identity and relu (ReLUGrad's), in the
# accumulation type A: statements setting ``d`` from ``z``, the activation's input, or, for
# those whose VJP reads the saved output (sigmoid, tanh: their ``save_output``), from ``r``,
# that output, by the formulas of their CPU VJPs (ops.activation).
ACT_DERIVATIVES = {
    "leaky_relu": "d = z > (A)0 ? (A)1 : (A)({negative_slope!r});",
    "elu": "d = z > (A)0 ? (A)1 : (A)({alpha!r}) * exp(z);",
    "silu": "A s = mg_sigmoid(z); d = s * ((A)1 + z * ((A)1 - s));",
    "sigmoid": "d = r * ((A)1 - r);",
    "tanh": "d = (A)1 - r * r;",
    "softplus": "A bz = (A)({beta!r}) * z; d = bz > (A)({threshold!r}) ? (A)1 : mg_sigmoid(bz);",
    "hardsigmoid": "d = mg_hardsigmoid_grad(z);",
    "hardswish": "d = mg_hardsigmoid(z) + z * mg_hardsigmoid_grad(z);",
    "mish": "A t = tanh(z > (A)20 ? z : mg_softplus(z));"
            " d = t + z * ((A)1 - t * t) * (z > (A)20 ? (A)1 : mg_sigmoid(z));",
}
# Φ(z) + z·φ(z); and σ(2u) + 2z·σ(2u)σ(−2u)·u′ with u′ = k(1 + 3·0.044715 z²)
_GELU_DERIVATIVES = {
    "none": "d = (A)0.5 * erfc(z * (A)-0.7071067811865476)"
            " + z * exp((A)-0.5 * (z * z)) * (A)" + repr(1 / math.sqrt(2 * math.pi)) + ";",
    "tanh": "A k = (A)" + repr(math.sqrt(2 / math.pi)) + ";"
            " A t = (A)2 * k * (z + (A)0.044715 * (z * z * z));"
            " A s = mg_sigmoid(t); A sn = mg_sigmoid(-t);"
            " d = s + (A)2 * z * s * sn * (k * ((A)1 + (A)0.134145 * (z * z)));",
}


def _act_derivative_source(activation, kwargs):
    if activation == "gelu":
        return _GELU_DERIVATIVES[kwargs.get("approximate", "none")]
    return ACT_DERIVATIVES[activation].format(**{k: _c_literal(v) for k, v in kwargs.items()})


def act_reference(activation, items, z):
    """act(z) on a NumPy array ``z`` by the activation's CPU forward, in z's dtype: what
    the activation kernels compute (in float32 for float16), their reference."""
    cls = ACTIVATIONS[activation][0]
    with np.errstate(all="ignore"):
        return z if cls is None else cls(**dict(items)).forward(np, z)


def act_derivative_reference(activation, items, v):
    """act′ on a NumPy array by the activation's CPU VJP, from ``v``: its input, or its
    output for those whose VJP reads that (sigmoid, tanh): what ``_act_grad_kernel``
    multiplies gy by, its reference."""
    f = ACTIVATIONS[activation][0](**dict(items))
    f.inputs = (const(v),)
    f._output_array = v
    with np.errstate(all="ignore"):
        return f.backward(const(np.ones_like(v))).data


def _acc_type(dtype):
    """The accumulation type of a kernel whose result is ``dtype``: double for float64,
    float otherwise (a float16 tensor computed in float32 and rounded once: opmath)."""
    return "double" if np.dtype(dtype) == np.float64 else "float"


@functools.cache
def _bias_act_kernel(activation, items, x_dtype, b_dtype, y_dtype):
    """y = act(x + b) in one elementwise kernel; ``b_dtype=None``: y = act(x) (the
    activation Functions' CuPy forward)."""
    from .._backend import cupy

    args, z = (f"{x_dtype} x", "(A)x") if b_dtype is None else \
        (f"{x_dtype} x, {b_dtype} b", "(A)x + (A)b")
    body = f"A z = {z}; A r; " + _act_source(activation, dict(items)) + " y = (Y)r;"
    name = "minigrad_" + ("" if b_dtype is None else "bias_") + activation
    return cupy().ElementwiseKernel(
        args, f"{y_dtype} y", body, name, preamble=f"typedef {_acc_type(y_dtype)} A;\n"
        f"typedef {_cuda_type_name(y_dtype)} Y;\n" + _ACT_HELPERS)


@functools.cache
def _act_grad_kernel(activation, items, v_dtype, g_dtype):
    """gx = gy·act′ in one elementwise kernel, from ``v``: the activation's input, or its
    output for sigmoid and tanh (see ACT_DERIVATIVES); computed in A, rounded once."""
    from .._backend import cupy

    v = "r" if activation in ("sigmoid", "tanh") else "z"
    body = (f"A {v} = (A)v; A d; " + _act_derivative_source(activation, dict(items))
            + " gx = (G)((A)gy * d);")
    return cupy().ElementwiseKernel(
        f"{v_dtype} v, {g_dtype} gy", f"{g_dtype} gx", body, f"minigrad_{activation}_grad",
        preamble=f"typedef {_acc_type(g_dtype)} A;\ntypedef {_cuda_type_name(g_dtype)} G;\n"
        + _ACT_HELPERS)


class BiasAct(Function):
    r"""y = act(x + b), ``b`` broadcastable to ``x`` (a Linear bias (F,), or a conv bias
    reshaped to (C, 1, 1)).

    VJP: gz = act′(z)·gy with z = x + b re-formed in Tensor ops and act′ from the
    activation's own Function; gx = gz, gb = gz summed over the broadcast axes (by the
    engine). ReLU's needs no z: gz = gy where y > 0 (exactly where z > 0; NaN gives 0
    either way), :class:`~minigrad.ops.activation.ReLUGrad` of the saved output, one
    kernel on CUDA.
    """

    def __init__(self, activation="relu", **kwargs):
        if activation not in ACTIVATIONS:
            raise ValueError(f"bias_act: unknown activation {activation!r}; choose from "
                             f"{', '.join(ACTIVATIONS)}")
        cls, defaults, _ = ACTIVATIONS[activation]
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"bias_act: {activation} takes no argument(s) "
                            f"{', '.join(sorted(unknown))}")
        self.activation = activation
        self.kwargs = {**defaults, **kwargs}
        self.act_cls = cls
        if cls is not None:
            cls(**self.kwargs)  # the activation's own checks, on every device (not at launch)
        self.save_output = bool(cls is not None and cls.save_output) or activation == "relu"
        # half tensors in float32, as the activation alone (see Function); x + b and
        # ReLU are single roundings
        self.opmath = activation not in ("relu", "identity")

    def forward(self, xp, x, b):
        if xp is np:
            z = x + b
            return z if self.act_cls is None else self.act_cls(**self.kwargs).forward(xp, z)
        y_dtype = np.result_type(x.dtype, b.dtype)
        kernel = _bias_act_kernel(self.activation, tuple(sorted(self.kwargs.items())),
                                  dtype_name(x.dtype), dtype_name(b.dtype), dtype_name(y_dtype))
        return kernel(x, b)

    def backward(self, gy):
        if self.activation == "relu":
            gz = _act.ReLUGrad()(gy, const(self.saved_output.data))
            return gz, gz
        x, b = self.inputs
        z = x + b
        if self.act_cls is None:
            return gy, gy
        f = self.act_cls(**self.kwargs)
        f.inputs = (z,)
        f.needs_input_grad = (z.requires_grad,)
        if f.save_output:
            f._output_array = self._output_array
        gz = f.backward(gy)
        return gz, gz


def bias_act(x, bias, activation="relu", **kwargs):
    r"""``act(x + bias)`` with one fused forward kernel on CUDA.

    Parameters
    ----------
    x : Tensor
    bias : Tensor broadcastable to ``x``
    activation : {"identity", "relu", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh",
                  "softplus", "hardsigmoid", "hardswish", "mish"}
    **kwargs : the activation's keywords (``negative_slope``, ``alpha``, ``approximate``,
        ``beta``, ``threshold``)

    Examples
    --------
    >>> import minigrad as mg
    >>> x = mg.tensor([[-1.0, 0.5], [2.0, -3.0]], requires_grad=True)
    >>> b = mg.tensor([0.5, 0.5], requires_grad=True)
    >>> y = bias_act(x, b, "relu")
    >>> y
    tensor([[0. , 1. ],
            [2.5, 0. ]], grad_fn=<BiasAct backward>)
    >>> y.sum().backward()
    >>> b.grad
    tensor([1., 1.])
    """
    return BiasAct(activation, **kwargs)(x, bias)
