"""Anomaly detection (PyTorch's ``torch.autograd.detect_anomaly``): while it is on, every
op that records the graph also records where in your program it was called, and the
backward pass checks each gradient an op's backward returns. A NaN gradient stops the
backward with an error that names the op, the input whose gradient went NaN and the
traceback of the forward call that created the op; an exception raised inside a backward
carries that traceback too. It costs time (a stack trace per op, a NaN test per gradient):
for debugging, not for training.

    with mg.autograd.detect_anomaly():
        loss = model(x).sum()
        loss.backward()          # RuntimeError: Function 'Log' returned nan values ...
"""
from __future__ import annotations

import functools
import traceback

from .._backend import get_array_module


class _State:
    enabled = False  # read by Function.__call__ and run_backward (global, as in PyTorch)
    check_nan = True


_state = _State()


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on."""
    return _state.enabled


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly detection also checks gradients for NaN."""
    return _state.check_nan


def _set(mode, check_nan):
    previous = (_state.enabled, _state.check_nan)
    _state.enabled, _state.check_nan = bool(mode), bool(check_nan)
    return previous


class detect_anomaly:
    """Context manager (and decorator) that turns anomaly detection on inside it."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self._previous = _set(True, self.check_nan)
        return self

    def __exit__(self, *exc):
        _set(*self._previous)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper


class set_detect_anomaly:
    """Turn anomaly detection on or off now; as a context manager, restore it on exit."""

    def __init__(self, mode, check_nan=True):
        self._previous = _set(mode, check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(*self._previous)
        return False


def forward_trace() -> str:
    """Where the op being recorded was called: the stack without this module's and the
    engine's own frames."""
    frames = traceback.extract_stack()[:-2]  # drop forward_trace and Function.__call__
    return "".join(traceback.format_list(frames))


def _described(f) -> str:
    trace = getattr(f, "_forward_trace", None)
    if trace is None:
        return (f"(the op '{f.name}' was recorded while anomaly detection was off, so "
                "its forward traceback is unknown)")
    return f"Traceback of the forward call that created '{f.name}':\n{trace}"


def checked_backward(f, gy):
    """``f.backward(gy)`` with anomaly checks: an exception raised by it gets the forward
    traceback attached; a NaN in any returned gradient raises naming the op and input."""
    from .function import call_backward

    try:
        gxs = call_backward(f, gy)
    except Exception as e:
        if hasattr(e, "add_note"):  # Python ≥ 3.11
            e.add_note(f"Error detected in the backward of '{f.name}'. {_described(f)}")
        raise
    if not isinstance(gxs, tuple):
        gxs = (gxs,)
    if _state.check_nan:
        for i, gx in enumerate(gxs):
            if gx is None:
                continue
            a = getattr(gx, "values", None)
            a = gx.data if a is None else a
            if a.dtype.kind == "f" and bool(get_array_module(a).isnan(a).any()):
                raise RuntimeError(
                    f"Function '{f.name}' returned nan values in its {i}th output (the "
                    f"gradient for its input {i}, of shape {tuple(a.shape)}). "
                    f"{_described(f)}")
    return gxs
