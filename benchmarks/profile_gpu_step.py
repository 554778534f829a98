r"""Where a minigrad training step on the GPU spends its time: the small ResNet of
gpu_training.py, fp32 and fp16 autocast: step time over several batch sizes (flat in the
batch = launch- or Python-bound, proportional = GPU-bound), then cProfile of a few steps at
batch 128, the functions with the most own time.

    python benchmarks/profile_gpu_step.py [--device cuda|cpu] [--steps 10] [--top 30]
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gpu_training as G  # noqa: E402  (its model and step: one definition of each)

import minigrad as mg  # noqa: E402


def make_step(batch, device, amp):
    mg.manual_seed(0)
    model = G.resnet_mg().to(device)
    rng = np.random.default_rng(0)
    X = mg.tensor(rng.standard_normal((batch, 3, 32, 32)).astype(np.float32), device=device)
    y = mg.tensor(rng.integers(0, 10, batch), device=device)
    step, _ = G.mg_step_fn(model, X, y, amp=amp)
    return step


def timed(step, device, n):
    step()
    mg.cuda.synchronize() if device == "cuda" else None
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    if device == "cuda":
        mg.cuda.synchronize()
    return (time.perf_counter() - t0) / n * 1e3


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    batches = (8, 32, 128, 512) if args.device == "cuda" else (2, 8)
    for amp in (False, True):
        name = "fp16 autocast" if amp else "fp32"
        for batch in batches:
            step = make_step(batch, args.device, amp)
            print(f"{name} batch {batch:4d}: {timed(step, args.device, args.steps):8.2f} ms "
                  "a step", flush=True)
        step = make_step(batches[-2], args.device, amp)
        timed(step, args.device, 2)
        profile = cProfile.Profile()
        profile.enable()
        timed(step, args.device, args.steps)
        profile.disable()
        print(f"==== {name}, batch {batches[-2]}, {args.steps} steps")
        stats = pstats.Stats(profile).sort_stats("tottime")
        stats.print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
