"""Grad mode: whether operations record the graph.

``no_grad()`` and ``enable_grad()`` are context managers and decorators (``@no_grad`` and
``@no_grad()`` alike);
``set_grad_enabled(flag)`` switches the mode at once when called and, used as a context
manager, restores the previous mode on exit (PyTorch's semantics).
"""
from __future__ import annotations

import functools
import threading


class _State(threading.local):
    enabled = True  # per thread; read directly by Function.__call__ (hot path)


_state = _State()


def is_grad_enabled() -> bool:
    """True when new operations record the graph for backward."""
    return _state.enabled


def _set(mode: bool) -> None:
    _state.enabled = bool(mode)


class _GradModeContext:
    _mode: bool

    def __new__(cls, *args, **kwargs):
        # ``@no_grad`` without parentheses, as PyTorch 2 allows: the decorated function
        if len(args) == 1 and not kwargs and callable(args[0]):
            return cls()(args[0])
        return super().__new__(cls)

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set(self._mode)
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """Context manager (and decorator) in which no graph is recorded."""

    _mode = False


class inference_mode(_GradModeContext):
    """PyTorch's ``inference_mode(mode=True)``: here the same as ``no_grad`` when ``mode``
    is true (minigrad has no separate inference tensors, so tensors made inside may later
    be used with autograd), a no-op when false. Also a decorator."""

    def __init__(self, mode=True):
        self._mode = not mode
        self._inference = bool(mode)

    def __enter__(self):
        self._prev_inference = _state_inference[0]
        if self._inference:
            _state_inference[0] = True
            return super().__enter__()
        self._prev = is_grad_enabled()
        return self

    def __exit__(self, *exc):
        _state_inference[0] = self._prev_inference
        _set(self._prev)
        return False

    def __call__(self, fn):
        if not callable(fn):
            raise TypeError("inference_mode: expected a function to decorate")

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(self._inference):
                return fn(*args, **kwargs)

        return wrapper


_state_inference = [False]


def is_inference_mode_enabled() -> bool:
    """True inside an ``inference_mode()`` block."""
    return _state_inference[0]


class enable_grad(_GradModeContext):
    """Context manager (and decorator) in which the graph is recorded again."""

    _mode = True


class set_grad_enabled:
    """Set grad mode to ``mode`` now; as a context manager, restore the old mode on exit."""

    def __init__(self, mode: bool):
        self._prev = is_grad_enabled()
        _set(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False
