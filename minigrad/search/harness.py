"""The harness every search method runs its trials through: it numbers and times the
trials, applies early stopping (successive halving) when asked, and collects the
:class:`~minigrad.search.results.SearchResult`.

A search method only decides *which* configs to try; grid, random, evolutionary,
Bayesian and architecture search all evaluate them here, so they report alike.
"""
from __future__ import annotations

import math

import numpy as np

from .halving import AsyncHalving, Halving, successive_halving
from .results import SearchResult, Trial, check_mode, run_trial

__all__ = ["Harness"]


class Harness:
    """Runs an objective on configs and keeps the trials.

    Parameters
    ----------
    objective : callable ``config -> (metric, info)`` (with a ``budget`` keyword when
        ``halving`` is given).
    mode : ``"max"`` or ``"min"``.
    halving : :class:`~minigrad.search.halving.Halving` or None: early stopping of bad
        trials.
    callback : called with each :class:`Trial` after each evaluation (progress printing).
    """

    def __init__(self, objective, mode="max", halving=None, callback=None):
        if not callable(objective):
            raise TypeError(f"objective must be callable, got {type(objective).__name__}")
        if halving is not None and not isinstance(halving, Halving):
            raise TypeError(f"halving must be a Halving, got {type(halving).__name__}")
        self.objective = objective
        self.mode = check_mode(mode)
        self.halving = halving
        self.callback = callback
        self.trials: list[Trial] = []
        self._async = AsyncHalving(halving, mode) if halving is not None else None

    def evaluate(self, config):
        """Evaluate one config (rung by rung under the asynchronous halving rule)."""
        number = len(self.trials)
        if self._async is not None:
            trial = self._async.run(self.objective, config, number, self.callback)
        else:
            metric, info, seconds = run_trial(self.objective, config, number)
            trial = Trial(number=number, config=dict(config), metric=metric, info=info,
                          seconds=seconds)
            if self.callback is not None:
                self.callback(trial)
        self.trials.append(trial)
        return trial

    def evaluate_all(self, configs):
        """Evaluate a list of configs known in advance (synchronous successive halving
        when ``halving`` is set)."""
        configs = list(configs)
        if self.halving is None:
            return [self.evaluate(c) for c in configs]
        trials = successive_halving(self.objective, configs, self.halving, self.mode,
                                    start_number=len(self.trials), callback=self.callback)
        self.trials.extend(trials)
        return trials

    def losses(self, trials=None):
        """The metrics as values to *minimize* (−metric when ``mode="max"``), with NaN
        replaced by the worst finite value seen (so a diverged run reads as bad, not as
        missing)."""
        trials = self.trials if trials is None else trials
        y = np.array([t.metric for t in trials], dtype=np.float64)
        if self.mode == "max":
            y = -y
        bad = np.isnan(y)
        if bad.any():
            worst = np.nanmax(y) if (~bad).any() else 0.0
            y[bad] = worst + (abs(worst) * 0.1 + 1.0 if math.isfinite(worst) else 1.0)
        return y

    def result(self, method, space=None, metric_name="metric"):
        return SearchResult(self.trials, mode=self.mode, method=method,
                            metric_name=metric_name, space=space)
