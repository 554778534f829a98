"""Train a small convolutional network on the 8×8 handwritten digits shipped with minigrad.

    python examples/cnn_digits.py [--epochs 20] [--seed 0] [--lr 0.002] [--no-progress]

A LeNet-style network sized for 8×8 inputs::

    conv 3×3, 32 channels (padding 1) → ReLU → max-pool 2   →  32×4×4
    conv 3×3, 64 channels (padding 1) → ReLU → max-pool 2   →  64×2×2
    flatten → linear 256→128 → ReLU → dropout → linear 128→10

trained with AdamW, a cosine learning-rate schedule over all steps and label-smoothed
cross-entropy. Images are normalized with the training set's mean and std (one number
each, as ``Normalize((mean,), (std,))`` would). Accuracy is measured once, at the end,
on the fixed held-out split of ``minigrad.data.digits_splits()`` (360 images).

Expected (seed 0, about 7 s on a 2-core EPYC virtual machine): the training loss falls
from 1.60 in the first epoch to 0.54 (label smoothing 0.1 keeps it well above 0), and the
last line reads ``test accuracy 98.9% (356/360)``; seeds 0-5 gave 98.6% to 99.2% (NumPy
with OpenBLAS; another BLAS may round differently and change a prediction or two).
"""
import argparse
import time

from tqdm import tqdm

import minigrad as mg
from minigrad import nn, optim
from minigrad.cli.common import nonnegative_float, nonnegative_int, positive_float, positive_int
from minigrad.data import DataLoader, TensorDataset, digits_splits


def normalize(train, test):
    """Subtract the mean pixel value of the training images, divide by their std."""
    X_train, y_train = train.tensors
    X_test, y_test = test.tensors
    mean, std = X_train.mean().item(), X_train.std().item()
    return (TensorDataset((X_train - mean) / std, y_train),
            TensorDataset((X_test - mean) / std, y_test))


def build_model(dropout=0.2):
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 2 * 2, 128), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(128, 10),
    )


def accuracy(model, X, y):
    """(fraction correct, number correct) of ``model`` in eval mode."""
    model.eval()
    with mg.no_grad():
        correct = int((model(X).argmax(1) == y).sum().item())
    return correct / len(y), correct


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=positive_int, default=20)
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--lr", type=positive_float, default=2e-3)
    parser.add_argument("--weight-decay", type=nonnegative_float, default=0.05)
    parser.add_argument("--label-smoothing", type=nonnegative_float, default=0.1)
    parser.add_argument("--seed", type=nonnegative_int, default=0,
                        help="initialization and shuffling")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    mg.manual_seed(args.seed)
    train, test = normalize(*digits_splits())  # images (N, 1, 8, 8); fixed held-out split
    loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, seed=args.seed)
    model = build_model()
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    optimizer = optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs * len(loader))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{len(train)} training and {len(test)} test images; {n_params} parameters:\n"
          f"{model}")

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
