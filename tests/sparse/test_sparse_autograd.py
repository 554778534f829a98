"""Products with a sparse operand and every differentiable sparse op: forward against the
dense product, gradcheck (float64, random cotangent) with respect to the stored values and
to the dense operand, gradgradcheck for the products, and the errors of mm."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import sparse as msp
from minigrad.sparse.ops import SDDMM, SpMM
from minigrad.testing import assert_close

from .strategies import coo_parts, dense_of, host

TOL = {mg.float32: dict(rtol=1e-5, atol=1e-5), mg.float64: dict(rtol=1e-12, atol=1e-12)}


def _parts(rng, m, n, density=0.4, duplicates=True):
    rows, cols = np.nonzero(rng.random((m, n)) < density)
    if duplicates and rows.size:
        extra = rng.integers(0, rows.size, size=max(rows.size // 3, 1))
        rows, cols = np.concatenate([rows, rows[extra]]), np.concatenate([cols, cols[extra]])
        order = rng.permutation(rows.size)
        rows, cols = rows[order], cols[order]
    values = rng.uniform(0.5, 2.0, rows.size) * rng.choice([-1.0, 1.0], rows.size)
    return np.stack([rows, cols]).astype(np.int64).reshape(2, -1), values, (m, n)


def _sparse(layout, indices, shape):
    """fn(values) -> a sparse matrix of the given layout (COO with duplicates, or CSR)."""
    if layout == "coo":
        return lambda v: msp.sparse_coo_tensor(indices, v, shape)
    order = np.lexsort((indices[1], indices[0]))  # CSR rows in order, columns as they come
    rows, cols = indices[0][order], indices[1][order]
    crow = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=shape[0]))])

    def make(v):
        return msp.sparse_csr_tensor(crow, cols, v[order.copy()], shape)
    return make


def _t(a, device, requires_grad=True):
    return mg.tensor(a, dtype=mg.float64, device=device, requires_grad=requires_grad)


# --------------------------------------------------------------------------- forward


@pytest.mark.parametrize("dtype", [mg.float32, mg.float64])
@given(parts=coo_parts(max_side=9), N=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_products_match_dense(parts, N, seed, dtype, device):
    indices, values, (m, n) = parts
    A = dense_of(indices, values, (m, n))
    rng = np.random.default_rng(seed)
    B, x = rng.standard_normal((n, N)), rng.standard_normal(n)
    C, z = rng.standard_normal((N, m)), rng.standard_normal(m)
    S = msp.sparse_coo_tensor(indices, mg.tensor(values, dtype=dtype, device=device), (m, n))
    dev = lambda a: mg.tensor(a, dtype=dtype, device=device)  # noqa: E731
    for X in (S, S.to_sparse_csr()):
        tol = TOL[dtype]
        y = msp.mm(X, dev(B))
        assert y.dtype == dtype and y.shape == (m, N)
        assert_close(y, A @ B, **tol)
        assert_close(X @ dev(B), A @ B, **tol)
        assert_close(X @ dev(x), A @ x, **tol)
        assert_close(msp.mm(dev(C), X), C @ A, **tol)
        assert_close(msp.mm(dev(z), X), z @ A, **tol)
        assert_close(X.__rmatmul__(dev(C)), C @ A, **tol)
        assert_close(X.matmul(dev(x)), A @ x, **tol)


def test_dtypes_are_promoted_as_in_dense_matmul(device):
    S = msp.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 2.0], (2, 2), device=device)
    D = mg.tensor([[1.0], [2.0]], dtype=mg.float64, device=device)
    y = S @ D
    assert y.dtype == mg.float64
    assert_close(y, np.array([[2.0], [2.0]]))
    half = msp.sparse_coo_tensor([[0, 1], [1, 0]], mg.tensor([1.0, 2.0], dtype=mg.float16),
                                 (2, 2))
    y = half @ mg.tensor([3.0, 4.0], dtype=mg.float16)  # no kernel: the xp reference
    assert y.dtype == mg.float16
    assert_close(y, np.array([4.0, 6.0], np.float16))


def _tensor_matmul_defers():
    S = msp.sparse_coo_tensor([[0], [0]], [1.0], (1, 1))
    try:
        mg.ones(1, 1) @ S
    except Exception:
        return False
    return True


@pytest.mark.skipif(not _tensor_matmul_defers(),
                    reason="Tensor.__matmul__ does not defer to sparse operands yet "
                           "(integration: return NotImplemented when other.is_sparse)")
def test_dense_at_sparse_operator(device):
    rng = np.random.default_rng(0)
    indices, values, shape = _parts(rng, 4, 3)
    S = msp.sparse_coo_tensor(indices, values, shape, device=device)
    D = rng.standard_normal((2, 4))
    assert_close(mg.tensor(D, device=device) @ S, D @ dense_of(indices, values, shape),
                 rtol=1e-12, atol=1e-12)


def test_empty_products(device):
    S = msp.sparse_coo_tensor(np.zeros((2, 0), np.int64), _t(np.zeros(0), device), (3, 4))
    D = _t(np.ones((4, 2)), device)
    y = S @ D
    assert_close(y, np.zeros((3, 2)))
    y.sum().backward()
    assert host(D.grad).tolist() == np.zeros((4, 2)).tolist()
    assert S.values().grad.shape == (0,)
    zero_rows = msp.sparse_coo_tensor(np.zeros((2, 0), np.int64), np.zeros(0), (0, 4))
    assert (zero_rows @ mg.ones(4, 2, dtype=mg.float64)).shape == (0, 2)


def test_no_grad_products_record_nothing(device):
    v = _t([1.0, 2.0], device)
    S = msp.sparse_coo_tensor([[0, 1], [1, 0]], v, (2, 2))
    with mg.no_grad():
        y = S @ _t([1.0, 1.0], device)
    assert not y.requires_grad and y.creator is None


# --------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("layout", ["coo", "csr"])
@settings(max_examples=10)
@given(seed=st.integers(0, 2**16), m=st.integers(1, 5), n=st.integers(1, 5),
       N=st.integers(1, 3))
def test_gradcheck_products(layout, seed, m, n, N, device):
    rng = np.random.default_rng(seed)
    indices, values, shape = _parts(rng, m, n)
    make = _sparse(layout, indices, shape)
    v = _t(values, device)
    B, x = _t(rng.standard_normal((n, N)), device), _t(rng.standard_normal(n), device)
    C, z = _t(rng.standard_normal((N, m)), device), _t(rng.standard_normal(m), device)
    assert mg.gradcheck(lambda v, B: msp.mm(make(v), B), (v, B))         # SpMM
    assert mg.gradcheck(lambda v, x: make(v) @ x, (v, x))                # SpMV
    assert mg.gradcheck(lambda v, C: msp.mm(C, make(v)), (v, C))         # D @ S
    assert mg.gradcheck(lambda v, z: msp.mm(z, make(v)), (v, z))         # z @ S


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_gradgradcheck_products(layout, device):
    rng = np.random.default_rng(1)
    indices, values, shape = _parts(rng, 4, 3)
    make = _sparse(layout, indices, shape)
    v = _t(values, device)
    B, x = _t(rng.standard_normal((3, 2)), device), _t(rng.standard_normal(3), device)
    C = _t(rng.standard_normal((2, 4)), device)
    assert mg.gradgradcheck(lambda v, B: msp.mm(make(v), B), (v, B))
    assert mg.gradgradcheck(lambda v, x: make(v) @ x, (v, x))
    assert mg.gradgradcheck(lambda v, C: msp.mm(C, make(v)), (v, C))


def test_gradcheck_sddmm_and_its_second_derivative(device):
    rng = np.random.default_rng(2)
    indices, values, shape = _parts(rng, 4, 5, duplicates=False)
    pattern = msp.sparse_coo_tensor(indices, values, shape).to_sparse_csr()._pattern
    if device == "cuda":
        pattern = pattern.to("cuda")
    P, Q = _t(rng.standard_normal((4, 3)), device), _t(rng.standard_normal((5, 3)), device)
    p, q = _t(rng.standard_normal(4), device), _t(rng.standard_normal(5), device)
    A = dense_of(indices, values, shape) != 0
    assert_close(SDDMM(pattern)(P, Q), (host(P) @ host(Q).T)[np.nonzero(A)], rtol=1e-12)
    assert mg.gradcheck(lambda P, Q: SDDMM(pattern)(P, Q), (P, Q))
    assert mg.gradcheck(lambda p, q: SDDMM(pattern)(p, q), (p, q))
    assert mg.gradgradcheck(lambda P, Q: SDDMM(pattern)(P, Q), (P, Q))
    v = _t(rng.standard_normal(pattern.nnz), device)
    assert mg.gradgradcheck(lambda v, Q: SpMM(pattern)(v, Q), (v, Q))


def test_gradient_of_values_is_the_sampled_product(device):
    """gv_k = (gY Bᵀ)[row_k, col_k]: one number per stored entry, the pattern kept."""
    rng = np.random.default_rng(3)
    indices, values, shape = _parts(rng, 5, 4, duplicates=False)
    v = _t(values, device)
    S = msp.sparse_coo_tensor(indices, v, shape)
    B = rng.standard_normal((4, 3))
    gY = rng.standard_normal((5, 3))
    (S @ _t(B, device, False)).backward(mg.tensor(gY, device=device))
    assert v.grad.shape == (len(values),)
    assert_close(v.grad, (gY @ B.T)[indices[0], indices[1]], rtol=1e-12)


@settings(max_examples=10)
@given(parts=coo_parts(max_side=5, min_side=1))
def test_gradcheck_conversions_and_value_ops(parts, device):
    indices, values, shape = parts
    v = _t(values, device)
    make = lambda v: msp.sparse_coo_tensor(indices, v, shape)  # noqa: E731
    W = _t(np.random.default_rng(0).standard_normal(shape), device)
    checks = [
        lambda v: make(v).to_dense(),
        lambda v: make(v).coalesce().values(),
        lambda v: make(v).to_sparse_csr().values(),
        lambda v: make(v).to_sparse_csr().to_dense(),
        lambda v: make(v).t().to_dense(),
        lambda v: make(v).to_sparse_csr().t().values(),
        lambda v: make(v).to_sparse_csr().t().to_dense(),
        lambda v: make(v).sum(0),
        lambda v: make(v).sum(1),
        lambda v: make(v).to_sparse_csr().sum(0),
        lambda v: make(v).to_sparse_csr().sum(1),
        lambda v: (make(v) * 3.0 / 2.0).to_dense(),
        lambda v: (-make(v)).values(),
        lambda v: make(v).square().values(),
        lambda v: make(v).tanh().to_dense(),
        lambda v: (make(v) + make(v)).to_dense(),
        lambda v: (make(v) + W),
    ]
    for f in checks:
        assert mg.gradcheck(f, (v,))
    assert mg.gradcheck(lambda v, W: (make(v) * W).to_dense(), (v, W))


def test_gradcheck_dense_to_sparse(device):
    """to_sparse_coo / to_sparse_csr gather the values from the dense tensor: gradients
    flow back to it at the nonzero positions. (The pattern itself is not differentiable:
    a constant mask keeps the zeros zero under the finite-difference perturbations.)"""
    D = np.array([[0.0, 1.5, 0.0], [-2.0, 0.0, 0.7]])
    mask = mg.tensor((D != 0).astype(np.float64), device=device)
    t = _t(D, device)
    x = _t([1.0, -1.0, 2.0], device)
    assert mg.gradcheck(lambda t: msp.to_sparse_coo(t * mask).values(), (t,))
    assert mg.gradcheck(lambda t: msp.to_sparse_csr(t * mask).values() * 2, (t,))
    assert mg.gradcheck(lambda t, x: msp.to_sparse_csr(t * mask) @ x, (t, x))
    (msp.to_sparse_coo(t).values() * mg.tensor([1.0, 2.0, 3.0], device=device)).sum().backward()
    assert host(t.grad).tolist() == [[0.0, 1.0, 0.0], [2.0, 0.0, 3.0]]


def test_values_leaf_accumulates_over_two_backward_calls(device):
    v = _t([1.0, 2.0], device)
    S = msp.sparse_coo_tensor([[0, 1], [1, 0]], v, (2, 2))
    x = _t([3.0, 4.0], device, requires_grad=False)
    (S @ x).sum().backward()
    (S @ x).sum().backward()
    assert host(v.grad).tolist() == [8.0, 6.0]


# ------------------------------------------------------------------------------- errors


def test_mm_errors(device):
    S = msp.sparse_coo_tensor([[0], [1]], [1.0], (2, 3), device=device)
    with pytest.raises(ValueError, match=r"mm: cannot multiply sparse \(2, 3\) by dense "
                                         r"\(2, 4\): inner dimensions 3 and 2 differ"):
        msp.mm(S, mg.ones(2, 4, device=device))
    with pytest.raises(ValueError, match=r"mm: cannot multiply dense \(5, 3\) by sparse "
                                         r"\(2, 3\)"):
        msp.mm(mg.ones(5, 3, device=device), S)
    with pytest.raises(ValueError, match="the dense operand must be 1-D or 2-D"):
        msp.mm(S, mg.ones(2, 3, 4, device=device))
    with pytest.raises(TypeError, match=r"sparse @ sparse is not supported"):
        msp.mm(S, S)
    with pytest.raises(TypeError, match="mm: expects a sparse operand"):
        msp.mm(mg.ones(2, 2), mg.ones(2, 2))
    hybrid = msp.sparse_coo_tensor([[0]], [[1.0, 2.0]], (2, 2))
    with pytest.raises(ValueError, match="without dense dimensions"):
        msp.mm(hybrid, mg.ones(2))


@pytest.mark.gpu
def test_mm_refuses_mixed_devices():
    S = msp.sparse_coo_tensor([[0], [1]], [1.0], (2, 2))
    with pytest.raises(RuntimeError, match="sparse operand is on cpu and the dense one on cuda"):
        msp.mm(S, mg.ones(2, device="cuda"))
    with pytest.raises(RuntimeError, match="dense operand is on cuda and the sparse one"):
        msp.mm(mg.ones(2, device="cuda"), S)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [mg.float32, mg.float64])
def test_cuda_kernels_and_vendor_agree(dtype):
    """On CUDA the products run on minigrad.kernels; use_vendor() switches to cuSPARSE."""
    from minigrad import kernels

    rng = np.random.default_rng(4)
    indices, values, shape = _parts(rng, 300, 200, density=0.05)
    S = msp.sparse_coo_tensor(indices, mg.tensor(values, dtype=dtype), shape).to("cuda")
    B = mg.tensor(rng.standard_normal((200, 7)), dtype=dtype, device="cuda")
    x = mg.tensor(rng.standard_normal(200), dtype=dtype, device="cuda")
    A = dense_of(indices, values, shape)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == mg.float32 else dict(rtol=1e-10, atol=1e-10)
    ours = (S @ B, S @ x)
    with kernels.use_vendor():
        vendor = (S @ B, S @ x)
    for o, w, want in zip(ours, vendor, (A @ host(B), A @ host(x))):
        assert_close(o, want, **tol)
        assert_close(w, want, **tol)


def test_mm_hands_a_24_operand_to_its_own_product():
    """mg.sparse.mm is the one entry point: a 2:4 operand brings its own __matmul__."""
    rng = np.random.default_rng(5)
    S = msp.to_sparse_24(mg.tensor(rng.standard_normal((4, 8))))
    D, E = rng.standard_normal((8, 3)), rng.standard_normal((2, 4))
    W = host(S.to_dense())
    assert_close(msp.mm(S, mg.tensor(D)), W @ D, rtol=1e-12, atol=1e-12)
    assert_close(msp.mm(mg.tensor(E), S), E @ W, rtol=1e-12, atol=1e-12)
