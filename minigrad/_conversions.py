"""PyTorch's device and dtype shorthands, written once in terms of ``to``.

Shared by Tensor, the sparse tensors and nn.Module: each defines
``to(device=None, dtype=None)`` and inherits ``cpu()``, ``cuda()``, ``float()``,
``double()``, ``half()``, ``bfloat16()`` from here.
"""
from __future__ import annotations

from . import dtypes as _dt


class DeviceDtypeShorthands:
    __slots__ = ()

    def cpu(self):
        return self.to(device="cpu")

    def cuda(self, device=None):
        return self.to(device="cuda" if device is None else device)

    def float(self):
        return self.to(dtype=_dt.float32)

    def double(self):
        return self.to(dtype=_dt.float64)

    def half(self):
        return self.to(dtype=_dt.float16)

    def bfloat16(self):
        return self.to(dtype=_dt.as_dtype("bfloat16"))
