"""Activation checkpointing (PyTorch's ``torch.utils.checkpoint``): trade compute for
memory by not keeping a segment's intermediate results for the backward pass.

``checkpoint(fn, *args)`` runs ``fn`` without recording a graph, so only its inputs and
outputs stay in memory. When the backward reaches it, ``fn`` runs again on the saved
inputs, this time recording, and the backward goes through that fresh graph: the
gradients (of the inputs and of every parameter ``fn`` uses) are the same as without
checkpointing, for one more forward of the segment. The random generators are put back
to where they were before the first run (``preserve_rng_state``), so dropout draws the
same masks both times. ``checkpoint_sequential`` checkpoints a ``Sequential`` in segments.

This is PyTorch's reentrant checkpoint: it supports ``Tensor.backward`` (the parameters'
``.grad`` are accumulated by the inner backward) but not ``autograd.grad``, which raises.
"""
from __future__ import annotations

from .. import random as _random
from ..autograd.function import Function, in_capturing_backward, run_backward
from ..autograd.grad_mode import enable_grad
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


def _as_tuple(outputs):
    return outputs if isinstance(outputs, tuple) else (outputs,)


class _CheckpointFunction(Function):
    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, anchor, *args):
        ctx.run_function = run_function
        ctx.rng_state = _random.get_rng_state() if preserve_rng_state else None
        ctx.tensor_slots = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.args = [None if isinstance(a, Tensor) else a for a in args]
        ctx.save_for_backward(*(a for a in args if isinstance(a, Tensor)))
        return run_function(*args)

    @staticmethod
    def backward(ctx, *grad_outputs):
        if in_capturing_backward():
            raise RuntimeError("checkpoint: works with .backward() only, not with "
                               "autograd.grad (as PyTorch's reentrant checkpoint); call "
                               "loss.backward(inputs=...) instead")
        args = list(ctx.args)
        detached = []
        for i, t in zip(ctx.tensor_slots, ctx.saved_tensors):
            d = t.detach()
            d.requires_grad = t.requires_grad
            args[i] = d
            detached.append(d)
        now = _random.get_rng_state() if ctx.rng_state is not None else None
        try:
            if ctx.rng_state is not None:
                _random.set_rng_state(ctx.rng_state)
            with enable_grad():
                outputs = _as_tuple(ctx.run_function(*args))
        finally:
            if now is not None:
                _random.set_rng_state(now)
        pairs = [(o, g) for o, g in zip(outputs, grad_outputs)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if not pairs:
            raise RuntimeError("checkpoint: none of the outputs of the checkpointed "
                               "function requires grad")
        run_backward([o for o, _ in pairs], [g for _, g in pairs])
        grads = tuple(d.grad if d.requires_grad else None for d in detached)
        full = [None] * len(args)
        for i, g in zip(ctx.tensor_slots, grads):
            full[i] = g
        return (None, None, None) + tuple(full)


def checkpoint(function, *args, use_reentrant=None, preserve_rng_state=True, **kwargs):
    """``function(*args)`` whose intermediate results are recomputed in the backward
    instead of being kept (see the module docstring).

    >>> import minigrad as mg
    >>> layer = mg.nn.Linear(4, 4)
    >>> x = mg.randn(2, 4, requires_grad=True)
    >>> checkpoint(lambda t: layer(t).tanh(), x).sum().backward()
    >>> x.grad.shape, layer.weight.grad.shape
    ((2, 4), (4, 4))
    """
    if kwargs:
        raise TypeError(f"checkpoint: unexpected keyword arguments {sorted(kwargs)} (pass "
                        "the function's arguments positionally)")
    # A leaf that requires grad, so the graph node is recorded even when no input needs a
    # gradient (the first layer's input is data; its parameters still do).
    anchor = Tensor(0.0, requires_grad=True)
    return _CheckpointFunction.apply(function, preserve_rng_state, anchor, *args)


def checkpoint_sequential(functions, segments, input, use_reentrant=None,
                          preserve_rng_state=True):
    """Run the modules of ``functions`` (a Sequential or a list) in ``segments`` chunks,
    each checkpointed but the last, whose graph is kept (it is needed at once)."""
    modules = list(functions.children()) if hasattr(functions, "children") else \
        list(functions)
    if not 1 <= segments <= max(len(modules), 1):
        raise ValueError(f"checkpoint_sequential: segments must be in [1, {len(modules)}], "
                         f"got {segments}")
    size = -(-len(modules) // segments)
    chunks = [modules[i:i + size] for i in range(0, len(modules), size)]

    def run(chunk):
        def forward(x):
            for m in chunk:
                x = m(x)
            return x
        return forward

    for chunk in chunks[:-1]:
        input = checkpoint(run(chunk), input, preserve_rng_state=preserve_rng_state)
    return run(chunks[-1])(input)
