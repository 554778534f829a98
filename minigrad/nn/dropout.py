r"""Dropout family: Dropout, Dropout1d/2d/3d (whole channels), DropConnect (weights),
StochasticDepth (whole residual branches).

Inverted dropout (Srivastava et al. 2014, in the form every framework uses): in training

.. math::  m \sim \text{Bernoulli}(1 - p), \qquad y = x \odot m / (1 - p)

so E[y] = x and evaluation is the identity (no rescaling at test time). ``p`` is the
probability of *dropping*. The mask is drawn from minigrad's seeded generator
(``mg.manual_seed``) and is a constant of the graph: gx = gy ⊙ m/(1 − p).

- Dropout1d/2d/3d (Tompson et al. 2015, "SpatialDropout"): one draw per (sample,
  channel), broadcast over the spatial dims — neighbouring pixels are correlated, so
  dropping single pixels barely regularizes a conv net.
- DropConnect (Wan et al. 2013): drop *weights* instead of activations,
  y = x (W ⊙ M / (1 − p))ᵀ + b.
- StochasticDepth (Huang et al. 2016): drop a residual branch for a whole sample,
  y = x + branch(x)·m_n/(1 − p) with one m_n per sample ("row" mode) or per batch.
- AlphaDropout / FeatureAlphaDropout (Klambauer et al. 2017): for SELU networks, dropped
  units take SELU's saturation value −λα and an affine map keeps mean 0 and variance 1.
"""
from __future__ import annotations

import numbers

from .. import random as _random
from ..ops.elementwise import const
from .linear import Linear, LinearFunction
from .module import Module

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout", "stochastic_depth", "Dropout", "Dropout1d", "Dropout2d",
           "Dropout3d", "AlphaDropout", "FeatureAlphaDropout", "DropConnect",
           "StochasticDepth"]


def _check_p(p, what):
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{what}: dropout probability has to be between 0 and 1, but got {p!r}")
    return float(p)


def _masked(input, mask_shape, p):
    """input · m / (1 − p) with m ~ Bernoulli(1 − p) of ``mask_shape`` (broadcast)."""
    if p == 1.0:
        return input * 0.0
    m = _random.bernoulli(mask_shape, 1.0 - p, input.dtype, input.device)
    return input * const(m * (1.0 / (1.0 - p)))


def dropout(input, p=0.5, training=True, inplace=False):
    r"""Inverted dropout: zero each element with probability ``p`` and scale the rest by
    1/(1 − p) in training; the identity otherwise (PyTorch's ``F.dropout``).

    ``inplace`` is accepted for compatibility; minigrad never modifies the input.

    >>> import minigrad as mg
    >>> mg.manual_seed(0)
    0
    >>> dropout(mg.ones(8), p=0.5)
    tensor([0., 2., 2., 2., 0., 0., 0., 0.])
    """
    p = _check_p(p, "dropout")
    if not training or p == 0.0:
        return input
    return _masked(input, input.shape, p)


def _channel_dropout(op, input, p, training, spatial):
    """Zero whole channels of (N, C, *spatial) inputs (or unbatched (C, *spatial)): one
    draw per (n, c), broadcast over the ``spatial`` trailing dims."""
    p = _check_p(p, op)
    if input.ndim not in (spatial + 1, spatial + 2):
        dims = ", ".join(("D", "H", "W")[3 - spatial:] if spatial > 1 else ("L",))
        raise ValueError(f"{op}: expected {spatial + 1}-D (C, {dims}) or {spatial + 2}-D "
                         f"(N, C, {dims}) input, got shape {input.shape}")
    if not training or p == 0.0:
        return input
    return _masked(input, input.shape[:-spatial] + (1,) * spatial, p)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels: input (N, C, H, W) → one draw per (n, c); a 3-D input is one
    unbatched sample (C, H, W)."""
    return _channel_dropout("dropout2d", input, p, training, 2)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels: input (N, C, D, H, W) → one draw per (n, c), broadcast over
    the volume; a 4-D input is one unbatched sample (C, D, H, W) (PyTorch's
    ``F.dropout3d``).

    >>> import minigrad as mg
    >>> _ = mg.manual_seed(0)
    >>> y = dropout3d(mg.ones(2, 3, 2, 2, 2), p=0.5)
    >>> y[:, :, 0, 0, 0].tolist()                      # one value per (sample, channel)
    [[0.0, 2.0, 2.0], [2.0, 0.0, 0.0]]
    >>> bool((y == y[:, :, :1, :1, :1]).all())
    True
    """
    return _channel_dropout("dropout3d", input, p, training, 3)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) (or unbatched (C, L)) inputs."""
    return _channel_dropout("dropout1d", input, p, training, 1)


# SELU's negative saturation value −λα (Klambauer et al. 2017): alpha dropout sets the
# dropped units to it, the value SELU gives for very negative inputs.
_ALPHA_PRIME = 1.7580993408473766


def _alpha_masked(input, mask_shape, p):
    r"""Alpha dropout with m ~ Bernoulli(1 − p) of ``mask_shape`` (broadcast):
    y = a·(x·m − α′·(1 − m)) + a·α′·p, a = ((1 − p)(1 + p·α′²))^(−½), which keeps mean 0
    and variance 1 of a unit-normal input (paper eq. 10–11; PyTorch's arithmetic)."""
    if p == 1.0:  # (PyTorch: the input times 0)
        return input * 0.0
    m = _random.bernoulli(mask_shape, 1.0 - p, input.dtype, input.device)
    a = 1.0 / ((1.0 - p) * (1.0 + p * _ALPHA_PRIME ** 2)) ** 0.5
    b = (m - 1.0) * (_ALPHA_PRIME * a) + _ALPHA_PRIME * a * p
    return input * const(m * a) + const(b)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    r"""Alpha dropout (Klambauer et al. 2017, for SELU networks): dropped units take SELU's
    saturation value −α′ (α′ = λα ≈ 1.7581) instead of 0, then an affine map a·y + b
    restores mean 0 and variance 1 (see ``_alpha_masked``). The identity when not
    ``training`` (PyTorch's default here is ``training=False``)."""
    p = _check_p(p, "alpha_dropout")
    if not training or p == 0.0:
        return input
    return _alpha_masked(input, input.shape, p)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels: one draw per (sample, channel) of an (N, C, *)
    input, broadcast over the rest (PyTorch's ``F.feature_alpha_dropout``)."""
    p = _check_p(p, "feature_alpha_dropout")
    if not training or p == 0.0:
        return input
    if input.ndim < 2:
        raise ValueError(f"feature_alpha_dropout: expected an (N, C, *) input, got shape "
                         f"{input.shape}")
    return _alpha_masked(input, input.shape[:2] + (1,) * (input.ndim - 2), p)


def stochastic_depth(input, p, mode="row", training=True):
    r"""Drop the residual-branch output ``input`` per sample (``mode="row"``) or for the
    whole batch (``mode="batch"``), scaling survivors by 1/(1 − p); torchvision's
    ``stochastic_depth``. Use as ``x + stochastic_depth(branch(x), p)``."""
    p = _check_p(p, "stochastic_depth")
    if mode not in ("row", "batch"):
        raise ValueError(f"stochastic_depth: mode has to be 'row' or 'batch', got {mode!r}")
    if not training or p == 0.0:
        return input
    shape = (input.shape[0],) + (1,) * (input.ndim - 1) if mode == "row" else (1,) * input.ndim
    return _masked(input, shape, p)


class _DropoutNd(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        self.p = _check_p(p, type(self).__name__)
        self.inplace = inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Inverted dropout (PyTorch's ``nn.Dropout``): active in ``train()``, the identity
    in ``eval()``."""

    def forward(self, input):
        return dropout(input, self.p, self.training)


class Dropout1d(_DropoutNd):
    """Channel dropout for (N, C, L) inputs (PyTorch's ``nn.Dropout1d``)."""

    def forward(self, input):
        return dropout1d(input, self.p, self.training)


class Dropout2d(_DropoutNd):
    """Channel ("spatial") dropout for (N, C, H, W) inputs (PyTorch's ``nn.Dropout2d``)."""

    def forward(self, input):
        return dropout2d(input, self.p, self.training)


class Dropout3d(_DropoutNd):
    """Channel dropout for (N, C, D, H, W) or (C, D, H, W) inputs (PyTorch's
    ``nn.Dropout3d``): whole 3-D feature maps are zeroed."""

    def forward(self, input):
        return dropout3d(input, self.p, self.training)


class AlphaDropout(_DropoutNd):
    """Alpha dropout for SELU networks (PyTorch's ``nn.AlphaDropout``): active in
    ``train()``, the identity in ``eval()``."""

    def forward(self, input):
        return alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels (PyTorch's ``nn.FeatureAlphaDropout``)."""

    def forward(self, input):
        return feature_alpha_dropout(input, self.p, self.training)


class DropConnect(Linear):
    r"""A Linear layer whose *weights* are dropped in training (Wan et al. 2013).

    Training: M ~ Bernoulli(1 − p) of W's shape, y = x (W ⊙ M/(1 − p))ᵀ + b;
    evaluation: y = x Wᵀ + b. Parameters and state dict are Linear's.

    Notes
    -----
    One mask per forward call, shared by the batch (the paper draws one per sample,
    which costs a matrix per sample); the bias is not dropped; inference uses the
    inverted scaling above rather than the paper's Gaussian moment matching.
    """

    def __init__(self, in_features, out_features, bias=True, p=0.5, device=None, dtype=None):
        self.p = _check_p(p, "DropConnect")
        super().__init__(in_features, out_features, bias, device, dtype)

    def forward(self, input):
        self._check_input(input)
        w = self.weight
        if self.training and self.p > 0.0:
            w = _masked(w, w.shape, self.p)
        if self.bias is None:
            return LinearFunction()(input, w)
        return LinearFunction()(input, w, self.bias)

    def extra_repr(self):
        return super().extra_repr() + f", p={self.p}"


class StochasticDepth(Module):
    """Drops its input (a residual branch's output) per sample with probability ``p``
    in training and scales the kept samples by 1/(1 − p) (torchvision's
    ``StochasticDepth(p, mode)``); the identity in eval."""

    def __init__(self, p, mode="row"):
        super().__init__()
        self.p = _check_p(p, "StochasticDepth")
        if mode not in ("row", "batch"):
            raise ValueError(f"StochasticDepth: mode has to be 'row' or 'batch', got {mode!r}")
        self.mode = mode

    def forward(self, input):
        return stochastic_depth(input, self.p, self.mode, self.training)

    def extra_repr(self):
        return f"p={self.p}, mode={self.mode}"
