r"""Synthetic tasks for quick experiments: two spirals, two moons, noisy regression.

Each function returns ``(X, y)`` as Tensors (X float32 of shape (N, d); y int64 labels of
shape (N,) for the classification tasks, float32 targets of shape (N, 1) for regression),
drawn from NumPy's PCG64: from ``seed`` when given, else from minigrad's global generator
(so ``mg.manual_seed`` makes them repeatable). :func:`split` turns them into train and
test :class:`~minigrad.data.TensorDataset` s.

Examples
--------
>>> X, y = two_spirals(200, seed=0)
>>> X.shape, y.shape, sorted(set(y.tolist()))
((200, 2), (200,), [0, 1])
>>> X, y = noisy_regression(100, seed=0)
>>> X.shape, y.shape
((100, 1), (100, 1))
"""
from __future__ import annotations

import math

import numpy as np

from .. import random as _random
from ..data import TensorDataset, train_test_split
from ..tensor import Tensor

__all__ = ["two_spirals", "make_moons", "noisy_regression", "split", "SYNTHETIC"]


def _rng(seed):
    return np.random.default_rng(seed) if seed is not None else _random.generator("cpu")


def _check_n(name, n_samples, minimum=2):
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < minimum:
        raise ValueError(f"{name}: n_samples must be an int >= {minimum}, got {n_samples!r}")


def _check_noise(name, noise):
    if not noise >= 0:
        raise ValueError(f"{name}: noise must be >= 0, got {noise!r}")


def two_spirals(n_samples=1000, noise=0.2, turns=1.5, seed=None):
    r"""Two interleaved spirals (Lang & Witbrock 1988), a classic hard case for an MLP.

    Class k ∈ {0, 1}: t ~ √U[0, 1] · 2π·turns (√ spreads points evenly along the arm),
    x = t·(cos(t + kπ), sin(t + kπ)) / (2π·turns) · 4 + noise·N(0, I)/(2π·turns)·4,
    so both arms fit in about [−4, 4]².

    Returns
    -------
    X : float32 Tensor (N, 2); y : int64 Tensor (N,), half of each class (class 0 gets the
    extra sample when N is odd).
    """
    _check_n("two_spirals", n_samples)
    _check_noise("two_spirals", noise)
    rng = _rng(seed)
    n0 = (n_samples + 1) // 2
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n_samples - n0, np.int64)])
    span = 2 * math.pi * turns
    t = np.sqrt(rng.uniform(0.0, 1.0, n_samples)) * span
    phase = y * math.pi
    X = np.stack([t * np.cos(t + phase), t * np.sin(t + phase)], axis=1)
    X = X + noise * rng.standard_normal(X.shape)
    X = X / span * 4.0
    order = rng.permutation(n_samples)
    return Tensor(X[order].astype(np.float32)), Tensor(y[order])


def make_moons(n_samples=1000, noise=0.1, seed=None):
    r"""Two interleaving half circles (scikit-learn's ``make_moons``).

    Class 0: (cos s, sin s); class 1: (1 − cos s, 1 − sin s − ½), s evenly spaced in
    [0, π]; then Gaussian noise of std ``noise`` on both coordinates.
    """
    _check_n("make_moons", n_samples)
    _check_noise("make_moons", noise)
    rng = _rng(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    s_out, s_in = np.linspace(0, math.pi, n_out), np.linspace(0, math.pi, n_in)
    X = np.concatenate([
        np.stack([np.cos(s_out), np.sin(s_out)], axis=1),
        np.stack([1 - np.cos(s_in), 1 - np.sin(s_in) - 0.5], axis=1),
    ])
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(n_samples)
    return Tensor(X[order].astype(np.float32)), Tensor(y[order])


def noisy_regression(n_samples=1000, n_features=1, noise=0.1, seed=None):
    r"""A smooth nonlinear target plus Gaussian noise.

    x ~ U[−2, 2]^d, u = (x₁ + … + x_d)/√d, y = sin(2u) + u²/4 + noise·N(0, 1).
    The best achievable test MSE is noise² (0.01 by default).

    Returns
    -------
    X : float32 Tensor (N, d); y : float32 Tensor (N, 1).
    """
    _check_n("noisy_regression", n_samples)
    _check_noise("noisy_regression", noise)
    if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
        raise ValueError(f"noisy_regression: n_features must be a positive int, got "
                         f"{n_features!r}")
    rng = _rng(seed)
    X = rng.uniform(-2.0, 2.0, (n_samples, n_features))
    u = X.sum(axis=1) / math.sqrt(n_features)
    y = np.sin(2 * u) + u * u / 4 + noise * rng.standard_normal(n_samples)
    return Tensor(X.astype(np.float32)), Tensor(y[:, None].astype(np.float32))


#: name → generator function, for the command line (``--dataset spirals``)
SYNTHETIC = {"spirals": two_spirals, "moons": make_moons, "regression": noisy_regression}


def split(X, y, test_size=0.2, seed=0, stratify=True):
    """(train, test) :class:`TensorDataset` s; stratified by label for integer ``y``."""
    strat = y if stratify and y.dtype.kind in "iu" else None
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, stratify=strat,
                                              seed=seed)
    return TensorDataset(X_tr, y_tr), TensorDataset(X_te, y_te)
