r"""Kernel launches of minigrad's CUDA training steps, counted on the CPU.

    python benchmarks/count_launches.py [--where] [--depth 1] [--json PATH] [--host]

Runs the training steps of gpu_training.py (the small ResNet and the digits MLP, fp32 and
fp16 autocast; zero_grad, forward, cross-entropy, scaled backward, fused Adam) with
``device="cuda"`` on the CuPy stand-in (tests/fakecupy), which executes them with NumPy
and counts every CuPy operation that would start work on a GPU: elementwise kernels,
reductions, copies and casts, fills, gathers, GEMMs and minigrad's own compiled kernels
(each one launch), host↔device copies. Prints the launches of one step (after two
warm-up steps) by kind and, with ``--where``, by the minigrad line that made them.

The count is a proxy, good to within what the stand-in models: what cuBLAS or CuPy launch
inside one call (a split-K reduction, a two-pass reduction) is counted as one launch, and
copies inside ``cupy.matmul`` follow CuPy's rule coarsely. Kernel profiles of the real
step on a GPU (profile_gpu_step.py --kernels) are the measurement; this is the number a
change to the CUDA path can be checked against without a GPU (tests/test_launch_counts.py
keeps the budgets). The batch is small (2): launches do not depend on it.

``--host`` also times a step outside the emulated kernels' NumPy work: minigrad's Python
and the stand-in's own per-operation cost, a rough proxy for the host time a step takes
on a GPU (CuPy's per-call cost is not the stand-in's), for comparing code paths.
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "fakecupy"), str(ROOT), str(ROOT / "benchmarks")]

import cupy  # noqa: E402  (the stand-in: first on the path)

if not hasattr(cupy, "counting"):
    raise SystemExit("count_launches.py: `import cupy` did not find the CuPy stand-in "
                     "(tests/fakecupy)")

import fakecupy_plugin  # noqa: E402, F401  (minigrad's compiled kernels by their twins)
import gpu_training as G  # noqa: E402  (the models and the step: one definition of each)
import numpy as np  # noqa: E402

G.DEV = "cuda"
BATCH = 2


def count(fn, where=False):
    """(launches by kind, launches by (kind, minigrad line)) of one call of ``fn``."""
    with cupy.counting(where=where):
        fn()
    return collections.Counter(cupy.launches), collections.Counter(cupy.launch_sites)


def resnet_data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((BATCH, 3, 32, 32)).astype(np.float32), \
        rng.integers(0, 10, BATCH)


def mlp_data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((BATCH, 64)).astype(np.float32), rng.integers(0, 10, BATCH)


MODELS = {"resnet": (G.resnet_mg, resnet_data), "mlp": (G.mlp_mg, mlp_data)}


def step_cases():
    """(label, model, amp, set_to_none) for every training step counted: each model, fp32
    and fp16 autocast, gradients zeroed in place and set to None ("resnet fp16
    set_to_none")."""
    return [(f"{m} {'fp16' if amp else 'fp32'}{' set_to_none' if none else ''}", m, amp, none)
            for m in MODELS for amp in (False, True) for none in (False, True)]


def warm_step(model_name, amp, warmup, set_to_none=False):
    """The training step of ``model_name`` after ``warmup`` steps (compiled kernels, flat
    buffers, optimizer state made), its gradients zeroed by ``zero_grad(set_to_none)``."""
    make, data = MODELS[model_name]
    model, X, y = G.mg_setup(make, *data())
    step, _ = G.mg_step_fn(model, X, y, amp, set_to_none)
    for _ in range(warmup):
        step()
    return step


def step_launches(model_name, amp, where=False, warmup=2, set_to_none=False):
    """Launches of one training step of ``model_name`` (:func:`warm_step`)."""
    return count(warm_step(model_name, amp, warmup, set_to_none), where)


def host_ms(model_name, amp, steps=30, warmup=3):
    """Milliseconds a step spends outside the emulated kernels (the least of ``steps``:
    what the code costs, without the machine's interruptions):
    minigrad's Python plus the stand-in's per-operation overhead and its NumPy work on
    this tiny batch. A proxy for a step's host time on a GPU, to compare code paths with
    (the stand-in's costs per operation are not CuPy's)."""
    step = warm_step(model_name, amp, warmup)
    times = []
    for _ in range(steps):
        e0, t0 = fakecupy_plugin.emulated_seconds[0], time.perf_counter()
        step()
        times.append(time.perf_counter() - t0 - (fakecupy_plugin.emulated_seconds[0] - e0))
    return 1e3 * min(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--where", action="store_true", help="also by minigrad line")
    ap.add_argument("--depth", type=int, default=1,
                    help="with --where: how many minigrad frames name a launch's site")
    ap.add_argument("--json", help="write {model: {fp32|fp16: {kind: n}}} here")
    ap.add_argument("--host", action="store_true",
                    help="also the step's host time outside the emulated kernels (ms)")
    args = ap.parse_args(argv)
    cupy.SITE_DEPTH = args.depth
    out = {}
    for name in MODELS:
        for amp in (False, True):
            label = "fp16" if amp else "fp32"
            kinds, sites = step_launches(name, amp, args.where)
            out.setdefault(name, {})[label] = dict(kinds)
            host = f", {host_ms(name, amp):.2f} ms host" if args.host else ""
            print(f"==== {name} {label}: {sum(kinds.values())} launches a step{host}")
            for kind, n in kinds.most_common():
                print(f"  {n:5d}  {kind}")
            if args.where:
                print("  by line:")
                for (kind, site), n in sorted(sites.items(), key=lambda kv: -kv[1]):
                    print(f"  {n:5d}  {kind:28s} {site}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
