"""The training loop: exact resume, callbacks, optimizers with their own protocols,
schedulers per step and per epoch, mixed precision, clipping, atomic checkpoints."""
import json
import os

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.data import DataLoader, Subset, TensorDataset, digits_splits
from minigrad.nn import functional as F
from minigrad.serialization import load
from minigrad.train import (
    Callback,
    CSVLogger,
    EarlyStopping,
    JSONLogger,
    ModelCheckpoint,
    Trainer,
    fit,
)
from minigrad.train.augment import default_augmentation

QUIET = {"log": lambda line: None}


def digits(n_train=192, n_test=64):
    train, test = digits_splits()
    return Subset(train, np.arange(n_train)), Subset(test, np.arange(n_test))


def make_trainer(folder, seed=0, epochs=4, extra_callbacks=()):
    """A run that uses every source of state: BatchNorm buffers, dropout and augmentation
    (global RNG), a seeded shuffle, Adam moments, a per-step cosine schedule, clipping,
    early-stopping counters and the best-checkpoint tracker."""
    mg.manual_seed(seed)
    train, test = digits()
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Flatten(), nn.Dropout(0.3), nn.Linear(256, 10))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    loader = DataLoader(train, batch_size=32, shuffle=True, seed=7)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * len(loader))
    callbacks = [EarlyStopping(patience=10), *extra_callbacks,
                 ModelCheckpoint(folder, every_n_epochs=1)]
    return Trainer(model, opt, loader, val_loader=DataLoader(test, batch_size=64),
                   scheduler=sched, callbacks=callbacks, transform=default_augmentation(8),
                   clip_grad_norm=1.0, **QUIET)


def state_arrays(trainer):
    out = {f"model.{k}": v.numpy() for k, v in trainer.model.state_dict().items()}
    for i, s in trainer.optimizer.state_dict()["state"].items():
        for k, v in s.items():
            out[f"opt.{i}.{k}"] = np.asarray(v)
    return out


def test_resumed_run_is_bit_identical_to_an_uninterrupted_one(tmp_path):
    full = make_trainer(tmp_path / "full")
    full.fit(4)
    part = make_trainer(tmp_path / "part")
    part.fit(4, stop_after=2)            # paused: last.npz is written at epoch 2
    assert part.epoch == 2 and not part.should_stop
    # a fresh process would rebuild everything from another random state
    resumed = make_trainer(tmp_path / "resumed", seed=123)
    resumed.load_checkpoint(tmp_path / "part" / "last.npz")
    assert resumed.epoch == 2 and resumed.global_step == part.global_step
    resumed.fit(4)
    a, b = state_arrays(full), state_arrays(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    strip = lambda h: [{k: v for k, v in m.items() if k != "time"} for m in h]  # noqa: E731
    assert strip(full.history) == strip(resumed.history)


def test_resume_restores_rng_and_loader_state(tmp_path):
    t = make_trainer(tmp_path)
    t.fit(1)
    state = t.state_dict()
    expected = (mg.rand(3).tolist(), t.train_loader.generator.integers(0, 1000, 3).tolist())
    other = make_trainer(tmp_path / "b", seed=99)
    other.load_state_dict(state)
    got = (mg.rand(3).tolist(), other.train_loader.generator.integers(0, 1000, 3).tolist())
    assert got == expected


def test_checkpoints_are_atomic_and_complete(tmp_path):
    t = make_trainer(tmp_path, epochs=2)
    t.fit(2)
    names = sorted(os.listdir(tmp_path))
    assert names == ["best.npz", "last.npz"]       # no temporary files left behind
    ckpt = load(tmp_path / "last.npz")
    for key in ("model", "optimizer", "scheduler", "rng", "loader_rng", "epoch", "history",
                "callbacks", "global_step"):
        assert key in ckpt
    assert ckpt["epoch"] == 2 and len(ckpt["history"]) == 2


def test_checkpoint_every_n_epochs_and_best(tmp_path):
    calls = []

    class Spy(ModelCheckpoint):
        pass

    t = make_trainer(tmp_path / "x")
    t.callbacks[-1] = Spy(tmp_path, every_n_epochs=2)
    orig = t.save_checkpoint
    t.save_checkpoint = lambda path, extra=None: (calls.append((os.path.basename(path),
                                                                t.epoch)), orig(path, extra))
    t.fit(3)
    lasts = [e for name, e in calls if name == "last.npz"]
    assert lasts == [2, 3]  # every 2 epochs, and at the end
    best = t.callbacks[-1]
    assert best.best == max(h["val_accuracy"] for h in t.history)


def test_only_the_main_process_writes(tmp_path):
    t = make_trainer(tmp_path / "ck", extra_callbacks=[CSVLogger(tmp_path / "m.csv"),
                                                       JSONLogger(tmp_path / "m.json")])
    t.is_main = False
    t.fit(1)
    assert sorted(os.listdir(tmp_path)) == []


def test_metric_logs(tmp_path):
    t = make_trainer(tmp_path / "ck", extra_callbacks=[CSVLogger(tmp_path / "m.csv"),
                                                       JSONLogger(tmp_path / "m.json")])
    t.fit(2)
    lines = (tmp_path / "m.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr")
    assert len(lines) == 3
    doc = json.loads((tmp_path / "m.json").read_text())
    assert [e["epoch"] for e in doc["epochs"]] == [1, 2]


def test_early_stopping_stops_and_restores_best():
    mg.manual_seed(0)
    X = mg.randn(32, 3)
    y = mg.randint(0, 2, (32,))
    model = nn.Linear(3, 2)
    stopper = EarlyStopping(monitor="train_loss", patience=2, restore_best_weights=True)

    class Worse(Callback):  # make the monitored value get worse after epoch 2
        def on_epoch_end(self, trainer, metrics):
            if metrics["epoch"] > 2:
                metrics["train_loss"] = 10.0 + metrics["epoch"]

    t = Trainer(model, optim.SGD(model.parameters(), lr=0.1),
                DataLoader(TensorDataset(X, y), batch_size=8), callbacks=[Worse(), stopper],
                **QUIET)
    t.fit(20)
    assert t.epoch == 4 and t.should_stop
    assert stopper.rule.best_epoch == 1


class _Counter(Callback):
    def __init__(self):
        self.lrs = []

    def on_epoch_end(self, trainer, metrics):
        self.lrs.append(trainer.lr)


def test_scheduler_per_step_and_per_epoch():
    mg.manual_seed(0)
    X, y = mg.randn(40, 3), mg.randint(0, 2, (40,))
    loader = DataLoader(TensorDataset(X, y), batch_size=10)  # 4 steps per epoch
    for interval, expected in (("step", 0.1 * 0.5 ** 8), ("epoch", 0.1 * 0.5 ** 2)):
        model = nn.Linear(3, 2)
        opt = optim.SGD(model.parameters(), lr=0.1)
        sched = optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
        t = Trainer(model, opt, loader, scheduler=sched, scheduler_interval=interval, **QUIET)
        t.fit(2)
        assert t.lr == pytest.approx(expected)
        assert t.global_step == 8


def test_reduce_on_plateau_gets_the_validation_loss():
    seen = []

    class ReduceLROnPlateau(optim.lr_scheduler.ReduceLROnPlateau):
        def step(self, metrics, *args, **kwargs):
            seen.append(metrics)
            return super().step(metrics, *args, **kwargs)

    mg.manual_seed(0)
    X, y = mg.randn(20, 3), mg.randint(0, 2, (20,))
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(TensorDataset(X, y), batch_size=10)
    t = Trainer(model, opt, loader, val_loader=loader, scheduler=ReduceLROnPlateau(opt),
                **QUIET)  # stepped per epoch whatever scheduler_interval says
    history = t.fit(3)
    assert seen == [h["val_loss"] for h in history]


@pytest.mark.parametrize("name", ["SAM", "LBFGS", "Sophia", "Sophia-GNB"])
def test_optimizers_with_their_own_protocol_learn(name):
    mg.manual_seed(0)
    X = mg.randn(64, 2)
    y = (X[:, 0] > 0).long()
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    if name == "SAM":
        opt = optim.SAM(model.parameters(), optim.SGD, rho=0.05, lr=0.5)
    elif name == "LBFGS":
        opt = optim.LBFGS(model.parameters(), max_iter=5, line_search_fn="strong_wolfe")
    elif name == "Sophia":
        opt = optim.Sophia(model.parameters(), lr=0.05, k=2)
    else:
        from minigrad.optim.sophia import GaussNewtonBartlett

        opt = optim.Sophia(model.parameters(), lr=0.05, k=2, estimator=GaussNewtonBartlett())
    batch = 64 if name == "LBFGS" else 16  # L-BFGS wants the full batch
    t = Trainer(model, opt, DataLoader(TensorDataset(X, y), batch_size=batch, shuffle=True,
                                       seed=0), **QUIET)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Sophia warns when a Hessian update is missed
        history = t.fit(15)
    assert history[-1]["train_loss"] < 0.6 * history[0]["train_loss"]


def test_mixed_precision_and_clipping():
    mg.manual_seed(0)
    X = mg.randn(64, 4)
    y = (X[:, 0] + X[:, 1] > 0).long()
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    t = Trainer(model, optim.Adam(model.parameters(), lr=0.02),
                DataLoader(TensorDataset(X, y), batch_size=16), amp=True, clip_grad_norm=0.5,
                **QUIET)
    history = t.fit(10)
    assert t.scaler is not None and t.scaler.get_scale() > 0
    assert all(p.dtype == mg.float32 for p in model.parameters())  # master weights
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert t.state_dict()["scaler"] is not None


def test_clipping_bounds_the_update():
    mg.manual_seed(0)
    X, y = mg.randn(8, 3) * 100, mg.randn(8, 1) * 100
    model = nn.Linear(3, 1)
    before = [p.numpy().copy() for p in model.parameters()]
    t = Trainer(model, optim.SGD(model.parameters(), lr=1.0), DataLoader(TensorDataset(X, y),
                batch_size=8), F.mse_loss, clip_grad_norm=1e-3, task="regression", **QUIET)
    t.fit(1)
    step = np.sqrt(sum(((p.numpy() - b) ** 2).sum() for p, b in zip(model.parameters(), before)))
    assert step <= 1e-3 * (1 + 1e-4)


def test_regression_task_reports_no_accuracy():
    mg.manual_seed(0)
    X = mg.randn(32, 2)
    y = X.sum(1, keepdim=True)
    model = nn.Linear(2, 1)
    history = fit(model, optim.SGD(model.parameters(), lr=0.1),
                  DataLoader(TensorDataset(X, y), batch_size=8), 20, loss_fn=F.mse_loss,
                  task="regression", **QUIET)
    assert "train_accuracy" not in history[-1]
    assert history[-1]["train_loss"] < 1e-2


def test_bad_settings_are_refused():
    model = nn.Linear(2, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="scheduler_interval"):
        Trainer(model, opt, [], scheduler_interval="batch")
    with pytest.raises(ValueError, match="clip_grad_norm"):
        Trainer(model, opt, [], clip_grad_norm=-1)
    with pytest.raises(ValueError, match="epochs"):
        Trainer(model, opt, []).fit(-1)
    with pytest.raises(ValueError, match="not a minigrad training checkpoint"):
        Trainer(model, opt, []).load_state_dict({"model": {}})
    with pytest.raises(KeyError, match="val_accuracy"):
        ModelCheckpoint("x").on_epoch_end(Trainer(model, opt, [], **QUIET),
                                          {"epoch": 1, "train_loss": 1.0})
