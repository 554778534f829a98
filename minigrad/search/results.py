"""Trials and search results: the record every search method returns, ranked, as a
markdown table and as JSON.

An *objective* is a callable ``objective(config) -> (metric, info)``: ``metric`` a number
to maximize (``mode="max"``, e.g. validation accuracy) or minimize (``mode="min"``, e.g.
a loss), ``info`` a dict of anything worth keeping (it goes into the JSON). Objectives
that support early stopping also take a ``budget`` keyword (epochs, say):
``objective(config, budget=3)``.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Trial", "SearchResult", "run_trial", "check_mode"]


def check_mode(mode):
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    return mode


@dataclass
class Trial:
    """One evaluated config.

    Attributes
    ----------
    number : position in the order of evaluation, from 0.
    config : the dict passed to the objective.
    metric : what the objective returned (NaN when it returned a non-number).
    info : the objective's info dict.
    budget : the budget of the last evaluation (``None`` without early stopping).
    status : ``"done"`` (ran to its full budget) or ``"stopped"`` (stopped early by
        successive halving, with ``metric`` from its last rung).
    seconds : wall time of all its evaluations.
    history : ``[(budget, metric), ...]`` of every rung it ran, with early stopping.
    """

    number: int
    config: dict
    metric: float
    info: dict = field(default_factory=dict)
    budget: float | None = None
    status: str = "done"
    seconds: float = 0.0
    history: list = field(default_factory=list)

    def to_dict(self):
        return {"number": self.number, "config": _jsonable(self.config),
                "metric": _jsonable(self.metric), "budget": self.budget, "status": self.status,
                "seconds": round(self.seconds, 4), "history": _jsonable(self.history),
                "info": _jsonable(self.info)}


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else None  # JSON has no NaN/Infinity
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if x is None or isinstance(x, (bool, int, str)):
        return x
    return repr(x)


def run_trial(objective, config, number, budget=None):
    """Evaluate ``objective`` on ``config`` once (with ``budget`` when given) and time it.

    Returns ``(metric, info, seconds)``; a metric that is not a finite number becomes NaN
    (ranked last) instead of stopping the search.
    """
    start = time.perf_counter()
    out = objective(config) if budget is None else objective(config, budget=budget)
    seconds = time.perf_counter() - start
    if isinstance(out, tuple):
        if len(out) != 2:
            raise TypeError("an objective must return metric or (metric, info), got a tuple "
                            f"of {len(out)}")
        metric, info = out
    else:
        metric, info = out, {}
    try:
        metric = float(metric)
    except (TypeError, ValueError):
        raise TypeError(f"objective returned a metric of type {type(metric).__name__}, "
                        "expected a number") from None
    if not math.isfinite(metric):
        metric = math.nan
    return metric, dict(info or {}), seconds


class SearchResult:
    """The trials of one search, with the ranking and the reports.

    Parameters
    ----------
    trials : list of :class:`Trial`, in evaluation order.
    mode : ``"max"`` or ``"min"``: which way the metric is better.
    method : name of the search method (for the report).
    metric_name : column title of the metric in the table.
    """

    def __init__(self, trials, mode="max", method="", metric_name="metric", space=None):
        self.trials = list(trials)
        self.mode = check_mode(mode)
        self.method = method
        self.metric_name = metric_name
        self.space = space

    def _key(self, trial):
        # finished trials first, then the larger budget, then the better metric; NaN last
        budget = trial.budget if trial.budget is not None else math.inf
        nan = math.isnan(trial.metric)
        value = trial.metric if not nan else 0.0
        better = -value if self.mode == "max" else value
        return (trial.status != "done", -budget, nan, better, trial.number)

    def ranked(self):
        """Trials from best to worst."""
        return sorted(self.trials, key=self._key)

    @property
    def best(self):
        """The best trial (``None`` before any)."""
        return self.ranked()[0] if self.trials else None

    def __len__(self):
        return len(self.trials)

    # ------------------------------------------------------------------ reports
    def to_markdown(self, top=None):
        """The ranked trials as a markdown table (the first ``top`` rows)."""
        rows = self.ranked()[:top] if top else self.ranked()
        names = []
        for t in self.trials:
            for k in t.config:
                if k not in names:
                    names.append(k)
        varying = [k for k in names if len({repr(t.config.get(k)) for t in self.trials}) > 1]
        shown = varying or names
        has_budget = any(t.budget is not None for t in self.trials)
        header = ["rank", "trial", self.metric_name, *shown]
        if has_budget:
            header += ["budget", "status"]
        header.append("time (s)")
        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join("---:" if h not in shown else "---" for h in header) + "|"]
        # one number format per column: 0.0188 and 3.464e-03 are not compared at a glance
        fmt_metric = _column_format([t.metric for t in rows])
        fmt_config = {k: _column_format([t.config.get(k) for t in rows]) for k in shown}
        fmt_budget = _column_format([t.budget for t in rows])
        for rank, t in enumerate(rows, 1):
            cells = [str(rank), str(t.number), fmt_metric(t.metric)]
            cells += [fmt_config[k](t.config.get(k)) for k in shown]
            if has_budget:
                cells += [fmt_budget(t.budget), t.status]
            cells.append(f"{t.seconds:.2f}")
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def to_dict(self):
        best = self.best
        return {"method": self.method, "mode": self.mode, "metric": self.metric_name,
                "space": repr(self.space) if self.space is not None else None,
                "best": best.to_dict() if best else None,
                "trials": [t.to_dict() for t in self.trials]}

    def save(self, folder, extra=None):
        """Write ``results.json`` (with the entries of ``extra`` added) and ``results.md``
        into ``folder`` (created); return the two paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        json_path, md_path = folder / "results.json", folder / "results.md"
        data = {**self.to_dict(), **_jsonable(dict(extra or {}))}
        json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        title = f"# {self.method} search: {len(self.trials)} trials, ranked by " \
                f"{self.metric_name} ({'higher' if self.mode == 'max' else 'lower'} is better)"
        md_path.write_text(f"{title}\n\n{self.to_markdown()}\n", encoding="utf-8")
        return json_path, md_path

    def __repr__(self):
        best = self.best
        tail = f", best={best.metric:.4g} at {best.config}" if best else ""
        return f"SearchResult({self.method!r}, {len(self.trials)} trials{tail})"


def _needs_scientific(v):
    return v != 0 and math.isfinite(v) and (abs(v) < 1e-2 or abs(v) >= 1e4)


def _fmt(v, scientific=None):
    """A table cell: floats with 4 decimals, or in scientific notation with 4 significant
    digits when ``scientific`` (None: when this number is below 1e-2 or from 1e4 on)."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v):
            return "nan"
        if _needs_scientific(v) if scientific is None else scientific:
            return f"{v:.3e}"
        return f"{v:.4f}"
    return str(v)


def _column_format(values):
    """The formatter of one column: scientific for every float in it when any needs it."""
    scientific = any(_needs_scientific(float(v)) for v in values
                     if isinstance(v, (float, np.floating)) and not isinstance(v, bool))
    return lambda v: _fmt(v, scientific)
