"""Muon, checked from its algorithm box: a NumPy reference written from the formulas
(momentum average, Nesterov mix, quintic Newton–Schulz, shape-scaled lr, decoupled decay),
the orthogonalization's effect on singular values, checkpoints, half precision, argument
validation, convergence, and torch.optim.Muon (its bfloat16 Newton–Schulz replaced by the
same iteration in float64) when torch is installed."""
import pickle

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim
from minigrad.optim.muon import NS_COEFFICIENTS, newton_schulz


def ref_newton_schulz(M, coefficients=NS_COEFFICIENTS, steps=5, eps=1e-7):
    a, b, c = coefficients
    X = M.T if M.shape[0] > M.shape[1] else M
    X = X / max(np.linalg.norm(X), eps)
    for _ in range(steps):
        A = X @ X.T
        X = a * X + b * A @ X + c * A @ A @ X
    return X.T if M.shape[0] > M.shape[1] else X


def ref_muon(theta, g, s, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
             ns_coefficients=NS_COEFFICIENTS, eps=1e-7, ns_steps=5, adjust_lr_fn=None):
    s["B"] = momentum * s.get("B", 0.0) + (1 - momentum) * g
    M = (1 - momentum) * g + momentum * s["B"] if nesterov else s["B"]
    O = ref_newton_schulz(M, ns_coefficients, ns_steps, eps)
    rows, cols = theta.shape
    scale = (np.sqrt(max(1, rows / cols)) if adjust_lr_fn in (None, "original")
             else 0.2 * np.sqrt(max(rows, cols)))
    return theta * (1 - lr * weight_decay) - lr * scale * O


CASES = [dict(lr=0.02), dict(lr=0.02, nesterov=False, momentum=0.9),
         dict(lr=0.02, weight_decay=0.0, adjust_lr_fn="match_rms_adamw"),
         dict(lr=0.05, ns_steps=3, eps=1e-3, ns_coefficients=(2.0, -1.5, 0.5)),
         dict(lr=0.01, adjust_lr_fn="original", momentum=0.0)]


def _gradient(theta, t):
    return np.sin(3 * theta) + theta - 0.5 + 0.2 * np.cos(t * (1 + theta))


@pytest.mark.parametrize("hp", CASES)
def test_steps_match_formula(hp, device):
    rng = np.random.default_rng(0)
    thetas = [rng.standard_normal(s) for s in [(4, 3), (3, 5), (1, 4)]]
    params = [mg.tensor(t.copy(), device=device, requires_grad=True) for t in thetas]
    opt = optim.Muon(params, **hp)
    states = [{} for _ in thetas]
    for t in range(1, 11):
        for i, p in enumerate(params):
            g = _gradient(thetas[i], t)
            p.grad = mg.tensor(g, device=device)
            thetas[i] = ref_muon(thetas[i], g, states[i], **hp)
        opt.step()
        for p, want in zip(params, thetas):
            np.testing.assert_allclose(p.detach().cpu().numpy(), want, rtol=1e-11, atol=1e-13,
                                       err_msg=f"step {t}")
    for p, s in zip(params, states):
        np.testing.assert_allclose(opt.state[p]["B"].get() if device == "cuda"
                                   else opt.state[p]["B"], s["B"], rtol=1e-12, atol=1e-14)
        assert opt.state[p]["step"] == 10


def test_newton_schulz_pushes_singular_values_towards_one():
    rng = np.random.default_rng(1)
    for shape in [(8, 8), (16, 6), (5, 12)]:
        U, _ = np.linalg.qr(rng.standard_normal((shape[0], shape[0])))
        V, _ = np.linalg.qr(rng.standard_normal((shape[1], shape[1])))
        k = min(shape)
        s = np.logspace(2, -2, k)                       # four decades of spread, descending
        M = U[:, :k] @ np.diag(s) @ V[:, :k].T
        O = newton_schulz(np, M)
        np.testing.assert_allclose(O, ref_newton_schulz(M), rtol=1e-12, atol=1e-14)
        s_out = np.linalg.svd(O, compute_uv=False)      # descending too: the same order
        # those above 2% of ‖M‖_F (slope a⁵ ≈ 486 at 0 lifts them past the knee) land in
        # [0.65, 1.25]; the singular vectors are kept (O = U f(S) Vᵀ)
        big = s_out[s > 2e-2 * np.linalg.norm(s)]
        assert big.size >= 2
        assert (big > 0.65).all() and (big < 1.25).all(), s_out
        assert np.allclose(U[:, :k].T @ O @ V[:, :k], np.diag(np.diag(U[:, :k].T @ O
                                                                      @ V[:, :k])), atol=1e-9)
    assert np.array_equal(newton_schulz(np, np.zeros((3, 4))), np.zeros((3, 4)))  # eps floor


def test_first_step_of_a_rank_one_gradient_by_hand():
    """g = u vᵀ: M = g (momentum 0), X = u vᵀ/(‖u‖‖v‖) has singular value 1, a fixed point
    of each iteration up to the polynomial a + b + c = 0.7: after k steps the singular
    value is p^k(1) with p(s) = as + bs³ + cs⁵."""
    u, v = np.array([1.0, 2.0]), np.array([2.0, 1.0, 2.0])
    theta = np.zeros((2, 3))
    w = mg.tensor(theta.copy(), requires_grad=True)
    opt = optim.Muon([w], lr=0.1, weight_decay=0.0, momentum=0.0)
    w.grad = mg.tensor(np.outer(u, v))
    opt.step()
    a, b, c = NS_COEFFICIENTS
    sigma = 1.0
    for _ in range(5):
        sigma = a * sigma + b * sigma ** 3 + c * sigma ** 5
    direction = np.outer(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
    np.testing.assert_allclose(w.data, -0.1 * sigma * direction, rtol=1e-12)


def test_checkpoint_round_trip_continues_bit_for_bit():
    rng = np.random.default_rng(2)
    theta0 = rng.standard_normal((4, 3))

    def run(steps, opt=None, w=None, start=1):
        w = w if w is not None else mg.tensor(theta0.copy(), requires_grad=True)
        opt = opt if opt is not None else optim.Muon([w], lr=0.02)
        for t in range(start, start + steps):
            w.grad = mg.tensor(_gradient(w.data, t))
            opt.step()
        return opt, w

    straight_opt, straight = run(6)
    opt, w = run(3)
    saved = pickle.loads(pickle.dumps(opt.state_dict()))
    w2 = mg.tensor(w.data.copy(), requires_grad=True)
    opt2 = optim.Muon([w2], lr=0.02)
    opt2.load_state_dict(saved)
    run(3, opt2, w2, start=4)
    np.testing.assert_array_equal(w2.data, straight.data)


def test_half_precision_parameter_steps_through_a_float32_master():
    w = mg.tensor(np.ones((3, 2)), dtype=mg.float16, requires_grad=True)
    opt = optim.Muon([w], lr=0.01, weight_decay=0.0)
    w.grad = mg.tensor(np.arange(6.0).reshape(3, 2), dtype=mg.float16)
    opt.step()
    assert w.dtype == mg.float16 and opt.state[w]["master"].dtype == np.float32
    assert np.isfinite(w.data.astype(np.float64)).all() and (w.data != 1).any()


def test_converges_on_a_matrix_least_squares():
    rng = np.random.default_rng(3)
    A = mg.tensor(rng.standard_normal((20, 6)))
    target = rng.standard_normal((6, 4))
    Y = A @ mg.tensor(target)
    W = mg.tensor(np.zeros((6, 4)), requires_grad=True)
    opt = optim.Muon([W], lr=0.05, weight_decay=0.0)
    for t in range(400):
        opt.param_groups[0]["lr"] = 0.05 * (1 - t / 400) ** 2
        opt.zero_grad()
        ((A @ W - Y) ** 2).mean().backward()
        opt.step()
    assert np.abs(W.data - target).max() < 1e-2


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(lr=-1.0), "invalid learning rate"),
    (dict(weight_decay=-0.1), "invalid weight_decay"),
    (dict(momentum=-0.5), "invalid momentum"),
    (dict(ns_steps=100), r"ns_steps must be an int in \[0, 100\)"),
    (dict(ns_steps=2.5), "ns_steps must be an int"),
    (dict(ns_coefficients=(1.0, 2.0)), "ns_coefficients must be 3 numbers"),
    (dict(adjust_lr_fn="adamw"), "adjust_lr_fn must be None, 'original' or"),
])
def test_invalid_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=f"^Muon: .*{pattern}"):
        optim.Muon([mg.zeros(2, 2, requires_grad=True)], **kwargs)


def test_only_matrices():
    with pytest.raises(ValueError, match=r"Muon: only 2-D parameters .* shape \(3,\)"):
        optim.Muon([mg.zeros(3, requires_grad=True)])
    opt = optim.Muon([mg.zeros(2, 2, requires_grad=True)])
    with pytest.raises(ValueError, match=r"shape \(2, 2, 2\)"):
        opt.add_param_group({"params": [mg.zeros(2, 2, 2, requires_grad=True)]})
    assert opt.defaults == dict(lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                                ns_coefficients=NS_COEFFICIENTS, eps=1e-7, ns_steps=5,
                                adjust_lr_fn=None)


@pytest.mark.parametrize("hp", CASES)
def test_matches_torch_with_its_iteration_in_float64(hp, monkeypatch):
    torch = pytest.importorskip("torch")
    muon_module = pytest.importorskip("torch.optim._muon")

    def float64_newton_schulz(grad, coefficients, steps, eps):  # theirs without bfloat16
        a, b, c = coefficients
        X = grad.T if grad.size(0) > grad.size(1) else grad
        X = X / X.norm().clamp(min=eps)
        for _ in range(steps):
            A = X @ X.T
            X = torch.addmm(X, torch.addmm(A, A, A, beta=b, alpha=c), X, beta=a)
        return X.T if grad.size(0) > grad.size(1) else X

    monkeypatch.setattr(muon_module, "_zeropower_via_newtonschulz", float64_newton_schulz)
    rng = np.random.default_rng(4)
    thetas = [rng.standard_normal(s) for s in [(4, 3), (3, 5)]]
    ours = [mg.tensor(t.copy(), requires_grad=True) for t in thetas]
    theirs = [torch.tensor(t.copy(), requires_grad=True) for t in thetas]
    opt, topt = optim.Muon(ours, **hp), torch.optim.Muon(theirs, **hp)
    for t in range(1, 11):
        for p, q in zip(ours, theirs):
            g = _gradient(p.data, t)
            p.grad, q.grad = mg.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(opt.state[p]["B"], topt.state[q]["momentum_buffer"].numpy(),
                                   rtol=1e-12, atol=1e-14)
