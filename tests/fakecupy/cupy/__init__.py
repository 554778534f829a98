"""A strict CPU stand-in for CuPy, for finding NumPy/CuPy mixing bugs (not faithful).

Runs the ``cuda`` half of the device-parametrized tests on a machine without a GPU:

    PYTHONPATH=tests/fakecupy python -m pytest -p fakecupy_plugin -k cuda tests/...

Its arrays wrap NumPy arrays and, like CuPy's, refuse implicit conversion to NumPy
(``np.asarray(device_array)``) and refuse NumPy arrays mixed into their operations, the
two errors a CUDA-only code path meets most. ``FAKECUPY_LOG=path`` also logs each NumPy
function called on a device array and each ufunc method (``.at``, ``.reduce``) used, with
the minigrad line that did it. ``get_default_memory_pool().used_bytes()`` counts the bytes
of the live device arrays (each NumPy owner once), as CuPy's pool does, so a step that
leaves device memory behind shows on the CPU. It cannot find wrong GPU numerics, CuPy
functions that do not exist, races or kernel bugs: a GPU run stays the test of those.
(Written on 2026-11-26 to diagnose the GPU tests that failed with only their names known.)
"""
import os
import sys
import threading
import time
import traceback
import types
import weakref

import numpy as _np
from numpy.lib.mixins import NDArrayOperatorsMixin

_state = threading.local()
LOG = os.environ.get("FAKECUPY_LOG")  # no log unless asked


def _log(kind, name):
    if not LOG:
        return
    st = traceback.extract_stack()[:-2]
    where = next((f"{f.filename}:{f.lineno}" for f in reversed(st)
                  if "/minigrad/" in f.filename and "fakecupy" not in f.filename), "?")
    with open(LOG, "a") as fh:
        fh.write(f"{kind}\t{name}\t{where}\n")


# ------------------------------------------------------------------- launch counting
# Each CuPy operation that would start GPU work is counted by kind ("elementwise:add",
# "copy", "memset", "kernel:im2col", ...): a proxy, computed on the CPU, for the kernels a
# code path launches (CuPy's own choices, e.g. the copies inside cupy.matmul, are modelled
# coarsely: see _matmul_copies). ``launches`` holds the counts; ``counting(where=True)``
# also records the minigrad line of each launch. Emulated kernels (tests/fakecupy_plugin)
# count as one launch each, whatever NumPy they run inside (``quiet``).
import collections  # noqa: E402
import contextlib  # noqa: E402

launches = collections.Counter()
launch_sites = collections.Counter()


SITE_DEPTH = 1  # how many minigrad frames name a launch's site


def _caller():
    """The innermost SITE_DEPTH minigrad lines of the stack ("file:line < file:line")."""
    st = traceback.extract_stack()[:-3]
    lines = [f"{f.filename.split('/minigrad/')[-1]}:{f.lineno}" for f in reversed(st)
             if "/minigrad/" in f.filename and "fakecupy" not in f.filename]
    return " < ".join(lines[:SITE_DEPTH]) or "?"


def _launch(kind, n=1):
    if n and not getattr(_state, "quiet", 0):
        launches[kind] += n
        if getattr(_state, "where", False):
            launch_sites[(kind, _caller())] += n


@contextlib.contextmanager
def counting(where=False):
    """Count the launches of the block from zero (``launches``, ``launch_sites``)."""
    launches.clear()
    launch_sites.clear()
    _state.where = where
    try:
        yield launches
    finally:
        _state.where = False


@contextlib.contextmanager
def quiet():
    """Nothing inside is counted (an emulated kernel's NumPy work)."""
    _state.quiet = getattr(_state, "quiet", 0) + 1
    try:
        yield
    finally:
        _state.quiet -= 1


def _shares(out, args):
    """Whether ``out`` (NumPy) is a view of one of ``args``' arrays: no kernel ran."""
    o = out._a if isinstance(out, ndarray) else out
    if not isinstance(o, _np.ndarray):
        return True
    return any(isinstance(a, ndarray) and _np.may_share_memory(o, a._a) for a in args)


# functions that make views or metadata (a kernel only when the result is a copy)
_VIEWS = {"reshape", "ravel", "transpose", "swapaxes", "moveaxis", "expand_dims", "squeeze",
          "broadcast_to", "broadcast_arrays", "atleast_1d", "atleast_2d", "atleast_3d",
          "split", "array_split", "diagonal", "view", "real", "imag", "flip",
          "rollaxis"}
_NO_KERNEL = {"empty", "empty_like", "result_type", "can_cast", "promote_types", "shape",
              "ndim", "size", "isscalar", "iinfo", "finfo", "may_share_memory",
              "shares_memory", "dtype", "min_scalar_type", "common_type"}
_FILLS = {"zeros": "memset", "zeros_like": "memset", "ones": "fill", "ones_like": "fill",
          "full": "fill", "full_like": "fill", "fill": "fill"}


def _count_call(name, args, out):
    if name in _NO_KERNEL:
        return
    if name in _VIEWS:
        _launch("copy", 0 if _shares(out, args) else 1)
    elif name in _FILLS:
        _launch(_FILLS[name])
    elif name == "matmul":
        _launch("gemm")
        _launch("copy", _matmul_copies(args))
    else:
        _launch(f"func:{name}")


def _matmul_copies(args):
    """Copies cupy.matmul makes first: an operand of another dtype than the result is cast,
    one whose matrices are neither C- nor F-contiguous is copied (CuPy's rule, coarsely)."""
    arrays = [a._a for a in args[:2] if isinstance(a, ndarray)]
    if len(arrays) < 2:
        return 0
    dt = _np.result_type(*arrays)
    n = 0
    for a in arrays:
        m = a if a.ndim < 3 else a[(0,) * (a.ndim - 2)]
        n += a.dtype != dt or not (m.flags.c_contiguous or m.flags.f_contiguous)
    return n


def _unwrap(x):
    if isinstance(x, ndarray):
        return x._a
    if type(x) is _np.ndarray:
        raise TypeError(f"Unsupported type {type(x)} (fakecupy: numpy array mixed in, "
                        f"shape {x.shape})")
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _wrap(x):
    if type(x) is _np.ndarray:
        return ndarray._make(x)
    if isinstance(x, _np.generic):
        return ndarray._make(_np.asarray(x))
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


def _call(f, args, kwargs):
    """f on the NumPy arrays inside args and kwargs, warnings off (CuPy gives none), its
    result wrapped back into stand-in arrays."""
    with _np.errstate(all="ignore"):
        return _wrap(f(*_unwrap(args), **_unwrap(kwargs)))


def _idx_unwrap(k):
    if isinstance(k, ndarray):
        return k._a
    if isinstance(k, tuple):
        return tuple(_idx_unwrap(v) for v in k)
    if type(k) is _np.ndarray:
        _log("np-index", str(k.shape))
        return k
    return k


class ndarray(NDArrayOperatorsMixin):
    __slots__ = ("_a", "__weakref__")

    @classmethod
    def _make(cls, a):
        o = object.__new__(cls)
        o._a = a
        if a.base is None:  # an owner: its views' .base is this object (as in CuPy)
            _bases[id(a)] = o
        return o

    def __init__(self, shape, dtype=float):
        self._a = _np.empty(shape, dtype)
        _bases[id(self._a)] = self

    def __array__(self, *a, **k):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__":
            _log("ufunc-method", f"{ufunc.__name__}.{method}")
            if method in ("reduceat",) or (method == "at" and ufunc.__name__ not in
                                            ("add", "subtract", "maximum", "minimum",
                                             "bitwise_or", "bitwise_and", "bitwise_xor")):
                raise TypeError(f"fakecupy: CuPy has no {ufunc.__name__}.{method}")
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_unwrap(o) for o in out)
        args = [_unwrap(i) for i in inputs]
        _count_ufunc(ufunc, method, inputs)
        with _np.errstate(all="ignore"):
            result = _wrap(getattr(ufunc, method)(*args, **kwargs))
        if out is not None:  # as CuPy: the out array itself (a += b keeps a's object)
            return out[0] if len(out) == 1 else tuple(out)
        return result

    def __array_function__(self, func, types_, args, kwargs):
        name = func.__name__
        if name in _MISSING:
            raise TypeError(f"fakecupy: no cupy.{name}")
        _log("np-func-on-cupy", name)
        out = _call(func, args, kwargs)
        _count_call(name, args, out)
        return out

    # attributes
    shape = property(lambda s: s._a.shape)
    dtype = property(lambda s: s._a.dtype)
    ndim = property(lambda s: s._a.ndim)
    size = property(lambda s: s._a.size)
    itemsize = property(lambda s: s._a.itemsize)
    nbytes = property(lambda s: s._a.nbytes)
    strides = property(lambda s: s._a.strides)
    flags = property(lambda s: s._a.flags)
    T = property(lambda s: ndarray._make(s._a.T))
    mT = property(lambda s: ndarray._make(s._a.mT))
    real = property(lambda s: ndarray._make(s._a.real))
    imag = property(lambda s: ndarray._make(s._a.imag))
    base = property(lambda s: None if s._a.base is None else _base_of(s._a))
    data = property(lambda s: types.SimpleNamespace(ptr=s._a.ctypes.data))
    device = property(lambda s: types.SimpleNamespace(id=0))

    @property
    def __cuda_array_interface__(self):
        return self._a.__array_interface__

    def get(self, *a, **k):
        _launch("memcpy DtoH")
        return self._a.copy()

    def tolist(self):
        _launch("memcpy DtoH")
        return self._a.tolist()

    def item(self):
        _launch("memcpy DtoH")
        return self._a.item()

    def __getattr__(self, name):
        if name.startswith("__") or name in _NO_METHOD:
            raise AttributeError(name)
        attr = getattr(self._a, name)
        _log("method", name)
        if callable(attr):
            def method(*a, **k):
                out = _call(attr, a, k)
                _count_method(self, name, a, k, out)
                return out
            return method
        return attr

    def __getitem__(self, k):
        out = _wrap(self._a[_idx_unwrap(k)])
        _launch("gather", 0 if _shares(out, (self,)) else 1)
        return out

    def __setitem__(self, k, v):
        if type(v) is _np.ndarray:
            _log("np-setitem-value", str(v.shape))
            v = v
        else:
            v = _unwrap(v)
        self._a[_idx_unwrap(k)] = v
        _launch("setitem")

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # a Python number from a device array waits for the GPU and copies it back, as .item()
    def __bool__(self):
        _launch("memcpy DtoH")
        return bool(self._a)

    def __float__(self):
        _launch("memcpy DtoH")
        return float(self._a)

    def __int__(self):
        _launch("memcpy DtoH")
        return int(self._a)

    def __complex__(self):
        _launch("memcpy DtoH")
        return complex(self._a)

    def __index__(self):
        _launch("memcpy DtoH")
        return self._a.__index__()

    def __repr__(self):
        return "fakecupy." + repr(self._a)

    def __hash__(self):
        raise TypeError("unhashable")

    def __copy__(self):
        _launch("copy")
        return ndarray._make(self._a.copy())

    def __deepcopy__(self, memo):
        return ndarray._make(self._a.copy())

    def __reduce__(self):
        return (ndarray._make, (self._a,))

    def __dlpack__(self, *a, **k):
        return self._a.__dlpack__(*a, **k)

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()


# id of a NumPy owner -> its stand-in array: one object per owner while in use, as CuPy
_bases = weakref.WeakValueDictionary()


def _owner(a):
    """The NumPy array that owns ``a``'s memory (``a`` itself, or the end of its .base)."""
    while isinstance(a.base, _np.ndarray):
        a = a.base
    return a


def _base_of(a):
    owner = _owner(a)
    hit = _bases.get(id(owner))
    if hit is None or hit._a is not owner:
        hit = _bases[id(owner)] = ndarray._make(owner)
    return hit


_NO_METHOD = {"tofile", "tobytes", "dumps", "byteswap", "newbyteorder", "ctypes",
              "__array_interface__", "__array_priority__"}
_MISSING = {"frompyfunc", "vectorize", "apply_along_axis", "piecewise", "nanpercentile",
            "put_along_axis_", }


def _count_ufunc(ufunc, method, inputs):
    name = ufunc.__name__
    if name == "matmul" and method == "__call__":
        _count_call("matmul", inputs, None)
    else:
        _launch({"__call__": "elementwise", "reduce": "reduce", "at": "scatter"}.get(
            method, method) + ":" + name)


def _count_method(self, name, args, kwargs, out):
    if name == "astype":
        dtype = _np.dtype(args[0] if args else kwargs["dtype"])
        same = dtype == self.dtype and not kwargs.get("copy", True)
        _launch("copy", 0 if same else 1)
    elif name in ("copy", "flatten"):
        _launch("copy")
    else:
        _count_call(name, (self,) + tuple(args), out)


def _passthrough(name):
    f = getattr(_np, name)

    def g(*a, **k):
        _log("cupy-func", name + "(" + ",".join(sorted(k)) + ")")
        out = _call(f, a, k)
        _count_call(name, a, out)
        return out
    g.__name__ = name
    return g


def _poisoned(name):
    """NumPy's ``name`` (``empty``, ``empty_like``), its array poisoned (every byte 0xff:
    NaN, -1; ``tests/kernels/cuda_host.py``'s ``poison``): CuPy's comes from its memory pool,
    holding what its last owner left, so code that reads an element it never wrote must
    not pass here on NumPy's zeros."""
    def g(*args, **kwargs):
        from tests.kernels.cuda_host import poison

        out = _passthrough(name)(*args, **kwargs)
        poison(out._a)
        return out
    g.__name__ = name
    return g


empty, empty_like = _poisoned("empty"), _poisoned("empty_like")


def diagonal(a, offset=0, axis1=0, axis2=1):
    """CuPy's diagonal is a writable view (NumPy's is read-only)."""
    out = _passthrough("diagonal")(a, offset, axis1, axis2)
    out._a.flags.writeable = a._a.flags.writeable
    return out


def asarray(a, dtype=None, order=None, blocking=False):
    if isinstance(a, ndarray):
        return a if dtype is None or a.dtype == dtype else a.astype(dtype)
    if isinstance(a, (list, tuple)):
        a = _unwrap_list(a)
    _launch("memcpy HtoD")
    return ndarray._make(_np.array(a, dtype=dtype, order=order or "K", copy=True))


def _unwrap_list(a):
    # CuPy: a list of cupy arrays converts (cupy.array([cp0d, cp0d])) ; numpy arrays too
    return [(_unwrap_list(v) if isinstance(v, (list, tuple)) else
             (v._a if isinstance(v, ndarray) else v)) for v in a]


def array(a, dtype=None, copy=True, order="K", ndmin=0):
    out = asarray(a, dtype=dtype)
    if ndmin:
        out = ndarray._make(_np.array(out._a, ndmin=ndmin))
    return out


def asnumpy(a, *args, **k):
    return a._a.copy() if isinstance(a, ndarray) else _np.asarray(a)


def ascontiguousarray(a, dtype=None):
    out = ndarray._make(_np.ascontiguousarray(_unwrap(a), dtype=dtype))
    _launch("copy", 0 if _shares(out, (a,)) else 1)
    return out


def get_array_module(*args):
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else _np


def fromDlpack(x):
    return ndarray._make(_np.from_dlpack(x))


from_dlpack = fromDlpack


class _Ufunc:
    def __init__(self, u):
        self._u = u
        self.__name__ = u.__name__
        self.nin, self.nout = u.nin, u.nout

    def __call__(self, *a, **k):
        _count_ufunc(self._u, "__call__", a)
        return _call(self._u, a, k)

    def reduce(self, *a, **k):
        _count_ufunc(self._u, "reduce", a)
        return _wrap(self._u.reduce(*_unwrap(a), **_unwrap(k)))

    def accumulate(self, *a, **k):
        _count_ufunc(self._u, "accumulate", a)
        return _wrap(self._u.accumulate(*_unwrap(a), **_unwrap(k)))

    def outer(self, *a, **k):
        return _wrap(self._u.outer(*_unwrap(a), **_unwrap(k)))

    def __getattr__(self, name):
        if name == "at" and self.__name__ in ("add", "subtract", "maximum", "minimum",
                                              "bitwise_or", "bitwise_and", "bitwise_xor"):
            def at(a, idx, b=None):
                args = (_idx_unwrap(idx),) if b is None else (_idx_unwrap(idx), _unwrap(b))
                _count_ufunc(self._u, "at", ())
                self._u.at(a._a, *args)
            return at
        raise AttributeError(f"fakecupy: cupy.{self.__name__} has no {name}")


_module = sys.modules[__name__]


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    if name in _MISSING:
        raise AttributeError(f"fakecupy: cupy has no {name}")
    obj = getattr(_np, name)
    if isinstance(obj, types.ModuleType) and name not in ("linalg", "fft", "random"):
        raise AttributeError(f"fakecupy: cupy.{name}")
    if isinstance(obj, types.ModuleType):  # (a module is not callable: asked first)
        return _Sub(obj, name)
    if isinstance(obj, _np.ufunc):
        return _Ufunc(obj)
    if isinstance(obj, (type, _np.dtype)) or not callable(obj):
        return obj
    return _passthrough(name)


class _Sub:
    def __init__(self, mod, name):
        self._m, self._n = mod, name

    def __getattr__(self, name):
        obj = getattr(self._m, name)
        _log("sub", self._n + "." + name)
        if isinstance(obj, type) and self._n == "random":
            if name in ("RandomState", "Generator"):
                def make(*a, **k):
                    r = obj(*a, **k)
                    return _Sub(r, "rs")
                return make
            return obj
        if callable(obj):
            def g(*a, **k):
                _launch(f"func:{self._n}.{name}")
                return _call(obj, a, k)
            return g
        return obj


def default_rng(seed=None):
    return _Sub(_np.random.default_rng(seed), "rs")


class _Runtime:
    @staticmethod
    def getDeviceCount():
        return 1

    @staticmethod
    def getDevice():
        return 0

    @staticmethod
    def getDeviceProperties(device):
        """The few of CUDA's device properties minigrad reads (its name, as bytes as CuPy
        gives it), for the Ampere-like device the stand-in is."""
        if device != 0:
            raise ValueError(f"fakecupy: no device {device} (the stand-in has one)")
        return {"name": b"fakecupy stand-in (sm_80)", "major": 8, "minor": 0,
                "multiProcessorCount": _Device.attributes["MultiProcessorCount"]}


class _Device:
    compute_capability = "80"  # an Ampere-like device: no Hopper (wgmma) paths
    # The attributes minigrad reads (a small device: a persistent grid is capped early).
    attributes = {"MultiProcessorCount": 4}

    def __init__(self, i=0):
        self.id = i

    def synchronize(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        pass


_STREAM = types.SimpleNamespace(ptr=0, synchronize=lambda: None)


class _Driver:
    @staticmethod
    def occupancyMaxActiveBlocksPerMultiprocessor(func, block_size, dynamic_smem):
        """Blocks one SM holds: 2048 threads an SM (Ampere, Hopper); registers and shared
        memory not modelled."""
        return max(2048 // block_size, 1)


class _Event:
    """A CUDA event by the host clock: the stand-in's launches run when called, so the time
    between two records is the work between them (benchmarks can run their timing code)."""

    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self.t = None  # CuPy's keywords; timing is always on here

    def record(self, stream=None):
        self.t = time.perf_counter()

    @property
    def done(self) -> bool:
        """Whether the work before the record has run: always, once recorded."""
        return self.t is not None

    def synchronize(self):
        """Nothing to wait for: the work before the record has run."""


def _elapsed_ms(start, end):
    return (end.t - start.t) * 1e3


cuda = types.SimpleNamespace(runtime=_Runtime, Device=_Device, driver=_Driver,
                             get_current_stream=lambda: _STREAM, Event=_Event,
                             get_elapsed_time=_elapsed_ms,
                             Stream=lambda *a, **k: types.SimpleNamespace(ptr=0))


class _Pool:
    def used_bytes(self):
        """Device memory in use: the bytes of the NumPy owners behind the live device
        arrays, each counted once (what CuPy's pool reports as used). Found when asked, by
        walking the live objects (slow, and nothing on the hot path)."""
        import gc

        owners = {id(a): a.nbytes for a in (_owner(o._a) for o in gc.get_objects()
                                            if type(o) is ndarray)}
        return sum(owners.values())

    def total_bytes(self):  # no cache of freed blocks here
        return self.used_bytes()

    def free_all_blocks(self):
        pass


def get_default_memory_pool():
    return _Pool()


class _HostKernel:
    """A ``cupy.ElementwiseKernel`` or ``ReductionKernel`` run by its own CUDA text, compiled
    as host C++ by g++ (tests/kernels/elementwise_cuda.py), counted as one launch
    "kernel:<its name without minigrad_>". (minigrad kernels the plugin replaces by NumPy
    twins never get here.) Outputs passed in come back as the same arrays."""

    def __init__(self, cls, args, kwargs):
        from tests.kernels import cuda_host, elementwise_cuda

        if not cuda_host.available():
            raise NotImplementedError(f"fakecupy: {cls} needs g++ to run on the host")

        self.kernel = getattr(elementwise_cuda, "Host" + cls)(*args, **kwargs)
        self.kind = "kernel:" + self.kernel.k.name.removeprefix("minigrad_")

    def __call__(self, *args, **kwargs):
        given = {id(a._a): a for a in args if isinstance(a, ndarray)}
        out = self.kernel(*_unwrap(list(args)), **kwargs)
        _launch(self.kind)
        outs = out if isinstance(out, tuple) else (out,)
        outs = tuple(given.get(id(o)) or _wrap(o) for o in outs)
        return outs if isinstance(out, tuple) else outs[0]


def ElementwiseKernel(*a, **k):
    return _HostKernel("ElementwiseKernel", a, k)


def ReductionKernel(*a, **k):
    return _HostKernel("ReductionKernel", a, k)


class RawModule:
    """A ``RawModule`` from source, its kernels run on the host by their own CUDA text
    (tests/kernels/cuda_host.py; g++), each launch counted as one "kernel:<name>". (A
    module from a cubin, ``path=``, cannot run here.)"""

    def __init__(self, *args, **kwargs):
        from tests.kernels import cuda_host

        if not cuda_host.available():
            raise NotImplementedError("fakecupy: RawModule needs g++ to run on the host")
        self.module = cuda_host.HostRawModule(*args, **kwargs)

    def get_function(self, name):
        return _HostRawLaunch(self.module.get_function(name))


class _HostRawLaunch:
    """A host kernel called with the stand-in's arrays; its attributes (``kernel``,
    ``max_dynamic_shared_size_bytes``) are the host kernel's."""

    def __init__(self, kernel):
        object.__setattr__(self, "_kernel", kernel)

    def __call__(self, grid, block, args, **kwargs):
        self._kernel(grid, block, tuple(_unwrap(list(args))), **kwargs)
        _launch("kernel:" + self._kernel.name)

    def __getattr__(self, name):
        return getattr(self._kernel, name)

    def __setattr__(self, name, value):
        setattr(self._kernel, name, value)


def RawKernel(*a, **k):
    raise NotImplementedError("fakecupy: RawKernel")


def fuse(*a, **k):
    raise NotImplementedError("fakecupy: fuse")


def _as_strided(x, shape=None, strides=None):
    return ndarray._make(_np.lib.stride_tricks.as_strided(x._a, shape, strides))


lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided))
