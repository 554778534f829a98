"""minigrad.train: the training loop and what it needs.

- :class:`Trainer` / :func:`fit` — epochs, a scheduler stepped per step or per epoch,
  gradient clipping, mixed precision, callbacks, tqdm progress bars, checkpoints that
  resume bit-identically from between two epochs or two steps, Ctrl-C and SIGTERM caught
  with a checkpoint (:mod:`minigrad.train.trainer`);
- callbacks: :class:`EarlyStopping`, :class:`ModelCheckpoint`, :class:`CSVLogger`,
  :class:`JSONLogger` (:mod:`minigrad.train.callbacks`);
- :mod:`minigrad.train.models` — ``mlp``, ``cnn``, ``resnet-small``, ``mobilenet-small``;
- :mod:`minigrad.train.augment` — batch image transforms;
- :mod:`minigrad.train.synthetic` — two spirals, moons, noisy regression;
- :mod:`minigrad.train.landscape`, :mod:`minigrad.train.init_study`,
  :mod:`minigrad.train.compare` — the analyses behind ``minigrad landscape``,
  ``minigrad init-study`` and ``minigrad compare``.

The command line ``minigrad train ...`` (see ``docs/cli.md``) is built on these.
"""
from .callbacks import Callback, CSVLogger, EarlyStopping, JSONLogger, ModelCheckpoint
from .models import MODELS, build_model
from .trainer import Trainer, TrainingInterrupted, fit

__all__ = ["Trainer", "fit", "TrainingInterrupted", "Callback", "EarlyStopping",
           "ModelCheckpoint", "CSVLogger", "JSONLogger", "MODELS", "build_model"]
