"""Random numbers: one seeded generator per device, so ``mg.manual_seed(s)`` makes every
random op of minigrad (initializers, dropout, data shuffling, ``mg.randn``...) repeatable.

* CPU: NumPy's PCG64 ``Generator``.
* CUDA: :class:`Philox`, a counter-based Philox4x32-10 stream (our kernels in
  ``kernels/philox.cu``; PyTorch's CUDA generator is the same kind). Its whole state is two
  integers, the seed and the number of blocks used so far.

The state of both can be saved and restored (``get_rng_state``/``set_rng_state``), which
exact checkpoint resume needs -- dropout masks drawn on the GPU included.
"""
from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from ._backend import check_dtype_on, normalize_device
from .cuda_graphs import check_not_capturing

_U64 = 2 ** 64


class Philox:
    r"""The CUDA generator: Philox4x32-10 (Salmon et al., SC'11), state (seed, offset).

    Block b of the stream is philox4x32_10(counter = b, key = seed): four 32-bit words. A
    draw of n values takes the next ceil(n / P) blocks (P values per block: 4 for float32
    uniforms and normals, 2 for float64 ones and for 64-bit integers) and advances
    ``offset`` past them, so each draw is a pure function of (seed, offset, n) and the
    generator resumes exactly from ``get_state()``. Value by value the transforms are in
    ``kernels/philox.cu``; ``minigrad.kernels.reference.philox_fill`` is their NumPy twin.

    ``xp`` is the array module draws are made with: CuPy (the default, looked up at the
    first draw) runs the kernels, NumPy the reference (the same numbers; the CPU tests and
    this example use it).

    Examples
    --------
    >>> g = Philox(seed=7, xp=np)
    >>> u = g.random(5, np.float32)                 # one block: 4 values, then a second
    >>> g.get_state()
    {'seed': 7, 'offset': 2}
    >>> again = Philox(seed=7, xp=np)
    >>> bool((again.random(5, np.float32) == u).all())
    True
    """

    def __init__(self, seed: int, offset: int = 0, xp=None):
        self.seed = int(seed) % _U64
        self.offset = int(offset)
        self._xp = xp

    @property
    def xp(self):
        if self._xp is None:
            from ._backend import cupy

            self._xp = cupy()
        return self._xp

    def get_state(self) -> dict:
        return {"seed": self.seed, "offset": self.offset}

    def set_state(self, state) -> None:
        offset = int(state["offset"])
        if not 0 <= offset < _U64:
            raise ValueError(f"Philox offset must lie in [0, 2**64), got {offset}")
        self.seed, self.offset = int(state["seed"]) % _U64, offset

    def _fill(self, kind, n, range_=None):
        from minigrad.kernels import reference

        check_not_capturing("drawing random numbers", "a replay would not advance the "
                            "generator's offset, so every replay would reuse the same "
                            "numbers (draw them outside the graph, into a captured tensor)")
        n = int(n)
        blocks = -(-n // reference.PHILOX_PER_BLOCK[kind])
        if self.offset + blocks >= _U64:
            raise RuntimeError("the CUDA generator has used all 2**64 blocks of its stream; "
                               "call mg.manual_seed")
        if self.xp is np:
            out = reference.philox_fill(kind, n, self.seed, self.offset, range_)
        else:
            from minigrad.kernels import _cuda

            out = _cuda.philox_fill(kind, n, self.seed, self.offset, range_)
        self.offset += blocks
        return out

    # The methods below take NumPy Generator's names and arguments (plus ``dtype``).

    def random(self, size, dtype=np.float64):
        """U[0, 1) in float32 (24 random bits) or float64 (53 bits)."""
        kind = "uniform_f64" if np.dtype(dtype) == np.float64 else "uniform_f32"
        return self._fill(kind, _size(size)).reshape(size)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=np.float64):
        """U[low, high): low + (high − low)·u for u from :meth:`random`."""
        u = self.random(size, dtype)
        return u if (low, high) == (0.0, 1.0) else low + (high - low) * u

    def standard_normal(self, size, dtype=np.float64):
        """N(0, 1) by Box-Muller, in float32 or float64."""
        kind = "normal_f64" if np.dtype(dtype) == np.float64 else "normal_f32"
        return self._fill(kind, _size(size)).reshape(size)

    def integers(self, low: int, high: int, size):
        """int64 uniform on [low, high): low + floor(x·(high − low) / 2^64) for 64-bit x
        (bias at most (high − low) / 2^64)."""
        low, high = int(low), int(high)
        if high <= low:
            raise ValueError(f"integers: high ({high}) must be greater than low ({low})")
        if not (-2 ** 63 <= low and high <= 2 ** 63):
            raise ValueError(f"integers: [low, high) = [{low}, {high}) does not fit int64")
        span = high - low  # up to 2^64: all 64 bits are the draw
        below = self._fill("below_u64", _size(size), span) if span < _U64 else \
            self._fill("bits_u64", _size(size))
        return (below + self.xp.uint64(low % _U64)).view(self.xp.int64).reshape(size)

    def permutation(self, n: int):
        """A random permutation of range(n): the stable order of n random 64-bit keys."""
        keys = self._fill("bits_u64", int(n))
        if self.xp is np:
            return np.argsort(keys, kind="stable").astype(np.int64)
        return self.xp.argsort(keys).astype(np.int64)  # CuPy's argsort is always stable


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64)) if np.ndim(shape) else int(shape)


_seed = 0
_cpu = np.random.default_rng(_seed)
_cuda = Philox(_seed)  # needs no GPU until its first draw


def _seed_value(seed) -> int:
    seed = int(seed)
    if not -2**63 <= seed < _U64:
        raise ValueError(f"manual_seed: a seed must be in [-2**63, 2**64), got {seed}")
    return seed % _U64


def manual_seed(seed: int):
    """Seed the generators of every device. As in PyTorch, any integer in
    [−2⁶³, 2⁶⁴) is a seed; a negative one is taken modulo 2⁶⁴."""
    global _seed, _cpu, _cuda
    _seed = _seed_value(seed)
    _cpu = np.random.default_rng(_seed)
    _cuda = Philox(_seed)
    return _seed


def initial_seed() -> int:
    """The seed the generators were last seeded with."""
    return _seed


def seed() -> int:
    """Seed every generator with a fresh non-deterministic 64-bit number (from the
    operating system's entropy) and return it, so a run can still be repeated."""
    return manual_seed(int(np.random.SeedSequence().entropy) & (2**64 - 1))


def generator(device="cpu", generator=None):
    """The generator to draw from on ``device``: the global one (NumPy's ``Generator`` on
    the CPU, the CUDA :class:`Philox`), or ``generator``'s own stream (a
    :class:`Generator` of that device, or a NumPy ``Generator`` for the CPU)."""
    device = normalize_device(device)
    if generator is None:
        return _cpu if device == "cpu" else _cuda
    if isinstance(generator, Generator):
        if generator.device != device:
            raise RuntimeError(f"Expected a '{device}' device type for generator but found "
                               f"'{generator.device}'")
        return generator._impl
    if isinstance(generator, np.random.Generator) and device == "cpu":
        return generator
    raise TypeError(f"generator must be a minigrad.Generator (or a numpy.random.Generator "
                    f"for the CPU), got {type(generator).__name__}")


class Generator:
    """A random stream of its own (PyTorch's ``torch.Generator``): pass it as
    ``generator=`` to the random functions (``mg.randn``, ``nn.init``, ``random_split``,
    ``DataLoader``...) to draw from it instead of the global generator. A CPU one is a
    NumPy PCG64 ``Generator``; a CUDA one a :class:`Philox` stream.

    >>> import minigrad as mg
    >>> g = mg.Generator().manual_seed(42)
    >>> a = mg.randn(3, generator=g)
    >>> bool((mg.randn(3, generator=mg.Generator().manual_seed(42)) == a).all())
    True
    """

    def __init__(self, device="cpu"):
        self.device = normalize_device(device)
        self.manual_seed(int(np.random.SeedSequence().entropy) % _U64)

    def manual_seed(self, seed):
        """Restart the stream from ``seed``; returns the generator."""
        self._seed = _seed_value(seed)
        self._impl = (np.random.default_rng(self._seed) if self.device == "cpu"
                      else Philox(self._seed))
        return self

    def seed(self) -> int:
        """Reseed from the operating system's entropy; returns the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy) % _U64)
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        """A picklable snapshot of the stream."""
        state = (self._impl.bit_generator.state if self.device == "cpu"
                 else self._impl.get_state())
        return {"seed": self._seed, "state": state}

    def set_state(self, state):
        self._seed = int(state["seed"])
        if self.device == "cpu":
            self._impl.bit_generator.state = state["state"]
        else:
            self._impl.set_state(state["state"])
        return self

    def __repr__(self):
        return f"<minigrad.Generator device={self.device!r} seed={self._seed}>"


def get_rng_state():
    """A picklable snapshot of every generator: the seed, the CPU generator's state and the
    CUDA generator's offset (0 before its first draw)."""
    return {"seed": _seed, "cpu": _cpu.bit_generator.state, "cuda_offset": _cuda.offset}


def set_rng_state(new_state) -> None:
    """Restore :func:`get_rng_state` (a snapshot without ``cuda_offset``, from an older
    minigrad, restarts the CUDA stream from its seed)."""
    global _seed
    state = new_state
    _cuda.set_state({"seed": state["seed"], "offset": state.get("cuda_offset", 0)})
    _cpu.bit_generator.state = state["cpu"]
    _seed = int(state["seed"])


def _float(dtype):
    dtype = _dt.as_dtype(dtype) or _dt.get_default_dtype()
    if not _dt.is_floating(dtype):
        raise TypeError(f"expected a floating dtype, got {dtype}")
    return dtype


def _draw_dtype(dtype):
    """The dtype the CUDA generator draws in: float32 for float32 and narrower (half the
    bytes and the generator work of float64), float64 for float64."""
    return np.dtype(np.float64) if dtype == np.float64 else np.dtype(np.float32)


def uniform(shape, low=0.0, high=1.0, dtype=None, device="cpu", gen=None):
    """An array of U[low, high) samples (drawn in float64 on the CPU, the sequences
    ``manual_seed`` promises; in float32 or float64 on CUDA), from the global generator
    or ``gen`` (see :func:`generator`)."""
    dtype = _float(dtype)
    check_dtype_on(normalize_device(device), dtype)
    g = generator(device, gen)
    if isinstance(g, np.random.Generator):
        return g.uniform(low, high, size=shape).astype(dtype, copy=False)
    return g.uniform(low, high, size=shape, dtype=_draw_dtype(dtype)).astype(dtype, copy=False)


def normal(shape, mean=0.0, std=1.0, dtype=None, device="cpu", gen=None):
    """An array of N(mean, std²) samples."""
    dtype = _float(dtype)
    check_dtype_on(normalize_device(device), dtype)
    g = generator(device, gen)
    z = g.standard_normal(size=shape) if isinstance(g, np.random.Generator) else \
        g.standard_normal(size=shape, dtype=_draw_dtype(dtype))
    return (z * std + mean).astype(dtype, copy=False)


def integers(low, high, shape, dtype=None, device="cpu", gen=None):
    """An array of integers drawn uniformly from [low, high)."""
    dtype = _dt.as_dtype(dtype) or _dt.int64
    return generator(device, gen).integers(low, high, size=shape).astype(dtype, copy=False)


def bernoulli(shape, p, dtype=None, device="cpu", gen=None):
    """An array of 0/1 with P(1) = p (float64 uniforms on the CPU, float32 on CUDA)."""
    u_dtype = np.float64 if normalize_device(device) == "cpu" else np.float32
    return (uniform(shape, 0.0, 1.0, u_dtype, device, gen) < p).astype(_float(dtype))


def permutation(n, device="cpu", gen=None):
    """A random permutation of range(n) (int64)."""
    return generator(device, gen).permutation(n).astype(np.int64, copy=False)
