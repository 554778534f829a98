r"""Function transforms with ``torch.func``'s names: turn a function of tensors into the
function computing its gradient, Jacobian, Hessian, vector-Jacobian or Jacobian-vector
product, or its batched version; and call a module with other parameters.

====================================  ==================================================
``grad(f, argnums=0)``                x ↦ ∇f(x) for scalar f (``has_aux``: f returns
                                      (value, aux) and the transform (∇f, aux))
``grad_and_value(f)``                 x ↦ (∇f(x), f(x))
``vjp(f, *primals)``                  (f(x), v ↦ vᵀJ)
``jvp(f, primals, tangents)``         (f(x), J t), by the double-vjp trick
``jacrev(f)``, ``jacfwd(f)``          x ↦ J(x), shape output.shape + input.shape
``hessian(f)``                        x ↦ H(x) = jacfwd(jacrev(f))
``vmap(f, in_dims=0, out_dims=0)``    f applied to every slice of a batch, stacked
``functional_call(module, params,    module(*args) with ``params`` (a dict of tensors by
args)``                               dotted name) in place of its own
====================================  ==================================================

They compose: ``grad(grad(f))`` is the second derivative, ``vmap(grad(f))`` per-sample
gradients, ``grad(lambda p: loss(functional_call(model, p, x)))`` the gradient with respect
to a dict of parameters (the MAML inner step).

Notes
-----
* Everything is reverse-mode autograd underneath: ``jvp`` and ``jacfwd`` use the
  double-vjp trick (two backward passes), not forward-mode AD, and give the same numbers.
* ``vmap`` is a loop over the mapped dim (the function runs once per slice): PyTorch
  vectorizes; the results are the same, the speed is not.
* A transform sees whether its inputs are already part of an outer transform's graph
  and then builds its own result differentiably (``create_graph``), which is what makes
  the compositions work.
"""
from __future__ import annotations

import numbers
from contextlib import contextmanager

from .autograd import grad as _autograd_grad
from .autograd.grad_mode import enable_grad, is_grad_enabled
from .ops.shape import stack
from .tensor import Tensor

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap",
           "functional_call", "linearize", "stack_module_state", "functionalize"]


# --------------------------------------------------------------------------- helpers

def _argnums(argnums, nargs, name):
    nums = (argnums,) if isinstance(argnums, numbers.Integral) else tuple(argnums)
    if not nums:
        raise ValueError(f"{name}: argnums must name at least one argument")
    for i in nums:
        if not -nargs <= i < nargs:
            raise ValueError(f"{name}: argnums {i} is out of range for {nargs} arguments")
    return tuple(i % nargs for i in nums)


def _leaves(tree):
    """The tensors of a tensor, a tuple/list or a dict of them (in order)."""
    if isinstance(tree, Tensor):
        return [tree]
    if isinstance(tree, dict):
        return [t for v in tree.values() for t in _leaves(v)]
    if isinstance(tree, (tuple, list)):
        return [t for v in tree for t in _leaves(v)]
    raise TypeError(f"expected tensors (or tuples, lists, dicts of them), got "
                    f"{type(tree).__name__}")


def _rebuild(tree, leaves):
    """``tree`` with its tensors replaced, in order, by ``leaves`` (an iterator)."""
    if isinstance(tree, Tensor):
        return next(leaves)
    if isinstance(tree, dict):
        return {k: _rebuild(v, leaves) for k, v in tree.items()}
    return type(tree)(_rebuild(v, leaves) for v in tree)


def _nested(tensors):
    """Whether these inputs belong to an outer transform's graph (then the result must be
    differentiable again)."""
    return is_grad_enabled() and any(t.requires_grad for t in tensors)


def _watch(tree, nested):
    """The inputs to differentiate with respect to: the same tensors inside an outer
    transform, fresh leaves (detached copies that require grad) otherwise."""
    leaves = _leaves(tree)
    fresh = leaves if nested else [t.detach().requires_grad_(True) for t in leaves]
    return _rebuild(tree, iter(fresh)), fresh


def _scalar(value, name):
    if not isinstance(value, Tensor) or value.numel() != 1:
        raise RuntimeError(f"{name}: the function must return a one-element tensor, got "
                           f"{getattr(value, 'shape', type(value).__name__)}")
    return value


def _gradients(output, inputs, cotangent, create_graph):
    grads = _autograd_grad(output, inputs, cotangent, retain_graph=True,
                           create_graph=create_graph, allow_unused=True)
    return [g if g is not None else x.detach() * 0 for g, x in zip(grads, inputs)]


# --------------------------------------------------------------------------- grad

def grad_and_value(func, argnums=0, has_aux=False):
    """The function returning (gradient, value) of scalar ``func`` with respect to the
    arguments ``argnums`` (an int, or a tuple: then a tuple of gradients); an argument may
    be a tensor or a tuple/list/dict of tensors, and its gradient has the same structure.

    >>> import minigrad as mg
    >>> g, v = grad_and_value(lambda x: (x ** 3).sum())(mg.tensor([1.0, 2.0]))
    >>> g.tolist(), v.item()
    ([3.0, 12.0], 9.0)
    """
    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args), "grad")
        nested = _nested([t for i in nums for t in _leaves(args[i])])
        args = list(args)
        watched = []
        for i in nums:
            args[i], leaves = _watch(args[i], nested)
            watched.append(leaves)
        with enable_grad():
            out = func(*args, **kwargs)
        aux = None
        if has_aux:
            if not isinstance(out, tuple) or len(out) != 2:
                raise RuntimeError("grad: with has_aux=True the function must return "
                                   "(output, aux)")
            out, aux = out
        _scalar(out, "grad")
        flat = [t for leaves in watched for t in leaves]
        gs = iter(_gradients(out, flat, None, nested))
        grads = tuple(_rebuild(args[i], gs) for i in nums)
        grads = grads[0] if isinstance(argnums, numbers.Integral) else grads
        value = out if nested else out.detach()
        return (grads, (value, aux)) if has_aux else (grads, value)
    return wrapper


def grad(func, argnums=0, has_aux=False):
    """The function returning the gradient of scalar ``func`` (see
    :func:`grad_and_value`); with ``has_aux``, (gradient, aux).

    >>> import minigrad as mg
    >>> d2 = grad(grad(lambda x: x ** 3))        # the second derivative, 6x
    >>> d2(mg.tensor(2.0)).item()
    12.0
    """
    both = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        grads, value = both(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads
    return wrapper


# --------------------------------------------------------------------------- vjp, jvp

def vjp(func, *primals, has_aux=False):
    """(func(*primals), vjp_fn): vjp_fn(v) is the tuple of vᵀ·∂func/∂primalᵢ, for a
    cotangent v shaped like the output (a tensor, or a tuple of them).

    >>> import minigrad as mg
    >>> out, vjp_fn = vjp(lambda x: x * x, mg.tensor([1.0, 3.0]))
    >>> vjp_fn(mg.tensor([1.0, 1.0]))[0].tolist()
    [2.0, 6.0]
    """
    nested = _nested([t for p in primals for t in _leaves(p)])
    watched = [_watch(p, nested) for p in primals]
    with enable_grad():
        out = func(*(w[0] for w in watched))
    aux = None
    if has_aux:
        out, aux = out
    flat = [t for _, leaves in watched for t in leaves]

    def vjp_fn(cotangent):
        outs, cots = _leaves(out), _leaves(cotangent)
        if len(outs) != len(cots) or any(o.shape != c.shape for o, c in zip(outs, cots)):
            raise ValueError(f"vjp: the cotangents {[c.shape for c in cots]} must have the "
                             f"outputs' shapes {[o.shape for o in outs]}")
        gs = iter(_gradients(outs, flat, cots, nested))
        return tuple(_rebuild(p, gs) for p in primals)

    value = out if nested else _rebuild(out, iter(t.detach() for t in _leaves(out)))
    return (value, vjp_fn, aux) if has_aux else (value, vjp_fn)


def jvp(func, primals, tangents):
    """(func(*primals), J·tangents), J the Jacobian with respect to all primals: the
    directional derivative along ``tangents`` (one per primal, same shapes), by the
    double-vjp trick u ↦ (uᵀJ)·t differentiated with respect to u.

    >>> import minigrad as mg
    >>> out, d = jvp(lambda x: x ** 2, (mg.tensor([1.0, 3.0]),), (mg.tensor([1.0, 0.5]),))
    >>> d.tolist()
    [2.0, 3.0]
    """
    from .creation import zeros_like

    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents) or any(
            p.shape != t.shape for p, t in zip(primals, tangents)):
        raise ValueError("jvp: one tangent per primal, with the primal's shape")
    nested = _nested(list(primals) + list(tangents))
    xs = [p if nested else p.detach().requires_grad_(True) for p in primals]
    with enable_grad():
        out = func(*xs)
        outs = _leaves(out)
        us = [zeros_like(o).requires_grad_(True) for o in outs]
        g = _gradients(outs, xs, us, create_graph=True)          # uᵀJ, linear in u
        dots = _gradients(g, us, list(tangents), create_graph=nested)   # ∂(uᵀJ t)/∂u = J t
    result = _rebuild(out, iter(dots))
    value = out if nested else _rebuild(out, iter(t.detach() for t in outs))
    return value, result


# --------------------------------------------------------------------------- Jacobians

def jacrev(func, argnums=0):
    """x ↦ the Jacobian of ``func`` at x, shaped output.shape + input.shape (a tuple of
    them for a tuple ``argnums``), one vector-Jacobian product per output element.

    >>> import minigrad as mg
    >>> jacrev(lambda x: x * x)(mg.tensor([1.0, 2.0])).tolist()
    [[2.0, 0.0], [0.0, 4.0]]
    """
    def wrapper(*args):
        from .creation import zeros

        nums = _argnums(argnums, len(args), "jacrev")
        nested = _nested([args[i] for i in nums])
        args = list(args)
        xs = []
        for i in nums:
            if not isinstance(args[i], Tensor):
                raise TypeError("jacrev: the differentiated arguments must be tensors")
            args[i] = args[i] if nested else args[i].detach().requires_grad_(True)
            xs.append(args[i])
        with enable_grad():
            y = func(*args)
        if not isinstance(y, Tensor):
            raise TypeError("jacrev: the function must return one tensor")
        rows = [[] for _ in xs]
        flat_y = y.reshape(-1)
        for k in range(flat_y.shape[0]):
            e = zeros(flat_y.shape[0], dtype=y.dtype, device=y.device)
            e.data[k] = 1
            for j, g in enumerate(_gradients(y, xs, e.reshape(y.shape), nested)):
                rows[j].append(g)
        jac = tuple(stack(r, 0).reshape(y.shape + x.shape) if r else
                    zeros(y.shape + x.shape, dtype=x.dtype, device=x.device)
                    for r, x in zip(rows, xs))
        return jac[0] if isinstance(argnums, numbers.Integral) else jac
    return wrapper


def jacfwd(func, argnums=0):
    """The same Jacobian as :func:`jacrev`, column by column from Jacobian-vector
    products (:func:`jvp`), for functions with more outputs than inputs."""
    def wrapper(*args):
        from .creation import zeros

        nums = _argnums(argnums, len(args), "jacfwd")
        jac = []
        for i in nums:
            x = args[i]
            cols = []
            for k in range(x.numel()):
                t = zeros(x.numel(), dtype=x.dtype, device=x.device)
                t.data[k] = 1

                def along(xi, i=i):
                    a = list(args)
                    a[i] = xi
                    return func(*a)
                out, d = jvp(along, (x,), (t.reshape(x.shape),))
                cols.append(d)
            y_shape = out.shape if cols else func(*args).shape
            j = stack(cols, -1).reshape(y_shape + x.shape) if cols else \
                zeros(y_shape + x.shape, dtype=x.dtype, device=x.device)
            jac.append(j)
        return jac[0] if isinstance(argnums, numbers.Integral) else tuple(jac)
    return wrapper


def hessian(func, argnums=0):
    """x ↦ the Hessian of scalar ``func``: ``jacfwd(jacrev(func))``, shaped
    input.shape + input.shape.

    >>> import minigrad as mg
    >>> hessian(lambda x: (x ** 3).sum())(mg.tensor([1.0, 2.0])).tolist()
    [[6.0, 0.0], [0.0, 12.0]]
    """
    return jacfwd(jacrev(func, argnums), argnums)


# --------------------------------------------------------------------------- vmap

def vmap(func, in_dims=0, out_dims=0):
    """``func`` applied to each slice along ``in_dims`` of its arguments (an int for all,
    or one entry per argument, None for an argument passed whole; an argument may be a
    tuple, list or dict of tensors, all sliced along its dim), the results stacked along
    ``out_dims``. A loop over the slices (see the module notes).

    >>> import minigrad as mg
    >>> from minigrad.func import grad
    >>> per_sample = vmap(grad(lambda w, x: (w * x).sum() ** 2), in_dims=(None, 0))
    >>> per_sample(mg.tensor([1.0, 2.0]), mg.tensor([[1.0, 0.0], [0.0, 1.0]])).tolist()
    [[2.0, 0.0], [0.0, 4.0]]
    """
    def wrapper(*args):
        dims = (in_dims,) * len(args) if in_dims is None or isinstance(
            in_dims, numbers.Integral) else tuple(in_dims)
        if len(dims) != len(args):
            raise ValueError(f"vmap: in_dims has {len(dims)} entries for {len(args)} "
                             "arguments")
        # an argument may be a tensor or a tuple/list/dict of them (its in_dim applies
        # to every tensor in it); anything else is passed whole
        mapped = [(a, d) for a, d in zip(args, dims) if d is not None]
        sizes = {t.shape[d] for a, d in mapped for t in _leaves(a)}
        if len(sizes) != 1:
            raise ValueError(f"vmap: the mapped dims must have one size, got {sorted(sizes)}"
                             if sizes else "vmap: at least one argument must be mapped")
        n = sizes.pop()

        def slice_of(a, d, k):
            if d is None:
                return a
            return _rebuild(a, iter(t[(slice(None),) * (d % t.ndim) + (k,)]
                                    for t in _leaves(a)))

        results = [func(*[slice_of(a, d, k) for a, d in zip(args, dims)]) for k in range(n)]
        first = results[0]
        if isinstance(first, Tensor):
            return stack(results, out_dims)
        outs = out_dims if isinstance(out_dims, (tuple, list)) else (out_dims,) * len(first)
        return type(first)(stack([r[i] for r in results], outs[i]) for i in range(len(first)))
    return wrapper


# --------------------------------------------------------------------------- modules

@contextmanager
def _swapped(module, tensors):
    """Temporarily put ``tensors`` (dotted name → tensor) in place of the module's
    parameters and buffers of those names."""
    saved = []
    try:
        for name, value in tensors.items():
            owner_name, _, attr = name.rpartition(".")
            owner = module.get_submodule(owner_name) if owner_name else module
            table = owner._parameters if attr in owner._parameters else \
                owner._buffers if attr in owner._buffers else None
            if table is None:
                raise KeyError(f"functional_call: {type(module).__name__} has no parameter or "
                               f"buffer {name!r}")
            saved.append((table, attr, table[attr]))
            table[attr] = value
        yield
    finally:
        for table, attr, old in reversed(saved):
            table[attr] = old


def functional_call(module, parameter_and_buffer_dicts, args=(), kwargs=None):
    """``module(*args, **kwargs)`` computed with the tensors of
    ``parameter_and_buffer_dicts`` (a dict, or a tuple of dicts, dotted name → tensor) in
    place of the module's own parameters and buffers of those names; the module is left
    as it was. Gradients flow to the given tensors.

    >>> import minigrad as mg
    >>> from minigrad import nn
    >>> lin = nn.Linear(2, 1, bias=False)
    >>> functional_call(lin, {"weight": mg.tensor([[1.0, 2.0]])}, (mg.tensor([3.0, 4.0]),))
    tensor([11.])
    """
    dicts = parameter_and_buffer_dicts
    dicts = (dicts,) if isinstance(dicts, dict) else tuple(dicts)
    merged = {}
    for d in dicts:
        for k, v in d.items():
            if k in merged:
                raise ValueError(f"functional_call: {k!r} is given more than once")
            merged[k] = v
    args = args if isinstance(args, tuple) else (args,)
    with _swapped(module, merged):
        return module(*args, **(kwargs or {}))


# --------------------------------------------------------------------------- ensembles

def linearize(func, *primals):
    """``(func(*primals), jvp_fn)`` where ``jvp_fn(*tangents)`` is the Jacobian-vector
    product at ``primals`` (torch.func.linearize): the linear map of the function there,
    evaluated by forward-mode AD for each new tangent.

    >>> import minigrad as mg
    >>> out, jvp_fn = linearize(lambda x: x.sin(), mg.tensor([0.0, 1.0]))
    >>> jvp_fn(mg.tensor([2.0, 0.0])).tolist()
    [2.0, 0.0]
    """
    from .autograd import forward_ad as fwAD

    primals = tuple(p.detach() for p in primals)
    out = func(*primals)

    def jvp_fn(*tangents):
        if len(tangents) != len(primals) or any(
                t.shape != p.shape for p, t in zip(primals, tangents)):
            raise ValueError("linearize: one tangent per primal, with the primal's shape")
        with fwAD.dual_level():
            duals = [fwAD.make_dual(p, t) for p, t in zip(primals, tangents)]
            result = func(*duals)
            return _rebuild(result, iter(_tangent_or_zeros(fwAD, o)
                                         for o in _leaves(result)))

    return out, jvp_fn


def _tangent_or_zeros(fwAD, output):
    tangent = fwAD.unpack_dual(output).tangent
    return tangent if tangent is not None else output.detach() * 0


def stack_module_state(models):
    """``(params, buffers)``: dicts from each parameter's (buffer's) dotted name to the
    stack of that tensor over ``models`` (same architecture), for running an ensemble with
    :func:`vmap` over :func:`functional_call` (torch.func.stack_module_state). The stacked
    parameters are new leaves that require grad.

    >>> import minigrad as mg
    >>> params, _ = stack_module_state([mg.nn.Linear(3, 2) for _ in range(4)])
    >>> params["weight"].shape
    (4, 2, 3)
    """
    from .ops.shape import stack

    models = list(models)
    if not models:
        raise ValueError("stack_module_state: expected at least one model")
    names = [n for n, _ in models[0].named_parameters()]
    for m in models[1:]:
        if [n for n, _ in m.named_parameters()] != names:
            raise ValueError("stack_module_state: the models do not have the same "
                             "parameters")
    params = {}
    for name in names:
        stacked = stack([dict(m.named_parameters())[name].detach() for m in models])
        params[name] = stacked.requires_grad_(True)
    buffers = {name: stack([dict(m.named_buffers())[name] for m in models])
               for name, _ in models[0].named_buffers()}
    return params, buffers


def functionalize(func, *, remove="mutations"):
    """``func`` itself: minigrad records no in-place op, so there is nothing to remove
    (torch.func.functionalize turns in-place ops into out-of-place ones)."""
    return func
