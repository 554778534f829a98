"""minigrad.viz: pictures of optimization (matplotlib is the ``plot`` extra).

* :mod:`minigrad.viz.functions` — Rosenbrock, Beale and the saddle x² − y² as
  minigrad-differentiable functions with their known minima (no matplotlib needed).
* :mod:`minigrad.viz.trajectories` — run optimizers on them, plot the paths (PNG) and
  animate them (GIF, with pillow).
* :mod:`minigrad.viz.schedules` — learning-rate (and momentum) schedule plots.
* :mod:`minigrad.viz.graph` — the autograd graph of a result as Graphviz DOT text.

matplotlib is imported only inside the plotting functions; figures are drawn on an Agg
canvas without touching ``pyplot``, so importing this package never needs a display.
"""
from .functions import FUNCTIONS, TestFunction, beale, get_function, rosenbrock, saddle
from .graph import autograd_graph
from .schedules import default_schedules, plot_schedules, schedule_values
from .trajectories import (
    DEFAULT_SUITES,
    animate_trajectories,
    compare_optimizers,
    plot_trajectories,
    resolve_optimizer,
    run_optimizer,
)

__all__ = [
    "autograd_graph",
    "DEFAULT_SUITES",
    "FUNCTIONS",
    "TestFunction",
    "animate_trajectories",
    "beale",
    "compare_optimizers",
    "default_schedules",
    "get_function",
    "plot_schedules",
    "plot_trajectories",
    "resolve_optimizer",
    "rosenbrock",
    "run_optimizer",
    "saddle",
    "schedule_values",
]
