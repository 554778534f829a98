"""Every public kernel against float64 products (relative-norm error: fp32 < 1e-5, fp16
inputs with fp32 accumulation < 1e-3, fp16 outputs < 5e-3), with outputs prefilled with NaN,
fresh random data, ragged sizes, and the vendor path (use_vendor) giving the same numbers.

Each test runs on a real GPU (``python -m pytest -m gpu tests/kernels``) and on the CPU: the
``cp`` fixture's "host" half executes the same launchers with the kernels' CUDA text
compiled as host C++ (tests/kernels/cuda_host.py: SpMV, SpMM, hgemm.cu / mm24.cu with
cp.async, ldmatrix, mma.sync and mma.sp modelled, and hgemm_wmma.cu with CUDA's WMMA API
modelled; the vendor there is SciPy, or NumPy's matmul). ``CUDA_ONLY`` tests take the GPU
only: the mma throughput benchmark, and a size the host would take minutes on."""
import minigrad.kernels as K
import numpy as np
import pytest
from minigrad.kernels import _cuda
from minigrad.kernels import reference as ref

from .conftest import CUDA_ONLY, on_host
from .kernels_testdata import (
    dense_of,
    power_law_lengths,
    random_24,
    random_csr,
    regular_lengths,
    rel_err,
)

TOL_SP = {np.float32: 1e-5, np.float64: 1e-12}
TOL_TC32, TOL_TC16 = 1e-3, 5e-3


def _sparse_case(rng, kind, dtype, cp):
    """(n_rows, n_cols, CSR) of each kind; on the host (``cp``) the power-law rows are
    capped at 600 nonzeros rather than 4000 (SpMM's warp shuffles each nonzero to 32 lanes,
    one fiber switch apiece there)."""
    if kind == "regular":
        n_rows, n_cols, lengths = 2003, 3001, regular_lengths(rng, 2003, 30)
    elif kind == "long-rows":
        n_rows, n_cols, lengths = 67, 5000, regular_lengths(rng, 67, 2000)
    elif kind == "power-law":
        n_rows, n_cols = 3000, 600 if on_host(cp) else 4000
        lengths = power_law_lengths(rng, n_rows, n_cols)
    elif kind == "empty-rows":
        n_rows, n_cols, lengths = 1000, 300, regular_lengths(rng, 1000, 6)
        lengths[rng.random(1000) < 0.4] = 0
    else:
        raise ValueError(kind)
    return n_rows, n_cols, random_csr(rng, n_rows, n_cols, lengths, dtype)


KINDS = ["regular", "long-rows", "power-law", "empty-rows"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["vector", "merge", None])
def test_spmv(cp, rng, dtype, kind, method):
    n_rows, n_cols, (indptr, indices, data) = _sparse_case(rng, kind, dtype, cp)
    x = rng.uniform(-1, 1, n_cols).astype(dtype)
    want = dense_of(indptr, indices, data, n_cols) @ x.astype(np.float64)
    d = [cp.asarray(a) for a in (indptr, indices, data, x)]
    out = cp.full(n_rows, cp.nan, dtype=dtype)
    y = K.spmv_csr(*d, out=out, method=method)
    assert y is out
    got = cp.asnumpy(y)
    assert not np.isnan(got).any()
    assert rel_err(got, want) < TOL_SP[dtype]
    model = ref.spmv_csr(indptr, indices, data, x, method=method)
    assert rel_err(got, model) < TOL_SP[dtype]
    with K.use_vendor():
        vendor = cp.asnumpy(K.spmv_csr(*d, out=cp.full(n_rows, cp.nan, dtype=dtype)))
    assert rel_err(got, vendor) < TOL_SP[dtype]


@pytest.mark.parametrize("G", [2, 4, 8, 16, 32])
def test_spmv_every_group_size(cp, rng, G):
    n_rows, n_cols, (indptr, indices, data) = _sparse_case(rng, "regular", np.float32, cp)
    x = rng.uniform(-1, 1, n_cols).astype(np.float32)
    want = dense_of(indptr, indices, data, n_cols) @ x.astype(np.float64)
    d = [cp.asarray(a) for a in (indptr, indices, data, x)]
    y = K.spmv_csr(*d, out=cp.full(n_rows, cp.nan, cp.float32), method="vector",
                   threads_per_row=G)
    assert rel_err(cp.asnumpy(y), want) < 1e-5


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["regular", "empty-rows", "long-rows"])
@pytest.mark.parametrize("R,prefetch", [(1, True), (2, False), (2, True), (4, False)])
@pytest.mark.parametrize("G", [2, 8, 32])
def test_spmv_tuning_macros(cp, rng, dtype, kind, R, prefetch, G):
    """rows_per_group (SPMV_ROWS) and prefetch change the schedule only: the model's sums
    (row counts ragged for every R: 2003, 1000 and 67 rows), on the vectorised and the
    scalar path."""
    n_rows, n_cols, (indptr, indices, data) = _sparse_case(rng, kind, dtype, cp)
    x = rng.uniform(-1, 1, n_cols).astype(dtype)
    model = ref.spmv_csr_vector(indptr, indices, data, x, threads_per_row=G)
    d = [cp.asarray(a) for a in (indptr, indices, data, x)]
    y = K.spmv_csr(*d, out=cp.full(n_rows, cp.nan, dtype), method="vector", threads_per_row=G,
                   rows_per_group=R, prefetch=prefetch)
    got = cp.asnumpy(y)
    assert not np.isnan(got).any()
    assert rel_err(got, model) < TOL_SP[dtype]
    unaligned_d = cp.empty(len(data) + 1, dtype)
    unaligned_i = cp.empty(len(indices) + 1, cp.int32)
    unaligned_d[1:], unaligned_i[1:] = d[2], d[1]
    y = K.spmv_csr(d[0], unaligned_i[1:], unaligned_d[1:], d[3], method="vector",
                   threads_per_row=G, rows_per_group=R, prefetch=prefetch)
    assert rel_err(cp.asnumpy(y), model) < TOL_SP[dtype]


def _pipeline_case(rng, kind, dtype, cp):
    """(n_rows, n_cols, CSR) for the pipelined schedule: the _sparse_case kinds, no rows, and
    a banded matrix of 300k rows (8-24 nonzeros within +-32 of the diagonal, as the
    benchmark's banded case): enough rows for several steps of the persistent grid. Built
    vectorised (random_csr draws each row apart); duplicate columns are harmless. On the
    host 20k rows: its device holds 8 blocks at once, so they too take several steps."""
    if kind == "no-rows":
        return 0, 10, (np.zeros(1, np.int32), np.zeros(0, np.int32), np.zeros(0, dtype))
    if kind != "banded":
        return _sparse_case(rng, kind, dtype, cp)
    n = 20_011 if on_host(cp) else 300_007
    lengths = rng.integers(8, 25, n)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
    key = np.sort(rows * n + np.clip(rows + rng.integers(-32, 33, len(rows)), 0, n - 1))
    data = rng.uniform(-1, 1, len(rows)).astype(dtype)
    return n, n, (indptr, (key % n).astype(np.int32), data)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["regular", "banded", "power-law", "empty-rows", "no-rows"])
@pytest.mark.parametrize("R", [1, 2])
def test_spmv_pipeline_is_the_one_step_kernel_bit_for_bit(cp, rng, dtype, kind, R):
    """pipeline=True (SPMV_PIPE: persistent grid, next rows' loads in flight) sums every row
    as pipeline=False does: the same bits, and the model's sums. On the banded matrix the
    grid is capped by the device, so groups take several steps."""
    n_rows, n_cols, (indptr, indices, data) = _pipeline_case(rng, kind, dtype, cp)
    x = rng.uniform(-1, 1, n_cols).astype(dtype)
    d = [cp.asarray(a) for a in (indptr, indices, data, x)]
    ys = {}
    for pipeline in (False, True):
        y = K.spmv_csr(*d, out=cp.full(n_rows, cp.nan, dtype), method="vector",
                       rows_per_group=R, pipeline=pipeline)
        ys[pipeline] = cp.asnumpy(y)
    assert not np.isnan(ys[True]).any()
    np.testing.assert_array_equal(ys[True], ys[False])
    if n_rows:
        G = ref.spmv_threads_per_row(indptr, dtype)
        model = ref.spmv_csr_vector(indptr, indices, data, x, threads_per_row=G)
        assert rel_err(ys[True], model) < TOL_SP[dtype]
    if kind == "banded":
        name = f"spmv_csr_vector_{_cuda._TN[np.dtype(dtype).name]}_g{G}_vec"
        defines = {**({"SPMV_ROWS": R} if R != 1 else {}), "SPMV_PIPE": 1}
        sms, per_sm = _cuda._resident[(cp.cuda.runtime.getDevice(), name,
                                       tuple(sorted(defines.items())))]
        assert sms * per_sm < ref.spmv_vector_grid(n_rows, G, R)  # several steps a group


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["regular", "banded", "power-law", "empty-rows", "no-rows",
                                  "long-row"])
@pytest.mark.parametrize("G", [None, 2, 32])
def test_spmv_stream_is_the_model_bit_for_bit(cp, rng, dtype, kind, G):
    """method="stream" (spmv_csr_stream.cu, written without a GPU at stop 30): every row
    written, the model's sums bit for bit (the products pass through shared memory, so no
    FMA), including a block not staged (a row longer than STREAM_CAP) and power-law rows."""
    if kind == "long-row":
        lengths = rng.integers(1, 30, 5000)
        lengths[2500] = 3 * ref.STREAM_NNZ + 7
        n_rows, n_cols = 5000, 4000
        indptr, indices, data = random_csr(rng, n_rows, n_cols, lengths, dtype)
    else:
        n_rows, n_cols, (indptr, indices, data) = _pipeline_case(rng, kind, dtype, cp)
    x = rng.uniform(-1, 1, n_cols).astype(dtype)
    d = [cp.asarray(a) for a in (indptr, indices, data, x)]
    y = cp.asnumpy(K.spmv_csr(*d, out=cp.full(n_rows, cp.nan, dtype), method="stream",
                              threads_per_row=G))
    assert not np.isnan(y).any()
    if n_rows:
        want = ref.spmv_csr_stream(indptr, indices, data, x, threads_per_row=G)
        np.testing.assert_array_equal(y, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["regular", "banded", "power-law", "empty-rows"])
@pytest.mark.parametrize("method", [None, "vector", "merge", "stream"])
def test_spmv_plan_gives_the_same_product(cp, rng, dtype, kind, method):
    """spmv_csr(plan=spmv_plan(...)) (stop 37, written without a GPU): the product of a call
    that plans for itself, every row written, used twice: bit for bit, but for merge path,
    whose block carries of a row spanning more than two tiles are added by atomics in any
    order (the CuPy stand-in's schedules found that); the plan's partition is the one the
    reference computes."""
    n_rows, n_cols, (indptr, indices, data) = _pipeline_case(rng, kind, dtype, cp)
    x = rng.uniform(-1, 1, n_cols).astype(dtype)
    d = [cp.asarray(a) for a in (indptr, indices, data, x)]
    plan = K.spmv_plan(d[0], d[1], dtype, method=method)
    alone = cp.asnumpy(K.spmv_csr(*d, method=method))
    for _ in range(2):
        y = cp.asnumpy(K.spmv_csr(*d, out=cp.full(n_rows, cp.nan, dtype), plan=plan))
        if plan.method == "merge":
            assert rel_err(y, alone) < TOL_SP[dtype]
        else:
            np.testing.assert_array_equal(y, alone)
    assert not np.isnan(y).any()
    if plan.method == "stream":
        for got, want in zip(plan.partition, ref.spmv_stream_partition(indptr, len(indices)),
                             strict=True):
            np.testing.assert_array_equal(cp.asnumpy(got), want)
    if plan.method == "merge" and n_rows:
        assert plan.tile_row[0] == 0 and int(plan.tile_row[-1]) == n_rows


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("G", [2, 8, 32])
@pytest.mark.parametrize("R", [1, 2])
def test_spmv_pipeline_every_group_size(cp, rng, dtype, G, R):
    """Every G of the pipelined kernel, bit for bit with the one-step kernel; unaligned
    values (the scalar kernel, one-step grid, with SPMV_PIPE defined) give the model too."""
    n_rows, n_cols, (indptr, indices, data) = _pipeline_case(rng, "empty-rows", dtype, cp)
    x = rng.uniform(-1, 1, n_cols).astype(dtype)
    d = [cp.asarray(a) for a in (indptr, indices, data, x)]
    ys = [cp.asnumpy(K.spmv_csr(*d, out=cp.full(n_rows, cp.nan, dtype), method="vector",
                                threads_per_row=G, rows_per_group=R, pipeline=pipeline))
          for pipeline in (False, True)]
    np.testing.assert_array_equal(ys[1], ys[0])
    model = ref.spmv_csr_vector(indptr, indices, data, x, threads_per_row=G)
    assert rel_err(ys[1], model) < TOL_SP[dtype]
    unaligned_d = cp.empty(len(data) + 1, dtype)
    unaligned_d[1:] = d[2]
    y = K.spmv_csr(d[0], d[1], unaligned_d[1:], d[3], method="vector", threads_per_row=G,
                   rows_per_group=R, pipeline=True)
    assert rel_err(cp.asnumpy(y), model) < TOL_SP[dtype]


def test_spmv_unaligned_values_use_scalar_path(cp, rng):
    n_rows, n_cols, (indptr, indices, data) = _sparse_case(rng, "regular", np.float32, cp)
    x = rng.uniform(-1, 1, n_cols).astype(np.float32)
    want = dense_of(indptr, indices, data, n_cols) @ x.astype(np.float64)
    big_d = cp.empty(len(data) + 1, cp.float32)
    big_i = cp.empty(len(indices) + 1, cp.int32)
    big_d[1:] = cp.asarray(data)
    big_i[1:] = cp.asarray(indices)
    y = K.spmv_csr(cp.asarray(indptr), big_i[1:], big_d[1:], cp.asarray(x), method="vector")
    assert rel_err(cp.asnumpy(y), want) < 1e-5


@CUDA_ONLY
def test_spmv_large_against_cusparse(cp, rng):
    """~8M nonzeros (regular) and a power-law matrix with rows of 10^5: both methods against
    cuSPARSE."""
    import cupyx.scipy.sparse as sparse

    n = 200_000
    for lengths in (rng.integers(20, 61, n), np.minimum(rng.zipf(2.0, n), 100_000)):
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
        nnz = int(indptr[-1])
        rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
        key = np.sort(rows * n + rng.integers(0, n, nnz))  # columns sorted within rows
        d_indptr = cp.asarray(indptr)
        d_indices = cp.asarray((key % n).astype(np.int32))
        d_data = cp.asarray(rng.uniform(-1, 1, nnz).astype(np.float32))
        x = cp.asarray(rng.uniform(-1, 1, n).astype(np.float32))
        want = sparse.csr_matrix((d_data, d_indices, d_indptr), shape=(n, n)) @ x
        for method in ("vector", "merge", None):
            out = cp.full(n, cp.nan, cp.float32)
            y = K.spmv_csr(d_indptr, d_indices, d_data, x, out=out, method=method)
            assert float(cp.linalg.norm(y - want) / cp.linalg.norm(want)) < 1e-5, method


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["regular", "power-law", "empty-rows"])
@pytest.mark.parametrize("N", [1, 7, 64, 130])
def test_spmm(cp, rng, dtype, kind, N):
    n_rows, n_cols, (indptr, indices, data) = _sparse_case(rng, kind, dtype, cp)
    B = rng.uniform(-1, 1, (n_cols, N)).astype(dtype)
    want = dense_of(indptr, indices, data, n_cols) @ B.astype(np.float64)
    d = [cp.asarray(a) for a in (indptr, indices, data, B)]
    out = cp.full((n_rows, N), cp.nan, dtype=dtype)
    got = cp.asnumpy(K.spmm_csr(*d, out=out))
    assert rel_err(got, want) < TOL_SP[dtype]
    with K.use_vendor():
        vendor = cp.asnumpy(K.spmm_csr(*d))
    assert rel_err(got, vendor) < TOL_SP[dtype]


GEMM_SHAPES = [(128, 128, 128), (257, 135, 77), (1, 8, 16), (300, 520, 1000), (64, 7, 9),
               (1000, 264, 40)]


@pytest.mark.parametrize("shape", GEMM_SHAPES)
@pytest.mark.parametrize("out_dtype", [np.float32, np.float16])
def test_hgemm(cp, rng, shape, out_dtype):
    M, N, Kd = shape
    A = rng.uniform(-1, 1, (M, Kd)).astype(np.float16)
    B = rng.uniform(-1, 1, (Kd, N)).astype(np.float16)
    want = A.astype(np.float64) @ B.astype(np.float64)
    tol = TOL_TC32 if out_dtype == np.float32 else TOL_TC16
    dA, dB = cp.asarray(A), cp.asarray(B)
    out = cp.full((M, N), cp.nan, dtype=out_dtype)
    got = cp.asnumpy(K.hgemm(dA, dB, out=out))
    assert not np.isnan(got).any()
    assert rel_err(got, want) < tol
    with K.use_vendor():
        vendor = cp.asnumpy(K.hgemm(dA, dB, out_dtype=out_dtype))
    assert rel_err(got, vendor) < tol


@pytest.mark.parametrize("shape", GEMM_SHAPES)
def test_hgemm_wmma(cp, rng, shape):
    M, N, Kd = shape
    A = rng.uniform(-1, 1, (M, Kd)).astype(np.float16)
    B = rng.uniform(-1, 1, (Kd, N)).astype(np.float16)
    want = A.astype(np.float64) @ B.astype(np.float64)
    for out_dtype, tol in ((np.float32, TOL_TC32), (np.float16, TOL_TC16)):
        out = cp.full((M, N), cp.nan, out_dtype)
        got = cp.asnumpy(_cuda.hgemm_wmma(cp.asarray(A), cp.asarray(B), out=out))
        assert rel_err(got, want) < tol


@pytest.mark.parametrize("tiling", [dict(BN=256, WARPS_N=4), dict(BK=64, STAGES=3),
                                    dict(BM=64, WARPS_M=1), dict(BN=256, WARPS_N=4, FRAG_BUFS=1),
                                    dict(BM=192, BN=256, WARPS_N=4, FRAG_BUFS=1),
                                    dict(BM=192, FRAG_BUFS=1)])
def test_hgemm_tilings(cp, rng, tiling):
    A = rng.uniform(-1, 1, (333, 264)).astype(np.float16)
    B = rng.uniform(-1, 1, (264, 520)).astype(np.float16)
    want = A.astype(np.float64) @ B.astype(np.float64)
    for out_dtype, tol in ((cp.float32, TOL_TC32), (cp.float16, TOL_TC16)):
        out = cp.full((333, 520), cp.nan, out_dtype)
        got = cp.asnumpy(_cuda.hgemm(cp.asarray(A), cp.asarray(B), out=out, tiling=tiling))
        assert rel_err(got, want) < tol, out_dtype


def test_compress_24_gpu_equals_cpu(cp, rng):
    W = random_24(rng, 100, 200)
    v_cpu, e_cpu = ref.compress_24(W)
    v_gpu, e_gpu = K.compress_24(cp.asarray(W))
    np.testing.assert_array_equal(cp.asnumpy(v_gpu), v_cpu)
    np.testing.assert_array_equal(cp.asnumpy(e_gpu), e_cpu)


MM24_SHAPES = [(128, 128, 128), (257, 135, 100), (16, 8, 32), (300, 520, 1000), (64, 7, 9),
               (1000, 264, 64)]


@pytest.mark.parametrize("shape", MM24_SHAPES)
@pytest.mark.parametrize("out_dtype", [np.float32, np.float16])
def test_mm24(cp, rng, shape, out_dtype):
    M, N, Kd = shape
    W = random_24(rng, M, Kd)
    B = rng.uniform(-1, 1, (Kd, N)).astype(np.float16)
    want = W.astype(np.float64) @ B.astype(np.float64)
    tol = TOL_TC32 if out_dtype == np.float32 else TOL_TC16
    values, meta = K.compress_24(cp.asarray(W))
    dB = cp.asarray(B)
    out = cp.full((M, N), cp.nan, dtype=out_dtype)
    got = cp.asnumpy(K.mm_24(values, meta, dB, out=out))
    assert not np.isnan(got).any()
    assert rel_err(got, want) < tol
    model = ref.mm_24(cp.asnumpy(values), cp.asnumpy(meta), B)
    assert rel_err(got, model) < tol
    with K.use_vendor():
        vendor = cp.asnumpy(K.mm_24(values, meta, dB, out=cp.full((M, N), cp.nan, out_dtype)))
    assert rel_err(got, vendor) < tol


@pytest.mark.parametrize("tiling", [dict(BN=256, WARPS_N=4), dict(BK=64, STAGES=3),
                                    dict(FRAG_BUFS=1), dict(BM=192, FRAG_BUFS=1)])
def test_mm24_tilings(cp, rng, tiling):
    W = random_24(rng, 333, 256)
    B = rng.uniform(-1, 1, (256, 520)).astype(np.float16)
    values, meta = K.compress_24(cp.asarray(W))
    want = W.astype(np.float64) @ B.astype(np.float64)
    for out_dtype, tol in ((cp.float32, TOL_TC32), (cp.float16, TOL_TC16)):
        out = cp.full((333, 520), cp.nan, out_dtype)
        got = cp.asnumpy(_cuda.mm_24(values, meta, cp.asarray(B), out=out, tiling=tiling))
        assert rel_err(got, want) < tol, out_dtype


def test_bfloat16_if_cupy_has_it(cp, rng):
    try:
        bf16 = np.dtype("bfloat16")
        cp.zeros(1, dtype=bf16)
    except Exception:
        pytest.skip("no bfloat16 dtype in this NumPy/CuPy")
    A = rng.uniform(-1, 1, (200, 96)).astype(np.float32)
    B = rng.uniform(-1, 1, (96, 72)).astype(np.float32)
    A16, B16 = A.astype(bf16), B.astype(bf16)
    want = A16.astype(np.float64) @ B16.astype(np.float64)
    got = cp.asnumpy(K.hgemm(cp.asarray(A16), cp.asarray(B16)))
    assert rel_err(got, want) < TOL_TC32
    W = random_24(rng, 200, 96, dtype=np.float32).astype(bf16)
    values, meta = K.compress_24(cp.asarray(W))
    got = cp.asnumpy(K.mm_24(values, meta, cp.asarray(B16)))
    assert rel_err(got, W.astype(np.float64) @ B16.astype(np.float64)) < TOL_TC32


@CUDA_ONLY
def test_mma_peak_runs(cp):
    for sparse in (False, True):
        launch, flop = _cuda.mma_peak(sparse=sparse, iters=64)
        launch()
        cp.cuda.Device().synchronize()
        assert flop > 0
