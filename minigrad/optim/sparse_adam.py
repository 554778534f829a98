r"""SparseAdam: "lazy" Adam for sparse gradients (PyTorch's ``optim.SparseAdam``).

Intuition
---------
An embedding table of a million rows sees a few hundred of them per batch. Its gradient
is sparse (a COO tensor holding the looked-up rows, from ``Embedding(sparse=True)``), and
dense Adam would still decay the moments of every row on every step and move rows that
were not used. Lazy Adam updates the moments *and* the parameters of the rows present in
the gradient only; the other rows, and their moments, are left exactly as they are. It
is Adam applied to the touched coordinates, with the step counter t shared by the whole
parameter.

Algorithm
---------
.. code-block:: text

    input : γ (lr), β₁, β₂ (betas), ε (eps), θ₀ (params), f(θ) (objective), maximize
    initialize : m₀ ← 0, v₀ ← 0 (dense, like θ)
    for t = 1, 2, ... do
        g_t ← ∇f_t(θ_{t−1}), a sparse tensor: values g_t[I] at the index set I
              (coalesced first: duplicate indices summed)
        if maximize: g_t ← −g_t
        for the indices i ∈ I only:
            m_t[i] ← β₁ m_{t−1}[i] + (1 − β₁) g_t[i]
            v_t[i] ← β₂ v_{t−1}[i] + (1 − β₂) g_t[i]²
            θ_t[i] ← θ_{t−1}[i] − γ √(1 − β₂ᵗ)/(1 − β₁ᵗ) · m_t[i] / (√v_t[i] + ε)
        for i ∉ I: m_t[i] = m_{t−1}[i], v_t[i] = v_{t−1}[i], θ_t[i] = θ_{t−1}[i]
    return θ_t

Symbols: ``m`` (PyTorch: ``exp_avg``), ``v`` (``exp_avg_sq``), ``t`` the parameter's step
count (``state["step"]``). Defaults (PyTorch's): lr 1e-3, betas (0.9, 0.999), eps 1e-8.

Notes
-----
* **Where ε goes.** As in PyTorch's SparseAdam, the bias corrections are folded into the
  step size, γ√(1 − β₂ᵗ)/(1 − β₁ᵗ), and ε is added to the *uncorrected* √v (the "efficient"
  form of section 2 of the paper). Dense :class:`minigrad.optim.Adam` adds ε to the
  bias-corrected √v̂ (Algorithm 1). The two differ while ε is not negligible against √v:
  for a first step with g = 1e-6, lr = 1, ε = 1e-8 and default betas, θ moves 0.759747
  here and 0.990099 under Adam (the tests pin both).
* **Lazy.** The bias corrections use the parameter's step count t, which advances on
  every step whatever rows are touched; a row touched for the first time at t = 100 gets
  the correction of t = 100, not of its own first step (as in PyTorch and TensorFlow's
  LazyAdam). So SparseAdam is not Adam on the densified gradient, except when every row
  is touched every step: then the two differ only by where ε goes.
* Gradients must be sparse (``p.grad.is_sparse``); a dense one is refused with a clear
  error (use Adam), as PyTorch does. No weight decay (PyTorch's has none either).
* Float16 parameters are updated through a float32 master copy, as in every minigrad
  optimizer (see :mod:`minigrad.optim.optimizer`).

References
----------
D. P. Kingma, J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015 (Algorithm 1
and the efficient form in section 2). PyTorch, ``torch.optim.SparseAdam``.
"""
from __future__ import annotations

import math

from minigrad._backend import get_array_module

from .optimizer import Optimizer

__all__ = ["SparseAdam", "sparse_adam_update"]


def sparse_adam_update(xp, theta, index, g, m, v, t, *, lr=1e-3, beta1=0.9, beta2=0.999,
                       eps=1e-8, maximize=False):
    r"""One lazy Adam step on the entries ``index`` of ``theta``, ``m``, ``v`` (in place).

    Parameters
    ----------
    xp : module
        NumPy or CuPy.
    theta, m, v : array
        Parameter and its dense moment estimates (updated at ``index`` only).
    index : tuple of integer arrays
        The coalesced gradient's indices, one array per sparse dim (distinct positions).
    g : array
        The gradient values at those positions, shape (nnz, *dense dims).
    t : int
        Step number of the parameter, counted from 1.

    Examples
    --------
    >>> import numpy as np
    >>> theta, m, v = np.zeros((3, 1)), np.zeros((3, 1)), np.zeros((3, 1))
    >>> sparse_adam_update(np, theta, (np.array([1]),), np.full((1, 1), 1e-6), m, v, 1,
    ...                    lr=1.0)
    >>> np.round(-theta[:, 0], 6)                  # only row 1 moves
    array([-0.      ,  0.759747, -0.      ])
    """
    if maximize:
        g = -g                                              # ascend f = descend −f
    m_old = m[index]
    v_old = v[index]
    m_new = m_old + (1 - beta1) * (g - m_old)               # m ← β₁m + (1 − β₁)g
    v_new = v_old + (1 - beta2) * (g * g - v_old)           # v ← β₂v + (1 − β₂)g²
    m[index] = m_new
    v[index] = v_new
    step_size = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)  # γ√(1 − β₂ᵗ)/(1 − β₁ᵗ)
    theta[index] -= step_size * m_new / (xp.sqrt(v_new) + eps)  # θ ← θ − step·m/(√v + ε)


class SparseAdam(Optimizer):
    r"""Lazy Adam for sparse gradients (PyTorch's ``optim.SparseAdam``).

    Parameters
    ----------
    params : iterable of Tensor or dict
        Parameters whose gradients are sparse (e.g. ``nn.Embedding(..., sparse=True)``).
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    maximize : bool, default False

    Examples
    --------
    >>> import minigrad as mg
    >>> from minigrad import nn
    >>> emb = nn.Embedding(10, 3, sparse=True)
    >>> opt = SparseAdam(emb.parameters(), lr=0.1)
    >>> before = emb.weight.data.copy()
    >>> emb(mg.tensor([2, 5])).sum().backward()
    >>> opt.step()
    >>> [i for i in range(10) if (emb.weight.data[i] != before[i]).any()]
    [2, 5]
    """

    _torch_state_names = {"exp_avg": "m", "exp_avg_sq": "v"}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, *, maximize=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, maximize=maximize)
        super().__init__(params, defaults)

    def _check(self, group):
        self._check_nonnegative(group, "lr")
        if not group["eps"] > 0:
            self._fail(f"invalid epsilon value eps={group['eps']!r}: must be > 0")
        self._check_betas(group)

    def _init_state(self, theta, group):
        xp = get_array_module(theta)
        return {"m": xp.zeros_like(theta), "v": xp.zeros_like(theta)}

    def _step_param(self, p, group):
        if not getattr(p.grad, "is_sparse", False):
            raise RuntimeError(
                "SparseAdam does not support dense gradients; use Adam instead, or make "
                "the gradient sparse (e.g. nn.Embedding(..., sparse=True))")
        beta1, beta2 = group["betas"]

        def update(xp, theta, index, values, state):
            sparse_adam_update(
                xp, theta, index, values, state["m"], state["v"], state["step"],
                lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2),
                eps=float(group["eps"]), maximize=bool(group["maximize"]))

        self._sparse_step(p, group, update)
