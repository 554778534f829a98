"""A variational autoencoder (Kingma & Welling 2014) on the 8×8 digits: the ELBO written
with minigrad.distributions, trained through a reparameterized sample.

The encoder maps an image x (64 pixels in [0, 1]) to q(z | x) = N(μ(x), σ(x)²) over a
2-D code z; the decoder maps z to 64 Bernoulli logits, p(x | z). Training maximizes

    ELBO(x) = E_q[log p(x | z)] − KL(q(z | x) ‖ N(0, I))

with one sample z = μ + σ·ε (``rsample``: the gradient flows through μ and σ) and the KL
in closed form (``kl_divergence``). The script prints the negative ELBO per image every
few epochs and, at the end, on the held-out images, next to a baseline with no code at
all: a Bernoulli per pixel at its training mean. A model whose 2-D code carries
information about the image beats it clearly.

    python examples/vae_digits.py [--epochs 30] [--lr 0.003] [--seed 0]

Expected (seed 0, about 3 s on a 2-core EPYC virtual machine): −ELBO 32.7 nats per image
after the first epoch, 20.4 after 30, and on the held-out images ``VAE 20.56, pixels at
their mean 24.69`` (100 epochs: 19.8).
"""
import argparse

import numpy as np

import minigrad as mg
from minigrad import nn, optim
from minigrad.cli.common import nonnegative_int, positive_float, positive_int
from minigrad.data import DataLoader, TensorDataset, digits_splits
from minigrad.distributions import Bernoulli, Independent, Normal, kl_divergence


class VAE(nn.Module):
    def __init__(self, hidden=128, code=2):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 2 * code))
        self.decoder = nn.Sequential(nn.Linear(code, hidden), nn.ReLU(), nn.Linear(hidden, 64))

    def posterior(self, x):
        mu, log_sigma = self.encoder(x).chunk(2, dim=-1)
        return Independent(Normal(mu, log_sigma.exp()), 1)        # q(z | x), diagonal

    def negative_elbo(self, x):
        """−ELBO per image, averaged over the batch."""
        q = self.posterior(x)
        z = q.rsample()                                            # z = μ + σ·ε
        p_x = Independent(Bernoulli(logits=self.decoder(z)), 1)    # p(x | z)
        prior = Independent(Normal(mg.zeros_like(z), mg.ones_like(z)), 1)
        return (kl_divergence(q, prior) - p_x.log_prob(x)).mean()


def binarized(dataset):
    """The (N, 1, 8, 8) images in [0, 1] as 64-pixel rows rounded to 0/1: the Bernoulli
    decoder's targets."""
    X, _ = dataset.tensors
    return (X.reshape(len(X), 64) > 0.5).to(dtype=mg.float32)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=positive_int, default=30)
    parser.add_argument("--lr", type=positive_float, default=3e-3)
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    args = parser.parse_args(argv)

    mg.manual_seed(args.seed)
    train, test = digits_splits()
    X_train, X_test = binarized(train), binarized(test)
    loader = DataLoader(TensorDataset(X_train), batch_size=64, shuffle=True, seed=args.seed)
    model = VAE()
    opt = optim.Adam(model.parameters(), lr=args.lr)
    history = []
    for epoch in range(1, args.epochs + 1):
        total, count = 0.0, 0
        for (x,) in loader:
            loss = model.negative_elbo(x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, count = total + loss.item() * len(x), count + len(x)
        history.append(total / count)
        if epoch % 5 == 0 or epoch == 1:
            print(f"epoch {epoch:3d}  -ELBO {history[-1]:.2f} nats per image")

    with mg.no_grad():
        mg.manual_seed(args.seed + 1)
        held_out = model.negative_elbo(X_test).item()
    p = X_train.numpy().mean(0).clip(1e-3, 1 - 1e-3)            # independent pixels
    x = X_test.numpy()
    baseline = -float((x * np.log(p) + (1 - x) * np.log(1 - p)).sum(1).mean())
    print(f"held-out -ELBO: VAE {held_out:.2f}, pixels at their mean {baseline:.2f} "
          "(nats per image)")
    return history, held_out, baseline


if __name__ == "__main__":
    main()
