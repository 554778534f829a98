r"""Adamax: Adam with the second moment replaced by an exponentially weighted infinity norm.

Intuition
---------
Adam scales the step by the running L2 norm of past gradients, √v. Generalising L2 to Lp
and letting p → ∞ gives a simple, stable limit: the running *maximum* of |g|, each past
value discounted by β₂ per step. This u needs no bias correction (a maximum is not pulled
towards its zero initialisation the way an average is), and the step is bounded by the
learning rate: |Δθ| ≤ γ/(1 − β₁ᵗ) · |m|/u ≤ γ.

Algorithm
---------
.. code-block:: text

    input : γ (lr), β₁, β₂ (betas), θ₀ (params), f(θ) (objective), λ (weight decay),
            ε (eps), maximize
    initialize : m₀ ← 0 (first moment), u₀ ← 0 (infinity norm)
    for t = 1, 2, ... do
        g_t ← ∇f_t(θ_{t−1})
        if maximize: g_t ← −g_t
        if λ ≠ 0:    g_t ← g_t + λ θ_{t−1}               (coupled L2, as PyTorch's Adamax)
        m_t ← β₁ m_{t−1} + (1 − β₁) g_t
        u_t ← max(β₂ u_{t−1}, |g_t| + ε)
        θ_t ← θ_{t−1} − γ/(1 − β₁ᵗ) · m_t/u_t
    return θ_t

Symbols: ``m`` (PyTorch: ``exp_avg``), ``u`` (``exp_inf``); max and |·| are elementwise.
Defaults (PyTorch's): lr 2e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0.

Notes
-----
* ε is PyTorch's: the paper has u_t ← max(β₂u_{t−1}, |g_t|), which divides by zero for a
  coordinate whose gradients have all been zero. PyTorch puts ε *inside* the maximum
  (not added to u), so u ≥ ε always; we do the same.
* The paper's default step size is α = 0.002, PyTorch's lr default; betas as Adam's.
* ``weight_decay`` is the coupled L2 penalty (g ← g + λθ), as in PyTorch's Adamax.

References
----------
D. P. Kingma, J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015
(section 7.1 and Algorithm 2, AdaMax).
"""
from __future__ import annotations

from minigrad._backend import get_array_module

from .optimizer import Optimizer

__all__ = ["Adamax", "adamax_update"]


def adamax_update(xp, theta, g, m, u, t, *, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                  weight_decay=0.0, maximize=False):
    r"""One Adamax step on arrays, in place on ``theta``, ``m`` and ``u``; ``t`` counts from 1.

    Examples
    --------
    Every coordinate of the first step moves by lr (here |g| ≫ ε):

    >>> import numpy as np
    >>> theta, g = np.zeros(2), np.array([3.0, -0.5])
    >>> m, u = np.zeros(2), np.zeros(2)
    >>> adamax_update(np, theta, g, m, u, 1, lr=0.1)
    >>> np.round(theta, 6).tolist()
    [-0.1, 0.1]
    """
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * theta                # g ← g + λθ
    m *= beta1                                      # m ← β₁m + (1 − β₁)g
    m += (1 - beta1) * g
    u *= beta2                                      # u ← max(β₂u, |g| + ε)
    abs_g = xp.abs(g)
    abs_g += eps
    xp.maximum(u, abs_g, out=u)
    step = xp.divide(m, u, out=abs_g)               # θ ← θ − γ/(1 − β₁ᵗ) · m/u
    step *= lr / (1 - beta1 ** t)
    theta -= step


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2015, section 7.1) with PyTorch's defaults.

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float, default 2e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
        Lower bound of u (inside the maximum, as PyTorch).
    weight_decay : float, default 0
        Coupled L2 penalty (``g ← g + λθ``).
    maximize : bool, default False
    foreach, capturable, differentiable : PyTorch's implementation switches, with its
        defaults (see :class:`~minigrad.optim.Optimizer`, Notes).
    """

    _implementation_flags = ("foreach", "capturable", "differentiable")

    _torch_state_names = {"exp_avg": "m", "exp_inf": "u"}

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, *,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _check(self, group):
        self._check_nonnegative(group, "lr", "eps", "weight_decay")
        self._check_betas(group)

    def _init_state(self, theta, group):
        xp = get_array_module(theta)
        return {"m": xp.zeros_like(theta), "u": xp.zeros_like(theta)}

    def _update(self, theta, g, state, group):
        beta1, beta2 = group["betas"]
        adamax_update(
            get_array_module(theta), theta, g, state["m"], state["u"], state["step"],
            lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2),
            eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
            maximize=bool(group["maximize"]),
        )
