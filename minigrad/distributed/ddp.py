r"""Synchronous data-parallel training: ``DistributedDataParallel``.

Every rank holds a full copy of the model and a different shard of each batch. After
``loss.backward()`` the gradients are averaged over the N ranks,

    ḡ = (1/N) Σᵣ gᵣ,

so every rank takes the same optimizer step and the copies never drift apart. With the
loss a mean over each rank's B samples, ḡ is exactly the gradient of the mean loss over
the N·B samples of the global batch (which is why the learning rate is scaled with N:
the linear scaling rule of Goyal et al. 2017).

How (the design of PyTorch's DDP, Li et al. 2020):
- at construction, rank 0's parameters and buffers are broadcast to every rank;
- gradients are flattened into buckets of about ``bucket_cap_mb`` (in reverse parameter
  order, as backward produces them) and each bucket is averaged with ONE all-reduce,
  not one per tensor;
- the averaging runs by itself at the end of the next ``backward()`` after a forward
  through the wrapper (``sync_gradients()`` can also be called by hand).

Options
- ``compression="fp16"`` or ``"topk"`` (with ``topk_ratio``, error feedback): see
  :mod:`minigrad.distributed.compression`.
- ``staleness=s`` (stale-synchronous, bounded delay): the all-reduce of step t is started
  without waiting, and the gradient applied at step t is the average from step t − s; the
  number of reductions in flight never exceeds s (the bound is enforced by waiting for
  the oldest). During the first s steps no averaged gradient exists yet and ``.grad`` is
  set to None (optimizers skip such parameters). ``flush()`` waits for what is left.

Example (run with ``mpirun -n 2 python train.py``)::

    import minigrad.distributed as dist
    dist.init()
    model = dist.DistributedDataParallel(MyNet())
    opt = mg.optim.SGD(model.parameters(), lr=0.1 * dist.get_world_size())
    for x, y in loader:                   # loader uses a DistributedSampler
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(); loss.backward()  # gradients arrive averaged
        opt.step()
"""
from __future__ import annotations

from collections import deque

from ..autograd.function import queue_callback
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..tensor import _make_tensor
from . import comm
from .compression import NoCompression, make_compression


class _World:
    """The collectives the compression schemes use."""

    @property
    def size(self):
        return comm.get_world_size()

    @staticmethod
    def all_reduce(array):
        return comm.all_reduce_array(array)

    @staticmethod
    def all_gather(array):
        return comm.all_gather_array(array)


def _buckets(params, cap_bytes):
    """Group parameters (reverse order; one dtype and device per bucket) into buckets of
    at most ``cap_bytes`` (a larger single tensor gets a bucket of its own)."""
    buckets, current, size, key = [], [], 0, None
    for p in reversed(params):
        k = (p.dtype, p.device)
        nbytes = p.data.size * p.data.itemsize
        if current and (k != key or size + nbytes > cap_bytes):
            buckets.append(current)
            current, size = [], 0
        current.append(p)
        size += nbytes
        key = k
    if current:
        buckets.append(current)
    return buckets


class DistributedDataParallel:
    """Wrap ``module`` for synchronous data-parallel training (see the module docstring).

    Parameters
    ----------
    module : anything with ``parameters()`` (and optionally ``buffers()``) that is called
        to compute the forward pass; usually an ``nn.Module``.
    bucket_cap_mb : bucket size for the gradient all-reduces.
    compression : None, "fp16" or "topk".
    topk_ratio : the fraction of each bucket sent by top-k compression.
    staleness : 0 for fully synchronous; s > 0 for bounded-staleness updates.
    broadcast_buffers : also broadcast buffers (BatchNorm running statistics) at start.

    Notes
    -----
    Departure from PyTorch: minigrad has no per-tensor backward hooks, so the averaging
    runs once the whole backward has finished (one callback), not overlapped with it.
    """

    def __init__(self, module, bucket_cap_mb=25.0, compression=None, topk_ratio=0.01,
                 staleness=0, broadcast_buffers=True):
        if bucket_cap_mb <= 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb}")
        if staleness < 0 or int(staleness) != staleness:
            raise ValueError(f"staleness must be a non-negative integer, got {staleness}")
        if staleness and compression not in (None, "none"):
            raise ValueError("staleness > 0 is implemented without compression")
        if not comm.is_initialized():
            comm.init()
        self.module = module
        self.params = [p for p in module.parameters() if p.requires_grad]
        with no_grad():
            for p in self.params:
                comm.broadcast(p)
            if broadcast_buffers and hasattr(module, "buffers"):
                for b in module.buffers():
                    comm.broadcast(b)
        self.buckets = _buckets(self.params, bucket_cap_mb * 2**20)
        self.compression = make_compression(compression, topk_ratio)
        self.staleness = int(staleness)
        self.world = _World()
        self._in_flight = deque()  # (step, [(bucket, flat, handle)]) for staleness > 0
        self._step = 0
        self._queued = False
        self.applied_step = None  # the step whose averaged gradient is in .grad now

    # -------------------------------------------------------------- forward
    def __call__(self, *args, **kwargs):
        out = self.module(*args, **kwargs)
        if is_grad_enabled() and not self._queued:
            self._queued = True
            queue_callback(self._after_backward)
        return out

    forward = __call__

    def _after_backward(self):
        self._queued = False
        self.sync_gradients()

    def __getattr__(self, name):  # parameters(), state_dict(), train(), eval(), ...
        if name == "module":
            raise AttributeError(name)
        return getattr(self.module, name)

    # -------------------------------------------------------------- gradients
    @staticmethod
    def _flatten(bucket):
        xp = bucket[0].xp
        return xp.concatenate([
            (p.grad.data if p.grad is not None else xp.zeros_like(p.data)).reshape(-1)
            for p in bucket
        ]).astype(bucket[0].dtype, copy=False)

    @staticmethod
    def _unflatten(bucket, flat):
        start = 0
        for p in bucket:
            n = p.data.size
            g = flat[start:start + n].reshape(p.shape)
            if p.grad is None:
                p.grad = _make_tensor(g.copy(), None, False)
            else:
                p.grad.data[...] = g
            start += n

    def sync_gradients(self):
        """Average every parameter's gradient over the ranks (one reduction per bucket)."""
        if self.staleness:
            return self._sync_stale()
        for i, bucket in enumerate(self.buckets):
            flat = self._flatten(bucket)
            self._unflatten(bucket, self.compression.reduce(flat, self.world, key=i))
        self.applied_step = self._step
        self._step += 1

    def _sync_stale(self):
        handles = []
        for bucket in self.buckets:
            flat = self._flatten(bucket)
            handles.append((bucket, flat, comm.iall_reduce_array(flat)))
        self._in_flight.append((self._step, handles))
        self._step += 1
        if len(self._in_flight) > self.staleness:  # enforce the bound: wait for t − s
            self._apply(*self._in_flight.popleft())
        else:
            for p in self.params:
                p.grad = None
            self.applied_step = None
        assert len(self._in_flight) <= self.staleness

    def _apply(self, step, handles):
        for bucket, flat, handle in handles:
            handle.wait()
            flat /= self.world.size
            self._unflatten(bucket, flat)
        self.applied_step = step

    def flush(self):
        """Wait for the reductions still in flight; returns their averaged gradients as a
        list (oldest first) of lists of arrays, one per parameter."""
        out = []
        while self._in_flight:
            self._apply(*self._in_flight.popleft())
            out.append([p.grad.data.copy() for p in self.params])
        return out

    @property
    def uses_compression(self):
        return not isinstance(self.compression, NoCompression)
