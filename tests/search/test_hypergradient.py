"""Hypergradient descent (Baydin et al. 2018): steps recomputed by hand, equivalences with
the plain optimizers at β = 0, and learning a learning rate on a quadratic."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim
from minigrad.search import SGDHD, AdamHD

C = np.array([1.0, 3.0])           # f(θ) = Σ cᵢθᵢ², ∇f = 2cθ
THETA0 = np.array([1.0, -2.0])


def _grad(theta):
    return 2 * C * theta


def _run(opt_class, steps, **kw):
    w = mg.tensor(THETA0.copy(), dtype=mg.float64, requires_grad=True)
    opt = opt_class([w], **kw)
    lrs, thetas = [], []
    for _ in range(steps):
        opt.zero_grad()
        (mg.tensor(C, dtype=mg.float64) * w * w).sum().backward()
        opt.step()
        lrs.append(opt.param_groups[0]["lr"])
        thetas.append(w.data.copy())
    return lrs, thetas


def test_sgd_hd_three_steps_by_hand():
    alpha, beta = 0.1, 0.001
    lrs, thetas = _run(SGDHD, 3, lr=alpha, hypergrad_lr=beta)
    # t = 1: no previous step, h₁ = 0
    g1 = _grad(THETA0)                                    # [2, −12]
    theta1 = THETA0 - alpha * g1                          # [0.8, −0.8]
    # t = 2: h₂ = g₂ · (−g₁), α₂ = α₁ − βh₂ = α₁ + β g₂·g₁
    g2 = _grad(theta1)                                    # [1.6, −4.8]
    alpha2 = alpha + beta * (1.6 * 2.0 + (-4.8) * (-12.0))  # 0.1 + 0.001·60.8
    theta2 = theta1 - alpha2 * g2
    # t = 3
    g3 = _grad(theta2)
    alpha3 = alpha2 + beta * float(g3 @ g2)
    theta3 = theta2 - alpha3 * g3
    assert lrs == pytest.approx([0.1, 0.1608, alpha3], rel=1e-12)
    for got, want in zip(thetas, [theta1, theta2, theta3]):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_adam_hd_three_steps_by_hand():
    alpha, beta, b1, b2, eps = 0.05, 1e-3, 0.9, 0.999, 1e-8
    lrs, thetas = _run(AdamHD, 3, lr=alpha, hypergrad_lr=beta)
    theta, m, v, du_prev, a = THETA0.copy(), np.zeros(2), np.zeros(2), np.zeros(2), alpha
    want_lrs, want_thetas = [], []
    for t in (1, 2, 3):
        g = _grad(theta)
        h = float(g @ du_prev)                             # h_t = g_t · ∇_α u_{t−1}
        a = a - beta * h                                   # α_t = α_{t−1} − βh_t
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        du_prev = -m_hat / (np.sqrt(v_hat) + eps)          # ∇_α u_t
        theta = theta + a * du_prev
        want_lrs.append(a)
        want_thetas.append(theta.copy())
    # Adam's first step is ∇_α u₁ ≈ −sign(g₁) = [−1, 1], so θ₁ = [0.95, −1.95],
    # g₂ = [1.9, −11.7] and h₂ = −1.9 − 11.7
    assert want_lrs[1] == pytest.approx(alpha + beta * (1.9 + 11.7), rel=1e-6)
    assert lrs == pytest.approx(want_lrs, rel=1e-12)
    for got, want in zip(thetas, want_thetas):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("hd,plain,kw", [
    (SGDHD, optim.SGD, {"lr": 0.05}),
    (AdamHD, optim.Adam, {"lr": 0.05}),
    (SGDHD, optim.SGD, {"lr": 0.05, "weight_decay": 0.1}),
    (AdamHD, optim.Adam, {"lr": 0.05, "weight_decay": 0.1}),
])
def test_zero_hypergradient_lr_is_the_plain_optimizer(hd, plain, kw):
    lrs, a = _run(hd, 6, hypergrad_lr=0.0, **kw)
    _, b = _run(plain, 6, **kw)
    assert lrs == [kw["lr"]] * 6
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-15)


def test_sgd_hd_learns_a_useful_learning_rate():
    # from a learning rate 100× too small, SGD-HD raises it and gets far closer to 0
    lrs, hd = _run(SGDHD, 60, lr=1e-3, hypergrad_lr=1e-3)
    _, sgd = _run(optim.SGD, 60, lr=1e-3)
    f = lambda th: float(C @ (th * th))
    assert lrs[-1] > 10 * 1e-3
    assert f(hd[-1]) < 1e-3 * f(sgd[-1])


def test_hypergradient_state_dict_round_trip():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    opt = AdamHD([w], lr=0.01, hypergrad_lr=1e-4)
    for _ in range(2):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    w2 = mg.tensor(w.data.copy(), requires_grad=True)
    opt2 = AdamHD([w2], lr=0.01, hypergrad_lr=1e-4)
    opt2.load_state_dict(opt.state_dict())
    for o, p in ((opt, w), (opt2, w2)):
        o.zero_grad()
        (p * p).sum().backward()
        o.step()
    np.testing.assert_array_equal(w.data, w2.data)
    assert opt.param_groups[0]["lr"] == opt2.param_groups[0]["lr"]


def test_hypergradient_optimizers_validate():
    w = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="hypergrad_lr"):
        SGDHD([w], hypergrad_lr=-1.0)
    with pytest.raises(ValueError, match="beta"):
        AdamHD([w], betas=(1.0, 0.9))
    opt = SGDHD([w], lr=0.1)
    w.grad = mg.tensor([math.inf])
    opt.step()  # first step: no hypergradient yet
    w.grad = mg.tensor([math.inf])
    with pytest.raises(FloatingPointError, match="hypergradient"):
        opt.step()
