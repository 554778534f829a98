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
//     FRAG_BUFS = 2 (default): A fragments and metadata double-buffered across k32 steps, the
//     B fragment of column ni reloaded for the next step after its MI mma.sp. FRAG_BUFS = 1:
//     each step loads its A and metadata, then each B fragment right before its mma.sp --
//     the registers a 96 x 64 warp tile (BM = 192, WARPS_M = 2: 192 accumulators) leaves
//     (255 registers, 8 bytes spilled on sm_90a; the double-buffered loop spills 540).
//     At 192 x 128 a k32 step moves 30.5 KiB of shared memory per 2^20 dense-equivalent
//     FLOP against 38.5 at 128 x 128: B's fragments dominate a 2:4 warp's reads, and a
//     taller warp shares them over more rows.
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
#ifndef FRAG_BUFS
#define FRAG_BUFS 2  // 2: fragments of the next k32 step loaded under this one's mma.sp
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
#define A_RPI (THREADS / A_CHUNKS)  // value-tile rows copied per round of the block
#define B_RPI (THREADS / B_CHUNKS)
#define A_IT (BM / A_RPI)           // copy rounds per stage
#define B_IT (BK / B_RPI)
#define E_IT ((E_CHUNKS + THREADS - 1) / THREADS)

static_assert(FRAG_BUFS == 1 || FRAG_BUFS == 2, "FRAG_BUFS is 1 or 2");
static_assert(BK % 32 == 0, "BK must be a multiple of 32 for mma.sp m16n8k32");
static_assert(WM % 16 == 0 && WN % 8 == 0, "warp tile must be a multiple of 16 x 8");
static_assert((BM * A_CHUNKS) % THREADS == 0 && (BK * B_CHUNKS) % THREADS == 0,
              "tile chunks must split evenly over the threads");
static_assert(THREADS % A_CHUNKS == 0 && THREADS % B_CHUNKS == 0 && A_IT <= 32,
              "a copy round must cover whole tile rows");

template <bool IS_BF16, int OUT>  // OUT: 0 fp32, 1 16-bit (same type as the inputs)
__device__ __forceinline__ void mm24_body(int M, int N, int K, int Kp, const u16* __restrict__ V,
                                          const u32* __restrict__ E, const u16* __restrict__ B,
                                          void* __restrict__ C) {
    extern __shared__ __align__(128) unsigned char smem[];
    const u32 sA = smem_u32(smem);  // byte addresses in the shared window
    const u32 sB = sA + STAGES * A_STAGE * 2;
    const u32* sE = reinterpret_cast<const u32*>(smem + STAGES * (A_STAGE + B_STAGE) * 2);
    const u32 sE_addr = sB + STAGES * B_STAGE * 2;

    const int KC = Kp / 2;              // kept values per row
    const int MT = (M + 15) / 16;       // m16 blocks of metadata
    const int KS = Kp / 32;             // k32 blocks of metadata
    const int tiles_m = (M + BM - 1) / BM, tiles_n = (N + BN - 1) / BN;
    int bm, bn;
    tile_coords(blockIdx.x, tiles_m, tiles_n, GROUP_M, bm, bn);
    const int m0 = bm * BM, n0 = bn * BN;

    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
    const int wm = warp / WARPS_N, wn = warp % WARPS_N;

    // ---- gmem -> smem copy plan, fixed for the whole k loop (as hgemm.cu).
    const int a_r = tid / A_CHUNKS, a_c = tid % A_CHUNKS;
    const int b_r = tid / B_CHUNKS, b_c = tid % B_CHUNKS;
    const u16* a_src = V + (long long)(m0 + a_r) * KC + a_c * 8;  // + kt*BK/2 + it*A_RPI*KC
    const u16* b_src = B + (long long)b_r * N + n0 + b_c * 8;     // + kt*BK*N + it*B_RPI*N
    const long long a_step = (long long)A_RPI * KC, b_step = (long long)B_RPI * N;
    unsigned a_rows_ok = 0;
#pragma unroll
    for (int it = 0; it < A_IT; ++it) a_rows_ok |= (m0 + a_r + it * A_RPI < M ? 1u : 0u) << it;
    const bool b_col_ok = n0 + b_c * 8 < N;
    const u32 a_st = swz<A_CHUNKS>(a_r, a_c) * 2, b_st = swz<B_CHUNKS>(b_r, b_c) * 2;
    // metadata chunk i (4 words) of a stage: m16 block i / (4*KSTEPS), k32 block
    // (i % (4*KSTEPS)) / 4, words 4 * (i % 4) .. +3; m16 blocks past the end re-read the last.
    int e_gmt[E_IT], e_ks[E_IT], e_w[E_IT];
#pragma unroll
    for (int it = 0; it < E_IT; ++it) {
        const int i = tid + it * THREADS, rem = i % (4 * KSTEPS);
        e_gmt[it] = min(m0 / 16 + i / (4 * KSTEPS), MT - 1);
        e_ks[it] = rem / 4;
        e_w[it] = 4 * (rem % 4);
    }

    auto load_stage = [&](int stage, int kt) {
        const u32 a = sA + stage * (A_STAGE * 2), b = sB + stage * (B_STAGE * 2);
        const bool a_k_ok = kt * (BK / 2) + a_c * 8 < KC;
        const u16* ap = a_src + kt * (BK / 2);
#pragma unroll
        for (int it = 0; it < A_IT; ++it) {
            const bool ok = a_k_ok && ((a_rows_ok >> it) & 1u);
            const u32 dst = A_RPI % 8 == 0 ? a + a_st + it * (A_RPI * A_CHUNKS * 16)
                                           : a + swz<A_CHUNKS>(a_r + it * A_RPI, a_c) * 2;
            cp_async_16(dst, ok ? ap + it * a_step : V, ok);
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
        const u32 e = sE_addr + stage * (E_STAGE * 4);
#pragma unroll
        for (int it = 0; it < E_IT; ++it) {
            const int i = tid + it * THREADS;
            if (E_CHUNKS % THREADS == 0 || i < E_CHUNKS) {
                const int gks = min(kt * KSTEPS + e_ks[it], KS - 1);
                cp_async_16(e + 16 * i, E + ((long long)e_gmt[it] * KS + gks) * 16 + e_w[it], true);
            }
        }
    };

    // ---- smem -> register plan (byte offsets inside a stage). A: as hgemm.cu (mi is an
    // immediate). B, tile ni, step ks: k row 32ks + l, chunk (wn*WN + 8ni)/8; ks is an immediate.
    // Metadata, tile mi, step ks: word ((wm*MI + mi)*KSTEPS + ks)*16 + 2(l/4) + l%2.
    u32 a_ld[KSTEPS];
#pragma unroll
    for (int ks = 0; ks < KSTEPS; ++ks)
        a_ld[ks] = swz<A_CHUNKS>(wm * WM + (lane & 15), ks * 2 + (lane >> 4)) * 2;
    const u32 b_row = lane * (B_CHUNKS * 16);
    const int b_x = (lane / (B_CHUNKS >= 8 ? 1 : 8 / B_CHUNKS)) & ((B_CHUNKS >= 8 ? 8 : B_CHUNKS) - 1);
    const int b_c0 = wn * WN / 8;
    const int e_ld = wm * MI * KSTEPS * 16 + 2 * (lane >> 2) + (lane & 1);

    float acc[MI][NI][4];
#pragma unroll
    for (int mi = 0; mi < MI; ++mi)
#pragma unroll
        for (int ni = 0; ni < NI; ++ni)
#pragma unroll
            for (int q = 0; q < 4; ++q) acc[mi][ni][q] = 0.f;

    // A fragments and metadata are double-buffered across k32 steps; the B fragment of mma
    // column ni is reloaded for the next step right after the MI mma.sp that read it (one B
    // buffer: 32 registers fewer, which keeps the kernel under 255 registers without spills).
    u32 af[FRAG_BUFS][MI][4], ef[FRAG_BUFS][MI], bf[NI][4];
    auto load_a = [&](int buf, u32 a, const u32* e, int ks) {
#pragma unroll
        for (int mi = 0; mi < MI; ++mi) {
            ldmatrix_x4(af[buf][mi], a + a_ld[ks] + mi * (16 * A_CHUNKS * 16));
            ef[buf][mi] = e[e_ld + (mi * KSTEPS + ks) * 16];
        }
    };
    auto load_b = [&](int ni, u32 b, int ks) {
        ldmatrix_x4_trans(bf[ni], b + b_row + ks * (32 * B_CHUNKS * 16) + (((b_c0 + ni) ^ b_x) << 4));
    };

    const int KT = (Kp + BK - 1) / BK;
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < KT) load_stage(s, s);
        cp_async_commit();
    }
    cp_async_wait<STAGES - 2>();  // tile 0 has landed
    __syncthreads();

    int rd = 0, wr = STAGES - 1;  // stage computed now, stage written next
    u32 a_rd = sA, b_rd = sB;
    const u32* e_rd = sE;
#if FRAG_BUFS == 2
    load_a(0, a_rd, e_rd, 0);
#pragma unroll
    for (int ni = 0; ni < NI; ++ni) load_b(ni, b_rd, 0);
    // Register buffer of step ks of tile kt: (kt * KSTEPS + ks) & 1, a compile-time index
    // (the kt loop is unrolled by 2 when KSTEPS is odd).
    constexpr int UNROLL = KSTEPS % 2 ? 2 : 1;
    for (int kt0 = 0; kt0 < KT; kt0 += UNROLL) {
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const int kt = kt0 + u;
            if (UNROLL > 1 && kt >= KT) break;  // uniform over the block
#pragma unroll
            for (int ks = 0; ks < KSTEPS; ++ks) {
                const int cur = (u * KSTEPS + ks) & 1;
                if (ks == 0) refill_stage<STAGES>(load_stage, kt, KT, wr);
                // Where the fragments of the next step come from: this stage, or (last step)
                // the next tile's stage, once it has landed and every warp has passed the
                // barrier (so that all reads of tile kt-1's stage, refilled above, are done).
                u32 a_nx = a_rd, b_nx = b_rd;
                const u32* e_nx = e_rd;
                int ks_nx = ks + 1;
                if (ks + 1 == KSTEPS) {
                    next_stage<STAGES>(rd);
                    a_rd = a_nx = sA + rd * (A_STAGE * 2);
                    b_rd = b_nx = sB + rd * (B_STAGE * 2);
                    e_rd = e_nx = sE + rd * E_STAGE;
                    ks_nx = 0;
                }
                // (after the last tile this reads a stale stage: harmless, never used)
                load_a(cur ^ 1, a_nx, e_nx, ks_nx);
#pragma unroll
                for (int ni = 0; ni < NI; ++ni) {
#pragma unroll
                    for (int mi = 0; mi < MI; ++mi)
                        mma_sp_16832<IS_BF16>(acc[mi][ni], af[cur][mi], bf[ni], ef[cur][mi]);
                    load_b(ni, b_nx, ks_nx);
                }
            }
        }
    }
#else
    // One buffer: each k32 step loads its A fragments and metadata, then each B fragment
    // right before the MI mma.sp that read it (ptxas hoists what the registers allow). For
    // 96 x 64 warp tiles (BM = 192, WARPS_M = 2), whose 192 accumulators a thread leave no
    // room for the fragments of a second step.
    for (int kt = 0; kt < KT; ++kt) {
#pragma unroll
        for (int ks = 0; ks < KSTEPS; ++ks) {
            if (ks == 0) refill_stage<STAGES>(load_stage, kt, KT, wr);
            load_a(0, a_rd, e_rd, ks);
#pragma unroll
            for (int ni = 0; ni < NI; ++ni) {
                load_b(ni, b_rd, ks);
#pragma unroll
                for (int mi = 0; mi < MI; ++mi)
                    mma_sp_16832<IS_BF16>(acc[mi][ni], af[0][mi], bf[ni], ef[0][mi]);
            }
        }
        next_stage<STAGES>(rd);  // tile kt+1 has landed; every read of tile kt is done
        a_rd = sA + rd * (A_STAGE * 2);
        b_rd = sB + rd * (B_STAGE * 2);
        e_rd = sE + rd * E_STAGE;
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
