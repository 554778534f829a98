"""Time one ``optimizer.step()`` over 1M parameters in 20 tensors: minigrad vs torch.optim.

For every first-order optimizer in minigrad, and, where torch has a class of the same
name, for torch.optim with its default implementation (``foreach=None``; on CPU this is
the per-tensor loop), with ``foreach=True`` and with ``foreach=False``, all in this one
process, on the same parameter sizes and dtype. Each time is the median over
``--repeats`` steps after ``--warmup`` steps, the implementations taking turns in ten
rounds so that drift in machine speed hits them alike; the ratio columns are minigrad's time over
torch's (below 1: minigrad is faster).

    python benchmarks/optimizer_step.py                    # CPU, float32
    python benchmarks/optimizer_step.py --device cuda      # CuPy vs torch on the GPU
    python benchmarks/optimizer_step.py --only Adam SGD --repeats 200

Without torch only the minigrad column is printed.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

import minigrad as mg
from minigrad import optim

try:
    import torch
except ImportError:  # the comparison is optional
    torch = None

# Hyperparameters that exercise the usual path of each optimizer (momentum on, etc.).
SETTINGS = {
    "SGD": dict(lr=1e-3, momentum=0.9),
    "Adagrad": dict(lr=1e-2),
    "RMSprop": dict(lr=1e-3),
    "Adadelta": dict(),
    "Adam": dict(lr=1e-3),
    "AdamW": dict(lr=1e-3),
    "NAdam": dict(lr=1e-3),
    "RAdam": dict(lr=1e-3),
    "AdaBelief": dict(lr=1e-3),
    "Lion": dict(lr=1e-4),
    "LARS": dict(lr=1.0),
    "LAMB": dict(lr=1e-3),
    "Adamax": dict(lr=2e-3),
    "Rprop": dict(lr=1e-2),
    "ASGD": dict(lr=1e-2),
}


def _sync(device):
    if device == "cuda":
        mg.cuda.synchronize()
        if torch is not None:
            torch.cuda.synchronize()


def time_interleaved(steppers, device, warmup, repeats, rounds=10):
    """Median seconds per call of each stepper. The steppers take turns in ``rounds``
    rounds, so that drift in the machine's speed (frequency, other load) affects them
    alike instead of favouring whichever ran first."""
    for step in steppers:
        for _ in range(warmup):
            step()
    _sync(device)
    samples = [[] for _ in steppers]
    per_round = max(1, repeats // rounds)
    for _ in range(rounds):
        for step, out in zip(steppers, samples):
            for _ in range(per_round):
                start = time.perf_counter()
                step()
                _sync(device)
                out.append(time.perf_counter() - start)
    return [statistics.median(s) for s in samples]


def make_arrays(n_params, n_tensors, dtype, seed=0):
    rng = np.random.default_rng(seed)
    size = n_params // n_tensors
    return [(rng.standard_normal(size).astype(dtype), rng.standard_normal(size).astype(dtype))
            for _ in range(n_tensors)]


def minigrad_stepper(name, arrays, device):
    params = []
    for theta, g in arrays:
        p = mg.tensor(theta.copy(), device=device, requires_grad=True)
        p.grad = mg.tensor(g, device=device)
        params.append(p)
    return getattr(optim, name)(params, **SETTINGS[name]).step


def torch_stepper(name, arrays, device, foreach):
    params = []
    for theta, g in arrays:
        p = torch.tensor(theta.copy(), device=device, requires_grad=True)
        p.grad = torch.tensor(g, device=device)
        params.append(p)
    opt = getattr(torch.optim, name)(params, foreach=foreach, **SETTINGS[name])

    def step():
        with torch.no_grad():
            opt.step()

    return step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--params", type=int, default=1_000_000)
    parser.add_argument("--tensors", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--only", nargs="*", default=None, help="optimizer names")
    args = parser.parse_args(argv)

    names = args.only or list(optim.FIRST_ORDER)
    arrays = make_arrays(args.params, args.tensors, np.dtype(args.dtype))
    print(f"one step() over {args.params:,} {args.dtype} parameters in {args.tensors} tensors "
          f"on {args.device}; median of {args.repeats} steps after {args.warmup} warm-up")
    cpu = platform.processor() or platform.machine()
    print(f"numpy {np.__version__}, python {platform.python_version()}, {cpu}", end="")
    if torch is not None:
        print(f", torch {torch.__version__} ({torch.get_num_threads()} threads)")
    else:
        print(" (torch not installed: minigrad only)")
    header = (f"{'optimizer':<10} {'minigrad':>10} {'torch':>10} {'foreach':>10} {'for-loop':>10}"
              f" {'÷torch':>8} {'÷foreach':>9} {'÷loop':>7}")
    print(header)
    print("-" * len(header))
    for name in names:
        steppers = [minigrad_stepper(name, arrays, args.device)]
        with_torch = torch is not None and hasattr(torch.optim, name)
        if with_torch:
            steppers += [torch_stepper(name, arrays, args.device, foreach)
                         for foreach in (None, True, False)]
        times = time_interleaved(steppers, args.device, args.warmup, args.repeats)
        ours = times[0]
        row = f"{name:<10} {ours * 1e3:>8.3f}ms"
        if with_torch:
            t_default, t_foreach, t_loop = times[1:]
            row += (f" {t_default * 1e3:>8.3f}ms {t_foreach * 1e3:>8.3f}ms {t_loop * 1e3:>8.3f}ms"
                    f" {ours / t_default:>7.2f}x {ours / t_foreach:>8.2f}x {ours / t_loop:>6.2f}x")
        else:
            row += f" {'-':>10} {'-':>10} {'-':>10}"
        print(row, flush=True)
    print("torch = torch.optim's default (foreach=None: per-tensor loop on CPU, foreach on CUDA);"
          " ÷ columns are minigrad time / torch time.")


if __name__ == "__main__":
    main()
