"""Data-parallel throughput on this machine: 1 and 2 MPI ranks (or more with --ranks).

Each rank trains the digits MLP 64-256-256-10 on its own batch of --batch samples
(weak scaling: the global batch grows with the ranks, as the linear scaling rule
assumes). Reported per run: samples/s over all ranks, step time, the time of the
gradient all-reduce per step, and the scaling efficiency
    E(N) = throughput(N) / (N · throughput(1)).

    python benchmarks/data_parallel.py [--ranks 1,2] [--steps 200] [--batch 128]

Needs mpi4py and an MPI (pip install minigrad[mpi]). BLAS is pinned to one thread per
rank so that N ranks on N cores compare fairly with one.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time


def worker(steps, batch):
    import numpy as np

    import minigrad as mg
    import minigrad.distributed as dist
    from minigrad import nn
    from minigrad.data import load_digits
    from minigrad.nn import functional as F
    from minigrad.optim import SGD

    rank, world = dist.init()
    mg.manual_seed(0)
    X, y = load_digits(flat=True)
    model = dist.DistributedDataParallel(nn.Sequential(
        nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)))
    opt = SGD(model.parameters(), lr=0.05 * world, momentum=0.9)
    rng = np.random.default_rng(rank)
    sync_times, step_times = [], []
    original = model.sync_gradients

    def timed_sync():
        t0 = time.perf_counter()
        original()
        sync_times.append(time.perf_counter() - t0)

    model.sync_gradients = timed_sync
    for step in range(steps + 20):
        idx = mg.tensor(rng.integers(0, X.shape[0], batch))
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(X[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step >= 20:  # warm-up excluded
            step_times.append(time.perf_counter() - t0)
    dist.barrier()
    times = dist.comm._world().gather(
        (float(np.median(step_times)), float(np.median(sync_times[20:]))), root=0)
    if rank == 0:
        step_t = max(t for t, _ in times)  # the slowest rank sets the pace
        sync_t = float(np.mean([s for _, s in times]))
        print(json.dumps({"ranks": world, "batch_per_rank": batch, "step_ms": step_t * 1e3,
                          "allreduce_ms": sync_t * 1e3,
                          "samples_per_s": world * batch / step_t,
                          "final_loss": loss.item()}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", default="1,2")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.steps, args.batch)
    mpiexec = shutil.which("mpiexec") or shutil.which("mpirun")
    if mpiexec is None:
        sys.exit("needs mpiexec: pip install minigrad[mpi]")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    rows = []
    for n in (int(r) for r in args.ranks.split(",")):
        out = subprocess.run([mpiexec, "-n", str(n), sys.executable, __file__, "--worker",
                              "--steps", str(args.steps), "--batch", str(args.batch)],
                             env=env, capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    base = rows[0]["samples_per_s"] / rows[0]["ranks"]
    print(f"digits MLP 64-256-256-10, batch {args.batch} per rank, {args.steps} steps, "
          f"{os.cpu_count()} cores, 1 BLAS thread per rank")
    print(f"{'ranks':>5} {'step ms':>9} {'allreduce ms':>13} {'samples/s':>11} "
          f"{'efficiency':>11}")
    for r in rows:
        eff = r["samples_per_s"] / (r["ranks"] * base)
        print(f"{r['ranks']:5d} {r['step_ms']:9.2f} {r['allreduce_ms']:13.3f} "
              f"{r['samples_per_s']:11.0f} {eff:11.2f}")


if __name__ == "__main__":
    main()
