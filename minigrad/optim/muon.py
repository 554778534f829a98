r"""Muon: momentum whose update matrix is orthogonalized (its singular values pushed
towards 1) by a few Newton–Schulz iterations, for the 2-D weights of hidden layers.

Intuition
---------
The momentum of a weight matrix is typically dominated by a few directions (it is close
to low rank). Replacing it by the nearest semi-orthogonal matrix U Vᵀ (its SVD with every
singular value set to 1) makes every direction of the update move by the same amount:
rare directions are not drowned by common ones. This is steepest descent under the
spectral norm (Bernstein & Newhouse 2024). An SVD per step would be slow; a quintic
Newton–Schulz iteration on X = M/‖M‖_F gets singular values into about [0.7, 1.2] in five
matrix-product steps, which works as well in practice.

Algorithm
---------
.. code-block:: text

    input : γ (lr), λ (weight decay), μ (momentum), nesterov, (a, b, c) (NS coefficients),
            ε (eps), k (NS steps), θ₀ (2-D params), f(θ) (objective), adjust_lr_fn
    initialize : B₀ ← 0 (momentum buffer)
    for t = 1, 2, ... do
        g_t ← ∇f_t(θ_{t−1})
        B_t ← μ B_{t−1} + (1 − μ) g_t                  (an exponential average)
        M_t ← (1 − μ) g_t + μ B_t  if nesterov,  else B_t
        X ← M_tᵀ if M_t has more rows than columns, else M_t
        X ← X / max(‖X‖_F, ε)
        repeat k times:  A ← X Xᵀ;  X ← a X + (b A + c A²) X     (quintic Newton–Schulz)
        O_t ← X (transposed back)
        θ_{t−1} ← θ_{t−1} − γλ θ_{t−1}                   (decoupled weight decay)
        γ' ← γ·√max(1, rows/cols)       ("original"; "match_rms_adamw": 0.2γ·√max(rows, cols))
        θ_t ← θ_{t−1} − γ' O_t
    return θ_t

Symbols: ``B`` (PyTorch: ``momentum_buffer``). Defaults (PyTorch's): lr 1e-3,
weight_decay 0.1, momentum 0.95, nesterov True, (a, b, c) = (3.4445, −4.7750, 2.0315),
eps 1e-7, 5 steps, adjust_lr_fn None ("original").

Notes
-----
* Only 2-D parameters: biases, gains and embeddings belong to another optimizer (AdamW,
  say), as the paper and PyTorch prescribe; a parameter of another rank is refused.
* The momentum is PyTorch's code, an exponential average (B ← μB + (1 − μ)g, "lerp"), not
  the plain sum its docstring writes; the Nesterov form mixes g and B the same way.
* The Newton–Schulz iteration runs in the parameter's dtype (float32 or float64; float32
  for a half-precision parameter's master copy). PyTorch and Keller Jordan's code run it in
  bfloat16 for speed on GPUs; the result differs by bfloat16 rounding (≈ 3 digits), which
  the method tolerates, but here the update is exact to the working precision.
* The coefficients maximize the slope at 0 rather than converge to 1: the output's
  singular values end up spread around 1 (tested), not equal to it.

References
----------
K. Jordan et al., "Muon: An optimizer for hidden layers in neural networks" (2024),
https://kellerjordan.github.io/posts/muon/; J. Liu et al., "Muon is Scalable for LLM
Training" (2025), arXiv:2502.16982 (the AdamW-matching learning-rate scale); J. Bernstein,
L. Newhouse, "Old Optimizer, New Norm: An Anthology" (2024), arXiv:2409.20325.
"""
from __future__ import annotations

import math

from minigrad._backend import get_array_module

from .optimizer import Optimizer

__all__ = ["Muon", "muon_update", "newton_schulz"]

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
_ADJUSTMENTS = (None, "original", "match_rms_adamw")


def newton_schulz(xp, M, coefficients=NS_COEFFICIENTS, steps=5, eps=1e-7):
    r"""The approximate orthogonalization of the matrix ``M`` by ``steps`` quintic
    Newton–Schulz iterations X ← aX + (bA + cA²)X, A = XXᵀ, from X = M/‖M‖_F (on the
    wide orientation: a tall M is transposed first and the result transposed back).

    Examples
    --------
    >>> import numpy as np
    >>> M = np.diag([5.0, 0.5])                  # singular values 5 and 0.5 ...
    >>> s = np.linalg.svd(newton_schulz(np, M), compute_uv=False)
    >>> bool((0.6 < s).all() and (s < 1.3).all())  # ... both brought near 1
    True
    """
    a, b, c = coefficients
    tall = M.shape[0] > M.shape[1]
    X = M.T if tall else M
    X = X / max(float(xp.sqrt((X * X).sum())), eps)
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (b * A + c * (A @ A)) @ X
    return X.T if tall else X


def _adjusted_lr(lr, adjust_lr_fn, shape):
    rows, cols = shape[:2]
    if adjust_lr_fn in (None, "original"):
        return lr * math.sqrt(max(1.0, rows / cols))
    return lr * 0.2 * math.sqrt(max(rows, cols))                # "match_rms_adamw"


def muon_update(xp, theta, g, B, *, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                ns_coefficients=NS_COEFFICIENTS, eps=1e-7, ns_steps=5, adjust_lr_fn=None):
    r"""One Muon step on a 2-D array, in place on ``theta`` and the buffer ``B``.

    Examples
    --------
    A rank-1 gradient u vᵀ orthogonalizes to (about) u vᵀ/(‖u‖‖v‖): here the first step
    moves only the first row, by ≈ lr·√2·(momentum-free direction of g):

    >>> import numpy as np
    >>> theta, B = np.zeros((2, 3)), np.zeros((2, 3))
    >>> g = np.array([[1.0, 2.0, 2.0], [0.0, 0.0, 0.0]])
    >>> muon_update(np, theta, g, B, lr=0.1, weight_decay=0.0, momentum=0.0)
    >>> bool(np.all(theta[1] == 0) and np.all(theta[0] < 0))
    True
    """
    B += (1 - momentum) * (g - B)                                 # B ← μB + (1 − μ)g
    M = g + momentum * (B - g) if nesterov else B                 # (1 − μ)g + μB, or B
    O = newton_schulz(xp, M, ns_coefficients, ns_steps, eps)      # O ≈ U Vᵀ of M
    if weight_decay != 0:
        theta *= 1 - lr * weight_decay                            # θ ← θ − γλθ
    theta -= _adjusted_lr(lr, adjust_lr_fn, theta.shape) * O      # θ ← θ − γ'O


class Muon(Optimizer):
    r"""Muon (Jordan et al. 2024) with PyTorch's defaults, for 2-D parameters.

    Parameters
    ----------
    params : iterable of Tensor or dict — 2-D parameters only.
    lr : float, default 1e-3
    weight_decay : float, default 0.1 — decoupled, θ ← θ(1 − lr·λ).
    momentum : float, default 0.95
    nesterov : bool, default True
    ns_coefficients : (a, b, c), default (3.4445, −4.7750, 2.0315)
    eps : float, default 1e-7 — floor of ‖M‖_F in the normalization.
    ns_steps : int, default 5 (fewer than 100).
    adjust_lr_fn : None, "original" or "match_rms_adamw" — the per-shape lr scale.
    """

    _torch_state_names = {"momentum_buffer": "B"}

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=NS_COEFFICIENTS, eps=1e-7, ns_steps=5, adjust_lr_fn=None):
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum,
                        nesterov=nesterov, ns_coefficients=tuple(ns_coefficients), eps=eps,
                        ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)

    def _check(self, group):
        self._check_nonnegative(group, "lr", "weight_decay", "momentum", "eps")
        coefficients = group["ns_coefficients"]
        if len(tuple(coefficients)) != 3:
            raise ValueError(f"Muon: ns_coefficients must be 3 numbers (a, b, c), got "
                             f"{coefficients!r}")
        steps = group["ns_steps"]
        if not isinstance(steps, int) or isinstance(steps, bool) or not 0 <= steps < 100:
            raise ValueError(f"Muon: ns_steps must be an int in [0, 100), got {steps!r}")
        if group["adjust_lr_fn"] not in _ADJUSTMENTS:
            raise ValueError(f"Muon: adjust_lr_fn must be None, 'original' or "
                             f"'match_rms_adamw', got {group['adjust_lr_fn']!r}")
        for p in group.get("params", ()):
            if p.ndim != 2:
                raise ValueError(f"Muon: only 2-D parameters (hidden-layer weights), got one "
                                 f"of shape {tuple(p.shape)}; give biases, gains and "
                                 "embeddings to another optimizer such as AdamW")

    def _init_state(self, theta, group):
        return {"B": get_array_module(theta).zeros_like(theta)}

    def _update(self, theta, g, state, group):
        muon_update(
            get_array_module(theta), theta, g, state["B"], lr=float(group["lr"]),
            weight_decay=float(group["weight_decay"]), momentum=float(group["momentum"]),
            nesterov=bool(group["nesterov"]),
            ns_coefficients=tuple(float(c) for c in group["ns_coefficients"]),
            eps=float(group["eps"]), ns_steps=int(group["ns_steps"]),
            adjust_lr_fn=group["adjust_lr_fn"])
