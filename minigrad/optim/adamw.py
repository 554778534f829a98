r"""AdamW: Adam with decoupled weight decay.

Intuition
---------
With Adam, an L2 penalty λθ added to the gradient is divided by √v̂ like the rest of
the gradient, so weights with large gradient history are barely decayed. Loshchilov &
Hutter decouple the two: shrink θ by the factor (1 − γλ) directly, then take the plain
Adam step. Weight decay then acts the same on every weight, and the best λ no longer
depends on the learning rate as strongly.

Algorithm
---------
.. code-block:: text

    input : γ (lr), β₁, β₂ (betas), θ₀ (params), f(θ) (objective), λ (weight decay),
            ε (eps), amsgrad, maximize
    initialize : m₀ ← 0, v₀ ← 0, v₀^max ← 0
    for t = 1, 2, ... do
        g_t ← ∇f_t(θ_{t−1})
        if maximize: g_t ← −g_t
        θ_t ← θ_{t−1} − γλ θ_{t−1}                       (decoupled decay, first)
        θ_t ← Adam step from θ_t with g_t (no coupled decay):
              m_t ← β₁ m_{t−1} + (1 − β₁) g_t
              v_t ← β₂ v_{t−1} + (1 − β₂) g_t²
              m̂_t ← m_t/(1 − β₁ᵗ);  v̂_t ← v_t/(1 − β₂ᵗ)   (or the AMSGrad maximum)
              θ_t ← θ_t − γ m̂_t / (√v̂_t + ε)
    return θ_t

AdamW = decoupled decay ∘ Adam, and the code says so: :func:`adamw_update` shrinks θ and
calls :func:`minigrad.optim.adam.adam_update`. Symbols as in Adam (``m``, ``v``,
``v_max``). Defaults (PyTorch's): lr 1e-3, betas (0.9, 0.999), eps 1e-8,
**weight_decay 1e-2**, amsgrad False.

Notes
-----
* The paper (Algorithm 2) multiplies the decay by a schedule multiplier η_t and keeps α
  separate: θ ← θ − η_t(α m̂/(√v̂ + ε) + λθ). PyTorch (and we) multiply the decay by the
  learning rate γ = η_t·α instead, θ ← θ(1 − γλ), so our λ is the paper's λ divided by α.
  A learning-rate schedule scales the decay too, as η_t does in the paper.
* With λ = 0, AdamW is exactly Adam (tested).

References
----------
I. Loshchilov, F. Hutter, "Decoupled Weight Decay Regularization", ICLR 2019
(Algorithm 2).
"""
from __future__ import annotations

from minigrad._backend import get_array_module

from .adam import Adam, adam_update

__all__ = ["AdamW", "adamw_update"]


def adamw_update(xp, theta, g, m, v, t, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                 weight_decay=1e-2, amsgrad=False, v_max=None, maximize=False):
    r"""One AdamW step on arrays: ``θ ← θ(1 − γλ)``, then :func:`adam_update` without decay."""
    if weight_decay != 0:
        theta *= 1 - lr * weight_decay              # θ ← θ − γλθ (decoupled)
    adam_update(xp, theta, g, m, v, t, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                weight_decay=0.0, amsgrad=amsgrad, v_max=v_max, maximize=maximize)


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay, λ = 1e-2 default.

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float, default 1e-2
        Decoupled: ``θ ← θ(1 − lr·weight_decay)`` each step, before the Adam step.
    amsgrad : bool, default False
    maximize : bool, default False
    fused : bool or None, default None (off)
        Update all parameters of a group with one fused kernel (``minigrad.optim.fused``;
        one launch per group on CUDA, the same numbers).
    foreach, capturable, differentiable
        As :class:`~minigrad.optim.Adam`: ``foreach`` is ignored, the others must be off.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                         capturable=capturable, differentiable=differentiable, fused=fused)

    def _update(self, theta, g, state, group):
        beta1, beta2 = group["betas"]
        amsgrad = bool(group["amsgrad"])
        if amsgrad and state.get("v_max") is None:
            state["v_max"] = get_array_module(theta).zeros_like(theta)
        adamw_update(
            get_array_module(theta), theta, g, state["m"], state["v"], state["step"],
            lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2),
            eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
            amsgrad=amsgrad, v_max=state.get("v_max"), maximize=bool(group["maximize"]),
        )
