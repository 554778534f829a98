"""The Numba CPU kernels (minigrad.kernels.sparse_cpu) against the pure-NumPy references
in minigrad.sparse.ops, the dense product and SciPy: every index dtype, float32/float64,
empty rows, all-empty and zero-row matrices, long rows (the vectorised loop), power-law
rows, duplicates; COO -> CSR and the CSR transpose; the checks and the generated code."""
import platform
import subprocess
import sys
import zlib

import numpy as np
import pytest
from minigrad.kernels import sparse_cpu as K

from minigrad.sparse.ops import row_of_nonzeros, sddmm_reference, spmm_reference

try:
    import scipy.sparse as scipy_sparse
except ImportError:  # pragma: no cover
    scipy_sparse = None

TOL = {np.float32: 2e-6, np.float64: 1e-13}


def _lengths(rng, kind, n_rows, n_cols):
    if kind == "regular":
        return rng.integers(3, 12, n_rows)
    if kind == "long-rows":  # > 32 per row: the gather/FMA vector loop
        return rng.integers(40, 200, n_rows)
    if kind == "power-law":
        lengths = np.minimum(rng.zipf(1.4, n_rows), n_cols)
        lengths[rng.random(n_rows) < 0.2] = 0
        return lengths
    if kind == "empty-rows":
        lengths = rng.integers(0, 6, n_rows)
        lengths[::2] = 0
        return lengths
    if kind == "all-empty":
        return np.zeros(n_rows, int)
    raise ValueError(kind)


def _csr(rng, kind, n_rows=157, n_cols=211, dtype=np.float64, index_dtype=np.int32):
    lengths = np.minimum(_lengths(rng, kind, n_rows, n_cols), n_cols)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(index_dtype)
    indices = np.concatenate([rng.choice(n_cols, int(k), replace=False) for k in lengths]
                             + [np.zeros(0, int)]).astype(index_dtype)
    data = (rng.uniform(0.5, 1.0, indices.size) * rng.choice([-1, 1], indices.size))
    return indptr, indices, data.astype(dtype), (n_rows, n_cols)


def _dense(indptr, indices, data, shape):
    A = np.zeros(shape)
    rows = np.repeat(np.arange(shape[0]), np.diff(indptr.astype(np.int64)))
    np.add.at(A, (rows, indices.astype(np.int64)), data)
    return A


def _rel(out, ref):
    ref = np.asarray(ref, np.float64)
    return np.linalg.norm(np.asarray(out, np.float64) - ref) / max(np.linalg.norm(ref), 1e-300)


KINDS = ["regular", "long-rows", "power-law", "empty-rows", "all-empty"]


@pytest.fixture(params=["parallel", "serial"])
def kernel_path(request, monkeypatch):
    """Run the products through the parallel drivers (threshold 0) or the row loops on
    one thread."""
    monkeypatch.setattr(K, "SERIAL_BELOW_WORK", 0 if request.param == "parallel" else 2**62)
    return request.param


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64, np.uint32])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", KINDS)
def test_spmv_spmm_sddmm_match_reference_and_dense(kind, dtype, index_dtype, kernel_path):
    rng = np.random.default_rng(zlib.crc32(f"{kind}-{index_dtype.__name__}".encode()))
    indptr, indices, data, shape = _csr(rng, kind, dtype=dtype, index_dtype=index_dtype)
    A = _dense(indptr, indices, data, shape)
    x = rng.standard_normal(shape[1]).astype(dtype)
    B = rng.standard_normal((shape[1], 5)).astype(dtype)
    P = rng.standard_normal((shape[0], 5)).astype(dtype)
    y = K.spmv_csr(indptr, indices, data, x)
    C = K.spmm_csr(indptr, indices, data, B)
    v = K.sddmm_csr(indptr, indices, P, B)
    assert y.dtype == dtype and C.dtype == dtype and v.dtype == dtype
    assert C.shape == (shape[0], 5) and v.shape == (len(indices),)
    refs = (spmm_reference(np, indptr, indices, data, x),
            spmm_reference(np, indptr, indices, data, B),
            sddmm_reference(np, row_of_nonzeros(np, indptr, len(indices)), indices, P, B))
    dense = (A @ x.astype(np.float64), A @ B.astype(np.float64),
             (P.astype(np.float64) @ B.astype(np.float64).T)[
                 row_of_nonzeros(np, indptr, len(indices)), indices])
    for out, ref, want in zip((y, C, v), refs, dense):
        if not np.any(want):
            assert not np.any(out) and not np.any(ref)
            continue
        assert _rel(out, want) < TOL[dtype], (kind, _rel(out, want))
        assert _rel(ref, want) < TOL[dtype]


@pytest.mark.skipif(scipy_sparse is None, reason="needs SciPy")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_spmv_spmm_match_scipy(dtype):
    A = scipy_sparse.random(500, 300, density=0.03, format="csr", dtype=dtype, random_state=3)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(300).astype(dtype)
    B = rng.standard_normal((300, 17)).astype(dtype)
    assert _rel(K.spmv_csr(A.indptr, A.indices, A.data, x), A @ x) < TOL[dtype]
    assert _rel(K.spmm_csr(A.indptr, A.indices, A.data, B), A @ B) < TOL[dtype]


def test_ragged_and_degenerate_shapes():
    rng = np.random.default_rng(5)
    indptr, indices, data, shape = _csr(rng, "regular", 9, 13)
    A = _dense(indptr, indices, data, shape)
    for N in (1, 3, 8, 33):
        B = rng.standard_normal((13, N))
        assert _rel(K.spmm_csr(indptr, indices, data, B), A @ B) < 1e-13
    Bt = rng.standard_normal((4, 13)).T  # not contiguous
    assert _rel(K.spmm_csr(indptr, indices, data, Bt), A @ Bt) < 1e-13
    assert K.spmm_csr(indptr, indices, data, np.zeros((13, 0))).shape == (9, 0)
    empty = np.zeros(1, np.int32), np.zeros(0, np.int32), np.zeros(0)
    assert K.spmv_csr(*empty, np.ones(4)).shape == (0,)
    assert K.spmm_csr(*empty, np.ones((4, 2))).shape == (0, 2)
    assert K.sddmm_csr(empty[0], empty[1], np.ones((0, 2)), np.ones((4, 2))).shape == (0,)


def test_out_arguments():
    rng = np.random.default_rng(6)
    indptr, indices, data, shape = _csr(rng, "regular", 20, 30)
    x, B = rng.standard_normal(30), rng.standard_normal((30, 4))
    y = np.full(20, np.nan)
    assert K.spmv_csr(indptr, indices, data, x, out=y) is y
    assert np.allclose(y, _dense(indptr, indices, data, shape) @ x)
    C = np.full((20, 4), np.nan)
    assert K.spmm_csr(indptr, indices, data, B, out=C) is C and not np.isnan(C).any()
    with pytest.raises(ValueError, match=r"out must be a C-contiguous array of shape \(20,\)"):
        K.spmv_csr(indptr, indices, data, x, out=np.empty(21))
    with pytest.raises(TypeError, match="out must have dtype float64"):
        K.spmv_csr(indptr, indices, data, x, out=np.empty(20, np.float32))


def test_results_do_not_depend_on_the_thread_count(monkeypatch):
    monkeypatch.setattr(K, "SERIAL_BELOW_WORK", 0)
    rng = np.random.default_rng(7)
    indptr, indices, data, shape = _csr(rng, "power-law", 400, 300)
    x = rng.standard_normal(300)
    before = K.numba.get_num_threads()
    try:
        K.set_num_threads(1)
        y1 = K.spmv_csr(indptr, indices, data, x)
        K.set_num_threads(before)
        y2 = K.spmv_csr(indptr, indices, data, x)
    finally:
        K.set_num_threads(before)
    assert np.array_equal(y1, y2)  # each row is summed by one thread, in one order


@pytest.mark.parametrize("kind", ["regular", "power-law", "all-empty"])
def test_row_partition_balances_work(kind):
    rng = np.random.default_rng(8)
    indptr, _, _, (n_rows, _) = _csr(rng, kind, 1000, 2000, index_dtype=np.uint64)
    for n_chunks in (1, 3, 8):
        bounds = K._row_bounds(indptr, n_chunks)
        assert bounds[0] == 0 and bounds[-1] == n_rows and np.all(np.diff(bounds.astype(int)) >= 0)
        work = indptr.astype(np.int64) + np.arange(n_rows + 1)  # nnz + 1 per row
        chunk = np.diff(work[bounds.astype(np.int64)])
        longest_row = int(np.max(np.diff(work)))
        assert chunk.max() <= work[-1] / n_chunks + longest_row


def test_kernel_argument_checks():
    i, j, d = np.array([0, 1]), np.array([0]), np.array([1.0])
    with pytest.raises(TypeError, match="indptr must have an integer dtype"):
        K.spmv_csr(i.astype(float), j, d, np.ones(1))
    with pytest.raises(TypeError, match="data must have dtype float32 or float64, got int64"):
        K.spmv_csr(i, j, np.array([1]), np.ones(1))
    with pytest.raises(TypeError, match="x must have dtype float64, got float32"):
        K.spmv_csr(i, j, d, np.ones(1, np.float32))
    with pytest.raises(ValueError, match=r"indices \(1\) and data \(2\) must have the same"):
        K.spmv_csr(i, j, np.ones(2), np.ones(1))
    with pytest.raises(ValueError, match="indptr must run from 0 to nnz = 1, got 0 .. 2"):
        K.spmv_csr(np.array([0, 2]), j, d, np.ones(1))
    with pytest.raises(ValueError, match="B must be 2-D"):
        K.spmm_csr(i, j, d, np.ones(1))
    with pytest.raises(TypeError, match="x must be a NumPy array, got builtins.list"):
        K.spmv_csr(i, j, d, [1.0])
    with pytest.raises(ValueError, match=r"A must be \(1, N\) and B \(n_cols, N\)"):
        K.sddmm_csr(i, j, np.ones((2, 2)), np.ones((1, 2)))


# ----------------------------------------------------------------- COO -> CSR, transpose


@pytest.mark.parametrize("n_entries, shape", [(0, (3, 4)), (50, (6, 7)), (3000, (5, 400)),
                                              (400, (40, 3)), (10, (1, 1))])
def test_coo_to_csr_merges_duplicates(n_entries, shape, kernel_path):
    rng = np.random.default_rng(n_entries)
    row = rng.integers(0, shape[0], n_entries)
    col = rng.integers(0, shape[1], n_entries)  # many duplicates; rows > 32 long too
    values = rng.standard_normal(n_entries)
    indptr, indices, inverse = K.coo_to_csr(row, col, *shape)
    assert indptr.dtype == indices.dtype == inverse.dtype == np.int64
    assert indptr[0] == 0 and indptr[-1] == len(indices) and np.all(np.diff(indptr) >= 0)
    rows = np.repeat(np.arange(shape[0]), np.diff(indptr))
    keys = rows * shape[1] + indices
    assert np.all(np.diff(keys) > 0), "rows in order, columns increasing and distinct"
    assert np.array_equal(keys, np.unique(row * shape[1] + col))
    assert np.array_equal(keys[inverse], row * shape[1] + col), "inverse: where k went"
    merged = np.bincount(inverse, values, minlength=len(indices))
    want = np.zeros(shape)
    np.add.at(want, (row, col), values)
    got = np.zeros(shape)
    got[rows, indices] = merged
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_coo_to_csr_checks():
    with pytest.raises(ValueError, match=r"an index is out of range for shape \(2, 2\)"):
        K.coo_to_csr(np.array([0, 2]), np.array([0, 0]), 2, 2)
    with pytest.raises(ValueError, match=r"row \(2\) and col \(1\) differ in length"):
        K.coo_to_csr(np.array([0, 1]), np.array([0]), 2, 2)


@pytest.mark.parametrize("kind", KINDS)
def test_csr_transpose(kind):
    rng = np.random.default_rng(9)
    indptr, indices, data, shape = _csr(rng, kind, 60, 45)
    indptr_t, indices_t, perm = K.csr_transpose(indptr, indices, shape[1])
    assert indptr_t.shape == (shape[1] + 1,) and indptr_t[-1] == len(indices)
    At = _dense(indptr_t, indices_t, data[perm], shape[::-1])
    np.testing.assert_array_equal(At, _dense(indptr, indices, data, shape).T)
    rows_t = np.repeat(np.arange(shape[1]), np.diff(indptr_t))
    assert np.all(np.diff(rows_t * shape[0] + indices_t) > 0), "sorted rows in each column"
    if len(indices):
        with pytest.raises(ValueError, match="a column index is out of range for 10 columns"):
            K.csr_transpose(indptr, indices, 10)


# ---------------------------------------------------------------- compilation, codegen


def test_importing_minigrad_sparse_neither_imports_numba_nor_compiles():
    code = ("import sys, minigrad, minigrad.sparse; assert 'numba' not in sys.modules; "
            "from minigrad.kernels import sparse_cpu as K; "
            "assert not K._spmv_kernel.signatures and not K._spmm_kernel.signatures")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                    reason="reads x86-64 assembly")
def test_unsigned_indices_drop_the_wraparound_code():
    """The finding in sparse_cpu's docstring, pinned: with signed indices every x[j] load
    carries Numba's negative-index fix-up (``sar $63; and; lea``), with the unsigned views
    the launchers pass it is gone. Compiled afresh (cached code cannot be inspected)."""
    from numba import njit, types

    kernel = njit(boundscheck=False)(K._spmv_rows.py_func)
    asm = {}
    for it in (types.int32, types.uint32):
        sig = (it[::1], it[::1], types.float64[::1], types.float64[::1], types.float64[::1],
               types.uint64, types.uint64)
        kernel.compile(sig)
        asm[it.name] = kernel.inspect_asm(sig)
    assert "sarq\t$63" in asm["int32"]
    assert "sarq\t$63" not in asm["uint32"]
