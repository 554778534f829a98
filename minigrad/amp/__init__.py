r"""minigrad.amp: automatic mixed precision (PyTorch's ``torch.amp``).

- :class:`autocast` — a region in which matmul and convolution run in float16 (or
  bfloat16) with float32 accumulation, while reductions, softmax, losses and
  normalization statistics stay float32. Parameters stay float32 (the *master weights*);
  half copies are made per op, and gradients come back to the parameters in float32.
- :class:`GradScaler` — dynamic loss scaling: start at 2¹⁶, halve the scale and skip the
  step when a gradient is inf/NaN, double it after ``growth_interval`` clean steps.

The design is PyTorch's (autocast + float32 parameters), not a separate "master copy"
of a half model: see :mod:`minigrad.amp.autocast_mode` for the casting rules and the exact
places the ops consult them (:func:`autocast_inputs`, :func:`autocast_float32`).

Examples
--------
>>> import minigrad as mg
>>> from minigrad.amp import autocast, autocast_dtype
>>> with autocast():
...     print(autocast_dtype())
float16
"""
from .autocast_mode import (
    autocast,
    autocast_dtype,
    autocast_float32,
    autocast_inputs,
    cast_inputs,
    custom_bwd,
    custom_fwd,
    half_matmul,
    is_autocast_available,
    is_autocast_enabled,
    is_half,
)
from .grad_scaler import GradScaler, OptState

__all__ = [
    "autocast", "autocast_dtype", "is_autocast_enabled", "autocast_inputs",
    "autocast_float32", "cast_inputs", "half_matmul", "is_half", "GradScaler", "OptState",
    "custom_fwd", "custom_bwd", "is_autocast_available",
]
