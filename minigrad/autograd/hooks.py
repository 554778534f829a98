"""Gradient hooks (PyTorch's ``Tensor.register_hook`` and
``Tensor.register_post_accumulate_grad_hook``) and the handle that removes a hook.

A tensor hook ``fn(grad)`` sees the whole gradient of its tensor in one backward pass
(every contribution summed first) and may return a replacement of the same shape, which
is then what flows on: into the creator's backward for an intermediate tensor, into
``.grad`` (or the result of ``autograd.grad``) for a leaf. A post-accumulate hook
``fn(tensor)`` runs on a leaf after its ``.grad`` was updated (an optimizer step fused
into the backward uses it). Hooks of one tensor run in the order they were registered.
"""
from __future__ import annotations

import itertools


class RemovableHandle:
    """Returned by every ``register_*hook``; ``handle.remove()`` unregisters the hook (also
    usable as a context manager)."""

    _next_id = itertools.count()

    def __init__(self, hooks):
        self._hooks = hooks
        self.id = next(RemovableHandle._next_id)

    def remove(self):
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def add_hook(hooks, fn, what):
    """Register ``fn`` in the dict ``hooks`` (id → fn, in registration order)."""
    if not callable(fn):
        raise TypeError(f"{what}: expected a callable, got {type(fn).__name__}")
    handle = RemovableHandle(hooks)
    hooks[handle.id] = fn
    return handle


def apply_grad_hooks(hooks, grad, tensor_cls):
    """``grad`` passed through each hook in turn; a hook returning None keeps it."""
    for fn in list(hooks.values()):
        out = fn(grad)
        if out is None:
            continue
        if not isinstance(out, tensor_cls):
            raise TypeError(f"a gradient hook must return a Tensor or None, got "
                            f"{type(out).__name__}")
        if out.shape != grad.shape:
            raise RuntimeError(f"a gradient hook changed the gradient's shape from "
                               f"{grad.shape} to {out.shape}")
        grad = out
    return grad
