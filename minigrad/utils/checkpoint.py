"""Activation checkpointing (PyTorch's ``torch.utils.checkpoint``): trade compute for
memory by not keeping a segment's intermediate results for the backward pass.

``checkpoint(fn, *args)`` runs ``fn`` without recording a graph, so only its inputs and
outputs stay in memory. When the backward reaches it, ``fn`` runs again on the saved
inputs, this time recording, and the backward goes through that fresh graph: the
gradients (of the inputs and of every parameter ``fn`` uses) are the same as without
checkpointing, for one more forward of the segment. The random generators are put back
to where they were before the first run (``preserve_rng_state``), so dropout draws the
same masks both times. ``checkpoint_sequential`` checkpoints a ``Sequential`` in segments.

Two variants, as in PyTorch (``use_reentrant``):

- reentrant (``use_reentrant=True``, and the default, as PyTorch's): ``fn`` runs without a
  graph and the backward of the recomputed graph runs inside the outer one, accumulating
  the parameters' ``.grad`` itself. It supports ``Tensor.backward`` only, not
  ``autograd.grad`` nor ``create_graph`` (which raise).
- non-reentrant (``use_reentrant=False``, PyTorch's recommendation): the segment is one
  node of the graph whose inputs are its tensor arguments *and* the leaves ``fn`` uses
  (its parameters, found by recording the first run and dropping that graph at once), so
  it answers ``autograd.grad`` and ``backward(inputs=...)``, is differentiable again
  (``create_graph=True``: Hessian-vector products, ``gradgradcheck``), and takes keyword
  arguments for ``fn``. Its backward recomputes the segment on its arguments (each seen
  through an alias node at which that backward stops) and returns the gradients of the
  arguments and leaves to the outer backward. (PyTorch does not record the first run; it
  recomputes through saved-tensor hooks, which minigrad's nodes do not have. Here the
  segment's intermediate results live until the segment ends, not longer.)
"""
from __future__ import annotations

import contextlib

from .. import random as _random
from ..autograd.function import Function, in_capturing_backward, run_backward, tick_clock
from ..autograd.grad_mode import enable_grad, is_grad_enabled
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
            raise RuntimeError("checkpoint: the reentrant checkpoint works with .backward() "
                               "only, not with autograd.grad (as PyTorch's); pass "
                               "use_reentrant=False")
        args = list(ctx.args)
        detached = []
        for i, t in zip(ctx.tensor_slots, ctx.saved_tensors):
            d = t.detach()
            d.requires_grad = t.requires_grad
            args[i] = d
            detached.append(d)
        with _replaying(ctx.rng_state):
            outputs = _as_tuple(ctx.run_function(*args))
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


class _Alias(Function):
    """y = x (a view of the same values) as a node of its own: where a checkpointed
    segment's recomputed graph meets the graph outside it. The segment's backward stops
    here; with ``create_graph`` the gradients it returns stay connected through it to x."""
    reads_inputs = False  # its backward needs no input's values

    def forward(self, xp, x):
        return x.view()

    def backward(self, gy):
        return gy


@contextlib.contextmanager
def _replaying(rng_state):
    """Grad mode on and the generators at ``rng_state`` (unless None) for a segment's
    second run, so that dropout draws the first run's masks; the generators are put back
    where they were after it."""
    now = _random.get_rng_state() if rng_state is not None else None
    try:
        if rng_state is not None:
            _random.set_rng_state(rng_state)
        with enable_grad():
            yield
    finally:
        if now is not None:
            _random.set_rng_state(now)


def _aliased(args, slots):
    """``args`` (a new list) with each tensor at ``slots`` that requires grad replaced by
    an :class:`_Alias` of it, and {slot: alias}."""
    args, aliases = list(args), {}
    for i in slots:
        if args[i].requires_grad:
            args[i] = aliases[i] = _Alias()(args[i])
    return args, aliases


def _outside_tensors(outputs, boundary, start):
    """The tensors from outside the segment that its graph behind ``outputs`` uses and
    that require grad: the leaves (its parameters) and the results of earlier ops that
    ``fn`` reads from its closure. The segment's own Functions were recorded at ``start``
    or later; the walk does not go past them, nor past those in ``boundary`` (iterative:
    deep graphs must not overflow the Python stack)."""
    found, seen = {}, set()
    stack = [o.creator for o in outputs if isinstance(o, Tensor) and o.creator is not None]
    while stack:
        f = stack.pop()
        if f in seen or f in boundary:
            continue
        seen.add(f)
        for x in f.inputs:
            c = x.creator
            if c is not None and (c in boundary or c._recorded_at >= start):
                stack.append(c)
            elif x.requires_grad:
                found.setdefault(id(x), x)
    return list(found.values())


class _NonReentrantCheckpoint(Function):
    """The segment as one node: inputs its tensor arguments then the leaves it uses."""

    @staticmethod
    def forward(ctx, run_function, kwargs, rng_state, args, slots, computed, *tensors):
        """``computed``: (the first run's outputs, detached,) — returned as they are."""
        ctx.run_function, ctx.kwargs, ctx.rng_state = run_function, kwargs, rng_state
        ctx.args, ctx.tensor_slots = args, slots  # args: the non-tensor ones, None else
        ctx.save_for_backward(*tensors)
        return computed[0]

    @staticmethod
    def backward(ctx, *grad_outputs):
        create_graph = is_grad_enabled()  # the outer backward records (create_graph=True)
        saved, n = ctx.saved_tensors, len(ctx.tensor_slots)
        args, leaves = list(ctx.args), saved[n:]
        for i, t in zip(ctx.tensor_slots, saved[:n]):
            args[i] = t
        with _replaying(ctx.rng_state):
            args, aliases = _aliased(args, ctx.tensor_slots)
            outputs = _as_tuple(ctx.run_function(*args, **ctx.kwargs))
        pairs = [(o, g) for o, g in zip(outputs, grad_outputs)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        targets = list(aliases.values()) + list(leaves)
        grads = [None] * len(targets)
        if pairs and targets:  # (the outside tensors' own graphs are the outer sweep's)
            stop = {t.creator for t in targets if t.creator is not None}
            grads = run_backward([o for o, _ in pairs], [g for _, g in pairs],
                                 retain_graph=create_graph, create_graph=create_graph,
                                 inputs=targets, stop_at=stop)
        by_slot = dict(zip(aliases, grads))
        full = [by_slot.get(i) for i in ctx.tensor_slots] + grads[len(aliases):]
        return (None,) * 6 + tuple(full)


def _non_reentrant(function, args, kwargs, preserve_rng_state):
    """``checkpoint(..., use_reentrant=False)``: see the module docstring."""
    if not is_grad_enabled():
        return function(*args, **kwargs)
    rng_state = _random.get_rng_state() if preserve_rng_state else None
    slots = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    tensors = [args[i] for i in slots]
    start = tick_clock()
    with enable_grad():  # recorded once, to find what the segment uses from outside
        call, aliases = _aliased(args, slots)
        recorded = function(*call, **kwargs)
    leaves = _outside_tensors(_as_tuple(recorded), {a.creator for a in aliases.values()},
                              start)
    if not aliases and not leaves:
        return recorded  # nothing behind it needs a gradient: no node
    outputs = tuple(o.detach() if isinstance(o, Tensor) else o for o in _as_tuple(recorded))
    computed = (outputs if isinstance(recorded, tuple) else outputs[0],)
    del recorded, aliases, call  # the first run's graph goes here
    others = [None if isinstance(a, Tensor) else a for a in args]
    return _NonReentrantCheckpoint.apply(function, kwargs, rng_state, others, slots,
                                         computed, *tensors, *leaves)


def checkpoint(function, *args, use_reentrant=None, preserve_rng_state=True, **kwargs):
    """``function(*args, **kwargs)`` whose intermediate results are recomputed in the
    backward instead of being kept (see the module docstring). ``use_reentrant``: None or
    True for the reentrant variant (``.backward()`` only; PyTorch's default), False for the
    non-reentrant one (``autograd.grad``, ``create_graph``, keyword arguments).

    >>> import minigrad as mg
    >>> layer = mg.nn.Linear(4, 4)
    >>> x = mg.randn(2, 4, requires_grad=True)
    >>> checkpoint(lambda t: layer(t).tanh(), x).sum().backward()
    >>> x.grad.shape, layer.weight.grad.shape
    ((2, 4), (4, 4))
    >>> y = checkpoint(lambda t: layer(t).tanh(), x, use_reentrant=False)
    >>> [g.shape for g in mg.autograd.grad(y.sum(), [x, layer.weight])]
    [(2, 4), (4, 4)]
    """
    if use_reentrant is not None and not isinstance(use_reentrant, bool):
        raise TypeError(f"checkpoint: use_reentrant must be True, False or None, got "
                        f"{use_reentrant!r}")
    if use_reentrant is False:
        return _non_reentrant(function, args, kwargs, preserve_rng_state)
    if kwargs:
        raise TypeError(f"checkpoint: unexpected keyword arguments {sorted(kwargs)} (the "
                        "reentrant checkpoint passes positional arguments only, as "
                        "PyTorch's; use_reentrant=False takes keyword ones)")
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
        input = checkpoint(run(chunk), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve_rng_state)
    return run(chunks[-1])(input)
