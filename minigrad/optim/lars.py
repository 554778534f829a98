r"""LARS: layer-wise adaptive rate scaling, for SGD with very large batches.

Intuition
---------
With large batches one wants a large learning rate, but the ratio ‖g‖/‖θ‖ differs by
orders of magnitude between layers, so a rate that suits one layer blows up another.
LARS gives each layer (each parameter tensor) its own local rate, proportional to
‖θ‖/‖g‖, so every layer moves by about the same *fraction* η of its norm per step;
then it takes an ordinary momentum-SGD step with that rate.

Algorithm
---------
.. code-block:: text

    input : γ (lr), θ₀ (params), f(θ) (objective), μ (momentum), λ (weight decay),
            η (trust_coefficient), exclude_1d, maximize
    initialize : b₀ ← 0
    for t = 1, 2, ... do
        for each parameter tensor (layer) θ:
            g_t ← ∇_θ f_t(θ_{t−1})
            if maximize: g_t ← −g_t
            if exclude_1d and θ is 1-D (a bias or a norm scale):
                d_t ← g_t                                  (no decay, no adaptation)
            else:
                γ_local ← η ‖θ_{t−1}‖ / (‖g_t‖ + λ ‖θ_{t−1}‖)   (1 if ‖θ‖ or ‖g‖ is 0)
                d_t ← γ_local (g_t + λ θ_{t−1})
            b_t ← μ b_{t−1} + d_t
            θ_t ← θ_{t−1} − γ b_t
    return θ_t

Symbols: ``b`` momentum buffer, ``local_lr`` = γ_local (the "trust ratio" times η), norms
are Euclidean over the whole tensor. Defaults: lr 1.0, momentum 0.9, weight_decay 0,
trust_coefficient 1e-3, exclude_1d False. With these, each layer moves by about
lr·η = 0.1 % of its norm per step (before momentum); lr is meant to be scheduled (the
paper uses polynomial decay with warm-up).

Notes
-----
* The paper puts the global rate inside the buffer, ``v ← μv + γ γ_local (g + λθ)``,
  ``θ ← θ − v``; we keep γ outside, as PyTorch's SGD does, which is the same at constant
  γ and lets a schedule act at once.
* A parameter with ‖θ‖ = 0 or ‖g‖ = 0 gets γ_local = 1, as in the common
  implementations (NVIDIA's LARC, the SimCLR/BYOL code): a zero-initialised tensor
  would otherwise never move.
* ``exclude_1d=True`` leaves 1-D tensors (biases, BatchNorm/LayerNorm weights) without
  weight decay and without adaptation, as the SimCLR/BYOL LARS does. Finer control: put
  them in their own parameter group.
* No default from PyTorch (it has no LARS); lr 1.0 is ours.

References
----------
Y. You, I. Gitman, B. Ginsburg, "Large Batch Training of Convolutional Networks",
arXiv:1708.03888, 2017 (Algorithm 1).
"""
from __future__ import annotations

from minigrad._backend import get_array_module

from .optimizer import Optimizer

__all__ = ["LARS", "lars_update"]


def lars_update(xp, theta, g, b, *, lr=1.0, momentum=0.9, weight_decay=0.0,
                trust_coefficient=1e-3, adapt=True, maximize=False):
    r"""One LARS step on one layer's arrays, in place on ``theta`` and ``b``.

    ``adapt=False`` is an excluded layer: plain momentum SGD without weight decay.
    Norms stay arrays (no device-to-host copy on GPU).
    """
    if maximize:
        g = -g
    if adapt:
        theta_norm = xp.linalg.norm(theta)          # ‖θ‖
        g_norm = xp.linalg.norm(g)                  # ‖g‖
        denom = g_norm + weight_decay * theta_norm  # γ_local = η‖θ‖/(‖g‖ + λ‖θ‖)
        denom = xp.where(denom > 0, denom, 1.0)     # (guarded: no 0/0 when both are 0)
        local_lr = xp.where((theta_norm > 0) & (g_norm > 0),
                            trust_coefficient * theta_norm / denom, 1.0).astype(theta.dtype)
        d = g + weight_decay * theta                # d = γ_local(g + λθ)
        d *= local_lr
    else:
        d = g
    b *= momentum                                   # b ← μb + d
    b += d
    theta -= lr * b                                 # θ ← θ − γb


class LARS(Optimizer):
    r"""LARS (You, Gitman & Ginsburg, 2017): momentum SGD with a per-layer trust ratio.

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float, default 1.0
    momentum : float, default 0.9
    weight_decay : float, default 0
    trust_coefficient : float, default 1e-3
        η in γ_local = η‖θ‖/(‖g‖ + λ‖θ‖).
    exclude_1d : bool, default False
        Skip adaptation and weight decay for 1-D parameters (biases, norm layers).
    maximize : bool, default False
    """

    def __init__(self, params, lr=1.0, momentum=0.9, weight_decay=0, trust_coefficient=1e-3,
                 exclude_1d=False, *, maximize=False):
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                        trust_coefficient=trust_coefficient, exclude_1d=exclude_1d,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _check(self, group):
        self._check_nonnegative(group, "lr", "momentum", "weight_decay", "trust_coefficient")

    def _init_state(self, theta, group):
        return {"b": get_array_module(theta).zeros_like(theta)}

    def _update(self, theta, g, state, group):
        # a 0-d parameter reaches _update as a 1-element view: it counts as 1-D too
        adapt = not (group["exclude_1d"] and theta.ndim <= 1)
        lars_update(
            get_array_module(theta), theta, g, state["b"], lr=float(group["lr"]),
            momentum=float(group["momentum"]), weight_decay=float(group["weight_decay"]),
            trust_coefficient=float(group["trust_coefficient"]), adapt=adapt,
            maximize=bool(group["maximize"]),
        )
