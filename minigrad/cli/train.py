"""``minigrad train``: train a model with progress bars, metrics, checkpoints and curves."""
from __future__ import annotations

import math
import os
import signal
import sys
import time

from .._backend import check_dtype_on
from .common import (
    EPILOG_COMMON,
    CLIError,
    Formatter,
    add_common,
    check_device,
    fraction,
    has_matplotlib,
    nonnegative_float,
    nonnegative_int,
    one_line,
    positive_float,
    positive_int,
    read_run_checkpoint,
    run_folder,
    say,
    skip_plot_note,
)

MODELS = ("mlp", "cnn", "resnet-small", "mobilenet-small")
SCHEDULES = ("constant", "cosine", "step", "onecycle", "warmup-cosine")

DESCRIPTION = """\
Train a model; write runs/<name>/ with metrics.csv, metrics.json, last.npz (the latest
checkpoint), best.npz (the epoch with the best validation accuracy, or validation loss for
regression; not written with --val-fraction 0, which holds out no validation data: then
last.npz is the model to use) and curves.png.

examples:
  minigrad train                          # cnn on the 8x8 digits, Adam, cosine, 10 epochs
  minigrad train --model mlp --optimizer momentum --lr 0.05 --schedule onecycle --epochs 20
  minigrad train --model resnet-small --augment --clip 1.0 --weight-decay 1e-4
  minigrad train --model mobilenet-small --amp                # float16 autocast + loss scaling
  minigrad train --model cnn --amp bfloat16                   # bfloat16 autocast
  minigrad train --dataset mnist:data/mnist --model cnn       # MNIST IDX files from a folder
  minigrad train --dataset spirals --model mlp --epochs 50
  minigrad train --epochs 10 --stop-after 4 --name demo       # stop early on purpose ...
  minigrad train --resume runs/demo/last.npz                  # ... and continue exactly
  minigrad train --epochs 50 --checkpoint-every-steps 200     # resumable from mid-epoch too
  mpiexec -n 4 minigrad train --distributed --lr 1e-3         # data parallel: lr x 4, warm-up

Resuming continues bit-identically, from the end of an epoch or from the middle of one,
with the settings saved in the checkpoint, on the device it trained on (training options
given with --resume are ignored; --out, --name, --no-progress, --stop-after,
--stop-after-steps and --checkpoint-every-steps still apply, and --device moves the rest
of the run to another device, which is then no longer bit-identical). Ctrl-C or SIGTERM
(a killed job) stops after the current step and writes last.npz first (exit status 130
or 143); a second one stops at once.
"""


def _dataset(text):
    import argparse

    if text in ("digits", "spirals", "moons", "regression") or (
            text.startswith("mnist:") and len(text) > len("mnist:")):
        return text
    raise argparse.ArgumentTypeError(
        f"unknown dataset {text!r}; choose digits, mnist:PATH, spirals, moons or regression")


def add_parser(sub):
    from ..train.recipes import OPTIMIZERS

    p = sub.add_parser("train", help="train a model (progress, metrics, checkpoints, curves)",
                       description=DESCRIPTION, formatter_class=Formatter,
                       epilog=EPILOG_COMMON)
    p.add_argument("--model", choices=MODELS, default="cnn", metavar="MODEL",
                   help=f"one of {', '.join(MODELS)}")
    p.add_argument("--dataset", type=_dataset, default="digits",
                   help="digits, mnist:PATH, spirals, moons or regression")
    p.add_argument("--optimizer", choices=list(OPTIMIZERS), default="adam", metavar="NAME",
                   help=f"one of {', '.join(OPTIMIZERS)}")
    p.add_argument("--lr", type=positive_float, default=None,
                   help="learning rate (default: the optimizer's own default)")
    p.add_argument("--schedule", choices=SCHEDULES, default="cosine", metavar="NAME",
                   help=f"learning-rate schedule, stepped every optimizer step: one of "
                        f"{', '.join(SCHEDULES)}")
    p.add_argument("--epochs", type=positive_int, default=10, help="epochs of training")
    p.add_argument("--batch-size", type=positive_int, default=32,
                   help="samples per step (per rank with --distributed)")
    p.add_argument("--weight-decay", type=nonnegative_float, default=None,
                   help="weight decay (default: the optimizer's own default)")
    p.add_argument("--clip", type=positive_float, default=None,
                   help="clip the global gradient norm to this value")
    p.add_argument("--label-smoothing", type=fraction(include_one=True), default=0.0,
                   help="label smoothing of the cross-entropy, in [0, 1]")
    p.add_argument("--amp", nargs="?", const="float16", default=None,
                   choices=["float16", "bfloat16"],
                   help="mixed precision: autocast in float16 (the default) with dynamic loss "
                        "scaling, or in bfloat16 (float32's range: no scaling needed)")
    p.add_argument("--augment", action="store_true",
                   help="random shift, rotation and noise on training images")
    p.add_argument("--val-fraction", type=fraction(include_one=False), default=0.1,
                   help="fraction of the training data held out for validation, in [0, 1); "
                        "0 holds out none: no best.npz, and no --patience")
    p.add_argument("--subset", type=positive_int, default=None,
                   help="train on this many samples only (quick runs)")
    p.add_argument("--patience", type=positive_int, default=None,
                   help="early stopping after this many epochs without val improvement")
    p.add_argument("--checkpoint-every", type=positive_int, default=1,
                   help="write last.npz every N epochs (and at the end)")
    p.add_argument("--checkpoint-every-steps", type=positive_int, default=None, metavar="N",
                   help="also write last.npz every N optimizer steps, in the middle of "
                        "epochs too (--resume continues from that step)")
    p.add_argument("--resume", metavar="CHECKPOINT", default=None,
                   help="continue a run from its last.npz (or its folder)")
    p.add_argument("--stop-after", type=positive_int, default=None,
                   help="stop after this many epochs in this invocation (resume later)")
    p.add_argument("--stop-after-steps", type=positive_int, default=None, metavar="N",
                   help="stop after this many optimizer steps in this invocation, possibly "
                        "mid-epoch, writing last.npz (resume later)")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel under mpiexec: DDP, DistributedSampler, lr x world "
                        "size with a gradual warm-up; only rank 0 prints and writes")
    p.add_argument("--warmup-epochs", type=nonnegative_int, default=None,
                   help="with --distributed only: epochs of the gradual warm-up from lr to "
                        "lr x world size (default: epochs/10, at least 1); one process has "
                        "nothing to warm up (for a warm-up from 0 use --schedule "
                        "warmup-cosine or onecycle)")
    add_common(p)
    # no default: a resumed run continues on the device it trained on unless told otherwise
    p.set_defaults(device=None)
    return p


_TRAINING_KEYS = ("model", "dataset", "optimizer", "lr", "schedule", "epochs", "batch_size",
                  "weight_decay", "clip", "label_smoothing", "amp", "augment", "val_fraction",
                  "subset", "patience", "checkpoint_every", "checkpoint_every_steps", "seed",
                  "distributed", "warmup_epochs")


def _amp_dtype(amp):
    """The autocast dtype of ``--amp`` (a checkpoint of an older minigrad holds True)."""
    return amp if isinstance(amp, str) else ("float16" if amp else None)


def _config(args):
    return {k: getattr(args, k) for k in _TRAINING_KEYS}


def _check_options_that_need_others(config):
    """Refuse an option that would be silently ignored in a fresh run's configuration."""
    if config["warmup_epochs"] is not None and not config["distributed"]:
        raise CLIError("--warmup-epochs needs --distributed: it is the warm-up from lr to "
                       "lr x world size of the linear scaling rule, and one process has "
                       "nothing to warm up (for a warm-up from 0 use --schedule "
                       "warmup-cosine or onecycle)")
    if config["patience"] is not None and config["val_fraction"] == 0:
        raise CLIError("--patience needs validation data to watch; --val-fraction 0 holds "
                       "out none")


def _plural(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _resume_device(requested, trained_on):
    """The device a resumed run continues on: the one it trained on (saved in the
    checkpoint; older checkpoints trained on the CPU) unless ``--device`` says otherwise
    (see :func:`_note_ignored_options`)."""
    import minigrad as mg

    if requested is None:
        if trained_on == "cuda" and not mg.cuda.is_available():
            raise CLIError("--resume: the run trained on cuda and no CUDA device is available "
                           "here (needs CuPy and a GPU); add --device cpu to continue it on "
                           "the CPU (no longer bit-identical)")
        return trained_on
    return check_device(requested)


def _note_ignored_options(args, config, trained_on):
    """Say on stderr which training options given with --resume are ignored: those that
    differ from both their default and the checkpoint's setting (``--epochs 20`` given to
    extend a finished 10-epoch run would otherwise change nothing, silently); and that a
    run moved to another device by ``--device`` is no longer bit-identical (other
    arithmetic, dropout masks from the other device's generator)."""
    import argparse

    defaults = vars(add_parser(argparse.ArgumentParser().add_subparsers()).parse_args([]))
    ignored = [k for k in _TRAINING_KEYS if k != "checkpoint_every_steps" and k in config
               and getattr(args, k) != defaults[k] and getattr(args, k) != config[k]]
    if ignored:
        given = ", ".join(f"--{k.replace('_', '-')} {getattr(args, k)}" for k in ignored)
        kept = ", ".join(f"{k} {'default' if config[k] is None else config[k]}"
                         for k in ignored)
        sys.stderr.write(f"minigrad train: note: ignoring {given}: a resumed run keeps the "
                         f"settings of its checkpoint ({kept})\n")
    if args.device is not None and args.device != trained_on:
        sys.stderr.write(f"minigrad train: note: continuing on {args.device} a run that "
                         f"trained on {trained_on}: the rest of the run is not bit-identical "
                         f"to an uninterrupted one\n")


def build_run(config, device):
    """(task, model, loss_fn) for a saved or fresh configuration (also used by
    ``minigrad landscape`` to rebuild a trained model)."""
    from .. import nn
    from ..nn import functional as F
    from ..train.datasets import DatasetError, load_task
    from ..train.models import build_model

    try:
        task = load_task(config["dataset"], val_fraction=config["val_fraction"],
                         subset=config["subset"], seed=config["seed"])
    except DatasetError as e:
        raise CLIError(f"{e}; use a larger --subset or a smaller --val-fraction") from None
    except FileNotFoundError as e:
        raise CLIError(f"--dataset {config['dataset']}: {e}") from None
    except ValueError as e:
        raise CLIError(f"--dataset {config['dataset']}: {e}") from None
    try:
        model = build_model(config["model"], task.in_shape, task.num_outputs)
    except ValueError as e:
        raise CLIError(f"--model {config['model']}: {e}") from None
    if device != "cpu":
        model.to(device)
    if task.kind == "regression":
        loss_fn = F.mse_loss
    else:
        loss_fn = nn.CrossEntropyLoss(label_smoothing=config.get("label_smoothing", 0.0))
    return task, model, loss_fn


def run(args):
    import minigrad as mg

    from ..data import DataLoader
    from ..train import (
        CSVLogger,
        EarlyStopping,
        JSONLogger,
        ModelCheckpoint,
        Trainer,
        TrainingInterrupted,
    )
    from ..train.augment import default_augmentation
    from ..train.models import count_parameters
    from ..train.recipes import default_lr, make_optimizer, with_gradual_warmup

    state = None
    if args.resume is not None:
        resume_path, state = read_run_checkpoint(args.resume, "--resume", "last.npz")
        config = dict(state["extra"]["config"])
        device = _resume_device(args.device, state["extra"].get("device", "cpu"))
        if args.checkpoint_every_steps is not None:  # applies to the rest of the run
            config["checkpoint_every_steps"] = args.checkpoint_every_steps
    else:
        device = check_device(args.device or "cpu")
        config = _config(args)
        _check_options_that_need_others(config)
    amp_dtype = _amp_dtype(config["amp"])
    if amp_dtype is not None:
        try:
            check_dtype_on(device, amp_dtype)
        except TypeError as e:
            raise CLIError(f"--amp {amp_dtype}: {e}") from None

    rank, world = 0, 1
    if config["distributed"]:
        try:
            import minigrad.distributed as dist

            rank, world = dist.init()
        except ImportError as e:
            raise CLIError(f"--distributed: {e}") from None
    is_main = rank == 0
    show = (lambda text: say(text)) if is_main else (lambda text: None)
    if state is not None and is_main:  # (under MPI: once, not by every rank)
        _note_ignored_options(args, config, state["extra"].get("device", "cpu"))
    if state is None and is_main and config["warmup_epochs"] is not None and (
            world == 1 or config["schedule"] in ("onecycle", "warmup-cosine")):
        why = ("one rank has nothing to warm up" if world == 1 else
               f"--schedule {config['schedule']} starts from a low lr already")
        sys.stderr.write(f"minigrad train: note: ignoring --warmup-epochs: {why}\n")

    mg.manual_seed(config["seed"])
    task, model, loss_fn = build_run(config, device)
    base_lr = config["lr"] if config["lr"] is not None else default_lr(config["optimizer"])
    lr = base_lr * world  # the linear scaling rule (Goyal et al. 2017): batch × N, lr × N
    if config["distributed"]:
        model = dist.DistributedDataParallel(model)
    try:
        optimizer = make_optimizer(config["optimizer"], model.parameters(), lr=lr,
                                   weight_decay=config["weight_decay"])
    except (ValueError, TypeError) as e:
        raise CLIError(f"--optimizer {config['optimizer']}: {e}") from None

    batch = config["batch_size"]
    sampler = None
    if config["distributed"]:  # this rank's shard; the trainer calls set_epoch
        sampler = dist.DistributedSampler(task.train, seed=config["seed"])
        train_loader = DataLoader(task.train, batch_size=batch, sampler=sampler,
                                  device=None if device == "cpu" else device)
    else:
        train_loader = DataLoader(task.train, batch_size=batch, shuffle=True,
                                  seed=config["seed"],
                                  device=None if device == "cpu" else device)
    steps_per_epoch = len(train_loader)
    total = config["epochs"] * steps_per_epoch
    warm_epochs = config.get("warmup_epochs")
    if warm_epochs is None:
        warm_epochs = max(1, config["epochs"] // 10)
    try:
        scheduler = with_gradual_warmup(config["schedule"], optimizer, total,
                                        warm_epochs * steps_per_epoch, world)
    except ValueError as e:
        raise CLIError(f"--schedule {config['schedule']}: {e}") from None
    val_loader = None
    if task.val is not None:
        val_loader = DataLoader(task.val, batch_size=512,
                                device=None if device == "cpu" else device)

    # ---------------------------------------------------------------- output folder
    default_name = (f"{config['model']}-{task.name}-{config['optimizer']}-"
                    f"{config['schedule']}-s{config['seed']}")
    if state is not None:
        name = args.name or state["extra"].get("name", default_name)
        folder = run_folder(args.out, name, fresh=False, create=is_main)
    else:
        folder = run_folder(args.out, args.name or default_name, fresh=args.name is None,
                            create=is_main)
    name = os.path.basename(folder)
    config_out = dict(config, name=name, world_size=world, effective_lr=lr,
                      base_lr=base_lr)
    extra = {"config": config, "name": name, "device": device}

    classification = task.kind == "classification"
    monitor = "val_accuracy" if classification else "val_loss"
    callbacks = []
    if config["patience"] is not None and val_loader is not None:
        callbacks.append(EarlyStopping(monitor=monitor, patience=config["patience"],
                                       mode="max" if classification else "min"))
    json_log = JSONLogger(os.path.join(folder, "metrics.json"), extra=config_out)
    callbacks += [CSVLogger(os.path.join(folder, "metrics.csv")), json_log,
                  ModelCheckpoint(folder, every_n_epochs=config["checkpoint_every"],
                                  monitor=monitor if val_loader is not None else None,
                                  mode="max" if classification else "min", extra=extra,
                                  every_n_train_steps=config.get("checkpoint_every_steps"))]
    transform = None
    if config["augment"]:
        if not task.is_image:
            raise CLIError("--augment works on images; the dataset has feature vectors")
        transform = default_augmentation(task.in_shape[1])

    trainer = Trainer(model, optimizer, train_loader, loss_fn, val_loader=val_loader,
                      scheduler=scheduler, scheduler_interval="step",
                      clip_grad_norm=config["clip"], amp=amp_dtype is not None,
                      amp_dtype=amp_dtype, callbacks=callbacks,
                      transform=transform, device=None if device == "cpu" else device,
                      task=task.kind, progress=not args.no_progress, is_main=is_main,
                      sampler=sampler, distributed=config["distributed"])
    if state is not None:
        try:
            trainer.load_state_dict(state)
        except (ValueError, KeyError, RuntimeError) as e:
            raise CLIError(f"--resume: {resume_path} does not fit this run: {one_line(e)}") \
                from None
        progress = state.get("epoch_progress")
        if progress is None:
            show(f"resuming {name} from {resume_path} at epoch {trainer.epoch}/"
                 f"{config['epochs']}")
        else:
            show(f"resuming {name} from {resume_path} in epoch {trainer.epoch + 1}/"
                 f"{config['epochs']} after batch {progress['batch']} of {steps_per_epoch} "
                 f"(step {trainer.global_step})")
    else:
        n_val = task.info["n_val"]
        show(f"{task.name}: {task.info['n_train']} training, {n_val} validation and "
             f"{task.info['n_test']} test samples; model {config['model']} with "
             f"{count_parameters(model)} parameters")
        ranks = f" on {world} ranks (lr {base_lr:g} x {world})" if world > 1 else ""
        show(f"{config['optimizer']} lr {lr:g}{ranks}, {config['schedule']} schedule, "
             f"{_plural(config['epochs'], 'epoch')} of {_plural(steps_per_epoch, 'step')}; "
             f"writing {folder}")
        if val_loader is None:
            show("no validation data (--val-fraction 0): no best.npz is written; "
                 "last.npz holds the final model")

    start = time.perf_counter()
    last = os.path.join(folder, "last.npz")
    try:
        trainer.fit(config["epochs"], stop_after=args.stop_after,
                    stop_after_steps=args.stop_after_steps)
    except TrainingInterrupted as e:
        show(f"interrupted by {e.signal_name}; checkpoint written: {last}; continue with: "
             f"minigrad train --resume {last}")
        return 128 + int(signal.Signals[e.signal_name])
    elapsed = time.perf_counter() - start
    if trainer.paused == "stop_after_steps":
        show(f"stopped after step {trainer.global_step} (--stop-after-steps); continue "
             f"with: minigrad train --resume {last}")
        return 0
    finished = trainer.epoch >= config["epochs"] or trainer.should_stop
    if not finished:
        show(f"stopped after epoch {trainer.epoch}/{config['epochs']} (--stop-after); "
             f"continue with: minigrad train --resume {last}")
        return 0

    test_loader = DataLoader(task.test, batch_size=512,
                             device=None if device == "cpu" else device)
    test = trainer.evaluate(test_loader)
    summary = {"test_loss": test["loss"], "train_time_s": elapsed,
               "epochs_run": trainer.epoch}
    if classification:
        summary["test_accuracy"] = test["accuracy"]
    best = next((c for c in callbacks if isinstance(c, ModelCheckpoint)), None)
    if best is not None and best.best_epoch is not None:
        summary["best_epoch"] = best.best_epoch
        summary[f"best_{monitor}"] = best.best
    if is_main:
        json_log.write(trainer.history, test=summary)
        curves = os.path.join(folder, "curves.png")
        if has_matplotlib():
            from ..train.plots import plot_history

            plot_history(trainer.history, curves,
                         title=f"{config['model']} on {task.name}, {config['optimizer']}")
        else:
            skip_plot_note(curves)
    n_test = task.info["n_test"]
    if classification:
        correct = round(test["accuracy"] * n_test)
        show(f"test accuracy {test['accuracy']:.2%} ({correct}/{n_test}), test loss "
             f"{test['loss']:.4f}; {elapsed:.1f}s of training")
    else:
        show(f"test MSE {test['loss']:.4g}; {elapsed:.1f}s of training")
    show(f"run folder: {folder}")
    bad = next((m for m in trainer.history if not math.isfinite(m["train_loss"])), None)
    if bad is not None:
        if is_main:
            sys.stderr.write(f"minigrad train: the training loss became {bad['train_loss']} "
                             f"in epoch {bad['epoch']}; the run diverged: try a smaller --lr "
                             f"(it was {config_out['effective_lr']:g})\n")
        return 1
    return 0
