"""CPU checks of the SpMV / SpMM NumPy models (minigrad.kernels.reference).

They must reproduce the dense float64 product, and the vectorised models must equal a
literal, loop-by-loop transcription of the CUDA code (same operations in the same order, so
bit for bit in the value type).
"""
import numpy as np
import pytest
from minigrad.kernels import reference as ref

from .kernels_testdata import (
    dense_of,
    power_law_lengths,
    random_csr,
    regular_lengths,
    rel_err,
)

TOL = {np.float32: 1e-5, np.float64: 1e-12}


def _cases(rng, dtype):
    yield "regular", (503, 611, regular_lengths(rng, 503, 24))
    yield "long-rows", (97, 3000, regular_lengths(rng, 97, 700))
    yield "power-law", (800, 2000, power_law_lengths(rng, 800, 2000))
    lengths = regular_lengths(rng, 300, 9)
    lengths[::3] = 0
    yield "empty-rows", (300, 77, lengths)
    yield "all-empty", (40, 10, np.zeros(40, int))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_spmv_models_match_dense(rng, dtype):
    for name, (n_rows, n_cols, lengths) in _cases(rng, dtype):
        indptr, indices, data = random_csr(rng, n_rows, n_cols, lengths, dtype)
        x = rng.uniform(-1, 1, n_cols).astype(dtype)
        want = dense_of(indptr, indices, data, n_cols) @ x.astype(np.float64)
        outs = {
            "vector": ref.spmv_csr_vector(indptr, indices, data, x),
            "vector-scalar": ref.spmv_csr_vector(indptr, indices, data, x, vectorized=False),
            "merge": ref.spmv_csr_merge(indptr, indices, data, x),
            "merge-small-tiles": ref.spmv_csr_merge(indptr, indices, data, x, threads=32,
                                                    items_per_thread=3),
            "auto": ref.spmv_csr(indptr, indices, data, x),
        }
        for G in (2, 4, 8, 16, 32):
            outs[f"vector-G{G}"] = ref.spmv_csr_vector(indptr, indices, data, x,
                                                       threads_per_row=G)
        for label, y in outs.items():
            assert y.dtype == dtype and y.shape == (n_rows,)
            if np.linalg.norm(want) == 0:
                assert np.all(y == 0), (name, label)
            else:
                assert rel_err(y, want) < TOL[dtype], (name, label, rel_err(y, want))


def _vector_kernel_transcription(indptr, indices, data, x, G, V, R=1):
    """spmv_csr.cu, line by line, for one lane at a time (slow, literal): the launch's
    blocks and groups of G lanes, each owning R consecutive rows (SPMV_ROWS)."""
    T = data.dtype.type
    n_rows = len(indptr) - 1
    y = np.full(n_rows, np.nan, dtype=data.dtype)
    written = np.zeros(n_rows, dtype=int)
    groups = [(blk * (ref.SPMV_BLOCK // G) + g) * R
              for blk in range(ref.spmv_vector_grid(n_rows, G, R))
              for g in range(ref.SPMV_BLOCK // G)]
    for first in groups:
        if first >= n_rows:
            continue  # the whole group returns
        p = [int(indptr[min(first + i, n_rows)]) for i in range(R + 1)]
        for i in range(R):
            _transcribed_row(y, written, first + i, p[i], p[i + 1], indices, data, x, G, V, T)
    assert np.all(written == 1), "every row written exactly once"
    return y


def _transcribed_row(y, written, row, s, e, indices, data, x, G, V, T):
    """One row as the kernel sums it: G lanes' partial sums, then the shuffle tree."""
    lanes = []
    for lane in range(G):
        acc = T(0)
        if V > 1:
            a = min(e, (s + V - 1) // V * V)
            b = max(a, e // V * V)
            for k in range(s + lane, a, G):
                acc = T(acc + T(data[k] * x[indices[k]]))
            for c in range(a // V + lane, b // V, G):
                for q in range(V):
                    k = c * V + q
                    acc = T(acc + T(data[k] * x[indices[k]]))
            for k in range(b + lane, e, G):
                acc = T(acc + T(data[k] * x[indices[k]]))
        else:
            for k in range(s + lane, e, G):
                acc = T(acc + T(data[k] * x[indices[k]]))
        lanes.append(acc)
    off = G // 2
    while off:  # __shfl_down_sync(mask, sum, off, G)
        lanes = [T(lanes[i] + lanes[i + off]) if i + off < G else lanes[i] for i in range(G)]
        off //= 2
    if row < len(y):  # lane 0, rows past the end not stored
        y[row] = lanes[0]
        written[row] += 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("G", [2, 8, 32])
@pytest.mark.parametrize("vectorized", [True, False])
@pytest.mark.parametrize("R", ref.SPMV_ROWS_PER_GROUP)
def test_vector_model_is_the_kernel_order(rng, dtype, G, vectorized, R):
    """Rows per group (SPMV_ROWS) change which group sums a row, never how: the one model
    holds for every R, and the launch covers each row once (61 rows: ragged for every R)."""
    indptr, indices, data = random_csr(rng, 61, 200, rng.integers(0, 90, 61), dtype)
    x = rng.uniform(-1, 1, 200).astype(dtype)
    V = 16 // np.dtype(dtype).itemsize if vectorized else 1
    want = _vector_kernel_transcription(indptr, indices, data, x, G, V, R)
    got = ref.spmv_csr_vector(indptr, indices, data, x, threads_per_row=G, vectorized=vectorized)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("R", ref.SPMV_ROWS_PER_GROUP)
@pytest.mark.parametrize("G", [2, 4, 8, 16, 32])
def test_vector_grid_covers_the_rows_once(G, R):
    per_block = ref.SPMV_BLOCK // G * R
    for n_rows in (1, per_block - 1, per_block, per_block + 1, 10 * per_block + 3):
        grid = ref.spmv_vector_grid(n_rows, G, R)
        assert (grid - 1) * per_block < n_rows <= grid * per_block


def _persistent_walk(n_rows, G, R, grid):
    """spmv_csr_vector_pipe's row loop (SPMV_PIPE=1), literally, group by group: yields
    (block, group of the block, step, first) for every group at every step its warp runs.
    ``first`` may be past the end (the group then sums empty rows and stores nothing)."""
    groups = ref.SPMV_BLOCK // G
    stride = grid * groups * R
    for blk in range(grid):
        for g in range(groups):
            first = (blk * groups + g) * R
            wfirst = (blk * groups + g // (32 // G) * (32 // G)) * R  # the warp's first group
            step = 0
            while wfirst < n_rows:  # `if (wfirst >= n_rows) return;` then the loop
                yield blk, g, step, first
                wfirst += stride
                first += stride
                step += 1


def _pipelined_kernel_transcription(indptr, indices, data, x, G, V, R, grid):
    """spmv_csr.cu with SPMV_PIPE=1, line by line: each group's steps of the persistent walk,
    each row summed as the kernel sums it (RowPass, the shuffle tree)."""
    T = data.dtype.type
    n_rows = len(indptr) - 1
    y = np.full(n_rows, np.nan, dtype=data.dtype)
    written = np.zeros(n_rows, dtype=int)
    for _, _, _, first in _persistent_walk(n_rows, G, R, grid):
        p = [int(indptr[min(first + i, n_rows)]) for i in range(R + 1)]
        for i in range(R):
            _transcribed_row(y, written, first + i, p[i], p[i + 1], indices, data, x, G, V, T)
    assert np.all(written == 1), "every row written exactly once"
    return y


@pytest.mark.parametrize("R", [1, 2])
@pytest.mark.parametrize("G", [2, 4, 32])
def test_persistent_walk_visits_every_row_once(G, R):
    """Row r is summed once, by global group (r mod stride) // R at step r // stride, for
    row counts from 0 to many steps' worth and grids from one block to more than the rows
    need (a warp with no row leaves at once; the launcher never launches such blocks)."""
    groups = ref.SPMV_BLOCK // G
    for n_rows in (0, 1, 2, 7, 61, 1000, 4099, 20_011):
        needed = ref.spmv_vector_grid(n_rows, G, R)
        for grid in sorted({1, 2, 3, 7, max(needed, 1), needed + 2}):
            stride = grid * groups * R
            rows, group, step = [], [], []
            for blk, g, j, first in _persistent_walk(n_rows, G, R, grid):
                for i in range(R):
                    if first + i < n_rows:  # rows past the end are not stored
                        rows.append(first + i)
                        group.append(blk * groups + g)
                        step.append(j)
            rows = np.asarray(rows, dtype=np.int64)
            np.testing.assert_array_equal(np.sort(rows), np.arange(n_rows))
            np.testing.assert_array_equal(group, rows % stride // R)
            np.testing.assert_array_equal(step, rows // stride)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("G", [2, 8, 32])
@pytest.mark.parametrize("R", [1, 2])
@pytest.mark.parametrize("grid", [1, 2, None])
def test_pipelined_kernel_is_the_model(rng, dtype, G, R, grid):
    """The persistent, pipelined schedule sums each row as the one-step kernel does: the model
    holds bit for bit whatever the grid (None: as many blocks as the rows need)."""
    n_rows = 500  # G = 2: 4 or 2 blocks' worth of rows (R = 1, 2); G = 32: 63 or 32
    indptr, indices, data = random_csr(rng, n_rows, 200, rng.integers(0, 40, n_rows), dtype)
    x = rng.uniform(-1, 1, 200).astype(dtype)
    V = 16 // np.dtype(dtype).itemsize
    grid = grid or ref.spmv_vector_grid(n_rows, G, R)
    want = _pipelined_kernel_transcription(indptr, indices, data, x, G, V, R, grid)
    got = ref.spmv_csr_vector(indptr, indices, data, x, threads_per_row=G)
    np.testing.assert_array_equal(got, want)


def test_persistent_grid_is_the_resident_blocks_or_fewer():
    # An H200 (132 SMs) at 4 blocks an SM: 528 blocks for 1M rows (15625 needed at G = 4).
    assert ref.spmv_persistent_grid(1_000_000, 4, 1, 132, 4) == 528
    assert ref.spmv_persistent_grid(100, 4, 1, 132, 4) == 2  # 64 rows a block
    assert ref.spmv_persistent_grid(0, 4, 1, 132, 4) == 0
    for G in (2, 4, 8, 16, 32):
        for R in (1, 2):
            for n_rows in (1, 255, 5000, 123_457, 2_000_000):
                for sms, per_sm in ((132, 4), (108, 2), (4, 8), (1, 1)):
                    needed = ref.spmv_vector_grid(n_rows, G, R)
                    assert ref.spmv_persistent_grid(n_rows, G, R, sms, per_sm) == min(
                        needed, sms * per_sm)


def _sequential_merge(row_end, nnz):
    """The merge path walked step by step: coordinate (row, nonzero) after each step."""
    coords, i, j = [(0, 0)], 0, 0
    while i < len(row_end) or j < nnz:
        if i < len(row_end) and not (j < nnz and j < row_end[i]):
            i += 1
        else:
            j += 1
        coords.append((i, j))
    return coords


def test_merge_path_search_matches_walk(rng):
    for lengths in ([3, 0, 0, 5, 1], [0, 0, 0], [7], regular_lengths(rng, 50, 4),
                    power_law_lengths(rng, 60, 500)):
        row_end = np.cumsum(lengths)
        nnz = int(row_end[-1])
        coords = _sequential_merge(row_end, nnz)
        d = np.arange(len(coords))
        rows = ref.merge_path_search(d, row_end, nnz)
        assert [(int(r), int(dd - r)) for r, dd in zip(rows, d)] == coords


def test_choose_method():
    regular = np.concatenate([[0], np.cumsum(np.full(1000, 30))])
    short = np.concatenate([[0], np.cumsum(np.full(1000, 12))])
    assert ref.choose_spmv_method(short) == "vector"
    assert ref.choose_spmv_method(regular) == "merge"  # mean >= MERGE_MIN_MEAN
    skewed = np.concatenate([[0], np.cumsum([5] * 999 + [5000])])
    assert ref.choose_spmv_method(skewed) == "merge"
    assert ref.choose_spmv_method(np.array([0])) == "vector"
    # the longest row is read only when the mean is short (a device sync on a GPU)
    assert ref.spmv_method_for(30_000, 1000, lambda: 1 / 0) == "merge"
    assert ref.spmv_method_for(12_000, 1000, lambda: 12) == "vector"
    assert ref.spmv_threads_per_row(regular, np.float32) == 8  # 8 lanes x 4 floats >= 30
    assert ref.spmv_threads_per_row(regular, np.float64) == 16


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_spmm_model_matches_dense(rng, dtype):
    for name, (n_rows, n_cols, lengths) in _cases(rng, dtype):
        indptr, indices, data = random_csr(rng, n_rows, n_cols, lengths, dtype)
        for N in (1, 7, 130):
            B = rng.uniform(-1, 1, (n_cols, N)).astype(dtype)
            want = dense_of(indptr, indices, data, n_cols) @ B.astype(np.float64)
            C = ref.spmm_csr(indptr, indices, data, B)
            assert C.shape == (n_rows, N) and C.dtype == dtype
            if np.linalg.norm(want):
                assert rel_err(C, want) < TOL[dtype], (name, N)


def test_out_argument_is_filled(rng):
    indptr, indices, data = random_csr(rng, 20, 30, regular_lengths(rng, 20, 5))
    x = rng.uniform(-1, 1, 30).astype(np.float32)
    out = np.full(20, np.nan, np.float32)
    assert ref.spmv_csr(indptr, indices, data, x, out=out) is out
    assert not np.isnan(out).any()
    with pytest.raises(ValueError, match="method"):
        ref.spmv_csr(indptr, indices, data, x, method="magic")


# ---------------------------------------------------------- CSR-stream (spmv_csr_stream.cu)


def _stream_cases(rng):
    """(n_rows, n_cols, lengths): short rows over many blocks, empty rows (leading, inside,
    trailing), nnz an exact multiple of STREAM_NNZ, rows as long as a block's share, and a
    row longer than STREAM_CAP (its block is not staged)."""
    yield 5000, 300, rng.integers(8, 25, 5000)
    lengths = rng.integers(0, 12, 3000)
    lengths[:5] = 0
    lengths[-40:] = 0
    lengths[100:400] = 0
    yield 3000, 50, lengths
    yield 2048, 64, np.full(2048, 8)  # nnz = 16 * STREAM_NNZ: trailing rows start at nnz
    yield 40, 100, np.full(40, ref.STREAM_NNZ)
    lengths = rng.integers(1, 30, 600)
    lengths[300] = 3 * ref.STREAM_NNZ + 5
    yield 600, 4000, lengths
    yield 1, 10, np.array([0])
    yield 30, 10, np.zeros(30, int)


@pytest.mark.parametrize("NNZ", ref.STREAM_NNZ_CHOICES)
def test_stream_row_blocks_partition_the_rows(NNZ):
    """Block b owns exactly the rows whose first nonzero index is in [b·NNZ, (b+1)·NNZ) (the
    last block also the rows starting at nnz): every row once, in order, and a block's run
    of nonzeros is under NNZ plus its longest row."""
    rng = np.random.default_rng(7)
    for n_rows, _, lengths in _stream_cases(rng):
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
        nnz = int(indptr[-1])
        rb, nb = ref.spmv_stream_partition(indptr, nnz, np, NNZ)
        np.testing.assert_array_equal(rb, ref.spmv_stream_row_blocks(indptr, nnz, np, NNZ))
        np.testing.assert_array_equal(nb, indptr[rb])  # where each block's nonzeros start
        assert nb.dtype == np.int32 and nb[-1] == nnz
        n_blocks = max(1, -(-nnz // NNZ))
        assert rb.dtype == np.int32 and len(rb) == n_blocks + 1
        assert rb[0] == 0 and rb[-1] == n_rows and np.all(np.diff(rb) >= 0)
        owner = np.repeat(np.arange(n_blocks), np.diff(rb))
        assert len(owner) == n_rows  # every row in exactly one block
        want = np.minimum(indptr[:-1] // NNZ, n_blocks - 1)
        np.testing.assert_array_equal(owner, want)
        for b in range(n_blocks):
            r0, r1 = rb[b], rb[b + 1]
            run = int(indptr[r1] - indptr[r0])
            longest = int(lengths[r0:r1].max(initial=0))
            assert run < NNZ + longest or run == 0, (b, run, longest)


def _stream_kernel_transcription(indptr, indices, data, x, G, NNZ=ref.STREAM_NNZ):
    """spmv_csr_stream.cu line by line: each block's run staged as products (or not, past
    STREAM_CAP = 2·NNZ), a thread's first ITEMS = NNZ/256 + 1 at once and any others one at
    a time, then its rows summed 256/G at a time by G lanes and the shuffle tree."""
    T = data.dtype.type
    n_rows = len(indptr) - 1
    y = np.full(n_rows, np.nan, dtype=data.dtype)
    written = np.zeros(n_rows, dtype=int)
    rb, nb = ref.spmv_stream_partition(indptr, int(indptr[-1]), np, NNZ)
    cap = 2 * NNZ
    items = NNZ // ref.STREAM_THREADS + 1
    for b in range(len(rb) - 1):
        r0, r1 = int(rb[b]), int(rb[b + 1])
        s, e = int(nb[b]), int(nb[b + 1])
        staged = e - s <= cap
        prod = np.full(cap, np.nan, dtype=data.dtype)
        if staged:
            for t in range(ref.STREAM_THREADS):
                ks = [s + t + i * ref.STREAM_THREADS for i in range(items)]
                col = [indices[k] if k < e else 0 for k in ks]   # every load first,
                val = [data[k] if k < e else T(0) for k in ks]
                for i, k in enumerate(ks):                       # then every gather
                    if k < e:
                        prod[k - s] = T(val[i] * x[col[i]])
                for k in range(s + t + items * ref.STREAM_THREADS, e, ref.STREAM_THREADS):
                    prod[k - s] = T(data[k] * x[indices[k]])
        rows_at_a_time = ref.STREAM_THREADS // G
        for base in range(r0, r1, rows_at_a_time):
            for group in range(rows_at_a_time):
                r = base + group
                lanes = np.zeros(G, dtype=data.dtype)
                if r < r1:
                    a, bb = int(indptr[r]), int(indptr[r + 1])
                    for lane in range(G):
                        acc = T(0)
                        for k in range(a + lane, bb, G):
                            acc = T(acc + (prod[k - s] if staged else T(data[k] * x[indices[k]])))
                        lanes[lane] = acc
                off = G // 2
                while off:  # __shfl_down_sync at G/2, ..., 1: lane 0's chain
                    lanes[:off] = lanes[:off] + lanes[off:2 * off]
                    off //= 2
                if r < r1:
                    y[r] = lanes[0]
                    written[r] += 1
    assert np.all(written == 1), "every row written exactly once"
    return y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("G,NNZ", [(2, 1024), (4, 1024), (32, 1024), (4, 256), (8, 2048)])
def test_stream_kernel_is_the_model(dtype, G, NNZ):
    """The transcription equals reference.spmv_csr_stream bit for bit (which is the scalar
    CSR-vector order) at every STREAM_NNZ, staged blocks and unstaged ones alike, and the
    dense product to rounding."""
    rng = np.random.default_rng(G)
    for n_rows, n_cols, lengths in _stream_cases(rng):
        if lengths.sum() > 40_000 and (G, NNZ) != (4, 1024):
            continue  # the transcription is slow; the large cases once
        indptr, indices, data = random_csr(rng, n_rows, n_cols, lengths, dtype)
        x = rng.uniform(-1, 1, n_cols).astype(dtype)
        got = ref.spmv_csr_stream(indptr, indices, data, x, threads_per_row=G)
        np.testing.assert_array_equal(got, _stream_kernel_transcription(indptr, indices, data,
                                                                        x, G, NNZ))
        np.testing.assert_array_equal(got, ref.spmv_csr_vector(indptr, indices, data, x,
                                                               threads_per_row=G,
                                                               vectorized=False))
        want = dense_of(indptr, indices, data, n_cols) @ x.astype(np.float64)
        assert rel_err(got, want) < TOL[dtype]
