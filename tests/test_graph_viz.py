"""grad_fn.next_functions and the Graphviz picture of a graph (mg.viz.autograd_graph)."""
import pytest

import minigrad as mg
from minigrad.autograd.function import AccumulateGrad


def test_next_functions_walk_the_graph():
    x = mg.ones(2, requires_grad=True)
    y = (x * 3).exp().sum()
    (exp_fn, _), = y.grad_fn.next_functions
    assert exp_fn.name == "Exp"
    (mul_fn, _), = exp_fn.next_functions
    (leaf, _), (const, _) = mul_fn.next_functions
    assert isinstance(leaf, AccumulateGrad) and leaf.variable is x and const is None
    assert leaf.next_functions == () and repr(leaf) == "<AccumulateGrad>"
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        _ = y.grad_fn.next_functions


def test_autograd_graph_dot_text():
    mg.manual_seed(0)
    model = mg.nn.Sequential(mg.nn.Linear(3, 4), mg.nn.Tanh(), mg.nn.Linear(4, 1))
    loss = model(mg.randn(2, 3)).sum()
    dot = mg.viz.autograd_graph(loss, params=dict(model.named_parameters()))
    assert dot.startswith("digraph autograd {") and dot.rstrip().endswith("}")
    for label in ('"Sum"', '"Tanh"', '"LinearFunction"', '"0.weight (4, 3)"',
                  '"2.bias (1,)"', '"output ()"'):
        assert label in dot
    assert dot.count('"LinearFunction"') == 2          # one node per op
    assert dot.count("->") == 1 + 1 + 3 + 1 + 3 - 1   # result, sum, 2 linears, tanh
    with pytest.raises(ValueError, match="has no graph"):
        mg.viz.autograd_graph(mg.ones(2))


def test_next_functions_match_pytorch_shape():
    torch = pytest.importorskip("torch")
    counts = []
    for lib in (mg, torch):
        x = lib.ones(2, requires_grad=True)
        y = (x * 3 + x).sum()
        add = y.grad_fn.next_functions[0][0]
        counts.append([type(n).__name__ == "NoneType" for n, _ in add.next_functions])
    assert counts[0] == counts[1]
