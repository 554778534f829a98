r"""Hypergradient descent: learn the learning rate during training (Baydin et al. 2018).

Intuition
---------
The learning rate α is itself a parameter that can be tuned by gradient descent, online,
at almost no cost. The loss after a step depends on α through the step just taken,
θ_{t−1} = θ_{t−2} + α ∇_α u_{t−1} (∇_α u the step per unit learning rate), so
∂f(θ_{t−1})/∂α = ∇f(θ_{t−1}) · ∇_α u_{t−1}. If the new gradient still points along the
step just taken (for SGD: consecutive gradients agree), the step was too short and α
grows; if it points back (the step overshot), α shrinks.

Algorithms
----------
Both keep one learning rate α per parameter group, and the dot products run over every
parameter of the group. β is the hypergradient learning rate.

.. code-block:: text

    SGD-HD                                        Adam-HD
    input : α₀, β, θ₀, f                          input : α₀, β, β₁, β₂, ε, θ₀, f
    initialize : ∇_α u₀ ← 0                       initialize : m₀ ← 0, v₀ ← 0, ∇_α u₀ ← 0
    for t = 1, 2, …                               for t = 1, 2, …
      g_t ← ∇f(θ_{t−1})                             g_t ← ∇f(θ_{t−1})
      h_t ← g_t · ∇_α u_{t−1}                       h_t ← g_t · ∇_α u_{t−1}
      α_t ← α_{t−1} − β h_t                         α_t ← α_{t−1} − β h_t
                                                    m_t ← β₁ m_{t−1} + (1 − β₁) g_t
                                                    v_t ← β₂ v_{t−1} + (1 − β₂) g_t²
                                                    m̂_t ← m_t/(1 − β₁ᵗ), v̂_t ← v_t/(1 − β₂ᵗ)
      ∇_α u_t ← −g_t                                ∇_α u_t ← −m̂_t/(√v̂_t + ε)
      θ_t ← θ_{t−1} + α_t ∇_α u_t                   θ_t ← θ_{t−1} + α_t ∇_α u_t

For SGD, ∇_α u_{t−1} = −∇f(θ_{t−2}), so the rule is the one in the paper's abstract:
α_t = α_{t−1} + β ∇f(θ_{t−1}) · ∇f(θ_{t−2}).

Symbols: u_t = α_t ∇_α u_t is the update θ_t − θ_{t−1}; ``du`` in the state is ∇_α u (the
update per unit learning rate); ``h`` the hypergradient ∂f(θ_{t−1})/∂α_{t−1}.

Notes
-----
* The learning rate lives in ``param_groups[i]["lr"]`` and changes at every step: read
  it back to see what was learnt. Nothing keeps it positive (the paper does not either);
  a too-large β can drive it below zero.
* The paper's defaults are β = 10⁻³ for SGD-HD and β = 10⁻⁷ for Adam-HD (whose
  hypergradient is larger: ∇_α u is of order 1 per coordinate); those are the defaults
  here too, with α₀ = 10⁻³.
* ``weight_decay`` adds λθ to g (coupled L2), and the hypergradient uses that g, the
  gradient of the regularised objective.
* Adam-HD is written in the paper's order (m̂ and v̂ formed explicitly, ε added to √v̂),
  the same update as :class:`minigrad.optim.Adam` at fixed α.
* The paper also gives multiplicative variants and SGDN-HD (Nesterov); they are not
  written here. Neither optimizer has a PyTorch counterpart.

References
----------
A. G. Baydin, R. Cornish, D. Martínez Rubio, M. Schmidt, F. Wood, "Online Learning Rate
Adaptation with Hypergradient Descent", ICLR 2018.

Examples
--------
>>> import minigrad as mg
>>> w = mg.tensor([1.0, -2.0], requires_grad=True)
>>> opt = SGDHD([w], lr=0.1, hypergrad_lr=0.01)
>>> for _ in range(3):
...     opt.zero_grad()
...     (w * w).sum().backward()
...     opt.step()
>>> round(opt.param_groups[0]["lr"], 4)       # grew: consecutive gradients agree
0.3214
"""
from __future__ import annotations

import math

from minigrad._backend import get_array_module
from minigrad.optim.optimizer import Optimizer

__all__ = ["SGDHD", "AdamHD", "hypergradient", "sgd_hd_update", "adam_hd_update"]


def hypergradient(xp, g, du):
    r"""One parameter's share of h_t = g_t · ∇_α u_{t−1} (a Python float)."""
    return float(xp.vdot(g.ravel(), du.ravel()))


def sgd_hd_update(xp, theta, g, *, lr, weight_decay=0.0):
    r"""One SGD step at the current α (``lr``), in place on ``theta``; returns
    ∇_α u_t = −g_t for the next hypergradient."""
    if weight_decay != 0:
        g = g + weight_decay * theta                # g ← g + λθ
    du = -g                                         # ∇_α u_t = −g_t
    theta += lr * du                                # θ_t ← θ_{t−1} + α_t ∇_α u_t
    return du


def adam_hd_update(xp, theta, g, m, v, t, *, lr, beta1=0.9, beta2=0.999, eps=1e-8,
                   weight_decay=0.0):
    r"""One Adam step at the current α (``lr``), in place on ``theta``, ``m``, ``v``;
    returns ∇_α u_t = −m̂_t/(√v̂_t + ε) for the next hypergradient."""
    if weight_decay != 0:
        g = g + weight_decay * theta                # g ← g + λθ
    m *= beta1
    m += (1 - beta1) * g                            # m_t ← β₁m + (1 − β₁)g
    v *= beta2
    v += (1 - beta2) * (g * g)                      # v_t ← β₂v + (1 − β₂)g²
    m_hat = m / (1 - beta1 ** t)                    # m̂_t
    v_hat = v / (1 - beta2 ** t)                    # v̂_t
    du = -m_hat / (xp.sqrt(v_hat) + eps)            # ∇_α u_t = −m̂/(√v̂ + ε)
    theta += lr * du                                # θ_t ← θ_{t−1} + α_t ∇_α u_t
    return du


class _HypergradientOptimizer(Optimizer):
    """The shared step: first h_t and α_t per group, then each parameter's update."""

    def _objective_grad(self, theta, g, group):
        wd = float(group["weight_decay"])
        return g + wd * theta if wd != 0 else g

    def step(self, closure=None):
        """One step; returns the closure's loss (or ``None``). Updates ``group["lr"]``."""
        loss = None
        if closure is not None:
            import minigrad as mg

            with mg.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            h = 0.0                                             # h_t = g_t · ∇_α u_{t−1}
            for p in params:
                state = self.state.get(p)
                if state and state.get("du") is not None:
                    theta = state.get("master", p.data)
                    g = self._dense_grad(p).astype(theta.dtype, copy=False)
                    g = self._objective_grad(theta, g, group)
                    h += hypergradient(get_array_module(theta), g, state["du"])
            if not math.isfinite(h):
                raise FloatingPointError(f"{type(self).__name__}: the hypergradient is {h} "
                                         "(non-finite gradients)")
            group["lr"] = float(group["lr"]) - float(group["hypergrad_lr"]) * h  # α_t
            for p in params:
                self._step_param(p, group)
        return loss

    def _check(self, group):
        self._check_nonnegative(group, "lr", "hypergrad_lr", "weight_decay")


class SGDHD(_HypergradientOptimizer):
    r"""SGD with hypergradient descent on the learning rate (SGD-HD, Baydin et al. 2018).

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float, default 1e-3
        α₀, the initial learning rate.
    hypergrad_lr : float, default 1e-3
        β, the learning rate of the learning rate.
    weight_decay : float, default 0
    """

    def __init__(self, params, lr=1e-3, hypergrad_lr=1e-3, weight_decay=0):
        super().__init__(params, dict(lr=lr, hypergrad_lr=hypergrad_lr,
                                      weight_decay=weight_decay))

    def _init_state(self, theta, group):
        return {"du": None}

    def _update(self, theta, g, state, group):
        state["du"] = sgd_hd_update(get_array_module(theta), theta, g, lr=float(group["lr"]),
                                    weight_decay=float(group["weight_decay"]))


class AdamHD(_HypergradientOptimizer):
    r"""Adam with hypergradient descent on the learning rate (Adam-HD, Baydin et al. 2018).

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float, default 1e-3
        α₀, the initial learning rate.
    hypergrad_lr : float, default 1e-7
        β, the learning rate of the learning rate.
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float, default 0
    """

    def __init__(self, params, lr=1e-3, hypergrad_lr=1e-7, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0):
        super().__init__(params, dict(lr=lr, hypergrad_lr=hypergrad_lr, betas=betas, eps=eps,
                                      weight_decay=weight_decay))

    def _check(self, group):
        super()._check(group)
        self._check_nonnegative(group, "eps")
        self._check_betas(group)

    def _init_state(self, theta, group):
        xp = get_array_module(theta)
        return {"m": xp.zeros_like(theta), "v": xp.zeros_like(theta), "du": None}

    def _update(self, theta, g, state, group):
        beta1, beta2 = group["betas"]
        state["du"] = adam_hd_update(
            get_array_module(theta), theta, g, state["m"], state["v"], state["step"],
            lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2),
            eps=float(group["eps"]), weight_decay=float(group["weight_decay"]))
