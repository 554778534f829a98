r"""Search spaces: the distributions a hyperparameter is drawn from.

A search space is a mapping ``name → dimension``; a *config* is a plain dict
``name → value`` drawn from it. Four kinds of dimension cover every training option:

=====================  =====================================  ===========================
dimension              drawn as                               unit coordinate u ∈ [0, 1]
=====================  =====================================  ===========================
``Uniform(a, b)``      x ~ U[a, b]                            u = (x − a)/(b − a)
``LogUniform(a, b)``   log x ~ U[log a, log b]                u = log(x/a)/log(b/a)
``IntUniform(a, b)``   x ~ U{a, …, b} (``log=True``: log-     as Uniform (or LogUniform)
                       uniform, then rounded)                 of the integer
``Choice(values)``     one of the values, equally likely      one-hot vector
=====================  =====================================  ===========================

The unit coordinates are what the model-based searches work in: the Gaussian process
of :mod:`minigrad.search.bayesian` measures distances between configs there (so a
learning rate is compared on a log scale), and the mutation of
:mod:`minigrad.search.evolutionary` perturbs them.

Examples
--------
>>> import numpy as np
>>> space = Space(lr=LogUniform(1e-4, 1e-1), act=Choice(["relu", "tanh"]))
>>> config = space.sample(np.random.default_rng(0))
>>> sorted(config)
['act', 'lr']
>>> space.encode({"lr": 1e-4, "act": "tanh"}).tolist()   # [u(lr), one-hot(act)]
[0.0, 0.0, 1.0]
>>> [round(c["lr"], 4) for c in space.grid(3) if c["act"] == "relu"]
[0.0001, 0.0032, 0.1]
"""
from __future__ import annotations

import itertools
import math

import numpy as np

__all__ = ["Dimension", "Uniform", "LogUniform", "IntUniform", "Choice", "Space"]


class Dimension:
    """One hyperparameter: how to sample it, lay it on a grid, encode it and mutate it."""

    #: number of unit coordinates the dimension occupies in :meth:`Space.encode`
    width = 1

    def sample(self, rng):
        raise NotImplementedError

    def grid(self, num):
        """``num`` evenly spaced values (in the unit coordinate) from the whole range."""
        raise NotImplementedError

    def encode(self, value):
        """The unit coordinates of ``value``, a list of ``width`` floats in [0, 1]."""
        raise NotImplementedError

    def mutate(self, value, rng, scale):
        """A value near ``value``: Gaussian noise of std ``scale`` in the unit coordinate."""
        raise NotImplementedError

    def validate(self, value):
        """Raise ``ValueError`` when ``value`` is outside the dimension."""
        raise NotImplementedError


def _reflect(u):
    """Fold a unit coordinate back into [0, 1] (a mirror at each end), so a mutation near
    the border does not pile up exactly on it."""
    u = abs(u) % 2.0
    return 2.0 - u if u > 1.0 else u


def _check_bounds(kind, low, high, positive=False):
    if not (isinstance(low, (int, float)) and isinstance(high, (int, float))):
        raise TypeError(f"{kind}: bounds must be numbers, got {low!r}, {high!r}")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{kind}: bounds must be finite, got {low!r}, {high!r}")
    if not low < high:
        raise ValueError(f"{kind}: needs low < high, got low={low!r}, high={high!r}")
    if positive and low <= 0:
        raise ValueError(f"{kind}: both bounds must be > 0 (a log scale), got low={low!r}")


class Uniform(Dimension):
    r"""A real number drawn uniformly from [low, high]: x = low + u·(high − low)."""

    def __init__(self, low, high):
        _check_bounds("Uniform", low, high)
        self.low, self.high = float(low), float(high)

    def _from_unit(self, u):
        return self.low + u * (self.high - self.low)

    def sample(self, rng):
        return self._from_unit(float(rng.uniform()))

    def grid(self, num):
        if num == 1:
            return [self._from_unit(0.5)]
        return [self._from_unit(float(u)) for u in np.linspace(0.0, 1.0, num)]

    def encode(self, value):
        return [(float(value) - self.low) / (self.high - self.low)]

    def mutate(self, value, rng, scale):
        u = _reflect(self.encode(value)[0] + scale * float(rng.standard_normal()))
        return self._from_unit(u)

    def validate(self, value):
        if not (isinstance(value, (int, float)) and self.low <= value <= self.high):
            raise ValueError(f"{value!r} is outside {self!r}")

    def __repr__(self):
        return f"Uniform({self.low:g}, {self.high:g})"


class LogUniform(Uniform):
    r"""A positive real number whose logarithm is uniform on [log low, log high]:
    x = low·(high/low)^u. The right prior for scale parameters (learning rates, weight
    decay): 1e-4…1e-3 gets as many draws as 1e-2…1e-1."""

    def __init__(self, low, high):
        _check_bounds("LogUniform", low, high, positive=True)
        self.low, self.high = float(low), float(high)

    def _from_unit(self, u):
        return float(self.low * (self.high / self.low) ** u)

    def encode(self, value):
        return [math.log(float(value) / self.low) / math.log(self.high / self.low)]

    def validate(self, value):
        # a round trip through the log scale may land a hair outside the bounds
        if not (isinstance(value, (int, float))
                and self.low * (1 - 1e-12) <= value <= self.high * (1 + 1e-12)):
            raise ValueError(f"{value!r} is outside {self!r}")

    def __repr__(self):
        return f"LogUniform({self.low:g}, {self.high:g})"


class IntUniform(Dimension):
    r"""An integer from {low, …, high}, every one equally likely; with ``log=True`` the
    draw is log-uniform on [low, high] and then rounded (widths, batch sizes)."""

    def __init__(self, low, high, log=False):
        if not (isinstance(low, (int, np.integer)) and isinstance(high, (int, np.integer))):
            raise TypeError(f"IntUniform: bounds must be integers, got {low!r}, {high!r}")
        _check_bounds("IntUniform", int(low), int(high) + 0.5, positive=log)
        self.low, self.high, self.log = int(low), int(high), bool(log)
        # real-valued range whose rounding gives each integer its share
        self._real = (LogUniform(self.low, self.high) if self.log
                      else Uniform(self.low - 0.5, self.high + 0.4999999))

    def _round(self, x):
        return int(min(self.high, max(self.low, round(x))))

    def sample(self, rng):
        return self._round(self._real.sample(rng))

    def grid(self, num):
        if num >= self.high - self.low + 1 and not self.log:
            return list(range(self.low, self.high + 1))
        real = LogUniform(self.low, self.high) if self.log else Uniform(self.low, self.high)
        return list(dict.fromkeys(self._round(x) for x in real.grid(num)))

    def encode(self, value):
        if self.low == self.high:
            return [0.5]
        if self.log:
            return [math.log(value / self.low) / math.log(self.high / self.low)]
        return [(value - self.low) / (self.high - self.low)]

    def mutate(self, value, rng, scale):
        u = _reflect(self.encode(value)[0] + scale * float(rng.standard_normal()))
        if self.log:
            x = self.low * (self.high / self.low) ** u
        else:
            x = self.low + u * (self.high - self.low)
        new = self._round(x)
        if new == value and self.high > self.low:  # a mutation should change something
            new = self._round(value + (1 if rng.uniform() < 0.5 else -1))
            if new == value:
                new = self._round(value + (1 if value == self.low else -1))
        return new

    def validate(self, value):
        if not (isinstance(value, (int, np.integer)) and self.low <= value <= self.high):
            raise ValueError(f"{value!r} is outside {self!r}")

    def __repr__(self):
        return f"IntUniform({self.low}, {self.high}{', log=True' if self.log else ''})"


class Choice(Dimension):
    """One of a list of values (categorical: no order, no distance but equal/different)."""

    def __init__(self, values):
        values = list(values)
        if not values:
            raise ValueError("Choice: needs at least one value")
        if len(set(map(repr, values))) != len(values):
            raise ValueError(f"Choice: values must be distinct, got {values!r}")
        self.values = values
        self.width = len(values)

    def _index(self, value):
        for i, v in enumerate(self.values):
            if v == value and type(v) is type(value):
                return i
        for i, v in enumerate(self.values):
            if v == value:
                return i
        raise ValueError(f"{value!r} is not one of {self.values!r}")

    def sample(self, rng):
        return self.values[int(rng.integers(len(self.values)))]

    def grid(self, num):
        return list(self.values)  # a categorical grid is always every value

    def encode(self, value):
        onehot = [0.0] * len(self.values)
        onehot[self._index(value)] = 1.0
        return onehot

    def mutate(self, value, rng, scale):
        others = [v for v in self.values if v != value]
        return others[int(rng.integers(len(others)))] if others else value

    def validate(self, value):
        self._index(value)

    def __repr__(self):
        return f"Choice({self.values!r})"


class Space:
    """A named collection of dimensions: ``Space(lr=LogUniform(1e-4, 1e-1), ...)``.

    Parameters
    ----------
    dims : mapping name → :class:`Dimension` (also accepted as keyword arguments).
    fixed : mapping name → value of options that are not searched but passed to the
        objective in every config (e.g. ``{"epochs": 10}``).
    """

    def __init__(self, dims=None, fixed=None, **kwargs):
        dims = dict(dims or {}, **kwargs)
        for name, dim in dims.items():
            if not isinstance(dim, Dimension):
                raise TypeError(f"Space: {name!r} must be a Dimension (Uniform, LogUniform, "
                                f"IntUniform, Choice), got {type(dim).__name__}")
        self.dims = dims
        self.fixed = dict(fixed or {})
        overlap = set(self.dims) & set(self.fixed)
        if overlap:
            raise ValueError(f"Space: {sorted(overlap)} both searched and fixed")

    # ---------------------------------------------------------------- configs
    def names(self):
        return list(self.dims)

    def _complete(self, values):
        return {**self.fixed, **values}

    def sample(self, rng):
        """One random config (each dimension drawn independently)."""
        return self._complete({name: dim.sample(rng) for name, dim in self.dims.items()})

    def grid(self, num):
        """Every config of the Cartesian product of the per-dimension grids (``num``
        points along each numeric dimension, every value of each ``Choice``), in
        ``itertools.product`` order (the last dimension varies fastest)."""
        axes = [dim.grid(num) for dim in self.dims.values()]
        return [self._complete(dict(zip(self.dims, values)))
                for values in itertools.product(*axes)]

    def grid_size(self, num):
        return math.prod(len(dim.grid(num)) for dim in self.dims.values())

    def validate(self, config):
        for name, dim in self.dims.items():
            if name not in config:
                raise ValueError(f"config lacks {name!r}")
            dim.validate(config[name])

    # ---------------------------------------------------------------- geometry
    @property
    def width(self):
        """Number of unit coordinates of an encoded config."""
        return sum(dim.width for dim in self.dims.values())

    def encode(self, config):
        """The config as a point of the unit cube [0, 1]^width (NumPy float64 vector)."""
        return np.array([u for name, dim in self.dims.items() for u in dim.encode(config[name])],
                        dtype=np.float64)

    def mutate(self, config, rng, rate=None, scale=0.2):
        """A child of ``config``: each dimension changes with probability ``rate``
        (default 1/number of dimensions), and at least one always does."""
        names = self.names()
        if not names:
            return dict(config)
        rate = 1.0 / len(names) if rate is None else rate
        chosen = [n for n in names if rng.uniform() < rate]
        if not chosen:
            chosen = [names[int(rng.integers(len(names)))]]
        child = dict(config)
        for name in chosen:
            child[name] = self.dims[name].mutate(config[name], rng, scale)
        return child

    def __len__(self):
        return len(self.dims)

    def __repr__(self):
        inner = ", ".join(f"{k}={v!r}" for k, v in self.dims.items())
        fixed = f", fixed={self.fixed!r}" if self.fixed else ""
        return f"Space({inner}{fixed})"
