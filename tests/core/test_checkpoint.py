"""Activation checkpointing, reentrant and not: the same gradients as without it (dropout
included), the intermediates freed after the forward, multiple outputs,
checkpoint_sequential, errors, post-backward callbacks run once, and PyTorch as an oracle;
the non-reentrant one also under autograd.grad, gradcheck and gradgradcheck, with keyword
arguments and tensors from the closure."""
import gc
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.autograd.function import queue_callback
from minigrad.utils.checkpoint import checkpoint, checkpoint_sequential


def _model():
    mg.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 8),
                         nn.Tanh(), nn.Linear(8, 1)).to(dtype=mg.float64)


def _grads(model, x):
    return [p.grad.numpy().copy() for p in model.parameters()] + [x.grad.numpy().copy()]


@pytest.mark.parametrize("use_reentrant", [None, False])
@pytest.mark.parametrize("segments", [1, 2, 3, 6])
def test_checkpoint_sequential_gives_the_same_gradients(segments, use_reentrant):
    model = _model()
    x = mg.tensor(np.random.default_rng(0).standard_normal((5, 4)), requires_grad=True)
    mg.manual_seed(1)
    loss = (model(x) ** 2).sum()
    loss.backward()
    ref = _grads(model, x)
    model.zero_grad()
    x.grad = None
    mg.manual_seed(1)
    loss2 = (checkpoint_sequential(model, segments, x, use_reentrant=use_reentrant) ** 2).sum()
    loss2.backward()
    assert loss2.item() == loss.item()
    for a, b in zip(ref, _grads(model, x)):
        np.testing.assert_array_equal(a, b)     # the same dropout masks, the same numbers


def test_checkpoint_with_data_inputs_several_outputs_and_non_tensor_arguments():
    lin = nn.Linear(3, 3).to(dtype=mg.float64)
    x = mg.tensor(np.ones((2, 3)))                            # data: no grad needed

    def block(t, scale):
        h = lin(t) * scale
        return h.tanh(), h.sum()

    a, s = checkpoint(block, x, 2.0)
    (a.sum() + s).backward()
    got = lin.weight.grad.numpy().copy()
    lin.zero_grad()
    a, s = block(x, 2.0)
    (a.sum() + s).backward()
    np.testing.assert_allclose(got, lin.weight.grad.numpy(), rtol=1e-14)


@pytest.mark.parametrize("use_reentrant", [None, False])
def test_checkpoint_frees_the_intermediate_results(use_reentrant):
    seen = []

    def block(t):
        h = t * 2
        seen.append(weakref.ref(h))
        return h.exp()

    x = mg.randn(3, requires_grad=True)
    y = checkpoint(block, x, use_reentrant=use_reentrant)
    gc.collect()
    assert seen[0]() is None                                  # not kept for the backward
    z = block(x)
    gc.collect()
    assert seen[1]() is not None                              # the plain graph keeps it
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * z.numpy(), rtol=1e-6)


def test_checkpoint_errors_and_callbacks():
    x = mg.randn(3, dtype=mg.float64, requires_grad=True)
    y = checkpoint(lambda t: t.sin(), x)
    with pytest.raises(RuntimeError, match="not with autograd.grad .* pass use_reentrant=False"):
        mg.autograd.grad(y.sum(), x)
    with pytest.raises(TypeError, match="unexpected keyword arguments.*use_reentrant=False"):
        checkpoint(lambda t: t, x, scale=2)
    with pytest.raises(TypeError, match="use_reentrant must be True, False or None"):
        checkpoint(lambda t: t, x, use_reentrant="no")
    with pytest.raises(ValueError, match="segments must be in"):
        checkpoint_sequential(nn.Sequential(nn.ReLU()), 2, x)
    calls = []
    y = checkpoint(lambda t: (t * t).sum(), x)
    queue_callback(lambda: calls.append(x.grad is not None))
    y.backward()
    assert calls == [True]                    # once, after the outer backward is complete


def test_checkpoint_matches_pytorch():
    torch = pytest.importorskip("torch")
    from torch.utils.checkpoint import checkpoint as torch_checkpoint

    rng = np.random.default_rng(3)
    w1, w2 = rng.standard_normal((4, 6)), rng.standard_normal((6, 2))
    xv = rng.standard_normal((5, 4))

    def run(lib, ckpt, make, kw):
        W1, W2, x = make(w1), make(w2), make(xv)
        out = ckpt(lambda t: (t @ W1).tanh() @ W2, x, **kw)
        (out ** 2).sum().backward()
        return [t.grad.numpy() if lib is mg else t.grad.detach().numpy() for t in (W1, W2, x)]

    mine = run(mg, checkpoint, lambda v: mg.tensor(v, requires_grad=True), {})
    theirs = run(torch, torch_checkpoint,
                 lambda v: torch.tensor(v, requires_grad=True), {"use_reentrant": False})
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def _segment(lin):
    def block(a, b, *, scale):
        h = lin((a @ b).tanh()) * scale
        return h.sin(), h.sum()
    return block


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 4), k=st.integers(1, 4), scale=st.floats(0.5, 2.0))
def test_non_reentrant_checkpoint_passes_gradcheck_and_gradgradcheck(n, k, scale):
    mg.manual_seed(n * 10 + k)
    lin = nn.Linear(3, 2).to(dtype=mg.float64)
    block = _segment(lin)
    a = mg.randn(n, k, dtype=mg.float64, requires_grad=True)
    b = mg.randn(k, 3, dtype=mg.float64, requires_grad=True)

    def f(a, b, w):
        return checkpoint(block, a, b, scale=scale, use_reentrant=False)

    # the layer's weight is used from the closure: checked as an input too
    assert mg.gradcheck(f, (a, b, lin.weight))
    assert mg.gradgradcheck(f, (a, b, lin.weight))


def test_non_reentrant_checkpoint_answers_autograd_grad_as_the_plain_graph():
    mg.manual_seed(0)
    lin = nn.Linear(3, 2).to(dtype=mg.float64)
    block = _segment(lin)
    a = mg.randn(4, 2, dtype=mg.float64, requires_grad=True)
    b = mg.randn(2, 3, dtype=mg.float64, requires_grad=True)
    wanted = [a, b, lin.weight, lin.bias]

    def loss(ckpt):
        out, s = ckpt(block, a, b, scale=1.5)
        return (out ** 2).sum() + s

    plain = mg.autograd.grad(loss(lambda f, *t, **kw: f(*t, **kw)), wanted)
    got = mg.autograd.grad(loss(lambda f, *t, **kw: checkpoint(f, *t, use_reentrant=False,
                                                                **kw)), wanted)
    for g, r in zip(got, plain):
        np.testing.assert_array_equal(g.numpy(), r.numpy())
    # backward(inputs=...) too, and the plain .backward() into every leaf
    loss(lambda f, *t, **kw: checkpoint(f, *t, use_reentrant=False, **kw)).backward(inputs=[b])
    np.testing.assert_array_equal(b.grad.numpy(), plain[1].numpy())
    assert a.grad is None and lin.weight.grad is None
    b.grad = None
    loss(lambda f, *t, **kw: checkpoint(f, *t, use_reentrant=False, **kw)).backward()
    for t, r in zip(wanted, plain):
        np.testing.assert_array_equal(t.grad.numpy(), r.numpy())


def test_non_reentrant_checkpoint_of_a_closure_over_earlier_results():
    # h comes from outside the segment: its gradient goes back through the outer graph,
    # once, and the graph before h stays for the outer backward
    x = mg.randn(3, 4, dtype=mg.float64, requires_grad=True)
    W = mg.randn(4, 4, dtype=mg.float64, requires_grad=True)

    def loss(x, W, ckpt):
        h = (x @ W).tanh()
        y = ckpt(lambda t: (t * h).sin() @ W, x)
        return (y ** 2).sum() + h.sum()

    def checkpointed(x, W):
        return loss(x, W, lambda f, t: checkpoint(f, t, use_reentrant=False))

    plain = mg.autograd.grad(loss(x, W, lambda f, t: f(t)), [x, W])
    got = mg.autograd.grad(checkpointed(x, W), [x, W])
    for g, r in zip(got, plain):
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-14, atol=1e-14)
    assert mg.gradcheck(checkpointed, (x, W))
    assert mg.gradgradcheck(checkpointed, (x, W))


def test_non_reentrant_checkpoint_without_anything_needing_a_gradient():
    with mg.no_grad():
        y = checkpoint(lambda t: t * 2, mg.ones(2), use_reentrant=False)
    assert not y.requires_grad
    y = checkpoint(lambda t: t * 2, mg.ones(2), use_reentrant=False)
    assert not y.requires_grad and y.creator is None
