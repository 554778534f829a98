"""PyTorch/SciPy parity of minigrad.sparse, from an audit (no discrepancy found; these pin
what was checked). Oracles are fetched inside each test, so the file imports without them.

* COO semantics: uncoalesced duplicates summed, ``coalesce`` sorting row-major, nnz
  counting duplicates, transpose, ``torch.sparse.sum`` over sparse and dense dims, hybrid
  tensors; CSR and COO conversions from dense with empty rows;
* ``sparse.mm`` forward and the gradients of the stored values and of the dense operand
  (COO with duplicates, CSR, dense @ sparse) against ``torch.sparse.mm``;
* SpMV/SpMM on the CPU (Numba) against SciPy, with empty rows, int32 indices, 0-size sides;
* ``Embedding(sparse=True)`` with repeated indices and ``padding_idx``: the COO gradient
  and SGD / SparseAdam / Adagrad steps against PyTorch, and a GradScaler skipping a step
  on a sparse inf.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.amp import GradScaler

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _rng(seed=0):
    return np.random.default_rng(seed)


def test_duplicates_coalesce_transpose_sum_against_torch():
    torch = pytest.importorskip("torch")
    idx = np.array([[0, 1, 0], [2, 0, 2], [1, 1, 1]])
    v = _rng().standard_normal((3, 2))
    T = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(v), (2, 3, 2, 2))
    M = mg.sparse_coo_tensor(idx, v, (2, 3, 2, 2))
    assert M.nnz == T._nnz() and M.coalesce().nnz == T.coalesce()._nnz()
    assert M.coalesce().indices().tolist() == T.coalesce().indices().tolist()
    np.testing.assert_allclose(M.coalesce().values().numpy(), T.coalesce().values().numpy())
    np.testing.assert_allclose(M.to_dense().numpy(), T.to_dense().numpy())
    for d0, d1 in ((0, 2), (3, -1)):
        np.testing.assert_allclose(M.transpose(d0, d1).to_dense().numpy(),
                                   T.transpose(d0, d1).to_dense().numpy())
    for dim in (0, (0, 1), 3, (1, 3), (0, 1, 2)):
        t = torch.sparse.sum(T, dim)
        t = t.to_dense() if t.is_sparse else t
        np.testing.assert_allclose(M.sum(dim).numpy(), t.numpy())


def test_conversions_against_torch():
    torch = pytest.importorskip("torch")
    D = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [2.0, 0.0, 3.0]])
    t, m = torch.tensor(D), mg.tensor(D)
    assert m.to_sparse_csr().crow_indices().tolist() == \
        t.to_sparse_csr().crow_indices().tolist()
    assert m.to_sparse_csr().col_indices().tolist() == t.to_sparse_csr().col_indices().tolist()
    assert m.to_sparse_csr().to_sparse_coo().indices().tolist() == \
        t.to_sparse_csr().to_sparse_coo().indices().tolist()
    assert m.to_sparse(1).indices().tolist() == t.to_sparse(1).indices().tolist()
    idx, val = [[1, 0, 1, 0], [2, 1, 2, 1]], [1.0, 2.0, 3.0, 4.0]
    tc = torch.sparse_coo_tensor(idx, val, (2, 3)).to_sparse_csr()
    mc = mg.sparse_coo_tensor(idx, val, (2, 3)).to_sparse_csr()
    assert mc.crow_indices().tolist() == tc.crow_indices().tolist()
    assert mc.values().tolist() == tc.values().tolist()


@pytest.mark.parametrize("layout", ["coo", "csr", "dense_times_sparse"])
def test_mm_gradients_against_torch(layout):
    torch = pytest.importorskip("torch")
    rng = _rng(1)
    idx = np.array([[0, 2, 1, 2, 0], [1, 0, 3, 0, 1]])  # (0, 1) and (2, 0) twice
    v = rng.standard_normal(5)
    B = rng.standard_normal((4, 3)) if layout != "dense_times_sparse" else \
        rng.standard_normal((2, 3))
    tv, tB = torch.tensor(v, requires_grad=True), torch.tensor(B, requires_grad=True)
    mv, mB = mg.tensor(v, requires_grad=True), mg.tensor(B, requires_grad=True)
    TS = torch.sparse_coo_tensor(torch.tensor(idx), tv, (3, 4))
    MS = mg.sparse_coo_tensor(idx, mv, (3, 4))
    if layout == "csr":
        TS, MS = TS.coalesce().to_sparse_csr(), MS.to_sparse_csr()
    if layout == "dense_times_sparse":
        ty, my = torch.sparse.mm(TS.t(), tB.T).T, mg.sparse.mm(mB, MS)
    else:
        ty, my = (TS @ tB if layout == "csr" else torch.sparse.mm(TS, tB)), mg.sparse.mm(MS, mB)
    gy = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(gy))
    my.backward(mg.tensor(gy))
    np.testing.assert_allclose(my.numpy(), ty.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(mv.grad.numpy(), tv.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(mB.grad.numpy(), tB.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(50, 40), (1, 7), (30, 1), (0, 5), (5, 0)])
def test_cpu_spmv_spmm_against_scipy(dtype, shape):
    sp = pytest.importorskip("scipy.sparse")
    A = sp.random(*shape, density=0.1, format="csr", random_state=1, dtype=dtype)
    A.indices, A.indptr = A.indices.astype(np.int32), A.indptr.astype(np.int32)
    S = mg.sparse.from_scipy(A)
    x = _rng(2).standard_normal(shape[1]).astype(dtype)
    X = _rng(3).standard_normal((shape[1], 3)).astype(dtype)
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12}
    y, Y = (S @ mg.tensor(x)).numpy(), (S @ mg.tensor(X)).numpy()
    assert y.dtype == dtype
    np.testing.assert_allclose(y, A @ x, **tol)
    np.testing.assert_allclose(Y, A @ X, **tol)
    np.testing.assert_array_equal(S.to_sparse_coo().to_scipy().toarray(), A.toarray())


@pytest.mark.parametrize("name", ["SGD", "SparseAdam", "Adagrad"])
@pytest.mark.parametrize("padding_idx", [None, 1])
def test_sparse_embedding_steps_against_torch(name, padding_idx):
    torch = pytest.importorskip("torch")
    rng = _rng(4)
    W = rng.standard_normal((5, 3))
    ids = np.array([[1, 3, 1], [4, 1, 0]])  # row 1 three times
    te = torch.nn.Embedding(5, 3, sparse=True, padding_idx=padding_idx).double()
    me = nn.Embedding(5, 3, sparse=True, padding_idx=padding_idx, dtype=mg.float64)
    te.weight.data = torch.tensor(W)
    me.weight.data[...] = W
    to = getattr(torch.optim, name)(te.parameters(), lr=0.1)
    mo = getattr(optim, name)(me.parameters(), lr=0.1)
    for step in range(3):
        gy = rng.standard_normal((2, 3, 3))
        to.zero_grad()
        te(torch.tensor(ids)).backward(torch.tensor(gy))
        mo.zero_grad()
        me(mg.tensor(ids)).backward(mg.tensor(gy))
        if step == 0:
            assert me.weight.grad.nnz == te.weight.grad._nnz()
            np.testing.assert_allclose(me.weight.grad.to_dense().numpy(),
                                       te.weight.grad.to_dense().numpy(), rtol=1e-12)
        to.step()
        mo.step()
    np.testing.assert_allclose(me.weight.numpy(), te.weight.detach().numpy(), rtol=1e-10)


def test_grad_scaler_with_sparse_gradients_against_torch():
    torch = pytest.importorskip("torch")
    rng = _rng(5)
    W = rng.standard_normal((6, 3)).astype(np.float32)
    ids = np.array([1, 3, 1, 5])
    te = torch.nn.Embedding(6, 3, sparse=True)
    me = nn.Embedding(6, 3, sparse=True)
    te.weight.data = torch.tensor(W)
    me.weight.data[...] = W
    to = torch.optim.SparseAdam(te.parameters(), lr=0.1)
    mo = optim.SparseAdam(me.parameters(), lr=0.1)
    ts, ms = torch.amp.GradScaler("cpu", init_scale=1024.0), GradScaler(init_scale=1024.0)
    for it in range(3):
        gy = rng.standard_normal((4, 3)).astype(np.float32)
        if it == 1:
            gy[0, 0] = np.inf  # that step is skipped and the scale halved
        to.zero_grad()
        ts.scale((te(torch.tensor(ids)) * torch.tensor(gy)).sum()).backward()
        ts.step(to)
        ts.update()
        mo.zero_grad()
        ms.scale((me(mg.tensor(ids)) * mg.tensor(gy)).sum()).backward()
        ms.step(mo)
        ms.update()
        assert ms.get_scale() == ts.get_scale()
        np.testing.assert_allclose(me.weight.numpy(), te.weight.detach().numpy(), atol=1e-6)
