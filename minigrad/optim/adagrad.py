r"""Adagrad: per-coordinate step sizes from the sum of all past squared gradients.

Intuition
---------
Coordinates that have seen large gradients get small steps and rarely-updated
coordinates keep large ones, which suits sparse features. The accumulator only grows,
so the effective step size decays like 1/√t on every coordinate.

Algorithm
---------
.. code-block:: text

    input : γ (lr), θ₀ (params), f(θ) (objective), λ (weight decay), η (lr_decay),
            G₀ (initial_accumulator_value), ε (eps), maximize
    initialize : G₀ ← initial_accumulator_value (every coordinate)
    for t = 1, 2, ... do
        g_t ← ∇f_t(θ_{t−1})
        if maximize: g_t ← −g_t
        γ̃ ← γ / (1 + (t − 1) η)                         (lr decay)
        if λ ≠ 0:    g_t ← g_t + λ θ_{t−1}
        G_t ← G_{t−1} + g_t²                              (sum of squared gradients)
        θ_t ← θ_{t−1} − γ̃ g_t / (√G_t + ε)
    return θ_t

Symbols: ``G`` is the accumulator (PyTorch: ``sum``); squares and roots are elementwise.
Defaults (PyTorch's): lr 1e-2, lr_decay 0, weight_decay 0, initial_accumulator_value 0,
eps 1e-10.

Notes
-----
* ε is added outside the square root, as in PyTorch. Duchi et al. state the update with
  the full matrix G^{1/2} or its diagonal and no ε (they add δI inside the proximal term).
* ``lr_decay`` is PyTorch's extra (not in the paper).
* **State is made in the constructor**, as PyTorch does: right after
  ``Adagrad([p], initial_accumulator_value=0.5)`` the state dict holds
  ``{0: {"step": 0, "G": [0.5, ...]}}`` (PyTorch: ``{"step": 0.0, "sum": ...}``; the key
  is the symbol ``G`` here, and ``load_state_dict`` reads ``sum`` too). Parameters of a
  group added later by ``add_param_group`` get theirs at their first step. G lives on
  the parameter's device and dtype *at construction*, so (as in PyTorch) move the model
  before building the optimizer.
* **Sparse gradients** (``nn.Embedding(..., sparse=True)``): only the touched rows of θ
  and G change (:func:`adagrad_sparse_update`), which is exactly the dense rule, since a
  zero gradient row leaves both unchanged. ``weight_decay`` must be 0, as in PyTorch.
* **Per-group ``initial_accumulator_value``** is honoured here: G₀ of a parameter is the
  value of *its* group. PyTorch's Adagrad (2.x) fills every accumulator with the
  constructor's value (``self.defaults``) and ignores a group's own entry, so with a group
  that overrides it the two trajectories differ (with G₀ = 0.2 in one group and the
  default 0 elsewhere, the first step of that group is γg/(√(0.2 + g²) + ε) here and
  γg/(|g| + ε) = γ·sign(g) in PyTorch). Every other setting matches PyTorch's.

References
----------
J. Duchi, E. Hazan, Y. Singer, "Adaptive Subgradient Methods for Online Learning and
Stochastic Optimization", JMLR 12, 2011.
"""
from __future__ import annotations

from minigrad._backend import get_array_module

from .optimizer import Optimizer

__all__ = ["Adagrad", "adagrad_update", "adagrad_sparse_update"]


def adagrad_update(xp, theta, g, G, t, *, lr, lr_decay=0.0, eps=1e-10, weight_decay=0.0,
                   maximize=False):
    r"""One Adagrad step on arrays: updates ``theta`` and the accumulator ``G`` in place.

    ``t`` is the step number counted from 1 (it drives ``lr_decay``).
    """
    if maximize:
        g = -g
    lr_t = lr / (1 + (t - 1) * lr_decay)            # γ̃ = γ / (1 + (t − 1)η)
    if weight_decay != 0:
        g = g + weight_decay * theta                # g ← g + λθ
    G += g * g                                      # G ← G + g²
    denom = xp.sqrt(G)                              # √G + ε
    denom += eps
    step = xp.divide(g, denom, out=denom)           # g / (√G + ε)
    step *= lr_t
    theta -= step                                   # θ ← θ − γ̃ g / (√G + ε)


def adagrad_sparse_update(xp, theta, G, index, values, t, *, lr, lr_decay=0.0, eps=1e-10,
                          maximize=False):
    r"""Adagrad on the rows of a coalesced sparse gradient (PyTorch's sparse path):
    G[rows] ← G[rows] + g², θ[rows] ← θ[rows] − γ̃ g / (√G[rows] + ε); other rows keep
    both θ and G."""
    if maximize:
        values = -values
    lr_t = lr / (1 + (t - 1) * lr_decay)            # γ̃ = γ / (1 + (t − 1)η)
    G[index] += values * values                     # G ← G + g² (touched rows)
    theta[index] -= lr_t * values / (xp.sqrt(G[index]) + eps)


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011) with PyTorch's defaults and options.

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float, default 1e-2
    lr_decay : float, default 0
    weight_decay : float, default 0
    initial_accumulator_value : float, default 0
    eps : float, default 1e-10
    maximize : bool, default False
    foreach : bool or None, default None
        Accepted for PyTorch compatibility and ignored: minigrad's multi-tensor path is
        ``fused`` (see :class:`~minigrad.optim.Optimizer`, Notes).
    differentiable : bool, default False
        PyTorch's switch; ``True`` raises ``NotImplementedError`` (not supported here).
    fused : bool or None, default None
        PyTorch's fused Adagrad; minigrad has no fused Adagrad kernel, so ``True`` raises
        ``NotImplementedError`` naming the class.
    """

    _implementation_flags = ("foreach", "differentiable", "fused")

    _torch_state_names = {"sum": "G"}

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, *, foreach=None, maximize=False, differentiable=False,
                 fused=None):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps,
                        maximize=maximize, foreach=foreach, differentiable=differentiable,
                        fused=fused)
        super().__init__(params, defaults)
        # As PyTorch, the state is made here (t = 0, G = G₀), not at the first step.
        for group in self.param_groups:
            for p in group["params"]:
                self._new_state(p, group)

    def _check(self, group):
        self._check_nonnegative(group, "lr", "lr_decay", "weight_decay",
                                "initial_accumulator_value", "eps")

    def _init_state(self, theta, group):
        xp = get_array_module(theta)
        return {"G": xp.full_like(theta, group["initial_accumulator_value"])}

    def _step_param(self, p, group):
        if not getattr(p.grad, "is_sparse", False):
            return super()._step_param(p, group)
        if group["weight_decay"] != 0:
            raise RuntimeError("Adagrad: weight_decay is not compatible with sparse "
                               "gradients (it would touch every row), as in PyTorch")

        def update(xp, theta, index, values, state):
            adagrad_sparse_update(
                xp, theta, state["G"], index, values, state["step"], lr=float(group["lr"]),
                lr_decay=float(group["lr_decay"]), eps=float(group["eps"]),
                maximize=bool(group["maximize"]))

        self._sparse_step(p, group, update)

    def _update(self, theta, g, state, group):
        adagrad_update(
            get_array_module(theta), theta, g, state["G"], state["step"],
            lr=float(group["lr"]), lr_decay=float(group["lr_decay"]), eps=float(group["eps"]),
            weight_decay=float(group["weight_decay"]), maximize=bool(group["maximize"]),
        )
