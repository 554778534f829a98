"""Data-parallel training of a digits MLP on MPI ranks, with the linear scaling rule.

    mpiexec -n 2 python examples/ddp_digits.py        (or: python examples/ddp_digits.py)

Every rank reads its own shard of each epoch (DistributedSampler), gradients are averaged
after each backward (DistributedDataParallel), and the learning rate is scaled with the
global batch, lr = base_lr · (N·B)/B_base, with a gradual warm-up over the first epochs
(Goyal et al. 2017). Only rank 0 prints.
"""
import argparse

import minigrad as mg
import minigrad.distributed as dist
from minigrad import nn
from minigrad.cli.common import positive_int
from minigrad.data import DataLoader, Subset, digits_splits
from minigrad.nn import functional as F
from minigrad.optim import SGD
from minigrad.optim.lr_scheduler import LambdaLR, linear_scaling_rule


def main(epochs=15, batch=32, base_lr=0.05, warmup_epochs=3, seed=0):
    rank, world = dist.init()
    mg.manual_seed(seed)
    train, test = digits_splits(seed=0, flat=True)
    model = dist.DistributedDataParallel(nn.Sequential(
        nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)))
    lr = linear_scaling_rule(base_lr, batch * world, base_batch_size=batch)
    opt = SGD(model.parameters(), lr=lr, momentum=0.9)
    sampler = dist.DistributedSampler(train, seed=seed)
    steps_per_epoch = len(sampler) // batch
    warmup = warmup_epochs * steps_per_epoch
    # gradual warm-up from base_lr to the scaled lr, then constant
    sched = LambdaLR(opt, lambda t: min(1.0, (base_lr + (lr - base_lr) * t / warmup) / lr))
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        loader = DataLoader(Subset(train, sampler.indices()), batch_size=batch,
                            drop_last=True)
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        if rank == 0 and (epoch % 5 == 4 or epoch == epochs - 1):
            with mg.no_grad():
                x, y = test[:]
                acc = (model(x).argmax(1) == y).float().mean().item()
            print(f"epoch {epoch + 1:3d}  ranks {world}  lr {opt.param_groups[0]['lr']:.3f}  "
                  f"loss {loss.item():.4f}  test accuracy {acc:.4f}")
    return acc if rank == 0 else None


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=positive_int, default=15)
    args = parser.parse_args()
    main(epochs=args.epochs)
