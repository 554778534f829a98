r"""Loss landscapes around trained weights (Li et al. 2018) and sharpness.

Slices
------
Pick random directions δ, η in weight space, *filter-normalised*: for every filter i of
every weight tensor (a row of a Linear weight, an output channel of a conv kernel),

.. math:: \delta_i \leftarrow \frac{\delta_i}{\lVert\delta_i\rVert}\,\lVert\theta_i\rVert ,

so that a step along δ changes each filter in proportion to its size; without it, the
scale invariance of ReLU networks with BatchNorm makes plots of different networks
incomparable. Biases and BatchNorm parameters (the 1-D tensors) get δ = 0, as in the
paper's "ignore biasbn" setting. Then

* 1-D: :math:`f(\alpha) = L(\theta + \alpha\delta)` for α in [−1, 1];
* 2-D: :math:`f(\alpha, \beta) = L(\theta + \alpha\delta + \beta\eta)`, drawn as contours.

L is the mean loss over a fixed set of training samples, with the model in eval mode
(BatchNorm uses its running statistics, dropout is off).

Sharpness
---------
The largest eigenvalue of the Hessian H = ∇²L(θ), by power iteration on Hessian-vector
products (no Hessian is formed)::

    v ← random unit vector
    repeat: w ← H v;  λ ← vᵀ w;  v ← w / ‖w‖        (until λ changes by < tol·|λ|)

Each H v is one double backward: g = ∇L with ``create_graph=True`` (kept for all
iterations), then ``autograd.grad(g, θ, grad_outputs=v)`` — the same product as
:func:`minigrad.autograd.functional.hvp`. Power iteration finds the eigenvalue of largest
*magnitude*; at a minimum the Hessian is close to positive semi-definite, so that is the
largest one.

References
----------
H. Li, Z. Xu, G. Taylor, C. Studer, T. Goldstein, "Visualizing the Loss Landscape of
Neural Nets", NeurIPS 2018.
N. S. Keskar et al., "On Large-Batch Training for Deep Learning: Generalization Gap and
Sharp Minima", ICLR 2017 (sharpness).
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import enable_grad, grad, no_grad
from ..tensor import Tensor

__all__ = ["filter_normalized_direction", "loss_along", "interpolate_1d", "surface_2d",
           "sharpness", "plot_landscape"]


def _params(model):
    return [p for p in model.parameters() if p.requires_grad]


def filter_normalized_direction(model, rng, ignore_bias_bn=True):
    """One random direction (a list of arrays, one per parameter), filter-normalised.

    Parameters
    ----------
    model : the module whose parameters set the filter norms.
    rng : a NumPy ``Generator`` (the direction is drawn on the host, then moved).
    ignore_bias_bn : give 1-D parameters (biases, BatchNorm scales and shifts) δ = 0.
    """
    direction = []
    for p in _params(model):
        theta = p.numpy().astype(np.float64)
        if theta.ndim <= 1:
            d = np.zeros_like(theta) if ignore_bias_bn else rng.standard_normal(theta.shape)
            if not ignore_bias_bn:
                d *= np.linalg.norm(theta) / (np.linalg.norm(d) + 1e-10)
        else:
            d = rng.standard_normal(theta.shape)
            axes = tuple(range(1, theta.ndim))
            d_norm = np.sqrt((d * d).sum(axis=axes, keepdims=True))
            t_norm = np.sqrt((theta * theta).sum(axis=axes, keepdims=True))
            d = d / (d_norm + 1e-10) * t_norm
        direction.append(p.xp.asarray(d.astype(p.data.dtype)))
    return direction


def _evaluate(model, loss_fn, batches, with_accuracy=False):
    total, correct, count = 0.0, 0, 0
    with no_grad():
        for x, y in batches:
            out = model(x)
            total += float(loss_fn(out, y).item()) * len(y)
            if with_accuracy:
                correct += int((out.argmax(1) == y).sum().item())
            count += len(y)
    return total / count, (correct / count if with_accuracy else None)


def loss_along(model, loss_fn, batches, base, directions, coefficients, with_accuracy=False):
    """L(θ + Σₖ cₖ dₖ) with θ = ``base`` (arrays) — and the accuracy there when asked, as
    a pair; the parameters are left at θ + Σ cₖdₖ (callers restore them)."""
    for i, p in enumerate(_params(model)):
        value = base[i].copy()
        for c, d in zip(coefficients, directions):
            if c:
                value += d[i] * value.dtype.type(c)
        p.data[...] = value
    loss, acc = _evaluate(model, loss_fn, batches, with_accuracy)
    return (loss, acc) if with_accuracy else loss


def _run(model, fn):
    params = _params(model)
    base = [p.data.copy() for p in params]
    was_training = model.training
    model.eval()
    try:
        return fn(base)
    finally:
        for p, b in zip(params, base):
            p.data[...] = b
        model.train(was_training)


def interpolate_1d(model, loss_fn, batches, direction, alphas, with_accuracy=False):
    """The losses L(θ + αδ) for α in ``alphas`` (and the accuracies, as a second array,
    when ``with_accuracy``); the model is restored afterwards."""
    def run(base):
        pts = [loss_along(model, loss_fn, batches, base, [direction], [a], with_accuracy)
               for a in alphas]
        if not with_accuracy:
            return np.array(pts)
        return np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    return _run(model, run)


def surface_2d(model, loss_fn, batches, d1, d2, alphas, betas, progress=None):
    """Z[j, i] = L(θ + αᵢδ + βⱼη) (rows: β, columns: α, as ``contour(α, β, Z)`` wants)."""
    def run(base):
        Z = np.empty((len(betas), len(alphas)))
        for j, b in enumerate(betas):
            for i, a in enumerate(alphas):
                Z[j, i] = loss_along(model, loss_fn, batches, base, [d1, d2], [a, b])
                if progress is not None:
                    progress()
        return Z
    return _run(model, run)


def sharpness(model, loss_fn, batch, iters=20, tol=1e-3, seed=0):
    r"""The largest Hessian eigenvalue of the loss on ``batch`` = (x, y), by power
    iteration on Hessian-vector products.

    Returns
    -------
    (lambda_max, estimates) : the final estimate and the estimate of every iteration.
    """
    params = _params(model)
    was_training = model.training
    model.eval()
    rng = np.random.default_rng(seed)
    try:
        x, y = batch
        with enable_grad():
            loss = loss_fn(model(x), y)
            g = grad(loss, params, create_graph=True)
        v = [rng.standard_normal(p.shape) for p in params]
        norm = math.sqrt(sum(float((a * a).sum()) for a in v))
        v = [a / norm for a in v]
        estimates = []
        for _ in range(iters):
            vt = [Tensor(p.xp.asarray(a.astype(p.data.dtype))) for p, a in zip(params, v)]
            with enable_grad():
                Hv = grad(g, params, grad_outputs=vt, retain_graph=True, allow_unused=True)
            w = [np.zeros(p.shape) if h is None else h.numpy().astype(np.float64)
                 for p, h in zip(params, Hv)]
            lam = sum(float((a * b).sum()) for a, b in zip(v, w))   # Rayleigh quotient vᵀHv
            estimates.append(lam)
            norm = math.sqrt(sum(float((a * a).sum()) for a in w))
            if norm == 0 or not math.isfinite(norm):
                break
            v = [a / norm for a in w]
            if len(estimates) > 1 and abs(estimates[-1] - estimates[-2]) <= tol * abs(lam):
                break
        return estimates[-1], estimates
    finally:
        model.train(was_training)


def plot_landscape(result, path, title=None):
    """Two panels: the 1-D slice and the 2-D contour map; saved to ``path`` (PNG)."""
    from ..viz._mpl import new_figure

    fig, (ax1, ax2) = new_figure(figsize=(11, 4.6), dpi=110, ncols=2)
    alphas = np.asarray(result["alphas_1d"])
    ax1.plot(alphas, result["loss_1d"], color="C0", lw=2, label="train loss")
    if result.get("accuracy_1d") is not None:
        ax1b = ax1.twinx()
        ax1b.plot(alphas, result["accuracy_1d"], color="C1", lw=1.5, ls="--",
                  label="train accuracy")
        ax1b.set_ylabel("accuracy", color="C1")
        ax1b.set_ylim(0, 1.02)
    ax1.axvline(0.0, color="k", lw=0.6, ls=":")
    ax1.set_xlabel("α  (θ + α·δ, δ filter-normalised)")
    ax1.set_ylabel("loss", color="C0")
    ax1.set_title("1-D slice")
    a2, b2 = np.asarray(result["alphas_2d"]), np.asarray(result["betas_2d"])
    Z = np.asarray(result["loss_2d"])
    Zc = np.log10(np.maximum(Z, 1e-12))
    levels = np.linspace(Zc.min(), Zc.max(), 25)
    filled = ax2.contourf(a2, b2, Zc, levels=levels, cmap="viridis")
    ax2.contour(a2, b2, Zc, levels=levels, colors="k", linewidths=0.3, alpha=0.6)
    ax2.plot(0, 0, "r*", ms=12, label="trained weights")
    fig.colorbar(filled, ax=ax2, label="log₁₀ loss")
    ax2.set_xlabel("α (direction δ)")
    ax2.set_ylabel("β (direction η)")
    ax2.set_title("2-D contours")
    ax2.legend(loc="upper right", fontsize=8)
    sharp = result.get("sharpness")
    head = title or "Loss landscape (Li et al. 2018)"
    if sharp is not None:
        head += f"   —   sharpness λ_max(H) ≈ {sharp:.4g}"
    fig.suptitle(head)
    fig.tight_layout()
    fig.savefig(path)
    return path
