// hgemm_wmma.cu -- the readable tensor-core GEMM: the CUDA C++ WMMA API, no pipelining.
// A baseline to read before hgemm.cu, and to measure how much the PTX-level version buys.
//
// Math
//   C = A B, A: M x K fp16, B: K x N fp16, C: M x N fp32 or fp16; fp32 accumulation.
//
// Memory layout
//   A, B, C row-major and contiguous (lda = K, ldb = N, ldc = N). Any M, N, K: the tiles are
//   loaded element by element with zero fill past the edges.
//
// Tiling and thread -> data mapping
//   block tile 64 x 64, k tile 32; 4 warps in a 2 x 2 grid, each warp owns a 32 x 32 piece of
//   C = 2 x 2 wmma 16x16 accumulator fragments.
//   Each k tile: the 128 threads copy A[64 x 32] and B[32 x 64] into shared memory (rows
//   padded by 8 halves against bank conflicts), __syncthreads, each warp does 2 k16 steps of
//   load_matrix_sync (A row-major, B row-major) + 2 x 2 mma_sync, __syncthreads.
//   Epilogue: each warp stores its fragments to a shared fp32 tile, then the block writes
//   the in-range elements to C (converted to fp16 for the fp16 kernel).
//
// Launch configuration
//   block = 128 threads, grid = (ceil(N/64), ceil(M/64)), static shared memory ~27 KiB.
//   Kernel names: hgemm_wmma_f16_f32, hgemm_wmma_f16_f16.
//
// Reference
//   minigrad.kernels.reference.hgemm (fp32 accumulation over k16 steps; WMMA's k16 steps run
//   in the same order).

#include <mma.h>
#include <cuda_fp16.h>

using namespace nvcuda;

#define WBM 64
#define WBN 64
#define WBK 32
#define PAD 8

template <bool OUT_F16>
__device__ __forceinline__ void hgemm_wmma_body(int M, int N, int K, const __half* __restrict__ A,
                                                const __half* __restrict__ B, void* __restrict__ C) {
    __shared__ __align__(32) __half sA[WBM][WBK + PAD];
    __shared__ __align__(32) __half sB[WBK][WBN + PAD];
    __shared__ __align__(32) float sC[WBM][WBN + 4];

    const int m0 = blockIdx.y * WBM, n0 = blockIdx.x * WBN;
    const int tid = threadIdx.x, warp = tid / 32;
    const int wm = warp / 2, wn = warp % 2;  // warp (wm, wn) owns C[32wm.., 32wn..]

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

    for (int k0 = 0; k0 < K; k0 += WBK) {
        for (int i = tid; i < WBM * WBK; i += blockDim.x) {
            const int r = i / WBK, c = i % WBK;
            const int gm = m0 + r, gk = k0 + c;
            sA[r][c] = (gm < M && gk < K) ? A[(long long)gm * K + gk] : __float2half(0.0f);
        }
        for (int i = tid; i < WBK * WBN; i += blockDim.x) {
            const int r = i / WBN, c = i % WBN;
            const int gk = k0 + r, gn = n0 + c;
            sB[r][c] = (gk < K && gn < N) ? B[(long long)gk * N + gn] : __float2half(0.0f);
        }
        __syncthreads();
        for (int kk = 0; kk < WBK; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> a[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major> b[2];
            for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(a[i], &sA[32 * wm + 16 * i][kk], WBK + PAD);
            for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(b[j], &sB[kk][32 * wn + 16 * j], WBN + PAD);
            for (int i = 0; i < 2; ++i)
                for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }

    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j)
            wmma::store_matrix_sync(&sC[32 * wm + 16 * i][32 * wn + 16 * j], acc[i][j], WBN + 4,
                                    wmma::mem_row_major);
    __syncthreads();
    for (int i = tid; i < WBM * WBN; i += blockDim.x) {
        const int r = i / WBN, c = i % WBN;
        const int gm = m0 + r, gn = n0 + c;
        if (gm < M && gn < N) {
            if (OUT_F16) reinterpret_cast<__half*>(C)[(long long)gm * N + gn] = __float2half(sC[r][c]);
            else reinterpret_cast<float*>(C)[(long long)gm * N + gn] = sC[r][c];
        }
    }
}

extern "C" __global__ void __launch_bounds__(128)
hgemm_wmma_f16_f32(int M, int N, int K, const __half* A, const __half* B, void* C) {
    hgemm_wmma_body<false>(M, N, K, A, B, C);
}

extern "C" __global__ void __launch_bounds__(128)
hgemm_wmma_f16_f16(int M, int N, int K, const __half* A, const __half* B, void* C) {
    hgemm_wmma_body<true>(M, N, K, A, B, C);
}
