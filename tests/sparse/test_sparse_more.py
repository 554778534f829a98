"""The rest of torch.sparse's functions (minigrad.sparse.functional): softmax, log_softmax,
sum, addmm, sampled_addmm, spdiags, spsolve.

Each is checked by hand-computed numbers, against a dense computation (softmax with the
unstored entries filled with −inf, products and solves with NumPy), by gradcheck in float64
on hypothesis-drawn patterns (empty rows and columns, all-empty matrices, duplicates), by
the errors it raises, and against PyTorch / SciPy where they are installed (importorskip,
inside the tests: the file runs without them).
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import sparse as msp
from minigrad.linalg import LinAlgError
from minigrad.sparse import functional as spf
from minigrad.testing import assert_close

from .strategies import coo_parts, dense_of, host

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # torch's beta-state notes


def _t(a, device="cpu", requires_grad=True, dtype=mg.float64):
    return mg.tensor(a, dtype=dtype, device=device, requires_grad=requires_grad)


def _maker(layout, indices, shape):
    """fn(values) -> a sparse matrix: COO as drawn (duplicates, any order), or CSR with the
    entries sorted by row (columns in drawn order within a row, duplicates kept)."""
    if layout == "coo":
        return lambda v: msp.sparse_coo_tensor(indices, v, shape)
    order = np.lexsort((indices[1], indices[0]))
    rows, cols = indices[0][order], indices[1][order]
    crow = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=shape[0]))])
    return lambda v: msp.sparse_csr_tensor(crow, cols, v[order.copy()], shape)


def _stored(indices, shape):
    """Boolean mask of the positions stored at least once."""
    mask = np.zeros(shape, dtype=bool)
    mask[tuple(indices)] = True
    return mask


def _dense_softmax(X, dim, log=False):
    """NumPy (log-)softmax of X along dim, −inf entries allowed (all −inf gives nan)."""
    if X.size == 0:
        return X
    with np.errstate(invalid="ignore", divide="ignore"):
        z = X - X.max(axis=dim, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=dim, keepdims=True))
        return z - lse if log else np.exp(z - lse)


LAYOUTS = ["coo", "csr"]

# =========================================================================== softmax


def test_softmax_by_hand(device):
    # [[0, ., log 3], [., 5, .]]: row 0 is softmax(0, log 3) = (1/4, 3/4); row 1 holds one.
    v = _t([0.0, math.log(3.0), 5.0], device)
    S = msp.sparse_coo_tensor([[0, 0, 1], [0, 2, 1]], v, (2, 3))
    y = msp.softmax(S, 1)
    assert isinstance(y, msp.COOTensor) and y.indices().tolist() == [[0, 0, 1], [0, 2, 1]]
    assert_close(y.values(), [0.25, 0.75, 1.0], rtol=1e-12, atol=1e-12)
    assert_close(msp.softmax(S, 0).values(), [1.0, 1.0, 1.0], atol=1e-12)  # one per column
    assert_close(msp.log_softmax(S, -1).values(), [math.log(0.25), math.log(0.75), 0.0],
                 rtol=1e-12, atol=1e-12)
    # VJP by hand, row 0: gv = y (g − Σ g y) with g = (1, −1): Σ g y = −1/2, so gv =
    # (1/4 · 3/2, 3/4 · (−1/2)) = (3/8, −3/8); row 1: y = 1, gv = 1 · (g − g) = 0.
    y.values().backward(mg.tensor([1.0, -1.0, 7.0], dtype=mg.float64, device=device))
    assert_close(v.grad, [0.375, -0.375, 0.0], rtol=1e-12, atol=1e-12)
    # log_softmax: gv = g − y Σ g = (1, −1) − (1/4, 3/4)·0 in row 0; row 1: 7 − 1·7 = 0.
    v.grad = None
    msp.log_softmax(S, 1).values().backward(mg.tensor([1.0, -1.0, 7.0], dtype=mg.float64,
                                             device=device))
    assert_close(v.grad, [1.0, -1.0, 0.0], rtol=1e-12, atol=1e-12)


def test_negative_dim_is_the_same_dim(device):
    """dim=−1 is dim=1, gradient included (PyTorch 2.13's sparse softmax backward gets a
    negative dim wrong: 0.1683 instead of 0.5049 here)."""
    g = mg.tensor([1.0, -2.0, 0.5], dtype=mg.float64, device=device)
    grads = []
    for dim in (1, -1):
        v = _t([0.3, -1.0, 2.0], device)
        y = msp.softmax(msp.sparse_coo_tensor([[0, 0, 1], [0, 2, 1]], v, (2, 3)), dim)
        y.values().backward(g)
        grads.append(host(v.grad))
    y0 = 1 / (1 + math.exp(-1.3))  # softmax(0.3, −1.0)[0]
    s = y0 * 1.0 + (1 - y0) * -2.0
    assert_close(grads[0], [y0 * (1 - s), (1 - y0) * (-2 - s), 0.0], rtol=1e-12, atol=1e-12)
    assert_close(grads[1], grads[0], rtol=0, atol=0)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("log", [False, True])
@given(parts=coo_parts(max_side=6), dim=st.sampled_from([0, 1, -1, -2]))
def test_softmax_is_dense_softmax_with_minus_inf_fill(parts, dim, log, layout, device):
    """Against NumPy on the dense matrix with −inf where nothing is stored; duplicates are
    summed first; the output keeps the (coalesced) pattern."""
    indices, values, shape = parts
    S = _maker(layout, indices, shape)(_t(values, device, False))
    fn = msp.log_softmax if log else msp.softmax
    y = fn(S, dim)
    mask = _stored(indices, shape)
    assert type(y) is type(S) and y.nnz == int(mask.sum())
    X = np.where(mask, dense_of(indices, values, shape), -np.inf)
    want = _dense_softmax(X, dim, log)
    rows, cols = (host(a) for a in y.to_sparse_coo().indices())
    assert mask[rows, cols].all()
    assert_close(y.values(), want[rows, cols], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layout", LAYOUTS)
@given(parts=coo_parts(max_side=5), dim=st.sampled_from([0, 1]), seed=st.integers(0, 2**16))
def test_softmax_gradient_is_the_dense_gradient_on_the_pattern(parts, dim, seed, layout,
                                                                device):
    """The dense softmax of S.to_dense() + (−inf off the pattern), differentiated through
    to_dense: the same values and the same value gradients (random cotangent)."""
    indices, values, shape = parts
    make = _maker(layout, indices, shape)
    mask = _stored(indices, shape)
    fill = mg.tensor(np.where(mask, 0.0, -np.inf), dtype=mg.float64, device=device)
    g = np.random.default_rng(seed).standard_normal(int(mask.sum()))
    grads = []
    for sparse_path in (True, False):
        v = _t(values, device)
        S = make(v)
        if sparse_path:
            y = msp.softmax(S, dim)
            rows, cols = (host(a) for a in y.to_sparse_coo().indices())
            y = y.values()
        else:
            y = (S.to_dense() + fill).softmax(dim)[rows, cols]
        y.backward(mg.tensor(g, dtype=mg.float64, device=device))
        grads.append((host(y), host(v.grad) if v.grad is not None else np.zeros(len(values))))
    assert_close(grads[0][0], grads[1][0], rtol=1e-12, atol=1e-12)
    assert_close(grads[0][1], grads[1][1], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("layout", LAYOUTS)
@settings(max_examples=10)
@given(parts=coo_parts(max_side=5), dim=st.sampled_from([0, 1]))
def test_gradcheck_softmax(parts, dim, layout, device):
    indices, values, shape = parts
    make = _maker(layout, indices, shape)
    v = _t(values, device)
    assert mg.gradcheck(lambda v: msp.softmax(make(v), dim).values(), (v,))
    assert mg.gradcheck(lambda v: msp.log_softmax(make(v), dim).values(), (v,))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_gradgradcheck_softmax(layout, device):
    rng = np.random.default_rng(0)
    rows, cols = np.nonzero(rng.random((4, 5)) < 0.5)
    indices = np.stack([rows, cols])
    make = _maker(layout, indices, (4, 5))
    v = _t(rng.standard_normal(rows.size), device)
    for dim in (0, 1):
        assert mg.gradgradcheck(lambda v, d=dim: msp.softmax(make(v), d).values(), (v,))
        assert mg.gradgradcheck(lambda v, d=dim: msp.log_softmax(make(v), d).values(), (v,))


def test_softmax_of_three_sparse_dims_and_hybrid(device):
    """Slices of a 3-D COO tensor (two other sparse dims: keys made unique), and a hybrid
    tensor: along a sparse dim each dense position is its own softmax, along a dense dim it
    is the dense softmax of each block."""
    rng = np.random.default_rng(1)
    idx = np.array([[0, 0, 1, 0, 2, 2, 1], [1, 2, 0, 1, 0, 2, 0], [0, 1, 1, 0, 1, 1, 0]])
    v = rng.standard_normal(7)
    shape = (3, 3, 2)
    mask = _stored(idx, shape)
    X = np.where(mask, dense_of(idx, v, shape), -np.inf)
    S = msp.sparse_coo_tensor(idx, _t(v, device), shape)
    for dim in (0, 1, 2, -1):
        y = msp.softmax(S, dim)
        where = tuple(host(y.indices()))
        assert_close(y.values(), _dense_softmax(X, dim)[where], rtol=1e-12, atol=1e-12)
        assert mg.gradcheck(lambda v, d=dim: msp.softmax(msp.sparse_coo_tensor(idx, v, shape),
                                                         d).values(), (_t(v, device),))
    hv = rng.standard_normal((3, 4))
    H = msp.sparse_coo_tensor([[0, 3, 1]], _t(hv, device), (5, 4))  # rows 2, 4 unstored
    order = [0, 2, 1]  # the output is coalesced: rows 0, 1, 3
    assert msp.softmax(H, 0).indices().tolist() == [[0, 1, 3]]
    assert_close(msp.softmax(H, 0).values(), _dense_softmax(hv, 0)[order], rtol=1e-12)
    assert_close(msp.softmax(H, 1).values(), _dense_softmax(hv, 1)[order], rtol=1e-12)
    assert_close(msp.log_softmax(H, -1).values(), _dense_softmax(hv, 1, log=True)[order],
                 rtol=1e-12)
    make = lambda v: msp.sparse_coo_tensor([[0, 3, 1]], v, (5, 4))  # noqa: E731
    for dim in (0, 1):
        assert mg.gradcheck(lambda v, d=dim: msp.softmax(make(v), d).values(),
                            (_t(hv, device),))


def test_softmax_of_empty_and_dtype(device):
    E = msp.sparse_coo_tensor(np.zeros((2, 0), np.int64), _t(np.zeros(0), device), (3, 4))
    y = msp.softmax(E, 1)
    assert y.nnz == 0 and y.shape == (3, 4)
    y.values().sum().backward()
    assert E.values().grad.shape == (0,)
    assert msp.log_softmax(E.to_sparse_csr(), 0).nnz == 0
    S = msp.sparse_coo_tensor([[0, 2]], mg.tensor([1.0, 2.0], device=device), (3,))
    y = msp.softmax(S, 0, dtype=mg.float64)
    assert y.dtype == mg.float64
    assert_close(y.values(), _dense_softmax(np.array([1.0, 2.0]), 0), rtol=1e-12)
    C = mg.tensor([[0.0, 2.0], [3.0, 0.0]], device=device).to_sparse_csr()
    assert_close(msp.softmax(C, 1).values(), [1.0, 1.0])  # each row stores one entry


def test_softmax_errors():
    S = msp.sparse_coo_tensor([[0], [1]], [1.0], (2, 2))
    with pytest.raises(IndexError, match=r"sparse.softmax: dim 2 is out of range"):
        msp.softmax(S, 2)
    with pytest.raises(IndexError, match=r"sparse.log_softmax: dim -3 is out of range"):
        msp.log_softmax(S.to_sparse_csr(), -3)
    with pytest.raises(TypeError, match=r"sparse.softmax: input must be a sparse COO or "
                                        r"CSR tensor, got Tensor \(make one with"):
        msp.softmax(mg.ones(2, 2), 0)
    ints = msp.sparse_coo_tensor([[0], [1]], mg.tensor([3]), (2, 2))
    with pytest.raises(TypeError, match="expects floating-point values, got int64"):
        msp.softmax(ints, 0)


def test_softmax_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    idx = np.array([[0, 0, 1, 0, 2, 2], [1, 2, 0, 1, 0, 2], [0, 1, 1, 0, 1, 1]])  # a dup
    v, g = rng.standard_normal(6), rng.standard_normal(5)
    for fn, tfn in ((msp.softmax, torch.sparse.softmax),
                    (msp.log_softmax, torch.sparse.log_softmax)):
        for dim in (0, 1, 2):  # nonnegative: torch's backward is wrong for negative dims
            tv = torch.tensor(v, requires_grad=True)
            ty = tfn(torch.sparse_coo_tensor(torch.tensor(idx), tv, (3, 3, 2)), dim)
            mv = _t(v)
            my = fn(msp.sparse_coo_tensor(idx, mv, (3, 3, 2)), dim)
            assert my.indices().tolist() == ty.indices().tolist()
            assert_close(my.values(), ty.values().detach().numpy(), rtol=1e-12, atol=1e-14)
            (ty.values() * torch.tensor(g)).sum().backward()
            my.values().backward(mg.tensor(g, dtype=mg.float64))
            assert_close(mv.grad, tv.grad.numpy(), rtol=1e-10, atol=1e-14)
    hv = rng.standard_normal((3, 4))
    T = torch.sparse_coo_tensor(torch.tensor([[0, 3, 1]]), torch.tensor(hv), (5, 4))
    H = msp.sparse_coo_tensor([[0, 3, 1]], hv, (5, 4))
    for dim in (0, 1):
        want = torch.sparse.softmax(T, dim).coalesce().values().numpy()
        assert_close(msp.softmax(H, dim).values(), want, rtol=1e-12)


# =============================================================================== sum


def test_sum_by_hand():
    S = msp.sparse_coo_tensor([[0, 0, 2, 0], [0, 1, 1, 1]], [1.0, 2.0, 3.0, 4.0], (3, 2))
    assert msp.sum(S).item() == 10.0
    rows = msp.sum(S, 1)  # a sparse vector over the rows that hold entries
    assert isinstance(rows, msp.COOTensor) and rows.is_coalesced()
    assert rows.indices().tolist() == [[0, 2]] and rows.values().tolist() == [7.0, 3.0]
    cols = msp.sum(S.to_sparse_csr(), 0)
    assert cols.indices().tolist() == [[0, 1]] and cols.values().tolist() == [1.0, 9.0]
    total = msp.sum(S, (0, 1))
    assert isinstance(total, mg.Tensor) and total.item() == 10.0
    H = msp.sparse_coo_tensor([[0, 2, 0]], [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], (3, 2))
    assert msp.sum(H, 0).tolist() == [9.0, 12.0]  # every sparse dim summed: dense
    h = msp.sum(H, 1)  # a dense dim summed: still sparse over dim 0
    assert h.indices().tolist() == [[0, 2]] and h.values().tolist() == [14.0, 7.0]
    assert msp.sum(S, 0, dtype=mg.float32).dtype == mg.float32


@settings(max_examples=15)
@given(parts=coo_parts(max_side=5), dim=st.sampled_from([0, 1, -1, (0, 1), (1, 0)]))
def test_sum_matches_dense_and_gradcheck(parts, dim):
    indices, values, shape = parts
    D = dense_of(indices, values, shape)
    make = lambda v: msp.sparse_coo_tensor(indices, v, shape)  # noqa: E731
    out = msp.sum(make(_t(values, requires_grad=False)), dim)
    want = D.sum(axis=dim if isinstance(dim, int) else tuple(dim))
    dense = out.to_dense() if msp.is_sparse(out) else out
    assert_close(dense, want, rtol=1e-12, atol=1e-12)
    densify = lambda y: y.to_dense() if msp.is_sparse(y) else y  # noqa: E731
    assert mg.gradcheck(lambda v: densify(msp.sum(make(v), dim)), (_t(values),))


def test_sum_errors():
    S = msp.sparse_coo_tensor([[0], [1]], [1.0], (2, 2))
    with pytest.raises(IndexError, match="sparse.sum: dim 2 is out of range"):
        msp.sum(S, 2)
    with pytest.raises(ValueError, match="a dim appears more than once"):
        msp.sum(S, (0, -2))
    with pytest.raises(TypeError, match="sparse.sum: input must be a sparse COO or CSR"):
        msp.sum(mg.ones(2), 0)


def test_sum_against_torch():
    torch = pytest.importorskip("torch")
    idx = np.array([[0, 1, 0, 2], [2, 0, 2, 1], [1, 1, 1, 0]])
    v = np.arange(8.0).reshape(4, 2)
    T = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(v), (3, 3, 2, 2))
    M = msp.sparse_coo_tensor(idx, v, (3, 3, 2, 2))
    # (0, 1) (every sparse dim, leaving two dense dims) is left out: PyTorch 2.13 returns
    # a COO tensor there, where its documentation says dense, as for (0, 1, 2).
    for dim in (0, 1, 2, 3, -1, (0, 2), (1, 3), (2, 3), (0, 1, 2), (0, 1, 2, 3)):
        t, m = torch.sparse.sum(T, dim), msp.sum(M, dim)
        assert t.is_sparse == msp.is_sparse(m), dim
        if t.is_sparse:
            t = t.coalesce()
            assert m.indices().tolist() == t.indices().tolist(), dim
            assert_close(m.values(), t.values().numpy(), rtol=1e-12)
        else:
            assert_close(m, t.numpy(), rtol=1e-12)


# ============================================================================= addmm


def test_addmm_by_hand(device):
    # S = [[0, 2], [3, 0]]: S @ [[1], [10]] = [[20], [3]]; 2·1 + 0.5·(20, 3) = (12, 3.5).
    v = _t([2.0, 3.0], device)
    S = msp.sparse_coo_tensor([[0, 1], [1, 0]], v, (2, 2))
    mat = _t(np.ones((2, 1)), device)
    B = _t([[1.0], [10.0]], device)
    y = msp.addmm(mat, S, B, beta=2, alpha=0.5)
    assert_close(y, [[12.0], [3.5]], rtol=1e-12)
    y.backward(mg.tensor([[1.0], [-1.0]], dtype=mg.float64, device=device))
    assert_close(mat.grad, [[2.0], [-2.0]])                # β gY
    assert_close(v.grad, [0.5 * 10.0, -0.5 * 1.0])         # α (gY Bᵀ) at (0, 1), (1, 0)
    assert_close(B.grad, [[-1.5], [1.0]])                  # α Sᵀ gY
    nan = mg.full((2, 1), float("nan"), dtype=mg.float64, device=device)
    assert_close(msp.addmm(nan, S, B, beta=0), [[20.0], [3.0]])  # β = 0 ignores mat


@pytest.mark.parametrize("layout", LAYOUTS)
@settings(max_examples=10)
@given(parts=coo_parts(max_side=5), N=st.integers(1, 3), seed=st.integers(0, 2**16),
       mat_kind=st.sampled_from(["full", "row", "vector"]),
       beta=st.sampled_from([1.0, 0.5, -2.0]), alpha=st.sampled_from([1.0, 3.0, -0.25]))
def test_addmm_matches_dense_and_gradcheck(parts, N, seed, mat_kind, beta, alpha, layout,
                                           device):
    indices, values, (m, n) = parts
    rng = np.random.default_rng(seed)
    mat_shape = {"full": (m, N), "row": (1, N), "vector": (N,)}[mat_kind]
    M, B = rng.standard_normal(mat_shape), rng.standard_normal((n, N))
    make = _maker(layout, indices, (m, n))
    y = msp.addmm(_t(M, device), make(_t(values, device)), _t(B, device), beta=beta,
                  alpha=alpha)
    assert_close(y, beta * M + alpha * dense_of(indices, values, (m, n)) @ B, rtol=1e-12,
                 atol=1e-12)
    assert mg.gradcheck(lambda M, v, B: msp.addmm(M, make(v), B, beta=beta, alpha=alpha),
                        (_t(M, device), _t(values, device), _t(B, device)))


def test_addmm_errors():
    S = msp.sparse_coo_tensor([[0], [1]], [1.0], (2, 3))
    with pytest.raises(TypeError, match="sparse.addmm: mat1 must be a sparse COO or CSR"):
        msp.addmm(mg.ones(2, 2), mg.ones(2, 3), mg.ones(3, 2))
    with pytest.raises(ValueError, match=r"mat2 must be a 2-D dense matrix, got shape \(3,\)"):
        msp.addmm(mg.ones(2), S, mg.ones(3))
    with pytest.raises(ValueError, match="inner dimensions 3 and 4 differ"):
        msp.addmm(mg.ones(2, 2), S, mg.ones(4, 2))
    with pytest.raises(ValueError, match=r"\(3, 2\) does not broadcast to the product's "
                                         r"shape \(2, 2\)"):
        msp.addmm(mg.ones(3, 2), S, mg.ones(3, 2))
    hybrid = msp.sparse_coo_tensor([[0]], [[1.0, 2.0]], (2, 2))
    with pytest.raises(ValueError, match="mat1 must be a 2-D sparse matrix without dense"):
        msp.addmm(mg.ones(2, 1), hybrid, mg.ones(2, 1))


def test_addmm_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    idx = np.array([[0, 2, 1, 0], [1, 0, 3, 1]])  # (0, 1) twice
    v, M, B = rng.standard_normal(4), rng.standard_normal((3, 2)), rng.standard_normal((4, 2))
    gY = rng.standard_normal((3, 2))
    tv, tM, tB = (torch.tensor(a, requires_grad=True) for a in (v, M, B))
    ty = torch.sparse.addmm(tM, torch.sparse_coo_tensor(torch.tensor(idx), tv, (3, 4)), tB,
                            beta=0.5, alpha=-2.0)
    ty.backward(torch.tensor(gY))
    mv, mM, mB = _t(v), _t(M), _t(B)
    my = msp.addmm(mM, msp.sparse_coo_tensor(idx, mv, (3, 4)), mB, beta=0.5, alpha=-2.0)
    my.backward(mg.tensor(gY, dtype=mg.float64))
    assert_close(my, ty.detach().numpy(), rtol=1e-12)
    for ours, theirs in ((mv, tv), (mM, tM), (mB, tB)):
        assert_close(ours.grad, theirs.grad.numpy(), rtol=1e-12, atol=1e-14)


# ===================================================================== sampled_addmm


def test_sampled_addmm_by_hand(device):
    # input = I/2 + 3 e₀e₁ᵀ... stored at (0, 0), (0, 1), (1, 1); P Q = [[3, 2], [7, 4]].
    v = _t([0.5, 3.0, 0.5], device)
    A = msp.sparse_csr_tensor([0, 2, 3], [0, 1, 1], v, (2, 2))
    P = _t([[1.0, 2.0], [3.0, 4.0]], device)
    Q = _t([[1.0, 0.0], [1.0, 1.0]], device)
    y = msp.sampled_addmm(A, P, Q, beta=2, alpha=-1)
    assert isinstance(y, msp.CSRTensor) and y.crow_indices().tolist() == [0, 2, 3]
    assert y.col_indices().tolist() == [0, 1, 1]
    assert_close(y.values(), [2 * 0.5 - 3.0, 2 * 3.0 - 2.0, 2 * 0.5 - 4.0], rtol=1e-12)
    y.values().backward(mg.tensor([1.0, 10.0, 100.0], dtype=mg.float64, device=device))
    assert_close(v.grad, [2.0, 20.0, 200.0])          # β gw
    # gP = α A(gw) Qᵀ with A(gw) = [[1, 10], [0, 100]]; gQ = α Pᵀ A(gw).
    Agw = np.array([[1.0, 10.0], [0.0, 100.0]])
    assert_close(P.grad, -Agw @ host(Q).T, rtol=1e-12)
    assert_close(Q.grad, -host(P).T @ Agw, rtol=1e-12)


@settings(max_examples=15)
@given(parts=coo_parts(max_side=6, duplicates=False), k=st.integers(0, 3),
       seed=st.integers(0, 2**16), beta=st.sampled_from([1.0, 0.0, -0.5]),
       alpha=st.sampled_from([1.0, 2.0]))
def test_sampled_addmm_matches_dense_and_gradcheck(parts, k, seed, beta, alpha, device):
    indices, values, (m, n) = parts
    rng = np.random.default_rng(seed)
    P, Q = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    make = _maker("csr", indices, (m, n))
    y = msp.sampled_addmm(make(_t(values, device)), _t(P, device), _t(Q, device), beta=beta,
                          alpha=alpha)
    want = beta * dense_of(indices, values, (m, n)) + alpha * (P @ Q)
    rows, cols = (host(a) for a in y.to_sparse_coo().indices())
    assert_close(y.values(), want[rows, cols], rtol=1e-12, atol=1e-12)
    assert_close(y.to_dense(), want * _stored(indices, (m, n)), rtol=1e-12, atol=1e-12)
    assert mg.gradcheck(lambda v, P, Q: msp.sampled_addmm(make(v), P, Q, beta=beta,
                                                          alpha=alpha).values(),
                        (_t(values, device), _t(P, device), _t(Q, device)))


def test_sampled_addmm_duplicates_and_second_derivatives(device):
    """A stored position that repeats gets the sampled product once per stored entry."""
    A = msp.sparse_csr_tensor([0, 2, 2], [1, 1], _t([1.0, 2.0], device), (2, 2))
    P, Q = _t([[1.0], [2.0]], device), _t([[3.0, 5.0]], device)
    assert_close(msp.sampled_addmm(A, P, Q).values(), [6.0, 7.0])
    rng = np.random.default_rng(4)
    rows, cols = np.nonzero(rng.random((4, 5)) < 0.5)
    make = _maker("csr", np.stack([rows, cols]), (4, 5))
    args = (_t(rng.standard_normal(rows.size), device), _t(rng.standard_normal((4, 3)), device),
            _t(rng.standard_normal((3, 5)), device))
    assert mg.gradgradcheck(lambda v, P, Q: msp.sampled_addmm(make(v), P, Q, beta=0.5,
                                                              alpha=2.0).values(), args)


def test_sampled_addmm_does_not_form_the_dense_product():
    """A 200000 × 300000 pattern with 3 entries: the dense product would take 480 GB."""
    A = msp.sparse_csr_tensor(np.r_[0, np.full(199_999, 1), 3], [5, 0, 299_999],
                              [1.0, 2.0, 3.0], (200_000, 300_000))
    rng = np.random.default_rng(5)
    P, Q = rng.standard_normal((200_000, 2)), rng.standard_normal((2, 300_000))
    y = msp.sampled_addmm(A, mg.tensor(P), mg.tensor(Q), beta=0)
    rows, cols = [0, 199_999, 199_999], [5, 0, 299_999]
    assert_close(y.values(), (P[rows] * Q[:, cols].T).sum(1), rtol=1e-12)


def test_sampled_addmm_errors():
    A = mg.eye(2).to_sparse_csr()
    P, Q = mg.ones(2, 3), mg.ones(3, 2)
    with pytest.raises(TypeError, match=r"input must be a sparse CSR tensor, got layout "
                                        r"sparse_coo \(convert it with .to_sparse_csr"):
        msp.sampled_addmm(A.to_sparse_coo(), P, Q)
    with pytest.raises(TypeError, match="input must be a sparse COO or CSR tensor, got Tensor"):
        msp.sampled_addmm(mg.eye(2), P, Q)
    with pytest.raises(ValueError, match=r"cannot be multiplied \(inner dimensions 3 and 2"):
        msp.sampled_addmm(A, P, mg.ones(2, 2))
    with pytest.raises(ValueError, match=r"mat1 @ mat2 has shape \(2, 4\) but input has "
                                         r"shape \(2, 2\)"):
        msp.sampled_addmm(A, P, mg.ones(3, 4))
    with pytest.raises(ValueError, match=r"mat1 must be a 2-D dense matrix, got shape \(3,\)"):
        msp.sampled_addmm(A, mg.ones(3), Q)
    ints = msp.sparse_csr_tensor([0, 1, 2], [0, 1], mg.tensor([1, 2]), (2, 2))
    with pytest.raises(TypeError, match="expects floating-point operands"):
        msp.sampled_addmm(ints, mg.tensor([[1], [2]]), mg.tensor([[1, 2]]))


def test_sampled_addmm_beta_zero_keeps_the_formula():
    """out = α (P Q)∘spy + β·input, literally: β = 0 times a nan is nan (PyTorch's CPU
    kernel does the same; only addmm documents ignoring the input at β = 0)."""
    A = msp.sparse_csr_tensor([0, 1], [0], [float("nan")], (1, 1))
    y = msp.sampled_addmm(A, mg.ones(1, 1), mg.ones(1, 1), beta=0)
    assert math.isnan(y.values().item())


def test_sampled_addmm_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    D = np.where(rng.random((5, 4)) < 0.4, rng.standard_normal((5, 4)), 0.0)
    D[2] = 0.0  # an empty row
    P, Q, = rng.standard_normal((5, 3)), rng.standard_normal((3, 4))
    C = torch.tensor(D).to_sparse_csr()
    tv = C.values().clone().requires_grad_()
    tP, tQ = torch.tensor(P, requires_grad=True), torch.tensor(Q, requires_grad=True)
    ty = torch.sparse.sampled_addmm(
        torch.sparse_csr_tensor(C.crow_indices(), C.col_indices(), tv, C.shape), tP, tQ,
        beta=0.5, alpha=2.0)
    g = rng.standard_normal(tv.shape[0])
    (ty.values() * torch.tensor(g)).sum().backward()
    A = mg.tensor(D).to_sparse_csr()
    mv, mP, mQ = _t(host(A.values())), _t(P), _t(Q)
    my = msp.sampled_addmm(msp.sparse_csr_tensor(A.crow_indices(), A.col_indices(), mv,
                                                 A.shape), mP, mQ, beta=0.5, alpha=2.0)
    assert my.col_indices().tolist() == ty.col_indices().tolist()
    assert_close(my.values(), ty.values().detach().numpy(), rtol=1e-12)
    my.values().backward(mg.tensor(g, dtype=mg.float64))
    for ours, theirs in ((mv, tv), (mP, tP), (mQ, tQ)):
        assert_close(ours.grad, theirs.grad.numpy(), rtol=1e-12, atol=1e-14)


# =========================================================================== spdiags


def _spdiags_by_hand(d, offsets, m, n):
    """out[j − o, j] = d[k, j], looping over every column j (SciPy's convention)."""
    out = np.zeros((m, n))
    for k, o in enumerate(offsets):
        for j in range(min(n, d.shape[1])):
            if 0 <= j - o < m:
                out[j - o, j] = d[k, j]
    return out


def test_spdiags_by_hand(device):
    d = _t([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0]], device)
    S = msp.spdiags(d, mg.tensor([0, -1, 2]), (4, 4))
    assert isinstance(S, msp.COOTensor) and S.is_coalesced() and S.nnz == 9
    assert_close(S.to_dense(), [[1.0, 0.0, 11.0, 0.0],
                                [5.0, 2.0, 0.0, 12.0],
                                [0.0, 6.0, 3.0, 0.0],
                                [0.0, 0.0, 7.0, 4.0]])
    # the superdiagonal (offset 2) skips d[2, 0:2]; the subdiagonal leaves d[1, 3] unused
    S.values().backward(mg.tensor(np.arange(1.0, 10.0), dtype=mg.float64, device=device))
    assert_close(d.grad, [[1.0, 4.0, 7.0, 9.0], [3.0, 6.0, 8.0, 0.0], [0.0, 0.0, 2.0, 5.0]])
    one = msp.spdiags(_t([1.0, 0.0, 2.0], device, False), 1, (3, 3))  # 1-D, scalar offset
    assert one.indices().tolist() == [[0, 1], [1, 2]] and one.values().tolist() == [0.0, 2.0]
    C = msp.spdiags(d, [0, -1, 2], (4, 4), layout="sparse_csr")
    assert isinstance(C, msp.CSRTensor) and C.crow_indices().tolist() == [0, 2, 5, 7, 9]
    far = msp.spdiags(d, [0, 5, -9], (4, 4))  # diagonals outside the matrix hold nothing
    assert far.nnz == 4
    assert msp.spdiags(d, [0, -1, 2], (0, 4)).nnz == 0


@settings(max_examples=30)
@given(m=st.integers(0, 6), n=st.integers(0, 6), L=st.integers(0, 7),
       offsets=st.lists(st.integers(-7, 7), min_size=1, max_size=4, unique=True),
       seed=st.integers(0, 2**16))
def test_spdiags_matches_the_convention_and_gradcheck(m, n, L, offsets, seed):
    d = np.random.default_rng(seed).standard_normal((len(offsets), L))
    S = msp.spdiags(_t(d, requires_grad=False), offsets, (m, n))
    assert S.is_coalesced()
    assert_close(S.to_dense(), _spdiags_by_hand(d, offsets, m, n), rtol=0, atol=0)
    assert mg.gradcheck(lambda d: msp.spdiags(d, offsets, (m, n)).to_dense(), (_t(d),))


@settings(max_examples=30)
@given(m=st.integers(0, 6), n=st.integers(0, 6), L=st.integers(0, 7),
       offsets=st.lists(st.integers(-7, 7), min_size=1, max_size=4, unique=True))
def test_spdiags_against_scipy(m, n, L, offsets):
    sparse = pytest.importorskip("scipy.sparse")
    d = np.arange(1.0, 1.0 + len(offsets) * L).reshape(len(offsets), L)
    want = sparse.spdiags(d, offsets, m, n).toarray()
    assert_close(msp.spdiags(mg.tensor(d), offsets, (m, n)).to_dense(), want, rtol=0, atol=0)


@pytest.mark.parametrize("m, n, L, offsets", [
    (3, 3, 3, [0, -1, -2]), (4, 4, 4, [0, -1, 2]), (6, 6, 4, [0, -1, 2]),
    (5, 5, 5, [-5, 1, 4]), (6, 4, 4, [0, -2, 3]), (3, 5, 4, [0, -1, 2]),
])
def test_spdiags_against_torch(m, n, L, offsets):
    """Cases where PyTorch 2.13 is sound: with more columns in diagonals than the matrix
    has, and m > n, it writes out of bounds (and even crashes)."""
    torch = pytest.importorskip("torch")
    d = np.arange(1.0, 1.0 + len(offsets) * L).reshape(len(offsets), L)
    T = torch.sparse.spdiags(torch.tensor(d), torch.tensor(offsets), (m, n)).coalesce()
    S = msp.spdiags(mg.tensor(d), mg.tensor(offsets), (m, n))
    assert S.indices().tolist() == T.indices().tolist()
    assert S.values().tolist() == T.values().tolist()


def test_spdiags_errors():
    d = mg.ones(3, 4)
    with pytest.raises(ValueError, match=r"offsets \[0, 0, 1\] contain duplicate values"):
        msp.spdiags(d, [0, 0, 1], (4, 4))
    with pytest.raises(ValueError, match=r"the number of diagonals \(3\) does not match the "
                                         r"number of offsets \(2\)"):
        msp.spdiags(d, [0, 1], (4, 4))
    with pytest.raises(ValueError, match="offsets must be a scalar or a 1-D tensor"):
        msp.spdiags(d, [[0, 1, 2]], (4, 4))
    with pytest.raises(TypeError, match="offsets must have an integer dtype"):
        msp.spdiags(d, mg.tensor([0.0, 1.0, 2.0]), (4, 4))
    with pytest.raises(ValueError, match=r"diagonals must be 1-D or 2-D"):
        msp.spdiags(mg.ones(1, 3, 4), [0], (4, 4))
    with pytest.raises(ValueError, match=r"shape must be two non-negative ints"):
        msp.spdiags(d, [0, 1, 2], (4, 4, 1))
    with pytest.raises(ValueError, match=r"shape must be two non-negative ints"):
        msp.spdiags(d, [0, 1, 2], (-1, 4))
    with pytest.raises(ValueError, match="layout must be 'sparse_coo' or 'sparse_csr'"):
        msp.spdiags(d, [0, 1, 2], (4, 4), layout="sparse_csc")


# =========================================================================== spsolve


@st.composite
def square_systems(draw, max_n=6):
    """``(indices, values, n)`` of a random sparse n × n matrix that is strictly diagonally
    dominant (so far from singular): a random off-diagonal pattern, possibly with
    duplicates, and a stored diagonal of magnitude 4n + 1 (each row's off-diagonal entries
    add up to at most 4n)."""
    n = draw(st.integers(1, max_n))
    indices, values, _ = draw(coo_parts(max_side=n, min_side=n))
    off = indices[0] != indices[1]
    indices, values = indices[:, off], values[off]
    diag = np.arange(n)
    signs = np.random.default_rng(draw(st.integers(0, 2**16))).choice([-1.0, 1.0], n)
    return (np.concatenate([indices, np.stack([diag, diag])], axis=1),
            np.concatenate([values, signs * (4 * n + 1)]), n)


def test_spsolve_by_hand(device):
    # [[4, 1], [0, 2]] x = (6, 4): x = (1, 2). gB = A⁻ᵀ gX, gv = −(gB xᵀ) at the pattern.
    v = _t([4.0, 1.0, 2.0], device)
    A = msp.sparse_csr_tensor([0, 2, 3], [0, 1, 1], v, (2, 2))
    b = _t([6.0, 4.0], device)
    x = msp.spsolve(A, b)
    assert_close(x, [1.0, 2.0], rtol=1e-12)
    x.backward(mg.tensor([1.0, 0.0], dtype=mg.float64, device=device))
    gb = np.linalg.solve(np.array([[4.0, 0.0], [1.0, 2.0]]), [1.0, 0.0])  # (1/4, −1/8)
    assert_close(b.grad, gb, rtol=1e-12)
    assert_close(v.grad, [-gb[0] * 1.0, -gb[0] * 2.0, -gb[1] * 2.0], rtol=1e-12)
    # X A = B (left=False): X = B A⁻¹
    X = msp.spsolve(A, _t([[4.0, 5.0]], device, False), left=False)
    assert_close(X, [[1.0, 2.0]], rtol=1e-12)


@pytest.mark.parametrize("layout", LAYOUTS)
@settings(max_examples=10)
@given(system=square_systems(), k=st.sampled_from([None, 1, 3]), left=st.booleans(),
       seed=st.integers(0, 2**16))
def test_spsolve_matches_dense_and_gradcheck(system, k, left, seed, layout, device):
    indices, values, n = system
    A = dense_of(indices, values, (n, n))
    rng = np.random.default_rng(seed)
    B = rng.standard_normal(n if k is None else ((n, k) if left else (k, n)))
    make = _maker(layout, indices, (n, n))
    X = msp.spsolve(make(_t(values, device, False)), _t(B, device, False), left=left)
    if left:
        want = np.linalg.solve(A, B)
    elif k is None:
        want = np.linalg.solve(A.T, B)
    else:
        want = np.linalg.solve(A.T, B.T).T
    assert_close(X, want, rtol=1e-10, atol=1e-12)
    assert mg.gradcheck(lambda v, B: msp.spsolve(make(v), B, left=left),
                        (_t(values, device), _t(B, device)))


def test_gradgradcheck_spsolve(device):
    indices = np.array([[0, 0, 1, 1, 2, 2, 0], [0, 2, 1, 0, 2, 1, 0]])  # (0, 0) twice
    v = _t([3.0, 1.0, 4.0, -1.0, 5.0, 0.5, 2.0], device)
    make = lambda v: msp.sparse_coo_tensor(indices, v, (3, 3))  # noqa: E731
    B = _t(np.random.default_rng(7).standard_normal((3, 2)), device)
    assert mg.gradgradcheck(lambda v, B: msp.spsolve(make(v), B), (v, B))


def test_spsolve_superlu_path_equals_the_dense_reference(monkeypatch):
    """With SciPy the CPU path is SuperLU; without it (or on CUDA) the dense reference.
    Both give the same solution and the same gradients."""
    pytest.importorskip("scipy")
    rng = np.random.default_rng(8)
    indices = np.array([[0, 1, 2, 3, 0, 3, 2, 1], [0, 1, 2, 3, 3, 1, 0, 1]])  # (1, 1) twice
    values = np.r_[9.0, 8.0, -7.0, 10.0, rng.standard_normal(4)]
    B = rng.standard_normal((4, 2))
    S = msp.sparse_coo_tensor(indices, values, (4, 4)).to_sparse_csr()
    p = S._pattern
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        data = host(S.values()).astype(dtype)
        ours = spf._superlu_solve(p.crow, p.col, data, B.astype(dtype))
        ref = spf.spsolve_reference(np, p.crow, p.col, data, B.astype(dtype))
        assert ours.dtype == ref.dtype == dtype
        assert_close(ours, ref, rtol=tol, atol=tol)

    def run():
        v, b = _t(values), _t(B)
        x = msp.spsolve(msp.sparse_coo_tensor(indices, v, (4, 4)), b)
        x.backward(mg.tensor(np.ones((4, 2))))
        return host(x), host(v.grad), host(b.grad)

    with_scipy = run()
    monkeypatch.setattr(spf, "_superlu_solve", lambda *args: None)  # as without SciPy
    for a, b in zip(with_scipy, run()):
        assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_spsolve_against_scipy_and_torch():
    rng = np.random.default_rng(9)
    D = np.where(rng.random((6, 6)) < 0.3, rng.standard_normal((6, 6)), 0.0) + 5 * np.eye(6)
    B = rng.standard_normal((6, 2))
    A = mg.tensor(D).to_sparse_csr()
    sparse = pytest.importorskip("scipy.sparse")
    from scipy.sparse.linalg import spsolve as scipy_spsolve

    assert_close(msp.spsolve(A, mg.tensor(B)), scipy_spsolve(sparse.csc_array(D), B),
                 rtol=1e-12)
    torch = pytest.importorskip("torch")
    tD, tB = torch.tensor(D, requires_grad=True), torch.tensor(B, requires_grad=True)
    gX = rng.standard_normal((6, 2))
    torch.linalg.solve(tD, tB).backward(torch.tensor(gX))
    v, b = _t(host(A.values())), _t(B)
    msp.spsolve(msp.sparse_csr_tensor(A.crow_indices(), A.col_indices(), v, A.shape),
                b).backward(mg.tensor(gX))
    rows, cols = np.nonzero(D)
    assert_close(v.grad, tD.grad.numpy()[rows, cols], rtol=1e-10)  # the dense gradient,
    assert_close(b.grad, tB.grad.numpy(), rtol=1e-10)               # sampled at the pattern


def test_spsolve_empty_system():
    A = msp.sparse_csr_tensor([0], np.zeros(0, np.int64), np.zeros(0), (0, 0))
    assert msp.spsolve(A, mg.zeros(0, dtype=mg.float64)).shape == (0,)
    assert msp.spsolve(A, mg.zeros(0, 3, dtype=mg.float64)).shape == (0, 3)


@pytest.mark.parametrize("with_scipy", [True, False])
def test_spsolve_errors(with_scipy, monkeypatch):
    if not with_scipy:
        monkeypatch.setattr(spf, "_superlu_solve", lambda *args: None)
    S = mg.tensor([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]).to_sparse_csr()
    with pytest.raises(ValueError, match=r"sparse.spsolve: A must be square, got shape "
                                         r"\(2, 3\)"):
        msp.spsolve(S, mg.ones(2))
    A = mg.tensor([[2.0, 1.0], [0.0, 1.0]]).to_sparse_csr()
    with pytest.raises(ValueError, match=r"A \(2, 2\) and B \(3,\) do not fit the equation "
                                         r"A X = B"):
        msp.spsolve(A, mg.ones(3))
    with pytest.raises(ValueError, match=r"do not fit the equation X A = B"):
        msp.spsolve(A, mg.ones(2, 3), left=False)
    with pytest.raises(ValueError, match="other must be 1-D or 2-D"):
        msp.spsolve(A, mg.ones(2, 2, 2))
    with pytest.raises(TypeError, match="got a dense Tensor \\(use mg.linalg.solve\\)"):
        msp.spsolve(mg.eye(2), mg.ones(2))
    with pytest.raises(TypeError, match="expects float32 or float64"):
        msp.spsolve(A.to(dtype=mg.float16), mg.ones(2, dtype=mg.float16))
    singular = mg.tensor([[1.0, 2.0], [2.0, 4.0]]).to_sparse_csr()
    with pytest.raises(LinAlgError, match="sparse.spsolve: the matrix A is singular"):
        msp.spsolve(singular, mg.ones(2))
    empty_row = msp.sparse_coo_tensor([[0], [0]], [1.0], (2, 2))  # row 1 stores nothing
    with pytest.raises(LinAlgError, match="singular"):
        msp.spsolve(empty_row, mg.ones(2))


def test_everything_is_exported():
    for name in ("softmax", "log_softmax", "sum", "addmm", "sampled_addmm", "spdiags",
                 "spsolve"):
        assert name in msp.__all__ and getattr(msp, name) is getattr(spf, name)
