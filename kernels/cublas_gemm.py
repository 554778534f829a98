r"""Matrix products by cuBLAS itself, on any strided layout, without CuPy's wrappers.

Two users:

* CUDA graph capture. CuPy (up to 14 at least) refuses every cuBLAS call while a stream
  captures ("calling cuBLAS API during stream capture is currently unsupported": its
  ``setStream`` wrapper checks), although cuBLAS supports capture. So while
  :mod:`minigrad.cuda_graphs` captures, ``half_matmul`` sends its products here.
* The GPU convolutions (:mod:`minigrad.nn.conv_device`). ``cupy.matmul`` copies every
  operand that is not C-contiguous (the transposed columns of a weight gradient: 9× the
  input's size for a 3×3 kernel), converts float16 operands to float32 when a float32
  result is wanted, and passes broadcast batches as pointer arrays (three more launches).
  Here a transposed view is passed as op T, a broadcast batch with stride 0, and a float32
  result of float16/bfloat16 operands is cuBLAS's own output type: one launch, no copy.

Both call ``cublas<S|D>gemmStridedBatched`` / ``cublasGemmStridedBatchedEx`` directly
(ctypes) on CuPy's own cuBLAS handle, on the current stream.

The layout
----------
cuBLAS is column-major; our arrays are row-major views (strided). A row-major matrix X
(r×c) whose rows are ``ld`` elements apart is, read column-major, Xᵀ (c×r) with leading
dimension ld. So C = A·B (row-major, m×n) is computed as the column-major product
Cᵀ = Bᵀ·Aᵀ (n×m): cuBLAS's first operand is our B, its second our A, its m, n, k are
our n, m, k, and C is written contiguous (ldc = n). An operand that is a transposed view
(its *first* stride is 1) is passed with op = T and ld = its second stride instead; any
other layout (or a batch that no single stride describes) is copied contiguous first.

:func:`plan_gemm` makes that plan from shapes and strides alone; :func:`reference_gemm`
executes a plan with NumPy exactly as cuBLAS reads memory (from the operand's first
element, through ld and the batch stride), so the plan is tested on every CI run;
:func:`gemm` executes it with cuBLAS on a GPU.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

import numpy as np

from minigrad._backend import Switch
from minigrad.amp.autocast_mode import is_half

__all__ = ["plan_gemm", "reference_gemm", "gemm", "gemm_reference", "GemmPlan",
           "gemm_out_dtype", "direct_gemm", "direct_enabled"]

OP_N, OP_T = 0, 1
_CUDA_R_32F, _CUDA_R_16F, _CUDA_R_16BF = 0, 2, 14
_CUBLAS_COMPUTE_32F, _CUBLAS_COMPUTE_32F_FAST_TF32, _CUBLAS_GEMM_DEFAULT = 68, 77, -1
# α and β (β = 1 adds into the output) as host scalars, made once: in pointer mode host
# cuBLAS reads them before the call returns. Their addresses, by the scalar type.
_SCALARS = {t: (t(1.0), t(0.0)) for t in (ctypes.c_float, ctypes.c_double)}
_ALPHA_BETA = {(t, add): (ctypes.addressof(one), ctypes.addressof(one if add else zero))
               for t, (one, zero) in _SCALARS.items() for add in (False, True)}


class direct_gemm(Switch):
    """``with direct_gemm(False):`` sends the GPU products back through ``cupy.matmul`` and
    the GPU convolutions back to their CuPy-array path (:mod:`minigrad.nn.conv_device`), to
    compare the two in one process (a plain ``direct_gemm(False)`` switches until told
    otherwise); products inside a CUDA graph capture always come here. Switch between
    training steps, not inside one. ``MINIGRAD_DIRECT_GEMM=0`` starts a process switched
    off."""

    _state = {"on": os.environ.get("MINIGRAD_DIRECT_GEMM", "1") != "0"}


def direct_enabled() -> bool:
    """True (the default) unless inside ``direct_gemm(False)`` or in a process started with
    the environment variable ``MINIGRAD_DIRECT_GEMM=0``."""
    return direct_gemm.enabled()


def gemm_out_dtype(dtype, out_dtype=None) -> np.dtype:
    """The result dtype of a product of two ``dtype`` operands: ``dtype`` itself, or for
    float16/bfloat16 operands ``out_dtype`` float32 (cuBLAS writes its float32 accumulators
    without rounding them to half). Anything else is refused, naming the pair."""
    dtype = np.dtype(dtype)
    out = dtype if out_dtype is None else np.dtype(out_dtype)
    if out != dtype and not (is_half(dtype) and out == np.float32):
        raise TypeError(f"cuBLAS gemm: a {out} result of {dtype} operands is not offered "
                        f"(only {dtype}, or float32 for float16/bfloat16 operands)")
    return out


class GemmPlan:
    """Arguments of one column-major strided-batched GEMM computing C = A·B (row-major):
    ``ops`` (opA, opB for cuBLAS's first and second operands), ``mnk``, ``ld`` and
    ``strides`` (in elements) of cuBLAS's first operand (our B) and second (our A),
    ``batch``, the output shape, and the operands as they must be passed (``first``,
    ``second``: views of the inputs, or contiguous copies when no plan fits)."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __repr__(self):
        return (f"GemmPlan(ops={self.ops}, mnk={self.mnk}, ld={self.ld}, "
                f"strides={self.strides}, batch={self.batch})")


def _as_column_major(xp, x):
    """(op, ld, batch_stride, array) passing the row-major batch of matrices x
    (batch, r, c) to cuBLAS as xᵀ (op N) or through op T; a copy when neither fits."""
    batch, r, c = x.shape
    if x.size == 0:
        return OP_N, max(1, c), 0, x
    e = x.itemsize
    s_b, s0, s1 = (s // e for s in x.strides)
    if any(s % e for s in x.strides) or s_b < 0 or s0 < 0 or s1 < 0:
        x = xp.ascontiguousarray(x)
        return _as_column_major(xp, x)
    if batch == 1:
        s_b = 0
    if s1 == 1 or c == 1:          # rows contiguous: row-major, x as xᵀ column-major
        ld = s0 if r > 1 else c
        if ld >= max(1, c):
            return OP_N, ld, s_b, x
    if s0 == 1 or r == 1:          # columns contiguous: a transposed view
        ld = s1 if c > 1 else r
        if ld >= max(1, r):
            return OP_T, ld, s_b, x
    return _as_column_major(xp, xp.ascontiguousarray(x))


def plan_gemm(xp, a, b):
    """The plan of C = a @ b for a (..., m, k) and b (..., k, n), batch dims broadcast
    (NumPy's matmul rules for operands of two or more dims)."""
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"plan_gemm: operands need two or more dims, got shapes {a.shape} "
                         f"and {b.shape}")
    m, k = a.shape[-2:]
    k2, n = b.shape[-2:]
    if k != k2:
        raise ValueError(f"plan_gemm: inner dims differ: {a.shape} @ {b.shape}")
    batch_shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    batch = int(np.prod(batch_shape, dtype=np.int64))

    def flat(x, rows, cols):
        if x.shape != batch_shape + (rows, cols):
            x = xp.broadcast_to(x, batch_shape + (rows, cols))
        if x.ndim == 2:
            return x.reshape(1, rows, cols)
        if len(batch_shape) == 1:
            return x
        # One stride must describe the batch: a broadcast (all 0) or C-ordered batch dims.
        bs = x.strides[:-2]
        if all(s == 0 for s in bs):
            return xp.lib.stride_tricks.as_strided(x, (batch, rows, cols),
                                                   (0,) + x.strides[-2:])
        return x.reshape(batch, rows, cols)  # a view when possible, else a copy

    op_a, ld_a, sb_a, a3 = _as_column_major(xp, flat(a, m, k))
    op_b, ld_b, sb_b, b3 = _as_column_major(xp, flat(b, k, n))
    return GemmPlan(ops=(op_b, op_a), mnk=(n, m, k), ld=(ld_b, ld_a), strides=(sb_b, sb_a),
                    batch=batch, out_shape=batch_shape + (m, n), first=b3, second=a3)


def round_to_tf32(x):
    """float32 values rounded to TF32 (10 mantissa bits, to nearest even), as tensor cores
    read them; inf and NaN kept."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    finite = (bits & 0x7F800000) != 0x7F800000
    rounded = (bits + 0xFFF + ((bits >> 13) & 1)) & np.uint32(0xFFFFE000)
    return np.where(finite, rounded, bits).view(np.float32).reshape(np.shape(x))


def reference_gemm(plan, dtype=None, tf32=False):
    """Execute ``plan`` with NumPy as cuBLAS does: each operand is read from its first
    element through (ld, batch stride) only; returns C, row-major (batch..., m, n). With
    ``tf32`` (float32 operands) the operands are first rounded to TF32 (a model of the
    precision: cuBLAS's own conversion may round otherwise)."""
    n, m, k = plan.mnk

    def column_major(x, op, ld, sb, rows, cols):
        # op(X) is rows×cols; X is stored column-major with leading dimension ld.
        stored = (rows, cols) if op == OP_N else (cols, rows)
        e = x.itemsize
        view = np.lib.stride_tricks.as_strided(
            x, shape=(plan.batch,) + stored, strides=(sb * e, e, ld * e))
        return view if op == OP_N else view.transpose(0, 2, 1)

    first = column_major(plan.first, plan.ops[0], plan.ld[0], plan.strides[0], n, k)
    second = column_major(plan.second, plan.ops[1], plan.ld[1], plan.strides[1], k, m)
    if tf32 and plan.first.dtype == np.float32:
        first, second = round_to_tf32(first), round_to_tf32(second)
    acc = np.float32 if is_half(plan.first.dtype) else plan.first.dtype
    ct = np.matmul(first.astype(acc), second.astype(acc))     # Cᵀ, (batch, n, m)
    out = ct.transpose(0, 2, 1).astype(dtype or plan.first.dtype)
    return np.ascontiguousarray(out).reshape(plan.out_shape)


def _check_add_to(add_to, shape, dtype):
    if add_to is None:
        return
    if add_to.shape != tuple(shape) or add_to.dtype != dtype or \
            not add_to.flags.c_contiguous:
        raise ValueError(f"cuBLAS gemm: add_to must be a C-contiguous {dtype} array of the "
                         f"product's shape {tuple(shape)}, got {add_to.dtype} "
                         f"{tuple(add_to.shape)}")


def gemm_reference(a, b, out_dtype=None, tf32=False, add_to=None):
    """:func:`gemm`'s NumPy twin, same signature: the plan of ``a @ b`` executed by
    :func:`reference_gemm` (with ``add_to``: added into it, in the accumulation dtype and
    rounded once, as cuBLAS's β = 1)."""
    plan = plan_gemm(np, a, b)
    c_dtype = gemm_out_dtype(a.dtype, out_dtype)
    _check_add_to(add_to, plan.out_shape, c_dtype)
    if add_to is None:
        return reference_gemm(plan, c_dtype, tf32)
    acc = np.float32 if is_half(c_dtype) else c_dtype
    add_to[...] = (reference_gemm(plan, acc, tf32) + add_to.astype(acc)).astype(c_dtype)
    return add_to


@functools.cache
def _libcublas():
    """The libcublas that CuPy loaded (found in this process's memory map), else the
    system's."""
    path = None
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                name = line.split()[-1] if "/" in line else ""
                base = name.rsplit("/", 1)[-1]
                if base.startswith("libcublas.so"):
                    path = name
                    break
    except OSError:
        pass
    if path is None:
        path = ctypes.util.find_library("cublas")
    if path is None:
        raise RuntimeError("cuBLAS gemm: libcublas is not loaded and not found")
    lib = ctypes.CDLL(path)
    i, p, ll = ctypes.c_int, ctypes.c_void_p, ctypes.c_longlong
    for name in ("cublasSgemmStridedBatched", "cublasDgemmStridedBatched"):
        fn = getattr(lib, name)  # alpha and beta: host pointers (pointer mode host)
        fn.argtypes = [p, i, i, i, i, i, p, p, i, ll, p, i, ll, p, p, i, ll, i]
        fn.restype = i
    lib.cublasGemmStridedBatchedEx.argtypes = [p, i, i, i, i, i, p, p, i, i, ll, p, i, i, ll,
                                               p, p, i, i, ll, i, i, i]
    lib.cublasGemmStridedBatchedEx.restype = i
    lib.cublasSetStream_v2.argtypes = [p, p]
    lib.cublasSetStream_v2.restype = i
    lib.cublasGetPointerMode_v2.argtypes = [p, ctypes.POINTER(i)]
    lib.cublasGetPointerMode_v2.restype = i
    lib.cublasSetPointerMode_v2.argtypes = [p, i]
    lib.cublasSetPointerMode_v2.restype = i
    return lib


_plans: dict = {}  # operand layout -> plan numbers, for layouts passed as they are


def _planned(xp, a, b):
    """(plan, pointer of cuBLAS's first operand, of its second): the plan of a @ b, its
    numbers cached per layout (shapes, strides, dtype) when both operands go to cuBLAS as
    they are: then the pointers are a's and b's own, and the CuPy views that planning makes
    (tens of µs of host time a call, in a step bound by host time) are made once."""
    key = (a.shape, a.strides, b.shape, b.strides, a.dtype)
    plan = _plans.get(key)
    if plan is not None:
        return plan, b.data.ptr, a.data.ptr
    plan = plan_gemm(xp, a, b)
    first, second = plan.first.data.ptr, plan.second.data.ptr
    if first == b.data.ptr and second == a.data.ptr and len(_plans) < 4096:
        _plans[key] = GemmPlan(**{k: v for k, v in plan.__dict__.items()
                                  if k not in ("first", "second")})
    return plan, first, second


def _check(status, what):
    if status != 0:
        raise RuntimeError(f"cuBLAS gemm: {what} returned status {status}")


def gemm(a, b, out_dtype=None, tf32=False, add_to=None):
    """C = a @ b (CuPy arrays: float32, float64, or float16/bfloat16 with float32
    accumulation and a half or float32 result, ``out_dtype``) by cuBLAS on the current
    stream, without CuPy's wrappers (which refuse to run while the stream captures and copy
    strided operands). Broadcast batch dims as ``matmul``. ``tf32``: float32 products on
    tensor cores in TF32 (``mg.backends``). ``add_to``: a C-contiguous array of the
    result's shape and dtype that the product is added into (β = 1: no launch of its own,
    e.g. a weight gradient accumulated into ``.grad``), and returned. Must equal
    :func:`gemm_reference` to rounding."""
    from minigrad._backend import cupy

    cp = cupy()
    dtype = a.dtype
    if dtype != b.dtype or not (is_half(dtype) or dtype in (np.float32, np.float64)):
        raise TypeError(f"cuBLAS gemm: operands must share float16, bfloat16, float32 or "
                        f"float64, got {a.dtype} and {b.dtype}")
    c_dtype = gemm_out_dtype(dtype, out_dtype)
    plan, A, B = _planned(cp, a, b)
    _check_add_to(add_to, plan.out_shape, c_dtype)
    out = cp.empty(plan.out_shape, dtype=c_dtype) if add_to is None else add_to
    n, m, k = plan.mnk
    if out.size == 0:
        return out
    if k == 0:  # an empty sum: zeros, or nothing to add
        if add_to is None:
            out.fill(0)
        return out
    handle = cp.cuda.device.get_cublas_handle()  # loads CuPy's cuBLAS
    lib = _libcublas()
    stream = cp.cuda.get_current_stream().ptr
    mode = ctypes.c_int()
    _check(lib.cublasGetPointerMode_v2(handle, ctypes.byref(mode)), "cublasGetPointerMode")
    if mode.value != 0:  # host scalars (CuPy's own default)
        _check(lib.cublasSetPointerMode_v2(handle, 0), "cublasSetPointerMode")
    _check(lib.cublasSetStream_v2(handle, stream), "cublasSetStream")
    args = (plan.ops[0], plan.ops[1], n, m, k)
    try:
        if is_half(dtype) or (tf32 and dtype == np.float32):
            if is_half(dtype):  # half in, float32 sums, a half or float32 result
                ab_type = _CUDA_R_16F if dtype == np.float16 else _CUDA_R_16BF
                c_type = _CUDA_R_32F if c_dtype == np.float32 else ab_type
                compute = _CUBLAS_COMPUTE_32F
            else:  # float32 through TF32 tensor cores
                ab_type = c_type = _CUDA_R_32F
                compute = _CUBLAS_COMPUTE_32F_FAST_TF32
            alpha, beta = _ALPHA_BETA[ctypes.c_float, add_to is not None]
            status = lib.cublasGemmStridedBatchedEx(
                handle, *args, alpha, A, ab_type, plan.ld[0],
                plan.strides[0], B, ab_type, plan.ld[1], plan.strides[1],
                beta, out.data.ptr, c_type, n, m * n, plan.batch,
                compute, _CUBLAS_GEMM_DEFAULT)
        else:
            c_t = ctypes.c_float if dtype == np.float32 else ctypes.c_double
            fn = lib.cublasSgemmStridedBatched if dtype == np.float32 else \
                lib.cublasDgemmStridedBatched
            alpha, beta = _ALPHA_BETA[c_t, add_to is not None]
            status = fn(handle, *args, alpha, A, plan.ld[0],
                        plan.strides[0], B, plan.ld[1], plan.strides[1],
                        beta, out.data.ptr, n, m * n, plan.batch)
        _check(status, "gemm")
    finally:
        if mode.value != 0:
            lib.cublasSetPointerMode_v2(handle, mode.value)
    return out
