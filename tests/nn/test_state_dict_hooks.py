"""The four state-dict hooks of Module (PyTorch's register_state_dict_pre_hook,
register_state_dict_post_hook, register_load_state_dict_pre_hook and
register_load_state_dict_post_hook): when they run, with what, and what they may change."""
from collections import OrderedDict

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def _net():
    mg.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))


def test_state_dict_hooks_run_in_order_with_their_prefixes():
    m, calls = _net(), []
    m[0].register_state_dict_pre_hook(lambda mod, prefix, keep: calls.append(("pre", prefix,
                                                                              keep)))

    def rename(mod, sd, prefix, meta):
        calls.append(("post", prefix))
        sd[prefix + "w"] = sd.pop(prefix + "weight")

    m[2].register_state_dict_post_hook(rename)
    m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: calls.append(("root",
                                                                                 prefix)))
    sd = m.state_dict(keep_vars=True)
    assert calls == [("pre", "0.", True), ("post", "2."), ("root", "")]
    assert list(sd) == ["0.weight", "0.bias", "2.bias", "2.w"]
    m.state_dict(prefix="net.")
    assert calls[-3:] == [("pre", "net.0.", False), ("post", "net.2."), ("root", "net.")]


def test_a_load_pre_hook_renames_an_old_checkpoint():
    m, target = _net(), _net()
    with mg.no_grad():
        for p in target.parameters():
            p.add_(1.0)
    old = OrderedDict((k.replace("weight", "W"), v) for k, v in target.state_dict().items())
    seen = []

    def rename(mod, sd, prefix, meta, strict, missing, unexpected, errors):
        seen.append((prefix, strict))
        for k in [k for k in sd if k.endswith(".W")]:
            sd[k[:-2] + ".weight"] = sd.pop(k)

    m.register_load_state_dict_pre_hook(rename)
    keys = m.load_state_dict(old)
    assert keys.missing_keys == [] and keys.unexpected_keys == [] and seen == [("", True)]
    for a, b in zip(m.parameters(), target.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert "0.W" in old  # the caller's mapping is left as it was


def test_a_load_pre_hook_can_make_the_load_fail():
    m = _net()
    m[0].register_load_state_dict_pre_hook(
        lambda mod, sd, prefix, meta, strict, missing, unexpected, errors:
        errors.append(f"{prefix}: refused by a hook"))
    before = m[0].weight.numpy().copy()
    with pytest.raises(RuntimeError, match="0.: refused by a hook"):
        m.load_state_dict({k: v + 1 for k, v in m.state_dict().items()})
    np.testing.assert_array_equal(m[0].weight.numpy(), before)  # nothing copied


def test_a_load_post_hook_may_forgive_missing_keys():
    m, seen = _net(), []

    def forgive(mod, keys):
        seen.append(list(keys.missing_keys))
        keys.missing_keys.clear()

    m.register_load_state_dict_post_hook(forgive)
    partial = {k: v + 1 for k, v in m.state_dict().items() if k.startswith("0.")}
    keys = m.load_state_dict(partial)
    assert seen == [["2.weight", "2.bias"]] and keys.missing_keys == []
    np.testing.assert_array_equal(m[0].bias.numpy(), partial["0.bias"].numpy())
    m2 = _net()
    m2.register_load_state_dict_post_hook(lambda mod, keys: None)
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "2.weight"'):
        m2.load_state_dict(partial)
    # with a post hook the values are copied before strict refuses the keys, as PyTorch
    np.testing.assert_array_equal(m2[0].bias.numpy(), partial["0.bias"].numpy())


def test_hooks_must_return_none_and_can_be_removed():
    m = _net()
    handle = m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: {})
    with pytest.raises(RuntimeError, match="post hook must return None"):
        m.state_dict()
    handle.remove()
    assert len(m.state_dict()) == 4
    m.register_load_state_dict_post_hook(lambda mod, keys: keys)
    with pytest.raises(RuntimeError, match="post hook must return None"):
        m.load_state_dict(m.state_dict())
    with pytest.raises(TypeError, match="register_state_dict_pre_hook: expected a callable"):
        m.register_state_dict_pre_hook(3)


def test_state_dict_hooks_match_torch():
    torch = pytest.importorskip("torch")
    calls = {}
    for lib in (mg, torch):
        lib.manual_seed(0)
        m = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Sequential(lib.nn.Linear(3, 1)))
        log = calls[lib.__name__] = []
        for name, mod in m.named_modules():
            mod.register_state_dict_pre_hook(
                lambda mod, prefix, keep, log=log: log.append(("pre", prefix)))
            mod.register_state_dict_post_hook(
                lambda mod, sd, prefix, meta, log=log: log.append(("post", prefix, len(sd))))
            mod.register_load_state_dict_post_hook(
                lambda mod, keys, name=name, log=log: log.append(("load", name)))
        m.load_state_dict(m.state_dict())
    assert calls["minigrad"] == calls["torch"]
