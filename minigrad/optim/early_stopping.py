r"""Early stopping: stop when a monitored metric has not improved for ``patience`` checks.

Rule
----
With ``mode="min"`` a value :math:`a` improves on the best :math:`b` when
:math:`a < b - \delta` (``min_delta`` = δ ≥ 0); with ``mode="max"`` when
:math:`a > b + \delta`. Every check without improvement increments a counter, an
improvement resets it; once the counter reaches ``patience`` training should stop, and
(with ``restore_best_weights``) the model gets back the weights it had at the best check.
This is the rule of Keras' ``EarlyStopping`` callback; PyTorch has no counterpart.

Examples
--------
::

    stopper = EarlyStopping(patience=5, min_delta=1e-4)
    for epoch in range(100):
        train_one_epoch(model)
        if stopper.step(evaluate(model), model):   # True: stop (best weights restored)
            break
"""
from __future__ import annotations

import copy
import math

__all__ = ["EarlyStopping"]


def _snapshot(value):
    """A detached copy of one state-dict entry (Tensor, array, or Python value)."""
    if hasattr(value, "detach") and hasattr(value, "data"):  # a minigrad Tensor
        import minigrad as mg

        return mg.tensor(value.detach().data.copy())
    if hasattr(value, "copy") and hasattr(value, "dtype"):  # a NumPy/CuPy array
        return value.copy()
    return copy.deepcopy(value)


class EarlyStopping:
    r"""Decide when to stop training, and keep the best weights.

    Parameters
    ----------
    patience : int
        Number of checks without improvement after which :meth:`step` returns True.
    min_delta : float, default 0
        Smallest change that counts as an improvement.
    mode : {"min", "max"}, default "min"
        Whether the metric should go down (a loss) or up (an accuracy).
    restore_best_weights : bool, default True
        Keep a copy of the model's ``state_dict()`` at the best check and load it back
        into the model when stopping.
    model : Module, optional
        The model to snapshot; can also be given to each :meth:`step` call.

    Attributes
    ----------
    best : float
        Best value seen (``inf`` / ``-inf`` before the first check).
    best_epoch : int
        Index (from 0) of the check that gave ``best``; -1 before any.
    num_bad_epochs : int
        Checks since the last improvement.
    should_stop : bool
    best_state : dict or None
        The snapshot of the best weights.
    """

    def __init__(self, patience, min_delta=0.0, mode="min", restore_best_weights=True, *,
                 model=None):
        if not isinstance(patience, int) or isinstance(patience, bool) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an int >= 0, got {patience!r}")
        if not min_delta >= 0:
            raise ValueError(f"EarlyStopping: min_delta must be >= 0, got {min_delta!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.patience = patience
        self.min_delta = float(min_delta)
        self.mode = mode
        self.restore_best_weights = bool(restore_best_weights)
        self.model = model
        self.reset()

    def reset(self):
        """Forget everything seen so far."""
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = -1
        self.num_bad_epochs = 0
        self.epoch = -1
        self.should_stop = False
        self.best_state = None

    def is_better(self, value, best):
        if self.mode == "min":
            return value < best - self.min_delta
        return value > best + self.min_delta

    def step(self, metric, model=None):
        """Record one value of the metric; return True when training should stop.

        A ``nan`` metric never counts as an improvement.
        """
        model = model if model is not None else self.model
        value = float(metric.item() if hasattr(metric, "item") else metric)
        self.epoch += 1
        if not math.isnan(value) and self.is_better(value, self.best):
            self.best = value
            self.best_epoch = self.epoch
            self.num_bad_epochs = 0
            if self.restore_best_weights and model is not None:
                self.best_state = {k: _snapshot(v) for k, v in model.state_dict().items()}
        else:
            self.num_bad_epochs += 1
        if self.num_bad_epochs >= self.patience and self.epoch > self.best_epoch:
            self.should_stop = True
            if self.restore_best_weights and model is not None:
                self.restore(model)
        return self.should_stop

    __call__ = step

    def restore(self, model=None):
        """Load the best weights into ``model`` (no-op when none were kept)."""
        model = model if model is not None else self.model
        if self.best_state is None or model is None:
            return
        model.load_state_dict({k: _snapshot(v) for k, v in self.best_state.items()})

    def state_dict(self):
        """The counters and the best snapshot (not the model)."""
        return {k: copy.deepcopy(v) if k != "best_state" else v
                for k, v in self.__dict__.items() if k != "model"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)

    def __repr__(self):
        return (f"EarlyStopping(patience={self.patience}, mode={self.mode!r}, best={self.best}, "
                f"best_epoch={self.best_epoch}, num_bad_epochs={self.num_bad_epochs})")
