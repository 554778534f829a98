"""Reverse-mode automatic differentiation: the graph engine, grad mode, ``grad`` and the
functional helpers (``vjp``, ``jvp``, ``hvp``, ``jacobian``, ``hessian``)."""
from __future__ import annotations

from .anomaly_mode import (
    detect_anomaly,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_detect_anomaly,
)
from .function import Function, backward_into, run_backward
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)


def _as_tuple(x):
    if x is None:
        return None
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, materialize_grads=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated).

    Parameters
    ----------
    outputs : Tensor or sequence of Tensors
    inputs : Tensor or sequence of Tensors (leaves or intermediate results)
    grad_outputs : the cotangents (Tensors shaped like ``outputs``); may be omitted for
        one-element outputs.
    retain_graph : keep the graph for another backward (default: ``create_graph``).
    create_graph : record the backward pass, so the result can be differentiated again.
    allow_unused : return ``None`` for an input the outputs do not depend on, instead of
        raising (default: ``materialize_grads``).
    materialize_grads : return zeros instead of ``None`` for such an input.

    Returns
    -------
    tuple of Tensors, one per input.
    """
    from ..tensor import _default_grad_output

    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    grad_outputs = _as_tuple(grad_outputs) or (None,) * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not hasattr(t, "requires_grad"):
            raise TypeError(f"grad: inputs must be Tensors, but input {i} is "
                            f"{type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError("grad: one of the inputs does not require grad")
    for y in outputs:
        if not y.requires_grad:
            raise RuntimeError(
                "grad: an output does not require grad (no graph connects it to the inputs)"
            )
    gys = [_default_grad_output(y, g, "grad()") for y, g in zip(outputs, grad_outputs)]
    if retain_graph is None:
        retain_graph = create_graph
    results = run_backward(outputs, gys, retain_graph, create_graph, inputs=inputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    if materialize_grads and not allow_unused:
        raise ValueError("grad: materialize_grads=True needs allow_unused=True (or None)")
    if materialize_grads:  # zeros, not x·0: an inf or nan in x must not show through
        from ..creation import zeros_like

        results = [zeros_like(x) if r is None else r for r, x in zip(results, inputs)]
    if not allow_unused:
        for i, r in enumerate(results):
            if r is None:
                raise RuntimeError(
                    f"grad: input {i} was not used in computing the outputs; "
                    "pass allow_unused=True to get None for it"
                )
    return tuple(results)




def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             inputs=None):
    """Accumulate the gradients of several outputs into the leaves' ``.grad`` in one
    backward pass (``torch.autograd.backward``): Σ_k ∂tensors[k]/∂leaf · grad_tensors[k].
    ``grad_tensors`` may be omitted for one-element outputs; ``inputs`` as in
    ``Tensor.backward``."""
    from ..tensor import Tensor, _default_grad_output

    tensors = (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = (grad_tensors,) * len(tensors) if grad_tensors is None \
            else (grad_tensors,)
    grad_tensors = tuple(grad_tensors)
    if len(grad_tensors) != len(tensors):
        raise ValueError(f"backward: {len(grad_tensors)} gradients for {len(tensors)} "
                         "tensors")
    for t in tensors:
        if not t.requires_grad:
            raise RuntimeError("backward: a tensor does not require grad and has no graph")
    if retain_graph is None:
        retain_graph = create_graph
    gys = [_default_grad_output(t, g, "backward()") for t, g in zip(tensors, grad_tensors)]
    backward_into(list(tensors), gys, retain_graph, create_graph, inputs)


def _gradcheck(*args, **kwargs):
    from ..gradcheck import gradcheck as check

    return check(*args, **kwargs)


def _gradgradcheck(*args, **kwargs):
    from ..gradcheck import gradgradcheck as check

    return check(*args, **kwargs)


gradcheck, gradgradcheck = _gradcheck, _gradgradcheck  # torch.autograd's paths
gradcheck.__name__, gradgradcheck.__name__ = "gradcheck", "gradgradcheck"


def Variable(data, requires_grad=False):  # noqa: N802  (PyTorch's deprecated name)
    """PyTorch's deprecated ``Variable(tensor)``: the tensor itself (with
    ``requires_grad`` set when asked)."""
    return data.requires_grad_(True) if requires_grad else data


from . import forward_ad, functional, profiler  # noqa: E402

__all__ = ["Function", "grad", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "inference_mode", "is_inference_mode_enabled",
           "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled", "forward_ad", "functional", "profiler",
           "run_backward", "backward", "gradcheck", "gradgradcheck", "Variable"]
