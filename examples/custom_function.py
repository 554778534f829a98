"""Write your own differentiable op, PyTorch's way, and let gradcheck judge its backward.

SiLU(x) = x·σ(x) has the derivative σ(x)·(1 + x·(1 − σ(x))). Below it is a custom
autograd Function with that backward written by hand; gradcheck compares it with central
differences in float64 and passes. Then the same op with a typical slip in the backward
(the product rule's second term forgotten): gradcheck fails, shows the worst elements and
says what the error looks like. Finally the op trains a small network like any other.

    python examples/custom_function.py
"""
import argparse

import minigrad as mg
from minigrad.cli.common import nonnegative_int


class SiLU(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)  # inputs and outputs stay differentiable when saved
        return x * x.sigmoid()

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        s = x.sigmoid()  # recomputed from x, so a second derivative flows through it too
        return gy * s * (1 + x * (1 - s))       # d/dx x·σ(x) = σ + x·σ·(1 − σ)


class BadSiLU(SiLU):
    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * x.sigmoid()                 # the slip: x·σ'(x) left out


def main(seed=0, steps=300):
    mg.manual_seed(seed)
    x = mg.randn(3, 4, dtype=mg.float64, requires_grad=True)
    print("gradcheck(SiLU):", mg.gradcheck(SiLU.apply, [x]))
    print("gradgradcheck(SiLU):", mg.gradgradcheck(SiLU.apply, [x]))
    report = mg.gradcheck_report(BadSiLU.apply, [x], max_rows=4)
    print("gradcheck(BadSiLU):", bool(report))
    print(report)

    # the custom op in a model: fit y = |x| with one hidden layer of 16 SiLU units
    inputs = mg.linspace(-2, 2, 64).reshape(64, 1)
    target = inputs.abs()
    model = mg.nn.Sequential(mg.nn.Linear(1, 16), mg.nn.Linear(16, 1))
    opt = mg.optim.Adam(model.parameters(), lr=0.05)
    for step in range(steps + 1):
        hidden = SiLU.apply(model[0](inputs))
        loss = ((model[1](hidden) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % (steps // 3) == 0:
            print(f"step {step:4d}   loss {loss.item():.5f}")
    return bool(report), loss.item()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    args = parser.parse_args()
    main(seed=args.seed)
