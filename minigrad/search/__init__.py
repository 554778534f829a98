"""``minigrad.search``: hyperparameter and architecture search, and hypergradient descent.

- search spaces (:class:`Uniform`, :class:`LogUniform`, :class:`IntUniform`,
  :class:`Choice` in a :class:`Space`) over any training option;
- :func:`grid_search`, :func:`random_search`, :func:`evolutionary_search` (mutation and
  selection) and :func:`bayesian_search` (a Gaussian-process surrogate with expected
  improvement, :mod:`minigrad.search.gp`), all run through one harness
  (:class:`Harness`) and returning a :class:`SearchResult` (ranked markdown table, JSON);
- early stopping of bad trials by successive halving (:class:`Halving`,
  :func:`successive_halving`);
- :class:`SGDHD` and :class:`AdamHD`, which learn the learning rate during training by
  hypergradient descent (Baydin et al. 2018);
- a small architecture search (:func:`architecture_search`: depth, width, activation,
  normalization, dropout) and the digits-MLP objective (:class:`DigitsMLPObjective`);
- the ``minigrad search`` command (:mod:`minigrad.search.cli`).

An objective is any callable ``config -> (metric, info)``:

>>> from minigrad.search import Space, LogUniform, random_search
>>> f = lambda c: (-abs(c["lr"] - 0.01), {})
>>> result = random_search(f, Space(lr=LogUniform(1e-4, 1e-1)), trials=30, seed=0)
>>> 0.007 < result.best.config["lr"] < 0.014
True
"""
from .architecture import architecture_search, architecture_space, build_mlp
from .bayesian import bayesian_search
from .evolutionary import evolutionary_search
from .gp import GaussianProcess, expected_improvement, matern52_kernel, rbf_kernel
from .grid import grid_search
from .halving import AsyncHalving, Halving, successive_halving
from .harness import Harness
from .hypergradient import SGDHD, AdamHD
from .objectives import DigitsMLPObjective
from .random_search import random_search
from .results import SearchResult, Trial
from .space import Choice, IntUniform, LogUniform, Space, Uniform

#: method name → search function (what ``minigrad search --method`` chooses from)
METHODS = {"grid": grid_search, "random": random_search,
           "evolutionary": evolutionary_search, "bayesian": bayesian_search}

__all__ = [
    "Space", "Uniform", "LogUniform", "IntUniform", "Choice",
    "grid_search", "random_search", "evolutionary_search", "bayesian_search", "METHODS",
    "GaussianProcess", "expected_improvement", "rbf_kernel", "matern52_kernel",
    "Halving", "successive_halving", "AsyncHalving", "Harness", "SearchResult", "Trial",
    "SGDHD", "AdamHD", "DigitsMLPObjective", "build_mlp", "architecture_space",
    "architecture_search",
]
