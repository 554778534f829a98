"""Random numbers: one seeded generator per device, so ``mg.manual_seed(s)`` makes every
random op of minigrad (initializers, dropout, data shuffling, ``mg.randn``...) repeatable.

The CPU generator is NumPy's PCG64 ``Generator``; its whole state can be saved and
restored (``get_rng_state``/``set_rng_state``), which exact checkpoint resume needs.
"""
from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from ._backend import cupy, normalize_device

_seed = 0
_cpu = np.random.default_rng(_seed)
_cuda = None


def manual_seed(seed: int):
    """Seed the generators of every device."""
    global _seed, _cpu, _cuda
    _seed = int(seed)
    _cpu = np.random.default_rng(_seed)
    _cuda = None  # re-created from the seed on first CUDA use
    return _seed


def initial_seed() -> int:
    return _seed


def generator(device="cpu"):
    """The generator of ``device`` (NumPy ``Generator`` or CuPy ``RandomState``)."""
    global _cuda
    if normalize_device(device) == "cpu":
        return _cpu
    if _cuda is None:
        _cuda = cupy().random.RandomState(_seed)
    return _cuda


def get_rng_state():
    """A picklable snapshot of the CPU generator (and the seed)."""
    return {"seed": _seed, "cpu": _cpu.bit_generator.state}


def set_rng_state(state) -> None:
    global _seed
    _seed = int(state["seed"])
    _cpu.bit_generator.state = state["cpu"]


def _float(dtype):
    dtype = _dt.as_dtype(dtype) or _dt.get_default_dtype()
    if not _dt.is_floating(dtype):
        raise TypeError(f"expected a floating dtype, got {dtype}")
    return dtype


def _cuda_draw_dtype(dtype, device):
    """The dtype CuPy draws in: float32 for float32 and narrower (half the bytes and the
    generator work of float64), float64 for float64; ``None`` on the CPU, whose NumPy
    streams stay float64 (the sequences ``manual_seed`` promises)."""
    if normalize_device(device) == "cpu":
        return None
    return np.dtype(np.float64) if dtype == np.float64 else np.dtype(np.float32)


def uniform(shape, low=0.0, high=1.0, dtype=None, device="cpu"):
    """An array of U[low, high) samples."""
    dtype = _float(dtype)
    draw = _cuda_draw_dtype(dtype, device)
    g = generator(device)
    if draw is None:
        return g.uniform(low, high, size=shape).astype(dtype, copy=False)
    return g.uniform(low, high, size=shape, dtype=draw).astype(dtype, copy=False)


def normal(shape, mean=0.0, std=1.0, dtype=None, device="cpu"):
    """An array of N(mean, std²) samples."""
    dtype = _float(dtype)
    draw = _cuda_draw_dtype(dtype, device)
    g = generator(device)
    if draw is None:
        return (g.standard_normal(size=shape) * std + mean).astype(dtype, copy=False)
    return (g.standard_normal(size=shape, dtype=draw) * std + mean).astype(dtype, copy=False)


def integers(low, high, shape, dtype=None, device="cpu"):
    """An array of integers drawn uniformly from [low, high)."""
    dtype = _dt.as_dtype(dtype) or _dt.int64
    g = generator(device)
    if normalize_device(device) == "cpu":
        return g.integers(low, high, size=shape).astype(dtype, copy=False)
    return g.randint(low, high, size=shape).astype(dtype, copy=False)


def bernoulli(shape, p, dtype=None, device="cpu"):
    """An array of 0/1 with P(1) = p (float64 uniforms on the CPU, float32 on CUDA)."""
    u_dtype = np.float64 if normalize_device(device) == "cpu" else np.float32
    return (uniform(shape, 0.0, 1.0, u_dtype, device) < p).astype(_float(dtype))


def permutation(n, device="cpu"):
    """A random permutation of range(n) (int64)."""
    g = generator(device)
    return g.permutation(n).astype(np.int64)
