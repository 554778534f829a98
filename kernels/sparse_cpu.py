r"""CPU sparse kernels in Numba: CSR SpMV, SpMM and SDDMM, COO → CSR, CSR transpose.

These are what ``minigrad.sparse`` runs on "cpu" for float32/float64 values. Each public
function takes raw NumPy arrays, checks them (``TypeError``/``ValueError`` naming the
argument), and has a pure-NumPy twin in :mod:`minigrad.sparse.ops` (``*_reference``) that the
tests hold it to.

==================================================  =========================================
``spmv_csr(indptr, indices, data, x, out=None)``    y = A x      (same signature as the CUDA
``spmm_csr(indptr, indices, data, B, out=None)``    C = A B       kernels in minigrad.kernels)
``sddmm_csr(indptr, indices, A, B, out=None)``      v_k = <A[row_k], B[col_k]> at A's pattern
``coo_to_csr(row, col, n_rows, n_cols)``            (indptr, indices, inverse), duplicates merged
``csr_transpose(indptr, indices, n_cols)``          (indptr_t, indices_t, perm)
``set_num_threads(n)``                              Numba's thread count (benchmarks use 2)
==================================================  =========================================

Nothing compiles at import. ``minigrad.sparse`` imports this module (and with it Numba) on
its first CPU product, not when minigrad is imported; each kernel is compiled for the
argument types of its first call and kept in Numba's on-disk cache (``cache=True``, under
``__pycache__`` beside this file), so later processes load it instead of compiling.

What the generated code looks like, and why the launchers view indices as unsigned
--------------------------------------------------------------------------------------
Numba treats a *signed* integer array index like Python does: ``x[j]`` with ``j < 0`` means
``x[len(x) + j]``. Unless LLVM can prove ``j >= 0``, every load ``x[indices[k]]`` (and
``data[k]``, ``indices[k]`` when ``k`` comes from a signed ``indptr``) carries a
"wraparound" fix-up. ``inspect_asm(sig)`` of the SpMV row loop (``_spmv_rows``, x86-64
with AVX-512, LLVM through Numba 0.68) shows, in the scalar loop, per nonzero:

* int32 indices: ``movslq`` (sign-extend the 32-bit loop counter, again every step),
  ``testl; cmovs; leaq`` to pick the base of ``data[k]`` and again for ``indices[k]``, then
  ``movslq; sarq $63; andq len; leaq`` for ``x[j]``: about 17 instructions around one
  ``vfmadd231sd``. Without ``reassoc`` (below) the loop is not even unrolled.
* int64 indices: the same ``sarq $63; andq`` fix-ups, without the sign extensions.
* uint32 (or uint64) indices: ``movl (idx); vmovsd (data); vfmadd231sd (x,idx,8)`` and
  the loop control: three instructions of work, and the vectorised loop (below) gathers straight
  from ``x`` + 8·idx; with signed indices it first builds 64-bit absolute addresses with
  extra ``vpgatherqd`` loads of the indices.

Timed on 2 threads (10⁷ nonzeros, 10 per row, 10⁶ columns), the int32 loop ran 2-3×
*slower* than SciPy, the uint32 loop faster (the note in issue 5). The indices are valid by
construction (every ``minigrad.sparse`` tensor is validated on construction), so the
launchers pass ``indices.view(uint32)`` for int32 input (no copy, and 4 bytes per index:
half the index traffic of int64) and ``view(uint64)`` for int64; ``indptr`` is viewed the
same way so that ``k`` is unsigned too. ``test_unsigned_indices_drop_the_wraparound_code``
pins this. Other switches, and what they did:

* ``boundscheck=False`` is Numba's default already; it removes range checks, not the
  wraparound, so alone it changed nothing (written out so that it stays off).
* ``error_model="numpy"`` concerns only division by zero; no kernel here divides, and it
  left the loop as it was.
* ``fastmath={"reassoc", "contract"}`` lets LLVM reorder the row sum: it vectorises the
  loop into ``vgatherqpd`` + ``vfmadd231pd`` (4 × 8 partial sums, and an 8-wide loop),
  used by rows of 8 or more entries; shorter rows take the scalar loop. Timed against the
  plain loop (Xeon, 2 threads) it was within 5% at 10 per row and 10-15% faster on
  power-law rows at 10⁷ nonzeros. The
  sum of a row then comes in another order: within rounding of the sequential sum, and
  without ``nnan``/``ninf`` so NaN and inf propagate as usual.
* Rows are split among threads by *work* (nonzeros + 1 per row), not by count: ``prange``
  runs over ``4 × threads`` chunks whose boundaries come from a binary search on
  ``indptr[i] + i``. With power-law rows an even split by rows leaves one thread most of
  the nonzeros. Below ``SERIAL_BELOW_WORK`` multiply-adds the row loop runs on the calling
  thread: waking the team costs more than the second thread saves.

Measured (``benchmarks/spmv_cpu.py``, float64, 2 Numba threads, SciPy's serial ``A @ x``
in the same process; results in ``benchmarks/results/spmv_cpu-*.json``): on a quiet
Xeon (2 threads of 16 cores) SpMV ran 1.4-1.85× SciPy at 10⁶ nonzeros and 1.9-2.2× at
10⁷, SpMM (N = 16) 1.7-2.5×; the one-thread row loop alone matched SciPy there (and beat it
by 1.2-1.8× on the AMD EPYC dev machine), so the gain is the second thread. Timings on a
2-vCPU machine shared with other jobs vary by 2× from run to run (a busy vCPU stalls the
whole thread team).

The sums are accumulated in the value type (float32 for float32 data), as SciPy and the
CUDA kernels do.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

__all__ = ["spmv_csr", "spmm_csr", "sddmm_csr", "coo_to_csr", "csr_transpose",
           "set_num_threads"]

_FLOATS = ("float32", "float64")
CHUNKS_PER_THREAD = 4
SERIAL_BELOW_WORK = 1 << 15  # fewer multiply-adds than this: one thread (see _run)
ONE = np.uint64(1)  # unsigned constants: uint64 mixed with a signed int becomes float64

_parallel = njit(parallel=True, cache=True, boundscheck=False, nogil=True,
                 fastmath={"reassoc", "contract"})
_serial = njit(cache=True, boundscheck=False, nogil=True)
_serial_fast = njit(cache=True, boundscheck=False, nogil=True, fastmath={"reassoc", "contract"})


def set_num_threads(n: int) -> None:
    """Set the number of threads the parallel kernels use (``numba.set_num_threads``)."""
    numba.set_num_threads(int(n))


# ------------------------------------------------------------------------------ kernels
# Every loop index that reaches a subscript is unsigned (see the module notes).


@_serial
def _row_bounds(indptr, n_chunks):
    """Row boundaries of ``n_chunks`` chunks of about equal work, work(i) = nnz(i) + 1:
    bounds[c] is the first row i with indptr[i] + i >= c · total / n_chunks (a binary
    search on the increasing sequence indptr[i] + i)."""
    n_rows = np.uint64(indptr.shape[0] - 1)
    total = np.uint64(indptr[n_rows]) + n_rows
    bounds = np.empty(n_chunks + 1, dtype=np.uint64)
    bounds[0] = 0
    bounds[n_chunks] = n_rows
    for c in range(1, n_chunks):
        target = total * np.uint64(c) // np.uint64(n_chunks)
        lo = np.uint64(0)
        hi = n_rows
        while lo < hi:
            mid = (lo + hi) // np.uint64(2)
            if np.uint64(indptr[mid]) + mid < target:
                lo = mid + ONE
            else:
                hi = mid
        bounds[c] = lo
    return bounds


# Each product is a loop over a range of rows [lo, hi) (``*_rows``, compiled once and
# inlined by LLVM into its caller) and a driver that hands the chunks of ``bounds`` to the
# threads (``*_kernel``, prange). Small problems call the row loop directly on one thread.


@_serial_fast
def _spmv_rows(indptr, indices, data, x, y, lo, hi):
    """y[i] = Σ_k data[k] x[indices[k]] for the rows lo <= i < hi."""
    for i in range(lo, hi):
        s = data.dtype.type(0)
        for k in range(indptr[i], indptr[i + ONE]):
            s += data[k] * x[indices[k]]
        y[i] = s


@_serial_fast
def _spmm_rows(indptr, indices, data, B, C, lo, hi):
    """C[i, :] = Σ_k data[k] B[indices[k], :] for the rows lo <= i < hi."""
    N = np.uint64(B.shape[1])
    for i in range(lo, hi):
        for j in range(N):
            C[i, j] = 0
        for k in range(indptr[i], indptr[i + ONE]):
            a = data[k]
            col = indices[k]
            for j in range(N):  # an axpy along a row of B: vectorised by LLVM
                C[i, j] += a * B[col, j]


@_serial_fast
def _sddmm_rows(indptr, indices, A, B, out, lo, hi):
    """out[k] = <A[i, :], B[indices[k], :]> for the entries k of the rows lo <= i < hi."""
    N = np.uint64(A.shape[1])
    for i in range(lo, hi):
        for k in range(indptr[i], indptr[i + ONE]):
            col = indices[k]
            s = A.dtype.type(0)
            for j in range(N):
                s += A[i, j] * B[col, j]
            out[k] = s


@_parallel
def _spmv_kernel(indptr, indices, data, x, y, bounds):
    for c in prange(bounds.shape[0] - 1):
        _spmv_rows(indptr, indices, data, x, y, bounds[c], bounds[c + 1])


@_parallel
def _spmm_kernel(indptr, indices, data, B, C, bounds):
    for c in prange(bounds.shape[0] - 1):
        _spmm_rows(indptr, indices, data, B, C, bounds[c], bounds[c + 1])


@_parallel
def _sddmm_kernel(indptr, indices, A, B, out, bounds):
    for c in prange(bounds.shape[0] - 1):
        _sddmm_rows(indptr, indices, A, B, out, bounds[c], bounds[c + 1])


def _run(rows, kernel, rowptr, work, *args):
    """``rows(*args, 0, n_rows)`` on one thread when ``work`` (multiply-adds) is small,
    else ``kernel(*args, bounds)``: the thread team on chunks of about equal work, cut
    by the row pointers ``rowptr``."""
    n_rows = rowptr.shape[0] - 1
    if work < SERIAL_BELOW_WORK:
        rows(*args, np.uint64(0), np.uint64(n_rows))
    else:
        kernel(*args, _bounds(rowptr, n_rows))


# COO -> CSR in three passes: bucket the entries by row (a stable counting sort: serial,
# one pass), sort each row's bucket by column and count its distinct columns, then write
# the merged columns and where every input entry went. The last two run per range of
# rows, on one thread or on the thread team like the products.


@_serial
def _coo_bucket_rows(row, order, start):
    """start[i] = first slot of row i (histogram + prefix sum); order[start[i]:start[i+1]]
    = the entry numbers k of row i, increasing. ``start`` arrives zeroed."""
    n_rows = start.shape[0] - 1
    for k in range(np.uint64(row.shape[0])):
        start[row[k] + ONE] += ONE
    for i in range(n_rows):
        start[i + 1] += start[i]
    fill = start[:n_rows].copy()
    for k in range(np.uint64(row.shape[0])):
        r = row[k]
        order[fill[r]] = k
        fill[r] += ONE


@_serial
def _coo_sort_rows(col, order, start, counts, lo, hi):
    """Sort each row's bucket by column (insertion sort when short, merge sort when long)
    and store its number of distinct columns in counts[i + 1], for rows lo <= i < hi."""
    for i in range(lo, hi):
        s = start[i]
        e = start[i + ONE]
        if e - s > np.uint64(32):
            seg = order[s:e].copy()
            keys = np.empty(e - s, dtype=np.uint64)
            for t in range(e - s):
                keys[t] = col[seg[t]]
            p = np.argsort(keys, kind="mergesort")
            for t in range(e - s):
                order[s + t] = seg[p[t]]
        else:
            for a in range(s + ONE, e):
                v = order[a]
                key = col[v]
                b = a
                while b > s and col[order[b - ONE]] > key:
                    order[b] = order[b - ONE]
                    b -= ONE
                order[b] = v
        distinct = 0
        for a in range(s, e):
            if a == s or col[order[a]] != col[order[a - ONE]]:
                distinct += 1
        counts[i + ONE] = distinct


@_serial
def _coo_merge_rows(col, order, start, indptr, indices, inverse, lo, hi):
    """Write the distinct columns of rows lo <= i < hi from indptr[i] on, and for every
    entry k of those rows the slot inverse[k] its value goes to."""
    for i in range(lo, hi):
        out = np.int64(indptr[i]) - 1
        for a in range(start[i], start[i + ONE]):
            if a == start[i] or col[order[a]] != col[order[a - ONE]]:
                out += 1
                indices[out] = col[order[a]]
            inverse[order[a]] = out


@_parallel
def _coo_sort_kernel(col, order, start, counts, bounds):
    for c in prange(bounds.shape[0] - 1):
        _coo_sort_rows(col, order, start, counts, bounds[c], bounds[c + 1])


@_parallel
def _coo_merge_kernel(col, order, start, indptr, indices, inverse, bounds):
    for c in prange(bounds.shape[0] - 1):
        _coo_merge_rows(col, order, start, indptr, indices, inverse, bounds[c], bounds[c + 1])


@_serial
def _csr_transpose_kernel(indptr, indices, indptr_t, indices_t, perm):
    """Counting sort of the nonzeros by column; within a column the rows come out
    increasing because the rows are visited in order. Serial: one pass over the nonzeros.
    All arrays unsigned (``indptr_t``, ``indices_t``, ``perm`` uint64)."""
    n_rows = np.uint64(indptr.shape[0] - 1)
    n_cols = np.uint64(indptr_t.shape[0] - 1)
    for k in range(np.uint64(indices.shape[0])):
        indptr_t[indices[k] + ONE] += ONE
    for j in range(n_cols):
        indptr_t[j + ONE] += indptr_t[j]
    fill = indptr_t[:n_cols].copy()
    for i in range(n_rows):
        for k in range(indptr[i], indptr[i + ONE]):
            j = indices[k]
            p = fill[j]
            indices_t[p] = i
            perm[p] = k
            fill[j] = p + ONE


# ----------------------------------------------------------------------------- checking


def _check(name, a, ndim, kinds=None, dtypes=None):
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(a).__module__}."
                        f"{type(a).__name__}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    if kinds is not None and a.dtype.kind not in kinds:
        raise TypeError(f"{name} must have an integer dtype, got {a.dtype}")
    if dtypes is not None and a.dtype.name not in dtypes:
        raise TypeError(f"{name} must have dtype {' or '.join(dtypes)}, got {a.dtype}")


def _unsigned_pair(indptr, indices):
    """indptr and indices as one unsigned type: uint32 views of int32 arrays (no copy),
    else uint64 (a view of int64, a copy of anything else). Negative entries must have
    been excluded by the caller (minigrad's sparse tensors validate on construction)."""
    if indptr.dtype.itemsize == 4 and indices.dtype.itemsize == 4:
        t = np.uint32
    else:
        t = np.uint64
    out = []
    for a in (indptr, indices):
        a = np.ascontiguousarray(a)
        out.append(a.view(t) if a.dtype.itemsize == np.dtype(t).itemsize
                   else a.astype(t))
    return out


def _check_csr(indptr, indices, data=None):
    _check("indptr", indptr, 1, kinds="iu")
    _check("indices", indices, 1, kinds="iu")
    if indptr.shape[0] < 1:
        raise ValueError("indptr must hold n_rows + 1 >= 1 entries")
    if data is not None:
        _check("data", data, 1, dtypes=_FLOATS)
        if indices.shape[0] != data.shape[0]:
            raise ValueError(f"indices ({indices.shape[0]}) and data ({data.shape[0]}) must "
                             "have the same length")
    nnz = indices.shape[0]
    if int(indptr[0]) != 0 or int(indptr[-1]) != nnz:
        raise ValueError(f"indptr must run from 0 to nnz = {nnz}, got {int(indptr[0])} .. "
                         f"{int(indptr[-1])}")


def _bounds(uindptr, n_rows):
    n_chunks = max(1, min(n_rows, CHUNKS_PER_THREAD * numba.get_num_threads()))
    return _row_bounds(uindptr, n_chunks)


def _out(out, shape, dtype):
    if out is None:
        return np.empty(shape, dtype=dtype)
    _check("out", out, len(shape), dtypes=(np.dtype(dtype).name,))
    if out.shape != tuple(shape) or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous array of shape {tuple(shape)}, got "
                         f"{out.shape}")
    return out


# ------------------------------------------------------------------------------ public


def spmv_csr(indptr, indices, data, x, out=None):
    r"""y = A x for A in CSR (``indptr``, ``indices``, ``data``) and a dense vector x.

    ``y[i] = Σ_{k = indptr[i]}^{indptr[i+1]-1} data[k] · x[indices[k]]``, rows split among
    the Numba threads by work. ``indptr``/``indices`` of any integer dtype (int32 is read
    as uint32 without a copy); ``data`` and ``x`` float32 or float64, the same. Columns are
    not checked against ``len(x)``: pass validated indices (minigrad's tensors are).
    Reference: ``minigrad.sparse.ops.spmm_reference``.
    """
    _check_csr(indptr, indices, data)
    _check("x", x, 1, dtypes=(data.dtype.name,))
    n_rows = indptr.shape[0] - 1
    y = _out(out, (n_rows,), data.dtype)
    if n_rows == 0:
        return y
    uindptr, uindices = _unsigned_pair(indptr, indices)
    _run(_spmv_rows, _spmv_kernel, uindptr, indices.shape[0], uindptr, uindices,
         np.ascontiguousarray(data), np.ascontiguousarray(x), y)
    return y


def spmm_csr(indptr, indices, data, B, out=None):
    r"""C = A B for A in CSR and a dense (k, N) matrix B; C is (n_rows, N), row-major.

    ``C[i, :] = Σ_k data[k] · B[indices[k], :]``: per nonzero an axpy along a row of B
    (vectorised by LLVM), rows split among threads by work. Same dtype rules as
    :func:`spmv_csr`. Reference: ``minigrad.sparse.ops.spmm_reference``.
    """
    _check_csr(indptr, indices, data)
    _check("B", B, 2, dtypes=(data.dtype.name,))
    n_rows = indptr.shape[0] - 1
    C = _out(out, (n_rows, B.shape[1]), data.dtype)
    if n_rows == 0 or B.shape[1] == 0:
        C[...] = 0
        return C
    uindptr, uindices = _unsigned_pair(indptr, indices)
    _run(_spmm_rows, _spmm_kernel, uindptr, indices.shape[0] * B.shape[1], uindptr,
         uindices, np.ascontiguousarray(data), np.ascontiguousarray(B), C)
    return C


def sddmm_csr(indptr, indices, A, B, out=None):
    r"""Sampled dense-dense product at a CSR pattern: ``v[k] = Σ_j A[row_k, j] B[col_k, j]``.

    ``A`` is (n_rows, N), ``B`` is (n_cols, N), same float dtype; the result has one value
    per stored entry, in storage order. This is the gradient of SpMM with respect to the
    stored values. Reference: ``minigrad.sparse.ops.sddmm_reference``.
    """
    _check_csr(indptr, indices)
    _check("A", A, 2, dtypes=_FLOATS)
    _check("B", B, 2, dtypes=(A.dtype.name,))
    n_rows = indptr.shape[0] - 1
    if A.shape[0] != n_rows or A.shape[1] != B.shape[1]:
        raise ValueError(f"sddmm_csr: A must be ({n_rows}, N) and B (n_cols, N), got "
                         f"{A.shape} and {B.shape}")
    v = _out(out, (indices.shape[0],), A.dtype)
    if n_rows == 0 or indices.shape[0] == 0:
        return v
    uindptr, uindices = _unsigned_pair(indptr, indices)
    _run(_sddmm_rows, _sddmm_kernel, uindptr, indices.shape[0] * A.shape[1], uindptr,
         uindices, np.ascontiguousarray(A), np.ascontiguousarray(B), v)
    return v


def coo_to_csr(row, col, n_rows, n_cols):
    r"""CSR structure of the COO entries (row[k], col[k]), duplicates merged.

    Returns ``(indptr, indices, inverse)``, int64: the rows in order, each row's columns
    increasing and distinct, and ``inverse[k]``, the stored position that input entry k
    went to. The values follow as ``np.bincount(inverse, values)`` (duplicates summed:
    what ``coalesce`` does). Counting sort by row, then a per-row sort by column.
    Entries must satisfy 0 <= row < n_rows, 0 <= col < n_cols (checked here).
    """
    _check("row", row, 1, kinds="iu")
    _check("col", col, 1, kinds="iu")
    if row.shape != col.shape:
        raise ValueError(f"row ({row.shape[0]}) and col ({col.shape[0]}) differ in length")
    n_rows, n_cols = int(n_rows), int(n_cols)
    nnz = row.shape[0]
    if nnz and (int(row.min()) < 0 or int(row.max()) >= n_rows or int(col.min()) < 0
                or int(col.max()) >= n_cols):
        raise ValueError(f"coo_to_csr: an index is out of range for shape ({n_rows}, "
                         f"{n_cols})")
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    indices = np.empty(nnz, dtype=np.int64)
    inverse = np.empty(nnz, dtype=np.int64)
    if nnz == 0:
        return indptr, indices, inverse
    order = np.empty(nnz, dtype=np.uint64)
    start = np.zeros(n_rows + 1, dtype=np.uint64)
    ucol = col.astype(np.uint64)
    _coo_bucket_rows(row.astype(np.uint64), order, start)
    # the per-row passes take the bucket offsets ``start`` as their row pointers
    _run(_coo_sort_rows, _coo_sort_kernel, start, nnz, ucol, order, start, indptr)
    np.cumsum(indptr, out=indptr)
    _run(_coo_merge_rows, _coo_merge_kernel, start, nnz, ucol, order, start, indptr,
         indices.view(np.uint64), inverse)
    return indptr, indices[:int(indptr[-1])].copy(), inverse


def csr_transpose(indptr, indices, n_cols):
    r"""Structure of Aᵀ for A in CSR: ``(indptr_t, indices_t, perm)``, int64.

    Row j of Aᵀ holds the rows i of A with a stored entry in column j, increasing; its
    values are ``data[perm]``. A counting sort by column (serial, one pass).
    """
    _check_csr(indptr, indices)
    n_cols = int(n_cols)
    nnz = indices.shape[0]
    if nnz and (int(indices.min()) < 0 or int(indices.max()) >= n_cols):
        raise ValueError(f"csr_transpose: a column index is out of range for {n_cols} columns")
    indptr_t = np.zeros(n_cols + 1, dtype=np.int64)
    indices_t = np.empty(nnz, dtype=np.int64)
    perm = np.empty(nnz, dtype=np.int64)
    if nnz == 0:
        return indptr_t, indices_t, perm
    uindptr, uindices = _unsigned_pair(indptr, indices)
    _csr_transpose_kernel(uindptr, uindices, indptr_t.view(np.uint64),
                               indices_t.view(np.uint64), perm.view(np.uint64))
    return indptr_t, indices_t, perm
