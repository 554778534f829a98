"""The one module that touches CuPy and ``numba.cuda``.

Everything else in minigrad asks this module for the array module ``xp`` of an array
(NumPy for ``"cpu"``, CuPy for ``"cuda"``) and writes each op once against ``xp``.
Nothing here imports CuPy at import time: the package imports silently without a GPU,
and a GPU path used without one raises a clear error. The host side lives here too:
:func:`tune_host_allocator` (how glibc keeps freed NumPy buffers).
"""
from __future__ import annotations

import functools

import numpy as np

from .dtypes import bfloat16 as _bfloat16

DEVICES = ("cpu", "cuda")


class DeviceError(RuntimeError):
    """A GPU path was used where CuPy or a CUDA device is missing."""


@functools.cache
def _import_cupy():
    try:
        import cupy
    except Exception:  # ImportError, or a CUDA runtime that fails to load
        return None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
    except Exception:
        return None
    return cupy


def cuda_available() -> bool:
    """True when CuPy imports and at least one CUDA device is visible."""
    return _import_cupy() is not None


def cupy():
    """Return the ``cupy`` module, or raise :class:`DeviceError` naming what is missing."""
    cp = _import_cupy()
    if cp is None:
        raise DeviceError(
            "this needs a CUDA device and CuPy (pip install minigrad[cuda]); "
            "none is available on this machine"
        )
    return cp


def nccl():
    """``cupy.cuda.nccl`` (NCCL collectives on CuPy arrays), or a clear error."""
    cupy()  # a clear error first when there is no device
    try:
        from cupy.cuda import nccl as _nccl
    except ImportError as e:  # pragma: no cover - depends on the CuPy build
        raise DeviceError(f"this CuPy build has no NCCL support ({e})") from None
    return _nccl


def numba_cuda():
    """Return ``numba.cuda`` (real device, or the simulator under NUMBA_ENABLE_CUDASIM=1)."""
    from numba import cuda

    return cuda


def get_array_module(x):
    """NumPy or CuPy, whichever owns the array ``x`` (a Tensor's ``.data`` or a raw array;
    anything else, a scalar included, is NumPy's)."""
    if isinstance(x, np.ndarray):
        return np
    cp = _import_cupy()
    if cp is not None and isinstance(x, cp.ndarray):
        return cp
    return np


def device_of(array) -> str:
    """``"cuda"`` for a CuPy array, ``"cpu"`` otherwise."""
    return "cpu" if get_array_module(array) is np else "cuda"


def array_module_for(device: str):
    """The array module that stores data on ``device`` (``"cpu"`` or ``"cuda"``)."""
    device = normalize_device(device)
    return np if device == "cpu" else cupy()


def normalize_device(device) -> str:
    """Accept ``"cpu"``, ``"cuda"``, ``"cuda:0"`` or ``None`` (cpu); reject anything else."""
    if device is None:
        return "cpu"
    name = str(device)
    if name.startswith("cuda"):
        return "cuda"
    if name == "cpu":
        return "cpu"
    raise ValueError(f"unknown device {device!r}: expected 'cpu' or 'cuda'")


@functools.cache
def cupy_has_bfloat16() -> bool:
    """Whether CuPy makes bfloat16 arrays (CuPy 14 and later do when ``ml_dtypes`` is
    installed; earlier ones do not). Raises ``DeviceError`` without CuPy and a GPU."""
    if _bfloat16 is None:
        return False
    try:
        cupy().zeros(0, dtype=_bfloat16)
    except (TypeError, ValueError, NotImplementedError):
        return False
    return True


def check_dtype_on(device: str, dtype) -> None:
    """Raise ``TypeError`` for a dtype the device cannot hold: bfloat16 on CUDA with a
    CuPy that has no bfloat16 arrays. Called on every cast: on the CPU it costs one
    comparison."""
    if device == "cuda" and _bfloat16 is not None and np.dtype(dtype) == _bfloat16 \
            and not cupy_has_bfloat16():
        raise TypeError("this CuPy has no bfloat16 arrays (CuPy 14 and later have them "
                        "when ml_dtypes is installed); on CUDA use float16")


def to_device(array, device: str):
    """Copy ``array`` to ``device`` (no copy when it is already there)."""
    device = normalize_device(device)
    if device_of(array) == device:
        return array
    if device == "cpu":
        return array.get()
    check_dtype_on(device, array.dtype)
    return cupy().asarray(array)


@functools.cache
def _numba_error_functions():
    import math

    import numba

    @numba.vectorize(["float32(float32)", "float64(float64)"], cache=True)
    def erf(x):  # pragma: no cover - compiled
        return math.erf(x)

    @numba.vectorize(["float32(float32)", "float64(float64)"], cache=True)
    def erfc(x):  # pragma: no cover - compiled
        return math.erfc(x)

    return {"erf": erf, "erfc": erfc}


def _error_function(name, x):
    if get_array_module(x) is np:
        f = _numba_error_functions()[name]
        if x.dtype == np.float16:
            return f(x.astype(np.float32)).astype(np.float16)
        return f(x)
    import cupyx.scipy.special

    return getattr(cupyx.scipy.special, name)(x)


def erf(x):
    """The error function, elementwise, exact to the dtype (NumPy has none of its own)."""
    return _error_function("erf", x)


def erfc(x):
    """erfc x = 1 − erf x, elementwise, to the dtype's precision also in the tail where it
    is tiny (C's erfc; CuPy's on a GPU)."""
    return _error_function("erfc", x)


def scatter_add(a, index, b):
    """``a[index] += b`` with repeated indices accumulating (unbuffered), in place."""
    xp = get_array_module(a)
    if xp is np or hasattr(xp.add, "at"):  # CuPy >= 14 has ufunc.at
        xp.add.at(a, index, b)
    else:  # pragma: no cover - older CuPy
        import cupyx

        cupyx.scatter_add(a, index, b)
    return a


# ------------------------------------------------------------------------ host allocator

# glibc's own ceiling for its dynamic mmap threshold on 64-bit systems (DEFAULT_MMAP_
# THRESHOLD_MAX), and the trim threshold it pairs with it (twice as large).
_MMAP_THRESHOLD = 32 << 20
_TRIM_THRESHOLD = 64 << 20
_USER_MALLOC_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


@functools.cache
def tune_host_allocator() -> bool:
    """Keep freed NumPy buffers of up to 32 MB in the process (glibc only); True if done.

    A training step allocates and frees the same few-MB arrays (columns, activations,
    gradients) every step. glibc serves blocks above its mmap threshold (128 KB at first)
    with fresh mmaps and gives freed memory at the top of the heap back above its trim
    threshold, so every step pays page faults on memory it had a moment ago: on a LeNet-5
    step (batch 128) 5600 faults, half the step's time (``benchmarks/train_step.py``).
    glibc raises both thresholds by itself once a program frees a 32 MB block, which many
    never do. This sets them to the values that rule ends at (mmap above 32 MB, trim above
    64 MB), at most 64 MB of freed heap kept for reuse. Nothing is changed when the user
    has set glibc's own variables (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``,
    ``GLIBC_TUNABLES``) or off glibc (macOS, Windows, musl).
    """
    import ctypes
    import os

    # glibc answers "glibc 2.36"; elsewhere the name is unknown (ValueError), unanswered
    # (None) or os.confstr missing (Windows). platform.libc_ver() would read the Python
    # binary from disk at every import.
    try:
        glibc = os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (AttributeError, ValueError, OSError):
        return False
    if not glibc:
        return False
    if any(name in os.environ for name in _USER_MALLOC_SETTINGS):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # <malloc.h>
    return bool(mallopt(M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and \
        bool(mallopt(M_TRIM_THRESHOLD, _TRIM_THRESHOLD))


def _quiet_switch():
    """``(on, off)``: ``token = on()`` turns NumPy's divide/overflow/invalid warnings off,
    ``off(token)`` restores what was there (an ``np.errstate`` in two calls).

    ``np.errstate`` costs about 0.7 µs to build and enter, as much as the rest of a small
    op. On NumPy 2 its state is one context variable, so the quiet state is made once per
    caller's state (one cached entry) and set and reset by token, ~0.15 µs; other NumPy
    versions use ``np.errstate`` itself."""
    try:  # a private NumPy 2 API: probed once here, so a change to it falls back below
        from numpy._core._ufunc_config import _extobj_contextvar, _make_extobj

        _extobj_contextvar.reset(_extobj_contextvar.set(
            _make_extobj(divide="ignore", invalid="ignore", over="ignore")))
    except Exception:  # NumPy < 2, or a NumPy that changed it: the public (slower) way

        def on():
            state = np.errstate(divide="ignore", invalid="ignore", over="ignore")
            state.__enter__()
            return state

        return on, lambda state: state.__exit__(None, None, None)

    cache = {}

    def on():
        current = _extobj_contextvar.get()
        quiet = cache.get(current)
        if quiet is None:  # first call, or the caller entered an errstate of their own
            cache.clear()
            quiet = cache[current] = _make_extobj(divide="ignore", invalid="ignore",
                                                  over="ignore")
        return _extobj_contextvar.set(quiet)

    return on, _extobj_contextvar.reset


#: ``token = quiet_fp_on()`` ... ``quiet_fp_off(token)``: NumPy's floating-point warnings off
#: in between (autograd's ``ieee`` forwards, amp's half_matmul).
quiet_fp_on, quiet_fp_off = _quiet_switch()


def quietly(fn):
    """``fn`` run with NumPy's floating-point warnings off: for array code outside autograd
    (norms of gradients, running statistics, weight averages) that meets ∞ and NaN as
    PyTorch's does, silently."""

    @functools.wraps(fn)
    def quiet(*args, **kwargs):
        token = quiet_fp_on()
        try:
            return fn(*args, **kwargs)
        finally:
            quiet_fp_off(token)

    return quiet


class Switch:
    """A process-wide on/off setting, used as a call or as a context manager:
    ``S(flag)`` sets it until told otherwise; ``with S(flag):`` gives the previous value
    back on exit. Each subclass keeps its own ``_state`` (``{"on": default}``) and reads it
    with ``enabled()`` (``kernels.use_vendor``, ``cublas_gemm.direct_gemm``,
    ``conv_device.reference_on_cpu``)."""

    _state: dict

    def __init__(self, flag: bool = True):
        self._previous = self._state["on"]
        self._state["on"] = bool(flag)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._state["on"] = self._previous
        return False

    @classmethod
    def enabled(cls) -> bool:
        return cls._state["on"]


_DEVICE_CONSTANTS: dict = {}
_DEVICE_CONSTANTS_MAX = 512


def device_constant(key, make):
    """The GPU array ``make()`` returns, made once per ``key`` (which must name the device
    and everything the array depends on): a constant operand a training step would
    otherwise copy to the device, or fill, on every call (a Python number, a row of ones).
    Never written to: ops make new arrays. A bounded table, cleared when it fills."""
    arr = _DEVICE_CONSTANTS.get(key)
    if arr is None:
        if len(_DEVICE_CONSTANTS) >= _DEVICE_CONSTANTS_MAX:
            _DEVICE_CONSTANTS.clear()
        arr = _DEVICE_CONSTANTS[key] = make()
    return arr
