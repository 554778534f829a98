r"""Lion (EvoLved Sign Momentum): a sign update on an interpolated momentum.

Intuition
---------
Found by program search. Every coordinate moves by exactly ±lr (plus decay): the sign of
an interpolation between the momentum and the current gradient. Because the update has
unit size per coordinate, its norm is larger than Adam's, so Lion wants a 3–10× smaller
lr and a 3–10× larger weight decay than AdamW. Only one state array (m) is kept.
Two betas: β₁ mixes the gradient into the *update*, β₂ (slower) into the *momentum*.

Algorithm
---------
.. code-block:: text

    input : γ (lr), β₁, β₂ (betas), θ₀ (params), f(θ) (objective), λ (weight decay),
            maximize
    initialize : m₀ ← 0
    for t = 1, 2, ... do
        g_t ← ∇f_t(θ_{t−1})
        if maximize: g_t ← −g_t
        c_t ← β₁ m_{t−1} + (1 − β₁) g_t                   (interpolation)
        u_t ← sign(c_t)
        θ_t ← θ_{t−1}(1 − γλ) − γ u_t                     (decoupled decay, then the step)
        m_t ← β₂ m_{t−1} + (1 − β₂) g_t                   (momentum, updated after)
    return θ_t

Symbols: ``m`` (the reference code: ``exp_avg``), ``c``, ``u``; sign(0) = 0.
Defaults: lr 1e-4, betas (0.9, 0.99), weight_decay 0.

Notes
-----
* Program 1 of the paper writes ``θ ← θ − γ(sign(c) + λθ)``, the same as the
  decoupled form above.
* ``maximize`` is a minigrad extra, kept for uniformity with the other optimizers.

References
----------
X. Chen, C. Liang, D. Huang, E. Real, K. Wang, Y. Liu, H. Pham, X. Dong, T. Luong,
C.-J. Hsieh, Y. Lu, Q. V. Le, "Symbolic Discovery of Optimization Algorithms",
NeurIPS 2023 (Program 1 / Algorithm 2).
"""
from __future__ import annotations

from minigrad._backend import get_array_module

from .optimizer import Optimizer

__all__ = ["Lion", "lion_update"]


def lion_update(xp, theta, g, m, *, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0,
                maximize=False):
    r"""One Lion step on arrays, in place on ``theta`` and ``m``."""
    if maximize:
        g = -g
    c = beta1 * m                                   # c = β₁m + (1 − β₁)g
    c += (1 - beta1) * g
    u = xp.sign(c)                                  # u = sign(c)  (NumPy's in-place sign is slow)
    if weight_decay != 0:
        theta *= 1 - lr * weight_decay              # θ ← θ(1 − γλ)
    u *= lr
    theta -= u                                      # θ ← θ − γu
    m *= beta2                                      # m ← β₂m + (1 − β₂)g
    m += (1 - beta2) * g


class Lion(Optimizer):
    r"""Lion (Chen et al., 2023) with decoupled weight decay.

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float, default 1e-4
    betas : (float, float), default (0.9, 0.99)
    weight_decay : float, default 0
        Decoupled: ``θ ← θ(1 − lr·weight_decay)``.
    maximize : bool, default False
    fused : bool, default False
        Update all parameters of a group with one fused kernel (``minigrad.optim.fused``;
        one launch per group on CUDA, the same numbers).
    """

    _torch_state_names = {"exp_avg": "m"}

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0, *, maximize=False,
                 fused=False):
        defaults = dict(lr=lr, betas=betas, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)
        self.fused = bool(fused)  # one kernel launch per group on CUDA

    def _check(self, group):
        self._check_nonnegative(group, "lr", "weight_decay")
        self._check_betas(group)

    def _init_state(self, theta, group):
        return {"m": get_array_module(theta).zeros_like(theta)}

    def _update(self, theta, g, state, group):
        beta1, beta2 = group["betas"]
        lion_update(
            get_array_module(theta), theta, g, state["m"], lr=float(group["lr"]),
            beta1=float(beta1), beta2=float(beta2),
            weight_decay=float(group["weight_decay"]), maximize=bool(group["maximize"]),
        )
