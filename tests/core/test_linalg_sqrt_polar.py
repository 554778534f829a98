"""linalg.matrix_sqrth and linalg.polar (PyTorch 2.14's): values by hand and against an
independent algorithm, the gradients where eigen- and singular values repeat (where the
eigh and SVD gradients fail), second derivatives, errors, and torch.linalg as an oracle
when it has them. The hypothesis-drawn gradchecks are op_specs' "matrix_sqrth", "polar"."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import linalg
from minigrad.testing import assert_close


def _t(a, device="cpu", grad=False):
    return mg.tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=grad)


def _spd(rng, shape, shift=0.5):
    m = rng.standard_normal(shape)
    return m @ np.swapaxes(m, -1, -2) + shift * np.eye(shape[-1])


def test_matrix_sqrth_by_hand(device):
    X = linalg.matrix_sqrth(_t([[2.0, 0.0], [0.0, 9.0]], device))
    assert_close(X, [[np.sqrt(2.0), 0.0], [0.0, 3.0]], rtol=1e-15)
    A = _spd(np.random.default_rng(0), (2, 4, 4))
    X = linalg.matrix_sqrth(_t(A, device))
    assert_close(X @ X, A, rtol=1e-12, atol=1e-12)
    assert_close(X, X.mT)                                       # symmetric to the last bit
    assert (np.linalg.eigvalsh(X.cpu().numpy()) > 0).all()      # the principal root
    upper = np.triu(np.full((4, 4), 1e3), 1)                    # only the lower triangle is read
    assert_close(linalg.matrix_sqrth(_t(A + upper, device)), X, rtol=1e-12)
    # not positive-semidefinite: eigenvalues below 0 count as 0, as in PyTorch
    lam, v = np.linalg.eigh([[4.0, 1.0], [1.0, -3.0]])
    assert_close(linalg.matrix_sqrth(_t([[4.0, 1.0], [1.0, -3.0]], device)),
                 (v * np.sqrt(np.maximum(lam, 0))) @ v.T, rtol=1e-12)


def test_matrix_sqrth_gradient_where_eigenvalues_repeat(device):
    """At A = c·I every eigenvalue is c: eigh's eigenvector gradient divides by 0 there,
    the square root's is dX = dA/(2√c), so gA = ½(gX + gXᵀ)/(2√c)."""
    A = _t(4.0 * np.eye(3), device, grad=True)
    g = np.arange(9.0).reshape(3, 3)
    linalg.matrix_sqrth(A).backward(_t(g, device))
    assert_close(A.grad, (g + g.T) / 2 / 4.0, rtol=1e-14)
    # gradients and second derivatives there and away from it, through a symmetric A
    rng = np.random.default_rng(1)
    for base in (4.0 * np.eye(3), _spd(rng, (2, 3, 3))):
        M = _t(rng.standard_normal(base.shape) * 0.1, device, grad=True)
        B = _t(base, device)

        def f(m, b=B):
            return linalg.matrix_sqrth(b + m + m.mT)

        assert mg.gradcheck(f, (M,)) and mg.gradgradcheck(f, (M,))


def test_polar_by_hand(device):
    U, H = linalg.polar(_t([[0.0, -2.0], [2.0, 0.0]], device))   # 2 × (a rotation by 90°)
    assert_close(U, [[0.0, -1.0], [1.0, 0.0]], atol=1e-15)
    assert_close(H, [[2.0, 0.0], [0.0, 2.0]], atol=1e-15)
    rng = np.random.default_rng(2)
    A = rng.standard_normal((3, 5, 3))
    U, H = linalg.polar(_t(A, device))
    assert U.shape == (3, 5, 3) and H.shape == (3, 3, 3)
    assert_close(U @ H, A, rtol=1e-12, atol=1e-13)
    assert_close(U.mT @ U, np.broadcast_to(np.eye(3), (3, 3, 3)), atol=1e-13)
    assert_close(H, H.mT) and (np.linalg.eigvalsh(H.cpu().numpy()) > 0).all()
    assert_close(H, linalg.matrix_sqrth(_t(A, device).mT @ _t(A, device)), rtol=1e-10)
    # U is the closest matrix with orthonormal columns: no random one is closer
    distance = float(mg.linalg.matrix_norm(_t(A, device) - U).sum())
    for _ in range(20):
        Q = np.linalg.qr(rng.standard_normal((3, 5, 3)))[0]
        assert distance < float(np.linalg.norm(A - Q, axis=(-2, -1)).sum())
    U0, H0 = linalg.polar(_t(np.zeros((3, 2)), device))    # A = 0: H = 0, U from the SVD
    assert_close(H0, np.zeros((2, 2)))
    assert_close(U0.mT @ U0, np.eye(2))


def test_polar_is_where_newton_schulz_converges():
    """An independent algorithm: the Newton–Schulz iteration X ← X(3I − XᵀX)/2, from A
    scaled to ‖A‖₂ < √3, converges to U (Higham 2008, §8.3), the orthogonalization that
    optim.Muon's quintic iteration approximates."""
    A = np.random.default_rng(3).standard_normal((6, 4))
    X = A / np.linalg.norm(A, 2)
    for _ in range(60):
        X = X @ (3 * np.eye(4) - X.T @ X) / 2
    assert_close(linalg.polar(_t(A)).U, X, rtol=1e-12, atol=1e-13)


def test_polar_gradients_where_singular_values_repeat(device):
    """An orthogonal A has every singular value 1, where the SVD's gradient divides by 0;
    the polar factors' gradients are finite there. By hand: at A = Q orthogonal, U = Q and
    H = I; with dA = Q·S (S symmetric) only H moves, dH = S; with dA = Q·K (K skew) only U,
    dU = Q·K."""
    Q = np.linalg.qr(np.random.default_rng(4).standard_normal((3, 3)))[0]
    S = np.array([[1.0, 2.0, 0.0], [2.0, -1.0, 3.0], [0.0, 3.0, 0.5]])
    K = np.array([[0.0, 1.0, -2.0], [-1.0, 0.0, 0.5], [2.0, -0.5, 0.0]])
    h = 1e-6
    for dA, dU, dH in ((Q @ S, 0 * S, S), (Q @ K, Q @ K, 0 * K)):
        # the directional derivative from the gradient: ⟨gA, dA⟩ for gU = dU, gH = dH
        A = _t(Q, device, grad=True)
        U, H = linalg.polar(A)
        ((U * _t(dU, device)).sum() + (H * _t(dH, device)).sum()).backward()
        got = float((A.grad * _t(dA, device)).sum())
        assert got == pytest.approx((dU * dU).sum() + (dH * dH).sum(), rel=1e-10)
        Up, Hp = linalg.polar(_t(Q + h * dA, device))
        Um, Hm = linalg.polar(_t(Q - h * dA, device))
        assert_close((Up - Um) / (2 * h), dU, atol=1e-8)
        assert_close((Hp - Hm) / (2 * h), dH, atol=1e-8)
    for A in (Q, np.random.default_rng(5).standard_normal((2, 4, 2))):
        a = _t(A, device, grad=True)
        assert mg.gradcheck(linalg.polar, (a,)) and mg.gradgradcheck(linalg.polar, (a,))


def test_errors():
    with pytest.raises(ValueError, match=r"linalg.polar: A must have at least as many rows "
                                         r"as columns, but got 2 by 3"):
        linalg.polar(mg.zeros(2, 3))
    with pytest.raises(ValueError, match="linalg.matrix_sqrth: A must be batches of square"):
        linalg.matrix_sqrth(mg.zeros(2, 3))
    for f in (linalg.polar, linalg.matrix_sqrth):
        with pytest.raises(TypeError, match="low-precision dtype float16 is not supported"):
            f(mg.eye(2, dtype=mg.float16))
        with pytest.raises(ValueError, match="at least 2 dims"):
            f(mg.ones(3))


def test_matches_torch_linalg():
    torch = pytest.importorskip("torch")
    if not hasattr(torch.linalg, "polar"):
        pytest.skip("torch.linalg.polar and matrix_sqrth are PyTorch 2.14's")
    rng = np.random.default_rng(6)
    cases = [(lambda L, a: L.matrix_sqrth(a), _spd(rng, (2, 3, 3))),
             (lambda L, a: L.matrix_sqrth(a), 4.0 * np.eye(3)),
             (lambda L, a: tuple(L.polar(a)), rng.standard_normal((2, 5, 3))),
             (lambda L, a: tuple(L.polar(a)), np.linalg.qr(rng.standard_normal((3, 3)))[0])]
    for k, (fn, a) in enumerate(cases):
        x, t = _t(a, grad=True), torch.tensor(a, requires_grad=True)
        ys, yts = fn(linalg, x), fn(torch.linalg, t)
        ys, yts = (ys, yts) if isinstance(ys, tuple) else ((ys,), (yts,))
        loss, loss_t = 0, 0
        for y, yt in zip(ys, yts):
            assert_close(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12, msg=f"case {k}")
            g = rng.standard_normal(y.shape)
            loss, loss_t = loss + (y * _t(g)).sum(), loss_t + (yt * torch.tensor(g)).sum()
        loss.backward()
        loss_t.backward()
        assert_close(x.grad, t.grad.numpy(), rtol=1e-9, atol=1e-11, msg=f"gradient, case {k}")
