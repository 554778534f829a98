r"""The datasets of the command line, split three ways and standardized.

``load_task(spec)`` reads ``spec``:

================  ==========================================================================
``digits``         the 8×8 digits shipped with minigrad (1797 images, 10 classes); the
                   fixed held-out split of :func:`~minigrad.data.digits_splits` is the test set
``mnist:PATH``     MNIST-format IDX files in PATH (``train-*`` and ``t10k-*``, optionally .gz)
``spirals``        two spirals (2-D points, 2 classes), 2000 samples
``moons``          two moons (2-D points, 2 classes), 2000 samples
``regression``     noisy 4-D regression, 2000 samples (MSE; no accuracy)
================  ==========================================================================

A validation part (``val_fraction`` of the training data, stratified, drawn with its own
seed) is set aside for early stopping and best-checkpoint selection; the test set is only
used for the final number. Inputs are standardized with the training part's statistics
(one mean and std for images, as ``Normalize((m,), (s,))``; per feature for vectors).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data import TensorDataset, train_test_split
from ..tensor import Tensor
from .augment import Standardize

__all__ = ["Task", "load_task", "DATASETS", "DatasetError"]

DATASETS = ("digits", "mnist:PATH", "spirals", "moons", "regression")


class DatasetError(ValueError):
    """The data asked for cannot make a run (e.g. nothing left to train on)."""


@dataclass
class Task:
    """What a training run needs to know about its data."""

    name: str
    train: TensorDataset
    val: TensorDataset | None
    test: TensorDataset
    in_shape: tuple
    num_outputs: int
    kind: str                      # "classification" or "regression"
    standardize: Standardize
    info: dict = field(default_factory=dict)

    @property
    def is_image(self):
        return len(self.in_shape) == 3


def _subset(ds, n, seed):
    if n is None or n >= len(ds):
        return ds
    X, y = ds.tensors
    if y.dtype.kind in "iu":
        _, X_s, _, y_s = train_test_split(X, y, test_size=int(n), stratify=y, seed=seed)
    else:
        idx = np.sort(np.random.default_rng(seed).permutation(len(ds))[:n])
        X_s, y_s = Tensor(X.data[idx]), Tensor(y.data[idx])
    return TensorDataset(X_s, y_s)


def _split_val(train, val_fraction, seed):
    if not val_fraction:
        return train, None
    X, y = train.tensors
    strat = y if y.dtype.kind in "iu" else None
    X_tr, X_val, y_tr, y_val = train_test_split(X, y, test_size=val_fraction, stratify=strat,
                                                seed=seed + 1)
    return TensorDataset(X_tr, y_tr), TensorDataset(X_val, y_val)


def _raw(spec):
    """(name, train (X, y), test (X, y), kind) before any split or scaling."""
    from . import synthetic

    if spec == "digits":
        from ..data import digits_splits

        tr, te = digits_splits(seed=0)
        return "digits", tr.tensors, te.tensors, "classification"
    if spec.startswith("mnist:"):
        from ..data import load_mnist

        path = spec[len("mnist:"):]
        if not path:
            raise ValueError("--dataset mnist:PATH needs a folder, e.g. mnist:data/mnist")
        return ("mnist", load_mnist(path, train=True), load_mnist(path, train=False),
                "classification")
    makers = {"spirals": synthetic.two_spirals, "moons": synthetic.make_moons,
              "regression": lambda n, seed: synthetic.noisy_regression(n, 4, 0.1, seed=seed)}
    if spec in makers:
        X, y = makers[spec](2000, seed=1234)
        tr, te = synthetic.split(X, y, test_size=0.25, seed=0)
        kind = "regression" if spec == "regression" else "classification"
        return spec, tr.tensors, te.tensors, kind
    raise ValueError(f"unknown dataset {spec!r}; choose one of {', '.join(DATASETS)}")


def load_task(spec, val_fraction=0.1, subset=None, test_subset=None, seed=0):
    """Load ``spec`` (see the module docstring) as a :class:`Task`.

    Parameters
    ----------
    val_fraction : fraction of the training data held out for validation (0: none).
    subset : keep only this many training samples (stratified), for quick runs.
    test_subset : keep only this many test samples.
    seed : seed of the validation split and of the subsets (the test split of the
        shipped digits is fixed whatever the seed).
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    name, (X_tr, y_tr), (X_te, y_te), kind = _raw(spec)
    train = _subset(TensorDataset(X_tr, y_tr), subset, seed)
    test = _subset(TensorDataset(X_te, y_te), test_subset, seed)
    n_kept = len(train)
    train, val = _split_val(train, val_fraction, seed)
    if len(train) == 0:
        raise DatasetError(f"{n_kept} sample(s) leave none for training once the validation "
                           f"part (fraction {val_fraction:g}) is held out")
    X = train.tensors[0]
    std = Standardize.fit(X, per_channel=X.ndim == 2)

    def scaled(ds):
        if ds is None:
            return None
        Xd, yd = ds.tensors
        return TensorDataset(std(Xd), yd)

    y_all = train.tensors[1]
    num_outputs = int(y_all.data.max()) + 1 if kind == "classification" else y_all.shape[1]
    if kind == "classification":
        num_outputs = max(num_outputs, int(test.tensors[1].data.max()) + 1)
    return Task(name=name, train=scaled(train), val=scaled(val), test=scaled(test),
                in_shape=tuple(X.shape[1:]), num_outputs=num_outputs, kind=kind,
                standardize=std,
                info={"spec": spec, "n_train": len(train), "n_val": 0 if val is None else
                      len(val), "n_test": len(test)})

