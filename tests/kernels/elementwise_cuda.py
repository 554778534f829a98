"""The CUDA text of minigrad's ``cupy.ElementwiseKernel``s, without CuPy: a recorder that
stands in for ``cupy.ElementwiseKernel`` while a kernel factory runs, and a kernel built
around each recorded body the way CuPy builds one (each non-raw argument a reference to
this index's element, const for inputs; raw arguments indexable arrays; the loop index
``i``; the preamble first), so that nvcc can compile it on a machine without a GPU; and
the same body as a host C++ function (g++), so that its statements run on the CPU.

CuPy's ``float16`` is a class with an implicit constructor from float, explicit ones from
double, the integers and bool, and an implicit conversion to float (cupy/_core/include/
cupy/float16.cuh); :data:`FLOAT16` declares the same interface over ``__half``, so that a
body's casts to and from half compile here exactly when they compile there. (CuPy ends
the body with a ";" of its own, as here.)
"""
import re
import shutil
import subprocess
from types import SimpleNamespace

import numpy as np

from tests.kernels.cuda_host import precompiled_header

FLOAT16 = r"""
#include <cuda_fp16.h>
#include <cstddef>
class float16 {
  __half data_;
 public:
  __device__ float16() {}
  __device__ float16(float v) : data_(__float2half_rn(v)) {}
  explicit __device__ float16(double v) : data_(__float2half_rn(float(v))) {}
  explicit __device__ float16(bool v) : data_(__float2half_rn(float(v))) {}
  explicit __device__ float16(int v) : data_(__float2half_rn(float(v))) {}
  explicit __device__ float16(long long v) : data_(__float2half_rn(float(v))) {}
  __device__ operator float() const { return __half2float(data_); }
  float16& operator=(const float16&) = default;
  template <typename T> __device__ float16& operator=(const T& rhs) {
    *this = static_cast<float16>(rhs);
    return *this;
  }
};
"""

CTYPES = {"float16": "float16", "float32": "float", "float64": "double", "int64": "long long",
          "int32": "int", "bool": "bool"}


class Recorder:
    """``cupy()`` for a kernel factory: ``ElementwiseKernel(...)`` records its arguments
    (``.kernels``) and returns them; anything else CuPy is not needed to build a kernel."""

    def __init__(self):
        self.kernels = []

    def __call__(self):
        return SimpleNamespace(ElementwiseKernel=self._elementwise)

    def _elementwise(self, in_params, out_params, operation, name, preamble="", **_):
        k = SimpleNamespace(in_params=in_params, out_params=out_params, operation=operation,
                            name=name, preamble=preamble)
        self.kernels.append(k)
        return k


def _params(text, types):
    """``"float32 x, raw T y"`` → [(ctype, name, raw)], type letters taken from ``types``."""
    out = []
    for p in filter(None, (s.strip() for s in text.split(","))):
        words = p.split()
        raw = words[0] == "raw"
        dtype, name = words[-2:]
        ctype = CTYPES[np.dtype(types.get(dtype, dtype)).name]
        out.append((ctype, name, raw))
    return out


def _signature(k, types):
    """(the kernel's argument list, the per-element references CuPy makes, the typedefs of
    the type letters) for the recorded kernel ``k``."""
    ins, outs = _params(k.in_params, types), _params(k.out_params, types)
    args, refs = [], []
    for (ctype, name, raw), const in [(p, True) for p in ins] + [(p, False) for p in outs]:
        if raw:
            args.append(f"{ctype}* {name}")
        else:
            args.append(f"{ctype}* _p_{name}")
            refs.append(f"{'const ' if const else ''}{ctype} &{name} = _p_{name}[i];")
    typedefs = "".join(f"typedef {CTYPES[np.dtype(v).name]} {t};\n" for t, v in types.items())
    return ", ".join(args), " ".join(refs), typedefs


def kernel_source(k, tag, types=None):
    """A CUDA kernel that does what CuPy generates for the recorded kernel ``k`` (type
    letters such as T, U taken from ``types``: {"T": "float16", ...}), in its own
    namespace ``k<tag>``."""
    args, refs, typedefs = _signature(k, types or {})
    return (f"namespace k{tag} {{\n"
            f"{typedefs}{k.preamble}\n"
            f'__global__ void {k.name}({args}, ptrdiff_t n) {{\n'
            f"  for (ptrdiff_t i = blockIdx.x * (ptrdiff_t)blockDim.x + threadIdx.x; i < n;"
            f" i += (ptrdiff_t)blockDim.x * gridDim.x) {{\n"
            f"    {refs}\n{k.operation};\n  }}\n}}\n}}\n")


# The same kernels as host C++ (g++), to run their statements on the CPU: after cuda_host.h (the
# CUDA qualifiers, the math functions with float overloads, the intrinsics, as for the raw
# kernels' host run), std's names for the bodies' math calls, and float16 over GCC's
# _Float16 (round to nearest even, as __float2half_rn; double goes through float, as
# CuPy's).
HOST_FLAGS = ["-O1", "-fno-fast-math", "-ffp-contract=off", "-fPIC"]  # cuda_host.h precompiled
HOST_PRELUDE = '''
#include <cstddef>
using namespace std;
''' + r"""
class float16 {
  _Float16 data_;
 public:
  float16() {}
  float16(float v) : data_((_Float16)v) {}
  explicit float16(double v) : data_((_Float16)(float)v) {}
  explicit float16(bool v) : data_((_Float16)(float)v) {}
  explicit float16(int v) : data_((_Float16)(float)v) {}
  explicit float16(long long v) : data_((_Float16)(float)v) {}
  operator float() const { return (float)data_; }
};
"""


def host_source(k, tag, types=None):
    """The recorded kernel ``k`` as a host function ``extern "C" void k<tag>(arrays...,
    n)`` that runs its body for i = 0 .. n − 1 in order (every argument an array)."""
    args, refs, typedefs = _signature(k, types or {})
    return (f"namespace h{tag} {{\n{typedefs}{k.preamble}\n"
            f"void run({args}, ptrdiff_t n) {{\n"
            f"  for (ptrdiff_t i = 0; i < n; ++i) {{\n    {refs}\n{k.operation};\n  }}\n}}\n}}\n"
            f'extern "C" void k{tag}({args}, ptrdiff_t n) {{ h{tag}::run('
            + ", ".join(a.split()[-1] for a in args.split(", ")) + ", n); }\n")


def host_library(sources, tmp_path):
    """The host sources (:func:`host_source`) compiled by g++ into one shared library,
    loaded with ctypes; a RuntimeError with g++'s text when it does not compile."""
    import ctypes

    cpp = tmp_path / "elementwise_host.cpp"
    cpp.write_text(f'#include "{precompiled_header(HOST_FLAGS)}"' + HOST_PRELUDE
                   + "\n".join(sources))
    lib = tmp_path / "elementwise_host.so"
    result = subprocess.run([shutil.which("g++"), *HOST_FLAGS, "-shared", "-o", str(lib),
                             str(cpp)], capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(re.sub(r"\n+", "\n", result.stderr)[-4000:])
    return ctypes.CDLL(str(lib))


def run_on_host(lib, tag, *arrays, n=None):
    """Call ``k<tag>`` of ``lib`` on contiguous NumPy ``arrays`` (inputs, then outputs,
    all of length ``n``, the first's by default, but raw ones), in place."""
    import ctypes

    n = arrays[0].size if n is None else n
    assert all(a.flags.c_contiguous for a in arrays)
    getattr(lib, f"k{tag}")(*[a.ctypes.data_as(ctypes.c_void_p) for a in arrays],
                            ctypes.c_ssize_t(n))


def nvcc_errors(sources, tmp_path, arch="sm_80", options=()):
    """Compile the kernels (one translation unit, :data:`FLOAT16` first) with nvcc for
    ``arch`` (and ``options``, the kernels' own): nvcc's error text, or "" when it
    compiled."""
    cu = tmp_path / "elementwise.cu"
    cu.write_text(FLOAT16 + "\n".join(sources))
    result = subprocess.run([shutil.which("nvcc"), f"-arch={arch}", *options, "-cubin", "-o",
                             str(tmp_path / "elementwise.cubin"), str(cu)],
                            capture_output=True, text=True)
    return "" if result.returncode == 0 else re.sub(r"\n+", "\n", result.stderr)[-4000:]
_LIBRARIES = {}  # host C++ text -> ctypes library: one g++ run per kernel and process


def _compiled(source):
    """The library of one host kernel's ``source``, compiled on first use (its files
    removed once it is loaded)."""
    lib = _LIBRARIES.get(source)
    if lib is None:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory(prefix="mg-host-kernel-") as d:
            lib = host_library([source], Path(d))
        _LIBRARIES[source] = lib
    return lib


def _bind(kernel, params, args):
    """(type letter -> dtype, bound from the array arguments as CuPy binds them; parameter
    name -> its dtype) for a host kernel called with ``args`` for ``params``."""
    types = {}
    for (dtype, name, _raw), a in zip(params, args):
        if isinstance(a, np.ndarray) and len(dtype) == 1:
            assert types.setdefault(dtype, a.dtype) == a.dtype, (kernel.k.name, name)
    dtype_of = {p[1]: np.dtype(types.get(p[0], p[0])) for p in kernel.ins + kernel.outs}
    return types, dtype_of


class HostElementwiseKernel:
    """``cupy.ElementwiseKernel`` run on NumPy arrays by its own CUDA text compiled as
    host C++ (:func:`host_source`; g++ on first call, one library per body and types):
    CuPy's calling convention as far as minigrad's kernels use it. Inputs, then optional
    outputs; type letters bound from the array arguments' dtypes; a typed array argument
    must have its declared dtype (CuPy's "Type is mismatched"), a scalar is cast to it;
    non-raw arguments broadcast together, the body runs once per element of that shape
    in order (index ``i``); raw arguments are whole arrays, written back in place; outputs
    not given are allocated; returns the output, or a tuple of them."""

    def __init__(self, in_params, out_params, operation, name, preamble="", **_):
        self.k = SimpleNamespace(in_params=in_params, out_params=out_params,
                                 operation=operation, name=name, preamble=preamble)
        self.ins, self.outs = (self._parse(t) for t in (in_params, out_params))

    @staticmethod
    def _parse(text):
        return [(w[-2], w[-1], w[0] == "raw") for w in
                (p.split() for p in text.split(",") if p.strip())]

    def __call__(self, *args):
        n_in = len(self.ins)
        inputs, given = list(args[:n_in]), list(args[n_in:])
        params = self.ins + self.outs[:len(given)]
        types, dtype_of = _bind(self, params, inputs + given)
        shape = np.broadcast_shapes(*[np.shape(a) for (_, _, raw), a in
                                      zip(params, inputs + given)
                                      if isinstance(a, np.ndarray) and not raw])
        outputs = given + [np.empty(shape, dtype_of[name]) for _, name, _ in
                           self.outs[len(given):]]
        flat = []
        for (_, name, raw), a in zip(self.ins + self.outs, inputs + outputs):
            if isinstance(a, np.ndarray):
                assert a.dtype == dtype_of[name], \
                    f"{self.k.name}: Type is mismatched: {name} {a.dtype} for {dtype_of[name]}"
                flat.append(np.ascontiguousarray(a) if raw else
                            np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1))
            else:
                flat.append(np.full(int(np.prod(shape)), a, dtype_of[name]))
        run_on_host(self._library(types), 0, *flat, n=int(np.prod(shape)))
        for a, f in zip(outputs, flat[n_in:]):
            a[...] = f.reshape(a.shape)
        for a, f, (_, _, raw) in zip(inputs, flat[:n_in], self.ins):
            if raw and isinstance(a, np.ndarray):
                a[...] = f.reshape(a.shape)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def _library(self, types):
        return _compiled(host_source(self.k, 0, {t: d.name for t, d in types.items()}))


class HostReductionKernel:
    """``cupy.ReductionKernel`` run on NumPy arrays by its own CUDA text compiled as host
    C++: per output element, ``a = identity``, then ``a = REDUCE(a, map_expr)`` over the
    reduced elements in order, then ``post_map_expr`` (CuPy's REDUCE, POST_MAP and
    ``_type_reduce``, the first output's type unless ``reduce_type`` says). Inputs
    broadcast together; ``axis`` (None: all) and ``keepdims`` as CuPy's; outputs are
    allocated (returned alone, or as a tuple)."""

    def __init__(self, in_params, out_params, map_expr, reduce_expr, post_map_expr,
                 identity, name="reduce_kernel", reduce_type=None, preamble="", **_):
        self.k = SimpleNamespace(in_params=in_params, out_params=out_params, name=name,
                                 map_expr=map_expr, reduce_expr=reduce_expr,
                                 post_map_expr=post_map_expr, identity=identity,
                                 reduce_type=reduce_type, preamble=preamble)
        self.ins = HostElementwiseKernel._parse(in_params)
        self.outs = HostElementwiseKernel._parse(out_params)

    def __call__(self, *args, axis=None, keepdims=False):
        types, dtype_of = _bind(self, self.ins, args)
        shape = np.broadcast_shapes(*[np.shape(a) for a in args if isinstance(a, np.ndarray)])
        axes = tuple(range(len(shape))) if axis is None else \
            tuple(sorted(a % len(shape) for a in np.atleast_1d(axis)))
        kept = [d for d in range(len(shape)) if d not in axes]
        n_out = int(np.prod([shape[d] for d in kept]))
        n_red = int(np.prod([shape[d] for d in axes]))
        flat = []
        for (_, name, _raw), a in zip(self.ins, args):
            assert not isinstance(a, np.ndarray) or a.dtype == dtype_of[name], \
                f"{self.k.name}: Type is mismatched: {name} {a.dtype} for {dtype_of[name]}"
            full = np.broadcast_to(np.asarray(a, dtype_of[name]), shape)
            flat.append(np.ascontiguousarray(full.transpose(kept + list(axes))).reshape(-1))
        out_shape = tuple(1 if d in axes else shape[d] for d in range(len(shape))) \
            if keepdims else tuple(shape[d] for d in kept)
        outputs = [np.empty(out_shape, dtype_of[name]) for _, name, _ in self.outs]
        import ctypes

        lib = self._library(types)
        lib.r0(*[a.ctypes.data_as(ctypes.c_void_p) for a in flat + outputs],
               ctypes.c_ssize_t(n_out), ctypes.c_ssize_t(n_red))
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def _library(self, types):
        k = self.k
        types = {t: d.name for t, d in types.items()}
        ins, outs = _params(k.in_params, types), _params(k.out_params, types)
        args = [f"{c}* _p_{n}" for c, n, _ in ins + outs]
        refs_in = " ".join(f"const {c} &{n} = _p_{n}[i];" for c, n, _ in ins)
        refs_out = " ".join(f"{c} &{n} = _p_{n}[_j];" for c, n, _ in outs)
        rtype = CTYPES[np.dtype(types.get(k.reduce_type, k.reduce_type)).name] \
            if k.reduce_type else outs[0][0]
        typedefs = "".join(f"typedef {CTYPES[np.dtype(v).name]} {t};\n"
                           for t, v in types.items())
        source = (
            f"namespace red {{\n{typedefs}{k.preamble}\ntypedef {rtype} _type_reduce;\n"
            f"#define REDUCE(a, b) ({k.reduce_expr})\n#define POST_MAP(a) ({k.post_map_expr})\n"
            f"void run({', '.join(args)}, ptrdiff_t n_out, ptrdiff_t n_red) {{\n"
            f"  for (ptrdiff_t _j = 0; _j < n_out; ++_j) {{\n"
            f"    _type_reduce _s = _type_reduce({k.identity});\n"
            f"    for (ptrdiff_t _k = 0; _k < n_red; ++_k) {{\n"
            f"      ptrdiff_t i = _j * n_red + _k; {refs_in}\n"
            f"      _type_reduce _b = _type_reduce({k.map_expr});\n"
            f"      _s = REDUCE(_s, _b);\n    }}\n"
            f"    {refs_out}\n    POST_MAP(_s);\n  }}\n}}\n#undef REDUCE\n#undef POST_MAP\n}}\n"
            f'extern "C" void r0({", ".join(args)}, ptrdiff_t n_out, ptrdiff_t n_red) {{ '
            f"red::run({', '.join('_p_' + n for _, n, _ in ins + outs)}, n_out, n_red); }}\n")
        return _compiled(source)


def host_cupy():
    """``minigrad._backend.cupy`` for a kernel factory whose ElementwiseKernels and
    ReductionKernels should run on the host (:class:`HostElementwiseKernel`,
    :class:`HostReductionKernel`)."""
    return SimpleNamespace(ElementwiseKernel=HostElementwiseKernel,
                           ReductionKernel=HostReductionKernel)
