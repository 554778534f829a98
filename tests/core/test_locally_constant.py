"""Second derivatives through piecewise-linear ops when the upstream gradient is a
constant: relu(x).sum()'s gradient is a mask, so it requires grad (as in PyTorch) and its
own gradient is 0, not a "does not require grad" error (autograd.function.LocallyConstant,
made by the backward sweep under create_graph=True)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.autograd.function import LocallyConstant
from minigrad.testing import arrays

X = [1.5, -2.0, 3.0, -0.25, 0.75]

PIECEWISE = {
    "relu": lambda t: t.relu(),
    "leaky_relu": lambda t: F.leaky_relu(t, 0.1),
    "relu6": F.relu6,
    "hardtanh": F.hardtanh,
    "threshold": lambda t: F.threshold(t, 0.5, 0.0),
    "hardshrink": F.hardshrink,
    "softshrink": F.softshrink,
    "abs": lambda t: t.abs(),
    "clamp": lambda t: t.clamp(-1, 1),
    "max": lambda t: t.max(),
    "maximum": lambda t: mg.maximum(t, mg.zeros_like(t) + 0.5),
    "max_pool1d": lambda t: F.max_pool1d(t.reshape(1, 1, -1), 2),
    "where": lambda t: mg.where(t > 0, t, 2 * t),
}


def _first_and_second(f, device="cpu"):
    x = mg.tensor(X, dtype=mg.float64, device=device, requires_grad=True)
    g, = mg.autograd.grad(f(x).sum(), x, create_graph=True)
    h, = mg.autograd.grad(g.sum(), x)
    return g, h


@pytest.mark.parametrize("name", sorted(PIECEWISE))
def test_the_second_derivative_of_a_piecewise_linear_op_is_zero(name, device):
    g, h = _first_and_second(PIECEWISE[name], device)
    assert g.requires_grad
    np.testing.assert_array_equal(h.cpu().numpy(), np.zeros(len(X)))


def test_relu_by_hand_and_third_order():
    x = mg.tensor(X, dtype=mg.float64, requires_grad=True)
    g, = mg.autograd.grad(x.relu().sum(), x, create_graph=True)
    assert g.tolist() == [1.0, 0.0, 1.0, 0.0, 1.0]  # the mask, x > 0
    h, = mg.autograd.grad(g.sum(), x, create_graph=True)
    assert h.tolist() == [0.0] * 5 and h.requires_grad
    k, = mg.autograd.grad(h.sum(), x)
    assert k.tolist() == [0.0] * 5


def test_a_curved_op_keeps_its_own_second_derivative():
    """Only gradients that nothing recorded are linked: x**3's is 3x² (recorded), so its
    second derivative is 6x, not 0."""
    x = mg.tensor(X, dtype=mg.float64, requires_grad=True)
    g, = mg.autograd.grad((x ** 3).relu().sum(), x, create_graph=True)
    h, = mg.autograd.grad(g.sum(), x)
    xs = np.array(X)
    np.testing.assert_allclose(h.numpy(), np.where(xs > 0, 6 * xs, 0.0))


def test_gradient_penalty_through_a_relu_net_gives_the_hidden_bias_zero():
    """||∂f/∂x||² of a ReLU MLP depends on the weights, on the hidden bias only through
    the masks (its gradient is 0, as PyTorch's) and not at all on the output bias (None,
    as PyTorch's)."""
    mg.manual_seed(0)
    net = mg.nn.Sequential(mg.nn.Linear(3, 4), mg.nn.ReLU(), mg.nn.Linear(4, 1)).double()
    x = mg.randn(5, 3, dtype=mg.float64, requires_grad=True)
    g, = mg.autograd.grad(net(x).sum(), x, create_graph=True)
    (g ** 2).sum().backward()
    W1, b1, W2 = (p.grad.numpy() for p in list(net.parameters())[:3])
    assert not b1.any() and list(net.parameters())[3].grad is None
    # by hand: g = M W1ᵀ... per sample, g_n = W1ᵀ (m_n ⊙ w2) with m_n = [h_n > 0]
    w1, c1, w2 = (p.detach().numpy() for p in list(net.parameters())[:3])
    m = (x.detach().numpy() @ w1.T + c1) > 0                      # (5, 4)
    gn = (m * w2[0]) @ w1                                          # (5, 3)
    np.testing.assert_allclose(W1, 2 * (m * w2[0]).T @ gn)
    np.testing.assert_allclose(W2[0], 2 * np.einsum("nk,nk->k", m, gn @ w1.T))


@given(x=arrays(shape=st.lists(st.integers(0, 3), max_size=3).map(tuple)))
def test_gradcheck_of_the_locally_constant_node(x):
    """y = g whatever the xᵢ: its VJP passes gy to g and 0 to x; gradcheck agrees."""
    value = np.asarray(x, dtype=np.float64) * 2 + 1
    t = mg.tensor(x, dtype=mg.float64, requires_grad=True)
    g = mg.tensor(value, requires_grad=True)
    assert mg.gradcheck(lambda a, b: LocallyConstant()(a, b), [g, t])


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "relu6", "hardtanh", "threshold",
                                  "hardshrink", "softshrink", "max_pool1d"])
def test_pytorch_agrees_where_it_differentiates(name):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    ops = {"relu": lambda t: t.relu(), "leaky_relu": lambda t: TF.leaky_relu(t, 0.1),
           "relu6": TF.relu6, "hardtanh": TF.hardtanh,
           "threshold": lambda t: TF.threshold(t, 0.5, 0.0), "hardshrink": TF.hardshrink,
           "softshrink": TF.softshrink,
           "max_pool1d": lambda t: TF.max_pool1d(t.reshape(1, 1, -1), 2)}
    xt = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    gt, = torch.autograd.grad(ops[name](xt).sum(), xt, create_graph=True)
    ht, = torch.autograd.grad(gt.sum(), xt)
    g, h = _first_and_second(PIECEWISE[name])
    np.testing.assert_array_equal(g.detach().numpy(), gt.detach().numpy())
    np.testing.assert_array_equal(h.numpy(), ht.numpy())
