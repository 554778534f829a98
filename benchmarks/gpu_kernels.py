r"""Every minigrad GPU kernel beside its vendor counterpart, in one process.

    python benchmarks/gpu_kernels.py --out benchmarks/results/ [--quick] [--only hgemm,mm24]
                                     [--variants] [--no-wgmma]

--only runs the named sections (limits, hgemm, mm24, spmv, spmm, random; the limits are measured
whenever hgemm or mm24 runs, for the fractions). --variants adds the tuning variants: the
tilings in HGEMM_TILINGS / MM24_TILINGS at 8192^3 (and 4096^3 for mm24) and, for CSR-vector
on the regular matrices, other lane counts per row.

Measures, on the current CUDA device:
  limits   device-to-device copy bandwidth; the mma.sync (and mma.sp) register-only ceiling
           (kernels/mma_peak.cu); cuBLAS fp16 peak (cupy.matmul at the largest size)
  SpMV     spmv_csr (CSR-vector and merge path) vs cupyx.scipy.sparse (cuSPARSE) on regular
           matrices with 10-50M nonzeros (columns uniform over x, and banded: columns
           near the diagonal, as from a mesh) and on power-law matrices; fraction of the
           copy bandwidth for the minimum bytes (values + indices + row pointers + x + y);
           CSR-vector also with its schedule macros (rows per group R = 1, 2, 4; an L2
           prefetch of each lane's first values; the persistent, pipelined schedule
           "pipe" at R = 1, 2), on every run
  SpMM     spmm_csr vs cuSPARSE
  random   the Philox generator (kernels/philox.cu) vs CuPy's cuRAND: uniform and normal
           draws, fraction of the copy bandwidth for the bytes written
  hgemm    hgemm (and the WMMA baseline) vs cupy.matmul fp16 (cuBLAS) at 4096^3, 8192^3 and
           ragged sizes; a few tilings of hgemm.cu; fraction of the mma.sync ceiling and of
           the cuBLAS peak; on sm_90 also hgemm_wgmma (Hopper warpgroup MMA) and its
           tilings, against the wgmma ceiling (wgmma_peak) as well
  2:4      mm_24 vs our dense hgemm with the same tiling, vs dense cuBLAS, and vs cuSPARSELt
           (torch.sparse.to_sparse_semi_structured) when torch imports, at 4096^3, 8192^3

Timing: CUDA events around each call, after warm-up, median of many calls; a short spin
kernel runs before each timed call so that Python launch overhead never shows up as GPU idle
time; GEMM inputs rotate over sets larger than L2. Every result is checked against the vendor
result (relative-norm error printed and stored). A failing kernel is caught and recorded; the
rest still runs. Writes DIR/gpu-<date>.json and DIR/gpu-<date>.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _gpu_report import (  # noqa: E402
    Recorder,
    device_info,
    fmt,
    markdown_header,
    results_path,
    torch_or_none,
    versions,
)

from minigrad import _backend  # noqa: E402


def _import_kernels():
    try:
        return importlib.import_module("minigrad.kernels")
    except ImportError:  # source checkout without install: map kernels/ onto the name
        importlib.import_module("minigrad")
        spec = importlib.util.spec_from_file_location(
            "minigrad.kernels", ROOT / "kernels" / "__init__.py",
            submodule_search_locations=[str(ROOT / "kernels")])
        module = importlib.util.module_from_spec(spec)
        sys.modules["minigrad.kernels"] = module
        spec.loader.exec_module(module)
        return module


K = _import_kernels()
_cuda = K._cuda

cp = None  # cupy, bound in main() (a clear DeviceError without a GPU)
L2_BYTES = 50 * 2**20

# ----------------------------------------------------------------------------- timing

_SPIN_SRC = r"""
extern "C" __global__ void spin(unsigned long long ns) {
    unsigned long long start, now;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
    do { asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now)); } while (now - start < ns);
}
"""
_spin_kernel = None


def _spin(us=150):
    """Keep the GPU busy ``us`` microseconds so that the next launch queues behind it."""
    global _spin_kernel
    if _spin_kernel is None:
        _spin_kernel = cp.RawKernel(_SPIN_SRC, "spin")
    _spin_kernel((1,), (1,), (np.uint64(us * 1000),))


def time_gpu(fn, reps=20, warmup=3, spin_us=150):
    """Median GPU time in ms of ``fn(i)`` (i = call index, for rotating inputs)."""
    return time_interleaved([fn], reps, warmup, spin_us)[0][0]


def time_interleaved(fns, reps=40, warmup=3, spin_us=150):
    """Median GPU times in ms of several ``fn(i)`` timed in alternation (f0, f1, f0, f1,
    ...), and :func:`paired_ratios` of their per-round times: the clock and temperature
    drift that separate two back-to-back medians by a few percent hit both sides of each
    round's ratio alike."""
    for fn in fns:
        for i in range(warmup):
            fn(i)
    cp.cuda.Device().synchronize()
    times = [[] for _ in fns]
    start, end = cp.cuda.Event(), cp.cuda.Event()
    for r in range(reps):
        for k, fn in enumerate(fns):
            _spin(spin_us)
            start.record()
            fn(warmup + r)
            end.record()
            end.synchronize()
            times[k].append(cp.cuda.get_elapsed_time(start, end))
    return [statistics.median(t) for t in times], paired_ratios(times)


def paired_ratios(times):
    """For each series of round times after the first: (median, lower quartile, upper
    quartile) of first[r] / series[r] over the rounds r, the speed-up over the first."""
    out = []
    for series in times[1:]:
        ratios = sorted(a / b for a, b in zip(times[0], series))
        q1, med, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
        out.append((med, q1, q3))
    return out


def rel_err(out, ref):
    out = out.astype(cp.float64)
    ref = ref.astype(cp.float64)
    return float(cp.linalg.norm(out - ref) / max(float(cp.linalg.norm(ref)), 1e-300))


# ---------------------------------------------------------------------------- records

def _free_device_memory():
    cp.cuda.Device().synchronize()
    cp.get_default_memory_pool().free_all_blocks()


REPORT = Recorder(cleanup=_free_device_memory)
RESULTS, record, guarded = REPORT.results, REPORT.record, REPORT.guarded
LIMITS: dict = {}


# ----------------------------------------------------------------------------- limits


def copy_bandwidth(quick):
    n = (1 if quick else 2) * 2**30 // 4
    src = cp.ones(n, cp.float32)
    dst = cp.empty_like(src)
    ms = time_gpu(lambda i: cp.copyto(dst, src), reps=10)
    gbps = 2 * src.nbytes / ms / 1e6
    LIMITS["copy_bandwidth_GBps"] = gbps
    record("limits", "copy bandwidth (device to device)", bytes=2 * src.nbytes, time_ms=ms,
           GBps=gbps)


def mma_ceiling(quick, sparse):
    launch, flop = _cuda.mma_peak(sparse=sparse, iters=2048 if quick else 8192)
    ms = time_gpu(lambda i: launch(), reps=10)
    tflops = flop / ms / 1e9
    LIMITS["mma_sp_peak_tflops" if sparse else "mma_sync_peak_tflops"] = tflops
    record("limits", "mma.sp m16n8k32 peak (dense-equivalent)" if sparse
           else "mma.sync m16n8k16 peak", time_ms=ms, tflops=tflops)


def wgmma_ceiling(quick):
    """The Hopper wgmma m64n256k16 loop of hgemm_wgmma.cu on resident shared memory."""
    launch, flop = _cuda.wgmma_peak(iters=2048 if quick else 8192)
    ms = time_gpu(lambda i: launch(), reps=10)
    tflops = flop / ms / 1e9
    LIMITS["wgmma_peak_tflops"] = tflops
    record("limits", "wgmma m64n256k16 peak (sm_90a)", time_ms=ms, tflops=tflops)


def wgmma_sp_ceiling(quick):
    """The sparse wgmma.sp m64n256k32 loop of mm24_wgmma.cu on resident shared memory
    (dense-equivalent flop)."""
    launch, flop = _cuda.wgmma_sp_peak(iters=2048 if quick else 8192)
    ms = time_gpu(lambda i: launch(), reps=10)
    tflops = flop / ms / 1e9
    LIMITS["wgmma_sp_peak_tflops"] = tflops
    record("limits", "wgmma.sp m64n256k32 peak (sm_90a, dense-equivalent)", time_ms=ms,
           tflops=tflops)


def is_sm90():
    """Whether to run the Hopper (wgmma) kernels: an sm_90 device, and not --no-wgmma."""
    return not VARIANTS.get("no_wgmma") and cp.cuda.Device().compute_capability == "90"


def measure_limits(quick):
    guarded("limits", "copy bandwidth", copy_bandwidth, quick)
    for sparse in (False, True):
        guarded("limits", f"mma peak sparse={sparse}", mma_ceiling, quick, sparse)
    if is_sm90():
        guarded("limits", "wgmma peak", wgmma_ceiling, quick)
        guarded("limits", "wgmma.sp peak", wgmma_sp_ceiling, quick)


# ------------------------------------------------------------------------------- SpMV


def random_csr_gpu(n_rows, n_cols, lengths, dtype, seed, band=None):
    """CSR on the GPU with the given row lengths; columns sorted within each row (duplicates
    possible, harmless for SpMV). Columns are uniform over all of x, or, with ``band``,
    within ``band`` of the diagonal (a banded matrix, as from a mesh or a stencil: the
    gathers from x are nearly contiguous)."""
    rs = cp.random.RandomState(seed)
    lengths = cp.asarray(lengths).astype(cp.int64)
    indptr = cp.concatenate([cp.zeros(1, cp.int64), cp.cumsum(lengths)])
    nnz = int(indptr[-1])
    rows = cp.searchsorted(indptr[1:], cp.arange(nnz, dtype=cp.int64), side="right")
    if band is None:
        cols = rs.randint(0, n_cols, size=nnz, dtype=cp.int64)
    else:
        cols = cp.clip(rows + rs.randint(-band, band + 1, size=nnz, dtype=cp.int64), 0,
                       n_cols - 1)
    key = cp.sort(rows * n_cols + cols)
    indices = (key % n_cols).astype(cp.int32)
    data = (rs.uniform(0.5, 1.0, nnz) * (rs.randint(0, 2, nnz) * 2 - 1)).astype(dtype)
    return indptr.astype(cp.int32), indices, data


def spmv_bytes(n_rows, n_cols, nnz, itemsize):
    """Minimum traffic: values + indices + row pointers + x + y."""
    return nnz * (itemsize + 4) + (n_rows + 1) * 4 + n_cols * itemsize + n_rows * itemsize


def spmv_lengths(kind, n_rows, mean):
    if kind in ("regular", "banded"):
        return cp.random.RandomState(1).randint(mean // 2, mean + mean // 2 + 1, size=n_rows)
    rng = np.random.default_rng(0)  # power law: P(len = 2k) ~ k^-2, capped; 5% empty rows
    lengths = np.minimum(rng.zipf(2.0, size=n_rows), 200_000) * 2
    lengths[rng.random(n_rows) < 0.05] = 0
    return lengths


def spmv_case(label, kind, n_rows, mean, dtype, reps):
    import cupyx.scipy.sparse as sparse

    n_cols = n_rows
    band = 2 * mean if kind == "banded" else None
    indptr, indices, data = random_csr_gpu(n_rows, n_cols, spmv_lengths(kind, n_rows, mean),
                                           dtype, 2, band)
    nnz = int(data.size)
    x = cp.random.RandomState(3).uniform(-1, 1, n_cols).astype(dtype)
    A = sparse.csr_matrix((data, indices, indptr), shape=(n_rows, n_cols))
    y_vendor = A @ x
    t_vendor = time_gpu(lambda i: A @ x, reps=reps)
    nbytes = spmv_bytes(n_rows, n_cols, nnz, np.dtype(dtype).itemsize)
    bw = LIMITS.get("copy_bandwidth_GBps")
    lengths = cp.asnumpy(cp.diff(indptr))
    auto = K.reference.choose_spmv_method(np.concatenate([[0], np.cumsum(lengths)]))
    out = cp.empty(n_rows, dtype)
    t_floor = guarded("spmv", f"{label} floor", spmv_floor_row, label, indices, data, x,
                      y_vendor, t_vendor, reps, nbytes, bw) if dtype == np.float32 else None
    methods = [("vector", {}), ("merge", {})]
    g = K.reference.threads_per_row_for(nnz, n_rows, dtype)  # what the launcher picks
    if kind != "power-law":  # the vector kernel's schedule macros (cheap: always timed)
        # "vector" is pipelined since stop 30 (pipeline=None); pipe=0 is the one-step
        # schedule it replaced, and the other rows say their schedule explicitly
        methods += [("vector", dict(pipeline=False))]
        methods += [("vector", dict(rows_per_group=R, prefetch=pf, pipeline=False))
                    for R, pf in ((1, True), (2, False), (2, True), (4, False))]
        methods += [("vector", dict(rows_per_group=2, pipeline=True))]
        # spmv_csr_stream.cu (written after stop 30 without a GPU, not yet timed), at the
        # launcher's G and others (its lanes read shared memory, one value a step). Not on
        # power-law rows: a row longer than its block's shared memory is summed by G lanes.
        methods += [("stream", {})] + [("stream", dict(threads_per_row=G))
                                       for G in (g // 2, 2 * g, 4 * g) if 2 <= G <= 32]
        methods += [("stream", dict(stream_nnz=n)) for n in (512, 2048)]
    if VARIANTS["on"] and kind != "power-law":
        methods += [("vector", dict(threads_per_row=G)) for G in (g // 2, 2 * g)
                    if 2 <= G <= 32]
    for method, tuning in methods:
        name = " ".join([label, method, *(f"{SPMV_TUNING_NAMES[k]}={int(v)}"
                                          for k, v in tuning.items())])
        guarded("spmv", name, spmv_method, name, method,
                (indptr, indices, data, x), out, y_vendor, t_vendor, reps,
                dict(n_rows=n_rows, nnz=nnz, max_row=int(lengths.max()), auto_method=auto,
                     **tuning),
                nbytes, bw, tuning, t_floor)


SPMV_TUNING_NAMES = {"threads_per_row": "G", "rows_per_group": "R", "prefetch": "prefetch",
                     "pipeline": "pipe", "stream_nnz": "nnz"}


def spmv_method(label, method, csr, out, y_vendor, t_vendor, reps, info, nbytes, bw, tuning,
                t_floor=None):
    # The kernel's time with its plan made once (kernels.spmv_plan: what a CSR tensor keeps
    # after its first product; since stop 37), and the time when each call makes its own:
    # "stream"'s partition (a search and small copies) and "merge"'s merge-path search are
    # GPU work of their own, which the rows of stop 30 and before included.
    structural = {k: tuning[k] for k in ("threads_per_row", "stream_nnz") if k in tuning}
    schedule = {k: v for k, v in tuning.items() if k not in structural}
    plan = K.spmv_plan(csr[0], csr[1], csr[2].dtype, method=method, **structural)
    y = K.spmv_csr(*csr, out=out, plan=plan, **schedule)
    err = rel_err(y, y_vendor)
    (t, t_unplanned), _ = time_interleaved(
        [lambda i: K.spmv_csr(*csr, out=out, plan=plan, **schedule),
         lambda i: K.spmv_csr(*csr, out=out, method=method, **tuning)], reps=reps)
    gbps = nbytes / t / 1e6
    record("spmv", label, **info, time_ms=t, time_without_plan_ms=t_unplanned,
           vendor="cuSPARSE (cupyx csr @ x)",
           vendor_time_ms=t_vendor, speedup_vs_vendor=t_vendor / t, GBps=gbps,
           vendor_GBps=nbytes / t_vendor / 1e6,
           fraction_of_copy_bw=(gbps / bw) if bw else None,
           fraction_of_floor=(t_floor / t) if t_floor else None,
           vendor_fraction_of_floor=(t_floor / t_vendor) if t_floor else None, rel_err=err)


def spmv_floor_row(label, indices, data, x, y_vendor, t_vendor, reps, nbytes, bw):
    """The matrix's own memory floor (kernels/spmv_floor.cu: values and columns streamed, x
    gathered, no rows): its time, and that time's fraction of the copy bandwidth for the same
    minimum bytes. Returns the time, which each SpMV row divides by its own."""
    partial = _cuda.spmv_floor(indices, data, x)
    err = abs(float(partial.sum(dtype=cp.float64)) - float(y_vendor.sum(dtype=cp.float64))) \
        / max(float(cp.abs(y_vendor).sum()), 1e-30)
    t = time_gpu(lambda i: _cuda.spmv_floor(indices, data, x), reps=reps)
    gbps = nbytes / t / 1e6
    record("spmv", f"{label} floor (values + columns streamed, x gathered, no rows)",
           time_ms=t, vendor="cuSPARSE (cupyx csr @ x)", vendor_time_ms=t_vendor,
           speedup_vs_vendor=t_vendor / t, GBps=gbps,
           fraction_of_copy_bw=(gbps / bw) if bw else None, rel_err=err,
           note="spmv_floor.cu: what the bytes and gathers cost alone; rel. error of sum(y)")
    return t


def bench_spmv(quick):
    cases = [("regular", 1_000_000, 16), ("banded", 1_000_000, 16),
             ("banded", 1_000_000, 32)] if quick else [
        ("regular", 1_000_000, 12), ("regular", 1_000_000, 32), ("regular", 2_000_000, 24),
        ("banded", 1_000_000, 32), ("banded", 2_000_000, 24)]
    cases.append(("power-law", 1_000_000 if quick else 2_000_000, None))
    reps = 20 if quick else 50
    for dtype in (np.float32,) if quick else (np.float32, np.float64):
        for kind, n_rows, mean in cases:
            label = f"{kind} {n_rows // 1000}k rows {np.dtype(dtype).name}"
            guarded("spmv", label, spmv_case, label, kind, n_rows, mean, dtype, reps)


def spmm_case(label, N):
    import cupyx.scipy.sparse as sparse

    n = 262_144
    lengths = cp.random.RandomState(1).randint(8, 25, size=n)
    indptr, indices, data = random_csr_gpu(n, n, lengths, np.float32, 4)
    B = cp.random.RandomState(5).uniform(-1, 1, (n, N)).astype(cp.float32)
    A = sparse.csr_matrix((data, indices, indptr), shape=(n, n))
    C_vendor = A @ B
    t_vendor = time_gpu(lambda i: A @ B, reps=20)
    out = cp.empty((n, N), cp.float32)
    err = rel_err(K.spmm_csr(indptr, indices, data, B, out=out), C_vendor)
    t = time_gpu(lambda i: K.spmm_csr(indptr, indices, data, B, out=out), reps=20)
    nbytes = data.size * 8 + (n + 1) * 4 + B.nbytes + out.nbytes
    bw = LIMITS.get("copy_bandwidth_GBps")
    record("spmm", label, nnz=int(data.size), time_ms=t, vendor="cuSPARSE (cupyx csr @ B)",
           vendor_time_ms=t_vendor, speedup_vs_vendor=t_vendor / t, GBps=nbytes / t / 1e6,
           fraction_of_copy_bw=(nbytes / t / 1e6 / bw) if bw else None, rel_err=err)


def bench_spmm(quick):
    for N in (64,) if quick else (32, 128):
        label = f"regular 256k x 256k, 8-24 per row, N={N}"
        guarded("spmm", label, spmm_case, label, N)


# ----------------------------------------------------------------------------- random


def random_case(label, kind, n):
    """Philox (kernels/philox.cu) vs CuPy's cuRAND generator for the same values."""
    rs = cp.random.RandomState(0)
    vendor = {"uniform_f32": lambda: rs.random_sample(n, dtype=cp.float32),
              "uniform_f64": lambda: rs.random_sample(n, dtype=cp.float64),
              "normal_f32": lambda: rs.standard_normal(n, dtype=cp.float32)}[kind]
    got = _cuda.philox_fill(kind, n, 1, 0)
    want = K.reference.philox_fill(kind, n, 1, 0, xp=cp)
    err = rel_err(got, want)
    t = time_gpu(lambda i: _cuda.philox_fill(kind, n, 1, i), reps=30)
    t_vendor = time_gpu(lambda i: vendor(), reps=30)
    nbytes = got.nbytes  # written once; nothing is read
    bw = LIMITS.get("copy_bandwidth_GBps")
    record("random", label, time_ms=t, vendor="cuRAND (cupy.random.RandomState)",
           vendor_time_ms=t_vendor, speedup_vs_vendor=t_vendor / t, GBps=nbytes / t / 1e6,
           fraction_of_copy_bw=(nbytes / t / 1e6 / bw) if bw else None, rel_err=err)


def bench_random(quick):
    n = 2 ** 24 if quick else 2 ** 27
    for kind in ("uniform_f32", "uniform_f64", "normal_f32"):
        label = f"{kind} {n // 2 ** 20}M values"
        guarded("random", label, random_case, label, kind, n)


# ------------------------------------------------------------------------------ GEMMs


def n_rotating(nbytes_each):
    """Input sets to rotate so that together they exceed L2 twice over (2 to 4 sets)."""
    return min(4, max(2, -(-2 * L2_BYTES // max(nbytes_each, 1))))


def random_half(shape, seed):
    return cp.random.RandomState(seed).uniform(-1, 1, shape).astype(cp.float16)


def hgemm_case(label, M, N, Kd, variants, pairs=()):
    sets = [(random_half((M, Kd), 10 + i), random_half((Kd, N), 20 + i))
            for i in range(n_rotating((M * Kd + Kd * N) * 2))]
    flop = 2.0 * M * N * Kd
    out = cp.empty((M, N), cp.float16)
    ref = cp.matmul(*sets[0])
    t_vendor = time_gpu(lambda i: cp.matmul(*sets[i % len(sets)], out=out), reps=20)
    vendor_tflops = flop / t_vendor / 1e9
    LIMITS["cublas_peak_tflops"] = max(LIMITS.get("cublas_peak_tflops", 0.0), vendor_tflops)
    for name, tiling in variants:
        guarded("hgemm", f"{label} {name}", hgemm_variant, f"{label} {name}", tiling, sets,
                out, ref, flop, t_vendor, vendor_tflops)
    for tiling in pairs:
        guarded("hgemm", f"{label} hgemm {tiling_name(tiling)} vs default, interleaved",
                hgemm_paired, label, sets, out, tiling)


def hgemm_paired(label, sets, out, tiling):
    """hgemm.cu with tile macros ``tiling`` against its default for this size, timed in
    alternation: the speed-up's median and quartiles over 40 rounds."""
    def pick(i):
        return sets[i % len(sets)]
    (t_default, t), [(ratio, q1, q3)] = time_interleaved([
        lambda i: _cuda.hgemm(*pick(i), out=out),
        lambda i: _cuda.hgemm(*pick(i), out=out, tiling=tiling)])
    record("hgemm", f"{label} hgemm {tiling_name(tiling)} vs default, interleaved",
           time_ms=t, default_ms=t_default, speedup_vs_default=ratio,
           speedup_lower_quartile=q1, speedup_upper_quartile=q3,
           note="40 rounds, the default tiling and this one alternating")


def hgemm_variant(label, tiling, sets, out, ref, flop, t_vendor, vendor_tflops):
    """One kernel: tiling None = the WMMA baseline; ("wgmma", t) = the sm_90a wgmma GEMM
    with tile macros t; a dict = hgemm.cu with those tile macros; "auto" = hgemm.cu with
    the tiling it picks by size (reference.hgemm_tiling)."""
    if tiling == "auto":
        def f(i):
            return _cuda.hgemm(*sets[i % len(sets)], out=out)
    elif tiling is None:
        def f(i):
            return _cuda.hgemm_wmma(*sets[i % len(sets)], out=out)
    elif isinstance(tiling, tuple):
        def f(i):
            return _cuda.hgemm_wgmma(*sets[i % len(sets)], out=out, tiling=tiling[1])
    else:
        def f(i):
            return _cuda.hgemm(*sets[i % len(sets)], out=out, tiling=tiling)
    out.fill(cp.nan)
    err = rel_err(f(0), ref)
    t = time_gpu(f, reps=20)
    tflops = flop / t / 1e9
    peak = LIMITS.get("mma_sync_peak_tflops")
    wgmma_peak = LIMITS.get("wgmma_peak_tflops")
    record("hgemm", label, time_ms=t, tflops=tflops, vendor="cuBLAS (cupy.matmul fp16)",
           vendor_time_ms=t_vendor, vendor_tflops=vendor_tflops, speedup_vs_vendor=t_vendor / t,
           fraction_of_mma_sync_peak=(tflops / peak) if peak else None,
           fraction_of_wgmma_peak=(tflops / wgmma_peak) if wgmma_peak else None, rel_err=err)


# Tile-macro variants timed with --variants (names as the -D macros of hgemm.cu / mm24.cu).
HGEMM_TILINGS = [
    dict(BM=128, BN=128, BK=32, WARPS_M=2, WARPS_N=2, STAGES=4),
    dict(BM=128, BN=128, BK=64, WARPS_M=2, WARPS_N=2, STAGES=3),
    dict(BM=128, BN=256, BK=32, WARPS_M=2, WARPS_N=4, STAGES=4),
    dict(BM=128, BN=256, BK=64, WARPS_M=2, WARPS_N=4, STAGES=3),
    dict(BM=256, BN=128, BK=32, WARPS_M=4, WARPS_N=2, STAGES=4),
    dict(BM=256, BN=128, BK=64, WARPS_M=4, WARPS_N=2, STAGES=3),
    dict(BM=256, BN=128, BK=32, WARPS_M=4, WARPS_N=2, STAGES=5),
    dict(BM=192, BN=256, BK=32, WARPS_M=2, WARPS_N=4, STAGES=4, FRAG_BUFS=1),
    dict(BM=192, BN=256, BK=32, WARPS_M=2, WARPS_N=4, STAGES=3, FRAG_BUFS=1),
    dict(BM=192, BN=128, BK=32, WARPS_M=2, WARPS_N=2, STAGES=4, FRAG_BUFS=1),
]
# 96 x 64 warp tiles (BM = 192, WARPS_M = 2), which fit the registers only with one fragment
# buffer (FRAG_BUFS=1, hgemm.cu's header): 36 KiB of shared-memory traffic per 2^20 FLOP at
# 192 x 256 against the default 128 x 256's 44, for a kernel that shared memory bounds on
# Hopper (kernels/README.md). Written at stop 27 without a GPU: timed at every size, after the
# other rows (a fault leaves the CUDA context unusable), with FRAG_BUFS=1 at the default tile
# as the control, and the 192 x 256 tile against the default in alternation.
HGEMM_WIDE_WARPS = [dict(BN=256, WARPS_N=4, FRAG_BUFS=1),
                    dict(BM=192, BN=256, WARPS_N=4, FRAG_BUFS=1), dict(BM=192, FRAG_BUFS=1)]
MM24_TILINGS = [
    dict(BM=128, BN=128, BK=32, WARPS_M=2, WARPS_N=2, STAGES=4),
    dict(BM=128, BN=128, BK=64, WARPS_M=2, WARPS_N=2, STAGES=3),
    dict(BM=128, BN=128, BK=64, WARPS_M=2, WARPS_N=2, STAGES=4),
    dict(BM=256, BN=128, BK=64, WARPS_M=4, WARPS_N=2, STAGES=3),
    dict(BM=256, BN=128, BK=64, WARPS_M=4, WARPS_N=2, STAGES=4),
    dict(BM=128, BN=256, BK=64, WARPS_M=2, WARPS_N=4, STAGES=3),
    dict(BM=128, BN=128, BK=32, WARPS_M=2, WARPS_N=2, STAGES=4, FRAG_BUFS=1),
    dict(BM=192, BN=128, BK=32, WARPS_M=2, WARPS_N=2, STAGES=4, FRAG_BUFS=1),
]
# mm24.cu's 96 x 64 warp tiles (one fragment buffer, as hgemm's HGEMM_WIDE_WARPS): 30.5 KiB of
# shared-memory traffic per 2^20 dense-equivalent FLOP at 192 x 128 against 38.5 at the
# default 128 x 128 (B's fragments dominate a 2:4 warp's reads; taller warps share them).
# Stop 27, without a GPU: timed after the default rows, each against hgemm with its tiling.
MM24_WIDE_WARPS = [dict(FRAG_BUFS=1), dict(BM=192, FRAG_BUFS=1)]
VARIANTS = {"on": False}


def tiling_name(t):
    return " ".join(f"{k}={v}" for k, v in t.items())


def check_variant(kind, tiling):
    """Ragged sizes, NaN-prefilled outputs, fp32 and fp16 out, against float64: the tilings
    that --variants times are checked for correctness first (the GPU tests cover only a few)."""
    worst, nans = 0.0, 0
    for M, N, Kd in ((333, 520, 264), (257, 136, 100), (1000, 264, 1000), (16, 8, 32)):
        B = random_half((Kd, N), 41)
        if kind == "hgemm":
            A = random_half((M, Kd), 40)
            want = A.astype(cp.float64) @ B.astype(cp.float64)
        else:
            A = random_24_gpu(M, -(-Kd // 4) * 4, 40)[:, :Kd].copy()
            want = A.astype(cp.float64) @ B.astype(cp.float64)
            values, meta = K.compress_24(A)
        for out_dtype, tol in ((cp.float32, 1e-3), (cp.float16, 5e-3)):
            out = cp.full((M, N), cp.nan, out_dtype)
            if kind == "hgemm":
                _cuda.hgemm(A, B, out=out, tiling=tiling)
            else:
                _cuda.mm_24(values, meta, B, out=out, tiling=tiling)
            nans += int(cp.isnan(out).sum())
            worst = max(worst, rel_err(out, want) / tol)
    record("check", f"{kind} {tiling_name(tiling)}", worst_err_over_tol=worst, nan_outputs=nans,
           ok=bool(worst < 1 and nans == 0))


def bench_hgemm(quick):
    tilings = [("hgemm BN=256 WARPS_N=4", dict(BN=256, WARPS_N=4)),
               ("hgemm BK=64 STAGES=3", dict(BK=64, STAGES=3))]
    if VARIANTS["on"]:
        tilings = [(f"hgemm {tiling_name(t)}", t) for t in HGEMM_TILINGS]
        for t in HGEMM_TILINGS:
            guarded("check", f"hgemm {tiling_name(t)}", check_variant, "hgemm", t)
    sizes = [(4096, 4096, 4096)] if quick else [(4096, 4096, 4096), (8192, 8192, 8192),
                                                (5000, 3000, 4000), (4097, 4095, 4093)]
    # The sm_90a wgmma GEMM, with the tilings its author asked to compare.
    wgmma = [("hgemm_wgmma", ("wgmma", {})),
             ("hgemm_wgmma PROXY_FENCE=0", ("wgmma", dict(PROXY_FENCE=0))),
             ("hgemm_wgmma BN=128 STAGES=6", ("wgmma", dict(BN=128, STAGES=6))),
             ("hgemm_wgmma STAGES=3", ("wgmma", dict(STAGES=3))),
             ("hgemm_wgmma BM=256 BN=128", ("wgmma", dict(BM=256, BN=128)))] if is_sm90() else []
    for M, N, Kd in sizes:
        variants = [("hgemm", "auto"), ("hgemm BN=128", {})] + wgmma[:1]
        if (M, N, Kd) in ((4096, 4096, 4096), (8192, 8192, 8192)):
            variants += wgmma[1:]
        variants += tilings  # (the default tiling's rivals, at every size)
        if (M, N, Kd) == (4096, 4096, 4096):
            variants.append(("hgemm_wmma", None))
        if not VARIANTS["on"]:  # (--variants times them among HGEMM_TILINGS)
            variants += [(f"hgemm {tiling_name(t)}", t) for t in HGEMM_WIDE_WARPS]
        label = f"{M}x{N}x{Kd}"
        guarded("hgemm", label, hgemm_case, label, M, N, Kd, variants, HGEMM_WIDE_WARPS[1:2])


def random_24_gpu(M, Kd, seed):
    """M x Kd float16 with exactly 2 nonzeros in every aligned group of 4 along Kd."""
    rs = cp.random.RandomState(seed)
    W = rs.uniform(-1, 1, (M, Kd // 4, 4)).astype(cp.float32)
    keep = cp.argsort(rs.random_sample((M, Kd // 4, 4)), axis=-1)[..., :2]
    mask = (keep[..., :1] == cp.arange(4)) | (keep[..., 1:] == cp.arange(4))
    return (W * mask).reshape(M, Kd).astype(cp.float16)


def mm24_case(label, n, torch):
    M = N = Kd = n
    flop = 2.0 * M * N * Kd  # dense-equivalent, the usual 2:4 convention
    sets = []
    for i in range(n_rotating((M * Kd + Kd * N) * 2)):
        W = random_24_gpu(M, Kd, 20 + i)
        values, meta = K.compress_24(W)
        sets.append((W, random_half((Kd, N), 30 + i), values, meta))
    out = cp.empty((M, N), cp.float16)
    ref = cp.matmul(sets[0][0], sets[0][1])

    def pick(i):
        return sets[i % len(sets)]
    t_cublas = time_gpu(lambda i: cp.matmul(pick(i)[0], pick(i)[1], out=out), reps=20)
    t_dense_ours = time_gpu(lambda i: K.hgemm(pick(i)[0], pick(i)[1], out=out, tiling={}),
                            reps=20)  # mm_24's own tiling: reference.TILING
    err = rel_err(K.mm_24(sets[0][2], sets[0][3], sets[0][1], out=out), ref)
    t = time_gpu(lambda i: K.mm_24(pick(i)[2], pick(i)[3], pick(i)[1], out=out), reps=20)
    if VARIANTS["on"]:
        for tiling in MM24_TILINGS:
            guarded("mm24", f"{label} mm24 {tiling_name(tiling)}", mm24_variant,
                    f"{label} mm24 {tiling_name(tiling)}", tiling, sets, out, ref, flop,
                    t_dense_ours, t_cublas)
    if is_sm90():
        mm24_wgmma_rows(label, sets, out, ref, flop, t_cublas)
    fields = dict(time_ms=t, tflops_dense_equiv=flop / t / 1e9, rel_err=err,
                  our_dense_hgemm_ms=t_dense_ours, speedup_vs_our_dense=t_dense_ours / t,
                  cublas_dense_ms=t_cublas, speedup_vs_cublas_dense=t_cublas / t)
    peak = LIMITS.get("mma_sp_peak_tflops")
    if peak:
        fields["fraction_of_mma_sp_peak"] = flop / t / 1e9 / peak
    if torch is not None:
        got = guarded("mm24", f"{label} cuSPARSELt", cusparselt_time, torch, sets, ref)
        if got:
            fields.update(vendor="cuSPARSELt (torch semi-structured)", vendor_time_ms=got[0],
                          speedup_vs_vendor=got[0] / t, cusparselt_rel_err=got[1])
    record("mm24", label, **fields)
    if not VARIANTS["on"]:  # (--variants times them among MM24_TILINGS, against the default)
        for tiling in MM24_WIDE_WARPS:
            name = f"{label} mm24 {tiling_name(tiling)}"
            guarded("mm24", name, mm24_same_tiling, name, tiling, sets, out, ref, flop,
                    t_cublas)


def mm24_same_tiling(label, tiling, sets, out, ref, flop, t_cublas):
    """mm_24 with tile macros ``tiling`` against our dense hgemm with the same macros."""
    t_dense = time_gpu(lambda i: K.hgemm(sets[i % len(sets)][0], sets[i % len(sets)][1],
                                         out=out, tiling=tiling), reps=20)
    mm24_variant(label, tiling, sets, out, ref, flop, t_dense, t_cublas,
                 our_dense="hgemm, same tiling")


def mm24_variant(label, tiling, sets, out, ref, flop, t_dense_ours, t_cublas, our_dense=None):
    def f(i):
        s_ = sets[i % len(sets)]
        return _cuda.mm_24(s_[2], s_[3], s_[1], out=out, tiling=tiling)
    err = rel_err(f(0), ref)
    t = time_gpu(f, reps=20)
    fields = dict(time_ms=t, tflops_dense_equiv=flop / t / 1e9, rel_err=err,
                  our_dense_hgemm_ms=t_dense_ours, speedup_vs_our_dense=t_dense_ours / t,
                  cublas_dense_ms=t_cublas, speedup_vs_cublas_dense=t_cublas / t)
    if our_dense:
        fields["our_dense"] = our_dense
    peak = LIMITS.get("mma_sp_peak_tflops")
    if peak:
        fields["fraction_of_mma_sp_peak"] = flop / t / 1e9 / peak
    record("mm24", label, **fields)


# The sm_90a 2:4 GEMM's tilings (its author's list); each is compared with the dense
# hgemm_wgmma of the same BM x BN CTA tile ("the same tiling"; BK=128 has no dense twin: the
# dense kernel of that BM x BN stands in). The BM=256 BN=128 rows are the tile shape made for a
# 2:4 A (mm24_wgmma.cu: 34 KiB of loads a k tile against 41 KiB at 128 x 256, while the dense
# kernel pays 48 KiB at both); the first five run in --quick.
MM24_WGMMA_TILINGS = [{}, dict(BM=256, BN=128), dict(BM=256, BN=128, STAGES=6),
                      dict(BM=256, BN=128, STAGES=6, META_REGS=1),
                      dict(META_REGS=1), dict(STAGES=5), dict(STAGES=3),
                      dict(BN=128), dict(BN=128, BK=128), dict(PROXY_FENCE=0),
                      dict(BM=256, BN=128, BK=128, STAGES=3), dict(BM=256, BN=128, STAGES=5)]
MM24_WGMMA_QUICK = 5
# (dense tiling, 2:4 tiling) pairs timed in alternation: the default tiles (128 x 256 both),
# and the 256 x 128 tile both, the 2:4 kernel with 6 stages (its shared memory allows them;
# the dense kernel's 48 KiB stages allow 4).
MM24_WGMMA_PAIRS = (({}, {}), (dict(BM=256, BN=128), dict(BM=256, BN=128, STAGES=6)))


def mm24_wgmma_rows(label, sets, out, ref, flop, t_cublas):
    from minigrad.kernels import wgmma_model

    def pick(i):
        return sets[i % len(sets)]

    dense = {}

    def dense_ms(bm, bn):  # our dense hgemm_wgmma with this CTA tile, timed once
        if (bm, bn) not in dense:
            dense[bm, bn] = guarded(
                "mm24", f"{label} dense hgemm_wgmma BM={bm} BN={bn}", time_gpu,
                lambda i: K.hgemm_wgmma(pick(i)[0], pick(i)[1], out=out,
                                        tiling=dict(BM=bm, BN=bn)), reps=20)
        return dense[bm, bn]

    def bm_of(tiling):
        return wgmma_model.sp_tiling(tiling)["BM"]

    tilings = MM24_WGMMA_TILINGS if (VARIANTS["on"] or "8192" in label) else \
        MM24_WGMMA_TILINGS[:MM24_WGMMA_QUICK]
    # The 128-row tiles first, then the 256-row ones (first run on a GPU after stop 26): a
    # kernel fault leaves the CUDA context unusable, and must not take the others' rows.
    for bm in (128, 256):
        for dense_tiling, sparse_tiling in MM24_WGMMA_PAIRS:
            if bm_of(sparse_tiling) == bm:
                guarded("mm24", f"{label} mm24_wgmma vs dense, interleaved", mm24_wgmma_paired,
                        label, sets, out, dense_tiling, sparse_tiling)
        for tiling in (t for t in tilings if bm_of(t) == bm):
            name = f"{label} mm24_wgmma {tiling_name(tiling)}".rstrip()
            t = wgmma_model.sp_tiling(tiling)  # BM, BN with the defaults filled in
            guarded("mm24", name, mm24_wgmma_variant, name, tiling, sets, out, ref, flop,
                    dense_ms(t["BM"], t["BN"]), t_cublas)


def mm24_wgmma_paired(label, sets, out, dense_tiling, sparse_tiling):
    """The target's ratio (2:4 wgmma.sp over our dense wgmma GEMM with the same BM x BN CTA
    tile) from rounds that time the two in alternation: its median and quartiles."""
    def pick(i):
        return sets[i % len(sets)]
    (t_dense, t_sparse), [(ratio, q1, q3)] = time_interleaved([
        lambda i: K.hgemm_wgmma(pick(i)[0], pick(i)[1], out=out, tiling=dense_tiling),
        lambda i: _cuda.mm_24_wgmma(pick(i)[2], pick(i)[3], pick(i)[1], out=out,
                                    tiling=sparse_tiling)])
    names = f"dense {tiling_name(dense_tiling) or 'default'}, 2:4 " \
            f"{tiling_name(sparse_tiling) or 'default'}"
    record("mm24", f"{label} mm24_wgmma vs dense hgemm_wgmma, interleaved ({names})",
           time_ms=t_sparse, our_dense_hgemm_ms=t_dense, speedup_vs_our_dense=ratio,
           speedup_lower_quartile=q1, speedup_upper_quartile=q3,
           note="40 rounds, dense and 2:4 alternating; the ratio's median and quartiles")


def mm24_wgmma_variant(label, tiling, sets, out, ref, flop, t_dense_same_tiling, t_cublas):
    def f(i):
        s_ = sets[i % len(sets)]
        return _cuda.mm_24_wgmma(s_[2], s_[3], s_[1], out=out, tiling=tiling)
    out.fill(cp.nan)
    err = rel_err(f(0), ref)
    t = time_gpu(f, reps=20)
    fields = dict(time_ms=t, tflops_dense_equiv=flop / t / 1e9, rel_err=err,
                  cublas_dense_ms=t_cublas, speedup_vs_cublas_dense=t_cublas / t)
    if t_dense_same_tiling:
        fields.update(our_dense_hgemm_ms=t_dense_same_tiling,
                      speedup_vs_our_dense=t_dense_same_tiling / t,
                      our_dense="hgemm_wgmma, same BM x BN")
    peak = LIMITS.get("wgmma_sp_peak_tflops")
    if peak:
        fields["fraction_of_wgmma_sp_peak"] = flop / t / 1e9 / peak
    record("mm24", label, **fields)


def cusparselt_time(torch, sets, ref):
    from torch.sparse import to_sparse_semi_structured

    Ws = [to_sparse_semi_structured(torch.from_dlpack(s[0])) for s in sets]
    Bs = [torch.from_dlpack(s[1]) for s in sets]
    C = torch.mm(Ws[0], Bs[0])
    err = rel_err(cp.from_dlpack(C.contiguous()), ref)
    t = time_gpu(lambda i: torch.mm(Ws[i % len(Ws)], Bs[i % len(Bs)]), reps=20)
    return t, err


def bench_mm24(quick):
    torch = torch_or_none()
    if VARIANTS["on"]:
        for t in MM24_TILINGS:
            guarded("check", f"mm24 {tiling_name(t)}", check_variant, "mm24", t)
    for n in [4096] if quick else [4096, 8192]:
        label = f"{n}x{n}x{n}"
        guarded("mm24", label, mm24_case, label, n, torch)


# ----------------------------------------------------------------------------- output


def write_markdown(path, meta):
    lines = markdown_header("GPU kernel benchmark", meta) + ["## Limits", ""]
    for k, v in meta["limits"].items():
        lines.append(f"- {k}: {fmt(v, '.1f')}")
    lines += ["", "## Results", "",
              "Fraction of limit: SpMV/SpMM minimum bytes / time over the measured copy "
              "bandwidth; hgemm over the measured mma.sync ceiling; mm24 (dense-equivalent "
              "flop) over the measured mma.sp ceiling, mm24_wgmma rows over the wgmma.sp "
              "ceiling.", "",
              "| section | case | ms | vendor | vendor ms | speed-up vs vendor | "
              "fraction of limit | rel. error | note |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in meta["results"]:
        frac = next((r[k] for k in ("fraction_of_copy_bw", "fraction_of_mma_sync_peak",
                                    "fraction_of_mma_sp_peak", "fraction_of_wgmma_sp_peak")
                     if r.get(k) is not None), None)
        note = r.get("error", "")
        if r["section"] == "mm24" and "speedup_vs_our_dense" in r:
            # the 40-round ratio row has no cuBLAS time (stops 24-25 died here on a KeyError)
            parts = [f"vs our dense {r.get('our_dense', 'hgemm')} "
                     f"{fmt(r['speedup_vs_our_dense'])}x"]
            if "speedup_vs_cublas_dense" in r:
                parts.append(f"vs cuBLAS dense {fmt(r['speedup_vs_cublas_dense'])}x")
            if "note" in r:
                parts.append(r["note"])
            note = ", ".join(parts)
        if "speedup_vs_default" in r:  # an hgemm tiling against the default, interleaved
            note = (f"{fmt(r['speedup_vs_default'])}x the default's speed (quartiles "
                    f"{fmt(r['speedup_lower_quartile'])}-{fmt(r['speedup_upper_quartile'])}; "
                    f"default {fmt(r['default_ms'])} ms), {r['note']}")
        if r.get("fraction_of_wgmma_peak") is not None:
            note = f"{fmt(r['fraction_of_wgmma_peak'])} of the wgmma peak"
        if r["section"] == "spmv" and "auto_method" in r:
            note = f"nnz {r['nnz']}, max row {r['max_row']}, auto picks {r['auto_method']}"
            if r.get("time_without_plan_ms") is not None:
                note += f", {fmt(r['time_without_plan_ms'])} ms without a plan"
            if r.get("fraction_of_floor") is not None:
                note += (f"; {fmt(r['fraction_of_floor'])} of the floor's speed (cuSPARSE "
                         f"{fmt(r['vendor_fraction_of_floor'])})")
        elif r["section"] == "spmv" and "note" in r:
            note = r["note"]
        lines.append("| " + " | ".join([
            r["section"], r["name"], fmt(r.get("time_ms")), r.get("vendor", ""),
            fmt(r.get("vendor_time_ms")), fmt(r.get("speedup_vs_vendor")), fmt(frac),
            fmt(r.get("rel_err", r.get("cusparselt_rel_err")), ".2e"), note]) + " |")
    path.write_text("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="folder for the results")
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repetitions")
    parser.add_argument("--only", default="limits,hgemm,mm24,spmv,spmm,random",
                        help="comma-separated sections to run (default: all)")
    parser.add_argument("--variants", action="store_true",
                        help="also time the tuning variants (tilings, lanes per row)")
    parser.add_argument("--no-wgmma", action="store_true",
                        help="leave out the sm_90a wgmma kernels (e.g. when their tests failed)")
    args = parser.parse_args(argv)
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    unknown = only - {"limits", "hgemm", "mm24", "spmv", "spmm", "random"}
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}")
    VARIANTS["on"] = args.variants
    VARIANTS["no_wgmma"] = args.no_wgmma
    global cp
    try:
        cp = _backend.cupy()
    except _backend.DeviceError as exc:
        print(f"gpu_kernels.py: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    meta = dict(date=dt.datetime.now().isoformat(timespec="seconds"), device=device_info(cp),
                versions=versions(cp, torch_or_none()), quick=args.quick, only=sorted(only),
                variants=args.variants)
    print(json.dumps(meta, indent=1), flush=True)
    stem = f"gpu-{dt.date.today().isoformat()}"
    path = results_path(args.out, stem)

    def dump():  # after every section, so that a run cut short still leaves its numbers
        meta["limits"] = LIMITS
        meta["results"] = RESULTS
        meta["wall_s"] = round(time.time() - t0, 1)
        path.write_text(json.dumps(meta, indent=1, default=str) + "\n")
        write_markdown(path.with_suffix(".md"), meta)

    if only & {"limits", "hgemm", "mm24"}:
        measure_limits(args.quick)
    else:  # SpMV/SpMM fractions need the copy bandwidth only
        guarded("limits", "copy bandwidth", copy_bandwidth, args.quick)
    dump()
    # The tensor-core sections last (hgemm before mm24: it sets the cuBLAS peak): a fault in
    # a kernel new to the GPU leaves the CUDA context unusable for every later section.
    sections = [("spmv", bench_spmv), ("spmm", bench_spmm), ("random", bench_random),
                ("hgemm", bench_hgemm), ("mm24", bench_mm24)]
    for name, bench in sections:
        if name in only:
            bench(args.quick)
            dump()
    failed = REPORT.failed()
    print(f"wrote {path} and {path.with_suffix('.md')} in {meta['wall_s']} s; "
          f"{len(failed)} failed: {failed}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
