"""Oracle audit: the paths a demanding PyTorch user takes that the per-option oracle tests
(``test_first_order_torch_oracle.py``, ``test_schedulers.py``) do not: several groups
with different hyperparameters, parameters without a gradient, ``add_param_group`` after
steps, ``zero_grad(set_to_none=False)``, hyperparameters changed between steps, a
checkpoint reloaded mid-trajectory; schedulers stepped with an explicit epoch, resumed
with ``last_epoch``, and plateau variants; ``AveragedModel`` with custom averages; L-BFGS
with several parameters; and the regressions this audit fixed (plateau metrics given as
one-element arrays, array gradients, ``clip_grads_with_norm_``, the dtype of the total
norm). Float64, seeded; skipped when torch is not importable.
"""
import copy
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim
from minigrad.nn.utils import clip_grad_norm_, clip_grads_with_norm_, get_total_norm
from minigrad.optim import lr_scheduler as S
from minigrad.optim import swa_utils as W

torch = pytest.importorskip("torch")
import torch.optim.lr_scheduler as TS  # noqa: E402
import torch.optim.swa_utils as TW  # noqa: E402

from .test_first_order_torch_oracle import objective_grad, torch_float64  # noqa: E402, F401

pytestmark = pytest.mark.usefixtures("torch_float64")


def torch_state_dict_as_arrays(sd):
    return {"state": {k: {n: (v.detach().numpy().copy() if torch.is_tensor(v) else v)
                          for n, v in s.items()} for k, s in sd["state"].items()},
            "param_groups": copy.deepcopy(sd["param_groups"])}


# --------------------------------------------------------------- optimizers: a whole workflow
GROUPS = {
    "SGD": (dict(lr=0.05, momentum=0.9, nesterov=True),
            dict(lr=0.02, momentum=0.5, dampening=0.2, weight_decay=0.1, maximize=True),
            dict(lr=0.1)),
    "Adagrad": (dict(lr=0.1, lr_decay=0.01),
                dict(lr=0.05, weight_decay=0.1, maximize=True, eps=1e-3),
                dict(lr=0.1, lr_decay=0.2)),
    "RMSprop": (dict(lr=0.01, centered=True, momentum=0.5),
                dict(lr=0.02, alpha=0.9, weight_decay=0.1, maximize=True),
                dict(lr=0.01, momentum=0.9)),
    "Adadelta": (dict(lr=1.0, rho=0.8), dict(lr=0.5, weight_decay=0.1, maximize=True, eps=1e-4),
                 dict()),
    "Adam": (dict(lr=0.05, amsgrad=True),
             dict(lr=0.02, betas=(0.8, 0.9), weight_decay=0.1, maximize=True),
             dict(lr=0.01, amsgrad=True, weight_decay=0.2)),
    "AdamW": (dict(lr=0.05, amsgrad=True),
              dict(lr=0.02, betas=(0.8, 0.9), weight_decay=0.1, maximize=True),
              dict(lr=0.01, amsgrad=True, weight_decay=0.2)),
    "NAdam": (dict(lr=0.05, momentum_decay=0.01),
              dict(lr=0.02, betas=(0.8, 0.9), weight_decay=0.1, decoupled_weight_decay=True,
                   maximize=True),
              dict(lr=0.01, weight_decay=0.2)),
    "RAdam": (dict(lr=0.05),
              dict(lr=0.02, betas=(0.8, 0.9), weight_decay=0.1, decoupled_weight_decay=True,
                   maximize=True),
              dict(lr=0.01, weight_decay=0.2)),
}
WORKFLOW = [pytest.param(name, False, id=name) for name in GROUPS] + [
    pytest.param(name, True, id=f"{name}-fused") for name in ("SGD", "Adam", "AdamW")]


@pytest.mark.parametrize("name, fused", WORKFLOW)
def test_workflow_matches_torch(name, fused):
    """Two groups, a 0-d parameter, a third group added at step 4, a parameter without a
    gradient on some steps (no state for it until its first gradient), zero_grad with
    set_to_none=False followed by a step on zero gradients, hyperparameters changed at
    step 3 and lr at step 8, and a state_dict reloaded into a fresh optimizer at step 6."""
    g0, g1, g2 = GROUPS[name]
    kw = {"fused": True} if fused else {}
    rng = np.random.default_rng(1)
    theta0 = [rng.standard_normal(s) for s in [(3, 2), (4,), (), (5,)]]
    P = [mg.tensor(x.copy(), requires_grad=True) for x in theta0]
    Q = [torch.tensor(x.copy(), requires_grad=True) for x in theta0]

    def groups(X):
        return [dict(params=[X[0]], **g0), dict(params=[X[1], X[2]], **g1)]

    ours, theirs = getattr(optim, name)(groups(P), **kw), getattr(torch.optim, name)(groups(Q))
    for t in range(1, 13):
        if t == 4:
            ours.add_param_group(dict(params=[P[3]], **g2))
            theirs.add_param_group(dict(params=[Q[3]], **g2))
        if t not in (7, 10):  # after zero_grad(set_to_none=False): a step on zero grads
            for i in range(4 if t >= 4 else 3):
                if i == 1 and t % 3 == 0:
                    P[i].grad = Q[i].grad = None
                    continue
                P[i].grad = mg.tensor(objective_grad(P[i].data, t))
                Q[i].grad = torch.tensor(objective_grad(Q[i].detach().numpy(), t))
        ours.step()
        theirs.step()
        if t == 3:
            assert P[1] not in ours.state or Q[1] in theirs.state
            for group in (ours.param_groups[1], theirs.param_groups[1]):
                for key, value in (("betas", (0.7, 0.95)), ("momentum", 0.3),
                                   ("weight_decay", 0.05), ("eps", 1e-4)):
                    if key in group and (key != "momentum" or group[key] > 0):
                        group[key] = value  # (PyTorch's RMSprop can't switch momentum on)
        if t == 6:
            saved = ours.state_dict()
            ours = getattr(optim, name)(groups(P), **kw)
            ours.add_param_group(dict(params=[P[3]], **g2))
            ours.load_state_dict(saved)
        if t in (6, 9):
            ours.zero_grad(set_to_none=False)
            theirs.zero_grad(set_to_none=False)
        if t == 8:
            for opt in (ours, theirs):
                opt.param_groups[0]["lr"] *= 0.5
        for i, (p, q) in enumerate(zip(P, Q)):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-12, atol=1e-14,
                                       err_msg=f"{name} step {t} param {i}")


def test_adagrad_constructor_initial_accumulator_value_matches_torch():
    rng = np.random.default_rng(3)
    x0 = [rng.standard_normal((3,)), rng.standard_normal((2, 2))]
    P = [mg.tensor(x.copy(), requires_grad=True) for x in x0]
    Q = [torch.tensor(x.copy(), requires_grad=True) for x in x0]
    ours = optim.Adagrad([{"params": [P[0]]}, {"params": [P[1]], "lr": 0.05}], lr=0.1,
                         initial_accumulator_value=0.3, lr_decay=0.05)
    theirs = torch.optim.Adagrad([{"params": [Q[0]]}, {"params": [Q[1]], "lr": 0.05}],
                                 lr=0.1, initial_accumulator_value=0.3, lr_decay=0.05)
    for t in range(1, 11):
        for p, q in zip(P, Q):
            p.grad = mg.tensor(objective_grad(p.data, t))
            q.grad = torch.tensor(objective_grad(q.detach().numpy(), t))
        ours.step()
        theirs.step()
        for p, q in zip(P, Q):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------------- L-BFGS
A = np.array([[2.0, 0.3, 0.1], [0.3, 1.5, -0.2], [0.1, -0.2, 1.0]])
C = np.array([0.5, -1.0, 0.25])


@pytest.mark.parametrize("kw", [dict(max_iter=4), dict(max_iter=4, history_size=2),
                                dict(max_iter=6, history_size=2, line_search_fn="strong_wolfe")])
def test_lbfgs_two_params_one_without_grad_and_reload(kw):
    """Two parameters, the second never in the loss (its grad stays None: zeros in the flat
    gradient), and the state reloaded into a fresh L-BFGS after two steps."""
    x0, z0 = np.array([2.0, -1.5, 1.0]), np.array([0.3, 0.7])
    p, pz = mg.tensor(x0.copy(), requires_grad=True), mg.tensor(z0.copy(), requires_grad=True)
    q, qz = torch.tensor(x0.copy(), requires_grad=True), torch.tensor(z0.copy(),
                                                                      requires_grad=True)
    ours, theirs = optim.LBFGS([p, pz], **kw), torch.optim.LBFGS([q, qz], **kw)
    Am, Cm, At, Ct = mg.tensor(A), mg.tensor(C), torch.tensor(A), torch.tensor(C)

    def closure_ours():
        ours.zero_grad()
        loss = 0.5 * (p * (Am @ p)).sum() - (Cm * p).sum() + 0.25 * (p ** 4).sum()
        loss.backward()
        return loss

    def closure_theirs():
        theirs.zero_grad()
        loss = 0.5 * q @ At @ q - Ct @ q + 0.25 * (q ** 4).sum()
        loss.backward()
        return loss

    for step in range(5):
        if step == 2:
            saved = ours.state_dict()
            ours = optim.LBFGS([p, pz], **kw)
            ours.load_state_dict(saved)
        ours.step(closure_ours)
        theirs.step(closure_theirs)
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(pz.data, z0)
    assert ours.state[p]["func_evals"] == theirs.state[q]["func_evals"]


def test_sparse_adam_matches_torch_with_an_empty_gradient_step():
    rng = np.random.default_rng(4)
    x0 = rng.standard_normal((6, 3))
    p, q = mg.tensor(x0.copy(), requires_grad=True), torch.tensor(x0.copy(), requires_grad=True)
    ours = optim.SparseAdam([p], lr=0.05, betas=(0.5, 0.9), maximize=True)
    theirs = torch.optim.SparseAdam([q], lr=0.05, betas=(0.5, 0.9), maximize=True)
    for t in range(8):
        rows = np.unique(rng.integers(0, 6, 3)) if t != 3 else np.zeros(0, dtype=np.int64)
        values = rng.standard_normal((len(rows), 3))
        p.grad = mg.sparse_coo_tensor(rows[None], values, (6, 3))
        q.grad = torch.sparse_coo_tensor(torch.tensor(rows[None]), torch.tensor(values), (6, 3),
                                         check_invariants=True)
        ours.step()
        theirs.step()
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- schedulers
def two_optimizers(kind="SGD", **kw):
    P = [mg.tensor(np.zeros(2), requires_grad=True) for _ in range(2)]
    Q = [torch.zeros(2, requires_grad=True) for _ in range(2)]

    def groups(X):
        return [dict(params=[X[0]]), dict(params=[X[1]], lr=0.05)]

    return (getattr(optim, kind)(groups(P), lr=0.1, **kw),
            getattr(torch.optim, kind)(groups(Q), lr=0.1, **kw))


def assert_same_groups(ours, theirs, where):
    for g, h in zip(ours.param_groups, theirs.param_groups):
        for key in ("lr", "momentum", "betas"):
            if key in h:
                np.testing.assert_allclose(np.asarray(g[key], float), np.asarray(h[key], float),
                                           rtol=1e-12, atol=1e-15, err_msg=f"{key} at {where}")


EPOCH_CASES = {
    "step": lambda M, o: M.StepLR(o, 3, 0.5),
    "multistep": lambda M, o: M.MultiStepLR(o, [2, 6], 0.5),
    "cos": lambda M, o: M.CosineAnnealingLR(o, 8, 0.01),
    "linear": lambda M, o: M.LinearLR(o, 0.1, 1.0, 6),
    "poly": lambda M, o: M.PolynomialLR(o, 8, 2.0),
    "lambda": lambda M, o: M.LambdaLR(o, lambda e: 1 / (1 + e)),
    "cyclic": lambda M, o: M.CyclicLR(o, 0.01, 0.1, 3),
    "onecycle": lambda M, o: M.OneCycleLR(o, 0.1, total_steps=30),
    "sgdr": lambda M, o: M.CosineAnnealingWarmRestarts(o, 3, 2),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", list(EPOCH_CASES))
def test_step_with_explicit_epoch_matches_torch(name):
    """The deprecated step(epoch) path (closed form where PyTorch has one), with epochs
    that jump forward, repeat and go back, and fractional ones for SGDR."""
    ours, theirs = two_optimizers(momentum=0.9)
    s, ts = EPOCH_CASES[name](S, ours), EPOCH_CASES[name](TS, theirs)
    epochs = [1, 2, 5, 3, 3, 10, 0, 7, 20, 21]
    if name == "sgdr":
        epochs = [0.4, 1.3, 2.9, 3.0, 7.5, 2.2, 20.25]
    for epoch in epochs:
        s.step(epoch)
        ts.step(epoch)
        assert_same_groups(ours, theirs, epoch)
        np.testing.assert_allclose(s.get_last_lr(), ts.get_last_lr(), rtol=1e-12)


RESUME_CASES = {
    "step": lambda M, o, e: M.StepLR(o, 3, 0.5, last_epoch=e),
    "cos": lambda M, o, e: M.CosineAnnealingLR(o, 10, 0.01, last_epoch=e),
    "sgdr": lambda M, o, e: M.CosineAnnealingWarmRestarts(o, 3, 2, last_epoch=e),
    "cyclic": lambda M, o, e: M.CyclicLR(o, 0.01, 0.2, 4, last_epoch=e),
    "onecycle": lambda M, o, e: M.OneCycleLR(o, 0.3, total_steps=40, last_epoch=e),
    "linear": lambda M, o, e: M.LinearLR(o, 0.1, 1, 10, last_epoch=e),
    "constant": lambda M, o, e: M.ConstantLR(o, 0.5, 10, last_epoch=e),
}


@pytest.mark.parametrize("name", list(RESUME_CASES))
def test_resume_with_last_epoch_matches_torch(name):
    ours, theirs = two_optimizers(momentum=0.9)
    s, ts = RESUME_CASES[name](S, ours, -1), RESUME_CASES[name](TS, theirs, -1)
    for _ in range(7):
        for x in (ours, theirs, s, ts):
            x.step()
    s, ts = RESUME_CASES[name](S, ours, 7), RESUME_CASES[name](TS, theirs, 7)
    for t in range(15):
        assert_same_groups(ours, theirs, t)
        np.testing.assert_allclose(s.get_last_lr(), ts.get_last_lr(), rtol=1e-12)
        for x in (ours, theirs, s, ts):
            x.step()


COMBINED_CASES = {
    "two_on_one": lambda M, o: [M.StepLR(o, 3, 0.5), M.ExponentialLR(o, 0.9)],
    "cos_and_mult": lambda M, o: [M.CosineAnnealingLR(o, 10, 0.001),
                                  M.MultiplicativeLR(o, lambda e: 0.95)],
    "seq3": lambda M, o: [M.SequentialLR(o, [M.ConstantLR(o, 0.1, 4), M.ExponentialLR(o, 0.9),
                                             M.StepLR(o, 2, 0.7)], [3, 10])],
    "seq_sgdr": lambda M, o: [M.SequentialLR(o, [M.LinearLR(o, 0.1, 1, 5),
                                                 M.CosineAnnealingWarmRestarts(o, 4, 2)], [5])],
    "chained_with_optimizer": lambda M, o: [M.ChainedScheduler(
        [M.StepLR(o, 3, 0.5), M.CosineAnnealingWarmRestarts(o, 5)], optimizer=o)],
    "cyclic_scale_fn_iterations": lambda M, o: [M.CyclicLR(
        o, [0.01, 0.02], [0.2, 0.1], 3, 5, scale_fn=lambda x: 0.99 ** x,
        scale_mode="iterations", base_momentum=[0.8, 0.7], max_momentum=0.95)],
    "onecycle_epochs": lambda M, o: [M.OneCycleLR(
        o, [0.3, 0.2], epochs=4, steps_per_epoch=10, pct_start=0.4, div_factor=10,
        final_div_factor=100, three_phase=True, anneal_strategy="linear")],
}


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
@pytest.mark.parametrize("name", list(COMBINED_CASES))
def test_combined_schedules_match_torch(name, kind):
    """Schedulers composed on one optimizer; momentum (SGD) or beta1 (Adam) cycled."""
    ours, theirs = two_optimizers(kind, **({"momentum": 0.9} if kind == "SGD" else {}))
    s, ts = COMBINED_CASES[name](S, ours), COMBINED_CASES[name](TS, theirs)
    for t in range(40):
        assert_same_groups(ours, theirs, t)
        for a, b in zip(s, ts):
            np.testing.assert_allclose(a.get_last_lr(), b.get_last_lr(), rtol=1e-12)
        for x in (ours, theirs, *s, *ts):
            x.step()


@pytest.mark.parametrize("kw", [
    dict(mode="max", factor=0.5, patience=1, threshold=0.02),
    dict(threshold_mode="abs", threshold=0.1, patience=2, cooldown=3),
    dict(mode="max", threshold_mode="abs", threshold=0.1, patience=0, cooldown=1, factor=0.3),
    dict(min_lr=[0.01, 0.02], patience=1, factor=0.2),
    dict(eps=1e-3, patience=0, factor=0.99),
])
def test_plateau_variants_match_torch(kw):
    ours, theirs = two_optimizers()
    s, ts = S.ReduceLROnPlateau(ours, **kw), TS.ReduceLROnPlateau(theirs, **kw)
    rng = np.random.default_rng(0)
    metrics = 10 * np.cumprod(rng.uniform(0.93, 1.04, 60))
    sign = -1 if kw.get("mode") == "max" else 1
    for t, metric in enumerate(sign * metrics):
        s.step(float(metric))
        ts.step(float(metric))
        assert s.get_last_lr() == ts.get_last_lr(), t
        assert (s.best, s.num_bad_epochs, s.cooldown_counter) == (
            ts.best, ts.num_bad_epochs, ts.cooldown_counter), t


def test_plateau_accepts_one_element_metrics_like_torch():
    """float(np.array([x])) raises in NumPy; PyTorch's float(metrics) takes a one-element
    tensor of any shape. Other values get a TypeError that says what a metric is."""
    ours, theirs = two_optimizers()
    s = S.ReduceLROnPlateau(ours, patience=0, factor=0.5)
    ts = TS.ReduceLROnPlateau(theirs, patience=0, factor=0.5)
    values = [3.0, 2.0, 2.5, 2.6, 1.0]
    wrappers = [np.array([3.0]), mg.tensor([[2.0]]), np.float32(2.5), mg.tensor(2.6),
                np.array([[1.0]])]
    for value, wrapped in zip(values, wrappers):
        s.step(wrapped)
        ts.step(torch.tensor([value]))
        assert s.get_last_lr() == ts.get_last_lr()
    for bad in (np.array([1.0, 2.0]), None, "loss"):
        with pytest.raises(TypeError, match="metric must be a number or a one-element"):
            s.step(bad)


def test_swalr_after_another_schedule_and_with_epochs_matches_torch():
    ours, theirs = two_optimizers(momentum=0.9)
    pre, tpre = S.CosineAnnealingLR(ours, 10), TS.CosineAnnealingLR(theirs, 10)
    for _ in range(3):
        for x in (ours, theirs, pre, tpre):
            x.step()
    s = W.SWALR(ours, swa_lr=[0.05, 0.01], anneal_epochs=4, anneal_strategy="linear")
    ts = TW.SWALR(theirs, swa_lr=[0.05, 0.01], anneal_epochs=4, anneal_strategy="linear")
    for t in range(12):
        assert_same_groups(ours, theirs, t)
        np.testing.assert_allclose(s.get_last_lr(), ts.get_last_lr(), rtol=1e-12)
        ours.step()
        theirs.step()
        s.step()
        ts.step()


# ---------------------------------------------------------------------------- AveragedModel
def _linear_bn_pair():
    nn = pytest.importorskip("minigrad.nn")
    ours = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).to(dtype=mg.float64)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)).double()
    return ours, theirs


def _float_tensors(module, torch_side):
    tensors = list(module.parameters()) + list(module.buffers())
    if torch_side:
        return [t for t in tensors if t.is_floating_point()]
    return [t for t in tensors if np.issubdtype(t.data.dtype, np.floating)]


def _ema_multi(averaged, current, n):
    for a, c in zip(averaged, current):
        a.data[...] = 0.6 * a.data + 0.4 * c.data


def _ema_multi_torch(averaged, current, n):
    for a, c in zip(averaged, current):
        a.copy_(0.6 * a + 0.4 * c)


@pytest.mark.parametrize("use_buffers", [False, True])
@pytest.mark.parametrize("how", ["swa", "ema_multi", "ema_single", "custom_avg", "custom_multi"])
def test_averaged_model_matches_torch(how, use_buffers):
    """Floating-point parameters and buffers; the integer num_batches_tracked is copied here
    and averaged by PyTorch (a documented difference), so it is left out of the check."""
    ours, theirs = _linear_bn_pair()
    kws = {
        "swa": ({}, {}),
        "ema_multi": ({"multi_avg_fn": W.get_ema_multi_avg_fn(0.9)},
                      {"multi_avg_fn": TW.get_ema_multi_avg_fn(0.9)}),
        "ema_single": ({"avg_fn": W.get_ema_avg_fn(0.8)}, {"avg_fn": TW.get_ema_avg_fn(0.8)}),
        "custom_avg": ({"avg_fn": lambda a, c, n: 0.7 * a + 0.3 * c + 0.01 * n},
                       {"avg_fn": lambda a, c, n: 0.7 * a + 0.3 * c + 0.01 * n}),
        "custom_multi": ({"multi_avg_fn": _ema_multi}, {"multi_avg_fn": _ema_multi_torch}),
    }[how]
    avg = W.AveragedModel(ours, use_buffers=use_buffers, **kws[0])
    tavg = TW.AveragedModel(theirs, use_buffers=use_buffers, **kws[1])
    rng = np.random.default_rng(5)
    for _ in range(6):
        for a, b in zip(_float_tensors(ours, False), _float_tensors(theirs, True)):
            value = rng.standard_normal(a.shape)
            a.data[...] = value
            b.data.copy_(torch.tensor(value))
        avg.update_parameters(ours)
        tavg.update_parameters(theirs)
    for a, b in zip(_float_tensors(avg.module, False), _float_tensors(tavg.module, True)):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert int(avg.n_averaged.item()) == int(tavg.n_averaged) == 6


# ------------------------------------------------------------------------------- clipping
def _grads(dtypes, seed=0):
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for shape, dtype in zip([(3, 2), (4,), (2, 2)], dtypes):
        g = rng.standard_normal(shape).astype(dtype)
        p = mg.tensor(np.zeros(shape, dtype), requires_grad=True)
        p.grad = mg.tensor(g.copy())
        q = torch.zeros(shape, dtype=torch.from_numpy(g).dtype, requires_grad=True)
        q.grad = torch.from_numpy(g.copy())
        ours.append(p)
        theirs.append(q)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grads_with_norm_matches_torch(norm_type):
    """PyTorch's two-step form: the total norm over all gradients, then only some of them
    scaled by it (here the last one is left alone)."""
    ours, theirs = _grads([np.float64] * 3)
    total = get_total_norm([p.grad for p in ours], norm_type)
    ttotal = torch.nn.utils.get_total_norm([q.grad for q in theirs], norm_type)
    assert math.isclose(total, float(ttotal), rel_tol=1e-12)
    clip_grads_with_norm_(ours[:2], 0.5, total)
    torch.nn.utils.clip_grads_with_norm_(theirs[:2], 0.5, ttotal)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-12)
    clip_grads_with_norm_(ours, 1e9, mg.tensor(total))  # a Tensor norm; nothing to scale up
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_mixed_dtypes_returns_the_wider_dtype(norm_type):
    """PyTorch stacks the per-gradient norms, so float32 with float64 gives a float64 total
    norm; minigrad returned the first gradient's float32."""
    ours, theirs = _grads([np.float32, np.float64, np.float32], seed=2)
    total = clip_grad_norm_(ours, 0.5, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, 0.5, norm_type=norm_type)
    assert total.dtype == np.float64 and ttotal.dtype == torch.float64
    assert math.isclose(float(total), float(ttotal), rel_tol=1e-6)
    for p, q in zip(ours, theirs):
        assert p.grad.data.dtype == q.grad.numpy().dtype
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-5)
