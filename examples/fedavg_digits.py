"""Federated averaging (FedAvg, McMahan et al. 2017) simulated over N clients whose data
are NOT identically distributed: each client holds the images of only two digit classes.

Each round, every client starts from the global weights θ, trains E local epochs of SGD on
its own shard, and sends back θ_k; the server averages them weighted by shard size,

    θ ← Σ_k (n_k / n) θ_k.

Compared with one model trained centrally on all the data for the same number of epochs.

    python examples/fedavg_digits.py [--clients 5] [--rounds 20] [--local-epochs 2]
"""
import argparse

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.cli.common import positive_int
from minigrad.data import DataLoader, Subset, digits_splits
from minigrad.nn import functional as F
from minigrad.optim import SGD


def make_model():
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


def train_epochs(model, dataset, epochs, lr=0.05, batch=16, seed=0):
    opt = SGD(model.parameters(), lr=lr, momentum=0.9)
    for _ in range(epochs):
        for x, y in DataLoader(dataset, batch_size=batch, shuffle=True, seed=seed):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()


def accuracy(model, dataset):
    with mg.no_grad():
        x, y = dataset[:]
        return (model(x).argmax(1) == y).float().mean().item()


def non_iid_shards(labels, clients):
    """Client k gets classes {2k mod 10, 2k+1 mod 10}: two digits each."""
    shards = []
    for k in range(clients):
        classes = {(2 * k) % 10, (2 * k + 1) % 10}
        shards.append(np.flatnonzero(np.isin(labels, list(classes))))
    return shards


def main(clients=5, rounds=20, local_epochs=2, seed=0):
    mg.manual_seed(seed)
    train, test = digits_splits(seed=0, flat=True)
    labels = train[:][1].numpy()
    shards = [Subset(train, idx) for idx in non_iid_shards(labels, clients)]
    sizes = np.array([len(s) for s in shards], dtype=np.float64)
    weights = sizes / sizes.sum()

    server = make_model()
    for r in range(rounds):
        client_states = []
        for k, shard in enumerate(shards):
            local = make_model()
            local.load_state_dict(server.state_dict())
            train_epochs(local, shard, local_epochs, seed=seed + 1000 * r + k)
            client_states.append(local.state_dict())
        averaged = {name: sum(w * s[name] for w, s in zip(weights, client_states))
                    for name in client_states[0]}                 # θ ← Σ (n_k/n) θ_k
        server.load_state_dict(averaged)
        if r % 5 == 4 or r == rounds - 1:
            print(f"round {r + 1:3d}  FedAvg test accuracy {accuracy(server, test):.4f}")

    central = make_model()
    train_epochs(central, train, rounds * local_epochs, seed=seed)
    print(f"centralized, {rounds * local_epochs} epochs: test accuracy "
          f"{accuracy(central, test):.4f}")
    print("one client alone (two classes): test accuracy "
          f"{accuracy(_alone(shards[0], rounds * local_epochs), test):.4f}")


def _alone(shard, epochs):
    model = make_model()
    train_epochs(model, shard, epochs)
    return model


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=positive_int, default=5)
    parser.add_argument("--rounds", type=positive_int, default=20)
    parser.add_argument("--local-epochs", type=positive_int, default=2)
    args = parser.parse_args()
    main(args.clients, args.rounds, args.local_epochs)
