"""The module system: registration, traversal order, train/eval, zero_grad, state_dict
round trips and strict-load errors, dtype/device moves, hooks, containers, repr; and,
when torch is importable, PyTorch state dicts loading into the same architecture."""
from collections import OrderedDict

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.testing import assert_close


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.bn = nn.BatchNorm2d(2)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(8, 3), nn.ReLU(), nn.Dropout(0.5),
                                  nn.Linear(3, 2))
        self.scale = nn.Parameter(mg.ones(1))
        self.register_buffer("steps", mg.zeros(1))
        self.register_buffer("cache", mg.zeros(2), persistent=False)

    def forward(self, x):
        return self.head(self.bn(self.conv(x)).relu()) * self.scale


KEYS = ["scale", "steps", "conv.weight", "conv.bias", "bn.weight", "bn.bias",
        "bn.running_mean", "bn.running_var", "bn.num_batches_tracked", "head.1.weight",
        "head.1.bias", "head.4.weight", "head.4.bias"]


def test_registration_and_traversal_order():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "conv.weight", "conv.bias", "bn.weight", "bn.bias", "head.1.weight",
        "head.1.bias", "head.4.weight", "head.4.bias"]
    assert [n for n, _ in net.named_buffers()] == [
        "steps", "cache", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
    assert list(net.state_dict()) == KEYS  # non-persistent buffer left out
    assert [n for n, _ in net.named_children()] == ["conv", "bn", "head"]
    assert [n for n, _ in net.named_modules()] == [
        "", "conv", "bn", "head", "head.0", "head.1", "head.2", "head.3", "head.4"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    assert net.get_submodule("head.1") is net.head[1]
    assert net.get_parameter("head.4.bias") is net.head[4].bias
    assert "conv" in dir(net)


def test_shared_parameters_counted_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_setattr_rules():
    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(mg.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__\\(\\) call"):
        Early()
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign Tensor as parameter 'weight'"):
        lin.weight = mg.ones(2, 2)
    lin.bias = None
    assert [n for n, _ in lin.named_parameters()] == ["weight"]
    assert lin(mg.ones(1, 2)).shape == (1, 2)
    with pytest.raises(KeyError, match="attribute 'training' already exists"):
        lin.register_buffer("training", None)
    with pytest.raises(KeyError, match="can't contain '.'"):
        lin.register_parameter("a.b", None)
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'nope'"):
        _ = lin.nope
    del lin.weight
    assert list(lin.state_dict()) == []


def test_train_eval_propagates():
    net = Net()
    assert net.training and net.head[3].training
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    x = mg.randn(4, 1, 4, 4)
    net.eval()
    assert_close(net(x), net(x))  # eval: deterministic (running stats, no dropout)


def test_zero_grad():
    net = Net()
    net(mg.randn(4, 1, 4, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_round_trip_and_independence():
    mg.manual_seed(0)
    a, b = Net(), Net()
    x = mg.randn(4, 1, 4, 4)
    a(x)  # updates a's running stats
    a.eval()
    b.eval()
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert_close(b(x), a(x), rtol=0)
    # loading copies: changing a afterwards does not change b
    with mg.no_grad():
        a.conv.weight.data += 1
    assert not np.allclose(a.conv.weight.numpy(), b.conv.weight.numpy())
    # state_dict values share memory with the module, as PyTorch
    sd = a.state_dict()
    assert sd["conv.weight"].data is a.conv.weight.data
    assert not sd["conv.weight"].requires_grad


def test_strict_load_errors_list_everything_and_change_nothing():
    net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    before = net[0].weight.numpy().copy()
    sd = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    sd["0.weight"] = np.zeros((3, 5))
    del sd["1.running_var"]
    sd["extra.weight"] = np.zeros(2)
    sd["0.bias"] = np.full(3, 7.0)
    with pytest.raises(RuntimeError) as e:
        net.load_state_dict(sd)
    text = str(e.value)
    assert "Error(s) in loading state_dict for Sequential" in text
    assert 'Unexpected key(s) in state_dict: "extra.weight".' in text
    assert 'Missing key(s) in state_dict: "1.running_var".' in text
    assert ("size mismatch for 0.weight: copying a param with shape (3, 5) from checkpoint, "
            "the shape in current model is (3, 4).") in text
    assert np.array_equal(net[0].weight.numpy(), before)
    assert not np.any(net[0].bias.numpy() == 7.0)  # nothing copied
    # strict=False: keys reported, shapes still checked
    sd["0.weight"] = np.ones((3, 4))
    result = net.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["1.running_var"]
    assert result.unexpected_keys == ["extra.weight"]
    assert np.all(net[0].weight.numpy() == 1) and np.all(net[0].bias.numpy() == 7)


def test_load_casts_dtype_and_keeps_identity():
    lin = nn.Linear(2, 2)
    w = lin.weight
    lin.load_state_dict({"weight": np.ones((2, 2), dtype=np.float64),
                         "bias": mg.zeros(2, dtype=mg.float64)})
    assert lin.weight is w and w.dtype == mg.float32 and np.all(w.numpy() == 1)
    lin.load_state_dict({"weight": [[2.0, 2.0], [2.0, 2.0]], "bias": [0.0, 0.0]}, assign=True)
    assert lin.weight.dtype == mg.float32 and np.all(lin.weight.numpy() == 2)


def test_to_dtype_and_half_keep_parameter_objects():
    net = Net()
    params = list(net.parameters())
    net.double()
    assert all(p.dtype == mg.float64 for p in net.parameters())
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert net.bn.num_batches_tracked.dtype == mg.int64  # integer buffers keep their dtype
    net.to(dtype=mg.float16)
    assert net.conv.weight.dtype == mg.float16
    net.float()
    assert net.conv.weight.dtype == mg.float32
    net.to("cpu")
    net.to(mg.float64)
    assert net.conv.weight.dtype == mg.float64
    with pytest.raises(TypeError, match="dtype must be floating"):
        net.to(dtype=mg.int64)


@pytest.mark.gpu
def test_to_cuda_and_back():
    net = Net()
    x = mg.randn(2, 1, 4, 4)
    net.eval()
    y = net(x)
    net.to("cuda")
    assert all(p.device == "cuda" for p in net.parameters())
    assert_close(net(x.to("cuda")), y, rtol=1e-4, atol=1e-5)
    net.cpu()
    assert all(p.device == "cpu" for p in net.parameters())


def test_forward_hooks():
    lin = nn.Linear(2, 2)
    seen = []
    h = lin.register_forward_hook(lambda m, args, out: seen.append(out.shape))
    pre = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    y = lin(mg.ones(3, 2))
    assert seen == [(3, 2)]
    assert_close(y, np.broadcast_to(lin.bias.numpy(), (3, 2)))
    h.remove()
    pre.remove()
    lin(mg.ones(1, 2))
    assert seen == [(3, 2)]
    double = lin.register_forward_hook(lambda m, args, out: out * 2)
    assert_close(lin(mg.ones(1, 2)), 2 * (lin.weight.numpy().sum(1) + lin.bias.numpy())[None],
                 rtol=1e-6)
    double.remove()


def test_sequential_modulelist_moduledict():
    seq = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.ReLU())]))
    assert list(seq.state_dict()) == ["fc.weight", "fc.bias"]
    assert isinstance(seq[1], nn.ReLU) and isinstance(seq[-1], nn.ReLU)
    assert len(seq[:1]) == 1 and isinstance(seq[:1], nn.Sequential)
    seq.append(nn.Linear(3, 1))
    assert seq(mg.ones(4, 2)).shape == (4, 1)
    with pytest.raises(IndexError, match="index 7 is out of range"):
        seq[7]
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.Linear(2, 1))
    assert len(ml) == 4 and list(ml.state_dict())[-1] == "3.bias"
    del ml[0]
    assert list(ml.state_dict())[0] == "0.weight" and len(ml) == 3
    md = nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.ReLU()})
    md["c"] = nn.Tanh()
    assert list(md.keys()) == ["a", "b", "c"] and "a" in md
    assert list(md.state_dict()) == ["a.weight", "a.bias"]
    assert isinstance(md.pop("b"), nn.ReLU) and len(md) == 2


def test_repr_is_pytorch_like():
    net = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(96, 10))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))\n"
        "  (1): ReLU()\n"
        "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
        "  (3): Flatten(start_dim=1, end_dim=-1)\n"
        "  (4): Linear(in_features=96, out_features=10, bias=True)\n"
        ")")
    p = nn.Parameter(mg.zeros(2))
    assert repr(p).startswith("Parameter containing:\ntensor([0., 0.]")


def test_repr_matches_torch():
    torch = pytest.importorskip("torch")
    T = torch.nn
    pairs = [
        (nn.Linear(3, 4, bias=False), T.Linear(3, 4, bias=False)),
        (nn.Conv2d(3, 8, 3, stride=2, padding=1, groups=1), T.Conv2d(3, 8, 3, 2, 1)),
        (nn.Conv2d(4, 4, (3, 5), dilation=2, groups=4, bias=False),
         T.Conv2d(4, 4, (3, 5), dilation=2, groups=4, bias=False)),
        (nn.Conv1d(2, 3, 4), T.Conv1d(2, 3, 4)),
        (nn.BatchNorm2d(8), T.BatchNorm2d(8)),
        (nn.BatchNorm1d(8, momentum=None, affine=False), T.BatchNorm1d(8, momentum=None,
                                                                       affine=False)),
        (nn.LayerNorm(5), T.LayerNorm(5)),
        (nn.GroupNorm(2, 4), T.GroupNorm(2, 4)),
        (nn.Dropout(0.3), T.Dropout(0.3)),
        (nn.Dropout2d(), T.Dropout2d()),
        (nn.Embedding(10, 3), T.Embedding(10, 3)),
        (nn.MaxPool2d(3, 2, 1), T.MaxPool2d(3, 2, 1)),
        (nn.AdaptiveAvgPool2d((1, 1)), T.AdaptiveAvgPool2d((1, 1))),
        (nn.Flatten(), T.Flatten()),
        (nn.Identity(), T.Identity()),
        (nn.ReLU(), T.ReLU()),
        (nn.Tanh(), T.Tanh()),
        (nn.Sigmoid(), T.Sigmoid()),
        (nn.SiLU(), T.SiLU()),
        (nn.ELU(), T.ELU()),
        (nn.LeakyReLU(0.2), T.LeakyReLU(0.2)),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)


def test_torch_state_dict_loads_into_same_architecture():
    """A PyTorch model's state dict, converted to arrays, loads by name and gives the same
    outputs (eval mode: running statistics included)."""
    torch = pytest.importorskip("torch")
    T = torch.nn
    torch.manual_seed(0)
    tnet = T.Sequential(T.Conv2d(1, 4, 3, padding=1), T.BatchNorm2d(4), T.ReLU(),
                        T.MaxPool2d(2), T.Conv2d(4, 4, 3, groups=2), T.GroupNorm(2, 4),
                        T.Flatten(), T.Linear(4, 5), T.LayerNorm(5), T.Linear(5, 3))
    tnet.train()
    for _ in range(3):  # make the running statistics non-trivial
        tnet(torch.randn(8, 1, 6, 6))
    tnet.eval()
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Conv2d(4, 4, 3, groups=2), nn.GroupNorm(2, 4),
                        nn.Flatten(), nn.Linear(4, 5), nn.LayerNorm(5), nn.Linear(5, 3))
    assert list(net.state_dict()) == list(tnet.state_dict())
    for (k, a), b in zip(net.state_dict().items(), tnet.state_dict().values()):
        assert a.shape == tuple(b.shape), k
    net.load_state_dict({k: v.numpy() for k, v in tnet.state_dict().items()})
    net.load_state_dict(tnet.state_dict())  # torch tensors directly (CPU)
    net.eval()
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32)
    assert_close(net(mg.tensor(x)), tnet(torch.tensor(x)).detach().numpy(), rtol=1e-4,
                 atol=1e-5)


class _WithParameterContainers(nn.Module):
    def __init__(self):
        super().__init__()
        self.ws = nn.ParameterList([mg.ones(2, 3), nn.Parameter(mg.zeros(3))])
        self.d = nn.ParameterDict({"scale": mg.full((2,), 2.0)})

    def forward(self, x):
        return (x @ self.ws[0] + self.ws[1]) * self.d["scale"].sum()


def test_parameter_list_and_dict_register_their_entries():
    """Named "ws.0", "ws.1", "d.scale"; seen by parameters(), the optimizers, state_dict,
    dtype and device moves; plain Tensors are wrapped in Parameters (PyTorch's rule)."""
    m = _WithParameterContainers()
    assert [n for n, _ in m.named_parameters()] == ["ws.0", "ws.1", "d.scale"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in m.parameters())
    x = mg.ones(1, 2)
    m(x).sum().backward()
    assert m.ws[0].grad.tolist() == [[4.0] * 3] * 2      # d/dW of Σ (xW + b)·4
    assert m.d["scale"].grad.tolist() == [3 * 2.0, 3 * 2.0]  # Σ(xW + b) = 3·2
    mg.optim.SGD(m.parameters(), lr=0.5).step()
    assert m.ws[1].tolist() == [-2.0] * 3
    state = m.state_dict()
    assert list(state) == ["ws.0", "ws.1", "d.scale"]
    fresh = _WithParameterContainers()
    fresh.load_state_dict(state)
    assert fresh.ws[1].tolist() == [-2.0] * 3 and fresh.d["scale"].tolist() == [-1.0, -1.0]
    assert m.double().ws[0].dtype == mg.float64 and m.d["scale"].dtype == mg.float64
    m.zero_grad()
    assert m.ws[0].grad is None


def test_parameter_list_behaves_as_a_list():
    params = nn.ParameterList()
    params.append(mg.zeros(1))
    params += [mg.ones(2), nn.Parameter(mg.ones(3))]
    params.extend([mg.ones(4)])
    assert len(params) == 4 and [p.shape for p in params] == [(1,), (2,), (3,), (4,)]
    assert params[-1].shape == (4,) and [p.shape for p in params[1:3]] == [(2,), (3,)]
    params[0] = mg.full((5,), 7.0)
    assert isinstance(params[0], nn.Parameter) and params[0].tolist() == [7.0] * 5
    assert "(0): Parameter containing: [float32 of size 5]" in repr(params)
    with pytest.raises(IndexError, match="out of range"):
        params[4]
    with pytest.raises(TypeError, match="Parameters or Tensors"):
        params.append([1.0, 2.0])
    with pytest.raises(NotImplementedError, match="container"):
        params(mg.zeros(1))


def test_parameter_dict_behaves_as_a_dict():
    params = nn.ParameterDict([("a", mg.zeros(1))])
    params.update({"b": mg.ones(2)})
    params["c"] = nn.Parameter(mg.ones(3))
    assert list(params) == ["a", "b", "c"] and "b" in params and len(params) == 3
    assert [k for k, _ in params.items()] == list(params.keys())
    assert params.get("z") is None and params.pop("a").shape == (1,)
    del params["b"]
    assert list(params) == ["c"]
    with pytest.raises(KeyError, match="can't contain '.'"):
        params["x.y"] = mg.zeros(1)
    with pytest.raises(TypeError, match="Parameters or Tensors"):
        params["n"] = 3.0
    params.clear()
    assert len(params) == 0


def test_parameter_containers_match_torch_names():
    torch = pytest.importorskip("torch")
    ours = _WithParameterContainers()

    class Theirs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.ws = torch.nn.ParameterList([torch.ones(2, 3), torch.zeros(3)])
            self.d = torch.nn.ParameterDict({"scale": torch.full((2,), 2.0)})

    assert list(ours.state_dict()) == list(Theirs().state_dict())
