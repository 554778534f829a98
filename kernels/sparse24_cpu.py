r"""2:4 semi-structured sparse products on the CPU: Numba ``@njit(parallel=True, cache=True)``.

The sparse operand S (M x K, at most 2 kept entries in every aligned group of 4 along K) is
given in minigrad's CPU packed format (documented in full, with a worked example, in
``minigrad.sparse.semi_structured``):

* ``values`` (M, K/2): group g of row m keeps its two entries at columns 2g (position i0)
  and 2g + 1 (position i1), i0 < i1;
* ``meta`` (M, ceil(K/8)) uint8: one byte per two groups, group g in the low nibble
  (bits 0-3) of byte g // 2 when g is even, in the high nibble (bits 4-7) when g is odd;
  nibble = (i1 << 2) | i0.

So the kept entries of row m, group g sit at columns ``k0 = 4g + i0`` and ``k1 = 4g + i1``.
Every kernel reads only ``values`` and ``meta`` (never a dense copy of S):

==========================  =============================  ===============================
function                    math                           parallel over (no write races)
==========================  =============================  ===============================
``mm24(values, meta, B)``   C = S B          (M x N)        rows m of C
``mm24_t(values, meta, G)`` C = Sᵀ G         (K x N)        groups g (each owns rows 4g..4g+3)
``sddmm24(meta, A, B)``     out[m, 2g+j] = A[m,:]·B[k_j,:]  rows m
==========================  =============================  ===============================

``sddmm24`` (sampled dense-dense product) is the gradient of ``mm24`` with respect to the
kept values: d(S B)/d(values) contracted with gY gives ``sddmm24(meta, gY, B)``.

Dtypes: float32 and float64 run natively (the dtype of the inputs is the dtype of the
accumulator in ``mm24``/``mm24_t``; ``sddmm24`` sums its dot products in float64, in an
order LLVM may change to vectorize them: ``fastmath={"reassoc", "contract"}``); float16
is computed in float32 and rounded once at the end. Products below ``PARALLEL_MIN_WORK``
multiply-adds run on one thread. Numba is imported and the kernels are
compiled on first use, never at import; ``cache=True`` keeps the machine code on disk.

The NumPy/CuPy reference every kernel must equal is the dense product of the decompressed
matrix: ``minigrad.sparse.semi_structured.reference_mm24`` and friends.
"""
from __future__ import annotations

import functools

import numpy as np

__all__ = ["mm24", "mm24_t", "sddmm24"]


def _mm24_kernel(values, meta, B, C):  # pragma: no cover - compiled by Numba
    M = values.shape[0]
    n_groups = values.shape[1] // 2
    N = B.shape[1]
    for m in numba.prange(M):
        if N == 1:  # matrix-vector: one running sum in a register
            C[m, 0] = 0
            s = C[m, 0]  # a zero of C's dtype
            for g in range(n_groups):
                nib = (np.int64(meta[m, g >> 1]) >> ((g & 1) << 2)) & 15
                s += values[m, 2 * g] * B[4 * g + (nib & 3), 0]
                s += values[m, 2 * g + 1] * B[4 * g + (nib >> 2), 0]
            C[m, 0] = s
            continue
        for n in range(N):
            C[m, n] = 0
        for g in range(n_groups):
            nib = (np.int64(meta[m, g >> 1]) >> ((g & 1) << 2)) & 15
            k0 = 4 * g + (nib & 3)
            k1 = 4 * g + (nib >> 2)
            v0 = values[m, 2 * g]
            v1 = values[m, 2 * g + 1]
            for n in range(N):
                C[m, n] += v0 * B[k0, n] + v1 * B[k1, n]


def _mm24_t_kernel(values, meta, G, C):  # pragma: no cover - compiled by Numba
    M = values.shape[0]
    n_groups = values.shape[1] // 2
    N = G.shape[1]
    for g in numba.prange(n_groups):
        for r in range(4):
            for n in range(N):
                C[4 * g + r, n] = 0
        shift = (g & 1) << 2
        for m in range(M):
            nib = (np.int64(meta[m, g >> 1]) >> shift) & 15
            k0 = 4 * g + (nib & 3)
            k1 = 4 * g + (nib >> 2)
            v0 = values[m, 2 * g]
            v1 = values[m, 2 * g + 1]
            for n in range(N):
                C[k0, n] += v0 * G[m, n]
                C[k1, n] += v1 * G[m, n]


def _sddmm24_kernel(meta, A, B, out):  # pragma: no cover - compiled by Numba
    M = A.shape[0]
    n_groups = out.shape[1] // 2
    N = A.shape[1]
    for m in numba.prange(M):
        for g in range(n_groups):
            nib = (np.int64(meta[m, g >> 1]) >> ((g & 1) << 2)) & 15
            k0 = 4 * g + (nib & 3)
            k1 = 4 * g + (nib >> 2)
            s0 = 0.0
            s1 = 0.0
            for n in range(N):
                s0 += A[m, n] * B[k0, n]
                s1 += A[m, n] * B[k1, n]
            out[m, 2 * g] = s0
            out[m, 2 * g + 1] = s1


numba = None  # the module, bound by _compiled(): importing this file does not import Numba

# Below this many multiply-adds a kernel runs on one thread: a parallel region costs tens of
# microseconds to start and join, more than a small product takes, and far more when the
# other cores are busy (the join waits for a descheduled worker).
PARALLEL_MIN_WORK = 1 << 23


@functools.cache
def _compiled():
    """Compile on first use (``import numba`` happens here, not at import time)."""
    global numba
    import numba as _numba

    numba = _numba
    jit = numba.njit(parallel=True, cache=True)
    # sddmm24's dot products are reductions: LLVM vectorizes them only when it may
    # reassociate the sum (the order of the float64 partial sums changes, not the inputs)
    jit_reduce = numba.njit(parallel=True, cache=True, fastmath={"reassoc", "contract"})
    return jit(_mm24_kernel), jit(_mm24_t_kernel), jit_reduce(_sddmm24_kernel)


def _run(which, work, *args):
    """Run kernel ``which`` (0: mm24, 1: mm24_t, 2: sddmm24); small products on one
    thread (the same compiled kernel with Numba's thread count set to 1)."""
    kernel = _compiled()[which]
    if work >= PARALLEL_MIN_WORK:
        kernel(*args)
        return
    n = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        kernel(*args)
    finally:
        numba.set_num_threads(n)


# ----------------------------------------------------------------------------- checks


def _check(name, a, ndim, kinds="f"):
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(a).__module__}."
                        f"{type(a).__name__}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    if a.dtype.kind not in kinds:
        raise TypeError(f"{name} has dtype {a.dtype}")


def _compute_dtype(*arrays):
    dts = {a.dtype for a in arrays}
    if len(dts) != 1:
        raise TypeError("the float operands must share one dtype, got "
                        + ", ".join(str(a.dtype) for a in arrays))
    dt = dts.pop()
    if dt not in (np.float16, np.float32, np.float64):
        raise TypeError(f"2:4 CPU kernels take float16/float32/float64, got {dt}")
    return dt, (np.dtype(np.float32) if dt == np.float16 else dt)


def _check_meta(meta, M, n_groups):
    _check("meta", meta, 2, "iub")
    if meta.dtype != np.uint8:
        raise TypeError(f"meta must be uint8, got {meta.dtype}")
    if meta.shape != (M, -(-n_groups // 2)):
        raise ValueError(f"meta must have shape {(M, -(-n_groups // 2))} for {M} rows and "
                         f"{n_groups} groups, got {meta.shape}")


def _c(a, dt):
    return np.ascontiguousarray(a, dtype=dt)


def _finish(C, dt, out):
    if out is None:
        return C if C.dtype == dt else C.astype(dt)
    out[...] = C
    return out


# ------------------------------------------------------------------------------ launchers


def mm24(values, meta, B, out=None):
    """C = S B, S (M x K) given as ``(values, meta)``, dense B (K x N); K = 2·values.shape[1]."""
    _check("values", values, 2)
    _check("B", B, 2)
    M, KC = values.shape
    _check_meta(meta, M, KC // 2)
    if KC % 2 or B.shape[0] != 2 * KC:
        raise ValueError(f"values {values.shape} describe a matrix with K = {2 * KC} "
                         f"columns but B has {B.shape[0]} rows")
    dt, ct = _compute_dtype(values, B)
    C = np.empty((M, B.shape[1]), dtype=ct)
    _run(0, M * KC * B.shape[1], _c(values, ct), _c(meta, np.uint8), _c(B, ct), C)
    return _finish(C, dt, out)


def mm24_t(values, meta, G, out=None):
    """C = Sᵀ G, S (M x K) given as ``(values, meta)`` and dense G (M x N): C is K x N."""
    _check("values", values, 2)
    _check("G", G, 2)
    M, KC = values.shape
    _check_meta(meta, M, KC // 2)
    if G.shape[0] != M:
        raise ValueError(f"S has {M} rows but G has {G.shape[0]}")
    dt, ct = _compute_dtype(values, G)
    C = np.empty((2 * KC, G.shape[1]), dtype=ct)
    _run(1, M * KC * G.shape[1], _c(values, ct), _c(meta, np.uint8), _c(G, ct), C)
    return _finish(C, dt, out)


def sddmm24(meta, A, B, out=None):
    """``out[m, 2g + j] = A[m, :] · B[4g + i_j, :]`` for the kept positions (i0, i1) of the
    pattern ``meta``: A (M x N), B (K x N), out (M x K/2) like ``values``."""
    _check("A", A, 2)
    _check("B", B, 2)
    M, N = A.shape
    K = B.shape[0]
    if K % 4:
        raise ValueError(f"B has {K} rows; the 2:4 pattern needs a multiple of 4")
    _check_meta(meta, M, K // 4)
    if B.shape[1] != N:
        raise ValueError(f"A {A.shape} and B {B.shape} must have the same number of columns")
    dt, ct = _compute_dtype(A, B)
    C = np.empty((M, K // 2), dtype=ct)
    _run(2, M * K // 2 * N, _c(meta, np.uint8), _c(A, ct), _c(B, ct), C)
    return _finish(C, dt, out)
