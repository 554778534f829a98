// mm24_wgmma.cu -- 2:4 structured-sparse x dense GEMM on Hopper warpgroup sparse tensor cores:
// wgmma.mma_async.sp with the compressed sparse operand and B in shared memory (descriptors),
// the metadata in registers; the sparse twin of hgemm_wgmma.cu with the same CTA tiling, copy
// pipeline, B path and epilogue. sm_90a only (other targets get a trap stub; the tests' host
// run, CUDA_HOST_RUN, compiles the real body with wgmma.sp modelled on the CPU).
//
// Math
//   C = W B,  W: M x K with at most 2 nonzeros in every aligned group of 4 along K (given as
//   compress_24's values + metadata), B: K x N (fp16 or bf16), C: M x N (fp32 or the input
//   type); fp32 accumulation, 32 logical k per wgmma.sp (k32 steps in order).
//
// Memory layout (global; produced by compress_24 -- the same arrays mm24.cu reads)
//   Kp = K rounded up to 32, KC = Kp / 2, KS = Kp / 32, MT = ceil(M / 16).
//   values V: M x KC row-major; group G of row m keeps its two entries at columns 2G, 2G+1.
//   metadata E: uint32[MT][KS][16]; word 2g + t (g = 0..7, t = 0, 1) of block (mt, ks) holds
//     row 16 mt + g in bits 0-15 and row 16 mt + g + 8 in bits 16-31, one nibble per group
//     8 ks + 4 t + j (j = 0..3) at bits 4j (+16), nibble = (i1 << 2) | i0.
//   That word is, unchanged, the wgmma.sp metadata register of thread 4g + t (and 4g + t + 2)
//   of the warp that covers rows 16 mt ..: PTX ISA 9.7.15.6.2 "Each warp in the warpgroup
//   provides sparsity information for 16 rows of matrix A" (warp %warpid % 4 = w: rows 16w ..
//   16w + 15), 9.7.15.6.2.1 Figure "Sparse WGMMA .m64nNk32 metadata layout for .f16/.bf16"
//   (the image of mma.sp m16n8k32's Figure "Sparse MMA .m16n8k32 metadata layout"), and
//   9.7.15.6.1 "the sparsity selector must be either 0 (threads T0, T1) or 1 (threads T2,
//   T3)". CUTLASS's ELayout_64x32 (thread (t%2, g, warp) -> rows 16 warp + g (+8), k
//   16 (t%2) + 0..15; T2/T3 stride 0) is the same map. So no conversion: each thread loads
//   one word per k32 step. Threads t = 2, 3 load the duplicates of t = 0, 1, so sparsity
//   selector 0 and 1 read the same words (SP_SEL, default 0).
//   B: K x N row-major (N % 8 == 0; the launcher pads), C: M x N row-major.
//
// Tiling (BM, BN, BK, STAGES, GROUP_M are -D macros) -- hgemm_wgmma.cu's CTA tiling
//   CTA tile BM x BN = 128 x 256 (BN = 128 also), logical k tile BK = 64 (BK = 128 also, with
//   BN = 128 for shared memory), STAGES = 4, BM / 64 warpgroups (THREADS = 2 BM: 256 threads);
//   warpgroup wg computes rows 64 wg .. 64 wg + 63 with one wgmma.sp m64nBNk32 per k32 step
//   (BK/32 per k tile), BN/2 fp32 accumulators per thread. Shared memory per stage: A BM x BK/2
//   kept halves (8 KiB at BM 128, BK 64), B BK x BN halves (32 KiB), metadata BM/16 x BK/32 x
//   16 words (1 KiB); 4 stages = 164 KiB + 1 KiB alignment pad. Grouped tile order as
//   hgemm_wgmma.cu.
//   BM = 256, BN = 128 (4 warpgroups, 512 threads of at most 128 registers, 64 of them
//   accumulators) is the tile shape for a 2:4 A. Neither kernel reaches its tensor-core peak
//   from cp.async loads: on the H200 the dense 128 x 256 kernel (48 KiB a k tile) ran 1.33x
//   faster than 128 x 128 (32 KiB for half the flops), i.e. in proportion to the bytes each
//   flop costs, so both are bound by the L2 -> shared-memory traffic, not by the math. A CTA
//   tile whose rows are sparse costs, per k tile of 2 BM BN 64 flops, BM BK/2 2 (A) + BK BN 2
//   (B) + BM BK/8 (metadata) bytes: 41 KiB at 128 x 256 but 34 KiB at 256 x 128, while the
//   dense kernel pays 48 KiB at either shape. So 256 x 128 is the "same tiling" at which a
//   2:4 A saves most; 256 x 256 would need 256 accumulators a thread.
//
// Shared-memory layouts (byte offsets inside one stage; stage bases are 1024-aligned)
//   A (kept values), K-major, swizzled rows of BK bytes (BK/2 halves): BK = 64 -> 64-byte
//     swizzle (descriptor mode 2), BK = 128 -> 128-byte swizzle (mode 1), i.e. the canonical
//     K-major layout of the compressed M x K/2 matrix (PTX ISA 9.7.15.6: "the MxK matrix A is
//     packed into MxK/2 elements"; CUTLASS Layout_K_SW64_SpAtom = the dense SW64 atom of the
//     packed values). The swizzle XORs address bits [4, 4+b) with bits [7, 7+b), b = 2 (64B)
//     or 3 (128B):  a_tile_offset(m, c) = swz(m BK + 2 c),  c = kept column 0 .. BK/2-1.
//     Descriptor of warpgroup wg, k32 step kk: start = stage + wg 64 BK + 32 kk (16 kept
//     halves = 32 bytes per step, inside the swizzled row, as hgemm_wgmma's A), SBO = 8 BK
//     (8 rows to the next 8), LBO = 16 (unused for swizzled K-major), base offset 0.
//   B: exactly hgemm_wgmma.cu's N-major 128B-swizzle layout (b_tile_offset), descriptor of
//     k32 step kk: start = stage + 4096 kk (32 k rows), LBO = BK 128, SBO = 1024, imm-trans-b 1.
//   E: the stage's metadata words in global order: word ((mt * BK/32 + ks) * 16 + w) for the
//     tile's m16 block mt (0..7) and k32 step ks.
//
// Thread -> data mapping
//   gmem -> smem (cp.async.cg, 16 bytes): A chunk (row tid / (BK/16) + (256 / (BK/16)) it,
//     kept column 8 (tid % (BK/16))); B as hgemm_wgmma.cu; E: thread tid < 32 BK/32 copies
//     chunk tid (4 words) of the stage: m16 block tid / (4 BK/32), k32 step (tid / 4) % (BK/32),
//     words 4 (tid % 4) ..; m16 blocks past MT-1 and k32 blocks past KS-1 re-read the last one
//     (their values are zero-filled, and any legal nibble works; a zero word would be an
//     illegal pattern, so metadata is never zero-filled).
//   metadata register of thread tid for step kk: word ((tid / 32) * BK/32 + kk) * 16
//     + 2 ((tid % 32) / 4) + tid % 2 of the stage (warp tid/32 of the CTA = m16 block).
//   Accumulators and epilogue: hgemm_wgmma.cu's (acc_row / acc_col; PTX: the sparse D
//     fragments "are the same as in case of wgmma.mma_async.m64nNk32").
//
// Pipeline: hgemm_wgmma.cu's for A/B (cp.async.wait_group STAGES-3, fence.proxy.async,
//   __syncthreads, wgmma.fence, BK/32 wgmma.sp, commit, refill the stage of tile kt-2,
//   wgmma.wait_group 1). The metadata of tile t is copied one k tile earlier than its A/B
//   (in the group of A/B tile t-1, into the metadata area of stage t % STAGES), so tile kt+1's
//   words are visible after iteration kt's barrier and each thread loads its BK/32 words into
//   registers at the *end* of iteration kt, after wgmma.wait_group 1 (tile 0's after a
//   prologue wait + barrier). Loading them between the barrier and the wgmmas, or under a
//   branch, makes ptxas serialise every wgmma (C7515: tests check the ptxas log).
//   The hardware reads a wgmma.sp's sp-meta register after issue (H200, 2026-11-26), so the
//   load must not rewrite a register an in-flight group still reads: META_REGS=1 waits for
//   every group first (wgmma.wait_group 0); META_REGS=2 (default since 2026-11-27: 2-4%
//   faster at 4096^3 on four H200 runs, 1-7% at 8192^3 on two of three) alternates two
//   register sets by k tile instead (see META_REGS below). wgmma_model.check_pipeline(metadata=True)
//   replays the shared-memory side of this schedule.
//
// Launch configuration
//   block THREADS = 2 BM threads, grid ceil(M/BM) * ceil(N/BN) (1-D), dynamic shared memory
//   SMEM_BYTES.
//   Kernel names: mm24_wgmma_<f16|bf16>_<f32|f16|bf16>(M, N, K, Kp, V, E, B, C) (mm24.cu's
//   signature); wgmma_sp_peak_f16(out, iters) (the same wgmma.sp sequence on one resident
//   stage, no loads: the throughput ceiling).
//
// Reference
//   minigrad.kernels.reference.mm_24 (k32 steps in order, fp32 accumulation);
//   minigrad.kernels.wgmma_model.simulate_mm24_wgmma replays this file's copy plan,
//   descriptors, ISA address model, metadata registers, accumulator layout and epilogue.

#include "tc_common.cuh"

#if defined(WGMMA_REQUIRE_SM90A) && defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
#error "mm24_wgmma.cu needs the sm_90a target (NVRTC/nvcc --gpu-architecture=sm_90a)"
#endif

#ifndef BN
#define BN 256
#endif
#ifndef BK
#define BK 64
#endif
#ifndef STAGES
#define STAGES 4
#endif
#ifndef GROUP_M
#define GROUP_M 8
#endif
#ifndef PROXY_FENCE
#define PROXY_FENCE 1  // 0: no fence.proxy.async before the barrier (A/B timing only)
#endif
// The sp-meta register of a wgmma.sp is read after the instruction issues (measured on an
// H200: a register rewritten while its wgmma is in flight gives wrong products, see the
// Pipeline note), so a register may not be rewritten before the wait that retires its group.
#ifndef META_REGS
#define META_REGS 2    // 2: two sets, alternating by k tile, no extra wait
#endif                 // 1: one register set, rewritten after wgmma.wait_group 0 (META_WAIT0)
#ifndef META_WAIT0
#define META_WAIT0 (META_REGS == 1)  // 1: wgmma.wait_group 0 before the metadata load
#endif
#ifndef SP_SEL
#define SP_SEL 0       // sparsity selector (0: threads T0,T1; 1: T2,T3 -- both hold the words)
#endif
#ifndef BM
#define BM 128                               // CTA rows: 128, or 256 with BN = 128
#endif
#define THREADS (2 * BM)                     // one warpgroup (128 threads) per 64 rows
#define MMA_K 32                             // logical k per wgmma.sp (m64nBNk32)
#define KSTEPS (BK / 32)                     // wgmma.sp k32 steps per k tile
#define A_ROW_BYTES BK                       // BK/2 kept halves per row
#define A_SWZ_BITS (BK == 128 ? 3 : 2)       // log2(16-byte chunks per swizzled row)
#define A_SWZ_MODE (BK == 128 ? 1 : 2)       // descriptor bits 62-63: 1 = 128B, 2 = 64B
#define A_STAGE_BYTES (BM * BK)              // 8 KiB at BK = 64
#define E_STAGE_WORDS (BM / 16 * KSTEPS * 16)
#define E_STAGE_BYTES (E_STAGE_WORDS * 4)    // 1 KiB at BK = 64
#define E_CHUNKS (E_STAGE_WORDS / 4)         // 16-byte metadata chunks per stage (64)
#define SMEM_BYTES (STAGES * (A_STAGE_BYTES + B_STAGE_BYTES + E_STAGE_BYTES) + 1024)  // B: wgmma_common.cuh
#define A_CHUNKS (BK / 16)                   // 16-byte chunks per A row (4)
#define A_RPI (THREADS / A_CHUNKS)           // A rows copied per round (64)
#define A_IT (BM / A_RPI)                    // rounds per stage (2)
// Descriptor strides (bytes). Overridable only to diagnose a layout mismatch on a GPU.
#ifndef A_LBO
#define A_LBO 16
#endif
#ifndef A_SBO
#define A_SBO (8 * A_ROW_BYTES)
#endif
#define MM24W_STR_(x) #x
#define MM24W_STR(x) MM24W_STR_(x)

static_assert(BK == 64 || BK == 128, "BK must be 64 (64B-swizzled A rows) or 128 (128B)");
static_assert(SP_SEL == 0 || SP_SEL == 1, "the f16/bf16 sparsity selector is 0 or 1");
static_assert(META_REGS == 1 || META_REGS == 2, "META_REGS: 1 or 2 metadata register sets");
static_assert(E_CHUNKS % 32 == 0 && E_CHUNKS <= THREADS, "metadata copy: whole warps, one round");

// ---------------------------------------------------------------- layouts (host and device)
// The compressed A layout and the metadata copy plan / registers; the B layout, descriptors,
// copy plans and accumulator layout are wgmma_common.cuh's (hgemm_wgmma.cu's). The tests run
// all of them on the host against wgmma_model.

// 16-byte-chunk swizzle of a byte offset (stage bases are 1024-aligned): bits [4, 4+b) ^=
// bits [7, 7+b) -- Swizzle<3,4,3> for 128B, Swizzle<2,4,3> for 64B.
template <int BITS>
__host__ __device__ constexpr u32 swz_bytes(u32 x) {
    return x ^ (((x >> 7) & ((1u << BITS) - 1u)) << 4);
}
// Byte offset of kept value (m, c) of A (c = 0 .. BK/2-1) inside one stage.
__host__ __device__ constexpr u32 a_tile_offset(int m, int c) {
    return swz_bytes<A_SWZ_BITS>((u32)(m * A_ROW_BYTES + 2 * c));
}

#include "wgmma_common.cuh"

// Metadata chunk tid (< E_CHUNKS) of a stage: its m16 block (in the tile), k32 step and first
// word; the global word it copies from (MT m16 blocks, KS k32 blocks, clamped) and its
// destination (byte offset in the stage's metadata area).
__host__ __device__ constexpr int e_copy_mt(int tid) { return tid / (4 * KSTEPS); }
__host__ __device__ constexpr int e_copy_ks(int tid) { return tid / 4 % KSTEPS; }
__host__ __device__ constexpr int e_copy_word(int tid) { return 4 * (tid % 4); }
__host__ __device__ constexpr int imin(int a, int b) { return a < b ? a : b; }
__host__ __device__ constexpr long long e_copy_src(int tid, int m0, int kt, int MT, int KS) {
    return ((long long)imin(m0 / 16 + e_copy_mt(tid), MT - 1) * KS
            + imin(kt * KSTEPS + e_copy_ks(tid), KS - 1)) * 16 + e_copy_word(tid);
}
__host__ __device__ constexpr u32 e_copy_dst(int tid) { return 16u * tid; }
// Word (index into the stage's metadata area) that thread tid passes as sp-meta in step kk.
__host__ __device__ constexpr int e_read_word(int tid, int kk) {
    return ((tid >> 5) * KSTEPS + kk) * 16 + 2 * ((tid & 31) >> 2) + (tid & 1);
}


#if defined(__CUDA_ARCH_FEAT_SM90_ALL) || defined(CUDA_HOST_RUN)

// D(64 x N, fp32, registers) += A(64 x 32, 2:4 sparse: 64 x 16 kept values in smem, K-major,
// + metadata e) * B(32 x N, smem, N-major). PTX ISA 9.7.15.6.3 operand order: d, a-desc,
// b-desc, sp-meta, sp-sel (immediate), scale-d (predicate: 1 = accumulate), imm-scale-a = 1,
// imm-scale-b = 1, imm-trans-a = 0 (K-major A), imm-trans-b = 1 (N-major B).
template <int N, bool IS_BF16>
// (e by reference: the host run of the tests checks that the register is not rewritten while
// the instruction is in flight; inlined, it is the same register operand.)
__device__ __forceinline__ void wgmma_sp_ss(float (&d)[N / 2], u64 da, u64 db, const u32& e) {
    static_assert(N == 256 || N == 128, "wgmma_sp_ss: N = 128 or 256");
#ifdef CUDA_HOST_RUN
    wgmma_sp_host<N, IS_BF16>(d, da, db, e, SP_SEL);  // tests/kernels/cuda_host.h
#else
    if constexpr (N == 256 && !IS_BF16) {
        asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %131, 0;\n"
                     "wgmma.mma_async.sp.sync.aligned.m64n256k32.f32.f16.f16 " WGMMA_D_REGS_128
                     ", %128, %129, %130, " MM24W_STR(SP_SEL) ", p, 1, 1, 0, 1;\n}\n"
                     : WGMMA_D_OPS_128(d)
                     : "l"(da), "l"(db), "r"(e), "r"(1));
    } else if constexpr (N == 256 && IS_BF16) {
        asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %131, 0;\n"
                     "wgmma.mma_async.sp.sync.aligned.m64n256k32.f32.bf16.bf16 " WGMMA_D_REGS_128
                     ", %128, %129, %130, " MM24W_STR(SP_SEL) ", p, 1, 1, 0, 1;\n}\n"
                     : WGMMA_D_OPS_128(d)
                     : "l"(da), "l"(db), "r"(e), "r"(1));
    } else if constexpr (N == 128 && !IS_BF16) {
        asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %67, 0;\n"
                     "wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.f16.f16 " WGMMA_D_REGS_64
                     ", %64, %65, %66, " MM24W_STR(SP_SEL) ", p, 1, 1, 0, 1;\n}\n"
                     : WGMMA_D_OPS_64(d)
                     : "l"(da), "l"(db), "r"(e), "r"(1));
    } else {
        asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %67, 0;\n"
                     "wgmma.mma_async.sp.sync.aligned.m64n128k32.f32.bf16.bf16 " WGMMA_D_REGS_64
                     ", %64, %65, %66, " MM24W_STR(SP_SEL) ", p, 1, 1, 0, 1;\n}\n"
                     : WGMMA_D_OPS_64(d)
                     : "l"(da), "l"(db), "r"(e), "r"(1));
    }
#endif
}

template <bool IS_BF16, int OUT>  // OUT: 0 fp32, 1 16-bit (same type as the inputs)
__device__ __forceinline__ void mm24_wgmma_body(int M, int N, int K, int Kp, const u16* __restrict__ V,
                                                const u32* __restrict__ E, const u16* __restrict__ B,
                                                void* __restrict__ C) {
    extern __shared__ __align__(1024) unsigned char smem[];
    // The swizzle patterns repeat every 512 / 1024 bytes of *address*: align the base.
    const u32 s0 = smem_u32(smem);
    const u32 sA = (s0 + 1023u) & ~1023u;
    const u32 sB = sA + STAGES * A_STAGE_BYTES;
    const u32 sE = sB + STAGES * B_STAGE_BYTES;
    const u32* sEp = reinterpret_cast<const u32*>(smem + (sE - s0));

    const int KC = Kp / 2, MT = (M + 15) / 16, KS = Kp / 32;
    int m0, n0;
    cta_origin(M, N, m0, n0);
    const int tid = threadIdx.x, wg = tid >> 7;
    const AbCopy copy(V, M, KC, B, K, N, m0, n0, tid, sA, sB);  // A: M x KC kept, BK/2 a tile
    const bool e_copies = tid < E_CHUNKS;  // whole warps

    // A and B of tile kt go to stage kt % STAGES; its metadata is copied one k tile earlier
    // (with A/B of tile kt-1, to the metadata area of the same stage kt % STAGES), so that the
    // words of tile kt+1 are visible after the barrier of iteration kt and can be loaded into
    // registers at the end of that iteration, after wgmma.wait_group -- not between the barrier
    // and the wgmmas (a shared-memory load there makes ptxas serialise the wgmmas, C7515).
    auto load_e = [&](int stage, int kt) {  // always a real (clamped) source: never zero-filled
        if (e_copies)
            cp_async_16(sE + stage * E_STAGE_BYTES + e_copy_dst(tid), E + e_copy_src(tid, m0, kt, MT, KS), true);
    };
    // This thread's metadata registers (sp-meta): set P % META_REGS for the tiles of phase P.
    u32 e[META_REGS][KSTEPS];
    auto read_e = [&](int stage, u32 (&set)[KSTEPS]) {
#pragma unroll
        for (int kk = 0; kk < KSTEPS; ++kk) set[kk] = sEp[stage * E_STAGE_WORDS + e_read_word(tid, kk)];
    };

    float acc[BN / 2];
#pragma unroll
    for (int i = 0; i < BN / 2; ++i) acc[i] = 0.f;

    const int KT = (Kp + BK - 1) / BK;
    // prologue: group s = A/B of tile s + metadata of tile s+1 (group 0 also tile 0's).
    if (KT > 0) load_e(0, 0);
#pragma unroll
    for (int s = 0; s < STAGES - 2; ++s) {
        if (s < KT) copy.load(s, s);
        if (s + 1 < KT) load_e(s + 1, s + 1);
        cp_async_commit();
    }
    cp_async_wait<STAGES - 3>();  // group 0: tile 0's metadata
    __syncthreads();
    read_e(0, e[0]);  // (KT == 0: unused)

    wgmma_mainloop<META_REGS>(
        acc, KT, copy,
        [&](int rd, auto phase) {  // the KSTEPS k32 steps of the tile in stage rd
            constexpr int P = decltype(phase)::value;
#pragma unroll
            for (int kk = 0; kk < KSTEPS; ++kk)
                wgmma_sp_ss<BN, IS_BF16>(acc, desc_a(sA, rd, wg, kk), desc_b(sB, rd, kk), e[P][kk]);
        },
        load_e,  // tile kt+STAGES-1's metadata, into the area that held tile kt-1's
        [&](int rd, auto phase) {  // after tile kt (phase P): load tile kt+1's, set (P+1) % REGS
            constexpr int Q = (decltype(phase)::value + 1) % META_REGS;
            if (META_WAIT0) wgmma_wait<0>();  // no wgmma in flight: set Q is free
            // Set Q was read by tile kt-1's group, retired by the wait_group 1 just done. Using
            // it here keeps it live until now, so that the compiler cannot give its registers
            // to set P (tile kt, in flight) -- keep_reg emits nothing, its operand is the point.
#pragma unroll
            for (int kk = 0; kk < KSTEPS; ++kk) keep_reg(e[Q][kk]);
            read_e(rd, e[Q]);  // metadata of tile kt+1 (landed: group kt, barrier kt; stale after the last)
        });
    store_tile<IS_BF16, OUT>(acc, C, M, N, m0, n0, tid);
}

// Throughput ceiling: the main loop's wgmma.sp sequence (BK/32 x m64nBNk32 per group, one
// group in flight behind the running one) on one resident stage of fixed random halves and
// legal metadata.
__device__ __forceinline__ void wgmma_sp_peak_body(float* out, int iters) {
    const u32 sA = peak_stage(), sB = sA + A_STAGE_BYTES;
    const int wg = threadIdx.x >> 7;
    const u32 e = 0x84ED9C84u;  // legal nibbles (i0 < i1): 4 8 C 9 D E 4 8
    peak_loop(out, iters, [&](float (&acc)[BN / 2]) {
#pragma unroll
        for (int kk = 0; kk < KSTEPS; ++kk) wgmma_sp_ss<BN, false>(acc, desc_a(sA, 0, wg, kk), desc_b(sB, 0, kk), e);
    });
}

#define MM24_WGMMA_KERNEL(NAME, IS_BF16, OUT)                                                    \
    extern "C" __global__ void __launch_bounds__(THREADS, 1)                                      \
        NAME(int M, int N, int K, int Kp, const u16* V, const u32* E, const u16* B, void* C) {    \
        mm24_wgmma_body<IS_BF16, OUT>(M, N, K, Kp, V, E, B, C);                                   \
    }
extern "C" __global__ void __launch_bounds__(THREADS, 1) wgmma_sp_peak_f16(float* out, int iters) {
    wgmma_sp_peak_body(out, iters);
}

#else  // not sm_90a: the kernels exist (same names and signatures) but trap if launched.

#define MM24_WGMMA_KERNEL(NAME, IS_BF16, OUT)                                                    \
    extern "C" __global__ void __launch_bounds__(THREADS, 1)                                      \
        NAME(int, int, int, int, const u16*, const u32*, const u16*, void*) {                     \
        __trap();                                                                                 \
    }
extern "C" __global__ void __launch_bounds__(THREADS, 1) wgmma_sp_peak_f16(float*, int) { __trap(); }

#endif

MM24_WGMMA_KERNEL(mm24_wgmma_f16_f32, false, 0)
MM24_WGMMA_KERNEL(mm24_wgmma_f16_f16, false, 1)
MM24_WGMMA_KERNEL(mm24_wgmma_bf16_f32, true, 0)
MM24_WGMMA_KERNEL(mm24_wgmma_bf16_bf16, true, 1)
