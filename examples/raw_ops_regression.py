"""Fit y = sin(3x) + noise with a two-layer network written in raw minigrad ops.

Nothing from minigrad.nn or minigrad.optim: parameters are plain tensors with
requires_grad=True, the loss is an expression, and the update is SGD by hand under
no_grad. Run it and watch the loss fall (it should end below 0.01):

    python examples/raw_ops_regression.py
"""
import argparse
import math

import minigrad as mg
from minigrad.cli.common import nonnegative_int, positive_int


def main(steps=2000, hidden=32, lr=0.1, seed=0):
    mg.manual_seed(seed)
    x = mg.linspace(-1, 1, 256).reshape(256, 1)
    y = (3 * x).sin() + 0.05 * mg.randn(256, 1)

    # N(0, 1/fan_in) for both layers (fan_in is 1 for the first)
    W1 = mg.randn(1, hidden).requires_grad_()
    b1 = mg.zeros(hidden, requires_grad=True)
    W2 = (mg.randn(hidden, 1) * math.sqrt(1.0 / hidden)).requires_grad_()
    b2 = mg.zeros(1, requires_grad=True)
    params = [W1, b1, W2, b2]

    for step in range(steps + 1):
        pred = (x @ W1 + b1).tanh() @ W2 + b2
        loss = ((pred - y) ** 2).mean()
        loss.backward()
        with mg.no_grad():
            for p in params:
                p.data -= lr * p.grad.data  # θ ← θ − lr·g
                p.grad = None
        if step % (steps // 10) == 0:
            print(f"step {step:5d}   loss {loss.item():.5f}")
    return loss.item()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=positive_int, default=2000)
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    args = parser.parse_args()
    main(steps=args.steps, seed=args.seed)
