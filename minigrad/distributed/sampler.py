"""``DistributedSampler``: each rank reads a disjoint shard of the dataset, reshuffled
every epoch with the same seed on every rank (PyTorch's semantics)."""
from __future__ import annotations

import math

import numpy as np


class DistributedSampler:
    """Indices of this rank's shard.

    Parameters
    ----------
    dataset : a sized dataset (or an int, its length).
    num_replicas, rank : default to the MPI world size and rank.
    shuffle : permute with ``seed + epoch`` (call ``set_epoch`` every epoch).
    drop_last : drop the tail so every rank gets ``floor(n / N)`` samples; otherwise the
        first indices are repeated so every rank gets ``ceil(n / N)``.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        from . import comm

        if num_replicas is None:
            num_replicas = comm.get_world_size()
        if rank is None:
            rank = comm.get_rank()
        if not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: rank {rank} not in [0, {num_replicas})")
        self.n = dataset if isinstance(dataset, int) else len(dataset)
        self.num_replicas, self.rank = num_replicas, rank
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.epoch = 0
        if drop_last:
            self.num_samples = self.n // num_replicas
        else:
            self.num_samples = math.ceil(self.n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def indices(self):
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(self.n)
        else:
            order = np.arange(self.n)
        if self.total_size > self.n:  # pad by repeating from the start
            reps = math.ceil(self.total_size / max(self.n, 1))
            order = np.tile(order, reps)[: self.total_size]
        else:
            order = order[: self.total_size]
        return order[self.rank:self.total_size:self.num_replicas]

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self):
        return self.num_samples
