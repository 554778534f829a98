"""Random search: configs drawn independently from the space's distributions.

Bergstra & Bengio (2012): when only a few of the dimensions matter, ``n`` random trials
try ``n`` distinct values of each of them, where a grid of the same size tries only
n^(1/d). It is also the baseline every model-based method must beat.

References
----------
J. Bergstra, Y. Bengio, "Random Search for Hyper-Parameter Optimization", JMLR 2012.
"""
from __future__ import annotations

import numpy as np

from .harness import Harness

__all__ = ["random_search"]


def random_search(objective, space, trials, seed=None, mode="max", halving=None,
                  callback=None):
    """Evaluate ``trials`` configs drawn at random from ``space``.

    Parameters
    ----------
    objective : callable ``config -> (metric, info)``.
    space : :class:`~minigrad.search.space.Space`.
    trials : number of configs.
    seed : seed of the NumPy generator that draws them (the same seed, the same configs).
    mode, halving, callback : as :func:`~minigrad.search.grid.grid_search` (with
        ``halving`` all configs are drawn first and halved synchronously).

    Returns
    -------
    :class:`~minigrad.search.results.SearchResult`

    Examples
    --------
    >>> from minigrad.search import Space, Uniform
    >>> result = random_search(lambda c: (-(c["x"] - 0.3) ** 2, {}),
    ...                        Space(x=Uniform(-1.0, 1.0)), trials=50, seed=0)
    >>> abs(result.best.config["x"] - 0.3) < 0.05
    True
    """
    _check_trials("random_search", trials)
    rng = np.random.default_rng(seed)
    harness = Harness(objective, mode, halving, callback)
    harness.evaluate_all(space.sample(rng) for _ in range(trials))
    return harness.result("random", space)


def _check_trials(name, trials):
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 1:
        raise ValueError(f"{name}: trials must be a positive integer, got {trials!r}")
