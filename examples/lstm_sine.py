"""Predict the next point of a sine wave with an LSTM (nn.LSTM + nn.Linear, Adam).

Each training example is a stretch of sin(ω t + φ) with a random frequency ω and phase φ;
the LSTM reads it point by point and, after every point, predicts the next one. The loss
is the mean squared error over all steps. At the end the script compares the model with
the naive forecast "the next value equals the last one": a network that learned the
dynamics beats it by far (the naive error is of the order of the step ω·Δt).

    python examples/lstm_sine.py [--steps 300] [--hidden 32] [--lr 0.01] [--seed 0]
"""
import argparse

import numpy as np

import minigrad as mg
from minigrad import nn, optim
from minigrad.cli.common import nonnegative_int, positive_float, positive_int


def batch(rng, n=32, length=40, dt=0.1):
    """(length, n, 1) inputs and the (length, n, 1) next values: the LSTM's layout."""
    omega = rng.uniform(0.5, 2.0, size=(1, n, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(1, n, 1))
    t = np.arange(length + 1)[:, None, None] * dt
    wave = np.sin(omega * t + phase).astype(np.float32)
    return mg.tensor(wave[:-1]), mg.tensor(wave[1:])


class NextValue(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.lstm(x)          # (length, n, hidden): the state after every point
        return self.head(out)          # a prediction of the next value at every step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=positive_int, default=300)
    parser.add_argument("--hidden", type=positive_int, default=32)
    parser.add_argument("--lr", type=positive_float, default=1e-2)
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    args = parser.parse_args(argv)

    mg.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = NextValue(args.hidden)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    losses = []
    for step in range(1, args.steps + 1):
        x, y = batch(rng)
        loss = nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()                # backpropagation through time: the graph does it
        opt.step()
        losses.append(loss.item())
        if step % 50 == 0 or step == 1:
            print(f"step {step:4d}  mse {loss.item():.5f}")

    x, y = batch(np.random.default_rng(args.seed + 1), n=256)   # held-out waves
    with mg.no_grad():
        model_mse = nn.functional.mse_loss(model(x)[5:], y[5:]).item()  # after 5 points
    naive_mse = float(((x.numpy() - y.numpy())[5:] ** 2).mean())
    print(f"held-out mse: LSTM {model_mse:.5f}, naive (repeat the last value) "
          f"{naive_mse:.5f}")
    return losses, model_mse, naive_mse


if __name__ == "__main__":
    main()
