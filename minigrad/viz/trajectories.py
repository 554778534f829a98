r"""Optimizer trajectories on 2-D test functions: run, plot (PNG), animate (GIF).

Examples
--------
::

    from minigrad.viz import run_optimizer, plot_trajectories, rosenbrock
    path = run_optimizer(rosenbrock, "Adam", steps=500, lr=0.05)   # array (k, 2)
    paths = compare_optimizers(rosenbrock)                        # the default suite
    plot_trajectories(rosenbrock, paths, "runs/rosenbrock.png")
    animate_trajectories(rosenbrock, paths, "runs/rosenbrock.gif")

Every optimizer is driven the way its class expects: one ``step(closure)`` per point
for the first-order methods and SAM (whose closure is evaluated twice), one L-BFGS
iteration per point (``max_iter=1`` unless given), and for Sophia the Hessian estimate
refreshed through :meth:`~minigrad.optim.Sophia.update_hessian` when it is due.
"""
from __future__ import annotations

import importlib
import math
import os

import numpy as np

from .functions import get_function

__all__ = [
    "DEFAULT_SUITES",
    "animate_trajectories",
    "compare_optimizers",
    "plot_trajectories",
    "resolve_optimizer",
    "run_optimizer",
]


def resolve_optimizer(optimizer):
    """An optimizer class from a class or its name in :mod:`minigrad.optim`."""
    if isinstance(optimizer, str):
        optim = importlib.import_module("minigrad.optim")
        try:
            return getattr(optim, optimizer)
        except (AttributeError, ImportError) as exc:
            raise ValueError(f"minigrad.optim has no optimizer named {optimizer!r}") from exc
    return optimizer


def run_optimizer(function, optimizer, steps=200, start=None, **kwargs):
    r"""Run ``optimizer`` on a 2-D ``function`` and return the visited points.

    Parameters
    ----------
    function : TestFunction or str
        ``"rosenbrock"``, ``"beale"``, ``"saddle"``, or a :class:`TestFunction`.
    optimizer : class, str, or callable
        An optimizer class (or its name in :mod:`minigrad.optim`), or a factory
        ``params -> Optimizer``.
    steps : int
        Number of optimizer steps.
    start : (float, float), optional
        Default: the function's customary start.
    **kwargs
        Hyperparameters for the optimizer class.

    Returns
    -------
    ndarray of shape (k, 2), k ≤ steps + 1
        The start and the point after each step, in float64. The run stops early when the
        point becomes non-finite or leaves a box of size 1e6 (a diverged method), or when a
        step leaves it exactly where it was (converged).
    """
    import minigrad as mg

    fn = get_function(function)
    start = fn.start if start is None else start
    p = mg.tensor(np.asarray(start, dtype=np.float64), requires_grad=True)
    cls = resolve_optimizer(optimizer)
    name = getattr(cls, "__name__", "")
    if name == "LBFGS":
        kwargs.setdefault("max_iter", 1)  # one recorded point per iteration
        kwargs.setdefault("max_eval", 25)
    if "base_optimizer" in kwargs:  # SAM
        kwargs["base_optimizer"] = resolve_optimizer(kwargs["base_optimizer"])
    opt = cls([p], **kwargs) if isinstance(cls, type) else cls([p])
    is_sophia = hasattr(opt, "update_hessian") and hasattr(opt, "hessian_due")

    def closure():
        opt.zero_grad()
        loss = fn(p)
        loss.backward()
        return loss

    points = [p.data.copy()]
    for _ in range(steps):
        if is_sophia:
            opt.zero_grad()
            due = opt.hessian_due
            loss = fn(p)
            loss.backward(create_graph=due)
            if due:
                opt.update_hessian()
            opt.step()
        else:
            opt.step(closure)
        point = p.data.copy()
        if not np.all(np.isfinite(point)) or np.abs(point).max() > 1e6:
            break
        if np.array_equal(point, points[-1]):
            break  # converged: the method no longer moves (e.g. L-BFGS at its tolerance)
        points.append(point)
    return np.array(points, dtype=np.float64)


#: Hyperparameters tuned by hand so that each path is worth looking at on each function.
#: Entries: (label, optimizer name, kwargs).
DEFAULT_SUITES = {
    "rosenbrock": [
        ("SGD", "SGD", {"lr": 1e-3}),
        ("Momentum", "SGD", {"lr": 1e-3, "momentum": 0.9}),
        ("Nesterov", "SGD", {"lr": 1e-3, "momentum": 0.9, "nesterov": True}),
        ("Adagrad", "Adagrad", {"lr": 0.5}),
        ("RMSprop", "RMSprop", {"lr": 1e-2}),
        ("Adam", "Adam", {"lr": 0.05}),
        ("AdaBelief", "AdaBelief", {"lr": 0.05}),
        ("Lion", "Lion", {"lr": 0.01}),
        ("SAM", "SAM", {"base_optimizer": "Adam", "lr": 0.05, "rho": 0.01}),
        ("Sophia-H", "Sophia", {"lr": 0.05, "rho": 0.01, "weight_decay": 0.0, "k": 5}),
        ("L-BFGS", "LBFGS", {"line_search_fn": "strong_wolfe"}),
    ],
    "beale": [
        ("SGD", "SGD", {"lr": 1e-3}),
        ("Momentum", "SGD", {"lr": 1e-3, "momentum": 0.9}),
        ("Adagrad", "Adagrad", {"lr": 0.5}),
        ("RMSprop", "RMSprop", {"lr": 1e-2}),
        ("Adam", "Adam", {"lr": 0.1}),
        ("Lion", "Lion", {"lr": 0.01}),
        ("SAM", "SAM", {"base_optimizer": "Adam", "lr": 0.1, "rho": 0.01}),
        ("Sophia-H", "Sophia", {"lr": 0.05, "rho": 0.1, "betas": (0.9, 0.95),
                                "weight_decay": 0.0, "k": 5}),
        ("L-BFGS", "LBFGS", {"line_search_fn": "strong_wolfe"}),
    ],
    "saddle": [
        ("SGD", "SGD", {"lr": 0.01}),
        ("Momentum", "SGD", {"lr": 0.01, "momentum": 0.9}),
        ("Adagrad", "Adagrad", {"lr": 0.1}),
        ("RMSprop", "RMSprop", {"lr": 0.01}),
        ("Adam", "Adam", {"lr": 0.01}),
        ("Lion", "Lion", {"lr": 0.01}),
    ],
}


def compare_optimizers(function, suite=None, steps=None, start=None, progress=True):
    r"""Run several optimizers on one function; return ``{label: path}``.

    Parameters
    ----------
    function : TestFunction or str
    suite : list of (label, optimizer, kwargs), optional
        Default: ``DEFAULT_SUITES[function.name]``. An optimizer named in the suite but
        missing from :mod:`minigrad.optim` is skipped with a message.
    steps : int, optional
        Default 500 (300 for the saddle).
    progress : bool
        Show a tqdm progress bar over the optimizers.
    """
    fn = get_function(function)
    suite = DEFAULT_SUITES[fn.name] if suite is None else suite
    steps = (300 if fn.name == "saddle" else 500) if steps is None else steps
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        def tqdm(x, **_):
            return x
    paths = {}
    for label, optimizer, kwargs in tqdm(suite, desc=f"{fn.name}", disable=not progress,
                                         leave=False):
        kwargs = dict(kwargs)
        try:
            cls = resolve_optimizer(optimizer)
            if "base_optimizer" in kwargs:
                kwargs["base_optimizer"] = resolve_optimizer(kwargs["base_optimizer"])
        except ValueError as exc:
            print(f"skipping {label}: {exc}")
            continue
        paths[label] = run_optimizer(fn, cls, steps=steps, start=start, **kwargs)
    return paths


def _draw_landscape(ax, fn, levels=30):
    X, Y, Z = fn.grid(250)
    if fn.log_levels:
        zmin = max(float(Z.min()), 1e-3)
        lv = np.logspace(math.log10(zmin), math.log10(float(Z.max())), levels)
        ax.contour(X, Y, Z, levels=lv, cmap="viridis", linewidths=0.6, alpha=0.8)
    else:
        ax.contour(X, Y, Z, levels=levels, cmap="viridis", linewidths=0.6, alpha=0.8)
    if fn.minimum is not None:
        ax.plot(*fn.minimum, marker="*", color="k", markersize=14, zorder=5, label="minimum")
    if fn.stationary is not None:
        ax.plot(*fn.stationary, marker="x", color="k", markersize=10, zorder=5,
                label="saddle point")
    ax.set_xlim(*fn.xlim)
    ax.set_ylim(*fn.ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")


def _ensure_dir(path):
    folder = os.path.dirname(os.fspath(path))
    if folder:
        os.makedirs(folder, exist_ok=True)


def plot_trajectories(function, paths, path, title=None, dpi=110):
    r"""Contours of ``function`` with every path drawn over them, saved as an image.

    Parameters
    ----------
    function : TestFunction or str
    paths : dict
        ``{label: array (k, 2)}``, e.g. from :func:`compare_optimizers`.
    path : str or PathLike
        Output file (``.png``; any format matplotlib writes).

    Returns
    -------
    str : the file written.
    """
    from ._mpl import new_figure

    fn = get_function(function)
    fig, ax = new_figure(figsize=(7.5, 6), dpi=dpi)
    _draw_landscape(ax, fn)
    for label, pts in paths.items():
        pts = np.asarray(pts)
        ax.plot(pts[:, 0], pts[:, 1], lw=1.4, label=f"{label} ({len(pts) - 1} steps)")
        ax.plot(pts[-1, 0], pts[-1, 1], "o", ms=4, color=ax.lines[-1].get_color())
    if paths:
        ax.plot(*np.asarray(paths[next(iter(paths))])[0], "ks", ms=6, label="start")
    ax.set_title(title or f"Optimizer trajectories on {fn.name}")
    ax.legend(fontsize=7, loc="best", framealpha=0.8)
    fig.tight_layout()
    _ensure_dir(path)
    fig.savefig(path)
    return os.fspath(path)


def animate_trajectories(function, paths, path, frames=60, fps=15, title=None, dpi=80):
    r"""An animated GIF of the paths advancing together (needs pillow).

    Returns the file written, or ``None`` (with a message) when pillow is missing.
    """
    from ._mpl import has_pillow, new_figure

    if not has_pillow():
        print(f"pillow is not installed: skipping the animated GIF {os.fspath(path)}")
        return None
    from matplotlib.animation import FuncAnimation, PillowWriter

    fn = get_function(function)
    fig, ax = new_figure(figsize=(6, 5), dpi=dpi)
    _draw_landscape(ax, fn)
    ax.set_title(title or f"Optimizer trajectories on {fn.name}")
    longest = max(len(p) for p in paths.values())
    frames = max(2, min(frames, longest))
    ticks = np.unique(np.linspace(1, longest, frames).astype(int))
    lines, heads = [], []
    for label, pts in paths.items():
        (line,) = ax.plot([], [], lw=1.4, label=label)
        (head,) = ax.plot([], [], "o", ms=4, color=line.get_color())
        lines.append((line, np.asarray(pts)))
        heads.append(head)
    ax.legend(fontsize=7, loc="best", framealpha=0.8)
    fig.tight_layout()

    def draw(i):
        n = ticks[i]
        for (line, pts), head in zip(lines, heads):
            shown = pts[: min(n, len(pts))]
            line.set_data(shown[:, 0], shown[:, 1])
            head.set_data(shown[-1:, 0], shown[-1:, 1])
        return [line for line, _ in lines] + heads

    anim = FuncAnimation(fig, draw, frames=len(ticks), blit=False)
    _ensure_dir(path)
    anim.save(os.fspath(path), writer=PillowWriter(fps=fps))
    return os.fspath(path)
