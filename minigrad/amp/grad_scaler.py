r"""``GradScaler``: dynamic loss scaling for float16 training (PyTorch's semantics).

Intuition
---------
Under float16 autocast, the gradients of activations are float16, whose smallest
subnormal is 2⁻²⁴ ≈ 6e-8: many gradients would flush to zero. Multiplying the loss by a
large S moves every gradient up by the same factor (backward is linear in its seed), into
float16's range; dividing the float32 leaf gradients by S afterwards restores their
values exactly (S is a power of two). If S is too large some gradient overflows to
inf/NaN: then the step is skipped and S halved. After ``growth_interval`` clean steps
in a row S is doubled again, so S hovers just below the overflow threshold.

Algorithm
---------
.. code-block:: text

    input : S₀ (init_scale = 2¹⁶), γ↑ (growth_factor = 2), γ↓ (backoff_factor = 0.5),
            N (growth_interval = 2000)
    initialize : S ← S₀, k ← 0                       (k: clean steps in a row)
    for each iteration:
        backward of S·loss                           (scale)
        g ← g/S for every parameter gradient          (unscale_, once per optimizer)
        found_inf ← any g is inf or NaN
        if not found_inf: optimizer.step()            (step; skipped otherwise)
        if found_inf:  S ← S·γ↓,  k ← 0               (update)
        else:          k ← k + 1
                       if k = N: S ← S·γ↑ (when finite), k ← 0

Usage (the PyTorch recipe)::

    scaler = GradScaler()
    for x, y in loader:
        opt.zero_grad()
        with autocast():
            loss = loss_fn(model(x), y)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)                          # optional: only to clip or inspect
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()

Notes
-----
* Semantics, defaults, error messages and ``state_dict`` keys are PyTorch's
  (``torch.amp.GradScaler``). S is kept as a float32 value; ``update`` rounds
  ``S·γ`` to float32 as PyTorch's scale tensor does.
* The scale lives on the host (a Python float). The inf/NaN flags are device arrays
  written while unscaling (on CUDA one fused kernel per gradient: multiply and test; one
  for all the gradients of a fused optimizer's group, which are views of one buffer);
  ``step`` reads them once, the only device→host synchronization of an iteration.
* Where PyTorch uses ``assert`` for misuse, minigrad raises ``RuntimeError`` with the
  same message.
* Gradients are unscaled in their own dtype; float16 gradients are refused (as in
  PyTorch) — keep parameters float32 and let autocast make the half copies.
* **The inf/NaN check comes after the unscaling.** minigrad multiplies each gradient by
  1/S and then tests the *result*; PyTorch's kernels test the gradient before
  multiplying. So a gradient that is finite but overflows when unscaled (``3e38`` at
  S = 0.5) skips the step and backs S off here, where PyTorch steps with the infinite
  gradient. Likewise at **S = 0** (after ``update(0.0)``, or once enough back-offs
  underflow S in float32): 1/S is ``inf`` (a float64 reciprocal, as PyTorch's), every
  gradient unscales to 0·∞ = NaN and every step is skipped, S staying 0 (0·γ = 0) until
  ``update(new_scale)`` sets a new one; PyTorch finds the (zero) gradients finite, steps
  with the NaN ones, and the parameters become NaN.

References
----------
P. Micikevicius et al., "Mixed Precision Training", ICLR 2018 (loss scaling).
PyTorch, ``torch.amp.GradScaler``.
"""
from __future__ import annotations

import functools
import math
from enum import Enum

import numpy as np

from .._backend import get_array_module
from ..cuda_graphs import is_current_stream_capturing

__all__ = ["GradScaler", "OptState"]


class OptState(Enum):
    """Per-optimizer stage within one iteration (PyTorch's names)."""

    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state():
    return {"stage": OptState.READY, "found_inf_per_device": {}, "found_inf": None}


def _f32(x: float) -> float:
    """x rounded to float32 (the dtype of PyTorch's scale tensor), as a Python float."""
    with np.errstate(over="ignore"):
        return float(np.float32(x))


class GradScaler:
    r"""Dynamic loss scaling: scale the loss, unscale the gradients, skip steps on inf/NaN.

    Two call forms: minigrad's (and ``torch.cuda.amp.GradScaler``'s),
    ``GradScaler(init_scale, growth_factor, backoff_factor, growth_interval, enabled)``,
    and ``torch.amp.GradScaler``'s, whose first argument is the device:
    ``GradScaler("cuda", init_scale, growth_factor, ...)``. A string first argument
    shifts every positional argument after it by one place.

    Parameters
    ----------
    device : str, optional
        First positional argument or keyword, as in ``torch.amp.GradScaler("cuda")``:
        accepted and ignored (minigrad's scaler works on every device).
    init_scale : float, default 2**16
        S₀, the first scale.
    growth_factor : float, default 2.0
        Multiplier of S after ``growth_interval`` consecutive clean steps (> 1).
    backoff_factor : float, default 0.5
        Multiplier of S after a step with inf/NaN gradients (< 1).
    growth_interval : int, default 2000
        Number of consecutive clean steps before S grows.
    enabled : bool, default True
        When False every method is a no-op: ``scale`` returns its input, ``step`` calls
        ``optimizer.step``, ``get_scale`` returns 1.0.

    Examples
    --------
    >>> import minigrad as mg
    >>> from minigrad.optim import SGD
    >>> w = mg.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1)
    >>> scaler = GradScaler(init_scale=1024.0, growth_interval=1)
    >>> scaler.scale((w * w).sum()).backward()
    >>> w.grad.tolist()                     # scaled gradients: 2w·1024
    [2048.0, 4096.0]
    >>> scaler.step(opt)                    # unscales, then steps (no inf)
    >>> w.tolist()
    [0.800000011920929, 1.600000023841858]
    >>> scaler.update()                     # one clean step: S·2 (growth_interval=1)
    >>> scaler.get_scale()
    2048.0
    """

    def __init__(self, *args, **kwargs):
        if args and isinstance(args[0], str):  # torch.amp.GradScaler(device, init_scale, ...)
            if "device" in kwargs:
                raise TypeError("GradScaler() got multiple values for argument 'device'")
            kwargs["device"], args = args[0], args[1:]
        self._configure(*args, **kwargs)

    def _configure(self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
                   growth_interval=2000, enabled=True, *, device=None):
        """The constructor's arguments in minigrad's order (the device taken out)."""
        self._device = device
        self._enabled = bool(enabled)
        if not self._enabled:
            return
        if not _is_number(init_scale) or not (math.isfinite(init_scale) and init_scale > 0):
            raise ValueError(f"GradScaler: init_scale must be a finite number > 0, got "
                             f"{init_scale!r}")
        if not _is_number(growth_factor) or not growth_factor > 1.0:
            raise ValueError("The growth factor must be > 1.0.")
        if not _is_number(backoff_factor) or not backoff_factor < 1.0:
            raise ValueError("The backoff factor must be < 1.0.")
        if (not isinstance(growth_interval, (int, np.integer)) or isinstance(growth_interval, bool)
                or growth_interval <= 0):
            raise ValueError(f"GradScaler: growth_interval must be a positive int, got "
                             f"{growth_interval!r}")
        self._init_scale = float(init_scale)
        self._scale_buffers: dict = {}  # S on each CUDA device, for captured graphs
        self._scale = None  # created by the first scale(), as PyTorch's lazy init
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._init_growth_tracker = 0
        self._growth_tracker = None
        self._per_optimizer_states: dict = {}

    # ------------------------------------------------------------------ scaling
    @property
    def _scale(self):
        """S, a Python float (None before the first ``scale``)."""
        return self._scale_value

    @_scale.setter
    def _scale(self, value):
        # Every change of S is written into its device copies, which the graphs captured
        # with this scaler read at each replay (one fill kernel, outside any capture).
        self._scale_value = value
        if value is not None:
            for buffer in self._scale_buffers.values():
                buffer.fill(value)

    def _device_scale(self, like):
        """S as a 0-d float32 array on ``like``'s device, kept equal to S from here on.
        Made outside a capture (a fill recorded in a graph would reset S at each replay)."""
        xp = get_array_module(like.data)
        key = (xp.__name__, str(like.device))
        buffer = self._scale_buffers.get(key)
        if buffer is None:
            if is_current_stream_capturing():
                raise RuntimeError(
                    "GradScaler.scale inside a CUDA graph capture needs the scale's device "
                    "copy, made by a scale() outside the capture: run a warm-up step with "
                    "this scaler before capturing")
            buffer = self._scale_buffers[key] = xp.full((), self._scale, dtype=np.float32)
        return buffer

    def _lazy_init(self):
        if self._scale is None:
            self._scale = _f32(self._init_scale)
            self._growth_tracker = int(self._init_growth_tracker)

    def _check_scale(self, funcname):
        if self._scale is None:
            raise RuntimeError(
                f"Attempted {funcname} but _scale is None.  This may indicate your script "
                "did not use scaler.scale(loss or outputs) earlier in the iteration.")

    def scale(self, outputs):
        """``outputs · S`` (a Tensor, or a list/tuple of Tensors, nested); float16/bfloat16
        outputs are promoted to float32 first (2¹⁶ does not fit in float16). Inside a CUDA
        graph capture the product reads S from a device copy that every change of S
        rewrites, so each replay scales by the S of its moment."""
        if not self._enabled:
            return outputs
        self._lazy_init()
        return self._scale_nested(outputs, capturing=is_current_stream_capturing())

    def _scale_nested(self, outputs, capturing=False):
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self._scale_nested(o, capturing) for o in outputs)
        if not hasattr(outputs, "requires_grad"):
            raise TypeError(f"GradScaler.scale: outputs must be a Tensor or an iterable of "
                            f"Tensors, got {type(outputs).__name__}")
        if outputs.dtype.itemsize < 4:
            outputs = outputs.float()
        scale = self._device_scale(outputs)  # made here, outside any capture, for the later ones
        if capturing:  # each replay multiplies by the S of its moment (update() rewrites
            from ..ops.elementwise import const  # the copy in place)

            return outputs * const(scale)
        return outputs * self._scale

    # ------------------------------------------------------------------ unscaling
    def _state(self, optimizer):
        state = self._per_optimizer_states.get(optimizer)
        if state is None:
            state = self._per_optimizer_states[optimizer] = _refresh_per_optimizer_state()
        return state

    def unscale_(self, optimizer):
        r"""Divide the gradients of ``optimizer``'s parameters by S, in place, in their dtype
        (multiplying by the float32 1/S, as PyTorch), and record whether any is inf/NaN.

        Call it at most once per optimizer per iteration, before ``step`` (e.g. to clip
        the true gradients); ``step`` calls it when you did not.
        """
        if not self._enabled:
            return
        self._check_scale("unscale_")
        state = self._state(optimizer)
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        with np.errstate(divide="ignore", over="ignore"):  # S = 0: 1/S = inf, as PyTorch
            inv_scale = np.float32(np.float64(1.0) / np.float64(self._scale))
        state["found_inf_per_device"] = self._unscale_grads_(optimizer, inv_scale)
        state["stage"] = OptState.UNSCALED

    def _unscale_grads_(self, optimizer, inv_scale):
        grads = {}
        for group in optimizer.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                g = _grad_array(grad)
                if g.dtype == np.float16:
                    raise ValueError("Attempting to unscale FP16 gradients.")
                xp = get_array_module(g)
                grads.setdefault("cpu" if xp is np else "cuda", (xp, []))[1].append(g)
        found = {}
        for device, (xp, arrays) in grads.items():
            flag = found[device] = xp.zeros(1, dtype=np.int32)
            for g in _whole_buffers(arrays):
                _unscale_and_check(xp, g, inv_scale, flag)
        return found

    # ------------------------------------------------------------------ stepping
    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step(*args, **kwargs)`` unless a gradient is inf/NaN (then skipped).

        Unscales first when ``unscale_`` was not called this iteration. Returns what
        ``optimizer.step`` returned, or ``None`` when the step was skipped.
        """
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError(
                "Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale("step")
        state = self._state(optimizer)
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if len(state["found_inf_per_device"]) == 0:
            raise RuntimeError("No inf checks were recorded for this optimizer.")
        found_inf = _found_any(state)
        retval = None
        if not found_inf:
            retval = optimizer.step(*args, **kwargs)
        state["stage"] = OptState.STEPPED
        return retval

    def update(self, new_scale=None):
        """End the iteration: S ← S·backoff on inf/NaN (growth tracker reset), else count a
        clean step and S ← S·growth after ``growth_interval`` of them. With ``new_scale``
        (a float, or a one-element Tensor/array) S is set to it instead."""
        if not self._enabled:
            return
        self._check_scale("update")
        if new_scale is not None:
            if isinstance(new_scale, (int, float, np.floating, np.integer)) and not isinstance(
                    new_scale, bool):
                self._scale = _f32(new_scale)
            else:
                data = getattr(new_scale, "data", new_scale)
                if getattr(new_scale, "requires_grad", False) or not hasattr(data, "size") \
                        or data.size != 1 or np.dtype(data.dtype).kind != "f":
                    raise ValueError(
                        "new_scale should be a float or a 1-element floating Tensor with "
                        "requires_grad=False.")
                self._scale = _f32(float(data.reshape(()).item()))
        else:
            states = [s for s in self._per_optimizer_states.values()
                      if s["found_inf_per_device"]]
            if not states:
                raise RuntimeError("No inf checks were recorded prior to update.")
            found_inf = any(_found_any(s) for s in states)
            self._update_scale(found_inf)
        self._per_optimizer_states = {}

    def _update_scale(self, found_inf):
        # PyTorch's _amp_update_scale_: the product is formed in double, stored as float32.
        if found_inf:
            self._scale = _f32(self._scale * self._backoff_factor)
            self._growth_tracker = 0
            return
        successful = self._growth_tracker + 1
        if successful == self._growth_interval:
            new_scale = _f32(self._scale * self._growth_factor)
            if math.isfinite(new_scale):
                self._scale = new_scale
            self._growth_tracker = 0
        else:
            self._growth_tracker = successful

    # ------------------------------------------------------------------ accessors
    def get_scale(self) -> float:
        """S as a Python float (``init_scale`` before the first ``scale``; 1.0 if disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = int(new_interval)

    def _get_growth_tracker(self) -> int:
        if not self._enabled:
            return 0
        if self._growth_tracker is None:
            return self._init_growth_tracker
        return self._growth_tracker

    def is_enabled(self) -> bool:
        return self._enabled

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """PyTorch's keys: scale, growth_factor, backoff_factor, growth_interval,
        _growth_tracker (an empty dict when disabled)."""
        if not self._enabled:
            return {}
        return {
            "scale": self.get_scale(),
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._get_growth_tracker(),
        }

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError(
                "The source state dict is empty, possibly because it was saved from a "
                "disabled instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale = _f32(self._init_scale)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        if self._growth_tracker is not None:
            self._growth_tracker = self._init_growth_tracker

    def __repr__(self):
        if not self._enabled:
            return "GradScaler(enabled=False)"
        return (f"GradScaler(scale={self.get_scale()}, growth_factor={self._growth_factor}, "
                f"backoff_factor={self._backoff_factor}, "
                f"growth_interval={self._growth_interval})")


# --------------------------------------------------------------------------- helpers


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _grad_array(grad):
    """The dense array holding a gradient's values (a Tensor's data; a sparse gradient's
    stored values)."""
    if getattr(grad, "is_sparse", False):
        values = getattr(grad, "values", None)
        values = values() if callable(values) else values
        if values is None:
            raise TypeError(f"GradScaler: cannot unscale a sparse gradient of type "
                            f"{type(grad).__name__} (no values)")
        grad = values
    return getattr(grad, "data", grad) if hasattr(grad, "requires_grad") else grad


def _found_any(state) -> bool:
    """Whether any device flagged inf/NaN (reads the flags once: one device sync)."""
    if state["found_inf"] is None:
        state["found_inf"] = any(int(f.item()) for f in state["found_inf_per_device"].values())
    return state["found_inf"]


def _address(a) -> int:
    """The address of an array's first element (CuPy: device pointer; NumPy: host)."""
    return a.data.ptr if hasattr(a.data, "ptr") else a.ctypes.data


def _whole_buffers(arrays):
    """The arrays to unscale. Gradients that are contiguous views tiling one flat buffer
    exactly (the fused optimizers' multi-tensor layout, ``optim.fused.FlatParams``) are
    replaced by that buffer: one launch for all of them instead of one per gradient.
    Anything else (a gradient of its own, a buffer only partly covered, overlapping
    views) is unscaled on its own."""
    out, views_of = [], {}
    for g in arrays:
        base = g.base
        if (base is None or base.ndim != 1 or base.dtype != g.dtype
                or not (g.flags.c_contiguous and base.flags.c_contiguous)):
            out.append(g)
            continue
        views_of.setdefault(id(base), (base, []))[1].append(g)
    for base, views in views_of.values():
        spans = sorted(((_address(v) - _address(base)) // base.itemsize, v.size)
                       for v in views)
        end = 0
        for start, size in spans:
            if start != end:
                break
            end += size
        out.extend([base] if end == base.size else views)
    return out


def _unscale_and_check(xp, g, inv_scale, flag):
    """g ← g·inv_scale in place; flag[0] ← 1 if any element of g is inf or NaN."""
    if xp is np:
        with np.errstate(over="ignore", invalid="ignore"):  # inf/NaN are what we look for
            g *= g.dtype.type(inv_scale)
        if not np.isfinite(g).all():
            flag[0] = 1
        return
    _unscale_kernel()(inv_scale, g, flag)


@functools.cache
def _unscale_kernel():
    """CUDA: one pass per gradient, multiply by 1/S in place and raise the inf/NaN flag
    (every writer writes 1, so the race is benign). Built on first use."""
    from .._backend import cupy

    return cupy().ElementwiseKernel(
        "float32 inv_scale", "T g, raw int32 found",
        "g = (T)((double)g * (double)inv_scale);\n"
        "if (!isfinite((double)g)) found[0] = 1;",
        "minigrad_amp_unscale",
    )
