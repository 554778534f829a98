r"""Sophia: a clipped, diagonal second-order optimizer (Liu et al., 2023).

Intuition
---------
Divide the momentum by an estimate of the Hessian's diagonal, so that flat directions
take large steps and sharp ones small steps (Newton's method, per coordinate); then
*clip* each coordinate's step to lr, so that a tiny or negative curvature estimate
cannot throw a coordinate far (it falls back to a sign step, like Lion/signSGD).
The diagonal is refreshed only every k steps, from one extra gradient-like
computation, and smoothed by an EMA.

Which form is implemented
-------------------------
The **paper's** update (Algorithm 3 of Liu et al.), with the authors' code defaults::

    input : θ, lr, β₁, β₂, ρ (called γ in the paper), ε, λ (decoupled decay), k,
            a diagonal-Hessian estimator ĥ(θ)
    m₀ = 0, h₀ = 0
    for t = 1, 2, ... do
        g_t ← ∇L(θ_{t−1})
        m_t ← β₁ m_{t−1} + (1 − β₁) g_t                              (every step)
        if t mod k = 1:  h_t ← β₂ h_{t−k} + (1 − β₂) ĥ(θ_{t−1})      (every k steps)
        else:            h_t ← h_{t−1}
        θ ← θ − lr·λ·θ                                              (decoupled decay)
        θ ← θ − lr · clip(m_t / max(ρ·h_t, ε), −1, 1)                (clipped step)

Every coordinate of the clipped part moves by at most lr.

The authors' ``SophiaG`` code writes the last line as
``θ ← θ − lr·sign(m)·min(|m| / (ρ·B·h + 1e-15), 1)`` with ``h`` an EMA of ĝ⊙ĝ (no
factor B). With the Gauss-Newton-Bartlett estimator below, which puts the batch size B
into ĥ = B·ĝ⊙ĝ as the paper does, this equals our update except that ε is added to the
denominator rather than taken as its floor: for h ≥ 0 the two differ by at most
ε/(ρh)² relative. For Hutchinson estimates, which can be negative, the paper's
``max(ρh, ε)`` turns a negative curvature into a sign step instead of a step uphill.

Estimators (swappable)
----------------------
An estimator is any callable ``estimator(params, **context) -> list of arrays`` (one
ĥ per parameter). Two are provided:

* :class:`Hutchinson` (Sophia-H): ĥ = u ⊙ (H u), u Rademacher (±1) or Gaussian; one
  Hessian-vector product through minigrad's double backward. E[ĥ] = diag(H).
* :class:`GaussNewtonBartlett` (Sophia-G): sample labels ŷ from the model's own
  softmax, ĝ = ∇ mean CE(logits, ŷ), ĥ = B·ĝ⊙ĝ. E[ĥ] is the Gauss-Newton diagonal
  (for the cross-entropy loss); always ≥ 0.

Calling protocol
----------------
``update_hessian`` before ``step`` on the steps where ``hessian_due`` is true::

    opt = Sophia(model.parameters(), lr=1e-4, estimator=Hutchinson(), k=10)
    for x, y in loader:
        opt.zero_grad(); loss = loss_fn(model(x), y)
        loss.backward(create_graph=opt.hessian_due)  # Hutchinson needs the grad's graph
        if opt.hessian_due: opt.update_hessian()     # GNB: opt.update_hessian(logits=model(x))
        opt.step()

Parameters
----------
params : iterable of Tensor or dict
lr : float, default 1e-4
betas : (float, float), default (0.965, 0.99)
    β₁ for m, β₂ for h.
rho : float, default 0.04
    The paper's γ: scale of the Hessian in the denominator (larger → more clipping).
eps : float, default 1e-12
    Floor of ρ·h (the paper's ε).
weight_decay : float, default 0.1
    Decoupled decay λ (θ ← θ − lr·λ·θ), as in AdamW.
k : int, default 10
    Hessian refresh period.
estimator : callable, default Hutchinson()
maximize : bool, default False
fused : bool, default False
    Update all parameters of a group with one fused kernel (``minigrad.optim.fused``;
    one launch per group on CUDA, the same numbers).

Notes
-----
* State per parameter: ``step`` (t), ``m``, ``h`` (both float32 or wider, see the base
  class). ``hessian_due`` reads ``step`` of the first parameter with state.
* If ``step`` is called on a step where the Hessian is due but ``update_hessian`` was not
  called, h is simply kept (a ``UserWarning`` says so once).

References
----------
H. Liu, Z. Li, D. Hall, P. Liang, T. Ma, "Sophia: A Scalable Stochastic Second-order
Optimizer for Language Model Pre-training", ICLR 2024 (arXiv:2305.14342).
M. F. Hutchinson, "A stochastic estimator of the trace of the influence matrix", 1989.
"""
from __future__ import annotations

import warnings

from minigrad._backend import get_array_module
from minigrad.optim.optimizer import Optimizer

__all__ = ["GaussNewtonBartlett", "Hutchinson", "Sophia", "sample_labels", "sophia_update"]


# --------------------------------------------------------------------------- pure update
def sophia_update(xp, theta, g, m, h, *, lr, beta1, rho, eps, weight_decay, maximize=False):
    r"""One Sophia step on arrays, in place on ``theta`` and ``m`` (``h`` is read only).

    m ← β₁m + (1−β₁)g;  θ ← θ(1 − lr·λ);  θ ← θ − lr·clip(m / max(ρh, ε), −1, 1).
    """
    if maximize:
        g = -g
    m *= beta1                                          # m ← β₁m + (1 − β₁)g
    m += (1 - beta1) * g
    if weight_decay != 0:
        theta *= 1 - lr * weight_decay                  # θ ← θ(1 − lr·λ)
    denom = xp.maximum(rho * h, eps)                    # max(ρh, ε)
    ratio = xp.clip(m / denom, -1.0, 1.0)               # clip(m / max(ρh, ε), −1, 1)
    theta -= lr * ratio                                 # θ ← θ − lr·clip(...)


def _array(x):
    """The array of a Tensor; an array unchanged (NumPy arrays have a ``.data`` too)."""
    return x.data if hasattr(x, "requires_grad") else x


def hessian_ema(h, h_hat, beta2):
    """h ← β₂h + (1 − β₂)ĥ, in place."""
    h *= beta2
    h += (1 - beta2) * h_hat


# --------------------------------------------------------------------------- estimators
class Hutchinson:
    r"""Hutchinson's diagonal estimator ĥ = u ⊙ (H u), E[ĥ] = diag(H).

    Parameters
    ----------
    distribution : {"rademacher", "gaussian"}, default "rademacher"
        Law of u. Rademacher (±1 with equal odds) has the smaller variance:
        Var ĥ_i = Σ_{j≠i} H_ij² against 2H_ii² + Σ_{j≠i} H_ij² for Gaussian u.

    Call
    ----
    ``estimator(params, loss=None)``: with ``loss`` (a scalar Tensor whose graph is still
    alive) the gradient is taken with ``create_graph=True`` here; without, each
    ``p.grad`` must carry its graph (``loss.backward(create_graph=True)``). One
    Hessian-vector product ``mg.autograd.grad(g, params, grad_outputs=u)`` follows.
    """

    def __init__(self, distribution="rademacher"):
        if distribution not in ("rademacher", "gaussian"):
            raise ValueError(
                "Hutchinson: distribution must be 'rademacher' or 'gaussian', got "
                f"{distribution!r}")
        self.distribution = distribution

    def sample(self, p):
        """One probe vector u shaped like ``p`` (minigrad's RNG: ``mg.manual_seed`` fixes it)."""
        import minigrad as mg

        if self.distribution == "gaussian":
            return mg.randn(*p.shape, dtype=p.dtype, device=p.device)
        bits = mg.randint(0, 2, p.shape, device=p.device)
        return mg.tensor(bits.data.astype(p.data.dtype) * 2 - 1, device=p.device)  # ±1

    def __call__(self, params, loss=None):
        import minigrad as mg

        params = list(params)
        if loss is not None:
            grads = mg.autograd.grad(loss, params, create_graph=True)
        else:
            grads = []
            for i, p in enumerate(params):
                if p.grad is None or not p.grad.requires_grad:
                    raise RuntimeError(
                        "Hutchinson: the gradient of parameter "
                        f"{i} has no graph; call loss.backward(create_graph=True) on the "
                        "steps where the Hessian is estimated, or pass loss=...")
                grads.append(p.grad)
        us = [self.sample(p) for p in params]
        Hus = mg.autograd.grad(grads, params, grad_outputs=us, allow_unused=True)  # H u
        out = []
        for p, u, Hu in zip(params, us, Hus):
            if Hu is None:  # the loss does not depend on p beyond first order
                out.append(get_array_module(p.data).zeros_like(p.data))
            else:
                out.append(u.data * Hu.data)  # ĥ = u ⊙ (Hu)
        return out


def sample_labels(logits):
    r"""Labels ŷ ~ softmax(logits) per row (inverse-CDF sampling; ``mg.manual_seed`` fixes it).

    ``logits`` has shape (B, C) or (..., C); returns an int64 array of shape ``logits.shape[:-1]``.
    """
    import minigrad as mg

    z = logits.data
    xp = get_array_module(z)
    p = xp.exp(z - z.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    cdf = xp.cumsum(p, axis=-1)
    u = mg.rand(*z.shape[:-1], 1, dtype=mg.float64, device=logits.device).data
    y = (u > cdf).sum(axis=-1)
    return xp.minimum(y, z.shape[-1] - 1).astype(xp.int64)


class GaussNewtonBartlett:
    r"""Gauss-Newton-Bartlett estimator ĥ = B·ĝ⊙ĝ (Sophia-G), for softmax cross-entropy.

    ĝ is the gradient of the mean cross-entropy of ``logits`` against labels ŷ sampled
    from softmax(logits) (not the true labels); B is the number of predictions.
    Bartlett's identity makes E[B·ĝ⊙ĝ] the diagonal of the Gauss-Newton matrix
    Jᵀ (diag(p) − ppᵀ) J averaged over the batch (exactly for B = 1).

    Call
    ----
    ``estimator(params, logits)``: ``logits`` (shape (B, C) or (..., C)) must have been
    computed from ``params`` with gradients enabled; its graph is consumed.
    """

    def __call__(self, params, logits=None):
        import minigrad as mg

        if logits is None:
            raise ValueError(
                "GaussNewtonBartlett needs the model's logits: "
                "opt.update_hessian(logits=model(x))")
        params = list(params)
        C = logits.shape[-1]
        flat = logits.reshape(-1, C)
        B = flat.shape[0]
        y_hat = sample_labels(flat)
        logp = flat.log_softmax(-1)
        xp = get_array_module(flat.data)
        onehot = mg.tensor((xp.arange(C)[None, :] == y_hat[:, None]).astype(flat.data.dtype),
                           device=flat.device)
        loss = -(logp * onehot).sum() / B  # mean CE against the sampled labels
        g_hats = mg.autograd.grad(loss, params)
        return [B * g.data * g.data for g in g_hats]  # ĥ = B·ĝ⊙ĝ


# --------------------------------------------------------------------------- optimizer
class Sophia(Optimizer):
    __doc__ = __doc__

    def __init__(self, params, lr=1e-4, betas=(0.965, 0.99), rho=0.04, eps=1e-12,
                 weight_decay=1e-1, k=10, estimator=None, *, maximize=False,
                 fused=False):
        defaults = {"lr": lr, "betas": betas, "rho": rho, "eps": eps,
                    "weight_decay": weight_decay, "maximize": maximize}
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"Sophia: invalid k={k!r}: must be a positive int")
        self.k = k
        self.estimator = Hutchinson() if estimator is None else estimator
        if not callable(self.estimator):
            raise TypeError(
                f"Sophia: estimator must be callable, got {type(self.estimator).__name__}")
        super().__init__(params, defaults)
        self.fused = bool(fused)  # one kernel launch per group on CUDA
        self._hessian_fresh = False
        self._warned_stale = False

    def _check(self, group):
        self._check_nonnegative(group, "lr", "rho", "eps", "weight_decay")
        self._check_betas(group)

    def _init_state(self, theta, group):
        xp = get_array_module(theta)
        return {"m": xp.zeros_like(theta), "h": xp.zeros_like(theta)}

    def _params(self):
        return [p for group in self.param_groups for p in group["params"]]

    @property
    def steps_taken(self) -> int:
        """t: the number of ``step`` calls so far (read from the first parameter's state)."""
        for p in self._params():
            state = self.state.get(p)
            if state:  # not an empty entry made by looking it up
                return int(state["step"])
        return 0

    @property
    def hessian_due(self) -> bool:
        """True when the next step t satisfies t mod k = 1 (t = 1, k+1, 2k+1, ...)."""
        return self.steps_taken % self.k == 0

    def update_hessian(self, h_hat=None, **context):
        r"""h ← β₂h + (1 − β₂)ĥ for every parameter.

        Parameters
        ----------
        h_hat : list of arrays or Tensors, optional
            One estimate per parameter (in param-group order). When omitted the estimator
            is called as ``estimator(params, **context)``.
        """
        params = self._params()
        if h_hat is None:
            h_hat = self.estimator(params, **context)
        h_hat = list(h_hat)
        if len(h_hat) != len(params):
            raise ValueError(
                f"Sophia.update_hessian: got {len(h_hat)} estimates for {len(params)} parameters")
        i = 0
        for group in self.param_groups:
            _, beta2 = group["betas"]
            for p in group["params"]:
                est = h_hat[i]
                i += 1
                est = _array(est)
                if tuple(est.shape) != tuple(p.data.shape):
                    raise ValueError(
                        f"Sophia.update_hessian: estimate {i - 1} has shape {tuple(est.shape)}, "
                        f"its parameter {tuple(p.data.shape)}")
                state = self.state.get(p) or self._new_state(p, group)
                h = state["h"]
                hessian_ema(h, est.astype(h.dtype, copy=False), float(beta2))
        self._hessian_fresh = True

    def step(self, closure=None):
        if self.hessian_due and not self._hessian_fresh and not self._warned_stale:
            warnings.warn(
                "Sophia: the Hessian estimate is due on this step (t mod k = 1) but "
                "update_hessian() was not called; keeping the old h", UserWarning, stacklevel=2)
            self._warned_stale = True
        loss = super().step(closure)
        self._hessian_fresh = False
        return loss

    def _update(self, theta, g, state, group):
        beta1, _ = group["betas"]
        sophia_update(
            get_array_module(theta), theta, g, state["m"], state["h"],
            lr=float(group["lr"]), beta1=float(beta1), rho=float(group["rho"]),
            eps=float(group["eps"]), weight_decay=float(group["weight_decay"]),
            maximize=bool(group["maximize"]),
        )
