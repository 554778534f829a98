"""The LU family (mg.linalg.lu, lu_factor, lu_factor_ex, lu_solve; mg.lu, mg.lu_unpack,
mg.lu_solve), PyTorch's other top-level solvers (cholesky_inverse, cholesky_solve,
triangular_solve, svd, qr, cholesky, matrix_exp) and the products mv, vdot, addr, addbmm,
ger, adjoint: values by hand, gradients by gradcheck and gradgradcheck on
hypothesis-drawn, well-conditioned inputs on every device, clear errors, and PyTorch as
an oracle when it is installed."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import linalg
from minigrad.testing import arrays, assert_close

from ..torch_oracle import cholesky, qr


def _t(a, device="cpu", grad=False):
    return mg.tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=grad)


def _gradcheck(fn, *arrays_, device, second=True):
    xs = [_t(a, device, grad=True) for a in arrays_]
    assert mg.gradcheck(fn, xs)
    if second:
        assert mg.gradgradcheck(fn, xs)


A3 = [[2.0, 1.0, 1.0], [4.0, -6.0, 0.0], [-2.0, 7.0, 2.0]]


# ------------------------------------------------------------------ by hand


def test_lu_by_hand(device):
    # column 0: |4| is largest, rows 0 and 1 swap; column 1: a tie |4| = |4| keeps the
    # first row (LAPACK's idamax), so no swap; U[2, 2] = 2 - 1·1 = 1
    P, L, U = linalg.lu(_t(A3, device))
    assert P.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    assert L.tolist() == [[1.0, 0.0, 0.0], [0.5, 1.0, 0.0], [-0.5, 1.0, 1.0]]
    assert U.tolist() == [[4.0, -6.0, 0.0], [0.0, 4.0, 1.0], [0.0, 0.0, 1.0]]
    LU, pivots = linalg.lu_factor(_t(A3, device))
    assert LU.tolist() == [[4.0, -6.0, 0.0], [0.5, 4.0, 1.0], [-0.5, 1.0, 1.0]]
    assert pivots.tolist() == [2, 2, 3] and pivots.dtype == mg.int32
    P, L, U = mg.lu_unpack(LU, pivots)
    assert (P @ L @ U).tolist() == A3
    assert mg.lu(_t(A3, device))[1].tolist() == [2, 2, 3]
    assert [t.tolist() for t in _t(A3, device).lu(get_infos=True)[1:]] == [[2, 2, 3], 0]


def test_lu_of_wide_tall_batched_and_empty_matrices(device):
    rng = np.random.default_rng(0)
    for shape in [(2, 4), (4, 2), (3, 2, 3), (2, 1, 1), (0, 0), (2, 0, 3)]:
        A = rng.standard_normal(shape)
        P, L, U = linalg.lu(_t(A, device))
        m, n = shape[-2:]
        k = min(m, n)
        assert P.shape == shape[:-2] + (m, m) and L.shape == shape[:-2] + (m, k)
        assert U.shape == shape[:-2] + (k, n)
        assert_close(P @ L @ U, A, rtol=1e-12, atol=1e-12)
        assert_close(L, np.tril(L.cpu().numpy()), rtol=0)
        assert_close(U, np.triu(U.cpu().numpy()), rtol=0)
        LU, pivots = linalg.lu_factor(_t(A, device))
        assert LU.shape == shape and pivots.shape == shape[:-2] + (k,)
        assert_close(mg.lu_unpack(LU, pivots).L, L, rtol=0)
        if k:   # partial pivoting: every multiplier is at most 1 in magnitude
            assert np.abs(np.tril(L.cpu().numpy(), -1)).max() <= 1.0


def test_lu_without_pivoting_and_singular_matrices(device):
    A = _t([[4.0, 1.0], [2.0, 3.0]], device)
    P, L, U = linalg.lu(A, pivot=False)
    assert P.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert L.tolist() == [[1.0, 0.0], [0.5, 1.0]] and U.tolist() == [[4.0, 1.0], [0.0, 2.5]]
    _, L, U = linalg.lu(_t([[0.0, 1.0], [1.0, 1.0]], device), pivot=False)
    assert np.isinf(L.cpu().numpy()[1, 0])                   # a zero pivot: inf, no error
    S = _t([[1.0, 2.0], [2.0, 4.0]], device)
    LU, pivots, info = linalg.lu_factor_ex(S)
    assert LU.tolist() == [[2.0, 4.0], [0.5, 0.0]] and pivots.tolist() == [2, 2]
    assert info.item() == 2 and info.dtype == mg.int32
    LU, pivots, info = linalg.lu_factor_ex(mg.zeros(2, 2, dtype=mg.float64, device=device))
    assert pivots.tolist() == [1, 2] and info.item() == 1
    assert linalg.lu_factor_ex(_t(np.stack([A3, np.eye(3)]), device)).info.tolist() == [0, 0]
    with pytest.raises(linalg.LinAlgError, match=r"linalg.lu_factor: U\[2,2\] is zero"):
        linalg.lu_factor(S)
    with pytest.raises(linalg.LinAlgError, match=r"U\[2,2\] is zero"):
        mg.lu(S)
    assert linalg.lu(S).U.tolist() == [[2.0, 4.0], [0.0, 0.0]]   # lu factors it anyway


def test_lu_solve_in_all_four_forms(device):
    rng = np.random.default_rng(1)
    A = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    B = rng.standard_normal((2, 3, 2))
    LU, pivots = linalg.lu_factor(_t(A, device))
    Bt = np.swapaxes(B, -1, -2)
    At = np.swapaxes(A, -1, -2)
    assert_close(linalg.lu_solve(LU, pivots, _t(B, device)), np.linalg.solve(A, B),
                 rtol=1e-10)
    assert_close(linalg.lu_solve(LU, pivots, _t(B, device), adjoint=True),
                 np.linalg.solve(At, B), rtol=1e-10)
    assert_close(linalg.lu_solve(LU, pivots, _t(Bt, device), left=False),
                 Bt @ np.linalg.inv(A), rtol=1e-10)
    assert_close(linalg.lu_solve(LU, pivots, _t(Bt, device), left=False, adjoint=True),
                 Bt @ np.linalg.inv(At), rtol=1e-10)
    one = _t(B[0], device)                                  # B broadcast over the batch
    assert_close(linalg.lu_solve(LU, pivots, one), np.linalg.solve(A, B[0]), rtol=1e-10)
    assert_close(mg.lu_solve(one, LU, pivots), np.linalg.solve(A, B[0]), rtol=1e-10)
    assert_close(one.lu_solve(LU, pivots), np.linalg.solve(A, B[0]), rtol=1e-10)
    assert_close(linalg.lu_solve(LU, pivots.long(), one), np.linalg.solve(A, B[0]),
                 rtol=1e-10)                                 # int64 pivots are taken too


def test_products_by_hand(device):
    M = _t([[1.0, 2.0], [3.0, 4.0]], device)
    assert mg.mv(M, _t([1.0, 1.0], device)).tolist() == [3.0, 7.0]
    assert M.mv(_t([1.0, 0.0], device)).tolist() == [1.0, 3.0]
    assert mg.vdot(_t([1.0, 2.0, 3.0], device), _t([4.0, 5.0, 6.0], device)).item() == 32.0
    u, v = _t([1.0, 2.0], device), _t([0.0, 1.0, 2.0], device)
    assert mg.addr(mg.ones(2, 3, dtype=mg.float64, device=device), u, v, beta=2,
                   alpha=0.5).tolist() == [[2.0, 2.5, 3.0], [2.0, 3.0, 4.0]]
    assert _t([1.0, 1.0, 1.0], device).addr(u, v).tolist() == [[1.0, 2.0, 3.0],
                                                               [1.0, 3.0, 5.0]]
    b1, b2 = mg.ones(3, 2, 4, device=device), mg.ones(3, 4, 2, device=device)
    assert mg.addbmm(mg.ones(2, 2, device=device), b1, b2, beta=0.5).tolist() == \
        [[12.5, 12.5], [12.5, 12.5]]
    assert mg.ones(2, device=device).addbmm(b1, b2, alpha=2).shape == (2, 2)
    assert mg.ger(u, v).tolist() == [[0.0, 1.0, 2.0], [0.0, 2.0, 4.0]] == u.ger(v).tolist()
    x = mg.zeros(2, 3, 4, device=device)
    assert mg.adjoint(x).shape == (2, 4, 3)
    x.adjoint()[1, 3, 2] = 7.0                               # a view, as PyTorch's
    assert x[1, 2, 3].item() == 7.0


def test_cholesky_inverse_solve_and_triangular_solve_by_hand(device):
    L = _t([[2.0, 0.0], [1.0, 1.0]], device)                 # A = L·Lᵀ = [[4, 2], [2, 2]]
    inverse = [[0.5, -0.5], [-0.5, 1.0]]
    assert mg.cholesky_inverse(L).tolist() == inverse
    assert L.mT.cholesky_inverse(upper=True).tolist() == inverse
    junk = _t([[2.0, 9.0], [1.0, 1.0]], device)              # the other triangle is not read
    assert mg.cholesky_inverse(junk).tolist() == inverse
    B = _t([[4.0], [3.0]], device)
    assert mg.cholesky_solve(B, junk).tolist() == [[0.5], [1.0]]
    assert B.cholesky_solve(L.mT, upper=True).tolist() == [[0.5], [1.0]]
    U = _t([[2.0, 1.0], [0.0, 4.0]], device)
    b = _t([[4.0], [8.0]], device)
    X, C = mg.triangular_solve(b, U)
    assert X.tolist() == [[1.0], [2.0]] and C.tolist() == U.tolist()
    assert b.triangular_solve(U, transpose=True).solution.tolist() == [[2.0], [1.5]]
    assert b.triangular_solve(U, upper=False).solution.tolist() == [[2.0], [2.0]]
    assert mg.triangular_solve(b, U, unitriangular=True).solution.tolist() == [[-4.0], [8.0]]
    X, C = mg.triangular_solve(mg.ones(3, 2, 1, dtype=mg.float64, device=device), U)
    assert X.shape == (3, 2, 1) and C.shape == (3, 2, 2)     # the copy follows the batch


def test_older_decomposition_names(device):
    rng = np.random.default_rng(2)
    A = rng.standard_normal((4, 3))
    U, S, V = mg.svd(_t(A, device))
    assert (U.shape, S.shape, V.shape) == ((4, 3), (3,), (3, 3))
    assert_close(U @ mg.diag(S) @ V.mT, A, rtol=1e-10, atol=1e-12)   # V, not Vh
    U, S, V = _t(A, device).svd(some=False)
    assert (U.shape, V.shape) == ((4, 4), (3, 3))
    U, S, V = mg.svd(_t(A.T, device), compute_uv=False)
    assert U.tolist() == np.zeros((3, 3)).tolist() and V.tolist() == np.zeros((4, 4)).tolist()
    assert_close(S, np.linalg.svd(A, compute_uv=False), rtol=1e-10)
    Q, R = mg.qr(_t(A, device))
    assert (Q.shape, R.shape) == ((4, 3), (3, 3))
    Q, R = _t(A, device).qr(some=False)
    assert (Q.shape, R.shape) == ((4, 4), (4, 3))
    assert_close(Q @ R, A, rtol=1e-10, atol=1e-12)
    spd = _t([[4.0, 2.0], [2.0, 5.0]], device)
    assert mg.cholesky(spd).tolist() == [[2.0, 0.0], [1.0, 2.0]]
    assert spd.cholesky(upper=True).tolist() == [[2.0, 1.0], [0.0, 2.0]]
    rot = _t([[0.0, 1.0], [-1.0, 0.0]], device)
    assert_close(rot.matrix_exp(), [[np.cos(1), np.sin(1)], [-np.sin(1), np.cos(1)]],
                 rtol=1e-14)
    assert_close(mg.matrix_exp(rot), rot.matrix_exp(), rtol=0)


# ------------------------------------------------------------------ errors


def test_bad_arguments_get_clear_errors():
    A = _t(A3)
    LU, pivots = linalg.lu_factor(A)
    with pytest.raises(ValueError, match="linalg.lu: A must have at least 2 dims"):
        linalg.lu(mg.ones(3))
    with pytest.raises(TypeError, match="linalg.lu_factor: A must be a floating-point tensor"):
        linalg.lu_factor(mg.ones(2, 2, dtype=mg.int64))
    with pytest.raises(ValueError, match="linalg.lu_solve: A must be batches of square"):
        linalg.lu_solve(mg.ones(2, 3), mg.tensor([1, 2], dtype=mg.int32), mg.ones(2, 1))
    with pytest.raises(TypeError, match="linalg.lu_solve: pivots must be an integer"):
        linalg.lu_solve(LU, pivots.double(), _t(np.ones((3, 1))))
    with pytest.raises(ValueError, match=r"linalg.lu_solve: pivots must have shape \(3,\)"):
        linalg.lu_solve(LU, pivots[:2], _t(np.ones((3, 1))))
    with pytest.raises(ValueError, match=r"pivots must be in \[1, 3\]"):
        linalg.lu_solve(LU, mg.tensor([1, 4, 3]), _t(np.ones((3, 1))))
    with pytest.raises(ValueError, match="linalg.lu_solve: B must have at least 2 dims"):
        linalg.lu_solve(LU, pivots, _t(np.ones(3)))
    with pytest.raises(ValueError, match=r"linalg.lu_solve: B .* must have 3 rows"):
        linalg.lu_solve(LU, pivots, _t(np.ones((2, 1))))
    with pytest.raises(ValueError, match=r"linalg.lu_solve: B .* must have 3 columns"):
        linalg.lu_solve(LU, pivots, _t(np.ones((3, 2))), left=False)
    S = linalg.lu_factor_ex(_t([[1.0, 2.0], [2.0, 4.0]]))
    with pytest.raises(linalg.LinAlgError, match="linalg.lu_solve: U has a zero on its"):
        linalg.lu_solve(S.LU, S.pivots, _t(np.ones((2, 1))))
    with pytest.raises(ValueError, match=r"lu_unpack: pivots must have shape \(3,\)"):
        mg.lu_unpack(LU, pivots.reshape(1, 3))
    with pytest.raises(ValueError, match=r"mv: shapes \(2, 3\) and \(2,\) cannot be"):
        mg.mv(mg.ones(2, 3), mg.ones(2))
    with pytest.raises(ValueError, match="mv: input must be 2-D"):
        mg.mv(mg.ones(3), mg.ones(3))
    with pytest.raises(ValueError, match="vdot: expects 1-D tensors"):
        mg.vdot(mg.ones(1, 3), mg.ones(1, 3))
    with pytest.raises(ValueError, match="vectors of different lengths"):
        mg.vdot(mg.ones(2), mg.ones(3))
    with pytest.raises(ValueError, match="addbmm: batch1 and batch2 must have the same "
                                         "number of batches"):
        mg.addbmm(mg.ones(2, 2), mg.ones(3, 2, 4), mg.ones(2, 4, 2))
    with pytest.raises(ValueError, match=r"addr: input of shape \(3, 3\) does not broadcast"):
        mg.addr(mg.ones(3, 3), mg.ones(2), mg.ones(3))
    with pytest.raises(ValueError, match="adjoint: expects a matrix or a batch"):
        mg.ones(3).adjoint()
    with pytest.raises(ValueError, match="triangular_solve: B must have at least 2 dims"):
        mg.triangular_solve(mg.ones(2), mg.eye(2))
    with pytest.raises(ValueError, match=r"triangular_solve: b .* must have 2 rows"):
        mg.triangular_solve(mg.ones(3, 1), mg.eye(2))
    with pytest.raises(ValueError, match="cholesky_solve: B must have at least 2 dims"):
        mg.cholesky_solve(mg.ones(2), mg.eye(2))
    with pytest.raises(ValueError, match="cholesky_inverse: A must be batches of square"):
        mg.cholesky_inverse(mg.ones(2, 3))


# ------------------------------------------------------------------ gradients


@st.composite
def pivoted_matrices(draw, square=False):
    """A (batch..., m, n) whose partial pivoting is unambiguous and whose U is well
    conditioned: B + c·I (entries of B in [-3, 3], c = 4·max(m, n), so every column is
    strictly dominated by its diagonal entry, also in each Schur complement), its rows
    then shuffled so that the pivoting has rows to move."""
    m = draw(st.integers(1, 4))
    n = m if square else draw(st.integers(1, 4))
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    B = draw(arrays(shape=batch + (m, n)))
    A = B + 4 * max(m, n) * np.eye(m, n)
    return A[..., draw(st.permutations(range(m))), :]


@given(A=pivoted_matrices())
def test_gradcheck_of_lu_and_lu_factor(A, device):
    _gradcheck(lambda a: linalg.lu(a)[1:], A, device=device)
    _gradcheck(lambda a: linalg.lu_factor(a).LU, A, device=device)
    _gradcheck(lambda a: linalg.lu(a).U, A, device=device, second=False)   # L unused
    _gradcheck(lambda a: linalg.lu(a).L, A, device=device, second=False)   # U unused


@given(A=pivoted_matrices(square=True), data=st.data())
def test_gradcheck_of_lu_solve_through_a_and_b(A, data, device):
    n = A.shape[-1]
    k = data.draw(st.integers(1, 3))
    left, adjoint = data.draw(st.booleans()), data.draw(st.booleans())
    B = data.draw(arrays(shape=A.shape[:-2] + ((n, k) if left else (k, n))))

    def solve_with_lu(a, b):
        return linalg.lu_solve(*linalg.lu_factor(a), b, left=left, adjoint=adjoint)

    _gradcheck(solve_with_lu, A, B, device=device)
    LU, pivots = linalg.lu_factor(_t(A, device))             # LU itself as the input
    _gradcheck(lambda lu_, b: linalg.lu_solve(lu_, pivots, b, left=left, adjoint=adjoint),
               LU.cpu().numpy(), B, device=device)
    _gradcheck(lambda lu_: mg.lu_unpack(lu_, pivots)[1:], LU.cpu().numpy(), device=device)


@given(data=st.data())
def test_gradcheck_of_cholesky_inverse_solve_and_triangular_solve(data, device):
    n = data.draw(st.integers(1, 4))
    batch = data.draw(st.sampled_from([(), (2,)]))
    F = data.draw(arrays(shape=batch + (n, n))) + 4 * n * np.eye(n)
    B = data.draw(arrays(shape=batch + (n, data.draw(st.integers(1, 3)))))
    upper = data.draw(st.booleans())

    def triangle(f):  # the factor's triangle: the only entries the value depends on
        return f.triu() if upper else f.tril()

    _gradcheck(lambda f: mg.cholesky_inverse(triangle(f), upper=upper), F, device=device)
    _gradcheck(lambda b, f: mg.cholesky_solve(b, triangle(f), upper=upper), B, F,
               device=device)
    transpose, unit = data.draw(st.booleans()), data.draw(st.booleans())
    _gradcheck(lambda b, a: mg.triangular_solve(b, a, upper, transpose, unit), B, F,
               device=device)


@given(data=st.data())
def test_gradcheck_of_the_products(data, device):
    n, m, p, b = (data.draw(st.integers(1, 4)) for _ in range(4))
    M, v, w = (data.draw(arrays(shape=s)) for s in ((n, m), (m,), (n,)))
    _gradcheck(lambda a, x: mg.mv(a, x), M, v, device=device)
    _gradcheck(lambda x, y: mg.vdot(x, y), v, v[::-1].copy(), device=device)
    _gradcheck(lambda c, x, y: mg.addr(c, x, y, beta=0.5, alpha=-2.0), M[:1], w, v,
               device=device)
    b1, b2 = data.draw(arrays(shape=(b, n, m))), data.draw(arrays(shape=(b, m, p)))
    c = data.draw(arrays(shape=(p,)))
    _gradcheck(lambda c, x, y: mg.addbmm(c, x, y, beta=2.0, alpha=0.5), c, b1, b2,
               device=device)
    _gradcheck(lambda x, y: mg.ger(x, y), w, v, device=device)
    _gradcheck(lambda a: mg.adjoint(a) * 2, b1, device=device)


def test_gradcheck_of_the_older_names(device):
    rng = np.random.default_rng(3)
    A = rng.standard_normal((4, 3))
    _gradcheck(lambda a: (lambda r: (r.U ** 2, r.S, r.V ** 2))(mg.svd(a)), A, device=device)
    _gradcheck(lambda a: mg.svd(a, compute_uv=False).S, A, device=device)
    _gradcheck(lambda a: mg.qr(a), A, device=device)
    spd = A.T @ A + 3 * np.eye(3)
    _gradcheck(lambda a: mg.cholesky((a + a.mT) / 2, upper=True), spd, device=device)
    _gradcheck(lambda a: mg.matrix_exp(a / 4), A[:3], device=device)


# ------------------------------------------------------------------ PyTorch as oracle


@pytest.mark.filterwarnings("ignore::UserWarning")  # PyTorch's deprecation notes
def test_values_and_gradients_equal_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    sq = rng.standard_normal((3, 3))
    batch = rng.standard_normal((2, 3, 3))
    wide, tall = rng.standard_normal((2, 4)), rng.standard_normal((4, 2))
    rhs = rng.standard_normal((3, 2))
    tri = np.tril(rng.standard_normal((3, 3))) + 3 * np.eye(3)
    vec = rng.standard_normal(3)

    def lu_solve(m, a, b, left=True, adjoint=False):
        return m.linalg.lu_solve(*m.linalg.lu_factor(a), b, left=left, adjoint=adjoint)

    cases = [
        (lambda m, a: m.linalg.lu(a)[1:], [sq]),
        (lambda m, a: m.linalg.lu(a)[1:], [batch]),
        (lambda m, a: m.linalg.lu(a)[1:], [wide]),
        (lambda m, a: m.linalg.lu(a)[1:], [tall]),
        (lambda m, a: m.linalg.lu(a).P, [batch]),
        (lambda m, a: m.linalg.lu_factor(a).LU, [batch]),
        (lambda m, a: m.linalg.lu_factor(a).LU, [wide]),
        (lambda m, a: m.lu(a)[0], [sq]),
        (lambda m, a: m.lu_unpack(*m.linalg.lu_factor(a)), [tall]),
        (lambda m, a, b: lu_solve(m, a, b), [batch, rhs]),
        (lambda m, a, b: lu_solve(m, a, b, adjoint=True), [sq, rhs]),
        (lambda m, a, b: lu_solve(m, a, b.mT, left=False), [batch, rhs]),
        (lambda m, a, b: lu_solve(m, a, b.mT, left=False, adjoint=True), [sq, rhs]),
        (lambda m, a, b: m.lu_solve(b, *m.linalg.lu_factor(a)), [sq, rhs]),
        (lambda m, f: m.cholesky_inverse(f), [tri]),
        (lambda m, f: m.cholesky_inverse(f.mT, upper=True), [tri]),
        (lambda m, f, b: m.cholesky_solve(b, f), [tri, rhs]),
        (lambda m, f, b: m.cholesky_solve(b, f.mT, upper=True), [tri, rhs]),
        (lambda m, a, b: m.triangular_solve(b, a), [sq, rhs]),
        (lambda m, a, b: m.triangular_solve(b, a, upper=False, transpose=True,
                                            unitriangular=True), [batch, rhs]),
        (lambda m, a, x: m.mv(a, x), [sq, vec]),
        (lambda m, x, y: m.vdot(x, y), [vec, rhs[:, 0]]),
        (lambda m, c, x, y: m.addr(c, x, y, beta=0.5, alpha=2), [sq, vec, rhs[:, 1]]),
        (lambda m, c, x, y: m.addbmm(c, x, y, beta=2, alpha=-1), [sq[0], batch, batch]),
        (lambda m, x, y: m.ger(x, y), [vec, rhs[:, 1]]),
        (lambda m, a: m.adjoint(a) * 1.0, [batch]),
        (lambda m, a: (lambda r: (r[0] ** 2, r[1], r[2] ** 2))(m.svd(a)), [tall]),
        (lambda m, a: (lambda r: (r[0] @ r[1], r[1].abs()))(qr(m, a)), [tall]),
        (lambda m, a: cholesky(m, a @ a.mT + m.eye(3, dtype=a.dtype), upper=True), [sq]),
        (lambda m, a: m.matrix_exp(a), [sq]),
    ]
    for k, (fn, data) in enumerate(cases):
        xs = [mg.tensor(d, requires_grad=True) for d in data]
        ts = [torch.tensor(d, requires_grad=True) for d in data]
        ys, yts = fn(mg, *xs), fn(torch, *ts)
        ys = ys if isinstance(ys, tuple) else (ys,)
        yts = yts if isinstance(yts, tuple) else (yts,)
        for y, yt in zip(ys, yts):
            assert_close(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12, msg=f"case {k}")
        pairs = [(y, yt) for y, yt in zip(ys, yts) if yt.requires_grad]
        if not pairs:
            continue
        gs = [rng.standard_normal(yt.shape) for _, yt in pairs]
        sum((y * mg.tensor(g)).sum() for (y, _), g in zip(pairs, gs)).backward()
        torch.autograd.backward([yt for _, yt in pairs], [torch.tensor(g) for g in gs])
        for x, t in zip(xs, ts):
            assert_close(x.grad, t.grad.numpy(), rtol=1e-9, atol=1e-12, msg=f"case {k}")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_integer_outputs_equal_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    for A in [rng.standard_normal((2, 4, 4)), rng.integers(-2, 3, (3, 5)).astype(float),
              np.array([[1.0, 2.0], [2.0, 4.0]]), np.zeros((2, 2)), rng.standard_normal((5, 2))]:
        ours = linalg.lu_factor_ex(mg.tensor(A))
        theirs = torch.linalg.lu_factor_ex(torch.tensor(A))
        assert ours.pivots.tolist() == theirs.pivots.tolist()
        assert ours.info.tolist() == theirs.info.tolist()
        assert_close(ours.LU, theirs.LU.numpy(), rtol=1e-12, atol=1e-14)
