r"""Learning-rate (and momentum) schedule plots.

A schedule only rewrites ``param_groups``, so it is sampled here on a stand-in optimizer
with one group (``lr``, ``momentum``): no parameters, no gradients.

Examples
--------
::

    from minigrad.viz import plot_schedules
    plot_schedules(path="runs/lr_schedules.png", steps=100)      # every schedule, one panel each
"""
from __future__ import annotations

import math
import os

import numpy as np

__all__ = ["ScheduleProbe", "default_schedules", "plot_schedules", "schedule_values"]


class ScheduleProbe:
    """The part of an optimizer a scheduler touches: one param group and the defaults."""

    def __init__(self, lr=0.1, momentum=0.9):
        self.defaults = {"lr": lr, "momentum": momentum}
        self.param_groups = [dict(self.defaults)]

    def step(self, closure=None):
        return None


def schedule_values(make_scheduler, steps=100, lr=0.1, momentum=0.9, metrics=None):
    r"""Sample a schedule: the lr (and momentum) used at steps t = 0 … steps − 1.

    Parameters
    ----------
    make_scheduler : callable
        ``optimizer -> scheduler``, e.g. ``lambda opt: CosineAnnealingLR(opt, T_max=100)``.
    steps : int
    lr, momentum : float
        The optimizer's starting values.
    metrics : sequence of float, optional
        Values fed to ``ReduceLROnPlateau.step`` (default: a loss that plateaus).

    Returns
    -------
    dict with ``"lr"`` and ``"momentum"``, each an array of length ``steps``.
    """
    from minigrad.optim.lr_scheduler import ReduceLROnPlateau

    opt = ScheduleProbe(lr, momentum)
    sched = make_scheduler(opt)
    if isinstance(sched, ReduceLROnPlateau) and metrics is None:
        metrics = plateau_metric(steps)
    lrs, moms = [], []
    for t in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0].get("momentum", np.nan))
        if t == steps - 1:
            break
        opt.step()
        if isinstance(sched, ReduceLROnPlateau):
            sched.step(metrics[t])
        else:
            sched.step()
    return {"lr": np.array(lrs, dtype=float), "momentum": np.array(moms, dtype=float)}


def plateau_metric(steps):
    """A synthetic validation loss: falls, then flattens with noise (fixed seed)."""
    rng = np.random.default_rng(0)
    t = np.arange(steps)
    return 1.0 / (1.0 + 0.15 * np.minimum(t, steps // 3)) + 0.01 * rng.standard_normal(steps)


def default_schedules(steps=100):
    r"""``{title: make_scheduler}`` for every schedule in :mod:`minigrad.optim.lr_scheduler`."""
    from minigrad.optim import lr_scheduler as S

    T = steps
    return {
        "StepLR (step 25, γ 0.5)": lambda o: S.StepLR(o, step_size=T // 4, gamma=0.5),
        "MultiStepLR (50%, 75%)": lambda o: S.MultiStepLR(o, [T // 2, 3 * T // 4], 0.1),
        "ExponentialLR (γ 0.97)": lambda o: S.ExponentialLR(o, gamma=0.97),
        "InverseTimeLR (k 0.1)": lambda o: S.InverseTimeLR(o, decay=0.1),
        "PolynomialLR (p 2)": lambda o: S.PolynomialLR(o, total_iters=T, power=2.0),
        "CosineAnnealingLR": lambda o: S.CosineAnnealingLR(o, T_max=T, eta_min=1e-3),
        "SGDR (T0 10, Tmult 2)": lambda o: S.CosineAnnealingWarmRestarts(o, T_0=max(T // 10, 1),
                                                                         T_mult=2),
        "CyclicLR triangular": lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=T // 8),
        "CyclicLR triangular2": lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=T // 8,
                                                     mode="triangular2"),
        "CyclicLR exp_range": lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=T // 8,
                                                   mode="exp_range", gamma=0.98),
        "OneCycleLR": lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=T),
        "OneCycleLR three-phase, linear": lambda o: S.OneCycleLR(
            o, max_lr=0.1, total_steps=T, three_phase=True, anneal_strategy="linear"),
        "Warm-up + cosine": lambda o: S.SequentialLR(
            o, [S.LinearWarmup(o, T // 10), S.CosineAnnealingLR(o, T_max=T - T // 10)],
            milestones=[T // 10]),
        "Goyal: ×4 batch, warm-up, steps": lambda o: _goyal(o, T),
        "ReduceLROnPlateau": lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=5),
        "ConstantLR + ExponentialLR": lambda o: S.ChainedScheduler(
            [S.ConstantLR(o, factor=0.5, total_iters=T // 5), S.ExponentialLR(o, 0.98)]),
    }


def _goyal(opt, T):
    from minigrad.optim import lr_scheduler as S

    base = opt.param_groups[0]["lr"]
    for g in opt.param_groups:  # lr for 4× the base batch (linear scaling rule)
        g["lr"] = S.linear_scaling_rule(base, 1024, 256)
    after = S.MultiStepLR(opt, [T // 2 - T // 10, 3 * T // 4 - T // 10], 0.1)  # local time
    return S.gradual_warmup(opt, T // 10, batch_size=1024, after=after)


def plot_schedules(schedules=None, path="lr_schedules.png", steps=100, lr=0.1, momentum=True,
                   ncols=4, dpi=100):
    r"""One panel per schedule: lr against step (and momentum on a second axis if it moves).

    Parameters
    ----------
    schedules : dict, optional
        ``{title: make_scheduler}``; default :func:`default_schedules`.
    path : str or PathLike
        Output image.
    steps : int
    lr : float
        The optimizer's initial lr.
    momentum : bool
        Draw the momentum where the schedule cycles it (CyclicLR, OneCycleLR).

    Returns
    -------
    str : the file written.
    """
    from ._mpl import new_figure

    schedules = default_schedules(steps) if schedules is None else schedules
    n = len(schedules)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig, axes = new_figure(figsize=(3.6 * ncols, 2.6 * nrows), dpi=dpi, nrows=nrows,
                           ncols=ncols, squeeze=False)
    t = np.arange(steps)
    for ax, (title, make) in zip(axes.flat, schedules.items()):
        values = schedule_values(make, steps=steps, lr=lr)
        ax.plot(t, values["lr"], color="C0", lw=1.6)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylabel("lr", fontsize=8, color="C0")
        ax.tick_params(labelsize=7)
        mom = values["momentum"]
        if momentum and np.ptp(mom[np.isfinite(mom)]) > 1e-12:
            ax2 = ax.twinx()
            ax2.plot(t, mom, color="C3", lw=1.0, ls="--")
            ax2.set_ylabel("momentum", fontsize=8, color="C3")
            ax2.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    folder = os.path.dirname(os.fspath(path))
    if folder:
        os.makedirs(folder, exist_ok=True)
    fig.savefig(path)
    return os.fspath(path)
