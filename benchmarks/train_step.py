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
``--profile`` prints, per model, the table of minigrad's op profiler
(``minigrad.autograd.profiler``): self time per op, forward and backward apart.
"""
import argparse
import time

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
    """The table of minigrad's op profiler over ``repeats`` steps (self time per op, its
    forward and its backward apart), and the wall time of a profiled step."""
    from minigrad.autograd.profiler import profile as op_profile

    with op_profile() as prof:
        t0 = time.perf_counter()
        for _ in range(repeats):
            step()
        wall = (time.perf_counter() - t0) / repeats
    return prof.key_averages().table(row_limit=8), wall


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
            n = max(5, args.repeats // 3)
            table, wall = profile(step, n)
            print(f"[{name}] minigrad ops over {n} steps ({wall * 1e3:.2f} ms per profiled "
                  f"step):\n{table}")

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
