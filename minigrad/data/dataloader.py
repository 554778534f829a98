"""``DataLoader``: iterate over a dataset in (shuffled) mini-batches, PyTorch's name and
arguments (single process: no workers)."""
from __future__ import annotations

import numbers

import numpy as np

from .._backend import get_array_module
from ..tensor import Tensor
from .dataset import _rng

__all__ = ["DataLoader", "default_collate"]


def _stack(arrays):
    xp = get_array_module(arrays[0])
    return xp.stack(arrays)


def default_collate(samples):
    """Stack a list of samples into a batch, as PyTorch's ``default_collate``: Tensors
    and arrays are stacked along a new first dimension, Python ints become an int64
    tensor and floats a float32 tensor; tuples, lists and dicts are collated field by
    field."""
    first = samples[0]
    if isinstance(first, Tensor):
        return Tensor(_stack([s.data for s in samples]))
    if isinstance(first, np.ndarray) or (hasattr(first, "__cuda_array_interface__")):
        return Tensor(_stack(list(samples)))
    if isinstance(first, (bool, np.bool_)):
        return Tensor(np.asarray(samples, dtype=bool))
    if isinstance(first, numbers.Integral):
        return Tensor(np.asarray(samples, dtype=np.int64))
    if isinstance(first, numbers.Real):
        return Tensor(np.asarray(samples, dtype=np.float32))
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ValueError("default_collate: samples have different numbers of fields")
        fields = [default_collate(list(f)) for f in zip(*samples)]
        return tuple(fields) if isinstance(first, tuple) else fields
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}")


class DataLoader:
    """Mini-batches of ``dataset``.

    Parameters
    ----------
    dataset : a map-style dataset (``len`` and ``[i]``), e.g. :class:`TensorDataset`.
    batch_size : samples per batch.
    shuffle : a new random order every epoch (every ``iter()``).
    drop_last : drop the last batch when it is smaller than ``batch_size``.
    collate_fn : turns a list of samples into a batch (default :func:`default_collate`).
    generator : a NumPy ``Generator`` for the shuffling order.
    seed : alternatively, a seed for the loader's own generator: the sequence of epoch
        orders is then fixed whatever else draws random numbers. Without both, the order
        is drawn from minigrad's global generator (``mg.manual_seed`` makes it repeatable,
        as ``torch.manual_seed`` does for PyTorch's loader).
    device : put every batch on this device (``"cpu"`` or ``"cuda"``).

    Notes
    -----
    With the default collate, a :class:`TensorDataset` (or a ``Subset`` of one) is
    batched by one fancy index per tensor instead of stacking sample by sample: the
    same batches, much faster. There are no worker processes (``num_workers``).

    Examples
    --------
    >>> import minigrad as mg
    >>> from minigrad.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(mg.arange(10.0).reshape(5, 2), mg.arange(5))
    >>> [y.tolist() for _, y in DataLoader(ds, batch_size=2)]
    [[0, 1], [2, 3], [4]]
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False,
                 collate_fn=None, generator=None, seed=None, device=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got "
                             f"{batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        self.generator = (_rng(seed, generator)
                          if seed is not None or generator is not None else None)
        self.device = device

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self):
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return _rng(generator=self.generator).permutation(n)

    def _batch(self, indices):
        if self.collate_fn is None:
            fast = getattr(self.dataset, "_get_batch", None)
            batch = fast(indices) if fast is not None else None
            if batch is None:
                batch = default_collate([self.dataset[int(i)] for i in indices])
        else:
            batch = self.collate_fn([self.dataset[int(i)] for i in indices])
        return batch if self.device is None else _to(batch, self.device)

    def __iter__(self):
        order = self._order()
        stop = len(self) * self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            yield self._batch(order[start:start + self.batch_size])


def _to(batch, device):
    if isinstance(batch, Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: _to(v, device) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to(v, device) for v in batch)
    return batch
