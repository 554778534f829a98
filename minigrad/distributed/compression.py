r"""Gradient compression for data-parallel training.

Each scheme turns one rank's flat gradient bucket g into the average over ranks of what
the ranks send, through a ``world`` object with ``size``, ``all_reduce(array)`` and
``all_gather(array)``.

- ``NoCompression``: ḡ = (1/N) Σᵣ gᵣ by all-reduce.
- ``FP16Compression``: send gᵣ in float16 (half the bytes), sum in float32:
  ḡ = (1/N) Σᵣ float32(float16(gᵣ)). Values beyond ±65504 overflow to inf, which a
  GradScaler or the optimizer sees as an inf gradient.
- ``TopKCompression`` with error feedback (Stich et al. 2018, "Sparsified SGD with
  memory"; Lin et al. 2018, "Deep Gradient Compression"): each rank keeps a residual e,
      a = g + e;  S = indices of the k largest |aᵢ|;  send (S, a_S);  e ← a with a_S := 0;
      ḡ = (1/N) Σᵣ scatter(Sᵣ, a_{r,S}),
  so what is not sent now is sent later, and nothing is lost in the sum over steps.
"""
from __future__ import annotations

import math

from .._backend import get_array_module, scatter_add


class NoCompression:
    name = "none"

    def reduce(self, flat, world, key=None):
        world.all_reduce(flat)
        flat /= world.size
        return flat


class FP16Compression:
    name = "fp16"

    def reduce(self, flat, world, key=None):
        xp = get_array_module(flat)
        gathered = world.all_gather(flat.astype(xp.float16))
        return (gathered.astype(xp.float32).sum(axis=0) / world.size).astype(flat.dtype)


class TopKCompression:
    name = "topk"

    def __init__(self, ratio=0.01):
        if not 0 < ratio <= 1:
            raise ValueError(f"TopKCompression: ratio must be in (0, 1], got {ratio}")
        self.ratio = ratio
        self.residual = {}  # key -> e, the error-feedback memory of each bucket

    def reduce(self, flat, world, key=None):
        xp = get_array_module(flat)
        n = flat.size
        k = max(1, math.ceil(self.ratio * n))
        e = self.residual.get(key)
        a = flat + e if e is not None else flat.copy()                # a = g + e
        S = xp.argpartition(xp.abs(a), n - k)[n - k:].astype(xp.int64)  # top-k of |a|
        values = a[S]
        a[S] = 0
        self.residual[key] = a                                         # e ← a with a_S := 0
        all_S = world.all_gather(S)
        all_values = world.all_gather(values)
        out = xp.zeros_like(flat)
        scatter_add(out, all_S.reshape(-1), all_values.reshape(-1))    # Σᵣ scatter(Sᵣ, a_S)
        out /= world.size
        return out


def make_compression(compression, topk_ratio=0.01):
    if compression is None or compression == "none":
        return NoCompression()
    if compression == "fp16":
        return FP16Compression()
    if compression == "topk":
        return TopKCompression(topk_ratio)
    if hasattr(compression, "reduce"):
        return compression
    raise ValueError(f"unknown compression {compression!r}: use None, 'fp16' or 'topk'")
