"""The first-order optimizers and the Optimizer base, checked from their formulas.

Order of strength (STYLE.md): steps recomputed by hand in plain NumPy from the formula
(every optimizer, every option, with and without weight decay), equivalences between
related algorithms, exact invariants (trust ratios, sign steps), seeded convergence.
The NumPy references below are written from FORMULAS.md and the papers, independently of
the modules under test (they never call the ``*_update`` functions). PyTorch is not
needed here; ``test_first_order_torch_oracle.py`` compares with torch.optim when present.
"""
import copy
import math
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import optim
from minigrad._backend import to_device
from minigrad.testing import shapes

from .test_new_optimizers import (
    NO_WEIGHT_DECAY,
    ref_adafactor,
    ref_adamax,
    ref_asgd,
    ref_rprop,
    with_decay,
)
from .test_new_optimizers import OPTIONS as NEW_OPTIONS


def host(array):
    return np.asarray(to_device(array, "cpu"))


# --------------------------------------------------------------------------------------
# NumPy references: one step of each optimizer for one parameter, written from the
# formula with fresh arrays (no in-place tricks). ``s`` is that parameter's state dict,
# ``t`` the step number from 1. Each returns the new θ.
# --------------------------------------------------------------------------------------
def ref_sgd(theta, g, s, t, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
            nesterov=False, maximize=False):
    if maximize:
        g = -g
    g = g + weight_decay * theta
    if momentum != 0:
        s["b"] = g if t == 1 else momentum * s["b"] + (1 - dampening) * g
        g = g + momentum * s["b"] if nesterov else s["b"]
    return theta - lr * g


def ref_adagrad(theta, g, s, t, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                initial_accumulator_value=0.0, eps=1e-10, maximize=False):
    if maximize:
        g = -g
    g = g + weight_decay * theta
    lr_t = lr / (1 + (t - 1) * lr_decay)
    s["G"] = s.get("G", np.full_like(theta, initial_accumulator_value)) + g**2
    return theta - lr_t * g / (np.sqrt(s["G"]) + eps)


def ref_rmsprop(theta, g, s, t, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                centered=False, maximize=False):
    if maximize:
        g = -g
    g = g + weight_decay * theta
    s["v"] = alpha * s.get("v", 0.0) + (1 - alpha) * g**2
    if centered:
        s["g_bar"] = alpha * s.get("g_bar", 0.0) + (1 - alpha) * g
        denom = np.sqrt(s["v"] - s["g_bar"] ** 2) + eps
    else:
        denom = np.sqrt(s["v"]) + eps
    if momentum > 0:
        s["b"] = momentum * s.get("b", 0.0) + g / denom
        return theta - lr * s["b"]
    return theta - lr * g / denom


def ref_adadelta(theta, g, s, t, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    if maximize:
        g = -g
    g = g + weight_decay * theta
    s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g**2
    delta = np.sqrt(s.get("u", 0.0) + eps) / np.sqrt(s["v"] + eps) * g
    s["u"] = rho * s.get("u", 0.0) + (1 - rho) * delta**2
    return theta - lr * delta


def ref_adam(theta, g, s, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
             amsgrad=False, maximize=False):
    b1, b2 = betas
    if maximize:
        g = -g
    g = g + weight_decay * theta
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g**2
    m_hat = s["m"] / (1 - b1**t)
    if amsgrad:
        s["v_max"] = np.maximum(s.get("v_max", 0.0), s["v"])
        v_hat = s["v_max"] / (1 - b2**t)
    else:
        v_hat = s["v"] / (1 - b2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps)


def ref_adamw(theta, g, s, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
              amsgrad=False, maximize=False):
    theta = theta * (1 - lr * weight_decay)
    return ref_adam(theta, g, s, t, lr=lr, betas=betas, eps=eps, amsgrad=amsgrad,
                    maximize=maximize)


def ref_nadam(theta, g, s, t, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
              momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False):
    b1, b2 = betas
    if maximize:
        g = -g
    if decoupled_weight_decay:
        theta = theta * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * theta
    mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    s["P"] = s.get("P", 1.0) * mu
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g**2
    d = np.sqrt(s["v"] / (1 - b2**t)) + eps
    return (theta - lr * (1 - mu) / (1 - s["P"]) * g / d
            - lr * mu_next / (1 - s["P"] * mu_next) * s["m"] / d)


def _rho(t, b2):
    rho_inf = 2 / (1 - b2) - 1
    return rho_inf, rho_inf - 2 * t * b2**t / (1 - b2**t)


def ref_radam(theta, g, s, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
              decoupled_weight_decay=False, maximize=False):
    b1, b2 = betas
    if maximize:
        g = -g
    if decoupled_weight_decay:
        theta = theta * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * theta
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g**2
    m_hat = s["m"] / (1 - b1**t)
    rho_inf, rho_t = _rho(t, b2)
    if rho_t > 5:
        r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                      / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        return theta - lr * m_hat * r * math.sqrt(1 - b2**t) / (np.sqrt(s["v"]) + eps)
    return theta - lr * m_hat


def ref_adabelief(theta, g, s, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-16, weight_decay=0.0,
                  weight_decouple=True, rectify=False, maximize=False):
    b1, b2 = betas
    if maximize:
        g = -g
    if weight_decouple:
        theta = theta * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * theta
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["s"] = b2 * s.get("s", 0.0) + (1 - b2) * (g - s["m"]) ** 2 + eps
    m_hat = s["m"] / (1 - b1**t)
    if not rectify:
        return theta - lr * m_hat / (np.sqrt(s["s"] / (1 - b2**t)) + eps)
    rho_inf, rho_t = _rho(t, b2)
    if rho_t > 5:
        r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                      / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        return theta - lr * m_hat * r * math.sqrt(1 - b2**t) / (np.sqrt(s["s"]) + eps)
    return theta - lr * m_hat


def ref_lion(theta, g, s, t, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, maximize=False):
    b1, b2 = betas
    if maximize:
        g = -g
    m = s.get("m", 0.0)
    u = np.sign(b1 * m + (1 - b1) * g)
    s["m"] = b2 * m + (1 - b2) * g
    return theta * (1 - lr * weight_decay) - lr * u


def ref_lars(theta, g, s, t, lr=1.0, momentum=0.9, weight_decay=0.0, trust_coefficient=1e-3,
             exclude_1d=False, maximize=False):
    if maximize:
        g = -g
    if exclude_1d and theta.ndim <= 1:
        d = g
    else:
        wn, gn = np.linalg.norm(theta), np.linalg.norm(g)
        local_lr = trust_coefficient * wn / (gn + weight_decay * wn) if wn > 0 and gn > 0 else 1.0
        d = local_lr * (g + weight_decay * theta)
    s["b"] = momentum * s.get("b", 0.0) + d
    return theta - lr * s["b"]


def ref_lamb(theta, g, s, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01,
             maximize=False):
    b1, b2 = betas
    if maximize:
        g = -g
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g**2
    m_hat, v_hat = s["m"] / (1 - b1**t), s["v"] / (1 - b2**t)
    r = m_hat / (np.sqrt(v_hat) + eps) + weight_decay * theta
    wn, rn = np.linalg.norm(theta), np.linalg.norm(r)
    ratio = wn / rn if wn > 0 and rn > 0 else 1.0
    return theta - lr * ratio * r


REFERENCES = {
    "SGD": ref_sgd, "Adagrad": ref_adagrad, "RMSprop": ref_rmsprop, "Adadelta": ref_adadelta,
    "Adam": ref_adam, "AdamW": ref_adamw, "NAdam": ref_nadam, "RAdam": ref_radam,
    "AdaBelief": ref_adabelief, "Lion": ref_lion, "LARS": ref_lars, "LAMB": ref_lamb,
    "Adamax": ref_adamax, "Rprop": ref_rprop, "ASGD": ref_asgd, "Adafactor": ref_adafactor,
}

# Every option of every optimizer; each case runs with and without weight decay.
OPTIONS = {
    "SGD": [dict(lr=0.05), dict(lr=0.05, momentum=0.9),
            dict(lr=0.05, momentum=0.8, dampening=0.3), dict(lr=0.05, momentum=0.9, nesterov=True),
            dict(lr=0.05, momentum=0.5, maximize=True)],
    "Adagrad": [dict(lr=0.1), dict(lr=0.1, lr_decay=0.05),
                dict(lr=0.1, initial_accumulator_value=0.5), dict(lr=0.1, eps=1e-3),
                dict(lr=0.1, maximize=True)],
    "RMSprop": [dict(lr=0.01), dict(lr=0.01, alpha=0.9), dict(lr=0.01, centered=True),
                dict(lr=0.01, momentum=0.8), dict(lr=0.01, centered=True, momentum=0.7, eps=1e-4),
                dict(lr=0.01, maximize=True)],
    "Adadelta": [dict(), dict(lr=0.5, rho=0.95), dict(eps=1e-3), dict(maximize=True)],
    "Adam": [dict(lr=0.05), dict(lr=0.05, amsgrad=True),
             dict(lr=0.05, betas=(0.8, 0.99), eps=1e-3), dict(lr=0.05, maximize=True),
             dict(lr=0.05, amsgrad=True, maximize=True)],
    "AdamW": [dict(lr=0.05), dict(lr=0.05, amsgrad=True), dict(lr=0.05, betas=(0.5, 0.9)),
              dict(lr=0.05, maximize=True)],
    "NAdam": [dict(lr=0.05), dict(lr=0.05, momentum_decay=0.05),
              dict(lr=0.05, decoupled_weight_decay=True),
              dict(lr=0.05, betas=(0.8, 0.99), eps=1e-4), dict(lr=0.05, maximize=True)],
    "RAdam": [dict(lr=0.05), dict(lr=0.05, betas=(0.9, 0.9)),
              dict(lr=0.05, decoupled_weight_decay=True),
              dict(lr=0.05, eps=1e-3, betas=(0.8, 0.95)), dict(lr=0.05, maximize=True)],
    "AdaBelief": [dict(lr=0.05), dict(lr=0.05, weight_decouple=False), dict(lr=0.05, rectify=True),
                  dict(lr=0.05, rectify=True, betas=(0.9, 0.9), eps=1e-8),
                  dict(lr=0.05, rectify=True, weight_decouple=False, betas=(0.8, 0.95)),
                  dict(lr=0.05, maximize=True)],
    "Lion": [dict(lr=0.01), dict(lr=0.01, betas=(0.95, 0.98)), dict(lr=0.01, maximize=True)],
    "LARS": [dict(lr=1.0), dict(lr=1.0, momentum=0.0), dict(lr=2.0, trust_coefficient=0.02),
             dict(lr=1.0, exclude_1d=True), dict(lr=1.0, maximize=True)],
    "LAMB": [dict(lr=0.01), dict(lr=0.01, betas=(0.8, 0.9), eps=1e-3),
             dict(lr=0.01, maximize=True)],
    **NEW_OPTIONS,  # Adamax, Rprop, ASGD (test_new_optimizers.py)
}
# LAMB and AdamW have a non-zero default decay: their "without" case sets 0 explicitly.
WEIGHT_DECAYS = (0.0, 0.1)

SHAPES = [(3, 4), (5,), ()]  # a matrix, a vector and a 0-d scalar parameter
N_STEPS = 12                 # past RAdam's ρ_t > 5 switch at β₂ = 0.999 (t = 6)


def problem(seed=0, shapes=SHAPES):
    """Initial parameters and a θ-dependent, step-dependent gradient for each of them."""
    rng = np.random.default_rng(seed)
    theta0 = [rng.standard_normal(shape) for shape in shapes]
    scale = [rng.uniform(0.5, 2.0, size=shape) for shape in shapes]
    center = [rng.standard_normal(shape) for shape in shapes]
    noise = [[rng.standard_normal(shape) * 0.3 for shape in shapes] for _ in range(64)]

    def grad(i, theta, t):
        return scale[i] * (theta - center[i]) + 0.3 * np.sin(3 * theta) + noise[t - 1][i]

    return theta0, grad


def run_reference(name, hp, theta0, grad, steps):
    thetas = [np.array(th, dtype=np.float64) for th in theta0]
    states = [{} for _ in thetas]
    trajectory = []
    for t in range(1, steps + 1):
        thetas = [REFERENCES[name](th, grad(i, th, t), states[i], t, **hp)
                  for i, (th, s) in enumerate(zip(thetas, states))]
        trajectory.append([th.copy() for th in thetas])
    return trajectory


def make_params(theta0, device="cpu", dtype=np.float64):
    return [mg.tensor(np.array(th, dtype=dtype), device=device, requires_grad=True)
            for th in theta0]


def run_minigrad(name, hp, theta0, grad, steps, device="cpu", opt=None, params=None, start=1):
    params = params if params is not None else make_params(theta0, device)
    opt = opt if opt is not None else getattr(optim, name)(params, **hp)
    trajectory = []
    for t in range(start, start + steps):
        for i, p in enumerate(params):
            p.grad = mg.tensor(grad(i, host(p.data), t), device=device)
        opt.step()
        trajectory.append([host(p.data).copy() for p in params])
    return trajectory, opt, params


def assert_trajectories_close(got, want, rtol=1e-11, atol=1e-13):
    for t, (g_step, w_step) in enumerate(zip(got, want), start=1):
        for i, (g, w) in enumerate(zip(g_step, w_step)):
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol,
                                       err_msg=f"step {t}, parameter {i}")


HAND_CASES = [
    pytest.param(name, with_decay(name, hp, wd), id=f"{name}-{i}-wd{wd}")
    for name, cases in OPTIONS.items() for i, hp in enumerate(cases) for wd in WEIGHT_DECAYS
    if wd == 0 or name not in NO_WEIGHT_DECAY
]


@pytest.mark.parametrize("name, hp", HAND_CASES)
def test_steps_match_formula(name, hp, device):
    theta0, grad = problem()
    want = run_reference(name, hp, theta0, grad, N_STEPS)
    got, _, _ = run_minigrad(name, hp, theta0, grad, N_STEPS, device=device)
    assert_trajectories_close(got, want)


@pytest.mark.parametrize("name", list(OPTIONS))
@given(shape=shapes(min_dims=0, max_dims=3), seed=st.integers(0, 2**16),
       lr=st.floats(1e-3, 0.5), wd=st.sampled_from([0.0, 1e-3, 0.3]))
def test_steps_match_formula_random(name, shape, seed, lr, wd):
    """Random shapes, seeds, lr and decay: three steps against the reference."""
    theta0, grad = problem(seed, shapes=[shape])
    hp = with_decay(name, dict(OPTIONS[name][0], lr=lr), wd)
    want = run_reference(name, hp, theta0, grad, 3)
    got, _, _ = run_minigrad(name, hp, theta0, grad, 3)
    assert_trajectories_close(got, want)


def test_defaults_are_pytorchs_and_the_papers():
    expected = {
        "SGD": dict(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False),
        "Adagrad": dict(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                        eps=1e-10),
        "RMSprop": dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False),
        "Adadelta": dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0),
        "Adam": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False),
        "AdamW": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False),
        "NAdam": dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                      momentum_decay=4e-3, decoupled_weight_decay=False),
        "RAdam": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                      decoupled_weight_decay=False),
        "AdaBelief": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-16, weight_decay=0,
                          weight_decouple=True, rectify=False),
        "Lion": dict(lr=1e-4, betas=(0.9, 0.99), weight_decay=0),
        "LARS": dict(lr=1.0, momentum=0.9, weight_decay=0, trust_coefficient=1e-3,
                     exclude_1d=False),
        "LAMB": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01),
        "Adamax": dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0),
        "Rprop": dict(lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50)),
        "ASGD": dict(lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0),
        "Adafactor": dict(lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                          weight_decay=0.0),
    }
    assert set(expected) == set(optim.FIRST_ORDER)
    for name, defaults in expected.items():
        cls = getattr(optim, name)
        opt = cls([mg.tensor([1.0], requires_grad=True)])
        # PyTorch's implementation switches, with its defaults, where its class takes them
        switches = {k: None if k in ("foreach", "fused") else False
                    for k in cls._implementation_flags}
        assert opt.defaults == dict(defaults, maximize=False, **switches), name


def test_default_hyperparameters_step_matches_formula():
    """One run with every default, so a wrong default cannot hide behind explicit options."""
    theta0, grad = problem(3)
    for name in optim.FIRST_ORDER:
        want = run_reference(name, {}, theta0, grad, 7)
        got, _, _ = run_minigrad(name, {}, theta0, grad, 7)
        assert_trajectories_close(got, want)


# --------------------------------------------------------------------------------------
# Pinned numbers
# --------------------------------------------------------------------------------------
def test_adam_eps_is_added_to_bias_corrected_sqrt_v_hat():
    """STYLE.md: g = 1e-6, lr = 1, ε = 1e-8, default betas → θ moves 0.990099 (Algorithm 1),
    not 0.759747 (the "efficient" rewrite that adds ε to the uncorrected √v)."""
    w = mg.tensor([0.0], dtype=mg.float64, requires_grad=True)
    opt = optim.Adam([w], lr=1.0, eps=1e-8)
    w.grad = mg.tensor([1e-6], dtype=mg.float64)
    opt.step()
    assert -w.item() == pytest.approx(0.990099, abs=5e-7)
    # the rewrite, lr·√(1−β₂)/(1−β₁) · m/(√v + ε), for contrast
    m, v = 0.1 * 1e-6, 0.001 * 1e-12
    rewrite = 1.0 * math.sqrt(1 - 0.999) / (1 - 0.9) * m / (math.sqrt(v) + 1e-8)
    assert rewrite == pytest.approx(0.759747, abs=5e-7)


def test_adam_first_step_is_lr_sign_g():
    w = mg.tensor(np.zeros(4), requires_grad=True)
    opt = optim.Adam([w], lr=0.1, eps=0.0)
    w.grad = mg.tensor(np.array([3.0, -0.001, 1e4, -7.0]))
    opt.step()
    np.testing.assert_allclose(w.data, [-0.1, 0.1, -0.1, 0.1], rtol=1e-12)


def test_radam_takes_momentum_steps_while_rho_t_at_most_5():
    """β₂ = 0.999: ρ_t ≤ 5 for t ≤ 5, so the first five steps are θ ← θ − lr·m̂."""
    w = mg.tensor([1.0, -2.0], dtype=mg.float64, requires_grad=True)
    opt = optim.RAdam([w], lr=0.1)
    g = np.array([0.5, 4.0])
    for _ in range(5):
        before = w.data.copy()
        w.grad = mg.tensor(g)
        opt.step()
        # m̂ = g when g is constant
        np.testing.assert_allclose(before - w.data, 0.1 * g, rtol=1e-12)
    before = w.data.copy()
    w.grad = mg.tensor(g)
    opt.step()
    assert not np.allclose(before - w.data, 0.1 * g)  # adaptive from t = 6


def test_adagrad_lr_decay_and_initial_accumulator():
    w = mg.tensor([0.0], dtype=mg.float64, requires_grad=True)
    opt = optim.Adagrad([w], lr=1.0, lr_decay=0.5, initial_accumulator_value=3.0, eps=0.0)
    for t, expected_step in [(1, 1 / 2), (2, 1 / 1.5 / math.sqrt(5)), (3, 1 / 2 / math.sqrt(6))]:
        before = w.item()
        w.grad = mg.tensor([1.0])
        opt.step()
        assert before - w.item() == pytest.approx(expected_step, rel=1e-12), t


def test_lion_moves_every_coordinate_by_exactly_lr():
    rng = np.random.default_rng(1)
    w = mg.tensor(rng.standard_normal(50), requires_grad=True)
    opt = optim.Lion([w], lr=0.01)
    for _ in range(5):
        before = w.data.copy()
        w.grad = mg.tensor(rng.standard_normal(50))
        opt.step()
        np.testing.assert_allclose(np.abs(before - w.data), 0.01, rtol=1e-9)


@given(seed=st.integers(0, 2**16), lr=st.floats(1e-3, 1.0), shape=shapes(min_dims=1, max_dims=3))
def test_lamb_step_norm_is_lr_times_param_norm(seed, lr, shape):
    """Trust ratio ‖θ‖/‖r‖: every LAMB step has norm exactly lr·‖θ‖ (θ ≠ 0, r ≠ 0)."""
    theta0, grad = problem(seed, shapes=[shape])
    params = make_params(theta0)
    opt = optim.LAMB(params, lr=lr, weight_decay=0.05)
    for t in range(1, 4):
        before = params[0].data.copy()
        params[0].grad = mg.tensor(grad(0, before, t))
        opt.step()
        assert np.linalg.norm(before - params[0].data) == pytest.approx(
            lr * np.linalg.norm(before), rel=1e-9)


@given(seed=st.integers(0, 2**16), lr=st.floats(1e-2, 10.0), shape=shapes(min_dims=1, max_dims=3))
def test_lars_step_norm_is_eta_lr_times_param_norm(seed, lr, shape):
    """Without momentum and decay, LARS moves each layer by exactly lr·η·‖θ‖."""
    theta0, grad = problem(seed, shapes=[shape])
    params = make_params(theta0)
    opt = optim.LARS(params, lr=lr, momentum=0.0, trust_coefficient=0.01)
    before = params[0].data.copy()
    params[0].grad = mg.tensor(grad(0, before, 1))
    opt.step()
    assert np.linalg.norm(before - params[0].data) == pytest.approx(
        lr * 0.01 * np.linalg.norm(before), rel=1e-9)


@pytest.mark.parametrize("name", ["LARS", "LAMB"])
def test_trust_ratio_is_one_for_a_zero_parameter(name):
    w = mg.tensor(np.zeros(3), requires_grad=True)
    opt = getattr(optim, name)([w], lr=0.1, weight_decay=0.0)
    w.grad = mg.tensor(np.array([1.0, -2.0, 0.5]))
    opt.step()
    assert np.all(np.isfinite(w.data)) and np.any(w.data != 0)
    assert np.array_equal(np.sign(w.data), [-1.0, 1.0, -1.0])


# --------------------------------------------------------------------------------------
# Equivalences between related algorithms
# --------------------------------------------------------------------------------------
def test_adamw_without_decay_is_adam_bit_for_bit():
    theta0, grad = problem(5)
    for amsgrad in (False, True):
        a, _, _ = run_minigrad("Adam", dict(lr=0.03, amsgrad=amsgrad), theta0, grad, 10)
        b, _, _ = run_minigrad("AdamW", dict(lr=0.03, amsgrad=amsgrad, weight_decay=0.0),
                               theta0, grad, 10)
        for x, y in zip(a, b):
            for u, w in zip(x, y):
                assert np.array_equal(u, w)


def test_rmsprop_is_adam_with_beta1_zero_up_to_bias_correction():
    """Adam(β₁ = 0): θ − γ g/(√(v/c_t) + ε) = θ − (γ√c_t) g/(√v + ε√c_t), c_t = 1 − β₂ᵗ.
    So RMSprop(α = β₂) with lr_t = γ√c_t and eps_t = ε√c_t (set before each step) is Adam."""
    theta0, grad = problem(6)
    lr, beta2, eps = 0.02, 0.95, 1e-3
    adam, _, _ = run_minigrad("Adam", dict(lr=lr, betas=(0.0, beta2), eps=eps), theta0, grad, 15)
    params = make_params(theta0)
    opt = optim.RMSprop(params, lr=lr, alpha=beta2, eps=eps)
    for t in range(1, 16):
        c_t = 1 - beta2**t
        opt.param_groups[0]["lr"] = lr * math.sqrt(c_t)
        opt.param_groups[0]["eps"] = eps * math.sqrt(c_t)
        rms, _, _ = run_minigrad("RMSprop", None, theta0, grad, 1, opt=opt, params=params, start=t)
        for u, w in zip(rms[0], adam[t - 1]):
            np.testing.assert_allclose(u, w, rtol=1e-12, atol=1e-14)


def test_rmsprop_first_step_is_ten_times_adams_at_alpha_099():
    w1 = mg.tensor([0.0], dtype=mg.float64, requires_grad=True)
    w2 = mg.tensor([0.0], dtype=mg.float64, requires_grad=True)
    rms = optim.RMSprop([w1], lr=0.01, eps=0.0)
    adam = optim.Adam([w2], lr=0.01, betas=(0.0, 0.99), eps=0.0)
    w1.grad, w2.grad = mg.tensor([2.0]), mg.tensor([2.0])
    rms.step()
    adam.step()
    assert w1.item() == pytest.approx(10 * w2.item(), rel=1e-12)


@pytest.mark.parametrize("mu", [0.5, 0.9])
def test_sgd_nesterov_equals_sutskever_form_at_constant_lr(mu):
    """Sutskever et al.: v ← μv − γ∇f(θ + μv); θ ← θ + v. PyTorch's parameter is the
    look-ahead point φ = θ + μv."""
    theta0, grad = problem(7, shapes=[(6,)])
    lr = 0.05
    got, _, _ = run_minigrad("SGD", dict(lr=lr, momentum=mu, nesterov=True), theta0, grad, 20)
    theta, v = theta0[0].copy(), np.zeros(6)
    for t in range(1, 21):
        v = mu * v - lr * grad(0, theta + mu * v, t)
        theta = theta + v
        np.testing.assert_allclose(got[t - 1][0], theta + mu * v, rtol=1e-11, atol=1e-13)


def test_sgd_momentum_equals_polyak_heavy_ball_at_constant_lr():
    """Polyak: v ← μv − γ∇f(θ); θ ← θ + v."""
    theta0, grad = problem(8, shapes=[(6,)])
    lr, mu = 0.05, 0.9
    got, _, _ = run_minigrad("SGD", dict(lr=lr, momentum=mu), theta0, grad, 20)
    theta, v = theta0[0].copy(), np.zeros(6)
    for t in range(1, 21):
        v = mu * v - lr * grad(0, theta, t)
        theta = theta + v
        np.testing.assert_allclose(got[t - 1][0], theta, rtol=1e-11, atol=1e-13)


def test_lars_on_an_excluded_1d_parameter_is_momentum_sgd():
    theta0, grad = problem(9, shapes=[(7,)])
    a, _, _ = run_minigrad("LARS", dict(lr=0.05, momentum=0.9, exclude_1d=True, weight_decay=0.1),
                           theta0, grad, 10)
    b, _, _ = run_minigrad("SGD", dict(lr=0.05, momentum=0.9), theta0, grad, 10)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x[0], y[0])


@pytest.mark.parametrize("name", list(OPTIONS))
def test_maximize_is_minimizing_the_negated_objective(name):
    theta0, grad = problem(10)
    hp = with_decay(name, OPTIONS[name][0], 0.1)

    def neg_grad(i, theta, t):
        return -grad(i, theta, t)

    up, _, _ = run_minigrad(name, dict(hp, maximize=True), theta0, grad, 8)
    down, _, _ = run_minigrad(name, hp, theta0, neg_grad, 8)
    for x, y in zip(up, down):
        for u, w in zip(x, y):
            np.testing.assert_array_equal(u, w)


# --------------------------------------------------------------------------------------
# Convergence through the real autograd: a convex quadratic with a known minimum, and
# Rosenbrock for the methods expected to get there.
# --------------------------------------------------------------------------------------
CONVERGENCE = {
    # name: (hyperparameters, steps, tolerance on max|θ − θ*|, polynomial lr decay)
    "SGD": (dict(lr=0.2, momentum=0.9, nesterov=True), 300, 1e-8, False),
    "Adagrad": (dict(lr=0.5), 600, 1e-6, False),
    "RMSprop": (dict(lr=0.03), 1500, 1e-6, True),
    "Adadelta": (dict(lr=1.0, rho=0.9, eps=1e-4), 2000, 1e-6, False),
    "Adam": (dict(lr=0.05), 1500, 1e-6, False),
    "AdamW": (dict(lr=0.05, weight_decay=0.0), 1500, 1e-6, False),
    "NAdam": (dict(lr=0.05), 1500, 1e-4, False),
    "RAdam": (dict(lr=0.05), 1500, 1e-6, False),
    "AdaBelief": (dict(lr=0.05, eps=1e-12), 1500, 1e-6, False),
    "Lion": (dict(lr=0.03), 1500, 1e-5, True),
    "LARS": (dict(lr=50.0, momentum=0.9), 1500, 1e-5, True),
    "LAMB": (dict(lr=0.02, weight_decay=0.0), 1500, 1e-4, True),
    "Adamax": (dict(lr=0.05), 1500, 1e-6, False),
    # Δ_min bounds how finely Rprop can settle: the default 1e-6 would stall it there
    "Rprop": (dict(lr=0.05, step_sizes=(1e-10, 50)), 300, 1e-8, False),
    # λ = 0: no shrink term, whose L2 penalty would move the minimum off θ*
    "ASGD": (dict(lr=0.5, lambd=0.0, t0=100), 300, 1e-8, False),
    # relative steps α = RMS(θ)·ρ_t: they settle as the polynomial decay takes lr to 0
    "Adafactor": (dict(lr=0.05), 1500, 1e-4, True),
}


def quadratic():
    rng = np.random.default_rng(11)
    a = rng.uniform(0.5, 2.0, size=(4, 3))
    target = rng.standard_normal((4, 3)) + 2.0  # away from 0, so trust ratios are meaningful
    start = rng.standard_normal((4, 3))
    return mg.tensor(a), mg.tensor(target), start


@pytest.mark.parametrize("name", list(CONVERGENCE))
def test_converges_on_convex_quadratic(name):
    """f(θ) = ½ Σ aᵢ(θᵢ − θ*ᵢ)², minimum at θ*; the loss goes through .backward()."""
    hp, steps, tol, decay = CONVERGENCE[name]
    a, target, start = quadratic()
    w = mg.tensor(start, requires_grad=True)
    opt = getattr(optim, name)([w], **hp)
    for t in range(steps):
        if decay:  # polynomial decay to 0: sign-like and trust-ratio steps need it to settle
            opt.param_groups[0]["lr"] = hp["lr"] * (1 - t / steps) ** 2
        opt.zero_grad()
        loss = (a * (w - target) * (w - target)).sum() * 0.5
        loss.backward()
        opt.step()
    assert np.max(np.abs(w.data - target.data)) < tol


ROSENBROCK = {
    # name: (hyperparameters, steps, tolerance on max|(x, y) − (1, 1)|)
    "Adam": (dict(lr=0.02), 4000, 1e-6),
    "AdaBelief": (dict(lr=0.02), 4000, 1e-6),
    "NAdam": (dict(lr=0.02), 4000, 2e-2),
    "SGD": (dict(lr=5e-4, momentum=0.9, nesterov=True), 4000, 1e-3),
}


@pytest.mark.parametrize("name", list(ROSENBROCK))
def test_reaches_rosenbrock_minimum(name):
    """f(x, y) = (1 − x)² + 100(y − x²)², minimum at (1, 1), started at (−1.5, 2).
    (RAdam is not here on purpose: its first five steps are un-adapted momentum steps
    lr·m̂, and Rosenbrock's gradient of ~10³ at the start throws it out at lr = 0.02.)"""
    hp, steps, tol = ROSENBROCK[name]
    xy = mg.tensor([-1.5, 2.0], dtype=mg.float64, requires_grad=True)
    opt = getattr(optim, name)([xy], **hp)
    for _ in range(steps):
        opt.zero_grad()
        x, y = xy[0], xy[1]
        loss = (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x)
        loss.backward()
        opt.step()
    np.testing.assert_allclose(xy.data, [1.0, 1.0], rtol=0, atol=tol)


# --------------------------------------------------------------------------------------
# Checkpoints: a resumed run continues bit-for-bit
# --------------------------------------------------------------------------------------
STATEFUL_CASES = [pytest.param(name, hp, id=f"{name}-{i}")
                  for name, cases in OPTIONS.items() for i, hp in enumerate(cases[:3])]


@pytest.mark.parametrize("name, hp", STATEFUL_CASES)
def test_state_dict_round_trip_continues_bit_for_bit(name, hp, device):
    theta0, grad = problem(12)
    hp = with_decay(name, hp, 0.05)
    _, opt, params = run_minigrad(name, hp, theta0, grad, 5, device=device)
    snapshot = opt.state_dict()
    saved_params = [p.data.copy() for p in params]
    frozen = pickle.loads(pickle.dumps(snapshot))
    cont, _, _ = run_minigrad(name, hp, theta0, grad, 6, device=device, opt=opt, params=params,
                              start=6)
    # the snapshot is a copy: stepping on did not change it
    for key, state in snapshot["state"].items():
        for k, value in state.items():
            if hasattr(value, "shape"):
                np.testing.assert_array_equal(host(value), host(frozen["state"][key][k]))
    # a fresh optimizer on fresh tensors, loaded from the snapshot, repeats the run exactly
    params2 = [mg.tensor(x.copy(), device=device, requires_grad=True) for x in saved_params]
    opt2 = getattr(optim, name)(params2, lr=123.0)  # hyperparameters come from the snapshot
    opt2.load_state_dict(frozen)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"] != 123.0
    resumed, _, _ = run_minigrad(name, None, theta0, grad, 6, device=device, opt=opt2,
                                 params=params2, start=6)
    for x, y in zip(cont, resumed):
        for u, w in zip(x, y):
            np.testing.assert_array_equal(u, w)


def test_state_dict_layout_is_pytorchs():
    a = mg.tensor(np.ones(3), requires_grad=True)
    b = mg.tensor(np.ones((2, 2)), requires_grad=True)
    c = mg.tensor(np.ones(1), requires_grad=True)
    opt = optim.Adam([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1)
    a.grad, c.grad = mg.tensor(np.ones(3)), mg.tensor(np.ones(1))  # b has no gradient
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert list(sd["state"]) == [0, 2]  # integer indices across groups; b (1) has no state
    assert sd["param_groups"][0]["params"] == [0, 1]
    assert sd["param_groups"][1]["params"] == [2]
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["param_groups"][0]["lr"] == 0.1
    assert set(sd["state"][0]) == {"step", "m", "v"} and sd["state"][0]["step"] == 1
    assert sd["state"][0]["m"] is not opt.state[a]["m"]


def test_load_state_dict_accepts_pytorch_state_names():
    """A torch state dict converted to arrays: 'exp_avg' → m, 'exp_avg_sq' → v, step tensor."""
    w = mg.tensor(np.zeros(2), requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    torch_like = {
        "state": {0: {"step": np.array(3.0, dtype=np.float32), "exp_avg": np.array([0.1, 0.2]),
                      "exp_avg_sq": np.array([0.01, 0.04])}},
        "param_groups": [dict(lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                              amsgrad=False, maximize=False, foreach=None, params=[0])],
    }
    opt.load_state_dict(torch_like)
    assert opt.state[w]["step"] == 3 and isinstance(opt.state[w]["step"], int)
    np.testing.assert_array_equal(opt.state[w]["m"], [0.1, 0.2])
    assert opt.state[w]["m"].dtype == w.dtype


def test_adam_refuses_a_decoupled_weight_decay_group():
    w = mg.tensor(np.zeros(2), requires_grad=True)
    sd = optim.Adam([w]).state_dict()
    sd["param_groups"][0]["decoupled_weight_decay"] = True  # PyTorch's AdamW-as-Adam flag
    with pytest.raises(ValueError, match="Adam: decoupled weight decay is AdamW here"):
        optim.Adam([w]).load_state_dict(sd)
    optim.AdamW([w]).load_state_dict(sd)  # fine: AdamW is decoupled anyway


def test_load_state_dict_rejects_mismatched_groups():
    a, b = (mg.tensor(np.ones(2), requires_grad=True) for _ in range(2))
    sd = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="group 0 .* 2 parameters"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        optim.SGD([a], lr=0.1).load_state_dict({"state": {}})


def test_load_state_dict_keeps_param_group_dicts():
    """Schedulers hold on to the optimizer; group dicts keep their identity on load."""
    w = mg.tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    group = opt.param_groups[0]
    opt.load_state_dict(optim.SGD([w], lr=0.7).state_dict())
    assert opt.param_groups[0] is group and group["lr"] == 0.7 and group["params"][0] is w


# --------------------------------------------------------------------------------------
# The Optimizer base
# --------------------------------------------------------------------------------------
def test_state_is_keyed_by_the_tensor_and_created_lazily():
    a = mg.tensor(np.ones(2), requires_grad=True)
    b = mg.tensor(np.ones(2), requires_grad=True)
    opt = optim.Adam([a, b])
    assert opt.state == {}
    a.grad = mg.tensor(np.ones(2))
    opt.step()
    assert list(opt.state) == [a] and opt.state[a]["step"] == 1
    assert all(isinstance(k, mg.Tensor) for k in opt.state)
    np.testing.assert_array_equal(b.data, [1.0, 1.0])  # no gradient: untouched


def test_zero_grad():
    w = mg.tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    w.grad = mg.tensor(np.full(3, 2.0))
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and np.array_equal(w.grad.data, np.zeros(3))
    opt.zero_grad()
    assert w.grad is None


def test_step_with_closure_runs_with_grad_enabled():
    w = mg.tensor([3.0], dtype=mg.float64, requires_grad=True)
    opt = optim.SGD([w], lr=0.25)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        calls.append(loss.item())
        return loss

    with mg.no_grad():
        loss = opt.step(closure)
    assert calls == [9.0] and loss.item() == 9.0
    assert w.item() == pytest.approx(3.0 - 0.25 * 6.0)
    assert opt.step() is None


def test_param_groups_have_their_own_hyperparameters():
    a = mg.tensor(np.ones(2), dtype=mg.float64, requires_grad=True)
    b = mg.tensor(np.ones(2), dtype=mg.float64, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert opt.param_groups[0]["momentum"] == 0 and opt.param_groups[1]["momentum"] == 0.9
    a.grad, b.grad = mg.tensor(np.ones(2)), mg.tensor(np.ones(2))
    opt.step()
    np.testing.assert_allclose(a.data, 0.9)
    np.testing.assert_allclose(b.data, 0.5)


def test_add_param_group_fills_defaults_and_steps_it():
    a = mg.tensor(np.ones(2), requires_grad=True)
    opt = optim.Adam([a], lr=0.1, betas=(0.8, 0.9))
    c = mg.tensor(np.ones(2), requires_grad=True)
    opt.add_param_group({"params": [c], "lr": 0.01})
    assert opt.param_groups[1]["betas"] == (0.8, 0.9) and opt.param_groups[1]["lr"] == 0.01
    c.grad = mg.tensor(np.ones(2))
    opt.step()
    np.testing.assert_allclose(c.data, 1 - 0.01, rtol=1e-6)


def test_params_may_be_a_generator():
    ws = [mg.tensor(np.ones(2), requires_grad=True) for _ in range(3)]
    opt = optim.SGD((w for w in ws), lr=0.1)
    group_params = opt.param_groups[0]["params"]
    assert len(group_params) == 3 and all(p is w for p, w in zip(group_params, ws))


def test_repr_lists_groups():
    opt = optim.Adam([mg.tensor([1.0], requires_grad=True)], lr=0.5)
    text = repr(opt)
    assert text.startswith("Adam (") and "Parameter Group 0" in text and "lr: 0.5" in text


def test_pickle_round_trip_keeps_state_attached_to_params():
    w = mg.tensor(np.ones(2), requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    w.grad = mg.tensor(np.ones(2))
    opt.step()
    opt2 = pickle.loads(pickle.dumps(opt))
    (p2,) = opt2.param_groups[0]["params"]
    assert opt2.state[p2]["step"] == 1


def test_a_sparse_gradient_is_refused_naming_the_optimizer():
    """SGD and Adagrad take sparse gradients (tests/optim/test_sparse_gradients.py);
    the others refuse them by name."""
    class SparseGrad:
        is_sparse = True
        data = None
        shape = (3,)

    for name in sorted(set(optim.FIRST_ORDER) - {"SGD", "Adagrad"}):
        w = mg.tensor(np.ones(3), requires_grad=True)
        opt = getattr(optim, name)([w])
        w.grad = SparseGrad()
        with pytest.raises(RuntimeError, match=f"{name} does not support sparse gradients"):
            opt.step()


def test_gradient_shape_mismatch_is_refused():
    w = mg.tensor(np.ones(3), requires_grad=True)
    opt = optim.Adam([w])
    w.grad = mg.tensor(np.ones(4))
    with pytest.raises(ValueError, match=r"Adam: gradient of shape \(4,\) .* \(3,\)"):
        opt.step()


def test_a_float32_gradient_of_a_float64_parameter_is_cast():
    w = mg.tensor(np.ones(2), dtype=mg.float64, requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    w.grad = mg.tensor(np.ones(2), dtype=mg.float32)
    opt.step()
    assert w.dtype == np.float64 and opt.state[w]["m"].dtype == np.float64


# --------------------------------------------------------------------------------------
# Float16 parameters are updated in float32 (Chainer's practice)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(OPTIONS))
def test_half_parameter_is_updated_in_float32(name, half_dtype):
    """float16 and bfloat16 parameters: a float32 master copy and float32 state, stepped
    exactly as a float32 parameter, the parameter its rounding."""
    dt = half_dtype
    theta0, grad = problem(13, shapes=[(4, 3)])
    hp = OPTIONS[name][0]
    half = mg.tensor(np.array(theta0[0]).astype(dt), requires_grad=True)
    single = mg.tensor(np.array(theta0[0]).astype(dt).astype(np.float32), requires_grad=True)
    opt16 = getattr(optim, name)([half], **hp)
    opt32 = getattr(optim, name)([single], **hp)
    for t in range(1, 6):
        g = grad(0, single.data.astype(np.float64), t)
        half.grad = mg.tensor(g.astype(dt))
        single.grad = mg.tensor(g.astype(dt).astype(np.float32))
        opt16.step()
        opt32.step()
        state = opt16.state[half]
        assert state["master"].dtype == np.float32
        assert all(v.dtype == np.float32 for v in state.values() if hasattr(v, "dtype"))
        np.testing.assert_array_equal(state["master"], single.data)
        np.testing.assert_array_equal(half.data.astype(np.float32),
                                      single.data.astype(dt).astype(np.float32))
        assert half.dtype == dt


def test_float16_small_updates_accumulate():
    """Steps of 1e-4 are below float16's spacing at 1.0 (≈ 9.8e-4): a float16 update would
    never move θ; the float32 master accumulates them."""
    w = mg.tensor(np.ones(4, dtype=np.float16), requires_grad=True)
    opt = optim.SGD([w], lr=1e-4)
    for _ in range(100):
        w.grad = mg.tensor(np.ones(4, dtype=np.float16))
        opt.step()
    np.testing.assert_allclose(w.data.astype(np.float64), 0.99, atol=1e-3)


def test_float16_parameter_changed_from_outside_is_reread():
    w = mg.tensor(np.ones(2, dtype=np.float16), requires_grad=True)
    opt = optim.SGD([w], lr=0.5)
    w.grad = mg.tensor(np.ones(2, dtype=np.float16))
    opt.step()
    w.data[...] = 4.0  # e.g. a weight load
    opt.step()
    np.testing.assert_array_equal(w.data, [3.5, 3.5])
    assert opt.state[w]["master"].tolist() == [3.5, 3.5]


def test_float32_state_dict_round_trip_of_float16_parameter():
    w = mg.tensor(np.ones(3, dtype=np.float16), requires_grad=True)
    opt = optim.Adam([w], lr=0.01)
    w.grad = mg.tensor(np.ones(3, dtype=np.float16))
    opt.step()
    w2 = mg.tensor(w.data.copy(), requires_grad=True)
    opt2 = optim.Adam([w2], lr=0.01)
    opt2.load_state_dict(opt.state_dict())
    assert opt2.state[w2]["m"].dtype == np.float32
    for o, p in ((opt, w), (opt2, w2)):
        p.grad = mg.tensor(np.ones(3, dtype=np.float16))
        o.step()
    np.testing.assert_array_equal(w.data, w2.data)


# --------------------------------------------------------------------------------------
# Hyperparameter validation: clear ValueErrors naming the optimizer and the problem
# --------------------------------------------------------------------------------------
BAD = [
    # (optimizer, keyword arguments, message pattern)
    *[(name, dict(lr=-0.1), "invalid learning rate lr=-0.1") for name in OPTIONS],
    *[(name, dict(lr=float("nan")), "invalid learning rate") for name in OPTIONS],
    *[(name, dict(lr="fast"), "invalid learning rate lr='fast'") for name in OPTIONS],
    *[(name, dict(weight_decay=-1e-4), "invalid weight_decay")
      for name in OPTIONS if name not in NO_WEIGHT_DECAY],
    *[(name, dict(eps=-1e-8), "invalid eps")
      for name in ["Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "NAdam", "RAdam",
                   "AdaBelief", "LAMB"]],
    *[(name, dict(betas=betas), pattern)
      for name in ["Adam", "AdamW", "NAdam", "RAdam", "AdaBelief", "Lion", "LAMB"]
      for betas, pattern in [((1.0, 0.999), "index 0: 1.0"), ((0.9, -0.1), "index 1: -0.1"),
                             ((0.9, 1.5), r"index 1: 1.5 \(must lie in \[0, 1\)\)"),
                             ((0.9,), "must be a pair")]],
    *[(name, dict(momentum=-0.5), "invalid momentum") for name in ["SGD", "RMSprop", "LARS"]],
    ("SGD", dict(dampening=1.5), r"dampening=1.5: must lie in \[0, 1\]"),
    ("SGD", dict(nesterov=True), "Nesterov momentum requires a momentum > 0 and zero dampening"),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov momentum requires"),
    ("Adagrad", dict(lr_decay=-1), "invalid lr_decay"),
    ("Adagrad", dict(initial_accumulator_value=-1), "invalid initial_accumulator_value"),
    ("RMSprop", dict(alpha=1.5), r"alpha=1.5: must lie in \[0, 1\]"),
    ("RMSprop", dict(alpha=-0.1), "alpha"),
    ("Adadelta", dict(rho=1.1), r"rho=1.1: must lie in \[0, 1\]"),
    ("NAdam", dict(momentum_decay=-1e-3), "invalid momentum_decay"),
    ("LARS", dict(trust_coefficient=-1.0), "invalid trust_coefficient"),
    # Adamax, Rprop and ASGD: their own arguments in test_new_optimizers.py
]


@pytest.mark.parametrize("name, kwargs, pattern", BAD,
                         ids=[f"{n}-{'-'.join(k)}-{i}" for i, (n, k, _) in enumerate(BAD)])
def test_invalid_hyperparameters_raise_clear_errors(name, kwargs, pattern):
    w = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match=f"^{name}: .*{pattern}"):
        getattr(optim, name)([w], **kwargs)


def test_invalid_hyperparameter_in_an_added_group_is_refused():
    opt = optim.Adam([mg.tensor([1.0], requires_grad=True)])
    with pytest.raises(ValueError, match="Adam: invalid learning rate"):
        opt.add_param_group({"params": [mg.tensor([1.0], requires_grad=True)], "lr": -1.0})
    assert len(opt.param_groups) == 1


def test_invalid_hyperparameter_is_refused_even_without_parameters():
    with pytest.raises(ValueError, match="invalid learning rate"):
        optim.SGD([], lr=-1.0)


def test_parameter_list_errors():
    w = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or of dicts, got Tensor"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="not a set"):
        optim.SGD([{"params": {w}}], lr=0.1)
    with pytest.raises(ValueError, match="appears twice in the same group"):
        optim.SGD([w, w], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors, but parameter 0 .* ndarray"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(TypeError, match="floating-point"):
        optim.SGD([mg.tensor([1, 2])], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(ValueError, match="needs a 'params' entry"):
        optim.SGD([{"lr": 0.1}], lr=0.1)
    opt = optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [w]})


# --------------------------------------------------------------------------------------
# The momentum schedule μ_t = μ₀ + (μ₁ − μ₀)·clip((t − t₀)/(t₁ − t₀), 0, 1)
# --------------------------------------------------------------------------------------
def test_momentum_schedule_values():
    w = mg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.1)
    sched = optim.MomentumSchedule(opt, start=0.5, end=0.9, t0=2, t1=6)
    seen = [opt.param_groups[0]["momentum"]]
    for _ in range(9):
        sched.step()
        seen.append(opt.param_groups[0]["momentum"])
    want = [0.5 + 0.4 * min(max((t - 2) / 4, 0), 1) for t in range(10)]
    np.testing.assert_allclose(seen, want, rtol=0, atol=1e-15)
    assert sched.get_last_momentum() == [seen[-1]]


def test_momentum_schedule_drives_sgd():
    """SGD with the schedule equals the heavy-ball recursion with μ_t read at each step."""
    theta0, grad = problem(14, shapes=[(5,)])
    params = make_params(theta0)
    opt = optim.SGD(params, lr=0.05, momentum=0.5)
    sched = optim.MomentumSchedule(opt, 0.5, 0.9, t1=5)
    theta, b = theta0[0].copy(), None
    for t in range(1, 9):
        mu = opt.param_groups[0]["momentum"]
        g = grad(0, theta, t)
        b = g if b is None else mu * b + g
        theta = theta - 0.05 * b
        run_minigrad("SGD", None, theta0, grad, 1, opt=opt, params=params, start=t)
        sched.step()
        np.testing.assert_allclose(params[0].data, theta, rtol=1e-12)


def test_momentum_schedule_on_adam_betas():
    w = mg.tensor([1.0], requires_grad=True)
    opt = optim.Adam([w], betas=(0.5, 0.999))
    sched = optim.MomentumSchedule(opt, 0.5, 0.9, t1=2, key="betas")
    sched.step()
    assert opt.param_groups[0]["betas"] == (pytest.approx(0.7), 0.999)


def test_momentum_schedule_state_dict():
    w = mg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.5)
    sched = optim.MomentumSchedule(opt, 0.5, 0.9, t1=10)
    for _ in range(3):
        sched.step()
    other = optim.MomentumSchedule(optim.SGD([w], lr=0.1, momentum=0.5), 0.1, 0.2, t1=1)
    other.load_state_dict(copy.deepcopy(sched.state_dict()))
    assert other.last_epoch == 3 and other.get_momentum() == sched.get_momentum()


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(start=-0.1, end=0.9, t1=5), "start=-0.1 must be a number >= 0"),
    (dict(start=0.5, end=0.9, t0=5, t1=5), "need t0 < t1"),
    (dict(start=0.5, end=1.0, t1=5, key="betas"), "end=1.0 must be < 1"),
    (dict(start=0.5, end=0.9, t1=5, key="alpha"), "key must be 'momentum' or 'betas'"),
])
def test_momentum_schedule_validation(kwargs, pattern):
    opt = optim.Adam([mg.tensor([1.0], requires_grad=True)])
    with pytest.raises(ValueError, match=f"MomentumSchedule: {pattern}"):
        optim.MomentumSchedule(opt if kwargs.get("key") == "betas" else optim.SGD(
            [mg.tensor([1.0], requires_grad=True)], momentum=0.1), **kwargs)


def test_momentum_schedule_needs_the_hyperparameter():
    opt = optim.Adam([mg.tensor([1.0], requires_grad=True)])
    with pytest.raises(ValueError, match="group 0 of Adam has no 'momentum'"):
        optim.MomentumSchedule(opt, 0.5, 0.9, t1=5)


# --------------------------------------------------------------------------------------
# Coverage: every first-order optimizer is in every family of tests above
# --------------------------------------------------------------------------------------
def test_every_first_order_optimizer_is_covered():
    names = set(optim.FIRST_ORDER)
    assert set(REFERENCES) == names
    assert set(OPTIONS) == names
    assert set(CONVERGENCE) == names
    assert {n for n, _, _ in BAD} == names
    assert {p.values[0] for p in STATEFUL_CASES} == names
    for name in names:
        assert name in optim.__all__
        cls = getattr(optim, name)
        assert issubclass(cls, optim.Optimizer)
        module = __import__(cls.__module__, fromlist=["_"])
        assert module.__doc__ and "References" in module.__doc__ and "Notes" in module.__doc__
        assert "for t = 1" in module.__doc__
        update = [getattr(module, f) for f in module.__all__
                  if f.endswith("_update") and not f.endswith("_sparse_update")]
        assert len(update) == 1, f"{name}: one pure (dense) update function"
