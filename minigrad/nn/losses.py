r"""Loss functions and regularizers (PyTorch's ``torch.nn.functional`` losses and
``torch.nn`` loss modules), each built from differentiable minigrad ops, so every loss
has a backward of its backward.

Conventions (PyTorch's):

* ``input`` is the prediction, ``target`` the truth; a per-element loss ℓ is reduced by
  ``reduction``: ``"none"`` (ℓ itself), ``"mean"`` (the average) or ``"sum"``.
* Classification inputs have the class dimension at 1: ``(N, C)`` or ``(N, C, d₁, …)``,
  or ``(C,)`` for a single sample.
* Class weights, ``ignore_index`` and the class mask built from integer targets are
  constants: no gradient flows to them (PyTorch does not differentiate ``weight``
  either). Probability targets, regression targets and KL targets *are* differentiable.

The one-hot trick. With class indices tₙ, cross-entropy, NLL and label smoothing are all
one contraction of the log-probabilities with a constant coefficient tensor M::

    ℓₙ = −Σ_c M[n, c] · log pₙ,c
    M[n, c] = [tₙ ≠ ignore] · ((1 − ε)·w_tₙ·[c = tₙ] + (ε/C)·w_c)

so the gradient is −gy·M (plus the softmax's), with no scatter and no gather.

Departures from PyTorch (all deliberate, all raise instead of guessing):

* Regression losses (MSE, L1, Huber, smooth L1), BCE and KL require ``input`` and
  ``target`` of the same shape; PyTorch broadcasts them with a warning that the result
  is "likely incorrect".
* The deprecated ``size_average``/``reduce`` arguments do not exist; use ``reduction``.
  (So ``poisson_nll_loss``'s ``eps`` is its fifth positional argument, not its sixth.)
* The margin, ranking and likelihood losses (``margin_ranking_loss`` …
  ``gaussian_nll_loss``) broadcast their operands as PyTorch does, and raise a
  ValueError naming every shape where they do not broadcast.
* Loss modules print as PyTorch's do, ``MSELoss()``, their options kept as attributes;
  only ``DistillationLoss`` (minigrad's own) prints its options.
* ``soft_margin_loss`` is stable for any margin (PyTorch's overflows to inf past e^709)
  and differentiates its target (PyTorch refuses one that requires grad);
  ``poisson_nll_loss(full=True)`` gives a target gradient of −x where y = 0 (PyTorch's
  is NaN there).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ..autograd.function import Function, ieee
from ..dtypes import is_floating, require_floating
from ..ops.activation import Softplus
from ..ops.elementwise import const, in_float32, where
from ..ops.fused import check_class_indices, fused_cross_entropy
from ..ops.shape import broadcasts_to
from ..tensor import Tensor
from .module import Module

__all__ = [
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
    "distillation_loss", "entropy_penalty", "l1_penalty", "l2_penalty",
    "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "CrossEntropyLoss", "NLLLoss",
    "BCELoss", "BCEWithLogitsLoss", "KLDivLoss", "DistillationLoss",
    "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss",
    "pairwise_distance", "triplet_margin_loss", "triplet_margin_with_distance_loss",
    "soft_margin_loss", "multilabel_soft_margin_loss",
    "multi_margin_loss", "poisson_nll_loss", "gaussian_nll_loss",
    "MarginRankingLoss", "HingeEmbeddingLoss", "CosineEmbeddingLoss", "TripletMarginLoss",
    "TripletMarginWithDistanceLoss",
    "SoftMarginLoss", "MultiLabelSoftMarginLoss", "MultiMarginLoss", "PoissonNLLLoss",
    "GaussianNLLLoss", "multilabel_margin_loss", "MultiLabelMarginLoss",
]

_REDUCTIONS = ("none", "mean", "sum")


# --------------------------------------------------------------------------- helpers


def _check_reduction(name, reduction, allowed=_REDUCTIONS):
    if reduction not in allowed:
        choices = ", ".join(repr(r) for r in allowed)
        raise ValueError(f"{name}: reduction must be one of {choices}, got {reduction!r}")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _as_tensor(x, ref, name, what):
    """``x`` as a Tensor on ``ref``'s device (numbers and arrays become constants)."""
    if isinstance(x, Tensor):
        if x.device != ref.device:
            raise RuntimeError(f"{name}: {what} is on {x.device} but the input is on "
                               f"{ref.device}; move it with .to({ref.device!r})")
        return x
    if not isinstance(ref, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(ref).__name__}")
    arr = ref.xp.asarray(x)
    if is_floating(arr.dtype) or isinstance(x, float):
        arr = arr.astype(ref.dtype if is_floating(ref.dtype) else np.float32)
    return Tensor(arr)


def _elementwise_weight(x, ref, name, what):
    """``x`` (weight, pos_weight) as a Tensor beside ``ref`` that broadcasts to its shape."""
    w = _as_tensor(x, ref, name, what)
    if not broadcasts_to(w.shape, ref.shape):
        raise ValueError(f"{name}: {what} of shape {w.shape} does not broadcast to the "
                         f"input's shape {ref.shape}")
    return w


def _check_input(name, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    require_floating(name, input)


def _same_shape(name, input, target):
    if input.shape != target.shape:
        raise ValueError(f"{name}: input and target must have the same shape, got input "
                         f"{input.shape} and target {target.shape}")


def _pair(name, input, target):
    _check_input(name, input)
    target = _as_tensor(target, input, name, "target")
    _same_shape(name, input, target)
    return target


# --------------------------------------------------------------------------- regression


def _weighted(name, loss, input, weight, reduction, mean_over_weights):
    r"""PyTorch's elementwise ``weight`` of the regression losses: wᵢ·ℓᵢ, then ``"sum"``
    Σ wᵢℓᵢ, or ``"mean"`` Σ wᵢℓᵢ / Σ wᵢ (``mean_over_weights``, MSE and L1) or the plain
    average of wᵢℓᵢ (Huber), as PyTorch 2.13 reduces each. ``weight`` is differentiable."""
    if weight is None:
        return _reduce(loss, reduction)
    w = _as_tensor(weight, input, name, "weight")
    if w.shape != input.shape:
        raise ValueError(f"{name}: weight must have the input's shape {input.shape}, got "
                         f"{w.shape}")
    loss = loss * w
    if reduction == "mean" and mean_over_weights:
        return loss.sum() / w.sum()
    return _reduce(loss, reduction)


def mse_loss(input, target, reduction="mean", weight=None):
    r"""Mean squared error: ℓᵢ = (xᵢ − yᵢ)².

    Parameters
    ----------
    input, target : Tensors of the same shape (both differentiable).
    reduction : ``"none"``, ``"mean"`` (default) or ``"sum"``.
    weight : optional Tensor of the input's shape (PyTorch 2.13's argument): the loss is
        wᵢ·ℓᵢ, and ``"mean"`` is the weighted average Σ wᵢℓᵢ / Σ wᵢ.

    Examples
    --------
    >>> import minigrad as mg
    >>> from minigrad.nn.losses import mse_loss
    >>> mse_loss(mg.tensor([1.0, 2.0]), mg.tensor([0.0, 4.0]))
    tensor(2.5)
    """
    _check_reduction("mse_loss", reduction)
    target = _pair("mse_loss", input, target)
    d = input - target
    return _weighted("mse_loss", d * d, input, weight, reduction, mean_over_weights=True)


def l1_loss(input, target, reduction="mean", weight=None):
    r"""Mean absolute error: ℓᵢ = |xᵢ − yᵢ| (subgradient 0 at xᵢ = yᵢ, as PyTorch).

    ``weight`` (optional, the input's shape) weighs each term as in :func:`mse_loss`:
    ``"mean"`` is Σ wᵢℓᵢ / Σ wᵢ."""
    _check_reduction("l1_loss", reduction)
    target = _pair("l1_loss", input, target)
    return _weighted("l1_loss", (input - target).abs(), input, weight, reduction,
                     mean_over_weights=True)


@in_float32(autocast_list=True)
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    r"""Huber loss (Huber 1964): quadratic near zero, linear in the tails.

    With d = x − y::

        ℓ = ½ d²              if |d| < δ
        ℓ = δ (|d| − ½ δ)     otherwise

    Its gradient is d clipped to [−δ, δ]. ``huber_loss(delta=δ) = δ · smooth_l1_loss(beta=δ)``.

    ``weight`` (optional, the input's shape) multiplies each ℓᵢ; ``"mean"`` is then the plain
    average (1/n) Σ wᵢℓᵢ, not the weighted average of :func:`mse_loss` and :func:`l1_loss`:
    PyTorch 2.13 reduces the three that way, and so does minigrad.
    """
    _check_reduction("huber_loss", reduction)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    target = _pair("huber_loss", input, target)
    d = input - target
    a = d.abs()
    # the quadratic branch reads d clipped to [−δ, δ] (d itself where that branch is taken),
    # so that the branch not taken stays finite: an infinite d gets the gradient ±δ, not 0·∞
    q = d.clamp(-delta, delta)
    loss = where(a.data < delta, 0.5 * (q * q), delta * (a - 0.5 * delta))
    return _weighted("huber_loss", loss, input, weight, reduction, mean_over_weights=False)


@in_float32(autocast_list=True)
def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    r"""Smooth L1 loss (Girshick 2015, Fast R-CNN).

    With d = x − y::

        ℓ = ½ d² / β          if |d| < β
        ℓ = |d| − ½ β         otherwise

    ``beta=0`` is the L1 loss. Its gradient is d/β clipped to [−1, 1].
    """
    _check_reduction("smooth_l1_loss", reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    target = _pair("smooth_l1_loss", input, target)
    d = input - target
    a = d.abs()
    if beta == 0:
        return _reduce(a, reduction)
    q = d.clamp(-beta, beta)    # (as in huber_loss: the branch not taken stays finite)
    loss = where(a.data < beta, (0.5 / beta) * (q * q), a - 0.5 * beta)
    return _reduce(loss, reduction)


# --------------------------------------------------------------------------- classification


def _class_weight(name, weight, input, C):
    """The class weights as an array of ``input``'s dtype (a constant), or None."""
    if weight is None:
        return None
    w = weight.data if isinstance(weight, Tensor) else input.xp.asarray(weight)
    if isinstance(weight, Tensor) and weight.device != input.device:
        raise RuntimeError(f"{name}: weight is on {weight.device} but the input is on "
                           f"{input.device}")
    if w.shape != (C,):
        raise ValueError(f"{name}: weight must have shape ({C},), one per class, got "
                         f"{tuple(w.shape)} for input of shape {input.shape}")
    return w.astype(input.dtype, copy=False)


def _batched(name, input, target):
    """Give a single sample ``(C,)`` a batch dimension; return (input, target, unbatched)."""
    if input.ndim == 0:
        raise ValueError(f"{name}: input needs a class dimension, got a 0-d tensor")
    if input.ndim == 1:
        if target.ndim == 1 and not is_floating(target.dtype):
            if target.shape != (1,):  # PyTorch takes a class index of shape (1,) too
                raise ValueError(f"{name}: for an unbatched input of shape {input.shape}, "
                                 f"target must be one class index (shape () or (1,)), got "
                                 f"shape {target.shape}")
            target = target.reshape(())
        return input.unsqueeze(0), target.unsqueeze(0), True
    return input, target, False


def _index_mask(name, logp, target, weight, ignore_index, label_smoothing):
    """The coefficient tensor M (see the module docstring) and Σₙ [tₙ ≠ ignore]·w_tₙ, the
    denominator of the weighted mean. Both are arrays: constants for autograd."""
    xp = logp.xp
    N, C = logp.shape[0], logp.shape[1]
    expected = (N,) + logp.shape[2:]
    if target.shape != expected:
        raise ValueError(f"{name}: target of class indices must have shape {expected} for "
                         f"input of shape {logp.shape}, got target shape {target.shape}")
    t = target.data
    valid = check_class_indices(name, t, C, ignore_index)
    t = xp.where(valid, t, 0)
    dtype = logp.dtype
    valid = valid.astype(dtype)
    # one_hot[n, c, d...] = [c = tₙ,d...]
    classes = xp.arange(C).reshape((1, C) + (1,) * (t.ndim - 1))
    one_hot = (xp.expand_dims(t, 1) == classes).astype(dtype)
    w_t = valid if weight is None else weight[t] * valid  # w_tₙ·[tₙ ≠ ignore]
    M = one_hot * xp.expand_dims(w_t, 1)
    if label_smoothing:
        w_c = (xp.ones(C, dtype) if weight is None else weight).reshape(classes.shape)
        M = (1 - label_smoothing) * M + (label_smoothing / C) * w_c * xp.expand_dims(valid, 1)
    return M, w_t.sum()


def _nll(name, logp, target, weight, ignore_index, reduction, label_smoothing):
    """ℓₙ = −Σ_c M[n, c]·log pₙ,c reduced; the mean divides by Σₙ [tₙ ≠ ignore]·w_tₙ."""
    target = _as_tensor(target, logp, name, "target")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{name}: class-index targets must be an integer tensor, got "
                        f"{target.dtype} with shape {target.shape} for input of shape "
                        f"{logp.shape} (probability targets need the input's shape)")
    logp, target, unbatched = _batched(name, logp, target)
    weight = _class_weight(name, weight, logp, logp.shape[1])
    M, total_weight = _index_mask(name, logp, target, weight, ignore_index, label_smoothing)
    if bool(logp.xp.isinf(logp.data).any()):
        # A masked class (logit −inf) that the loss does not use must add 0, not 0·(−inf).
        logp = where(M != 0, logp, 0.0)
    if reduction == "none":
        loss = -(logp * const(M)).sum(1)
        return loss.squeeze(0) if unbatched else loss
    if reduction == "sum":
        return (logp * const(-M)).sum()
    # Fold −1/Σw into M: one multiply and one sum in the graph.
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = -M / total_weight
    if not total_weight:
        # Σw = 0 (every target ignored, or an empty batch): the mean is 0/0 = NaN, as
        # PyTorch, but an ignored target still contributes a zero gradient, not 0/0.
        kept = logp.xp.expand_dims(target.data != ignore_index, 1)
        coef = logp.xp.where(kept, coef, 0).astype(logp.dtype, copy=False)
        return (logp * const(coef)).sum() + math.nan
    return (logp * const(coef)).sum()


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    r"""Negative log-likelihood of class indices, from log-probabilities.

    ::

        ℓₙ = −w_tₙ · xₙ,tₙ · [tₙ ≠ ignore_index]
        mean: Σₙ ℓₙ / Σₙ w_tₙ·[tₙ ≠ ignore_index]       (the weighted mean, as PyTorch)

    Parameters
    ----------
    input : (N, C) or (N, C, d₁, …) or (C,) log-probabilities (e.g. ``log_softmax(x, 1)``).
    target : integer tensor of shape (N,) or (N, d₁, …) or (); values in [0, C) or
        ``ignore_index``.
    weight : optional (C,) class weights (a constant).
    ignore_index : targets equal to it contribute nothing, to the sum or to the mean's
        denominator (so the mean is 0/0 = NaN when every target is ignored, as PyTorch;
        the gradient is then zero).
    reduction : ``"none"``, ``"mean"`` or ``"sum"``.
    """
    _check_reduction("nll_loss", reduction)
    _check_input("nll_loss", input)
    return _nll("nll_loss", input, target, weight, ignore_index, reduction, 0.0)


@in_float32(autocast_list=True)
def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    r"""Cross-entropy between softmax(input) along dim 1 and the target.

    With log p = log_softmax(x, dim=1) and C classes:

    **Class indices** (integer target of shape (N,) or (N, d₁, …))::

        ℓₙ = [tₙ ≠ ignore] · ( (1 − ε)·w_tₙ·(−log pₙ,tₙ) + (ε/C)·Σ_c w_c·(−log pₙ,c) )
        mean: Σₙ ℓₙ / Σₙ w_tₙ·[tₙ ≠ ignore]

    **Class probabilities** (float target of the input's shape; ``ignore_index`` unused)::

        q = (1 − ε)·target + ε/C
        ℓₙ = −Σ_c w_c·qₙ,c·log pₙ,c
        mean: Σₙ ℓₙ / (number of ℓₙ)                    (not divided by the weights)

    ε is ``label_smoothing`` (Szegedy et al. 2016): the hard target is mixed with the
    uniform distribution; both formulas are PyTorch's, weights included. w_c = 1 when
    ``weight`` is None.

    Parameters
    ----------
    input : (N, C), (N, C, d₁, …) or (C,) logits.
    target : class indices (int) or class probabilities (float, same shape as input).
    weight : optional (C,) class weights (a constant).
    ignore_index : class-index targets equal to it are left out.
    reduction : ``"none"``, ``"mean"`` or ``"sum"``.
    label_smoothing : ε in [0, 1].

    Examples
    --------
    >>> import minigrad as mg
    >>> from minigrad.nn.losses import cross_entropy
    >>> logits = mg.tensor([[2.0, 0.0, 0.0]])
    >>> round(cross_entropy(logits, mg.tensor([0])).item(), 4)
    0.2395
    """
    name = "cross_entropy"
    _check_reduction(name, reduction)
    _check_input(name, input)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    target = _as_tensor(target, input, name, "target")
    if input.ndim == 0:
        raise ValueError(f"{name}: input needs a class dimension, got a 0-d tensor")
    if input.ndim == 2 and weight is None and target.dtype.kind in "iu" and \
            target.shape == (input.shape[0],) and input.xp is not np:
        # CUDA: the fused op (3 launches, where the composition below takes ~30 and waits
        # for the GPU three times), after the same check of the targets (one wait)
        check_class_indices(name, target.data, input.shape[1], ignore_index)
        return fused_cross_entropy(input, target, ignore_index, reduction, label_smoothing)
    class_dim = 0 if input.ndim == 1 else 1
    logp = input.log_softmax(class_dim)
    if not is_floating(target.dtype):
        return _nll(name, logp, target, weight, ignore_index, reduction, label_smoothing)

    # class probabilities
    if target.shape != input.shape:
        raise ValueError(f"{name}: probability targets must have the input's shape, got "
                         f"input {input.shape} and target {target.shape}")
    logp, target, unbatched = _batched(name, logp, target)
    C = logp.shape[1]
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / C
    w = _class_weight(name, weight, logp, C)
    if w is not None:
        target = target * const(w.reshape((1, C) + (1,) * (logp.ndim - 2)))
    loss = -(logp * target).sum(1)
    if unbatched:
        loss = loss.squeeze(0)
    return _reduce(loss, reduction)


# PyTorch's ε in the BCE gradient's denominator: 1e-12 as a float32 (9.99999996e-13)
_BCE_EPS = float(np.float32(1e-12))


class BinaryCrossEntropy(Function):
    r"""ℓ = −( y·max(log x, −100) + (1 − y)·max(log1p(−x), −100) ), elementwise
    (PyTorch's forward, log1p included).

    VJP, PyTorch's formulas::

        gx = gℓ · (x − y) / max(x(1 − x), ε)        ε = 1e-12 (a float32)
        gy = −gℓ · logit(x) = −gℓ · log(x / (1 − x))

    Wherever neither log is clamped (e^−100 < x < 1 − e^−100) these are the exact
    derivatives, written in tensor ops, so gradgradcheck passes there. At x = 0 or 1 they
    are not the derivative of the clamped forward (which is flat there): gx is
    (x − y)/ε (0 where x = y), the pull towards the target PyTorch gives, and gy is ±inf.
    """

    @ieee  # log 0 = −inf (then clamped), quietly
    def forward(self, xp, x, y):
        y = y.astype(x.dtype, copy=False)
        log_x = xp.maximum(xp.log(x), -100)
        log_1mx = xp.maximum(xp.log1p(-x), -100)
        return -(y * log_x + (1 - y) * log_1mx)

    def backward(self, gl):
        x, y = self.inputs
        need = self.needs_input_grad
        # (the Tensor ops are quiet themselves: logit(0) = −inf, logit(1) = inf)
        gx = gl * (x - y) / (x * (1 - x)).clamp(min=_BCE_EPS) if need[0] else None
        gy = -gl * (x / (1 - x)).log() if need[1] else None
        return gx, gy


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    r"""Binary cross-entropy of probabilities x ∈ [0, 1] against targets y::

        ℓᵢ = −wᵢ · ( yᵢ·log xᵢ + (1 − yᵢ)·log(1 − xᵢ) )

    Each log is clamped at −100, as PyTorch does, so x = 0 or 1 gives a finite loss, and
    the gradients are PyTorch's: gx = (x − y)/max(x(1 − x), 10⁻¹²) (finite at x = 0 or 1:
    0 where x = y, ±10¹² per unit of x − y otherwise) and gy = −logit(x) (±inf at x = 0
    or 1); see :class:`BinaryCrossEntropy`.
    Prefer :func:`binary_cross_entropy_with_logits` on logits: it is exact where
    sigmoid saturates.

    Parameters
    ----------
    input : probabilities in [0, 1].
    target : same shape, usually in [0, 1] (differentiable).
    weight : optional, broadcastable to the input (a rescaling per element).
    """
    name = "binary_cross_entropy"
    _check_reduction(name, reduction)
    target = _pair(name, input, target)
    x = input.data
    if x.size and (bool((x < 0).any()) or bool((x > 1).any()) or bool(input.isnan().any())):
        lo, hi = float(x.min()), float(x.max())
        raise ValueError(f"{name}: every input element must be a probability in [0, 1], got "
                         f"values in [{lo}, {hi}] (pass logits to "
                         "binary_cross_entropy_with_logits instead)")
    y = target.data
    if y.size and (bool((y < 0).any()) or bool((y > 1).any())):
        raise ValueError(f"{name}: every target element must be in [0, 1], got values in "
                         f"[{float(y.min())}, {float(y.max())}]")
    loss = BinaryCrossEntropy()(input, target)
    if weight is not None:
        loss = loss * _elementwise_weight(weight, input, name, "weight")
    return _reduce(loss, reduction)


@in_float32(autocast_list=True)
def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    r"""Binary cross-entropy of logits x against targets y, i.e. BCE(σ(x), y) computed
    stably (PyTorch's formula)::

        ℓᵢ = wᵢ · ( (1 − yᵢ)·xᵢ + (1 + (p − 1)·yᵢ)·softplus(−xᵢ) )

    softplus(−x) = log(1 + e⁻ˣ) = max(−x, 0) + log1p(e^(−|x|)) never overflows, so
    |x| ≥ 1e4 in float32 gives exact, finite losses and gradients σ(x) − y. ``pos_weight``
    p (broadcast along the last dimension, one per class) weighs the positive term, to
    trade recall against precision; p = 1 without it.
    """
    name = "binary_cross_entropy_with_logits"
    _check_reduction(name, reduction)
    target = _pair(name, input, target)
    softplus_neg = Softplus(1.0, math.inf)(-input)  # log(1 + e^(−x)), no threshold branch
    if pos_weight is None:
        loss = (1 - target) * input + softplus_neg
    else:
        p = _elementwise_weight(pos_weight, input, name, "pos_weight")
        loss = (1 - target) * input + (1 + (p - 1) * target) * softplus_neg
    if weight is not None:
        loss = loss * _elementwise_weight(weight, input, name, "weight")
    return _reduce(loss, reduction)


@in_float32(autocast_list=True)
def kl_div(input, target, reduction="mean", log_target=False):
    r"""Kullback–Leibler divergence KL(target ‖ input), PyTorch's pointwise form, with
    ``input`` the *log*-probabilities log q and ``target`` the probabilities p::

        ℓᵢ = pᵢ·(log pᵢ − log qᵢ)         (0 where pᵢ = 0)
        ℓᵢ = e^(tᵢ)·(tᵢ − log qᵢ)          with log_target=True (target t = log p)

    Reductions: ``"none"``, ``"sum"``, ``"batchmean"`` (Σℓ / N, the true KL per sample,
    what you almost always want), and ``"mean"`` (Σℓ / number of elements, PyTorch's
    default, which is *not* the KL divergence; kept for compatibility).
    """
    name = "kl_div"
    _check_reduction(name, reduction, _REDUCTIONS + ("batchmean",))
    target = _pair(name, input, target)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # p·log p with the convention 0·log 0 = 0 (and a zero gradient there); a negative
        # p is no probability and gives NaN, as PyTorch's xlogy
        zero = target.data == 0
        with np.errstate(invalid="ignore"):
            loss = target * where(zero, 1.0, target).log() - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction)


def distillation_loss(student_logits, teacher_logits, target, T=4.0, alpha=0.9,
                      reduction="mean"):
    r"""Knowledge-distillation loss (Hinton, Vinyals & Dean 2015)::

        L = α·T²·KL( softmax(t/T) ‖ softmax(s/T) ) + (1 − α)·CE(s, y)

    s are the student's logits, t the teacher's, y the hard labels, T the temperature.
    The soft targets softmax(t/T) carry the teacher's "dark knowledge" (how it ranks the
    wrong classes); the T² factor keeps the soft term's gradient magnitude independent
    of T (its gradients scale as 1/T²).

    The KL is summed over classes and averaged over samples (``"batchmean"``), the CE is
    the usual mean; ``reduction="none"`` gives the per-sample sum of both terms, and
    ``"sum"`` their sum over samples. Class dimension 1, as in :func:`cross_entropy`.

    Notes
    -----
    The teacher is not detached: compute its logits under ``mg.no_grad()`` (or pass
    ``teacher_logits.detach()``), as in the paper, where the teacher is fixed.
    """
    name = "distillation_loss"
    _check_reduction(name, reduction)
    _check_input(name, student_logits)
    teacher_logits = _as_tensor(teacher_logits, student_logits, name, "teacher_logits")
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(f"{name}: student and teacher logits must have the same shape, got "
                         f"{student_logits.shape} and {teacher_logits.shape}")
    if not T > 0:
        raise ValueError(f"{name}: temperature T must be positive, got {T}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"{name}: alpha must be in [0, 1], got {alpha}")
    class_dim = 0 if student_logits.ndim == 1 else 1
    log_q = (student_logits / T).log_softmax(class_dim)
    log_p = (teacher_logits / T).log_softmax(class_dim)
    kl = kl_div(log_q, log_p, reduction="none", log_target=True).sum(class_dim)
    ce = cross_entropy(student_logits, target, reduction="none")
    return _reduce((alpha * T * T) * kl + (1 - alpha) * ce, reduction)


# --------------------------------------------------------------------------- margins, ranking


def _broadcast(name, *named):
    """The broadcast shape of (label, tensor) pairs, or a ValueError naming every shape."""
    try:
        return np.broadcast_shapes(*(t.shape for _, t in named))
    except ValueError:
        shapes = ", ".join(f"{label} {t.shape}" for label, t in named)
        raise ValueError(f"{name}: shapes do not broadcast: {shapes}") from None


def _hinge(z):
    """max(0, z), with PyTorch's clamp_min subgradient at z = 0: 0 since PyTorch 2.14 (the
    composite losses, e.g. margin_ranking_loss, passed the gradient at the kink before)."""
    return z.clamp(min=0.0)


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction="mean"):
    r"""Margin ranking loss: y = 1 says x₁ should rank above x₂, y = −1 below::

        ℓᵢ = max(0, −yᵢ·(x₁ᵢ − x₂ᵢ) + margin)

    The three tensors must have the same number of dims and broadcast together (as
    PyTorch); all three are differentiable.

    Examples
    --------
    >>> import minigrad as mg
    >>> margin_ranking_loss(mg.tensor([2.0, 0.0]), mg.tensor([1.0, 1.0]), mg.tensor([1.0, 1.0]),
    ...                     margin=0.5, reduction="none")
    tensor([0. , 1.5])
    """
    name = "margin_ranking_loss"
    _check_reduction(name, reduction)
    _check_input(name, input1)
    input2 = _as_tensor(input2, input1, name, "input2")
    target = _as_tensor(target, input1, name, "target")
    if not input1.ndim == input2.ndim == target.ndim:
        raise ValueError(f"{name}: input1, input2 and target must have the same number of "
                         f"dims, got shapes {input1.shape}, {input2.shape} and {target.shape}")
    _broadcast(name, ("input1", input1), ("input2", input2), ("target", target))
    return _reduce(_hinge(-target * (input1 - input2) + margin), reduction)


def hinge_embedding_loss(input, target, margin=1.0, reduction="mean"):
    r"""Hinge embedding loss of distances x against labels y ∈ {1, −1}::

        ℓᵢ = xᵢ                      if yᵢ = 1
        ℓᵢ = max(0, margin − xᵢ)     if yᵢ = −1

    PyTorch's exact rule, which also says what any other label does:
    ℓ = [y ≠ 1]·max(0, margin − x) + [y ≠ −1]·x (so a label 0 gets both terms). The
    target is a constant (it only selects); input and target broadcast.
    """
    name = "hinge_embedding_loss"
    _check_reduction(name, reduction)
    _check_input(name, input)
    target = _as_tensor(target, input, name, "target")
    _broadcast(name, ("input", input), ("target", target))
    y = target.data
    loss = where(y != 1, _hinge(margin - input), 0.0) + where(y != -1, input, 0.0)
    return _reduce(loss, reduction)


# PyTorch's cosine_embedding_loss adds this to each squared norm (not F.cosine_similarity).
_COSINE_EPS = 1e-12


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction="mean"):
    r"""Cosine embedding loss: pull pairs with y = 1 together, push pairs with y = −1 below
    a cosine of ``margin``::

        cos = Σ x₁·x₂ / √((Σ x₁² + ε)·(Σ x₂² + ε))      (ε = 1e-12, sums over the features)
        ℓ = 1 − cos                  if y = 1
        ℓ = max(0, cos − margin)     if y = −1
        ℓ = 0                        otherwise

    Shapes: inputs (N, D) with target (N,), or inputs (D,) with a 0-d target. ε sits
    inside the square root, on the squared norms, as in PyTorch (``F.cosine_similarity``
    instead clamps each norm at 1e-8): the two agree except for near-zero vectors.
    """
    name = "cosine_embedding_loss"
    _check_reduction(name, reduction)
    _check_input(name, input1)
    input2 = _as_tensor(input2, input1, name, "input2")
    target = _as_tensor(target, input1, name, "target")
    if target.ndim not in (0, 1) or input1.ndim != target.ndim + 1 \
            or input2.ndim != target.ndim + 1:
        raise ValueError(f"{name}: expected inputs (N, D) with target (N,), or inputs (D,) "
                         f"with a 0-d target, got input1 {input1.shape}, input2 "
                         f"{input2.shape} and target {target.shape}")
    _broadcast(name, ("input1", input1), ("input2", input2))
    d = target.ndim  # the feature dim
    dot = (input1 * input2).sum(d)
    cos = dot / (((input1 * input1).sum(d) + _COSINE_EPS)
                 * ((input2 * input2).sum(d) + _COSINE_EPS)).sqrt()
    y = target.data
    loss = where(y == 1, 1 - cos, 0.0) + where(y == -1, _hinge(cos - margin), 0.0)
    return _reduce(loss, reduction)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    r"""d = ‖x₁ − x₂ + ε‖_p along the last dim, x₁ and x₂ broadcast together (PyTorch's
    ``F.pairwise_distance``; ε, added to the difference, keeps the gradient finite where
    x₁ = x₂)."""
    from ..linalg import vector_norm

    _broadcast("pairwise_distance", ("x1", x1), ("x2", x2))
    diff = x1 - x2 + eps
    # any real p, as PyTorch: 0 counts the nonzero differences, p < 0 is (Σ|d|^p)^(1/p)
    return vector_norm(diff, p, diff.ndim - 1 if diff.ndim else None, keepdim)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        reduction="mean"):
    r"""Triplet margin loss (Schroff et al. 2015, FaceNet), with distances along the last
    dim::

        d(a, b) = ‖a − b + ε‖_p
        ℓ = max(0, d(a, p) − d(a, n) + margin)

    With ``swap=True`` (Balntas et al. 2016) the negative distance is
    min(d(a, n), d(p, n)): the harder of the two. ε is added to the difference (not to
    the norm), as PyTorch; ``margin`` must be positive.
    """
    return _triplet("triplet_margin_loss", anchor, positive, negative,
                    lambda a, b: pairwise_distance(a, b, p, eps), margin, swap, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    r"""The triplet margin loss with any distance d (PyTorch's
    ``F.triplet_margin_with_distance_loss``)::

        ℓ = max(0, d(a, p) − d(a, n) + margin),   d = distance_function

    ``distance_function(x, y)`` returns one distance per triplet (default: the pairwise
    Euclidean distance ‖x − y + 10⁻⁶‖₂ along the last dim, as in
    :func:`triplet_margin_loss`); a cosine distance ``1 − cosine_similarity(x, y)`` is a
    common choice. ``swap`` takes min(d(a, n), d(p, n)) as the negative distance.
    """
    name = "triplet_margin_with_distance_loss"
    if distance_function is None:
        def distance_function(x, y):
            return pairwise_distance(x, y)
    elif not callable(distance_function):
        raise TypeError(f"{name}: distance_function must be callable, got "
                        f"{type(distance_function).__name__}")

    def distance(a, b):
        d = distance_function(a, b)
        if not isinstance(d, Tensor):
            raise TypeError(f"{name}: distance_function must return a Tensor, got "
                            f"{type(d).__name__}")
        return d

    return _triplet(name, anchor, positive, negative, distance, margin, swap, reduction)


def _triplet(name, anchor, positive, negative, distance, margin, swap, reduction):
    """max(0, d(a, p) − d(a, n) + margin), reduced; the checks both triplet losses share."""
    _check_reduction(name, reduction)
    if not margin > 0:
        raise ValueError(f"{name}: margin must be greater than 0, got {margin}")
    _check_input(name, anchor)
    positive = _as_tensor(positive, anchor, name, "positive")
    negative = _as_tensor(negative, anchor, name, "negative")
    if not anchor.ndim == positive.ndim == negative.ndim or anchor.ndim == 0:
        raise ValueError(f"{name}: anchor, positive and negative must have the same number "
                         f"(≥ 1) of dims, got shapes {anchor.shape}, {positive.shape} and "
                         f"{negative.shape}")
    _broadcast(name, ("anchor", anchor), ("positive", positive), ("negative", negative))
    d_pos = distance(anchor, positive)
    d_neg = distance(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(distance(positive, negative))
    return _reduce(_hinge(d_pos - d_neg + margin), reduction)


def soft_margin_loss(input, target, reduction="mean"):
    r"""Soft margin loss: the logistic loss of x against labels y ∈ {1, −1}::

        ℓᵢ = log(1 + exp(−yᵢ·xᵢ))

    computed as softplus(−y·x), which never overflows (PyTorch's log1p(exp(·)) gives inf
    once −y·x passes the largest exponent, about 89 in float32 and 710 in float64; here
    it is −y·x, the exact value). The target broadcasts to the input's shape, and is
    differentiable (PyTorch refuses a target that requires grad).
    """
    name = "soft_margin_loss"
    _check_reduction(name, reduction)
    _check_input(name, input)
    target = _as_tensor(target, input, name, "target")
    if _broadcast(name, ("input", input), ("target", target)) != input.shape:
        raise ValueError(f"{name}: target {target.shape} must broadcast to the input's shape "
                         f"{input.shape}")
    return _reduce(Softplus(1.0, math.inf)(-(input * target)), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, reduction="mean"):
    r"""Multi-label one-versus-all logistic loss over the C classes of the last dim::

        ℓₙ = −(1/C)·Σ_c w_c·( yₙ,c·log σ(xₙ,c) + (1 − yₙ,c)·log σ(−xₙ,c) )

    one value per sample (the reduction is over samples). ``input`` is (N, C) or (C,),
    ``target`` in {0, 1} (or a probability) of the same shape; ``weight`` multiplies the
    per-class terms and broadcasts. log σ(x) = −softplus(−x), stable for any |x|.
    Target and weight are differentiable, as in PyTorch.
    """
    name = "multilabel_soft_margin_loss"
    _check_reduction(name, reduction)
    _check_input(name, input)
    if input.ndim == 0:
        raise ValueError(f"{name}: input needs a class dimension, got a 0-d tensor")
    target = _as_tensor(target, input, name, "target")
    _broadcast(name, ("input", input), ("target", target))
    # one Function object per call: each keeps its own inputs for the backward
    loss = (target * Softplus(1.0, math.inf)(-input)
            + (1 - target) * Softplus(1.0, math.inf)(input))
    if weight is not None:
        weight = _as_tensor(weight, input, name, "weight")
        _broadcast(name, ("input", input), ("weight", weight))
        loss = loss * weight
    C = input.shape[-1]
    return _reduce(loss.sum(-1) / C, reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    r"""Multi-class hinge loss (Weston & Watkins 1999; Crammer & Singer's sum form), with y
    the target class of each sample::

        ℓₙ = (1/C)·Σ_{c ≠ yₙ} w_yₙ·max(0, margin − xₙ,yₙ + xₙ,c)^p        (p = 1 or 2)

    ``input`` (N, C) or (C,); ``target`` integer class indices (N,) or (); ``weight`` an
    optional (C,) constant (PyTorch has no gradient for it either).
    """
    name = "multi_margin_loss"
    _check_reduction(name, reduction)
    _check_input(name, input)
    if p not in (1, 2):
        raise ValueError(f"{name}: only p == 1 and p == 2 are supported, got p={p}")
    target = _as_tensor(target, input, name, "target")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold integer class indices, got {target.dtype}")
    if input.ndim == 1 and target.shape == (1,):  # PyTorch takes a (1,) target there too
        target = target.reshape(())
    if input.ndim not in (1, 2) or target.shape != input.shape[:-1]:
        raise ValueError(f"{name}: expected input (N, C) with target (N,), or input (C,) with "
                         f"a 0-d or (1,) target, got input {input.shape} and target "
                         f"{target.shape}")
    C = input.shape[-1]
    w = _class_weight(name, weight, input, C)
    xp = input.xp
    t = target.data
    if t.size and (int(t.min()) < 0 or int(t.max()) >= C):
        raise IndexError(f"{name}: target class indices must be in [0, {C}), got values in "
                         f"[{int(t.min())}, {int(t.max())}]")
    is_y = t[..., None] == xp.arange(C)
    # the target class's score picked (a product with a one-hot mask would be 0·∞ = NaN
    # for an infinite score), and its own term dropped by where for the same reason
    x_y = input.gather(-1, const(t[..., None]))
    h = (input - x_y + margin).relu()  # PyTorch's kernel: no gradient where the term is 0
    if p == 2:
        h = h * h
    h = where(const(is_y), 0.0, h)                      # c ≠ y
    coef = 1 / C if w is None else const(w[t][..., None] / C)
    return _reduce((h * coef).sum(-1), reduction)


def multilabel_margin_loss(input, target, reduction="mean"):
    r"""Multi-label hinge loss (PyTorch's ``F.multilabel_margin_loss``): every target
    class should score at least 1 above every non-target class::

        ℓₙ = (1/C)·Σ_{j ∈ Yₙ} Σ_{i ∉ Yₙ} max(0, 1 − (xₙ,j − xₙ,i))

    ``target`` holds class indices, not a 0/1 mask: Yₙ is the list tₙ,₀, tₙ,₁, … up to
    the first −1 (the rest of the row is padding and ignored), so a sample may have any
    number of labels. A class listed twice is counted twice, as in PyTorch.

    Parameters
    ----------
    input : (N, C), (C,) or () scores (C ≥ 1).
    target : integer tensor of the input's shape, values in [−1, C) (every entry is
        checked, padding included, as PyTorch does).
    reduction : ``"none"`` (shape (N,), or () for an unbatched input), ``"mean"`` (over
        the samples) or ``"sum"``.

    Gradient: ∓1/C to xₙ,j and xₙ,i for each active hinge (0 where the hinge is exactly
    0, as PyTorch); the target and its mask are constants. The function is piecewise
    linear, so its second derivative is 0.

    Notes
    -----
    The mean of an empty batch is NaN (PyTorch 2 returns an arbitrary number there).

    Examples
    --------
    >>> import minigrad as mg
    >>> x = mg.tensor([[0.1, 0.2, 0.4, 0.8]])
    >>> multilabel_margin_loss(x, mg.tensor([[3, 0, -1, 1]]))    # labels {3, 0}
    tensor(0.85)
    """
    name = "multilabel_margin_loss"
    _check_reduction(name, reduction)
    _check_input(name, input)
    target = _as_tensor(target, input, name, "target")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold integer class indices (padded with -1), "
                        f"got {target.dtype}")
    if input.ndim > 2 or 0 in input.shape[-1:]:
        raise ValueError(f"{name}: expected a non-empty vector (C,) or a matrix (N, C) "
                         f"with C ≥ 1, got input of shape {input.shape}")
    if target.shape != input.shape:
        raise ValueError(f"{name}: target must have the input's shape, got input "
                         f"{input.shape} and target {target.shape}")
    C = input.shape[-1] if input.ndim else 1
    xp = input.xp
    x = input.reshape(-1, C)
    t = target.data.reshape(-1, C)
    if t.size and (int(t.min()) < -1 or int(t.max()) >= C):
        raise IndexError(f"{name}: target values must be class indices in [0, {C}) or -1 "
                         f"(the padding), got values in [{int(t.min())}, {int(t.max())}]")
    listed = xp.cumprod(t >= 0, axis=1).astype(bool)        # j before the first −1
    t = xp.where(listed, t, 0)
    is_target = (listed[:, :, None] & (t[:, :, None] == xp.arange(C))).any(1)  # (N, C)
    x_y = x[xp.arange(x.shape[0])[:, None], t]              # xₙ,tⱼ: (N, J)
    z = 1 - x_y.unsqueeze(2) + x.unsqueeze(1)               # 1 − (xₙ,tⱼ − xₙ,ᵢ): (N, J, C)
    pairs = (listed[:, :, None] & ~is_target[:, None, :]).astype(input.dtype)
    loss = (_hinge(z) * const(pairs)).sum((1, 2)) / C
    if input.ndim < 2:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


# --------------------------------------------------------------------------- likelihoods


def poisson_nll_loss(input, target, log_input=True, full=False, eps=1e-8, reduction="mean"):
    r"""Negative log-likelihood of a count y under Poisson(λ), dropping log(y!)::

        ℓ = exp(x) − y·x                  log_input=True  (x = log λ)
        ℓ = x − y·log(x + eps)            log_input=False (x = λ)

    With ``full=True`` the Stirling approximation of log(y!) is added where y > 1::

        y·log y − y + ½·log(2π·y)

    (for y ≤ 1 it is left out, as PyTorch, where log(y!) = 0 exactly). Input and target
    broadcast; both are differentiable (the Stirling term's gradient is 0 where y ≤ 1).

    PyTorch's positional order puts the deprecated ``size_average`` before ``eps``; here
    ``eps`` is the fifth positional argument (pass it by keyword).
    """
    name = "poisson_nll_loss"
    _check_reduction(name, reduction)
    _check_input(name, input)
    target = _as_tensor(target, input, name, "target")
    _broadcast(name, ("input", input), ("target", target))
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        counted = target.data > 1
        y = where(counted, target, 2.0)  # any y > 1 where the term is dropped: no log 0
        stirling = y * y.log() - y + 0.5 * (2 * math.pi * y).log()
        loss = loss + where(counted, stirling, 0.0)
    return _reduce(loss, reduction)


def _gaussian_var(name, var, input):
    """var as a Tensor that broadcasts against input, by PyTorch's rules: the input's
    shape; the input's shape without its last dim (unsqueezed); or the input's shape
    with one dim of size 1 (homoscedastic). A number is the same variance everywhere."""
    if not isinstance(var, Tensor):
        if not isinstance(var, numbers.Real):
            raise TypeError(f"{name}: var must be a Tensor or a number, got "
                            f"{type(var).__name__}")
        if var < 0:
            raise ValueError(f"{name}: var has negative entry/entries ({var})")
        return Tensor(input.xp.full(input.shape, var, dtype=input.dtype))
    var = _as_tensor(var, input, name, "var")
    if bool((var.data < 0).any()):
        raise ValueError(f"{name}: var has negative entry/entries")
    if var.shape == input.shape:
        return var
    if var.shape == input.shape[:-1]:
        return var.unsqueeze(-1)
    if var.ndim == input.ndim and sum(
            v for i, v in zip(input.shape, var.shape) if i != v) == 1:
        return var
    raise ValueError(f"{name}: var is of incorrect size {var.shape} for input {input.shape}: "
                     "expected the input's shape, the input's shape without its last dim, "
                     "or the input's shape with one dim of size 1")


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    r"""Negative log-likelihood of y under N(μ = x, σ² = var)::

        ℓ = ½·( log max(var, eps) + (x − y)² / max(var, eps) )   (+ ½·log 2π with full)

    ``var`` (positive) has the input's shape (one variance per prediction), or the
    input's shape without its last dim, or with one dim of size 1 (shared along it), or
    is a number. The clamp at ``eps`` is PyTorch's: it changes the value but not the
    gradient, which passes straight through to ``var`` (the clamp runs under no_grad).
    Input, target and var are differentiable.
    """
    name = "gaussian_nll_loss"
    _check_reduction(name, reduction)
    _check_input(name, input)
    target = _as_tensor(target, input, name, "target")
    var = _gaussian_var(name, var, input)
    _broadcast(name, ("input", input), ("target", target), ("var", var))
    v = var.data
    if bool((v < eps).any()):
        # value max(var, eps), gradient 1 (straight through, as PyTorch's no_grad clamp_)
        var = var + const(var.xp.maximum(v, eps).astype(v.dtype) - v)
    d = input - target
    loss = 0.5 * (var.log() + d * d / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# --------------------------------------------------------------------------- regularizers


def entropy_penalty(logits, dim=1, reduction="mean"):
    r"""Predictive entropy H(p) = −Σ_c p_c·log p_c of p = softmax(logits) along ``dim``
    (the class dimension; 0 for a 1-D input), averaged over the samples.

    Adding −β·H to the loss is the *confidence penalty* of Pereyra et al. (2017), which
    discourages over-confident predictions; adding +β·H is entropy minimisation
    (Grandvalet & Bengio 2004), which pushes unlabelled predictions towards confidence.
    """
    _check_reduction("entropy_penalty", reduction)
    _check_input("entropy_penalty", logits)
    if logits.ndim == 1:
        dim = 0
    logp = logits.log_softmax(dim)
    H = -(logp.exp() * logp).sum(dim)
    return _reduce(H, reduction)


def _param_list(name, params):
    if isinstance(params, Tensor):
        params = [params]
    params = list(params)
    if not params:
        raise ValueError(f"{name}: got no parameters")
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}: expected Tensors, got {type(p).__name__}")
    return params


def l1_penalty(params):
    r"""Σᵢ Σ |θᵢ|: the L1 (lasso) penalty of all ``params`` (a Tensor or an iterable, e.g.
    ``model.parameters()``). Add λ·l1_penalty(params) to the loss for sparse weights."""
    params = _param_list("l1_penalty", params)
    total = params[0].abs().sum()
    for p in params[1:]:
        total = total + p.abs().sum()
    return total


def l2_penalty(params):
    r"""½ Σᵢ ‖θᵢ‖²: the L2 (ridge) penalty of all ``params``.

    The ½ makes its gradient θ, so adding λ·l2_penalty(params) to the loss is exactly
    coupled weight decay, ``SGD(..., weight_decay=λ)`` (not AdamW's decoupled decay).
    """
    params = _param_list("l2_penalty", params)
    total = (params[0] * params[0]).sum()
    for p in params[1:]:
        total = total + (p * p).sum()
    return 0.5 * total


# --------------------------------------------------------------------------- modules

def _buffer_tensor(x):
    return x if x is None or isinstance(x, Tensor) else Tensor(x)


class _Loss(Module):
    """A loss module: stores the options, ``forward`` calls the function of the same name
    (hyperparameters are validated here, at construction). Its repr is the bare class
    name, ``MSELoss()``, as PyTorch prints it; the options are attributes."""

    _reductions = _REDUCTIONS

    def __init__(self, reduction="mean"):
        super().__init__()
        _check_reduction(type(self).__name__, reduction, self._reductions)
        self.reduction = reduction


class MSELoss(_Loss):
    """Module form of :func:`mse_loss`: ℓ = (x − y)²."""

    def forward(self, input, target):
        return mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Module form of :func:`l1_loss`: ℓ = |x − y|."""

    def forward(self, input, target):
        return l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """Module form of :func:`huber_loss`: ½d² for |d| < δ, else δ(|d| − ½δ)."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be positive, got {delta}")
        self.delta = delta

    def forward(self, input, target):
        return huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SmoothL1Loss(_Loss):
    """Module form of :func:`smooth_l1_loss`: ½d²/β for |d| < β, else |d| − ½β."""

    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction)
        if beta < 0:
            raise ValueError(f"SmoothL1Loss: beta must be non-negative, got {beta}")
        self.beta = beta

    def forward(self, input, target):
        return smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class NLLLoss(_Loss):
    """Module form of :func:`nll_loss` (input: log-probabilities). ``weight`` is a buffer,
    as in PyTorch: it is in the state dict and moves with ``.to(device)``."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _buffer_tensor(weight))
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                        reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """Module form of :func:`cross_entropy` (input: logits; target: class indices or
    probabilities). ``weight`` is a buffer, as in PyTorch.

    Examples
    --------
    >>> import minigrad as mg
    >>> loss_fn = CrossEntropyLoss(label_smoothing=0.1)
    >>> loss = loss_fn(mg.randn(4, 10, requires_grad=True), mg.tensor([1, 0, 9, 3]))
    >>> loss.shape
    ()
    """

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got "
                             f"{label_smoothing}")
        self.register_buffer("weight", _buffer_tensor(weight))
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                             reduction=self.reduction, label_smoothing=self.label_smoothing)


class BCELoss(_Loss):
    """Module form of :func:`binary_cross_entropy` (input: probabilities)."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _buffer_tensor(weight))

    def forward(self, input, target):
        return binary_cross_entropy(input, target, weight=self.weight,
                                    reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Module form of :func:`binary_cross_entropy_with_logits` (input: logits);
    ``weight`` and ``pos_weight`` are buffers, as in PyTorch."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.register_buffer("weight", _buffer_tensor(weight))
        self.register_buffer("pos_weight", _buffer_tensor(pos_weight))

    def forward(self, input, target):
        return binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                reduction=self.reduction,
                                                pos_weight=self.pos_weight)


class KLDivLoss(_Loss):
    """Module form of :func:`kl_div` (input: log-probabilities). Use
    ``reduction="batchmean"`` for the KL divergence per sample."""

    _reductions = _REDUCTIONS + ("batchmean",)

    def __init__(self, reduction="mean", log_target=False):
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class DistillationLoss(_Loss):
    r"""Module form of :func:`distillation_loss`:
    α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α)·CE(s, y).

    ``forward(student_logits, teacher_logits, target)``.
    """

    def __init__(self, T=4.0, alpha=0.9, reduction="mean"):
        super().__init__(reduction)
        if not T > 0:
            raise ValueError(f"DistillationLoss: temperature T must be positive, got {T}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"DistillationLoss: alpha must be in [0, 1], got {alpha}")
        self.T, self.alpha = T, alpha

    def forward(self, student_logits, teacher_logits, target):
        return distillation_loss(student_logits, teacher_logits, target, T=self.T,
                                 alpha=self.alpha, reduction=self.reduction)

    def extra_repr(self):  # minigrad's own loss: no PyTorch text to match
        return f"T={self.T}, alpha={self.alpha}, reduction={self.reduction!r}"


class MarginRankingLoss(_Loss):
    """Module form of :func:`margin_ranking_loss`: max(0, −y·(x₁ − x₂) + margin).
    ``forward(input1, input2, target)``."""

    def __init__(self, margin=0.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return margin_ranking_loss(input1, input2, target, self.margin, self.reduction)


class HingeEmbeddingLoss(_Loss):
    """Module form of :func:`hinge_embedding_loss`: x for y = 1, max(0, margin − x) for
    y = −1."""

    def __init__(self, margin=1.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input, target):
        return hinge_embedding_loss(input, target, self.margin, self.reduction)


class CosineEmbeddingLoss(_Loss):
    """Module form of :func:`cosine_embedding_loss`: 1 − cos for y = 1,
    max(0, cos − margin) for y = −1. ``forward(input1, input2, target)``."""

    def __init__(self, margin=0.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return cosine_embedding_loss(input1, input2, target, self.margin, self.reduction)


class TripletMarginLoss(_Loss):
    """Module form of :func:`triplet_margin_loss`: max(0, d(a, p) − d(a, n) + margin).
    ``forward(anchor, positive, negative)``."""

    def __init__(self, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction="mean"):
        super().__init__(reduction)
        if not margin > 0:
            raise ValueError(f"TripletMarginLoss: margin must be greater than 0, got {margin}")
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor, positive, negative):
        return triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps,
                                   self.swap, self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    """Module form of :func:`triplet_margin_with_distance_loss`: max(0, d(a, p) − d(a, n)
    + margin) for a distance function d. ``forward(anchor, positive, negative)``."""

    def __init__(self, *, distance_function=None, margin=1.0, swap=False, reduction="mean"):
        super().__init__(reduction)
        if not margin > 0:
            raise ValueError("TripletMarginWithDistanceLoss: margin must be greater than 0, "
                             f"got {margin}")
        if distance_function is not None and not callable(distance_function):
            raise TypeError("TripletMarginWithDistanceLoss: distance_function must be "
                            f"callable, got {type(distance_function).__name__}")
        self.distance_function, self.margin, self.swap = distance_function, margin, swap

    def forward(self, anchor, positive, negative):
        return triplet_margin_with_distance_loss(
            anchor, positive, negative, distance_function=self.distance_function,
            margin=self.margin, swap=self.swap, reduction=self.reduction)


class SoftMarginLoss(_Loss):
    """Module form of :func:`soft_margin_loss`: log(1 + exp(−y·x))."""

    def forward(self, input, target):
        return soft_margin_loss(input, target, self.reduction)


class MultiLabelSoftMarginLoss(_Loss):
    """Module form of :func:`multilabel_soft_margin_loss`; ``weight`` is a buffer, as in
    PyTorch."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _buffer_tensor(weight))

    def forward(self, input, target):
        return multilabel_soft_margin_loss(input, target, self.weight, self.reduction)


class MultiMarginLoss(_Loss):
    """Module form of :func:`multi_margin_loss` (p = 1 or 2); ``weight`` is a buffer, as in
    PyTorch."""

    def __init__(self, p=1, margin=1.0, weight=None, reduction="mean"):
        super().__init__(reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 are supported, got {p}")
        weight = _buffer_tensor(weight)
        if weight is not None and weight.ndim != 1:
            raise ValueError(f"MultiMarginLoss: weight must be one-dimensional, got shape "
                             f"{weight.shape}")
        self.p, self.margin = p, margin
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return multi_margin_loss(input, target, self.p, self.margin, self.weight,
                                 self.reduction)


class MultiLabelMarginLoss(_Loss):
    """Module form of :func:`multilabel_margin_loss`: (1/C)·Σ_{j ∈ Y} Σ_{i ∉ Y}
    max(0, 1 − (x_j − x_i)), the target a list of class indices padded with −1."""

    def forward(self, input, target):
        return multilabel_margin_loss(input, target, self.reduction)


class PoissonNLLLoss(_Loss):
    """Module form of :func:`poisson_nll_loss`: exp(x) − y·x (log_input) or
    x − y·log(x + eps), plus the Stirling term with ``full``."""

    def __init__(self, log_input=True, full=False, eps=1e-8, reduction="mean"):
        super().__init__(reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input, target):
        return poisson_nll_loss(log_input, target, self.log_input, self.full, self.eps,
                                self.reduction)


class GaussianNLLLoss(_Loss):
    """Module form of :func:`gaussian_nll_loss`: ½(log var + (x − y)²/var).
    ``forward(input, target, var)``; the options are keyword-only, as in PyTorch."""

    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__(reduction)
        self.full, self.eps = full, eps

    def forward(self, input, target, var):
        return gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)
