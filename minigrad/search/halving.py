r"""Early stopping of bad trials: successive halving.

Intuition
---------
Most configs of a search are bad, and most bad configs already look bad after a small
part of the training budget. Successive halving (Jamieson & Talwalkar 2016; the inner
loop of Hyperband, Li et al. 2018) trains every config briefly, keeps the best 1/η,
trains those η times longer, and so on, so that only the survivors get the full budget.

Algorithm
---------
.. code-block:: text

    input : configs c₁…c_n, minimum budget b₀, maximum budget B, reduction factor η
    budgets b_r = min(b₀·ηʳ, B) for r = 0, 1, …, R with b_R = B
    S₀ ← {c₁, …, c_n}
    for r = 0, …, R do
        evaluate every c ∈ S_r with budget b_r          (e.g. b_r epochs of training)
        if r = R: stop
        S_{r+1} ← the best max(1, ⌊|S_r|/η⌋) configs of S_r by their rung-r metric
    return every config with the metric of the last rung it ran

With n = η^R configs the total budget is (R + 1)·n·b₀, about the cost of n/(R + 1)…
full-budget trainings.

Two forms are provided:

* :func:`successive_halving` — the synchronous algorithm above, for a list of configs
  known in advance (grid and random search).
* :class:`AsyncHalving` — the asynchronous promotion rule of ASHA (Li et al. 2020) for
  methods that propose one config at a time (evolutionary and Bayesian search): a trial
  runs rung after rung and stops at rung r unless its metric is among the best
  max(1, ⌊k/η⌋) of the k trials that have reached rung r so far (itself included).

Notes
-----
* Each rung is a fresh evaluation ``objective(config, budget=b_r)``: an objective that
  trains from scratch pays b₀ + b₁ + … for a survivor instead of B (it could resume from
  a checkpoint instead; the digits objective retrains, which keeps it simple and exact).
* A stopped trial keeps the metric of its last rung, measured at a smaller budget; the
  ranking puts finished trials first (see :class:`~minigrad.search.results.SearchResult`).

References
----------
K. Jamieson, A. Talwalkar, "Non-stochastic Best Arm Identification and Hyperparameter
Optimization", AISTATS 2016.
L. Li, K. Jamieson, G. DeSalvo, A. Rostamizadeh, A. Talwalkar, "Hyperband: A Novel
Bandit-Based Approach to Hyperparameter Optimization", JMLR 2018.
L. Li et al., "A System for Massively Parallel Hyperparameter Tuning", MLSys 2020 (ASHA).
"""
from __future__ import annotations

import math
import numbers

from .results import Trial, check_mode, run_trial

__all__ = ["Halving", "successive_halving", "AsyncHalving"]


class Halving:
    """The budgets of successive halving: from ``min_budget`` up to ``max_budget``,
    multiplied by ``eta`` at each rung.

    >>> Halving(1, 9, eta=3).budgets()
    [1, 3, 9]
    >>> Halving(2, 10, eta=3).budgets()
    [2, 6, 10]
    >>> Halving(1, 10, eta=2.5).budgets()         # integer budgets stay integers
    [1, 2, 6, 10]
    """

    def __init__(self, min_budget, max_budget, eta=3):
        for name, v in (("min_budget", min_budget), ("max_budget", max_budget)):
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v > 0:
                raise ValueError(f"Halving: {name} must be a positive number, got {v!r}")
        if min_budget > max_budget:
            raise ValueError(f"Halving: min_budget {min_budget} exceeds max_budget {max_budget}")
        if isinstance(eta, bool) or not isinstance(eta, numbers.Real) or not eta > 1:
            raise ValueError(f"Halving: eta must be a number > 1, got {eta!r}")
        if isinstance(eta, float) and eta.is_integer():
            eta = int(eta)
        self.min_budget, self.max_budget, self.eta = min_budget, max_budget, eta
        # integer budgets (epochs) stay integers, rounded, when η is not an integer
        self.integer = all(isinstance(v, numbers.Integral) for v in (min_budget, max_budget))

    def budgets(self):
        out, b = [], self.min_budget
        while b < self.max_budget:
            rounded = int(round(b)) if self.integer else b
            if not out or rounded > out[-1]:
                out.append(rounded)
            b = b * self.eta
        if out and out[-1] >= self.max_budget:
            out.pop()
        out.append(self.max_budget)
        return out

    @classmethod
    def for_configs(cls, n, max_budget, eta=3, integer=True):
        """The budgets for ``n`` configs: as many rungs as halvings reduce n to one,
        ⌊log_η n⌋ + 1, ending at ``max_budget`` (rounded to integers when ``integer``).

        >>> Halving.for_configs(9, max_budget=9).budgets()
        [1, 3, 9]
        """
        rungs = int(math.floor(math.log(max(n, 1)) / math.log(eta) + 1e-9)) + 1
        b0 = max_budget / eta ** (rungs - 1)
        if integer:
            b0 = max(1, int(round(b0)))
        return cls(min(b0, max_budget), max_budget, eta)

    def __repr__(self):
        return f"Halving(min_budget={self.min_budget}, max_budget={self.max_budget}, " \
               f"eta={self.eta})"


def _better_first(mode):
    def key(trial):
        m = trial.metric
        if math.isnan(m):
            return (1, 0.0, trial.number)
        return (0, -m if mode == "max" else m, trial.number)
    return key


def _evaluate_rung(objective, trial, budget, callback):
    metric, info, seconds = run_trial(objective, trial.config, trial.number, budget=budget)
    trial.metric, trial.info, trial.budget = metric, info, budget
    trial.seconds += seconds
    trial.history.append((budget, metric))
    if callback is not None:
        callback(trial)


def successive_halving(objective, configs, halving, mode="max", start_number=0, callback=None):
    """Synchronous successive halving of ``configs`` (see the module docstring).

    Parameters
    ----------
    objective : callable ``(config, budget=b) -> (metric, info)``.
    configs : list of dicts.
    halving : :class:`Halving` (the budgets and η).
    mode : ``"max"`` or ``"min"``.
    start_number : trial number of the first config.
    callback : called with the :class:`Trial` after each evaluation.

    Returns
    -------
    list of :class:`Trial` in the order of ``configs``: the survivors of the last rung
    with status ``"done"``, the others ``"stopped"`` with the metric of their last rung.
    """
    check_mode(mode)
    trials = [Trial(number=start_number + i, config=dict(c), metric=math.nan, status="stopped")
              for i, c in enumerate(configs)]
    alive = list(trials)
    budgets = halving.budgets()
    for r, budget in enumerate(budgets):
        for trial in alive:
            _evaluate_rung(objective, trial, budget, callback)
        if r == len(budgets) - 1:
            break
        keep = max(1, int(len(alive) // halving.eta))      # the best ⌊|S_r|/η⌋
        alive = sorted(alive, key=_better_first(mode))[:keep]
    for trial in alive:
        trial.status = "done"
    return trials


class AsyncHalving:
    """The asynchronous successive-halving rule (ASHA) for configs proposed one by one.

    ``run(objective, config, number)`` evaluates the config at rung 0, 1, … and stops it
    at the first rung where it is not among the best max(1, ⌊k/η⌋) of the k results
    recorded at that rung so far.
    """

    def __init__(self, halving, mode="max"):
        self.halving = halving
        self.mode = check_mode(mode)
        self.budgets = halving.budgets()
        self.rungs = [[] for _ in self.budgets]  # metrics recorded at each rung

    def _promoted(self, r, metric):
        values = self.rungs[r]
        keep = max(1, int(len(values) // self.halving.eta))
        if math.isnan(metric):
            return False
        finite = [v for v in values if not math.isnan(v)]
        better = sum(1 for v in finite if (v > metric if self.mode == "max" else v < metric))
        return better < keep

    def run(self, objective, config, number, callback=None):
        trial = Trial(number=number, config=dict(config), metric=math.nan, status="stopped")
        for r, budget in enumerate(self.budgets):
            _evaluate_rung(objective, trial, budget, callback)
            self.rungs[r].append(trial.metric)
            if r == len(self.budgets) - 1:
                trial.status = "done"
            elif not self._promoted(r, trial.metric):
                break
        return trial
