r"""``Trainer``: the training loop, with exact resume.

One epoch, in order::

    sampler.set_epoch(epoch)                                  (distributed: a new shard)
    for (x, y) in train_loader:                               (its own seeded shuffle)
        x ← transform(x)                                      (augmentation)
        with autocast():  loss = loss_fn(model(x), y)         (mixed precision, if asked)
        scaler.scale(loss).backward()                         (loss scaling: float16 only)
        scaler.unscale_(optimizer); clip_grad_norm_(…)        (gradient clipping, if asked)
        scaler.step(optimizer); scaler.update()
        scheduler.step()                                      (scheduler_interval="step")
        callbacks.on_train_batch_end; pause here if asked     (step checkpoints, signals)
    evaluate(val_loader)
    scheduler.step()                                          (scheduler_interval="epoch")
    callbacks: early stopping, logs, then checkpoints

Optimizers that re-evaluate the loss get what they need: a closure for :class:`~minigrad.
optim.SAM` and :class:`~minigrad.optim.LBFGS`; for :class:`~minigrad.optim.Sophia` the
backward keeps its graph on the steps where the Hessian estimate is due, and
``update_hessian`` is called before the step. (SAM and L-BFGS evaluate the loss inside
their ``step``, so gradient clipping and mixed precision do not apply to them; Sophia
runs autocast without loss scaling, since its Hessian estimate needs unscaled gradients.)

Exact resume
------------
A checkpoint (:meth:`Trainer.state_dict`, written by :meth:`save_checkpoint` through
:func:`minigrad.save`, atomically) holds everything the rest of the run reads: the
model's parameters and buffers, the optimizer's state (moments, step counts), the
scheduler's state, the gradient scaler's, minigrad's global RNG state (dropout masks,
augmentation, Hutchinson probes), the generators of the transform, the train loader's
state (:meth:`DataLoader.state_dict <minigrad.data.DataLoader.state_dict>`: its shuffling
generator and, mid-epoch, the epoch's order and how many batches it has yielded), the
validation loader's, the epoch and step counters, the metric history, every callback's
state and, when it is taken in the middle of an epoch, the epoch so far (batches done,
running loss and accuracy sums, the epoch's starting lr). Restoring it into freshly built
objects (:meth:`load_checkpoint`) and calling :meth:`fit` again produces bit-identical
weights, optimizer state and history to a run that never stopped
(``tests/train/test_trainer.py`` checks it, with and without mixed precision).

Checkpoints can be taken between any two optimizer steps:
``ModelCheckpoint(every_n_train_steps=N)`` every N steps, ``fit(stop_after_steps=N)``
pauses after N steps of this call, and a SIGINT (Ctrl-C) or SIGTERM (a killed job) during
:meth:`fit` lets the current step finish, calls every callback's ``on_pause`` (so
``ModelCheckpoint`` writes ``last.npz``) and raises :class:`TrainingInterrupted`; a second
signal stops at once, without a checkpoint. A loader without ``state_dict`` (a list of
batches, or the ``epoch -> iterable`` form building a loader without one) is resumed by
skipping the batches already done, which is exact when its batches are a function of
the epoch. Checkpoints of format version 1 (epoch boundaries only) still load.

Not captured: CUDA generators (dropout on a GPU draws from CuPy's generator, which is
re-seeded, not restored), and the state of data-loading code outside minigrad.

Distributed
-----------
Under MPI (``model`` wrapped in :class:`~minigrad.distributed.DistributedDataParallel`,
a :class:`~minigrad.distributed.DistributedSampler` passed as ``sampler`` and to the
``DataLoader``), every rank runs the same loop on its shard; the training loss and
accuracy are summed over the ranks after every step (one small all-reduce, which also
carries the stop flag, so that a signal seen by any rank stops every rank after the same
step), BatchNorm buffers are broadcast from rank 0 after each epoch (so evaluation and
checkpoints agree everywhere), the validation metrics are rank 0's, and only rank 0
(``is_main``) prints, shows progress bars and writes files. Rank 0's checkpoint resumes
every rank: a sampler with ``set_epoch`` recomputes each rank's own shard order.
"""
from __future__ import annotations

import contextlib
import copy
import itertools
import math
import signal
import threading
import time

import numpy as np

from .. import random as _random
from .._backend import check_dtype_on, normalize_device
from ..autograd import no_grad
from ..serialization import load, save
from ..tensor import Tensor

__all__ = ["Trainer", "fit", "TrainingInterrupted", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "minigrad-trainer"
_VERSION = 2   # 2: mid-epoch state ("epoch_progress", "loader"); 1: epoch boundaries only


class TrainingInterrupted(KeyboardInterrupt):
    """Raised by :meth:`Trainer.fit` when a SIGINT (Ctrl-C) or SIGTERM stopped training
    between two optimizer steps, after every callback's ``on_pause`` ran (so the
    checkpoint callback has written a resumable ``last.npz``). A ``KeyboardInterrupt``,
    so a script that does not catch it still stops.

    Attributes: ``signal_name`` ("SIGINT" or "SIGTERM"), ``epoch`` (1-based, the epoch
    that was running, or the last one completed at a boundary), ``batch`` (batches done in
    that epoch), ``step`` (optimizer steps of the whole run).
    """

    def __init__(self, signal_name, epoch, batch, step):
        super().__init__(f"{signal_name}: training stopped after step {step} (epoch {epoch}, "
                         f"batch {batch}); resume from the last checkpoint")
        self.signal_name, self.epoch, self.batch, self.step = signal_name, epoch, batch, step


def _to(batch, device):
    if device is None:
        return batch
    return tuple(t.to(device) if isinstance(t, Tensor) else t for t in batch)


def _loss_value(loss):
    return float(loss.item() if hasattr(loss, "item") else loss)


def _optimizer_kind(optimizer):
    name = type(optimizer).__name__
    if name in ("SAM", "LBFGS"):
        return "closure"
    if hasattr(optimizer, "update_hessian") and hasattr(optimizer, "hessian_due"):
        return "sophia"
    return "plain"


def _unwrap(model):
    return getattr(model, "module", model)


def _transform_generators(transform):
    """The NumPy generators a transform (or a ``Compose`` of them) draws from, in order;
    transforms without their own generator use the global one (saved anyway)."""
    found = []

    def walk(t):
        gen = getattr(t, "generator", None)
        if isinstance(gen, np.random.Generator) and all(gen is not g for g in found):
            found.append(gen)
        for inner in getattr(t, "transforms", None) or ():
            walk(inner)

    if transform is not None:
        walk(transform)
    return found


class Trainer:
    r"""Train ``model`` with ``optimizer`` on ``train_loader``.

    Parameters
    ----------
    model : nn.Module (or a ``DistributedDataParallel`` wrapper).
    optimizer : an optimizer of :mod:`minigrad.optim`.
    train_loader : an iterable of ``(x, y)`` batches re-iterated every epoch (usually a
        :class:`~minigrad.data.DataLoader` with ``seed=``), or a callable
        ``epoch -> iterable`` (built anew each epoch, e.g. from a distributed shard).
    loss_fn : callable ``(output, target) -> scalar Tensor``; default cross-entropy.
    val_loader : optional iterable of batches, evaluated after every epoch.
    scheduler : optional learning-rate scheduler.
    scheduler_interval : {"step", "epoch"}, default "step"
        When to call ``scheduler.step()``: after every optimizer step, or once per epoch.
        ``ReduceLROnPlateau`` is always stepped per epoch with the validation loss (the
        training loss without a validation loader).
    clip_grad_norm : float, optional
        Clip the global gradient norm to this value (``nn.utils.clip_grad_norm_``) before
        each step (after unscaling under mixed precision).
    amp : bool, default False
        Mixed precision: the forward pass runs under :class:`minigrad.amp.autocast`
        (``amp_dtype``, float16 by default) and float16 training uses a
        :class:`~minigrad.amp.GradScaler`.
    callbacks : list of callbacks (see :mod:`minigrad.train.callbacks`).
    transform : optional callable applied to each training input batch (augmentation).
    device : "cpu" or "cuda": batches are moved there.
    task : {"classification", "regression"}, default "classification"
        Classification also reports accuracy (argmax of the output against the labels).
    progress : bool, default False
        A tqdm progress bar per epoch (loss, accuracy, lr), main process only.
    is_main : bool, default True
        Whether this process prints and writes (False on MPI ranks other than 0).
    sampler : optional object with ``set_epoch(epoch)`` (a ``DistributedSampler``).
    distributed : bool, default False
        Sum the training metrics over MPI ranks (every step) and broadcast buffers after
        each epoch.
    log : callable taking one line of text (default ``print`` on the main process).
    handle_signals : bool, default True
        During :meth:`fit` (in the main thread), SIGINT and SIGTERM stop training after
        the current step with a checkpoint (see the module notes) instead of at once.

    Examples
    --------
    >>> import minigrad as mg
    >>> from minigrad import nn, optim
    >>> from minigrad.data import DataLoader, TensorDataset
    >>> mg.manual_seed(0)
    0
    >>> X = mg.randn(64, 2); y = (X[:, 0] > 0).long()
    >>> model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> trainer = Trainer(model, optim.Adam(model.parameters(), lr=0.05),
    ...                   DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True, seed=0),
    ...                   log=lambda line: None)      # default: print one line per epoch
    >>> history = trainer.fit(20)
    >>> history[-1]["train_accuracy"] > 0.9
    True
    """

    def __init__(self, model, optimizer, train_loader, loss_fn=None, *, val_loader=None,
                 scheduler=None, scheduler_interval="step", clip_grad_norm=None, amp=False,
                 amp_dtype=None, callbacks=(), transform=None, device=None,
                 task="classification", progress=False, is_main=True, sampler=None,
                 distributed=False, log=None, handle_signals=True):
        if scheduler_interval not in ("step", "epoch"):
            raise ValueError(f"Trainer: scheduler_interval must be 'step' or 'epoch', got "
                             f"{scheduler_interval!r}")
        if task not in ("classification", "regression"):
            raise ValueError(f"Trainer: task must be 'classification' or 'regression', got "
                             f"{task!r}")
        if clip_grad_norm is not None and not clip_grad_norm > 0:
            raise ValueError(f"Trainer: clip_grad_norm must be positive, got {clip_grad_norm!r}")
        if loss_fn is None:
            from ..nn import functional as F

            loss_fn = F.cross_entropy
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.train_loader, self.val_loader = train_loader, val_loader
        self.scheduler, self.scheduler_interval = scheduler, scheduler_interval
        self.clip_grad_norm = clip_grad_norm
        self.transform, self.device, self.task = transform, device, task
        self.progress, self.is_main = progress, is_main
        self.sampler, self.distributed = sampler, distributed
        self.callbacks = list(callbacks)
        self._log = log
        self.amp = bool(amp)
        self.amp_dtype = None
        self.scaler = None
        if self.amp:
            from .. import dtypes
            from ..amp import GradScaler

            self.amp_dtype = dtypes.as_dtype(amp_dtype) if amp_dtype is not None \
                else dtypes.float16
            if device is not None:
                check_dtype_on(normalize_device(device), self.amp_dtype)
            self.scaler = GradScaler(enabled=self.amp_dtype == dtypes.float16)
        self._kind = _optimizer_kind(optimizer)
        self.epoch = 0          # completed epochs
        self.global_step = 0    # optimizer steps taken
        self.history = []       # one dict of metrics per completed epoch
        self.should_stop = False
        self.max_epochs = None  # the epochs of the whole run (fit's ``epochs``)
        self.stop_epoch = None  # where this call of fit leaves (``stop_after``)
        self.handle_signals = bool(handle_signals)
        self.paused = None      # why the last fit left mid-run: "stop_after_steps", a signal
        self._progress = None   # the epoch in progress (None between epochs)
        self._resume_loader = None  # how the next train_epoch repositions its loader
        self._epoch_loader = None   # the iterable of the epoch in progress
        self._stop_step = None
        self._signal = None
        self._last_epoch_lr = None

    # ------------------------------------------------------------------ helpers
    def log(self, text):
        """Print one line on the main process (through tqdm, so bars stay intact)."""
        if not self.is_main:
            return
        if self._log is not None:
            self._log(text)
            return
        try:
            from tqdm import tqdm

            tqdm.write(text)
        except ImportError:  # pragma: no cover
            print(text)

    @property
    def lr(self):
        return float(self.optimizer.param_groups[0]["lr"])

    def _autocast(self):
        if not self.amp:
            return contextlib.nullcontext()
        from ..amp import autocast

        return autocast(dtype=self.amp_dtype)

    def _is_plateau(self):
        return type(self.scheduler).__name__ == "ReduceLROnPlateau"

    def _loader(self):
        loader = self.train_loader
        return loader(self.epoch) if callable(loader) and not hasattr(loader, "__iter__") \
            else loader

    def _loss_and_correct(self, loss, out, y):
        """(loss value, number of correct predictions) of a batch. On CUDA both come to
        the host in one copy: each read waits for the GPU to finish the step, and reading
        them one by one (``item()`` twice) was two waits a step."""
        if self.task != "classification":
            return _loss_value(loss), 0
        hits = (out.argmax(1) == y).sum()
        if not isinstance(loss, Tensor) or loss.device == "cpu":
            return _loss_value(loss), int(hits.item())
        both = loss.xp.stack([loss.data.reshape(()).astype(np.float64),
                              hits.data.astype(np.float64)])
        value, n = both.tolist()
        return value, int(n)

    # ------------------------------------------------------------------ one step
    def _step(self, x, y):
        """One optimizer step on the batch; returns (loss value, number correct)."""
        opt, model = self.optimizer, self.model
        if self._kind == "closure":  # SAM, L-BFGS: the optimizer evaluates the loss
            first = {}

            def closure():
                opt.zero_grad()
                out = model(x)
                loss = self.loss_fn(out, y)
                loss.backward()
                if "out" not in first:
                    first["out"] = out.detach()
                return loss

            loss = opt.step(closure)
            return self._loss_and_correct(loss, first["out"], y)

        opt.zero_grad()
        with self._autocast():
            out = model(x)
            loss = self.loss_fn(out, y)
        if self._kind == "sophia":
            due = opt.hessian_due
            loss.backward(create_graph=due)  # Hutchinson's Hv needs the gradient's graph
            if due:
                if type(opt.estimator).__name__ == "GaussNewtonBartlett":
                    with self._autocast():
                        opt.update_hessian(logits=model(x))
                else:
                    opt.update_hessian()
                for p in (q for g in opt.param_groups for q in g["params"]):
                    if p.grad is not None:  # keep the values, drop the graph
                        p.grad = p.grad.detach()
            self._clip()
            opt.step()
        elif self.scaler is not None:
            self.scaler.scale(loss).backward()
            if self.clip_grad_norm is not None:
                self.scaler.unscale_(opt)
                self._clip()
            self.scaler.step(opt)
            self.scaler.update()
        else:
            loss.backward()
            self._clip()
            opt.step()
        return self._loss_and_correct(loss, out, y)

    def _clip(self):
        if self.clip_grad_norm is None:
            return
        from ..nn.utils import clip_grad_norm_

        clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)

    # ------------------------------------------------------------------ epochs
    def _ordered_callbacks(self):
        return [c for c in self.callbacks if not getattr(c, "runs_last", False)] + \
               [c for c in self.callbacks if getattr(c, "runs_last", False)]

    def _positioned(self, loader, done):
        """``loader`` placed after the ``done`` batches of a resumed epoch."""
        how, self._resume_loader = self._resume_loader, None
        if done == 0 and how is None:
            return loader
        if how == "restored":            # DataLoader.load_state_dict already placed it
            return loader
        if isinstance(how, dict) and hasattr(loader, "load_state_dict"):
            loader.load_state_dict(how)  # the epoch -> iterable form: this epoch's loader
            return loader
        return itertools.islice(loader, done, None)  # no state: skip what was done

    def train_epoch(self):
        """One pass over the training data (after a mid-epoch resume: what is left of
        it); returns (mean loss, accuracy or None), or None when training pauses before
        the end of the epoch (``stop_after_steps`` of :meth:`fit`, or a signal)."""
        if self.sampler is not None:
            self.sampler.set_epoch(self.epoch)
        self.model.train()
        loader = self._loader()
        self._epoch_loader = loader
        if self._progress is None:
            self._resume_loader = None
            self._progress = {"batch": 0, "loss_sum": 0.0, "correct": 0, "count": 0,
                              "lr": self.lr, "time": 0.0}
        progress = self._progress
        batches = self._positioned(loader, progress["batch"])
        bar = None
        if self.progress and self.is_main:
            from tqdm.auto import tqdm

            total = len(loader) if hasattr(loader, "__len__") else None
            bar = tqdm(total=total, initial=progress["batch"],
                       desc=f"epoch {self.epoch + 1}/{self.max_epochs}", leave=False,
                       dynamic_ncols=True)
        start, time_before = time.perf_counter(), progress["time"]
        callbacks = self._ordered_callbacks()
        paused = False
        for batch in batches:
            x, y = _to(batch, self.device)
            if self.transform is not None:
                x = self.transform(x)
            loss, n_correct = self._step(x, y)
            n = len(y)
            flag = 0.0
            if self.distributed:  # the epoch's sums over every rank, and one stop decision
                from ..distributed import comm

                sums = comm.all_reduce_array(np.array(
                    [loss * n, n_correct, n, self._signal is not None], np.float64))
                progress["loss_sum"] += float(sums[0])
                progress["correct"] += int(sums[1])
                progress["count"] += int(sums[2])
                flag = float(sums[3])
            else:
                progress["loss_sum"] += loss * n
                progress["correct"] += n_correct
                progress["count"] += n
            progress["batch"] += 1
            self.global_step += 1
            if self.scheduler is not None and self.scheduler_interval == "step" \
                    and not self._is_plateau():
                self.scheduler.step()
            progress["time"] = time_before + time.perf_counter() - start
            if bar is not None:
                count = max(progress["count"], 1)
                post = {"loss": f"{progress['loss_sum'] / count:.4f}"}
                if self.task == "classification":
                    post["acc"] = f"{progress['correct'] / count:.3f}"
                post["lr"] = f"{self.lr:.3g}"
                bar.set_postfix(post, refresh=False)
                bar.update(1)
            step_metrics = {"epoch": self.epoch + 1, "batch": progress["batch"],
                            "step": self.global_step, "loss": loss, "lr": self.lr}
            for cb in callbacks:
                getattr(cb, "on_train_batch_end", lambda t, m: None)(self, step_metrics)
            if hasattr(loader, "__len__") and progress["batch"] >= len(loader):
                continue  # the epoch's last batch: the epoch ends first, fit() pauses after
            # under MPI every rank must stop after the same step: the summed flag decides
            signalled = flag > 0 if self.distributed else self._signal is not None
            if signalled:
                self.paused = self._signal or "SIGTERM"
            elif self._stop_step is not None and self.global_step >= self._stop_step:
                self.paused = "stop_after_steps"
            if self.paused is not None:
                paused = True
                break
        if bar is not None:
            bar.close()
        if paused:
            return None
        if self.distributed:
            self._sync_buffers()
        self._progress = None
        self._last_epoch_lr = progress["lr"]
        total_loss, correct, count = progress["loss_sum"], progress["correct"], progress["count"]
        if count == 0:
            raise RuntimeError("Trainer: the training loader produced no batch")
        acc = correct / count if self.task == "classification" else None
        return total_loss / count, acc

    def _sync_buffers(self):
        from ..distributed import comm

        module = _unwrap(self.model)
        with no_grad():
            for b in module.buffers():
                if b.data.flags.c_contiguous:
                    comm.broadcast(b)

    def evaluate(self, loader):
        """Mean loss (and accuracy) of the model in eval mode over ``loader``."""
        self.model.eval()
        total_loss, correct, count = 0.0, 0, 0
        with no_grad():
            for batch in loader:
                x, y = _to(batch, self.device)
                with self._autocast():
                    out = self.model(x)
                    loss = self.loss_fn(out, y)
                n = len(y)
                value, hits = self._loss_and_correct(loss, out, y)
                total_loss += value * n
                correct += hits
                count += n
        if count == 0:
            raise RuntimeError("Trainer.evaluate: the loader produced no batch")
        result = {"loss": total_loss / count}
        if self.task == "classification":
            result["accuracy"] = correct / count
        if self.distributed:  # rank 0's numbers everywhere (decisions must agree)
            from ..distributed import comm

            arr = np.array([result["loss"], result.get("accuracy", 0.0)], np.float64)
            comm.broadcast_array(arr, 0)
            result["loss"] = float(arr[0])
            if "accuracy" in result:
                result["accuracy"] = float(arr[1])
        return result

    def fit(self, epochs, stop_after=None, stop_after_steps=None):
        """Train until ``epochs`` epochs are complete (counting those of a resumed run)
        or a callback stops training; returns the history (a list of metric dicts).

        ``stop_after``: leave after at most this many epochs in this call (the run is
        paused, not finished: the checkpoint callback saves it, and a later ``fit`` — in
        this process or after :meth:`load_checkpoint` — continues it).

        ``stop_after_steps``: leave after at most this many optimizer steps in this call,
        possibly in the middle of an epoch (``trainer.paused`` is then
        ``"stop_after_steps"``; the callbacks' ``on_pause`` runs, so ``ModelCheckpoint``
        writes ``last.npz``); a later ``fit`` continues from that step.

        Raises :class:`TrainingInterrupted` after a SIGINT or SIGTERM (``handle_signals``),
        once the interrupted step is complete and the checkpoint written."""
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"Trainer.fit: epochs must be an int >= 0, got {epochs!r}")
        for name, value in (("stop_after", stop_after), ("stop_after_steps", stop_after_steps)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ValueError(f"Trainer.fit: {name} must be a positive int, got {value!r}")
        self.max_epochs = epochs
        self.stop_epoch = epochs if stop_after is None else min(epochs, self.epoch + stop_after)
        self._stop_step = None if stop_after_steps is None else \
            self.global_step + stop_after_steps
        self.paused = None
        for cb in self.callbacks:
            getattr(cb, "on_fit_start", lambda t: None)(self)
        with self._catch_signals():
            while self.epoch < self.stop_epoch and not self.should_stop:
                time_before = 0.0 if self._progress is None else self._progress["time"]
                start = time.perf_counter()
                result = self.train_epoch()
                if result is None:  # paused in the middle of the epoch
                    break
                self._end_epoch(*result, lr=self._last_epoch_lr,
                                elapsed=time_before + time.perf_counter() - start)
                if self.epoch >= self.stop_epoch or self.should_stop:
                    break  # training is over: a late signal or step limit changes nothing
                if self._agreed_signal():  # arrived in the last batch, evaluation or callbacks
                    self.paused = self._signal or "SIGTERM"
                    break
                if self._stop_step is not None and self.global_step >= self._stop_step:
                    self.paused = "stop_after_steps"  # reached on the epoch's last batch
                    break
        if self.paused is not None:
            if self._progress is not None:
                self._rearm_loader()
            why = f"{self.paused} received" if self.paused.startswith("SIG") else self.paused
            self.log(f"training paused after step {self.global_step} ({self._where()}): "
                     f"{why}")
            for cb in self._ordered_callbacks():
                getattr(cb, "on_pause", lambda t, r: None)(self, self.paused)
        for cb in self.callbacks:
            getattr(cb, "on_fit_end", lambda t: None)(self)
        if self.paused in ("SIGINT", "SIGTERM"):
            epoch, batch = (self.epoch + 1, self._progress["batch"]) if self._progress \
                else (self.epoch, 0)
            raise TrainingInterrupted(self.paused, epoch, batch, self.global_step)
        return self.history

    def _rearm_loader(self):
        """After a pause inside an epoch, make the next ``train_epoch`` (a later ``fit`` in
        this process) continue the epoch from the loader's own position."""
        loader = self._epoch_loader
        if not (hasattr(loader, "state_dict") and hasattr(loader, "load_state_dict")):
            return  # skipped forward instead
        state = loader.state_dict()
        if self._loader_is_factory():
            self._resume_loader = state
        else:
            loader.load_state_dict(state)
            self._resume_loader = "restored"

    def _where(self):
        """Where the run is, in words: "epoch 3, batch 17 of 41" or "end of epoch 2"."""
        if self._progress is None:
            return f"end of epoch {self.epoch}"
        loader = self._epoch_loader
        total = f" of {len(loader)}" if hasattr(loader, "__len__") else ""
        return f"epoch {self.epoch + 1}, batch {self._progress['batch']}{total}"

    def _end_epoch(self, train_loss, train_acc, lr, elapsed):
        """Validation, the per-epoch scheduler, the history and the epoch callbacks."""
        start = time.perf_counter()
        metrics = {"epoch": self.epoch + 1, "train_loss": train_loss}
        if train_acc is not None:
            metrics["train_accuracy"] = train_acc
        if self.val_loader is not None:
            val = self.evaluate(self.val_loader)
            metrics["val_loss"] = val["loss"]
            if "accuracy" in val:
                metrics["val_accuracy"] = val["accuracy"]
        metrics["lr"] = lr
        if self.scheduler is not None:
            if self._is_plateau():
                self.scheduler.step(metrics.get("val_loss", train_loss))
            elif self.scheduler_interval == "epoch":
                self.scheduler.step()
        metrics["time"] = elapsed + time.perf_counter() - start
        self.epoch += 1
        self.history.append(metrics)
        self._report(metrics)
        for cb in self._ordered_callbacks():
            getattr(cb, "on_epoch_end", lambda t, m: None)(self, metrics)
        if not math.isfinite(train_loss):
            self.log(f"the training loss is {train_loss}; stopping")
            self.should_stop = True

    def _agreed_signal(self):
        """Whether a signal asks to stop (under MPI: whether any rank got one)."""
        if not self.distributed:
            return self._signal is not None
        from ..distributed import comm

        flag = comm.all_reduce_array(np.array([self._signal is not None], np.float64))
        return bool(flag[0] > 0)

    @contextlib.contextmanager
    def _catch_signals(self):
        """SIGINT and SIGTERM set a flag that the loop reads between two steps; a second
        one raises KeyboardInterrupt at once. Only in the main thread (Python's rule), and
        a signal that the process ignores (``nohup``, a background job) stays ignored."""
        self._signal = None
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame):
            name = signal.Signals(signum).name
            if self._signal is not None:
                raise KeyboardInterrupt(f"second signal ({name}): stopping at once, without "
                                        f"a checkpoint")
            self._signal = name

        previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) == signal.SIG_IGN:  # e.g. nohup, a background job
                continue
            try:
                previous[sig] = signal.signal(sig, handler)
            except (ValueError, OSError):  # pragma: no cover - e.g. an embedded interpreter
                pass
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old if old is not None else signal.SIG_DFL)

    def _report(self, m):
        parts = [f"epoch {m['epoch']:3d}/{self.max_epochs}", f"loss {m['train_loss']:.4f}"]
        if "train_accuracy" in m:
            parts.append(f"acc {m['train_accuracy']:.4f}")
        if "val_loss" in m:
            parts.append(f"val_loss {m['val_loss']:.4f}")
        if "val_accuracy" in m:
            parts.append(f"val_acc {m['val_accuracy']:.4f}")
        parts += [f"lr {m['lr']:.3g}", f"{m['time']:.1f}s"]
        self.log("  ".join(parts))

    # ------------------------------------------------------------------ checkpoints
    def _loader_is_factory(self):
        loader = self.train_loader
        return callable(loader) and not hasattr(loader, "__iter__")

    def _train_loader_state(self):
        if isinstance(self._resume_loader, dict):   # restored, not used yet: unchanged
            return self._resume_loader
        if self._loader_is_factory():  # a new loader every epoch: only mid-epoch matters
            loader = self._epoch_loader if self._progress is not None else None
        else:
            loader = self.train_loader
        return loader.state_dict() if hasattr(loader, "state_dict") else None

    def state_dict(self):
        """Everything needed to continue exactly where this run is, between two epochs
        or between two steps of an epoch (see the module notes)."""
        val = self.val_loader
        return {
            "format": CHECKPOINT_FORMAT,
            "version": _VERSION,
            "epoch": self.epoch,
            "global_step": self.global_step,
            "should_stop": self.should_stop,
            "epoch_progress": None if self._progress is None else dict(self._progress),
            "model": _unwrap(self.model).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "scaler": None if self.scaler is None else self.scaler.state_dict(),
            "rng": _random.get_rng_state(),
            "loader": self._train_loader_state(),
            "val_loader": val.state_dict() if hasattr(val, "state_dict") else None,
            "transform_rng": [g.bit_generator.state
                              for g in _transform_generators(self.transform)],
            "history": self.history,
            "callbacks": [cb.state_dict() if hasattr(cb, "state_dict") else {}
                          for cb in self.callbacks],
        }

    def load_state_dict(self, state):
        """Restore :meth:`state_dict` into this trainer's (freshly built) objects; the
        next :meth:`fit` continues from the saved epoch and step.

        Raises ``ValueError`` for something that is not a training checkpoint, a
        checkpoint from a newer minigrad, or one whose loader state does not fit this
        trainer's loader (another dataset length or batch size: the message names both).
        """
        if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
            raise ValueError("not a minigrad training checkpoint (no 'format': "
                             f"{CHECKPOINT_FORMAT!r} entry)")
        version = state.get("version", 1)
        if not isinstance(version, int) or version > _VERSION:
            raise ValueError(f"training checkpoint format version {version!r} was written by "
                             f"a newer minigrad; this one reads versions 1 to {_VERSION}")
        before = copy.deepcopy(self.state_dict())  # to undo a load that fails half-way
        try:
            self._load_state(state)
        except Exception:
            self._load_state(before)
            raise

    def _load_state(self, state):
        """The body of :meth:`load_state_dict` (a checked, known-version ``state``)."""
        progress = state.get("epoch_progress")  # absent from version 1 (epoch boundaries)
        gens = _transform_generators(self.transform)
        saved_gens = state.get("transform_rng") or []
        if saved_gens and len(saved_gens) != len(gens):
            raise ValueError(f"the checkpoint has {len(saved_gens)} transform generators, this "
                             f"trainer's transform has {len(gens)}")
        # the loaders first: they check the checkpoint fits before anything changes
        loader_state = state.get("loader")
        self._resume_loader = None
        if loader_state is not None:
            if self._loader_is_factory():
                if progress is not None:
                    self._resume_loader = dict(loader_state)
            elif hasattr(self.train_loader, "load_state_dict"):
                self.train_loader.load_state_dict(loader_state)
                self._resume_loader = "restored"
        if self.val_loader is not None and state.get("val_loader") is not None and \
                hasattr(self.val_loader, "load_state_dict"):
            self.val_loader.load_state_dict(state["val_loader"])
        _unwrap(self.model).load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
            if hasattr(self.scheduler, "_last_lr"):  # write the schedule's lr back
                for group, lr in zip(self.optimizer.param_groups, self.scheduler._last_lr):
                    group["lr"] = lr
        if self.scaler is not None and state.get("scaler") is not None:
            self.scaler.load_state_dict(state["scaler"])
        _random.set_rng_state(state["rng"])
        gen = getattr(self.train_loader, "generator", None)
        if loader_state is None and gen is not None and state.get("loader_rng") is not None:
            gen.bit_generator.state = state["loader_rng"]  # a version-1 checkpoint
        for g, g_state in zip(gens, saved_gens):
            g.bit_generator.state = g_state
        self.epoch = int(state["epoch"])
        self.global_step = int(state["global_step"])
        self.should_stop = bool(state.get("should_stop", False))
        self._progress = None if progress is None else {
            "batch": int(progress["batch"]), "loss_sum": float(progress["loss_sum"]),
            "correct": int(progress["correct"]), "count": int(progress["count"]),
            "lr": float(progress["lr"]), "time": float(progress["time"])}
        self.history = [dict(m) for m in state["history"]]
        saved = state.get("callbacks") or []
        for cb, cb_state in zip(self.callbacks, saved):
            if hasattr(cb, "load_state_dict") and cb_state:
                cb.load_state_dict(cb_state)

    def save_checkpoint(self, path, extra=None):
        """Write :meth:`state_dict` (plus ``extra``) to ``path`` with :func:`minigrad.save`
        (atomic: temporary file + ``os.replace``). Does nothing off the main process."""
        if not self.is_main:
            return
        state = self.state_dict()
        if extra is not None:
            state["extra"] = extra
        save(state, path)  # atomic, with the usual file mode

    def load_checkpoint(self, path):
        """Read a checkpoint written by :meth:`save_checkpoint` and restore it; returns
        the whole saved dict (with ``extra``)."""
        state = load(path)
        self.load_state_dict(state)
        return state


def fit(model, optimizer, train_loader, epochs, **kwargs):
    """Functional form: ``Trainer(model, optimizer, train_loader, **kwargs).fit(epochs)``;
    returns the history."""
    loss_fn = kwargs.pop("loss_fn", None)
    return Trainer(model, optimizer, train_loader, loss_fn, **kwargs).fit(epochs)
