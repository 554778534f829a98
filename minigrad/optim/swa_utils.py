r"""Weight averaging: stochastic weight averaging (SWA), EMA, SWALR and ``update_bn``.

PyTorch's ``torch.optim.swa_utils``, written against minigrad's ``nn.Module``.

SWA (Izmailov et al., 2018) averages the weights visited by SGD late in training, with a
constant or cyclical learning rate, and lands in a flatter, better-generalising region
than any single iterate. With :math:`\bar\theta_n` the average of the first n snapshots:

.. math:: \bar\theta_{n+1} = \bar\theta_n + \frac{\theta - \bar\theta_n}{n + 1}
          \qquad(\text{the running mean; } \bar\theta_1 = \theta)

An exponential moving average (EMA, Polyak-Ruppert averaging with forgetting) instead
keeps :math:`\bar\theta \leftarrow \beta\bar\theta + (1 - \beta)\theta` with decay β.

Because the averaged weights were never used with the batch statistics they imply,
BatchNorm running statistics must be recomputed for the averaged model with
:func:`update_bn` (one pass over the training data) before evaluating it.

Examples
--------
::

    swa_model = AveragedModel(model)                       # SWA running mean
    ema_model = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.999))
    swa_sched = SWALR(opt, swa_lr=0.05, anneal_epochs=5)
    for epoch in range(100):
        train_one_epoch(model, opt)
        if epoch >= 75:
            swa_model.update_parameters(model); swa_sched.step()
    update_bn(train_loader, swa_model)

Notes
-----
* The averaging functions receive detached Tensors that share memory with the averaged
  model's parameters (``multi_avg_fn`` updates them in place; ``avg_fn`` returns the new
  value) and ``num_averaged`` as a Python ``int`` (a Tensor in PyTorch).
* With ``use_buffers=True`` floating-point buffers (BatchNorm's running statistics) are
  averaged like parameters; integer buffers (``num_batches_tracked``) are copied from the
  model rather than averaged.
* :func:`update_bn` computes the exact mean of the per-batch statistics by setting each
  BatchNorm's momentum to 1/(k+1) on batch k (PyTorch sets ``momentum=None`` for the same
  cumulative average), so it works with any BatchNorm that uses the usual EMA update.

References
----------
P. Izmailov, D. Podoprikhin, T. Garipov, D. Vetrov, A. G. Wilson, "Averaging Weights
Leads to Wider Optima and Better Generalization", UAI 2018.
B. T. Polyak, A. B. Juditsky, "Acceleration of stochastic approximation by averaging",
SIAM J. Control Optim. 1992.
"""
from __future__ import annotations

import copy
import itertools
import math

import numpy as np

import minigrad as mg
from minigrad._backend import get_array_module, quietly
from minigrad.dtypes import is_floating
from minigrad.nn import Module

from .lr_scheduler import LRScheduler, _format_param

__all__ = [
    "SWALR",
    "AveragedModel",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
    "update_bn",
]


def _is_float(array) -> bool:
    return is_floating(np.dtype(array.dtype))


# --------------------------------------------------------------------------- averaging rules
def _check_decay(decay):
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"Invalid decay value {decay} provided: it must lie in [0, 1]")


def get_ema_multi_avg_fn(decay=0.999):
    r"""In-place EMA over lists: θ̄ ← βθ̄ + (1 − β)θ (β = ``decay``)."""
    _check_decay(decay)

    def ema_update(ema_param_list, current_param_list, _num_averaged):
        for p_ema, p_model in zip(ema_param_list, current_param_list):
            a, b = p_ema.data, p_model.data
            if _is_float(a):
                a += (1 - decay) * (b - a)  # lerp: a + (1 − β)(b − a) = βa + (1 − β)b
            else:
                a[...] = a * decay + b * (1 - decay)
    return ema_update


def get_swa_multi_avg_fn():
    r"""In-place running mean over lists: θ̄ ← θ̄ + (θ − θ̄)/(n + 1)."""

    def swa_update(averaged_param_list, current_param_list, num_averaged):
        for p_avg, p_model in zip(averaged_param_list, current_param_list):
            a, b = p_avg.data, p_model.data
            a += (b - a) / (num_averaged + 1)
    return swa_update


def get_ema_avg_fn(decay=0.999):
    r"""EMA for one parameter, returning the new value: β·avg + (1 − β)·θ."""
    _check_decay(decay)

    def ema_update(ema_param, current_param, _num_averaged):
        return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn():
    r"""Running mean for one parameter, returning the new value: avg + (θ − avg)/(n + 1)."""

    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


def _to_array_like(value, like):
    """The array of ``value`` (Tensor or array) on the device of the array ``like``."""
    value = value.data if hasattr(value, "requires_grad") else value
    xp = get_array_module(like)
    if get_array_module(value) is not xp:
        value = value.get() if xp is np else xp.asarray(value)
    return value


# --------------------------------------------------------------------------- AveragedModel
class AveragedModel(Module):
    r"""A copy of ``model`` whose weights are an average of the model's weights over time.

    Parameters
    ----------
    model : Module
        The model to average (deep-copied once; the copy holds the average).
    device : str, optional
        Keep the average on this device (e.g. ``"cpu"`` while training on ``"cuda"``).
    avg_fn : callable, optional
        ``(averaged, current, num_averaged) -> new averaged`` per parameter.
    multi_avg_fn : callable, optional
        ``(averaged_list, current_list, num_averaged) -> None``, in place. Give at most one
        of ``avg_fn`` and ``multi_avg_fn``; with neither, the SWA running mean.
    use_buffers : bool, default False
        Average the floating-point buffers too (otherwise they are copied from ``model``
        at each update and should be recomputed with :func:`update_bn`).

    Attributes
    ----------
    module : Module
        The averaged copy; ``AveragedModel(x)`` calls it.
    n_averaged : Tensor
        Number of snapshots averaged so far (an int64 buffer, saved in ``state_dict``).
    """

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("AveragedModel: give only one of avg_fn and multi_avg_fn")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", mg.tensor(0, dtype=mg.int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    @quietly   # (an ∞ weight makes ∞ − ∞ = NaN averages, silently)
    def update_parameters(self, model):
        """Fold the current weights of ``model`` into the average."""
        if self.use_buffers:
            self_param = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            model_param = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            self_param = list(self.module.parameters())
            model_param = list(model.parameters())
        if len(self_param) != len(model_param):
            raise ValueError(
                f"AveragedModel.update_parameters: the model has {len(model_param)} tensors to "
                f"average, the averaged copy {len(self_param)}; pass the model it was built from")
        n = int(self.n_averaged.item())
        averaged, current = [], []
        for p_avg, p_model in zip(self_param, model_param):
            value = _to_array_like(p_model, p_avg.data)
            if tuple(value.shape) != tuple(p_avg.data.shape):
                raise ValueError(
                    f"AveragedModel.update_parameters: shape {tuple(value.shape)} of the model "
                    f"does not match {tuple(p_avg.data.shape)} of the average")
            if n == 0 or not _is_float(p_avg.data):
                p_avg.data[...] = value  # first snapshot (and integer buffers): copy
            else:
                averaged.append(p_avg.detach())
                current.append(mg.tensor(value))
        if n > 0 and averaged:
            if self.multi_avg_fn is not None or self.avg_fn is None:
                fn = self.multi_avg_fn or get_swa_multi_avg_fn()
                fn(averaged, current, n)
            else:
                for p_avg, p_model in zip(averaged, current):
                    new = self.avg_fn(p_avg, p_model, n)
                    p_avg.data[...] = _to_array_like(new, p_avg.data)
        if not self.use_buffers:
            # keep the buffers (BatchNorm statistics) in step with the model
            for b_avg, b_model in zip(self.module.buffers(), model.buffers()):
                b_avg.data[...] = _to_array_like(b_model, b_avg.data)
        self.n_averaged.data[...] = n + 1


# --------------------------------------------------------------------------- update_bn
def _is_batchnorm(module) -> bool:
    """A BatchNorm layer (PyTorch's ``isinstance(module, _BatchNorm)``: InstanceNorm, which
    also keeps running statistics when asked, is left alone)."""
    from minigrad.nn.normalization import _BatchNorm

    return isinstance(module, _BatchNorm)


def update_bn(loader, model, device=None):
    r"""Recompute the BatchNorm running statistics of ``model`` with one pass over ``loader``.

    Each BatchNorm's statistics are reset, then the model runs in training mode (without
    gradients) over every batch; the running mean and variance end as the *exact* mean
    of the per-batch statistics. The model's mode and momenta are restored afterwards.

    Parameters
    ----------
    loader : iterable
        Batches; a batch that is a list or tuple contributes its first element (the input).
    model : Module
    device : str, optional
        Move each input there first.
    """
    momenta = {}
    for module in model.modules():
        if _is_batchnorm(module):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    try:
        with mg.no_grad():
            for k, batch in enumerate(loader):
                if isinstance(batch, (list, tuple)):
                    batch = batch[0]
                if device is not None:
                    batch = batch.to(device)
                for module in momenta:
                    module.momentum = 1.0 / (k + 1)  # cumulative mean of the batch statistics
                model(batch)
    finally:
        for module, momentum in momenta.items():
            module.momentum = momentum
        model.train(was_training)


# --------------------------------------------------------------------------- SWALR
class SWALR(LRScheduler):
    r"""Anneal each group's lr to a constant ``swa_lr`` over ``anneal_epochs``, then hold it.

    With :math:`\eta_0` the lr when SWALR starts and
    :math:`\alpha_t = a(\min(1, t / \max(1, T)))`, :math:`a(u) = (1 - \cos\pi u)/2`
    (``"cos"``) or :math:`a(u) = u` (``"linear"``):

    .. math:: \eta_t = \alpha_t\,\eta_{swa} + (1 - \alpha_t)\,\eta_0

    (the code recovers :math:`\eta_0` from the current lr each step, as PyTorch does, so
    the schedule follows any other change to the lr).

    Parameters
    ----------
    optimizer : Optimizer
    swa_lr : float or list of float
    anneal_epochs : int, default 10
    anneal_strategy : {"cos", "linear"}, default "cos"
    last_epoch : int, default -1
    """

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos",
                 last_epoch=-1):
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                "anneal_strategy must be one of 'cos' or 'linear', instead got "
                f"{anneal_strategy!r}")
        self._anneal_strategy = anneal_strategy
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def anneal_func(self, t):
        if self._anneal_strategy == "cos":
            return (1 - math.cos(math.pi * t)) / 2
        return t

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in self.optimizer.param_groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [group["swa_lr"] * alpha + lr * (1 - alpha)
                for group, lr in zip(self.optimizer.param_groups, prev_lrs)]
