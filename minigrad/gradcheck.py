r"""Gradient checking: compare backward with central finite differences in float64.

How it works (Chainer's method). Draw a random cotangent v for every output and form the
scalar L(x) = Σₒ ⟨vₒ, fₒ(x)⟩. The analytic gradient is one backward pass, ∇L = vᵀJ. The
numeric gradient perturbs each input element xⱼ by ±h:

    ∂L/∂xⱼ ≈ (L(x + h·eⱼ) − L(x − h·eⱼ)) / 2h            (error O(h²))

An element passes when |a − n| ≤ atol + rtol·|n| (PyTorch's rule); the report also shows
the relative error |a − n| / max(|a|, |n|). A random v, never all ones, so a backward that
mixes up output positions cannot hide behind a sum.

For large inputs (``mode="directional"``) the check is on random directions u instead of
every element: ⟨∇L, u⟩ against (L(x + h·u) − L(x − h·u)) / 2h.

On failure, :class:`GradcheckError` carries a table of the worst elements and a hint when
the pattern is typical (a constant factor, a sign flip, a zero analytic gradient, a
function that is not deterministic).
"""
from __future__ import annotations

import numpy as np

from ._backend import to_device
from .autograd import enable_grad, grad, no_grad
from .tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """The analytic and numeric gradients disagree; the message is a table of where."""


def _outputs_tuple(out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return tuple(o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f")


def _to_cpu(a):
    return np.asarray(to_device(a, "cpu"), dtype=np.float64)


def _scalar_objective(fn, inputs, cotangents, with_graph=False):
    """L(x) = Σ ⟨v, f(x)⟩ as a Python float (no graph kept; ``with_graph`` when fn itself
    differentiates, as in gradgradcheck)."""
    with enable_grad() if with_graph else no_grad():
        outs = _outputs_tuple(fn(*inputs))
    return float(sum((_to_cpu(o.data) * v).sum() for o, v in zip(outs, cotangents)))


def _check_inputs(inputs, what):
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError(f"{what}: no input requires grad; nothing to check")
    for i in diff:
        if inputs[i].dtype != np.float64:
            raise TypeError(
                f"{what}: input {i} is {inputs[i].dtype}; finite differences need float64 "
                f"inputs (pass x.double(), or create them with dtype=mg.float64)"
            )
    return inputs, diff


def _hint(rows_a, rows_n):
    a, n = np.asarray(rows_a), np.asarray(rows_n)
    big = np.abs(n) > 1e-8
    if np.all(np.abs(a) < 1e-12) and np.any(big):
        return ("the analytic gradient is zero where the numeric one is not: a backward "
                "that returns zeros, or an op that detached the graph (raw arrays, .data, "
                "no_grad inside the function)")
    if np.any(big):
        ratio = a[big] / n[big]
        r = np.median(ratio)
        if np.all(np.abs(ratio - r) <= 1e-3 * max(abs(r), 1e-12)):
            if abs(r + 1) < 1e-3:
                return "the analytic gradient has the wrong sign everywhere"
            k = r if abs(r) >= 1 else 1 / r
            text = (f"the analytic gradient is off by a constant factor "
                    f"{r:.6g} (analytic ≈ {r:.6g} × numeric)")
            if abs(k - round(k)) < 1e-3 and round(k) > 1:
                text += (f"; an integer factor {round(k)} often means a broadcast "
                         "reduction summed (or a mean divided) over the wrong number of "
                         "elements, or a missing/doubled chain-rule factor")
            return text
    return None


def _format_table(rows, header):
    cols = ["input", "index", "analytic", "numeric", "abs error", "rel error"]
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
    line = "  ".join(c.rjust(w) for c, w in zip(cols, widths))
    out = [header, line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(out)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, *,
              mode="auto", n_directions=8, seed=0, max_rows=10, _with_graph=False):
    """Check the gradients of ``fn`` at ``inputs`` against central differences.

    Parameters
    ----------
    fn : callable taking ``*inputs`` and returning a Tensor or a tuple of Tensors.
    inputs : Tensor or tuple; those with ``requires_grad`` are checked (float64 only).
    eps : finite-difference step h.
    atol, rtol : an element passes when |analytic − numeric| ≤ atol + rtol·|numeric|.
    raise_exception : raise :class:`GradcheckError` on failure (else return False).
    mode : "full" (every element), "directional" (random directions), or "auto"
        (full up to 4096 input elements in all, else directional).
    n_directions : directions per input in directional mode.
    seed : seed of the random cotangents and directions (the check is repeatable).

    Returns
    -------
    True on success.

    Examples
    --------
    >>> import minigrad as mg
    >>> x = mg.randn(3, 4, dtype=mg.float64, requires_grad=True)
    >>> mg.gradcheck(lambda x: x.tanh() * 2, (x,))
    True
    """
    inputs, diff = _check_inputs(inputs, "gradcheck")
    rng = np.random.default_rng(seed)
    with enable_grad():
        outs = _outputs_tuple(fn(*inputs))
    if not outs:
        raise ValueError("gradcheck: fn returned no floating-point Tensor")
    cotangents = [rng.standard_normal(o.shape) for o in outs]
    graph_outs = [o for o in outs if o.requires_grad]
    xs = [inputs[i] for i in diff]
    if graph_outs:
        vs = [Tensor(v, dtype=o.dtype, device=o.device)
              for o, v in zip(outs, cotangents) if o.requires_grad]
        analytic = grad(graph_outs, xs, vs, allow_unused=True)
    else:
        analytic = [None] * len(xs)
    analytic = [np.zeros(x.shape) if g is None else _to_cpu(g.data)
                for g, x in zip(analytic, xs)]

    base = _scalar_objective(fn, inputs, cotangents, _with_graph)
    if not np.isfinite(base):
        message = ("gradcheck: fn returns non-finite values (inf or NaN) at these inputs; "
                   "finite differences need a point where f is finite")
        if raise_exception:
            raise GradcheckError(message)
        return False
    if _scalar_objective(fn, inputs, cotangents, _with_graph) != base:
        message = ("gradcheck: fn is not deterministic (two evaluations at the same point "
                   "differ); fix its randomness (e.g. the dropout mask) across calls")
        if raise_exception:
            raise GradcheckError(message)
        return False

    total = sum(x.data.size for x in xs)
    if mode == "auto":
        mode = "full" if total <= 4096 else "directional"
    if mode not in ("full", "directional"):
        raise ValueError(f"gradcheck: mode must be 'full', 'directional' or 'auto', got {mode!r}")

    rows = []  # (violation, input, index, analytic, numeric)
    for i, x, a in zip(diff, xs, analytic):
        if not x.data.flags.c_contiguous:  # perturb the real storage, not a reshaped copy
            x.data = x.xp.ascontiguousarray(x.data)
        flat = x.data.reshape(-1)
        if mode == "full":
            for j in range(flat.size):
                orig = flat[j].item()
                flat[j] = orig + eps
                fp = _scalar_objective(fn, inputs, cotangents, _with_graph)
                flat[j] = orig - eps
                fm = _scalar_objective(fn, inputs, cotangents, _with_graph)
                flat[j] = orig
                n = (fp - fm) / (2 * eps)
                idx = np.unravel_index(j, x.shape) if x.ndim else ()
                rows.append((i, tuple(int(t) for t in idx), a.reshape(-1)[j], n))
        else:
            orig = x.data.copy()
            xp_dir = x.xp
            for d in range(n_directions):
                u = rng.standard_normal(x.shape)
                u_dev = xp_dir.asarray(to_device(u, x.device), dtype=x.dtype)
                x.data[...] = orig + eps * u_dev
                fp = _scalar_objective(fn, inputs, cotangents, _with_graph)
                x.data[...] = orig - eps * u_dev
                fm = _scalar_objective(fn, inputs, cotangents, _with_graph)
                x.data[...] = orig
                rows.append((i, f"dir {d}", float((a * u).sum()), (fp - fm) / (2 * eps)))

    bad = []
    for i, idx, a, n in rows:
        err = abs(a - n)
        if not err <= atol + rtol * abs(n):  # NaN fails too
            bad.append((err - atol - rtol * abs(n), i, idx, a, n))
    if not bad:
        return True
    if not raise_exception:
        return False
    bad.sort(key=lambda r: -r[0] if np.isfinite(r[0]) else -np.inf)
    table_rows = []
    for _, i, idx, a, n in bad[:max_rows]:
        err = abs(a - n)
        denom = max(abs(a), abs(n))
        rel = err / denom if denom > 0 else 0.0
        table_rows.append((i, idx, f"{a:.6g}", f"{n:.6g}", f"{err:.3g}", f"{rel:.3g}"))
    header = (f"gradcheck failed: {len(bad)} of {len(rows)} "
              f"{'elements' if mode == 'full' else 'directional derivatives'} disagree "
              f"(eps={eps}, atol={atol}, rtol={rtol}); the worst:")
    message = _format_table(table_rows, header)
    hint = _hint([r[3] for r in bad], [r[4] for r in bad])
    if hint:
        message += "\nhint: " + hint
    raise GradcheckError(message)


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, *, mode="auto", seed=0):
    """Check second derivatives: gradcheck of (x, v) ↦ vᵀ·∂f/∂x, the backward pass built
    with ``create_graph=True``. ``grad_outputs`` (the v) are random when omitted, and are
    themselves checked as inputs.

    Examples
    --------
    >>> import minigrad as mg
    >>> x = mg.randn(4, dtype=mg.float64, requires_grad=True)
    >>> mg.gradgradcheck(lambda x: (x * x.sin()).sum(), (x,))
    True
    """
    inputs, diff = _check_inputs(inputs, "gradgradcheck")
    rng = np.random.default_rng(seed + 1)
    with enable_grad():
        outs = _outputs_tuple(fn(*inputs))
    if grad_outputs is None:
        grad_outputs = tuple(
            Tensor(rng.standard_normal(o.shape), dtype=np.float64, device=o.device,
                   requires_grad=True)
            for o in outs
        )
    grad_outputs = tuple(grad_outputs if isinstance(grad_outputs, (tuple, list))
                         else (grad_outputs,))
    n_in = len(inputs)

    def first_derivative(*args):
        xs, vs = args[:n_in], args[n_in:]
        ys = _outputs_tuple(fn(*xs))
        wrt = [xs[i] for i in diff]
        gs = grad(ys, wrt, vs, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_derivative, tuple(inputs) + grad_outputs, eps, atol, rtol,
                     raise_exception, mode=mode, seed=seed, _with_graph=True)
