"""Optimizer hooks: step pre/post hooks (per optimizer and global), state-dict and
load-state-dict hooks, once per call also for subclasses that override or chain ``step``."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.optim.optimizer import (
    register_optimizer_step_post_hook,
    register_optimizer_step_pre_hook,
)


def _param():
    p = nn.Parameter(mg.tensor([1.0, -2.0], dtype=mg.float64))
    p.grad = mg.tensor([0.5, 0.5], dtype=mg.float64)
    return p


def test_step_hooks_run_around_the_step_in_order():
    p = _param()
    opt = optim.SGD([p], lr=0.1)
    log = []
    opt.register_step_pre_hook(lambda o, args, kwargs: log.append(("pre", p.tolist())))
    opt.register_step_post_hook(lambda o, args, kwargs: log.append(("post", p.tolist())))
    g_pre = register_optimizer_step_pre_hook(lambda o, a, k: log.append("global pre"))
    g_post = register_optimizer_step_post_hook(lambda o, a, k: log.append("global post"))
    try:
        opt.step()
    finally:
        g_pre.remove()
        g_post.remove()
    assert log == ["global pre", ("pre", [1.0, -2.0]), ("post", [0.95, -2.05]), "global post"]
    log.clear()
    opt.step()                                                    # globals removed
    assert [entry[0] for entry in log] == ["pre", "post"]


def test_a_pre_hook_may_replace_the_arguments():
    """The hooks' args begin with the optimizer itself, as PyTorch passes them."""
    p = _param()
    opt = optim.SGD([p], lr=0.1)
    seen = []

    def closure():
        seen.append("closure")
        return mg.tensor(3.0)

    opt.register_step_pre_hook(lambda o, args, kwargs: ((o,), {"closure": closure}))
    assert opt.step().item() == 3.0 and seen == ["closure"]
    opt.register_step_pre_hook(lambda o, args, kwargs: "nonsense")
    with pytest.raises(RuntimeError, match=r"must return None or \(args, kwargs\)"):
        opt.step()


@pytest.mark.filterwarnings("ignore:Sophia")  # its Hessian refresh is not the point here
@pytest.mark.parametrize("make", [
    lambda ps: optim.LBFGS(ps, lr=0.5),
    lambda ps: optim.Sophia(ps, lr=0.01),
    lambda ps: optim.SAM(ps, optim.SGD, lr=0.1),
])
def test_hooks_run_once_per_step_of_optimizers_that_override_or_chain_step(make):
    lin = nn.Linear(2, 1).to(dtype=mg.float64)
    x = mg.tensor(np.ones((4, 2)))
    opt = make(list(lin.parameters()))
    calls = []
    opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))

    def closure():
        opt.zero_grad()
        loss = (lin(x) ** 2).mean()
        loss.backward()
        return loss

    opt.step(closure)
    assert calls == ["pre", "post"]


def test_state_dict_hooks():
    p = _param()
    opt = optim.Adam([p], lr=0.1)
    opt.step()
    log = []
    opt.register_state_dict_pre_hook(lambda o: log.append("pre"))
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "note": "mine"})
    opt.register_state_dict_post_hook(lambda o, sd: log.append(sorted(sd)), prepend=True)
    sd = opt.state_dict()
    assert log == ["pre", ["param_groups", "state"]] and sd["note"] == "mine"

    def drop_note(o, state_dict):
        log.append("load pre")
        return {k: v for k, v in state_dict.items() if k != "note"}

    opt.register_load_state_dict_pre_hook(drop_note)
    opt.register_load_state_dict_post_hook(lambda o: log.append("load post"))
    opt.load_state_dict(sd)
    assert log[-2:] == ["load pre", "load post"]
    assert opt.state[p]["step"] == 1


def test_step_hooks_match_pytorch_call_sequence():
    torch = pytest.importorskip("torch")

    def run(lib, make_param):
        p = make_param()
        opt = lib.optim.SGD([p], lr=0.1)
        log = []
        def record(kind):
            return lambda o, a, k: log.append((kind, o is opt, len(a), a[0] is opt, k))

        opt.register_step_pre_hook(record("pre"))
        opt.register_step_post_hook(record("post"))
        opt.step()
        return log, p.tolist()

    mine = run(mg, _param)

    def torch_param():
        p = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
        p.grad = torch.tensor([0.5, 0.5], dtype=torch.float64)
        return p

    theirs = run(torch, torch_param)
    assert mine[0] == theirs[0]
    np.testing.assert_allclose(mine[1], theirs[1])
