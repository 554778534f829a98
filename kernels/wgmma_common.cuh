// wgmma_common.cuh -- what the two Hopper warpgroup-MMA GEMMs share: hgemm_wgmma.cu (dense,
// wgmma.mma_async m64nNk16) and mm24_wgmma.cu (2:4 sparse, wgmma.mma_async.sp m64nNk32) have
// the same CTA tiling (BM x BN, BM/64 warpgroups), the same B path (N-major 128B-swizzled stage,
// cp.async copy plan, descriptor), the same pipeline and the same epilogue; only the A operand
// (dense K-major rows vs compressed kept values + metadata) and the instruction differ.
// minigrad.kernels.wgmma_model is the NumPy model of every function here; the tests compare it
// with these functions compiled for the host and with the kernels' ptxas reports.
//
// Include it after tc_common.cuh (u32/u16, cp.async, pack2, tile_coords) and after the
// kernel's own tile macros and A layout (kernel_source inlines one level of our headers, so
// this header includes nothing itself). The including file defines:
//   BM, BN, BK, THREADS, STAGES, GROUP_M, PROXY_FENCE   tiling (BM 128 or 256, THREADS 2 BM)
//   MMA_K                  k extent of one instruction: k rows of B it reads (16 or 32)
//   A_ROW_BYTES            bytes of one A row of a stage (128 dense; BK sparse)
//   A_SWZ_MODE             A's descriptor swizzle mode (1 = 128B, 2 = 64B)
//   A_STAGE_BYTES, A_CHUNKS, A_RPI, A_IT, A_LBO, A_SBO   A stage size, A copy plan, strides
//   SMEM_BYTES             dynamic shared memory of the GEMM kernel
//   a_tile_offset(m, c)    byte offset of A element (m, c) (a kept value, for 2:4) in a stage
//
// PTX ISA sections followed (ISA 8.x, 9.7.15 "Asynchronous Warpgroup Level Matrix
// Multiply-Accumulate Instructions"):
//   9.7.15.5.1.2   "Shared Memory Matrix Layout": MN-major 128B swizzle atoms (B)
//   9.7.15.5.1.2.2 "Matrix Descriptor Format" (wgmma_desc)
//   9.7.15.5.1.1   "Register Fragments": accumulator D of m64nNk16 (acc_row / acc_col; the
//                  sparse m64nNk32 D fragments are the same, 9.7.15.6.2.1)
//   "wgmma.fence", "wgmma.commit_group", "wgmma.wait_group" (same chapter), and the memory
//   consistency model's "membar / fence" for fence.proxy.async (generic -> async proxy)
#pragma once

// ------------------------------------------------------------------------- B path macros
// B (K x N row-major in global) is N-major in shared memory: swizzle atoms of 8 k rows x
// 64 n (1024 bytes); atom column j = n / 64 holds n 64j .. 64j+63 for all BK k rows.
#define B_STAGE_BYTES (BK * BN * 2)   // 32 KiB at BK = 64, BN = 256
#define B_CHUNKS (BN / 8)             // 16-byte chunks per B row (32)
#define B_RPI (THREADS / B_CHUNKS)    // B rows copied per round (8)
#define B_IT (BK / B_RPI)             // rounds per stage (8)
// Descriptor strides (bytes). Overridable only to diagnose a layout mismatch on a GPU.
#ifndef B_LBO
#define B_LBO (BK * 128)              // one 64-wide n atom column to the next
#endif
#ifndef B_SBO
#define B_SBO 1024                    // 8 k rows to the next 8
#endif

static_assert(BN == 128 || BN == 256, "BN must be 128 or 256 (the wgmma N)");
static_assert(THREADS == 2 * BM && (BM == 128 || (BM == 256 && BN == 128)),
              "BM is 128 (2 warpgroups), or 256 (4 warpgroups) with BN = 128: 512 threads hold "
              "at most 128 registers each");
static_assert(STAGES >= 3, "the pipeline keeps STAGES-2 tiles in flight");
static_assert(SMEM_BYTES <= 227 * 1024, "shared memory over the 227 KiB per-block limit");
static_assert(A_RPI % 8 == 0 && B_RPI % 8 == 0 && THREADS % B_CHUNKS == 0,
              "a copy round must move whole 8-row swizzle phases");

typedef unsigned long long u64;

// ---------------------------------------------------------------- layouts (host and device)
// The single definition of the B layout, the descriptors, the copy plans and the accumulator
// layout; the kernels use them and the tests run them on the host (nvcc host programs).

// Byte offset of B element (k, n) inside one stage (N-major, 128B swizzle atoms 8 k x 64 n):
// 128-byte line k of atom column n / 64, chunk (n % 64) / 8 stored at chunk ((n % 64) / 8) ^ (k % 8).
__host__ __device__ constexpr u32 b_tile_offset(int k, int n) {
    return (u32)((n >> 6) * (BK * 128) + k * 128 + ((((n >> 3) ^ k) & 7) << 4) + ((n & 7) << 1));
}
// PTX "Matrix Descriptor Format": bits 0-13 start address, 16-29 LBO, 32-45 SBO (each
// matrix-descriptor-encode(x) = (x & 0x3FFFF) >> 4), 49-51 base offset (0 here: every swizzle
// pattern starts on a 1024-byte boundary), 62-63 swizzle mode (1 = 128B, 2 = 64B, 3 = 32B).
__host__ __device__ constexpr u64 desc_encode(u32 x) { return (u64)((x & 0x3FFFFu) >> 4); }
__host__ __device__ constexpr u64 wgmma_desc(u32 addr, u32 lbo, u32 sbo, u32 mode) {
    return desc_encode(addr) | (desc_encode(lbo) << 16) | (desc_encode(sbo) << 32) | ((u64)mode << 62);
}
// Descriptors of instruction step kk of stage `stage`: A rows 64 wg .. 64 wg + 63, starting
// 32 kk bytes into the swizzled rows (16 halves per step, inside the pattern, as CUTLASS
// does); B all BN columns, k rows MMA_K kk .. (imm-trans-b = 1: N-major).
__host__ __device__ constexpr u64 desc_a(u32 sA, int stage, int wg, int kk) {
    return wgmma_desc(sA + stage * A_STAGE_BYTES + wg * (64 * A_ROW_BYTES) + kk * 32, A_LBO, A_SBO,
                      A_SWZ_MODE);
}
__host__ __device__ constexpr u64 desc_b(u32 sB, int stage, int kk) {
    return wgmma_desc(sB + stage * B_STAGE_BYTES + kk * (MMA_K * 128), B_LBO, B_SBO, 1);
}
// Copy plan: round `it` of thread tid moves the 8 halves at (row, col) of the tile to dst (8
// consecutive threads write one swizzled line: no bank conflicts).
__host__ __device__ constexpr int a_copy_row(int tid, int it) { return tid / A_CHUNKS + it * A_RPI; }
__host__ __device__ constexpr int a_copy_col(int tid) { return tid % A_CHUNKS * 8; }
__host__ __device__ constexpr u32 a_copy_dst(int tid, int it) {
    return a_tile_offset(tid / A_CHUNKS, tid % A_CHUNKS * 8) + it * (A_RPI * A_ROW_BYTES);
}
__host__ __device__ constexpr int b_copy_row(int tid, int it) { return tid / B_CHUNKS + it * B_RPI; }
__host__ __device__ constexpr int b_copy_col(int tid) { return tid % B_CHUNKS * 8; }
__host__ __device__ constexpr u32 b_copy_dst(int tid, int it) {
    return b_tile_offset(tid / B_CHUNKS, tid % B_CHUNKS * 8) + it * (B_RPI * 128);
}
// Accumulator register i (0 .. BN/2-1) of thread tid -> (row, column) of the CTA tile (PTX
// "WGMMA .m64nNk16 register fragment layout for accumulator matrix D"; warpgroup tid / 128
// owns rows 64 (tid / 128) ..): row 16 warp + lane / 4 (+ 8 for registers 2, 3 of each 4),
// column 8 (i / 4) + 2 (lane % 4) + i % 2.
__host__ __device__ constexpr int acc_row(int tid, int i) {
    return (tid >> 7) * 64 + ((tid >> 5) & 3) * 16 + ((tid & 31) >> 2) + 8 * ((i >> 1) & 1);
}
__host__ __device__ constexpr int acc_col(int tid, int i) { return (i >> 2) * 8 + (tid & 3) * 2 + (i & 1); }


#if defined(__CUDA_ARCH_FEAT_SM90_ALL) || defined(CUDA_HOST_RUN)

// ------------------------------------------------------------------------ wgmma wrappers
// wgmma.fence (before the first wgmma that touches registers written since), commit_group
// (close a group of issued wgmmas), wait_group N (all but the newest N groups complete);
// fence.proxy.async: generic-proxy shared-memory writes (cp.async) -> the async proxy that
// wgmma reads through. The host run of the kernels (tests/kernels/cuda_host.h, CUDA_HOST_RUN)
// defines these wrappers, and the wgmma instructions themselves, by the PTX ISA on the CPU.
#ifndef CUDA_HOST_RUN
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
// Compiler-only use of a register value (no instruction): keeps it live up to this point.
__device__ __forceinline__ void keep_reg(u32 v) { asm volatile("" ::"r"(v)); }
// A 32-bit store to a shared-window address.
__device__ __forceinline__ void st_shared_u32(u32 addr, u32 v) {
    asm volatile("st.shared.u32 [%0], %1;\n" ::"r"(addr), "r"(v) : "memory");
}
#endif  // CUDA_HOST_RUN

// Accumulator operand lists of the inline asm: WGMMA_D_REGS_R is "{%0, ..., %(R-1)}" and
// WGMMA_D_OPS_R(d) binds %i to d[i] ("+f"), so asm register i is accumulator register i.
// ---- begin generated: wgmma_model.wgmma_operand_macros() (checked by the tests)
#define WGMMA_D_REGS_LO \
    "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
    "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, " \
    "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, " \
    "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63"
#define WGMMA_D_REGS_HI \
    "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, " \
    "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, " \
    "%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, " \
    "%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127"
#define WGMMA_D_OPS_LO(d) \
    "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
    "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
    "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
    "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), \
    "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), \
    "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), \
    "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), \
    "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
#define WGMMA_D_OPS_HI(d) \
    "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), \
    "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), \
    "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), \
    "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), \
    "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), \
    "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), \
    "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), \
    "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
#define WGMMA_D_REGS_64 "{" WGMMA_D_REGS_LO "}"
#define WGMMA_D_REGS_128 "{" WGMMA_D_REGS_LO ", " WGMMA_D_REGS_HI "}"
#define WGMMA_D_OPS_64(d) WGMMA_D_OPS_LO(d)
#define WGMMA_D_OPS_128(d) WGMMA_D_OPS_LO(d), WGMMA_D_OPS_HI(d)
// ---- end generated

// ------------------------------------------------------------------ CTA tile, copy plan
// The CTA's output tile origin: tiles in grouped order (tc_common.cuh tile_coords, GROUP_M
// tile rows swept together for L2 reuse).
__device__ __forceinline__ void cta_origin(int M, int N, int& m0, int& n0) {
    const int tiles_m = (M + BM - 1) / BM, tiles_n = (N + BN - 1) / BN;
    int bm, bn;
    tile_coords(blockIdx.x, tiles_m, tiles_n, GROUP_M, bm, bn);
    m0 = bm * BM, n0 = bn * BN;
}

// The gmem -> smem cp.async plan of thread tid, fixed for the whole k loop: A is an
// M x a_cols row-major matrix read A_CHUNKS * 8 columns per k tile (the dense A: K columns,
// BK per tile; the 2:4 kept values: K/2 columns, BK/2 per tile), B is K x N row-major read BK
// rows per k tile. load(stage, kt) copies this thread's chunks of k tile kt into stage
// `stage`; out-of-range chunks are zero-filled (src-size 0, with the array base as a
// harmless source address).
struct AbCopy {
    const u16* A;
    const u16* B;
    const u16* a_src;             // + kt * A_CHUNKS * 8 + it * a_step
    const u16* b_src;             // + (kt * BK + it * B_RPI) * N
    long long a_step, b_step;
    unsigned a_rows_ok;           // bit it: row a_copy_row(tid, it) of the tile is < M
    bool b_col_ok;
    int a_cols, a_c, b_r, K, N, tid;
    u32 sA, sB;

    __device__ __forceinline__ AbCopy(const u16* A_, int M, int a_cols_, const u16* B_, int K_,
                                      int N_, int m0, int n0, int tid_, u32 sA_, u32 sB_)
        : A(A_), B(B_), a_cols(a_cols_), K(K_), N(N_), tid(tid_), sA(sA_), sB(sB_) {
        const int a_r = a_copy_row(tid, 0);
        a_c = a_copy_col(tid);
        b_r = b_copy_row(tid, 0);
        const int b_c = b_copy_col(tid);
        a_src = A + (long long)(m0 + a_r) * a_cols + a_c;
        b_src = B + (long long)b_r * N + n0 + b_c;
        a_step = (long long)A_RPI * a_cols, b_step = (long long)B_RPI * N;
        a_rows_ok = 0;
#pragma unroll
        for (int it = 0; it < A_IT; ++it) a_rows_ok |= (m0 + a_copy_row(tid, it) < M ? 1u : 0u) << it;
        b_col_ok = n0 + b_c < N;
    }

    __device__ __forceinline__ void load(int stage, int kt) const {
        const u32 a = sA + stage * A_STAGE_BYTES, b = sB + stage * B_STAGE_BYTES;
        const bool a_k_ok = kt * (A_CHUNKS * 8) + a_c < a_cols;
        const u16* ap = a_src + kt * (A_CHUNKS * 8);
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
    }
};

// ----------------------------------------------------------------------------- main loop
// Per k tile kt (stage rd = kt % STAGES; all THREADS threads load and compute):
//   cp.async.wait_group STAGES-3   this thread's part of tile kt has landed;
//   fence.proxy.async              ... and is visible to the async proxy wgmma reads through
//                                  (PROXY_FENCE=0 drops it, for an A/B timing);
//   __syncthreads                  everyone's part of tile kt, and every warpgroup's wgmmas
//                                  of tile kt-2 are complete (their wait_group 1 of kt-1);
//   wgmma.fence; issue(rd); wgmma.commit_group;
//   copy.load(wr, next)            cp.async of tile next = kt + STAGES - 2 (if < KT) into
//                                  stage wr, the stage tile kt-2 used; then
//   also_load(wr_next, next + 1)   (if next + 1 < KT) the 2:4 kernel's metadata of tile
//                                  next + 1 into the metadata area of its stage (nothing for
//                                  the dense kernel);
//   cp.async.commit_group; wgmma.wait_group 1 (tile kt-1's group complete, kt's may run);
//   after(rd)                      with rd already the stage of tile kt+1.
// One wgmma group is always queued behind the running one and STAGES-2 tiles are in flight
// (wgmma_model.check_pipeline replays this schedule against the PTX wait semantics).
// The loop is not unrolled: an unrolled copy lets ptxas place accumulator-defining code inside
// a wgmma pipeline stage, and it then serialises every wgmma (ptxas C7515; the tests check).
// PHASES = 2 writes two k tiles per trip by hand (the second under kt + 1 < KT), and hands
// issue and after a compile-time phase (Phase<0> for even tiles, Phase<1> for odd ones): the
// 2:4 kernel's two alternating metadata register sets. PHASES = 1 passes Phase<0> always.
template <int P> struct Phase { static constexpr int value = P; };

template <int PHASES = 1, class Issue, class AlsoLoad, class After>
__device__ __forceinline__ void wgmma_mainloop(float (&acc)[BN / 2], int KT, const AbCopy& copy,
                                               Issue issue, AlsoLoad also_load, After after) {
    static_assert(PHASES == 1 || PHASES == 2, "wgmma_mainloop: PHASES is 1 or 2");
    int rd = 0, wr = STAGES - 2;  // stage read by tile kt, stage refilled with tile kt+STAGES-2
    auto step = [&](int kt, auto phase) {
        cp_async_wait<STAGES - 3>();
        if (PROXY_FENCE) fence_proxy_async();
        __syncthreads();

        fence_acc(acc);
        wgmma_fence();  // orders the accumulator (and sp-meta) register writes before the wgmmas
        issue(rd, phase);
        wgmma_commit();

        const int next = kt + STAGES - 2;   // refill the stage tile kt-2 used
        if (next < KT) copy.load(wr, next);
        const int wr_next = wr + 1 == STAGES ? 0 : wr + 1;
        if (next + 1 < KT) also_load(wr_next, next + 1);  // (wr_next: the stage of tile next + 1)
        cp_async_commit();

        wgmma_wait<1>();  // tile kt-1's group is complete; tile kt's may still run
        fence_acc(acc);
        rd = rd + 1 == STAGES ? 0 : rd + 1;
        wr = wr_next;
        after(rd, phase);
    };
#pragma unroll 1
    for (int kt = 0; kt < KT; kt += PHASES) {
        step(kt, Phase<0>{});
        if constexpr (PHASES == 2) {
            if (kt + 1 < KT) step(kt + 1, Phase<1>{});
        }
    }
    wgmma_wait<0>();
    fence_acc(acc);
    cp_async_wait<0>();
}

// ------------------------------------------------------------------------------ epilogue
// Registers (i, i+1), i even, are columns c, c+1 of one row: one float2 (OUT 0, fp32) or one
// packed half2 / bfloat162 (OUT 1, the input type) store, masked to the M x N output.
template <bool IS_BF16, int OUT>
__device__ __forceinline__ void store_tile(const float (&acc)[BN / 2], void* __restrict__ C, int M,
                                           int N, int m0, int n0, int tid) {
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

// ------------------------------------------------------------------- throughput ceiling
// The peak kernels run the main loop's wgmma sequence (issue(), one group in flight behind
// the running one) on one resident stage of fixed pseudo-random halves in [-1, -0.5] u [0.5, 1):
// no loads, no barriers in the loop; each thread writes the sum of its accumulators.
// Returns the 1024-aligned base of the stage (A at +0, B at +A_STAGE_BYTES).
__device__ __forceinline__ u32 peak_stage() {
    extern __shared__ __align__(1024) unsigned char smem[];
    const u32 sA = (smem_u32(smem) + 1023u) & ~1023u;
    for (int i = threadIdx.x; i < (A_STAGE_BYTES + B_STAGE_BYTES) / 4; i += THREADS) {
        u32 h = (u32)i * 2654435761u;
        h ^= h >> 15;
        const u32 v = ((h & 0x83FFu) | 0x3800u) | (((h >> 16) & 0x83FFu) | 0x3800u) << 16;  // +-[0.5, 1)
        st_shared_u32(sA + 4 * i, v);
    }
    fence_proxy_async();
    __syncthreads();
    return sA;
}
template <class Issue>
__device__ __forceinline__ void peak_loop(float* out, int iters, Issue issue) {
    float acc[BN / 2];
#pragma unroll
    for (int i = 0; i < BN / 2; ++i) acc[i] = 0.f;
#pragma unroll 1
    for (int it = 0; it < iters; ++it) {
        fence_acc(acc);
        wgmma_fence();
        issue(acc);
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

#endif  // __CUDA_ARCH_FEAT_SM90_ALL || CUDA_HOST_RUN
