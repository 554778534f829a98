r"""Pruning: magnitude (per layer and global), gradient saliency |w·g|, structured (whole
neurons / conv filters by Lₙ norm), masks that stay applied through training, and iterative
prune / fine-tune cycles. The semantics and names are PyTorch's ``torch.nn.utils.prune``.

How a mask stays applied. Pruning parameter ``name`` of a module

1. moves the Parameter to ``name + "_orig"`` (the optimizer keeps training it),
2. registers a buffer ``name + "_mask"`` (1 = kept, 0 = pruned; the parameter's dtype),
3. sets the plain attribute ``module.name = name_orig * name_mask`` and registers a
   forward pre-hook that recomputes it before every forward.

So the forward always sees W ⊙ M, the gradient that reaches ``name_orig`` is g ⊙ M (zero at
the pruned entries), and however the optimizer moves ``name_orig`` (momentum, weight
decay), the pruned weights stay zero in the model. :func:`remove` makes it permanent.

Criteria (the score s of an entry; the lowest scores are pruned):

=======================  =====================================  ===========================
function                 score                                  what goes
=======================  =====================================  ===========================
``l1_unstructured``      |w|  (or ``importance_scores``)        single weights, per tensor
``random_unstructured``  random                                 single weights
``saliency_unstructured``  |w · ∂L/∂w|                          single weights (first-order
                                                                Taylor estimate of the loss
                                                                change when w is removed)
``ln_structured``        ‖slice‖ₙ along ``dim``                 whole rows / filters
``random_structured``    random, per slice along ``dim``        whole rows / filters
``global_unstructured``  any of the above, pooled over tensors  single weights, globally
=======================  =====================================  ===========================

``amount`` is a fraction in [0, 1] (of the entries — or slices — still unpruned) or an
integer count, as in PyTorch; the count is ``round(amount · n)`` (Python's rounding). Pruning
an already pruned tensor again prunes that amount of what is left (PyTorch's
``PruningContainer``): masks only ever lose entries. The default score of an already pruned
tensor is the pruned weight ``name_orig * name_mask`` (PyTorch's ``getattr(module, name)``);
``importance_scores`` are used as given.

Examples
--------
>>> import minigrad as mg
>>> from minigrad.nn.module import Module, Parameter
>>> from minigrad.sparse import prune
>>> class Tiny(Module):
...     def __init__(self):
...         super().__init__()
...         self.weight = Parameter(mg.tensor([[0.1, -2.0, 0.3, 4.0]]))
...     def forward(self, x):
...         return x @ self.weight.T
>>> m = Tiny()
>>> _ = prune.l1_unstructured(m, "weight", amount=0.5)
>>> m.weight_mask
tensor([[0., 1., 0., 1.]])
>>> m(mg.ones(1, 4)).tolist()   # the forward sees the pruned weight: -2 + 4
[[2.0]]
>>> sorted(n for n, _ in m.named_parameters())
['weight_orig']
>>> prune.sparsity(m)["global"]
0.5

References
----------
Han et al., "Learning both Weights and Connections for Efficient Neural Networks", NeurIPS
2015 (magnitude pruning, prune / retrain cycles). Molchanov et al., "Pruning Convolutional
Neural Networks for Resource Efficient Inference", ICLR 2017 (Taylor saliency |w·g|). Li et
al., "Pruning Filters for Efficient ConvNets", ICLR 2017 (filters by L1 norm). Zhu & Gupta,
"To prune, or not to prune", 2017 (gradual cubic sparsity schedule).

Notes
-----
* The mask is stored in the parameter's float dtype, as PyTorch does.
* Ties in the score go to the first entry (or slice) in C order: it is pruned first.
  PyTorch ranks by ``torch.topk``, whose order among ties is unspecified, so the two may
  prune different ones of several equal scores (never a different number).
* ``compute_mask(t, default_mask)`` of a method here already takes ``amount`` of the
  entries (slices) left unpruned by ``default_mask``; PyTorch does that restriction in its
  ``PruningContainer``. Through the module functions the masks are the same.
* ``saliency_unstructured`` needs a gradient: it reads ``name_orig.grad`` (or
  ``name.grad`` before the first pruning) unless ``grad=`` is given.
* Structured pruning masks only the weight; a pruned neuron's bias stays (as PyTorch).
"""
from __future__ import annotations

import numbers
from collections import OrderedDict

import numpy as np

from .. import random as _random
from .._backend import get_array_module
from ..nn.module import Parameter
from ..tensor import Tensor, _make_tensor

__all__ = [
    "BasePruningMethod",
    "Identity",
    "RandomUnstructured",
    "L1Unstructured",
    "LnStructured",
    "RandomStructured",
    "CustomFromMask",
    "identity",
    "random_unstructured",
    "l1_unstructured",
    "saliency_unstructured",
    "ln_structured",
    "random_structured",
    "global_unstructured",
    "global_saliency_unstructured",
    "custom_from_mask",
    "remove",
    "is_pruned",
    "sparsity",
    "SparsityReport",
    "sparsity_schedule",
    "iterative_pruning",
]


# --------------------------------------------------------------------------- helpers


def _validate_amount(amount):
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"amount must be a float in [0, 1] or a non-negative int, got "
                        f"{amount!r}")
    if isinstance(amount, numbers.Integral):
        if amount < 0:
            raise ValueError(f"amount={amount} should be a non-negative integer")
    elif not 0.0 <= float(amount) <= 1.0:
        raise ValueError(f"amount={amount} should be a float in the range [0, 1]")


def _count(amount, n, what="entries"):
    """Number to prune out of n: round(amount · n) for a fraction, amount for an int."""
    if isinstance(amount, numbers.Integral):
        if amount > n:
            raise ValueError(f"amount={amount} exceeds the {n} unpruned {what}")
        return int(amount)
    return int(round(float(amount) * n))


def _lowest(xp, scores, k):
    """Bool array (scores' shape): True at the k lowest scores (ties: first in C order)."""
    flat = scores.reshape(-1)
    out = xp.zeros(flat.shape, dtype=bool)
    if k:
        order = xp.argsort(flat, kind="stable") if xp is np else xp.argsort(flat)
        out[order[:k]] = True
    return out.reshape(scores.shape)


def _data(t):
    return t.data if isinstance(t, Tensor) else t


# ----------------------------------------------------------------------- the methods


class BasePruningMethod:
    """A way to compute a mask. Subclasses define ``compute_mask(t, default_mask)``
    (arrays in, array out: 1 keep, 0 prune) and ``PRUNING_TYPE``. An instance is also the
    forward pre-hook that keeps ``module.name = name_orig * name_mask``."""

    PRUNING_TYPE = "unstructured"

    def __init__(self):
        self._tensor_name = None

    def compute_mask(self, t, default_mask):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, module, inputs):
        setattr(module, self._tensor_name, self.apply_mask(module))

    def apply_mask(self, module):
        """``name_orig * name_mask`` (a Tensor in the graph of ``name_orig``)."""
        orig = getattr(module, self._tensor_name + "_orig")
        mask = getattr(module, self._tensor_name + "_mask")
        return orig * mask

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prune ``module.name`` with this method (combined with an existing mask)."""
        method = cls(*args, **kwargs)
        method._tensor_name = name
        return _attach(module, name, method, importance_scores)

    def prune(self, t, default_mask=None, importance_scores=None):
        """The pruned array ``t * mask`` (no module involved)."""
        t = _data(t)
        xp = get_array_module(t)
        default_mask = xp.ones_like(t) if default_mask is None else _data(default_mask)
        scores = t if importance_scores is None else _data(importance_scores)
        return t * self.compute_mask(scores, default_mask)


class Identity(BasePruningMethod):
    """Prunes nothing (a mask of ones)."""

    def compute_mask(self, t, default_mask):
        return default_mask * 1


class RandomUnstructured(BasePruningMethod):
    """Prune ``amount`` of the unpruned entries, chosen at random (``mg.manual_seed``)."""

    def __init__(self, amount):
        super().__init__()
        _validate_amount(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        xp = get_array_module(t)
        scores = _random.generator("cpu" if xp is np else "cuda").random(t.shape)
        return _unstructured_mask(xp, scores, default_mask, self.amount)


class L1Unstructured(BasePruningMethod):
    """Prune ``amount`` of the unpruned entries with the lowest |score| (the score is the
    weight itself unless ``importance_scores`` is given)."""

    def __init__(self, amount):
        super().__init__()
        _validate_amount(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        xp = get_array_module(t)
        return _unstructured_mask(xp, xp.abs(t), default_mask, self.amount)


def _unstructured_mask(xp, scores, default_mask, amount):
    remaining = default_mask != 0
    n = int(remaining.sum())
    k = _count(amount, n)
    # pruned entries can never be chosen again: give them +inf
    s = xp.where(remaining, scores.astype(xp.float64), xp.inf)
    mask = default_mask * 1
    mask[_lowest(xp, s, k)] = 0
    return mask


def _structured_mask(xp, default_mask, amount, dim, slice_scores):
    """``default_mask`` with the ``amount`` lowest-scoring unpruned slices along ``dim``
    zeroed (a slice is unpruned while any of its entries is)."""
    others = tuple(d for d in range(default_mask.ndim) if d != dim)
    alive = (default_mask != 0).any(axis=others)
    k = _count(amount, int(alive.sum()), "slices")
    drop = _lowest(xp, xp.where(alive, slice_scores, xp.inf), k)
    shape = [1] * default_mask.ndim
    shape[dim] = -1
    return default_mask * (~drop).reshape(shape).astype(default_mask.dtype)


def _structured_dim(t, dim, what):
    """``dim`` in [0, t.ndim), checked as PyTorch does (IndexError out of range)."""
    if t.ndim < 2:
        raise ValueError(f"{what} needs a tensor with >= 2 dims, got shape {t.shape}")
    if not -t.ndim <= dim < t.ndim:
        raise IndexError(f"{what}: dim={dim} is out of range for a tensor of shape "
                         f"{t.shape}")
    return dim % t.ndim


class LnStructured(BasePruningMethod):
    """Prune ``amount`` of the unpruned slices along ``dim`` with the lowest Lₙ norm
    (``n`` = 1, 2, ... or ``float("inf")``); ``dim=0`` of a Linear weight (out, in) is a
    neuron, of a conv weight (C_out, C_in, kH, kW) a filter."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim=-1):
        super().__init__()
        _validate_amount(amount)
        if not (n == float("inf") or (isinstance(n, numbers.Real) and n > 0)):
            raise ValueError(f"ln_structured: n must be a positive number or inf, got {n!r}")
        self.amount, self.n, self.dim = amount, n, dim

    def compute_mask(self, t, default_mask):
        xp = get_array_module(t)
        dim = _structured_dim(t, self.dim, "ln_structured")
        others = tuple(d for d in range(t.ndim) if d != dim)
        a = xp.abs(t.astype(xp.float64))
        if self.n == float("inf"):
            norms = a.max(axis=others)                                  # ‖s‖∞ = max|s|
        else:
            norms = (a ** self.n).sum(axis=others) ** (1.0 / self.n)   # (Σ|s|ⁿ)^(1/n)
        return _structured_mask(xp, default_mask, self.amount, dim, norms)


class RandomStructured(BasePruningMethod):
    """Prune ``amount`` of the unpruned slices along ``dim``, chosen at random
    (``mg.manual_seed``)."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim=-1):
        super().__init__()
        _validate_amount(amount)
        self.amount, self.dim = amount, dim

    def compute_mask(self, t, default_mask):
        xp = get_array_module(t)
        dim = _structured_dim(t, self.dim, "random_structured")
        scores = _random.generator("cpu" if xp is np else "cuda").random((t.shape[dim],))
        return _structured_mask(xp, default_mask, self.amount, dim, scores)


class CustomFromMask(BasePruningMethod):
    """Apply a given mask (combined with any existing one)."""

    def __init__(self, mask):
        super().__init__()
        self.mask = mask

    def compute_mask(self, t, default_mask):
        mask = _data(self.mask)
        if tuple(mask.shape) != tuple(t.shape):
            raise ValueError(f"custom_from_mask: mask shape {tuple(mask.shape)} differs from "
                             f"the tensor's {tuple(t.shape)}")
        xp = get_array_module(t)
        return default_mask * xp.asarray(mask).astype(default_mask.dtype)


# ---------------------------------------------------------------- attaching to a module


def _find_hook(module, name):
    for hid, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            return hid, hook
    return None, None


def _attach(module, name, method, importance_scores=None):
    hid, old = _find_hook(module, name)
    if old is None:
        orig = module._parameters.get(name)
        if not isinstance(orig, Parameter):
            names = sorted(k for k, v in module._parameters.items() if v is not None)
            raise ValueError(f"prune: {type(module).__name__} has no parameter {name!r} "
                             f"(parameters: {names})")
        default_mask = get_array_module(orig.data).ones_like(orig.data)
    else:
        orig = getattr(module, name + "_orig")
        default_mask = getattr(module, name + "_mask").data
    # PyTorch scores by getattr(module, name): the weight as pruned so far
    scores = orig.data * default_mask if importance_scores is None else _data(importance_scores)
    if tuple(scores.shape) != orig.shape:
        raise ValueError(f"prune: importance_scores have shape {tuple(scores.shape)}, the "
                         f"parameter {name!r} has shape {orig.shape}")
    mask = method.compute_mask(scores, default_mask).astype(orig.dtype)
    if old is None:
        del module._parameters[name]
        module.register_parameter(name + "_orig", orig)
        module.register_buffer(name + "_mask", _make_tensor(mask, None, False))
    else:
        module._forward_pre_hooks.pop(hid)
        getattr(module, name + "_mask").data = mask
    module.register_forward_pre_hook(method)
    object.__setattr__(module, name, method.apply_mask(module))
    return module


def identity(module, name):
    """Attach the pruning machinery with a mask of ones."""
    return Identity.apply(module, name)


def random_unstructured(module, name, amount):
    """Prune ``amount`` of ``module.name``'s unpruned entries at random."""
    return RandomUnstructured.apply(module, name, amount)


def l1_unstructured(module, name, amount, importance_scores=None):
    """Prune ``amount`` of ``module.name``'s unpruned entries with the smallest |w| (or
    the smallest ``importance_scores``)."""
    return L1Unstructured.apply(module, name, amount, importance_scores=importance_scores)


def _param(module, name):
    """The trained Parameter behind ``module.name`` (``name_orig`` once pruned)."""
    p = module._parameters.get(name + "_orig")
    if p is None:
        p = module._parameters.get(name)
    if p is None:
        raise ValueError(f"prune: {type(module).__name__} has no parameter {name!r}")
    return p


def _grad_of(module, name, grad):
    if grad is not None:
        return _data(grad)
    p = _param(module, name)
    if p.grad is None:
        raise ValueError(f"saliency pruning of {type(module).__name__}.{name} needs a gradient: "
                         "run a backward pass first (or pass grad=...)")
    return p.grad.data


def saliency_unstructured(module, name, amount, grad=None):
    r"""Prune ``amount`` of the unpruned entries with the smallest saliency |w · g|, the
    first-order Taylor estimate |ΔL| ≈ |∂L/∂w · w| of the loss change when w is set to 0
    (Molchanov et al. 2017). ``g`` is ``grad`` or the parameter's current ``.grad``."""
    w = _param(module, name).data
    scores = get_array_module(w).abs(w * _grad_of(module, name, grad))
    return L1Unstructured.apply(module, name, amount, importance_scores=scores)


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    """Prune ``amount`` of the slices along ``dim`` with the smallest Lₙ norm: ``dim=0``
    removes whole output neurons of a Linear, whole filters of a Conv."""
    return LnStructured.apply(module, name, amount, n, dim,
                              importance_scores=importance_scores)


def random_structured(module, name, amount, dim):
    """Prune ``amount`` of the slices along ``dim`` of ``module.name``, chosen at random."""
    return RandomStructured.apply(module, name, amount, dim)


def custom_from_mask(module, name, mask):
    """Prune with a given 0/1 mask (Tensor or array of the parameter's shape)."""
    return CustomFromMask.apply(module, name, mask)


def _current(module, name):
    """(weights, mask) arrays of ``module.name``, pruned or not."""
    if _find_hook(module, name)[1] is not None:
        return getattr(module, name + "_orig").data, getattr(module, name + "_mask").data
    p = module._parameters.get(name)
    if p is None:
        raise ValueError(f"prune: {type(module).__name__} has no parameter {name!r}")
    return p.data, get_array_module(p.data).ones_like(p.data)


def global_unstructured(parameters, pruning_method=L1Unstructured, importance_scores=None,
                        **kwargs):
    """Prune the lowest-scoring ``amount`` of all unpruned entries of several tensors
    pooled together (one threshold for the whole model).

    Parameters
    ----------
    parameters : iterable of ``(module, name)``.
    pruning_method : an unstructured method class (``L1Unstructured``,
        ``RandomUnstructured``).
    importance_scores : dict ``{(module, name): scores}``; default: the weights.
    **kwargs : the method's arguments, e.g. ``amount=0.2``.
    """
    parameters = list(parameters)
    if not parameters:
        raise ValueError("global_unstructured: no parameters given")
    if getattr(pruning_method, "PRUNING_TYPE", None) != "unstructured":
        raise TypeError("global_unstructured works with unstructured methods only, got "
                        f"{getattr(pruning_method, '__name__', pruning_method)!r}")
    importance_scores = importance_scores or {}
    ws, ms, ss = [], [], []
    for module, name in parameters:
        w, m = _current(module, name)
        s = importance_scores.get((module, name), w)
        ws.append(w)
        ms.append(m)
        ss.append(_data(s).reshape(-1))
    xp = get_array_module(ws[0])
    flat_s = xp.concatenate([s.astype(xp.float64) for s in ss])
    flat_m = xp.concatenate([m.reshape(-1) for m in ms])
    flat_mask = pruning_method(**kwargs).compute_mask(flat_s, flat_m)
    start = 0
    for (module, name), m in zip(parameters, ms):
        piece = flat_mask[start:start + m.size].reshape(m.shape)
        start += m.size
        custom_from_mask(module, name, piece)
    return parameters


def global_saliency_unstructured(parameters, amount, grads=None):
    """:func:`global_unstructured` with the saliency |w · g| as score (``grads``: a dict
    ``{(module, name): g}``, default: the parameters' ``.grad``)."""
    parameters = list(parameters)
    grads = grads or {}
    scores = {}
    for module, name in parameters:
        w, _ = _current(module, name)
        scores[(module, name)] = get_array_module(w).abs(
            w * _grad_of(module, name, grads.get((module, name))))
    return global_unstructured(parameters, L1Unstructured, importance_scores=scores,
                               amount=amount)


def remove(module, name):
    """Make the pruning of ``module.name`` permanent: ``name`` becomes a Parameter holding
    ``name_orig * name_mask``; ``name_orig``, ``name_mask`` and the hook go away. As in
    PyTorch, it is the same Parameter object as before pruning (an optimizer built
    earlier keeps training it)."""
    hid, hook = _find_hook(module, name)
    if hook is None:
        raise ValueError(f"parameter {name!r} of {type(module).__name__} has not been pruned")
    orig = getattr(module, name + "_orig")
    orig.data = orig.data * getattr(module, name + "_mask").data
    module._forward_pre_hooks.pop(hid)
    del module._parameters[name + "_orig"]
    del module._buffers[name + "_mask"]
    module.__dict__.pop(name, None)
    module.register_parameter(name, orig)
    return module


def is_pruned(module):
    """True when any submodule of ``module`` carries a pruning hook."""
    return any(isinstance(h, BasePruningMethod)
               for m in module.modules() for h in m._forward_pre_hooks.values())


# --------------------------------------------------------------------------- reporting


class SparsityReport(OrderedDict):
    """``{parameter name: fraction of zeros}`` plus ``"global"``; ``str()`` is a table."""

    def __init__(self, rows, zeros, total):
        super().__init__((name, z / max(n, 1)) for name, z, n in rows)
        self["global"] = zeros / max(total, 1)
        self.rows = rows

    def __str__(self):
        width = max([len("parameter"), len("global")] + [len(r[0]) for r in self.rows])
        lines = [f"{'parameter':<{width}}  {'zeros':>9}  {'total':>9}  {'sparsity':>8}"]
        for name, z, n in self.rows:
            lines.append(f"{name:<{width}}  {z:>9d}  {n:>9d}  {z / max(n, 1):>8.2%}")
        z = sum(r[1] for r in self.rows)
        n = sum(r[2] for r in self.rows)
        lines.append(f"{'global':<{width}}  {z:>9d}  {n:>9d}  {self['global']:>8.2%}")
        return "\n".join(lines)


def sparsity(module, names=("weight",)):
    """Fraction of zeros of the effective (masked) tensors called one of ``names`` in every
    submodule, and over all of them (``"global"``). Pass ``names=None`` for every
    parameter."""
    rows = []
    for prefix, m in module.named_modules():
        dot = prefix + "." if prefix else ""
        pruned = {h._tensor_name for h in m._forward_pre_hooks.values()
                  if isinstance(h, BasePruningMethod)}
        keys = [k[:-5] for k in m._parameters if k.endswith("_orig") and k[:-5] in pruned]
        keys += [k for k, v in m._parameters.items() if v is not None and k not in
                 {p + "_orig" for p in pruned}]
        for k in keys:
            if names is not None and k not in names:
                continue
            w, mask = _current(m, k)
            eff = w * mask
            xp = get_array_module(eff)
            rows.append((dot + k, int(xp.count_nonzero(eff == 0)), int(eff.size)))
    z = sum(r[1] for r in rows)
    n = sum(r[2] for r in rows)
    return SparsityReport(rows, z, n)


# ------------------------------------------------------------ prune / fine-tune cycles


def sparsity_schedule(target, cycles, kind="geometric"):
    r"""Cumulative sparsity s_c after cycle c = 1..cycles, ending at ``target``.

    ``"geometric"``: the same fraction p of the remaining weights each cycle,
    s_c = 1 − (1 − target)^{c/cycles}. ``"cubic"`` (Zhu & Gupta 2017):
    s_c = target · (1 − (1 − c/cycles)³), fast first, slow at the end. ``"linear"``:
    s_c = target · c / cycles."""
    if not 0.0 <= target < 1.0:
        raise ValueError(f"sparsity_schedule: target must be in [0, 1), got {target}")
    if not isinstance(cycles, int) or cycles < 1:
        raise ValueError(f"sparsity_schedule: cycles must be a positive int, got {cycles!r}")
    c = np.arange(1, cycles + 1) / cycles
    if kind == "geometric":
        return list(1 - (1 - target) ** c)
    if kind == "cubic":
        return list(target * (1 - (1 - c) ** 3))
    if kind == "linear":
        return list(target * c)
    raise ValueError(f"sparsity_schedule: kind must be 'geometric', 'cubic' or 'linear', "
                     f"got {kind!r}")


def iterative_pruning(parameters, target_sparsity, cycles, fine_tune, *, method="l1",
                      schedule="geometric", report=None):
    r"""Prune / fine-tune cycles (Han et al. 2015): ``cycles`` times, prune globally up to
    the next cumulative sparsity of :func:`sparsity_schedule`, then call
    ``fine_tune(cycle)`` (which trains the pruned model; masks stay applied).

    The fraction pruned in cycle c is taken from what is left:
    a_c = 1 − (1 − s_c) / (1 − s_{c−1}).

    Parameters
    ----------
    parameters : list of ``(module, name)``.
    target_sparsity : final fraction of zeros over those tensors, in [0, 1).
    cycles : number of prune / fine-tune rounds.
    fine_tune : callable ``fine_tune(cycle) -> metric`` (anything, recorded).
    method : ``"l1"`` (global magnitude), ``"saliency"`` (global |w·g|, using the
        gradients left by the previous fine-tuning or by a backward pass before the call),
        ``"random"``, or a callable ``method(parameters, amount)``.
    schedule : "geometric" (default), "cubic" or "linear".
    report : optional callable ``report(cycle, sparsity, metric)``.

    Returns
    -------
    list of dicts ``{"cycle", "sparsity", "metric"}``, one per cycle, where "sparsity" is
    the measured global sparsity of those tensors after pruning.
    """
    parameters = list(parameters)
    if callable(method):
        prune_fn = method
    elif method == "l1":
        prune_fn = lambda ps, a: global_unstructured(ps, L1Unstructured, amount=a)
    elif method == "random":
        prune_fn = lambda ps, a: global_unstructured(ps, RandomUnstructured, amount=a)
    elif method == "saliency":
        prune_fn = global_saliency_unstructured
    else:
        raise ValueError(f"iterative_pruning: method must be 'l1', 'saliency', 'random' or "
                         f"a callable, got {method!r}")
    history = []
    previous = 0.0
    for cycle, s in enumerate(sparsity_schedule(target_sparsity, cycles, schedule), 1):
        amount = 1.0 - (1.0 - s) / (1.0 - previous)
        prune_fn(parameters, float(min(max(amount, 0.0), 1.0)))
        previous = s
        zeros = total = 0
        for module, name in parameters:
            w, m = _current(module, name)
            eff = w * m
            zeros += int(get_array_module(eff).count_nonzero(eff == 0))
            total += int(eff.size)
        measured = zeros / max(total, 1)
        metric = fine_tune(cycle)
        history.append({"cycle": cycle, "sparsity": measured, "metric": metric})
        if report is not None:
            report(cycle, measured, metric)
    return history

