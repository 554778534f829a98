// hgemm_wgmma.cu -- dense fp16/bf16 GEMM on Hopper warpgroup tensor cores: wgmma.mma_async
// with both operands in shared memory (matrix descriptors, 128-byte swizzle), a multi-stage
// cp.async pipeline, fp32 accumulation. sm_90a only (guarded: other targets get a trap stub;
// the tests' host run, CUDA_HOST_RUN, compiles the real body with wgmma modelled on the CPU).
//
// Math
//   C = A B,  A: M x K, B: K x N (fp16 or bf16), C: M x N (fp32, or the input type),
//   C[m, n] = sum_k A[m, k] B[k, n] accumulated in fp32, 16 k at a time (one wgmma per k16).
//
// Memory layout (global)
//   A row-major (lda = K), B row-major (ldb = N), C row-major (ldc = N); all 16-byte aligned.
//   Contract: K % 8 == 0 and N % 8 == 0 (whole 16-byte chunks); the launcher pads otherwise.
//   M, N, K need not be multiples of the tile: out-of-range chunks are zero-filled by
//   cp.async (src-size 0) and out-of-range outputs are not stored.
//
// Tiling (BM, BN, STAGES, GROUP_M are -D macros; BK is fixed)
//   CTA tile BM x BN = 128 x 256 (BN = 128 also supported), k tile BK = 64, STAGES = 4.
//   BM / 64 warpgroups (THREADS = 2 BM: 256 threads); warpgroup wg computes rows 64 wg ..
//   64 wg + 63 of the tile with one wgmma m64nBNk16 per k16 step (4 per k tile), accumulators
//   in registers (BN/2 floats per thread). Shared memory per stage: A BM x 64 halves (16 KiB at BM =
//   128) + B 64 x BN halves (32 KiB at BN = 256): 192 KiB for 4 stages, plus 1 KiB to align the
//   base to 1024 bytes. Blocks walk the tiles in grouped order (GROUP_M tile rows at a time),
//   as hgemm.cu.
//   BM = 256 (with BN = 128 only: 512 threads may hold at most 128 registers each, and BN/2 =
//   64 of them are accumulators) is 4 warpgroups on a 256 x 128 tile: the same 48 KiB per
//   stage for the same 4.2 MFLOP per k tile as 128 x 256. It exists as the dense kernel with
//   mm24_wgmma.cu's BM = 256 tiling, for the "same tiling" comparison (see there).
//
// Shared-memory layouts (byte offsets inside one stage; the stage bases are 1024-aligned)
//   A, K-major, 128B swizzle (PTX "K-major, 128-Byte swizzling"): row m is one 128-byte line
//     (64 k), 16-byte chunk c = k / 8 stored at chunk c ^ (m % 8):
//       a_tile_offset(m, k) = 128 m + 16 ((k / 8) ^ (m % 8)) + 2 (k % 8)
//     = hgemm.cu's swz<8>. Descriptor of warpgroup wg, step kk: start = stage + 8192 wg + 32 kk,
//     SBO = 1024 (8 rows to the next 8 rows), LBO unused for swizzled K-major (set to 16,
//     "assumed 1"), swizzle mode 1 (128B), base offset 0.
//   B, MN-major (N-major), 128B swizzle: swizzle atoms of 8 k rows x 64 n (1024 bytes); atom
//     column j = n / 64 holds n 64j .. 64j+63 for all BK k rows, 128 bytes per k row, chunk
//     (n % 64) / 8 stored at chunk ((n % 64) / 8) ^ (k % 8):
//       b_tile_offset(k, n) = (n / 64) (BK 128) + 128 k + 16 (((n % 64) / 8) ^ (k % 8)) + 2 (n % 8)
//     Descriptor of step kk: start = stage + 2048 kk (k rows 16 kk ..), LBO = BK 128 = 8192
//     (from one 64-wide n atom column to the next), SBO = 1024 (8 k rows to the next 8),
//     swizzle mode 1; the instruction's imm-trans-b = 1 selects N-major B.
//   Why N-major B (transpose bit) rather than a K-major copy of B: B is row-major K x N in
//   memory, i.e. exactly N-major; cp.async can store it into the N-major swizzle atoms with
//   16-byte chunks and no data reordering, while a K-major B would need a transpose through
//   registers. fp16/bf16 wgmma supports imm-trans-b (CUTLASS uses the same for row-major B).
//   minigrad.kernels.wgmma_model holds both layouts, the descriptor encoding and the ISA
//   address model of a descriptor; the tests check that they agree element by element.
//
// Thread -> data mapping
//   gmem -> smem (cp.async.cg, 16 bytes): A chunk (row tid / 8 + 32 it, col 8 (tid % 8)),
//     it = 0..3; B chunk (k row tid / (BN/8) + (256/(BN/8)) it, col 8 (tid % (BN/8))),
//     it = 0 .. BK / (256/(BN/8)) - 1. Destinations a_copy_dst / b_copy_dst (8 consecutive
//     threads write one 128-byte line: conflict-free).
//   Accumulators (PTX "wgmma .m64nNk16 register fragment layout for accumulator matrix D"):
//     register i of thread tid: row 64 (tid / 128) + 16 ((tid % 128) / 32) + (tid % 32) / 4
//     + 8 ((i / 2) % 2), column 8 (i / 4) + 2 (tid % 4) + (i % 2) (acc_row / acc_col).
//     The epilogue stores registers (i, i+1), i even, as one float2 / packed half2.
//
// Pipeline (all THREADS threads load and compute; no warp specialisation)
//   prologue: cp.async k tiles 0 .. STAGES-3, one commit group each.
//   k tile kt (stage kt % STAGES):
//     cp.async.wait_group STAGES-3 (this thread's part of tile kt has landed);
//     fence.proxy.async.shared::cta (make the generic-proxy cp.async writes visible to the
//       async proxy that wgmma reads through); __syncthreads (everyone's part of tile kt is
//       visible, and every warpgroup has finished the wgmma of tile kt-2 -- see below);
//     wgmma.fence; 4 x wgmma (k16 steps); wgmma.commit_group;
//     cp.async tile kt + STAGES-2 into stage (kt-2) % STAGES; commit;
//     wgmma.wait_group 1 (the wgmma group of tile kt-1 is complete, tile kt's may run on).
//   So one wgmma group is always queued behind the running one, the refill of a stage is
//   issued only after every warpgroup's wgmmas that read it completed (its wait_group 1 in
//   iteration kt-1 precedes the barrier of iteration kt), and STAGES-2 tiles are in flight.
//   (wgmma_model.check_pipeline replays this schedule against the PTX wait semantics.)
//   The proxy fence is what the PTX memory model asks for (wgmma reads shared memory through
//   the async proxy, cp.async writes through the generic one). It compiles to MEMBAR.ALL.CTA
//   + FENCE.VIEW.ASYNC.S; CUTLASS's cp.async + GMMA mainloops omit it. -DPROXY_FENCE=0 builds
//   the variant without it, for an A/B timing on a GPU (tests check both give A @ B).
//
// Launch configuration
//   block THREADS = 2 BM threads, grid ceil(M/BM) * ceil(N/BN) (1-D), dynamic shared memory
//   SMEM_BYTES = STAGES (BM BK + BK BN) 2 + 1024 (opt-in above 48 KiB).
//   Kernel names: hgemm_wgmma_<f16|bf16>_<f32|f16|bf16>; wgmma_peak_f16 (throughput ceiling:
//   the same wgmma on one resident smem stage, no loads).
//
// Reference
//   minigrad.kernels.reference.hgemm (k16 steps in order, fp32 accumulation);
//   minigrad.kernels.wgmma_model.simulate_hgemm_wgmma replays this file's copy plan,
//   descriptors, ISA address model, accumulator layout and epilogue in NumPy.

#include "tc_common.cuh"

#if defined(WGMMA_REQUIRE_SM90A) && defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
#error "hgemm_wgmma.cu needs the sm_90a target (NVRTC/nvcc --gpu-architecture=sm_90a)"
#endif

#ifndef BN
#define BN 256
#endif
#ifndef STAGES
#define STAGES 4
#endif
#ifndef GROUP_M
#define GROUP_M 8
#endif
#ifndef PROXY_FENCE
#define PROXY_FENCE 1  // 0: no fence.proxy.async before the barrier (A/B timing only, see above)
#endif
#ifndef BM
#define BM 128                            // CTA rows: 128, or 256 with BN = 128
#endif
#define BK 64
#define THREADS (2 * BM)                  // one warpgroup (128 threads) per 64 rows
#define MMA_K 16                          // k per wgmma (m64nBNk16)
#define A_ROW_BYTES 128                   // BK halves: one 128-byte swizzled line per row
#define A_SWZ_MODE 1                      // descriptor swizzle mode: 128B
#define A_STAGE_BYTES (BM * BK * 2)       // 16 KiB
#define SMEM_BYTES (STAGES * (A_STAGE_BYTES + B_STAGE_BYTES) + 1024)  // B_STAGE_BYTES: wgmma_common.cuh
#define A_CHUNKS (BK / 8)                 // 16-byte chunks per A row (8)
#define A_RPI (THREADS / A_CHUNKS)        // A rows copied per round (32)
#define A_IT (BM / A_RPI)                 // rounds per stage (4)
// Descriptor strides (bytes). Overridable only to diagnose a layout mismatch on a GPU.
#ifndef A_LBO
#define A_LBO 16
#endif
#ifndef A_SBO
#define A_SBO 1024
#endif

// Byte offset of A element (m, k) inside one stage (K-major, 128B swizzle). The B layout, the
// descriptors, the copy plan and the accumulator layout are wgmma_common.cuh's, shared with
// mm24_wgmma.cu; the tests run all of them on the host against wgmma_model.
__host__ __device__ constexpr u32 a_tile_offset(int m, int k) {
    return (u32)(m * 128 + ((((k >> 3) ^ m) & 7) << 4) + ((k & 7) << 1));
}

#include "wgmma_common.cuh"

#if defined(__CUDA_ARCH_FEAT_SM90_ALL) || defined(CUDA_HOST_RUN)

// D(64 x N, fp32, registers) += A(64 x 16, smem, K-major) * B(16 x N, smem, N-major).
// Operands: d, a-desc, b-desc, scale-d (predicate: 1 = accumulate), imm-scale-a = 1,
// imm-scale-b = 1, imm-trans-a = 0 (K-major A), imm-trans-b = 1 (N-major B).
template <int N, bool IS_BF16>
__device__ __forceinline__ void wgmma_ss(float (&d)[N / 2], u64 da, u64 db) {
    static_assert(N == 256 || N == 128, "wgmma_ss: N = 128 or 256");
#ifdef CUDA_HOST_RUN
    wgmma_host<N, IS_BF16>(d, da, db);  // tests/kernels/cuda_host.h: the instruction on the CPU
#else
    if constexpr (N == 256 && !IS_BF16) {
        asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
                     "wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16 " WGMMA_D_REGS_128
                     ", %128, %129, p, 1, 1, 0, 1;\n}\n"
                     : WGMMA_D_OPS_128(d)
                     : "l"(da), "l"(db), "r"(1));
    } else if constexpr (N == 256 && IS_BF16) {
        asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
                     "wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 " WGMMA_D_REGS_128
                     ", %128, %129, p, 1, 1, 0, 1;\n}\n"
                     : WGMMA_D_OPS_128(d)
                     : "l"(da), "l"(db), "r"(1));
    } else if constexpr (N == 128 && !IS_BF16) {
        asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                     "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 " WGMMA_D_REGS_64
                     ", %64, %65, p, 1, 1, 0, 1;\n}\n"
                     : WGMMA_D_OPS_64(d)
                     : "l"(da), "l"(db), "r"(1));
    } else {
        asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                     "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 " WGMMA_D_REGS_64
                     ", %64, %65, p, 1, 1, 0, 1;\n}\n"
                     : WGMMA_D_OPS_64(d)
                     : "l"(da), "l"(db), "r"(1));
    }
#endif
}

template <bool IS_BF16, int OUT>  // OUT: 0 fp32, 1 16-bit (same type as the inputs)
__device__ __forceinline__ void hgemm_wgmma_body(int M, int N, int K, const u16* __restrict__ A,
                                                 const u16* __restrict__ B, void* __restrict__ C) {
    extern __shared__ __align__(1024) unsigned char smem[];
    // The 128B swizzle pattern repeats every 1024 bytes of *address*: align the base.
    const u32 sA = (smem_u32(smem) + 1023u) & ~1023u;
    const u32 sB = sA + STAGES * A_STAGE_BYTES;

    int m0, n0;
    cta_origin(M, N, m0, n0);
    const int tid = threadIdx.x, wg = tid >> 7;
    const AbCopy copy(A, M, K, B, K, N, m0, n0, tid, sA, sB);  // A: M x K, BK columns a tile

    float acc[BN / 2];
#pragma unroll
    for (int i = 0; i < BN / 2; ++i) acc[i] = 0.f;

    const int KT = (K + BK - 1) / BK;
#pragma unroll
    for (int s = 0; s < STAGES - 2; ++s) {  // prologue: tiles 0 .. STAGES-3, a group each
        if (s < KT) copy.load(s, s);
        cp_async_commit();
    }
    wgmma_mainloop(
        acc, KT, copy,
        [&](int rd, auto) {  // the BK/16 k16 steps of the tile in stage rd
#pragma unroll
            for (int kk = 0; kk < BK / 16; ++kk)
                wgmma_ss<BN, IS_BF16>(acc, desc_a(sA, rd, wg, kk), desc_b(sB, rd, kk));
        },
        [](int, int) {}, [](int, auto) {});
    store_tile<IS_BF16, OUT>(acc, C, M, N, m0, n0, tid);
}

// Throughput ceiling: the main loop's wgmma sequence (4 x m64nBNk16 per group, one group in
// flight behind the running one) on one resident shared-memory stage of fixed random halves.
__device__ __forceinline__ void wgmma_peak_body(float* out, int iters) {
    const u32 sA = peak_stage(), sB = sA + A_STAGE_BYTES;
    const int wg = threadIdx.x >> 7;
    peak_loop(out, iters, [&](float (&acc)[BN / 2]) {
#pragma unroll
        for (int kk = 0; kk < BK / 16; ++kk) wgmma_ss<BN, false>(acc, desc_a(sA, 0, wg, kk), desc_b(sB, 0, kk));
    });
}

#define HGEMM_WGMMA_KERNEL(NAME, IS_BF16, OUT)                                                  \
    extern "C" __global__ void __launch_bounds__(THREADS, 1)                                    \
        NAME(int M, int N, int K, const u16* A, const u16* B, void* C) {                        \
        hgemm_wgmma_body<IS_BF16, OUT>(M, N, K, A, B, C);                                       \
    }
extern "C" __global__ void __launch_bounds__(THREADS, 1) wgmma_peak_f16(float* out, int iters) {
    wgmma_peak_body(out, iters);
}

#else  // not sm_90a: the kernels exist (same names and signatures) but trap if launched.

#define HGEMM_WGMMA_KERNEL(NAME, IS_BF16, OUT)                                                  \
    extern "C" __global__ void __launch_bounds__(THREADS, 1)                                    \
        NAME(int, int, int, const u16*, const u16*, void*) {                                    \
        __trap();                                                                               \
    }
extern "C" __global__ void __launch_bounds__(THREADS, 1) wgmma_peak_f16(float*, int) { __trap(); }

#endif

HGEMM_WGMMA_KERNEL(hgemm_wgmma_f16_f32, false, 0)
HGEMM_WGMMA_KERNEL(hgemm_wgmma_f16_f16, false, 1)
HGEMM_WGMMA_KERNEL(hgemm_wgmma_bf16_f32, true, 0)
HGEMM_WGMMA_KERNEL(hgemm_wgmma_bf16_bf16, true, 1)
