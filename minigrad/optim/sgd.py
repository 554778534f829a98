r"""Stochastic gradient descent, with heavy-ball or Nesterov momentum (PyTorch's ``SGD``).

Intuition
---------
Step against the gradient. With momentum the step is a running sum of past gradients
(a "heavy ball" that keeps rolling through flat stretches and damps oscillation across
a narrow valley); Nesterov's variant looks one momentum step ahead before correcting.

Algorithm
---------
.. code-block:: text

    input : γ (lr), θ₀ (params), f(θ) (objective), λ (weight decay), μ (momentum),
            τ (dampening), nesterov, maximize
    for t = 1, 2, ... do
        g_t ← ∇f_t(θ_{t−1})
        if maximize:  g_t ← −g_t
        if λ ≠ 0:     g_t ← g_t + λ θ_{t−1}                 (coupled L2 weight decay)
        if μ ≠ 0:
            if t > 1: b_t ← μ b_{t−1} + (1 − τ) g_t          (momentum buffer)
            else:     b_t ← g_t
            if nesterov: g_t ← g_t + μ b_t
            else:        g_t ← b_t
        θ_t ← θ_{t−1} − γ g_t
    return θ_t

Symbols: ``b`` is the momentum buffer (PyTorch: ``momentum_buffer``).
Defaults (PyTorch's): lr 1e-3, momentum 0, dampening 0, weight_decay 0, nesterov False.

Notes
-----
* **Sutskever's Nesterov.** Sutskever et al. (2013) write NAG as
  ``v ← μv − γ∇f(θ + μv);  θ ← θ + v``. Substituting ``φ = θ + μv`` (the look-ahead
  point, which is what we store as the parameter) gives exactly the rule above with
  ``b = −v/γ`` when γ is constant. PyTorch keeps γ outside the buffer, so a changed γ
  (a schedule) takes effect at once instead of decaying through the buffer.
* **Polyak's heavy ball** is usually written ``v ← μv − γg; θ ← θ + v``; again equal at
  constant γ with ``b = −v/γ``.
* The buffer is initialised to the first gradient (not to zero), as PyTorch does, so
  dampening does not shrink the first step. It is created the first time momentum is
  non-zero, so a momentum schedule that starts at 0 works.
* A momentum schedule (e.g. 0.5 → 0.9) is :class:`minigrad.optim.MomentumSchedule`.
* **Sparse gradients** (``nn.Embedding(..., sparse=True)``): only the rows present in the
  gradient move, θ[rows] ← θ[rows] − γ g[rows] (:func:`sgd_sparse_update`). This needs
  μ = 0 and λ = 0: a momentum buffer or λθ would touch every row every step, and then
  the gradient should simply be dense.

References
----------
H. Robbins and S. Monro, "A stochastic approximation method", 1951.
B. T. Polyak, "Some methods of speeding up the convergence of iteration methods", 1964.
Y. Nesterov, "A method for solving the convex programming problem with convergence rate
O(1/k²)", 1983.
I. Sutskever, J. Martens, G. Dahl, G. Hinton, "On the importance of initialization and
momentum in deep learning", ICML 2013.
"""
from __future__ import annotations

from minigrad._backend import get_array_module

from .optimizer import Optimizer

__all__ = ["SGD", "sgd_update", "sgd_sparse_update"]


def sgd_update(xp, theta, g, b, *, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
               nesterov=False, maximize=False):
    r"""One SGD step on arrays: updates ``theta`` (and the buffer ``b``) in place.

    Parameters
    ----------
    xp : module
        NumPy or CuPy, the array module of ``theta``.
    theta, g : array
        Parameter (updated in place) and its gradient (not modified).
    b : array or None
        Momentum buffer from the previous step, or ``None`` before the first momentum step.
    lr, momentum, dampening, weight_decay : float
    nesterov, maximize : bool

    Returns
    -------
    array or None
        The momentum buffer to keep (``None`` when ``momentum == 0``).
    """
    if maximize:
        g = -g                                      # ascend f = descend −f
    if weight_decay != 0:
        g = g + weight_decay * theta                # g ← g + λθ
    if momentum != 0:
        if b is None:
            b = g.copy()                            # b₁ ← g₁
        else:
            b *= momentum                           # b ← μb + (1 − τ)g
            b += g if dampening == 0 else (1 - dampening) * g
        if nesterov:
            g = g + momentum * b                    # g ← g + μb
        else:
            g = b                                   # g ← b
    theta -= lr * g                                 # θ ← θ − γg
    return b


def sgd_sparse_update(xp, theta, index, values, *, lr, maximize=False):
    r"""θ[index] ← θ[index] − γ·values, for a coalesced sparse gradient (unique ``index``)."""
    if maximize:
        values = -values
    theta[index] -= lr * values                     # θ ← θ − γg on the touched rows


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional (Nesterov) momentum.

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float, default 1e-3
    momentum : float, default 0
    dampening : float, default 0
        τ: the new gradient enters the buffer with weight 1 − τ (not on the first step).
        Must lie in [0, 1], a deliberate difference (PyTorch takes any value): with τ > 1
        the gradient enters the buffer with the wrong sign (an ascent), and τ < 0
        amplifies it instead of damping it.
    weight_decay : float, default 0
        λ of the coupled L2 penalty: ``g ← g + λθ``.
    nesterov : bool, default False
        Needs ``momentum > 0`` and ``dampening == 0``.
    maximize : bool, default False
        Maximize the objective instead.
    fused : bool or None, default None (off)
        Update all parameters of a group with one fused kernel (``minigrad.optim.fused``;
        one launch per group on CUDA, the same numbers).
    foreach : bool or None, default None
        Accepted for PyTorch compatibility and ignored: minigrad's multi-tensor path is
        ``fused`` (see :class:`~minigrad.optim.Optimizer`, Notes).
    differentiable : bool, default False
        PyTorch's switch; ``True`` raises ``NotImplementedError`` (not supported here).

    Examples
    --------
    >>> import minigrad as mg
    >>> w = mg.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w.data.tolist()         # θ − lr·2θ
    [0.800000011920929, -1.600000023841858]
    """

    _implementation_flags = ("foreach", "differentiable", "fused")

    _torch_state_names = {"momentum_buffer": "b"}

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        self.fused = bool(fused)  # one kernel launch per group on CUDA

    def _check(self, group):
        self._check_nonnegative(group, "lr", "momentum", "weight_decay")
        self._check_unit_interval(group, "dampening", closed=True)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            self._fail("Nesterov momentum requires a momentum > 0 and zero dampening")

    def _init_state(self, theta, group):
        return {"b": None}

    def _step_param(self, p, group):
        if not getattr(p.grad, "is_sparse", False):
            return super()._step_param(p, group)
        if group["momentum"] != 0 or group["weight_decay"] != 0:
            raise RuntimeError(
                "SGD: a sparse gradient needs momentum=0 and weight_decay=0 (a momentum "
                "buffer or weight decay would touch every row); use a dense gradient "
                "(e.g. nn.Embedding(sparse=False)) or SparseAdam")

        def update(xp, theta, index, values, state):
            sgd_sparse_update(xp, theta, index, values, lr=float(group["lr"]),
                              maximize=bool(group["maximize"]))

        self._sparse_step(p, group, update)

    def _update(self, theta, g, state, group):
        state["b"] = sgd_update(
            get_array_module(theta), theta, g, state["b"],
            lr=float(group["lr"]), momentum=float(group["momentum"]),
            dampening=float(group["dampening"]), weight_decay=float(group["weight_decay"]),
            nesterov=bool(group["nesterov"]), maximize=bool(group["maximize"]),
        )
