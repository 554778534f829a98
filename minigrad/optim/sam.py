r"""SAM: sharpness-aware minimization, and its adaptive variant ASAM.

Intuition
---------
Prefer flat minima: instead of the loss at θ, minimise the worst loss in a small ball
around θ. SAM approximates that worst point with one gradient step of length ρ
("ascend to the sharpest nearby point"), takes the gradient *there*, and applies it at
the original θ with any base optimizer. Two gradient evaluations per step.

Algorithm
---------
.. code-block:: text

    input : θ, base optimizer B (e.g. SGD), ρ (radius), adaptive (ASAM)
    for t = 1, 2, ... do
        g ← ∇L(θ)                                         (first evaluation)
        if adaptive:  e ← ρ · θ² ⊙ g / (‖ |θ| ⊙ g ‖₂ + 1e-12)       (ASAM)
        else:         e ← ρ · g / (‖g‖₂ + 1e-12)                    (SAM)
        θ ← θ + e                                         first_step:  climb to θ + e
        g_SAM ← ∇L(θ)                                     (second evaluation, at θ + e)
        θ ← θ − e                                         second_step: back to θ ...
        θ ← B.step(θ, g_SAM)                              ... and the base step with g_SAM

The norms are global, over every parameter of every group (``rho`` and ``adaptive`` may
differ per group). For SAM, ‖e‖₂ = ρ exactly (up to the 1e-12).

Calling protocol
----------------
Either with a closure (``step`` evaluates it twice and returns the first loss)::

    opt = SAM(model.parameters(), SGD, rho=0.05, lr=0.1, momentum=0.9)
    def closure():
        loss = loss_fn(model(x), y); loss.backward()
        return loss
    opt.step(closure)

or by hand: ``loss.backward(); opt.first_step(zero_grad=True);
loss_fn(model(x), y).backward(); opt.second_step(zero_grad=True)``.

Parameters
----------
params : iterable of Tensor or of dict
base_optimizer : class
    An optimizer *class* (e.g. ``SGD``); it is built on the same param groups with
    ``**kwargs``, so learning-rate schedulers attached to the SAM object act on it.
rho : float, default 0.05
    Radius of the neighbourhood (ASAM's authors use larger values, e.g. 0.5-2).
adaptive : bool, default False
    ASAM: the ball is scaled element-wise by |θ| (scale-invariant sharpness).
**kwargs
    Hyperparameters of the base optimizer (``lr``, ``momentum``, ...).

Notes
-----
* ``step(closure)`` zeroes the gradients before each of its two closure calls, so the
  closure need not (and a gradient computed before ``step`` is not reused). This
  differs from the reference implementation (davda54/sam), whose ``step`` expects the
  first backward to have been done before it is called.
* BatchNorm running statistics should be updated in only one of the two passes: use
  :func:`disable_running_stats` before the second evaluation and
  :func:`enable_running_stats` after.
* ``state_dict`` is the base optimizer's (its param groups carry ``rho`` and
  ``adaptive``); the saved θ between ``first_step`` and ``second_step`` is transient.

References
----------
Foret, Kleiner, Mobahi & Neyshabur, "Sharpness-Aware Minimization for Efficiently
Improving Generalization", ICLR 2021.
Kwon, Kim, Park & Choi, "ASAM: Adaptive Sharpness-Aware Minimization for Scale-Invariant
Learning of Deep Neural Networks", ICML 2021.
"""
from __future__ import annotations

from minigrad._backend import get_array_module
from minigrad.nn.utils import get_total_norm
from minigrad.optim.optimizer import Optimizer

__all__ = ["SAM", "disable_running_stats", "enable_running_stats", "sam_perturbation"]


def sam_perturbation(xp, thetas, grads, rho, adaptive, grad_norm):
    r"""The ascent step e for each parameter: ρ·(θ² if adaptive else 1)⊙g / (‖·‖ + 1e-12).

    ``grad_norm`` is the global ‖(|θ| if adaptive else 1)⊙g‖₂ over all parameters.
    """
    scale = rho / (grad_norm + 1e-12)
    return [(theta * theta if adaptive else 1.0) * g * scale for theta, g in zip(thetas, grads)]


class SAM(Optimizer):
    __doc__ = __doc__

    def __init__(self, params, base_optimizer, rho=0.05, adaptive=False, **kwargs):
        if not isinstance(base_optimizer, type) or not issubclass(base_optimizer, Optimizer):
            raise TypeError(
                "SAM: base_optimizer must be an optimizer class such as SGD (not an instance), "
                f"got {base_optimizer!r}")
        defaults = {"rho": rho, "adaptive": adaptive, **kwargs}
        super().__init__(params, defaults)
        self.base_optimizer = base_optimizer(self.param_groups, **kwargs)
        # one set of groups for both: a scheduler on SAM changes the base optimizer's lr
        self.param_groups = self.base_optimizer.param_groups
        self.defaults.update(self.base_optimizer.defaults)

    def _check(self, group):
        self._check_nonnegative(group, "rho")
        if not isinstance(group["adaptive"], bool):
            self._fail(f"adaptive must be a bool, got {group['adaptive']!r}")

    def _grad_norm(self):
        """‖(|θ| if adaptive else 1) ⊙ g‖₂ over every parameter with a gradient (summed on
        each device, one host read per device: ``nn.utils.get_total_norm``)."""
        arrays = [get_array_module(p.data).abs(p.data) * p.grad.data if group["adaptive"]
                  else p.grad.data
                  for group in self.param_groups for p in group["params"]
                  if p.grad is not None]
        return get_total_norm(arrays, 2.0)

    def first_step(self, zero_grad=False):
        """θ ← θ + e, with e from the current gradients; remember θ."""
        grad_norm = self._grad_norm()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                theta = p.data
                xp = get_array_module(theta)
                self.state.setdefault(p, {})["old_p"] = theta.copy()
                (e,) = sam_perturbation(xp, [theta], [p.grad.data], group["rho"],
                                        group["adaptive"], grad_norm)
                theta += e.astype(theta.dtype, copy=False)  # climb to the local worst point
        if zero_grad:
            self.zero_grad()

    def second_step(self, zero_grad=False):
        """θ ← θ_saved, then the base optimizer's step with the gradients at θ + e."""
        for group in self.param_groups:
            for p in group["params"]:
                saved = self.state.get(p, {}).pop("old_p", None)
                if saved is not None:
                    p.data[...] = saved  # back to θ
        self.base_optimizer.step()
        if zero_grad:
            self.zero_grad()

    def step(self, closure=None):
        """Both evaluations and both half-steps; returns the loss at θ."""
        if closure is None:
            raise ValueError(
                "SAM.step needs a closure that computes the loss and calls backward(); "
                "or call first_step() and second_step() yourself")
        import minigrad as mg

        with mg.enable_grad():
            self.zero_grad()
            loss = closure()  # gradient at θ
            self.first_step(zero_grad=True)
            closure()  # gradient at θ + e
        self.second_step()
        return loss

    def state_dict(self):
        return self.base_optimizer.state_dict()

    def load_state_dict(self, state_dict):
        self.base_optimizer.load_state_dict(state_dict)
        self.param_groups = self.base_optimizer.param_groups


def _bn_modules(model):
    for m in model.modules():
        if hasattr(m, "running_mean") and hasattr(m, "momentum"):
            yield m


def disable_running_stats(model):
    """Freeze BatchNorm running statistics (momentum 0) for SAM's second evaluation."""
    for m in _bn_modules(model):
        m._sam_backup_momentum = m.momentum
        m.momentum = 0


def enable_running_stats(model):
    """Undo :func:`disable_running_stats`."""
    for m in _bn_modules(model):
        if hasattr(m, "_sam_backup_momentum"):
            m.momentum = m._sam_backup_momentum
            del m._sam_backup_momentum
