"""COO and CSR tensors: construction, validation errors, conversions (round trips on
hypothesis-drawn shapes and densities, duplicates included), value-wise math, reductions,
device/dtype moves, SciPy interchange."""
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import sparse as msp
from minigrad.testing import assert_close

from .strategies import coo_parts, dense_of, host, random_dense

try:
    import scipy.sparse as scipy_sparse
except ImportError:  # pragma: no cover
    scipy_sparse = None

needs_scipy = pytest.mark.skipif(scipy_sparse is None, reason="needs SciPy")


def _coo(parts, device, dtype=mg.float64, requires_grad=False):
    indices, values, shape = parts
    v = mg.tensor(values, dtype=dtype, device=device, requires_grad=requires_grad)
    return msp.sparse_coo_tensor(indices, v, shape)


# ------------------------------------------------------------------------- construction


def test_coo_constructor_uses_the_values_tensor(device):
    v = mg.tensor([1.0, 2.0], device=device, requires_grad=True)
    S = msp.sparse_coo_tensor([[0, 2], [1, 0]], v, (3, 2))
    assert S.values() is v
    assert S.is_sparse and S.layout == "sparse_coo"
    assert S.shape == (3, 2) and S.ndim == 2 and S.nnz == 2 and S.numel() == 6
    assert S.sparse_dim() == 2 and S.dense_dim() == 0
    assert S.dtype == mg.float32 and S.device == device and S.requires_grad
    assert S.indices().dtype == mg.int64 and S.indices().shape == (2, 2)
    assert_close(S.to_dense(), np.array([[0, 1], [0, 0], [2, 0]], dtype=np.float32))


def test_csr_constructor_uses_the_values_tensor(device):
    v = mg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    A = msp.sparse_csr_tensor([0, 2, 2, 3], [0, 2, 1], v, (3, 3))
    assert A.values() is v and A.layout == "sparse_csr" and A.is_sparse
    assert A.shape == (3, 3) and A.nnz == 3 and A.device == device
    assert host(A.crow_indices()).tolist() == [0, 2, 2, 3]
    assert host(A.col_indices()).tolist() == [0, 2, 1]
    assert_close(A.to_dense(), np.array([[1, 0, 2], [0, 0, 0], [0, 3, 0]], np.float32))


def test_constructor_keywords_and_inferred_size(device):
    S = msp.sparse_coo_tensor([[0, 4], [1, 2]], [1.0, 2.0], dtype=mg.float64, device=device,
                              requires_grad=True)
    assert S.shape == (5, 3) and S.dtype == mg.float64 and S.requires_grad
    A = msp.sparse_csr_tensor([0, 1, 1], [3], [5.0], device=device)
    assert A.shape == (2, 4)
    empty = msp.sparse_coo_tensor(np.zeros((2, 0), np.int64), np.zeros(0), (2, 3))
    assert empty.nnz == 0 and not empty.to_dense().numpy().any()


def test_hybrid_coo_has_dense_blocks(device):
    values = np.arange(6.0).reshape(3, 2)
    S = msp.sparse_coo_tensor([[4, 0, 4]], mg.tensor(values, device=device), (5, 2))
    assert S.sparse_dim() == 1 and S.dense_dim() == 1
    want = np.zeros((5, 2))
    np.add.at(want, [4, 0, 4], values)
    assert_close(S.to_dense(), want)
    assert_close(S.coalesce().values(), np.array([[2.0, 3.0], [4.0, 6.0]]))
    assert host(S.coalesce().indices()).tolist() == [[0, 4]]
    assert_close(S.sum(0), want.sum(0))
    assert_close(S.sum(1), want.sum(1))
    assert_close(S.sum((0, 1)), want.sum())
    assert_close(S.sum(1, keepdim=True), want.sum(1, keepdims=True))


def test_is_coalesced_is_a_property_of_the_indices(device):
    sorted_ = msp.sparse_coo_tensor([[0, 0, 1], [0, 2, 1]], [1.0, 2.0, 3.0], (2, 3),
                                    device=device)
    assert sorted_.is_coalesced() and sorted_.coalesce() is sorted_
    dup = msp.sparse_coo_tensor([[0, 0], [1, 1]], [1.0, 2.0], (2, 3), device=device)
    assert not dup.is_coalesced()
    c = dup.coalesce()
    assert c.is_coalesced() and c.nnz == 1 and host(c.values()).tolist() == [3.0]
    unsorted = msp.sparse_coo_tensor([[1, 0], [0, 0]], [1.0, 2.0], (2, 3), device=device)
    assert not unsorted.is_coalesced()
    assert host(unsorted.coalesce().indices()).tolist() == [[0, 1], [0, 0]]


# ----------------------------------------------------------------------- round trips


@given(parts=coo_parts())
def test_coo_to_dense_coalesce_and_csr_agree(parts, device):
    indices, values, shape = parts
    want = dense_of(indices, values, shape)
    S = _coo(parts, device)
    assert_close(S.to_dense(), want)
    c = S.coalesce()
    assert_close(c.to_dense(), want)
    idx = host(c.indices())
    keys = idx[0] * max(shape[1], 1) + idx[1]
    assert np.all(np.diff(keys) > 0), "coalesce sorts and merges"
    assert c.nnz == len(np.unique(indices[0] * max(shape[1], 1) + indices[1]))
    A = S.to_sparse_csr()
    assert_close(A.to_dense(), want)
    assert A.is_coalesced()
    assert_close(A.to_sparse_coo().to_dense(), want)
    assert_close(S.t().to_dense(), want.T)
    assert_close(A.t().to_dense(), want.T)
    assert_close(A.t().t().to_dense(), want)


@given(shape=st.tuples(st.integers(0, 6), st.integers(0, 6)),
       density=st.sampled_from([0.0, 0.2, 0.6, 1.0]), seed=st.integers(0, 2**32 - 1))
def test_dense_to_sparse_round_trips(shape, density, seed, device):
    D = random_dense(np.random.default_rng(seed), shape, density)
    t = mg.tensor(D, device=device)
    S = msp.to_sparse_coo(t)
    assert S.nnz == np.count_nonzero(D) and S.is_coalesced()
    assert_close(S.to_dense(), D)
    A = msp.to_sparse_csr(t)
    assert A.nnz == np.count_nonzero(D) and A.is_coalesced()
    assert_close(A.to_dense(), D)
    assert_close(msp.to_sparse_csr(S).to_dense(), D)
    assert_close(A.to_sparse_coo().to_sparse_csr().to_dense(), D)


@given(shape=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3)),
       seed=st.integers(0, 2**32 - 1), sparse_dim=st.integers(1, 3))
def test_hybrid_to_sparse_round_trips(shape, seed, sparse_dim, device):
    D = random_dense(np.random.default_rng(seed), shape, 0.4)
    S = msp.to_sparse(mg.tensor(D, device=device), sparse_dim=sparse_dim)
    assert S.sparse_dim() == sparse_dim and S.dense_dim() == 3 - sparse_dim
    assert_close(S.to_dense(), D)
    blocks = (D != 0).reshape(D.shape[:sparse_dim] + (-1,)).any(-1)
    assert S.nnz == blocks.sum()


def test_all_zero_and_empty_matrices(device):
    for shape in [(3, 4), (0, 4), (3, 0), (0, 0)]:
        t = mg.zeros(shape, dtype=mg.float64, device=device)
        for S in (msp.to_sparse_coo(t), msp.to_sparse_csr(t)):
            assert S.nnz == 0 and S.shape == shape
            assert_close(S.to_dense(), np.zeros(shape))
            assert_close(S.t().to_dense(), np.zeros(shape[::-1]))
            assert_close(S.sum(), np.zeros(()))


def test_csr_with_unsorted_and_repeated_columns(device):
    A = msp.sparse_csr_tensor([0, 3, 3, 4], [2, 0, 2, 1], [1.0, 2.0, 3.0, 4.0], (3, 3),
                              device=device)
    want = np.array([[2.0, 0, 4.0], [0, 0, 0], [0, 4.0, 0]])
    assert not A.is_coalesced()
    assert_close(A.to_dense(), want)
    c = A.coalesce()
    assert c.is_coalesced() and c.nnz == 3
    assert_close(c.to_dense(), want)
    assert_close(A.t().to_dense(), want.T)
    assert_close(A.relu().to_dense(), np.maximum(want, 0))


@given(parts=coo_parts())
def test_transpose_of_coo_swaps_indices(parts, device):
    S = _coo(parts, device)
    want = dense_of(*parts)
    assert_close(S.transpose(0, 1).to_dense(), want.T)
    assert_close(S.transpose(1, 0).to_dense(), want.T)
    assert S.transpose(0, 0) is S
    assert_close(S.T.to_dense(), want.T)


# ------------------------------------------------------------------ value-wise math


@given(parts=coo_parts(duplicates=True))
def test_value_wise_ops_keep_the_pattern(parts, device):
    S = _coo(parts, device)
    D = dense_of(*parts)
    A = S.to_sparse_csr()
    for X in (S, A):
        assert_close((X * 2.5).to_dense(), 2.5 * D)
        assert_close((2.5 * X).to_dense(), 2.5 * D)
        assert_close((X * np.float64(2.0)).to_dense(), 2.0 * D)
        assert_close((X / 4).to_dense(), D / 4)
        assert_close((-X).to_dense(), -D)
        assert_close(X.relu().to_dense(), np.maximum(D, 0))  # of the summed duplicates
        assert_close(X.abs().to_dense(), np.abs(D))
        assert_close(abs(X).to_dense(), np.abs(D))
        assert_close(X.square().to_dense(), D * D)
        assert_close((X ** 3).to_dense(), D**3, rtol=1e-10)
        assert_close(X.tanh().to_dense(), np.tanh(D))
        assert_close(X.sin().to_dense(), np.sin(D))
        assert_close(X.sign().to_dense(), np.sign(D))
        assert_close(X.abs().sqrt().to_dense(), np.sqrt(np.abs(D)))
        W = np.arange(D.size, dtype=np.float64).reshape(D.shape)
        assert_close((X * mg.tensor(W, device=device)).to_dense(), D * W)
        assert_close((X * mg.tensor(np.ones(D.shape[1]), device=device)).to_dense(), D)


def test_addition(device):
    a = msp.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 2.0], (2, 2), device=device)
    b = msp.sparse_coo_tensor([[0], [1]], [5.0], (2, 2), device=device)
    s = a + b
    assert isinstance(s, msp.COOTensor) and s.nnz == 3 and not s.is_coalesced()
    assert_close(s.to_dense(), np.array([[0, 6.0], [2.0, 0]], np.float32))
    assert s.coalesce().nnz == 2
    assert_close((a - b).to_dense(), np.array([[0, -4.0], [2.0, 0]], np.float32))
    dense = mg.ones(2, 2, device=device)
    assert_close(a + dense, np.array([[1, 2.0], [3.0, 1]], np.float32))
    assert_close((a.to_sparse_csr() + b.to_sparse_csr()).to_dense(), s.to_dense())
    assert isinstance(a.to_sparse_csr() + b.to_sparse_csr(), msp.CSRTensor)


@given(parts=coo_parts(max_side=5))
def test_sums(parts, device):
    S = _coo(parts, device)
    D = dense_of(*parts)
    for X in (S, S.to_sparse_csr()):
        assert_close(X.sum(), D.sum(), atol=1e-12)
        assert_close(msp.sum(X), D.sum(), atol=1e-12)
        assert_close(X.sum(0), D.sum(0), atol=1e-12)
        assert_close(X.sum(1), D.sum(1), atol=1e-12)
        assert_close(X.sum(-1), D.sum(1), atol=1e-12)
        assert_close(X.sum((0, 1)), D.sum(), atol=1e-12)
        assert_close(X.sum(0, keepdim=True), D.sum(0, keepdims=True), atol=1e-12)
        assert_close(X.sum(1, keepdim=True), D.sum(1, keepdims=True), atol=1e-12)


def test_moves_between_dtypes_and_devices(device):
    v = mg.tensor([1.0, 2.0], requires_grad=True, device=device)
    S = msp.sparse_coo_tensor([[0, 1], [1, 0]], v, (2, 2))
    assert S.to(device) is S and S.to(dtype=mg.float32) is S
    for X in (S, S.to_sparse_csr()):
        d = X.double()
        assert d.dtype == mg.float64 and d.values().requires_grad
        assert X.float().dtype == mg.float32
        assert X.to(dtype=mg.float16).dtype == mg.float16
        assert X.cpu().device == "cpu"
        assert_close(X.cpu().to_dense(), np.array([[0, 1.0], [2.0, 0]], np.float32))
        assert not X.detach().requires_grad and not X.data.requires_grad
    d = S.double()
    d.to_dense().sum().backward()
    assert host(v.grad).tolist() == [1.0, 1.0]  # the cast is differentiable


def test_repr_names_the_layout():
    S = msp.sparse_coo_tensor([[0], [1]], [1.0], (2, 2))
    assert "layout=sparse_coo" in repr(S) and "size=(2, 2)" in repr(S) and "nnz=1" in repr(S)
    assert "layout=sparse_csr" in repr(S.to_sparse_csr())


# ---------------------------------------------------------------------------- SciPy


@needs_scipy
@given(parts=coo_parts())
def test_scipy_round_trip(parts):
    indices, values, shape = parts
    D = dense_of(indices, values, shape)
    S = _coo(parts, "cpu")
    m = S.to_scipy()
    assert scipy_sparse.issparse(m) and m.format == "coo"
    np.testing.assert_allclose(m.toarray(), D)
    back = msp.from_scipy(m)
    assert isinstance(back, msp.COOTensor)
    assert_close(back.to_dense(), D)
    A = S.to_sparse_csr()
    csr = A.to_scipy()
    assert csr.format == "csr"
    np.testing.assert_allclose(csr.toarray(), D)
    back = msp.from_scipy(csr, requires_grad=True)
    assert isinstance(back, msp.CSRTensor) and back.requires_grad
    assert_close(back.to_dense(), D)
    # SciPy as the oracle of coalescing
    ref = scipy_sparse.coo_array((values, (indices[0], indices[1])), shape=shape).tocsr()
    ref.sum_duplicates()
    c = S.to_sparse_csr()
    assert host(c.crow_indices()).tolist() == ref.indptr.tolist()
    assert host(c.col_indices()).tolist() == ref.indices.tolist()
    np.testing.assert_allclose(host(c.values()), ref.data, rtol=1e-12)


@needs_scipy
def test_from_scipy_keeps_int32_indices_and_other_formats():
    m = scipy_sparse.random(6, 5, density=0.4, format="csr", random_state=0)
    A = msp.from_scipy(m)
    assert A.crow_indices().dtype == m.indptr.dtype
    np.testing.assert_allclose(A.to_dense().numpy(), m.toarray())
    for fmt in ("csc", "lil", "dok", "bsr"):
        S = msp.from_scipy(m.asformat(fmt))
        assert isinstance(S, msp.COOTensor)
        np.testing.assert_allclose(S.to_dense().numpy(), m.toarray())


def test_without_scipy_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.sparse", None)
    S = msp.sparse_coo_tensor([[0], [1]], [1.0], (2, 2))
    with pytest.raises(ImportError, match=r"to_scipy\(\) needs SciPy \(pip install scipy\)"):
        S.to_scipy()
    with pytest.raises(ImportError, match=r"from_scipy\(\) needs SciPy"):
        msp.from_scipy(object())


def test_from_scipy_refuses_non_sparse():
    pytest.importorskip("scipy")
    with pytest.raises(TypeError, match="expects a scipy.sparse matrix or array, got ndarray"):
        msp.from_scipy(np.eye(2))


# ---------------------------------------------------------------------- validation


COO_ERRORS = [
    (dict(indices=[[0.0, 1.0]], values=[1.0, 2.0]), TypeError,
     r"indices must have an integer dtype \(int32 or int64\), got float64"),
    (dict(indices=np.array([[True, False]]), values=[1.0, 2.0]), TypeError,
     "indices must have an integer dtype"),
    (dict(indices=[0, 1], values=[1.0, 2.0]), ValueError,
     r"indices must be 2-D \(sparse_dim, nnz\), got shape \(2,\)"),
    (dict(indices=[[0, 1], [0, 1]], values=[1.0, 2.0, 3.0]), ValueError,
     r"indices hold 2 entries \(columns\) but values has 3"),
    (dict(indices=[[0, 1], [0, -1]], values=[1.0, 2.0], size=(2, 2)), ValueError,
     r"indices\[1\]\[1\] = -1 is negative"),
    (dict(indices=[[0, 1, 7], [0, 1, 0]], values=[1.0, 2.0, 3.0], size=(5, 2)), ValueError,
     r"indices\[0\]\[2\] = 7 is out of range for size 5"),
    (dict(indices=[[0], [1]], values=[1.0], size=(2, 2, 2)), ValueError,
     r"size \(2, 2, 2\) has 3 dims, but indices give 2 sparse dims and values 0 dense"),
    (dict(indices=[[0]], values=[[1.0, 2.0]], size=(2, 3)), ValueError,
     r"the dense dims of size \(3,\) do not match the values' trailing shape \(2,\)"),
    (dict(indices=[[0]], values=[1.0], size=(-2,)), ValueError, "negative dimension"),
    (dict(indices=[[1, 0]], values=[1.0, 2.0], size=(2,), is_coalesced=True), ValueError,
     "is_coalesced=True but the indices are not sorted"),
    (dict(indices=[[0]], values=1.0, size=(2,)), ValueError, "values must have at least one"),
]


@pytest.mark.parametrize("kwargs, exc, match", COO_ERRORS)
def test_coo_validation_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        msp.sparse_coo_tensor(**kwargs)


CSR_ERRORS = [
    (dict(crow_indices=[0, 1], col_indices=np.array([0], np.int32), values=[1.0]),
     TypeError, r"crow_indices \(int64\) and col_indices \(int32\) must have the same dtype"),
    (dict(crow_indices=[0.0, 1.0], col_indices=[0], values=[1.0]), TypeError,
     "crow_indices must have an integer dtype"),
    (dict(crow_indices=[1, 1], col_indices=[0], values=[1.0], size=(1, 2)), ValueError,
     r"crow_indices\[0\] must be 0, got 1"),
    (dict(crow_indices=[0, 2], col_indices=[0], values=[1.0], size=(1, 2)), ValueError,
     r"crow_indices\[-1\] = 2 must equal nnz = len\(col_indices\) = 1"),
    (dict(crow_indices=[0, 3, 1, 3], col_indices=[0, 1, 2], values=[1.0, 2.0, 3.0],
          size=(3, 3)), ValueError,
     r"crow_indices must be non-decreasing, but crow_indices\[1\] = 3 > crow_indices\[2\] = 1"),
    (dict(crow_indices=[0, 1], col_indices=[0], values=[1.0], size=(2, 2)), ValueError,
     r"crow_indices must have n_rows \+ 1 = 3 entries for size\[0\] = 2, got 2"),
    (dict(crow_indices=[0, 1, 2], col_indices=[0, 5], values=[1.0, 2.0], size=(2, 3)),
     ValueError, r"col_indices\[1\] = 5 is out of range for size 3"),
    (dict(crow_indices=[0, 1, 2], col_indices=[0, -1], values=[1.0, 2.0], size=(2, 3)),
     ValueError, r"col_indices\[1\] = -1 is negative"),
    (dict(crow_indices=[0, 1], col_indices=[0], values=[[1.0]], size=(1, 1)), ValueError,
     "values must be 1-D"),
    (dict(crow_indices=[0, 1], col_indices=[0], values=[1.0], size=(1, 1, 1)), ValueError,
     r"CSR tensors are 2-D, got size \(1, 1, 1\)"),
    (dict(crow_indices=[0, 2], col_indices=[0, 1], values=[1.0], size=(1, 2)), ValueError,
     "col_indices has 2 entries but values has 1"),
    (dict(crow_indices=[0, 1], col_indices=[[0]], values=[1.0], size=(1, 1)), ValueError,
     "col_indices must be 1-D"),
    (dict(crow_indices=[[0, 1]], col_indices=[0], values=[1.0], size=(1, 1)), ValueError,
     r"crow_indices must be 1-D, got shape \(1, 2\)"),
]


@pytest.mark.parametrize("kwargs, exc, match", CSR_ERRORS)
def test_csr_validation_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        msp.sparse_csr_tensor(**kwargs)


def test_conversion_and_math_errors():
    S3 = msp.sparse_coo_tensor([[0], [0], [0]], [1.0], (1, 1, 1))
    with pytest.raises(ValueError, match="CSR needs a 2-D matrix without dense dims"):
        S3.to_sparse_csr()
    with pytest.raises(ValueError, match=r"t\(\): expects a tensor with <= 2 dims"):
        S3.t()
    with pytest.raises(ValueError, match="to_sparse_csr: expects a 2-D tensor"):
        msp.to_sparse_csr(mg.zeros(2, 2, 2))
    with pytest.raises(ValueError, match="a 0-d tensor has no sparse layout"):
        msp.to_sparse_coo(mg.tensor(1.0))
    with pytest.raises(ValueError, match=r"sparse_dim must be in 1..2, got 3"):
        msp.to_sparse(mg.zeros(2, 2), sparse_dim=3)
    hybrid = msp.sparse_coo_tensor([[0]], [[1.0, 2.0]], (2, 2))
    with pytest.raises(ValueError, match="cannot swap a sparse dim with a dense dim"):
        hybrid.transpose(0, 1)
    with pytest.raises(ValueError, match="SciPy holds 2-D matrices"):
        hybrid.to_scipy()
    S = msp.sparse_coo_tensor([[0], [1]], [1.0], (2, 2))
    with pytest.raises(TypeError, match="only division by a scalar keeps the sparsity"):
        S / mg.ones(2, 2)
    with pytest.raises(ValueError, match="the exponent must be a positive number"):
        S.pow(-1)
    with pytest.raises(TypeError, match=r"sparse \+ scalar would fill every zero"):
        S + 1.0
    with pytest.raises(ValueError, match=r"sparse add: shapes \(2, 2\)"):
        S + msp.sparse_coo_tensor([[0], [1]], [1.0], (3, 2))
    with pytest.raises(TypeError, match=r"sparse \* sparse is not supported"):
        S * S


@pytest.mark.parametrize("name", ["minigrad.sparse", "minigrad.sparse.coo", "minigrad.sparse.csr",
                                  "minigrad.sparse.ops", "minigrad.sparse.embedding",
                                  "minigrad.optim.sparse_adam"])
def test_docstring_examples(name):
    import doctest
    import importlib

    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
