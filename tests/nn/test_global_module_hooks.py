"""register_module_forward_pre_hook / register_module_forward_hook: hooks of every module
(PyTorch's torch.nn.modules.module functions), run before each module's own hooks."""
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn.module import register_module_forward_hook, register_module_forward_pre_hook


def test_global_hooks_see_every_module_before_its_own_hooks():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    calls = []
    net[0].register_forward_hook(lambda m, args, out: calls.append(("own", type(m).__name__)))
    pre = register_module_forward_pre_hook(lambda m, args: calls.append(("pre",
                                                                        type(m).__name__)))
    post = register_module_forward_hook(lambda m, args, out: calls.append(("post",
                                                                          type(m).__name__)))
    try:
        net(mg.ones(1, 2))
    finally:
        pre.remove()
        post.remove()
    assert calls == [("pre", "Sequential"), ("pre", "Linear"), ("post", "Linear"),
                     ("own", "Linear"), ("pre", "ReLU"), ("post", "ReLU"),
                     ("post", "Sequential")]
    calls.clear()
    net(mg.ones(1, 2))                        # removed: only the module's own hook
    assert calls == [("own", "Linear")]


def test_global_hooks_may_replace_inputs_and_outputs():
    relu = nn.ReLU()
    handles = [register_module_forward_pre_hook(lambda m, args: (args[0] - 1,)),
               register_module_forward_hook(lambda m, args, out: out * 10)]
    try:
        assert relu(mg.tensor([0.5, 3.0])).tolist() == [0.0, 20.0]   # relu(x − 1)·10
    finally:
        for h in handles:
            h.remove()


def test_an_always_call_global_hook_runs_when_forward_raises():
    class Broken(nn.Module):
        def forward(self, x):
            raise ValueError("broken forward")

    seen = []
    handle = register_module_forward_hook(lambda m, args, out: seen.append(out),
                                          always_call=True)
    try:
        with pytest.raises(ValueError, match="broken forward"):
            Broken()(mg.ones(1))
    finally:
        handle.remove()
    assert seen == [None]


def test_global_hooks_match_torch():
    torch = pytest.importorskip("torch")
    from torch.nn.modules import module as torch_module

    orders = {}
    for lib, reg_pre, reg_post in ((mg, register_module_forward_pre_hook,
                                    register_module_forward_hook),
                                   (torch, torch_module.register_module_forward_pre_hook,
                                    torch_module.register_module_forward_hook)):
        net = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Sequential(lib.nn.Tanh()))
        log = orders[lib.__name__] = []
        handles = [reg_pre(lambda m, a, log=log: log.append(("pre", type(m).__name__))),
                   reg_post(lambda m, a, o, log=log: log.append(("post", type(m).__name__)))]
        try:
            net(lib.ones(1, 2))
        finally:
            for h in handles:
                h.remove()
    assert orders["minigrad"] == orders["torch"]
