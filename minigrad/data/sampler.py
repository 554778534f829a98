"""Samplers (PyTorch's ``torch.utils.data`` names): what order, and which indices, a
``DataLoader`` reads its dataset in.

==========================  ==================================================================
``SequentialSampler``       0, 1, …, n − 1
``RandomSampler``           a permutation each epoch, or ``num_samples`` draws with
                            replacement
``SubsetRandomSampler``     a permutation of the given indices
``WeightedRandomSampler``   ``num_samples`` indices drawn with probability ∝ weight (class
                            rebalancing), with or without replacement
``BatchSampler``            groups another sampler's indices into lists of ``batch_size``
                            (give it to ``DataLoader(batch_sampler=...)``)
==========================  ==================================================================

The random ones draw from ``generator`` (a NumPy ``Generator``) when given, else from
minigrad's global CPU generator (``mg.manual_seed`` makes them repeatable). With their own
generator they have ``state_dict``/``load_state_dict``, which ``DataLoader.state_dict``
records, so a run stopped mid-epoch resumes with the same epochs to come.
"""
from __future__ import annotations

import numbers

import numpy as np

from .dataset import _rng

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]


def _positive_int(value, name, owner):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{owner}: {name} should be a positive integer, got {value!r}")
    return int(value)


class Sampler:
    """The interface: ``iter(sampler)`` gives dataset indices, ``len(sampler)`` how many."""

    def __iter__(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class _OwnGenerator:
    """``state_dict``/``load_state_dict`` of a sampler's own NumPy generator (none to save
    when it draws from minigrad's global one, which the Trainer saves)."""

    def state_dict(self):
        return {"generator": None if self.generator is None
                else self.generator.bit_generator.state}

    def load_state_dict(self, state):
        if state.get("generator") is not None and self.generator is not None:
            self.generator.bit_generator.state = state["generator"]

    def _rng(self):
        return _rng(generator=self.generator)


class SequentialSampler(Sampler):
    """0, 1, …, len(data_source) − 1.

    >>> list(SequentialSampler(range(3)))
    [0, 1, 2]
    """

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(_OwnGenerator, Sampler):
    """A random permutation of the dataset each epoch; with ``replacement``,
    ``num_samples`` (default: the dataset's length) uniform draws instead. Without
    replacement, ``num_samples`` larger than the dataset gives whole permutations one
    after another, then the start of one more (as PyTorch).

    >>> import numpy as np
    >>> sorted(RandomSampler(range(4), generator=np.random.default_rng(0)))
    [0, 1, 2, 3]
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean, got "
                            f"{replacement!r}")
        self.data_source, self.replacement, self.generator = data_source, replacement, generator
        self._num_samples = None if num_samples is None else _positive_int(
            num_samples, "num_samples", "RandomSampler")
        _rng(generator=generator)  # checks the type

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n, rng = len(self.data_source), self._rng()
        if self.replacement:
            return iter(rng.integers(0, n, self.num_samples).tolist())
        whole, rest = divmod(self.num_samples, n) if n else (0, 0)
        parts = [rng.permutation(n) for _ in range(whole)] + [rng.permutation(n)[:rest]]
        return iter(np.concatenate(parts).tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(_OwnGenerator, Sampler):
    """The given ``indices`` in a random order, each once per epoch.

    >>> import numpy as np
    >>> sorted(SubsetRandomSampler([5, 1, 9], generator=np.random.default_rng(0)))
    [1, 5, 9]
    """

    def __init__(self, indices, generator=None):
        self.indices = [int(i) for i in indices]
        self.generator = generator
        _rng(generator=generator)

    def __iter__(self):
        order = self._rng().permutation(len(self.indices))
        return iter([self.indices[i] for i in order])

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(_OwnGenerator, Sampler):
    """``num_samples`` indices in [0, len(weights)) drawn with probability proportional
    to ``weights`` (not necessarily normalized): with replacement, or without (then every
    index at most once, the next draw renormalized over the rest, as ``torch.multinomial``).
    The classic use: weights 1/(count of the sample's class) to balance the classes.

    >>> import numpy as np
    >>> s = WeightedRandomSampler([0.0, 1.0, 0.0], 4, generator=np.random.default_rng(0))
    >>> list(s)
    [1, 1, 1, 1]
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        data = getattr(weights, "data", weights)
        data = data.get() if hasattr(data, "get") else data
        w = np.asarray(data, dtype=np.float64).reshape(-1)
        if not isinstance(replacement, bool):
            raise TypeError(f"WeightedRandomSampler: replacement should be a boolean, got "
                            f"{replacement!r}")
        self.num_samples = _positive_int(num_samples, "num_samples", "WeightedRandomSampler")
        if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative "
                             "and not all zero")
        if not replacement and self.num_samples > int((w > 0).sum()):
            raise ValueError(f"WeightedRandomSampler: cannot draw {self.num_samples} samples "
                             f"without replacement from {int((w > 0).sum())} of positive "
                             "weight")
        self.weights, self.replacement, self.generator = w, replacement, generator
        _rng(generator=generator)

    def __iter__(self):
        rng, p = self._rng(), self.weights / self.weights.sum()
        if self.replacement:
            return iter(rng.choice(len(p), size=self.num_samples, p=p).tolist())
        keys = np.full(len(p), -np.inf)         # the exponential race: largest log(u)/w
        positive = p > 0
        keys[positive] = np.log(rng.random(int(positive.sum()))) / p[positive]
        return iter(np.argsort(-keys, kind="stable")[:self.num_samples].tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler`` (the last shorter, or dropped with
    ``drop_last``).

    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size, drop_last):
        self.sampler = sampler
        self.batch_size = _positive_int(batch_size, "batch_size", "BatchSampler")
        if not isinstance(drop_last, bool):
            raise TypeError(f"BatchSampler: drop_last should be a boolean, got {drop_last!r}")
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for index in self.sampler:
            batch.append(int(index))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def state_dict(self):
        return {"sampler": self.sampler.state_dict()} if hasattr(self.sampler,
                                                                 "state_dict") else {}

    def load_state_dict(self, state):
        if "sampler" in state and hasattr(self.sampler, "load_state_dict"):
            self.sampler.load_state_dict(state["sampler"])
