// mm24.cu -- 2:4 structured-sparse x dense GEMM on sparse tensor cores
// (mma.sp::ordered_metadata m16n8k32, fp16/bf16 in, fp32 accumulate), tiled exactly like
// hgemm.cu so that the two can be compared block for block.
//
// Math
//   C = W B,  W: M x K with at most 2 nonzeros in every aligned group of 4 along K,
//   B: K x N dense, C: M x N (fp32, or the input type). fp32 accumulation, 32 k per mma.sp.
//
// Memory layout (produced once by compress_24; reference.compress_24 documents it too)
//   Kp = K rounded up to 32.
//   values : M x Kp/2, row-major. Row m keeps, for each group G = 0..Kp/4-1, its two kept
//            entries in increasing k order at columns 2G, 2G+1.
//   meta   : uint32[ceil(M/16)][Kp/32][16]. For the 16-row block mt and the k32 block ks,
//            word w = 2*g + t (g = 0..7, t = 0, 1) is
//              bits [4j+3 : 4j]      = nibble of row 16mt + g,     group 8ks + 4t + j  (j = 0..3)
//              bits [16+4j+3 : 16+4j] = nibble of row 16mt + g + 8, group 8ks + 4t + j
//            nibble = (i1 << 2) | i0, i0 < i1 the positions (0..3) of the two kept entries.
//   This is the register the PTX ISA asks of lane 4g + t for sparsity selector 0
//   (PTX ISA 9.7.14.6.2.2, Figure "Sparse MMA .m16n8k32 metadata layout for .f16/.bf16":
//   lanes 4g and 4g+1 of each quad hold the metadata, lane 4g+t for k 16t..16t+15 of the
//   32; low half row g, high half row g+8), so each lane loads it with one 32-bit read.
//   B: K x N row-major (N % 8 == 0, the launcher pads); C: M x N row-major.
//
// Tiling (same macros and defaults as hgemm.cu)
//   block tile BM x BN = 128 x 128 over C, k tile BK = 32 (one mma.sp k32 step per stage),
//   STAGES = 4, 2 x 2 warps of 64 x 64 = 4 x 8 mma tiles. Per stage shared memory holds
//   BM x BK/2 kept values (8 KiB -> 4 KiB compared with hgemm), the BK x BN B tile (same as
//   hgemm) and BM/16 * BK/32 * 16 metadata words (512 bytes).
//
// Thread -> data mapping
//   gmem -> smem: as hgemm.cu, with rows of BK/16 chunks for the values; metadata chunk i
//     (4 words) is copied as is (m16 blocks past the end re-read the last one: the values
//     there are zero-filled, and any valid nibble works; a zero word would be an illegal
//     pattern).
//   smem -> registers, per k32 step ks:
//     A (kept values, 16 x 16 per mma tile): ldmatrix.x4 exactly as hgemm's A fragment:
//       {a0a1, a2a3, a4a5, a6a7} = rows g, g+8, kept columns 2t.., 2t+8.. -- the sparse A
//       layout of PTX 9.7.14.6.2.2 (logical k 4t..4t+3 and 16+4t..).
//     B (32 x 8 per mma tile): one ldmatrix.x4.trans, lane l addresses k row 32*ks + l,
//       chunk (wn*WN + 8*ni)/8 -> {b0b1, b2b3, b4b5, b6b7} = k 2t.., 8+2t.., 16+2t.., 24+2t..
//     metadata: lane l reads word 2*(l/4) + l%2 of its m16 block (lanes 4g+2, 4g+3 read
//       duplicates the instruction ignores).
//   Epilogue identical to hgemm.cu.
//
// Launch configuration
//   block = 128 threads, grid = ceil(M/BM) * ceil(N/BN), dynamic shared memory
//   STAGES * (BM*BK/2*2 + BK*BN*2 + BM*BK/32*4) bytes.
//   Kernel names: mm24_<f16|bf16>_<f32|f16|bf16>.
//
// Reference
//   minigrad.kernels.reference.mm_24 (decodes the words lane by lane as above, k32 steps in
//   order, fp32 accumulation); minigrad.kernels.ptx_model.simulate_mm24 runs this file's
//   index arithmetic lane by lane through a model of ldmatrix and mma.sp.

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
#define KSTEPS (BK / 32)
#define A_CHUNKS (BK / 16)  // kept values per row of the tile: BK/2 halves = BK/16 chunks
#define B_CHUNKS (BN / 8)
#define A_STAGE (BM * BK / 2)
#define B_STAGE (BK * BN)
#define E_STAGE (BM / 16 * KSTEPS * 16)  // metadata words per stage
#define E_CHUNKS (E_STAGE / 4)

static_assert(BK % 32 == 0, "BK must be a multiple of 32 for mma.sp m16n8k32");
static_assert(WM % 16 == 0 && WN % 8 == 0, "warp tile must be a multiple of 16 x 8");
static_assert((BM * A_CHUNKS) % THREADS == 0 && (BK * B_CHUNKS) % THREADS == 0,
              "tile chunks must split evenly over the threads");

template <bool IS_BF16, int OUT>  // OUT: 0 fp32, 1 16-bit (same type as the inputs)
__device__ __forceinline__ void mm24_body(int M, int N, int K, int Kp, const u16* __restrict__ V,
                                          const u32* __restrict__ E, const u16* __restrict__ B,
                                          void* __restrict__ C) {
    extern __shared__ __align__(128) unsigned char smem[];
    u16* sA = reinterpret_cast<u16*>(smem);
    u16* sB = sA + STAGES * A_STAGE;
    u32* sE = reinterpret_cast<u32*>(sB + STAGES * B_STAGE);

    const int KC = Kp / 2;              // kept values per row
    const int MT = (M + 15) / 16;       // m16 blocks of metadata
    const int KS = Kp / 32;             // k32 blocks of metadata
    const int tiles_m = (M + BM - 1) / BM, tiles_n = (N + BN - 1) / BN;
    int bm, bn;
    tile_coords(blockIdx.x, tiles_m, tiles_n, GROUP_M, bm, bn);
    const int m0 = bm * BM, n0 = bn * BN;

    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
    const int wm = warp / WARPS_N, wn = warp % WARPS_N;

    auto load_stage = [&](int stage, int kt) {
        u16* a = sA + stage * A_STAGE;
        u16* b = sB + stage * B_STAGE;
        u32* e = sE + stage * E_STAGE;
        const int kc0 = kt * (BK / 2);
#pragma unroll
        for (int i = tid; i < BM * A_CHUNKS; i += THREADS) {
            const int r = i / A_CHUNKS, c = i % A_CHUNKS;
            const int gm = m0 + r, gk = kc0 + c * 8;
            const bool ok = gm < M && gk < KC;
            cp_async_16(smem_u32(a + swz<A_CHUNKS>(r, c)), ok ? V + (long long)gm * KC + gk : V, ok);
        }
        const int k0 = kt * BK;
#pragma unroll
        for (int i = tid; i < BK * B_CHUNKS; i += THREADS) {
            const int r = i / B_CHUNKS, c = i % B_CHUNKS;
            const int gk = k0 + r, gn = n0 + c * 8;
            const bool ok = gk < K && gn < N;
            cp_async_16(smem_u32(b + swz<B_CHUNKS>(r, c)), ok ? B + (long long)gk * N + gn : B, ok);
        }
        for (int i = tid; i < E_CHUNKS; i += THREADS) {
            const int blk = i / (4 * KSTEPS), rem = i % (4 * KSTEPS);
            const int gmt = min(m0 / 16 + blk, MT - 1);
            const int gks = min(kt * KSTEPS + rem / 4, KS - 1);
            cp_async_16(smem_u32(e + 4 * i), E + ((long long)gmt * KS + gks) * 16 + 4 * (rem % 4), true);
        }
    };

    float acc[MI][NI][4];
#pragma unroll
    for (int mi = 0; mi < MI; ++mi)
#pragma unroll
        for (int ni = 0; ni < NI; ++ni)
#pragma unroll
            for (int q = 0; q < 4; ++q) acc[mi][ni][q] = 0.f;

    u32 af[MI][4], bf[NI][4], ef[MI];
    auto load_frags = [&](const u16* a, const u16* b, const u32* e, int ks) {
#pragma unroll
        for (int mi = 0; mi < MI; ++mi) {
            const int r = wm * WM + mi * 16 + (lane & 15);
            const int c = ks * 2 + (lane >> 4);
            ldmatrix_x4(af[mi], smem_u32(a + swz<A_CHUNKS>(r, c)));
            ef[mi] = e[((wm * MI + mi) * KSTEPS + ks) * 16 + 2 * (lane >> 2) + (lane & 1)];
        }
#pragma unroll
        for (int ni = 0; ni < NI; ++ni) {
            const int r = ks * 32 + lane;
            const int c = (wn * WN + ni * 8) / 8;
            ldmatrix_x4_trans(bf[ni], smem_u32(b + swz<B_CHUNKS>(r, c)));
        }
    };

    const int KT = (Kp + BK - 1) / BK;
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
        const u32* e = sE + (kt % STAGES) * E_STAGE;
#pragma unroll
        for (int ks = 0; ks < KSTEPS; ++ks) {
            load_frags(a, b, e, ks);
#pragma unroll
            for (int mi = 0; mi < MI; ++mi)
#pragma unroll
                for (int ni = 0; ni < NI; ++ni) mma_sp_16832<IS_BF16>(acc[mi][ni], af[mi], bf[ni], ef[mi]);
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
                if (row < M && col < N) {
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

#define MM24_KERNEL(NAME, IS_BF16, OUT)                                                        \
    extern "C" __global__ void __launch_bounds__(THREADS) NAME(                                \
        int M, int N, int K, int Kp, const u16* V, const u32* E, const u16* B, void* C) {      \
        mm24_body<IS_BF16, OUT>(M, N, K, Kp, V, E, B, C);                                      \
    }

MM24_KERNEL(mm24_f16_f32, false, 0)
MM24_KERNEL(mm24_f16_f16, false, 1)
MM24_KERNEL(mm24_bf16_f32, true, 0)
MM24_KERNEL(mm24_bf16_bf16, true, 1)
