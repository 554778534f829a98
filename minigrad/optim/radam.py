r"""RAdam: Adam with the variance of its adaptive learning rate rectified.

Intuition
---------
In the first steps v is an average of very few squared gradients, so the adaptive
factor 1/√v̂ has a huge variance and early steps are erratic (the reason warm-up helps
Adam). Liu et al. compute the length ρ_t of the simple moving average that the EMA
approximates; while it is too short (ρ_t ≤ 5) they take a plain momentum step, and
afterwards they multiply the adaptive step by r_t ≤ 1, which makes its variance
constant. An automatic, analytically derived warm-up.

Algorithm
---------
.. code-block:: text

    input : γ (lr), β₁, β₂ (betas), θ₀ (params), f(θ) (objective), λ (weight decay),
            ε (eps), decoupled_weight_decay, maximize
    initialize : m₀ ← 0, v₀ ← 0, ρ_∞ ← 2/(1 − β₂) − 1
    for t = 1, 2, ... do
        g_t ← ∇f_t(θ_{t−1})
        if maximize: g_t ← −g_t
        if λ ≠ 0:
            if decoupled_weight_decay: θ_{t−1} ← θ_{t−1}(1 − γλ)
            else:                      g_t ← g_t + λ θ_{t−1}
        m_t ← β₁ m_{t−1} + (1 − β₁) g_t
        v_t ← β₂ v_{t−1} + (1 − β₂) g_t²
        m̂_t ← m_t / (1 − β₁ᵗ)
        ρ_t ← ρ_∞ − 2t β₂ᵗ / (1 − β₂ᵗ)
        if ρ_t > 5:
            l_t ← √(1 − β₂ᵗ) / (√v_t + ε)                 (adaptive learning rate)
            r_t ← √((ρ_t − 4)(ρ_t − 2) ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2) ρ_t))   (rectification)
            θ_t ← θ_{t−1} − γ m̂_t l_t r_t
        else:
            θ_t ← θ_{t−1} − γ m̂_t                         (un-adapted momentum step)
    return θ_t

Symbols: ``m`` (PyTorch: ``exp_avg``), ``v`` (``exp_avg_sq``), ``rho_inf`` = ρ_∞,
``rho_t``, ``l_t``, ``r_t``. Defaults (PyTorch's): lr 1e-3, betas (0.9, 0.999),
eps 1e-8, weight_decay 0, decoupled_weight_decay False.

Notes
-----
* **Where ε goes.** PyTorch adds ε to the *uncorrected* √v in l_t, unlike its Adam
  (which adds it to √v̂); we follow PyTorch. The paper's l_t = √((1 − β₂ᵗ)/v_t) has no ε.
* The paper switches at ρ_t > 4; PyTorch uses ρ_t > 5 (the authors' code uses ≥ 5), and
  so do we. With β₂ = 0.999 the first 5 steps are momentum steps.
* ``decoupled_weight_decay=True`` is PyTorch's option (AdamW-style decay).

References
----------
L. Liu, H. Jiang, P. He, W. Chen, X. Liu, J. Gao, J. Han, "On the Variance of the Adaptive
Learning Rate and Beyond", ICLR 2020 (Algorithm 2).
"""
from __future__ import annotations

import math

from minigrad._backend import get_array_module

from .optimizer import Optimizer

__all__ = ["RAdam", "radam_update"]


def radam_update(xp, theta, g, m, v, t, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                 weight_decay=0.0, decoupled_weight_decay=False, maximize=False):
    r"""One RAdam step on arrays, in place on ``theta``, ``m``, ``v``. ``t`` counts from 1."""
    if maximize:
        g = -g
    if weight_decay != 0:
        if decoupled_weight_decay:
            theta *= 1 - lr * weight_decay          # θ ← θ(1 − γλ)
        else:
            g = g + weight_decay * theta            # g ← g + λθ
    m *= beta1                                      # m ← β₁m + (1 − β₁)g
    m += (1 - beta1) * g
    v *= beta2                                      # v ← β₂v + (1 − β₂)g²
    v += (1 - beta2) * (g * g)
    bias_correction1 = 1 - beta1 ** t
    bias_correction2 = 1 - beta2 ** t
    m_hat = m / bias_correction1                    # m̂ = m/(1 − β₁ᵗ)
    rho_inf = 2 / (1 - beta2) - 1                   # ρ_∞
    rho_t = rho_inf - 2 * t * beta2 ** t / bias_correction2
    if rho_t > 5:
        l_t = xp.sqrt(v)                            # l = √(1 − β₂ᵗ)/(√v + ε)
        l_t += eps
        xp.divide(math.sqrt(bias_correction2), l_t, out=l_t)
        r_t = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        m_hat *= l_t
        m_hat *= lr * r_t
        theta -= m_hat                              # θ ← θ − γ m̂ l r
    else:
        m_hat *= lr
        theta -= m_hat                              # θ ← θ − γ m̂


class RAdam(Optimizer):
    r"""RAdam (Liu et al., 2020) with PyTorch's defaults, ε placement and options.

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float, default 0
    decoupled_weight_decay : bool, default False
    maximize : bool, default False
    foreach, capturable, differentiable : PyTorch's implementation switches, with its
        defaults (see :class:`~minigrad.optim.Optimizer`, Notes).
    """

    _implementation_flags = ("foreach", "capturable", "differentiable")

    _torch_state_names = {"exp_avg": "m", "exp_avg_sq": "v"}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _check(self, group):
        self._check_nonnegative(group, "lr", "eps", "weight_decay")
        self._check_betas(group)

    def _init_state(self, theta, group):
        xp = get_array_module(theta)
        return {"m": xp.zeros_like(theta), "v": xp.zeros_like(theta)}

    def _update(self, theta, g, state, group):
        beta1, beta2 = group["betas"]
        radam_update(
            get_array_module(theta), theta, g, state["m"], state["v"], state["step"],
            lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2),
            eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
            decoupled_weight_decay=bool(group["decoupled_weight_decay"]),
            maximize=bool(group["maximize"]),
        )
