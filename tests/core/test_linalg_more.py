"""linalg: solve_triangular, lstsq, matrix_rank, cond, matrix_exp, vander, tensorinv,
tensorsolve: by hand, gradients (gradgradcheck for the differentiable ones), errors, and
torch.linalg as an oracle when installed."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import linalg
from minigrad.testing import assert_close


def _t(a, device="cpu", grad=False):
    return mg.tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=grad)


def test_solve_triangular_reads_one_triangle(device):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    B = rng.standard_normal((3, 2))
    for upper in (True, False):
        T = np.triu(A) if upper else np.tril(A)
        X = linalg.solve_triangular(_t(A, device), _t(B, device), upper=upper)
        assert_close(X, np.linalg.solve(T, B), rtol=1e-12)
    U = np.triu(A)
    np.fill_diagonal(U, 1.0)
    X = linalg.solve_triangular(_t(A, device), _t(B, device), upper=True, unitriangular=True)
    assert_close(X, np.linalg.solve(U, B), rtol=1e-12)
    Xr = linalg.solve_triangular(_t(A, device), _t(B.T, device), upper=False, left=False)
    assert_close(Xr @ _t(np.tril(A), device), B.T, rtol=1e-12)
    a = _t(A, device, grad=True)
    linalg.solve_triangular(a, _t(B, device), upper=True).sum().backward()
    assert (np.tril(a.grad.cpu().numpy(), -1) == 0).all()       # only the triangle read
    assert mg.gradgradcheck(lambda a, b: linalg.solve_triangular(a, b, upper=False),
                            (_t(A, device, True), _t(B, device, True)))


def test_lstsq_rank_cond(device):
    A = _t([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]], device)
    b = _t([[1.0], [2.0], [4.0]], device)
    res = linalg.lstsq(A, b, driver="gelsd")
    x = res.solution.cpu().numpy()
    assert_close(x, np.linalg.lstsq(A.cpu().numpy(), b.cpu().numpy(), rcond=None)[0],
                 rtol=1e-12)
    assert res.rank.item() == 2 and res.singular_values.shape == (2,)
    r = A.cpu().numpy() @ x - b.cpu().numpy()
    assert res.residuals.item() == pytest.approx(float((r ** 2).sum()), rel=1e-12)
    assert linalg.lstsq(A, b).residuals.shape == ((0,) if device == "cpu" else (1,))
    low = _t([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]], device)        # rank 1: minimum norm
    y = linalg.lstsq(low, b).solution.cpu().numpy()
    assert_close(y, np.linalg.pinv(low.cpu().numpy()) @ b.cpu().numpy(), rtol=1e-10)
    assert linalg.matrix_rank(low).item() == 1 and linalg.matrix_rank(A).item() == 2
    assert linalg.matrix_rank(_t(np.eye(3), device), hermitian=True).item() == 3
    M = _t([[2.0, 0.0], [0.0, 0.5]], device)
    assert linalg.cond(M).item() == pytest.approx(4.0)
    assert linalg.cond(M, 1).item() == pytest.approx(4.0)
    assert linalg.cond(M, -2).item() == pytest.approx(0.25)
    a = _t(A.cpu().numpy(), device, grad=True)
    assert mg.gradcheck(lambda a, b: linalg.lstsq(a, b).solution, (a, _t(b.cpu().numpy(),
                                                                        device, True)))
    with pytest.raises(ValueError, match="same number of rows"):
        linalg.lstsq(A, _t([[1.0], [2.0]], device))


def test_matrix_exp_by_hand_and_gradients(device):
    t = 0.7
    R = linalg.matrix_exp(_t([[0.0, t], [-t, 0.0]], device))
    assert_close(R, [[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]], rtol=1e-14)
    rng = np.random.default_rng(1)
    A = _t(rng.standard_normal((3, 3)) * 0.8, device, grad=True)
    assert mg.gradcheck(linalg.matrix_exp, (A,))
    assert mg.gradgradcheck(linalg.matrix_exp, (A,))
    assert_close(linalg.matrix_exp(_t(np.zeros((2, 2)), device)), np.eye(2))
    # e^(A)e^(−A) = I and e^(2A) = (e^A)² for an A large enough to be scaled and squared
    B = _t(rng.standard_normal((4, 4)) * 5, device)
    # (‖e^B‖·‖e^(−B)‖ ≈ 6e6 here: rounding alone leaves ~ε·6e6 ≈ 1e-9, 9.4e-10 on NumPy)
    assert_close(linalg.matrix_exp(B) @ linalg.matrix_exp(-B), np.eye(4), atol=1e-8)
    E = linalg.matrix_exp(B)
    assert_close(linalg.matrix_exp(2 * B), (E @ E).cpu().numpy(), rtol=1e-10)


def test_matrix_exp_against_scipy(device):
    expm = pytest.importorskip("scipy.linalg").expm
    rng = np.random.default_rng(1)
    for scale in (0.1, 3.0, 40.0):                      # scaling and squaring kicks in
        A = rng.standard_normal((2, 4, 4)) * scale / 4
        assert_close(linalg.matrix_exp(_t(A, device)), np.stack([expm(a) for a in A]),
                     rtol=1e-11, atol=1e-13)


def test_vander_and_tensor_solvers(device):
    x = _t([1.0, 2.0, 3.0], device)
    assert linalg.vander(x).tolist() == [[1, 1, 1], [1, 2, 4], [1, 3, 9]]
    assert linalg.vander(x, N=2).shape == (3, 2)
    rng = np.random.default_rng(2)
    A = rng.standard_normal((6, 2, 3)) + np.eye(6).reshape(6, 2, 3) * 3
    Ainv = linalg.tensorinv(_t(A, device), ind=1)
    assert Ainv.shape == (2, 3, 6)
    assert_close(np.tensordot(Ainv.cpu().numpy(), A, 1).reshape(6, 6), np.eye(6), atol=1e-12)
    B = rng.standard_normal(6)
    X = linalg.tensorsolve(_t(A, device), _t(B, device))
    assert X.shape == (2, 3)
    assert_close(np.tensordot(A, X.cpu().numpy(), 2), B, rtol=1e-12)
    with pytest.raises(ValueError, match="must have as many elements"):
        linalg.tensorinv(_t(np.ones((2, 3)), device), ind=1)


def test_matches_torch_linalg():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    A = rng.standard_normal((2, 4, 4)) * 0.9
    B = rng.standard_normal((2, 4, 3))
    tall = rng.standard_normal((5, 3))
    for ours, theirs, args in [
            (lambda a: linalg.matrix_exp(a), lambda a: torch.linalg.matrix_exp(a), (A,)),
            (lambda a, b: linalg.solve_triangular(a, b, upper=True),
             lambda a, b: torch.linalg.solve_triangular(a, b, upper=True), (A, B)),
            (lambda a, b: linalg.solve_triangular(a, b, upper=False, unitriangular=True),
             lambda a, b: torch.linalg.solve_triangular(a, b, upper=False,
                                                        unitriangular=True), (A, B)),
            (lambda a, b: linalg.lstsq(a, b).solution,
             lambda a, b: torch.linalg.lstsq(a, b).solution, (tall, tall[:, :2] + 1)),
            (lambda a: linalg.cond(a), lambda a: torch.linalg.cond(a), (A,)),
            (lambda x: linalg.vander(x), lambda x: torch.linalg.vander(x), (A[0, 0],))]:
        ours_in = [mg.tensor(a, requires_grad=True) for a in args]
        theirs_in = [torch.tensor(a, requires_grad=True) for a in args]
        y, yt = ours(*ours_in), theirs(*theirs_in)
        assert_close(y, yt.detach().cpu().numpy(), rtol=1e-10, atol=1e-12)
        g = rng.standard_normal(yt.shape)
        y.backward(mg.tensor(g))
        yt.backward(torch.tensor(g))
        for p, q in zip(ours_in, theirs_in):
            assert_close(p.grad, q.grad.cpu().numpy(), rtol=1e-8, atol=1e-10)
    assert linalg.matrix_rank(mg.tensor(A)).tolist() == torch.linalg.matrix_rank(
        torch.tensor(A)).tolist()
