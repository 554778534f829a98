r"""Bayesian optimisation: a Gaussian-process surrogate and expected improvement.

Intuition
---------
Every trial is expensive, so spend a little computation choosing the next one. Fit a
Gaussian process to the trials so far (a belief, with error bars, about the metric
everywhere in the space), then evaluate the config where the expected improvement over
the best result is largest: where the model predicts a good value, or where it knows
too little to rule one out.

Algorithm
---------
.. code-block:: text

    input : space, objective f (to minimise; −metric when mode="max"), trials n,
            initial random trials n₀, candidates m
    evaluate n₀ configs drawn at random
    for t = n₀ + 1, …, n do
        X ← the evaluated configs encoded in the unit cube, y ← their values
        fit the GP to (X, y): ℓ, s², σ_n² by maximum marginal likelihood
        C ← m configs: ¾ drawn at random from the space, ¼ mutations of the best config
        x_t ← argmax_{x ∈ C} EI(x),  EI = (f* − μ(x))Φ(z) + σ(x)φ(z),  z = (f* − μ)/σ
        evaluate x_t

The GP, its kernels (RBF, Matérn 5/2), the posterior μ, σ² and EI are written out in
:mod:`minigrad.search.gp`.

Notes
-----
* EI is maximised over a finite set of random candidates instead of with a gradient
  method: simple, works for ``Choice`` and ``IntUniform`` dimensions (encoded one-hot and
  on the unit interval) and is enough in the few dimensions of a hyperparameter search.
  A quarter of the candidates are local mutations of the best config, so the search can
  refine the optimum beyond the resolution of random candidates.
* A diverged trial (NaN metric) enters the GP as a value a little worse than the worst
  one seen, so the region is avoided rather than ignored.
* With early stopping (``halving``), a stopped trial enters with the metric of its last,
  smaller budget: a pessimistic value, which is the point.

References
----------
J. Mockus, "Bayesian Approach to Global Optimization", 1989.
D. R. Jones, M. Schonlau, W. J. Welch, "Efficient Global Optimization of Expensive
Black-Box Functions", J. Global Optimization 1998.
J. Snoek, H. Larochelle, R. P. Adams, "Practical Bayesian Optimization of Machine
Learning Algorithms", NeurIPS 2012.
"""
from __future__ import annotations

import numpy as np

from .gp import KERNELS, GaussianProcess, expected_improvement
from .harness import Harness
from .random_search import _check_trials

__all__ = ["bayesian_search", "propose"]


def propose(space, X, y, rng, kernel="matern52", n_candidates=1000, xi=0.0, best_config=None):
    """The candidate config with the largest expected improvement, and the fitted GP.

    Parameters
    ----------
    space : the search space.
    X, y : the evaluated configs (encoded, n × width) and their values to *minimise*.
    rng : NumPy generator drawing the candidates.
    kernel, n_candidates, xi : as :func:`bayesian_search`.
    best_config : the config to draw local candidates around (default: none).

    Returns
    -------
    (config, ei, gp) : the proposal, its EI, and the fitted :class:`GaussianProcess`.
    """
    gp = GaussianProcess(kernel).fit(X, y)
    n_local = n_candidates // 4 if best_config is not None else 0
    candidates = [space.sample(rng) for _ in range(n_candidates - n_local)]
    for i in range(n_local):
        scale = (0.02, 0.05, 0.1, 0.2)[i % 4]
        candidates.append(space.mutate(best_config, rng, scale=scale))
    Xc = np.stack([space.encode(c) for c in candidates])
    mu, var = gp.predict(Xc)
    ei = expected_improvement(mu, np.sqrt(var), float(np.min(y)), xi)
    i = int(np.argmax(ei))
    return candidates[i], float(ei[i]), gp


def bayesian_search(objective, space, trials, n_initial=None, kernel="matern52",
                    n_candidates=1000, xi=0.0, seed=None, mode="max", halving=None,
                    callback=None):
    """Bayesian optimisation with a GP surrogate and expected improvement.

    Parameters
    ----------
    objective : callable ``config -> (metric, info)``.
    space : :class:`~minigrad.search.space.Space`.
    trials : total number of configs evaluated (the random ones included).
    n_initial : n₀, random configs before the first model-based one (default
        ``min(trials, max(3, width + 1))``, width the number of unit coordinates).
    kernel : ``"matern52"`` (default) or ``"rbf"``.
    n_candidates : m, candidates scored by EI at each step.
    xi : ξ ≥ 0, the improvement EI asks for (in the metric's units).
    seed : seed of the NumPy generator (initial configs and candidates).
    mode, halving, callback : as :func:`~minigrad.search.random_search.random_search`
        (``halving`` applies the asynchronous rule, one config at a time).

    Returns
    -------
    :class:`~minigrad.search.results.SearchResult`; each model-based trial's ``info``
    holds ``"ei"``, the expected improvement it was chosen with.

    Examples
    --------
    >>> from minigrad.search import Space, Uniform
    >>> result = bayesian_search(lambda c: ((c["x"] - 0.3) ** 2, {}),
    ...                          Space(x=Uniform(-2.0, 2.0)), trials=12, seed=0, mode="min")
    >>> abs(result.best.config["x"] - 0.3) < 0.02
    True
    """
    _check_trials("bayesian_search", trials)
    if kernel not in KERNELS:
        raise ValueError(f"bayesian_search: kernel must be one of {sorted(KERNELS)}, "
                         f"got {kernel!r}")
    if n_candidates < 1:
        raise ValueError(f"bayesian_search: n_candidates must be >= 1, got {n_candidates}")
    if n_initial is None:
        n_initial = max(3, space.width + 1)
    n_initial = max(1, min(trials, n_initial))
    rng = np.random.default_rng(seed)
    harness = Harness(objective, mode, halving, callback)
    for _ in range(n_initial):
        harness.evaluate(space.sample(rng))
    while len(harness.trials) < trials:
        X = np.stack([space.encode(t.config) for t in harness.trials])
        y = harness.losses()
        best = harness.trials[int(np.argmin(y))].config
        config, ei, _ = propose(space, X, y, rng, kernel, n_candidates, xi, best)
        trial = harness.evaluate(config)
        trial.info.setdefault("ei", ei)
    return harness.result("bayesian", space)
