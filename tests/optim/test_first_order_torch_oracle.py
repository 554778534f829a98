"""Oracle: 20-step trajectories of the PyTorch-named optimizers against torch.optim.

Optional: skipped when torch is not importable. The hand-computed tests in
``test_optimizers.py`` stand without it; this file checks that "the same name" means
"the same trajectory, to float rounding" for every option PyTorch has.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad import optim

from .test_new_optimizers import NO_WEIGHT_DECAY, with_decay
from .test_new_optimizers import OPTIONS as NEW_OPTIONS

torch = pytest.importorskip("torch")

WD = 0.1
ORACLE_CASES = {
    "SGD": [dict(lr=0.05), dict(lr=0.05, momentum=0.9),
            dict(lr=0.05, momentum=0.8, dampening=0.3), dict(lr=0.05, momentum=0.9, nesterov=True),
            dict(lr=0.05, momentum=0.9, maximize=True)],
    "Adagrad": [dict(lr=0.1), dict(lr=0.1, lr_decay=0.05),
                dict(lr=0.1, initial_accumulator_value=0.5), dict(lr=0.1, eps=1e-3),
                dict(lr=0.1, maximize=True)],
    "RMSprop": [dict(lr=0.01), dict(lr=0.01, alpha=0.9), dict(lr=0.01, centered=True),
                dict(lr=0.01, momentum=0.8), dict(lr=0.01, centered=True, momentum=0.7),
                dict(lr=0.01, maximize=True)],
    "Adadelta": [dict(), dict(lr=0.5, rho=0.95), dict(eps=1e-3), dict(maximize=True)],
    "Adam": [dict(lr=0.05), dict(lr=0.05, amsgrad=True),
             dict(lr=0.05, betas=(0.8, 0.99), eps=1e-3), dict(lr=0.05, maximize=True),
             dict(lr=0.05, amsgrad=True, maximize=True)],
    "AdamW": [dict(lr=0.05), dict(lr=0.05, amsgrad=True), dict(lr=0.05, maximize=True)],
    "NAdam": [dict(lr=0.05), dict(lr=0.05, momentum_decay=0.05),
              dict(lr=0.05, decoupled_weight_decay=True), dict(lr=0.05, maximize=True)],
    "RAdam": [dict(lr=0.05), dict(lr=0.05, betas=(0.9, 0.9)),
              dict(lr=0.05, decoupled_weight_decay=True), dict(lr=0.05, maximize=True)],
    **NEW_OPTIONS,  # Adamax, Rprop, ASGD (test_new_optimizers.py)
}
CASES = [pytest.param(name, with_decay(name, hp, wd), id=f"{name}-{i}-wd{wd}")
         for name, cases in ORACLE_CASES.items() for i, hp in enumerate(cases)
         for wd in (0.0, WD) if wd == 0 or name not in NO_WEIGHT_DECAY]


@pytest.fixture
def torch_float64():
    """NAdam's μ-product is a tensor of torch's default dtype: make it float64 here."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def objective_grad(theta, t):
    """A θ- and t-dependent gradient: of ½Σa(θ − c)² − Σcos(θ)/3, plus a step-dependent term."""
    a = np.linspace(0.5, 2.0, theta.size).reshape(theta.shape)
    return a * (theta - 1.0) + np.sin(theta) / 3 + 0.2 * np.cos(t * (1.0 + theta))


def trajectories(name, hp, dtype, steps=20, shapes=((4, 3), (5,))):
    rng = np.random.default_rng(0)
    theta0 = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours = [mg.tensor(x.copy(), requires_grad=True) for x in theta0]
    theirs = [torch.tensor(x.copy(), requires_grad=True) for x in theta0]
    opt = getattr(optim, name)(ours, **hp)
    topt = getattr(torch.optim, name)(theirs, **hp)
    out = []
    for t in range(1, steps + 1):
        for p, q in zip(ours, theirs):
            p.grad = mg.tensor(objective_grad(p.data.astype(np.float64), t).astype(dtype))
            g = objective_grad(q.detach().numpy().astype(np.float64), t)
            q.grad = torch.tensor(g.astype(dtype))
        opt.step()
        topt.step()
        out.append([(p.data.copy(), q.detach().numpy().copy()) for p, q in zip(ours, theirs)])
    return out, opt, topt, ours, theirs


@pytest.mark.parametrize("name, hp", CASES)
def test_trajectory_matches_torch_float64(name, hp, torch_float64):
    out, *_ = trajectories(name, hp, np.float64)
    for t, step in enumerate(out, start=1):
        for ours, theirs in step:
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-13, err_msg=f"step {t}")


@pytest.mark.parametrize("name, hp", CASES)
def test_trajectory_matches_torch_float32(name, hp):
    out, *_ = trajectories(name, hp, np.float32)
    for t, step in enumerate(out, start=1):
        for ours, theirs in step:
            assert ours.dtype == np.float32
            np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=2e-6, err_msg=f"step {t}")


@pytest.mark.parametrize("name", list(ORACLE_CASES))
def test_defaults_match_torch(name):
    ours = getattr(optim, name)([mg.tensor([1.0], requires_grad=True)]).defaults
    theirs = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)]).defaults
    for key, value in ours.items():
        assert theirs[key] == value, (name, key)


@pytest.mark.parametrize("name", list(ORACLE_CASES))
def test_torch_state_dict_loads_and_continues(name, torch_float64):
    """Run torch 6 steps, convert its state dict to arrays, load it into minigrad and
    continue both for 6 more steps: the trajectories agree."""
    hp = with_decay(name, ORACLE_CASES[name][1], WD)
    _, _, topt, _, theirs = trajectories(name, hp, np.float64, steps=6)
    sd = topt.state_dict()
    converted = {
        "state": {k: {n: (v.detach().numpy() if torch.is_tensor(v) else v) for n, v in s.items()}
                  for k, s in sd["state"].items()},
        "param_groups": sd["param_groups"],
    }
    ours = [mg.tensor(q.detach().numpy().copy(), requires_grad=True) for q in theirs]
    opt = getattr(optim, name)(ours, **hp)
    opt.load_state_dict(converted)
    for t in range(7, 13):
        for p, q in zip(ours, theirs):
            p.grad = mg.tensor(objective_grad(p.data, t))
            q.grad = torch.tensor(objective_grad(q.detach().numpy(), t))
        opt.step()
        topt.step()
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-12, atol=1e-13)


def test_every_pytorch_named_optimizer_is_in_the_oracle():
    pytorch_named = {n for n in optim.FIRST_ORDER if hasattr(torch.optim, n)}
    assert pytorch_named == set(ORACLE_CASES)
