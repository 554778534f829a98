r"""Evolutionary search: mutate good configs, keep the best.

Intuition
---------
Good hyperparameters tend to sit near other good hyperparameters. Keep a population of
the best configs found so far; make a child by picking a parent with a small tournament
(the better of a few random members), optionally mixing in a second parent (uniform
crossover), and changing one or a few of its values a little (mutation); evaluate the
child, and let it into the population if it beats the worst member.

Algorithm
---------
.. code-block:: text

    input : space, trials n, population size P, tournament size k,
            mutation rate p_m, mutation scale s, crossover probability p_c
    evaluate P configs drawn at random
    while fewer than n trials:
        Pop ← the best P trials so far                       ((μ + λ) elitist selection)
        parent ← the best of k members drawn from Pop         (tournament selection)
        with probability p_c:
            other ← tournament(Pop); child ← each value from parent or other (½ each)
        child ← mutate(child): each dimension with probability p_m (at least one):
            numeric:  u ← reflect(u + s·N(0, 1)) in the unit coordinate (log scale
                      for LogUniform), then back to a value (rounded for IntUniform)
            Choice:   another value, uniformly
        evaluate child

Notes
-----
This is a steady-state (one child at a time) (μ + λ) evolution strategy with tournament
selection, the simplest loop that has both halves of "mutation + selection". Real et
al.'s regularized evolution (2019) replaces "the best P" with "the P most recent"
(aging), which helps when evaluations are noisy; with a fixed seed per trial, as in the
digits objective, elitism is fine.

References
----------
T. Bäck, H.-P. Schwefel, "An Overview of Evolutionary Algorithms for Parameter
Optimization", Evolutionary Computation 1993.
E. Real, A. Aggarwal, Y. Huang, Q. V. Le, "Regularized Evolution for Image Classifier
Architecture Search", AAAI 2019.
"""
from __future__ import annotations

import numpy as np

from .harness import Harness
from .random_search import _check_trials

__all__ = ["evolutionary_search"]


def _tournament(pop, losses, k, rng):
    """The best (lowest loss) of ``k`` members drawn without replacement."""
    idx = rng.choice(len(pop), size=min(k, len(pop)), replace=False)
    return pop[int(idx[np.argmin(losses[idx])])]


def evolutionary_search(objective, space, trials, population=None, tournament=2,
                        mutation_rate=None, mutation_scale=0.2, crossover=0.2, seed=None,
                        mode="max", halving=None, callback=None):
    """Steady-state evolutionary search (see the module docstring).

    Parameters
    ----------
    objective : callable ``config -> (metric, info)``.
    space : :class:`~minigrad.search.space.Space`.
    trials : total number of configs evaluated (the random first generation included).
    population : P, default ``max(4, trials // 4)`` capped at 16.
    tournament : k, members compared to pick a parent.
    mutation_rate : probability that each dimension mutates (default 1/dimensions).
    mutation_scale : s, std of the Gaussian step in the unit coordinate.
    crossover : p_c, probability of a two-parent child.
    seed : seed of the NumPy generator.
    mode, halving, callback : as :func:`~minigrad.search.random_search.random_search`
        (``halving`` applies the asynchronous rule, child by child).

    Returns
    -------
    :class:`~minigrad.search.results.SearchResult`

    Examples
    --------
    >>> from minigrad.search import Space, Uniform
    >>> f = lambda c: ((c["x"] - 0.3) ** 2 + (c["y"] + 0.2) ** 2, {})
    >>> result = evolutionary_search(f, Space(x=Uniform(-1.0, 1.0), y=Uniform(-1.0, 1.0)),
    ...                              trials=60, seed=0, mode="min")
    >>> result.best.metric < 1e-2
    True
    """
    _check_trials("evolutionary_search", trials)
    if population is None:
        population = min(16, max(4, trials // 4))
    if population < 2:
        raise ValueError(f"evolutionary_search: population must be >= 2, got {population}")
    if not 0.0 <= crossover <= 1.0:
        raise ValueError(f"evolutionary_search: crossover must be in [0, 1], got {crossover}")
    rng = np.random.default_rng(seed)
    harness = Harness(objective, mode, halving, callback)
    for _ in range(min(population, trials)):
        harness.evaluate(space.sample(rng))
    while len(harness.trials) < trials:
        losses = harness.losses()
        order = np.argsort(losses, kind="stable")[:population]     # the best P so far
        pop = [harness.trials[i].config for i in order]
        pop_losses = losses[order]
        child = dict(_tournament(pop, pop_losses, tournament, rng))
        if crossover and rng.uniform() < crossover:
            other = _tournament(pop, pop_losses, tournament, rng)
            for name in space.names():
                if rng.uniform() < 0.5:
                    child[name] = other[name]
        child = space.mutate(child, rng, rate=mutation_rate, scale=mutation_scale)
        harness.evaluate(child)
    return harness.result("evolutionary", space)
