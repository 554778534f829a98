"""Training curves: loss and accuracy per epoch (matplotlib, drawn without pyplot)."""
from __future__ import annotations

import numpy as np

__all__ = ["plot_history"]


def plot_history(history, path, title=None):
    """Loss (left) and accuracy (right, when there is one) per epoch, train and
    validation; saved to ``path``."""
    from ..viz._mpl import new_figure

    has_acc = any("train_accuracy" in h for h in history)
    fig, axes = new_figure(figsize=(11 if has_acc else 6, 4.2), dpi=110,
                           ncols=2 if has_acc else 1, squeeze=False)
    epochs = np.array([h["epoch"] for h in history])

    def series(key):
        return np.array([h.get(key, np.nan) if h.get(key) is not None else np.nan
                         for h in history], dtype=np.float64)

    ax = axes[0][0]
    ax.plot(epochs, series("train_loss"), "o-", ms=3, label="train")
    if any("val_loss" in h for h in history):
        ax.plot(epochs, series("val_loss"), "s-", ms=3, label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    ax.set_title("loss")
    if has_acc:
        ax = axes[0][1]
        ax.plot(epochs, series("train_accuracy"), "o-", ms=3, label="train")
        if any("val_accuracy" in h for h in history):
            ax.plot(epochs, series("val_accuracy"), "s-", ms=3, label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy")
        ax.grid(alpha=0.3)
        ax.legend()
        ax.set_title("accuracy")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    return path
