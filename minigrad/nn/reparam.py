r"""Weight reparametrizations that stabilize training (PyTorch's ``torch.nn.utils``
``weight_norm`` and ``spectral_norm``, hook style): the module keeps new parameters, and a
forward pre-hook recomputes ``module.weight`` from them before every forward.

Weight normalization (Salimans & Kingma 2016, "Weight Normalization: A Simple
Reparameterization to Accelerate Training of Deep Neural Networks", eq. 2):

.. code-block:: text

    w = g · v / ‖v‖         per slice of ``dim`` (dim 0: per output unit; None: one norm)
    parameters: weight_g = ‖w₀‖ (shape (out, 1, 1, ...)), weight_v = w₀

The length g and the direction v/‖v‖ are learned separately, which decouples the
gradient's scale from the weight's and conditions the problem better.

Spectral normalization (Miyato et al. 2018, "Spectral Normalization for Generative
Adversarial Networks", Algorithm 1):

.. code-block:: text

    W = weight_orig reshaped to (out, −1)      (dim moved to the front)
    in training, n_power_iterations times (no gradient):
        v ← Wᵀu / ‖Wᵀu‖,   u ← W v / ‖W v‖
    σ = uᵀ W v                                 (≈ the largest singular value of W)
    weight = weight_orig / σ                   (gradient through σ's W, u and v fixed)

u and v persist as buffers (``weight_u``, ``weight_v``), so one power iteration per step
tracks σ as W changes; in eval mode they are used as they are.

Notes
-----
* As in PyTorch, ``weight_norm(dim=None)`` and ``dim=-1`` both mean one norm over the
  whole tensor (not the last dim), and ``spectral_norm``'s default dim is 1 for the
  transposed convolutions (their output channels), else 0.
* PyTorch now also offers these as parametrizations (``nn.utils.parametrizations``);
  the hook style here is the one its ``nn.utils.weight_norm``/``spectral_norm`` keep.
"""
from __future__ import annotations

from ..tensor import Tensor
from .module import Module, Parameter

__all__ = ["weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm"]


def _norm_except_dim(v, dim):
    """‖v‖₂ over every dim but ``dim`` (keeping them as size 1); the whole norm when
    ``dim`` is −1 (PyTorch's convention)."""
    if dim == -1:
        return v.norm()
    others = tuple(d for d in range(v.ndim) if d != dim)
    return (v * v).sum(dim=others, keepdim=True).sqrt()


def _hooks(module):
    hooks = module.__dict__.get("_reparam_hooks")
    if hooks is None:
        hooks = {}
        object.__setattr__(module, "_reparam_hooks", hooks)
    return hooks


def _check_free(module, name, kind):
    hooks = _hooks(module)
    if name in hooks:
        raise RuntimeError(f"{kind}: cannot register two {hooks[name][0]} hooks on the same "
                           f"parameter {name!r}")


def _install(module, name, kind, hook):
    _hooks(module)[name] = (kind, module.register_forward_pre_hook(hook), hook)


def _uninstall(module, name, kind):
    hooks = _hooks(module)
    if name not in hooks or hooks[name][0] != kind:
        raise ValueError(f"remove_{kind}: {kind} of {name!r} not found in {module}")
    _, handle, hook = hooks.pop(name)
    handle.remove()
    return hook


def _parameter(module, name, kind):
    weight = module._parameters.get(name) if isinstance(module, Module) else None
    if not isinstance(weight, Parameter):
        raise ValueError(f"{kind}: {type(module).__name__} has no parameter {name!r}")
    return weight


class _WeightNorm:
    """The forward pre-hook of :func:`weight_norm` (an object, so modules deep-copy)."""

    def __init__(self, name, dim):
        self.name, self.dim = name, dim

    def compute_weight(self, module):
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return v * (g / _norm_except_dim(v, self.dim))

    def __call__(self, module, inputs):
        object.__setattr__(module, self.name, self.compute_weight(module))


def weight_norm(module, name="weight", dim=0):
    """Reparametrize ``module.<name>`` as g · v/‖v‖ (parameters ``<name>_g`` and
    ``<name>_v``); returns the module.

    >>> import minigrad as mg
    >>> from minigrad import nn
    >>> m = nn.utils.weight_norm(nn.Linear(3, 2))
    >>> sorted(n for n, _ in m.named_parameters())
    ['bias', 'weight_g', 'weight_v']
    >>> m.weight_g.shape
    (2, 1)
    """
    _check_free(module, name, "weight_norm")
    weight = _parameter(module, name, "weight_norm")
    if dim is None:
        dim = -1
    elif dim != -1:
        if not -weight.ndim <= dim < weight.ndim:
            raise IndexError(f"weight_norm: dim {dim} is out of range for {name!r} of shape "
                             f"{weight.shape}")
        dim %= weight.ndim
    hook = _WeightNorm(name, dim)
    del module._parameters[name]
    g = _norm_except_dim(weight.detach(), dim)
    module.register_parameter(name + "_g", Parameter(g.data.copy()))
    module.register_parameter(name + "_v", Parameter(weight.data))
    _install(module, name, "weight_norm", hook)
    hook(module, ())
    return module


def remove_weight_norm(module, name="weight"):
    """Undo :func:`weight_norm`: ``module.<name>`` becomes a plain parameter holding the
    current g · v/‖v‖."""
    hook = _uninstall(module, name, "weight_norm")
    weight = hook.compute_weight(module)
    if name in module.__dict__:
        object.__delattr__(module, name)
    del module._parameters[name + "_g"]
    del module._parameters[name + "_v"]
    module.register_parameter(name, Parameter(weight.data))
    return module


class _SpectralNorm:
    """The forward pre-hook of :func:`spectral_norm`."""

    def __init__(self, name, n_power_iterations, dim, eps):
        self.name, self.n_power_iterations, self.dim, self.eps = \
            name, n_power_iterations, dim, eps

    def matrix(self, weight):
        """The weight with ``dim`` moved to the front, as an (h, −1) matrix."""
        if self.dim != 0:
            order = [self.dim] + [d for d in range(weight.ndim) if d != self.dim]
            weight = weight.permute(*order)
        return weight.reshape(weight.shape[0], -1)

    def _unit(self, x):
        """x / max(‖x‖, eps) for an array (PyTorch's ``F.normalize``)."""
        return x / max(float((x * x).sum()) ** 0.5, self.eps)

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        w = self.matrix(weight)
        if do_power_iteration:
            mat = w.data
            for _ in range(self.n_power_iterations):  # Algorithm 1, on the arrays
                v.data[...] = self._unit(mat.T @ u.data)
                u.data[...] = self._unit(mat @ v.data)
        from ..ops.elementwise import const

        u_c, v_c = const(u.data.copy()), const(v.data.copy())
        sigma = (u_c * (w @ v_c)).sum()
        return weight / sigma

    def __call__(self, module, inputs):
        object.__setattr__(module, self.name,
                           self.compute_weight(module, do_power_iteration=module.training))


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divide ``module.<name>`` by its spectral norm σ, estimated by power iteration
    (parameter ``<name>_orig``, buffers ``<name>_u`` and ``<name>_v``); returns the module.

    >>> import numpy as np
    >>> import minigrad as mg
    >>> from minigrad import nn
    >>> _ = mg.manual_seed(0)
    >>> m = nn.utils.spectral_norm(nn.Linear(4, 3), n_power_iterations=20)
    >>> _ = m(mg.randn(1, 4))                     # training: the power iteration runs
    >>> round(float(np.linalg.svd(m.weight.detach().numpy())[1][0]), 2)   # σ_max(weight)
    1.0
    """
    from .. import random as _random

    _check_free(module, name, "spectral_norm")
    weight = _parameter(module, name, "spectral_norm")
    if n_power_iterations < 0:
        raise ValueError(f"spectral_norm: n_power_iterations must be non-negative, got "
                         f"{n_power_iterations}")
    if dim is None:
        transposed = type(module).__name__.startswith("ConvTranspose")
        dim = 1 if transposed else 0
    if not -weight.ndim <= dim < weight.ndim:
        raise IndexError(f"spectral_norm: dim {dim} is out of range for {name!r} of shape "
                         f"{weight.shape}")
    hook = _SpectralNorm(name, n_power_iterations, dim % weight.ndim, eps)
    h, w = hook.matrix(weight.detach()).shape
    dtype, device = weight.dtype, weight.device
    u = _random.normal((h,), 0.0, 1.0, dtype, device)
    v = _random.normal((w,), 0.0, 1.0, dtype, device)
    del module._parameters[name]
    module.register_parameter(name + "_orig", weight)
    module.register_buffer(name + "_u", Tensor(hook._unit(u)))
    module.register_buffer(name + "_v", Tensor(hook._unit(v)))
    object.__setattr__(module, name, weight.detach())
    _install(module, name, "spectral_norm", hook)
    return module


def remove_spectral_norm(module, name="weight"):
    """Undo :func:`spectral_norm`: ``module.<name>`` becomes a plain parameter holding the
    current weight_orig / σ (σ from the stored u and v, no further power iteration)."""
    hook = _uninstall(module, name, "spectral_norm")
    weight = hook.compute_weight(module, do_power_iteration=False)
    if name in module.__dict__:
        object.__delattr__(module, name)
    del module._parameters[name + "_orig"]
    del module._buffers[name + "_u"]
    del module._buffers[name + "_v"]
    module.register_parameter(name, Parameter(weight.data))
    return module
