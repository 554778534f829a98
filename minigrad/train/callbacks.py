r"""Callbacks of :class:`~minigrad.train.Trainer`: early stopping, checkpoints, metric logs.

A callback is an object with any of these methods (all optional), called by the trainer:

* ``on_fit_start(trainer)`` — before the first epoch of :meth:`Trainer.fit` (also after a
  resume);
* ``on_epoch_end(trainer, metrics)`` — after each epoch, with the epoch's metrics
  (``epoch``, ``train_loss`` and ``train_accuracy`` averaged over the epoch's batches,
  ``val_loss``, ``val_accuracy``, ``lr`` at the start of the epoch, ``time`` in seconds);
  set ``trainer.should_stop = True`` to end training;
* ``on_train_batch_end(trainer, metrics)`` — after every optimizer step, with ``epoch``
  (1-based), ``batch`` (batches done in this epoch), ``step`` (optimizer steps of the
  whole run), ``loss`` (the batch's) and ``lr`` (after the scheduler's step); the state
  is then consistent, so a checkpoint taken here resumes exactly;
* ``on_pause(trainer, reason)`` — training leaves before the end of the run, between
  two steps: ``reason`` is ``"stop_after_steps"`` (``fit(stop_after_steps=...)``),
  ``"SIGINT"`` (Ctrl-C) or ``"SIGTERM"`` (a killed job); then ``on_fit_end`` runs;
* ``on_fit_end(trainer)``;
* ``state_dict()`` / ``load_state_dict(state)`` — what it needs to resume exactly; saved
  in every checkpoint.

Callbacks that write files (:class:`ModelCheckpoint`, :class:`CSVLogger`,
:class:`JSONLogger`) write only on the main process (``trainer.is_main``: rank 0 under
MPI), and write atomically (a temporary file renamed over the old one), so a crash never
leaves a half-written file. Checkpoints run after every other callback of the epoch, so
that what they save includes the other callbacks' updated state.

The names follow PyTorch Lightning's (``EarlyStopping``, ``ModelCheckpoint``,
``CSVLogger``); the rule of :class:`EarlyStopping` is :class:`minigrad.optim.EarlyStopping`.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os

from .. import serialization

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "CSVLogger", "JSONLogger",
           "write_atomic", "write_json"]


def write_atomic(path, text):
    """Write ``text`` to ``path`` atomically (:func:`minigrad.serialization.write_atomic`),
    making its folder first if needed."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    serialization.write_atomic(path, lambda f: f.write(text), mode="w")


class Callback:
    """Base class: every hook does nothing. ``runs_last`` callbacks (checkpoints) are
    called after the others at the end of an epoch."""

    runs_last = False

    def on_fit_start(self, trainer):
        pass

    def on_epoch_end(self, trainer, metrics):
        pass

    def on_train_batch_end(self, trainer, metrics):
        pass

    def on_pause(self, trainer, reason):
        pass

    def on_fit_end(self, trainer):
        pass

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


def _metric(metrics, monitor):
    if monitor not in metrics or metrics[monitor] is None:
        raise KeyError(f"the monitored metric {monitor!r} is not among this epoch's metrics "
                       f"({', '.join(k for k, v in metrics.items() if v is not None)}); "
                       "pass a validation loader or monitor a training metric")
    return float(metrics[monitor])


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs (the rule of
    :class:`minigrad.optim.EarlyStopping`); optionally restore the best weights.

    Parameters
    ----------
    monitor : str, default "val_loss"
    patience : int, default 5
    min_delta : float, default 0
    mode : {"min", "max"}, default "min"
    restore_best_weights : bool, default False
        When stopping, load the weights of the best epoch back into the model.
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="min",
                 restore_best_weights=False):
        from ..optim.early_stopping import EarlyStopping as Rule

        self.monitor = monitor
        self.rule = Rule(patience, min_delta=min_delta, mode=mode,
                         restore_best_weights=restore_best_weights)

    def on_epoch_end(self, trainer, metrics):
        if self.rule.step(_metric(metrics, self.monitor), trainer.model):
            trainer.should_stop = True
            trainer.log(f"early stopping: {self.monitor} has not improved for "
                        f"{self.rule.patience} epochs (best {self.rule.best:.4g} at epoch "
                        f"{self.rule.best_epoch + 1})")

    def state_dict(self):
        return self.rule.state_dict()

    def load_state_dict(self, state):
        self.rule.load_state_dict(dict(state))


class ModelCheckpoint(Callback):
    """Save full training checkpoints (model, optimizer, scheduler, RNG, data order,
    epoch, step, history, callbacks): ``last.npz`` every ``every_n_epochs`` epochs (and at
    the last epoch of the run or of a ``fit(..., stop_after=...)`` call, and when a
    callback stops training), every ``every_n_train_steps`` optimizer steps if asked (in
    the middle of an epoch too), and whenever training pauses (``fit(stop_after_steps=
    ...)``, Ctrl-C, SIGTERM); ``best.npz`` whenever ``monitor`` improves.

    Parameters
    ----------
    dirpath : folder of the checkpoints (created when needed).
    every_n_epochs : int, default 1
    monitor : str or None, default "val_accuracy"
        None: no ``best.npz``.
    mode : {"max", "min"}, default "max"
    save_last : bool, default True
    extra : dict, optional
        Saved in every checkpoint under ``"extra"`` (e.g. the command-line settings that
        rebuild the model and data).
    every_n_train_steps : int, optional
        Also write ``last.npz`` after every N-th optimizer step of the run (PyTorch
        Lightning's name). Each write costs a full checkpoint; N of a few hundred steps
        keeps it small beside the training.
    """

    runs_last = True

    def __init__(self, dirpath, every_n_epochs=1, monitor="val_accuracy", mode="max",
                 save_last=True, extra=None, every_n_train_steps=None):
        if isinstance(every_n_epochs, bool) or not isinstance(every_n_epochs, int) \
                or every_n_epochs < 1:
            raise ValueError(f"ModelCheckpoint: every_n_epochs must be a positive int, got "
                             f"{every_n_epochs!r}")
        if every_n_train_steps is not None and (
                isinstance(every_n_train_steps, bool) or
                not isinstance(every_n_train_steps, int) or every_n_train_steps < 1):
            raise ValueError(f"ModelCheckpoint: every_n_train_steps must be a positive int, "
                             f"got {every_n_train_steps!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"ModelCheckpoint: mode must be 'min' or 'max', got {mode!r}")
        self.dirpath = os.fspath(dirpath)
        self.every_n_epochs = every_n_epochs
        self.every_n_train_steps = every_n_train_steps
        self.monitor, self.mode = monitor, mode
        self.save_last = save_last
        self.extra = extra
        self.best = -math.inf if mode == "max" else math.inf
        self.best_epoch = None

    @property
    def last_path(self):
        return os.path.join(self.dirpath, "last.npz")

    @property
    def best_path(self):
        return os.path.join(self.dirpath, "best.npz")

    def _improved(self, value):
        return value > self.best if self.mode == "max" else value < self.best

    def on_epoch_end(self, trainer, metrics):
        epoch = metrics["epoch"]
        improved = False
        if self.monitor is not None:
            value = _metric(metrics, self.monitor)
            if not math.isnan(value) and self._improved(value):
                self.best, self.best_epoch, improved = value, epoch, True
        due = epoch % self.every_n_epochs == 0 or epoch == trainer.max_epochs \
            or epoch == trainer.stop_epoch or trainer.should_stop
        if not trainer.is_main:
            return
        os.makedirs(self.dirpath, exist_ok=True)
        if self.save_last and due:
            trainer.save_checkpoint(self.last_path, extra=self.extra)
        if improved:
            trainer.save_checkpoint(self.best_path, extra=self.extra)

    def _save_last(self, trainer):
        if self.save_last and trainer.is_main:
            os.makedirs(self.dirpath, exist_ok=True)
            trainer.save_checkpoint(self.last_path, extra=self.extra)

    def on_train_batch_end(self, trainer, metrics):
        n = self.every_n_train_steps
        if n is not None and metrics["step"] % n == 0:
            self._save_last(trainer)

    def on_pause(self, trainer, reason):
        self._save_last(trainer)

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state):
        self.best, self.best_epoch = state["best"], state["best_epoch"]


def _columns(history):
    cols = []
    for row in history:
        for k in row:
            if k not in cols:
                cols.append(k)
    return cols


class CSVLogger(Callback):
    """The metrics of every epoch as a CSV table (rewritten whole each epoch, so a
    resumed run's file equals an uninterrupted run's)."""

    def __init__(self, path):
        self.path = os.fspath(path)

    def on_epoch_end(self, trainer, metrics):
        if trainer.is_main:
            self.write(trainer.history)

    def write(self, history):
        buf = io.StringIO()
        cols = _columns(history)
        writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        writer.writeheader()
        for row in history:
            writer.writerow({k: ("" if row.get(k) is None else _fmt(row[k])) for k in cols})
        write_atomic(self.path, buf.getvalue())


def _fmt(v):
    return repr(v) if isinstance(v, float) else v


class JSONLogger(Callback):
    """The metrics of every epoch as a JSON list of objects (plus ``extra``, e.g. the run's
    settings), rewritten whole each epoch."""

    def __init__(self, path, extra=None):
        self.path = os.fspath(path)
        self.extra = extra

    def on_epoch_end(self, trainer, metrics):
        if trainer.is_main:
            self.write(trainer.history)

    def write(self, history, **more):
        doc = {"epochs": history}
        if self.extra is not None:
            doc["config"] = self.extra
        doc.update(more)
        write_json(self.path, doc)


def write_json(path, obj):
    """Write ``obj`` as strict JSON (NaN and infinities as null), atomically."""
    write_atomic(path, json.dumps(_finite(obj), indent=2, default=_json_default,
                                  allow_nan=False) + "\n")


def _finite(obj):
    """NaN and infinities as null (strict JSON has no NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _json_default(obj):
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)
