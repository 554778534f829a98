r"""NumPy twins of the CUDA kernels in ``minigrad.kernels``: same signatures, same algorithm,
same data layout, on NumPy arrays.

Each function models the work split of its kernel -- which lane adds which products in which
order, which k steps are accumulated in fp32, which bits of which metadata word a lane loads
-- so the layout and the order of operations are tested on every CI run, with or without a
GPU. They are not fast; they are the specification the kernels must equal (to rounding: a GPU
fuses ``s + a*b`` into one FMA and a tensor core sums its 16 products in its own order).

=====================  ==============================  ==================================
function               kernel                          what is modelled
=====================  ==============================  ==================================
spmv_csr_vector        spmv_csr.cu                     G lanes per row, vector chunks,
                                                       per-lane order, shuffle tree
spmv_csr_merge         spmv_csr_merge.cu               merge-path split, per-thread walk,
                                                       carry order
spmv_csr_stream        spmv_csr_stream.cu              row blocks by nonzero count, the
                                                       scalar per-lane order, shuffle tree
spmm_csr               spmm_csr.cu                     per row, nonzeros in storage order
hgemm                  hgemm.cu, hgemm_wmma.cu         k16 steps in order, fp32 accumulate
compress_24 / mm_24    mm24.cu                         packed metadata words, decoded lane
                                                       by lane as mma.sp reads them; k32
                                                       steps in order, fp32 accumulate
bn_channel_sums        batchnorm.cu                    blocks per channel, per-thread order,
                                                       the tree, the partials' order
im2col / col2im        im2col.cu                       per-element index arithmetic, the
                                                       (K, N, P) / (N, K, P) layouts, the
                                                       gather's summation order
=====================  ==============================  ==================================

``ptx_model.simulate_hgemm`` / ``simulate_mm24`` go one level further and replay the
kernels' shared-memory and register index arithmetic through a model of ``ldmatrix`` and
``mma``.
"""
from __future__ import annotations

import functools

import numpy as np

from ._validate import (
    check_csr_structure,
    check_mm24_padding,
    validate_compress_24,
    validate_csr,
    validate_hgemm,
    validate_mm24,
    validate_spmv_method,
    validate_threads_per_row,
)

# Tiling of hgemm.cu and mm24.cu (their -D defaults).
TILING = dict(BM=128, BN=128, BK=32, WARPS_M=2, WARPS_N=2, STAGES=4, GROUP_M=8)
# hgemm.cu's tiling for outputs of WIDE_MIN_OUTPUT elements and more: 128 x 256 tiles, 8
# warps. Measured on an H200 (2026-11-26, two runs, both tilings on every size): 5-27 %
# faster than TILING at 4096^3, 8192^3, 5000x3000x4000 and 4097x4095x4093 (the smallest
# output 15M elements); smaller outputs, whose 128 x 256 tiles would leave SMs idle, keep
# TILING.
WIDE_TILING = dict(BN=256, WARPS_N=4)
WIDE_MIN_OUTPUT = 12 << 20


def hgemm_tiling(M, N) -> dict:
    """The tile macros hgemm.cu takes by default for an M x N output (over TILING)."""
    return dict(WIDE_TILING) if M * N >= WIDE_MIN_OUTPUT else {}


# Merge-path SpMV (spmv_csr_merge.cu).
MERGE_THREADS, MERGE_ITEMS = 256, 7
# Row-length rule that picks the merge-path kernel over CSR-vector (see spmv_method_for).
MERGE_MAX_OVER_MEAN, MERGE_MIN_MAX_LEN = 64, 256
# Mean row length from which the merge-path kernel is the default (see spmv_method_for).
MERGE_MIN_MEAN = 24


@functools.cache  # asked several times a batch norm layer, on a path bound by host time
def acc_dtype(dtype) -> np.dtype:
    """The dtype im2col.cu's col2im and batchnorm.cu sum in: float64 for float64 data,
    float32 for float32 and the 16-bit types."""
    return np.dtype(np.float64 if np.dtype(dtype) == np.float64 else np.float32)


def _digits(t, *radices):
    """The mixed-radix digits of the flat indices t, fastest first, then what is left:
    the kernels' ``digit`` steps (im2col.cu)."""
    out = []
    for radix in radices:
        out.append(t % radix)
        t = t // radix
    return (*out, t)


def _xp(a):
    """NumPy or CuPy, whichever owns ``a`` (compress_24 runs on both)."""
    from minigrad._backend import get_array_module

    return get_array_module(a)


def swizzle_chunk(r, c, chunks: int):
    """Element offset of 16-byte chunk ``c`` of row ``r`` in a swizzled shared-memory tile with
    ``chunks`` chunks per row: ``swz<CHUNKS>`` of ``tc_common.cuh``."""
    from .ptx_model import swz

    return swz(r, c, chunks)


# ---------------------------------------------------------------------------------- SpMV


def spmv_threads_per_row(indptr, dtype) -> int:
    """Lanes per row G for CSR-vector: the smallest power of two (2..32) whose vector pass
    (G lanes x 16 bytes) covers the mean row length."""
    n_rows = len(indptr) - 1
    return threads_per_row_for(int(indptr[-1]), n_rows, dtype)


def threads_per_row_for(nnz, n_rows, dtype) -> int:
    """:func:`spmv_threads_per_row` from the counts (what the launcher knows without
    reading the device's indptr)."""
    mean = nnz / max(n_rows, 1)
    vec = 16 // np.dtype(dtype).itemsize
    g = 2
    while g < 32 and g * vec < mean:
        g *= 2
    return g


SPMV_BLOCK = 256  # threads per block of spmv_csr.cu
SPMV_ROWS_PER_GROUP = (1, 2, 4)  # the SPMV_ROWS settings spmv_csr.cu is built for


def spmv_vector_grid(n_rows, threads_per_row, rows_per_group=1) -> int:
    """Blocks of the CSR-vector launch: each of a block's 256 / G groups of G lanes owns
    ``rows_per_group`` consecutive rows, so block ``b`` covers rows
    ``[b * rows_per_block, (b + 1) * rows_per_block)``."""
    rows_per_block = SPMV_BLOCK // threads_per_row * rows_per_group
    return -(-n_rows // rows_per_block)


def spmv_persistent_grid(n_rows, threads_per_row, rows_per_group, sm_count, blocks_per_sm) -> int:
    """Blocks of the persistent CSR-vector launch (``SPMV_PIPE=1``): as many as the device
    holds at once (``sm_count`` SMs x ``blocks_per_sm``, CUDA's occupancy figure for the
    kernel), but no more than :func:`spmv_vector_grid` (a block past the rows would only
    exit). Group g of the grid's ``groups`` then owns rows ``g*R + j*stride .. + R - 1`` at
    step j = 0, 1, ..., with ``stride = groups * R``."""
    return min(spmv_vector_grid(n_rows, threads_per_row, rows_per_group),
               sm_count * blocks_per_sm)


def choose_spmv_method(indptr) -> str:
    """:func:`spmv_method_for` of a CSR matrix's row pointers."""
    n_rows = len(indptr) - 1
    lengths = np.diff(np.asarray(indptr))
    return spmv_method_for(int(indptr[-1]) if n_rows >= 1 else 0, n_rows,
                           lambda: int(lengths.max()))


def spmv_method_for(nnz, n_rows, longest) -> str:
    """The SpMV kernel chosen for ``n_rows`` rows holding ``nnz`` nonzeros: ``"merge"`` when
    the mean row has at least MERGE_MIN_MEAN nonzeros, or when the longest row is much
    longer than the mean (power-law rows: one warp would work alone on it long after the
    rest), else ``"vector"``. ``longest`` is a callable, called only when the mean is short
    (on a GPU it reads the row lengths back: a sync).

    The mean rule is measured (H200, 2026-11-26 stop 16, every case both ways): with mean
    rows of 24-32 nonzeros merge path was faster in 6 of 8 cases (banded matrices by 30 to
    73 %), within 1 % in one and 7 % slower in one; with 12 the vector kernel was faster
    (by 11 %) in both."""
    if n_rows < 1:
        return "vector"
    mean = max(nnz / n_rows, 1.0)
    if mean >= MERGE_MIN_MEAN:
        return "merge"
    most = longest()
    if most > MERGE_MAX_OVER_MEAN * mean and most > MERGE_MIN_MAX_LEN:
        return "merge"
    return "vector"


def spmv_csr(indptr, indices, data, x, out=None, *, method=None):
    """y = A x for A in CSR (int32 ``indptr``/``indices``, float32/float64 ``data``, ``x``
    and ``out`` of data's dtype, all C-contiguous).

    ``method`` is ``"vector"`` (spmv_csr.cu), ``"merge"`` (spmv_csr_merge.cu), ``"stream"``
    (spmv_csr_stream.cu) or ``None`` (chosen from the row lengths, as the GPU launcher
    does: never "stream", which waits for a GPU to time it).

    The arguments are checked as the launcher checks them (``_validate.validate_csr``: the
    same exceptions and messages), and beyond it the CSR structure, which the launcher
    cannot read without a device synchronisation (``_validate.check_csr_structure``:
    ``indptr`` from 0, non-decreasing, to nnz; column indices in ``[0, len(x))``).
    """
    _, _, n_cols = validate_csr("spmv_csr", indptr, indices, data, x, out=out)
    validate_spmv_method("spmv_csr", method)
    check_csr_structure("spmv_csr", indptr, indices, n_cols)
    method = method or choose_spmv_method(indptr)
    if method == "stream":
        return _finish(_spmv_stream(indptr, indices, data, x), out)
    if method == "vector":
        return _finish(_spmv_vector(indptr, indices, data, x), out)
    return _finish(_spmv_merge(indptr, indices, data, x), out)


STREAM_NNZ = 1024       # STREAM_NNZ of spmv_csr_stream.cu: a block's share of the nonzeros
# what the launcher's stream_nnz takes (2 x 2048 doubles = 32 KiB of static shared memory)
STREAM_NNZ_CHOICES = (256, 512, 1024, 2048)
STREAM_THREADS = 256    # its threads per block
STREAM_CAP = 2 * STREAM_NNZ  # the products a block stages in shared memory


def spmv_stream_row_blocks(indptr, nnz, xp=np, nnz_per_block=STREAM_NNZ):
    """``row_block`` of spmv_csr_stream.cu: block b owns the rows r whose first nonzero index
    lies in [b·NNZ, (b+1)·NNZ) (NNZ = ``nnz_per_block``, the kernel's STREAM_NNZ), rows
    ``row_block[b] .. row_block[b+1] - 1``; ``row_block[b]`` is the first r with
    indptr[r] ≥ b·NNZ (a search over the row pointers: one kernel on CuPy arrays, no reading
    back), and the last entry is n_rows, so the last block also owns the trailing empty
    rows. max(1, ⌈nnz / NNZ⌉) blocks; ``nnz`` is what the caller knows (indices.size), not
    read from indptr."""
    n_rows = len(indptr) - 1
    n_blocks = max(1, -(-nnz // nnz_per_block))
    starts = xp.arange(n_blocks, dtype=indptr.dtype) * nnz_per_block  # < nnz: fits int32
    row_block = xp.empty(n_blocks + 1, dtype=np.int32)
    row_block[:n_blocks] = xp.searchsorted(indptr[:n_rows], starts, side="left")
    row_block[n_blocks] = n_rows
    return row_block


def spmv_stream_partition(indptr, nnz, xp=np, nnz_per_block=STREAM_NNZ):
    """``(row_block, nnz_block)``, the partition spmv_csr_stream.cu takes: the rows of
    :func:`spmv_stream_row_blocks` and ``nnz_block = indptr[row_block]``, the first nonzero
    of each block's run (its last is the next block's first), so that a block reads where
    its nonzeros start together with its rows instead of after them."""
    row_block = spmv_stream_row_blocks(indptr, nnz, xp, nnz_per_block)
    return row_block, indptr[row_block]


def spmv_csr_stream(indptr, indices, data, x, out=None, *, threads_per_row=None):
    r"""CSR-stream SpMV as ``spmv_csr_stream.cu`` sums it: each product rounded in the value
    type, lane l of the row's G lanes adding products l, l + G, ... in order, the G sums
    folded by the shuffle tree: the scalar CSR-vector order
    (``spmv_csr_vector(..., vectorized=False)``), bit for bit, whichever block holds the
    row and whether its run was staged in shared memory or not (the kernel computes the
    same products either way). Arguments checked as in :func:`spmv_csr`."""
    _, _, n_cols = validate_csr("spmv_csr_stream", indptr, indices, data, x, out=out)
    validate_threads_per_row("spmv_csr_stream", threads_per_row)
    check_csr_structure("spmv_csr_stream", indptr, indices, n_cols)
    return _finish(_spmv_stream(indptr, indices, data, x, threads_per_row), out)


def _spmv_stream(indptr, indices, data, x, threads_per_row=None):
    return _spmv_vector(indptr, indices, data, x, threads_per_row, vectorized=False)


def _finish(y, out):
    if out is None:
        return y
    out[...] = y
    return out


def spmv_csr_vector(indptr, indices, data, x, out=None, *, threads_per_row=None,
                    vectorized=True):
    r"""CSR-vector SpMV exactly as ``spmv_csr.cu`` splits it.

    Row r has nonzeros [s, e). Lane ``l`` of its G lanes adds, in this order, the head
    elements ``s + l, s + l + G, ...`` below ``a = min(e, round_up(s, V))``, the V-element
    chunks ``a/V + l, a/V + l + G, ...`` below ``b = max(a, round_down(e, V))`` (each chunk's
    V products in order), and the tail ``b + l, b + l + G, ...`` below e. The G partial sums
    are folded by ``shfl_down`` at offsets G/2, ..., 1; lane 0's value is y[r].

    Arguments are checked as in :func:`spmv_csr`; ``threads_per_row`` is G (2 to 32, default
    the launcher's choice), ``vectorized=False`` models the scalar kernel (V = 1).
    """
    _, _, n_cols = validate_csr("spmv_csr_vector", indptr, indices, data, x, out=out)
    validate_threads_per_row("spmv_csr_vector", threads_per_row)
    check_csr_structure("spmv_csr_vector", indptr, indices, n_cols)
    return _finish(_spmv_vector(indptr, indices, data, x, threads_per_row, vectorized), out)


def _spmv_vector(indptr, indices, data, x, threads_per_row=None, vectorized=True):
    """:func:`spmv_csr_vector` on checked arguments: y, a new array."""
    T = data.dtype
    n_rows = len(indptr) - 1
    G = threads_per_row or spmv_threads_per_row(indptr, T)
    V = 16 // T.itemsize if vectorized else 1
    s = indptr[:-1].astype(np.int64)
    e = indptr[1:].astype(np.int64)
    nnz = int(e[-1]) if n_rows else 0
    row = np.repeat(np.arange(n_rows), e - s)
    k = np.arange(nnz)
    rs = s[row]
    if V > 1:
        a = np.minimum(e, -(-s // V) * V)
        b = np.maximum(a, e // V * V)
        head_steps = -(-(a - s) // G)  # steps a lane spends on the head (0 or 1 or 2)
        body_steps = -(-((b - a) // V) // G) * V
        ak, bk = a[row], b[row]
        lane = np.empty(nnz, dtype=np.int64)
        step = np.empty(nnz, dtype=np.int64)
        head, tail = k < ak, k >= bk
        body = ~head & ~tail
        lane[head] = (k - rs)[head] % G
        step[head] = (k - rs)[head] // G
        ci = k // V - ak // V  # chunk index within the row's body
        lane[body] = ci[body] % G
        step[body] = head_steps[row][body] + (ci[body] // G) * V + k[body] % V
        lane[tail] = (k - bk)[tail] % G
        step[tail] = (head_steps + body_steps)[row][tail] + (k - bk)[tail] // G
    else:
        lane = (k - rs) % G
        step = (k - rs) // G
    prod = data * x[indices]  # in the value type, as on the GPU
    partial = np.zeros((n_rows, G), dtype=T)
    order = np.argsort(step, kind="stable")
    bounds = np.searchsorted(step[order], np.arange(int(step.max(initial=-1)) + 2))
    for st in range(len(bounds) - 1):  # within one step each (row, lane) appears once
        idx = order[bounds[st]:bounds[st + 1]]
        partial[row[idx], lane[idx]] += prod[idx]
    off = G // 2
    while off:
        partial[:, :off] += partial[:, off:2 * off]
        off //= 2
    return partial[:, 0].copy()


def merge_path_search(diagonal, row_end, nnz):
    """Row coordinate where each ``diagonal`` crosses the merge path of ``row_end`` (the
    row-end offsets) with the nonzero indices 0..nnz-1; the nonzero coordinate is
    ``diagonal - row``. Vectorised version of ``merge_path_search`` in spmv_csr_merge.cu."""
    d = np.asarray(diagonal, dtype=np.int64)
    row_end = np.asarray(row_end, dtype=np.int64)
    lo = np.maximum(d - nnz, 0)
    hi = np.minimum(d, len(row_end))
    while np.any(lo < hi):
        active = lo < hi
        p = (lo + hi) >> 1
        go_right = row_end[np.minimum(p, len(row_end) - 1)] <= d - p - 1
        lo = np.where(active & go_right, p + 1, lo)
        hi = np.where(active & ~go_right, p, hi)
    return lo


def spmv_csr_merge(indptr, indices, data, x, out=None, *, threads=MERGE_THREADS,
                   items_per_thread=MERGE_ITEMS):
    r"""Merge-path SpMV exactly as ``spmv_csr_merge.cu`` walks it: tiles of
    ``threads * items_per_thread`` merge steps, per-thread walks, carries resolved in thread
    order within a tile and block carries added in tile order. Arguments are checked as in
    :func:`spmv_csr`; ``threads`` and ``items_per_thread`` set the tile (the kernel's
    MERGE_THREADS x MERGE_ITEMS by default)."""
    _, _, n_cols = validate_csr("spmv_csr_merge", indptr, indices, data, x, out=out)
    check_csr_structure("spmv_csr_merge", indptr, indices, n_cols)
    return _finish(_spmv_merge(indptr, indices, data, x, threads, items_per_thread), out)


def _spmv_merge(indptr, indices, data, x, threads=MERGE_THREADS, items_per_thread=MERGE_ITEMS):
    """:func:`spmv_csr_merge` on checked arguments: y, a new array."""
    T = data.dtype
    n_rows = len(indptr) - 1
    nnz = int(indptr[-1])
    tile = threads * items_per_thread
    n_merge = n_rows + nnz
    n_tiles = -(-n_merge // tile)
    y = np.full(n_rows, np.nan, dtype=T)
    if n_rows == 0:
        return y
    row_end = indptr[1:].astype(np.int64)
    tile_row = merge_path_search(np.minimum(np.arange(n_tiles + 1) * tile, n_merge), row_end, nnz)
    prod = (data * x[indices]).astype(T)
    block_carry = []
    for blk in range(n_tiles):
        d0 = min(blk * tile, n_merge)
        d1 = min(d0 + tile, n_merge)
        r0, r1 = int(tile_row[blk]), int(tile_row[blk + 1])
        n0, n1 = d0 - r0, d1 - r1
        tile_rows, tile_nnz = r1 - r0, n1 - n0
        s_prod = prod[n0:n1]
        rr = np.arange(r0, r1 + 1)
        s_row_end = np.where(rr < n_rows, np.concatenate([row_end, [nnz]])[rr], nnz) - n0
        t = np.arange(threads)
        total = tile_rows + tile_nnz
        t0 = np.minimum(t * items_per_thread, total)
        t1 = np.minimum(t0 + items_per_thread, total)
        if tile_rows:
            r = merge_path_search(t0, s_row_end[:tile_rows], tile_nnz)
        else:
            r = np.zeros_like(t0)
        j = t0 - r
        r_start = r.copy()
        acc = np.zeros(threads, dtype=T)
        first_sum = np.zeros(threads, dtype=T)
        for _ in range(items_per_thread):
            active = r + j < t1
            take = active & (j < s_row_end[np.minimum(r, tile_rows)])
            finish = active & ~take
            acc[take] += s_prod[j[take]]
            j[take] += 1
            first = finish & (r == r_start)
            first_sum[first] = acc[first]
            later = finish & (r != r_start)
            y[r0 + r[later]] = acc[later]
            acc[finish] = 0
            r[finish] += 1
        carry_row, carry_val = r, acc
        for u in np.nonzero(r > r_start)[0]:
            tot = first_sum[u]
            v = u - 1
            while v >= 0 and carry_row[v] == r_start[u]:
                tot += carry_val[v]
                v -= 1
            y[r0 + r_start[u]] = tot
        if r1 < n_rows:
            tot = carry_val[threads - 1]
            v = threads - 2
            while v >= 0 and carry_row[v] == tile_rows:
                tot += carry_val[v]
                v -= 1
            block_carry.append((r1, tot))
    for row, val in block_carry:  # the fix-up kernel (atomicAdd, any order on the GPU)
        y[row] += val
    return y


def spmm_csr(indptr, indices, data, B, out=None):
    r"""C = A B for A in CSR and dense row-major B, as ``spmm_csr.cu``: every output element
    sums its row's products in storage order, in the value type. Arguments are checked as
    the launcher checks them, and the CSR structure as in :func:`spmv_csr` (column indices
    in ``[0, B.shape[0])``)."""
    _, _, n_cols = validate_csr("spmm_csr", indptr, indices, data, B, x_name="B", x_ndim=2,
                                out=out)
    check_csr_structure("spmm_csr", indptr, indices, n_cols, x_name="B")
    n_rows = len(indptr) - 1
    s = indptr[:-1].astype(np.int64)
    lengths = np.diff(indptr.astype(np.int64))
    C = np.zeros((n_rows, B.shape[1]), dtype=data.dtype)
    for p in range(int(lengths.max(initial=0))):
        rows = np.nonzero(lengths > p)[0]
        k = s[rows] + p
        C[rows] += data[k, None] * B[indices[k]]
    return _finish(C, out)


# --------------------------------------------------------------------------- dense GEMM


def _is_16bit_float(dtype) -> bool:
    return np.dtype(dtype) == np.float16 or np.dtype(dtype).name == "bfloat16"


def hgemm(A, B, out=None, out_dtype=None):
    r"""C = A B for float16 (or bfloat16) A, B with float32 accumulation, as ``hgemm.cu``.

    Every block tile of the kernel walks k in steps of 16 and adds each step's product into
    fp32 accumulators; the inputs are exact in fp32, so one step is an exact fp32 matmul of
    16-wide slices (up to the summation order inside the step). All tiles do the same, so the
    model runs the k16 steps over the whole matrix at once. Ragged edges are zero-filled, as
    the kernel's cp.async does. The result is rounded once to the output dtype: ``out``'s,
    else ``out_dtype``, else fp32; float32 or the input type. Arguments are checked as the
    launcher checks them (``_validate.validate_hgemm``: A and B of one 16-bit type, both
    C-contiguous; ``out_dtype`` agreeing with ``out``).
    """
    dt = validate_hgemm("hgemm", A, B, out, out_dtype)
    dt = A.dtype if dt == A.dtype.name else np.dtype(np.float32)
    M, K = A.shape
    N = B.shape[1]
    Kp = -(-K // 16) * 16
    A32 = np.zeros((M, Kp), dtype=np.float32)
    A32[:, :K] = A.astype(np.float32)
    B32 = np.zeros((Kp, N), dtype=np.float32)
    B32[:K] = B.astype(np.float32)
    acc = np.zeros((M, N), dtype=np.float32)
    for k in range(0, Kp, 16):  # one mma k16 step
        acc += A32[:, k:k + 16] @ B32[k:k + 16]
    return _finish(acc.astype(dt), out)


# ------------------------------------------------------------------------------ 2:4 GEMM

PAD_NIBBLE = 0b0100  # keep positions 0 and 1: a legal pattern for padding groups


def compress_24(W):
    r"""Pack a 2:4 sparse matrix for ``mm_24``: ``(values, metadata)``.

    ``W`` (M x K, float16/bfloat16, NumPy or CuPy) must hold at most 2 nonzeros in every
    aligned group of 4 along K. K is padded with zeros to Kp = round_up(K, 32).

    values   (M, Kp/2), W's dtype: group G of row m keeps its two entries at columns 2G, 2G+1,
             in increasing k order (zeros are kept where a group has fewer than two
             nonzeros, choosing the lowest free positions).
    metadata (ceil(M/16), Kp/32, 16) uint32: for the 16-row block mt and the k32 block ks,
             word ``2g + t`` (g = 0..7, t = 0, 1) holds the nibbles of row ``16mt + g`` (bits
             4j..4j+3) and row ``16mt + g + 8`` (bits 16+4j..16+4j+3) for the groups
             ``8ks + 4t + j``, j = 0..3; nibble = (i1 << 2) | i0 with i0 < i1 the kept
             positions. That is the metadata register of lane ``4g + t`` of ``mma.sp``
             m16n8k32 with sparsity selector 0 (see ``ptx_model.sparse_a_from_fragment``).
             Rows past M (up to the next multiple of 16) get the legal padding nibble 0b0100.
    """
    xp = _xp(W)
    validate_compress_24("compress_24", W)
    M, K = W.shape
    Kp = -(-K // 32) * 32
    Wp = xp.zeros((M, Kp), dtype=W.dtype)
    Wp[:, :K] = W
    groups = Wp.reshape(M, Kp // 4, 4)
    nonzero = groups != 0
    count = nonzero.sum(axis=-1)
    if bool((count > 2).any()):
        bad = np.argwhere(np.asarray(count.get() if hasattr(count, "get") else count) > 2)[0]
        raise ValueError(
            f"W is not 2:4 sparse: row {bad[0]}, columns {4 * bad[1]}..{4 * bad[1] + 3} hold "
            f"{int(count[bad[0], bad[1]])} nonzeros (at most 2 per aligned group of 4)")
    pos = xp.arange(4)
    key = xp.where(nonzero, pos, pos + 4)  # nonzeros first, then the lowest free positions
    kept = xp.sort(xp.argsort(key, axis=-1)[..., :2], axis=-1)
    values = xp.take_along_axis(groups, kept, axis=-1).reshape(M, Kp // 2)
    return xp.ascontiguousarray(values), _metadata_words(xp, kept[..., 0], kept[..., 1], M, Kp)


def pack_24(values, i0, i1):
    r"""``compress_24``'s ``(values, metadata)`` from a matrix already in 2:4 form: the kept
    ``values`` (M, K/2) in increasing column order and their positions ``i0 < i1`` (M, K/4)
    each: ``minigrad.sparse``'s packed format. Nothing is searched: the values are padded
    to Kp/2 columns and the positions written as the metadata words, so the positions are
    the given ones even where a kept value is 0 (``compress_24`` would choose its own
    there; the products are equal). Raises ``ValueError`` for a position pair out of order
    (a device synchronization on CUDA: positions already checked, as minigrad.sparse
    checks its metadata when a tensor is made, go to :func:`pack_24_values` and
    :func:`pack_24_metadata` instead).
    """
    if values.ndim != 2 or i0.shape != i1.shape or i0.shape != (values.shape[0],
                                                                 values.shape[1] // 2):
        raise ValueError(f"pack_24: values (M, K/2) and positions (M, K/4) expected, got "
                         f"{values.shape}, {i0.shape} and {i1.shape}")
    if not _is_16bit_float(values.dtype):
        raise TypeError(f"pack_24: values must be float16 or bfloat16, got {values.dtype}")
    if i0.size and not bool(((0 <= i0) & (i0 < i1) & (i1 <= 3)).all()):
        raise ValueError("pack_24: every group needs positions 0 <= i0 < i1 <= 3")
    return pack_24_values(values), pack_24_metadata(i0, i1)


def pack_24_values(values):
    """The first half of :func:`pack_24`: the kept values (M, K/2) zero-padded to Kp/2
    columns (Kp: K rounded up to 32)."""
    xp = _xp(values)
    M, KC = values.shape
    padded = xp.zeros((M, -(-2 * KC // 32) * 16), dtype=values.dtype)
    padded[:, :KC] = values
    return padded


def pack_24_metadata(i0, i1):
    """The second half of :func:`pack_24`: the metadata words of the kept positions
    ``i0 < i1`` (M, K/4) each, unchecked. They depend on the positions alone, so a caller
    whose positions do not change may keep them (``minigrad.sparse``: ``frozen_meta``)."""
    xp = _xp(i0)
    M, G = i0.shape
    return _metadata_words(xp, i0, i1, M, -(-4 * G // 32) * 32)


def _metadata_words(xp, i0, i1, M, Kp):
    """The uint32 metadata (ceil(M/16), Kp/32, 16) of ``compress_24`` for kept positions
    ``i0 < i1`` of M rows by up to Kp/4 groups (missing groups and rows: PAD_NIBBLE)."""
    MT, KS = -(-M // 16), Kp // 32
    nibs = xp.full((MT * 16, Kp // 4), PAD_NIBBLE, dtype=xp.uint32)
    nibs[:M, :i0.shape[1]] = ((i1 << 2) | i0).astype(xp.uint32)
    # rows 16mt + 8h + g, groups 8ks + 4t + j  ->  word[mt, ks, 2g + t] bits 16h + 4j
    n6 = nibs.reshape(MT, 2, 8, KS, 2, 4)  # (mt, h, g, ks, t, j)
    shift = (16 * xp.arange(2, dtype=xp.uint32)[:, None] + 4 * xp.arange(4, dtype=xp.uint32))
    words = (n6 << shift[None, :, None, None, None, :]).sum(axis=(1, 5), dtype=xp.uint32)
    return xp.ascontiguousarray(words.transpose(0, 2, 1, 3).reshape(MT, KS, 16))


def decode_metadata(metadata, n_rows):
    r"""Kept positions ``(i0, i1)``, each (n_rows, Kp/4), read from the packed words the way
    the hardware reads them: lane ``4g + t`` (t = 0, 1) of each m16 x k32 block loads word
    ``2g + t`` and its nibble j of half h describes row ``g + 8h``, group ``4t + j``.
    Raises ``ValueError`` on an illegal (unordered) nibble."""
    xp = _xp(metadata)
    MT, KS, _ = metadata.shape
    lane = xp.arange(32)
    g, t = lane // 4, lane % 4
    holder = t < 2  # sparsity selector 0: lanes 4g, 4g+1 supply the metadata
    word = metadata[:, :, (2 * g + t)[holder]]  # (MT, KS, 16): what those lanes load
    h = xp.arange(2)[:, None]
    j = xp.arange(4)[None, :]
    nib = (word[..., None, None] >> (16 * h + 4 * j).astype(xp.uint32)) & 0xF  # (MT,KS,16,2,4)
    # lane (g, t) -> rows g + 8h, groups 4t + j; arrange as (MT, h, g, KS, t, j)
    nib = nib.reshape(MT, KS, 8, 2, 2, 4).transpose(0, 4, 2, 1, 3, 5)
    nib = nib.reshape(MT * 16, KS * 8)[:n_rows]
    i0, i1 = nib & 3, nib >> 2
    if bool((i0 >= i1).any()):
        raise ValueError("metadata holds an illegal 2:4 pattern (need i0 < i1 in every group)")
    return i0, i1


def decompress_24(values, metadata):
    """The dense (M, Kp) matrix that ``(values, metadata)`` encode, as float32."""
    xp = _xp(values)
    M, KC = values.shape
    i0, i1 = decode_metadata(metadata, M)
    v = values.astype(xp.float32).reshape(M, KC // 2, 2)
    pos = xp.arange(4)
    dense = (xp.where(i0[..., None] == pos, v[..., :1], 0)
             + xp.where(i1[..., None] == pos, v[..., 1:], 0)).astype(xp.float32)
    return dense.reshape(M, 2 * KC)


def mm_24(values, metadata, B, out=None, *, K=None):
    r"""C = W B for W given as ``compress_24(W)``, as ``mm24.cu`` computes it: W decoded from
    the metadata words lane by lane (``decode_metadata``), k in steps of 32 (one mma.sp each),
    products of each step added into fp32 accumulators in order. Output fp32 unless ``out``
    is given in the input type.

    Arguments are checked as the launcher checks them (``_validate.validate_mm24``), and
    beyond it the contents: every metadata nibble a legal 2:4 pattern, and W zero in the
    columns at and past B.shape[0] (``_validate.check_mm24_padding``). The packed format
    does not record W's width K, only Kp = round_up(K, 32), so B's rows are checked against
    it only up to that padding: a B short by rows that W multiplies by nonzeros is refused,
    a B with spare rows that meet W's zero padding is not. ``K`` (W's width before
    ``compress_24``) makes the check exact: B must have K rows (the launcher takes it too).
    """
    dt = validate_mm24("mm_24", values, metadata, B, out, K)
    dt = values.dtype if dt == values.dtype.name else np.dtype(np.float32)
    M, KC = values.shape
    Kp = 2 * KC
    K, N = B.shape
    W = decompress_24(values, metadata)
    check_mm24_padding("mm_24", W, K)
    Bp = np.zeros((Kp, N), dtype=np.float32)
    Bp[:K] = B.astype(np.float32)
    acc = np.zeros((M, N), dtype=np.float32)
    for k in range(0, Kp, 32):  # one mma.sp k32 step
        acc += W[:, k:k + 32] @ Bp[k:k + 32]
    return _finish(acc.astype(dt), out)


# --------------------------------------------------------------------------- im2col


def conv_geometry(x_shape, kernel, stride, padding, dilation, out_size):
    """The 14 ints of im2col.cu's ``Geometry``, (N, C, H, W, kh, kw, sh, sw, pt, pl, dh, dw,
    Ho, Wo), checked: sizes non-negative, kernel, stride and dilation positive."""
    N, C, H, W = (int(v) for v in x_shape)
    (kh, kw), (sh, sw), (pt, pl), (dh, dw), (Ho, Wo) = (
        tuple(int(v) for v in pair) for pair in (kernel, stride, padding, dilation, out_size))
    if min(N, C, H, W, Ho, Wo, pt, pl) < 0 or min(kh, kw, sh, sw, dh, dw) < 1:
        raise ValueError(f"im2col: bad geometry: image {tuple(x_shape)}, kernel {(kh, kw)}, "
                         f"stride {(sh, sw)}, padding {(pt, pl)}, dilation {(dh, dw)}, "
                         f"output {(Ho, Wo)}")
    return N, C, H, W, kh, kw, sh, sw, pt, pl, dh, dw, Ho, Wo


def _im2col_source(geometry, t):
    """For flat indices t of cols (K, N, P): the flat index into x (N, C, H, W) each reads
    and whether it lies inside the image (else the padding's zero); im2col.cu's arithmetic."""
    N, C, H, W, kh, kw, sh, sw, pt, pl, dh, dw, Ho, Wo = geometry
    wo, ho, n, j, i, c = _digits(t, Wo, Ho, N, kw, kh)
    h = ho * sh - pt + i * dh
    w = wo * sw - pl + j * dw
    inside = (h >= 0) & (h < H) & (w >= 0) & (w < W)
    return ((n * C + c) * H + h) * W + w, inside


def im2col(x, kernel, stride, padding, dilation, out_size):
    r"""cols (C·kh·kw, N, Ho·Wo) of a 2-D convolution of x (N, C, H, W), im2col.cu:
    cols[(c·kh + i)·kw + j, n, ho·Wo + wo] = x[n, c, ho·sh − pt + i·dh, wo·sw − pl + j·dw],
    zero where that falls in the padding (top ``pt``, left ``pl``; bottom and right are
    implied by ``out_size``). A GPU thread makes 16 bytes' worth of consecutive elements;
    here all at once."""
    g = conv_geometry(x.shape, kernel, stride, padding, dilation, out_size)
    N, C, H, W, kh, kw, sh, sw, pt, pl, dh, dw, Ho, Wo = g
    K, P = C * kh * kw, Ho * Wo
    t = np.arange(K * N * P, dtype=np.int64)
    src, inside = _im2col_source(g, t)
    cols = np.zeros(K * N * P, dtype=x.dtype)
    cols[inside] = np.ascontiguousarray(x).reshape(-1)[src[inside]]
    return cols.reshape(K, N, P)


def col2im(gcols, x_shape, kernel, stride, padding, dilation, out_size):
    r"""gx (N, C, H, W), the adjoint of :func:`im2col` applied to gcols laid out
    (N, C·kh·kw, Ho·Wo), im2col.cu's gather: each element of gx sums, over the kernel
    offsets (i, j) in row-major order, the gcols entry of the output pixel whose receptive
    field puts offset (i, j) on it (if any), in float32 (float64 for float64), rounded once."""
    g = conv_geometry(x_shape, kernel, stride, padding, dilation, out_size)
    N, C, H, W, kh, kw, sh, sw, pt, pl, dh, dw, Ho, Wo = g
    K, P = C * kh * kw, Ho * Wo
    if gcols.shape != (N, K, P):
        raise ValueError(f"col2im: gcols must have shape {(N, K, P)}, got {gcols.shape}")
    A = acc_dtype(gcols.dtype)
    w, h, c, n = _digits(np.arange(N * C * H * W, dtype=np.int64), W, H, C)
    flat = np.ascontiguousarray(gcols).reshape(-1)
    acc = np.zeros(w.shape, dtype=A)
    for i in range(kh):
        hs = h + pt - i * dh
        ho = hs // sh
        h_ok = (hs >= 0) & (hs % sh == 0) & (ho < Ho)
        for j in range(kw):
            ws = w + pl - j * dw
            wo = ws // sw
            ok = h_ok & (ws >= 0) & (ws % sw == 0) & (wo < Wo)
            k = (c * kh + i) * kw + j
            idx = (n * K + k) * P + ho * Wo + wo
            acc[ok] += flat[idx[ok]].astype(A)
    return acc.astype(gcols.dtype).reshape(N, C, H, W)


# ---------------------------------------------------------------------- batch norm

BN_THREADS = 256
BN_VALUES_PER_BLOCK = 16 * BN_THREADS  # how many values of a channel a block takes on


def bn_blocks(N, L) -> int:
    """S, the blocks per channel of batchnorm.cu: about BN_VALUES_PER_BLOCK values each,
    1 to 256."""
    M = N * L
    return max(1, min(256, -(-M // BN_VALUES_PER_BLOCK)))


def _bn_block_sum(seg):
    """batchnorm.cu's sum of one block's values ``seg`` (C, n), per channel: thread t adds
    the values t, t + 256, ... in order, then the 256 thread sums meet in a tree."""
    C, n = seg.shape
    T = BN_THREADS
    K = -(-n // T)
    padded = np.zeros((C, K * T), dtype=seg.dtype)  # + 0 changes no sum
    padded[:, :n] = seg
    threads = np.zeros((C, T), dtype=seg.dtype)
    for row in padded.reshape(C, K, T).transpose(1, 0, 2):  # thread order
        threads += row
    stride = T // 2
    while stride:
        threads[:, :stride] += threads[:, stride:2 * stride]
        stride //= 2
    return threads[:, 0]


def bn_channel_sums(mode, x, xhat=None, mean=None, eps=0.0, blocks=None):
    r"""batchnorm.cu's per-channel sums of x (N, C, L), with its split and summation order:

    * mode 0: (mean,) with mean[c] = Σ x / M (M = N·L)
    * mode 1: (var, inv) with var[c] = Σ (x − mean[c])² / M, inv = 1/√(var + eps)
    * mode 2: (s1, s2) with s1[c] = Σ x, s2[c] = Σ x·xhat   (x: the incoming gradient)
    * mode 3: (mean, var, inv) in one pass of blocks: each block's mean m_b and
      M2_b = Σ (x − m_b)² over its values, merged in block order (Chan et al.; see
      batchnorm.cu)

    Block s of channel c sums the values e in [s·chunk, (s+1)·chunk) of the channel (e =
    n·L + l); its thread t the values start + t, start + t + 256, ... in order; the 256
    thread sums meet in a tree; the S partials are added in order. All in the accumulation
    dtype (float32, or float64 for float64), products rounded before they are added."""
    if mode not in (0, 1, 2, 3):
        raise ValueError(f"bn_channel_sums: mode must be 0, 1, 2 or 3, got {mode!r}")
    if x.ndim != 3:
        raise ValueError(f"bn_channel_sums: x must be (N, C, L), got shape {x.shape}")
    N, C, L = x.shape
    M = N * L
    S = blocks or bn_blocks(N, L)
    A = acc_dtype(x.dtype)
    v = np.ascontiguousarray(x.transpose(1, 0, 2)).reshape(C, M).astype(A)
    chunk = -(-M // S)
    blocks_of = [(s * chunk, min(M, (s + 1) * chunk)) for s in range(S)]
    if mode == 3:
        n, mu, m2 = 0, np.zeros(C, dtype=A), np.zeros(C, dtype=A)
        for lo, hi in blocks_of:
            if hi <= lo:
                continue
            seg = v[:, lo:hi]
            mb = _bn_block_sum(seg) / A.type(hi - lo)
            d = seg - mb[:, None]
            m2b = _bn_block_sum(d * d)
            nn = n + (hi - lo)
            delta = mb - mu
            w = A.type(hi - lo) / A.type(nn)
            mu = mu + delta * w
            m2 = (m2 + m2b) + (delta * delta) * (A.type(n) * w)
            n = nn
        var = m2 / A.type(M)
        return mu, var, A.type(1) / np.sqrt(var + A.type(eps))
    if mode == 1:
        d = v - np.asarray(mean, dtype=A).reshape(C, 1)
        terms = [d * d]
    elif mode == 2:
        w = np.ascontiguousarray(np.asarray(xhat, dtype=A).transpose(1, 0, 2)).reshape(C, M)
        terms = [v, v * w]
    else:
        terms = [v]
    totals = []
    for term in terms:
        total = np.zeros(C, dtype=A)
        for lo, hi in blocks_of:
            total += _bn_block_sum(term[:, lo:hi])
        totals.append(total)
    if mode == 0:
        return (totals[0] / A.type(M),)
    if mode == 1:
        var = totals[0] / A.type(M)
        return var, A.type(1) / np.sqrt(var + A.type(eps))
    return totals[0], totals[1]


# -------------------------------------------------------------------------------- Philox

PHILOX_M = (0xD2511F53, 0xCD9E8D57)  # round multipliers M0, M1
PHILOX_W = (0x9E3779B9, 0xBB67AE85)  # key bumps W0, W1
# Values of a draw written per Philox block, and their dtype, by kernel (philox_<kind> in
# philox.cu).
PHILOX_PER_BLOCK = {"uniform_f32": 4, "uniform_f64": 2, "normal_f32": 4, "normal_f64": 2,
                    "below_u64": 2, "bits_u64": 2}
PHILOX_DTYPES = {"uniform_f32": np.float32, "uniform_f64": np.float64, "normal_f32": np.float32,
                 "normal_f64": np.float64, "below_u64": np.uint64, "bits_u64": np.uint64}
_M32 = 0xFFFFFFFF


def philox_check(kind: str, seed: int, offset: int, range_: int | None) -> int:
    """Check a draw's arguments (the kernel launcher and the twin both call this); return
    P, the values per block of ``kind``."""
    if kind not in PHILOX_PER_BLOCK:
        raise ValueError(f"unknown Philox kind {kind!r}; expected one of "
                         f"{sorted(PHILOX_PER_BLOCK)}")
    if not (0 <= seed < 2 ** 64 and 0 <= offset < 2 ** 64):
        raise ValueError(f"seed and offset must lie in [0, 2**64), got {seed} and {offset}")
    if kind == "below_u64" and (range_ is None or not 1 <= range_ < 2 ** 64):
        raise ValueError(f"below_u64 needs 1 <= range_ < 2**64, got {range_}")
    return PHILOX_PER_BLOCK[kind]


def philox4x32_10(counter, key):
    r"""Philox4x32-10 of ``counter`` (..., 4) and ``key`` (..., 2), both uint32 (NumPy or
    CuPy): the four output words (..., 4) uint32. Ten rounds of
    ``(hi0, lo0) = M0·c0, (hi1, lo1) = M1·c2, c = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)``,
    the key bumped by (W0, W1) before every round but the first (Salmon et al., SC'11)."""
    xp = _xp(counter)
    u64 = xp.uint64
    c0, c1, c2, c3 = (counter[..., j].astype(u64) for j in range(4))
    k0, k1 = key[..., 0].astype(u64), key[..., 1].astype(u64)
    m0, m1, mask = u64(PHILOX_M[0]), u64(PHILOX_M[1]), u64(_M32)
    for rnd in range(10):
        if rnd:
            k0 = (k0 + u64(PHILOX_W[0])) & mask
            k1 = (k1 + u64(PHILOX_W[1])) & mask
        p0, p1 = m0 * c0, m1 * c2  # exact: both factors below 2^32
        c0, c1, c2, c3 = (p1 >> u64(32)) ^ c1 ^ k0, p1 & mask, (p0 >> u64(32)) ^ c3 ^ k1, p0 & mask
    return xp.stack([c0, c1, c2, c3], axis=-1).astype(xp.uint32)


def philox_blocks(n_blocks: int, seed: int, offset: int, xp=np):
    """Blocks ``offset .. offset + n_blocks - 1`` of the stream keyed by ``seed``: (n_blocks, 4)
    uint32, block b = philox4x32_10(counter (b mod 2^32, b >> 32, 0, 0), key (seed mod 2^32,
    seed >> 32)). ``seed`` and ``offset`` are integers in [0, 2^64)."""
    b = xp.arange(n_blocks, dtype=xp.uint64) + xp.uint64(offset)
    zero = xp.zeros_like(b)
    counter = xp.stack([b & xp.uint64(_M32), b >> xp.uint64(32), zero, zero], axis=-1)
    key = xp.asarray(np.array([seed & _M32, seed >> 32], dtype=np.uint32))
    return philox4x32_10(counter.astype(xp.uint32), xp.broadcast_to(key, (n_blocks, 2)))


def _uniform_f32(w):
    return (w >> 8).astype(np.float32) * np.float32(2.0 ** -24)


def _uniform_f64(hi, lo):
    xp = _xp(hi)
    k = ((hi >> 5).astype(xp.uint64) << xp.uint64(26)) | (lo >> 6).astype(xp.uint64)
    return k.astype(np.float64) * 2.0 ** -53


def _bits_u64(hi, lo):
    xp = _xp(hi)
    return (hi.astype(xp.uint64) << xp.uint64(32)) | lo.astype(xp.uint64)


def _mulhi_u64(a, b):
    """floor(a·b / 2^64) for uint64 arrays, from 32-bit halves (NumPy has no 128-bit ints)."""
    xp = _xp(a)
    s, mask = xp.uint64(32), xp.uint64(_M32)
    a_hi, a_lo, b_hi, b_lo = a >> s, a & mask, b >> s, b & mask
    t = a_hi * b_lo + ((a_lo * b_lo) >> s)   # < 2^64
    u = (t & mask) + a_lo * b_hi             # < 2^64
    return a_hi * b_hi + (t >> s) + (u >> s)


def _box_muller_f32(a, b):
    u1 = a.astype(np.float32) * np.float32(2.0 ** -32) + np.float32(2.0 ** -33)  # (0, 1]
    u2 = _uniform_f32(b)
    xp = _xp(a)
    r = xp.sqrt(np.float32(-2.0) * xp.log(u1))
    theta = np.float32(2 * np.pi) * u2
    return r * xp.cos(theta), r * xp.sin(theta)


def _box_muller_f64(a0, a1, b0, b1):
    u1 = 1.0 - _uniform_f64(a0, a1)  # (0, 1]
    u2 = _uniform_f64(b0, b1)
    xp = _xp(a0)
    r = xp.sqrt(-2.0 * xp.log(u1))
    theta = 2 * np.pi * u2
    return r * xp.cos(theta), r * xp.sin(theta)


def philox_fill(kind: str, n: int, seed: int, offset: int, range_: int | None = None, xp=np):
    r"""The ``n`` values kernel ``philox_<kind>`` of ``philox.cu`` writes for the draw
    (``seed``, ``offset``): block i of the draw gives values [P·i, P·i + P)
    (P = ``PHILOX_PER_BLOCK[kind]``), the last block cut at n. ``range_`` (1 to 2^64 - 1) is
    the exclusive bound of ``below_u64``. Every value equals the kernel's bit for bit except
    the normals, whose log/cos/sin come from another math library (a few ulp)."""
    P = philox_check(kind, seed, offset, range_)
    w = philox_blocks(-(-n // P), seed, offset, xp)
    w0, w1, w2, w3 = (w[:, j] for j in range(4))
    if kind == "uniform_f32":
        v = _uniform_f32(w)
    elif kind == "uniform_f64":
        v = xp.stack([_uniform_f64(w0, w1), _uniform_f64(w2, w3)], axis=-1)
    elif kind == "normal_f32":
        v = xp.stack([*_box_muller_f32(w0, w1), *_box_muller_f32(w2, w3)], axis=-1)
    elif kind == "normal_f64":
        v = xp.stack(_box_muller_f64(w0, w1, w2, w3), axis=-1)
    elif kind == "below_u64":
        bound = xp.uint64(range_)
        v = xp.stack([_mulhi_u64(_bits_u64(w0, w1), bound),
                      _mulhi_u64(_bits_u64(w2, w3), bound)], axis=-1)
    else:  # bits_u64
        v = xp.stack([_bits_u64(w0, w1), _bits_u64(w2, w3)], axis=-1)
    return v.reshape(-1)[:n]


# ------------------------------------------------------------- spmv_floor.cu (benchmark)
SPMV_FLOOR_UNROLL = 4  # FLOOR_UNROLL of spmv_floor.cu: 16-byte chunks a thread


def spmv_floor_grid(nnz: int) -> int:
    """Blocks of spmv_floor.cu: each of 256 threads takes SPMV_FLOOR_UNROLL 16-byte chunks
    (4 nonzeros each)."""
    return max(1, -(-(nnz // 4) // (256 * SPMV_FLOOR_UNROLL)))


def spmv_floor(indices, data, x):
    """``spmv_floor.cu``'s per-block sums in float64: block b adds data[k] * x[indices[k]]
    over its chunks c = (b U + u) 256 + t (u < U = SPMV_FLOOR_UNROLL, t < 256), i.e. the
    nonzeros 4c .. 4c + 3, and block 0 also the nnz % 4 last ones."""
    indices, data, x = np.asarray(indices), np.asarray(data), np.asarray(x)
    nnz = data.size
    prod = data.astype(np.float64) * x.astype(np.float64)[indices]
    out = np.zeros(spmv_floor_grid(nnz))
    per_block = 4 * 256 * SPMV_FLOOR_UNROLL
    body = nnz // 4 * 4
    np.add.at(out, np.arange(body) // per_block, prod[:body])
    out[0] += prod[body:].sum()
    return out
