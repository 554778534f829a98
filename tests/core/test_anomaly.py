"""Anomaly detection (detect_anomaly / set_detect_anomaly) and inference_mode."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import Function


def _nan_gradient_graph(device="cpu"):
    """d/dx Σ 0·√x at x = 0 is 0·∞ = NaN: Mul's backward is fine, Sqrt's returns NaN."""
    x = mg.tensor([0.0, 4.0], dtype=mg.float64, device=device, requires_grad=True)
    return x, (x.sqrt() * 0.0).sum()


def test_a_nan_gradient_names_the_op_and_where_it_was_called(device):
    with mg.autograd.detect_anomaly():
        x, loss = _nan_gradient_graph(device)
        with pytest.raises(RuntimeError) as info:
            loss.backward()
    message = str(info.value)
    assert "Function 'Sqrt' returned nan values in its 0th output" in message
    assert "of shape (2,)" in message
    assert "_nan_gradient_graph" in message and "x.sqrt()" in message   # the forward line
    assert x.grad is None


def test_without_anomaly_mode_or_check_nan_the_nan_flows_through():
    x, loss = _nan_gradient_graph()
    loss.backward()
    assert np.isnan(x.grad.tolist()[0])
    with mg.autograd.detect_anomaly(check_nan=False):
        assert mg.is_anomaly_enabled() and not mg.is_anomaly_check_nan_enabled()
        x, loss = _nan_gradient_graph()
        loss.backward()
    assert np.isnan(x.grad.tolist()[0])
    assert not mg.is_anomaly_enabled() and mg.is_anomaly_check_nan_enabled()


def test_an_op_recorded_before_the_mode_was_on_is_reported_without_a_trace():
    x, loss = _nan_gradient_graph()
    with mg.autograd.set_detect_anomaly(True):
        with pytest.raises(RuntimeError, match="recorded while anomaly detection was off"):
            loss.backward()


def test_an_exception_inside_a_backward_carries_the_forward_trace():
    class Broken(Function):
        def forward(self, xp, x):
            return x * 2

        def backward(self, gy):
            raise ValueError("broken backward")

    x = mg.tensor([1.0], requires_grad=True)
    with mg.autograd.detect_anomaly():
        y = Broken()(x)
        with pytest.raises(ValueError, match="broken backward") as info:
            y.sum().backward()
    notes = "".join(getattr(info.value, "__notes__", [""]))
    if hasattr(info.value, "add_note"):
        assert "backward of 'Broken'" in notes and "y = Broken()(x)" in notes


def test_set_detect_anomaly_switches_at_once_and_restores_as_a_context():
    assert not mg.is_anomaly_enabled()
    mode = mg.autograd.set_detect_anomaly(True)
    assert mg.is_anomaly_enabled()
    mode.__exit__(None, None, None)
    assert not mg.is_anomaly_enabled()
    with mg.autograd.set_detect_anomaly(True, check_nan=False):
        assert mg.is_anomaly_enabled() and not mg.is_anomaly_check_nan_enabled()
    assert not mg.is_anomaly_enabled() and mg.is_anomaly_check_nan_enabled()

    @mg.autograd.detect_anomaly()
    def f():
        return mg.is_anomaly_enabled()

    assert f() and not mg.is_anomaly_enabled()


def test_anomaly_mode_does_not_change_correct_gradients():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4))
    grads = []
    for mode in (False, True):
        with mg.autograd.set_detect_anomaly(mode):
            x = mg.tensor(a, requires_grad=True)
            (x.tanh() @ x.T).logsumexp(1).sum().backward()
            grads.append(x.grad.numpy())
    np.testing.assert_array_equal(*grads)


def test_inference_mode_records_no_graph():
    x = mg.ones(2, requires_grad=True)
    with mg.inference_mode():
        assert mg.is_inference_mode_enabled() and not mg.is_grad_enabled()
        y = x * 2
    assert not y.requires_grad and mg.is_grad_enabled() and not mg.is_inference_mode_enabled()
    with mg.inference_mode(False):
        assert not mg.is_inference_mode_enabled()
        assert (x * 2).requires_grad
    with mg.no_grad():
        with mg.inference_mode(False):
            assert not mg.is_grad_enabled()          # mode=False changes nothing

    @mg.inference_mode()
    def predict(t):
        return t * 3

    assert not predict(x).requires_grad and mg.is_grad_enabled()


def test_the_nan_message_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = torch.tensor([0.0, 4.0], dtype=torch.float64, requires_grad=True)
    with pytest.warns(UserWarning), torch.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="returned nan values in its 0th output"):
            (x.sqrt() * 0.0).sum().backward()
    with mg.autograd.detect_anomaly():
        x, loss = _nan_gradient_graph()
        with pytest.raises(RuntimeError, match="returned nan values in its 0th output"):
            loss.backward()
