r"""Adafactor: Adam-like adaptive steps whose second moment of a matrix is stored as a row
and a column factor (O(m + n) memory instead of O(m·n)), with a relative step size.

Intuition
---------
Adam keeps v, a running mean of g², as large as the parameter. For a matrix the
running means of g² along its rows (R, m numbers) and along its columns (C, n numbers)
determine a rank-1 estimate V̂ = R Cᵀ / mean(R) that is exact when v is rank-1, and good
enough in practice (Shazeer & Stern, §3). Two more changes make it work without momentum
or a tuned learning rate: the decay β̂₂ grows with t (1 − t^τ, so early steps average
over all gradients seen), and the step is relative to the parameter's scale (α_t =
max(ε₂, RMS(θ)) · ρ_t), with updates whose RMS exceeds d scaled down to d.

Algorithm
---------
.. code-block:: text

    input : γ (lr), τ (beta2_decay), θ₀ (params), f(θ) (objective), ε₁, ε₂ (eps),
            d (clipping threshold), λ (weight decay), maximize
    initialize : R₀ ← 0, C₀ ← 0 (matrices: row and column factors), V̂₀ ← 0 (vectors)
    for t = 1, 2, ... do
        g_t ← ∇f_t(θ_{t−1});   if maximize: g_t ← −g_t
        β̂₂ ← 1 − t^τ
        ρ_t ← min(γ, 1/√t)
        α_t ← max(ε₂, RMS(θ_{t−1})) · ρ_t
        θ_{t−1} ← θ_{t−1} − γλ θ_{t−1}                      (decoupled weight decay)
        if θ has ≥ 2 dims:                        (over its last two; earlier dims batch)
            R_t ← β̂₂ R_{t−1} + (1 − β̂₂) mean_cols(g_t²)    (m × 1)
            C_t ← β̂₂ C_{t−1} + (1 − β̂₂) mean_rows(g_t²)    (1 × n)
            V̂_t ← R_t C_t / max(mean(R_t), ε₁)
        else:
            V̂_t ← β̂₂ V̂_{t−1} + (1 − β̂₂) g_t²
        U_t ← g_t / √max(V̂_t, ε₁²)
        θ_t ← θ_{t−1} − α_t · U_t / max(1, RMS(U_t)/d)
    return θ_t

RMS(x) = ‖x‖₂/√(number of elements). Symbols: ``R``, ``C``, ``v`` (PyTorch's
``row_var``, ``col_var``, ``variance``). Defaults (PyTorch's): lr 1e-2, beta2_decay −0.8,
eps (None, 1e-3) (ε₁ None: the machine epsilon of the parameter's dtype), d 1,
weight_decay 0.

Notes
-----
* As PyTorch's ``Adafactor`` (and unlike the paper's Algorithms 4 and 5): the factors are
  running *means* of g² over the rows and columns, not sums (V̂ is the same); the relative
  step is ρ_t = min(lr, 1/√t) with lr in place of the paper's 10⁻²; ε₁ bounds V̂ (squared)
  and the normalizing mean(R) rather than being added to g²; there is no first moment
  (the paper's β₁ = 0 setting); weight decay is decoupled and scaled by lr.
* A float16/bfloat16 parameter is updated through its float32 master copy (as every
  optimizer here), so ε₁ = None means float32's machine epsilon for it.

References
----------
N. Shazeer, M. Stern, "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost",
ICML 2018 (Algorithms 4 and 5; §7 for the relative step size and update clipping).
"""
from __future__ import annotations

import numpy as np

from minigrad._backend import get_array_module

from .optimizer import Optimizer

__all__ = ["Adafactor", "adafactor_update"]


def _rms(xp, x):
    return float(xp.sqrt(xp.mean(x * x)))


def adafactor_update(xp, theta, g, state, t, *, lr=1e-2, beta2_decay=-0.8, eps1=None,
                     eps2=1e-3, d=1.0, weight_decay=0.0, maximize=False):
    r"""One Adafactor step on arrays, in place on ``theta`` and on ``state`` (``"R"`` and
    ``"C"`` for a parameter with two or more dims, else ``"v"``); ``t`` counts from 1.

    Examples
    --------
    The first step of a vector moves each coordinate by α₁ = max(ε₂, RMS(θ))·min(lr, 1)
    in the direction −sign(g) (V̂₁ = g², so U = sign(g), RMS(U) = 1):

    >>> import numpy as np
    >>> theta, g, state = np.array([3.0, -4.0]), np.array([0.5, 2.0]), {"v": np.zeros(2)}
    >>> adafactor_update(np, theta, g, state, 1, lr=0.1)
    >>> np.round(theta, 6).tolist()          # α₁ = RMS(θ)·0.1 = √12.5·0.1
    [2.646447, -4.353553]
    """
    if maximize:
        g = -g
    if eps1 is None:
        eps1 = float(np.finfo(theta.dtype).eps)
    one_minus_beta2 = t ** beta2_decay                     # 1 − β̂₂ = t^τ
    rho = min(lr, 1.0 / t ** 0.5)                          # ρ_t = min(γ, 1/√t)
    alpha = max(eps2, _rms(xp, theta)) * rho               # α_t = max(ε₂, RMS(θ))·ρ_t
    if weight_decay != 0:
        theta *= 1 - lr * weight_decay                     # θ ← θ − γλθ
    g2 = g * g
    if "R" in state:
        R, C = state["R"], state["C"]
        R += one_minus_beta2 * (g2.mean(axis=-1, keepdims=True) - R)   # R ← β̂₂R + (1−β̂₂)·
        C += one_minus_beta2 * (g2.mean(axis=-2, keepdims=True) - C)   # C ← β̂₂C + (1−β̂₂)·
        v_hat = (R @ C) / xp.maximum(R.mean(axis=-2, keepdims=True), eps1)
    else:
        v = state["v"]
        v += one_minus_beta2 * (g2 - v)                    # V̂ ← β̂₂V̂ + (1 − β̂₂)g²
        v_hat = v
    u = g / xp.sqrt(xp.maximum(v_hat, eps1 * eps1))        # U = g/√max(V̂, ε₁²)
    u *= alpha / max(1.0, _rms(xp, u) / d)                 # clip RMS(U) to d, scale by α
    theta -= u


class Adafactor(Optimizer):
    r"""Adafactor (Shazeer & Stern, 2018) with PyTorch's defaults and conventions.

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float, default 1e-2
        The cap of the relative step size ρ_t = min(lr, 1/√t); also scales weight decay.
    beta2_decay : float ≤ 0, default −0.8
        τ in 1 − β̂₂ = t^τ.
    eps : (float or None, float), default (None, 1e-3)
        ε₁ (floor of V̂ and of mean(R); None: the dtype's machine epsilon) and ε₂ (floor of
        RMS(θ) in the step size).
    d : float ≥ 1, default 1
        Clipping threshold on RMS(U).
    weight_decay : float, default 0
        Decoupled: θ ← θ(1 − lr·λ).
    maximize : bool, default False
    """

    _torch_state_names = {"row_var": "R", "col_var": "C", "variance": "v"}

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False):
        del foreach  # PyTorch's choice of implementation; one implementation here
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check(self, group):
        self._check_nonnegative(group, "lr", "weight_decay")
        if not group["beta2_decay"] <= 0:
            raise ValueError(f"Adafactor: beta2_decay must be <= 0, got {group['beta2_decay']}")
        eps = group["eps"]
        if not isinstance(eps, (tuple, list)) or len(eps) != 2:
            raise ValueError(f"Adafactor: eps must be a pair (eps1 or None, eps2), got {eps!r}")
        if (eps[0] is not None and not eps[0] >= 0) or not eps[1] >= 0:
            raise ValueError(f"Adafactor: eps values must be non-negative, got {eps!r}")
        if not group["d"] >= 1:
            raise ValueError(f"Adafactor: the clipping threshold d must be >= 1, got "
                             f"{group['d']}")

    def _state_shape(self, key, theta):
        if key == "R":                                  # (..., m, 1)
            return theta.shape[:-1] + (1,)
        if key == "C":                                  # (..., 1, n)
            return theta.shape[:-2] + (1,) + theta.shape[-1:]
        return theta.shape

    def _init_state(self, theta, group):
        xp = get_array_module(theta)
        keys = ("R", "C") if theta.ndim >= 2 else ("v",)
        return {k: xp.zeros(self._state_shape(k, theta), dtype=theta.dtype) for k in keys}

    def _update(self, theta, g, state, group):
        eps1, eps2 = group["eps"]
        adafactor_update(
            get_array_module(theta), theta, g, state, state["step"], lr=float(group["lr"]),
            beta2_decay=float(group["beta2_decay"]),
            eps1=None if eps1 is None else float(eps1), eps2=float(eps2),
            d=float(group["d"]), weight_decay=float(group["weight_decay"]),
            maximize=bool(group["maximize"]))
