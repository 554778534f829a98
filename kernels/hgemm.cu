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
//     Fragments are double-buffered in registers across kk.
//   Epilogue: accumulator c0 c1 (c2 c3) of tile (mi, ni) is row wm*WM + mi*16 + g (+8),
//     columns wn*WN + ni*8 + 2t, +1 -- stored as one float2 / packed half2 per row.
//
// Pipeline
//   prologue: load k tiles 0 .. STAGES-2, one commit group each.
//   k tile kt: wait until <= STAGES-2 groups are pending (tile kt has landed); __syncthreads
//   (everyone is done with the stage about to be overwritten); issue tile kt + STAGES - 1
//   into stage (kt-1) % STAGES; compute tile kt from stage kt % STAGES.
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

static_assert(WM % 16 == 0 && WN % 16 == 0, "warp tile must be a multiple of 16 x 16");
static_assert(BK % 16 == 0, "BK must be a multiple of 16");
static_assert((BM * A_CHUNKS) % THREADS == 0 && (BK * B_CHUNKS) % THREADS == 0,
              "tile chunks must split evenly over the threads");

template <bool IS_BF16, int OUT>  // OUT: 0 fp32, 1 16-bit (same type as the inputs)
__device__ __forceinline__ void hgemm_body(int M, int N, int K, const u16* __restrict__ A,
                                           const u16* __restrict__ B, void* __restrict__ C) {
    extern __shared__ __align__(128) unsigned char smem[];
    u16* sA = reinterpret_cast<u16*>(smem);
    u16* sB = sA + STAGES * A_STAGE;

    const int tiles_m = (M + BM - 1) / BM, tiles_n = (N + BN - 1) / BN;
    int bm, bn;
    tile_coords(blockIdx.x, tiles_m, tiles_n, GROUP_M, bm, bn);
    const int m0 = bm * BM, n0 = bn * BN;

    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
    const int wm = warp / WARPS_N, wn = warp % WARPS_N;

    auto load_stage = [&](int stage, int kt) {
        const int k0 = kt * BK;
        u16* a = sA + stage * A_STAGE;
        u16* b = sB + stage * B_STAGE;
#pragma unroll
        for (int i = tid; i < BM * A_CHUNKS; i += THREADS) {
            const int r = i / A_CHUNKS, c = i % A_CHUNKS;
            const int gm = m0 + r, gk = k0 + c * 8;
            const bool ok = gm < M && gk < K;
            cp_async_16(smem_u32(a + swz<A_CHUNKS>(r, c)), ok ? A + (long long)gm * K + gk : A, ok);
        }
#pragma unroll
        for (int i = tid; i < BK * B_CHUNKS; i += THREADS) {
            const int r = i / B_CHUNKS, c = i % B_CHUNKS;
            const int gk = k0 + r, gn = n0 + c * 8;
            const bool ok = gk < K && gn < N;
            cp_async_16(smem_u32(b + swz<B_CHUNKS>(r, c)), ok ? B + (long long)gk * N + gn : B, ok);
        }
    };

    float acc[MI][NI][4];
#pragma unroll
    for (int mi = 0; mi < MI; ++mi)
#pragma unroll
        for (int ni = 0; ni < NI; ++ni)
#pragma unroll
            for (int q = 0; q < 4; ++q) acc[mi][ni][q] = 0.f;

    u32 af[2][MI][4], bf[2][NI][2];
    auto load_frags = [&](int buf, const u16* a, const u16* b, int kk) {
#pragma unroll
        for (int mi = 0; mi < MI; ++mi) {
            const int r = wm * WM + mi * 16 + (lane & 15);
            const int c = kk * 2 + (lane >> 4);
            ldmatrix_x4(af[buf][mi], smem_u32(a + swz<A_CHUNKS>(r, c)));
        }
#pragma unroll
        for (int j = 0; j < NI / 2; ++j) {
            const int r = kk * 16 + (lane & 15);
            const int c = (wn * WN + j * 16) / 8 + (lane >> 4);
            u32 t[4];
            ldmatrix_x4_trans(t, smem_u32(b + swz<B_CHUNKS>(r, c)));
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

    for (int kt = 0; kt < KT; ++kt) {
        cp_async_wait<STAGES - 2>();
        __syncthreads();
        const int next = kt + STAGES - 1;
        if (next < KT) load_stage(next % STAGES, next);
        cp_async_commit();

        const u16* a = sA + (kt % STAGES) * A_STAGE;
        const u16* b = sB + (kt % STAGES) * B_STAGE;
        load_frags(0, a, b, 0);
#pragma unroll
        for (int kk = 0; kk < KSTEPS; ++kk) {
            if (kk + 1 < KSTEPS) load_frags((kk + 1) & 1, a, b, kk + 1);
#pragma unroll
            for (int mi = 0; mi < MI; ++mi)
#pragma unroll
                for (int ni = 0; ni < NI; ++ni) mma_16816<IS_BF16>(acc[mi][ni], af[kk & 1][mi], bf[kk & 1][ni]);
        }
    }
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
