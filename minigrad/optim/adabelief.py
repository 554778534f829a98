r"""AdaBelief: Adam whose step is scaled by the "belief" in the gradient, (g − m)².

Intuition
---------
Adam divides by √v, the RMS of the gradient. AdaBelief divides by √s, the RMS of the
gradient's deviation from its own moving average m: when the observed gradient agrees
with the prediction m (we "believe" it), s is small and the step is large; when it
deviates, the step is small. In a steep but consistent valley Adam takes small steps
(large g) while AdaBelief takes large ones (small g − m).

Algorithm
---------
.. code-block:: text

    input : γ (lr), β₁, β₂ (betas), θ₀ (params), f(θ) (objective), λ (weight decay),
            ε (eps), weight_decouple, rectify, maximize
    initialize : m₀ ← 0, s₀ ← 0, ρ_∞ ← 2/(1 − β₂) − 1
    for t = 1, 2, ... do
        g_t ← ∇f_t(θ_{t−1})
        if maximize: g_t ← −g_t
        if weight_decouple: θ_{t−1} ← θ_{t−1}(1 − γλ)    (decoupled, as AdamW)
        else:               g_t ← g_t + λ θ_{t−1}
        m_t ← β₁ m_{t−1} + (1 − β₁) g_t
        s_t ← β₂ s_{t−1} + (1 − β₂)(g_t − m_t)² + ε      (ε enters s every step)
        m̂_t ← m_t / (1 − β₁ᵗ)
        if not rectify:
            ŝ_t ← s_t / (1 − β₂ᵗ)
            θ_t ← θ_{t−1} − γ m̂_t / (√ŝ_t + ε)
        else:                                              (as RAdam, s in place of v)
            ρ_t ← ρ_∞ − 2t β₂ᵗ / (1 − β₂ᵗ)
            if ρ_t > 5:
                r_t ← √((ρ_t − 4)(ρ_t − 2) ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2) ρ_t))
                θ_t ← θ_{t−1} − γ m̂_t r_t √(1 − β₂ᵗ) / (√s_t + ε)
            else:
                θ_t ← θ_{t−1} − γ m̂_t                       (SGD with momentum)
    return θ_t

Symbols: ``m`` (the authors' code: ``exp_avg``), ``s`` (``exp_avg_var``), ``m_hat``,
``s_hat``. Defaults (the authors' ``adabelief-pytorch`` 0.2): lr 1e-3,
betas (0.9, 0.999), eps 1e-16, weight_decay 0, weight_decouple True, rectify False.

Notes
-----
* ε appears twice, as in the paper's Algorithm 2 and the authors' code: inside s (added
  every step, so s ≥ ε and never collapses to 0) and outside the square root.
* The rectified variant follows the authors' code, which forks RAdam: ε is added to the
  uncorrected √s, and while ρ_t is small the step is the momentum step γm̂
  (``degenerated_to_sgd=True``). The switch is at ρ_t > 5 as in our RAdam (the authors'
  code uses ρ_t ≥ 5; ρ_t is never exactly 5 for β₂ in practice).
* The authors' ``amsgrad`` and ``fixed_decay`` options are not provided.

References
----------
J. Zhuang, T. Tang, Y. Ding, S. Tatikonda, N. Dvornek, X. Papademetris, J. Duncan,
"AdaBelief Optimizer: Adapting Stepsizes by the Belief in Observed Gradients",
NeurIPS 2020 (Algorithm 2).
"""
from __future__ import annotations

import math

from minigrad._backend import get_array_module

from .optimizer import Optimizer

__all__ = ["AdaBelief", "adabelief_update"]


def adabelief_update(xp, theta, g, m, s, t, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-16,
                     weight_decay=0.0, weight_decouple=True, rectify=False, maximize=False):
    r"""One AdaBelief step on arrays, in place on ``theta``, ``m``, ``s``. ``t`` counts from 1."""
    if maximize:
        g = -g
    if weight_decay != 0:
        if weight_decouple:
            theta *= 1 - lr * weight_decay          # θ ← θ(1 − γλ)
        else:
            g = g + weight_decay * theta            # g ← g + λθ
    m *= beta1                                      # m ← β₁m + (1 − β₁)g
    m += (1 - beta1) * g
    residual = g - m                                # s ← β₂s + (1 − β₂)(g − m)² + ε
    residual *= residual
    residual *= 1 - beta2
    s *= beta2
    s += residual
    s += eps
    bias_correction1 = 1 - beta1 ** t
    bias_correction2 = 1 - beta2 ** t
    m_hat = m / bias_correction1                    # m̂ = m/(1 − β₁ᵗ)
    if not rectify:
        s_hat = s / bias_correction2                # ŝ = s/(1 − β₂ᵗ)
        denom = xp.sqrt(s_hat, out=s_hat)
        denom += eps                                # √ŝ + ε
        m_hat /= denom
        m_hat *= lr
        theta -= m_hat                              # θ ← θ − γ m̂/(√ŝ + ε)
        return
    rho_inf = 2 / (1 - beta2) - 1                   # ρ_∞
    rho_t = rho_inf - 2 * t * beta2 ** t / bias_correction2
    if rho_t > 5:
        r_t = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        denom = xp.sqrt(s)                          # √s + ε
        denom += eps
        m_hat /= denom
        m_hat *= lr * r_t * math.sqrt(bias_correction2)
        theta -= m_hat                              # θ ← θ − γ m̂ r √(1 − β₂ᵗ)/(√s + ε)
    else:
        m_hat *= lr
        theta -= m_hat                              # θ ← θ − γ m̂


class AdaBelief(Optimizer):
    r"""AdaBelief (Zhuang et al., 2020), optionally rectified as RAdam.

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-16
    weight_decay : float, default 0
    weight_decouple : bool, default True
        Decoupled decay θ ← θ(1 − lr·λ) (as AdamW); False adds λθ to the gradient.
    rectify : bool, default False
        RAdam's rectification, with s in place of v.
    maximize : bool, default False
    fused : bool, default False
        Update all parameters of a group with one fused kernel (``minigrad.optim.fused``;
        one launch per group on CUDA, the same numbers).
    """

    _torch_state_names = {"exp_avg": "m", "exp_avg_var": "s"}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-16, weight_decay=0,
                 weight_decouple=True, rectify=False, *, maximize=False, fused=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        weight_decouple=weight_decouple, rectify=rectify, maximize=maximize)
        super().__init__(params, defaults)
        self.fused = bool(fused)  # one kernel launch per group on CUDA

    def _check(self, group):
        self._check_nonnegative(group, "lr", "eps", "weight_decay")
        self._check_betas(group)

    def _init_state(self, theta, group):
        xp = get_array_module(theta)
        return {"m": xp.zeros_like(theta), "s": xp.zeros_like(theta)}

    def _update(self, theta, g, state, group):
        beta1, beta2 = group["betas"]
        adabelief_update(
            get_array_module(theta), theta, g, state["m"], state["s"], state["step"],
            lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2),
            eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
            weight_decouple=bool(group["weight_decouple"]), rectify=bool(group["rectify"]),
            maximize=bool(group["maximize"]),
        )
