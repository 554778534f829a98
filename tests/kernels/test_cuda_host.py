"""The host run of CUDA kernels (cuda_host.h, cuda_host.py): that it runs a kernel's text
as CUDA would, and that each check it claims catches the bug it names. The kernels
themselves run on it in test_kernels_gpu.py, test_im2col.py, test_batchnorm_kernels.py,
test_philox.py and test_spmv_floor.py (their ``cp`` fixture's "host" half) and, for
minigrad's own RawModule (the softmax and cross-entropy rows), here."""
import functools
import os
import re
import subprocess
import time

import numpy as np
import pytest
from minigrad.kernels import _cuda
from minigrad.kernels import reference as ref

from .cuda_host import (
    HOST_CUPY,
    HOST_CUPY_SM90,
    RACECHECK,
    HostRawModule,
    available,
    host_launchers,
)
from .kernels_testdata import random_csr, regular_lengths

pytestmark = pytest.mark.skipif(not available(), reason="g++ not found: the host run needs it")
_KERNEL_SOURCE = _cuda.kernel_source  # (the mutation tests patch _cuda's)
# what the racecheck names a missing barrier (without it, the result must come out wrong)
RACE = "shared-memory race" if RACECHECK else None

TOY = r"""
extern "C" __global__ void arrival(int* counter, int* order) {
    order[atomicAdd(counter, 1)] = threadIdx.x;
    __syncthreads();
    order[atomicAdd(counter, 1)] = threadIdx.x;
}
extern "C" __global__ void iota(int n, float* out) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = (float)i;
}
extern "C" __global__ void block_order(int* counter, int* order) {
    if (threadIdx.x == 0) order[atomicAdd(counter, 1)] = blockIdx.x + 100 * blockIdx.y;
}
extern "C" __global__ void warp_sum(const double* x, double* out) {
    double s = x[blockIdx.x * blockDim.x + threadIdx.x];
    for (int off = 16; off > 0; off /= 2) s += __shfl_down_sync(0xffffffffu, s, off);
    __shared__ double sums[32];
    if (threadIdx.x % 32 == 0) sums[threadIdx.x / 32] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
        double t = 0;
        for (int w = 0; w < (int)blockDim.x / 32; ++w) t += sums[w];
        out[blockIdx.x] = t;
    }
}
extern "C" __global__ void ballot_and_xor(const int* pred, unsigned* ballots, int* xored) {
    const int t = threadIdx.x;
    ballots[t] = __ballot_sync(0xffffffffu, pred[t] != 0);
    xored[t] = __shfl_xor_sync(0xffffffffu, t, 5) + 1000 * __shfl_up_sync(0xffffffffu, t, 3, 8);
}
extern "C" __global__ void unwritten_shared(float* out) {
    __shared__ float s[64];
    if (threadIdx.x < 32) s[threadIdx.x] = 1.0f;
    __syncthreads();
    out[threadIdx.x] = s[threadIdx.x];
}
extern "C" __global__ void divergent_barrier(float* out) {
    if (threadIdx.x < 16) {
        __syncthreads();
    } else {
        __syncthreads();
    }
    out[threadIdx.x] = 1.0f;
}
extern "C" __global__ void deadlock(float* out) {
    float v = 1.0f;
    if (threadIdx.x % 32 == 0) v = __shfl_sync(0xffffffffu, v, 1);
    else __syncthreads();
    out[threadIdx.x] = v;
}
extern "C" __global__ void reads_an_exited_lane(float* out) {
    if (threadIdx.x == 1) return;
    out[threadIdx.x] = __shfl_sync(0xffffffffu, 1.0f, 1);
}
extern "C" __global__ void mask_without_the_caller(float* out) {
    out[threadIdx.x] = __shfl_sync(0x0000ffffu, 1.0f, 0);  // (lanes 0-15: a right call)
}
extern "C" __global__ void scalars(int a, long long b, double c, unsigned long long d,
                                   double* out) {
    out[0] = a; out[1] = (double)b; out[2] = c; out[3] = (double)d;
}
// a static __shared__ array of a template (a COMDAT object on the host) starts poisoned too
template <typename T> __device__ void unwritten_template_body(T* out) {
    __shared__ __align__(16) T s[64], half[2];
    if (threadIdx.x < 32) s[threadIdx.x] = T(1);
    __syncthreads();
    out[threadIdx.x] = s[threadIdx.x];
}
extern "C" __global__ void unwritten_template_shared(float* out) {
    unwritten_template_body<float>(out);
}
// pairs of threads add into one slot (x[2i] + x[2i+1]): one after the other, or, with
// LOST_UPDATE, both at once: a read-modify-write each, right on the host (a fiber never
// stops inside one), a lost update on a GPU
extern "C" __global__ void pair_sums(const float* x, float* out, int lost_update) {
    __shared__ float slot[128];
    const int t = threadIdx.x;
    if (lost_update) {
        if (t % 2 == 0) slot[t / 2] = 0.0f;
        __syncthreads();
        slot[t / 2] += x[t];
    } else {
        if (t % 2 == 0) slot[t / 2] = x[t];
        __syncthreads();
        if (t % 2 == 1) slot[t / 2] += x[t];
    }
    __syncthreads();
    if (t % 2 == 0) out[t / 2] = slot[t / 2];
}
// every thread adds into one of 8 shared counters: atomics do not race with each other
extern "C" __global__ void shared_histogram(const int* bins, int* out) {
    __shared__ int count[8];
    if (threadIdx.x < 8) count[threadIdx.x] = 0;
    __syncthreads();
    atomicAdd(&count[bins[threadIdx.x]], 1);
    __syncthreads();
    if (threadIdx.x < 8) out[threadIdx.x] = count[threadIdx.x];
}
// lanes 16..31 read what lanes 0..15 wrote: ordered by a __syncwarp, or a race
extern "C" __global__ void half_warp_swap(const float* x, float* out, int syncwarp) {
    __shared__ float s[32];
    const int l = threadIdx.x % 32;
    if (l < 16) s[l] = x[l];
    if (syncwarp) __syncwarp();
    if (l >= 16) out[l - 16] = s[l - 16];
}
"""


@pytest.fixture(scope="module")
def toy():
    return HostRawModule(code=TOY)


@pytest.mark.parametrize("seed", range(4))
def test_the_schedules_are_what_they_say(toy, monkeypatch, seed):
    """The lead schedule (cuda_host.SCHEDULE "lead", the default): before each round of the
    block's threads in their shuffled order, the warp of the first of them runs alone as far
    as it can, its threads in lane order, so that warp reaches the barrier first, whichever
    warp it is (warp 0 included: until stop 37 a block led by warp 0 ran plain rounds, and
    "rounds" could not be chosen). "rounds": every thread once a round, in the shuffled
    order, so the block's first arrivals come from several warps."""
    from . import cuda_host

    orders = {}
    for schedule in ("lead", "rounds"):
        monkeypatch.setattr(cuda_host, "SCHEDULE", schedule)
        counter = np.zeros(1, np.int32)
        order = np.full(512, -1, np.int32)
        toy.get_function("arrival")((1,), (256,), (counter, order), seed=seed)
        assert counter[0] == 512 and sorted(order[:256]) == list(range(256))
        orders[schedule] = order[:32]
    leader = orders["lead"][0] // 32 * 32
    np.testing.assert_array_equal(orders["lead"], np.arange(leader, leader + 32))
    assert len(set(orders["rounds"] // 32)) > 1, orders["rounds"]

def test_threads_blocks_and_arguments(toy):
    out = np.full(1000, np.nan, np.float32)
    toy.get_function("iota")((4,), (256,), (np.int32(1000), out))
    np.testing.assert_array_equal(out, np.arange(1000, dtype=np.float32))
    out = np.full(4, np.nan)
    toy.get_function("scalars")((1,), (1,), (np.int32(-3), np.int64(2**40), 0.5,
                                             np.uint64(2**63), out))
    np.testing.assert_array_equal(out, [-3, 2**40, 0.5, 2**63])


def test_blocks_run_in_a_shuffled_order_each_once(toy):
    counter, order = np.zeros(1, np.int32), np.full(64, -1, np.int32)
    toy.get_function("block_order")((16, 4), (32,), (counter, order))
    assert counter[0] == 64
    assert sorted(order) == sorted(x + 100 * y for x in range(16) for y in range(4))
    assert list(order) != sorted(order)  # not launched in index order


def test_warp_shuffles_votes_and_shared_memory(toy, rng):
    x = rng.standard_normal(3 * 128)
    out = np.full(3, np.nan)
    toy.get_function("warp_sum")((3,), (128,), (x, out))
    np.testing.assert_allclose(out, x.reshape(3, 128).sum(axis=1), rtol=1e-13)
    pred = rng.integers(0, 2, 64).astype(np.int32)
    ballots, xored = np.zeros(64, np.uint32), np.zeros(64, np.int32)
    toy.get_function("ballot_and_xor")((1,), (64,), (pred, ballots, xored))
    for w in range(2):
        bits = sum(int(p) << i for i, p in enumerate(pred[32 * w:32 * w + 32]))
        assert set(ballots[32 * w:32 * w + 32]) == {bits}
    t = np.arange(64)
    lane = t % 32
    up = np.where(lane % 8 >= 3, t - 3, t)  # shfl.up within segments of 8: own value below
    np.testing.assert_array_equal(xored, (t ^ 5) + 1000 * up)


@pytest.mark.parametrize("kernel", ["unwritten_shared", "unwritten_template_shared"])
def test_shared_memory_starts_poisoned(toy, kernel):
    out = np.zeros(64, np.float32)
    toy.get_function(kernel)((2,), (64,), (out,))
    assert (out[:32] == 1).all() and np.isnan(out[32:]).all()


@pytest.mark.skipif(not RACECHECK, reason="MINIGRAD_CUDA_HOST_RACECHECK=0: no racecheck")
def test_a_race_inside_a_barrier_interval_is_named_with_its_lines(toy, rng):
    """The racecheck names two threads that touch one shared byte between the same two
    barriers, one of them writing, with both kernel lines. The lost update gives the right
    sums on the host without it (a fiber runs from wait to wait): only the racecheck shows
    it. Two lanes of a warp are ordered by a __syncwarp; atomics do not race."""
    x = rng.uniform(1, 2, 256).astype(np.float32)
    line = TOY.splitlines().index  # + 1: kernel lines count from 1

    def named_race(kernel, args, lines, n_bytes=4):
        with pytest.raises(RuntimeError, match=rf"shared-memory race: this thread (read|wrote) "
                           rf"{n_bytes} bytes at static shared offset \d+ \(kernel line \d+\) "
                           r"in the barrier interval where thread \d+ (read|wrote) it \(kernel "
                           r"line \d+\), with no __syncthreads between") as e:
            toy.get_function(kernel)((1,), (len(x) if kernel == "pair_sums" else 32,), args)
        got = sorted(int(v) for v in re.findall(r"kernel line (\d+)", str(e.value)))
        assert got == sorted(line(text) + 1 for text in lines), str(e.value)

    out = np.full(128, np.nan, np.float32)
    toy.get_function("pair_sums")((1,), (256,), (x, out, np.int32(0)))
    np.testing.assert_allclose(out, x[0::2].astype(np.float64) + x[1::2], rtol=1e-6)
    added = "        slot[t / 2] += x[t];"
    named_race("pair_sums", (x, out, np.int32(1)), [added, added])

    out = np.full(16, np.nan, np.float32)
    toy.get_function("half_warp_swap")((1,), (32,), (x, out, np.int32(1)))
    np.testing.assert_array_equal(out, x[:16])
    named_race("half_warp_swap", (x, out, np.int32(0)),
               ["    if (l < 16) s[l] = x[l];", "    if (l >= 16) out[l - 16] = s[l - 16];"])

    bins = rng.integers(0, 8, 256).astype(np.int32)
    counts = np.zeros(8, np.int32)
    toy.get_function("shared_histogram")((1,), (256,), (bins, counts))
    np.testing.assert_array_equal(counts, np.bincount(bins, minlength=8))



MEMCHECK_TOY = r"""
extern "C" __global__ void shifted_copy(const float* x, float* y, int n, int shift) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i + shift];
}
extern "C" __global__ void shifted_store(float* y, int n, int shift) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i + shift] = 1.0f;
}
extern "C" __global__ void histogram(const int* bins, int n, int* counts) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) atomicAdd(counts + bins[i], 1);
}
extern "C" __global__ void add_into(float* x, const float* y, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] += y[i];
}
extern "C" __global__ void staged_copy(const float* src, float* out, int valid_below) {
    __shared__ __align__(16) float s[4 * 32];
    const int t = threadIdx.x;
    cp_async_16(smem_u32(s + 4 * t), src + 4 * t, t < valid_below);
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();
    for (int j = 0; j < 4; ++j) out[4 * t + j] = s[4 * t + j];
}
"""
OOB = r"out-of-bounds global memory: this thread "


@pytest.mark.skipif(not RACECHECK, reason="MINIGRAD_CUDA_HOST_RACECHECK=0: no memcheck")
def test_out_of_bounds_global_accesses_are_named(rng):
    """The memcheck (cuda_host.h; the racecheck's build) names a global read or write past
    the end of an array argument or before its start, by its kernel line, offset and
    argument, as compute-sanitizer's memcheck does on a GPU: each argument is copied into
    an arena between red zones for the launch, so the bytes next to it are no other
    array's. Atomics and cp.async (modelled, not instrumented) are checked too, a cp.async
    of src-size 0 reads nothing; arguments that overlap (an output that is an input) keep
    their overlap, and the kernel's writes come back to the caller's arrays."""
    toy = HostRawModule(code=MEMCHECK_TOY)
    line = functools.partial(_toy_line, source=MEMCHECK_TOY)
    x = rng.uniform(-1, 1, 100).astype(np.float32)
    y = np.full(100, np.nan, np.float32)
    copy = toy.get_function("shifted_copy")
    copy((1,), (128,), (x[1:], y[:99], np.int32(99), np.int32(0)))  # a view: its own extent
    np.testing.assert_array_equal(y[:99], x[1:])
    for shift, offset in ((1, 396), (-1, -4)):
        with pytest.raises(RuntimeError, match=re.escape(
                f"{OOB}read 4 bytes (kernel line {line('shifted_copy', 'y[i] = x[i + shift]')})"
                f" at offset {offset} of argument 0, which has 396 bytes")):
            copy((1,), (128,), (x[1:], y[:99], np.int32(99), np.int32(shift)))
    with pytest.raises(RuntimeError, match=re.escape(
            f"{OOB}wrote 4 bytes (kernel line {line('shifted_store', 'y[i + shift] = 1.0f')}) "
            "at offset 400 of argument 0, which has 400 bytes")):
        toy.get_function("shifted_store")((1,), (128,), (y, np.int32(100), np.int32(1)))

    bins = rng.integers(0, 8, 300).astype(np.int32)
    counts = np.zeros(8, np.int32)
    histogram = toy.get_function("histogram")
    histogram((3,), (128,), (bins, np.int32(300), counts))
    np.testing.assert_array_equal(counts, np.bincount(bins, minlength=8))
    bins[123] = 8
    with pytest.raises(RuntimeError, match=re.escape(
            f"{OOB}wrote 4 bytes (kernel line {line('histogram', 'atomicAdd(')}) at offset 32 "
            "of argument 2, which has 32 bytes")):
        histogram((3,), (128,), (bins, np.int32(300), counts))

    z = rng.uniform(-1, 1, 64).astype(np.float32)
    want = np.concatenate([2 * z[:40], z[40:]])
    toy.get_function("add_into")((1,), (64,), (z[:40], z, np.int32(40)))  # overlapping
    np.testing.assert_array_equal(z, want)

    src = rng.uniform(-1, 1, 128).astype(np.float32)
    out = np.full(128, np.nan, np.float32)
    staged = toy.get_function("staged_copy")
    staged((1,), (32,), (src, out, np.int32(32)))
    np.testing.assert_array_equal(out, src)
    staged((1,), (32,), (src[:96], out, np.int32(24)))  # lanes 24-31: src-size 0, zeros
    np.testing.assert_array_equal(out, np.where(np.arange(128) < 96, src, 0))
    with pytest.raises(RuntimeError, match=re.escape(
            f"{OOB}read 16 bytes (kernel line {line('staged_copy', 'cp_async_16(')}) at offset "
            ) + r"(\d+) of argument 0, which has 384 bytes") as e:
        staged((1,), (32,), (src[:96], out, np.int32(32)))
    assert int(re.search(r"offset (\d+)", str(e.value))[1]) in range(384, 512, 16)  # lanes 24-31

def _toy_line(kernel, text, nth=0, source=None):
    """The kernel line (from 1) of the nth line of ``kernel`` in ``source`` (TOY) that holds
    ``text``."""
    lines = (source or TOY).splitlines()
    start = next(i for i, t in enumerate(lines) if f" {kernel}(" in t)
    return [i + 1 for i, t in enumerate(lines) if i > start and text in t][nth]


@pytest.mark.parametrize("kernel,message", [
    ("divergent_barrier", lambda: rf"__syncthreads at kernel line "
     rf"({_toy_line('divergent_barrier', '__syncthreads', 0)}|"
     rf"{_toy_line('divergent_barrier', '__syncthreads', 1)}) met other threads of the block "
     rf"at the __syncthreads of kernel line \d+"),
    ("deadlock", lambda: rf"deadlock: every live thread of the block waits \(thread \d+ at "
     rf"(__shfl_sync|__syncthreads), kernel line "
     rf"({_toy_line('deadlock', '__shfl_sync')}|{_toy_line('deadlock', '__syncthreads')})"),
    ("reads_an_exited_lane", lambda: rf"__shfl_sync at kernel line "
     rf"{_toy_line('reads_an_exited_lane', '__shfl_sync')} waits for lane 1, which has exited"),
    ("mask_without_the_caller", lambda: rf"__shfl_sync at kernel line "
     rf"{_toy_line('mask_without_the_caller', '__shfl_sync')}: the mask 0x0000ffff "
     rf"leaves out the calling lane"),
])
def test_misuse_is_named(toy, kernel, message):
    """Each misuse is named with the kernel line it happens at."""
    with pytest.raises(RuntimeError, match=message()):
        toy.get_function(kernel)((1,), (32,), (np.zeros(32, np.float32),))


def test_partial_warp_with_a_full_mask_is_named(toy):
    with pytest.raises(RuntimeError, match="names lane 16, which this block does not have"):
        toy.get_function("warp_sum")((1,), (48,), (np.zeros(48), np.zeros(1)))


WMMA_TOY = r"""
#include <mma.h>
#include <cuda_fp16.h>
using namespace nvcuda;
extern "C" __global__ void filled(const __half* bt, float* out) {
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> a;
    wmma::fill_fragment(a, __float2half(2.0f));
    wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> b;
    wmma::load_matrix_sync(b, bt, 16);  // B (k, n) at bt[n * 16 + k]
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> c;
    wmma::fill_fragment(c, 1.0f);
    wmma::mma_sync(c, a, b, c);
    __shared__ __align__(32) float s[256];
    wmma::store_matrix_sync(s, c, 16, wmma::mem_col_major);
    __syncwarp();
    for (int i = threadIdx.x; i < 256; i += 32) out[i] = s[i];
}
"""


def test_wmma_fill_col_major_and_syncwarp():
    """WMMA's fill_fragment (converting to the fragment's type), a column-major B load and
    a column-major store, and __syncwarp() with its default mask: D = 2 * 1ᵀB + 1. The
    tile's pointer must be 32-byte aligned (NumPy gives 16): 16 bytes off, it is named."""
    buf = np.zeros(256 + 32, np.float16)
    at = (-buf.ctypes.data % 32) // 2
    bt = buf[at:at + 256].reshape(16, 16)  # B transposed, 32-byte aligned
    bt[...] = np.random.default_rng(0).integers(-3, 4, (16, 16))
    out = np.full(256, np.nan, np.float32)
    filled = HostRawModule(code=WMMA_TOY).get_function("filled")
    filled((1,), (32,), (bt, out))
    want = 2 * np.ones((16, 16)) @ bt.T.astype(np.float64) + 1
    np.testing.assert_array_equal(out.reshape(16, 16).T, want)
    with pytest.raises(RuntimeError, match="pointer not 256-bit"):
        filled((1,), (32,), (buf[at + 8:at + 264], out))


WGMMA_TOY = r"""
extern "C" __global__ void wgmma_per_warpgroup(const unsigned long long* da, float* out) {
    extern __shared__ unsigned char smem[];
    float d[64];
    for (int i = 0; i < 64; ++i) d[i] = 0.f;
    wgmma_fence();
    wgmma_host<128, false>(d, da[threadIdx.x / 64], da[2]);
    wgmma_commit();
    wgmma_wait<0>();
    out[threadIdx.x] = d[0];
}
// A and B filled with 1.0 by plain st.shared stores, then one m64n128k16 wgmma (128B-swizzled
// descriptors: A at 0, B at 16 KiB); FENCE: each thread's fence.proxy.async after its stores
extern "C" __global__ void wgmma_after_plain_stores(float* out, int fence) {
    extern __shared__ unsigned char smem[];
    const unsigned base = smem_u32(smem);
    for (int i = threadIdx.x; i < 32768 / 4; i += blockDim.x)
        st_shared_u32(base + 4 * i, 0x3C003C00u);  // two halves of 1.0
    if (fence) fence_proxy_async();
    __syncthreads();
    const unsigned long long mode_128b = 1ull << 62;
    const unsigned long long da = mode_128b | (1024ull >> 4) << 32;
    const unsigned long long db = mode_128b | (16384ull >> 4) | (4096ull >> 4) << 16 |
                                  (1024ull >> 4) << 32;
    float d[64];
    for (int i = 0; i < 64; ++i) d[i] = 0.f;
    wgmma_fence();
    wgmma_host<128, false>(d, da, db);
    wgmma_commit();
    wgmma_wait<0>();
    out[threadIdx.x] = d[0];
}
"""


@pytest.mark.parametrize("threads, descriptors, message", [
    (64, (0, 0), "wgmma in a warpgroup of fewer than 128 threads"),
    (128, (0, 64), "issued different wgmma.mma_async instructions"),
    (128, (0, 0), "descriptor swizzle mode 0"),  # mode 0 (interleaved): not modelled
])
def test_wgmma_misuse_is_named(threads, descriptors, message):
    """A wgmma in a partial warpgroup, threads of one warpgroup issuing different operands
    (the halves of the block pass different A descriptors), and a layout the host does not
    model are named, not computed."""
    toy = HostRawModule(code=WGMMA_TOY)
    da = np.array([*descriptors, 0], np.uint64)
    with pytest.raises(RuntimeError, match=message):
        toy.get_function("wgmma_per_warpgroup")(
            (1,), (threads,), (da, np.zeros(threads, np.float32)), shared_mem=16384)


@pytest.mark.skipif(not RACECHECK, reason="MINIGRAD_CUDA_HOST_RACECHECK=0: no racecheck")
def test_a_wgmma_reading_plain_stores_needs_their_proxy_fence():
    """Shared memory written through the generic proxy (st.shared here; a plain store or a
    landed cp.async alike) must be fenced by its writer with fence.proxy.async before a
    wgmma (the async proxy) reads it: with the fences, 16 ones summed; without, named with
    the kernel's line that made the store (not the line of cuda_host.h's st.shared model)."""
    kernel = HostRawModule(code=WGMMA_TOY).get_function("wgmma_after_plain_stores")
    out = np.full(128, np.nan, np.float32)
    kernel((1,), (128,), (out, np.int32(1)), shared_mem=32768)
    np.testing.assert_array_equal(out, 16)
    store = _toy_line("wgmma_after_plain_stores", "st_shared_u32(", source=WGMMA_TOY)
    with pytest.raises(RuntimeError, match=r"a wgmma.mma_async reads the byte at dynamic shared "
                       r"offset \d+, which thread \d+ wrote through the generic proxy "
                       rf"\(kernel line {store}\) with no fence.proxy.async after it"):
        kernel((1,), (128,), (out, np.int32(0)), shared_mem=32768)


def test_arguments_must_have_the_parameters_types(toy):
    f = toy.get_function("scalars")
    out = np.zeros(4)
    assert f.params == ["int32", "int64", "float64", "uint64", "pointer"]
    with pytest.raises(TypeError, match="argument 0 is int32 in the kernel but int64"):
        f((1,), (1,), (np.int64(1), np.int64(2), 0.5, np.uint64(1), out))
    with pytest.raises(TypeError, match="argument 0 is int32 in the kernel but int64"):
        f((1,), (1,), (1, np.int64(2), 0.5, np.uint64(1), out))  # a Python int: CuPy's int64
    with pytest.raises(TypeError, match="argument 2 is float64 in the kernel but float32"):
        f((1,), (1,), (np.int32(1), 2, np.float32(0.5), np.uint64(1), out))
    with pytest.raises(TypeError, match="argument 4 is a pointer"):
        f((1,), (1,), (np.int32(1), 2, 0.5, np.uint64(1), 3.0))
    with pytest.raises(TypeError, match="takes 5 arguments"):
        f((1,), (1,), (np.int32(1), out))
    with pytest.raises(RuntimeError, match="CUDA allows 1 to 1024, z at most 64"):
        f((1,), (2048,), (np.int32(1), 2, 0.5, np.uint64(1), out))
    with pytest.raises(RuntimeError, match="CUDA allows 1 to 1024, z at most 64"):
        f((1,), (1, 1, 65), (np.int32(1), 2, 0.5, np.uint64(1), out))
    with pytest.raises(RuntimeError, match="grid.y and grid.z at most 65535"):
        f((1, 65536), (1,), (np.int32(1), 2, 0.5, np.uint64(1), out))


LAUNCH_TOY = r"""
#define WARPS 2
extern "C" __global__ void __launch_bounds__(32 * WARPS, 1) bounded(int* out) {
    out[blockIdx.x * blockDim.x + threadIdx.x] = 1;
}
extern "C" __global__ void __launch_bounds__((WARPS + 2) * 32u) bounded_unsigned(int* out) {
    out[blockIdx.x * blockDim.x + threadIdx.x] = 1;
}
extern "C" __global__ void one_per_block(int* out) {
    if (threadIdx.x == 0) out[blockIdx.x] = 1;
}
"""


def test_launches_are_refused_and_clamped_as_on_a_gpu():
    """A block larger than the kernel's ``__launch_bounds__`` (its first argument, macros
    expanded) is refused, as CUDA refuses it; without bounds a kernel takes CUDA's 1024.
    And every grid and block dim is at least 1, as CuPy launches them: a grid of 0 blocks
    runs one block on a GPU, so it does here (the host run used to launch nothing)."""
    toy = HostRawModule(code=LAUNCH_TOY)
    bounded, unsigned, one = (toy.get_function(n) for n in
                              ("bounded", "bounded_unsigned", "one_per_block"))
    assert (bounded.max_threads, unsigned.max_threads, one.max_threads) == (64, 128, 1024)
    out = np.zeros(128, np.int32)
    bounded((2,), (64,), (out,))
    np.testing.assert_array_equal(out, 1)
    with pytest.raises(RuntimeError, match=r"bounded: a block of 128 threads, more than the "
                                           r"kernel's __launch_bounds__ \(64\)"):
        bounded((1,), (128,), (out,))
    with pytest.raises(RuntimeError, match=r"a block of 160 threads, more than .*\(128\)"):
        unsigned((1,), (32, 5), (out,))
    out[:] = 0
    one((0,), (0,), (out,))
    np.testing.assert_array_equal(out, np.arange(128) == 0)
    if RACECHECK:  # a launcher that launched 0 blocks for an empty output writes past it
        with pytest.raises(RuntimeError, match=OOB + r"wrote 4 bytes .* of argument 0, "
                                                     r"which has 0 bytes"):
            one((0,), (32,), (np.zeros(0, np.int32),))


def test_the_host_runs_arrays_start_poisoned():
    """``empty`` and ``empty_like`` of the host run's array module are NaN (floats), -1
    (signed), the largest value (unsigned) or True, in any layout: an output element no
    kernel wrote shows, as it would on a GPU, where CuPy's pool hands out leftovers."""
    assert np.isnan(HOST_CUPY.empty((3, 4), np.float32)).all()
    assert np.isnan(HOST_CUPY.empty((), np.float16))
    assert np.isnan(HOST_CUPY.empty_like(np.zeros((4, 5), order="F"))).all()
    assert (HOST_CUPY.empty(7, np.int32) == -1).all()
    assert (HOST_CUPY.empty(7, np.uint16) == 65535).all()
    assert HOST_CUPY.empty(2, bool).all() and HOST_CUPY.empty(0).size == 0


def test_shared_memory_opt_in_is_limited_as_on_the_device():
    """A launcher's opt-in above 48 KiB (``max_dynamic_shared_size_bytes``) is refused above
    what the device allows a block, as cuFuncSetAttribute refuses it: 163 KiB on an A100
    (HOST_CUPY, compute capability 8.0), 227 KiB on an H100 or H200 (HOST_CUPY_SM90)."""
    for cp, limit in ((HOST_CUPY, 166912), (HOST_CUPY_SM90, 232448)):
        kernel = cp.RawModule(code=LAUNCH_TOY).get_function("one_per_block")
        assert kernel.max_dynamic_shared_size_bytes == 48 * 1024
        kernel.max_dynamic_shared_size_bytes = limit
        with pytest.raises(RuntimeError, match=f"one_per_block: max_dynamic_shared_size_bytes "
                                               f"= {limit + 1}: the device allows a block at "
                                               f"most {limit} bytes"):
            kernel.max_dynamic_shared_size_bytes = limit + 1
        assert kernel.max_dynamic_shared_size_bytes == limit


@pytest.mark.parametrize("which", ["kernels", "elementwise kernels"])
def test_the_builds_read_cuda_host_h_precompiled(tmp_path, which):
    """Half of a small kernel's build is parsing cuda_host.h, which every build reads
    precompiled instead: g++ -H marks a precompiled header it uses with "!". Where g++ cannot
    use it (another flag), it reads the header itself and nothing fails but the time, so
    this is where that shows."""
    from . import cuda_host, elementwise_cuda

    flags = (cuda_host.BUILD_FLAGS if which == "kernels" else elementwise_cuda.HOST_FLAGS)
    own = cuda_host._flags(["-DBM=64", "-DSTAGES=3", f"-I{_cuda.KERNEL_DIR}", "--std=c++17",
                            "-arch=sm_80"])
    assert own == ["-DBM=64", "-DSTAGES=3", f"-I{_cuda.KERNEL_DIR}"]
    cpp = tmp_path / "k.cpp"
    cpp.write_text(f'#include "{cuda_host.precompiled_header(flags)}"\nint k;\n')
    result = subprocess.run(["g++", *flags, *own, "-H", "-fsyntax-only", str(cpp)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert re.match(r"! \S+/cuda_host\.h\.gch\n", result.stderr), result.stderr[:400]


def test_the_build_cache_keeps_to_its_budget(tmp_path):
    """Past its budget the cache drops the least recently used libraries and precompiled
    headers, down to half the budget, but never one used in the last hour."""
    from .cuda_host import prune_cache

    now = time.time()

    def entry(name, mb, hours_ago):
        path = tmp_path / name
        if name.startswith("pch-"):
            path.mkdir()
            (path / "cuda_host.h").write_text("stub")
            (path / "cuda_host.h.gch").write_bytes(bytes(mb << 20))
        else:
            path.write_bytes(bytes(mb << 20))
        os.utime(path, (now - 3600 * hours_ago,) * 2)
        return path

    oldest = entry("pch-" + "a" * 20, 4, 30)
    old = entry("b" * 20 + ".so", 2, 20)
    kept = entry("c" * 20 + ".so", 1, 10)
    busy = entry("pch-" + "d" * 20, 4, 0.5)       # in use: kept, whatever its age rank
    other = entry("e" * 20 + ".123.so", 8, 40)    # another process's build in progress
    prune_cache(tmp_path, budget=12 << 20)
    assert [p.exists() for p in (oldest, old, kept, busy, other)] == [True] * 5  # 11 MiB +
    prune_cache(tmp_path, budget=11 << 20)  # just over: down to 5.5 MiB, the oldest first
    assert [p.exists() for p in (oldest, old, kept, busy, other)] == [False, False, True,
                                                                      True, True]
    prune_cache(tmp_path, budget=1 << 20)   # far over: all but what is in use
    assert [p.exists() for p in (kept, busy, other)] == [False, True, True]


def _stream_case(rng):
    n_rows, n_cols = 3000, 2000
    indptr, indices, data = random_csr(rng, n_rows, n_cols, regular_lengths(rng, n_rows, 12))
    x = rng.uniform(-1, 1, n_cols).astype(np.float32)
    partition = ref.spmv_stream_partition(indptr, len(data), np, ref.STREAM_NNZ)
    return (indptr, indices, data, x, *partition), n_rows


@pytest.mark.parametrize("mutation, named", [
    (("    __syncthreads();\n\n    for (int base", "\n    for (int base"), RACE),
    (("sum = fold_lanes<T, G>(sum, 0xffffffffu);",
      "sum = fold_lanes<T, G / 2>(sum, 0xffffffffu);"), None),
    (("if (k < e) prod[k - s]", "if (k < e - 1) prod[k - s]"), None),
    (("a = next_a;", "a = next_a + 1;"), None),
    # the row pointers of a row past the block's: read, used for nothing, so the sums stay
    # right; past the last row they are past the end of indptr, which only the memcheck sees
    *([(("    if (r < r1) {\n        a = __ldg", "    if (r <= r1) {\n        a = __ldg"),
        r"out-of-bounds global memory: this thread read 4 bytes \(spmv_csr_stream.cu line "
        r"\d+\) at offset 12004 of argument 0, which has 12004 bytes")] if RACECHECK else []),
])
def test_a_broken_kernel_text_fails_against_its_twin(rng, mutation, named):
    """The host run tests the CUDA text: spmv_csr_stream.cu equals its twin, and each of
    five deliberate bugs in it makes it differ (a shuffle tree one level short, the last
    product of a block not staged, the row pointer loaded ahead for the next round off by
    one) or is named (a missing barrier: a race; a read past the end of indptr, whose
    value goes unused: the memcheck)."""
    (indptr, indices, data, x, row_block, nnz_block), n_rows = _stream_case(rng)
    want = ref.spmv_csr_stream(indptr, indices, data, x, threads_per_row=4)
    source = _cuda.kernel_source("spmv_csr_stream.cu")
    for text, broken in ((source, False), (source.replace(*mutation), True)):
        assert broken == (text != source)
        y = np.full(n_rows, np.nan, np.float32)
        launch = functools.partial(HostRawModule(code=text).get_function("spmv_csr_stream_f32_g4"),
                                   (len(row_block) - 1,), (ref.STREAM_THREADS,),
                                   (indptr, indices, data, x, y, row_block, nnz_block))
        if broken and named:
            with pytest.raises(RuntimeError, match=named):
                launch()
            continue
        launch()
        assert np.array_equal(y, want) != broken


def test_modules_keep_their_own_static_shared_memory(rng):
    """Two builds of one kernel in one process, with different static __shared__ sizes
    (STREAM_NNZ 256, then 1024): each uses its own array. (A C++ static local of a template
    is one process-wide object by default, STB_GNU_UNIQUE; the larger build then wrote past
    the smaller build's array and crashed a test worker. The libraries are built without
    it, every symbol but the entry points hidden.)"""
    (indptr, indices, data, x, *_), n_rows = _stream_case(rng)
    want = ref.spmv_csr_stream(indptr, indices, data, x, threads_per_row=4)
    for nnz in (256, 1024):
        module = HostRawModule(code=_cuda.kernel_source("spmv_csr_stream.cu"),
                               options=_cuda.compile_options({"STREAM_NNZ": nnz}))
        row_block, nnz_block = ref.spmv_stream_partition(indptr, len(data), np, nnz)
        y = np.full(n_rows, np.nan, np.float32)
        module.get_function("spmv_csr_stream_f32_g4")(
            (len(row_block) - 1,), (ref.STREAM_THREADS,),
            (indptr, indices, data, x, y, row_block, nnz_block))
        np.testing.assert_array_equal(y, want)


# ------------------------------------------- minigrad's own RawModule: the softmax rows

def _rows(rng, N, C, dtype):
    x = rng.standard_normal((N, C)).astype(dtype) * 4
    x[1, 3] = np.nan
    x[2, :] = -np.inf
    x[3, 5] = np.inf
    x[4, ::2] = -np.inf
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("C", [1, 7, 64, 300, 3000])
def test_lse_rows_kernel_equals_the_numpy_path(monkeypatch, rng, dtype, C):
    from minigrad.ops import fused

    host_launchers(monkeypatch)
    x = _rows(rng, 9, max(C, 6), dtype)[:, :C].copy()
    got = fused._lse_rows(HOST_CUPY, x)
    with np.errstate(invalid="ignore", over="ignore"):
        want = fused._lse_rows(np, x)
    assert got.dtype == want.dtype
    _assert_rows_close(got, want, 1e-6 if dtype == np.float32 else 1e-14)


def _assert_rows_close(got, want, tol):
    """Non-finite rows (NaN, ±inf) identical; the finite ones within a relative-norm error
    ``tol`` (GPU.md's measure). Not per element: lse = m + log Σ e^(x − m) and a loss lse −
    x[t] can cancel to near 0, where one ulp of the terms (the kernel's online sum rounds
    unlike NumPy's) is a large relative error of the element."""
    from .kernels_testdata import rel_err

    got, want = np.atleast_1d(got), np.atleast_1d(want)
    finite = np.isfinite(want)
    np.testing.assert_array_equal(got[~finite], want[~finite])
    assert rel_err(got[finite], want[finite]) < tol


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_row_kernels_equal_the_numpy_path(monkeypatch, rng, dtype, reduction,
                                                        smoothing):
    from minigrad.ops import fused

    host_launchers(monkeypatch)
    N, C = 300, 37
    x = rng.standard_normal((N, C)).astype(dtype) * 3
    x[4, :] = -np.inf
    x[4, 2] = 1.0
    t = rng.integers(0, C, N)
    t[::7] = -100  # ignored rows
    got = fused.SoftmaxCrossEntropy(t, -100, reduction, smoothing).forward(HOST_CUPY, x)
    want = fused.SoftmaxCrossEntropy(t, -100, reduction, smoothing).forward(np, x)
    assert np.asarray(got).dtype == np.asarray(want).dtype
    _assert_rows_close(got, want, 1e-5 if dtype == np.float32 else 1e-13)


# ------------------------------------------- tensor-core kernels: hgemm.cu's own text

def _run_broken(monkeypatch, filename, mutation, launch):
    """Run ``launch()`` on ``filename``'s source with ``mutation`` (old, new: every
    occurrence) applied, or as it is (None): (its result, None), or (None, the error the
    host run raised)."""
    text = source = _KERNEL_SOURCE(filename)
    if mutation:
        assert mutation[0] in source, mutation[0]
        text = source.replace(*mutation)
    monkeypatch.setattr(_cuda, "kernel_source", lambda name: text)
    monkeypatch.setattr(_cuda, "_kernels", {})
    monkeypatch.setattr(_cuda, "_modules", {})
    try:
        return launch(), None
    except RuntimeError as e:
        return None, str(e)


def _assert_broken(monkeypatch, filename, mutation, named, launch, want):
    """``launch()`` on ``filename`` as it is gives ``want`` (no NaN, relative-norm error <
    1e-3); with ``mutation`` the host run raises an error containing ``named`` or, with
    ``named`` None, the product is wrong."""
    from .kernels_testdata import rel_err

    for change in (None, mutation):
        got, error = _run_broken(monkeypatch, filename, change, launch)
        if change and named:
            assert error is not None and named in error, error
            continue
        assert error is None, error
        ok = not np.isnan(got).any() and rel_err(got, want) < 1e-3
        assert ok == (change is None), (change, rel_err(got, want))


@pytest.mark.parametrize("kernel, mutation, named", [
    # hgemm.cu: the prologue waits one group short: tile 0 is read before it lands
    ("hgemm", ("cp_async_wait<STAGES - 2>();  // tile 0 has landed",
               "cp_async_wait<STAGES - 1>();"), RACE),
    # B written unswizzled, read swizzled
    ("hgemm", ("b_st = swz<B_CHUNKS>(b_r, b_c) * 2", "b_st = (b_r * B_CHUNKS + b_c) * 16"), None),
    # the ragged edges filled with a row of data instead of zeros (every cp.async)
    ("hgemm", (", ok);", ", true);"), None),
    # the B fragments of two n tiles swapped
    ("hgemm", ("bf[buf][2 * j][0] = t[0];", "bf[buf][2 * j][0] = t[2];"), None),
    # hgemm_wmma.cu: rows padded by 4 halves: ldm 36 breaks WMMA's rule (16-byte multiples)
    ("hgemm_wmma", ("#define PAD 8", "#define PAD 4"), "ldm 36 is not a multiple of 8"),
    # no barrier after the tile is staged: warps load rows other threads have not written
    ("hgemm_wmma", ("        __syncthreads();\n        for (int kk = 0;",
                    "        for (int kk = 0;"), RACE),
    # no barrier after the tile is used: a warp that runs ahead stages the next tile over
    # rows the others have not loaded yet (shown by the schedule's leading warp)
    ("hgemm_wmma", ("        }\n        __syncthreads();\n    }\n", "        }\n    }\n"), RACE),
])
def test_a_broken_gemm_kernel_fails(monkeypatch, rng, kernel, mutation, named):
    """hgemm.cu (cuda_host.h models cp.async, ldmatrix and mma.sync) and hgemm_wmma.cu
    (CUDA's WMMA API: cuda_host_include/mma.h) run on the host through their launchers and
    equal the float64 product on a ragged shape; each deliberate bug is named (WMMA's ldm
    rule; a missing wait or barrier, by the racecheck) or makes the product wrong: the host
    run tests the text."""
    host_launchers(monkeypatch)
    M, K, N = (257, 77, 136) if kernel == "hgemm" else (130, 200, 72)
    A = rng.uniform(-1, 1, (M, K)).astype(np.float16)
    B = rng.uniform(-1, 1, (K, N)).astype(np.float16)
    # the stray-data mutation reads A[0, :8] and B[0, :8] for every chunk past K: its error
    # is (sum of A[0, :8]) x B[0, j % 8] per pad chunk, so that sum is kept far from 0
    A[0, :8] = np.abs(A[0, :8]) + np.float16(0.25)
    launch = getattr(_cuda, kernel)
    _assert_broken(monkeypatch, f"{kernel}.cu", mutation, named, lambda: launch(
        A, B, out=np.full((M, N), np.nan, np.float32)), A.astype(np.float64) @ B)


# ------------------------------- the Hopper wgmma kernels' own text (wgmma modelled)

@pytest.mark.parametrize("mutation, named", [
    # the wait one group later: a stage is refilled while a wgmma may still read it
    (("wgmma_wait<1>();  // tile kt-1", "wgmma_wait<2>();  // tile kt-1"),
     "changed between its start and the wgmma.wait_group"),
    # the wgmmas read the stage before the current one (being refilled)
    (("issue(rd, phase);", "issue((rd + STAGES - 1) % STAGES, phase);"),
     "changed between its start and the wgmma.wait_group"),
    (("wgmma_fence();  // orders", "// orders"), "with no wgmma.fence since"),
    # no final wgmma.wait_group 0: the epilogue stores accumulators still in flight
    (("    wgmma_wait<0>();\n    fence_acc(acc);\n    cp_async_wait<0>();\n}",
      "    cp_async_wait<0>();\n}"), "returns with a wgmma.mma_async in flight"),
    (("        wgmma_commit();\n\n        const int next",
      "        wgmma_commit();\n        acc[0] += 1.f;\n        const int next"),
     "changed its accumulator registers while a wgmma.mma_async"),
    (("    const AbCopy copy(A, M, K", "    if (tid == 5) return;\n    const AbCopy copy(A, M, K"),
     "exited without issuing"),
    # no barrier: a warpgroup reads the other's chunks before they land (NaN)
    (("        if (PROXY_FENCE) fence_proxy_async();\n        __syncthreads();",
      "        if (PROXY_FENCE) fence_proxy_async();"), RACE),
    # B stored unswizzled (wgmma reads it swizzled)
    (("((((n >> 3) ^ k) & 7) << 4)", "((((n >> 3)) & 7) << 4)"), None),
])
def test_a_broken_wgmma_kernel_fails(monkeypatch, rng, mutation, named):
    """hgemm_wgmma.cu runs on the host (cuda_host.h models wgmma.mma_async, its fence,
    groups and waits by the PTX ISA) and each deliberate bug either gets the PTX rule it
    breaks named (a stage refilled under an in-flight wgmma, a missing wgmma.fence or final
    wait, accumulators touched in flight, a thread that skips the warpgroup's wgmma; no
    barrier, by the racecheck) or makes the product wrong (a layout that disagrees with the
    descriptor)."""
    from .cuda_host import HOST_CUPY_SM90

    host_launchers(monkeypatch, HOST_CUPY_SM90)
    A = rng.uniform(-1, 1, (257, 520)).astype(np.float16)  # 9 k tiles: every stage reused
    B = rng.uniform(-1, 1, (520, 136)).astype(np.float16)
    _assert_broken(monkeypatch, "hgemm_wgmma.cu", mutation, named,
                   lambda: _cuda.hgemm_wgmma(A, B), A.astype(np.float64) @ B)


def test_the_h200_metadata_hazard_is_named_on_the_host(monkeypatch, rng):
    """mm24_wgmma.cu with one metadata register set rewritten while its wgmma.sp is in flight
    (META_REGS=1 without the wait_group 0) gave wrong products on an H200: the hardware reads
    sp-meta after the issue. The host run names it; both safe schemes pass; and the metadata
    words read by the wrong lanes make the product wrong."""
    from minigrad.kernels import compress_24

    from .cuda_host import HOST_CUPY_SM90
    from .kernels_testdata import random_24, rel_err

    host_launchers(monkeypatch, HOST_CUPY_SM90)
    W = random_24(rng, 257, 520)
    B = rng.uniform(-1, 1, (520, 136)).astype(np.float16)
    values, metadata = compress_24(W)
    want = W.astype(np.float64) @ B.astype(np.float64)
    for meta in (dict(), dict(META_REGS=1)):
        assert rel_err(_cuda.mm_24_wgmma(values, metadata, B, tiling=meta), want) < 1e-3
    with pytest.raises(RuntimeError, match="rewrote the sp-meta register"):
        _cuda.mm_24_wgmma(values, metadata, B, tiling=dict(META_REGS=1, META_WAIT0=0))
    _assert_broken(
        monkeypatch, "mm24_wgmma.cu",
        ("+ 2 * ((tid & 31) >> 2) + (tid & 1);", "+ 2 * ((tid & 31) >> 2) + ((tid >> 1) & 1);"),
        None, lambda: _cuda.mm_24_wgmma(values, metadata, B), want)
    # a zero word (nibbles i0 = i1 = 0) instead of the metadata: not a 2:4 pattern
    _assert_broken(
        monkeypatch, "mm24_wgmma.cu",
        ("set[kk] = sEp[stage * E_STAGE_WORDS + e_read_word(tid, kk)];", "set[kk] = 0u;"),
        "illegal 2:4 metadata nibble 0", lambda: _cuda.mm_24_wgmma(values, metadata, B), want)


# ------------------------------------------ SpMV and SpMM on drawn matrices, on the host

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_LENGTHS = st.one_of(
    st.lists(st.integers(0, 40), min_size=0, max_size=300),              # short rows
    st.lists(st.sampled_from([0, 0, 1, 3, 700, 2600]), min_size=1, max_size=40))  # long ones
_SCHEDULES = st.one_of(
    st.fixed_dictionaries({"method": st.just("vector"),
                           "threads_per_row": st.sampled_from([None, 2, 4, 8, 16, 32]),
                           "rows_per_group": st.sampled_from(ref.SPMV_ROWS_PER_GROUP),
                           "prefetch": st.booleans(),
                           "pipeline": st.sampled_from([None, False, True])}),
    st.fixed_dictionaries({"method": st.just("stream"),
                           "threads_per_row": st.sampled_from([None, 2, 32]),
                           "stream_nnz": st.sampled_from(ref.STREAM_NNZ_CHOICES)}),
    st.fixed_dictionaries({"method": st.sampled_from(["merge", None])}))


@settings(max_examples=25, deadline=None)
@given(lengths=_LENGTHS, n_cols=st.integers(1, 3000), dtype=st.sampled_from(["f4", "f8"]),
       schedule=_SCHEDULES, offset=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_spmv_launchers_equal_their_twins_bit_for_bit(lengths, n_cols, dtype, schedule,
                                                       offset, seed):
    """Any row lengths (none, empty rows, rows longer than a stream block or a merge tile),
    any schedule the launcher takes, aligned or offset values and columns: every row
    written, the twin of the kernel that ran bit for bit."""
    import minigrad.kernels as K

    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    indptr, indices, data = random_csr(rng, len(lengths), n_cols, lengths, dtype)
    x = rng.uniform(-1, 1, n_cols).astype(dtype)
    if offset:  # the scalar kernels (vector), and views one element in for every method
        buf_i, buf_d = np.empty(len(indices) + 1, np.int32), np.empty(len(data) + 1, dtype)
        buf_i[1:], buf_d[1:] = indices, data
        indices, data = buf_i[1:], buf_d[1:]
    n_rows, nnz = len(lengths), len(data)
    method = schedule["method"]
    if schedule.get("pipeline") and (schedule["rows_per_group"] != 1 or schedule["prefetch"]):
        schedule = dict(schedule, pipeline=False)
    with pytest.MonkeyPatch.context() as mp:
        host_launchers(mp)
        y = K.spmv_csr(indptr, indices, data, x, out=np.full(n_rows, np.nan, dtype),
                       **schedule)
        if method is None:
            method = ref.spmv_method_for(nnz, n_rows, lambda: int(np.diff(indptr).max()))
    G = schedule.get("threads_per_row") or ref.threads_per_row_for(nnz, n_rows, dtype)
    if method == "vector":
        aligned = _cuda._aligned(data) and _cuda._aligned(indices)
        want = ref.spmv_csr_vector(indptr, indices, data, x, threads_per_row=G,
                                   vectorized=aligned)
    elif method == "stream":
        want = ref.spmv_csr_stream(indptr, indices, data, x, threads_per_row=G)
    else:
        want = ref.spmv_csr_merge(indptr, indices, data, x)
    np.testing.assert_array_equal(y, want)


@settings(max_examples=15, deadline=None)
@given(lengths=_LENGTHS, n_cols=st.integers(1, 3000), N=st.sampled_from([1, 3, 4, 8, 130]),
       dtype=st.sampled_from(["f4", "f8"]), seed=st.integers(0, 2**32 - 1))
def test_spmm_launcher_equals_its_twin_bit_for_bit(lengths, n_cols, N, dtype, seed):
    """SpMM (one warp a row and 128-column strip; the 16-byte path when N % 4 == 0) on any
    row lengths: the twin's sums bit for bit."""
    import minigrad.kernels as K

    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    indptr, indices, data = random_csr(rng, len(lengths), n_cols, lengths, dtype)
    B = rng.uniform(-1, 1, (n_cols, N)).astype(dtype)
    with pytest.MonkeyPatch.context() as mp:
        host_launchers(mp)
        C = K.spmm_csr(indptr, indices, data, B, out=np.full((len(lengths), N), np.nan, dtype))
    np.testing.assert_array_equal(C, ref.spmm_csr(indptr, indices, data, B))


_WGMMA_CASES = st.sampled_from([
    ("dense", {}), ("dense", dict(BN=128)), ("dense", dict(BM=256, BN=128)),
    ("dense", dict(STAGES=3)), ("dense", dict(GROUP_M=1)),
    ("sparse", {}), ("sparse", dict(BN=128, BK=128)), ("sparse", dict(META_REGS=1)),
    ("sparse", dict(SP_SEL=1)), ("sparse", dict(BM=256, BN=128, STAGES=6))])


@settings(max_examples=20, deadline=None)
@given(M=st.integers(1, 300), N=st.integers(1, 300), K=st.integers(1, 400), case=_WGMMA_CASES,
       seed=st.integers(0, 2**32 - 1))
def test_wgmma_launchers_on_drawn_shapes_exactly(M, N, K, case, seed):
    """hgemm_wgmma and mm_24_wgmma (wgmma modelled, its hazards checked) on any shape up to a
    few tiles a side, with any tiling: small integers, so the product is exact in fp32 and
    the kernel's must equal it exactly (every output written, every k tile counted once)."""
    from minigrad.kernels import compress_24

    from .cuda_host import HOST_CUPY_SM90
    from .kernels_testdata import random_24

    kind, tiling = case
    rng = np.random.default_rng(seed)
    W = rng.integers(-3, 4, (M, K)).astype(np.float16)
    if kind == "sparse":
        W *= random_24(rng, M, K) != 0
    B = rng.integers(-3, 4, (K, N)).astype(np.float16)
    out = np.full((M, N), np.nan, np.float32)
    with pytest.MonkeyPatch.context() as mp:
        host_launchers(mp, HOST_CUPY_SM90)
        if kind == "dense":
            got = _cuda.hgemm_wgmma(W, B, out=out, tiling=tiling)
        else:
            got = _cuda.mm_24_wgmma(*compress_24(W), B, out=out, K=K, tiling=tiling)
    np.testing.assert_array_equal(got, W.astype(np.float64) @ B.astype(np.float64))


# ----------------------------- every tiling the GPU benchmark times, correct before it does

def _benchmark_tilings():
    import sys
    from pathlib import Path

    bench = str(Path(__file__).resolve().parents[2] / "benchmarks")
    sys.path.insert(0, bench)
    try:
        import gpu_kernels
    finally:
        sys.path.remove(bench)
    hgemm = {repr(t): t for t in gpu_kernels.HGEMM_TILINGS + gpu_kernels.HGEMM_WIDE_WARPS}
    return ([("hgemm", t) for t in hgemm.values()]
            + [("mm24", t) for t in gpu_kernels.MM24_TILINGS])


@pytest.mark.parametrize("kernel,tiling", _benchmark_tilings(),
                         ids=lambda v: v if isinstance(v, str) else
                         "-".join(f"{k}{w}" for k, w in v.items()))
def test_every_benchmarked_tiling_is_right_on_the_host(monkeypatch, rng, kernel, tiling):
    """benchmarks/gpu_kernels.py times these tile-macro variants of hgemm.cu and mm24.cu;
    a wrong one would cost a GPU session its CUDA context. Each gives the float64 product
    here, on a shape ragged against every tile (M 300, N 264, K 88 or 96), fp32 and 16-bit
    out."""
    from minigrad.kernels import compress_24

    from .kernels_testdata import random_24, rel_err

    host_launchers(monkeypatch)
    M, N = 300, 264
    if kernel == "hgemm":
        W = rng.uniform(-1, 1, (M, 88)).astype(np.float16)
    else:
        W = random_24(rng, M, 96)
    B = rng.uniform(-1, 1, (W.shape[1], N)).astype(np.float16)
    want = W.astype(np.float64) @ B.astype(np.float64)
    for out_dtype, tol in ((np.float32, 1e-3), (np.float16, 5e-3)):
        out = np.full((M, N), np.nan, out_dtype)
        if kernel == "hgemm":
            got = _cuda.hgemm(W, B, out=out, tiling=tiling)
        else:
            got = _cuda.mm_24(*compress_24(W), B, out=out, tiling=tiling)
        assert not np.isnan(got).any() and rel_err(got, want) < tol, (out_dtype, tiling)
