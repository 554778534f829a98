"""Grid search: every config of a Cartesian product of per-dimension grids.

For each numeric dimension ``num`` evenly spaced values (on a log scale for
``LogUniform``), for each ``Choice`` all of its values; the grid is their product, so its
size is the product of the per-dimension counts and it grows exponentially with the
number of dimensions (Bergstra & Bengio 2012: with few important dimensions, random
search covers each of them more densely for the same number of trials).
"""
from __future__ import annotations

from .harness import Harness

__all__ = ["grid_search", "grid_resolution"]


def grid_resolution(space, trials):
    """The largest number of points per numeric dimension whose grid has at most
    ``trials`` configs (at least 1: then each numeric dimension sits at its midpoint and
    only the ``Choice`` values vary)."""
    num = 1
    while space.grid_size(num + 1) <= trials and space.grid_size(num + 1) > space.grid_size(num):
        num += 1
    return num


def grid_search(objective, space, num=None, trials=None, mode="max", halving=None,
                callback=None):
    """Evaluate every config of ``space.grid(num)``.

    Parameters
    ----------
    objective : callable ``config -> (metric, info)``.
    space : :class:`~minigrad.search.space.Space`.
    num : points per numeric dimension; by default the largest that keeps the grid
        within ``trials`` configs (:func:`grid_resolution`), or 3 without ``trials``.
    trials : a budget of configs used only to choose ``num``: the whole grid is always
        evaluated (a grid cut short would not be a grid).
    mode : ``"max"`` or ``"min"``.
    halving : :class:`~minigrad.search.halving.Halving` for synchronous successive halving
        of the grid.
    callback : called with each trial after each evaluation.

    Returns
    -------
    :class:`~minigrad.search.results.SearchResult`

    Examples
    --------
    >>> from minigrad.search import Space, Choice, Uniform
    >>> space = Space(a=Choice([1, 2]), x=Uniform(0.0, 1.0))
    >>> result = grid_search(lambda c: (c["a"] * c["x"], {}), space, num=3)
    >>> [(t.config["a"], t.config["x"]) for t in result.trials]
    [(1, 0.0), (1, 0.5), (1, 1.0), (2, 0.0), (2, 0.5), (2, 1.0)]
    >>> result.best.config
    {'a': 2, 'x': 1.0}
    """
    if num is None:
        num = 3 if trials is None else grid_resolution(space, trials)
    if num < 1:
        raise ValueError(f"grid_search: num must be >= 1, got {num}")
    harness = Harness(objective, mode, halving, callback)
    harness.evaluate_all(space.grid(num))
    return harness.result("grid", space)
