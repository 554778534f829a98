r"""Continual learning on two digit tasks, with and without elastic weight consolidation.

    python examples/ewc_continual.py [--epochs 10] [--lam 10000] [--seed 0]

A network trained on task A and then on task B forgets A ("catastrophic forgetting",
McCloskey & Cohen 1989): nothing in B's loss asks the weights A relied on to stay.
Elastic weight consolidation (Kirkpatrick et al. 2017) adds that request, weighted by how
much each weight mattered for A. After training on A, at θ*_A, it estimates the diagonal
of the Fisher information of A's predictive distribution,

    F_i = E_{x ~ A} E_{y ~ p_θ(y|x)} [ (∂ log p_θ(y|x) / ∂θ_i)² ]     at θ = θ*_A,

(a Monte-Carlo estimate: one label y drawn from the model's own prediction per image, one
backward pass per image), and trains on B with

    L(θ) = L_B(θ) + (λ/2) Σ_i F_i (θ_i − θ*_{A,i})²

— a quadratic (Laplace) approximation of A's log-posterior around θ*_A: weights with a
large F_i are held near their A values, the others are free for B.

The two tasks are the digits and the **permuted digits**: the same images with their 64
pixels shuffled by one fixed random permutation (the 8×8 version of Kirkpatrick et al.'s
permuted MNIST). Both have the same 10 labels and one shared output layer, and a 64-256-
256-10 MLP can learn both at once. It is trained with Adam on A, then on B, once
without and once with the EWC penalty, from the same weights after A.

Expected (seed 0, about 6 s on a 2-core EPYC virtual machine; test accuracy on the 360
held-out images of each task; NumPy with OpenBLAS on two threads, whose rounding can move
a number slightly)::

    after task A                A  96.9%   B   4.4%
    after task B, plain         A  68.3%   B  96.4%    (forgot 28.6 points of A)
    after task B, EWC λ=10000   A  89.4%   B  95.3%    (forgot 7.5 points of A)

Seeds 1 and 2: plain forgot 13.6 and 27.2 points, EWC 4.7 and 6.7, for about one point
less on B. ``--lam`` trades A against B: λ = 1000 forgot 11.9 points (B 96.7%),
λ = 100000 forgot 4.2 (B 91.4%); λ = 0 is the plain run.
"""
import argparse
import time

import numpy as np

import minigrad as mg
from minigrad import nn, optim
from minigrad.cli.common import nonnegative_float, nonnegative_int, positive_float, positive_int
from minigrad.data import DataLoader, TensorDataset, digits_splits
from minigrad.nn.functional import cross_entropy


def standardize(train, test, floor=0.1):
    """Per-pixel standardization with the training set's statistics."""
    (X_train, y_train), (X_test, y_test) = train.tensors, test.tensors
    mean, std = X_train.mean(0), X_train.std(0, correction=0) + floor
    return (TensorDataset((X_train - mean) / std, y_train),
            TensorDataset((X_test - mean) / std, y_test))


def permuted(dataset, permutation):
    X, y = dataset.tensors
    return TensorDataset(X[:, permutation], y)


def build_model():
    return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, 10))


def accuracy(model, dataset):
    model.eval()
    X, y = dataset.tensors
    with mg.no_grad():
        return (model(X).argmax(1) == y).float().mean().item()


def fisher_diagonal(model, dataset, rng):
    r"""F_i = mean over images of (∂ log p(ŷ|x)/∂θ_i)², ŷ drawn from the model's p(·|x)."""
    model.eval()
    params = list(model.parameters())
    F = [np.zeros(p.shape) for p in params]
    X, _ = dataset.tensors
    with mg.no_grad():
        probs = model(X).softmax(1).numpy().astype(np.float64)
    for i in range(len(X)):
        p = probs[i] / probs[i].sum()
        y_hat = int(rng.choice(10, p=p))                       # ŷ ~ p_θ(y|x)
        log_p = model(X[i:i + 1]).log_softmax(1)[0, y_hat]     # log p_θ(ŷ|x)
        for f, g in zip(F, mg.autograd.grad(log_p, params)):
            f += g.numpy().astype(np.float64) ** 2             # (∂ log p / ∂θ_i)²
    return [mg.tensor((f / len(X)).astype(np.float32)) for f in F]


def ewc_penalty(model, fisher, anchor, lam):
    r"""(λ/2) Σ_i F_i (θ_i − θ*_i)²."""
    total = 0.0
    for p, F, star in zip(model.parameters(), fisher, anchor):
        total = total + (F * (p - star) ** 2).sum()
    return 0.5 * lam * total


def fit(model, dataset, epochs, lr, seed, penalty=None):
    loader = DataLoader(dataset, batch_size=32, shuffle=True, seed=seed)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        model.train()
        for X, y in loader:
            optimizer.zero_grad()
            loss = cross_entropy(model(X), y)
            if penalty is not None:
                loss = loss + penalty(model)
            loss.backward()
            optimizer.step()
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=positive_int, default=10, help="epochs per task")
    parser.add_argument("--lam", type=nonnegative_float, default=1e4, help="λ of the EWC penalty")
    parser.add_argument("--lr", type=positive_float, default=1e-3)
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    train_a, test_a = standardize(*digits_splits(flat=True))
    permutation = rng.permutation(64)
    train_b, test_b = permuted(train_a, permutation), permuted(test_a, permutation)

    def report(name, model, before=None):
        acc_a, acc_b = accuracy(model, test_a), accuracy(model, test_b)
        forgot = ""
        if before is not None:
            forgot = f"    (forgot {100 * (before - acc_a):.1f} points of A)"
        print(f"{name:27s} A {acc_a:6.1%}   B {acc_b:6.1%}{forgot}")
        return acc_a

    mg.manual_seed(args.seed)
    model = fit(build_model(), train_a, args.epochs, args.lr, args.seed)
    acc_a = report("after task A", model)
    after_a = model.state_dict()

    # the importance of each weight for A, and the weights to stay near
    fisher = fisher_diagonal(model, train_a, rng)
    anchor = [p.detach().clone() for p in model.parameters()]

    plain = build_model()
    plain.load_state_dict(after_a)
    fit(plain, train_b, args.epochs, args.lr, args.seed + 1)
    report("after task B, plain", plain, acc_a)

    ewc = build_model()
    ewc.load_state_dict(after_a)
    fit(ewc, train_b, args.epochs, args.lr, args.seed + 1,
        penalty=lambda m: ewc_penalty(m, fisher, anchor, args.lam))
    report(f"after task B, EWC λ={args.lam:g}", ewc, acc_a)
    print(f"({time.perf_counter() - start:.1f}s)")


if __name__ == "__main__":
    main()
