r"""Adadelta: a step whose units match the parameter's, from two running averages.

Intuition
---------
Zeiler's observation: in ``Δθ = −γ g/RMS[g]`` the units do not match (θ has units of
θ, g/RMS[g] is unitless). Multiplying by RMS of the *previous updates* restores them
(as a diagonal Newton step would), and removes the need to pick a learning rate:
the step is ``RMS[Δθ]_{t−1}/RMS[g]_t · g``. PyTorch keeps an ``lr`` multiplier, 1.0
by default, which gives the paper's method.

Algorithm
---------
.. code-block:: text

    input : γ (lr), θ₀ (params), f(θ) (objective), ρ (rho), ε (eps), λ (weight decay),
            maximize
    initialize : v₀ ← 0 (square average of g), u₀ ← 0 (square average of Δ)
    for t = 1, 2, ... do
        g_t ← ∇f_t(θ_{t−1})
        if maximize: g_t ← −g_t
        if λ ≠ 0:    g_t ← g_t + λ θ_{t−1}
        v_t ← ρ v_{t−1} + (1 − ρ) g_t²                  (E[g²]_t)
        Δ_t ← √(u_{t−1} + ε) / √(v_t + ε) · g_t          (RMS[Δθ]_{t−1}/RMS[g]_t · g)
        u_t ← ρ u_{t−1} + (1 − ρ) Δ_t²                  (E[Δθ²]_t)
        θ_t ← θ_{t−1} − γ Δ_t
    return θ_t

Symbols: ``v`` (PyTorch: ``square_avg``), ``u`` (``acc_delta``), ``Delta`` = Δ.
Defaults (PyTorch's): lr 1.0, rho 0.9, eps 1e-6, weight_decay 0.

Notes
-----
* The paper's experiments use ρ = 0.95 and ε = 1e-6; PyTorch's default ρ is 0.9 and
  we keep PyTorch's.
* ``lr`` is PyTorch's extra factor; lr = 1 is Zeiler's Algorithm 1.

References
----------
M. D. Zeiler, "ADADELTA: An Adaptive Learning Rate Method", arXiv:1212.5701, 2012
(Algorithm 1).
"""
from __future__ import annotations

from minigrad._backend import get_array_module

from .optimizer import Optimizer

__all__ = ["Adadelta", "adadelta_update"]


def adadelta_update(xp, theta, g, v, u, *, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0,
                    maximize=False):
    r"""One Adadelta step on arrays, in place on ``theta``, ``v`` and ``u``."""
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * theta                # g ← g + λθ
    v *= rho                                        # v ← ρv + (1 − ρ)g²
    v += (1 - rho) * (g * g)
    Delta = xp.sqrt(u + eps)                        # Δ = √(u + ε)/√(v + ε) · g
    Delta /= xp.sqrt(v + eps)
    Delta *= g
    u *= rho                                        # u ← ρu + (1 − ρ)Δ²
    u += (1 - rho) * (Delta * Delta)
    Delta *= lr
    theta -= Delta                                  # θ ← θ − γΔ


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012) with PyTorch's defaults.

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float, default 1.0
    rho : float, default 0.9
    eps : float, default 1e-6
    weight_decay : float, default 0
    maximize : bool, default False
    foreach, capturable, differentiable : PyTorch's implementation switches, with its
        defaults (see :class:`~minigrad.optim.Optimizer`, Notes).
    """

    _implementation_flags = ("foreach", "capturable", "differentiable")

    _torch_state_names = {"square_avg": "v", "acc_delta": "u"}

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, foreach=None,
                 capturable=False, maximize=False, differentiable=False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _check(self, group):
        self._check_nonnegative(group, "lr", "eps", "weight_decay")
        self._check_unit_interval(group, "rho", closed=True)

    def _init_state(self, theta, group):
        xp = get_array_module(theta)
        return {"v": xp.zeros_like(theta), "u": xp.zeros_like(theta)}

    def _update(self, theta, g, state, group):
        adadelta_update(
            get_array_module(theta), theta, g, state["v"], state["u"],
            lr=float(group["lr"]), rho=float(group["rho"]), eps=float(group["eps"]),
            weight_decay=float(group["weight_decay"]), maximize=bool(group["maximize"]),
        )
