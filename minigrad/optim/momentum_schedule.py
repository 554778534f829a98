r"""A momentum schedule: ramp μ linearly from μ₀ to μ₁ (e.g. 0.5 → 0.9) over steps t₀…t₁.

Intuition
---------
Early in training the gradient direction changes quickly and a heavy momentum
overshoots; later it is consistent and a heavy momentum speeds progress. Sutskever et
al. (2013) raise μ over training; a common recipe is 0.5 for the first epochs, then 0.9.

Formula
-------
.. code-block:: text

    μ_t = μ₀ + (μ₁ − μ₀) · clip((t − t₀)/(t₁ − t₀), 0, 1)

so μ_t = μ₀ up to t₀, rises linearly, and stays at μ₁ from t₁ on. t counts calls to
:meth:`MomentumSchedule.step` (epochs or iterations, your choice), from 0 at
construction, with the same ``last_epoch`` convention as the learning-rate schedulers.

The schedule writes ``group["momentum"]`` of every parameter group (SGD, RMSprop,
LARS), or β₁ in ``group["betas"]`` with ``key="betas"`` (Adam and its relatives).

Examples
--------
>>> import minigrad as mg
>>> from minigrad.optim import SGD
>>> w = mg.tensor([1.0], requires_grad=True)
>>> opt = SGD([w], lr=0.1, momentum=0.5)
>>> schedule = MomentumSchedule(opt, start=0.5, end=0.9, t0=0, t1=4)
>>> [round(g["momentum"], 2) for g in opt.param_groups]
[0.5]
>>> for epoch in range(5):
...     schedule.step()             # after each epoch's optimizer steps
>>> schedule.get_last_momentum()
[0.9]

References
----------
I. Sutskever, J. Martens, G. Dahl, G. Hinton, "On the importance of initialization and
momentum in deep learning", ICML 2013 (section 4: a momentum schedule).
"""
from __future__ import annotations

__all__ = ["MomentumSchedule", "momentum_at"]


def momentum_at(t, start, end, t0, t1):
    r"""μ_t = μ₀ + (μ₁ − μ₀)·clip((t − t₀)/(t₁ − t₀), 0, 1)."""
    fraction = min(max((t - t0) / (t1 - t0), 0.0), 1.0)
    return start + (end - start) * fraction


class MomentumSchedule:
    r"""Set the momentum of every parameter group to μ_t after each :meth:`step`.

    Parameters
    ----------
    optimizer : Optimizer
    start, end : float
        μ₀ and μ₁ (≥ 0; < 1 when ``key="betas"``).
    t1 : int
        Step at which μ reaches ``end``.
    t0 : int, default 0
        Step at which μ starts to move away from ``start``; ``t0 < t1``.
    key : {"momentum", "betas"}, default "momentum"
        The hyperparameter to drive: ``group["momentum"]``, or β₁ of ``group["betas"]``.
    last_epoch : int, default -1
        Index of the last step taken, for resuming; -1 starts afresh.
    """

    def __init__(self, optimizer, start, end, t1, t0=0, *, key="momentum", last_epoch=-1):
        name = type(self).__name__
        for label, value in (("start", start), ("end", end)):
            if not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"{name}: {label}={value!r} must be a number >= 0")
            if key == "betas" and not value < 1:
                raise ValueError(f"{name}: {label}={value!r} must be < 1 for key='betas'")
        if not t1 > t0:
            raise ValueError(f"{name}: need t0 < t1, got t0={t0!r}, t1={t1!r}")
        if key not in ("momentum", "betas"):
            raise ValueError(f"{name}: key must be 'momentum' or 'betas', got {key!r}")
        for i, group in enumerate(optimizer.param_groups):
            if key not in group:
                raise ValueError(
                    f"{name}: parameter group {i} of {type(optimizer).__name__} has no "
                    f"{key!r} hyperparameter (it has {sorted(k for k in group if k != 'params')})"
                )
        self.optimizer = optimizer
        self.start, self.end, self.t0, self.t1, self.key = start, end, t0, t1, key
        self.last_epoch = last_epoch
        self._last_momentum: list[float] = []
        self.step()

    def get_momentum(self) -> float:
        """μ at the current ``last_epoch``."""
        return momentum_at(self.last_epoch, self.start, self.end, self.t0, self.t1)

    def step(self) -> None:
        """Advance t by one and write μ_t into every parameter group."""
        self.last_epoch += 1
        mu = self.get_momentum()
        for group in self.optimizer.param_groups:
            if self.key == "betas":
                group["betas"] = (mu, group["betas"][1])
            else:
                group["momentum"] = mu
        self._last_momentum = [mu for _ in self.optimizer.param_groups]

    def get_last_momentum(self) -> list[float]:
        """The momentum last written, one entry per parameter group."""
        return list(self._last_momentum)

    def state_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)
