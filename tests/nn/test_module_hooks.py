"""nn.Module hooks: full backward hooks and backward pre-hooks (values by hand, replacement,
multi-input and multi-output modules, PyTorch as an oracle), the forward-hook options
(with_kwargs, prepend, always_call), and get_buffer / set_submodule / extra state /
to_empty / bfloat16."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn


def _linear(device="cpu"):
    lin = nn.Linear(3, 2).to(device=device, dtype=mg.float64)
    with mg.no_grad():
        lin.weight.copy_(np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]]))
        lin.bias.copy_(np.array([0.1, -0.2]))
    return lin


def test_full_backward_hook_sees_grad_input_and_grad_output_by_hand(device):
    """y = x Wᵀ + b, L = Σ y·c: grad_output = c, grad_input = c W."""
    lin = _linear(device)
    seen = []
    lin.register_full_backward_hook(lambda m, gi, go: seen.append((m, gi, go)))
    x = mg.tensor([[1.0, 0.0, -1.0]], dtype=mg.float64, device=device, requires_grad=True)
    c = np.array([[2.0, -3.0]])
    (lin(x) * mg.tensor(c, device=device)).sum().backward()
    ((module, grad_input, grad_output),) = seen
    assert module is lin and len(grad_input) == 1 and len(grad_output) == 1
    np.testing.assert_allclose(grad_output[0].cpu().numpy(), c)
    np.testing.assert_allclose(grad_input[0].cpu().numpy(), c @ lin.weight.cpu().numpy())
    np.testing.assert_allclose(x.grad.cpu().numpy(), c @ lin.weight.cpu().numpy())


def test_hooks_replace_grad_input_and_grad_output():
    lin = _linear()
    x = mg.tensor([[1.0, 0.0, -1.0]], dtype=mg.float64, requires_grad=True)
    h = lin.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0,))
    lin(x).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0, 0.0]]
    assert lin.weight.grad.tolist() == [[1.0, 0.0, -1.0]] * 2     # parameters unaffected
    h.remove()
    x.grad = None
    lin.zero_grad()
    lin.register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
    lin(x).sum().backward()
    assert lin.weight.grad.tolist() == [[2.0, 0.0, -2.0]] * 2     # doubled before the module
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.ones((1, 2)) @ lin.weight.numpy())


def test_an_input_without_grad_gives_none_and_the_hook_still_runs():
    lin = _linear()
    seen = []
    lin.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go)))
    lin(mg.ones(4, 3, dtype=mg.float64)).sum().backward()
    ((grad_input, grad_output),) = seen
    assert grad_input == (None,) and grad_output[0].shape == (4, 2)
    assert lin.weight.grad is not None


class TwoInTwoOut(nn.Module):
    def forward(self, x, k, y):
        return x * k, (y * y).sum()


def test_several_inputs_and_outputs_arrive_together_in_order():
    m = TwoInTwoOut()
    log = []
    m.register_full_backward_pre_hook(lambda mod, go: log.append(("pre", go)))
    m.register_full_backward_hook(lambda mod, gi, go: log.append(("full", gi, go)))
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    y = mg.tensor([3.0, -1.0], dtype=mg.float64, requires_grad=True)
    a, b = m(x, 5, y)
    (a.sum() * 2 + b * 3).backward()
    (pre, go), (full, gi, go2) = log
    assert pre == "pre" and full == "full" and len(gi) == 3 and gi[1] is None
    assert go[0].tolist() == [2.0, 2.0] and go[1].tolist() == 3.0
    assert gi[0].tolist() == [10.0, 10.0] and gi[2].tolist() == [18.0, -6.0]
    assert [g.tolist() for g in go2] == [g.tolist() for g in go]
    assert x.grad.tolist() == [10.0, 10.0] and y.grad.tolist() == [18.0, -6.0]


def test_backward_hooks_order_prepend_removal_and_no_grad():
    lin = _linear()
    x = mg.ones(1, 3, dtype=mg.float64, requires_grad=True)
    order = []
    lin.register_full_backward_hook(lambda m, gi, go: order.append("a"))
    h = lin.register_full_backward_hook(lambda m, gi, go: order.append("b"))
    lin.register_full_backward_hook(lambda m, gi, go: order.append("first"), prepend=True)
    lin(x).sum().backward()
    assert order == ["first", "a", "b"]
    h.remove()
    order.clear()
    lin(x).sum().backward(retain_graph=False)
    assert order == ["first", "a"]
    order.clear()
    with mg.no_grad():
        lin(x)
    assert order == []


def test_backward_hook_errors():
    lin = _linear()
    x = mg.ones(1, 3, dtype=mg.float64, requires_grad=True)
    h = lin.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="returned 2 gradients, expected 1"):
        lin(x).sum().backward()
    h.remove()
    h = lin.register_full_backward_hook(lambda m, gi, go: (gi[0][:, :1],))
    with pytest.raises(RuntimeError, match=r"shape \(1, 1\) for a tensor of shape \(1, 3\)"):
        lin(x).sum().backward()
    h.remove()
    m = TwoInTwoOut()
    m.register_full_backward_hook(lambda mod, gi, go: None)
    with pytest.raises(TypeError, match="different dtypes"):
        m(mg.ones(2, requires_grad=True), 1, mg.ones(2, dtype=mg.float64, requires_grad=True))
    with pytest.raises(TypeError, match="callable"):
        lin.register_full_backward_hook("not a hook")


def test_backward_hooks_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 6))
    conv = nn.Conv2d(3, 4, 3, padding=1).to(dtype=mg.float64)
    tconv = torch.nn.Conv2d(3, 4, 3, padding=1).double()
    with torch.no_grad():
        tconv.weight.copy_(torch.tensor(conv.weight.numpy()))
        tconv.bias.copy_(torch.tensor(conv.bias.numpy()))

    def run(module, tensor, to_numpy):
        got = {}

        def pre(m, go):
            got["pre"] = to_numpy(go[0])
            return (go[0] * 3,)

        def full(m, gi, go):
            got["gi"], got["go"] = to_numpy(gi[0]), to_numpy(go[0])
            return (gi[0].tanh(),)

        module.register_full_backward_pre_hook(pre)
        module.register_full_backward_hook(full)
        xt = tensor(x)
        (module(xt) ** 2).sum().backward()
        return got, to_numpy(xt.grad), to_numpy(module.weight.grad)

    mine = run(conv, lambda a: mg.tensor(a, requires_grad=True), lambda t: t.numpy())
    theirs = run(tconv, lambda a: torch.tensor(a, requires_grad=True),
                 lambda t: t.detach().numpy())
    for key in ("pre", "gi", "go"):
        np.testing.assert_allclose(mine[0][key], theirs[0][key], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mine[1], theirs[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mine[2], theirs[2], rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ forward-hook options


def test_forward_hooks_with_kwargs_prepend_and_always_call():
    class Scale(nn.Module):
        def forward(self, x, *, factor=1.0):
            if factor < 0:
                raise ValueError("negative factor")
            return x * factor

    m = Scale()
    log = []
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"factor": 3.0}),
                                with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: log.append(kwargs) or out + 1,
                            with_kwargs=True)
    m.register_forward_hook(lambda mod, args, out: log.append("first") or None, prepend=True)
    assert m(mg.tensor([1.0]), factor=2.0).tolist() == [4.0]     # factor 3 from the pre-hook
    assert log == ["first", {"factor": 3.0}]
    m2 = Scale()
    calls = []
    m2.register_forward_hook(lambda mod, args, out: calls.append(out), always_call=True)
    m2.register_forward_hook(lambda mod, args, out: calls.append("never"))
    with pytest.raises(ValueError, match="negative factor"):
        m2(mg.tensor([1.0]), factor=-1.0)
    assert calls == [None]
    m3 = Scale()
    m3.register_forward_pre_hook(lambda mod, args, kwargs: args, with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"\(new_args, new_kwargs\)"):
        m3(mg.tensor([1.0, 2.0]))


# ------------------------------------------------------------------ module helpers


class WithCounter(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.register_buffer("running", mg.zeros(2))
        self.calls = 0

    def get_extra_state(self):
        return {"calls": self.calls}

    def set_extra_state(self, state):
        self.calls = state["calls"]


def test_get_buffer_set_submodule_and_extra_state(tmp_path):
    m = nn.Sequential(WithCounter(), nn.ReLU())
    assert m.get_buffer("0.running") is m[0].running
    with pytest.raises(AttributeError, match="no buffer 'missing'"):
        m.get_buffer("0.missing")
    m.set_submodule("0.lin", nn.Linear(2, 5))
    assert m[0].lin.out_features == 5
    with pytest.raises(TypeError, match="expected an nn.Module"):
        m.set_submodule("1", 3)
    m[0].calls = 7
    sd = m.state_dict()
    assert sd["0._extra_state"] == {"calls": 7}
    fresh = nn.Sequential(WithCounter(), nn.ReLU())
    fresh.set_submodule("0.lin", nn.Linear(2, 5))
    fresh.load_state_dict(sd)
    assert fresh[0].calls == 7
    del sd["0._extra_state"]
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "0._extra_state"'):
        fresh.load_state_dict(sd)
    mg.save(m.state_dict(), tmp_path / "m.pt")
    fresh[0].calls = 0
    fresh.load_state_dict(mg.load(tmp_path / "m.pt"))
    assert fresh[0].calls == 7


def test_to_empty_and_bfloat16():
    lin = nn.Linear(3, 4)
    lin.weight.grad = mg.ones(4, 3)
    assert lin.to_empty(device="cpu") is lin
    assert lin.weight.shape == (4, 3) and lin.weight.dtype == mg.float32
    assert lin.weight.grad is None
    if mg.bfloat16 is None:
        with pytest.raises(TypeError, match="ml_dtypes"):
            lin.bfloat16()
    else:
        assert lin.bfloat16().weight.dtype == mg.bfloat16
        assert mg.ones(2).bfloat16().dtype == mg.bfloat16


def test_buffer_assignment_registers_a_buffer():
    m = nn.Module()
    t = nn.Buffer(mg.zeros(2))
    m.stats = t
    m.scratch = nn.Buffer(mg.ones(3), persistent=False)
    assert m.stats is t and type(m.stats) is mg.Tensor
    assert [n for n, _ in m.named_buffers()] == ["stats", "scratch"]
    assert list(m.state_dict()) == ["stats"]
    m.to(dtype=mg.float64)
    assert m.stats.dtype == mg.float64 and m.scratch.dtype == mg.float64
    assert nn.Buffer().shape == (0,)


def test_buffer_matches_pytorch():
    torch = pytest.importorskip("torch")
    for lib, make in ((mg, lambda: mg.zeros(2)), (torch, lambda: torch.zeros(2))):
        m = lib.nn.Module()
        m.a = lib.nn.Buffer(make())
        m.b = lib.nn.Buffer(make(), persistent=False)
        assert list(m.state_dict()) == ["a"]
        assert [n for n, _ in m.named_buffers()] == ["a", "b"]


@settings(max_examples=15, deadline=None)
@given(batch=st.integers(1, 4), scale=st.floats(0.5, 2.0))
def test_a_module_with_backward_hooks_passes_gradcheck_and_gradgradcheck(batch, scale):
    """The hooks' node (the inputs' and outputs' gradients seen at one moment) is
    differentiable like the rest: through a hook that only looks, the gradients are the
    derivatives, first and second order; one that rescales grad_input scales them."""
    lin = _linear()
    x = mg.tensor(np.random.default_rng(batch).standard_normal((batch, 3)),
                  requires_grad=True)
    seen = []
    lin.register_full_backward_pre_hook(lambda m, go: seen.append(len(go)))
    assert mg.gradcheck(lambda t: lin(t).tanh(), (x,))
    assert mg.gradgradcheck(lambda t: lin(t).tanh(), (x,))
    assert seen
    lin.register_full_backward_hook(lambda m, gi, go: tuple(g * scale for g in gi))
    ref = mg.autograd.grad(_linear()(x).tanh().sum(), [x])[0]
    got = mg.autograd.grad(lin(x).tanh().sum(), [x])[0]
    np.testing.assert_allclose(got.numpy(), scale * ref.numpy(), rtol=1e-13)
