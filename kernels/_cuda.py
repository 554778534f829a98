r"""Launchers for the CUDA kernels of this folder.

Each public function checks dtype, shape and contiguity (``TypeError``/``ValueError`` naming
the argument), picks the grid, compiles its ``.cu`` file on first use with ``cupy.RawModule``
(NVRTC, ``--std=c++17``, the architecture of the current device) and keeps the module for the
life of the process. CuPy is reached only through ``minigrad._backend.cupy()``, so importing
this module needs no GPU and using it without one raises ``DeviceError``.

``use_vendor(True)`` routes the same functions to cuSPARSE/cuBLAS (through cupyx and
``cupy.matmul``) for comparison.

Every launcher names the NumPy reference it must equal (``minigrad.kernels.reference``).
"""
from __future__ import annotations

import dataclasses
import functools
import glob
import os
import sys
import threading
from pathlib import Path

import numpy as np

from minigrad import _backend
from minigrad.dtypes import dtype_name

from . import reference
from ._validate import (
    check_array,
    check_out,
    validate_compress_24,
    validate_csr,
    validate_csr_pattern,
    validate_hgemm,
    validate_mm24,
    validate_spmv_method,
    validate_threads_per_row,
)

KERNEL_DIR = Path(__file__).resolve().parent
_lock = threading.Lock()
_modules: dict = {}
_kernels: dict = {}

# --------------------------------------------------------------------------- vendor switch

class use_vendor(_backend.Switch):
    """Route ``spmv_csr``, ``spmm_csr``, ``mm_24`` and ``hgemm`` to the vendor libraries.

    Works as a call (``use_vendor(True)`` switches until told otherwise) and as a context
    manager (the previous setting comes back on exit)::

        with kernels.use_vendor():        # cuSPARSE / cuBLAS inside
            y_ref = kernels.spmv_csr(indptr, indices, data, x)
    """

    _state = {"on": False}


def vendor_enabled() -> bool:
    """True while ``use_vendor`` routes the kernels to cuSPARSE/cuBLAS."""
    return use_vendor.enabled()


# ------------------------------------------------------------------------------ compiling


def _cuda_include_dirs() -> list[str]:
    """Directories holding the CUDA headers (only hgemm_wmma.cu includes any: mma.h)."""
    candidates = []
    for var in ("CUDA_PATH", "CUDA_HOME"):
        if os.environ.get(var):
            candidates.append(os.path.join(os.environ[var], "include"))
    candidates += ["/usr/local/cuda/include"]
    for site in sys.path:
        candidates += glob.glob(os.path.join(site, "nvidia", "*", "include"))
        candidates += glob.glob(os.path.join(site, "nvidia", "cuda_runtime", "include"))
    return [d for d in dict.fromkeys(candidates) if os.path.exists(os.path.join(d, "mma.h"))]


def compile_options(defines: dict | None = None, cuda_headers: bool = False) -> tuple:
    """NVRTC options: C++17, our folder on the include path, ``-D`` tile macros."""
    opts = ["--std=c++17", f"-I{KERNEL_DIR}"]
    if cuda_headers:
        opts += [f"-I{d}" for d in _cuda_include_dirs()[:1]]
    opts += [f"-D{k}={v}" for k, v in sorted((defines or {}).items())]
    return tuple(opts)


def kernel_source(filename: str) -> str:
    """The source of ``filename`` with our own ``#include "x.cuh"`` lines replaced by the
    headers' text: CuPy's on-disk kernel cache keys on the source string and the options, so
    an edited header must change the source it sees. ``#line`` directives keep every line
    under its own file's name and number (a ``#pragma once`` becomes an empty line), so
    NVRTC's messages, and the host run's (``tests/kernels/cuda_host.py``), name
    ``tc_common.cuh`` line 40 or ``hgemm.cu`` line 206, not a line of the joined text."""
    lines = [f'#line 1 "{filename}"']
    for number, line in enumerate((KERNEL_DIR / filename).read_text().splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith('#include "') and stripped.endswith('"'):
            header = stripped[len('#include "'):-1]
            lines.append(f'#line 1 "{header}"')
            lines += ["" if h.strip() == "#pragma once" else h
                      for h in (KERNEL_DIR / header).read_text().splitlines()]
            lines.append(f'#line {number + 1} "{filename}"')
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def get_kernel(filename: str, name: str, defines: dict | None = None, dynamic_smem: int = 0,
               cuda_headers: bool = False):
    """Kernel ``name`` of ``filename``, compiled once per (file, macros) and process."""
    cp = _backend.cupy()
    key = (filename, tuple(sorted(defines.items())) if defines else (),
           cp.cuda.runtime.getDevice())
    kernel = _kernels.get((key, name))  # made before: a dict read, no lock (every launch)
    if kernel is not None:
        return kernel
    with _lock:
        module = _modules.get(key)
        if module is None:
            module = cp.RawModule(code=kernel_source(filename),
                                  options=compile_options(defines, cuda_headers))
            _modules[key] = module
        kernel = _kernels.get((key, name))
        if kernel is None:
            kernel = module.get_function(name)
            if dynamic_smem > 48 * 1024:  # opt in above the default 48 KiB
                kernel.max_dynamic_shared_size_bytes = dynamic_smem
            _kernels[(key, name)] = kernel
    return kernel


def _i32(v) -> np.int32:
    return np.int32(v)


# ----------------------------------------------------------------------------- validation


def _is_cupy(a) -> bool:
    return type(a).__module__.split(".")[0] == "cupy"


def _require_device(**arrays):
    """Raise TypeError for host arrays (use the reference), DeviceError without CuPy/GPU."""
    for name, a in arrays.items():
        if a is not None and not _is_cupy(a):
            raise TypeError(
                f"{name} must be a CuPy array on the GPU, got {type(a).__module__}."
                f"{type(a).__name__}; for NumPy arrays use minigrad.kernels.reference")
    _backend.cupy()


def _address(a) -> int:
    """The address of ``a``'s first element (CuPy or NumPy)."""
    # (NumPy first: .data of a NumPy array is a memoryview, with no .ptr)
    return a.ctypes.data if isinstance(a, np.ndarray) else a.data.ptr


def _aligned(a, nbytes=16) -> bool:
    """Whether ``a``'s first element sits on an ``nbytes`` boundary (CuPy or NumPy)."""
    return _address(a) % nbytes == 0


# --------------------------------------------------------------------------------- Philox

def philox_fill(kind: str, n: int, seed: int, offset: int, range_: int | None = None):
    r"""The ``n`` values of draw (``seed``, ``offset``) from kernel ``philox_<kind>`` of
    philox.cu, as a new CuPy array (float32, float64 or uint64 by ``kind``); the draw uses
    ceil(n / P) Philox blocks (P = ``reference.PHILOX_PER_BLOCK[kind]``). ``range_`` is the
    exclusive bound of ``below_u64``. Reference: ``reference.philox_fill`` (bit for bit but
    the normals' log/cos/sin)."""
    P = reference.philox_check(kind, seed, offset, range_)
    extra = (np.uint64(range_),) if kind == "below_u64" else ()
    cp = _backend.cupy()
    out = cp.empty(int(n), dtype=reference.PHILOX_DTYPES[kind])
    if n:
        n_blocks = -(-int(n) // P)
        kernel = get_kernel("philox.cu", f"philox_{kind}")
        kernel((min(-(-n_blocks // 256), 65535),), (256,),
               (np.uint64(seed), np.uint64(offset), np.int64(n), *extra, out))
    return out


# ----------------------------------------------------------------------------------- SpMV

_TN = {"float32": "f32", "float64": "f64"}
# Every dtype tag of the kernels' names (f32, f64 and the 16-bit types f16, bf16).
_TAG = {**_TN, "float16": "f16", "bfloat16": "bf16"}


def spmv_csr(indptr, indices, data, x, out=None, *, method=None, threads_per_row=None,
             rows_per_group=1, prefetch=False, pipeline=None, stream_nnz=None, plan=None):
    r"""y = A x for a CSR matrix A (int32 ``indptr``/``indices``, float32/float64 ``data``).

    ``method``: ``"vector"`` (spmv_csr.cu, G lanes per row), ``"merge"`` (spmv_csr_merge.cu,
    merge-path load balance), ``"stream"`` (spmv_csr_stream.cu: blocks of about 1024
    nonzeros staged in shared memory, then G lanes per row; written after stop 30 without a
    GPU: never chosen by ``None`` until one has timed it) or ``None``:
    ``reference.spmv_method_for`` (merge for mean rows of 24 nonzeros or more, or when the
    longest row is over 64 times the mean: that check reads the row lengths, one device
    sync). ``threads_per_row`` overrides G for "vector" and "stream"; ``stream_nnz``
    (256, 512, 1024 or 2048; default 1024) is "stream"'s nonzeros a block (STREAM_NNZ);
    ``rows_per_group`` (1, 2 or 4 consecutive rows per group of G lanes) and ``prefetch``
    (an L2 prefetch ahead of each lane's first chunk of values) are "vector"'s tuning
    macros, timed by ``benchmarks/gpu_kernels.py`` (they change the schedule, not a sum).
    ``pipeline=True`` (SPMV_PIPE) makes the vectorised "vector" kernel persistent and
    software-pipelined: a grid of the blocks the device holds at once
    (``reference.spmv_persistent_grid``), each group of G lanes walking its rows a grid
    stride apart with the next rows' first loads in flight (the same sums, bit for bit);
    with ``method=None`` it runs "vector", and ``method="merge"`` with it is an error.
    ``pipeline=None`` (default): pipelined when "vector" runs with one row per group and no
    prefetch. Measured on an H200 (stop 30, 16M nonzeros, 8-24 a row): banded columns
    0.061 against 0.075 ms (cuSPARSE 0.054), uniform columns 0.132 against 0.129 ms
    (cuSPARSE 0.132); with R = 2 it was slower than R = 2 alone.

    ``plan``: a :class:`SpmvPlan` from :func:`spmv_plan` for this ``indptr``, which fixes
    ``method``, ``threads_per_row`` and ``stream_nnz`` (leave them None) and holds what the
    row pointers alone decide, so that a matrix multiplied many times pays for it once.
    Without one, each call makes its own (a device sync for ``method=None``, a partition
    for "stream", the merge-path search for "merge").

    Must equal ``reference.spmv_csr_vector`` / ``reference.spmv_csr_merge`` /
    ``reference.spmv_csr_stream``.

    Checks dtypes, shapes and layouts as the reference does (``_validate.validate_csr``), but
    not the CSR structure (``indptr`` from 0, non-decreasing, to nnz; column indices within
    ``x``): that would read the arrays, a device synchronisation per call. The reference
    checks it; here such a matrix gives undefined results (reads outside ``x``).
    """
    n_rows, nnz, n_cols = validate_csr("spmv_csr", indptr, indices, data, x, out=out)
    if plan is None:
        _check_plan_options("spmv_csr", method, threads_per_row, stream_nnz)
    elif not isinstance(plan, SpmvPlan):
        raise TypeError(f"spmv_csr: plan must be a SpmvPlan from spmv_plan, got "
                        f"{type(plan).__name__}")
    elif (method, threads_per_row, stream_nnz) != (None, None, None):
        raise ValueError("spmv_csr: plan= already fixes method, threads_per_row and "
                         "stream_nnz; pass them to spmv_plan instead")
    else:
        plan.check("spmv_csr", indptr, nnz, data.dtype)
        method = plan.method
    if rows_per_group not in reference.SPMV_ROWS_PER_GROUP:
        raise ValueError(f"spmv_csr: rows_per_group must be 1, 2 or 4, got {rows_per_group!r}")
    if pipeline is not None and not isinstance(pipeline, (bool, np.bool_)):
        raise ValueError(f"spmv_csr: pipeline must be True, False or None, got {pipeline!r}")
    if pipeline and method in ("merge", "stream"):
        raise ValueError("spmv_csr: pipeline=True is a schedule of the vector kernel; "
                         f"method={method!r} has no pipelined form (use method='vector' or "
                         "None)")
    _require_device(indptr=indptr, indices=indices, data=data, x=x, out=out)
    cp = _backend.cupy()
    if out is None:
        out = cp.empty(n_rows, dtype=data.dtype)
    if n_rows == 0:
        return out
    if vendor_enabled():
        import cupyx.scipy.sparse as sparse

        A = sparse.csr_matrix((data, indices, indptr), shape=(n_rows, n_cols))
        out[...] = A @ x
        return out
    if plan is None:
        plan = _spmv_plan(indptr, nnz, data.dtype, "vector" if pipeline and method is None
                          else method, threads_per_row, stream_nnz)
    tn = _TN[dtype_name(data.dtype)]
    G = plan.threads_per_row
    if plan.method == "stream":
        per_block = plan.stream_nnz
        defines = None if per_block == reference.STREAM_NNZ else {"STREAM_NNZ": per_block}
        kernel = get_kernel("spmv_csr_stream.cu", f"spmv_csr_stream_{tn}_g{G}", defines)
        row_block, nnz_block = plan.partition
        kernel((len(row_block) - 1,), (reference.STREAM_THREADS,),
               (indptr, indices, data, x, out, row_block, nnz_block))
        return out
    if plan.method == "vector":
        if pipeline is None:
            pipeline = rows_per_group == 1 and not prefetch
        vec = _aligned(data) and _aligned(indices)
        defines = {}
        if rows_per_group != 1:
            defines["SPMV_ROWS"] = rows_per_group
        if prefetch:
            defines["SPMV_PREFETCH"] = 1
        if pipeline:
            defines["SPMV_PIPE"] = 1
        name = f"spmv_csr_vector_{tn}_g{G}" + ("_vec" if vec else "")
        kernel = get_kernel("spmv_csr.cu", name, defines or None)
        if pipeline and vec:  # persistent; the scalar kernels keep the one-step schedule
            grid = (reference.spmv_persistent_grid(n_rows, G, rows_per_group,
                                                   *_resident_blocks(kernel, name, defines)),)
        else:
            grid = (reference.spmv_vector_grid(n_rows, G, rows_per_group),)
        kernel(grid, (reference.SPMV_BLOCK,), (_i32(n_rows), indptr, indices, data, x, out))
        return out
    n_tiles = len(plan.tile_row) - 1
    carry_row = cp.empty(n_tiles, dtype=cp.int32)
    carry_val = cp.empty(n_tiles, dtype=data.dtype)
    main = get_kernel("spmv_csr_merge.cu", f"spmv_csr_merge_{tn}")
    main((n_tiles,), (reference.MERGE_THREADS,),
         (_i32(n_rows), _i32(nnz), indptr, indices, data, x, out, plan.tile_row, carry_row,
          carry_val))
    fixup = get_kernel("spmv_csr_merge.cu", f"spmv_csr_merge_fixup_{tn}")
    fixup((-(-n_tiles // 256),), (256,), (_i32(n_tiles), _i32(n_rows), carry_row, carry_val, out))
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class SpmvPlan:
    r"""What :func:`spmv_csr` works out from a CSR matrix's row pointers alone, made once by
    :func:`spmv_plan` and passed back as ``plan=`` (cuSPARSE's SpMV preprocessing, in the
    same spirit): the kernel (``method``), its lanes a row (``threads_per_row``, G; None for
    "merge"), "stream"'s nonzeros a block (``stream_nnz``) and partition (``partition``, the
    arrays ``reference.spmv_stream_partition`` makes: a search over indptr, a gather and a
    few small launches), and "merge"'s tile starts (``tile_row``, from the merge-path search
    kernel). A product with a plan launches only its own kernels and reads nothing back.

    A plan belongs to one ``indptr`` array and one value dtype (G depends on it): each use
    checks the array's address, its row count, nnz and the dtype. The plan holds the array,
    so its memory cannot be freed and handed to another matrix while the plan lives. Like
    cuSPARSE's, a plan is not told when that array's contents change: make a new one then."""

    method: str
    threads_per_row: int | None
    stream_nnz: int | None
    dtype: str
    nnz: int
    indptr: object
    partition: tuple | None = None
    tile_row: object = None

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    def check(self, fname, indptr, nnz, dtype):
        """``ValueError`` unless this plan was made for ``indptr`` (the same array), ``nnz``
        nonzeros and values of ``dtype``."""
        got = (dtype_name(dtype), len(indptr) - 1, nnz, _address(indptr))
        want = (self.dtype, self.n_rows, self.nnz, _address(self.indptr))
        if got != want:
            raise ValueError(
                f"{fname}: plan was made for another matrix: {self.dtype} values, "
                f"{self.n_rows} rows, {self.nnz} nonzeros, indptr at {want[3]:#x}; "
                f"this call has {got[0]} values, {got[1]} rows, {got[2]} nonzeros, indptr at "
                f"{got[3]:#x}")


def spmv_plan(indptr, indices, dtype, *, method=None, threads_per_row=None, stream_nnz=None):
    r"""A :class:`SpmvPlan` for :func:`spmv_csr` on the CSR matrix of ``indptr`` and
    ``indices`` (int32 CuPy arrays) with values of ``dtype`` (float32 or float64); the
    options mean what they mean to :func:`spmv_csr`, and ``method=None`` is decided here,
    once (it reads the row lengths back when the mean row is short: one device sync).
    ``minigrad.sparse`` keeps one per CSR pattern and dtype. Example::

        plan = kernels.spmv_plan(indptr, indices, data.dtype)
        for x in xs:
            y = kernels.spmv_csr(indptr, indices, data, x, plan=plan)
    """
    _, nnz = validate_csr_pattern("spmv_plan", indptr, indices)
    if dtype_name(np.dtype(dtype)) not in _TN:
        raise TypeError(f"spmv_plan: dtype must be float32 or float64, got {np.dtype(dtype)}")
    _check_plan_options("spmv_plan", method, threads_per_row, stream_nnz)
    _require_device(indptr=indptr, indices=indices)
    return _spmv_plan(indptr, nnz, np.dtype(dtype), method, threads_per_row, stream_nnz)


def _check_plan_options(fname, method, threads_per_row, stream_nnz):
    validate_spmv_method(fname, method)
    validate_threads_per_row(fname, threads_per_row)
    if stream_nnz is not None and (stream_nnz not in reference.STREAM_NNZ_CHOICES
                                   or method != "stream"):
        raise ValueError(f"{fname}: stream_nnz is method='stream''s nonzeros a block, one of "
                         f"{reference.STREAM_NNZ_CHOICES}; got {stream_nnz!r} with method="
                         f"{method!r}")


def _spmv_plan(indptr, nnz, dtype, method, threads_per_row, stream_nnz) -> SpmvPlan:
    """spmv_plan on checked arguments (a CuPy ``indptr``)."""
    cp = _backend.cupy()
    n_rows = len(indptr) - 1
    if method is None:
        method = reference.spmv_method_for(nnz, n_rows, lambda: int(cp.diff(indptr).max()))
    G = None
    if method != "merge":
        G = threads_per_row or reference.threads_per_row_for(nnz, n_rows, dtype)
    partition = tile_row = None
    if method == "stream":
        stream_nnz = stream_nnz or reference.STREAM_NNZ
        partition = reference.spmv_stream_partition(indptr, nnz, cp, stream_nnz)
    elif method == "merge" and n_rows:
        tile = reference.MERGE_THREADS * reference.MERGE_ITEMS
        n_tiles = -(-(n_rows + nnz) // tile)
        tile_row = cp.empty(n_tiles + 1, dtype=cp.int32)
        search = get_kernel("spmv_csr_merge.cu", "spmv_csr_merge_search")
        search((-(-(n_tiles + 1) // 256),), (256,),
               (_i32(n_tiles), _i32(n_rows), _i32(nnz), indptr, tile_row))
    return SpmvPlan(method, G, stream_nnz, dtype_name(dtype), nnz, indptr, partition, tile_row)


_resident: dict = {}


def _resident_blocks(kernel, name, defines) -> tuple[int, int]:
    """(SM count, blocks of SPMV_BLOCK threads of ``kernel`` that one SM holds at once) on the
    current device: the arguments of ``reference.spmv_persistent_grid``. The second is CUDA's
    occupancy calculator (registers and shared memory of the compiled kernel). Looked up once
    per kernel, macros and device (``Device.attributes`` reads every attribute)."""
    cp = _backend.cupy()
    key = (cp.cuda.runtime.getDevice(), name, tuple(sorted(defines.items())))
    got = _resident.get(key)
    if got is None:
        sms = int(cp.cuda.Device().attributes["MultiProcessorCount"])
        per_sm = cp.cuda.driver.occupancyMaxActiveBlocksPerMultiprocessor(
            kernel.kernel.ptr, reference.SPMV_BLOCK, 0)
        got = _resident[key] = (sms, max(int(per_sm), 1))
    return got


def spmm_csr(indptr, indices, data, B, out=None):
    r"""C = A B for a CSR matrix A and a dense row-major B (spmm_csr.cu, one warp per row and
    128-column strip). Must equal ``reference.spmm_csr``, which checks the same arguments
    and also the CSR structure (not checked here: a device synchronisation, see spmv_csr)."""
    n_rows, nnz, n_inner = validate_csr("spmm_csr", indptr, indices, data, B, x_name="B",
                                        x_ndim=2, out=out)
    N = B.shape[1]
    _require_device(indptr=indptr, indices=indices, data=data, B=B, out=out)
    cp = _backend.cupy()
    if out is None:
        out = cp.empty((n_rows, N), dtype=data.dtype)
    if n_rows == 0 or N == 0:
        return out
    if vendor_enabled():
        import cupyx.scipy.sparse as sparse

        A = sparse.csr_matrix((data, indices, indptr), shape=(n_rows, n_inner))
        out[...] = A @ B
        return out
    tn = _TN[dtype_name(data.dtype)]
    vec = N % 4 == 0 and _aligned(B)
    kernel = get_kernel("spmm_csr.cu", f"spmm_csr_{tn}" + ("_vec" if vec else ""))
    grid = (-(-n_rows // 8), -(-N // 128))
    kernel(grid, (256,), (_i32(n_rows), _i32(N), indptr, indices, data, B, out))
    return out


# ---------------------------------------------------------------------------- im2col

_CONV_DTYPES = ("float16", "bfloat16", "float32", "float64")
_CONV_BLOCK = 256


def _conv_grid(total: int, itemsize: int) -> tuple:
    """Blocks of 256 threads for ``total`` elements of ``itemsize`` bytes, one thread per
    group of 16 bytes' worth of them (im2col.cu's V; grid-stride beyond 2^20 blocks)."""
    groups = -(-total // (16 // itemsize))
    return (max(1, min(-(-groups // _CONV_BLOCK), 1 << 20)),)


def _geometry_and_args(*args):
    g = reference.conv_geometry(*args)
    return g, tuple(np.int32(v) for v in g)


_geometry_and_args_cached = functools.lru_cache(maxsize=1024)(_geometry_and_args)


def _conv_geometry(x_shape, kernel, stride, padding, dilation, out_size):
    """(geometry, its 14 ints as the kernel's int32 arguments): ``reference.conv_geometry``,
    checked and converted once per geometry (a training step meets the same few each time,
    and its time is host time); unhashable arguments (lists) are not memoized."""
    args = (tuple(x_shape), kernel, stride, padding, dilation, out_size)
    try:
        return _geometry_and_args_cached(*args)
    except TypeError:
        return _geometry_and_args(*args)


def _conv_launch(name, src, geometry_args, shape, out):
    """Kernel ``name`` of im2col.cu over the elements of ``out`` (made of ``shape`` and
    src's dtype when None), one thread per group of V: (src, out, the 14 int32s of the
    geometry, ``geometry_args``)."""
    if out is None:
        out = _backend.cupy().empty(shape, dtype=src.dtype)
    if out.size:
        get_kernel("im2col.cu", name)(_conv_grid(out.size, out.dtype.itemsize),
                                      (_CONV_BLOCK,), (src, out, *geometry_args))
    return out


def im2col(x, kernel, stride, padding, dilation, out_size, out=None):
    r"""cols (C·kh·kw, N, Ho·Wo) of x (N, C, H, W), one launch (im2col.cu): the columns of a
    2-D convolution read straight from the unpadded image (zero in the padding: top ``pt``,
    left ``pl`` of ``padding = (pt, pl)``; the far sides follow from ``out_size``).
    Must equal ``reference.im2col``."""
    check_array("im2col", "x", x, 4, _CONV_DTYPES)
    g, g_args = _conv_geometry(x.shape, kernel, stride, padding, dilation, out_size)
    N, C, H, W, kh, kw, sh, sw, pt, pl, dh, dw, Ho, Wo = g
    shape = (C * kh * kw, N, Ho * Wo)
    check_out("im2col", out, shape, (dtype_name(x.dtype),))
    _require_device(x=x, out=out)
    tag = _TN.get(dtype_name(x.dtype), "b16")  # 16-bit types: bits are copied
    return _conv_launch(f"im2col_{tag}", x, g_args, shape, out)


def col2im(gcols, x_shape, kernel, stride, padding, dilation, out_size, out=None):
    r"""gx (N, C, H, W) from gcols (N, C·kh·kw, Ho·Wo), the adjoint of :func:`im2col`, one
    launch (im2col.cu): a gather, each element of gx summing its kernel offsets
    in order (float32 sums for half types), no atomics. Must equal ``reference.col2im``."""
    check_array("col2im", "gcols", gcols, 3, _CONV_DTYPES)
    g, g_args = _conv_geometry(x_shape, kernel, stride, padding, dilation, out_size)
    N, C, H, W, kh, kw, sh, sw, pt, pl, dh, dw, Ho, Wo = g
    if gcols.shape != (N, C * kh * kw, Ho * Wo):
        raise ValueError(f"gcols must have shape {(N, C * kh * kw, Ho * Wo)}, got "
                         f"{tuple(gcols.shape)}")
    name = dtype_name(gcols.dtype)
    check_out("col2im", out, (N, C, H, W), (name,))
    _require_device(gcols=gcols, out=out)
    return _conv_launch(f"col2im_{_TAG[name]}", gcols, g_args, (N, C, H, W), out)


# ------------------------------------------------------------------------ batch norm

_BN_DTYPES = ("float16", "float32", "float64")
_bn_workspaces: dict = {}


def _bn_workspace(cp, acc, C, S):
    """The partial sums (two (C, S) arrays) and the per-channel tickets (zero between
    launches: the kernel resets them) for one shape, made once per device."""
    key = (cp.cuda.runtime.getDevice(), acc, C, S)
    ws = _bn_workspaces.get(key)
    if ws is None:
        ws = _bn_workspaces[key] = (cp.empty((C, S), acc), cp.empty((C, S), acc),
                                    cp.zeros(C, np.uint32))
    return ws


def bn_channel_sums(mode, x, xhat=None, mean=None, eps=0.0):
    r"""Batch norm's per-channel sums of x (N, C, L), one launch (batchnorm.cu): mode 0
    gives (mean,), mode 1 (var, inv) around ``mean``, mode 2 (Σ x, Σ x·xhat), mode 3
    (mean, var, inv) — see ``reference.bn_channel_sums``, which it must equal bit for bit.
    Arrays of the accumulation dtype (float64 for float64 x, float32 otherwise), shape
    (C,)."""
    if mode not in (0, 1, 2, 3):
        raise ValueError(f"bn_channel_sums: mode must be 0, 1, 2 or 3, got {mode!r}")
    check_array("bn_channel_sums", "x", x, 3, _BN_DTYPES)
    N, C, L = x.shape
    acc = reference.acc_dtype(x.dtype)
    if mode == 1:
        check_array("bn_channel_sums", "mean", mean, 1, (dtype_name(acc),), (C,))
    if mode == 2:
        check_array("bn_channel_sums", "xhat", xhat, 3, (dtype_name(acc),), x.shape)
    if N * L == 0:
        raise ValueError(f"bn_channel_sums: no values per channel in x of shape {x.shape}")
    _require_device(x=x, xhat=xhat, mean=mean)
    cp = _backend.cupy()
    S = reference.bn_blocks(N, L)
    part0, part1, tickets = _bn_workspace(cp, acc, C, S)
    out0 = cp.empty(C, acc)
    out1 = cp.empty(C, acc) if mode else out0
    out2 = cp.empty(C, acc) if mode == 3 else out0
    kernel = get_kernel("batchnorm.cu", f"bn_sums{mode}_{_TAG[dtype_name(x.dtype)]}")
    kernel((C, S), (reference.BN_THREADS,),
           (x, part0 if xhat is None else xhat, out0 if mean is None else mean, _i32(N),
            _i32(C), _i32(L), _i32(S), acc.type(eps), part0, part1, tickets, out0, out1, out2))
    return (out0,) if mode == 0 else (out0, out1, out2) if mode == 3 else (out0, out1)


# ------------------------------------------------------------------------- tensor-core GEMMs

def _tiling_smem(tiling: dict, sparse: bool) -> int:
    t = dict(reference.TILING, **tiling)
    a = t["BM"] * t["BK"] * 2 // (2 if sparse else 1)
    b = t["BK"] * t["BN"] * 2
    e = t["BM"] // 16 * (t["BK"] // 32) * 16 * 4 if sparse else 0
    return t["STAGES"] * (a + b + e)


def _pad_to(cp, a, rows, cols):
    """Zero-padded contiguous copy of 2-D ``a`` with the given shape (or ``a`` when equal)."""
    if tuple(a.shape) == (rows, cols) and _aligned(a):
        return a
    p = cp.zeros((rows, cols), dtype=a.dtype)
    p[: a.shape[0], : a.shape[1]] = a
    return p


def _tensor_core_product(cp, in_dtype, dt, M, N, out, vendor, launch):
    """The frame every tensor-core GEMM launcher shares. Allocates ``out`` (M x N, ``dt``)
    when not given; returns at once for an empty product; with ``use_vendor()`` calls
    ``vendor(out)``. Otherwise the kernel writes rows of Np = N rounded up to 8 (16-byte
    rows for cp.async): straight into ``out`` when N = Np and ``out`` is 16-byte aligned,
    else into a padded buffer copied back. ``launch(C_, Np, name)`` runs the kernel; ``name``
    is its dtype suffix ("f16_f32", "bf16_bf16", ...)."""
    if out is None:
        out = cp.empty((M, N), dtype=dt)
    if M == 0 or N == 0:
        return out
    if vendor_enabled():
        vendor(out)
        return out
    Np = -(-N // 8) * 8
    direct = Np == N and _aligned(out)
    C_ = out if direct else cp.empty((M, Np), dtype=dt)
    launch(C_, Np, f"{_TAG[dtype_name(in_dtype)]}_{_TAG[dt]}")
    if not direct:
        out[...] = C_[:, :N]
    return out


def _padded_gemm(A, B, out, out_dtype, launch, fname="hgemm"):
    """hgemm's and hgemm_wgmma's launch frame: validation (as ``reference.hgemm``; errors
    named ``fname``), then K and N zero-padded to multiples of 8. ``launch(A_, B_, C_, M,
    Np, Kp, name)`` runs the kernel."""
    dt = validate_hgemm(fname, A, B, out, out_dtype)
    _require_device(A=A, B=B, out=out)
    cp = _backend.cupy()
    M, K = A.shape
    N = B.shape[1]

    def vendor(out):
        if dt == "float32":
            cp.matmul(A.astype(cp.float32), B.astype(cp.float32), out=out)
        else:
            cp.matmul(A, B, out=out)

    def padded_launch(C_, Np, name):
        Kp = -(-K // 8) * 8
        launch(_pad_to(cp, A, M, Kp), _pad_to(cp, B, Kp, Np), C_, M, Np, Kp, name)

    return _tensor_core_product(cp, A.dtype, dt, M, N, out, vendor, padded_launch)


def _launch_mma_sync(filename, name, tiling, sparse, M, Np, args):
    """Launch kernel ``name`` of hgemm.cu / mm24.cu (the shared mma.sync tiling, with the
    tile macros ``tiling`` over ``reference.TILING``) over an M x Np output."""
    t = dict(reference.TILING, **tiling)
    smem = _tiling_smem(tiling, sparse=sparse)
    kernel = get_kernel(filename, name, tiling, smem)
    grid = (-(-M // t["BM"]) * -(-Np // t["BN"]),)
    kernel(grid, (32 * t["WARPS_M"] * t["WARPS_N"],), args, shared_mem=smem)


def hgemm(A, B, out=None, out_dtype=None, *, tiling=None):
    r"""C = A B on tensor cores (hgemm.cu): float16 (or bfloat16) A, B, fp32 accumulation,
    output float32 (default) or the input type. Any M, N, K; K or N not a multiple of 8 cost
    a zero-padded copy. ``tiling``: -D tile macros (BM, BN, BK, WARPS_M, WARPS_N, STAGES,
    GROUP_M, FRAG_BUFS) over ``reference.TILING``; by default ``reference.hgemm_tiling(M,
    N)`` (128 x 256 tiles for large outputs). Must equal ``reference.hgemm``."""
    def launch(A_, B_, C_, M, Np, Kp, name):
        t = reference.hgemm_tiling(M, Np) if tiling is None else dict(tiling)
        _launch_mma_sync("hgemm.cu", f"hgemm_{name}", t, False, M, Np,
                         (_i32(M), _i32(Np), _i32(Kp), A_, B_, C_))

    return _padded_gemm(A, B, out, out_dtype, launch)


def hgemm_wmma(A, B, out=None, out_dtype=None):
    r"""The readable WMMA GEMM (hgemm_wmma.cu): float16 in, float32 (default) or float16 out.
    Must equal ``reference.hgemm``."""
    dt = validate_hgemm("hgemm_wmma", A, B, out, out_dtype)
    if dtype_name(A.dtype) != "float16":
        raise TypeError(f"hgemm_wmma takes float16 only, got {A.dtype}")
    _require_device(A=A, B=B, out=out)
    cp = _backend.cupy()
    M, K = A.shape
    N = B.shape[1]
    if out is None:
        out = cp.empty((M, N), dtype=dt)
    if M == 0 or N == 0:
        return out
    kernel = get_kernel("hgemm_wmma.cu", f"hgemm_wmma_f16_{'f32' if dt == 'float32' else 'f16'}",
                        cuda_headers=True)
    kernel((-(-N // 64), -(-M // 64)), (128,), (_i32(M), _i32(N), _i32(K), A, B, out))
    return out


def compress_24(W):
    r"""Pack a 2:4 sparse float16/bfloat16 matrix W (M x K) into ``(values, metadata)`` in the
    layout ``mm_24`` reads; the same xp code as ``reference.compress_24``, run on the GPU."""
    validate_compress_24("compress_24", W)
    _require_device(W=W)
    return reference.compress_24(W)


def _padded_mm24(values, metadata, B, out, launch, fname="mm_24", K=None):
    """mm_24's and mm_24_wgmma's launch frame: validation (as ``reference.mm_24`` but for its
    content checks; errors named ``fname``), the vendor path (cuBLAS on the decompressed
    matrix), N zero-padded to a multiple of 8. ``launch(B_, C_, M, Np, K, Kp, name)`` runs
    the kernel (Kp = 2 x the compressed width)."""
    dt = validate_mm24(fname, values, metadata, B, out, K)
    _require_device(values=values, metadata=metadata, B=B, out=out)
    cp = _backend.cupy()
    M, KC = values.shape
    K, N = B.shape

    def vendor(out):  # dense cuBLAS on the decompressed matrix
        W = reference.decompress_24(values, metadata)[:, :K]
        if dt == "float32":
            cp.matmul(W, B.astype(cp.float32), out=out)
        else:
            cp.matmul(W.astype(values.dtype), B, out=out)

    def padded_launch(C_, Np, name):
        launch(_pad_to(cp, B, K, Np), C_, M, Np, K, 2 * KC, name)

    return _tensor_core_product(cp, values.dtype, dt, M, N, out, vendor, padded_launch)


def mm_24(values, metadata, B, out=None, *, K=None, tiling=None):
    r"""C = W B with W given as ``compress_24(W)`` (mm24.cu: mma.sp m16n8k32 with ordered
    metadata, fp32 accumulation, the same tiling as ``hgemm``). Output float32 unless ``out``
    is given in the input type. Must equal ``reference.mm_24``.

    The packed format holds W's width K only rounded up to 32, so B's rows are checked
    against it only up to that padding (``_validate.validate_mm24``); ``K`` (W's width)
    makes it exact. The reference also reads the contents (legal metadata, W zero where
    B has no rows); here that would be a device synchronisation, so it is not done: the
    kernel multiplies B's rows, zero-filled past B.shape[0]."""
    tiling = dict(tiling or {})

    def launch(B_, C_, M, Np, K, Kp, name):
        _launch_mma_sync("mm24.cu", f"mm24_{name}", tiling, True, M, Np,
                         (_i32(M), _i32(Np), _i32(K), _i32(Kp), values, metadata, B_, C_))

    return _padded_mm24(values, metadata, B, out, launch, K=K)


# ---------------------------------------------------------------------- microbenchmark


def mma_peak(sparse: bool = False, iters: int = 4096, blocks_per_sm: int = 4):
    """Launch mma_peak.cu once; returns (flop, launch config) for the caller to time.
    Dense: 4096 flop per mma.sync m16n8k16; sparse: 8192 (dense-equivalent) per mma.sp."""
    cp = _backend.cupy()
    sms = cp.cuda.Device().attributes["MultiProcessorCount"]
    blocks, threads, chains = blocks_per_sm * sms, 256, 8
    out = cp.empty(blocks * threads, dtype=cp.float32)
    kernel = get_kernel("mma_peak.cu", "mma_sp_peak_f16" if sparse else "mma_peak_f16")

    def launch():
        kernel((blocks,), (threads,), (out, _i32(iters)))

    flop = blocks * threads // 32 * iters * chains * (8192 if sparse else 4096)
    return launch, flop


def spmv_floor(indices, data, x):
    """Launch spmv_floor.cu: a matrix's values and column indices streamed and its x gathers
    made, without rows (the memory floor of any CSR SpMV of that matrix, for
    ``benchmarks/gpu_kernels.py``). float32 ``data``, int32 ``indices`` of the same length,
    both 16-byte aligned; returns the per-block sums ``out`` (sum(out) = sum_k data[k] *
    x[indices[k]]). Must equal ``reference.spmv_floor``."""
    check_array("spmv_floor", "indices", indices, 1, ("int32",))
    check_array("spmv_floor", "data", data, 1, ("float32",), indices.shape)
    check_array("spmv_floor", "x", x, 1, ("float32",))
    _require_device(indices=indices, data=data, x=x)
    if not (_aligned(indices) and _aligned(data)):
        raise ValueError("spmv_floor: data and indices must be 16-byte aligned (whole arrays, "
                         "not offset views)")
    cp = _backend.cupy()
    grid = reference.spmv_floor_grid(data.size)
    out = cp.empty(grid, dtype=cp.float32)
    get_kernel("spmv_floor.cu", "spmv_floor_f32")((grid,), (256,),
                                                  (_i32(data.size), indices, data, x, out))
    return out


# ------------------------------------------------------- Hopper wgmma GEMM (sm_90a only)
# cupy.RawModule picks the NVRTC architecture itself (compute_90 / sm_90, without the "a"
# that wgmma needs), so hgemm_wgmma.cu is compiled here by calling NVRTC through CuPy's own
# bindings (cupy_backends.cuda.libs.nvrtc: createProgram / compileProgram / getCUBIN) with
# --gpu-architecture=sm_90a, and the cubin is loaded with cupy.RawModule(path=...).


def wgmma_compile_options(defines: dict | None = None) -> tuple:
    """NVRTC options for hgemm_wgmma.cu: ours plus sm_90a, the guard macro that turns a
    build for any other target into a compile error (instead of a kernel that traps), and
    -default-device: the main loop's generic lambdas (a compile-time phase argument) have no
    execution space of their own, which nvcc infers and NVRTC's JIT mode refuses."""
    return compile_options(defines) + ("--gpu-architecture=sm_90a", "-DWGMMA_REQUIRE_SM90A=1",
                                       "-default-device")


def _nvrtc_cubin(source: str, name: str, options: tuple) -> bytes:
    try:
        from cupy_backends.cuda.libs import nvrtc
    except ImportError as e:  # pragma: no cover - CuPy without its NVRTC bindings
        raise _backend.DeviceError(
            "hgemm_wgmma compiles with CuPy's NVRTC bindings (cupy_backends.cuda.libs.nvrtc), "
            "which this CuPy does not provide") from e
    prog = nvrtc.createProgram(source, name, (), ())
    try:
        try:
            nvrtc.compileProgram(prog, tuple(options))
        except nvrtc.NVRTCError as e:
            log = nvrtc.getProgramLog(prog)
            raise RuntimeError(f"NVRTC failed to compile {name} ({e}) with options "
                               f"{' '.join(options)}:\n{log}") from None
        return nvrtc.getCUBIN(prog)
    finally:
        nvrtc.destroyProgram(prog)


def complete_elf(image: bytes) -> bytes:
    """``image`` zero-padded to the end of its ELF tables. CuPy's ``nvrtc.getCUBIN`` returns
    the cubin minus its last byte (it copies NVRTC's buffer as if it were a NUL-terminated
    string; CuPy's own cuModuleLoadData call gets the byte back from CPython's hidden bytes
    terminator). Loaded from a file the image must be whole: the program header table ends
    at the last byte."""
    import struct

    if image[:4] != b"\x7fELF" or image[4] != 2:
        raise ValueError("not a 64-bit ELF image (cubin)")
    phoff, shoff = struct.unpack_from("<QQ", image, 0x20)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", image, 0x36)
    end = max(phoff + phentsize * phnum, shoff + shentsize * shnum)
    for i in range(shnum):  # section contents (SHT_NOBITS occupy no file bytes)
        base = shoff + i * shentsize
        if base + shentsize <= len(image):
            sh_type, = struct.unpack_from("<I", image, base + 4)
            sh_offset, sh_size = struct.unpack_from("<QQ", image, base + 0x18)
            if sh_type != 8:
                end = max(end, sh_offset + sh_size)
    return image + b"\0" * (end - len(image)) if end > len(image) else image


# Outputs of at least this many elements go to the Hopper wgmma GEMMs on an sm_90 device:
# measured on an H200 (benchmarks/results/gpu-2026-11-26*.md, *stop25*), hgemm_wgmma 0.80-0.82x
# cuBLAS at 4096^3-8192^3 against 0.48-0.58x for the mma.sync hgemm, and mm_24_wgmma 0.19 ms
# at 4096^3 against mm_24's 0.28; their 128 x 256 tiles waste work on small outputs, which
# stay on the mma.sync kernels.
WGMMA_MIN_OUTPUT = 1 << 20


def wgmma_worth_it(m: int, n: int) -> bool:
    """Whether an m x n product on the current device should take the Hopper wgmma kernels
    (``hgemm_wgmma``, ``mm_24_wgmma``) rather than their mma.sync twins (``hgemm``,
    ``mm_24``): an sm_90 device and at least ``WGMMA_MIN_OUTPUT`` outputs. The one rule for
    autocast's half products and for 2:4 sparse products (``Linear24``)."""
    return m * n >= WGMMA_MIN_OUTPUT and _is_sm90(_backend.cupy().cuda.runtime.getDevice())


@functools.cache
def _is_sm90(device_id: int) -> bool:
    return _backend.cupy().cuda.Device(device_id).compute_capability == "90"


def _require_sm90(what: str):
    cp = _backend.cupy()
    cc = cp.cuda.Device().compute_capability
    if cc != "90":
        raise _backend.DeviceError(
            f"{what} uses Hopper warpgroup MMA (wgmma, sm_90a) and needs a compute capability "
            f"9.0 GPU (H100/H200); this device is sm_{cc}. Use hgemm() instead.")
    return cp


@functools.cache
def _cubin_folder() -> Path:
    """A folder of this process's own (mkdtemp: private, unique; removed at exit) for the
    cubins that RawModule loads from a path: no other user can own or replace them."""
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="minigrad-cubin-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return Path(folder)


def _sm90a_module(cp, source: str, filename: str, options: tuple):
    """``source`` built by NVRTC for sm_90a and loaded as a module (a cubin in this process's
    own folder). The host run of the tests (tests/kernels/cuda_host.py) replaces this one
    function: it compiles the same source with the same options for the CPU."""
    import hashlib

    cubin = _nvrtc_cubin(source, filename, options)
    digest = hashlib.sha256((source + repr(options)).encode()).hexdigest()[:16]
    path = _cubin_folder() / f"{Path(filename).stem}-{digest}.cubin"
    path.write_bytes(complete_elf(cubin))
    return cp.RawModule(path=str(path))


def get_sm90a_kernel(filename: str, name: str, defines: dict | None = None,
                     dynamic_smem: int = 0):
    """Kernel ``name`` of ``filename`` compiled by NVRTC for sm_90a, once per (file, macros,
    device) and process; raises DeviceError on a device that is not sm_90."""
    cp = _require_sm90(filename)
    defines = dict(defines or {})
    key = ("sm_90a", filename, tuple(sorted(defines.items())), cp.cuda.Device().id)
    with _lock:
        module = _modules.get(key)
        if module is None:
            source = kernel_source(filename)
            module = _modules[key] = _sm90a_module(cp, source, filename,
                                                   wgmma_compile_options(defines))
        kernel = _kernels.get((key, name))
        if kernel is None:
            kernel = module.get_function(name)
            if dynamic_smem > 48 * 1024:
                kernel.max_dynamic_shared_size_bytes = dynamic_smem
            _kernels[(key, name)] = kernel
    return kernel


def hgemm_wgmma(A, B, out=None, out_dtype=None, *, tiling=None):
    r"""C = A B on Hopper warpgroup tensor cores (hgemm_wgmma.cu: wgmma.mma_async m64nBNk16,
    both operands from 128B-swizzled shared memory, cp.async pipeline): float16 (or bfloat16)
    A, B, fp32 accumulation, output float32 (default) or the input type. Any M, N, K; K or N
    not a multiple of 8 cost a zero-padded copy (as ``hgemm``). Needs an sm_90 GPU
    (DeviceError elsewhere). ``tiling`` overrides the -D macros: BM (128; 256 with BN 128),
    BN (256 or 128), STAGES (default 4), GROUP_M (8), PROXY_FENCE (1; 0 = without
    fence.proxy.async, for timing).
    Must equal ``reference.hgemm`` (model: ``wgmma_model.simulate_hgemm_wgmma``)."""
    from . import wgmma_model

    t = wgmma_model.tiling(tiling)  # validates the macros before anything runs

    def launch(A_, B_, C_, M, Np, Kp, name):
        smem = wgmma_model.smem_bytes(t["BN"], t["STAGES"], t["BM"])
        kernel = get_sm90a_kernel("hgemm_wgmma.cu", f"hgemm_wgmma_{name}", dict(tiling or {}),
                                  smem)
        grid = (-(-M // t["BM"]) * -(-Np // t["BN"]),)
        kernel(grid, (wgmma_model.threads(t["BM"]),), (_i32(M), _i32(Np), _i32(Kp), A_, B_, C_),
               shared_mem=smem)

    return _padded_gemm(A, B, out, out_dtype, launch, "hgemm_wgmma")


def wgmma_peak(iters: int = 4096, blocks_per_sm: int = 1, tiling=None):
    """Launch hgemm_wgmma.cu's ``wgmma_peak_f16`` (the main loop's wgmma sequence on one
    resident shared-memory stage, no loads): returns (launch, flop) for the caller to time.
    flop = blocks * BM/64 warpgroups * iters * 4 wgmma * 2 * 64 * BN * 16."""
    from . import wgmma_model

    t = wgmma_model.tiling(tiling)
    cp = _require_sm90("wgmma_peak")
    sms = cp.cuda.Device().attributes["MultiProcessorCount"]
    blocks = blocks_per_sm * sms
    smem = wgmma_model.smem_bytes(t["BN"], 1, t["BM"])
    threads = wgmma_model.threads(t["BM"])
    out = cp.empty(blocks * threads, dtype=cp.float32)
    kernel = get_sm90a_kernel("hgemm_wgmma.cu", "wgmma_peak_f16", dict(tiling or {}), smem)

    def launch():
        kernel((blocks,), (threads,), (out, _i32(iters)), shared_mem=smem)

    flop = blocks * (t["BM"] // 64) * iters * 4 * 2 * 64 * t["BN"] * 16
    return launch, flop


# ------------------------------------------- Hopper wgmma 2:4 sparse GEMM (sm_90a only)
# mm24_wgmma.cu is compiled like hgemm_wgmma.cu (get_sm90a_kernel: NVRTC for sm_90a).


def mm_24_wgmma(values, metadata, B, out=None, *, K=None, tiling=None):
    r"""C = W B with W given as ``compress_24(W)`` on Hopper sparse warpgroup tensor cores
    (mm24_wgmma.cu: wgmma.mma_async.sp m64nBNk32, compressed W and B from swizzled shared
    memory, metadata in registers, hgemm_wgmma's CTA tiling and pipeline). Same arguments,
    conventions, checks and result as ``mm_24`` (fp32 out unless ``out`` is in the input type;
    N padded to 8; ``K``, W's width, to check B's rows exactly). Needs an sm_90 GPU
    (DeviceError elsewhere). ``tiling``: BM (128; 256 with BN=128), BN (256/128), BK (64; 128
    with BN=128), STAGES (4), GROUP_M (8), PROXY_FENCE (1), META_REGS (2/1), and the
    diagnostics SP_SEL, META_WAIT0, A_SBO/B_LBO/B_SBO.
    Must equal ``reference.mm_24`` (model: ``wgmma_model.simulate_mm24_wgmma``)."""
    from . import wgmma_model

    t = wgmma_model.sp_tiling(tiling)  # validates the macros before anything runs

    def launch(B_, C_, M, Np, K, Kp, name):
        smem = wgmma_model.sp_smem_bytes(t["BN"], t["BK"], t["STAGES"], t["BM"])
        kernel = get_sm90a_kernel("mm24_wgmma.cu", f"mm24_wgmma_{name}", dict(tiling or {}), smem)
        grid = (-(-M // t["BM"]) * -(-Np // t["BN"]),)
        kernel(grid, (wgmma_model.threads(t["BM"]),),
               (_i32(M), _i32(Np), _i32(K), _i32(Kp), values, metadata, B_, C_), shared_mem=smem)

    return _padded_mm24(values, metadata, B, out, launch, "mm_24_wgmma", K)


def wgmma_sp_peak(iters: int = 4096, blocks_per_sm: int = 1, tiling=None):
    """Launch mm24_wgmma.cu's ``wgmma_sp_peak_f16`` (the main loop's wgmma.sp sequence on one
    resident stage, no loads): returns (launch, flop) for the caller to time. flop counts the
    dense-equivalent work: blocks * BM/64 warpgroups * iters * BK/32 * 2 * 64 * BN * 32."""
    from . import wgmma_model

    t = wgmma_model.sp_tiling(tiling)
    cp = _require_sm90("wgmma_sp_peak")
    sms = cp.cuda.Device().attributes["MultiProcessorCount"]
    blocks = blocks_per_sm * sms
    smem = (wgmma_model.sp_a_stage_bytes(t["BK"], t["BM"])
            + wgmma_model.sp_b_stage_bytes(t["BN"], t["BK"]) + 1024)
    threads = wgmma_model.threads(t["BM"])
    out = cp.empty(blocks * threads, dtype=cp.float32)
    kernel = get_sm90a_kernel("mm24_wgmma.cu", "wgmma_sp_peak_f16", dict(tiling or {}), smem)

    def launch():
        kernel((blocks,), (threads,), (out, _i32(iters)), shared_mem=smem)

    flop = blocks * (t["BM"] // 64) * iters * (t["BK"] // 32) * 2 * 64 * t["BN"] * 32
    return launch, flop
