"""One training step (forward, cross-entropy, backward, SGD update) of an MLP and of
LeNet-style CNNs on a batch of 128: minigrad vs PyTorch CPU (when installed), side by
side in one process, the same weights on both sides, median of repeats.

    python benchmarks/train_step.py [--repeats 30] [--threads 1] [--profile]

Models:
  mlp        64-256-256-10 with ReLU (the raw-ops benchmark of autograd_overhead.py,
             written here with nn.Linear and nn.CrossEntropyLoss);
  lenet5     LeNet-5 on 1×28×28 (MNIST size): conv5(6, pad 2)-pool-conv5(16)-pool-
             120-84-10, ReLU and max pooling;
  cnn8x8     the model of examples/cnn_digits.py on 1×8×8 digits.

Targets (issue 3): MLP within 1.2× of PyTorch, CNN within 2×. ``--threads`` limits both
NumPy's BLAS (through threadpoolctl, when installed) and torch to the same number of
threads, so the ratio compares like with like (default 1: one core each).
``--profile`` prints, per model, the minigrad time per autograd Function (forward and
backward summed over a step), to see which op dominates.
"""
import argparse
import time
from collections import defaultdict

import numpy as np
from _timing import median_time  # benchmarks/_timing.py

import minigrad as mg
from minigrad import nn, optim

try:
    import torch
except ImportError:  # the PyTorch columns are left out
    torch = None

BATCH = 128


# ----------------------------------------------------------------- models (both libraries)
def mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(64, 256), lib.nn.ReLU(), lib.nn.Linear(256, 256),
                             lib.nn.ReLU(), lib.nn.Linear(256, 10))


def lenet5(lib):
    n = lib.nn
    return n.Sequential(n.Conv2d(1, 6, 5, padding=2), n.ReLU(), n.MaxPool2d(2),
                        n.Conv2d(6, 16, 5), n.ReLU(), n.MaxPool2d(2), n.Flatten(),
                        n.Linear(16 * 5 * 5, 120), n.ReLU(), n.Linear(120, 84), n.ReLU(),
                        n.Linear(84, 10))


def cnn8x8(lib):
    """The model of examples/cnn_digits.py (its dropout left out: no randomness here)."""
    n = lib.nn
    return n.Sequential(n.Conv2d(1, 32, 3, padding=1), n.ReLU(), n.MaxPool2d(2),
                        n.Conv2d(32, 64, 3, padding=1), n.ReLU(), n.MaxPool2d(2), n.Flatten(),
                        n.Linear(64 * 2 * 2, 128), n.ReLU(), n.Linear(128, 10))


MODELS = {"mlp": (mlp, (64,)), "lenet5": (lenet5, (1, 28, 28)), "cnn8x8": (cnn8x8, (1, 8, 8))}


def data(input_shape, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((BATCH,) + input_shape).astype(np.float32)
    y = rng.integers(0, 10, BATCH)
    return X, y


def step_minigrad(build, input_shape, lr=0.01):
    mg.manual_seed(0)
    model = build(mg)
    X, y = data(input_shape)
    X, y = mg.tensor(X), mg.tensor(y)
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=lr)

    def step():
        opt.zero_grad()
        loss_fn(model(X), y).backward()
        opt.step()
    return step, model


def step_torch(build, input_shape, mg_model, lr=0.01):
    model = build(torch)
    with torch.no_grad():  # the same starting weights as minigrad's
        for p, q in zip(model.parameters(), mg_model.parameters()):
            p.copy_(torch.from_numpy(q.numpy().copy()))
    X, y = data(input_shape)
    X, y = torch.tensor(X), torch.tensor(y)
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=lr)

    def step():
        opt.zero_grad()
        loss_fn(model(X), y).backward()
        opt.step()
    return step




# ----------------------------------------------------------------- profile
def profile(step, repeats):
    """Seconds per step spent in each Function's forward and backward (by class name),
    *exclusive* of the ops they call (a backward written in Tensor ops runs other
    Functions' forwards; that time is charged to those)."""
    from minigrad.autograd.function import Function

    totals = defaultdict(float)
    stack = []  # time spent in nested timed calls, one entry per open call
    patched = []

    def timed(fn, key):
        def wrapper(self, *a, **k):
            stack.append(0.0)
            t0 = time.perf_counter()
            try:
                return fn(self, *a, **k)
            finally:
                elapsed = time.perf_counter() - t0
                inner = stack.pop()
                totals[key] += elapsed - inner
                if stack:
                    stack[-1] += elapsed
        return wrapper

    def subclasses(c):
        for s in c.__subclasses__():
            yield s
            yield from subclasses(s)
    for cls in set(subclasses(Function)):
        for attr in ("forward", "backward"):
            fn = cls.__dict__.get(attr)
            if fn is not None:
                setattr(cls, attr, timed(fn, (cls.__name__, attr)))
                patched.append((cls, attr, fn))
    try:
        t0 = time.perf_counter()
        for _ in range(repeats):
            step()
        wall = (time.perf_counter() - t0) / repeats
    finally:
        for cls, attr, fn in patched:
            setattr(cls, attr, fn)
    return {k: v / repeats for k, v in totals.items()}, wall


def main():
    parser = argparse.ArgumentParser(description="training-step benchmark")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    try:
        from threadpoolctl import threadpool_limits
        limiter = threadpool_limits(args.threads)
        blas = f"NumPy BLAS limited to {args.threads} thread(s)"
    except ImportError:
        limiter = None
        blas = "threadpoolctl not installed: NumPy BLAS threads not limited"
    if torch is not None:
        torch.set_num_threads(args.threads)
        torch.manual_seed(0)

    rows = []
    for name in args.models:
        build, shape = MODELS[name]
        step, model = step_minigrad(build, shape)
        t_mg = median_time(step, args.repeats)
        t_th = median_time(step_torch(build, shape, model), args.repeats) if torch else None
        rows.append((name, t_mg, t_th))
        if args.profile:
            times, wall = profile(step, max(5, args.repeats // 3))
            top = sorted(times.items(), key=lambda kv: -kv[1])[:8]
            print(f"[{name}] minigrad time per step by op, exclusive ({wall * 1e3:.2f} ms "
                  "per profiled step):")
            for (op, phase), t in top:
                print(f"    {op:22s} {phase:8s} {t * 1e3:8.3f} ms  {100 * t / wall:5.1f}%")

    print(f"numpy {np.__version__}, {blas}; " + (
        f"torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch
        else "torch not installed"))
    print(f"{'one SGD step, batch 128':28s} {'minigrad':>10s} {'torch':>10s} {'mg/torch':>9s}"
          f" {'target':>7s}")
    targets = {"mlp": 1.2, "lenet5": 2.0, "cnn8x8": 2.0}
    for name, a, b in rows:
        fmt = lambda t: f"{t * 1e3:8.3f}ms" if t is not None else f"{'-':>10s}"  # noqa: E731
        ratio = f"{a / b:9.2f}" if b else f"{'-':>9s}"
        print(f"{name:28s} {fmt(a)} {fmt(b)} {ratio} {targets[name]:6.1f}×")
    if limiter is not None:
        limiter.restore_original_limits()


if __name__ == "__main__":
    main()
