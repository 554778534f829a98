"""L-BFGS, SAM/ASAM and Sophia: steps recomputed by hand, convergence, and (when torch
imports) L-BFGS trajectories against torch.optim.LBFGS."""
import math
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.optim import lr_scheduler
from minigrad.optim.lbfgs import LBFGS, two_loop_recursion
from minigrad.optim.sam import SAM
from minigrad.optim.sgd import SGD
from minigrad.optim.sophia import (
    GaussNewtonBartlett,
    Hutchinson,
    Sophia,
    sample_labels,
    sophia_update,
)


def spd(n, seed, shift=0.5):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    return M @ M.T + shift * np.eye(n), rng.standard_normal(n)


def quadratic_closure(opt, x, A, b):
    """f(x) = ½xᵀAx − bᵀx, minimum at A⁻¹b."""
    Am, bm = mg.tensor(A, device=x.device), mg.tensor(b, device=x.device)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (x * (Am @ x)).sum() - (bm * x).sum()
        loss.backward()
        return loss
    return closure


def rosenbrock(v):
    return (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2


# ============================================================================ L-BFGS
@pytest.mark.parametrize("n", [2, 5, 10])
@pytest.mark.parametrize("seed", [0, 1])
def test_lbfgs_quadratic_in_at_most_n_plus_1_iterations(n, seed, device):
    """With a (nearly) exact line search L-BFGS is conjugate gradients on a quadratic."""
    A, b = spd(n, seed)
    x = mg.tensor(np.zeros(n), device=device, requires_grad=True)
    opt = LBFGS([x], line_search_fn="strong_wolfe", max_iter=n + 1, max_eval=10 * n,
                tolerance_grad=1e-12, tolerance_change=1e-15, c1=1e-10, c2=1e-8)
    opt.step(quadratic_closure(opt, x, A, b))
    assert opt.state[x]["n_iter"] <= n + 1
    x_star = np.linalg.solve(A, b)
    np.testing.assert_allclose(mg.tensor(x.data).cpu().numpy(), x_star, rtol=1e-7, atol=1e-9)


def test_lbfgs_quadratic_pytorch_defaults_converge():
    A, b = spd(8, 3)
    for ls in (None, "strong_wolfe"):
        x = mg.tensor(np.zeros(8), requires_grad=True)
        opt = LBFGS([x], lr=1 if ls else 0.2, line_search_fn=ls)
        closure = quadratic_closure(opt, x, A, b)
        for _ in range(10):
            opt.step(closure)
        # |Δloss| < tolerance_change = 1e-9 stops it, so x is good to about √1e-9
        np.testing.assert_allclose(x.data, np.linalg.solve(A, b), rtol=0, atol=1e-4)


def test_lbfgs_rosenbrock_converges():
    x = mg.tensor(np.array([-1.5, 2.0]), requires_grad=True)
    opt = LBFGS([x], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss
    for _ in range(5):
        opt.step(closure)
    np.testing.assert_allclose(x.data, [1.0, 1.0], atol=1e-4)
    assert float(closure()) < 1e-8


def test_two_loop_recursion_equals_bfgs_inverse_update():
    """H_{k+1} = (I − ρsyᵀ) H_k (I − ρysᵀ) + ρssᵀ from H₀ = γI, applied to −g."""
    rng = np.random.default_rng(0)
    n = 5
    pairs = []
    for _ in range(3):
        s = rng.standard_normal(n)
        y = s + 0.3 * rng.standard_normal(n)  # yᵀs > 0
        assert y @ s > 0
        pairs.append((s, y))
    g = rng.standard_normal(n)
    s_last, y_last = pairs[-1]
    gamma = (y_last @ s_last) / (y_last @ y_last)
    H = gamma * np.eye(n)
    for s, y in pairs:
        rho = 1 / (y @ s)
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    d = two_loop_recursion(g, [p[0] for p in pairs], [p[1] for p in pairs],
                           [1 / (p[1] @ p[0]) for p in pairs], gamma)
    np.testing.assert_allclose(d, -H @ g, rtol=1e-10)


def test_lbfgs_returns_first_loss_and_counts_evaluations():
    A, b = spd(4, 0)
    x = mg.tensor(np.ones(4), requires_grad=True)
    opt = LBFGS([x], max_iter=3)
    calls = []
    inner = quadratic_closure(opt, x, A, b)

    def closure():
        loss = inner()
        calls.append(float(loss))
        return loss
    loss = opt.step(closure)
    assert float(loss) == calls[0]
    assert len(calls) == opt.state[x]["func_evals"] == 3  # no evaluation after the last step


def test_lbfgs_state_dict_resumes_exactly():
    A, b = spd(6, 5)

    def run(split):
        x = mg.tensor(np.zeros(6), requires_grad=True)
        opt = LBFGS([x], lr=0.5, max_iter=2, history_size=3)
        for i in range(6):
            if i == split:
                sd = opt.state_dict()
                opt = LBFGS([x], lr=0.5, max_iter=2, history_size=3)
                opt.load_state_dict(sd)
            opt.step(quadratic_closure(opt, x, A, b))
        return x.data.copy()
    np.testing.assert_array_equal(run(split=-1), run(split=3))


def test_lbfgs_validation():
    x = mg.tensor([1.0], requires_grad=True)
    y = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="parameter groups"):
        LBFGS([{"params": [x]}, {"params": [y]}])
    with pytest.raises(ValueError, match="line_search_fn"):
        LBFGS([x], line_search_fn="backtracking")
    with pytest.raises(ValueError, match="max_iter"):
        LBFGS([x], max_iter=0)
    with pytest.raises(ValueError, match="closure"):
        LBFGS([x]).step()


@pytest.mark.parametrize("ls", [None, "strong_wolfe"])
def test_lbfgs_matches_torch_on_a_quadratic(ls):
    torch = pytest.importorskip("torch")
    A, b = spd(6, 1)
    x = mg.tensor(np.zeros(6), requires_grad=True)
    opt = LBFGS([x], lr=0.3 if ls is None else 1, max_iter=4, history_size=3,
                line_search_fn=ls)
    closure = quadratic_closure(opt, x, A, b)
    tx = torch.zeros(6, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.LBFGS([tx], lr=0.3 if ls is None else 1, max_iter=4, history_size=3,
                             line_search_fn=ls)
    At, bt = torch.tensor(A), torch.tensor(b)

    def tclosure():
        topt.zero_grad()
        loss = 0.5 * (tx * (At @ tx)).sum() - (bt * tx).sum()
        loss.backward()
        return loss
    for _ in range(6):
        loss, tloss = opt.step(closure), topt.step(tclosure)
        assert math.isclose(float(loss), float(tloss.detach()), rel_tol=1e-12, abs_tol=1e-14)
        np.testing.assert_allclose(x.data, tx.detach().numpy(), rtol=1e-12, atol=1e-14)
        assert opt.state[x]["func_evals"] == topt.state[tx]["func_evals"]
        assert opt.state[x]["n_iter"] == topt.state[tx]["n_iter"]


def test_lbfgs_matches_torch_on_rosenbrock_strong_wolfe():
    torch = pytest.importorskip("torch")
    x = mg.tensor(np.array([-1.5, 2.0]), requires_grad=True)
    opt = LBFGS([x], line_search_fn="strong_wolfe", history_size=5)
    tx = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
    topt = torch.optim.LBFGS([tx], line_search_fn="strong_wolfe", history_size=5)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    def tclosure():
        topt.zero_grad()
        loss = rosenbrock(tx)
        loss.backward()
        return loss
    for _ in range(3):
        opt.step(closure)
        topt.step(tclosure)
        # the path is chaotic, so rounding differences grow; stay within 1e-9
        np.testing.assert_allclose(x.data, tx.detach().numpy(), rtol=0, atol=1e-9)


# ============================================================================ SAM
def _loss_and_grads(thetas):
    """f(w, c) = Σ sin(w)·w² + Σ c⁴ / 4 and its gradient, in NumPy."""
    w, c = thetas
    f = np.sum(np.sin(w) * w**2) + np.sum(c**4) / 4
    return f, [np.cos(w) * w**2 + 2 * w * np.sin(w), c**3]


def _sam_problem(device):
    rng = np.random.default_rng(0)
    w = mg.tensor(rng.standard_normal((3, 2)), device=device, requires_grad=True)
    c = mg.tensor(rng.standard_normal(4), device=device, requires_grad=True)

    def closure():
        loss = (w.sin() * w * w).sum() + (c**4).sum() / 4
        loss.backward()
        return loss
    return [w, c], closure


def _host(t):
    return mg.tensor(t.data).cpu().numpy()


@pytest.mark.parametrize("rho", [0.05, 0.5])
def test_sam_perturbation_has_norm_rho(rho, device):
    params, closure = _sam_problem(device)
    opt = SAM(params, SGD, rho=rho, lr=0.1)
    before = [_host(p).copy() for p in params]
    closure()
    opt.first_step()
    e = np.concatenate([(_host(p) - b).ravel() for p, b in zip(params, before)])
    assert math.isclose(np.linalg.norm(e), rho, rel_tol=1e-9)
    # and it points along the gradient
    _, grads = _loss_and_grads(before)
    g = np.concatenate([x.ravel() for x in grads])
    np.testing.assert_allclose(e, rho * g / np.linalg.norm(g), rtol=1e-9, atol=1e-14)


def test_sam_two_steps_by_hand_with_momentum(device):
    lr, mu, rho = 0.1, 0.9, 0.05
    params, closure = _sam_problem(device)
    opt = SAM(params, SGD, rho=rho, lr=lr, momentum=mu)
    theta = [_host(p).copy() for p in params]
    buf = None
    for _ in range(2):
        # by hand: ascend, gradient there, SGD momentum step from θ
        _, g = _loss_and_grads(theta)
        norm = np.sqrt(sum((x**2).sum() for x in g))
        e = [rho * x / (norm + 1e-12) for x in g]
        _, g_sam = _loss_and_grads([t + ei for t, ei in zip(theta, e)])
        buf = g_sam if buf is None else [mu * b + x for b, x in zip(buf, g_sam)]
        theta = [t - lr * b for t, b in zip(theta, buf)]
        # minigrad, by the explicit two-step protocol
        opt.zero_grad()
        closure()
        opt.first_step(zero_grad=True)
        closure()
        opt.second_step(zero_grad=True)
        for p, t in zip(params, theta):
            np.testing.assert_allclose(_host(p), t, rtol=1e-12, atol=1e-14)


def test_asam_perturbation_by_hand():
    rho = 0.5
    params, closure = _sam_problem("cpu")
    opt = SAM(params, SGD, rho=rho, adaptive=True, lr=0.1)
    theta = [p.data.copy() for p in params]
    closure()
    opt.first_step()
    _, g = _loss_and_grads(theta)
    norm = np.sqrt(sum(((np.abs(t) * x) ** 2).sum() for t, x in zip(theta, g)))
    for p, t, x in zip(params, theta, g):
        np.testing.assert_allclose(p.data - t, rho * t**2 * x / (norm + 1e-12), rtol=1e-10)
    # ‖e / |θ|‖ = ρ: the ball is scaled element-wise by |θ|
    scaled = np.concatenate([((p.data - t) / np.abs(t)).ravel() for p, t in zip(params, theta)])
    assert math.isclose(np.linalg.norm(scaled), rho, rel_tol=1e-9)


def test_sam_step_with_closure_equals_manual_protocol():
    p1, c1 = _sam_problem("cpu")
    p2, c2 = _sam_problem("cpu")
    o1 = SAM(p1, SGD, lr=0.05, momentum=0.5)
    o2 = SAM(p2, SGD, lr=0.05, momentum=0.5)
    for _ in range(3):
        loss = o1.step(c1)
        o2.zero_grad()
        loss2 = c2()
        o2.first_step(zero_grad=True)
        c2()
        o2.second_step(zero_grad=True)
        assert float(loss) == float(loss2)
        for a, b in zip(p1, p2):
            np.testing.assert_array_equal(a.data, b.data)


def test_sam_shares_groups_with_base_so_schedulers_work():
    params, closure = _sam_problem("cpu")
    opt = SAM(params, SGD, lr=1.0)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    opt.step(closure)
    sched.step()
    assert opt.base_optimizer.param_groups[0]["lr"] == 0.5
    assert opt.param_groups is opt.base_optimizer.param_groups
    sd = opt.state_dict()
    assert sd["param_groups"][0]["rho"] == 0.05 and sd["state"]
    p2, _ = _sam_problem("cpu")
    opt2 = SAM(p2, SGD, lr=1.0)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.5
    assert opt2.param_groups is opt2.base_optimizer.param_groups


def test_sam_validation():
    params, _ = _sam_problem("cpu")
    with pytest.raises(TypeError, match="class"):
        SAM(params, SGD(params, lr=0.1), lr=0.1)
    with pytest.raises(ValueError, match="rho"):
        SAM(params, SGD, rho=-0.1, lr=0.1)
    with pytest.raises(ValueError, match="closure"):
        SAM(params, SGD, lr=0.1).step()


def test_sam_converges_on_a_quadratic():
    A, b = spd(5, 2, shift=1.0)
    x = mg.tensor(np.zeros(5), requires_grad=True)
    opt = SAM([x], SGD, rho=0.01, lr=0.05, momentum=0.9)
    closure = quadratic_closure(opt, x, A, b)
    for _ in range(300):
        opt.step(closure)
    # SAM's fixed point on a quadratic is within ρ of the minimum
    assert np.linalg.norm(x.data - np.linalg.solve(A, b)) < 0.02


# ============================================================================ Sophia
def test_sophia_one_step_by_hand():
    rng = np.random.default_rng(0)
    theta0 = rng.standard_normal(7)
    g1, g2 = rng.standard_normal(7), rng.standard_normal(7)
    h_hat = np.abs(rng.standard_normal(7))
    lr, b1, b2, rho, eps, wd = 0.01, 0.965, 0.99, 0.04, 1e-12, 0.1
    p = mg.tensor(theta0.copy(), requires_grad=True)
    opt = Sophia([p], lr=lr, betas=(b1, b2), rho=rho, eps=eps, weight_decay=wd, k=2)
    # step 1: Hessian due
    assert opt.hessian_due
    opt.update_hessian([h_hat])
    p.grad = mg.tensor(g1)
    opt.step()
    m = (1 - b1) * g1
    h = (1 - b2) * h_hat
    theta = theta0 * (1 - lr * wd)
    theta = theta - lr * np.clip(m / np.maximum(rho * h, eps), -1, 1)
    np.testing.assert_allclose(p.data, theta, rtol=1e-13)
    # step 2: no Hessian update (k = 2), m moves, h stays
    assert not opt.hessian_due
    p.grad = mg.tensor(g2)
    opt.step()
    m = b1 * m + (1 - b1) * g2
    theta = theta * (1 - lr * wd) - lr * np.clip(m / np.maximum(rho * h, eps), -1, 1)
    np.testing.assert_allclose(p.data, theta, rtol=1e-13)
    np.testing.assert_allclose(opt.state[p]["h"], h)
    assert opt.hessian_due  # step 3 = 1 mod 2


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_sophia_update_is_clipped_to_lr_per_coordinate(weight_decay):
    rng = np.random.default_rng(1)
    lr = 0.003
    p = mg.tensor(rng.standard_normal((20, 10)), requires_grad=True)
    opt = Sophia([p], lr=lr, weight_decay=weight_decay, k=1)
    for _ in range(20):
        # tiny, zero and negative curvature, large gradients: the worst case for a ratio
        opt.update_hessian([rng.standard_normal((20, 10)) * 1e-6])
        p.grad = mg.tensor(100 * rng.standard_normal((20, 10)))
        before = p.data.copy()
        opt.step()
        decayed = before * (1 - lr * weight_decay)
        assert np.abs(p.data - decayed).max() <= lr * (1 + 1e-12)
    # with negligible curvature the clipped update is exactly a sign step of size lr
    assert np.allclose(np.abs(p.data - decayed), lr)


def test_sophia_pure_function_matches_class():
    rng = np.random.default_rng(2)
    theta, g, m, h = (rng.standard_normal(5) for _ in range(4))
    h = np.abs(h)
    t2, m2 = theta.copy(), m.copy()
    sophia_update(np, t2, g, m2, h, lr=0.1, beta1=0.9, rho=0.5, eps=1e-12, weight_decay=0.0)
    m_ref = 0.9 * m + 0.1 * g
    np.testing.assert_allclose(m2, m_ref)
    np.testing.assert_allclose(t2, theta - 0.1 * np.clip(m_ref / (0.5 * h), -1, 1))


@pytest.mark.parametrize("distribution", ["rademacher", "gaussian"])
def test_hutchinson_mean_is_the_hessian_diagonal(distribution):
    A, _ = spd(5, 4)
    x = mg.tensor(np.random.default_rng(0).standard_normal(5), requires_grad=True)
    Am = mg.tensor(A)
    est = Hutchinson(distribution)
    n = 400
    samples = []
    for _ in range(n):
        loss = 0.5 * (x * (Am @ x)).sum()  # H = A
        samples.append(est([x], loss=loss)[0])
    mean = np.mean(samples, axis=0)
    off = (A**2).sum(axis=1) - np.diag(A) ** 2
    var = off if distribution == "rademacher" else off + 2 * np.diag(A) ** 2
    assert np.all(np.abs(mean - np.diag(A)) < 5 * np.sqrt(var / n)), (mean, np.diag(A))


def test_hutchinson_rademacher_is_exact_for_a_diagonal_hessian():
    d = np.array([1.0, 3.0, 0.5, 2.0])
    x = mg.tensor(np.ones(4), requires_grad=True)
    loss = 0.5 * (mg.tensor(d) * x * x).sum()
    loss.backward(create_graph=True)  # the p.grad route
    (h_hat,) = Hutchinson()([x])
    np.testing.assert_allclose(h_hat, d)


def test_hutchinson_needs_the_gradient_graph():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x * x * x).sum().backward()
    with pytest.raises(RuntimeError, match="create_graph=True"):
        Hutchinson()([x])


def test_sample_labels_follow_the_softmax():
    logits = mg.tensor(np.log(np.array([[0.2, 0.5, 0.3]] * 4000)))
    y = sample_labels(logits)
    freq = np.bincount(y, minlength=3) / y.size
    np.testing.assert_allclose(freq, [0.2, 0.5, 0.3], atol=0.03)


def test_gauss_newton_bartlett_mean_is_the_gauss_newton_diagonal():
    """One example, logits z = Wx: E[ĝ_cd²] = x_d² p_c (1 − p_c)."""
    rng = np.random.default_rng(3)
    W = mg.tensor(rng.standard_normal((3, 4)) * 0.5, requires_grad=True)
    xin = rng.standard_normal(4)
    z = W.data @ xin
    p = np.exp(z - z.max())
    p /= p.sum()
    want = np.outer(p * (1 - p), xin**2)
    est = GaussNewtonBartlett()
    n = 600
    mean = np.mean([est([W], logits=(W @ mg.tensor(xin)).reshape(1, 3))[0] for _ in range(n)],
                   axis=0)
    np.testing.assert_allclose(mean, want, atol=0.1 * want.max())
    assert all(e.min() >= 0 for e in est([W], logits=(W @ mg.tensor(xin)).reshape(1, 3)))


def test_sophia_hessian_schedule_and_stale_warning():
    x = mg.tensor([1.0, -1.0], requires_grad=True)
    opt = Sophia([x], lr=0.01, k=3, weight_decay=0.0)
    due = []
    for _ in range(7):
        due.append(opt.hessian_due)
        if opt.hessian_due:
            opt.update_hessian([np.ones(2)])
        x.grad = mg.tensor([1.0, 1.0])
        opt.step()
    assert due == [True, False, False, True, False, False, True]
    opt2 = Sophia([mg.tensor([1.0], requires_grad=True)], lr=0.1)
    opt2.param_groups[0]["params"][0].grad = mg.tensor([1.0])
    with pytest.warns(UserWarning, match="update_hessian"):
        opt2.step()


@pytest.mark.parametrize("estimator", ["hutchinson", "gnb"])
def test_sophia_converges(estimator):
    if estimator == "hutchinson":
        # an ill-conditioned quadratic: diag(H) spans two orders of magnitude
        A = np.diag([100.0, 10.0, 1.0]) + 0.1
        x = mg.tensor([1.0, -2.0, 3.0], requires_grad=True)
        opt = Sophia([x], lr=0.05, betas=(0.9, 0.95), rho=1.0, weight_decay=0.0, k=5)
        Am = mg.tensor(A)
        for _ in range(200):
            opt.zero_grad()
            loss = 0.5 * (x * (Am @ x)).sum()
            loss.backward(create_graph=opt.hessian_due)
            if opt.hessian_due:
                opt.update_hessian()
            opt.step()
        assert np.abs(x.data).max() < 1e-2
    else:
        # softmax regression on separable-ish data
        rng = np.random.default_rng(0)
        X = rng.standard_normal((64, 3))
        y = (X @ np.array([1.0, -1.0, 0.5]) > 0).astype(np.int64)
        W = mg.tensor(np.zeros((3, 2)), requires_grad=True)
        Xm = mg.tensor(X)
        onehot = mg.tensor(np.eye(2)[y])
        opt = Sophia([W], lr=0.05, rho=0.05, weight_decay=0.0, k=5,
                     estimator=GaussNewtonBartlett())

        def loss_of(logits):
            return -(logits.log_softmax(-1) * onehot).sum() / 64
        first = float(loss_of(Xm @ W))
        for _ in range(100):
            opt.zero_grad()
            if opt.hessian_due:
                opt.update_hessian(logits=Xm @ W)
            loss_of(Xm @ W).backward()
            opt.step()
        final = float(loss_of(Xm @ W))
        assert final < 0.3 * first
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            acc = ((X @ W.data).argmax(1) == y).mean()
        assert acc > 0.9
