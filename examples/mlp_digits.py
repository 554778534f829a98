"""Train a multilayer perceptron on the 8×8 handwritten digits shipped with minigrad.

    python examples/mlp_digits.py [--epochs 30] [--seed 0] [--lr 0.002] [--no-progress]

The model is 64-256-256-10 with ReLU and dropout, trained with AdamW (decoupled weight
decay), a cosine learning-rate schedule over all steps, and label-smoothed
cross-entropy. Pixels are standardized with the training set's per-pixel mean and std.
Accuracy is measured once, at the end, on the fixed held-out split of
``minigrad.data.digits_splits()`` (360 images never seen in training).

Expected (seed 0, about 4 s of training, 6 s in all, on a 2-core EPYC virtual machine):
the training loss falls from 1.20 in the first epoch to 0.52 (label smoothing 0.1 keeps it
well above 0), and the last line reads ``test accuracy 98.1% (353/360)``; seeds 0-5 gave
98.1% to 98.6% (NumPy with OpenBLAS; another BLAS may round differently and change a
prediction or two).
"""
import argparse
import time

from tqdm import tqdm

import minigrad as mg
from minigrad import nn, optim
from minigrad.cli.common import nonnegative_float, nonnegative_int, positive_float, positive_int
from minigrad.data import DataLoader, TensorDataset, digits_splits


def standardize(train, test, floor=0.1):
    """Subtract the training set's per-pixel mean, divide by its std (plus ``floor``, so
    the always-blank border pixels are not blown up)."""
    X_train, y_train = train.tensors
    X_test, y_test = test.tensors
    mean = X_train.mean(0)
    std = X_train.std(0, correction=0) + floor
    return (TensorDataset((X_train - mean) / std, y_train),
            TensorDataset((X_test - mean) / std, y_test))


def build_model(dropout=0.2):
    return nn.Sequential(
        nn.Linear(64, 256), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(256, 256), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(256, 10),
    )


def accuracy(model, X, y):
    """(fraction correct, number correct) of ``model`` in eval mode."""
    model.eval()
    with mg.no_grad():
        correct = int((model(X).argmax(1) == y).sum().item())
    return correct / len(y), correct


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=positive_int, default=30)
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--lr", type=positive_float, default=2e-3)
    parser.add_argument("--weight-decay", type=nonnegative_float, default=0.05)
    parser.add_argument("--label-smoothing", type=nonnegative_float, default=0.1)
    parser.add_argument("--seed", type=nonnegative_int, default=0,
                        help="initialization and shuffling")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    mg.manual_seed(args.seed)
    train, test = standardize(*digits_splits(flat=True))  # the fixed held-out split
    loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, seed=args.seed)
    model = build_model()
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    optimizer = optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs * len(loader))
    print(f"{len(train)} training and {len(test)} test images; model:\n{model}")

    start = time.perf_counter()
    for epoch in tqdm(range(1, args.epochs + 1), desc="epochs", disable=args.no_progress):
        model.train()
        total_loss, correct = 0.0, 0
        for X, y in loader:
            optimizer.zero_grad()
            logits = model(X)
            loss = loss_fn(logits, y)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += loss.item() * len(y)
            correct += int((logits.argmax(1) == y).sum().item())
        tqdm.write(f"epoch {epoch:3d}  train loss {total_loss / len(train):.4f}  "
                   f"train accuracy {correct / len(train):.2%}")

    acc, n_correct = accuracy(model, *test.tensors)
    print(f"trained in {time.perf_counter() - start:.1f}s")
    print(f"test accuracy {acc:.1%} ({n_correct}/{len(test)})")
    return acc


if __name__ == "__main__":
    main()
