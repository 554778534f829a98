"""minigrad.optim: every optimizer written out from its update formula.

Each optimizer lives in its own module, with the algorithm in its docstring and a pure
update function on arrays (``adam_update`` in ``minigrad/optim/adam.py``, ...) that the
class calls. Names, defaults and semantics follow ``torch.optim``.
"""
from __future__ import annotations

import importlib

from .adabelief import AdaBelief
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .asgd import ASGD
from .lamb import LAMB
from .lars import LARS
from .lion import Lion
from .momentum_schedule import MomentumSchedule
from .muon import Muon
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD

#: the first-order optimizers defined in this package's own modules
FIRST_ORDER = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "NAdam", "RAdam",
               "AdaBelief", "Lion", "LARS", "LAMB", "Adamax", "Rprop", "ASGD", "Adafactor"]

# Names that live in modules written separately (second-order and two-evaluation methods,
# schedules, averaging). They are imported on first use, so this package imports even
# while one of those modules is missing or being written.
_LAZY_NAMES = {
    "LBFGS": "lbfgs",
    "SAM": "sam",
    "Sophia": "sophia",
    "EarlyStopping": "early_stopping",
    "SparseAdam": "sparse_adam",
}
_LAZY_MODULES = ("lr_scheduler", "swa_utils")

#: for 2-D parameters only (hidden-layer weights), so outside FIRST_ORDER's shared tests
MATRIX_ONLY = ["Muon"]

__all__ = ["Optimizer", *FIRST_ORDER, *MATRIX_ONLY, "MomentumSchedule", *_LAZY_NAMES,
           *_LAZY_MODULES]


def __getattr__(name):
    if name in _LAZY_MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _LAZY_NAMES:
        module = importlib.import_module(f"{__name__}.{_LAZY_NAMES[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
