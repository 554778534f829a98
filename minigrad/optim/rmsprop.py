r"""RMSprop: divide the gradient by a running root-mean-square of recent gradients.

Intuition
---------
Adagrad's accumulator only grows; RMSprop replaces the sum with an exponential moving
average, so the per-coordinate scale follows the recent gradient magnitude and the step
size does not decay to zero. The *centered* variant (Graves, 2013) divides by an
estimate of the standard deviation instead of the root mean square.

Algorithm
---------
.. code-block:: text

    input : γ (lr), θ₀ (params), f(θ) (objective), α (alpha), ε (eps), λ (weight decay),
            μ (momentum), centered, maximize
    initialize : v₀ ← 0 (square average), b₀ ← 0 (buffer), ḡ₀ ← 0 (gradient average)
    for t = 1, 2, ... do
        g_t ← ∇f_t(θ_{t−1})
        if maximize: g_t ← −g_t
        if λ ≠ 0:    g_t ← g_t + λ θ_{t−1}
        v_t ← α v_{t−1} + (1 − α) g_t²
        ṽ_t ← v_t
        if centered:
            ḡ_t ← α ḡ_{t−1} + (1 − α) g_t
            ṽ_t ← ṽ_t − ḡ_t²
        if μ > 0:
            b_t ← μ b_{t−1} + g_t / (√ṽ_t + ε)
            θ_t ← θ_{t−1} − γ b_t
        else:
            θ_t ← θ_{t−1} − γ g_t / (√ṽ_t + ε)
    return θ_t

Symbols: ``v`` (PyTorch: ``square_avg``), ``g_bar`` = ḡ (``grad_avg``), ``b``
(``momentum_buffer``). Defaults (PyTorch's): lr 1e-2, alpha 0.99, eps 1e-8,
weight_decay 0, momentum 0, centered False.

Notes
-----
* There is no bias correction: v starts at 0, so the first steps are large (by up to
  1/√(1 − α) = 10× at α = 0.99) compared with Adam with β1 = 0, which is the same rule
  with v̂ = v/(1 − αᵗ). The test suite checks this equivalence.
* ε is added outside the square root, as PyTorch does (Hinton's lecture has none; Graves
  adds it inside: √(v − ḡ² + ε)).
* **α must lie in [0, 1]** (a deliberate difference: PyTorch only asks α ≥ 0). v is a
  moving average only for weights α and 1 − α in [0, 1]; with α > 1 the new g² enters
  with a negative weight, v can turn negative and √v is NaN.

References
----------
G. Hinton, N. Srivastava, K. Swersky, "Neural Networks for Machine Learning", Lecture 6e,
2012. A. Graves, "Generating Sequences With Recurrent Neural Networks", arXiv:1308.0850,
2013 (the centered form, eq. 38–41).
"""
from __future__ import annotations

from minigrad._backend import get_array_module

from .optimizer import Optimizer

__all__ = ["RMSprop", "rmsprop_update"]


def rmsprop_update(xp, theta, g, v, *, lr, alpha=0.99, eps=1e-8, weight_decay=0.0,
                   momentum=0.0, centered=False, b=None, g_bar=None, maximize=False):
    r"""One RMSprop step on arrays, in place on ``theta``, ``v`` and (when used) ``b``, ``g_bar``.

    ``b`` is needed when ``momentum > 0`` and ``g_bar`` when ``centered``; both start at 0.
    """
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * theta                # g ← g + λθ
    v *= alpha                                      # v ← αv + (1 − α)g²
    v += (1 - alpha) * (g * g)
    if centered:
        g_bar *= alpha                              # ḡ ← αḡ + (1 − α)g
        g_bar += (1 - alpha) * g
        denom = v - g_bar * g_bar                   # ṽ = v − ḡ²
        xp.sqrt(denom, out=denom)
    else:
        denom = xp.sqrt(v)                          # ṽ = v
    denom += eps                                    # √ṽ + ε
    if momentum > 0:
        b *= momentum                               # b ← μb + g/(√ṽ + ε)
        b += xp.divide(g, denom, out=denom)
        theta -= lr * b                             # θ ← θ − γb
    else:
        step = xp.divide(g, denom, out=denom)       # θ ← θ − γ g/(√ṽ + ε)
        step *= lr
        theta -= step


class RMSprop(Optimizer):
    r"""RMSprop with PyTorch's defaults and options (centered, momentum).

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float, default 1e-2
    alpha : float, default 0.99
        Smoothing constant of the square average, in [0, 1] (PyTorch accepts any α ≥ 0;
        see Notes).
    eps : float, default 1e-8
    weight_decay : float, default 0
    momentum : float, default 0
    centered : bool, default False
    maximize : bool, default False
    foreach, capturable, differentiable : PyTorch's implementation switches, with its
        defaults (see :class:`~minigrad.optim.Optimizer`, Notes).
    """

    _implementation_flags = ("foreach", "capturable", "differentiable")

    _torch_state_names = {"square_avg": "v", "momentum_buffer": "b", "grad_avg": "g_bar"}

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _check(self, group):
        self._check_nonnegative(group, "lr", "eps", "momentum", "weight_decay")
        self._check_unit_interval(group, "alpha", closed=True)

    def _init_state(self, theta, group):
        xp = get_array_module(theta)
        state = {"v": xp.zeros_like(theta)}
        if group["momentum"] > 0:
            state["b"] = xp.zeros_like(theta)
        if group["centered"]:
            state["g_bar"] = xp.zeros_like(theta)
        return state

    def _update(self, theta, g, state, group):
        xp = get_array_module(theta)
        momentum, centered = float(group["momentum"]), bool(group["centered"])
        # buffers switched on after the first step (a momentum schedule) start at zero
        if momentum > 0 and state.get("b") is None:
            state["b"] = xp.zeros_like(theta)
        if centered and state.get("g_bar") is None:
            state["g_bar"] = xp.zeros_like(theta)
        rmsprop_update(
            xp, theta, g, state["v"], lr=float(group["lr"]), alpha=float(group["alpha"]),
            eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
            momentum=momentum, centered=centered, b=state.get("b"),
            g_bar=state.get("g_bar"), maximize=bool(group["maximize"]),
        )
