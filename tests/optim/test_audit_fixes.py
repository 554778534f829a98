"""Hand-worked checks of the optimizer fixes from the PyTorch audit (the oracle versions
are in ``test_torch_parity_audit.py``; these run without PyTorch)."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim
from minigrad.nn.utils import clip_grad_norm_, clip_grads_with_norm_, get_total_norm
from minigrad.optim import lr_scheduler as S


def test_adagrad_group_initial_accumulator_value_is_the_groups():
    """Documented difference: G₀ of a group is that group's initial_accumulator_value
    (PyTorch 2.x reads only the constructor's value). First step by hand."""
    a = mg.tensor(np.zeros(2), requires_grad=True)
    b = mg.tensor(np.zeros(1), requires_grad=True)
    opt = optim.Adagrad([{"params": [a], "initial_accumulator_value": 0.2}, {"params": [b]}],
                        lr=0.1)
    a.grad, b.grad = mg.tensor(np.array([0.3, -0.5])), mg.tensor(np.array([0.4]))
    opt.step()
    g = np.array([0.3, -0.5])
    np.testing.assert_allclose(a.data, -0.1 * g / (np.sqrt(0.2 + g * g) + 1e-10), rtol=1e-13)
    np.testing.assert_allclose(b.data, [-0.1 * 0.4 / (0.4 + 1e-10)], rtol=1e-13)


def test_array_gradient_is_read_as_its_values():
    """A NumPy array assigned to .grad was read through ndarray.data (a raw memoryview):
    AttributeError deep in the optimizer. Now it steps like the Tensor gradient, and a
    non-array gradient is refused with a TypeError naming the optimizer."""
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([1.0, 2.0], requires_grad=True)
    oa, ob = optim.Adam([a], lr=0.1), optim.Adam([b], lr=0.1)
    a.grad, b.grad = np.array([0.5, -1.0]), mg.tensor([0.5, -1.0])
    oa.step()
    ob.step()
    np.testing.assert_array_equal(a.data, b.data)
    oa.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad, [0.0, 0.0])
    a.grad = [0.5, -1.0]
    with pytest.raises(TypeError, match=r"Adam: a parameter's \.grad must be a Tensor"):
        oa.step()


def test_plateau_reads_one_element_metrics_as_numbers():
    """A one-element array or Tensor of any shape is the number it holds (PyTorch's
    float(metrics)); patience=0 halves the lr at every non-improving step."""
    p = mg.tensor([1.0], requires_grad=True)
    s = S.ReduceLROnPlateau(optim.SGD([p], lr=1.0), patience=0, factor=0.5)
    lrs = []
    for metric in [np.array([3.0]), mg.tensor([[2.0]]), np.float32(2.5), mg.tensor(2.6),
                   np.array([[1.0]])]:
        s.step(metric)
        lrs.append(s.get_last_lr()[0])
    assert lrs == [1.0, 1.0, 0.5, 0.25, 0.25]
    for bad in (np.array([1.0, 2.0]), None, "loss"):
        with pytest.raises(TypeError, match="metric must be a number or a one-element"):
            s.step(bad)


def test_clip_grads_with_norm_scales_by_the_given_norm():
    """g ← g·min(1, max_norm/(total + 1e-6)) with a total taken over more gradients than
    are scaled: ‖(3, 4, 12)‖ = 13, and only the first two are clipped."""
    a, b = mg.tensor([3.0, 4.0], requires_grad=True), mg.tensor([12.0], requires_grad=True)
    a.grad, b.grad = mg.tensor([3.0, 4.0]), mg.tensor([12.0])
    total = get_total_norm([a.grad, b.grad])
    assert total == 13.0
    clip_grads_with_norm_([a], 6.5, total)
    np.testing.assert_allclose(a.grad.numpy(), np.array([3.0, 4.0]) * 6.5 / (13 + 1e-6))
    np.testing.assert_array_equal(b.grad.numpy(), [12.0])
    clip_grads_with_norm_([b], 1e9, mg.tensor(total))          # never scales up
    np.testing.assert_array_equal(b.grad.numpy(), [12.0])


def test_clip_grad_norm_of_mixed_dtypes_is_in_the_widest():
    a = mg.tensor(np.zeros(2, np.float32), requires_grad=True)
    b = mg.tensor(np.zeros(1), requires_grad=True)
    a.grad = mg.tensor(np.array([3.0, 4.0], np.float32))
    b.grad = mg.tensor(np.array([12.0]))
    total = clip_grad_norm_([a, b], 1.0)
    assert total.dtype == np.float64 and math.isclose(float(total), 13.0)
    assert a.grad.dtype == np.float32
