"""Higher-level derivatives built on :func:`minigrad.autograd.grad`, with PyTorch's
return conventions.

- ``vjp(f, inputs, v)`` → (f(inputs), vᵀJ)
- ``jvp(f, inputs, v)`` → (f(inputs), J v) by the double-vjp trick
- ``hvp(f, inputs, v)`` → (f(inputs), H v) for scalar f — one extra backward, no Hessian;
  ``vhp`` → (f(inputs), vᵀH), the same numbers
- ``jacobian(f, inputs)``, ``hessian(f, inputs)`` built row by row
"""
from __future__ import annotations

from ..tensor import Tensor
from .grad_mode import enable_grad


def _prepare(inputs):
    single = isinstance(inputs, Tensor)
    xs = (inputs,) if single else tuple(inputs)
    xs = tuple(x.detach().requires_grad_(True) for x in xs)
    return single, xs


def _check_tangents(op, xs, vs):
    """One vector per input, of that input's shape (what ∂f/∂x·v needs)."""
    if len(vs) != len(xs):
        raise ValueError(f"{op}: {len(vs)} vectors v for {len(xs)} inputs")
    for i, (x, v) in enumerate(zip(xs, vs)):
        shape = tuple(getattr(v, "shape", ()))
        if shape != x.shape:
            raise ValueError(f"{op}: v must have the shape of input {i}, {x.shape}, got "
                             f"{shape}")


def _grads(outputs, xs, grad_outputs, create_graph):
    from . import grad

    gs = grad(outputs, xs, grad_outputs, create_graph=create_graph, retain_graph=True,
              allow_unused=True)
    return tuple(g if g is not None else x.detach() * 0 for g, x in zip(gs, xs))


def _unpack(single, seq):
    return seq[0] if single else tuple(seq)


def vjp(func, inputs, v=None, create_graph=False):
    """(f(inputs), vᵀ·∂f/∂inputs)."""
    single, xs = _prepare(inputs)
    with enable_grad():
        y = func(*xs)
        g = _grads(y, xs, v, create_graph)
    return (y if create_graph else y.detach()), _unpack(single, g)


def jvp(func, inputs, v, create_graph=False):
    """(f(inputs), ∂f/∂inputs·v), by differentiating u ↦ uᵀJ with respect to u."""
    from ..creation import zeros_like

    single, xs = _prepare(inputs)
    vs = (v,) if single else tuple(v)
    _check_tangents("jvp", xs, vs)
    with enable_grad():
        y = func(*xs)
        u = zeros_like(y, requires_grad=True)
        g = _grads(y, xs, u, create_graph=True)
        from . import grad

        (jv,) = grad(g, (u,), vs, create_graph=create_graph, retain_graph=True)
    return (y if create_graph else y.detach()), (jv if create_graph else jv.detach())


def hvp(func, inputs, v, create_graph=False):
    """(f(inputs), H·v) for a scalar function f: one gradient with ``create_graph`` and
    one more backward of gᵀv — no Hessian is formed."""
    from . import grad

    single, xs = _prepare(inputs)
    vs = (v,) if single else tuple(v)
    with enable_grad():
        y = func(*xs)
        if y.data.size != 1:
            raise ValueError(f"hvp: f must return a single number, got shape {y.shape}")
        g = _grads(y, xs, None, create_graph=True)
        hv = grad(g, xs, vs, create_graph=create_graph, retain_graph=True, allow_unused=True)
    hv = tuple(h if h is not None else x.detach() * 0 for h, x in zip(hv, xs))
    if not create_graph:
        hv = tuple(h.detach() for h in hv)
    return (y if create_graph else y.detach()), _unpack(single, hv)


def vhp(func, inputs, v, create_graph=False):
    """(f(inputs), vᵀ·H) for a scalar function f, which is H·v: the Hessian of a twice
    continuously differentiable f is symmetric. The same double backward as :func:`hvp`
    (PyTorch names both)."""
    return hvp(func, inputs, v, create_graph)


def jacobian(func, inputs, create_graph=False):
    """∂f/∂x with shape f.shape + x.shape. Several inputs give a tuple over inputs;
    several outputs (f returns a tuple) a tuple over outputs, of such tuples when there
    are several inputs too (PyTorch's nesting). An output that does not depend on an
    input (even a constant) gives zeros."""
    single, xs = _prepare(inputs)
    with enable_grad():
        ys = func(*xs)
    if isinstance(ys, Tensor):
        return _unpack(single, _jacobian_rows(ys, xs, create_graph))
    if not isinstance(ys, (tuple, list)) or not all(isinstance(y, Tensor) for y in ys):
        raise TypeError(f"jacobian: func must return a Tensor or a tuple of Tensors, got "
                        f"{type(ys).__name__}")
    return tuple(_unpack(single, _jacobian_rows(y, xs, create_graph)) for y in ys)


def _jacobian_rows(y, xs, create_graph):
    """(∂y/∂x for x in xs), one backward per element of y."""
    from ..creation import zeros, zeros_like
    from ..ops.shape import stack

    if not y.requires_grad:  # no graph reaches the inputs: the Jacobian is zero
        return tuple(zeros(y.shape + x.shape, dtype=x.dtype, device=x.device) for x in xs)
    rows = [[] for _ in xs]
    for i in range(y.data.size):
        e = zeros_like(y)
        e.data.reshape(-1)[i] = 1
        g = _grads(y, xs, e, create_graph)
        for r, gi in zip(rows, g):
            r.append(gi if create_graph else gi.detach())
    return tuple(
        stack(r, 0).reshape(y.shape + x.shape) if r else zeros(y.shape + x.shape,
                                                                  dtype=x.dtype,
                                                                  device=x.device)
        for r, x in zip(rows, xs)
    )


def hessian(func, inputs, create_graph=False):
    """∂²f/∂x² for scalar f, with shape x.shape + x.shape (single input), or the nested
    tuple of blocks ∂²f/∂xᵢ∂xⱼ (several inputs)."""
    single, xs = _prepare(inputs)

    def gradient(*args):
        from . import grad

        y = func(*args)
        if y.data.size != 1:
            raise ValueError(f"hessian: f must return a single number, got shape {y.shape}")
        gs = grad(y, args, create_graph=True, allow_unused=True)
        return gs[0] if single else gs

    if single:
        return jacobian(gradient, xs[0], create_graph)
    blocks = []
    for i in range(len(xs)):
        def gi(*args, i=i):
            return gradient(*args)[i]
        blocks.append(jacobian(gi, xs, create_graph))
    return tuple(blocks)
