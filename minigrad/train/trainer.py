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
:func:`minigrad.save`, atomically) holds everything the next epoch reads: the model's
parameters and buffers, the optimizer's state (moments, step counts), the scheduler's
state, the gradient scaler's, minigrad's global RNG state (dropout masks, augmentation,
Hutchinson probes), the train loader's own shuffling generator, the epoch and step
counters, the metric history and every callback's state. Restoring it into freshly built
objects (:meth:`load_checkpoint`) and calling :meth:`fit` again produces bit-identical
weights to a run that never stopped (``tests/train/test_trainer.py`` checks it). Resume
is at epoch boundaries: a run stopped mid-epoch restarts that epoch.

Distributed
-----------
Under MPI (``model`` wrapped in :class:`~minigrad.distributed.DistributedDataParallel`,
a :class:`~minigrad.distributed.DistributedSampler` passed as ``sampler``), every rank
runs the same loop on its shard; the epoch's training loss and accuracy are summed over
the ranks, BatchNorm buffers are broadcast from rank 0 after each epoch (so evaluation
and checkpoints agree everywhere), the validation metrics are rank 0's, and only rank 0
(``is_main``) prints, shows progress bars and writes files.
"""
from __future__ import annotations

import contextlib
import math
import time

import numpy as np

from .. import random as _random
from ..autograd import no_grad
from ..serialization import load, save
from ..tensor import Tensor

__all__ = ["Trainer", "fit", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "minigrad-trainer"
_VERSION = 1


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
        Sum the training metrics over MPI ranks and broadcast buffers after each epoch.
    log : callable taking one line of text (default ``print`` on the main process).

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
                 distributed=False, log=None):
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
            self.scaler = GradScaler(enabled=self.amp_dtype == dtypes.float16)
        self._kind = _optimizer_kind(optimizer)
        self.epoch = 0          # completed epochs
        self.global_step = 0    # optimizer steps taken
        self.history = []       # one dict of metrics per completed epoch
        self.should_stop = False
        self.max_epochs = None  # the epochs of the whole run (fit's ``epochs``)
        self.stop_epoch = None  # where this call of fit leaves (``stop_after``)

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

    def _correct(self, out, y):
        if self.task != "classification":
            return 0
        return int((out.argmax(1) == y).sum().item())

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
            return _loss_value(loss), self._correct(first["out"], y)

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
        return _loss_value(loss), self._correct(out, y)

    def _clip(self):
        if self.clip_grad_norm is None:
            return
        from ..nn.utils import clip_grad_norm_

        clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)

    # ------------------------------------------------------------------ epochs
    def train_epoch(self):
        """One pass over the training data; returns (mean loss, accuracy or None)."""
        if self.sampler is not None:
            self.sampler.set_epoch(self.epoch)
        self.model.train()
        loader = self._loader()
        bar = None
        if self.progress and self.is_main:
            from tqdm.auto import tqdm

            total = len(loader) if hasattr(loader, "__len__") else None
            bar = tqdm(total=total, desc=f"epoch {self.epoch + 1}/{self.max_epochs}",
                       leave=False, dynamic_ncols=True)
        total_loss, correct, count = 0.0, 0, 0
        for batch in loader:
            x, y = _to(batch, self.device)
            if self.transform is not None:
                x = self.transform(x)
            loss, n_correct = self._step(x, y)
            n = len(y)
            total_loss += loss * n
            correct += n_correct
            count += n
            self.global_step += 1
            if self.scheduler is not None and self.scheduler_interval == "step" \
                    and not self._is_plateau():
                self.scheduler.step()
            if bar is not None:
                post = {"loss": f"{total_loss / count:.4f}"}
                if self.task == "classification":
                    post["acc"] = f"{correct / count:.3f}"
                post["lr"] = f"{self.lr:.3g}"
                bar.set_postfix(post, refresh=False)
                bar.update(1)
        if bar is not None:
            bar.close()
        if self.distributed:
            from ..distributed import comm

            sums = comm.all_reduce_array(np.array([total_loss, correct, count], np.float64))
            total_loss, correct, count = float(sums[0]), int(sums[1]), int(sums[2])
            self._sync_buffers()
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
                total_loss += _loss_value(loss) * n
                correct += self._correct(out, y)
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

    def fit(self, epochs, stop_after=None):
        """Train until ``epochs`` epochs are complete (counting those of a resumed run)
        or a callback stops training; returns the history (a list of metric dicts).

        ``stop_after``: leave after at most this many epochs in this call (the run is
        paused, not finished: the checkpoint callback saves it, and a later ``fit`` — in
        this process or after :meth:`load_checkpoint` — continues it)."""
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"Trainer.fit: epochs must be an int >= 0, got {epochs!r}")
        if stop_after is not None and (isinstance(stop_after, bool) or
                                       not isinstance(stop_after, int) or stop_after < 1):
            raise ValueError(f"Trainer.fit: stop_after must be a positive int, got "
                             f"{stop_after!r}")
        self.max_epochs = epochs
        self.stop_epoch = epochs if stop_after is None else min(epochs, self.epoch + stop_after)
        for cb in self.callbacks:
            getattr(cb, "on_fit_start", lambda t: None)(self)
        while self.epoch < self.stop_epoch and not self.should_stop:
            start = time.perf_counter()
            lr = self.lr
            train_loss, train_acc = self.train_epoch()
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
            metrics["time"] = time.perf_counter() - start
            self.epoch += 1
            self.history.append(metrics)
            self._report(metrics)
            ordered = [c for c in self.callbacks if not getattr(c, "runs_last", False)] + \
                      [c for c in self.callbacks if getattr(c, "runs_last", False)]
            for cb in ordered:
                getattr(cb, "on_epoch_end", lambda t, m: None)(self, metrics)
            if not math.isfinite(train_loss):
                self.log(f"the training loss is {train_loss}; stopping")
                self.should_stop = True
        for cb in self.callbacks:
            getattr(cb, "on_fit_end", lambda t: None)(self)
        return self.history

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
    def state_dict(self):
        """Everything needed to continue exactly where this run is (see module notes)."""
        gen = getattr(self.train_loader, "generator", None)
        return {
            "format": CHECKPOINT_FORMAT,
            "version": _VERSION,
            "epoch": self.epoch,
            "global_step": self.global_step,
            "should_stop": self.should_stop,
            "model": _unwrap(self.model).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "scaler": None if self.scaler is None else self.scaler.state_dict(),
            "rng": _random.get_rng_state(),
            "loader_rng": None if gen is None else gen.bit_generator.state,
            "history": self.history,
            "callbacks": [cb.state_dict() if hasattr(cb, "state_dict") else {}
                          for cb in self.callbacks],
        }

    def load_state_dict(self, state):
        """Restore :meth:`state_dict` into this trainer's (freshly built) objects."""
        if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
            raise ValueError("not a minigrad training checkpoint (no 'format': "
                             f"{CHECKPOINT_FORMAT!r} entry)")
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
        if gen is not None and state.get("loader_rng") is not None:
            gen.bit_generator.state = state["loader_rng"]
        self.epoch = int(state["epoch"])
        self.global_step = int(state["global_step"])
        self.should_stop = bool(state.get("should_stop", False))
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
        save(state, path)
        from .callbacks import _readable

        _readable(path)

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
