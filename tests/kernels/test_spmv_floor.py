"""spmv_floor.cu, the memory floor of a CSR SpMV (a benchmark kernel): its NumPy model and
launcher checks on the CPU, the kernel against the model on a GPU."""
import numpy as np
import pytest
from minigrad.kernels import _cuda
from minigrad.kernels import reference as ref

from .kernels_testdata import rel_err

PER_BLOCK = 4 * 256 * ref.SPMV_FLOOR_UNROLL  # nonzeros a block adds


def test_grid_covers_the_chunks_once():
    assert ref.spmv_floor_grid(0) == ref.spmv_floor_grid(3) == 1  # block 0: the tail alone
    assert ref.spmv_floor_grid(PER_BLOCK) == 1
    assert ref.spmv_floor_grid(PER_BLOCK + 4) == 2
    assert ref.spmv_floor_grid(PER_BLOCK + 3) == 1  # 3 leftover nonzeros: block 0's tail
    assert ref.spmv_floor_grid(16_000_000) == 3907


def test_model_blocks_by_hand():
    """Block b adds nonzeros [b PER_BLOCK, (b+1) PER_BLOCK) of the body; block 0 also the
    nnz % 4 last ones; the blocks together are sum_k data[k] x[indices[k]]."""
    nnz = 2 * PER_BLOCK + 4 * 5 + 3
    rng = np.random.default_rng(0)
    indices = rng.integers(0, 50, nnz).astype(np.int32)
    data = rng.uniform(-1, 1, nnz).astype(np.float32)
    x = rng.uniform(-1, 1, 50).astype(np.float32)
    out = ref.spmv_floor(indices, data, x)
    prod = data.astype(np.float64) * x.astype(np.float64)[indices]
    assert out.shape == (3,)
    body = nnz - 3
    np.testing.assert_allclose(out[0], prod[:PER_BLOCK].sum() + prod[body:].sum())
    np.testing.assert_allclose(out[1], prod[PER_BLOCK:2 * PER_BLOCK].sum())
    np.testing.assert_allclose(out[2], prod[2 * PER_BLOCK:body].sum())
    np.testing.assert_allclose(out.sum(), prod.sum())
    assert ref.spmv_floor(indices[:0], data[:0], x).tolist() == [0.0]


def test_launcher_names_bad_arguments_without_a_gpu():
    i = np.zeros(8, np.int32)
    d = np.zeros(8, np.float32)
    with pytest.raises(TypeError, match="spmv_floor: data must have dtype"):
        _cuda.spmv_floor(i, d.astype(np.float64), d)
    with pytest.raises(TypeError, match="spmv_floor: indices must have dtype"):
        _cuda.spmv_floor(i.astype(np.int64), d, d)
    with pytest.raises(ValueError, match="spmv_floor: data"):
        _cuda.spmv_floor(i, d[:4], d)
    with pytest.raises(TypeError, match="CuPy array"):
        _cuda.spmv_floor(i, d, d)


@pytest.mark.parametrize("nnz", [0, 3, 4, 1001, PER_BLOCK * 3 + 7, 1_000_003])
def test_kernel_equals_the_model(cp, nnz):
    """On a GPU, and on the host (the ``cp`` fixture: spmv_floor.cu's text run by
    cuda_host.h, at most 200k nonzeros there)."""
    from .conftest import on_host

    if on_host(cp):
        nnz = min(nnz, 200_003)
    rng = np.random.default_rng(nnz)
    n_cols = 5000
    indices = rng.integers(0, n_cols, nnz).astype(np.int32)
    data = rng.uniform(-1, 1, nnz).astype(np.float32)
    x = rng.uniform(-1, 1, n_cols).astype(np.float32)
    got = cp.asnumpy(_cuda.spmv_floor(cp.asarray(indices), cp.asarray(data), cp.asarray(x)))
    want = ref.spmv_floor(indices, data, x)
    assert got.shape == want.shape
    assert rel_err(got, want) < 1e-5
    if nnz > 1:   # an offset view (an empty one has no address to misalign: nnz = 0, 1)
        with pytest.raises(ValueError, match="16-byte aligned"):
            _cuda.spmv_floor(cp.asarray(indices)[1:], cp.asarray(data)[1:], cp.asarray(x))
