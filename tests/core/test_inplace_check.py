"""A tensor changed in place after the forward used it: backward refuses (PyTorch's
"modified by an inplace operation"), instead of a gradient computed from the new values.

minigrad records no in-place op, and refuses one on a tensor that requires grad while
grad mode is on; what remains are constants (and anything under ``no_grad``) changed
between forward and backward, directly or through another view of their memory.
"""
import numpy as np
import pytest

import minigrad as mg

MODIFIED = "modified by an inplace operation"

# every in-place way to change a tensor's values
CHANGES = {
    "mul_": lambda t: t.mul_(0.5),
    "add_": lambda t: t.add_(1.0),
    "sub_": lambda t: t.sub_(1.0),
    "div_": lambda t: t.div_(2.0),
    "+=": lambda t: t.__iadd__(1.0),
    "*=": lambda t: t.__imul__(3.0),
    "setitem": lambda t: t.__setitem__(0, 100.0),
    "fill_": lambda t: t.fill_(7.0),
    "zero_": lambda t: t.zero_(),
    "copy_": lambda t: t.copy_(mg.full(t.shape, 9.0)),
    "clamp_": lambda t: t.clamp_(max=1.0),
    "uniform_": lambda t: t.uniform_(),
    "normal_": lambda t: t.normal_(),
    "bernoulli_": lambda t: t.bernoulli_(0.5),
    "exponential_": lambda t: t.exponential_(),
}


def _product():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = mg.tensor([2.0, 3.0, 4.0])
    return x, w, (x * w).sum()


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_changing_a_saved_constant_after_the_forward_is_refused(change):
    x, w, loss = _product()
    change(w)
    with pytest.raises(RuntimeError, match=MODIFIED) as err:
        loss.backward()
    assert "Mul's input 1" in str(err.value) and "(3,)" in str(err.value)
    assert x.grad is None  # nothing was accumulated


def test_autograd_grad_checks_too():
    x, w, loss = _product()
    w.mul_(2.0)
    with pytest.raises(RuntimeError, match=MODIFIED):
        mg.autograd.grad(loss, x)


def test_a_saved_output_changed_under_no_grad_is_refused():
    x = mg.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()  # its backward reads y
    loss = y.sum()
    with mg.no_grad():
        y.zero_()
    with pytest.raises(RuntimeError, match="Exp's output"):
        loss.backward()


def test_views_share_the_check_both_ways():
    # a view saved by the graph, its base changed afterwards
    x = mg.ones(3, requires_grad=True)
    w = mg.full((2, 3), 2.0)
    loss = (x * w[0]).sum()
    w.mul_(0.0)
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()
    # the base saved, a view of it changed afterwards
    x = mg.ones(3, requires_grad=True)
    w = mg.full((2, 3), 2.0)
    loss = (x * w).sum()
    w[1].mul_(0.0)
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()
    # detach() shares the memory: changing the detached tensor changes the saved one
    x = mg.ones(3, requires_grad=True)
    w = mg.full((3,), 2.0)
    loss = (x * w.reshape(3)).sum()
    w.detach().add_(1.0)
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_what_the_gradient_does_not_read_may_change():
    # Add's backward reads no values (PyTorch saves nothing for it either)
    x = mg.ones(3, requires_grad=True)
    w = mg.full((3,), 2.0)
    loss = (x + w).sum()
    w.mul_(0.0)
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(3))
    # a copy is a new tensor: changing the original leaves the graph's values alone
    x, w0, _ = _product()
    w = w0.clone()
    loss = (x * w).sum()
    w0.mul_(0.0)
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 3.0, 4.0])


def test_changes_before_the_forward_and_after_the_backward_are_fine():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = mg.tensor([2.0, 3.0, 4.0])
    w.mul_(2.0)  # before: the forward sees the new values
    loss = (x * w).sum()
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 6.0, 8.0])
    w.zero_()  # after: the graph is gone
    with mg.no_grad():  # and an optimizer-style update of the leaf itself
        x.sub_(0.1 * x.grad)
    loss = (x * w).sum()
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 6.0, 8.0])  # + zeros


def test_a_retained_graph_refuses_its_second_backward_after_a_change():
    x, w, loss = _product()
    loss.backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 3.0, 4.0])
    w.fill_(1.0)
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_zero_on_a_tensor_that_requires_grad_is_refused_as_the_other_inplace_ops():
    w = mg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="zero_: in-place change of a tensor that requires"):
        w.zero_()
    with mg.no_grad():
        w.zero_()
    np.testing.assert_array_equal(w.numpy(), [0.0, 0.0])


@pytest.mark.parametrize("fused", [False, True])
def test_an_optimizer_step_between_forward_and_backward_is_refused(fused):
    # the classic mistake (PyTorch raises too): the graph saved w, the step changed it
    w = mg.ones(3, requires_grad=True)
    opt = mg.optim.Adam([w], lr=0.1, fused=fused)
    (w * w).sum().backward()
    loss = (w * w).sum()
    opt.step()
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()
    # the usual order is untouched: forward, backward, step, and again
    for _ in range(2):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    # a parameter the step skipped (no gradient) did not change: its graph stays usable
    v = mg.ones(2, requires_grad=True)
    opt = mg.optim.SGD([w, v], lr=0.1)
    opt.zero_grad()
    loss_v = (v * v).sum()
    (w * w).sum().backward()
    opt.step()
    loss_v.backward()
    np.testing.assert_array_equal(v.grad.numpy(), [2.0, 2.0])
