"""Tensor gradient hooks: ``register_hook`` on leaves and intermediate results and
``register_post_accumulate_grad_hook``, by hand, through autograd.grad, create_graph and
sliced leaves, their errors, and PyTorch as an oracle when it is installed."""
import gc
import weakref

import numpy as np
import pytest

import minigrad as mg


def _x(values, device="cpu"):
    return mg.tensor(values, dtype=mg.float64, device=device, requires_grad=True)


def test_leaf_hook_sees_the_summed_gradient_once_and_replaces_it(device):
    """z = Σ x·x + Σ 3x: two paths reach x; the hook is called once with 2x + 3."""
    x = _x([1.0, -2.0], device)
    seen = []

    def hook(g):
        seen.append(g.tolist())
        return g * 10

    x.register_hook(hook)
    ((x * x).sum() + (x * 3).sum()).backward()
    assert seen == [[5.0, -1.0]]
    assert x.grad.tolist() == [50.0, -10.0]
    (x * 1).sum().backward()                               # a second pass: called again
    assert seen[-1] == [1.0, 1.0] and x.grad.tolist() == [60.0, 0.0]


def test_intermediate_hook_changes_what_flows_back(device):
    """y = 3x, z = Σ y·x. Without hooks dz/dx = 6x. With y's gradient (= x) doubled,
    dz/dx = 3·2x + 3x = 9x; retain_grad sees the doubled gradient (as in PyTorch, where the
    retain_grad hook runs last)."""
    x = _x([1.0, 2.0], device)
    y = x * 3
    y.retain_grad()
    calls = []
    y.register_hook(lambda g: calls.append(g.tolist()))   # returning None keeps it
    y.register_hook(lambda g: g * 2)
    (y * x).sum().backward()
    assert calls == [[1.0, 2.0]]
    assert x.grad.tolist() == [9.0, 18.0]
    assert y.grad.tolist() == [2.0, 4.0]


def test_hooks_run_in_registration_order_and_handles_remove_them():
    x = _x([1.0])
    order = []
    h1 = x.register_hook(lambda g: order.append("first") or g + 1)
    x.register_hook(lambda g: order.append("second") or g * 3)
    (x * 2).sum().backward()
    assert order == ["first", "second"] and x.grad.tolist() == [9.0]   # (2 + 1)·3
    h1.remove()
    h1.remove()                                            # removing twice is harmless
    x.grad = None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [6.0]
    x.grad = None
    with x.register_hook(lambda g: g * 0):
        (x * 2).sum().backward()
    assert x.grad.tolist() == [0.0]
    x.grad = None
    (x * 2).sum().backward()                               # the with-block removed it
    assert x.grad.tolist() == [6.0]


def test_hooks_apply_to_autograd_grad_and_backward_inputs():
    x = _x([2.0])
    y = x * x
    x.register_hook(lambda g: g + 100)
    y.register_hook(lambda g: g * 5)
    post = []
    x.register_post_accumulate_grad_hook(lambda t: post.append(t.grad.tolist()))
    (gx,) = mg.autograd.grad(y * 1, x, retain_graph=True)
    assert gx.tolist() == [5 * 4.0 + 100]                  # dy/dx = 2x = 4, times 5, + 100
    assert x.grad is None and post == []                   # grad() accumulates nothing
    (gy,) = mg.autograd.grad(y * 1, y, retain_graph=True)
    assert gy.tolist() == [5.0]                            # an intermediate's hooked gradient
    (y * 1).backward(inputs=[x])
    assert x.grad.tolist() == [120.0] and post == [[120.0]]


def test_post_accumulate_hook_runs_after_grad_is_set_once_per_backward(device):
    x = _x([1.0, 2.0], device)
    seen = []

    def step(t):                                           # an optimizer fused into backward
        seen.append(t.grad.tolist())
        with mg.no_grad():
            t -= 0.5 * t.grad
        t.grad = None

    x.register_post_accumulate_grad_hook(step)
    ((x * x).sum() + x.sum()).backward()
    assert seen == [[3.0, 5.0]]
    assert x.tolist() == [1.0 - 1.5, 2.0 - 2.5] and x.grad is None


def test_hook_on_a_sliced_leaf_sees_the_whole_gradient():
    """Basic slices hand back partial gradients (SliceGrad) inside the engine; a hooked leaf
    must still see one dense gradient."""
    x = _x(np.arange(4.0))
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    (x[0] * 2 + x[1:3].sum() + x[3] * x[3]).backward()
    assert seen == [[2.0, 1.0, 1.0, 6.0]] and x.grad.tolist() == [2.0, 1.0, 1.0, 6.0]


def test_hook_output_is_differentiated_under_create_graph():
    """A hook g ↦ g·x makes dL/dx = (2x)·x = 2x²; its derivative is 4x."""
    x = _x([3.0])
    x2 = x * 1.0
    h = x2.register_hook(lambda g: g * x)
    (gx,) = mg.autograd.grad((x2 * x2).sum(), x, create_graph=True)
    assert gx.tolist() == [18.0]
    h.remove()
    gx.sum().backward()
    assert x.grad.tolist() == [12.0]


def test_hook_errors():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        mg.tensor([1.0]).register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        mg.tensor([1.0]).register_post_accumulate_grad_hook(lambda t: None)
    x = _x([1.0, 2.0])
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(TypeError, match="callable"):
        x.register_hook(3)
    h = x.register_hook(lambda g: g[:1])
    with pytest.raises(RuntimeError, match=r"changed the gradient's shape from \(2,\) to \(1,\)"):
        (x * 2).sum().backward()
    h.remove()
    y = x * 2
    y.register_hook(lambda g: g.tolist())
    with pytest.raises(TypeError, match="must return a Tensor or None, got list"):
        y.sum().backward()


def test_a_hook_does_not_keep_the_graph_alive():
    x = _x([1.0])
    y = x * 2
    y.register_hook(lambda g: g)
    fn = weakref.ref(y.creator)
    y.sum().backward()
    del y
    gc.collect()
    assert fn() is None


def test_hooks_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4))

    def run(lib, tensor):
        x = tensor(a)
        h = (x * x).tanh()
        h.register_hook(lambda g: g * g)
        s = h.sum(1)
        s.register_hook(lambda g: g - 1)
        x.register_hook(lambda g: g.clamp(-0.5, 0.5))
        (s * s).sum().backward()
        return np.asarray(x.grad.tolist())

    mine = run(mg, lambda v: mg.tensor(v, dtype=mg.float64, requires_grad=True))
    theirs = run(torch, lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True))
    np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-12)
