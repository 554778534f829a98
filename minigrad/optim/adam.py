r"""Adam: momentum on the gradient, per-coordinate scale from its second moment; AMSGrad.

Intuition
---------
Keep exponential moving averages of the gradient (m, the first moment) and of its
square (v, the second raw moment). Step along m, scaled per coordinate by 1/√v, so
the step has roughly the size lr whatever the gradient's scale. Both averages start at
0 and are therefore biased towards 0 early on; dividing by (1 − βᵗ) removes that bias.
AMSGrad (Reddi et al., 2018) divides by the running *maximum* of v instead, so the
effective step size never grows, which repairs Adam's non-convergence counterexample.

Algorithm
---------
.. code-block:: text

    input : γ (lr), β₁, β₂ (betas), θ₀ (params), f(θ) (objective), λ (weight decay),
            ε (eps), amsgrad, maximize
    initialize : m₀ ← 0 (first moment), v₀ ← 0 (second moment), v₀^max ← 0
    for t = 1, 2, ... do
        g_t ← ∇f_t(θ_{t−1})
        if maximize: g_t ← −g_t
        if λ ≠ 0:    g_t ← g_t + λ θ_{t−1}               (coupled L2, as PyTorch's Adam)
        m_t ← β₁ m_{t−1} + (1 − β₁) g_t
        v_t ← β₂ v_{t−1} + (1 − β₂) g_t²
        m̂_t ← m_t / (1 − β₁ᵗ)
        if amsgrad:
            v_t^max ← max(v_{t−1}^max, v_t)
            v̂_t ← v_t^max / (1 − β₂ᵗ)
        else:
            v̂_t ← v_t / (1 − β₂ᵗ)
        θ_t ← θ_{t−1} − γ m̂_t / (√v̂_t + ε)
    return θ_t

Symbols: ``m`` (PyTorch: ``exp_avg``), ``v`` (``exp_avg_sq``), ``v_max``
(``max_exp_avg_sq``), ``m_hat`` = m̂, ``v_hat`` = v̂; squares, roots and max are
elementwise. Defaults (PyTorch's): lr 1e-3, betas (0.9, 0.999), eps 1e-8,
weight_decay 0, amsgrad False.

Notes
-----
* **Where ε goes.** ε is added to the bias-corrected √v̂ (Algorithm 1 of the paper, as
  PyTorch and optax do). The paper's "efficient" rewrite, used by Chainer and DeZero,
  folds the corrections into the step size, lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m/(√v + ε), which adds
  ε to the *uncorrected* √v: a different ε early on. For a first step with g = 1e-6,
  lr = 1, ε = 1e-8 and default betas, θ moves by 0.990099 here and 0.759747 under the
  rewrite (the test suite pins this).
* The code computes the step as α_t·m/(√v + ε̂) with α_t = γ√(1 − β₂ᵗ)/(1 − β₁ᵗ) and
  ε̂ = ε√(1 − β₂ᵗ): algebraically *identical* to γ·m̂/(√v̂ + ε) (it is the paper's own
  rewrite in section 2, with ε̂ scaled so that ε keeps its Algorithm 1 meaning), and two
  passes over memory cheaper. The moving averages are updated in place as
  m ← g + β₁(m − g) and v ← v + (1 − β₂)(g² − v). Results agree with the textbook order
  to float rounding.
* ``weight_decay`` here is the coupled L2 penalty of PyTorch's Adam. Decoupled weight
  decay is :class:`minigrad.optim.AdamW` (PyTorch's ``Adam(decoupled_weight_decay=True)``
  flag is not provided: one class per rule).
* AMSGrad as PyTorch implements it: the maximum is taken over the raw v and then
  bias-corrected (the paper's Algorithm has no bias correction).

References
----------
D. P. Kingma, J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015
(Algorithm 1). S. J. Reddi, S. Kale, S. Kumar, "On the Convergence of Adam and Beyond",
ICLR 2018 (AMSGrad).
"""
from __future__ import annotations

import math

from minigrad._backend import get_array_module

from .optimizer import Optimizer

__all__ = ["Adam", "adam_update"]


def adam_update(xp, theta, g, m, v, t, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                weight_decay=0.0, amsgrad=False, v_max=None, maximize=False):
    r"""One Adam (or AMSGrad) step on arrays, in place on ``theta``, ``m``, ``v`` (``v_max``).

    Parameters
    ----------
    xp : module
        NumPy or CuPy.
    theta, g : array
        Parameter (updated) and gradient (not modified).
    m, v : array
        First and second moment estimates (updated).
    t : int
        Step number, counted from 1.
    lr, beta1, beta2, eps, weight_decay : float
    amsgrad : bool
        Use the running maximum ``v_max`` (updated in place; required then).
    maximize : bool

    Examples
    --------
    The first step of Adam moves every coordinate by about lr (here g = 1e-6, so ε
    still matters):

    >>> import numpy as np
    >>> theta, g = np.zeros(1), np.full(1, 1e-6)
    >>> m, v = np.zeros(1), np.zeros(1)
    >>> adam_update(np, theta, g, m, v, 1, lr=1.0, eps=1e-8)
    >>> round(float(-theta[0]), 6)
    0.990099
    """
    if maximize:
        g = -g                                      # ascend f = descend −f
    if weight_decay != 0:
        g = g + weight_decay * theta                # g ← g + λθ
    m -= g                                          # m ← β₁m + (1 − β₁)g,
    m *= beta1                                      #   computed in place as g + β₁(m − g)
    m += g
    g2 = xp.multiply(g, g)                          # v ← β₂v + (1 − β₂)g²,
    g2 -= v                                         #   computed as v + (1 − β₂)(g² − v)
    g2 *= 1 - beta2
    v += g2
    if amsgrad:
        xp.maximum(v_max, v, out=v_max)             # v_max ← max(v_max, v)
        v = v_max
    # θ ← θ − γ·m̂/(√v̂ + ε) with m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ). Multiplying numerator
    # and denominator by √(1 − β₂ᵗ) gives, exactly (the paper's section 2, with its ε̂
    # chosen so that ε stays on √v̂):
    #     θ ← θ − α_t·m/(√v + ε̂),  α_t = γ√(1 − β₂ᵗ)/(1 − β₁ᵗ),  ε̂ = ε√(1 − β₂ᵗ)
    # which needs two fewer passes over memory than forming m̂ and √v̂.
    sqrt_bias_correction2 = math.sqrt(1 - beta2 ** t)
    alpha_t = lr * sqrt_bias_correction2 / (1 - beta1 ** t)
    eps_hat = eps * sqrt_bias_correction2
    denom = xp.sqrt(v, out=g2)                      # √v + ε̂  (= √(1 − β₂ᵗ)·(√v̂ + ε))
    denom += eps_hat
    step = xp.divide(m, denom, out=denom)           # α_t·m/(√v + ε̂)  (= γ·m̂/(√v̂ + ε))
    step *= alpha_t
    theta -= step                                   # θ ← θ − γ·m̂/(√v̂ + ε)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with AMSGrad, PyTorch's defaults and coupled weight decay.

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float, default 0
        Coupled L2 penalty (``g ← g + λθ``); for decoupled decay use ``AdamW``.
    amsgrad : bool, default False
    maximize : bool, default False
    fused : bool or None, default None (off)
        Update all parameters of a group with one fused kernel (``minigrad.optim.fused``;
        one launch per group on CUDA, the same numbers).
    foreach, capturable, differentiable : PyTorch's implementation switches, with its
        defaults (see :class:`~minigrad.optim.Optimizer`, Notes).

    Examples
    --------
    >>> import minigrad as mg
    >>> w = mg.tensor([0.0], requires_grad=True)
    >>> opt = Adam([w], lr=1.0)
    >>> w.grad = mg.tensor([1e-6])
    >>> opt.step()
    >>> round(-w.item(), 6)
    0.990099
    """

    _implementation_flags = ("foreach", "capturable", "differentiable", "fused")

    _torch_state_names = {"exp_avg": "m", "exp_avg_sq": "v", "max_exp_avg_sq": "v_max"}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        if decoupled_weight_decay and type(self) is Adam:
            raise ValueError("Adam(decoupled_weight_decay=True) is minigrad.optim.AdamW "
                             "(one class per update rule): use AdamW with the same "
                             "arguments")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        self.fused = bool(fused)  # one kernel launch per group on CUDA

    def _check(self, group):
        self._check_nonnegative(group, "lr", "eps", "weight_decay")
        self._check_betas(group)
        if group.get("decoupled_weight_decay") and type(self) is Adam:
            # e.g. a PyTorch state dict of Adam(decoupled_weight_decay=True)
            self._fail("decoupled weight decay is AdamW here: use minigrad.optim.AdamW")

    def _init_state(self, theta, group):
        xp = get_array_module(theta)
        state = {"m": xp.zeros_like(theta), "v": xp.zeros_like(theta)}
        if group["amsgrad"]:
            state["v_max"] = xp.zeros_like(theta)
        return state

    def _update(self, theta, g, state, group):
        beta1, beta2 = group["betas"]
        amsgrad = bool(group["amsgrad"])
        if amsgrad and state.get("v_max") is None:
            state["v_max"] = get_array_module(theta).zeros_like(theta)
        adam_update(
            get_array_module(theta), theta, g, state["m"], state["v"], state["step"],
            lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2),
            eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
            amsgrad=amsgrad, v_max=state.get("v_max"), maximize=bool(group["maximize"]),
        )
