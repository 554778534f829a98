r"""An optimizer comparison harness in the spirit of Schmidt, Schneider & Hennig (2021),
"Descending through a Crowded Valley — Benchmarking Deep Learning Optimizers".

For every task × optimizer × schedule:

1. **defaults** — the optimizer class's default hyperparameters (PyTorch's, where
   PyTorch has the class), run with ``seeds`` seeds;
2. **tuned** (with ``tune_trials`` = K > 0) — K learning rates drawn log-uniformly from
   ``lr_range`` (the same K values for every optimizer: common random numbers), each run
   once with a tuning seed; the lr with the best *validation* metric is then run with
   the ``seeds`` seeds.

The reported number is the *test* metric at the end of the budget (mean ± std over
seeds), with the wall time per run. The tasks:

================  ===========================================================  ==========
``digits-mlp``     MLP 64-64-10 on the 8×8 digits, batch 64, cross-entropy      test acc ↑
``digits-cnn``     the LeNet-style ``cnn`` of :mod:`minigrad.train.models`       test acc ↑
``regression``     MLP 4-64-64-1 (tanh) on :func:`noisy_regression`, MSE         test MSE ↓
``rosenbrock``     the 2-D Rosenbrock function from (−1.5, 2) + N(0, 0.1²),      final f ↓
                   100 steps per "epoch"
================  ===========================================================  ==========

The digits tasks validate on 20% of the training split; Rosenbrock has no data, so its
lr is tuned on a start drawn with the tuning seed and evaluated on starts drawn with the
evaluation seeds. Runs that diverge (non-finite loss) count as failures: they are left
out of the mean and counted in the table.

Differences from the paper: a much smaller budget (minutes on a CPU, not GPU-months),
only the learning rate is tuned (the paper also searched β's and ε), four small tasks
instead of eight DeepOBS problems.
"""
from __future__ import annotations

import math
import time
import warnings

import numpy as np

__all__ = ["TASKS", "run_one", "compare", "markdown_table", "plot_curves"]

#: task name → (metric name, "max" or "min")
TASKS = {
    "digits-mlp": ("test accuracy", "max"),
    "digits-cnn": ("test accuracy", "max"),
    "regression": ("test MSE", "min"),
    "rosenbrock": ("final f(x, y)", "min"),
}

_TUNE_SEED = 10_000
_ROSEN_STEPS_PER_EPOCH = 100


def _data(task, cache, subset):
    from .datasets import load_task

    key = ("digits" if task.startswith("digits") else task, subset)
    if key not in cache:
        spec = "digits" if task.startswith("digits") else "regression"
        cache[key] = load_task(spec, val_fraction=0.2, subset=subset, seed=0)
    return cache[key]


def _model(task, data):
    from .. import nn
    from .models import cnn, mlp

    if task == "digits-mlp":
        return mlp(64, 10, hidden=(64,), dropout=0.0)
    if task == "digits-cnn":
        return cnn(1, 10, 8, dropout=0.0)
    return mlp(data.in_shape[0], 1, hidden=(64, 64), dropout=0.0, activation=nn.Tanh)


def _train_task(task, optimizer, schedule, lr, seed, epochs, cache, subset, device=None):
    import minigrad as mg

    from ..data import DataLoader
    from ..nn import functional as F
    from .recipes import make_optimizer, make_scheduler
    from .trainer import Trainer

    data = _data(task, cache, subset)
    mg.manual_seed(seed)
    model = _model(task, data)
    if device not in (None, "cpu"):
        model.to(device)
    else:
        device = None
    opt = make_optimizer(optimizer, model.parameters(), lr=lr)
    loader = DataLoader(data.train, batch_size=64, shuffle=True, seed=seed, device=device)
    sched = make_scheduler(schedule, opt, epochs * len(loader))
    regression = task == "regression"
    trainer = Trainer(model, opt, loader, F.mse_loss if regression else None,
                      val_loader=DataLoader(data.val, batch_size=512, device=device),
                      scheduler=sched, device=device,
                      task="regression" if regression else "classification",
                      log=lambda line: None)
    with np.errstate(all="ignore"):
        history = trainer.fit(epochs)
        test = trainer.evaluate(DataLoader(data.test, batch_size=512, device=device))
    key = "loss" if regression else "accuracy"
    curve = [h["train_loss"] for h in history]
    val = history[-1]["val_loss" if regression else "val_accuracy"]
    diverged = not all(math.isfinite(c) for c in curve)
    return curve, val, test[key], diverged


def _rosenbrock(optimizer, schedule, lr, seed, epochs):
    import minigrad as mg

    from ..viz.functions import rosenbrock
    from .recipes import make_optimizer, make_scheduler
    from .trainer import _optimizer_kind

    mg.manual_seed(seed)
    start = np.array(rosenbrock.start) + 0.1 * np.random.default_rng(seed).standard_normal(2)
    p = mg.tensor(start, dtype=mg.float64, requires_grad=True)
    opt = make_optimizer(optimizer, [p], lr=lr)
    steps = epochs * _ROSEN_STEPS_PER_EPOCH
    sched = make_scheduler(schedule, opt, steps)
    kind = _optimizer_kind(opt)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(p)
        loss.backward()
        return loss

    curve = []
    with np.errstate(all="ignore"):
        for t in range(steps):
            if kind == "closure":
                opt.step(closure)
            elif kind == "sophia":
                opt.zero_grad()
                due = opt.hessian_due
                rosenbrock(p).backward(create_graph=due)
                if due:
                    opt.update_hessian()
                    p.grad = p.grad.detach()
                opt.step()
            else:
                closure()
                opt.step()
            if sched is not None:
                sched.step()
            if not np.all(np.isfinite(p.data)) or np.abs(p.data).max() > 1e8:
                break
            if (t + 1) % _ROSEN_STEPS_PER_EPOCH == 0:
                curve.append(float(rosenbrock(p.detach()).item()))
    value = float(rosenbrock(p.detach()).item()) if np.all(np.isfinite(p.data)) else math.inf
    diverged = not math.isfinite(value) or np.abs(p.data).max() > 1e8
    if diverged:
        value = math.nan
    curve += [math.nan] * (epochs - len(curve))
    return curve, value, value, diverged


def run_one(task, optimizer, schedule="constant", lr=None, seed=0, epochs=10, cache=None,
            subset=None, device=None):
    """One run; returns a dict with the learning ``curve`` (training loss, or f, after
    each epoch), the ``val`` and ``test`` metrics, ``time`` (s) and ``diverged``."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    cache = {} if cache is None else cache
    start = time.perf_counter()
    if task == "rosenbrock":
        curve, val, test, diverged = _rosenbrock(optimizer, schedule, lr, seed, epochs)
    else:
        curve, val, test, diverged = _train_task(task, optimizer, schedule, lr, seed, epochs,
                                                 cache, subset, device)
    if diverged:
        test = val = math.nan
    return {"task": task, "optimizer": optimizer, "schedule": schedule, "lr": lr,
            "seed": seed, "curve": curve, "val": val, "test": test,
            "time": time.perf_counter() - start, "diverged": diverged}


def _better(a, b, mode):
    if not math.isfinite(a):
        return False
    if not math.isfinite(b):
        return True
    return a > b if mode == "max" else a < b


def compare(optimizers, schedules=("constant",), tasks=tuple(TASKS), seeds=3, epochs=10,
            tune_trials=0, lr_range=(1e-4, 1.0), subset=None, progress=False, log=None,
            device=None):
    """Run the whole comparison; returns ``{"config", "runs", "tuning"}`` (plain data,
    JSON-ready). ``runs`` holds every evaluation run (``setting`` "default" or "tuned"),
    ``tuning`` every tuning trial."""
    from .recipes import default_lr, optimizer_class

    for name in optimizers:
        optimizer_class(name)  # fails early on an unknown name
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    lo, hi = lr_range
    trial_lrs = list(np.exp(np.random.default_rng(0).uniform(math.log(lo), math.log(hi),
                                                               tune_trials)))
    n_runs = len(tasks) * len(optimizers) * len(schedules) * (
        len(seeds) * (2 if tune_trials else 1) + tune_trials)
    cache, runs, tuning = {}, [], []
    for task in tasks:  # fails early (before the progress bar) on data that cannot be used
        if task != "rosenbrock":
            _data(task, cache, subset)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_runs, desc="compare", dynamic_ncols=True)

    def go(task, opt, sched, lr, seed):
        if bar is not None:
            bar.set_postfix_str(f"{task} {opt} {sched}", refresh=False)
        r = run_one(task, opt, sched, lr, seed, epochs, cache, subset, device)
        if bar is not None:
            bar.update(1)
        return r

    for task in tasks:
        mode = TASKS[task][1]
        for opt in optimizers:
            for sched in schedules:
                for seed in seeds:
                    r = go(task, opt, sched, None, seed)
                    r["setting"], r["lr"] = "default", default_lr(opt)
                    runs.append(r)
                if not tune_trials:
                    continue
                best_lr, best_val = None, math.nan
                for lr in trial_lrs:
                    r = go(task, opt, sched, float(lr), _TUNE_SEED)
                    tuning.append({k: r[k] for k in ("task", "optimizer", "schedule", "lr",
                                                     "val", "diverged")})
                    if _better(r["val"], best_val, mode):
                        best_lr, best_val = float(lr), r["val"]
                if best_lr is None:  # every trial diverged
                    best_lr = float(trial_lrs[0])
                for seed in seeds:
                    r = go(task, opt, sched, best_lr, seed)
                    r["setting"] = "tuned"
                    runs.append(r)
                if log is not None:
                    log(f"{task:11s} {opt:10s} {sched:9s} tuned lr {best_lr:.3g} "
                        f"(val {best_val:.4g})")
    if bar is not None:
        bar.close()
    config = {"optimizers": list(optimizers), "schedules": list(schedules),
              "tasks": list(tasks), "seeds": seeds, "epochs": epochs,
              "tune_trials": tune_trials, "lr_range": list(lr_range), "subset": subset,
              "trial_lrs": [float(x) for x in trial_lrs], "device": device or "cpu"}
    return {"config": config, "runs": runs, "tuning": tuning}


def _summary(runs):
    vals = np.array([r["test"] for r in runs], dtype=np.float64)
    ok = vals[np.isfinite(vals)]
    failed = len(vals) - len(ok)
    return ok, failed


def _cell(runs, mode):
    ok, failed = _summary(runs)
    if len(ok) == 0:
        return "diverged"
    fmt = "{:.4f}" if mode == "max" else "{:.3g}"
    text = fmt.format(ok.mean())
    if len(ok) > 1:
        text += " ± " + fmt.format(ok.std(ddof=1))
    if failed:
        text += f" ({failed} diverged)"
    return text


def markdown_table(results):
    """One markdown table per task: rows optimizer × schedule; columns the default and
    tuned results (mean ± std over seeds of the test metric), the tuned lr, time/run."""
    cfg = results["config"]
    tuned = cfg["tune_trials"] > 0
    out = []
    for task in cfg["tasks"]:
        metric, mode = TASKS[task]
        arrow = "↑" if mode == "max" else "↓"
        out.append(f"### {task} — {metric} {arrow} after {cfg['epochs']} epochs, "
                   f"{len(cfg['seeds'])} seed(s)\n")
        head = ["optimizer", "schedule", "default lr", "default"]
        if tuned:
            head += ["tuned lr", "tuned"]
        head.append("time/run")
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for opt in cfg["optimizers"]:
            for sched in cfg["schedules"]:
                sel = [r for r in results["runs"] if r["task"] == task and
                       r["optimizer"] == opt and r["schedule"] == sched]
                d = [r for r in sel if r["setting"] == "default"]
                t = [r for r in sel if r["setting"] == "tuned"]
                row = [opt, sched, f"{d[0]['lr']:.3g}" if d else "", _cell(d, mode)]
                if tuned:
                    row += [f"{t[0]['lr']:.3g}" if t else "", _cell(t, mode) if t else ""]
                secs = np.mean([r["time"] for r in sel]) if sel else math.nan
                row.append(f"{secs:.2f} s")
                out.append("| " + " | ".join(row) + " |")
        out.append("")
    return "\n".join(out)


def plot_curves(results, path):
    """Learning curves: one panel per task, the training loss (f for Rosenbrock) per
    epoch, mean over seeds; color = optimizer, line style = schedule; the tuned runs
    when there are any, else the defaults."""
    from ..viz._mpl import new_figure

    cfg = results["config"]
    tasks = cfg["tasks"]
    ncols = min(2, len(tasks))
    nrows = math.ceil(len(tasks) / ncols)
    fig, axes = new_figure(figsize=(6.2 * ncols, 4.3 * nrows + 0.8), dpi=110, nrows=nrows,
                           ncols=ncols, squeeze=False)
    setting = "tuned" if cfg["tune_trials"] else "default"
    styles = ["-", "--", ":", "-."]
    import matplotlib
    from matplotlib.lines import Line2D

    cmap = matplotlib.colormaps["tab20"]

    def color(i):  # the 10 dark colours of tab20 first, then the 10 light ones
        return cmap((2 * i) % 20 + (1 if 2 * i >= 20 else 0))

    for k, task in enumerate(tasks):
        ax = axes[k // ncols][k % ncols]
        for i, opt in enumerate(cfg["optimizers"]):
            for j, sched in enumerate(cfg["schedules"]):
                sel = [r["curve"] for r in results["runs"] if r["task"] == task and
                       r["optimizer"] == opt and r["schedule"] == sched and
                       r["setting"] == setting]
                if not sel:
                    continue
                curves = np.array(sel, dtype=np.float64)
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: diverged
                    mean = np.nanmean(np.where(np.isfinite(curves), curves, np.nan), axis=0)
                epochs = np.arange(1, len(mean) + 1)
                ax.plot(epochs, np.where(mean > 0, mean, np.nan), color=color(i),
                        ls=styles[j % len(styles)], lw=1.5)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("f(x, y)" if task == "rosenbrock" else "training loss")
        ax.set_title(f"{task} ({setting} hyperparameters)")
        ax.grid(alpha=0.3, which="both")
    for k in range(len(tasks), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    handles = [Line2D([], [], color=color(i), lw=2) for i in range(len(cfg["optimizers"]))]
    labels = list(cfg["optimizers"])
    if len(cfg["schedules"]) > 1:
        handles += [Line2D([], [], color="k", ls=styles[j % len(styles)], lw=1.5)
                    for j in range(len(cfg["schedules"]))]
        labels += [f"schedule: {s}" for s in cfg["schedules"]]
    ncol = min(8, len(handles))
    rows = math.ceil(len(handles) / ncol)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    fig.suptitle("Optimizer comparison (in the spirit of Schmidt et al. 2021): mean over "
                 f"{len(cfg['seeds'])} seed(s)")
    legend_height = (0.15 + 0.22 * rows) / fig.get_figheight()
    fig.tight_layout(rect=(0, legend_height, 1, 1))
    fig.savefig(path)
    return path
