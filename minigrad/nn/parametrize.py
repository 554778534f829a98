r"""Parametrizations (PyTorch's ``torch.nn.utils.parametrize`` and
``torch.nn.utils.parametrizations``): a module's tensor computed from an unconstrained
one every time it is read.

``register_parametrization(module, "weight", P)`` moves ``module.weight`` to
``module.parametrizations.weight.original`` (a Parameter, the thing optimized) and makes
``module.weight`` a property returning ``P(original)``, differentiably. When ``P`` has a
``right_inverse``, ``original = P.right_inverse(weight)``, so the module computes the
same function as before; more parametrizations on the same tensor are chained. The
state dict holds ``parametrizations.weight.original`` (and ``parametrizations.weight.0...``
for a parametrization's own parameters and buffers), as PyTorch's.

Ready-made ones (``minigrad.nn.utils.parametrizations``):

* ``orthogonal(module, orthogonal_map=None)``: W (semi-)orthogonal (W Wᵀ = I for a wide
  matrix, WᵀW = I for a tall one), through the matrix exponential or the Cayley map of a
  skew-symmetric matrix times an orthogonal ``base`` (PyTorch's maps and trivialization),
  or, for "householder", the Q of a QR factorization with diag(R) > 0 (PyTorch builds
  that one from Householder reflectors: the parameter differs, the constraint is the
  same).
* ``weight_norm(module, dim=0)``: W = g·v/‖v‖ with ``original0`` = g and ``original1`` = v
  (Salimans & Kingma 2016).
* ``spectral_norm(module)``: W = V/σ(V), σ by power iteration on buffers ``_u``, ``_v``
  in training mode (Miyato et al. 2018).

``remove_parametrizations(module, "weight", leave_parametrized=True)`` makes the current
value an ordinary parameter again; ``cached()`` evaluates each parametrization once while
it is active.
"""
from __future__ import annotations

from contextlib import contextmanager

from .module import Module, ModuleDict, ModuleList, Parameter

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized",
           "cached", "ParametrizationList"]

_CACHE = None  # a dict while cached() is active


class ParametrizationList(ModuleList):
    """The chain of parametrizations of one tensor, and its ``original`` parameter."""

    def __init__(self, modules, original=None):
        super().__init__(modules)
        if original is not None:
            self.original = original

    def assign(self, value):
        """Set the original(s) so that the chain gives ``value`` (``module.weight = ...``)."""
        from ..autograd.grad_mode import no_grad

        with no_grad():
            self.original.data[...] = self.right_inverse(value).data

    def right_inverse(self, value):
        for m in reversed(list(self)):
            if hasattr(m, "right_inverse"):
                value = m.right_inverse(value)
            elif len(self) > 1:
                raise RuntimeError(f"parametrize: {type(m).__name__} has no right_inverse, "
                                   "so the tensor cannot be set through the chain")
        return value

    def forward(self):
        x = self.original
        for m in self:
            x = m(x)
        return x


def _parametrized_class(module):
    """The module's class, or a subclass of it made once to hold the properties."""
    cls = type(module)
    if getattr(cls, "_is_parametrized_class", False):
        return cls
    return type(f"Parametrized{cls.__name__}", (cls,), {"_is_parametrized_class": True,
                                                        "__module__": cls.__module__})


def _make_property(name):
    def getter(self):
        chain = self.parametrizations[name]
        if _CACHE is not None:
            key = (id(self), name)
            if key not in _CACHE:
                _CACHE[key] = chain()
            return _CACHE[key]
        return chain()

    def setter(self, value):
        self.parametrizations[name].assign(value)
    return property(getter, setter)


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Make ``module.<tensor_name>`` the value of ``parametrization`` (a Module mapping
    the original tensor to the used one); see the module notes. Returns the module.

    >>> import minigrad as mg
    >>> from minigrad import nn
    >>> class Symmetric(nn.Module):
    ...     def forward(self, X):
    ...         return X.triu() + X.triu(1).mT
    >>> m = register_parametrization(nn.Linear(3, 3), "weight", Symmetric())
    >>> W = m.weight
    >>> bool((W == W.mT).all().item()), sorted(m.state_dict())
    (True, ['bias', 'parametrizations.weight.original'])
    """
    if not isinstance(parametrization, Module):
        raise TypeError(f"register_parametrization: the parametrization must be a Module, "
                        f"got {type(parametrization).__name__}")
    if is_parametrized(module, tensor_name):
        chain = module.parametrizations[tensor_name]
        if not unsafe:
            value = parametrization(chain())
            if value.shape != chain().shape or value.dtype != chain().dtype:
                raise ValueError(f"register_parametrization: the new parametrization changes "
                                 f"{tensor_name!r} from {chain().shape} {chain().dtype} to "
                                 f"{value.shape} {value.dtype}")
        chain.append(parametrization)
        return module
    original = module._parameters.get(tensor_name)
    if original is None:
        original = module._buffers.get(tensor_name)
    if original is None:
        raise ValueError(f"register_parametrization: {type(module).__name__} has no "
                         f"parameter or buffer {tensor_name!r}")
    initial = original
    if hasattr(parametrization, "right_inverse"):
        try:
            initial = parametrization.right_inverse(original.detach())
        except NotImplementedError:  # no inverse: the original is the tensor as it was
            pass
    if not unsafe:
        value = parametrization(initial)
        if value.shape != original.shape or value.dtype != original.dtype:
            raise ValueError(f"register_parametrization: the parametrization changes "
                             f"{tensor_name!r} from {original.shape} {original.dtype} to "
                             f"{value.shape} {value.dtype} (pass unsafe=True to allow it)")
    is_param = tensor_name in module._parameters
    del (module._parameters if is_param else module._buffers)[tensor_name]
    stored = Parameter(initial.detach().data, requires_grad=original.requires_grad) \
        if is_param else initial.detach()
    if "parametrizations" not in module._modules:
        module.parametrizations = ModuleDict()
    module.parametrizations[tensor_name] = ParametrizationList([parametrization])
    chain = module.parametrizations[tensor_name]
    if is_param:
        chain.original = stored
    else:
        chain.register_buffer("original", stored)
    cls = _parametrized_class(module)
    setattr(cls, tensor_name, _make_property(tensor_name))
    object.__setattr__(module, "__class__", cls)
    return module


def is_parametrized(module, tensor_name=None):
    """Whether ``module`` (or its tensor ``tensor_name``) has parametrizations."""
    chains = module._modules.get("parametrizations")
    if chains is None:
        return False
    return len(chains) > 0 if tensor_name is None else tensor_name in chains._modules


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Drop the parametrizations of ``module.<tensor_name>``: it becomes an ordinary
    parameter holding the parametrized value (``leave_parametrized``) or the original."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"remove_parametrizations: {type(module).__name__} has no "
                         f"parametrization on {tensor_name!r}")
    chain = module.parametrizations[tensor_name]
    value = chain() if leave_parametrized else chain.original
    was_param = "original" in chain._parameters
    del module.parametrizations._modules[tensor_name]
    delattr(type(module), tensor_name)
    if was_param:
        module.register_parameter(tensor_name, Parameter(value.detach().data,
                                                         requires_grad=chain.original
                                                         .requires_grad))
    else:
        module.register_buffer(tensor_name, value.detach())
    if not is_parametrized(module):
        del module._modules["parametrizations"]
        base = type(module).__mro__[1]
        object.__setattr__(module, "__class__", base)
    return module


@contextmanager
def cached():
    """While active, each parametrized tensor is computed once and reused (e.g. a weight
    read at every step of an RNN)."""
    global _CACHE
    outer = _CACHE
    _CACHE = {} if outer is None else outer
    try:
        yield
    finally:
        _CACHE = outer


# --------------------------------------------------------------------------- ready-made

def _make_orthogonal(A):
    """Q of A = QR with diag(R) ≥ 0 (a zero pivot counts as +), for a tall A."""
    from .. import linalg

    Q, R = linalg.qr(A)
    signs = R.diagonal(0, -2, -1).sign()
    signs = signs + (signs == 0).to(dtype=signs.dtype)
    return Q * signs.unsqueeze(-2)


class _Orthogonal(Module):
    r"""X ↦ an orthogonal matrix Q (each orientation tall: n ≥ k after a transpose).

    * ``"matrix_exp"`` / ``"cayley"`` (PyTorch's maps): A = tril(X) − tril(X)ᵀ, skew-
      symmetric (for n > k embedded in an n × n matrix with zero columns), then
      Q = exp(A), or the Cayley transform Q = (I − A/2)⁻¹(I + A/2), first k columns. With
      ``use_trivialization`` (the default) Q is multiplied by a buffer ``base``, an
      orthogonal matrix that the initial weight (or any assigned one) sets: the original
      parameter starts at "−I" (A = 0, Q = I) and moves around ``base``
      (Lezcano-Casado 2019, "Trivializations for gradient-based optimization on
      manifolds").
    * ``"householder"``: here the Q of the QR factorization of X with diag(R) > 0
      (PyTorch builds it from Householder reflectors; the parameter differs, the
      constraint is the same). Its right_inverse is the orthogonal matrix itself.
    """

    def __init__(self, orthogonal_map, use_trivialization):
        super().__init__()
        self.orthogonal_map = orthogonal_map
        self.use_trivialization = use_trivialization

    def forward(self, X):
        transposed = X.shape[-2] < X.shape[-1]
        if transposed:
            X = X.mT
        n, k = X.shape[-2:]
        if self.orthogonal_map == "householder":
            Q = _make_orthogonal(X)
        else:
            from .. import creation, linalg
            from ..ops.shape import cat

            X = X.tril()
            if n != k:
                X = cat([X, creation.zeros(X.shape[:-2] + (n, n - k), dtype=X.dtype,
                                           device=X.device)], -1)
            A = X - X.mT
            if self.orthogonal_map == "matrix_exp":
                Q = linalg.matrix_exp(A)
            else:
                eye = creation.eye(n, dtype=A.dtype, device=A.device)
                Q = linalg.solve(eye - A * 0.5, eye + A * 0.5)
            if n != k:
                Q = Q[..., :k]
        if "base" in self._buffers:
            Q = self.base @ Q
        return Q.mT if transposed else Q

    def right_inverse(self, Q):
        if self.orthogonal_map == "householder" and not self.use_trivialization:
            return self.forward(Q)
        if not self.use_trivialization:
            raise NotImplementedError(
                "orthogonal: a matrix_exp or cayley parametrization without trivialization "
                "cannot be assigned to (as in PyTorch); use use_trivialization=True")
        from .. import creation
        from ..ops.shape import cat

        target = Q.detach()
        transposed = target.shape[-2] < target.shape[-1]
        if transposed:
            target = target.mT
        n, k = target.shape[-2:]
        if n != k:  # complete it to an n × n orthogonal matrix with random columns
            target = cat([target, creation.randn(target.shape[:-2] + (n, n - k),
                                                 dtype=target.dtype,
                                                 device=target.device)], -1)
        self.register_buffer("base", _make_orthogonal(target).detach())
        # the original whose map is I, so that the weight starts at ``base``: "−I" for the
        # skew maps (A = tril(X) − tril(X)ᵀ = 0), I for the QR map
        sign = 1.0 if self.orthogonal_map == "householder" else -1.0
        eye = creation.eye(Q.shape[-2], Q.shape[-1], dtype=Q.dtype, device=Q.device)
        return creation.zeros(Q.shape, dtype=Q.dtype, device=Q.device) + eye * sign


_ORTHOGONAL_MAPS = ("matrix_exp", "cayley", "householder")


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Constrain ``module.<name>`` (a matrix, or a batch of them) to (semi-)orthogonal
    matrices (PyTorch's ``parametrizations.orthogonal``); ``orthogonal_map`` "matrix_exp"
    (the default for square matrices), "cayley" or "householder" (the default otherwise);
    see :class:`_Orthogonal`.

    >>> import minigrad as mg
    >>> m = orthogonal(mg.nn.Linear(3, 3, dtype=mg.float64))
    >>> W = m.weight
    >>> bool(((W @ W.mT) - mg.eye(3, dtype=mg.float64)).abs().max() < 1e-12)
    True
    """
    weight = getattr(module, name)
    if weight.ndim < 2:
        raise ValueError(f"orthogonal: {name!r} must have at least 2 dims, got shape "
                         f"{weight.shape}")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] \
            else "householder"
    if orthogonal_map not in _ORTHOGONAL_MAPS:
        raise ValueError(f"orthogonal: orthogonal_map must be one of "
                         f"{', '.join(_ORTHOGONAL_MAPS)}, got {orthogonal_map!r}")
    return register_parametrization(module, name,
                                    _Orthogonal(orthogonal_map, use_trivialization))


class _WeightNorm(Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, weight_g, weight_v):
        from .reparam import _norm_except_dim

        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight):
        from .reparam import _norm_except_dim

        return _norm_except_dim(weight, self.dim), weight


class _TwoOriginals(ParametrizationList):
    """A chain whose first parametrization takes two originals (weight norm's g and v),
    stored as ``original0`` and ``original1`` as in PyTorch."""

    def forward(self):
        x = self[0](self.original0, self.original1)
        for m in list(self)[1:]:
            x = m(x)
        return x

    def assign(self, value):
        from ..autograd.grad_mode import no_grad

        g, v = self[0].right_inverse(value)
        with no_grad():
            self.original0.data[...] = g.data
            self.original1.data[...] = v.data


def weight_norm(module, name="weight", dim=0):
    """W = g·v/‖v‖ with ``parametrizations.<name>.original0`` = g and ``original1`` = v
    (norm over every dim but ``dim``; None: one norm), PyTorch's
    ``parametrizations.weight_norm``."""
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"weight_norm: {type(module).__name__} has no parameter {name!r}")
    if dim is None:
        dim = -1
    elif dim != -1:
        dim %= weight.ndim
    param = _WeightNorm(dim)
    g, v = param.right_inverse(weight.detach())
    del module._parameters[name]
    if "parametrizations" not in module._modules:
        module.parametrizations = ModuleDict()
    chain = _TwoOriginals([param])
    chain.original0 = Parameter(g.data.copy())
    chain.original1 = Parameter(v.data.copy())
    module.parametrizations[name] = chain
    cls = _parametrized_class(module)
    setattr(cls, name, _make_property(name))
    object.__setattr__(module, "__class__", cls)
    return module


class _SpectralNorm(Module):
    def __init__(self, weight, n_power_iterations, dim, eps):
        from .. import random as _random
        from .reparam import _SpectralNorm as _Hook

        super().__init__()
        self._hook = _Hook("weight", n_power_iterations, dim, eps)
        h, w = self._hook.matrix(weight.detach()).shape
        u = _random.normal((h,), 0.0, 1.0, weight.dtype, weight.device)
        v = _random.normal((w,), 0.0, 1.0, weight.dtype, weight.device)
        from ..tensor import Tensor

        self.register_buffer("_u", Tensor(self._hook._unit(u)))
        self.register_buffer("_v", Tensor(self._hook._unit(v)))
        if weight.ndim > 1:
            self._power_iterations(self._hook.matrix(weight.detach()).data, 15)  # as PyTorch

    def _power_iterations(self, mat, n):
        # u ← Wv/‖Wv‖ first, then v ← Wᵀu/‖Wᵀu‖ (PyTorch's parametrization; its hook-style
        # spectral_norm, minigrad.nn.reparam, updates v first)
        for _ in range(n):
            self._u.data[...] = self._hook._unit(mat @ self._v.data)
            self._v.data[...] = self._hook._unit(mat.T @ self._u.data)

    def forward(self, weight):
        from ..ops.elementwise import const

        if weight.ndim == 1:   # a vector: its own norm is its spectral norm (F.normalize)
            return weight / weight.norm().clamp(min=self._hook.eps)
        w = self._hook.matrix(weight)
        if self.training:
            self._power_iterations(w.data, self._hook.n_power_iterations)
        u, v = const(self._u.data.copy()), const(self._v.data.copy())
        return weight / (u * (w @ v)).sum()


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """W = V/σ(V), σ by ``n_power_iterations`` power iterations per training forward on
    buffers ``parametrizations.<name>.0._u`` and ``._v`` (PyTorch's
    ``parametrizations.spectral_norm``)."""
    weight = getattr(module, name)
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    dim %= weight.ndim
    return register_parametrization(module, name,
                                    _SpectralNorm(weight, n_power_iterations, dim, eps))
