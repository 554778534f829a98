"""CSR SpMV and SpMM on the CPU: minigrad's Numba kernels vs scipy.sparse, one process.

For each matrix (10^4 .. 10^7 nonzeros, ~10 per row; uniform row lengths and power-law
row lengths) it times

* SpMV  y = A x       ``minigrad.kernels.sparse_cpu.spmv_csr``  vs  SciPy ``A @ x``
* SpMM  C = A B       ``minigrad.kernels.sparse_cpu.spmm_csr``  vs  SciPy ``A @ B``  (B: n x N)
* and the same SpMV through the Tensor API (``S @ x``, with autograd bookkeeping)

and prints the median time, the ratio SciPy time / minigrad time (> 1: minigrad faster)
and the achieved bandwidth: bytes of values + column indices + row pointers + x + y (for
SpMM: + B + C) divided by the time. Both sides get the same int32-indexed arrays and
allocate their output, as a user's call would. Calls are interleaved (minigrad, SciPy,
minigrad, ...) so that a noisy neighbour hits both alike. SciPy runs on one thread
(its sparse products are serial); minigrad on ``--threads`` (default 2).

Target (issue 5): at least 1.5x SciPy on 2 cores for >= 10^6 nonzeros.

    python benchmarks/spmv_cpu.py [--threads 2] [--dtype float64] [--max-nnz 1e7]
                                  [--N 16] [--repeats 30] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np


def make_csr(n_rows, n_cols, nnz, kind, dtype, rng):
    """int32 CSR with uniformly random columns, sorted within each row (a repeated column
    is left as it is: both sides add it twice); ``kind`` "uniform" (Poisson row lengths)
    or "power-law" (Pareto, exponent 1.5: a few rows hold much of the matrix)."""
    if kind == "uniform":
        lengths = rng.poisson(nnz / n_rows, n_rows)
    else:
        raw = rng.pareto(1.5, n_rows) + 1.0
        lengths = np.floor(raw * nnz / raw.sum()).astype(np.int64)
    lengths = np.minimum(lengths, n_cols)
    indptr = np.zeros(n_rows + 1, np.int64)
    np.cumsum(lengths, out=indptr[1:])
    total = int(indptr[-1])
    cols = rng.integers(0, n_cols, total, dtype=np.int64)
    row = np.repeat(np.arange(n_rows), lengths)
    order = np.lexsort((cols, row))
    cols = cols[order]
    data = (rng.uniform(0.5, 1.0, total) * rng.choice([-1.0, 1.0], total)).astype(dtype)
    return indptr.astype(np.int32), cols.astype(np.int32), data


def timeit_pair(f, g, repeats, warmup=3):
    for _ in range(warmup):
        f()
        g()
    tf, tg = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        t1 = time.perf_counter()
        g()
        t2 = time.perf_counter()
        tf.append(t1 - t0)
        tg.append(t2 - t1)
    return statistics.median(tf), statistics.median(tg)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    p.add_argument("--min-nnz", type=float, default=1e4)
    p.add_argument("--max-nnz", type=float, default=1e7)
    p.add_argument("--per-row", type=int, default=10, help="mean nonzeros per row")
    p.add_argument("--N", type=int, default=16, help="columns of B for SpMM")
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args(argv)

    import numba
    import scipy

    numba.set_num_threads(args.threads)
    dtype = np.dtype(args.dtype)
    rng = np.random.default_rng(args.seed)
    print(f"minigrad sparse CPU kernels vs SciPy {scipy.__version__} "
          f"(Numba {numba.__version__}, NumPy {np.__version__}), {args.dtype}, "
          f"Numba threads {numba.get_num_threads()}, CPU: {platform.processor() or '?'} "
          f"({os.cpu_count()} cpus), load avg {os.getloadavg()[0]:.2f}")
    header = (f"{'op':5s} {'kind':9s} {'nnz':>9s} {'rows':>8s} | {'minigrad ms':>11s} "
              f"{'scipy ms':>9s} {'ratio':>6s} | {'mg GB/s':>7s} {'sp GB/s':>7s}")
    print(header)
    print("-" * len(header))
    results = []
    sizes = [10**k for k in range(int(np.log10(args.min_nnz)), int(np.log10(args.max_nnz)) + 1)]
    for nnz in sizes:
        for kind in ("uniform", "power-law"):
            n = max(nnz // args.per_row, 1)
            reps = args.repeats if nnz < 10**7 else max(args.repeats // 3, 5)
            results += bench_matrix(make_csr(n, n, nnz, kind, dtype, rng), n, kind, args.N,
                                    reps, rng)
    big = [r for r in results if r["nnz"] >= 0.9e6 and r["op"] != "S@x"]
    if big:
        worst = min(r["ratio"] for r in big)
        print(f"\nkernels at >= 1e6 nonzeros: ratio SciPy/minigrad from {worst:.2f} to "
              f"{max(r['ratio'] for r in big):.2f} (target >= 1.5 on 2 cores)")
    if args.json:
        meta = dict(threads=numba.get_num_threads(), dtype=args.dtype, scipy=scipy.__version__,
                    numba=numba.__version__, numpy=np.__version__, cpu=platform.processor(),
                    cpus=os.cpu_count(), load_avg=os.getloadavg()[0], N=args.N)
        with open(args.json, "w") as f:
            json.dump(dict(meta=meta, results=results), f, indent=1)


def bench_matrix(csr, n, kind, N, reps, rng):
    """Time SpMV, Tensor-level S @ x and SpMM on one n x n matrix; one result row each."""
    import scipy.sparse as sparse
    from minigrad.kernels import sparse_cpu

    import minigrad as mg
    from minigrad import sparse as msp

    indptr, indices, data = csr
    dtype = data.dtype
    A = sparse.csr_matrix((data, indices, indptr), shape=(n, n))
    x = rng.standard_normal(n).astype(dtype)
    B = rng.standard_normal((n, N)).astype(dtype)
    vb, ib = dtype.itemsize, indices.itemsize
    nnz = int(indptr[-1])
    matrix_bytes = nnz * (vb + ib) + (n + 1) * ib
    rows = []

    t_mg, t_sp = timeit_pair(lambda: sparse_cpu.spmv_csr(indptr, indices, data, x),
                             lambda: A @ x, reps)
    assert np.allclose(sparse_cpu.spmv_csr(indptr, indices, data, x), A @ x, rtol=1e-4,
                       atol=1e-4)
    nbytes = matrix_bytes + 2 * n * vb
    rows.append(_row("spmv", kind, nnz, n, t_mg, t_sp, nbytes))

    S = msp.sparse_csr_tensor(indptr, indices, mg.tensor(data), (n, n))
    xt = mg.tensor(x)
    t_api, t_sp = timeit_pair(lambda: S @ xt, lambda: A @ x, reps)
    rows.append(_row("S@x", kind, nnz, n, t_api, t_sp, nbytes))

    t_mg, t_sp = timeit_pair(lambda: sparse_cpu.spmm_csr(indptr, indices, data, B),
                             lambda: A @ B, max(reps // 2, 3))
    nbytes = matrix_bytes + 2 * n * N * vb
    rows.append(_row(f"spmm{N}", kind, nnz, n, t_mg, t_sp, nbytes))
    return rows


def _row(op, kind, nnz, n, t_mg, t_sp, nbytes):
    r = dict(op=op, kind=kind, nnz=nnz, rows=n, minigrad_ms=t_mg * 1e3, scipy_ms=t_sp * 1e3,
             ratio=t_sp / t_mg, minigrad_GBs=nbytes / t_mg / 1e9, scipy_GBs=nbytes / t_sp / 1e9)
    print(f"{op:5s} {kind:9s} {nnz:9d} {n:8d} | {r['minigrad_ms']:11.3f} {r['scipy_ms']:9.3f} "
          f"{r['ratio']:6.2f} | {r['minigrad_GBs']:7.2f} {r['scipy_GBs']:7.2f}", flush=True)
    return r


if __name__ == "__main__":
    main()
