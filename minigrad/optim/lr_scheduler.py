r"""Learning-rate schedules, with PyTorch's semantics (``torch.optim.lr_scheduler``).

A scheduler owns no parameters: it rewrites ``group["lr"]`` (and for the cyclic
schedules ``group["momentum"]`` or ``group["betas"][0]``) in its optimizer's
``param_groups``. The counting convention is PyTorch's:

* At construction the scheduler stores ``group["initial_lr"]`` (once: the first scheduler
  on an optimizer sets it, later ones read it), copies it to ``base_lrs``, and takes one
  *initial step*: ``last_epoch`` goes from ``-1`` to ``0`` and ``group["lr"]`` becomes
  :math:`\eta_0`, the schedule's value at :math:`t = 0`.
* Each ``step()`` advances ``last_epoch`` (:math:`t`) by one and writes :math:`\eta_t`.
  Call it after ``optimizer.step()``: the optimizer step :math:`t` uses :math:`\eta_t`.
* ``get_last_lr()`` returns the values last written, one per param group.
* ``state_dict()`` holds every attribute except the optimizer (lambdas and other
  callables are left out, as in PyTorch); ``load_state_dict`` restores them.

Two forms of every rule
-----------------------
The docstring of each scheduler gives the *closed form* :math:`\eta_t = f(t)`. The code
of ``get_lr`` uses PyTorch's *chainable* (recursive) form, which multiplies the
*current* ``group["lr"]`` by :math:`f(t)/f(t-1)`; that is what lets several
schedulers act on one optimizer at once (their factors multiply, see
:class:`ChainedScheduler`). Where PyTorch also has a closed form
(``_get_closed_form_lr``) it is used by the deprecated ``step(epoch)`` call, as in PyTorch.
For one scheduler alone the two forms agree to float rounding; the tests pin that.

Where minigrad departs from PyTorch
-----------------------------------
* The optimizer is checked by duck typing (it needs ``param_groups``, a list of dicts
  with ``"lr"``), not by ``isinstance``; any object shaped like an optimizer works.
* PyTorch wraps ``optimizer.step`` to warn when ``scheduler.step()`` is called first;
  minigrad does not patch the optimizer and does not warn.
* Learning rates are Python floats (PyTorch also allows 0-d tensors).
* Extras that PyTorch does not have: :class:`InverseTimeLR`, :class:`LinearWarmup`,
  :func:`linear_scaling_rule` and :func:`gradual_warmup` (Goyal et al., 2017).

References
----------
Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR 2017.
Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017.
Smith & Topin, "Super-Convergence", 2018 (one-cycle).
Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour", 2017.
"""
from __future__ import annotations

import math
import numbers
import types
import warnings
from bisect import bisect_right
from collections import Counter

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "InverseTimeLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "LinearWarmup",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
    "gradual_warmup",
    "linear_scaling_rule",
]

_EPOCH_DEPRECATION = (
    "passing an epoch to scheduler.step() is deprecated (as in PyTorch): the closed form is "
    "used where the scheduler has one; call step() without arguments instead"
)


# --------------------------------------------------------------------------- helpers
def _check_optimizer(optimizer):
    groups = getattr(optimizer, "param_groups", None)
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise TypeError(
            f"{type(optimizer).__name__} is not an Optimizer: a scheduler needs an object "
            "with param_groups, a list of dicts holding 'lr'"
        )
    for i, group in enumerate(groups):
        if "lr" not in group:
            raise KeyError(f"param_groups[{i}] has no 'lr' entry")


def _format_param(name, optimizer, value):
    """One value per param group: a scalar is repeated, a list must match in length."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(
                f"{name} must have one value per param group: got {len(value)} values for "
                f"{len(optimizer.param_groups)} param groups"
            )
        return list(value)
    return [value] * len(optimizer.param_groups)


def _group_lrs(optimizer, key="lr"):
    return [group[key] for group in optimizer.param_groups]


def _optimizer_defaults(optimizer):
    defaults = getattr(optimizer, "defaults", None)
    if defaults is None:  # a bare object with param_groups: look at the first group
        defaults = optimizer.param_groups[0] if optimizer.param_groups else {}
    return defaults


def _cycles_beta1(optimizer):
    """For ``cycle_momentum``: whether the cycled momentum is ``betas[0]`` (Adam-like)
    rather than ``momentum``; an optimizer with neither is refused (PyTorch's message)."""
    defaults = _optimizer_defaults(optimizer)
    if "momentum" not in defaults and "betas" not in defaults:
        raise ValueError(
            "optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
    return "betas" in defaults


def _set_momentum(group, momentum, use_beta1):
    """Write the cycled momentum: ``betas[0]`` for Adam-like optimizers, else ``momentum``."""
    if use_beta1:
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


def _state_without(obj, *skip):
    return {k: v for k, v in obj.__dict__.items() if k not in ("optimizer", *skip)}


def _lambdas_state(lambdas):
    # Plain functions and lambdas are not saved (as in PyTorch); callable objects save
    # their __dict__ so that stateful multipliers resume.
    return [None if isinstance(fn, types.FunctionType) else dict(fn.__dict__) for fn in lambdas]


# --------------------------------------------------------------------------- base class
class LRScheduler:
    r"""Base class of the epoch-indexed schedulers.

    Subclasses implement :meth:`get_lr`, the chainable rule for step ``self.last_epoch``,
    and optionally ``_get_closed_form_lr``.

    Parameters
    ----------
    optimizer : Optimizer
        Any object with ``param_groups`` (a list of dicts with ``"lr"``).
    last_epoch : int, default -1
        Index of the last step taken. ``-1`` starts a fresh schedule; a value ``>= 0``
        resumes one and needs ``"initial_lr"`` in every group.
    """

    _is_initial = False  # True only during the initial step taken by __init__

    def __init__(self, optimizer, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when "
                        f"resuming a scheduler with last_epoch={last_epoch}; load the "
                        "optimizer's state_dict first, or start with last_epoch=-1"
                    )
        self.base_lrs = _group_lrs(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        """Set ``_step_count = 0`` and take the step that writes :math:`\\eta_0`."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def state_dict(self):
        """Every attribute except the optimizer, as a dict (PyTorch's layout)."""
        return _state_without(self)

    def load_state_dict(self, state_dict):
        """Restore the attributes saved by :meth:`state_dict`."""
        self.__dict__.update(state_dict)

    def get_last_lr(self):
        """The learning rates written by the last step, one per param group."""
        return self._last_lr

    def get_lr(self):
        """The learning rates for step ``self.last_epoch`` (chainable form)."""
        raise NotImplementedError

    def step(self, epoch=None):
        """Advance one step (``last_epoch += 1``) and write the new learning rates.

        ``epoch`` is deprecated, as in PyTorch: it sets ``last_epoch`` and uses the closed
        form where the scheduler has one.
        """
        self._step_count += 1
        if epoch is not None:
            warnings.warn(_EPOCH_DEPRECATION, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        if len(values) != len(self.optimizer.param_groups):
            raise RuntimeError(
                f"{type(self).__name__} computed {len(values)} learning rates for "
                f"{len(self.optimizer.param_groups)} param groups"
            )
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = _group_lrs(self.optimizer)

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self._last_lr})"


_LRScheduler = LRScheduler  # PyTorch's old name


# --------------------------------------------------------------------------- multiplicative
class LambdaLR(LRScheduler):
    r"""Multiply the initial lr by a function of the step.

    .. math:: \eta_t = \eta_{\text{init}} \cdot \lambda(t)

    Parameters
    ----------
    optimizer : Optimizer
    lr_lambda : callable or list of callables
        ``t -> factor``; one per param group, or one for all.
    last_epoch : int, default -1

    Notes
    -----
    Not chainable: it reads ``base_lrs``, not the current lr (as in PyTorch).
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        self.lr_lambdas = _format_param("lr_lambda", optimizer, lr_lambda)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"lr_lambda should be a function, but got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def state_dict(self):
        state = _state_without(self, "lr_lambdas")
        state["lr_lambdas"] = _lambdas_state(self.lr_lambdas)
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        lambdas = state_dict.pop("lr_lambdas")
        self.__dict__.update(state_dict)
        for fn, saved in zip(self.lr_lambdas, lambdas):
            if saved is not None:
                fn.__dict__.update(saved)

    def get_lr(self):
        return [base_lr * fn(self.last_epoch)
                for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(LambdaLR):
    r"""Multiply the current lr by a function of the step, every step after the first.

    .. math:: \eta_0 = \eta_{\text{init}}, \qquad \eta_t = \eta_{t-1}\cdot\lambda(t)
              = \eta_{\text{init}} \prod_{s=1}^{t} \lambda(s)
    """

    def get_lr(self):
        if self._is_initial:
            return _group_lrs(self.optimizer)
        return [
            group["lr"] * fn(self.last_epoch)
            for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups)
        ]


class StepLR(LRScheduler):
    r"""Decay by ``gamma`` every ``step_size`` steps.

    .. math:: \eta_t = \eta_{\text{init}} \cdot \gamma^{\lfloor t / s \rfloor}

    Parameters
    ----------
    optimizer : Optimizer
    step_size : int
        Period :math:`s` of the decay, in steps: a positive whole number. A float equal to
        one (``2.0``) is taken as that int, as PyTorch's arithmetic would; a fractional
        one (``2.5``) is refused, a deliberate difference (PyTorch accepts it, and then
        its recursive and closed forms disagree: ``t % 2.5 == 0`` only every 5 steps
        while ``t // 2.5`` grows every 2 or 3).
    gamma : float, default 0.1
    last_epoch : int, default -1
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        if (isinstance(step_size, numbers.Real) and not isinstance(step_size, int)
                and float(step_size).is_integer()):
            step_size = int(step_size)  # 2.0 (or a NumPy integer) → 2
        if not isinstance(step_size, int) or step_size <= 0:
            raise ValueError(f"StepLR: step_size must be a positive whole number, got "
                             f"{step_size!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _group_lrs(self.optimizer)
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    r"""Decay by ``gamma`` at each milestone.

    .. math:: \eta_t = \eta_{\text{init}} \cdot \gamma^{\#\{m \in M : m \le t\}}

    A milestone listed twice decays twice (PyTorch counts them).
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return _group_lrs(self.optimizer)
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [group["lr"] * factor for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [b * self.gamma ** bisect_right(milestones, self.last_epoch) for b in self.base_lrs]


class ConstantLR(LRScheduler):
    r"""Scale by a constant ``factor`` until ``total_iters``, then restore.

    .. math:: \eta_t = \eta_{\text{init}} \cdot
              \begin{cases} f & t < T \\ 1 & t \ge T \end{cases}
    """

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        if factor > 1.0 or factor < 0:
            raise ValueError(f"ConstantLR: factor must be in [0, 1], got {factor}")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return _group_lrs(self.optimizer)
        return [group["lr"] * (1.0 / self.factor) for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        f = self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor)
        return [b * f for b in self.base_lrs]


class LinearLR(LRScheduler):
    r"""Change the lr's factor linearly from ``start_factor`` to ``end_factor``.

    .. math:: \eta_t = \eta_{\text{init}} \Bigl(s + (e - s)\,\frac{\min(t, T)}{T}\Bigr)

    With ``start_factor`` < 1 = ``end_factor`` this is a linear warm-up.
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor}")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor}")
        if not isinstance(total_iters, int) or total_iters <= 0:
            raise ValueError(f"LinearLR: total_iters must be a positive int, got {total_iters!r}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        s, e, T, t = self.start_factor, self.end_factor, self.total_iters, self.last_epoch
        if t == 0:
            return [group["lr"] * s for group in self.optimizer.param_groups]
        if self._is_initial or t > T:
            return _group_lrs(self.optimizer)
        # f(t)/f(t-1) with f(t) = s + (e - s) t / T, written as PyTorch writes it
        ratio = 1.0 + (e - s) / (T * s + (t - 1) * (e - s))
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        s, e, T = self.start_factor, self.end_factor, self.total_iters
        return [b * (s + (e - s) * min(T, self.last_epoch) / T) for b in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Decay by ``gamma`` every step.

    .. math:: \eta_t = \eta_{\text{init}} \cdot \gamma^{t}
    """

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return _group_lrs(self.optimizer)
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [b * self.gamma ** self.last_epoch for b in self.base_lrs]


class InverseTimeLR(LRScheduler):
    r"""Hyperbolic (inverse-time) decay, a minigrad extra.

    .. math:: \eta_t = \frac{\eta_{\text{init}}}{1 + k\,t}

    The classic Robbins-Monro-style schedule: :math:`\sum_t \eta_t = \infty` while
    :math:`\eta_t \to 0`.

    Parameters
    ----------
    optimizer : Optimizer
    decay : float
        :math:`k \ge 0`.
    last_epoch : int, default -1
    """

    def __init__(self, optimizer, decay, last_epoch=-1):
        if decay < 0:
            raise ValueError(f"InverseTimeLR: decay must be >= 0, got {decay}")
        self.decay = decay
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial or self.last_epoch == 0:
            return _group_lrs(self.optimizer)
        t, k = self.last_epoch, self.decay
        ratio = (1.0 + k * (t - 1)) / (1.0 + k * t)  # f(t) / f(t-1)
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [b / (1.0 + self.decay * self.last_epoch) for b in self.base_lrs]


class PolynomialLR(LRScheduler):
    r"""Polynomial decay to zero over ``total_iters`` steps.

    .. math:: \eta_t = \eta_{\text{init}} \Bigl(1 - \frac{\min(t, T)}{T}\Bigr)^{p}
    """

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        if not isinstance(total_iters, int) or total_iters <= 0:
            raise ValueError(
                f"PolynomialLR: total_iters must be a positive int, got {total_iters!r}")
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, T = self.last_epoch, self.total_iters
        if self._is_initial or t > T:
            return _group_lrs(self.optimizer)
        ratio = ((1.0 - t / T) / (1.0 - (t - 1) / T)) ** self.power
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        T = self.total_iters
        return [b * (1.0 - min(T, self.last_epoch) / T) ** self.power for b in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from the initial lr to ``eta_min`` over ``T_max`` steps.

    .. math:: \eta_t = \eta_{\min} + \tfrac12(\eta_{\text{init}} - \eta_{\min})
              \bigl(1 + \cos(\pi t / T_{\max})\bigr)

    Notes
    -----
    PyTorch's recursive form is used (not the closed form):

    .. math:: \eta_t = \eta_{\min} + (\eta_{t-1} - \eta_{\min})
              \frac{1 + \cos(\pi t/T)}{1 + \cos(\pi (t-1)/T)},

    with a special case at :math:`t - 1 - T \equiv 0 \pmod{2T}` (where the denominator
    vanishes) that adds :math:`(\eta_{\text{init}}-\eta_{\min})(1-\cos(\pi/T))/2`.
    Past :math:`T_{\max}` the lr therefore climbs back along the cosine (period
    :math:`2T_{\max}`) rather than staying at :math:`\eta_{\min}`; there are no restarts
    (see :class:`CosineAnnealingWarmRestarts`). When another scheduler also changes the
    lr, the recursive form follows that change, the closed form would not.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        if T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be positive, got {T_max}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return _group_lrs(self.optimizer)
        if self._step_count == 1 and t > 0:  # resumed with last_epoch > 0
            return [eta_min + (b - eta_min) * (1 + math.cos(t * math.pi / T)) / 2
                    for b in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            return [group["lr"] + (b - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for b, group in zip(self.base_lrs, self.optimizer.param_groups)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (group["lr"] - eta_min) + eta_min for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [self.eta_min + (b - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch
                                                                  / self.T_max)) / 2
                for b in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""SGDR: cosine annealing that restarts, with periods :math:`T_0, T_0 T_{mult}, \dots`.

    .. math:: \eta_t = \eta_{\min} + \tfrac12(\eta_{\text{init}} - \eta_{\min})
              \bigl(1 + \cos(\pi T_{cur} / T_i)\bigr)

    where :math:`T_{cur}` counts steps since the last restart and :math:`T_i` is the current
    period. In closed form, for :math:`T_{mult} > 1` the restart index is
    :math:`n = \lfloor \log_{T_{mult}}(t (T_{mult}-1)/T_0 + 1) \rfloor`,
    :math:`T_i = T_0 T_{mult}^n` and :math:`T_{cur} = t - T_0 (T_{mult}^n - 1)/(T_{mult}-1)`;
    for :math:`T_{mult} = 1`, :math:`T_{cur} = t \bmod T_0`.

    ``step(epoch)`` accepts a fractional epoch (e.g. ``epoch + i / iters_per_epoch``) to
    anneal within an epoch, as in the SGDR paper; ``last_epoch`` is then ``floor(epoch)``.

    Parameters
    ----------
    optimizer : Optimizer
    T_0 : int
        Length of the first period.
    T_mult : int, default 1
        Factor by which each period grows.
    eta_min : float, default 0.0
    last_epoch : int, default -1
    """

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        if not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"Expected positive integer T_0, but got {T_0!r}")
        if not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult!r}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min!r}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        cos = math.cos(math.pi * self.T_cur / self.T_i)
        return [self.eta_min + (b - self.eta_min) * (1 + cos) / 2 for b in self.base_lrs]

    def step(self, epoch=None):
        """Advance one step, or jump to ``epoch`` (may be fractional)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:  # restart
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult**n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = _group_lrs(self.optimizer)


# --------------------------------------------------------------------------- cyclic
class CyclicLR(LRScheduler):
    r"""Cyclical learning rate (Smith, 2017), stepped every batch.

    With :math:`c = \lfloor 1 + t / (S_{up} + S_{down}) \rfloor` the cycle and
    :math:`x = 1 + t/(S_{up}+S_{down}) - c \in [0, 1)` the position in it,
    the rise-and-fall shape is :math:`h = x / r` for :math:`x \le r` and
    :math:`h = (x - 1)/(r - 1)` after, with :math:`r = S_{up}/(S_{up}+S_{down})`. Then

    .. math:: \eta_t = \eta_{base} + (\eta_{max} - \eta_{base})\, h\, \sigma

    where :math:`\sigma` is 1 (``"triangular"``), :math:`2^{-(c-1)}` (``"triangular2"``:
    the amplitude halves each cycle) or :math:`\gamma^{t}` (``"exp_range"``), or a custom
    ``scale_fn`` of the cycle or the iteration (``scale_mode``). With ``cycle_momentum``
    the momentum moves the opposite way:
    :math:`\mu_t = \mu_{max} - (\mu_{max} - \mu_{base})\, h\, \sigma`, written to
    ``group["momentum"]`` or, for Adam-like optimizers (``"betas"`` in the defaults), to
    ``group["betas"][0]``.

    Notes
    -----
    As in PyTorch, the constructor overwrites ``group["lr"]`` with ``base_lr`` and
    ``base_lrs`` is ``base_lr`` (not ``initial_lr``); ``get_lr`` is a closed form, so it
    does not chain with other schedulers.
    """

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None,
                 mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle",
                 cycle_momentum=True, base_momentum=0.8, max_momentum=0.9, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        base_lrs = _format_param("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = _format_param("max_lr", optimizer, max_lr)
        step_size_up = float(step_size_up)
        step_size_down = float(step_size_down) if step_size_down is not None else step_size_up
        if step_size_up <= 0 or step_size_down < 0:
            raise ValueError(
                f"CyclicLR: step_size_up must be > 0 and step_size_down >= 0, got "
                f"{step_size_up}, {step_size_down}")
        self.total_size = step_size_up + step_size_down
        self.step_ratio = step_size_up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError(f"CyclicLR: mode {mode!r} is invalid and scale_fn is None")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(
                f"CyclicLR: scale_mode must be 'cycle' or 'iterations', got {scale_mode!r}")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _cycles_beta1(optimizer)
            self.base_momentums = _format_param("base_momentum", optimizer, base_momentum)
            self.max_momentums = _format_param("max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                for m_max, m_base, group in zip(self.max_momentums, self.base_momentums,
                                                optimizer.param_groups):
                    _set_momentum(group, m_max, self.use_beta1)
                    group["max_momentum"] = m_max
                    group["base_momentum"] = m_base
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_scale_fn(self):
        if self._scale_fn_custom is not None:
            return
        # the built-in modes fix scale_mode, as in PyTorch
        self.scale_mode = "iterations" if self.mode == "exp_range" else "cycle"

    def scale_fn(self, x):
        """The amplitude factor :math:`\\sigma` at cycle (or iteration) ``x``."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x  # exp_range

    def _shape(self):
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            h = x / self.step_ratio
        else:
            h = (x - 1) / (self.step_ratio - 1)
        sigma = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        return h, sigma

    def get_lr(self):
        h, sigma = self._shape()
        lrs = [b + (m - b) * h * sigma for b, m in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, m_base, m_max in zip(self.optimizer.param_groups, self.base_momentums,
                                            self.max_momentums):
                _set_momentum(group, m_max - (m_max - m_base) * h * sigma, self.use_beta1)
        return lrs

    def state_dict(self):
        state = _state_without(self, "_scale_fn_custom")
        fn = self._scale_fn_custom
        state["_scale_fn_custom"] = (
            None if fn is None or isinstance(fn, types.FunctionType) else dict(fn.__dict__))
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        fn = state_dict.pop("_scale_fn_custom")
        self.__dict__.update(state_dict)
        if fn is not None:
            self._scale_fn_custom.__dict__.update(fn)
        self._init_scale_fn()


class OneCycleLR(LRScheduler):
    r"""The one-cycle policy (Smith & Topin, 2018), stepped every batch.

    With :math:`\eta_{max}` = ``max_lr``, :math:`\eta_0 = \eta_{max}/d` (``div_factor``),
    :math:`\eta_{min} = \eta_0 / d_f` (``final_div_factor``), :math:`N` = ``total_steps``,
    :math:`p` = ``pct_start`` and ``anneal(a, b, u)`` = :math:`b + (a-b)(1+\cos\pi u)/2`
    (``"cos"``) or :math:`a + (b-a)u` (``"linear"``):

    * two phases (default): from step 0 to :math:`pN-1` anneal :math:`\eta_0 \to \eta_{max}`;
      from :math:`pN-1` to :math:`N-1` anneal :math:`\eta_{max} \to \eta_{min}`;
    * ``three_phase=True``: :math:`\eta_0 \to \eta_{max}` until :math:`pN-1`,
      :math:`\eta_{max} \to \eta_0` until :math:`2pN-2`, then :math:`\eta_0 \to \eta_{min}`
      until :math:`N-1`.

    Within a phase from :math:`s_0` to :math:`s_1`, :math:`u = (t - s_0)/(s_1 - s_0)`.
    With ``cycle_momentum`` the momentum (or ``betas[0]``) goes the opposite way, between
    ``max_momentum`` (when the lr is low) and ``base_momentum`` (at :math:`\eta_{max}`).
    Stepping past ``total_steps`` raises ``ValueError``.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps!r}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs!r}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(
                    f"Expected positive integer steps_per_epoch, but got {steps_per_epoch!r}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        if not isinstance(pct_start, float) or pct_start < 0 or pct_start > 1:
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                "anneal_strategy must be one of 'cos' or 'linear', instead got "
                f"{anneal_strategy!r}")
        self._anneal_func_type = anneal_strategy
        N, p = self.total_steps, pct_start
        def phase(end_step, start_lr, end_lr, start_momentum, end_momentum):
            return {"end_step": end_step, "start_lr": start_lr, "end_lr": end_lr,
                    "start_momentum": start_momentum, "end_momentum": end_momentum}

        if three_phase:
            self._schedule_phases = [
                phase(float(p * N) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                phase(float(2 * p * N) - 2, "max_lr", "initial_lr", "base_momentum",
                      "max_momentum"),
                phase(N - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._schedule_phases = [
                phase(float(p * N) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                phase(N - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        max_lrs = _format_param("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for m, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _cycles_beta1(optimizer)
            max_m = _format_param("max_momentum", optimizer, max_momentum)
            base_m = _format_param("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for m_max, m_base, group in zip(max_m, base_m, optimizer.param_groups):
                    _set_momentum(group, m_max, self.use_beta1)
                    group["max_momentum"] = m_max
                    group["base_momentum"] = m_base
        super().__init__(optimizer, last_epoch)

    def _anneal_func(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(
                f"Tried to step {t} times. The specified number of total steps is "
                f"{self.total_steps}")
        lrs = []
        last = len(self._schedule_phases) - 1
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if t <= end_step or i == last:
                    pct = (t - start_step) / (end_step - start_step)
                    lr = self._anneal_func(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal_func(group[phase["start_momentum"]],
                                                     group[phase["end_momentum"]], pct)
                    break
                start_step = end_step
            lrs.append(lr)
            if self.cycle_momentum:
                _set_momentum(group, momentum, self.use_beta1)
        return lrs


# --------------------------------------------------------------------------- composition
def _check_schedulers(name, schedulers, optimizer):
    """What SequentialLR and ChainedScheduler require of the schedulers they combine."""
    if len(schedulers) < 1:
        raise ValueError(f"{name} expects at least one scheduler, but got none")
    for i, s in enumerate(schedulers):
        if not hasattr(s, "optimizer"):
            raise TypeError(f"{name}: scheduler at index {i} has no `optimizer` attribute")
        if isinstance(s, ReduceLROnPlateau):  # ValueError, as PyTorch raises
            raise ValueError(
                f"{name} does not support ReduceLROnPlateau (its step needs a metric), "
                f"but got one at index {i}")
        if s.optimizer is not optimizer:
            raise ValueError(
                f"{name} expects all schedulers to belong to the same optimizer, but "
                f"scheduler {type(s).__name__} at index {i} has a different one")


class SequentialLR(LRScheduler):
    r"""Run schedulers one after another, switching at the given milestones.

    Scheduler :math:`i` runs for :math:`t \in [m_{i-1}, m_i)`; at each milestone the next
    scheduler starts from its own step 0 (its ``last_epoch`` is set to 0 and its closed
    form evaluated), so each sub-schedule sees local time.

    Examples
    --------
    Linear warm-up for 5 steps then cosine annealing::

        warm = LinearLR(opt, start_factor=0.1, total_iters=5)
        cos = CosineAnnealingLR(opt, T_max=95)
        sched = SequentialLR(opt, [warm, cos], milestones=[5])
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        _check_schedulers("SequentialLR", schedulers, optimizer)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "SequentialLR expects one milestone fewer than schedulers, but got "
                f"{len(schedulers)} schedulers and {len(milestones)} milestones")
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # undo what the sub-schedulers' constructors did, then start the first one again
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self.recursive_undo()
        idx = bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = self._schedulers[idx].get_last_lr()

    def recursive_undo(self, sched=None):
        """Take one step back in every (nested) sub-scheduler's ``last_epoch``."""
        sched = self if sched is None else sched
        if hasattr(sched, "_schedulers"):
            for s in sched._schedulers:
                self.recursive_undo(s)
        elif hasattr(sched, "last_epoch"):
            sched.last_epoch -= 1

    def step(self):
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)  # start the next schedule at its step 0 (closed form)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        state = _state_without(self, "_schedulers")
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        subs = state_dict.pop("_schedulers")
        self.__dict__.update(state_dict)
        for s, sd in zip(self._schedulers, subs):
            s.load_state_dict(sd)


class ChainedScheduler(LRScheduler):
    r"""Step several schedulers together; their (chainable) factors multiply.

    Example: ``ChainedScheduler([ConstantLR(opt, 0.1, total_iters=2), ExponentialLR(opt, 0.9)])``
    gives :math:`\eta_t = \eta_{\text{init}} \cdot 0.9^{t} \cdot (0.1 \text{ if } t < 2
    \text{ else } 1)`.
    """

    def __init__(self, schedulers, optimizer=None):
        if len(schedulers) < 1:
            raise ValueError("ChainedScheduler expects at least one scheduler, but got none")
        optimizer = optimizer or schedulers[0].optimizer
        _check_schedulers("ChainedScheduler", schedulers, optimizer)
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = _group_lrs(self._schedulers[-1].optimizer)

    def step(self):
        for s in self._schedulers:
            s.step()
        self._last_lr = _group_lrs(self._schedulers[-1].optimizer)

    state_dict = SequentialLR.state_dict
    load_state_dict = SequentialLR.load_state_dict


# --------------------------------------------------------------------------- plateau
def _metric_value(metrics) -> float:
    """The monitored metric as a Python float: a number, or a Tensor or array holding one
    element (PyTorch's ``float(metrics)`` takes a one-element tensor of any shape; NumPy's
    ``float`` only a 0-d array)."""
    try:
        return float(metrics)
    except (TypeError, ValueError):
        pass
    data = metrics.data if hasattr(metrics, "requires_grad") else metrics
    shape = getattr(data, "shape", None)
    if shape is not None and hasattr(data, "reshape") and math.prod(shape) == 1:
        return float(data.reshape(-1)[0])
    what = f"shape {tuple(shape)}" if shape is not None else type(metrics).__name__
    raise TypeError(
        "ReduceLROnPlateau.step: the metric must be a number or a one-element Tensor, "
        f"got {what}")


class ReduceLROnPlateau(LRScheduler):
    r"""Reduce the lr by ``factor`` when a metric has stopped improving.

    ``step(metric)`` once per evaluation. A value :math:`a` improves on the best
    :math:`b` when (``mode``, ``threshold_mode``) is

    * ``min``, ``rel``: :math:`a < b(1 - \theta)`;  ``min``, ``abs``: :math:`a < b - \theta`;
    * ``max``, ``rel``: :math:`a > b(1 + \theta)`;  ``max``, ``abs``: :math:`a > b + \theta`.

    After more than ``patience`` evaluations without improvement each group's lr becomes
    :math:`\max(\eta\cdot f, \eta_{min})` (skipped when the change is at most ``eps``), and
    the next ``cooldown`` evaluations do not count as bad.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor should be < 1.0, got {factor}")
        _check_optimizer(optimizer)
        self.factor = factor
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(
                    f"expected {len(optimizer.param_groups)} min_lrs, got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = _group_lrs(optimizer)
        self._init_is_better(mode=mode, threshold=threshold, threshold_mode=threshold_mode)
        self._reset()

    def _reset(self):
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics, epoch=None):
        """Record one value of the monitored metric and reduce the lr if it has plateaued."""
        current = _metric_value(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(_EPOCH_DEPRECATION, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # ignore bad epochs in cooldown
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = _group_lrs(self.optimizer)

    def _reduce_lr(self):
        if len(self.optimizer.param_groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"The number of param groups in the optimizer "
                    f"({len(self.optimizer.param_groups)}) differs from when ReduceLROnPlateau "
                    f"was initialized ({len(self.min_lrs)}); set `min_lrs` to match")
            self.min_lrs = [self.default_min_lr] * len(self.optimizer.param_groups)
        for i, group in enumerate(self.optimizer.param_groups):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, self.min_lrs[i])
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def _is_better(self, a, best):
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min" and self.threshold_mode == "abs":
            return a < best - self.threshold
        if self.mode == "max" and self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def _init_is_better(self, mode, threshold, threshold_mode):
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode {mode!r} is unknown (use 'min' or 'max')")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"ReduceLROnPlateau: threshold mode {threshold_mode!r} is unknown "
                "(use 'rel' or 'abs')")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)


# --------------------------------------------------------------------------- warm-up, scaling
class LinearWarmup(LinearLR):
    r"""Linear warm-up over ``warmup_iters`` steps, a minigrad extra.

    .. math:: \eta_t = \eta_{\text{init}} \Bigl(s + (1 - s)\,\frac{\min(t, W)}{W}\Bigr)

    It is :class:`LinearLR` with ``end_factor=1``; ``start_factor`` defaults to
    :math:`1/W`. Follow it with another schedule through :class:`SequentialLR`
    (milestone ``W``), or use :func:`gradual_warmup`.
    """

    def __init__(self, optimizer, warmup_iters, start_factor=None, last_epoch=-1):
        if not isinstance(warmup_iters, int) or warmup_iters <= 0:
            raise ValueError(
                f"LinearWarmup: warmup_iters must be a positive int, got {warmup_iters!r}")
        self.warmup_iters = warmup_iters
        if start_factor is None:
            start_factor = 1.0 / warmup_iters
        super().__init__(optimizer, start_factor=start_factor, end_factor=1.0,
                         total_iters=warmup_iters, last_epoch=last_epoch)


def linear_scaling_rule(base_lr, batch_size, base_batch_size=256):
    r"""The linear scaling rule of Goyal et al. (2017): :math:`\eta = \eta_{base}\, B / B_{base}`.

    "When the minibatch size is multiplied by k, multiply the learning rate by k."

    Parameters
    ----------
    base_lr : float
        Learning rate tuned for batches of ``base_batch_size`` (0.1 for ResNet-50 in the paper).
    batch_size : int
        The batch size actually used (summed over workers in data-parallel training).
    base_batch_size : int, default 256

    Examples
    --------
    >>> linear_scaling_rule(0.1, 8192)
    3.2
    """
    if base_lr < 0:
        raise ValueError(f"linear_scaling_rule: base_lr must be >= 0, got {base_lr}")
    if batch_size <= 0 or base_batch_size <= 0:
        raise ValueError(
            "linear_scaling_rule: batch sizes must be positive, got "
            f"{batch_size}, {base_batch_size}")
    return base_lr * batch_size / base_batch_size


def gradual_warmup(optimizer, warmup_iters, batch_size, base_batch_size=256, after=None):
    r"""Goyal et al.'s gradual warm-up: ramp from :math:`\eta_{base}` to the scaled lr.

    The optimizer's lr must already be the scaled lr
    :math:`k\eta_{base}` with :math:`k = B / B_{base}` (see :func:`linear_scaling_rule`).
    Over ``warmup_iters`` steps (5 epochs' worth of iterations in the paper) the lr grows
    linearly from :math:`\eta_{base}` to :math:`k\eta_{base}`:

    .. math:: \eta_t = k\eta_{base}\Bigl(\tfrac1k + (1 - \tfrac1k)\frac{\min(t, W)}{W}\Bigr)

    then ``after`` (a scheduler built beforehand on the same optimizer, e.g. a
    :class:`MultiStepLR`) takes over at step ``W`` with its own step 0. When
    :math:`k \le 1` no warm-up is needed and the lr is constant during the first W steps.

    Returns
    -------
    LinearWarmup, or SequentialLR when ``after`` is given.

    Examples
    --------
    A sketch (``SGD`` from ``minigrad.optim``)::

        lr = linear_scaling_rule(0.1, batch_size=8192)          # 3.2
        opt = SGD(model.parameters(), lr=lr, momentum=0.9)
        decay = MultiStepLR(opt, milestones=[30 * n, 60 * n, 80 * n])
        sched = gradual_warmup(opt, 5 * n, batch_size=8192, after=decay)  # n = iters/epoch
    """
    k = batch_size / base_batch_size
    warm = LinearWarmup(optimizer, warmup_iters, start_factor=min(1.0, 1.0 / k))
    if after is None:
        return warm
    return SequentialLR(optimizer, [warm, after], milestones=[warmup_iters])
