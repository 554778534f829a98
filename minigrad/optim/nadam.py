r"""NAdam: Adam with Nesterov momentum (and a warming momentum schedule).

Intuition
---------
Nesterov's trick applied to Adam: the step uses the momentum that *will* be applied at
the next step (μ_{t+1}) on the current first moment, plus the fresh gradient weighted by
(1 − μ_t), i.e. it looks one step ahead. Dozat also warms the momentum up with a
schedule μ_t = β₁(1 − ½·0.96^{tψ}), which starts near β₁/2 and rises towards β₁.

Algorithm
---------
.. code-block:: text

    input : γ (lr), β₁, β₂ (betas), θ₀ (params), f(θ) (objective), λ (weight decay),
            ψ (momentum_decay), ε (eps), decoupled_weight_decay, maximize
    initialize : m₀ ← 0, v₀ ← 0, P₀ ← 1 (product of the μ's)
    for t = 1, 2, ... do
        g_t ← ∇f_t(θ_{t−1})
        if maximize: g_t ← −g_t
        if λ ≠ 0:
            if decoupled_weight_decay: θ_{t−1} ← θ_{t−1}(1 − γλ)
            else:                      g_t ← g_t + λ θ_{t−1}
        μ_t     ← β₁ (1 − ½ · 0.96^{t ψ})
        μ_{t+1} ← β₁ (1 − ½ · 0.96^{(t+1) ψ})
        P_t     ← P_{t−1} · μ_t                           (= ∏_{i≤t} μ_i)
        m_t ← β₁ m_{t−1} + (1 − β₁) g_t
        v_t ← β₂ v_{t−1} + (1 − β₂) g_t²
        v̂_t ← v_t / (1 − β₂ᵗ)
        θ_t ← θ_{t−1} − γ (1 − μ_t)/(1 − P_t) · g_t/(√v̂_t + ε)
                      − γ μ_{t+1}/(1 − P_t μ_{t+1}) · m_t/(√v̂_t + ε)
    return θ_t

Symbols: ``m`` (PyTorch: ``exp_avg``), ``v`` (``exp_avg_sq``), ``mu_product`` = P
(``mu_product``), ``mu_t``, ``mu_next`` = μ_{t+1}. Defaults (PyTorch's): lr 2e-3,
betas (0.9, 0.999), eps 1e-8, weight_decay 0, momentum_decay 4e-3,
decoupled_weight_decay False.

Notes
-----
* Dozat's Algorithm 2 averages m with the scheduled μ_t; PyTorch (and we) average with
  the constant β₁ and use the schedule only in the two step coefficients.
* P is a Python float (float64) here; PyTorch keeps it as a 0-d tensor of the default
  dtype (float32 unless changed), so the two agree to float32 rounding in that factor.
* ``decoupled_weight_decay=True`` is PyTorch's NAdamW option (AdamW-style decay).

References
----------
T. Dozat, "Incorporating Nesterov Momentum into Adam", ICLR 2016 workshop (Algorithm 2).
"""
from __future__ import annotations

from minigrad._backend import get_array_module

from .optimizer import Optimizer

__all__ = ["NAdam", "nadam_update"]


def nadam_update(xp, theta, g, m, v, t, mu_product, *, lr=2e-3, beta1=0.9, beta2=0.999,
                 eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, maximize=False):
    r"""One NAdam step on arrays, in place on ``theta``, ``m``, ``v``.

    ``t`` counts from 1; ``mu_product`` is P_{t−1} (1.0 before the first step).

    Returns
    -------
    float
        P_t, the product of the momentum schedule up to this step.
    """
    if maximize:
        g = -g
    if weight_decay != 0:
        if decoupled_weight_decay:
            theta *= 1 - lr * weight_decay          # θ ← θ(1 − γλ)
        else:
            g = g + weight_decay * theta            # g ← g + λθ
    mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))              # μ_t
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))     # μ_{t+1}
    mu_product = mu_product * mu_t                  # P_t = P_{t−1} μ_t
    m *= beta1                                      # m ← β₁m + (1 − β₁)g
    m += (1 - beta1) * g
    v *= beta2                                      # v ← β₂v + (1 − β₂)g²
    v += (1 - beta2) * (g * g)
    bias_correction2 = 1 - beta2 ** t
    denom = v / bias_correction2                    # v̂ = v/(1 − β₂ᵗ)
    xp.sqrt(denom, out=denom)
    denom += eps                                    # √v̂ + ε
    # θ ← θ − γ(1 − μ_t)/(1 − P_t) · g/(√v̂ + ε) − γ μ_{t+1}/(1 − P_t μ_{t+1}) · m/(√v̂ + ε)
    theta -= (lr * (1 - mu_t) / (1 - mu_product)) * (g / denom)
    theta -= (lr * mu_next / (1 - mu_product * mu_next)) * (m / denom)
    return mu_product


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016) with PyTorch's defaults and options.

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float, default 2e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float, default 0
    momentum_decay : float, default 4e-3
        ψ in the momentum schedule μ_t = β₁(1 − ½·0.96^{tψ}).
    decoupled_weight_decay : bool, default False
    maximize : bool, default False
    foreach, capturable, differentiable : PyTorch's implementation switches, with its
        defaults (see :class:`~minigrad.optim.Optimizer`, Notes).
    """

    _implementation_flags = ("foreach", "capturable", "differentiable")

    _torch_state_names = {"exp_avg": "m", "exp_avg_sq": "v"}
    _scalar_state = {"step": int, "mu_product": float}

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _check(self, group):
        self._check_nonnegative(group, "lr", "eps", "weight_decay", "momentum_decay")
        self._check_betas(group)

    def _init_state(self, theta, group):
        xp = get_array_module(theta)
        return {"mu_product": 1.0, "m": xp.zeros_like(theta), "v": xp.zeros_like(theta)}

    def _update(self, theta, g, state, group):
        beta1, beta2 = group["betas"]
        state["mu_product"] = nadam_update(
            get_array_module(theta), theta, g, state["m"], state["v"], state["step"],
            state["mu_product"], lr=float(group["lr"]), beta1=float(beta1),
            beta2=float(beta2), eps=float(group["eps"]),
            weight_decay=float(group["weight_decay"]),
            momentum_decay=float(group["momentum_decay"]),
            decoupled_weight_decay=bool(group["decoupled_weight_decay"]),
            maximize=bool(group["maximize"]),
        )
