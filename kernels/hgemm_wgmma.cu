// hgemm_wgmma.cu -- dense fp16/bf16 GEMM on Hopper warpgroup tensor cores: wgmma.mma_async
// with both operands in shared memory (matrix descriptors, 128-byte swizzle), a multi-stage
// cp.async pipeline, fp32 accumulation. sm_90a only (guarded: other targets get a trap stub).
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
// Tiling (BN, STAGES, GROUP_M are -D macros; BM and BK are fixed)
//   CTA tile BM x BN = 128 x 256 (BN = 128 also supported), k tile BK = 64, STAGES = 4.
//   2 warpgroups (256 threads); warpgroup wg computes rows 64 wg .. 64 wg + 63 of the tile with
//   one wgmma m64nBNk16 per k16 step (4 per k tile), accumulators in registers (BN/2 floats
//   per thread). Shared memory per stage: A 128 x 64 halves (16 KiB) + B 64 x BN halves
//   (32 KiB at BN = 256): 192 KiB for 4 stages, plus 1 KiB to align the base to 1024 bytes.
//   Blocks walk the tiles in grouped order (GROUP_M tile rows at a time), as hgemm.cu.
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
// Pipeline (all 256 threads load and compute; no warp specialisation)
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
//   block 256 threads, grid ceil(M/128) * ceil(N/BN) (1-D), dynamic shared memory
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
#define PROXY_FENCE 1  // 0: no fence.proxy.async before the barrier (A/B timing only, see below)
#endif
#define BM 128
#define BK 64
#define THREADS 256                       // two warpgroups
#define A_STAGE_BYTES (BM * BK * 2)       // 16 KiB
#define B_STAGE_BYTES (BK * BN * 2)       // 32 KiB at BN = 256
#define SMEM_BYTES (STAGES * (A_STAGE_BYTES + B_STAGE_BYTES) + 1024)
#define A_CHUNKS (BK / 8)                 // 16-byte chunks per A row (8)
#define B_CHUNKS (BN / 8)                 // 16-byte chunks per B row (32)
#define A_RPI (THREADS / A_CHUNKS)        // A rows copied per round (32)
#define B_RPI (THREADS / B_CHUNKS)        // B rows copied per round (8)
#define A_IT (BM / A_RPI)                 // rounds per stage (4)
#define B_IT (BK / B_RPI)                 // (8)
// Descriptor strides (bytes). Overridable only to diagnose a layout mismatch on a GPU.
#ifndef A_LBO
#define A_LBO 16
#endif
#ifndef A_SBO
#define A_SBO 1024
#endif
#ifndef B_LBO
#define B_LBO (BK * 128)
#endif
#ifndef B_SBO
#define B_SBO 1024
#endif

static_assert(BN == 128 || BN == 256, "BN must be 128 or 256 (the wgmma N)");
static_assert(STAGES >= 3, "the pipeline keeps STAGES-2 tiles in flight");
static_assert(SMEM_BYTES <= 227 * 1024, "shared memory over the 227 KiB per-block limit");
static_assert(A_RPI % 8 == 0 && B_RPI % 8 == 0 && THREADS % B_CHUNKS == 0,
              "a copy round must move whole 8-row swizzle phases");

typedef unsigned long long u64;

// ---------------------------------------------------------------- layouts (host and device)
// These functions are the single definition of the shared-memory layout, the descriptors, the
// copy plan and the accumulator layout; the kernel uses them and the tests run them on the host.

// Byte offset of A element (m, k) inside one stage (K-major, 128B swizzle).
__host__ __device__ constexpr u32 a_tile_offset(int m, int k) {
    return (u32)(m * 128 + ((((k >> 3) ^ m) & 7) << 4) + ((k & 7) << 1));
}
// Byte offset of B element (k, n) inside one stage (N-major, 128B swizzle atoms 8 k x 64 n).
__host__ __device__ constexpr u32 b_tile_offset(int k, int n) {
    return (u32)((n >> 6) * (BK * 128) + k * 128 + ((((n >> 3) ^ k) & 7) << 4) + ((n & 7) << 1));
}
// PTX "Matrix Descriptor Format": bits 0-13 start address, 16-29 LBO, 32-45 SBO (each
// (x & 0x3FFFF) >> 4), 49-51 base offset (0 here), 62-63 swizzle mode (1 = 128B).
__host__ __device__ constexpr u64 desc_encode(u32 x) { return (u64)((x & 0x3FFFFu) >> 4); }
__host__ __device__ constexpr u64 wgmma_desc(u32 addr, u32 lbo, u32 sbo) {
    return desc_encode(addr) | (desc_encode(lbo) << 16) | (desc_encode(sbo) << 32) | (1ull << 62);
}
// Descriptors of k16 step kk of stage `stage`: A rows 64 wg .., B all BN columns.
__host__ __device__ constexpr u64 desc_a(u32 sA, int stage, int wg, int kk) {
    return wgmma_desc(sA + stage * A_STAGE_BYTES + wg * (64 * 128) + kk * 32, A_LBO, A_SBO);
}
__host__ __device__ constexpr u64 desc_b(u32 sB, int stage, int kk) {
    return wgmma_desc(sB + stage * B_STAGE_BYTES + kk * (16 * 128), B_LBO, B_SBO);
}
// Copy plan: round `it` of thread tid moves 8 halves at (row, col) of the tile to dst.
__host__ __device__ constexpr int a_copy_row(int tid, int it) { return tid / A_CHUNKS + it * A_RPI; }
__host__ __device__ constexpr int a_copy_col(int tid) { return tid % A_CHUNKS * 8; }
__host__ __device__ constexpr u32 a_copy_dst(int tid, int it) {
    return a_tile_offset(tid / A_CHUNKS, tid % A_CHUNKS * 8) + it * (A_RPI * 128);
}
__host__ __device__ constexpr int b_copy_row(int tid, int it) { return tid / B_CHUNKS + it * B_RPI; }
__host__ __device__ constexpr int b_copy_col(int tid) { return tid % B_CHUNKS * 8; }
__host__ __device__ constexpr u32 b_copy_dst(int tid, int it) {
    return b_tile_offset(tid / B_CHUNKS, tid % B_CHUNKS * 8) + it * (B_RPI * 128);
}
// Accumulator register i (0 .. BN/2-1) of thread tid -> (row, column) of the CTA tile.
__host__ __device__ constexpr int acc_row(int tid, int i) {
    return (tid >> 7) * 64 + ((tid >> 5) & 3) * 16 + ((tid & 31) >> 2) + 8 * ((i >> 1) & 1);
}
__host__ __device__ constexpr int acc_col(int tid, int i) { return (i >> 2) * 8 + (tid & 3) * 2 + (i & 1); }


// ------------------------------------------------------------------------ wgmma wrappers
// PTX ISA "Asynchronous Warpgroup Level Matrix Multiply-Accumulate": wgmma.fence,
// wgmma.mma_async, wgmma.commit_group, wgmma.wait_group; fence.proxy.async for generic-proxy
// shared-memory writes read by the async proxy.

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wgmma_wait() {
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
__device__ __forceinline__ void fence_proxy_async() {
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}
// Compiler-only fence on the accumulators (no instruction): keeps their reads and writes from
// moving across the wgmma issue / wait points (CUTLASS warpgroup_fence_operand).
template <int R>
__device__ __forceinline__ void fence_acc(float (&d)[R]) {
#pragma unroll
    for (int i = 0; i < R; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

// ---- begin generated: wgmma_model.wgmma_operand_macros() (checked by the tests)
#define WGMMA_D_REGS_128 \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
    "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, " \
    "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, " \
    "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, " \
    "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, " \
    "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, " \
    "%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, " \
    "%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}"
#define WGMMA_D_OPS_128(d) \
    "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
    "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
    "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
    "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), \
    "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), \
    "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), \
    "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), \
    "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), \
    "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), \
    "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), \
    "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), \
    "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), \
    "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), \
    "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), \
    "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), \
    "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
#define WGMMA_D_REGS_64 \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
    "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, " \
    "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, " \
    "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}"
#define WGMMA_D_OPS_64(d) \
    "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
    "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
    "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
    "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), \
    "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), \
    "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), \
    "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), \
    "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
// ---- end generated


// D(64 x N, fp32, registers) += A(64 x 16, smem, K-major) * B(16 x N, smem, N-major).
// Operands: d, a-desc, b-desc, scale-d (predicate: 1 = accumulate), imm-scale-a = 1,
// imm-scale-b = 1, imm-trans-a = 0 (K-major A), imm-trans-b = 1 (N-major B).
template <int N, bool IS_BF16>
__device__ __forceinline__ void wgmma_ss(float (&d)[N / 2], u64 da, u64 db) {
    static_assert(N == 256 || N == 128, "wgmma_ss: N = 128 or 256");
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
}

template <bool IS_BF16, int OUT>  // OUT: 0 fp32, 1 16-bit (same type as the inputs)
__device__ __forceinline__ void hgemm_wgmma_body(int M, int N, int K, const u16* __restrict__ A,
                                                 const u16* __restrict__ B, void* __restrict__ C) {
    extern __shared__ __align__(1024) unsigned char smem[];
    // The 128B swizzle pattern repeats every 1024 bytes of *address*: align the base.
    const u32 sA = (smem_u32(smem) + 1023u) & ~1023u;
    const u32 sB = sA + STAGES * A_STAGE_BYTES;

    const int tiles_m = (M + BM - 1) / BM, tiles_n = (N + BN - 1) / BN;
    int bm, bn;
    tile_coords(blockIdx.x, tiles_m, tiles_n, GROUP_M, bm, bn);
    const int m0 = bm * BM, n0 = bn * BN;
    const int tid = threadIdx.x, wg = tid >> 7;

    // ---- gmem -> smem copy plan, fixed for the whole k loop.
    const int a_r = a_copy_row(tid, 0), a_c = a_copy_col(tid);
    const int b_r = b_copy_row(tid, 0), b_c = b_copy_col(tid);
    const u16* a_src = A + (long long)(m0 + a_r) * K + a_c;   // + kt*BK + it*A_RPI*K
    const u16* b_src = B + (long long)b_r * N + n0 + b_c;     // + (kt*BK + it*B_RPI)*N
    const long long a_step = (long long)A_RPI * K, b_step = (long long)B_RPI * N;
    unsigned a_rows_ok = 0;
#pragma unroll
    for (int it = 0; it < A_IT; ++it) a_rows_ok |= (m0 + a_copy_row(tid, it) < M ? 1u : 0u) << it;
    const bool b_col_ok = n0 + b_c < N;

    auto load_stage = [&](int stage, int kt) {
        const u32 a = sA + stage * A_STAGE_BYTES, b = sB + stage * B_STAGE_BYTES;
        const bool a_k_ok = kt * BK + a_c < K;
        const u16* ap = a_src + kt * BK;
#pragma unroll
        for (int it = 0; it < A_IT; ++it) {
            const bool ok = a_k_ok && ((a_rows_ok >> it) & 1u);
            cp_async_16(a + a_copy_dst(tid, it), ok ? ap + it * a_step : A, ok);
        }
        const int k0 = kt * BK + b_r;
        const u16* bp = b_src + (long long)kt * BK * N;
#pragma unroll
        for (int it = 0; it < B_IT; ++it) {
            const bool ok = b_col_ok && k0 + it * B_RPI < K;
            cp_async_16(b + b_copy_dst(tid, it), ok ? bp + it * b_step : B, ok);
        }
    };

    float acc[BN / 2];
#pragma unroll
    for (int i = 0; i < BN / 2; ++i) acc[i] = 0.f;

    const int KT = (K + BK - 1) / BK;
#pragma unroll
    for (int s = 0; s < STAGES - 2; ++s) {
        if (s < KT) load_stage(s, s);
        cp_async_commit();
    }

    int rd = 0, wr = STAGES - 2;  // stage read by tile kt, stage refilled with tile kt+STAGES-2
    // Not unrolled: an unrolled copy lets ptxas place accumulator-defining code inside a wgmma
    // pipeline stage, and it then serialises every wgmma (ptxas info C7515; the tests check).
#pragma unroll 1
    for (int kt = 0; kt < KT; ++kt) {
        cp_async_wait<STAGES - 3>();  // this thread's copies of tile kt are complete
        if (PROXY_FENCE) fence_proxy_async();  // ... and visible to the async proxy (wgmma reads)
        __syncthreads();              // everyone's copies of tile kt; wgmma of tile kt-2 done

        fence_acc(acc);
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < BK / 16; ++kk)
            wgmma_ss<BN, IS_BF16>(acc, desc_a(sA, rd, wg, kk), desc_b(sB, rd, kk));
        wgmma_commit();

        const int next = kt + STAGES - 2;  // refill the stage tile kt-2 used
        if (next < KT) load_stage(wr, next);
        cp_async_commit();

        wgmma_wait<1>();  // tile kt-1's group is complete; tile kt's may still run
        fence_acc(acc);
        rd = rd + 1 == STAGES ? 0 : rd + 1;
        wr = wr + 1 == STAGES ? 0 : wr + 1;
    }
    wgmma_wait<0>();
    fence_acc(acc);
    cp_async_wait<0>();

    // ---- epilogue: registers (i, i+1) are columns c, c+1 of one row.
#pragma unroll
    for (int i = 0; i < BN / 2; i += 2) {
        const int row = m0 + acc_row(tid, i), col = n0 + acc_col(tid, i);
        if (row < M && col < N) {  // N % 8 == 0 and col even: col + 1 < N too
            const long long o = (long long)row * N + col;
            if (OUT == 0) {
                *reinterpret_cast<float2*>(reinterpret_cast<float*>(C) + o) = make_float2(acc[i], acc[i + 1]);
            } else {
                *reinterpret_cast<u32*>(reinterpret_cast<u16*>(C) + o) = pack2<IS_BF16>(acc[i], acc[i + 1]);
            }
        }
    }
}

// Throughput ceiling: the main loop's wgmma sequence (4 x m64nBNk16 per group, one group in
// flight behind the running one) on one resident shared-memory stage of fixed random halves.
__device__ __forceinline__ void wgmma_peak_body(float* out, int iters) {
    extern __shared__ __align__(1024) unsigned char smem[];
    const u32 sA = (smem_u32(smem) + 1023u) & ~1023u;
    const u32 sB = sA + A_STAGE_BYTES;
    for (int i = threadIdx.x; i < (A_STAGE_BYTES + B_STAGE_BYTES) / 4; i += THREADS) {
        u32 h = (u32)i * 2654435761u;
        h ^= h >> 15;
        const u32 v = ((h & 0x83FFu) | 0x3800u) | (((h >> 16) & 0x83FFu) | 0x3800u) << 16;  // +-[0.5, 1)
        asm volatile("st.shared.u32 [%0], %1;\n" ::"r"(sA + 4 * i), "r"(v) : "memory");
    }
    fence_proxy_async();
    __syncthreads();
    const int wg = threadIdx.x >> 7;
    float acc[BN / 2];
#pragma unroll
    for (int i = 0; i < BN / 2; ++i) acc[i] = 0.f;
#pragma unroll 1
    for (int it = 0; it < iters; ++it) {
        fence_acc(acc);
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < BK / 16; ++kk) wgmma_ss<BN, false>(acc, desc_a(sA, 0, wg, kk), desc_b(sB, 0, kk));
        wgmma_commit();
        wgmma_wait<1>();
        fence_acc(acc);
    }
    wgmma_wait<0>();
    fence_acc(acc);
    float s = 0.f;
#pragma unroll
    for (int i = 0; i < BN / 2; ++i) s += acc[i];
    out[blockIdx.x * THREADS + threadIdx.x] = s;
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
