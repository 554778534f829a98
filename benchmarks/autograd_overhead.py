"""Autograd overhead: minigrad vs PyTorch CPU (when installed) and hand-written NumPy,
side by side in one process.

(a) a chain of 200 small elementwise ops on 10-element tensors, forward + backward:
    pure engine overhead, reported per op (target: ≤ 5 µs);
(b) one training step of an MLP 64-256-256-10 on a batch of 128 written with raw ops
    (matmul, add, relu, log-softmax cross-entropy, SGD under no_grad)
    (target: within 1.2× of PyTorch CPU).

    python benchmarks/autograd_overhead.py [--repeats 30]
"""
import argparse

import numpy as np
from _timing import median_time  # benchmarks/_timing.py

import minigrad as mg

try:
    import torch
except ImportError:  # the PyTorch columns are left out
    torch = None




# ---------------------------------------------------------------- (a) op chain
def chain_minigrad():
    x = mg.randn(10, requires_grad=True)
    w = mg.randn(10)

    def step():
        y = x
        for _ in range(50):
            y = ((y * w) + 0.5).tanh() - x
        y.sum().backward()
        x.grad = None
    return step


def chain_torch():
    x = torch.randn(10, requires_grad=True)
    w = torch.randn(10)

    def step():
        y = x
        for _ in range(50):
            y = ((y * w) + 0.5).tanh() - x
        y.sum().backward()
        x.grad = None
    return step


# ---------------------------------------------------------------- (b) MLP step
SIZES = (64, 256, 256, 10)
BATCH = 128


def mlp_data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)
    Ws = [(rng.standard_normal((a, b)) * np.sqrt(2 / a)).astype(np.float32)
          for a, b in zip(SIZES[:-1], SIZES[1:])]
    bs = [np.zeros(b, np.float32) for b in SIZES[1:]]
    return X, y, Ws, bs


def mlp_minigrad(lr=0.01):
    X, y, Ws, bs = mlp_data()
    X, idx, y = mg.tensor(X), mg.arange(BATCH), mg.tensor(y)
    params = [mg.tensor(a, requires_grad=True) for pair in zip(Ws, bs) for a in pair]

    def step():
        h = X
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i < len(params) - 2:
                h = h.relu()
        loss = -h.log_softmax(1)[idx, y].mean()
        loss.backward()
        with mg.no_grad():
            for p in params:
                p.data -= lr * p.grad.data
                p.grad = None
    return step


def mlp_torch(lr=0.01):
    X, y, Ws, bs = mlp_data()
    X, idx, y = torch.tensor(X), torch.arange(BATCH), torch.tensor(y)
    params = [torch.tensor(a, requires_grad=True) for pair in zip(Ws, bs) for a in pair]

    def step():
        h = X
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i < len(params) - 2:
                h = h.relu()
        loss = -h.log_softmax(1)[idx, y].mean()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
    return step


def mlp_numpy(lr=0.01):
    """The same step with the backward pass derived by hand."""
    X, y, Ws, bs = mlp_data()
    idx = np.arange(BATCH)

    def step():
        hs, pre = [X], []
        for i, (W, b) in enumerate(zip(Ws, bs)):
            z = hs[-1] @ W + b
            pre.append(z)
            hs.append(np.maximum(z, 0) if i < len(Ws) - 1 else z)
        z = hs[-1]
        z = z - z.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        g = p
        g[idx, y] -= 1
        g /= BATCH
        for i in reversed(range(len(Ws))):
            gW, gb = hs[i].T @ g, g.sum(0)
            if i:
                g = (g @ Ws[i].T) * (pre[i - 1] > 0)
            Ws[i] -= lr * gW
            bs[i] -= lr * gb
    return step


def main():
    parser = argparse.ArgumentParser(description="autograd overhead benchmark")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    n_ops = 50 * 4 + 1  # mul, add, tanh, sub per iteration, and the sum
    rows = []
    t_mg = median_time(chain_minigrad(), args.repeats)
    t_th = median_time(chain_torch(), args.repeats) if torch else None
    rows.append(("(a) 200-op chain, per op fwd+bwd", t_mg / n_ops, t_th and t_th / n_ops, None))
    t_mg = median_time(mlp_minigrad(), args.repeats)
    t_th = median_time(mlp_torch(), args.repeats) if torch else None
    t_np = median_time(mlp_numpy(), args.repeats)
    rows.append(("(b) MLP 64-256-256-10, batch 128, step", t_mg, t_th, t_np))

    print(f"numpy {np.__version__}" + (f", torch {torch.__version__} "
          f"({torch.get_num_threads()} threads)" if torch else ", torch not installed"))
    print(f"{'benchmark':42s} {'minigrad':>11s} {'torch':>11s} {'numpy':>11s} "
          f"{'mg/torch':>9s} {'numpy/torch':>11s}")
    for name, a, b, c in rows:
        fmt = lambda t: f"{t * 1e6:9.1f}µs" if t is not None else f"{'-':>11s}"  # noqa: E731
        ratio = f"{a / b:9.2f}" if b else f"{'-':>9s}"
        ratio_np = f"{c / b:11.2f}" if (b and c) else f"{'-':>11s}"
        print(f"{name:42s} {fmt(a)} {fmt(b)} {fmt(c)} {ratio} {ratio_np}")


if __name__ == "__main__":
    main()
