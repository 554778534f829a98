// hgemm.cu -- dense fp16/bf16 GEMM on tensor cores: mma.sync m16n8k16 + ldmatrix + a
// multi-stage cp.async pipeline + swizzled shared memory, fp32 accumulation.
//
// Math
//   C = A B,  A: M x K, B: K x N (fp16 or bf16), C: M x N (fp32, or the input type),
//   C[m, n] = sum_k A[m, k] B[k, n] accumulated in fp32, 16 k at a time (one mma per k16).
//
// Memory layout
//   A row-major (lda = K), B row-major (ldb = N), C row-major (ldc = N); all 16-byte aligned.
//   Contract: K % 8 == 0 and N % 8 == 0 (whole 16-byte chunks); the launcher pads otherwise.
//   M, N, K need not be multiples of the tile: out-of-range chunks are zero-filled by
//   cp.async (src-size 0) and out-of-range outputs are not stored.
//
// Tiling (defaults; every one is a -D macro)
//   block tile BM x BN = 128 x 128, k tile BK = 32, STAGES = 4 shared-memory stages,
//   WARPS_M x WARPS_N = 2 x 2 warps, warp tile WM x WN = 64 x 64 = MI x NI = 4 x 8 mma tiles
//   (m16 x n8). Shared memory per stage: A BM x BK + B BK x BN halves = 16 KiB; 64 KiB total.
//   Blocks walk the tiles in grouped order (GROUP_M = 8 tile rows at a time) for L2 reuse.
//
// Thread -> data mapping
//   gmem -> smem: chunk i (16 bytes = 8 halves) of the A tile is row i / (BK/8), chunk
//     i % (BK/8); thread t copies chunks t, t + THREADS, ...; same for B with rows of BN/8
//     chunks. Stored swizzled: chunk c of row r goes to c ^ f(r) (swz in tc_common.cuh).
//   smem -> registers, per k16 step kk:
//     A fragment of mma tile mi: ldmatrix.x4, lane l addresses row wm*WM + mi*16 + l%16,
//       chunk 2*kk + l/16 -> registers {a0a1, a2a3, a4a5, a6a7} of the PTX m16n8k16 A layout
//       (rows g, g+8; k 2t.., 2t+8..; g = l/4, t = l%4).
//     B fragments of mma tiles 2j, 2j+1: ldmatrix.x4.trans, lane l addresses k row
//       16*kk + l%16, chunk (wn*WN + 16j)/8 + l/16 -> {b0b1, b2b3} of tile 2j and of 2j+1
//       (k 2t.., 2t+8..; n g).
//     Fragments are double-buffered in registers across kk (FRAG_BUFS = 2, the default).
//     FRAG_BUFS = 1 keeps one buffer, loaded right before the step's mma: the register room
//     a 96 x 64 warp tile needs (BM = 192 with WARPS_M = 2: 192 accumulators a thread, 254
//     registers and no spills; double-buffered it spills). Such a warp reads 5 KiB of
//     fragments a k16 step for 1.5x the work of a 64 x 64 warp's 4 KiB: a k16 step of a
//     192 x 256 block tile (8 warps) moves 54 KiB of shared memory (ldmatrix reads plus
//     cp.async writes) for 1.5 x 2^20 FLOP, 36 KiB per 2^20 FLOP against 44 for 128 x 256,
//     for a kernel that shared memory bounds on Hopper (see kernels/README.md).
//   Epilogue: accumulator c0 c1 (c2 c3) of tile (mi, ni) is row wm*WM + mi*16 + g (+8),
//     columns wn*WN + ni*8 + 2t, +1 -- stored as one float2 / packed half2 per row.
//
// Pipeline (one __syncthreads per k tile, fragments of the next tile loaded before the last
// k16 step's mma of the current one, as in CUTLASS's multistage main loop)
//   prologue: load k tiles 0 .. STAGES-2, one commit group each; wait for tile 0; barrier;
//     load the kk = 0 fragments of tile 0.
//   k tile kt, step kk: load the fragments of step kk+1 (other register buffer); at kk = 0
//     issue tile kt + STAGES - 1 into the stage tile kt-1 used and commit; at the last kk
//     wait until <= STAGES-2 groups are pending (tile kt+1 has landed), __syncthreads
//     (everyone is done reading tile kt-1's stage before anyone refills it, and tile kt+1 is
//     visible), load the kk = 0 fragments of tile kt+1; then the MI x NI mma of step kk.
//   Every read of the stage of tile t lies between the barriers of iterations t-1 and t;
//   its refill is issued after the barrier of iteration t.
//   The copy plan (pointers, predicates, swizzled destinations) and the ldmatrix offsets are
//   computed once per thread before the loop; inside it only immediates change.
//
// Launch configuration
//   block = 32 * WARPS_M * WARPS_N = 128 threads, grid = ceil(M/BM) * ceil(N/BN) (1-D),
//   dynamic shared memory STAGES * (BM*BK + BK*BN) * 2 bytes (opt-in above 48 KiB).
//   Kernel names: hgemm_<f16|bf16>_<f32|f16|bf16> (input type, output type).
//
// Reference
//   minigrad.kernels.reference.hgemm (same tiles, k16 steps in order, fp32 accumulation);
//   minigrad.kernels.ptx_model.simulate_hgemm runs this file's index arithmetic lane by lane.

#include "tc_common.cuh"

#ifndef BM
#define BM 128
#endif
#ifndef BN
#define BN 128
#endif
#ifndef BK
#define BK 32
#endif
#ifndef WARPS_M
#define WARPS_M 2
#endif
#ifndef WARPS_N
#define WARPS_N 2
#endif
#ifndef STAGES
#define STAGES 4
#endif
#ifndef GROUP_M
#define GROUP_M 8
#endif
#ifndef FRAG_BUFS
#define FRAG_BUFS 2  // register buffers of fragments: 2 = double-buffered across k16 steps
#endif

#define THREADS (32 * WARPS_M * WARPS_N)
#define WM (BM / WARPS_M)
#define WN (BN / WARPS_N)
#define MI (WM / 16)
#define NI (WN / 8)
#define KSTEPS (BK / 16)
#define A_CHUNKS (BK / 8)
#define B_CHUNKS (BN / 8)
#define A_STAGE (BM * BK)
#define B_STAGE (BK * BN)
#define A_RPI (THREADS / A_CHUNKS)  // A-tile rows copied per round of the block
#define B_RPI (THREADS / B_CHUNKS)
#define A_IT (BM / A_RPI)           // copy rounds per stage
#define B_IT (BK / B_RPI)

static_assert(WM % 16 == 0 && WN % 16 == 0, "warp tile must be a multiple of 16 x 16");
static_assert(BK % 16 == 0, "BK must be a multiple of 16");
static_assert((BM * A_CHUNKS) % THREADS == 0 && (BK * B_CHUNKS) % THREADS == 0,
              "tile chunks must split evenly over the threads");
static_assert(FRAG_BUFS == 1 || FRAG_BUFS == 2, "FRAG_BUFS is 1 or 2");
static_assert(THREADS % A_CHUNKS == 0 && THREADS % B_CHUNKS == 0 && A_IT <= 32,
              "a copy round must cover whole tile rows");

template <bool IS_BF16, int OUT>  // OUT: 0 fp32, 1 16-bit (same type as the inputs)
__device__ __forceinline__ void hgemm_body(int M, int N, int K, const u16* __restrict__ A,
                                           const u16* __restrict__ B, void* __restrict__ C) {
    extern __shared__ __align__(128) unsigned char smem[];
    const u32 sA = smem_u32(smem);                 // byte addresses in the shared window
    const u32 sB = sA + STAGES * A_STAGE * 2;

    const int tiles_m = (M + BM - 1) / BM, tiles_n = (N + BN - 1) / BN;
    int bm, bn;
    tile_coords(blockIdx.x, tiles_m, tiles_n, GROUP_M, bm, bn);
    const int m0 = bm * BM, n0 = bn * BN;

    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
    const int wm = warp / WARPS_N, wn = warp % WARPS_N;

    // ---- gmem -> smem copy plan, fixed for the whole k loop. Thread t copies chunk t % CHUNKS
    // of rows t / CHUNKS + it * RPI (it = 0 .. IT-1) of each tile.
    const int a_r = tid / A_CHUNKS, a_c = tid % A_CHUNKS;
    const int b_r = tid / B_CHUNKS, b_c = tid % B_CHUNKS;
    const u16* a_src = A + (long long)(m0 + a_r) * K + a_c * 8;  // + kt*BK + it*A_RPI*K
    const u16* b_src = B + (long long)b_r * N + n0 + b_c * 8;    // + kt*BK*N + it*B_RPI*N
    const long long a_step = (long long)A_RPI * K, b_step = (long long)B_RPI * N;
    unsigned a_rows_ok = 0;
#pragma unroll
    for (int it = 0; it < A_IT; ++it) a_rows_ok |= (m0 + a_r + it * A_RPI < M ? 1u : 0u) << it;
    const bool b_col_ok = n0 + b_c * 8 < N;
    const u32 a_st = swz<A_CHUNKS>(a_r, a_c) * 2, b_st = swz<B_CHUNKS>(b_r, b_c) * 2;

    auto load_stage = [&](int stage, int kt) {
        const u32 a = sA + stage * (A_STAGE * 2), b = sB + stage * (B_STAGE * 2);
        const bool a_k_ok = kt * BK + a_c * 8 < K;
        const u16* ap = a_src + kt * BK;
#pragma unroll
        for (int it = 0; it < A_IT; ++it) {
            const bool ok = a_k_ok && ((a_rows_ok >> it) & 1u);
            const u32 dst = A_RPI % 8 == 0 ? a + a_st + it * (A_RPI * A_CHUNKS * 16)
                                           : a + swz<A_CHUNKS>(a_r + it * A_RPI, a_c) * 2;
            cp_async_16(dst, ok ? ap + it * a_step : A, ok);
        }
        const int k0 = kt * BK + b_r;
        const u16* bp = b_src + (long long)kt * BK * N;
#pragma unroll
        for (int it = 0; it < B_IT; ++it) {
            const bool ok = b_col_ok && k0 + it * B_RPI < K;
            const u32 dst = B_RPI % 8 == 0 ? b + b_st + it * (B_RPI * B_CHUNKS * 16)
                                           : b + swz<B_CHUNKS>(b_r + it * B_RPI, b_c) * 2;
            cp_async_16(dst, ok ? bp + it * b_step : B, ok);
        }
    };

    // ---- smem -> register plan: byte offsets inside a stage of each ldmatrix row address.
    // A, mma tile mi, step kk: row wm*WM + mi*16 + l%16, chunk 2kk + l/16; adding mi*16 rows
    // leaves the swizzle unchanged, so mi is an immediate offset. B, tiles 2j, 2j+1, step kk:
    // k row 16kk + l%16, chunk (wn*WN + 16j)/8 + l/16; kk is an immediate offset.
    u32 a_ld[KSTEPS], b_ld[NI / 2];
#pragma unroll
    for (int kk = 0; kk < KSTEPS; ++kk)
        a_ld[kk] = swz<A_CHUNKS>(wm * WM + (lane & 15), kk * 2 + (lane >> 4)) * 2;
#pragma unroll
    for (int j = 0; j < NI / 2; ++j)
        b_ld[j] = swz<B_CHUNKS>(lane & 15, (wn * WN + j * 16) / 8 + (lane >> 4)) * 2;

    float acc[MI][NI][4];
#pragma unroll
    for (int mi = 0; mi < MI; ++mi)
#pragma unroll
        for (int ni = 0; ni < NI; ++ni)
#pragma unroll
            for (int q = 0; q < 4; ++q) acc[mi][ni][q] = 0.f;

    u32 af[FRAG_BUFS][MI][4], bf[FRAG_BUFS][NI][2];
    auto load_frags = [&](int buf, u32 a, u32 b, int kk) {
#pragma unroll
        for (int mi = 0; mi < MI; ++mi) ldmatrix_x4(af[buf][mi], a + a_ld[kk] + mi * (16 * A_CHUNKS * 16));
#pragma unroll
        for (int j = 0; j < NI / 2; ++j) {
            u32 t[4];
            ldmatrix_x4_trans(t, b + b_ld[j] + kk * (16 * B_CHUNKS * 16));
            bf[buf][2 * j][0] = t[0];
            bf[buf][2 * j][1] = t[1];
            bf[buf][2 * j + 1][0] = t[2];
            bf[buf][2 * j + 1][1] = t[3];
        }
    };

    const int KT = (K + BK - 1) / BK;
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < KT) load_stage(s, s);
        cp_async_commit();
    }
    cp_async_wait<STAGES - 2>();  // tile 0 has landed
    __syncthreads();

    int rd = 0, wr = STAGES - 1;  // stage computed now, stage written next
    u32 a_rd = sA, b_rd = sB;
#if FRAG_BUFS == 2
    load_frags(0, a_rd, b_rd, 0);
    // Register buffer of step kk of tile kt: (kt * KSTEPS + kk) & 1, a compile-time index
    // (the kt loop is unrolled by 2 when KSTEPS is odd).
    constexpr int UNROLL = KSTEPS % 2 ? 2 : 1;
    for (int kt0 = 0; kt0 < KT; kt0 += UNROLL) {
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const int kt = kt0 + u;
            if (UNROLL > 1 && kt >= KT) break;  // uniform over the block
#pragma unroll
            for (int kk = 0; kk < KSTEPS; ++kk) {
                const int cur = (u * KSTEPS + kk) & 1;
                if (kk + 1 < KSTEPS) load_frags(cur ^ 1, a_rd, b_rd, kk + 1);
                if (kk == 0) refill_stage<STAGES>(load_stage, kt, KT, wr);
                if (kk + 1 == KSTEPS) {  // tile kt+1 must have landed before its first fragments
                    next_stage<STAGES>(rd);
                    a_rd = sA + rd * (A_STAGE * 2);
                    b_rd = sB + rd * (B_STAGE * 2);
                    load_frags(cur ^ 1, a_rd, b_rd, 0);  // after the last tile: stale, unused
                }
#pragma unroll
                for (int mi = 0; mi < MI; ++mi)
#pragma unroll
                    for (int ni = 0; ni < NI; ++ni) mma_16816<IS_BF16>(acc[mi][ni], af[cur][mi], bf[cur][ni]);
            }
        }
    }
#else
    // One register buffer: the fragments of step kk are loaded right before its mma (ptxas
    // hoists what the registers allow). For warp tiles whose accumulators leave no room for
    // a second buffer (96 x 64: 192 accumulators a thread).
    for (int kt = 0; kt < KT; ++kt) {
#pragma unroll
        for (int kk = 0; kk < KSTEPS; ++kk) {
            if (kk == 0) refill_stage<STAGES>(load_stage, kt, KT, wr);
            load_frags(0, a_rd, b_rd, kk);
#pragma unroll
            for (int mi = 0; mi < MI; ++mi)
#pragma unroll
                for (int ni = 0; ni < NI; ++ni) mma_16816<IS_BF16>(acc[mi][ni], af[0][mi], bf[0][ni]);
        }
        next_stage<STAGES>(rd);  // tile kt+1 has landed; every read of tile kt is done
        a_rd = sA + rd * (A_STAGE * 2);
        b_rd = sB + rd * (B_STAGE * 2);
    }
#endif
    cp_async_wait<0>();

    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int mi = 0; mi < MI; ++mi)
#pragma unroll
        for (int ni = 0; ni < NI; ++ni)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int row = m0 + wm * WM + mi * 16 + g + 8 * h;
                const int col = n0 + wn * WN + ni * 8 + 2 * t;
                if (row < M && col < N) {  // N % 8 == 0 and col even: col + 1 < N too
                    const long long o = (long long)row * N + col;
                    if (OUT == 0) {
                        *reinterpret_cast<float2*>(reinterpret_cast<float*>(C) + o) =
                            make_float2(acc[mi][ni][2 * h], acc[mi][ni][2 * h + 1]);
                    } else {
                        *reinterpret_cast<u32*>(reinterpret_cast<u16*>(C) + o) =
                            pack2<IS_BF16>(acc[mi][ni][2 * h], acc[mi][ni][2 * h + 1]);
                    }
                }
            }
}

#define HGEMM_KERNEL(NAME, IS_BF16, OUT)                                                       \
    extern "C" __global__ void __launch_bounds__(THREADS) NAME(int M, int N, int K,            \
                                                               const u16* A, const u16* B,     \
                                                               void* C) {                      \
        hgemm_body<IS_BF16, OUT>(M, N, K, A, B, C);                                            \
    }

HGEMM_KERNEL(hgemm_f16_f32, false, 0)
HGEMM_KERNEL(hgemm_f16_f16, false, 1)
HGEMM_KERNEL(hgemm_bf16_f32, true, 0)
HGEMM_KERNEL(hgemm_bf16_bf16, true, 1)
