"""The training loop: exact resume (between epochs and between steps, after a pause, a
signal or a crash), callbacks, optimizers with their own protocols, schedulers per step
and per epoch, mixed precision, clipping, atomic checkpoints."""
import copy
import json
import os
import signal

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
    TrainingInterrupted,
    fit,
)
from minigrad.train.augment import default_augmentation

QUIET = {"log": lambda line: None}


def digits(n_train=192, n_test=64):
    train, test = digits_splits()
    return Subset(train, np.arange(n_train)), Subset(test, np.arange(n_test))


def make_trainer(folder, seed=0, epochs=4, extra_callbacks=(), amp=False,
                 every_n_train_steps=None):
    """A run that uses every source of state: BatchNorm buffers, dropout and augmentation
    (global RNG), a seeded shuffle, Adam moments, a per-step cosine schedule, clipping,
    early-stopping counters and the best-checkpoint tracker (and with ``amp`` float16
    autocast with a loss scaler). 192 samples in batches of 32: 6 steps per epoch."""
    mg.manual_seed(seed)
    train, test = digits()
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Flatten(), nn.Dropout(0.3), nn.Linear(256, 10))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    loader = DataLoader(train, batch_size=32, shuffle=True, seed=7)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * len(loader))
    callbacks = [EarlyStopping(patience=10), *extra_callbacks,
                 ModelCheckpoint(folder, every_n_epochs=1,
                                 every_n_train_steps=every_n_train_steps)]
    trainer = Trainer(model, opt, loader, val_loader=DataLoader(test, batch_size=64),
                      scheduler=sched, callbacks=callbacks, transform=default_augmentation(8),
                      clip_grad_norm=1.0, amp=amp, **QUIET)
    if amp:  # a scale that grows every 2 clean steps and overflows: skipped steps, backoff
        from minigrad.amp import GradScaler

        trainer.scaler = GradScaler(growth_interval=2)
    return trainer


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
    for key in ("model", "optimizer", "scheduler", "rng", "loader", "epoch", "history",
                "callbacks", "global_step", "epoch_progress", "version"):
        assert key in ckpt
    assert ckpt["epoch"] == 2 and len(ckpt["history"]) == 2
    assert ckpt["epoch_progress"] is None and ckpt["loader"]["epoch"] is None


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


# --------------------------------------------------------------------------- mid-epoch resume
STEPS_PER_EPOCH = 6
strip_time = lambda h: [{k: v for k, v in m.items() if k != "time"} for m in h]  # noqa: E731


def run_state(trainer):
    """Everything a finished run leaves behind, to compare two runs to the bit."""
    arrays = state_arrays(trainer)
    other = {
        "history": strip_time(trainer.history),
        "steps": (trainer.epoch, trainer.global_step),
        "lr": [g["lr"] for g in trainer.optimizer.param_groups],
        "scheduler": trainer.scheduler.state_dict(),
        "scaler": None if trainer.scaler is None else trainer.scaler.state_dict(),
        "rng": mg.random.get_rng_state(),
        "loader": trainer.train_loader.generator.bit_generator.state,
        "best": [cb.state_dict() for cb in trainer.callbacks
                 if isinstance(cb, ModelCheckpoint)],
        "early_stopping": [(cb.rule.best, cb.rule.best_epoch, cb.rule.num_bad_epochs)
                           for cb in trainer.callbacks if isinstance(cb, EarlyStopping)],
    }
    return arrays, other


def assert_same_run(a, b):
    (arrays_a, other_a), (arrays_b, other_b) = a, b
    assert arrays_a.keys() == arrays_b.keys()
    for k in arrays_a:
        assert arrays_a[k].dtype == arrays_b[k].dtype, k
        assert np.array_equal(arrays_a[k], arrays_b[k]), k
    assert other_a == other_b


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The reference: 3 epochs without a stop, with and without mixed precision."""
    out = {}
    for amp in (False, True):
        t = make_trainer(tmp_path_factory.mktemp("full"), amp=amp)
        t.fit(3)
        out[amp] = run_state(t)
    return out


@pytest.mark.filterwarnings("ignore:overflow encountered")   # float16 overflows (amp)
@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize("amp", [False, True], ids=["fp32", "amp"])
@pytest.mark.parametrize("k", [1, 8, 12])   # the first step, mid-epoch 2, its last batch
def test_resume_from_a_mid_epoch_step_is_bit_identical(tmp_path, uninterrupted, amp, k):
    part = make_trainer(tmp_path / "part", amp=amp)
    part.fit(3, stop_after_steps=k)
    assert part.paused == "stop_after_steps" and part.global_step == k
    ckpt = load(tmp_path / "part" / "last.npz")      # written by on_pause
    if k % STEPS_PER_EPOCH == 0:  # the epoch's last batch: the epoch ends, then the pause
        assert ckpt["global_step"] == k and ckpt["epoch"] == k // STEPS_PER_EPOCH
        assert ckpt.get("epoch_progress") is None
        assert len(part.history) == k // STEPS_PER_EPOCH  # its validation row is there
    else:
        assert ckpt["global_step"] == k and ckpt["epoch"] == (k - 1) // STEPS_PER_EPOCH
        assert ckpt["epoch_progress"]["batch"] == (k - 1) % STEPS_PER_EPOCH + 1
        assert ckpt["loader"]["epoch"]["batches_yielded"] == ckpt["epoch_progress"]["batch"]
    if amp:  # the scaler's state is mid-cycle at these steps
        assert ckpt["scaler"]["_growth_tracker"] == 1 or ckpt["scaler"]["scale"] > 2.0 ** 16
    resumed = make_trainer(tmp_path / "resumed", seed=123, amp=amp)   # a new process
    resumed.load_checkpoint(tmp_path / "part" / "last.npz")
    assert (resumed.epoch, resumed.global_step) == (ckpt["epoch"], k)
    resumed.fit(3)
    assert_same_run(uninterrupted[amp], run_state(resumed))


def test_pausing_and_continuing_in_the_same_process(tmp_path, uninterrupted):
    t = make_trainer(tmp_path)
    t.fit(3, stop_after_steps=5)
    t.fit(3, stop_after_steps=4)     # across the end of epoch 1 into epoch 2
    assert t.global_step == 9 and t.epoch == 1
    t.fit(3, stop_after=1)           # finishes epoch 2
    assert t.epoch == 2 and t.global_step == 12
    t.fit(3)
    assert_same_run(uninterrupted[False], run_state(t))


class RaiseSignal(Callback):
    def __init__(self, step, signum):
        self.step, self.signum = step, signum

    def on_train_batch_end(self, trainer, metrics):
        if metrics["step"] == self.step:
            os.kill(os.getpid(), self.signum)   # as Ctrl-C or `kill` would


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_after_the_step_with_a_checkpoint(tmp_path, uninterrupted, signum):
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    part = make_trainer(tmp_path / "part", extra_callbacks=[RaiseSignal(9, signum)])
    with pytest.raises(TrainingInterrupted) as info:
        part.fit(3)
    e = info.value
    assert isinstance(e, KeyboardInterrupt)
    assert (e.signal_name, e.epoch, e.batch, e.step) == (signal.Signals(signum).name, 2, 3, 9)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
    assert sorted(os.listdir(tmp_path / "part")) == ["best.npz", "last.npz"]
    ckpt = load(tmp_path / "part" / "last.npz")
    assert ckpt["global_step"] == 9 and ckpt["epoch_progress"]["batch"] == 3
    resumed = make_trainer(tmp_path / "resumed", seed=5, extra_callbacks=[Callback()])
    resumed.load_checkpoint(tmp_path / "part" / "last.npz")
    resumed.fit(3)
    assert_same_run(uninterrupted[False], run_state(resumed))


@pytest.mark.filterwarnings("ignore:overflow encountered")   # the fixture's amp run
@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize("step", [STEPS_PER_EPOCH * 2, STEPS_PER_EPOCH * 3])
def test_a_signal_on_an_epochs_last_batch_lets_the_epoch_end(tmp_path, uninterrupted, step):
    """On the last batch of an epoch the epoch ends first (validation, history); on the
    run's very last batch there is nothing left to pause: the run finishes normally."""
    t = make_trainer(tmp_path, extra_callbacks=[RaiseSignal(step, signal.SIGTERM)])
    if step < STEPS_PER_EPOCH * 3:
        with pytest.raises(TrainingInterrupted):
            t.fit(3)
        assert t.epoch == 2 and len(t.history) == 2
        assert load(tmp_path / "last.npz").get("epoch_progress") is None
        t.fit(3)
    else:
        t.fit(3)
        assert t.paused is None
    assert len(t.history) == 3
    assert_same_run(uninterrupted[False], run_state(t))


def test_a_second_signal_stops_at_once(tmp_path):
    class Twice(Callback):
        def on_train_batch_end(self, trainer, metrics):
            if metrics["step"] == 2:
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGTERM)

    t = make_trainer(tmp_path, extra_callbacks=[Twice()])
    with pytest.raises(KeyboardInterrupt, match="second signal") as info:
        t.fit(3)
    assert not isinstance(info.value, TrainingInterrupted)
    assert not (tmp_path / "last.npz").exists()


def test_a_crash_resumes_from_the_last_step_checkpoint(tmp_path, uninterrupted):
    class Crash(Callback):  # a killed process: no chance to save anything
        def on_train_batch_end(self, trainer, metrics):
            if metrics["step"] == 10:
                raise RuntimeError("out of memory")

    part = make_trainer(tmp_path / "part", extra_callbacks=[Crash()], every_n_train_steps=4)
    with pytest.raises(RuntimeError, match="out of memory"):
        part.fit(3)
    ckpt = load(tmp_path / "part" / "last.npz")
    assert ckpt["global_step"] == 8 and ckpt["epoch_progress"]["batch"] == 2
    resumed = make_trainer(tmp_path / "resumed", seed=7, every_n_train_steps=4)
    resumed.load_checkpoint(tmp_path / "part" / "last.npz")
    resumed.fit(3)
    assert_same_run(uninterrupted[False], run_state(resumed))


def test_checkpoint_every_n_train_steps(tmp_path):
    saved = []
    t = make_trainer(tmp_path, every_n_train_steps=4)
    orig = t.save_checkpoint
    t.save_checkpoint = lambda path, extra=None: (
        saved.append((os.path.basename(path), t.global_step)), orig(path, extra))
    t.fit(2)
    lasts = [step for name, step in saved if name == "last.npz"]
    assert lasts == [4, 6, 8, 12, 12]   # steps 4 and 8, and each epoch's end
    with pytest.raises(ValueError, match="every_n_train_steps must be a positive int"):
        ModelCheckpoint(tmp_path, every_n_train_steps=0)


def test_step_callbacks_see_epoch_batch_and_step():
    seen = []

    class Spy(Callback):
        def on_train_batch_end(self, trainer, metrics):
            seen.append((metrics["epoch"], metrics["batch"], metrics["step"]))
            assert metrics["lr"] == trainer.lr and np.isfinite(metrics["loss"])

    mg.manual_seed(0)
    X, y = mg.randn(20, 3), mg.randint(0, 2, (20,))
    model = nn.Linear(3, 2)
    Trainer(model, optim.SGD(model.parameters(), lr=0.1),
            DataLoader(TensorDataset(X, y), batch_size=8), callbacks=[Spy()], **QUIET).fit(2)
    assert seen == [(1, 1, 1), (1, 2, 2), (1, 3, 3), (2, 1, 4), (2, 2, 5), (2, 3, 6)]


def small_run(loader, seed=0):
    mg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.2), nn.ReLU(), nn.Linear(8, 2))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return Trainer(model, opt, loader, **QUIET)


def small_data():
    rng = np.random.default_rng(0)
    X = mg.tensor(rng.standard_normal((40, 3)).astype(np.float32))
    return TensorDataset(X, mg.tensor((rng.standard_normal(40) > 0).astype(np.int64)))


@pytest.mark.parametrize("kind", ["list of batches", "epoch -> DataLoader"])
def test_mid_epoch_resume_with_other_kinds_of_loader(kind):
    ds = small_data()
    if kind == "list of batches":     # no state_dict: the resumed epoch skips what was done
        def make():
            return list(DataLoader(ds, batch_size=8, shuffle=True, seed=1))
    else:                             # a new loader each epoch: its state is restored
        def make():
            return lambda epoch: DataLoader(ds, batch_size=8, shuffle=True, seed=epoch)
    full = small_run(make())
    full.fit(3)
    part = small_run(make())
    part.fit(3, stop_after_steps=7)
    state = part.state_dict()
    resumed = small_run(make(), seed=42)
    resumed.load_state_dict(state)
    resumed.fit(3)
    for p, q in zip(full.model.parameters(), resumed.model.parameters()):
        assert np.array_equal(p.numpy(), q.numpy())
    assert strip_time(full.history) == strip_time(resumed.history)


def test_version_1_checkpoints_still_resume(tmp_path, uninterrupted):
    part = make_trainer(tmp_path / "part")
    part.fit(3, stop_after=1)
    v1 = load(tmp_path / "part" / "last.npz")   # as the first format had it
    v1["version"] = 1
    v1["loader_rng"] = v1.pop("loader")["generator"]
    for key in ("epoch_progress", "val_loader", "transform_rng"):
        del v1[key]
    resumed = make_trainer(tmp_path / "resumed", seed=3)
    resumed.load_state_dict(v1)
    resumed.fit(3)
    assert_same_run(uninterrupted[False], run_state(resumed))


def test_checkpoints_that_do_not_fit_are_refused(tmp_path):
    t = make_trainer(tmp_path)
    t.fit(3, stop_after_steps=3)
    state = t.state_dict()
    with pytest.raises(ValueError, match="newer minigrad; this one reads versions 1 to 2"):
        make_trainer(tmp_path / "b").load_state_dict(dict(state, version=3))
    other = make_trainer(tmp_path / "c")
    other.train_loader = DataLoader(other.train_loader.dataset, batch_size=16, shuffle=True,
                                    seed=7)
    with pytest.raises(ValueError, match="batch_size 32, but this loader has batch_size 16"):
        other.load_state_dict(state)
    with pytest.raises(ValueError, match="stop_after_steps must be a positive int"):
        t.fit(3, stop_after_steps=0)


def test_a_load_that_fails_half_way_leaves_the_trainer_as_it_was(tmp_path):
    """The loader is repositioned before the model is loaded: when a later part of the
    checkpoint is refused, everything loaded so far is undone."""
    src = make_trainer(tmp_path / "src")
    src.fit(3, stop_after_steps=8)                     # mid-epoch 2: a moved loader
    state = src.state_dict()
    bad = dict(state, optimizer=dict(state["optimizer"], param_groups=[]))  # refused
    t = make_trainer(tmp_path / "t", seed=3)
    t.fit(3, stop_after_steps=2)
    before = copy.deepcopy(t.state_dict())
    with pytest.raises(ValueError):
        t.load_state_dict(bad)
    after = t.state_dict()
    assert after["global_step"] == before["global_step"] == 2
    np.testing.assert_equal(after["loader"], before["loader"])
    for k, v in before["model"].items():
        np.testing.assert_array_equal(after["model"][k], v)
