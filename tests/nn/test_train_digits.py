"""End to end on real data: small models trained a few epochs on the shipped digits reach
accuracy far above chance (10%) on the held-out split; training is reproducible; the two
examples reach the 97% they promise."""
import contextlib
import io
import runpy
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.data import DataLoader, digits_splits

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def train(model, loader, epochs, lr=0.1, loss_fn=None):
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    losses = []
    for _ in range(epochs):
        model.train()
        total = 0.0
        for X, y in loader:
            opt.zero_grad()
            loss = loss_fn(model(X), y)
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
        losses.append(total / len(loader.dataset))
    return losses


def accuracy(model, dataset):
    X, y = dataset.tensors
    model.eval()
    with mg.no_grad():
        return float((model(X).argmax(1) == y).numpy().mean())


def test_small_mlp_learns_digits():
    mg.manual_seed(0)
    train_set, test_set = digits_splits(flat=True)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    losses = train(model, DataLoader(train_set, batch_size=32, shuffle=True, seed=0), 3)
    assert losses[-1] < 0.5 * losses[0]
    assert accuracy(model, test_set) > 0.85


def test_small_cnn_learns_digits():
    mg.manual_seed(0)
    train_set, test_set = digits_splits()
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
    train(model, DataLoader(train_set, batch_size=32, shuffle=True, seed=0), 2, lr=0.05)
    assert accuracy(model, test_set) > 0.8


def test_training_is_reproducible():
    def run():
        mg.manual_seed(1)
        train_set, _ = digits_splits(flat=True)
        model = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
        loader = DataLoader(train_set, batch_size=64, shuffle=True)  # global generator
        return train(model, loader, 2), [p.numpy().copy() for p in model.parameters()]

    (l1, p1), (l2, p2) = run(), run()
    assert l1 == l2
    assert all((a == b).all() for a, b in zip(p1, p2))


def test_distillation_trains_a_student():
    """A teacher trained with cross-entropy; a smaller student trained only through the
    distillation loss (and labels, α = 0.7) learns the task."""
    mg.manual_seed(0)
    train_set, test_set = digits_splits(flat=True)
    loader = DataLoader(train_set, batch_size=32, shuffle=True, seed=0)
    teacher = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    train(teacher, loader, 3)
    teacher.eval()
    student = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
    distill = nn.DistillationLoss(T=4.0, alpha=0.7)
    opt = optim.SGD(student.parameters(), lr=0.05, momentum=0.9)
    for _ in range(3):
        for X, y in loader:
            with mg.no_grad():
                t = teacher(X)
            opt.zero_grad()
            distill(student(X), t, y).backward()
            opt.step()
    assert accuracy(student, test_set) > 0.85


def _one_blas_thread():
    """Small matrices gain nothing from BLAS threads, and on a busy CI machine spinning
    BLAS threads can make them many times slower: use one (as the examples' "one CPU
    core" claim does)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1)


def _run_example(name, argv):
    module = runpy.run_path(str(EXAMPLES / name))
    out = io.StringIO()
    with contextlib.redirect_stdout(out), _one_blas_thread():
        acc = module["main"](argv)
    return acc, out.getvalue()


@pytest.mark.parametrize("name", ["mlp_digits.py", "cnn_digits.py"])
def test_examples_reach_97_percent(name):
    acc, out = _run_example(name, ["--no-progress"])
    assert acc >= 0.97
    last = out.strip().splitlines()[-1]
    assert last.startswith("test accuracy ") and f"/{360})" in last
    epochs = [line for line in out.splitlines() if line.startswith("epoch")]
    first_loss = float(epochs[0].split()[4])
    last_loss = float(epochs[-1].split()[4])
    assert np.isfinite(last_loss) and last_loss < first_loss
