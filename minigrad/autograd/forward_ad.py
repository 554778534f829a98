r"""Forward-mode automatic differentiation (PyTorch's ``torch.autograd.forward_ad``):
a tensor carries a tangent t next to its value x, and every op computes, with its
output y = f(x), the output's tangent J·t (the directional derivative), in the same
pass. One forward pass gives J·t for one direction; reverse mode gives vᵀ·J.

    with fwAD.dual_level():
        x = fwAD.make_dual(primal, tangent)
        y = f(x)
        value, jvp = fwAD.unpack_dual(y)

How the tangent of one op is computed here. An op's backward is its vector–Jacobian
product u ↦ Jᵀu, written in Tensor ops and linear in u. So

    J·t = ∇_u ⟨Jᵀu, t⟩        (the gradient, with respect to u, of a linear function of u,
                               the same at every u: u = 1 here)

one backward of the op recorded on a placeholder u, then one reverse pass through that
record: the "double-vjp" rule, applied op by op, so every op minigrad has supports
forward mode, exactly, without a separate JVP formula for each. It costs about two
backward passes of the op; forward mode here is for studying derivatives, not for speed.
Tangents are carried only inside ``dual_level()`` and do not pass through ops recorded
outside it.
"""
from __future__ import annotations

from collections import namedtuple

from ..dtypes import is_floating

__all__ = ["dual_level", "make_dual", "unpack_dual", "enter_dual_level",
           "exit_dual_level", "UnpackedDualTensor"]

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])

_level = [0]        # the current level; 0 when forward mode is off
_next_level = [1]   # tangents of a closed level are never read again


def enter_dual_level():
    """Start forward mode (only one level at a time, as PyTorch); returns its number."""
    if _level[0]:
        raise RuntimeError("forward_ad: nested dual levels are not supported")
    _level[0] = _next_level[0]
    _next_level[0] += 1
    return _level[0]


def exit_dual_level(*, level=None):
    if level is not None and level != _level[0]:
        raise RuntimeError(f"forward_ad: level {level} is not the current one")
    _level[0] = 0


class dual_level:
    """Context manager of one forward-mode level: tangents made inside are forgotten at
    its end."""

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, *exc):
        exit_dual_level()
        return False


def make_dual(tensor, tangent, *, level=None):
    """A tensor with ``tensor``'s value (shared) and ``tangent`` as its tangent."""
    from ..tensor import Tensor, _make_tensor

    if not _level[0]:
        raise RuntimeError("forward_ad.make_dual: call it inside forward_ad.dual_level()")
    if not isinstance(tangent, Tensor):
        raise TypeError(f"make_dual: the tangent must be a Tensor, got "
                        f"{type(tangent).__name__}")
    if tangent.shape != tensor.shape:
        raise ValueError(f"make_dual: the tangent's shape {tangent.shape} differs from the "
                         f"primal's {tensor.shape}")
    if not tensor.is_floating_point():
        raise TypeError(f"make_dual: the primal must be floating point, got {tensor.dtype}")
    if tangent.device != tensor.device:
        raise RuntimeError(f"make_dual: the tangent is on {tangent.device}, the primal on "
                           f"{tensor.device}")
    out = tensor.view_as(tensor) if tensor.requires_grad else _make_tensor(
        tensor.data, None, False)
    out._dual = (_level[0], tangent.detach().to(dtype=tensor.dtype))
    return out


def tangent_of(t):
    """The tangent of ``t`` at the current level, or None."""
    dual = getattr(t, "_dual", None)
    if dual is None or dual[0] != _level[0] or not _level[0]:
        return None
    return dual[1]


def unpack_dual(tensor, *, level=None):
    """(primal, tangent) of ``tensor``; the tangent is None when it has none."""
    return UnpackedDualTensor(tensor, tangent_of(tensor))


def propagate(fn, inputs, out):
    """Give ``out`` (the output of Function ``fn`` on ``inputs``) its tangent, when some
    input has one: J·t = ∇_u ⟨fn.backward(u), t⟩ (see the module docstring)."""
    from ..tensor import _make_tensor
    from . import grad as _grad
    from .function import call_backward
    from .grad_mode import enable_grad

    if getattr(fn, "forward_ad_from_forward", False):
        return  # a custom Function's node: its forward's ops gave the tangent already
    tangents = [tangent_of(x) for x in inputs]
    if all(t is None for t in tangents) or not is_floating(out.data.dtype):  # (bfloat16 too)
        return
    level = _level[0]
    _level[0] = 0  # the rule's own ops carry no tangents
    saved = fn.inputs, fn.needs_input_grad, fn._output_array
    # the rule's graph stays local: the op sees its inputs cut from any graph of theirs
    fn.inputs = tuple(_make_tensor(x.data, None, False) for x in inputs)
    fn.needs_input_grad = tuple(t is not None for t in tangents)
    if fn.save_output:
        fn._output_array = out.data
    try:
        with enable_grad():
            # any u will do (the VJP is linear in u); ones, not zeros, keeps backwards
            # written in log space (logcumsumexp's) away from log 0
            u = _make_tensor(out.xp.ones(out.shape, out.dtype), None, False)
            u.requires_grad = True
            vjps = call_backward(fn, u)
            vjps = vjps if isinstance(vjps, tuple) else (vjps,)
            total = None
            for x, t, g in zip(fn.inputs, tangents, vjps):
                if t is None or g is None:
                    continue
                if g.shape != x.shape:
                    g = g.sum_to(x.shape)
                term = (g * t.to(dtype=g.dtype)).sum()
                total = term if total is None else total + term
            if total is None or not total.requires_grad:
                tangent = out.detach() * 0
            else:
                (tangent,) = _grad(total, [u], allow_unused=True, retain_graph=True)
                tangent = out.detach() * 0 if tangent is None else tangent.detach()
    finally:
        fn.inputs, fn.needs_input_grad, fn._output_array = saved
        _level[0] = level
    out._dual = (level, tangent)
