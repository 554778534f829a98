"""The digits-MLP objective: train a small network for a few epochs, return its
validation accuracy.

``DigitsMLPObjective()(config)`` trains the MLP of
:func:`~minigrad.search.architecture.build_mlp` on the embedded 8×8 digits with the
training options in ``config`` (every key of :data:`OPTIONS`; missing ones take their
default) and returns ``(validation accuracy, info)``.

Data hygiene: the search never sees the test set. The 1437 training images of
``digits_splits()`` are split once more (stratified, fixed seed) into 1149 for fitting and
288 for validation; the metric is the validation accuracy. :meth:`DigitsMLPObjective.test`
retrains a config on all 1437 and measures the 360 test images, once, for the report.

Every trial starts from the same seed (initial weights, dropout masks and batch order
are then the same whenever the architecture is), so two configs are compared on equal
terms ("common random numbers").
"""
from __future__ import annotations

import math

import numpy as np

import minigrad as mg
from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset, digits_splits, train_test_split

from .architecture import ARCH_DEFAULTS, build_mlp
from .hypergradient import SGDHD, AdamHD

__all__ = ["OPTIONS", "OPTIMIZERS", "SCHEDULES", "DigitsMLPObjective", "check_options",
           "make_optimizer"]

#: training option → (default, description); the architecture options come from
#: :data:`~minigrad.search.architecture.ARCH_DEFAULTS`.
OPTIONS = {
    "lr": (1e-3, "initial learning rate"),
    "optimizer": ("adam", "sgd, nesterov, rmsprop, adam, adamw, sgd-hd, adam-hd"),
    "momentum": (0.9, "momentum of sgd, nesterov and rmsprop"),
    "weight_decay": (0.0, "L2 (coupled) or decoupled (adamw) weight decay"),
    "batch_size": (32, "samples per step"),
    "epochs": (5, "passes over the fitting set (the budget under early stopping)"),
    "schedule": ("constant", "constant or cosine (annealed to 0 over all steps)"),
    "label_smoothing": (0.0, "ε of the cross-entropy"),
    "hypergrad_lr": (None, "β of sgd-hd / adam-hd (default: the optimizer's)"),
    "depth": (ARCH_DEFAULTS["depth"], "hidden layers"),
    "width": (ARCH_DEFAULTS["width"], "units per hidden layer"),
    "activation": (ARCH_DEFAULTS["activation"], "relu, tanh, gelu, silu, elu, leaky_relu, "
                   "sigmoid"),
    "norm": (ARCH_DEFAULTS["norm"], "none, batchnorm, layernorm"),
    "dropout": (ARCH_DEFAULTS["dropout"], "drop probability after each activation"),
}
OPTIMIZERS = ("sgd", "nesterov", "rmsprop", "adam", "adamw", "sgd-hd", "adam-hd")
SCHEDULES = ("constant", "cosine")


def check_options(config):
    """The config completed with defaults, or ``ValueError`` naming the first bad option."""
    unknown = [k for k in config if k not in OPTIONS]
    if unknown:
        raise ValueError(f"unknown training option {unknown[0]!r}; the options are "
                         f"{', '.join(OPTIONS)}")
    c = {k: v for k, (v, _) in OPTIONS.items()}
    c.update(config)

    def positive(name, integer=False, zero=False):
        v = c[name]
        ok = isinstance(v, int) if integer else isinstance(v, (int, float))
        if isinstance(v, bool) or not ok or not (v >= 0 if zero else v > 0) or \
                (not integer and not math.isfinite(v)):
            kind = "an integer" if integer else "a number"
            raise ValueError(f"{name} must be {kind} {'>= 0' if zero else '> 0'}, got {v!r}")

    positive("lr", zero=True)
    positive("momentum", zero=True)
    positive("weight_decay", zero=True)
    positive("batch_size", integer=True)
    positive("epochs", integer=True)
    positive("width", integer=True)
    positive("depth", integer=True, zero=True)
    if c["hypergrad_lr"] is not None:
        positive("hypergrad_lr", zero=True)
    if c["optimizer"] not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got "
                         f"{c['optimizer']!r}")
    if c["schedule"] not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got "
                         f"{c['schedule']!r}")
    if not (isinstance(c["label_smoothing"], (int, float)) and 0 <= c["label_smoothing"] <= 1):
        raise ValueError(f"label_smoothing must be in [0, 1], got {c['label_smoothing']!r}")
    if not (isinstance(c["dropout"], (int, float)) and 0 <= c["dropout"] < 1):
        raise ValueError(f"dropout must be in [0, 1), got {c['dropout']!r}")
    if c["momentum"] >= 1:
        raise ValueError(f"momentum must be < 1, got {c['momentum']!r}")
    build_mlp(c)  # checks activation and norm
    return c


def make_optimizer(params, c):
    """The optimizer named by ``c["optimizer"]`` with the config's hyperparameters."""
    name, lr, wd = c["optimizer"], c["lr"], c["weight_decay"]
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=c["momentum"], weight_decay=wd)
    if name == "nesterov":
        return optim.SGD(params, lr=lr, momentum=c["momentum"] or 0.9, weight_decay=wd,
                         nesterov=True)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, momentum=c["momentum"], weight_decay=wd)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=wd)
    hd = {} if c["hypergrad_lr"] is None else {"hypergrad_lr": c["hypergrad_lr"]}
    if name == "sgd-hd":
        return SGDHD(params, lr=lr, weight_decay=wd, **hd)
    return AdamHD(params, lr=lr, weight_decay=wd, **hd)


def _standardize(X_fit, *others, floor=0.1):
    """Per-pixel standardization with the fitting set's statistics (``floor`` keeps the
    always-blank border pixels from being blown up)."""
    mean = X_fit.mean(0)
    std = X_fit.std(0, correction=0) + floor
    return [(X - mean) / std for X in (X_fit, *others)]


class DigitsMLPObjective:
    """``objective(config, budget=None) -> (validation accuracy, info)`` on the digits.

    Parameters
    ----------
    epochs : default number of epochs (a config's ``"epochs"`` or the ``budget`` of early
        stopping overrides it).
    seed : seed of the initial weights, dropout and batch order, the same for every trial.
    device : ``"cpu"`` (default) or ``"cuda"``.
    val_fraction : share of the 1437 training images held out for validation.

    ``info`` holds ``val_loss``, ``train_loss`` (mean over the last epoch), ``epochs``,
    ``diverged`` (a non-finite loss stopped training) and, for the hypergradient
    optimizers, ``final_lr``.

    Examples
    --------
    >>> objective = DigitsMLPObjective(epochs=2)
    >>> acc, info = objective({"lr": 3e-3, "width": 32})
    >>> acc > 0.8, sorted(info)
    (True, ['diverged', 'epochs', 'final_lr', 'train_loss', 'val_loss'])
    """

    def __init__(self, epochs=5, seed=0, device=None, val_fraction=0.2):
        self.epochs, self.seed, self.device = epochs, seed, device
        train, test = digits_splits(seed=0, flat=True)
        X_tr, y_tr = train.tensors
        X_fit, X_val, y_fit, y_val = train_test_split(X_tr, y_tr, test_size=val_fraction,
                                                      stratify=y_tr, seed=seed)
        X_fit, X_val = _standardize(X_fit, X_val)
        self.fit_set = TensorDataset(*self._to(X_fit, y_fit))
        self.val_set = TensorDataset(*self._to(X_val, y_val))
        X_all, X_test = _standardize(X_tr, test.tensors[0])
        self.full_train_set = TensorDataset(*self._to(X_all, y_tr))
        self.test_set = TensorDataset(*self._to(X_test, test.tensors[1]))

    def _to(self, *tensors):
        return [t.to(self.device) for t in tensors] if self.device else list(tensors)

    def __call__(self, config, budget=None):
        c = dict(config)
        if budget is not None:
            c["epochs"] = int(budget)
        elif "epochs" not in c:
            c["epochs"] = self.epochs
        return self._train_and_evaluate(check_options(c), self.fit_set, self.val_set)

    def test(self, config):
        """Retrain ``config`` on all training images and return ``(test accuracy, info)``."""
        c = dict(config)
        c.setdefault("epochs", self.epochs)
        return self._train_and_evaluate(check_options(c), self.full_train_set, self.test_set)

    def _train_and_evaluate(self, c, train_set, eval_set):
        # a search tries learning rates that diverge: that is reported in info["diverged"]
        # (and by the accuracy), not by a screen of NumPy overflow warnings
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._train(c, train_set, eval_set)

    def _train(self, c, train_set, eval_set):
        mg.manual_seed(self.seed)
        model = build_mlp(c)
        if self.device:
            model = model.to(self.device)
        loader = DataLoader(train_set, batch_size=c["batch_size"], shuffle=True, seed=self.seed)
        optimizer = make_optimizer(model.parameters(), c)
        scheduler = None
        if c["schedule"] == "cosine":
            scheduler = optim.lr_scheduler.CosineAnnealingLR(
                optimizer, T_max=c["epochs"] * len(loader))
        loss_fn = nn.CrossEntropyLoss(label_smoothing=c["label_smoothing"])
        diverged, train_loss = False, math.nan
        for _ in range(c["epochs"]):
            model.train()
            total, count = 0.0, 0
            for X, y in loader:
                optimizer.zero_grad()
                loss = loss_fn(model(X), y)
                value = loss.item()
                if not math.isfinite(value):
                    diverged = True
                    break
                loss.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                total, count = total + value * len(y), count + len(y)
            if diverged:
                break
            train_loss = total / count
        model.eval()
        X, y = eval_set.tensors
        with mg.no_grad():
            logits = model(X)
            eval_loss = float(nn.functional.cross_entropy(logits, y).item())
            accuracy = float((logits.argmax(1) == y).float().mean().item())
        info = {"val_loss": eval_loss, "train_loss": train_loss, "epochs": c["epochs"],
                "diverged": diverged, "final_lr": float(optimizer.param_groups[0]["lr"])}
        return accuracy, info
