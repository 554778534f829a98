r"""ASGD: stochastic gradient descent with a decaying step, and the average of its iterates.

Intuition
---------
SGD with a step that decays slowly (as t^−α, ½ < α < 1) moves fast but rattles around the
minimum; the *average* of its iterates cancels most of the rattle. Polyak and Juditsky
proved that this average converges at the best possible rate, as fast as if each step
had been preconditioned by the inverse Hessian. The optimizer takes ordinary SGD steps
on θ and keeps the running average ``ax`` beside them, from step t₀ on; evaluate the
model with ``ax`` in place of θ to get the benefit.

Algorithm
---------
.. code-block:: text

    input : γ (lr), θ₀ (params), f(θ) (objective), λ (lambd), α (alpha), t₀ (t0),
            wd (weight decay), maximize
    initialize : η₀ ← γ (step size), μ₀ ← 1 (averaging weight), ax₀ ← 0 (average)
    for t = 1, 2, ... do
        g_t ← ∇f_t(θ_{t−1})
        if maximize: g_t ← −g_t
        if wd ≠ 0:   g_t ← g_t + wd θ_{t−1}
        θ_t ← θ_{t−1} (1 − λ η_{t−1}) − η_{t−1} g_t
        if μ_{t−1} = 1:
            ax_t ← θ_t
        else:
            ax_t ← ax_{t−1} + μ_{t−1} (θ_t − ax_{t−1})
        η_t ← γ / (1 + λ γ t)^α
        μ_t ← 1 / max(1, t − t₀)
    return θ_t, ax_t

Symbols: ``eta`` = η (PyTorch: ``eta``), ``mu`` = μ (``mu``), ``ax`` (``ax``), the
averaged parameters. Defaults (PyTorch's): lr 1e-2, lambd 1e-4, alpha 0.75, t0 1e6,
weight_decay 0.

Notes
-----
* The schedules are Bottou's ASGD recipe, which PyTorch follows: η_t = γ(1 + λγt)^−α
  decays as t^−α once t ≫ 1/(λγ), the regime of Polyak & Juditsky's theorem, and λ is
  also the constant of an L2 penalty ½λ‖θ‖², applied as the shrink factor (1 − λη). With
  λ = 0 the step stays at γ and there is no shrinking.
* μ is one step behind: the weight used at step t is 1/max(1, t − 1 − t₀). With an
  integer t₀, ax_t = θ_t up to t = t₀ + 2 and ax_t is the mean of θ_{t₀+2}, ..., θ_t after
  that. With PyTorch's default t₀ = 1e6, ax is simply θ in most runs.
* The parameters are never replaced by the average: ``ax`` lives in the state
  (``opt.state[p]["ax"]``); copy it into the parameters to evaluate the averaged model.
  (:mod:`minigrad.optim.swa_utils` averages the iterates of any optimizer.)
* η_0 is the lr when the parameter's state is created; later η's are computed from the
  group's current lr, so a scheduler's change takes effect one step late (as PyTorch).
* η and μ are Python floats (float64) here; PyTorch keeps them as 0-d tensors of the
  default dtype (float32 unless changed), so the two agree to float32 rounding in η.
* Besides lr and weight_decay (all PyTorch checks), lambd, alpha and t0 must be ≥ 0 here:
  a negative λ makes 1 + λγt negative, and its power α undefined.

References
----------
B. T. Polyak, A. B. Juditsky, "Acceleration of Stochastic Approximation by Averaging",
SIAM Journal on Control and Optimization 30(4), 1992. L. Bottou, "Stochastic Gradient
Descent Tricks", Neural Networks: Tricks of the Trade, 2012 (the schedules of η and μ).
"""
from __future__ import annotations

from minigrad._backend import get_array_module

from .optimizer import Optimizer

__all__ = ["ASGD", "asgd_update"]


def asgd_update(xp, theta, g, ax, t, eta, mu, *, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6,
                weight_decay=0.0, maximize=False):
    r"""One ASGD step on arrays, in place on ``theta`` and ``ax``; returns ``(eta, mu)``.

    ``t`` counts from 1; ``eta`` and ``mu`` are η_{t−1} and μ_{t−1} (γ and 1 before the
    first step), and the returned pair is η_t, μ_t for the next step.

    Examples
    --------
    >>> import numpy as np
    >>> theta, ax = np.ones(1), np.zeros(1)
    >>> eta, mu = asgd_update(np, theta, np.ones(1), ax, 1, 0.5, 1.0, lr=0.5, lambd=0.0)
    >>> theta.tolist(), ax.tolist(), eta, mu
    ([0.5], [0.5], 0.5, 1.0)
    """
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * theta                # g ← g + wd θ
    theta *= 1 - lambd * eta                        # θ ← θ(1 − λη) − ηg
    theta -= eta * g
    if mu == 1:
        ax[...] = theta                             # ax ← θ
    else:
        ax += mu * (theta - ax)                     # ax ← ax + μ(θ − ax)
    eta = lr / (1 + lambd * lr * t) ** alpha        # η ← γ/(1 + λγt)^α
    mu = 1 / max(1, t - t0)                         # μ ← 1/max(1, t − t₀)
    return eta, mu


class ASGD(Optimizer):
    r"""Averaged SGD (Polyak & Juditsky, 1992) with PyTorch's schedules and defaults.

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float, default 1e-2
        γ, the initial step size η₀.
    lambd : float, default 1e-4
        λ, the decay of the step size and the shrink factor (1 − λη).
    alpha : float, default 0.75
        α, the power of the step-size decay.
    t0 : float, default 1e6
        t₀, the step from which the iterates are averaged.
    weight_decay : float, default 0
        Coupled L2 penalty (``g ← g + wd θ``).
    maximize : bool, default False
    foreach, capturable, differentiable : PyTorch's implementation switches, with its
        defaults (see :class:`~minigrad.optim.Optimizer`, Notes).
    """

    _implementation_flags = ("foreach", "capturable", "differentiable")

    _scalar_state = {"step": int, "eta": float, "mu": float}

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, *,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _check(self, group):
        self._check_nonnegative(group, "lr", "lambd", "alpha", "t0", "weight_decay")

    def _init_state(self, theta, group):
        xp = get_array_module(theta)
        return {"eta": float(group["lr"]), "mu": 1.0, "ax": xp.zeros_like(theta)}

    def _update(self, theta, g, state, group):
        state["eta"], state["mu"] = asgd_update(
            get_array_module(theta), theta, g, state["ax"], state["step"], state["eta"],
            state["mu"], lr=float(group["lr"]), lambd=float(group["lambd"]),
            alpha=float(group["alpha"]), t0=float(group["t0"]),
            weight_decay=float(group["weight_decay"]), maximize=bool(group["maximize"]),
        )
