"""PyTorch-style custom autograd Functions: a subclass of ``mg.autograd.Function`` with
static ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)``, called through
``apply``, as in ``torch.autograd.Function``::

    class Exp(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, gy):
            (y,) = ctx.saved_tensors
            return gy * y

    y = Exp.apply(x)          # mg.gradcheck(Exp.apply, [x]) checks the backward

``forward`` runs with grad mode off; its outputs join the graph through one node whose
backward calls yours. Write ``backward`` in Tensor ops and it is differentiable again
(``create_graph=True`` records it, as in PyTorch), unless decorated with
:func:`once_differentiable`. ``backward`` returns one gradient (or None) per argument of
``forward``. The forward may also be written without ``ctx`` and a separate
``setup_context(ctx, inputs, output)`` (PyTorch 2's style).

The ctx: ``save_for_backward(*tensors)`` / ``saved_tensors``, ``needs_input_grad``,
``mark_non_differentiable(*outputs)``, ``set_materialize_grads(flag)``, and any
attribute you set on it.

In forward mode (``minigrad.autograd.forward_ad``) the tangents are those of the ops the
forward runs (PyTorch instead asks for a ``jvp`` staticmethod).

Several outputs are joined into one vector inside the graph (the engine's nodes have one
output each), so the backward receives zeros for an output the loss does not use, with
or without ``set_materialize_grads`` (PyTorch passes None when it is False).
"""
from __future__ import annotations

import functools
import weakref

import numpy as np

from ..ops.shape import unflatten_pieces
from .function import _FREED, Function
from .grad_mode import is_grad_enabled, no_grad

__all__ = ["FunctionCtx", "once_differentiable", "apply"]


class FunctionCtx:
    """What ``forward`` leaves for ``backward`` (PyTorch's ``ctx``)."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self._saved = ()
        self._freed = False
        self._non_differentiable = set()
        self.materialize_grads = True
        self._output_slots = {}  # index in _saved → which output (its piece in the node)
        self._node = None        # weakref to the graph node, once there is one

    def save_for_backward(self, *tensors):
        from ..tensor import Tensor

        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save Tensors (or None), got "
                                f"{type(t).__name__}; keep other values as attributes of "
                                "ctx")
        self._saved = tensors

    @property
    def saved_tensors(self):
        """The saved tensors; a saved output of ``forward`` comes back wired to the node,
        so a backward written in Tensor ops differentiates through it again."""
        if self._freed:
            raise RuntimeError(_FREED)
        if not self._output_slots:
            return self._saved
        node = self._node()
        saved = list(self._saved)
        for k, place in self._output_slots.items():
            saved[k] = node.output_piece(place)
        return tuple(saved)

    def mark_non_differentiable(self, *outputs):
        self._non_differentiable.update(id(t) for t in outputs)

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors):
        raise NotImplementedError("mark_dirty: in-place custom Functions are not supported "
                                  "(minigrad records no in-place op); return a new tensor")


def once_differentiable(backward):
    """Decorate a ``backward`` that is not itself differentiable: it runs with grad mode
    off, so ``create_graph=True`` through it records nothing further."""
    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with no_grad():
            return backward(ctx, *grads)
    return wrapper


class _Node(Function):
    """The graph node of one ``apply``: its output is the custom forward's output (or all
    of its differentiable outputs joined into one vector), its backward the user's."""

    forward_ad_from_forward = True  # tangents come from the forward's own ops

    def __init__(self, cls, ctx, array, shapes, tensor_slots, n_args, others=None):
        self.cls, self.ctx, self.array = cls, ctx, array
        self.shapes, self.tensor_slots, self.n_args = shapes, tensor_slots, n_args
        # every output in order: an int (its place among the joined ones) or the zero
        # gradient array of a non-differentiable output (None for a non-tensor output)
        self.others = others

    @property
    def name(self):
        return self.cls.__name__

    def forward(self, xp, *arrays):
        self._output_array = self.array  # what saved_output rebuilds
        return self.array

    def output_piece(self, place):
        """Output ``place`` (None: the only one; else its index among the joined ones),
        as a Tensor wired to this node."""
        y = self.saved_output
        return y if place is None else unflatten_pieces(y, self.shapes)[place]

    def backward(self, gy):
        if self.shapes is None:
            grads = (gy,)
        else:
            joined = unflatten_pieces(gy, self.shapes)
            grads = [joined[o] if isinstance(o, int) else
                     (None if o is None else _make_constant(o)) for o in self.others]
        out = self.cls.backward(self.ctx, *grads)
        out = out if isinstance(out, tuple) else (out,)
        if len(out) != self.n_args:
            raise RuntimeError(f"{self.name}.backward returned {len(out)} gradients, but "
                               f"forward takes {self.n_args} arguments (return None for "
                               "the ones without a gradient)")
        result = []
        for i, x in zip(self.tensor_slots, self.inputs):
            g = out[i]
            if g is not None and g.shape != x.shape:
                try:  # a gradient x's shape expands to is summed back (as PyTorch)
                    ok = tuple(np.broadcast_shapes(g.shape, x.shape)) == tuple(g.shape)
                except ValueError:
                    ok = False
                if not ok:
                    raise RuntimeError(
                        f"{self.name}.backward returned an invalid gradient at index "
                        f"{i}: got shape {g.shape} but expected shape compatible with "
                        f"{x.shape}")
            result.append(g)
        return tuple(result)

    def release(self):
        super().release()
        self.ctx._freed = True
        self.ctx._saved = ()
        self.array = None


def _carry_tangents(out, inner):
    """Forward mode through a custom Function: the tangents its forward computed (its ops
    propagate them) carried over to the graph node's output (all of them joined when
    there are several), rather than a rule derived from the user's backward."""
    from .forward_ad import _level, tangent_of

    if not _level[0]:
        return
    tangents = [tangent_of(o) for o in inner]
    if all(t is None for t in tangents):
        return
    parts = [(t if t is not None else o.detach() * 0).reshape(-1)
             for t, o in zip(tangents, inner)]
    from ..ops.shape import cat

    joined = parts[0] if len(parts) == 1 else cat(parts, 0)
    out._dual = (_level[0], joined.reshape(out.shape))


def _make_constant(array):
    from ..tensor import Tensor

    return Tensor(array)


def _link_saved_outputs(ctx, node, places):
    """Mark which saved tensors are outputs (``places``: id → piece in the node)."""
    ctx._node = weakref.ref(node)
    ctx._output_slots = {k: places[id(t)] for k, t in enumerate(ctx._saved)
                         if t is not None and id(t) in places}


def apply(cls, *args, **kwargs):
    """Run the custom Function ``cls`` on ``args`` (what ``cls.apply`` does)."""
    from ..tensor import Tensor

    if kwargs:
        raise TypeError(f"{cls.__name__}.apply takes positional arguments only (as "
                        "PyTorch's)")
    tensor_slots = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
    ctx = FunctionCtx(needs)
    setup = getattr(cls, "setup_context", None)
    own_setup = setup is not None and getattr(setup, "__func__", setup) is not \
        getattr(Function.setup_context, "__func__", Function.setup_context)
    with no_grad():
        if own_setup:
            output = cls.forward(*args)
            cls.setup_context(ctx, args, output)
        else:
            output = cls.forward(ctx, *args)
    record = is_grad_enabled() and any(needs)
    single = isinstance(output, Tensor)
    outputs = (output,) if single else tuple(output)
    if not record:
        return output
    diff = [j for j, o in enumerate(outputs)
            if isinstance(o, Tensor) and o.dtype.kind == "f"
            and id(o) not in ctx._non_differentiable]
    if not diff:
        return output
    inputs = [args[i] for i in tensor_slots]
    if single:
        node = _Node(cls, ctx, output.data, None, tensor_slots, len(args))
        _link_saved_outputs(ctx, node, {id(output): None})
        out = node(*inputs)
        _carry_tangents(out, [output])
        return out
    xp = outputs[diff[0]].xp
    dtypes = {outputs[j].dtype for j in diff}
    if len(dtypes) > 1:
        raise TypeError(f"{cls.__name__}: differentiable outputs of different dtypes "
                        f"({', '.join(sorted(map(str, dtypes)))}) are not supported")
    flat = xp.concatenate([outputs[j].data.reshape(-1) for j in diff])
    shapes = [outputs[j].shape for j in diff]
    others = []
    for j, o in enumerate(outputs):
        if j in diff:
            others.append(diff.index(j))
        else:  # a non-differentiable output's gradient: zeros (PyTorch's), or None
            others.append(o.xp.zeros(o.shape, o.dtype) if isinstance(o, Tensor) else None)
    node = _Node(cls, ctx, flat, shapes, tensor_slots, len(args), others)
    _link_saved_outputs(ctx, node, {id(outputs[j]): k for k, j in enumerate(diff)})
    joined = node(*inputs)
    _carry_tangents(joined, [outputs[j] for j in diff])
    result = list(outputs)
    for j, piece in zip(diff, unflatten_pieces(joined, shapes)):
        result[j] = piece
    return type(output)(result) if isinstance(output, tuple) else result
