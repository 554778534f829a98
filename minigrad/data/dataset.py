"""Datasets (PyTorch's ``torch.utils.data`` names): ``Dataset``, ``TensorDataset``,
``Subset``, ``ConcatDataset``, ``StackDataset``, the streams ``IterableDataset`` and
``ChainDataset``, ``random_split``, and a ``train_test_split`` helper with stratification.

Randomness comes from :mod:`minigrad.random` (``mg.manual_seed`` makes it repeatable)
unless a ``seed`` or a NumPy ``Generator`` is passed.
"""
from __future__ import annotations

import bisect
import math
import numbers

import numpy as np

from .. import random as _random
from ..tensor import Tensor

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "StackDataset",
           "IterableDataset", "ChainDataset", "random_split", "train_test_split"]


def _rng(seed=None, generator=None):
    """The NumPy Generator to draw from: ``generator`` (a CPU ``mg.Generator``'s stream, or
    a NumPy Generator), a fresh one from ``seed``, or minigrad's global CPU generator."""
    if generator is not None and seed is not None:
        raise ValueError("pass either seed or generator, not both")
    if generator is not None:
        if isinstance(generator, _random.Generator):  # mg.Generator: its NumPy stream
            return _random.generator("cpu", generator)
        if not isinstance(generator, np.random.Generator):
            raise TypeError(f"generator must be a minigrad.Generator or a "
                            f"numpy.random.Generator, got {type(generator).__name__}")
        return generator
    if seed is not None:
        return np.random.default_rng(seed)
    return _random.generator("cpu")


class Dataset:
    """A map-style dataset: ``len(ds)`` samples, ``ds[i]`` the i-th (usually a tuple
    ``(input, target)``). Subclasses define ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __add__(self, other):
        """``a + b``: the samples of ``a`` then those of ``b`` (a :class:`ConcatDataset`)."""
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the rows of tensors that share their first dimension:
    ``ds[i] = (t[i] for t in tensors)``.

    Examples
    --------
    >>> import minigrad as mg
    >>> ds = TensorDataset(mg.arange(6).reshape(3, 2), mg.tensor([0, 1, 0]))
    >>> len(ds), ds[1]
    (3, (tensor([2, 3]), tensor(1)))
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
        n = tensors[0].shape[0] if tensors[0].ndim else None
        for t in tensors:
            if t.ndim == 0 or t.shape[0] != n:
                shapes = ", ".join(str(x.shape) for x in tensors)
                raise ValueError(f"TensorDataset: all tensors need the same first dimension "
                                 f"(the number of samples), got shapes {shapes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]

    def _get_batch(self, indices):
        """A whole batch at once (one fancy index per tensor); used by ``DataLoader``."""
        return tuple(Tensor(t.data[t.xp.asarray(indices)]) for t in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return self.dataset[self.indices[index]]
        return self.dataset[int(self.indices[index])]

    def __len__(self):
        return len(self.indices)

    def _get_batch(self, indices):
        inner = getattr(self.dataset, "_get_batch", None)
        return None if inner is None else inner(self.indices[indices])


class ConcatDataset(Dataset):
    """The samples of several datasets one after the other (PyTorch's ``ConcatDataset``):
    sample i of the whole is sample ``i - cumulative_sizes[k-1]`` of the k-th dataset,
    k the first with ``i < cumulative_sizes[k]``.

    Examples
    --------
    >>> import minigrad as mg
    >>> ds = ConcatDataset([TensorDataset(mg.tensor([0, 1])), TensorDataset(mg.tensor([2]))])
    >>> len(ds), ds.cumulative_sizes, ds[2], ds[-3]
    (3, [2, 3], (tensor(2),), (tensor(0),))
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes = []
        total = 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for {n} samples")
        index %= n
        k = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[k - 1] if k else 0
        return self.datasets[k][index - start]


class StackDataset(Dataset):
    """Several datasets of one length read together: ``ds[i]`` is the tuple of their i-th
    samples (positional datasets) or the dict of them (keyword datasets), PyTorch's
    ``StackDataset``.

    >>> ds = StackDataset(image=[10, 11], label=[0, 1])
    >>> ds[1]
    {'image': 11, 'label': 1}
    """

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("StackDataset: give the datasets as positional arguments or as "
                             "keyword arguments, not both")
        parts = list(args) or list(kwargs.values())
        if not parts:
            raise ValueError("StackDataset: at least one dataset is required")
        lengths = {len(p) for p in parts}
        if len(lengths) != 1:
            raise ValueError(f"StackDataset: the datasets have different lengths "
                             f"{sorted(lengths)}")
        self.datasets = kwargs if kwargs else tuple(args)
        self._length = lengths.pop()

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self):
        return self._length


class IterableDataset:
    """A stream of samples (``iter(ds)``), not indexed: PyTorch's ``IterableDataset``,
    for data read as it comes (files, generators). ``DataLoader`` batches it in its own
    order; ``a + b`` chains two of them.

    >>> class Squares(IterableDataset):
    ...     def __iter__(self):
    ...         return iter([0, 1, 4, 9])
    >>> list(Squares() + Squares())[:6]
    [0, 1, 4, 9, 0, 1]
    """

    def __iter__(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other):
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """The samples of several iterable datasets, one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        for d in self.datasets:
            if not hasattr(d, "__iter__"):
                raise TypeError(f"ChainDataset: expects iterable datasets, got "
                                f"{type(d).__name__}")

    def __iter__(self):
        for d in self.datasets:
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


def random_split(dataset, lengths, generator=None, seed=None):
    """Split ``dataset`` into non-overlapping random :class:`Subset` s.

    ``lengths`` are sample counts summing to ``len(dataset)``, or fractions summing to 1
    (floor of each, the remainder given one by one to the first subsets, as PyTorch).
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, float) for x in lengths) and math.isclose(
            sum(lengths), 1.0, abs_tol=1e-6):
        if any(not 0 <= f <= 1 for f in lengths):
            raise ValueError(f"random_split: fractions must be in [0, 1], got {lengths}")
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(not isinstance(x, numbers.Integral) or x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative integers or fractions "
                         f"summing to 1, got {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: lengths {lengths} sum to {sum(lengths)}, but the "
                         f"dataset has {n} samples")
    perm = _rng(seed, generator).permutation(n)
    out, start = [], 0
    for k in lengths:
        out.append(Subset(dataset, perm[start:start + k]))
        start += k
    return out


def _test_count(n, test_size):
    if isinstance(test_size, float):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"train_test_split: a fractional test_size must be in (0, 1), "
                             f"got {test_size}")
        return int(math.ceil(test_size * n))  # scikit-learn rounds the test set up
    if not 0 < test_size < n:
        raise ValueError(f"train_test_split: test_size {test_size} must be between 1 and "
                         f"{n - 1} for {n} samples")
    return int(test_size)


def _stratified_test_indices(labels, n_test, rng):
    """Pick ``n_test`` indices with each class's share as close to its share of the data
    as integers allow (largest remainders get the leftover places)."""
    classes, y = np.unique(labels, return_inverse=True)
    counts = np.bincount(y)
    exact = counts * n_test / len(labels)
    take = np.floor(exact).astype(int)
    leftover = n_test - take.sum()
    order = np.argsort(-(exact - take), kind="stable")
    take[order[:leftover]] += 1
    chosen = []
    for c in range(len(classes)):
        members = np.flatnonzero(y == c)
        chosen.append(rng.permutation(members)[:take[c]])
    return np.sort(np.concatenate(chosen))


def train_test_split(*arrays, test_size=0.25, shuffle=True, stratify=None, seed=None,
                     generator=None):
    """Split tensors (or arrays) that share their first dimension into train and test
    parts, as scikit-learn's function of this name: returns ``[a_train, a_test, b_train,
    b_test, ...]``.

    Parameters
    ----------
    *arrays : Tensors or NumPy arrays with the same number of rows.
    test_size : fraction of the samples (rounded up) or a count.
    shuffle : draw the test rows at random (else the last rows are the test set).
    stratify : labels (Tensor or array): keep each class's proportion in both parts.
    seed, generator : the randomness (default: minigrad's global generator).

    Examples
    --------
    >>> import minigrad as mg
    >>> X, y = mg.arange(20).reshape(10, 2), mg.tensor([0, 1] * 5)
    >>> X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.4, stratify=y, seed=0)
    >>> X_tr.shape, X_te.shape, int(y_te.sum())
    ((6, 2), (4, 2), 2)
    """
    if not arrays:
        raise ValueError("train_test_split: needs at least one array")
    n = len(arrays[0])
    for a in arrays:
        if len(a) != n:
            shapes = ", ".join(str(tuple(x.shape)) for x in arrays)
            raise ValueError(f"train_test_split: arrays have different numbers of samples: "
                             f"{shapes}")
    n_test = _test_count(n, test_size)
    if stratify is not None:
        if not shuffle:
            raise ValueError("train_test_split: stratify needs shuffle=True")
        labels = stratify.data if isinstance(stratify, Tensor) else np.asarray(stratify)
        labels = np.asarray(labels.get() if hasattr(labels, "get") else labels)
        if len(labels) != n:
            raise ValueError(f"train_test_split: stratify has {len(labels)} labels for {n} "
                             f"samples")
        test_idx = _stratified_test_indices(labels, n_test, _rng(seed, generator))
    elif shuffle:
        test_idx = np.sort(_rng(seed, generator).permutation(n)[:n_test])
    else:
        test_idx = np.arange(n - n_test, n)
    is_test = np.zeros(n, bool)
    is_test[test_idx] = True
    train_idx = np.flatnonzero(~is_test)
    out = []
    for a in arrays:
        if isinstance(a, Tensor):
            xp = a.xp
            tr, te = xp.asarray(train_idx), xp.asarray(test_idx)
            out += [Tensor(a.data[tr]), Tensor(a.data[te])]
        else:
            out += [a[train_idx], a[test_idx]]
    return out
