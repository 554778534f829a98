"""2:4 sparse matmul on the CPU (minigrad's Numba kernels) vs dense NumPy matmul (BLAS) at
the same shape, side by side in one process.

(a) C = S B for S (M x K) 2:4 sparse, B (K x N): ``sparse24_cpu.mm24`` reading the K/2
    kept values and the metadata per row, against ``numpy.matmul`` of the dense pruned
    matrix (the same result). Reported: median time, the ratio dense / 2:4 (> 1 means the
    2:4 kernel is faster), and the useful GFLOP/s (2·M·K·N/2 for 2:4, 2·M·K·N for dense).
(b) the other two products of a 2:4 training step at one shape: Sᵀ G (``mm24_t``) and the
    sampled product A Bᵀ at the kept positions (``sddmm24``), against NumPy's dense
    ``S.T @ G`` and ``A @ B.T``.
(c) one training step (forward + backward) of ``Linear24`` against ``nn.Linear`` at the
    same shape.

    python benchmarks/sparse24_cpu.py [--repeats 9] [--quick] [--dtype float32]

No win is expected on a CPU: BLAS runs the dense product near the machine's peak with
cache blocking and SIMD over all of K, while the 2:4 kernel halves the multiply-adds but
gathers rows of B through the metadata (irregular access, no register blocking). 2:4 is
a format for sparse tensor cores; the CPU kernels exist so that the same models train and
run everywhere, and so that the GPU layout has a tested CPU twin.
"""
import argparse
import os

import numpy as np
from _timing import median_time  # benchmarks/_timing.py
from minigrad.kernels import sparse24_cpu

import minigrad as mg
from minigrad import nn
from minigrad.sparse.linear24 import Linear24
from minigrad.sparse.semi_structured import to_sparse_24


def threads():
    import numba

    blas = "?"
    try:
        from threadpoolctl import threadpool_info

        blas = ",".join(str(i["num_threads"]) for i in threadpool_info()
                        if i.get("user_api") == "blas") or "?"
    except ImportError:
        pass
    return numba.get_num_threads(), blas


def bench_mm(shapes, dtype, repeats):
    rng = np.random.default_rng(0)
    print(f"(a) C = S B, S 2:4 (M x K), B (K x N), {np.dtype(dtype).name}")
    print(f"{'M':>6} {'K':>6} {'N':>6} {'2:4 Numba':>11} {'dense BLAS':>11} {'dense/2:4':>10} "
          f"{'2:4 GF/s':>9} {'BLAS GF/s':>10}")
    rows = []
    for M, K, N in shapes:
        S = to_sparse_24(rng.standard_normal((M, K)).astype(dtype))
        values, meta = S.values().numpy(), S.meta
        dense = S.to_dense().numpy()
        B = rng.standard_normal((K, N)).astype(dtype)
        err = np.abs(sparse24_cpu.mm24(values, meta, B) - dense @ B).max()
        assert err <= 1e-3 * max(1.0, np.abs(dense @ B).max()), err
        t_sp = median_time(lambda v=values, m=meta, B=B: sparse24_cpu.mm24(v, m, B), repeats)
        t_dn = median_time(lambda D=dense, B=B: D @ B, repeats)
        flop = 2.0 * M * K * N
        print(f"{M:>6} {K:>6} {N:>6} {t_sp * 1e3:>9.3f}ms {t_dn * 1e3:>9.3f}ms "
              f"{t_dn / t_sp:>10.2f} {flop / 2 / t_sp / 1e9:>9.2f} {flop / t_dn / 1e9:>10.2f}")
        rows.append((M, K, N, t_sp, t_dn))
    return rows


def bench_backward_products(M, K, N, dtype, repeats):
    rng = np.random.default_rng(1)
    S = to_sparse_24(rng.standard_normal((M, K)).astype(dtype))
    values, meta, dense = S.values().numpy(), S.meta, S.to_dense().numpy()
    G = rng.standard_normal((M, N)).astype(dtype)
    B = rng.standard_normal((K, N)).astype(dtype)
    print(f"\n(b) the other products of a step, M={M} K={K} N={N}")
    print(f"{'product':<28} {'2:4 Numba':>11} {'dense NumPy':>12} {'dense/2:4':>10}")
    cases = [
        ("Sᵀ G      (mm24_t)", lambda: sparse24_cpu.mm24_t(values, meta, G),
         lambda: dense.T @ G),
        ("A Bᵀ at kept (sddmm24)", lambda: sparse24_cpu.sddmm24(meta, G, B),
         lambda: G @ B.T),
    ]
    for name, sp, dn in cases:
        t_sp, t_dn = median_time(sp, repeats), median_time(dn, repeats)
        print(f"{name:<28} {t_sp * 1e3:>9.3f}ms {t_dn * 1e3:>10.3f}ms {t_dn / t_sp:>10.2f}")


def bench_layer(batch, in_f, out_f, dtype, repeats):
    mg.manual_seed(0)
    x = mg.randn(batch, in_f, dtype=dtype)
    sparse = Linear24(in_f, out_f, mask_update_every=None, dtype=dtype)
    dense = nn.Linear(in_f, out_f, dtype=dtype)

    def step(layer):
        def run():
            layer.zero_grad()
            layer(x).sum().backward()
        return run

    t_sp, t_dn = median_time(step(sparse), repeats), median_time(step(dense), repeats)
    print(f"\n(c) forward + backward, batch {batch}, {in_f} -> {out_f}")
    print(f"{'Linear24 (2:4)':<16} {t_sp * 1e3:>9.3f}ms")
    print(f"{'nn.Linear':<16} {t_dn * 1e3:>9.3f}ms   dense/2:4 = {t_dn / t_sp:.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--quick", action="store_true", help="small shapes only")
    args = parser.parse_args(argv)
    dtype = np.dtype(args.dtype)
    nb, blas = threads()
    print(f"CPU cores visible: {os.cpu_count()}, Numba threads: {nb}, BLAS threads: {blas}")
    if args.quick:
        shapes = [(64, 64, 32), (256, 256, 64)]
    else:
        shapes = [(64, 64, 32), (256, 256, 256), (1024, 1024, 1), (1024, 1024, 256),
                  (2048, 2048, 64), (4096, 4096, 16), (1024, 1024, 1024)]
    bench_mm(shapes, dtype, args.repeats)
    m = 256 if args.quick else 1024
    bench_backward_products(m, m, 64 if args.quick else 256, dtype, args.repeats)
    bench_layer(64 if args.quick else 256, m, m, dtype, args.repeats)


if __name__ == "__main__":
    main()
