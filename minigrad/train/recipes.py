r"""Optimizers and learning-rate schedules by name, as the command line spells them.

``OPTIMIZERS`` maps a name to an optimizer class of :mod:`minigrad.optim` and the fixed
keywords that make the variant (``momentum`` is SGD with momentum 0.9, ``nesterov`` adds
``nesterov=True``). Everything else keeps the class's own defaults: ``make_optimizer``
passes ``lr`` and ``weight_decay`` only when they are given, so "the defaults" of the
comparison harness are exactly the classes' (PyTorch's, where PyTorch has the class).

``SCHEDULES`` are built per optimizer step over a whole run of ``total_steps`` steps:

==================  ========================================================================
``constant``         no scheduler
``cosine``           CosineAnnealingLR(T_max = total_steps), η → 0
``step``             StepLR: ×0.1 after each third of the run
``onecycle``         OneCycleLR(max_lr = lr, total_steps) (Smith & Topin 2018)
``warmup-cosine``    LinearWarmup over the first 10% of the steps (at least 2), then cosine
==================  ========================================================================

Examples
--------
>>> import minigrad as mg
>>> w = mg.zeros(3, requires_grad=True)
>>> opt = make_optimizer("nesterov", [w], lr=0.1)
>>> type(opt).__name__, opt.param_groups[0]["momentum"], opt.param_groups[0]["nesterov"]
('SGD', 0.9, True)
>>> sched = make_scheduler("cosine", opt, total_steps=10)
>>> [round(x, 4) for x in sched.get_last_lr()]
[0.1]
"""
from __future__ import annotations

import importlib
import math

__all__ = ["OPTIMIZERS", "SCHEDULES", "make_optimizer", "make_scheduler", "optimizer_class",
           "default_lr", "with_gradual_warmup"]

#: name → (class name in minigrad.optim, fixed keywords)
OPTIMIZERS = {
    "sgd": ("SGD", {}),
    "momentum": ("SGD", {"momentum": 0.9}),
    "nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}),
    "adagrad": ("Adagrad", {}),
    "rmsprop": ("RMSprop", {}),
    "adadelta": ("Adadelta", {}),
    "adam": ("Adam", {}),
    "amsgrad": ("Adam", {"amsgrad": True}),
    "adamw": ("AdamW", {}),
    "nadam": ("NAdam", {}),
    "radam": ("RAdam", {}),
    "adamax": ("Adamax", {}),
    "adabelief": ("AdaBelief", {}),
    "lion": ("Lion", {}),
    "lars": ("LARS", {}),
    "lamb": ("LAMB", {}),
    "sophia": ("Sophia", {}),
    "rprop": ("Rprop", {}),
    "asgd": ("ASGD", {}),
    "adafactor": ("Adafactor", {}),
    "sam": ("SAM", {"base_optimizer": "SGD", "momentum": 0.9}),
    # mini-batch L-BFGS with PyTorch's lr 1 and no line search diverges on the digits CNN
    # (NaN in the first epoch); with the strong-Wolfe line search it reaches 94% in 3 epochs
    "lbfgs": ("LBFGS", {"line_search_fn": "strong_wolfe"}),
}

SCHEDULES = ("constant", "cosine", "step", "onecycle", "warmup-cosine")


def optimizer_class(name):
    """The class behind an optimizer name of :data:`OPTIMIZERS`."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    optim = importlib.import_module("minigrad.optim")
    return getattr(optim, OPTIMIZERS[name][0])


def _init_defaults(cls):
    import inspect

    return {k: v.default for k, v in inspect.signature(cls.__init__).parameters.items()
            if v.default is not inspect.Parameter.empty}


def default_lr(name):
    """The learning rate ``name`` uses when none is given (its class's default)."""
    if name == "sam":
        return _init_defaults(optimizer_class("sgd"))["lr"]
    return _init_defaults(optimizer_class(name)).get("lr", 1.0)


def make_optimizer(name, params, lr=None, weight_decay=None):
    """An optimizer from its name; ``lr``/``weight_decay`` override the class defaults
    when given."""
    cls = optimizer_class(name)
    kwargs = dict(OPTIMIZERS[name][1])
    if "base_optimizer" in kwargs:
        kwargs["base_optimizer"] = getattr(importlib.import_module("minigrad.optim"),
                                           kwargs["base_optimizer"])
        kwargs.setdefault("lr", default_lr(name))
    if lr is not None:
        kwargs["lr"] = lr
    if weight_decay is not None:
        if name == "lbfgs":
            raise ValueError("lbfgs has no weight_decay")
        kwargs["weight_decay"] = weight_decay
    return cls(list(params), **kwargs)


def make_scheduler(name, optimizer, total_steps):
    """The schedule ``name`` (see :data:`SCHEDULES`) over ``total_steps`` optimizer steps;
    None for ``constant``."""
    from ..optim import lr_scheduler as S

    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")
    total_steps = max(int(total_steps), 1)
    if name == "constant":
        return None
    if name == "cosine":
        return S.CosineAnnealingLR(optimizer, T_max=total_steps)
    if name == "step":
        return S.StepLR(optimizer, step_size=max(1, math.ceil(total_steps / 3)), gamma=0.1)
    if name == "onecycle":
        lr = optimizer.param_groups[0]["lr"]
        defaults = getattr(optimizer, "defaults", {})
        cycle = "momentum" in defaults or "betas" in defaults
        return S.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps,
                            cycle_momentum=cycle)
    warm = max(2, total_steps // 10)
    if total_steps <= warm:
        return S.LinearWarmup(optimizer, warm)
    cosine = S.CosineAnnealingLR(optimizer, T_max=total_steps - warm)
    return S.SequentialLR(optimizer, [S.LinearWarmup(optimizer, warm), cosine],
                          milestones=[warm])


def with_gradual_warmup(name, optimizer, total_steps, warmup_steps, world_size):
    r"""The schedule ``name`` preceded by Goyal et al.'s gradual warm-up from lr/k to lr
    over ``warmup_steps`` (k = ``world_size``; the optimizer's lr is already the scaled
    one, see :func:`~minigrad.optim.lr_scheduler.linear_scaling_rule`).

    ``onecycle`` and ``warmup-cosine`` already start low, so they are returned as they
    are; with k = 1 there is nothing to warm up.
    """
    from ..optim import lr_scheduler as S

    if world_size <= 1 or name in ("onecycle", "warmup-cosine") or warmup_steps < 1:
        return make_scheduler(name, optimizer, total_steps)
    warmup_steps = min(int(warmup_steps), max(total_steps - 1, 1))
    after = None
    if name != "constant" and total_steps > warmup_steps:
        after = make_scheduler(name, optimizer, total_steps - warmup_steps)
    return S.gradual_warmup(optimizer, warmup_steps, batch_size=world_size, base_batch_size=1,
                            after=after)
