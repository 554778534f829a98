r"""Host time per call of the operations a CUDA training step is made of, minigrad's
beside CuPy's and PyTorch's: what an eager step bound by host time (the small ResNet of
gpu_training.py on an H200) spends per launch.

    python benchmarks/host_overhead.py [--calls 2000] [--json PATH]

Each case runs ``calls`` times on tiny arrays (the GPU's work per call is a few µs, less
than the host's), with one device synchronization at the end; the time per call is the
host's cost of issuing it: Python, argument handling, the driver's launch. Cases:

  gemm      a 64×64 @ 64×64 float32 product: minigrad's direct cuBLAS call
            (``kernels.cublas_gemm.gemm``, ctypes), ``cupy.matmul``, ``torch.mm``;
  raw       a RawKernel launch with 16 arguments (im2col.cu's im2col_f32 on a 1×1×4×4
            image): minigrad's launcher ``kernels.im2col`` (checks, geometry, allocation)
            and the bare ``kernel(grid, block, args)`` with its arguments made once;
  ewise     CuPy ElementwiseKernels with 2 and with 12 arguments, and a ufunc
            (``cupy.add``);
  alloc     ``cupy.empty((128,))`` and a ``reshape`` view;
  tensor    ``a + b`` of two 128-element CUDA tensors: minigrad without and with
            ``requires_grad`` (the graph recorded), PyTorch the same.

A missing library (PyTorch) leaves its rows out. Numbers are µs per call.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import minigrad as mg  # noqa: E402
from minigrad import _backend  # noqa: E402

RESULTS: dict = {}


def per_call_us(fn, calls, sync):
    """µs per call of ``fn()`` over ``calls`` calls, after 50 warm-up calls, the device
    synchronized before and after (the least of three rounds: the code's cost without the
    machine's interruptions)."""
    for _ in range(50):
        fn()
    sync()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        sync()
        best = min(best, (time.perf_counter() - t0) / calls * 1e6)
    return best


def case(group, name, make, calls, sync):
    """Time ``make()``'s function; a failure is recorded, not raised."""
    try:
        fn = make()
        us = per_call_us(fn, calls, sync)
        RESULTS.setdefault(group, {})[name] = round(us, 2)
        print(f"{group:7s} {name:58s} {us:8.2f} µs", flush=True)
    except Exception as exc:  # noqa: BLE001 -- one failure must not lose the rest
        RESULTS.setdefault(group, {})[name] = f"{type(exc).__name__}: {exc}"
        print(f"{group:7s} {name:58s} failed: {type(exc).__name__}: {exc}", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    cp = _backend.cupy()
    from minigrad.kernels import _cuda, cublas_gemm

    from minigrad import kernels

    try:
        import torch

        torch = torch if torch.cuda.is_available() else None
    except Exception:  # noqa: BLE001
        torch = None

    def sync():
        cp.cuda.Device().synchronize()
        if torch is not None:
            torch.cuda.synchronize()

    n = args.calls
    rng = np.random.default_rng(0)
    a = cp.asarray(rng.standard_normal((64, 64)).astype(np.float32))
    b = cp.asarray(rng.standard_normal((64, 64)).astype(np.float32))
    case("gemm", "minigrad cublas_gemm.gemm (ctypes)", lambda: lambda: cublas_gemm.gemm(a, b),
         n, sync)
    case("gemm", "cupy.matmul", lambda: lambda: cp.matmul(a, b), n, sync)
    if torch is not None:
        ta, tb = torch.as_tensor(a, device="cuda"), torch.as_tensor(b, device="cuda")
        case("gemm", "torch.mm", lambda: lambda: torch.mm(ta, tb), n, sync)

    x = cp.asarray(rng.standard_normal((1, 1, 4, 4)).astype(np.float32))
    geometry = ((3, 3), (1, 1), (1, 1), (1, 1), (4, 4))
    case("raw", "minigrad kernels.im2col (checks, geometry, allocation, launch)",
         lambda: lambda: kernels.im2col(x, *geometry), n, sync)

    def bare():
        out = cp.empty((9, 1, 16), np.float32)
        g, g_args = _cuda._conv_geometry(x.shape, *geometry)
        kernel = _cuda.get_kernel("im2col.cu", "im2col_f32")
        grid = _cuda._conv_grid(out.size, 4)
        launch_args = (x, out, *g_args)
        return lambda: kernel(grid, (_cuda._CONV_BLOCK,), launch_args)

    case("raw", "bare RawKernel launch, 16 arguments made once", bare, n, sync)

    v = cp.ones(128, np.float32)

    def ewise2():
        k2 = cp.ElementwiseKernel("float32 x", "float32 y", "y = x * 2", "mg_host_k2")
        return lambda: k2(v)

    def ewise12():
        k12 = cp.ElementwiseKernel(
            "float32 x, float32 a1, float32 a2, float32 a3, float32 a4, float32 a5, "
            "float32 a6, float32 a7, float32 a8, float32 s, int64 c", "float32 y",
            "y = x * s + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + c", "mg_host_k12")
        scalars = (np.float32(0.5), np.int64(3))
        return lambda: k12(v, v, v, v, v, v, v, v, v, *scalars)

    case("ewise", "ElementwiseKernel, 2 arguments", ewise2, n, sync)
    case("ewise", "ElementwiseKernel, 12 arguments (9 arrays, 2 scalars, out)", ewise12, n,
         sync)
    case("ewise", "cupy.add (a ufunc)", lambda: lambda: cp.add(v, v), n, sync)

    case("alloc", "cupy.empty((128,))", lambda: lambda: cp.empty((128,), np.float32), n, sync)
    case("alloc", "a reshape view", lambda: lambda: v.reshape(8, 16), n, sync)

    ma, mb = mg.ones(128, device="cuda"), mg.ones(128, device="cuda")
    case("tensor", "minigrad a + b", lambda: lambda: ma + mb, n, sync)
    ga = mg.ones(128, device="cuda", requires_grad=True)
    case("tensor", "minigrad a + b, a requires grad (graph recorded)",
         lambda: lambda: ga + mb, n, sync)
    if torch is not None:
        t1, t2 = torch.ones(128, device="cuda"), torch.ones(128, device="cuda")
        case("tensor", "torch a + b", lambda: lambda: t1 + t2, n, sync)
        t3 = torch.ones(128, device="cuda", requires_grad=True)
        case("tensor", "torch a + b, a requires grad (graph recorded)",
             lambda: lambda: t3 + t2, n, sync)
    if args.json:
        args.json.write_text(json.dumps(RESULTS, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
