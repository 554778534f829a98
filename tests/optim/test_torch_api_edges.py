"""API edges where minigrad's optimizers differed from torch 2.13's (the update rules
already matched): ``state`` as a ``defaultdict(dict)``, a Tensor learning rate, PyTorch's
implementation switches (``foreach``, ``differentiable``, ``capturable``, ``fused``),
Adagrad's eager state, named parameters, and the checks kept stricter on purpose.

Expected values are worked out by hand; the PyTorch comparisons at the end are extras,
skipped when torch is not installed.
"""
import inspect

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.optim import lr_scheduler as S

# The torch-named optimizers and the switches torch 2.13's class of that name takes.
SWITCHES = {
    "SGD": ("foreach", "differentiable", "fused"),
    "Adam": ("foreach", "capturable", "differentiable", "fused"),
    "AdamW": ("foreach", "capturable", "differentiable", "fused"),
    "NAdam": ("foreach", "capturable", "differentiable"),
    "RAdam": ("foreach", "capturable", "differentiable"),
    "RMSprop": ("foreach", "capturable", "differentiable"),
    "Adagrad": ("foreach", "differentiable", "fused"),
    "Adadelta": ("foreach", "capturable", "differentiable"),
    "Adamax": ("foreach", "capturable", "differentiable"),
    "ASGD": ("foreach", "capturable", "differentiable"),
    "Rprop": ("foreach", "capturable", "differentiable"),
}
TORCH_DEFAULTS = {"foreach": None, "fused": None, "capturable": False, "differentiable": False}


def param(values):
    return mg.tensor(np.array(values, dtype=np.float64), requires_grad=True)


def grad(p, values):
    p.grad = mg.tensor(np.array(values, dtype=np.float64))


# ----------------------------------------------------------------- state: defaultdict
class _CountingSGD(optim.Optimizer):
    """The custom-optimizer idiom of PyTorch's tutorials: state made on first sight."""

    def __init__(self, params, lr=0.1):
        super().__init__(params, dict(lr=lr))

    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                if len(state) == 0:
                    state["n"] = 0
                state["n"] += 1
                p.data -= group["lr"] * state["n"] * p.grad.data


def test_state_lookup_of_a_fresh_parameter_is_an_empty_dict():
    w = param([1.0, 2.0])
    opt = _CountingSGD([w])
    grad(w, [1.0, 1.0])
    opt.step()                          # θ − 0.1·1·g
    opt.step()                          # θ − 0.1·2·g
    np.testing.assert_allclose(w.data, [0.7, 1.7], rtol=1e-15)
    assert opt.state[w] == {"n": 2}
    other = param([0.0])
    assert optim.Adam([other]).state[other] == {}


def test_an_empty_entry_made_by_a_lookup_is_filled_at_the_first_step():
    w = param([0.0])
    opt = optim.Adam([w], lr=1.0)
    entry = opt.state[w]                # {} and now in opt.state
    grad(w, [1e-6])
    opt.step()
    assert opt.state[w] is entry and entry["step"] == 1
    assert round(-w.item(), 6) == 0.990099  # Adam's first step (Algorithm 1)


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam])
def test_an_empty_entry_before_a_fused_step(cls):
    w = param([0.0, 1.0])
    opt = cls([w], lr=0.5, fused=True)
    assert opt.state[w] == {}
    grad(w, [1.0, -2.0])
    opt.step()
    assert opt.state[w]["step"] == 1
    if cls is optim.SGD:
        np.testing.assert_array_equal(w.data, [-0.5, 2.0])      # θ − γg


def test_sophia_counts_steps_past_an_empty_entry():
    w = param([1.0])
    opt = optim.Sophia([w])
    opt.state[w]
    assert opt.steps_taken == 0


def test_empty_entries_are_written_and_loaded_as_empty():
    """PyTorch writes ``{}`` for an entry made by a lookup; it must load back as {} (not
    as ``{"step": 0}``, which would hide that the state still has to be made)."""
    w = param([0.0])
    opt = optim.Adam([w], lr=1.0)
    opt.state[w]
    sd = opt.state_dict()
    assert sd["state"] == {0: {}}
    v = param([0.0])
    fresh = optim.Adam([v], lr=1.0)
    fresh.load_state_dict(sd)
    assert fresh.state[v] == {} and fresh.state_dict()["state"] == {0: {}}
    grad(v, [1e-6])
    fresh.step()                        # the state is made at the first step
    assert fresh.state[v]["step"] == 1 and round(-v.item(), 6) == 0.990099


def test_load_state_dict_keeps_state_a_defaultdict():
    w = param([1.0])
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    grad(w, [1.0])
    opt.step()
    opt.load_state_dict(opt.state_dict())
    other = param([2.0])
    opt.add_param_group({"params": [other]})
    assert opt.state[other] == {}


# ------------------------------------------------------------------ lr as a Tensor
@pytest.mark.parametrize("lr", [mg.tensor(0.5), mg.tensor([0.5]), np.array(0.5),
                                np.array([0.5])], ids=["tensor0d", "tensor1", "array0d",
                                                       "array1"])
def test_one_element_tensor_lr_is_read_as_a_float(lr):
    w = param([1.0, -2.0])
    opt = optim.SGD([w], lr=lr)
    assert type(opt.param_groups[0]["lr"]) is float and opt.param_groups[0]["lr"] == 0.5
    grad(w, [1.0, 4.0])
    opt.step()
    np.testing.assert_array_equal(w.data, [0.5, -4.0])           # θ − 0.5·g


def test_tensor_lr_in_adam_groups_and_added_groups():
    w, v = param([0.0]), param([0.0])
    opt = optim.Adam([w], lr=mg.tensor(0.25))
    opt.add_param_group({"params": [v], "lr": mg.tensor([0.125])})
    assert [g["lr"] for g in opt.param_groups] == [0.25, 0.125]
    grad(w, [1.0])
    grad(v, [-1.0])
    opt.step()                          # first Adam step: γ·g/(|g| + ε) with m̂ = g, v̂ = g²
    np.testing.assert_allclose([w.item(), v.item()], [-0.25 / (1 + 1e-8), 0.125 / (1 + 1e-8)],
                               rtol=1e-15)


def test_tensor_lr_is_still_checked():
    w = param([0.0])
    with pytest.raises(ValueError, match="one element"):
        optim.Adam([w], lr=mg.tensor([0.1, 0.2]))
    with pytest.raises(ValueError, match="learning rate"):
        optim.Adam([w], lr=mg.tensor(-0.1))


def test_a_scheduler_runs_on_a_tensor_lr():
    w = param([0.0])
    opt = optim.SGD([w], lr=mg.tensor(1.0))
    sched = S.StepLR(opt, step_size=1, gamma=0.5)
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] == 0.5


# ---------------------------------------------------------- implementation switches
@pytest.mark.parametrize("name", sorted(SWITCHES))
def test_torch_switches_are_keyword_only_with_torchs_defaults(name):
    cls = getattr(optim, name)
    sig = inspect.signature(cls.__init__).parameters
    for key in SWITCHES[name]:
        assert sig[key].kind is inspect.Parameter.KEYWORD_ONLY, key
        assert sig[key].default is TORCH_DEFAULTS[key], key
    for key in set(TORCH_DEFAULTS) - set(SWITCHES[name]):
        assert key not in sig, key      # PyTorch's class does not take it either
    opt = cls([param([1.0])])
    for key in SWITCHES[name]:          # recorded in the defaults and the groups, as PyTorch
        assert opt.defaults[key] is TORCH_DEFAULTS[key]
        assert opt.state_dict()["param_groups"][0][key] is TORCH_DEFAULTS[key]


@pytest.mark.parametrize("name", sorted(SWITCHES))
def test_foreach_is_accepted_and_changes_nothing(name):
    cls = getattr(optim, name)
    kwargs = {"lr": 0.1} if name != "Adadelta" else {}
    paths = []
    for foreach in (None, True, False):
        w = param([1.0, -0.5, 2.0])
        opt = cls([w], foreach=foreach, **kwargs)
        for t in range(3):
            grad(w, np.array([0.3, -1.0, 0.7]) * (t + 1))
            opt.step()
        paths.append(w.data.copy())
    np.testing.assert_array_equal(paths[0], paths[1])
    np.testing.assert_array_equal(paths[0], paths[2])


@pytest.mark.parametrize("name", sorted(SWITCHES))
@pytest.mark.parametrize("key", ["capturable", "differentiable"])
def test_capturable_and_differentiable_true_are_refused_by_name(name, key):
    cls = getattr(optim, name)
    if key not in SWITCHES[name]:
        with pytest.raises(TypeError):
            cls([param([1.0])], **{key: True})
        return
    with pytest.raises(NotImplementedError, match=f"{name}: {key}=True"):
        cls([param([1.0])], **{key: True})
    opt = cls([param([1.0])])
    with pytest.raises(NotImplementedError, match=key):  # a group asking for it, too
        opt.add_param_group({"params": [param([2.0])], key: True})
    assert len(opt.param_groups) == 1


def test_fused_true_without_a_fused_path_names_the_class():
    with pytest.raises(NotImplementedError, match="Adagrad: fused=True"):
        optim.Adagrad([param([1.0])], fused=True)
    with pytest.raises(TypeError):      # PyTorch's NAdam has no fused keyword either
        optim.NAdam([param([1.0])], fused=True)


def test_fused_and_foreach_together_are_refused_as_in_torch():
    with pytest.raises(RuntimeError, match="cannot be `True` together"):
        optim.Adam([param([1.0])], fused=True, foreach=True)
    opt = optim.AdamW([param([1.0])], fused=True, foreach=False)
    assert opt.fused and opt.defaults["fused"] is True


def test_state_dicts_without_the_switches_still_load():
    """An older minigrad checkpoint has no foreach/fused/... keys: they are filled in from
    the defaults."""
    w = param([1.0])
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    grad(w, [1.0])
    opt.step()
    sd = opt.state_dict()
    for key in ("foreach", "differentiable", "fused"):
        del sd["param_groups"][0][key]
    v = param([1.0])
    fresh = optim.SGD([v], lr=0.1, momentum=0.9)
    fresh.load_state_dict(sd)
    assert fresh.param_groups[0]["foreach"] is None
    np.testing.assert_array_equal(fresh.state[v]["b"], opt.state[w]["b"])


def test_a_loaded_group_asking_for_capturable_is_refused():
    w = param([1.0])
    opt = optim.Adam([w])
    sd = opt.state_dict()
    sd["param_groups"][0]["capturable"] = True
    with pytest.raises(NotImplementedError, match="capturable"):
        opt.load_state_dict(sd)


# ------------------------------------------------------------ Adagrad's eager state
def test_adagrad_state_is_made_in_the_constructor():
    w = mg.tensor([1.0, -1.0], requires_grad=True)
    opt = optim.Adagrad([w], initial_accumulator_value=0.5)
    sd = opt.state_dict()["state"]
    assert list(sd) == [0] and set(sd[0]) == {"step", "G"} and sd[0]["step"] == 0
    np.testing.assert_array_equal(sd[0]["G"], [0.5, 0.5])
    w.grad = mg.tensor([1.0, 2.0])
    opt.step()                          # G = 0.5 + g²; θ − γ g/(√G + ε)
    g = np.array([1.0, 2.0])
    np.testing.assert_allclose(opt.state[w]["G"], 0.5 + g * g, rtol=1e-7)
    np.testing.assert_allclose(w.data, [1.0, -1.0] - 0.01 * g / (np.sqrt(0.5 + g * g) + 1e-10),
                               rtol=1e-6)
    assert opt.state[w]["step"] == 1


def test_adagrad_eager_state_round_trips_and_groups_keep_their_own_value():
    a, b = param([0.0]), param([0.0, 0.0])
    opt = optim.Adagrad([{"params": [a], "initial_accumulator_value": 0.2}, {"params": [b]}],
                        lr=0.1, initial_accumulator_value=0.5)
    np.testing.assert_array_equal(opt.state[a]["G"], [0.2])
    np.testing.assert_array_equal(opt.state[b]["G"], [0.5, 0.5])
    c, d = param([0.0]), param([0.0, 0.0])
    other = optim.Adagrad([{"params": [c]}, {"params": [d]}], lr=0.1)
    other.load_state_dict(opt.state_dict())
    np.testing.assert_array_equal(other.state[c]["G"], [0.2])
    grad(c, [0.3])
    other.step()
    np.testing.assert_allclose(c.data, [-0.1 * 0.3 / (np.sqrt(0.2 + 0.09) + 1e-10)],
                               rtol=1e-14)


def test_adagrad_sparse_gradients_start_from_the_eager_state():
    w = param(np.zeros((3, 2)))
    opt = optim.Adagrad([w], lr=0.1, initial_accumulator_value=1.0)
    w.grad = mg.sparse_coo_tensor(np.array([[1, 1], [0, 1]]), np.array([3.0, 4.0]), (3, 2))
    opt.step()
    expected = np.zeros((3, 2))
    expected[1] = -0.1 * np.array([3.0, 4.0]) / (np.sqrt(1.0 + np.array([9.0, 16.0])) + 1e-10)
    np.testing.assert_allclose(w.data, expected, rtol=1e-14)
    np.testing.assert_array_equal(opt.state[w]["G"], [[1, 1], [10, 17], [1, 1]])


# ---------------------------------------------------------------- named parameters
def test_named_parameters_are_stored_as_param_names():
    w, b = param([1.0, 2.0]), param([0.5])
    opt = optim.SGD([("weight", w), ("bias", b)], lr=0.5)
    assert opt.param_groups[0]["params"] == [w, b]
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    grad(w, [1.0, 1.0])
    grad(b, [1.0])
    opt.step()
    np.testing.assert_array_equal(w.data, [0.5, 1.5])
    np.testing.assert_array_equal(b.data, [0.0])
    sd = opt.state_dict()
    assert sd["param_groups"][0]["param_names"] == ["weight", "bias"]
    assert sd["param_groups"][0]["params"] == [0, 1]


def test_module_named_parameters():
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.named_parameters(), lr=1e-3)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.param_groups[0]["params"] == [model.weight, model.bias]


def test_named_groups_must_all_be_named():
    w, b = param([1.0]), param([2.0])
    with pytest.raises(ValueError, match="names are missing"):
        optim.SGD([("w", w), b])
    opt = optim.SGD([("w", w)])
    with pytest.raises(ValueError, match="with names or all without"):
        opt.add_param_group({"params": [b]})
    opt.add_param_group({"params": [("b", b)], "lr": 0.5})
    assert opt.param_groups[1]["param_names"] == ["b"]
    unnamed = optim.SGD([param([0.0])])
    with pytest.raises(ValueError, match="with names or all without"):
        unnamed.add_param_group({"params": [("b", param([0.0]))]})


def test_load_state_dict_and_param_names():
    """As PyTorch: saved names replace the current ones; a dict without names keeps them."""
    w = param([1.0])
    opt = optim.SGD([("w", w)], lr=0.1)
    sd = opt.state_dict()
    del sd["param_groups"][0]["param_names"]
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["param_names"] == ["w"]
    sd["param_groups"][0]["param_names"] = ["renamed"]
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["param_names"] == ["renamed"]


# ------------------------------------------------------------------ stricter checks
def test_step_size_two_point_zero_is_two():
    w = param([0.0])
    opt = optim.SGD([w], lr=1.0)
    sched = S.StepLR(opt, step_size=2.0, gamma=0.1)
    assert sched.step_size == 2 and type(sched.step_size) is int
    lrs = []
    for _ in range(5):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(lrs, [1.0, 0.1, 0.1, 0.01, 0.01], rtol=1e-15)
    assert S.StepLR(optim.SGD([param([0.0])]), step_size=np.int64(3)).step_size == 3


def test_fractional_step_size_is_refused():
    with pytest.raises(ValueError, match="whole number"):
        S.StepLR(optim.SGD([param([0.0])]), step_size=2.5)


def test_meaningless_rmsprop_alpha_and_sgd_dampening_stay_errors():
    """Deliberate differences (documented): PyTorch accepts them."""
    with pytest.raises(ValueError, match="alpha"):
        optim.RMSprop([param([0.0])], alpha=1.5)
    with pytest.raises(ValueError, match="dampening"):
        optim.SGD([param([0.0])], momentum=0.9, dampening=-0.5)
    with pytest.raises(ValueError, match="dampening"):
        optim.SGD([param([0.0])], momentum=0.9, dampening=1.5)


# --------------------------------------------------------------- PyTorch as an oracle
def test_switch_keys_match_torch():
    torch = pytest.importorskip("torch")
    for name, keys in SWITCHES.items():
        tp = torch.nn.Parameter(torch.ones(1))
        t_defaults = getattr(torch.optim, name)([tp]).defaults
        t_keys = {k for k in TORCH_DEFAULTS if k in t_defaults}
        assert t_keys == set(keys), name
        opt = getattr(optim, name)([param([1.0])])
        for key in keys:
            assert opt.defaults[key] == t_defaults[key], (name, key)


def test_adagrad_eager_state_matches_torch():
    torch = pytest.importorskip("torch")
    tp = torch.nn.Parameter(torch.tensor([1.0, -1.0]))
    t_state = torch.optim.Adagrad([tp], initial_accumulator_value=0.5).state_dict()["state"]
    state = optim.Adagrad([mg.tensor([1.0, -1.0], requires_grad=True)],
                          initial_accumulator_value=0.5).state_dict()["state"]
    assert list(state) == list(t_state) == [0]
    assert float(t_state[0]["step"]) == state[0]["step"]
    np.testing.assert_array_equal(state[0]["G"], t_state[0]["sum"].numpy())


def test_tensor_lr_and_named_params_match_torch():
    torch = pytest.importorskip("torch")
    tw = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    t_opt = torch.optim.Adam([("w", tw)], lr=torch.tensor(0.01))
    w = mg.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.Adam([("w", w)], lr=mg.tensor(0.01))
    for t in range(3):
        g = np.array([0.5, -1.5], np.float32) * (t + 1)
        tw.grad = torch.tensor(g)
        w.grad = mg.tensor(g)
        t_opt.step()
        opt.step()
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-6)
    assert opt.state_dict()["param_groups"][0]["param_names"] == \
        t_opt.state_dict()["param_groups"][0]["param_names"]
