r"""LAMB: Adam's direction with a layer-wise trust ratio, for very large batches.

Intuition
---------
LARS's per-layer normalisation applied to Adam (with decoupled weight decay): compute
Adam's update direction r (plus λθ) for a layer, then rescale it so that its norm is
‖θ‖ — each layer moves by about the fraction γ of its own norm, whatever the scale of
its gradients. This let You et al. train BERT with batches of 32k–64k.

Algorithm
---------
.. code-block:: text

    input : γ (lr), β₁, β₂ (betas), θ₀ (params), f(θ) (objective), λ (weight decay),
            ε (eps), maximize
    initialize : m₀ ← 0, v₀ ← 0
    for t = 1, 2, ... do
        for each parameter tensor (layer) θ:
            g_t ← ∇_θ f_t(θ_{t−1})
            if maximize: g_t ← −g_t
            m_t ← β₁ m_{t−1} + (1 − β₁) g_t
            v_t ← β₂ v_{t−1} + (1 − β₂) g_t²
            m̂_t ← m_t / (1 − β₁ᵗ);   v̂_t ← v_t / (1 − β₂ᵗ)
            r_t ← m̂_t / (√v̂_t + ε) + λ θ_{t−1}            (Adam direction + decay)
            ratio ← ‖θ_{t−1}‖ / ‖r_t‖                      (1 if either norm is 0)
            θ_t ← θ_{t−1} − γ · ratio · r_t
    return θ_t

Symbols: ``m``, ``v``, ``m_hat``, ``v_hat``, ``r``, ``ratio`` (the trust ratio); norms
are Euclidean over the whole tensor. Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-6,
weight_decay 0.01 (the paper's BERT settings; PyTorch has no LAMB).

Notes
-----
* The paper scales by φ(‖θ‖)/‖r‖ with a scaling function φ; we use φ(x) = x, as the
  paper's experiments and most implementations do (some clamp ‖θ‖ at 10).
* A trust ratio with ‖θ‖ = 0 or ‖r‖ = 0 is set to 1 (e.g. a zero-initialised bias), as
  the common implementations do.
* Exclude layers from weight decay (biases, LayerNorm) with parameter groups.

References
----------
Y. You, J. Li, S. Reddi, J. Hseu, S. Kumar, S. Bhojanapalli, X. Song, J. Demmel,
K. Keutzer, C.-J. Hsieh, "Large Batch Optimization for Deep Learning: Training BERT in 76
minutes", ICLR 2020 (Algorithm 2).
"""
from __future__ import annotations

import math

from minigrad._backend import get_array_module

from .optimizer import Optimizer

__all__ = ["LAMB", "lamb_update"]


def lamb_update(xp, theta, g, m, v, t, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-6,
                weight_decay=0.01, maximize=False):
    r"""One LAMB step on one layer's arrays, in place on ``theta``, ``m``, ``v``."""
    if maximize:
        g = -g
    m *= beta1                                      # m ← β₁m + (1 − β₁)g
    m += (1 - beta1) * g
    v *= beta2                                      # v ← β₂v + (1 − β₂)g²
    v += (1 - beta2) * (g * g)
    m_hat = m / (1 - beta1 ** t)                    # m̂ = m/(1 − β₁ᵗ)
    denom = xp.sqrt(v)                              # √v̂ + ε, with √v̂ = √v/√(1 − β₂ᵗ)
    denom /= math.sqrt(1 - beta2 ** t)
    denom += eps
    r = xp.divide(m_hat, denom, out=m_hat)          # r = m̂/(√v̂ + ε) + λθ
    if weight_decay != 0:
        r += weight_decay * theta
    theta_norm = xp.linalg.norm(theta)              # trust ratio ‖θ‖/‖r‖
    r_norm = xp.linalg.norm(r)
    ratio = xp.where((theta_norm > 0) & (r_norm > 0),
                     theta_norm / xp.where(r_norm > 0, r_norm, 1.0), 1.0).astype(theta.dtype)
    r *= lr * ratio
    theta -= r                                      # θ ← θ − γ·ratio·r


class LAMB(Optimizer):
    r"""LAMB (You et al., 2020): Adam direction, per-layer trust ratio ‖θ‖/‖r‖.

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-6
    weight_decay : float, default 0.01
        λ in r = m̂/(√v̂ + ε) + λθ (decoupled: it bypasses the Adam scaling).
    maximize : bool, default False
    """

    _torch_state_names = {"exp_avg": "m", "exp_avg_sq": "v"}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01, *,
                 maximize=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _check(self, group):
        self._check_nonnegative(group, "lr", "eps", "weight_decay")
        self._check_betas(group)

    def _init_state(self, theta, group):
        xp = get_array_module(theta)
        return {"m": xp.zeros_like(theta), "v": xp.zeros_like(theta)}

    def _update(self, theta, g, state, group):
        beta1, beta2 = group["betas"]
        lamb_update(
            get_array_module(theta), theta, g, state["m"], state["v"], state["step"],
            lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2),
            eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
            maximize=bool(group["maximize"]),
        )
