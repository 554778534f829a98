"""Run under ``mpiexec -n 2``: one data-parallel scenario, results saved per rank.

    mpiexec -n 2 python tests/distributed/mpi_worker.py SCENARIO OUT_DIR
"""
import sys
from pathlib import Path

import numpy as np

import minigrad as mg
import minigrad.distributed as dist
from minigrad.optim import SGD

GLOBAL_BATCH, D_IN, D_HID = 16, 5, 7


class TinyNet:
    """y = tanh(x W1 + b1) W2, plus a buffer (as BatchNorm's running statistics are)."""

    def __init__(self, seed):
        rng = np.random.default_rng(seed)
        self.W1 = mg.tensor(rng.standard_normal((D_IN, D_HID)), requires_grad=True)
        self.b1 = mg.tensor(rng.standard_normal(D_HID), requires_grad=True)
        self.W2 = mg.tensor(rng.standard_normal((D_HID, 1)), requires_grad=True)
        self.count = mg.tensor(rng.standard_normal(3))

    def parameters(self):
        return [self.W1, self.b1, self.W2]

    def buffers(self):
        return [self.count]

    def __call__(self, x):
        return (x @ self.W1 + self.b1).tanh() @ self.W2


def data(step):
    rng = np.random.default_rng(1000 + step)
    x = rng.standard_normal((GLOBAL_BATCH, D_IN))
    y = np.sin(x.sum(1, keepdims=True))
    return x, y


def local_batch(step, rank, world):
    x, y = data(step)
    shard = slice(rank * GLOBAL_BATCH // world, (rank + 1) * GLOBAL_BATCH // world)
    return mg.tensor(x[shard]), mg.tensor(y[shard])


def train(model, steps, rank, world, lr=0.1):
    opt = SGD(model.parameters(), lr=lr)
    losses = []
    for step in range(steps):
        x, y = local_batch(step, rank, world)
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def syncbn_data():
    """A global batch (8, 3, 4) of BatchNorm inputs, cotangents and an uneven split: rank 0
    gets 3 samples, rank 1 the other 5 (unequal local counts must weigh correctly)."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((8, 3, 4)) * np.array([1.0, 3.0, 0.5])[:, None] + 2.0
    w = rng.standard_normal((8, 3, 4))
    return x, w, [slice(0, 3), slice(3, 8)]


def syncbn_step(bn, x, w):
    """One forward and backward of Σ y·w; returns y and x's gradient (arrays)."""
    xt = mg.tensor(x, requires_grad=True)
    y = bn(xt)
    (y * mg.tensor(w)).sum().backward()
    return y.numpy(), xt.grad.numpy()


def main(scenario, out):
    rank, world = dist.init()
    out = Path(out)
    if scenario == "syncbn":
        x, w, shards = syncbn_data()
        bn = mg.nn.SyncBatchNorm(3, momentum=0.3).to(dtype=mg.float64)
        with mg.no_grad():
            bn.weight.copy_(np.array([1.5, -0.5, 2.0]))
            bn.bias.copy_(np.array([0.1, 0.2, 0.3]))
        y, gx = syncbn_step(bn, x[shards[rank]], w[shards[rank]])
        np.savez(out / f"syncbn{rank}.npz", y=y, gx=gx, gw=bn.weight.grad.numpy(),
                 gb=bn.bias.grad.numpy(), rm=bn.running_mean.numpy(),
                 rv=bn.running_var.numpy())
        return
    if scenario == "raise":
        if rank == 1:
            raise RuntimeError("planted failure on rank 1")
        dist.barrier()  # rank 0 would wait here forever without the abort hook
        return
    net = TinyNet(seed=rank)  # different on purpose: DDP must broadcast rank 0's copy
    if scenario == "sync":
        calls = []
        original = dist.comm.all_reduce_array

        def counting(array, op="sum"):
            calls.append(array.size)
            return original(array, op)

        dist.comm.all_reduce_array = counting
        model = dist.DistributedDataParallel(net, bucket_cap_mb=40 * 8 / 2**20)
        losses = train(model, 5, rank, world)
        dist.comm.all_reduce_array = original
        np.save(out / f"calls{rank}.npy", np.array(calls))
        np.save(out / f"buckets{rank}.npy", np.array([len(b) for b in model.buckets]))
    elif scenario in ("fp16", "topk"):
        model = dist.DistributedDataParallel(net, compression=scenario, topk_ratio=0.3)
        losses = train(model, 150, rank, world, lr=0.05)
    elif scenario == "stale":
        model = dist.DistributedDataParallel(net, staleness=2)
        opt = SGD(model.parameters(), lr=0.1)
        applied = []
        for step in range(6):
            x, y = local_batch(step, rank, world)
            loss = ((model(x) - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            assert len(model._in_flight) <= 2
            applied.append(-1 if model.applied_step is None else model.applied_step)
            opt.step()
        np.save(out / f"applied{rank}.npy", np.array(applied))
        losses = []
    else:
        raise ValueError(scenario)
    np.save(out / f"losses{rank}.npy", np.array(losses))
    np.savez(out / f"params{rank}.npz", *[p.numpy() for p in net.parameters()],
             *[b.numpy() for b in net.buffers()])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
