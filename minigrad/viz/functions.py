r"""Two-dimensional test functions for watching optimizers move.

Each function takes ``x, y`` (minigrad Tensors *or* NumPy arrays: the same arithmetic
works on both, so one definition serves the optimizer and the contour plot) and carries
its known minimum, a usual starting point and a plotting window.

=============  ===============================================  ===================  =========
name           f(x, y)                                          minimum              f there
=============  ===============================================  ===================  =========
rosenbrock     (a − x)² + b(y − x²)², a = 1, b = 100            (1, 1)               0
beale          (1.5 − x + xy)² + (2.25 − x + xy²)²              (3, 0.5)             0
               + (2.625 − x + xy³)²
saddle         x² − y²                                          none: a saddle at    0
                                                                (0, 0), unbounded
                                                                below along y
=============  ===============================================  ===================  =========

Rosenbrock's minimum lies at the end of a long curved, flat-bottomed valley (easy to
reach, slow to follow); Beale has sharp ridges and flat plateaus at the corners; the saddle
shows which methods escape a stationary point that is not a minimum (plain gradient
descent started on the x axis never does).

References
----------
H. H. Rosenbrock, "An automatic method for finding the greatest or least value of a
function", The Computer Journal, 1960. E. M. L. Beale, "On an iterative method for
finding a local minimum of a function of more than one variable", 1958.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["TestFunction", "rosenbrock", "beale", "saddle", "FUNCTIONS", "get_function"]


def rosenbrock_fn(x, y, a=1.0, b=100.0):
    """(a − x)² + b(y − x²)²."""
    return (a - x) ** 2 + b * (y - x * x) ** 2


def beale_fn(x, y):
    """(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²."""
    return ((1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2
            + (2.625 - x + x * y * y * y) ** 2)


def saddle_fn(x, y):
    """x² − y²."""
    return x * x - y * y


@dataclass(frozen=True)
class TestFunction:
    """A 2-D objective with what a plot and a test need to know about it.

    Calling it with one Tensor (or array) of shape (2,) evaluates ``f(p[0], p[1])``;
    :meth:`f` takes the two coordinates separately (arrays broadcast, for contours).
    """

    __test__ = False  # not a pytest test class, despite the name

    name: str
    fn: object
    minimum: tuple | None          # the global minimiser, None if unbounded below
    f_min: float | None
    start: tuple                   # a customary starting point
    xlim: tuple
    ylim: tuple
    log_levels: bool = True        # contour levels on a log scale (wide dynamic range)
    stationary: tuple = field(default=None)  # the saddle point, where there is one

    def f(self, x, y):
        return self.fn(x, y)

    def __call__(self, p):
        return self.fn(p[0], p[1])

    def grid(self, n=200):
        """(X, Y, Z) on an n × n grid over the plotting window (NumPy)."""
        xs = np.linspace(*self.xlim, n)
        ys = np.linspace(*self.ylim, n)
        X, Y = np.meshgrid(xs, ys)
        return X, Y, self.fn(X, Y)

    def distance_to_minimum(self, point):
        if self.minimum is None:
            raise ValueError(f"{self.name} has no minimum")
        return float(np.hypot(point[0] - self.minimum[0], point[1] - self.minimum[1]))


rosenbrock = TestFunction("rosenbrock", rosenbrock_fn, minimum=(1.0, 1.0), f_min=0.0,
                          start=(-1.5, 2.0), xlim=(-2.0, 2.0), ylim=(-1.0, 3.0))
beale = TestFunction("beale", beale_fn, minimum=(3.0, 0.5), f_min=0.0,
                     start=(1.0, 1.5), xlim=(-4.5, 4.5), ylim=(-4.5, 4.5))
saddle = TestFunction("saddle", saddle_fn, minimum=None, f_min=None,
                      start=(1.0, 1e-3), xlim=(-1.5, 1.5), ylim=(-1.5, 1.5),
                      log_levels=False, stationary=(0.0, 0.0))

FUNCTIONS = {f.name: f for f in (rosenbrock, beale, saddle)}


def get_function(name_or_fn):
    """A :class:`TestFunction` by name (``"rosenbrock"``, ``"beale"``, ``"saddle"``)."""
    if isinstance(name_or_fn, TestFunction):
        return name_or_fn
    try:
        return FUNCTIONS[name_or_fn]
    except KeyError:
        raise ValueError(
            f"unknown test function {name_or_fn!r}; choose one of {sorted(FUNCTIONS)}") from None
