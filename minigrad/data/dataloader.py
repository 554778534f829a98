"""``DataLoader``: iterate over a dataset in (shuffled) mini-batches, PyTorch's name and
arguments (single process: no workers), with ``state_dict``/``load_state_dict`` to stop
and resume in the middle of an epoch (as ``torchdata``'s ``StatefulDataLoader``)."""
from __future__ import annotations

import multiprocessing
import numbers

import numpy as np

from .._backend import get_array_module
from ..tensor import Tensor
from .dataset import _rng

__all__ = ["DataLoader", "default_collate"]

_STATE_FORMAT = "minigrad-dataloader"
_STATE_VERSION = 1


def _stack(arrays):
    shape = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != shape:
            raise RuntimeError(f"default_collate: stack expects each sample to be of equal "
                               f"size, but got {tuple(shape)} at entry 0 and "
                               f"{tuple(a.shape)} at entry {i}")
    xp = get_array_module(arrays[0])
    return xp.stack(arrays)


def default_collate(samples):
    """Stack a list of samples into a batch, as PyTorch's ``default_collate``: Tensors,
    arrays and NumPy scalars are stacked along a new first dimension (their dtype kept),
    Python ints become an int64 tensor and floats a float32 tensor; strings and bytes
    stay a list; tuples (named tuples too), lists and dicts are collated field by field.

    Departures from PyTorch: Python floats give float32 (minigrad's default float
    dtype; PyTorch gives float64), and a plain tuple gives a tuple of fields (PyTorch,
    for backward compatibility, a list). Unpacking ``x, y = batch`` is the same."""
    first = samples[0]
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, Tensor):
        return Tensor(_stack([s.data for s in samples]))
    if isinstance(first, (np.ndarray, np.generic)) or hasattr(first, "__cuda_array_interface__"):
        return Tensor(_stack([np.asarray(s) if isinstance(s, np.generic) else s
                              for s in samples]))
    if isinstance(first, bool):
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
        if hasattr(first, "_fields"):  # a named tuple keeps its type and field names
            return type(first)(*fields)
        return tuple(fields) if isinstance(first, tuple) else fields
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}")


def default_convert(data):
    """What a DataLoader with ``batch_size=None`` returns for a sample: NumPy arrays (and
    NumPy scalars) become Tensors, containers are converted field by field, anything else
    is left as it is (PyTorch's ``default_convert``)."""
    if isinstance(data, np.ndarray) and data.dtype.kind in "biuf":
        return Tensor(data)
    if isinstance(data, np.generic) and data.dtype.kind in "biuf":
        return Tensor(np.asarray(data))
    if isinstance(data, dict):
        return type(data)({k: default_convert(v) for k, v in data.items()}) \
            if type(data) is not dict else {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(v) for v in data))
    if isinstance(data, (tuple, list)):
        return type(data)(default_convert(v) for v in data)
    return data


def get_worker_info():
    """None: minigrad's DataLoader loads in the calling process, where PyTorch's
    ``get_worker_info()`` returns None too (an IterableDataset can call it to shard, and
    will see the single-process case)."""
    return None


class DataLoader:
    """Mini-batches of ``dataset``.

    The parameters come in PyTorch's order (``DataLoader(ds, 2, False, sampler)`` is
    PyTorch's call), with minigrad's own ``seed`` and ``device`` keyword-only after
    PyTorch's keyword-only ones.

    Parameters
    ----------
    dataset : a map-style dataset (``len`` and ``[i]``), e.g. :class:`TensorDataset`.
    batch_size : samples per batch; None turns automatic batching off (each sample is
        passed on its own through ``collate_fn``, by default :func:`default_convert`).
    shuffle : a new random order every epoch (every ``iter()``); None (the default) is
        False.
    sampler : an iterable of dataset indices giving each epoch's order, e.g. a
        :class:`~minigrad.distributed.DistributedSampler` (this rank's shard); excludes
        ``shuffle``, as in PyTorch. A sampler with ``set_epoch`` is expected to give the
        same order for the same epoch (PyTorch's contract for ``DistributedSampler``).
    batch_sampler : an iterable of lists of indices, one list per batch (e.g. a
        :class:`~minigrad.data.BatchSampler`); excludes ``batch_size``, ``shuffle``,
        ``sampler`` and ``drop_last``, as in PyTorch.
    num_workers : int >= 0, accepted for PyTorch compatibility. Batches are always
        loaded in the calling process (no worker processes), so the batches are those of
        ``num_workers=0``, whatever the value.
    collate_fn : turns a list of samples into a batch (default :func:`default_collate`).
    pin_memory : accepted for PyTorch compatibility and ignored (use ``device=`` to put
        the batches on the GPU).
    drop_last : drop the last batch when it is smaller than ``batch_size``.
    timeout : seconds PyTorch waits for a worker's batch; must be >= 0, as in PyTorch,
        and is otherwise unused (no workers to wait for).
    worker_init_fn : PyTorch calls it with the worker id in each worker process as it
        starts. It is stored and never called: minigrad's batches are those of
        ``num_workers=0``, for which PyTorch does not call it either, and calling it in
        the main process would run per-worker set-up there (re-seeding the global
        generators, sharding through ``get_worker_info()``, which is None here).
    multiprocessing_context : a start method name (one of
        ``multiprocessing.get_all_start_methods()``) or a context object; as in PyTorch it
        needs ``num_workers > 0``, and it is then unused.
    generator : a NumPy ``Generator`` for the shuffling order (PyTorch: a
        ``torch.Generator``).
    prefetch_factor : batches loaded ahead per worker; as in PyTorch it needs
        ``num_workers > 0`` (None otherwise; with workers None means 2) and must be
        >= 0. Unused: nothing is loaded ahead.
    persistent_workers : keep the workers between epochs; as in PyTorch True needs
        ``num_workers > 0``. Unused.
    pin_memory_device : accepted and ignored, like ``pin_memory`` (deprecated in
        PyTorch).
    in_order : PyTorch's permission to hand out worker batches out of order
        (``in_order=False``); batches are always in order here.
    seed : minigrad's; alternatively to ``generator``, a seed for the loader's own
        generator: the sequence of epoch orders is then fixed whatever else draws random
        numbers. Without both, the order is drawn from minigrad's global generator
        (``mg.manual_seed`` makes it repeatable, as ``torch.manual_seed`` does for
        PyTorch's loader).
    device : minigrad's; put every batch on this device (``"cpu"`` or ``"cuda"``).

    Notes
    -----
    An :class:`~minigrad.data.IterableDataset` (a stream, no ``[i]``) is batched in the
    order it yields, ``batch_size`` samples at a time (no shuffle or sampler); a resume
    re-reads the stream and skips the batches already yielded, which is exact when the
    stream is the same every epoch.

    With the default collate, a :class:`TensorDataset` (or a ``Subset`` of one) is
    batched by one fancy index per tensor instead of stacking sample by sample: the
    same batches, much faster. There are no worker processes: ``num_workers`` and the
    worker options (``timeout``, ``worker_init_fn``, ``multiprocessing_context``,
    ``prefetch_factor``, ``persistent_workers``, ``in_order``) are checked as PyTorch
    checks them and change nothing.

    Stopping and resuming in the middle of an epoch: :meth:`state_dict` records where
    the loader is and :meth:`load_state_dict` puts a fresh loader there, so that its next
    ``iter()`` yields exactly the batches the interrupted epoch had left and the epochs
    after it are those of a loader that never stopped. See :meth:`state_dict` for what
    is captured.

    Examples
    --------
    >>> import minigrad as mg
    >>> from minigrad.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(mg.arange(10.0).reshape(5, 2), mg.arange(5))
    >>> [y.tolist() for _, y in DataLoader(ds, batch_size=2)]
    [[0, 1], [2, 3], [4]]

    Resuming after two batches of a shuffled epoch:

    >>> loader = DataLoader(ds, batch_size=2, shuffle=True, seed=0)
    >>> it = iter(loader)
    >>> first_two = [next(it)[1].tolist() for _ in range(2)]
    >>> state = loader.state_dict()                 # saved with mg.save in a checkpoint
    >>> rest = [y.tolist() for _, y in it]           # what the uninterrupted run sees
    >>> fresh = DataLoader(ds, batch_size=2, shuffle=True, seed=0)
    >>> fresh.load_state_dict(state)
    >>> [y.tolist() for _, y in fresh] == rest
    True
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False,
                 timeout=0, worker_init_fn=None, multiprocessing_context=None,
                 generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True, seed=None, device=None):
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral) \
                or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers option should be non-negative, got "
                             f"{num_workers!r}")
        _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers,
                              multiprocessing_context)
        shuffle = bool(shuffle)
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive "
                                 "with batch_size, shuffle, sampler, and drop_last")
            batch_size = None
        elif batch_size is None:  # automatic batching off: one sample at a time
            if drop_last:
                raise ValueError("DataLoader: batch_size=None option disables auto-batching "
                                 "and is mutually exclusive with drop_last")
        elif isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got "
                             f"{batch_size!r}")
        if _is_iterable_dataset(dataset) and (shuffle or sampler is not None or
                                              batch_sampler is not None):
            raise ValueError("DataLoader: an IterableDataset gives its own order: shuffle, "
                             "sampler and batch_sampler do not apply")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle "
                             "(the sampler decides the order)")
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.batch_sampler = batch_sampler
        self._unbatched = batch_size is None and batch_sampler is None
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        self.generator = (_rng(seed, generator)
                          if seed is not None or generator is not None else None)
        self.device = device
        self.sampler = sampler
        self.num_workers = int(num_workers)
        self.pin_memory = bool(pin_memory)
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn   # never called: see the docstring
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = (2 if prefetch_factor is None and num_workers > 0
                                else prefetch_factor)
        self.persistent_workers = bool(persistent_workers)
        self.in_order = bool(in_order)
        self._current = None   # the epoch being iterated: {"order", "yielded"}
        self._resume = None    # an epoch restored by load_state_dict, for the next iter()

    def _num_samples(self):
        if self.batch_sampler is not None:
            return None  # known only once the epoch's batches are drawn
        return len(self.sampler) if self.sampler is not None else len(self.dataset)

    def _num_batches(self, n):
        if self._unbatched:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __len__(self):
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return self._num_batches(self._num_samples())

    def _order(self):
        if self.sampler is not None:
            return np.asarray(list(iter(self.sampler)), dtype=np.int64)
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return _rng(generator=self.generator).permutation(n)

    def _batch(self, indices):
        if self._unbatched:  # one sample, converted, not batched
            sample = (self.collate_fn or default_convert)(self.dataset[int(indices[0])])
            return sample if self.device is None else _to(sample, self.device)
        if self.collate_fn is None:
            fast = getattr(self.dataset, "_get_batch", None)
            batch = fast(indices) if fast is not None else None
            if batch is None:
                batch = default_collate([self.dataset[int(i)] for i in indices])
        else:
            batch = self.collate_fn([self.dataset[int(i)] for i in indices])
        return batch if self.device is None else _to(batch, self.device)

    def _epoch_batches(self, order=None, lengths=None):
        """The epoch's batches of indices: from ``order`` cut by ``lengths`` (a restored
        epoch of a batch sampler), by ``batch_size``, or drawn from the batch sampler."""
        if self.batch_sampler is not None:
            if order is None:
                return [np.asarray(list(b), dtype=np.int64) for b in self.batch_sampler]
            return np.split(order, np.cumsum(lengths)[:-1]) if len(lengths) else []
        bs = 1 if self._unbatched else self.batch_size
        return [order[b * bs:(b + 1) * bs] for b in range(self._num_batches(len(order)))]

    def __iter__(self):
        # A generator: the order is drawn at the first next(), as before resuming existed.
        if _is_iterable_dataset(self.dataset):
            yield from self._iter_stream()
            return
        resume, self._resume = self._resume, None
        order = None
        if resume is not None and self.batch_sampler is not None:
            batches = self._epoch_batches(resume["order"], resume["batch_lengths"])
            start = resume["batches_yielded"]
        elif resume is not None:   # continue the epoch that load_state_dict restored
            order = resume["order"] if resume["order"] is not None else self._order()
            batches, start = self._epoch_batches(order), resume["batches_yielded"]
        elif self.batch_sampler is not None:
            batches, start = self._epoch_batches(), 0
        else:
            order = self._order()
            batches, start = self._epoch_batches(order), 0
        if self.batch_sampler is not None:   # the order of a batch sampler's epoch
            order = (np.concatenate(batches).astype(np.int64) if batches
                     else np.zeros(0, np.int64))
        current = {"batches": batches, "order": order, "yielded": start}
        self._current = current
        for b in range(start, len(batches)):
            batch = self._batch(batches[b])
            current["yielded"] = b + 1   # counted when handed over
            yield batch
        if self._current is current:   # the epoch ran to its end: the next iter() is new
            self._current = None

    def _iter_stream(self):
        """Batches of an iterable dataset: ``batch_size`` samples at a time, in its order;
        after a resume, the batches already yielded are read and skipped."""
        resume, self._resume = self._resume, None
        skip = 0 if resume is None else resume["batches_yielded"]
        current = {"batches": None, "order": None, "yielded": skip}
        self._current = current
        chunk, b = [], 0
        size = 1 if self._unbatched else self.batch_size
        for sample in self.dataset:
            chunk.append(sample)
            if len(chunk) < size:
                continue
            b += 1
            if b > skip:
                batch = self._collate(chunk)
                current["yielded"] = b
                yield batch
            chunk = []
        if chunk and not self.drop_last and b + 1 > skip:
            current["yielded"] = b + 1
            yield self._collate(chunk)
        if self._current is current:
            self._current = None

    def _collate(self, samples):
        if self._unbatched:
            batch = (self.collate_fn or default_convert)(samples[0])
        else:
            batch = (self.collate_fn or default_collate)(samples)
        return batch if self.device is None else _to(batch, self.device)

    # ------------------------------------------------------------------ resume
    def _stores_order(self):
        """Whether the epoch's order must be saved (it cannot be drawn again): a shuffle
        from the global generator or the loader's own one, or a sampler without
        ``set_epoch``. Unshuffled orders and ``set_epoch`` samplers are recomputed."""
        if self.batch_sampler is not None or _is_iterable_dataset(self.dataset):
            return self.batch_sampler is not None  # a stream is read again instead
        if self.sampler is not None:
            return not (hasattr(self.sampler, "set_epoch") and (
                hasattr(self.sampler, "state_dict") or hasattr(self.sampler, "epoch")))
        return bool(self.shuffle)

    def state_dict(self):
        r"""Where this loader is, as a dict of numbers and arrays (:func:`minigrad.save`
        writes it).

        Captured:

        * the epoch in progress, if the last ``iter()`` has not finished: the number of
          batches already yielded and the epoch's order (a permutation of the dataset
          indices: ``len(dataset)`` integers; not stored when it can be recomputed: no
          shuffle, or a sampler with ``set_epoch``, recomputed from its ``epoch``);
        * the loader's own generator (``seed=`` or ``generator=``), which orders the
          epochs to come;
        * a sampler's ``state_dict()`` if it has one, else its ``epoch`` attribute;
        * ``len(dataset)``, ``batch_size``, ``drop_last``, ``shuffle``, to refuse a state
          saved for another loader.

        Not captured: minigrad's global generator, which orders the epochs of a loader
        without ``seed``/``generator`` (save it with ``mg.random.get_rng_state()``, as
        :class:`~minigrad.train.Trainer` does); the data themselves; ``collate_fn``; a
        sampler's randomness other than its state dict or ``epoch``. There are no worker
        processes (``num_workers``), hence no worker state and no prefetched batches: the
        position is exactly the batches handed out.

        A batch counts as yielded when ``next()`` has returned it. A state taken after
        the last batch of an epoch but before the ``for`` loop ended resumes into an
        empty remainder of that epoch; the ``iter()`` after that starts the next epoch.
        Only the most recent iterator of the loader is tracked.
        """
        if self._resume is not None:   # restored and not iterated yet: unchanged
            epoch = dict(self._resume)
        elif self._current is not None:
            batches = self._current["batches"]
            epoch = {"batches_yielded": int(self._current["yielded"]), "order": None}
            if self._current["order"] is not None and self._stores_order():
                epoch["order"] = np.asarray(self._current["order"], dtype=np.int64).copy()
            if self.batch_sampler is not None:
                epoch["batch_lengths"] = np.asarray([len(b) for b in batches], np.int64)
        else:
            epoch = None
        sampler = None
        chosen = self.sampler if self.sampler is not None else self.batch_sampler
        if chosen is not None:
            if hasattr(chosen, "state_dict"):
                sampler = {"state_dict": chosen.state_dict()}
            elif hasattr(chosen, "epoch"):
                sampler = {"epoch": int(chosen.epoch)}
        return {
            "format": _STATE_FORMAT,
            "version": _STATE_VERSION,
            "dataset_length": _length(self.dataset),
            "batch_sampler": self.batch_sampler is not None,
            "num_samples": (self._num_samples() if not _is_iterable_dataset(self.dataset)
                            else None),
            "batch_size": self.batch_size,
            "drop_last": bool(self.drop_last),
            "shuffle": bool(self.shuffle),
            "epoch": epoch,
            "generator": None if self.generator is None else self.generator.bit_generator.state,
            "has_sampler": self.sampler is not None,
            "sampler": sampler,
        }

    def load_state_dict(self, state):
        """Restore :meth:`state_dict` into this loader (built with the same dataset,
        batch size, ``drop_last``, ``shuffle`` and kind of generator): the next ``iter()``
        continues the saved epoch where it stopped (or starts the next one).

        Raises
        ------
        ValueError
            when the state was saved for a different dataset length, batch size,
            ``drop_last``, ``shuffle``, sampler length or kind of generator (the message
            names both values), or is not a DataLoader state.
        """
        if not isinstance(state, dict) or state.get("format") != _STATE_FORMAT:
            raise ValueError(f"DataLoader.load_state_dict: not a DataLoader state (no "
                             f"'format': {_STATE_FORMAT!r} entry)")
        if state.get("version", 0) > _STATE_VERSION:
            raise ValueError(f"DataLoader.load_state_dict: state version {state['version']} "
                             f"is newer than this minigrad reads ({_STATE_VERSION})")
        where = "DataLoader.load_state_dict: the state was saved for"
        if bool(state.get("batch_sampler", False)) != (self.batch_sampler is not None):
            saved = "a" if state.get("batch_sampler") else "no"
            mine = "one" if self.batch_sampler is not None else "none"
            raise ValueError(f"{where} a loader with {saved} batch_sampler, but this loader "
                             f"has {mine}")
        for key, what in (("dataset_length", "a dataset of {} samples"),
                          ("batch_size", "batch_size {}"), ("drop_last", "drop_last={}"),
                          ("shuffle", "shuffle={}")):
            mine = {"dataset_length": _length(self.dataset), "batch_size": self.batch_size,
                    "drop_last": bool(self.drop_last), "shuffle": bool(self.shuffle)}[key]
            if state[key] != mine:
                raise ValueError(f"{where} {what.format(state[key])}, but this loader has "
                                 f"{what.format(mine)}")
        if bool(state["has_sampler"]) != (self.sampler is not None):
            saved = "a sampler" if state["has_sampler"] else "no sampler"
            mine = "one" if self.sampler is not None else "none"
            raise ValueError(f"{where} a loader with {saved}, but this loader has {mine}")
        if self.batch_sampler is None and not _is_iterable_dataset(self.dataset) and \
                state["num_samples"] != self._num_samples():
            raise ValueError(f"{where} {state['num_samples']} samples per epoch (the "
                             f"sampler's length), but this loader has {self._num_samples()}")
        if self.shuffle and self.sampler is None and \
                (state["generator"] is None) != (self.generator is None):
            own = "its own generator (seed= or generator=)"
            glob = "minigrad's global generator"
            raise ValueError(f"{where} a loader shuffled by "
                             f"{own if state['generator'] is not None else glob}, but this "
                             f"loader is shuffled by "
                             f"{own if self.generator is not None else glob}")
        epoch = state.get("epoch")
        if epoch is not None and (self.batch_sampler is not None or
                                  _is_iterable_dataset(self.dataset)):
            restored = {"batches_yielded": int(epoch["batches_yielded"]), "order": None}
            if self.batch_sampler is not None:
                order, lengths = epoch.get("order"), epoch.get("batch_lengths")
                order = np.asarray(order.numpy() if isinstance(order, Tensor) else order,
                                   dtype=np.int64)
                lengths = np.asarray(lengths.numpy() if isinstance(lengths, Tensor)
                                     else lengths, dtype=np.int64)
                if lengths.sum() != order.shape[0] or not \
                        0 <= restored["batches_yielded"] <= lengths.shape[0]:
                    raise ValueError(f"{where} an inconsistent batch_sampler epoch (batch "
                                     f"lengths {lengths.tolist()} for {order.shape[0]} "
                                     "indices)")
                restored.update(order=order, batch_lengths=lengths)
            self._load_samplers(state)
            self._current, self._resume = None, restored
            return
        if epoch is not None:
            order = epoch.get("order")
            if order is None and self._stores_order():
                raise ValueError(f"{where} a loader whose epoch order could be recomputed, "
                                 f"but this loader's order cannot (it has no saved order)")
            n = state["num_samples"]
            if order is not None:
                order = np.asarray(order.numpy() if isinstance(order, Tensor) else order,
                                   dtype=np.int64)
                if order.shape != (n,):
                    raise ValueError(f"{where} an epoch of {n} samples, but its saved order "
                                     f"has shape {order.shape}")
            k = int(epoch["batches_yielded"])
            if not 0 <= k <= self._num_batches(n):
                raise ValueError(f"{where} {k} batches yielded, but an epoch has only "
                                 f"{self._num_batches(n)}")
        # everything checked: now change the loader
        self._load_samplers(state)
        self._current = None
        self._resume = None if epoch is None else {"order": order, "batches_yielded": k}

    def _load_samplers(self, state):
        """Restore the loader's own generator and its (batch) sampler's state."""
        if self.generator is not None and state["generator"] is not None:
            self.generator.bit_generator.state = state["generator"]
        sampler = state.get("sampler")
        chosen = self.sampler if self.sampler is not None else self.batch_sampler
        if sampler is not None and chosen is not None:
            if "state_dict" in sampler and hasattr(chosen, "load_state_dict"):
                chosen.load_state_dict(sampler["state_dict"])
            elif "epoch" in sampler and hasattr(chosen, "set_epoch"):
                chosen.set_epoch(int(sampler["epoch"]))


def _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers,
                          multiprocessing_context):
    """PyTorch's checks of the worker options (its messages), although minigrad has no
    workers: a call PyTorch refuses is refused here too."""
    if timeout < 0:
        raise ValueError("DataLoader: timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("DataLoader: prefetch_factor option could only be specified in "
                         "multiprocessing: let num_workers > 0 to enable multiprocessing, "
                         "otherwise set prefetch_factor to None")
    if prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("DataLoader: prefetch_factor option should be non-negative")
    if persistent_workers and num_workers == 0:
        raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
    if multiprocessing_context is None:
        return
    if num_workers == 0:
        raise ValueError(f"DataLoader: multiprocessing_context can only be used with "
                         f"multi-process loading (num_workers > 0), but got "
                         f"num_workers={num_workers}")
    if isinstance(multiprocessing_context, str):
        methods = multiprocessing.get_all_start_methods()
        if multiprocessing_context not in methods:
            raise ValueError(f"DataLoader: multiprocessing_context option should specify a "
                             f"valid start method in {methods!r}, but got "
                             f"multiprocessing_context={multiprocessing_context!r}")
    elif not isinstance(multiprocessing_context, multiprocessing.context.BaseContext):
        raise TypeError(f"DataLoader: multiprocessing_context option should be a valid "
                        f"context object or a string specifying the start method, but got "
                        f"multiprocessing_context={multiprocessing_context!r}")


def _is_iterable_dataset(dataset):
    """A stream: iterable, without ``[i]`` (PyTorch's IterableDataset and its kind)."""
    from .dataset import IterableDataset

    return isinstance(dataset, IterableDataset) or (
        hasattr(dataset, "__iter__") and not hasattr(dataset, "__getitem__"))


def _length(dataset):
    """``len(dataset)``, or None for a stream without one."""
    try:
        return len(dataset)
    except TypeError:
        return None


def _to(batch, device):
    if isinstance(batch, Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: _to(v, device) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to(v, device) for v in batch)
    return batch
