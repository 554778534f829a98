r"""Rprop: per-coordinate step sizes adapted from the sign of the gradient alone.

Intuition
---------
The size of ∂f/∂θᵢ says little about how far to move θᵢ (it depends on the scaling of the
problem), but its *sign* says which way. Rprop therefore keeps a step size Δᵢ per
coordinate and moves θᵢ by Δᵢ against the sign of the gradient. While the sign stays the
same, the last step was too timid: Δᵢ grows by η₊. When the sign flips, the last step
jumped over a minimum: Δᵢ shrinks by η₋, no step is taken, and the gradient is
remembered as 0 so that the next step is not adapted again from the jump.

Algorithm
---------
.. code-block:: text

    input : θ₀ (params), f(θ) (objective), γ (lr), η₋, η₊ (etas),
            Δ_min, Δ_max (step_sizes), maximize
    initialize : g₀^prev ← 0, Δ₀ ← γ (step size of every coordinate)
    for t = 1, 2, ... do
        g_t ← ∇f_t(θ_{t−1})
        if maximize: g_t ← −g_t
        for i = 0, 1, ..., d − 1 do
            if g^i_prev g^i_t > 0:
                Δ^i_t ← Δ^i_{t−1} η₊
            else if g^i_prev g^i_t < 0:
                Δ^i_t ← Δ^i_{t−1} η₋
                g^i_t ← 0
            else:
                Δ^i_t ← Δ^i_{t−1}
            Δ^i_t ← min(max(Δ^i_t, Δ_min), Δ_max)
        θ_t ← θ_{t−1} − Δ_t sign(g_t)
        g_prev ← g_t
    return θ_t

Symbols: ``g_prev`` (PyTorch: ``prev``), ``Delta`` = Δ, the step sizes (``step_size``;
PyTorch's documentation writes η_t for them and Γ_min, Γ_max for their bounds), ``etaminus``
= η₋, ``etaplus`` = η₊. Defaults (PyTorch's): lr 1e-2, etas (0.5, 1.2),
step_sizes (1e-6, 50).

Notes
-----
* This is Rprop *without weight-backtracking*: after a sign change the previous step is
  not undone, only the current one skipped (g ← 0). Igel & Hüsken call this variant
  iRprop⁻; it is what PyTorch implements. The 1993 paper's Rprop also reverts the
  previous step (Δθ ← −Δθ_{t−1}) when the sign flips.
* PyTorch's documentation bounds Δ only in the branch that changed it (min with Δ_max
  when it grew, max with Δ_min when it shrank); its code, and this module, clamp Δ to
  [Δ_min, Δ_max] on *every* step. The two differ only when Δ lies outside the bounds,
  i.e. an lr outside ``step_sizes``: it is clamped on the first step.
* ``lr`` is read only when the state is created (Δ₀): changing it later (a scheduler)
  has no effect, as in PyTorch.
* Rprop is a full-batch method: with noisy mini-batch gradients the signs flip at random
  and the step sizes shrink to Δ_min.
* There is no ``weight_decay`` (PyTorch's Rprop has none): add the penalty to the loss.
* ``step_sizes`` must satisfy 0 ≤ Δ_min ≤ Δ_max here; PyTorch checks only the etas.
* The paper's defaults are η₋ = 0.5, η₊ = 1.2, Δ_max = 50, Δ₀ = 0.1; PyTorch's Δ₀ is the
  lr, 1e-2, and Δ_min 1e-6.

References
----------
M. Riedmiller, H. Braun, "A Direct Adaptive Method for Faster Backpropagation Learning:
The RPROP Algorithm", IEEE International Conference on Neural Networks, 1993.
C. Igel, M. Hüsken, "Improving the Rprop Learning Algorithm", NC 2000 (iRprop⁻).
"""
from __future__ import annotations

from minigrad._backend import get_array_module

from .optimizer import Optimizer, _is_real

__all__ = ["Rprop", "rprop_update"]


def rprop_update(xp, theta, g, g_prev, Delta, *, etaminus=0.5, etaplus=1.2, Delta_min=1e-6,
                 Delta_max=50.0, maximize=False):
    r"""One Rprop step on arrays, in place on ``theta``, ``g_prev`` and ``Delta``.

    ``g_prev`` starts at 0 and ``Delta`` (the step sizes) at the learning rate.

    Examples
    --------
    The gradient keeps its sign in coordinate 0 (the step grows by η₊ = 1.2) and flips in
    coordinate 1 (the step shrinks by η₋ = 0.5 and is not taken):

    >>> import numpy as np
    >>> theta, Delta = np.zeros(2), np.full(2, 0.1)
    >>> g_prev = np.array([1.0, 1.0])
    >>> rprop_update(np, theta, np.array([2.0, -2.0]), g_prev, Delta)
    >>> theta.tolist(), Delta.tolist(), g_prev.tolist()
    ([-0.12, 0.0], [0.12, 0.05], [2.0, 0.0])
    """
    if maximize:
        g = -g
    sign_product = g * g_prev                       # sign of g_prev·g
    flipped = sign_product < 0
    factor = xp.where(sign_product > 0, etaplus, xp.where(flipped, etaminus, 1.0))
    Delta *= factor.astype(Delta.dtype, copy=False)  # Δ ← Δη₊ | Δη₋ | Δ
    xp.clip(Delta, Delta_min, Delta_max, out=Delta)  #   within [Δ_min, Δ_max]
    g = xp.where(flipped, 0, g)                     # a sign change: g ← 0 (no step)
    theta -= xp.sign(g) * Delta                     # θ ← θ − Δ sign(g)
    g_prev[...] = g                                 # g_prev ← g


class Rprop(Optimizer):
    r"""Rprop (Riedmiller & Braun, 1993), PyTorch's variant (no weight-backtracking).

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float, default 1e-2
        The initial step size Δ₀ of every coordinate.
    etas : (float, float), default (0.5, 1.2)
        (η₋, η₊), the factors that shrink and grow the step sizes: 0 < η₋ < 1 < η₊.
    step_sizes : (float, float), default (1e-6, 50)
        (Δ_min, Δ_max), the bounds of the step sizes: 0 ≤ Δ_min ≤ Δ_max.
    maximize : bool, default False
    foreach, capturable, differentiable : PyTorch's implementation switches, with its
        defaults (see :class:`~minigrad.optim.Optimizer`, Notes).
    """

    _implementation_flags = ("foreach", "capturable", "differentiable")

    _torch_state_names = {"prev": "g_prev", "step_size": "Delta"}

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _check(self, group):
        self._check_nonnegative(group, "lr")
        etas, step_sizes = group["etas"], group["step_sizes"]
        if not _is_real_pair(etas) or not 0 < etas[0] < 1 < etas[1]:
            self._fail(f"invalid etas={etas!r}: must be a pair (etaminus, etaplus) with "
                       "0 < etaminus < 1 < etaplus")
        if not _is_real_pair(step_sizes) or not 0 <= step_sizes[0] <= step_sizes[1]:
            self._fail(f"invalid step_sizes={step_sizes!r}: must be a pair (min, max) with "
                       "0 <= min <= max")

    def _init_state(self, theta, group):
        xp = get_array_module(theta)
        return {"g_prev": xp.zeros_like(theta), "Delta": xp.full_like(theta, group["lr"])}

    def _update(self, theta, g, state, group):
        etaminus, etaplus = group["etas"]
        Delta_min, Delta_max = group["step_sizes"]
        rprop_update(
            get_array_module(theta), theta, g, state["g_prev"], state["Delta"],
            etaminus=float(etaminus), etaplus=float(etaplus), Delta_min=float(Delta_min),
            Delta_max=float(Delta_max), maximize=bool(group["maximize"]),
        )


def _is_real_pair(value) -> bool:
    return isinstance(value, (tuple, list)) and len(value) == 2 and all(map(_is_real, value))
