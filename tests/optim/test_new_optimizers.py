"""Adamax, Rprop, ASGD and Adafactor, checked from their formulas (and against torch.optim
when present).

The NumPy references below are written from the algorithm boxes (Kingma & Ba's AdaMax,
PyTorch's Rprop and ASGD rules), independently of the modules under test: they never
call the ``*_update`` functions. ``test_optimizers.py`` also runs them through its shared
families of tests (every option, maximize, half precision, checkpoints, convergence).
Here: trajectories against the references, the rules worked out number by number (Rprop's
sign logic, ASGD's schedules and average, Adamax's infinity norm), a checkpoint round
trip, argument validation, and float64 trajectories against PyTorch when it is installed.
"""
import contextlib

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim


# --------------------------------------------------------------------------------------
# NumPy references: one step for one parameter with fresh arrays, in the conventions of
# test_optimizers.py (``s`` the parameter's state dict, ``t`` the step from 1; returns θ).
# --------------------------------------------------------------------------------------
def ref_adamax(theta, g, s, t, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
               maximize=False):
    b1, b2 = betas
    if maximize:
        g = -g
    g = g + weight_decay * theta
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["u"] = np.maximum(b2 * s.get("u", 0.0), np.abs(g) + eps)
    return theta - lr / (1 - b1**t) * s["m"] / s["u"]


def ref_rprop(theta, g, s, t, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), maximize=False):
    eta_minus, eta_plus = etas
    if maximize:
        g = -g
    product = s.get("g_prev", np.zeros_like(theta)) * g
    Delta = s.get("Delta", np.full_like(theta, lr))
    Delta = np.where(product > 0, Delta * eta_plus, np.where(product < 0, Delta * eta_minus,
                                                             Delta))
    s["Delta"] = np.clip(Delta, *step_sizes)
    g = np.where(product < 0, 0.0, g)
    s["g_prev"] = g
    return theta - s["Delta"] * np.sign(g)


def ref_asgd(theta, g, s, t, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0,
             maximize=False):
    """η and μ from their closed forms at t − 1 (not carried); the average in ``s["ax"]``."""
    if maximize:
        g = -g
    g = g + weight_decay * theta
    eta = lr / (1 + lambd * lr * (t - 1)) ** alpha
    mu = 1 / max(1, t - 1 - t0)
    theta = theta * (1 - lambd * eta) - eta * g
    s["ax"] = theta.copy() if mu == 1 else s["ax"] + mu * (theta - s["ax"])
    return theta


def ref_adafactor(theta, g, s, t, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                  weight_decay=0.0, maximize=False):
    """Shazeer & Stern's factored second moment with PyTorch's conventions (means of g²
    along rows and columns, ρ_t = min(lr, 1/√t), decoupled decay scaled by lr)."""
    eps1 = np.finfo(np.asarray(theta).dtype).eps if eps[0] is None else eps[0]
    if maximize:
        g = -g
    beta2_hat = 1 - t ** beta2_decay
    alpha = max(eps[1], np.sqrt(np.mean(theta ** 2))) * min(lr, t ** -0.5)
    theta = theta * (1 - lr * weight_decay)
    if np.ndim(theta) >= 2:
        s["R"] = beta2_hat * s.get("R", 0.0) + (1 - beta2_hat) * np.mean(g * g, -1, keepdims=True)
        s["C"] = beta2_hat * s.get("C", 0.0) + (1 - beta2_hat) * np.mean(g * g, -2, keepdims=True)
        v_hat = s["R"] * s["C"] / np.maximum(np.mean(s["R"], -2, keepdims=True), eps1)
    else:
        s["v"] = beta2_hat * s.get("v", 0.0) + (1 - beta2_hat) * g * g
        v_hat = s["v"]
    u = g / np.sqrt(np.maximum(v_hat, eps1 ** 2))
    return theta - alpha * u / max(1.0, np.sqrt(np.mean(u ** 2)) / d)


REFERENCES = {"Adamax": ref_adamax, "Rprop": ref_rprop, "ASGD": ref_asgd,
              "Adafactor": ref_adafactor}

# Rprop has no weight decay (nor has PyTorch's): the shared tests' cases with decay leave
# it out (test_optimizers.py, test_first_order_torch_oracle.py).
NO_WEIGHT_DECAY = {"Rprop"}


def with_decay(name, hp, weight_decay):
    """``hp`` with ``weight_decay`` set, where the optimizer has one."""
    return dict(hp) if name in NO_WEIGHT_DECAY else dict(hp, weight_decay=weight_decay)


# Every option of each optimizer, without weight decay: shared with test_optimizers.py and
# test_first_order_torch_oracle.py, which add their own decay; here each runs with and
# without it.
OPTIONS = {
    "Adamax": [dict(lr=0.1), dict(lr=0.1, betas=(0.8, 0.9), eps=1e-3),
               dict(lr=0.1, maximize=True)],
    "Rprop": [dict(lr=0.1), dict(lr=0.3, etas=(0.3, 1.5), step_sizes=(1e-3, 0.5)),
              dict(lr=2.0, step_sizes=(1e-6, 0.4)), dict(lr=0.1, maximize=True)],
    "ASGD": [dict(lr=0.1), dict(lr=0.1, lambd=0.5, alpha=0.6, t0=2), dict(lr=0.1, t0=0),
             dict(lr=0.1, lambd=0.3, t0=1, maximize=True)],
    "Adafactor": [dict(lr=0.1), dict(lr=0.05, beta2_decay=-0.5, eps=(1e-3, 1e-2), d=2.0),
                  dict(lr=0.1, eps=(1e-30, 0.0), maximize=True)],
}
ALL_CASES = [pytest.param(name, with_decay(name, hp, wd), id=f"{name}-{i}-wd{wd}")
             for name, cases in OPTIONS.items() for i, hp in enumerate(cases)
             for wd in (0.0, 0.2) if wd == 0 or name not in NO_WEIGHT_DECAY]

# f(θ) = ½ Σ a(θ − c)² + Σ sin(θ)/3 on a 4-vector in float64, its gradient plus a
# step-dependent term (so the gradient depends on θ and on t)
A = np.array([0.5, 1.0, 2.0, 4.0])
C = np.array([1.0, -2.0, 0.5, 3.0])
THETA0 = np.array([0.3, 0.7, -1.2, 2.0])


def gradient(theta, t):
    return A * (theta - C) + np.cos(theta) / 3 + 0.1 * np.cos(t * (1 + theta))


def run(name, hp, steps, opt=None, w=None, start=1):
    """θ after each step of a minigrad optimizer on the problem (a fresh one by default)."""
    w = w if w is not None else mg.tensor(THETA0.copy(), requires_grad=True)
    opt = opt if opt is not None else getattr(optim, name)([w], **hp)
    out = []
    for t in range(start, start + steps):
        w.grad = mg.tensor(gradient(w.data, t))
        opt.step()
        out.append(w.data.copy())
    return out, opt, w


def run_reference(name, hp, steps):
    theta, s, out = THETA0.copy(), {}, []
    for t in range(1, steps + 1):
        theta = REFERENCES[name](theta, gradient(theta, t), s, t, **hp)
        out.append(theta)
    return out, s


# --------------------------------------------------------------------------------------
# Several steps against the formula, every option (maximize and weight decay included)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, hp", ALL_CASES)
def test_steps_match_formula(name, hp):
    got, opt, w = run(name, hp, 12)
    want, s = run_reference(name, hp, 12)
    for t, (x, y) in enumerate(zip(got, want), start=1):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14, err_msg=f"step {t}")
    state = opt.state[w]
    assert state["step"] == 12
    for key, value in s.items():  # the state too: m and u, g_prev and Δ, ax
        np.testing.assert_allclose(state[key], value, rtol=1e-12, atol=1e-14, err_msg=key)


def test_default_hyperparameters_are_pytorchs():
    w = [mg.tensor([1.0], requires_grad=True)]
    switches = dict(foreach=None, differentiable=False, capturable=False)  # as PyTorch's
    assert optim.Adamax(w).defaults == dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8,
                                            weight_decay=0, maximize=False, **switches)
    assert optim.Rprop(w).defaults == dict(lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50),
                                           maximize=False, **switches)
    assert optim.ASGD(w).defaults == dict(lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6,
                                          weight_decay=0, maximize=False, **switches)


# --------------------------------------------------------------------------------------
# The rules worked out by hand, number by number
# --------------------------------------------------------------------------------------
def param(values):
    return mg.tensor(np.array(values, dtype=np.float64), requires_grad=True)


def step_with(opt, w, g):
    w.grad = mg.tensor(np.array(g, dtype=np.float64))
    opt.step()
    return w.data


def test_adamax_three_steps_by_hand():
    """θ₀ = 1, g = 4, −1, 0.5, lr 0.1, β = (0.9, 0.999), ε = 0."""
    w = param([1.0])
    opt = optim.Adamax([w], lr=0.1, eps=0.0)
    step_with(opt, w, [4.0])            # m = 0.4, u = 4
    np.testing.assert_allclose(w.data, [1 - 0.1 / 0.1 * 0.4 / 4], rtol=1e-15)
    step_with(opt, w, [-1.0])           # m = 0.36 − 0.1 = 0.26, u = max(3.996, 1)
    theta2 = 0.9 - 0.1 / (1 - 0.81) * 0.26 / 3.996
    np.testing.assert_allclose(w.data, [theta2], rtol=1e-15)
    step_with(opt, w, [0.5])            # m = 0.234 + 0.05, u = max(0.999·3.996, 0.5)
    theta3 = theta2 - 0.1 / (1 - 0.729) * 0.284 / (0.999 * 3.996)
    np.testing.assert_allclose(w.data, [theta3], rtol=1e-15)
    np.testing.assert_allclose(opt.state[w]["m"], [0.284], rtol=1e-15)
    np.testing.assert_allclose(opt.state[w]["u"], [0.999 * 3.996], rtol=1e-15)


def test_adamax_eps_is_inside_the_maximum():
    """A zero gradient leaves θ where it is with u = ε (no division by zero); ε is the
    floor of u, not added to it."""
    w = param([2.0, -1.0])
    opt = optim.Adamax([w], lr=0.1, eps=1e-3)
    step_with(opt, w, [0.0, 0.0])
    np.testing.assert_array_equal(w.data, [2.0, -1.0])
    np.testing.assert_array_equal(opt.state[w]["u"], [1e-3, 1e-3])
    step_with(opt, w, [0.5, 1e-4])      # u = max(0.999e-3, |g| + 1e-3)
    np.testing.assert_allclose(opt.state[w]["u"], [0.501, 1.1e-3], rtol=1e-15)


def test_rprop_sign_logic_by_hand():
    """Two coordinates, lr 0.1, etas (0.5, 1.2), step sizes clamped to [0.01, 0.15].
    Same sign: Δ grows by 1.2 (up to 0.15); a flip: Δ shrinks by 0.5 (down to 0.01), no
    step, and g_prev ← 0 so the next step keeps Δ; a zero product keeps Δ."""
    w = param([0.0, 0.0])
    opt = optim.Rprop([w], lr=0.1, etas=(0.5, 1.2), step_sizes=(0.01, 0.15))
    steps = [
        # gradient       θ after the step      Δ after the step     g_prev
        ([1.0, 1.0], [-0.1, -0.1], [0.1, 0.1], [1.0, 1.0]),        # first step: Δ₀ = lr
        ([2.0, -1.0], [-0.22, -0.1], [0.12, 0.05], [2.0, 0.0]),    # keep; flip: no step
        ([3.0, -1.0], [-0.364, -0.05], [0.144, 0.05], [3.0, -1.0]),  # keep; after a flip
        ([1.0, -2.0], [-0.514, 0.01], [0.15, 0.06], [1.0, -2.0]),  # 0.1728 → Δ_max 0.15
        ([-1.0, 1.0], [-0.514, 0.01], [0.075, 0.03], [0.0, 0.0]),  # both flip: no step
        ([-1.0, 1.0], [-0.439, -0.02], [0.075, 0.03], [-1.0, 1.0]),  # Δ kept after a flip
        ([1.0, -1.0], [-0.439, -0.02], [0.0375, 0.015], [0.0, 0.0]),
        ([1.0, -1.0], [-0.4765, -0.005], [0.0375, 0.015], [1.0, -1.0]),
        ([-1.0, 1.0], [-0.4765, -0.005], [0.01875, 0.01], [0.0, 0.0]),  # 0.0075 → Δ_min
    ]
    for t, (g, theta, Delta, g_prev) in enumerate(steps, start=1):
        step_with(opt, w, g)
        np.testing.assert_allclose(w.data, theta, rtol=0, atol=1e-12, err_msg=f"step {t}")
        np.testing.assert_allclose(opt.state[w]["Delta"], Delta, rtol=1e-12, err_msg=f"step {t}")
        np.testing.assert_array_equal(opt.state[w]["g_prev"], g_prev, err_msg=f"step {t}")


def test_rprop_uses_only_the_sign_and_clamps_lr_to_the_step_sizes():
    """lr 100 lies above Δ_max = 50: the first step is 50, whatever the gradient's size;
    a zero gradient takes no step and keeps Δ."""
    w = param([0.0, 0.0, 0.0])
    opt = optim.Rprop([w], lr=100.0)
    step_with(opt, w, [1e-30, -1e30, 0.0])
    np.testing.assert_array_equal(w.data, [-50.0, 50.0, 0.0])
    np.testing.assert_array_equal(opt.state[w]["Delta"], [50.0, 50.0, 50.0])


def test_rprop_maximize_steps_up_the_gradient():
    w = param([0.0])
    opt = optim.Rprop([w], lr=0.25, maximize=True)
    step_with(opt, w, [3.0])
    step_with(opt, w, [3.0])
    np.testing.assert_allclose(w.data, [0.25 + 0.25 * 1.2], rtol=1e-15)
    np.testing.assert_array_equal(opt.state[w]["g_prev"], [-3.0])  # the negated gradient


def test_rprop_has_no_weight_decay():
    with pytest.raises(TypeError, match="weight_decay"):
        optim.Rprop([param([1.0])], weight_decay=0.1)


def test_asgd_step_size_schedule_and_shrink_by_hand():
    """g = 0: θ only shrinks, θ_t = θ_{t−1}(1 − λη_{t−1}), with η_t = γ/(1 + λγt)^α."""
    lr, lambd, alpha = 0.2, 0.5, 0.75
    w = param([1.0, -3.0])
    opt = optim.ASGD([w], lr=lr, lambd=lambd, alpha=alpha)
    assert not opt.state  # created lazily: η₀ = lr, μ₀ = 1 on the first step
    want = np.array([1.0, -3.0])
    for t in range(1, 6):
        eta_prev = lr / (1 + lambd * lr * (t - 1)) ** alpha
        want = want * (1 - lambd * eta_prev)
        step_with(opt, w, [0.0, 0.0])
        np.testing.assert_allclose(w.data, want, rtol=1e-14, err_msg=f"step {t}")
        assert opt.state[w]["eta"] == pytest.approx(lr / (1 + lambd * lr * t) ** alpha,
                                                    rel=1e-15)
        assert opt.state[w]["mu"] == 1.0  # t0 = 1e6: no averaging yet
        np.testing.assert_array_equal(opt.state[w]["ax"], w.data)


def test_asgd_average_starts_after_t0_by_hand():
    """λ = 0 (η = γ throughout), t₀ = 2: ax_t = θ_t up to t = t₀ + 2 = 4, then the mean of
    θ₄, ..., θ_t; μ after step t is 1/max(1, t − t₀)."""
    lr = 0.5
    w = param([0.0])
    opt = optim.ASGD([w], lr=lr, lambd=0.0, t0=2)
    grads = [1.0, -2.0, 4.0, 2.0, -6.0, 8.0, 1.0]
    thetas = np.cumsum([-lr * g for g in grads])    # θ_t = θ_{t−1} − γg_t
    for t, g in enumerate(grads, start=1):
        step_with(opt, w, [g])
        assert w.data[0] == thetas[t - 1]
        want_ax = thetas[t - 1] if t <= 4 else np.mean(thetas[3:t])
        np.testing.assert_allclose(opt.state[w]["ax"], [want_ax], rtol=1e-15, atol=1e-15,
                                   err_msg=f"step {t}")
        assert opt.state[w]["mu"] == 1 / max(1, t - 2)
        assert opt.state[w]["eta"] == lr


def test_asgd_weight_decay_and_maximize_by_hand():
    """One step: g ← −g (maximize), g ← g + wd·θ, θ ← θ(1 − λγ) − γg."""
    w = param([2.0])
    opt = optim.ASGD([w], lr=0.1, lambd=0.5, weight_decay=0.25, maximize=True)
    step_with(opt, w, [3.0])
    np.testing.assert_allclose(w.data, [2.0 * (1 - 0.05) - 0.1 * (-3.0 + 0.25 * 2.0)],
                               rtol=1e-15)


# --------------------------------------------------------------------------------------
# Checkpoints: 3 steps, save, load into a fresh optimizer, 3 more = 6 uninterrupted steps
# --------------------------------------------------------------------------------------
STATE_KEYS = {"Adamax": {"step", "m", "u"}, "Rprop": {"step", "g_prev", "Delta"},
              "ASGD": {"step", "eta", "mu", "ax"}}


@pytest.mark.parametrize("name, hp", [
    ("Adamax", dict(lr=0.1, weight_decay=0.2, maximize=True)), ("Rprop", OPTIONS["Rprop"][1]),
    ("ASGD", dict(OPTIONS["ASGD"][1], weight_decay=0.2))])
def test_state_dict_round_trip_continues_exactly(name, hp):
    straight, _, _ = run(name, hp, 6)
    _, opt, w = run(name, hp, 3)
    saved = opt.state_dict()
    assert set(saved["state"][0]) == STATE_KEYS[name]
    assert isinstance(saved["state"][0]["step"], int) and saved["state"][0]["step"] == 3
    w2 = mg.tensor(w.data.copy(), requires_grad=True)
    opt2 = getattr(optim, name)([w2], lr=123.0)     # hyperparameters come from the checkpoint
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == hp["lr"]
    resumed, _, _ = run(name, hp, 3, opt=opt2, w=w2, start=4)
    for x, y in zip(straight[3:], resumed):
        np.testing.assert_array_equal(x, y)
    if name == "ASGD":  # η and μ are Python floats, restored as such
        s, s2 = opt.state[w], opt2.state[w2]
        assert type(s2["eta"]) is float and type(s2["mu"]) is float
        np.testing.assert_array_equal(run(name, hp, 3, opt=opt, w=w, start=4)[0][-1], w2.data)
        assert (s["eta"], s["mu"]) == (s2["eta"], s2["mu"])
        np.testing.assert_array_equal(s["ax"], s2["ax"])


# --------------------------------------------------------------------------------------
# Argument validation
# --------------------------------------------------------------------------------------
BAD = [
    *[(name, dict(lr=-0.1), "invalid learning rate lr=-0.1") for name in OPTIONS],
    *[(name, dict(lr=float("nan")), "invalid learning rate") for name in OPTIONS],
    ("Adamax", dict(eps=-1e-8), "invalid eps"),
    ("Adamax", dict(weight_decay=-1e-4), "invalid weight_decay"),
    ("Adamax", dict(betas=(1.0, 0.999)), "index 0: 1.0"),
    ("Adamax", dict(betas=(0.9, -0.1)), "index 1: -0.1"),
    ("Adamax", dict(betas=(0.9,)), "must be a pair"),
    ("Rprop", dict(etas=(0.5, 1.0)), r"invalid etas=\(0.5, 1.0\): .*0 < etaminus < 1 < etaplus"),
    ("Rprop", dict(etas=(1.0, 1.2)), "invalid etas"),
    ("Rprop", dict(etas=(0.0, 1.2)), "invalid etas"),
    ("Rprop", dict(etas=(0.5,)), "invalid etas"),
    ("Rprop", dict(etas=(0.5, "fast")), "invalid etas"),
    ("Rprop", dict(step_sizes=(1.0, 0.5)), r"invalid step_sizes=\(1.0, 0.5\): .*0 <= min <= max"),
    ("Rprop", dict(step_sizes=(-1e-6, 50)), "invalid step_sizes"),
    ("Rprop", dict(step_sizes=50), "invalid step_sizes"),
    ("ASGD", dict(lambd=-1e-4), "invalid lambd"),
    ("ASGD", dict(alpha=-0.75), "invalid alpha"),
    ("ASGD", dict(t0=-1), "invalid t0"),
    ("ASGD", dict(weight_decay=-1e-4), "invalid weight_decay"),
    ("Adafactor", dict(beta2_decay=0.5), "beta2_decay must be <= 0"),
    ("Adafactor", dict(eps=(-1.0, 1e-3)), "eps values must be non-negative"),
    ("Adafactor", dict(eps=(None, -1e-3)), "eps values must be non-negative"),
    ("Adafactor", dict(eps=1e-3), "eps must be a pair"),
    ("Adafactor", dict(d=0.5), "clipping threshold d must be >= 1"),
    ("Adafactor", dict(weight_decay=-1e-4), "invalid weight_decay"),
]


@pytest.mark.parametrize("name, kwargs, pattern", BAD,
                         ids=[f"{n}-{'-'.join(k)}-{i}" for i, (n, k, _) in enumerate(BAD)])
def test_invalid_arguments_raise_clear_errors(name, kwargs, pattern):
    w = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match=f"^{name}: .*{pattern}"):
        getattr(optim, name)([w], **kwargs)


def test_invalid_argument_in_a_later_group_is_refused():
    opt = optim.Rprop([mg.tensor([1.0], requires_grad=True)])
    with pytest.raises(ValueError, match="Rprop: invalid etas"):
        opt.add_param_group({"params": [mg.tensor([1.0], requires_grad=True)],
                             "etas": (1.2, 0.5)})
    assert len(opt.param_groups) == 1


# --------------------------------------------------------------------------------------
# PyTorch parity (only where torch is installed): same start, same gradients, float64
# --------------------------------------------------------------------------------------
TORCH_STATE = {"Adamax": {"m": "exp_avg", "u": "exp_inf"},
               "Rprop": {"g_prev": "prev", "Delta": "step_size"},
               "ASGD": {"ax": "ax", "eta": "eta", "mu": "mu"},
               "Adafactor": {"R": "row_var", "C": "col_var", "v": "variance"}}


@contextlib.contextmanager
def default_dtype(torch, dtype):
    """ASGD keeps η and μ as tensors of torch's default dtype: float64 for exact parity."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


@pytest.mark.parametrize("name, hp", ALL_CASES)
def test_trajectory_matches_torch_in_float64(name, hp):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    theta0 = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    ours = [mg.tensor(x.copy(), requires_grad=True) for x in theta0]
    theirs = [torch.tensor(x.copy(), requires_grad=True) for x in theta0]
    with default_dtype(torch, torch.float64):
        opt = getattr(optim, name)(ours, **hp)
        topt = getattr(torch.optim, name)(theirs, **hp)
        for t in range(1, 16):
            for p, q in zip(ours, theirs):
                p.grad = mg.tensor(np.sin(3 * p.data) + p.data - 0.5 + 0.2 * np.cos(t))
                x = q.detach().numpy()
                q.grad = torch.tensor(np.sin(3 * x) + x - 0.5 + 0.2 * np.cos(t))
            opt.step()
            topt.step()
            for p, q in zip(ours, theirs):
                np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-12, atol=1e-13,
                                           err_msg=f"step {t}")
    for p, q in zip(ours, theirs):
        for key, torch_key in TORCH_STATE[name].items():
            if key not in opt.state[p]:       # Adafactor: factors of matrices only
                assert torch_key not in topt.state[q] or topt.state[q][torch_key] is None
                continue
            theirs_value = topt.state[q][torch_key]
            np.testing.assert_allclose(opt.state[p][key], theirs_value.detach().numpy(),
                                       rtol=1e-12, atol=1e-13, err_msg=key)
        assert opt.state[p]["step"] == int(topt.state[q]["step"])


# --------------------------------------------------------------------------------------
# Adafactor by hand: the factored second moment, its memory and the relative step
# --------------------------------------------------------------------------------------
def test_adafactor_keeps_a_row_and_a_column_factor_per_matrix():
    w = mg.tensor(np.ones((3, 4, 5)), requires_grad=True)   # a batch of 3 matrices 4 × 5
    v = mg.tensor(np.ones(6), requires_grad=True)
    opt = optim.Adafactor([w, v])
    w.grad, v.grad = mg.ones(3, 4, 5, dtype=mg.float64), mg.ones(6, dtype=mg.float64)
    opt.step()
    assert opt.state[w]["R"].shape == (3, 4, 1) and opt.state[w]["C"].shape == (3, 1, 5)
    assert set(opt.state[w]) == {"step", "R", "C"} and set(opt.state[v]) == {"step", "v"}


def test_adafactor_rank_one_second_moment_is_exact():
    """For g² = a bᵀ (rank 1) the factored estimate R C / mean(R) equals g² itself, so
    the first update is exactly sign(g)·α (|U| = 1 everywhere)."""
    a, b = np.array([1.0, 4.0, 9.0]), np.array([0.25, 1.0])
    g = np.sqrt(np.outer(a, b)) * np.array([[1, -1], [-1, 1], [1, 1]])
    theta0 = np.full((3, 2), 2.0)
    w = mg.tensor(theta0.copy(), requires_grad=True)
    opt = optim.Adafactor([w], lr=0.1)
    w.grad = mg.tensor(g)
    opt.step()
    alpha = 2.0 * 0.1                     # RMS(θ₀) = 2, ρ₁ = min(0.1, 1) = 0.1
    np.testing.assert_allclose(w.data, theta0 - alpha * np.sign(g), rtol=1e-14)


def test_adafactor_relative_step_and_clipping():
    """ρ_t = min(lr, 1/√t): with lr = 1 the steps shrink as 1/√t from the start; a
    gradient that doubles in one coordinate is clipped back to RMS(U) = d."""
    w = mg.tensor(np.array([3.0]), requires_grad=True)
    opt = optim.Adafactor([w], lr=1.0, eps=(1e-30, 0.0))
    moves = []
    for _ in range(4):
        before = float(w.data[0])
        w.grad = mg.tensor(np.array([-1.0]))  # constant g: V̂ = 1, U = −1, θ grows
        opt.step()
        moves.append((float(w.data[0]) - before) / before)   # = α_t/θ_{t−1} = ρ_t
    np.testing.assert_allclose(moves, [1 / np.sqrt(t) for t in range(1, 5)], rtol=1e-13)
    x = mg.tensor(np.array([1.0, 1.0]), requires_grad=True)
    opt = optim.Adafactor([x], lr=0.5, d=1.0, eps=(1e-30, 0.0))
    x.grad = mg.tensor(np.array([1.0, 1.0]))
    opt.step()                                # V̂ = (1, 1)
    x.grad = mg.tensor(np.array([1.0, 3.0]))  # v ← v + 2^-0.8 (g² − v): U above RMS 1
    before = x.data.copy()
    opt.step()
    v = 1 + 2 ** -0.8 * (np.array([1.0, 9.0]) - 1)
    u = np.array([1.0, 3.0]) / np.sqrt(v)
    alpha = np.sqrt(np.mean(before ** 2)) * min(0.5, 1 / np.sqrt(2))
    np.testing.assert_allclose(before - x.data, alpha * u / np.sqrt(np.mean(u ** 2)),
                               rtol=1e-13)
