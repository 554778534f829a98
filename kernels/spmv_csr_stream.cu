// spmv_csr_stream.cu -- CSR SpMV for short rows, "CSR-stream" (Greathouse & Daga, SC'14,
// "Efficient sparse matrix-vector multiplication on GPUs using the CSR storage format"): a
// block streams one contiguous run of nonzeros through shared memory.
//
// Math
//   y[r] = sum_{k = indptr[r]}^{indptr[r+1]-1} data[k] * x[indices[k]], as spmv_csr.cu.
//
// Why (written without a GPU after stop 30's H200 numbers, for the next one to time)
//   On a banded matrix, whose x gathers hit in cache, the vector kernel ran at half the speed
//   of spmv_floor.cu, which streams the same values and columns and makes the same gathers
//   (16M nonzeros, 8-24 a row: 0.061 ms pipelined, 0.075 not, against 0.032; cuSPARSE
//   0.054): a group of lanes works through its rows' dependent loads (row pointers, then
//   values and columns, then x) a few rows at a time. Here a block issues all the loads of
//   its run of values, columns and x at once, coalesced, as the floor does, and then sums
//   its rows out of shared memory.
//
// Memory layout: as spmv_csr.cu (int32 indptr/indices, T = float or double), plus the
//   partition (reference.spmv_stream_partition), two int32[n_blocks + 1] arrays. Block b
//   owns the rows r with b*STREAM_NNZ <= indptr[r] < (b+1)*STREAM_NNZ: rows row_block[b] ..
//   row_block[b+1] - 1, row_block[b] = the first r with indptr[r] >= b*STREAM_NNZ,
//   row_block[n_blocks] = n_rows (so the last block also owns the trailing empty rows);
//   n_blocks = max(1, ceil(nnz / STREAM_NNZ)). nnz_block = indptr[row_block]: the block's
//   nonzeros [s, e) = [nnz_block[b], nnz_block[b+1]), read with the rows in one round
//   instead of after them (made once, with the rows, by kernels.spmv_plan). They number
//   fewer than STREAM_NNZ plus the block's longest row: at most STREAM_CAP = 2*STREAM_NNZ
//   where no row is longer than STREAM_NNZ.
//
// Thread -> data mapping (STREAM_THREADS = 256 a block, one block per row block)
//   1. Products: thread t writes prod[k - s] = data[k] * x[indices[k]] (rounded in T) for
//      k = s + t, s + t + 256, ... < e into shared memory (coalesced loads of values and
//      columns), then __syncthreads. The first ITEMS = STREAM_NNZ/256 + 1 of a thread's k
//      (a run of up to STREAM_NNZ + 256 nonzeros: every block whose rows have at most 256)
//      are a fixed, predicated trip count: all their column and value loads are issued,
//      then all their gathers of x, so staging costs two memory round trips. (A loop
//      over k < e, even unrolled by 4, did the trip count's remainder one k at a time,
//      first, each a round trip for its column and one for its gather: in the sm_90a
//      SASS a thread with 3 products took 6 round trips, and the barrier waited for it.)
//      Any k past those (a longer row in the block) follow one at a time.
//   2. Rows: a group of G consecutive lanes per row (G = 2..32, the launcher's choice as for
//      spmv_csr.cu), 256/G rows at a time: lane l adds prod[j] for j = l, l+G, l+2G, ... of
//      its row in order, in T, and the G sums are folded by __shfl_down_sync at offsets G/2,
//      ..., 1 (fold_lanes of spmv_common.cuh, spmv_csr.cu's tree); lane 0 writes y[r]. Every
//      thread runs the same number of rounds (the block's rows / (256/G), rounded up): all 32
//      lanes reach every shuffle, so the mask is the full warp; a group past the block's last
//      row sums nothing and stores nothing. A group's row pointers for a round are loaded a
//      round ahead: the first round's before the barrier, under the staging.
//   A run longer than STREAM_CAP (a row longer than STREAM_NNZ in the block) is not staged:
//   phase 2 then forms each product where it adds it, from global memory: the same products
//   in the same order, so the same bits, slower. Every product is rounded before it is
//   added (__fmul_rn/__dmul_rn: never contracted into an FMA), so y is the scalar CSR-vector
//   sums of reference.spmv_csr_vector(..., vectorized=False) bit for bit.
//
// Launch configuration
//   grid = n_blocks, block = 256, static shared memory STREAM_CAP * sizeof(T) (8 KiB for
//   float, 16 KiB for double at STREAM_NNZ = 1024). Kernel names:
//   spmv_csr_stream_<f32|f64>_g<G>(indptr, indices, data, x, y, row_block, nnz_block).
//
// Reference
//   minigrad.kernels.reference.spmv_csr_stream (the sums) and spmv_stream_partition.

#include "spmv_common.cuh"

#ifndef STREAM_NNZ
#define STREAM_NNZ 1024  // nonzeros whose rows start in one block's run
#endif
#define STREAM_THREADS 256
#define STREAM_CAP (2 * STREAM_NNZ)
#define STREAM_ITEMS (STREAM_NNZ / STREAM_THREADS + 1)  // a thread's products loaded at once

__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }

template <typename T>
__device__ __forceinline__ T product(const int* __restrict__ indices, const T* __restrict__ data,
                                     const T* __restrict__ x, int k) {
    return mul_rn(__ldcs(data + k), __ldg(x + __ldcs(indices + k)));
}

// Row r's nonzeros [a, b) when r < r1; an empty range past the block's rows.
__device__ __forceinline__ void row_range(const int* __restrict__ indptr, int r, int r1, int& a,
                                          int& b) {
    a = b = 0;
    if (r < r1) {
        a = __ldg(indptr + r);
        b = __ldg(indptr + r + 1);
    }
}

template <typename T, int G>
__device__ __forceinline__ void spmv_csr_stream(const int* __restrict__ indptr,
                                                const int* __restrict__ indices,
                                                const T* __restrict__ data,
                                                const T* __restrict__ x, T* __restrict__ y,
                                                const int* __restrict__ row_block,
                                                const int* __restrict__ nnz_block) {
    __shared__ T prod[STREAM_CAP];
    const int r0 = __ldg(row_block + blockIdx.x), r1 = __ldg(row_block + blockIdx.x + 1);
    const int s = __ldg(nnz_block + blockIdx.x), e = __ldg(nnz_block + blockIdx.x + 1);
    constexpr int ROWS = STREAM_THREADS / G;  // rows summed at a time
    const int lane = threadIdx.x % G;
    const int group = threadIdx.x / G;
    int a, b;  // this group's row of the first round, loaded under the staging
    row_range(indptr, r0 + group, r1, a, b);
    const bool staged = e - s <= STREAM_CAP;  // the same for the whole block
    if (staged) {
        int col[STREAM_ITEMS];
        T val[STREAM_ITEMS];
#pragma unroll
        for (int i = 0; i < STREAM_ITEMS; ++i) {
            const int k = s + threadIdx.x + i * STREAM_THREADS;
            col[i] = 0;
            val[i] = T(0);
            if (k < e) {
                col[i] = __ldcs(indices + k);
                val[i] = __ldcs(data + k);
            }
        }
#pragma unroll
        for (int i = 0; i < STREAM_ITEMS; ++i) {
            const int k = s + threadIdx.x + i * STREAM_THREADS;
            if (k < e) prod[k - s] = mul_rn(val[i], __ldg(x + col[i]));
        }
        for (int k = s + threadIdx.x + STREAM_ITEMS * STREAM_THREADS; k < e;
             k += STREAM_THREADS)
            prod[k - s] = product(indices, data, x, k);
    }
    __syncthreads();

    for (int base = r0; base < r1; base += ROWS) {  // the same rounds in every thread
        const int r = base + group;
        int next_a, next_b;  // the next round's row, in flight while this one is summed
        row_range(indptr, r + ROWS, r1, next_a, next_b);
        T sum = T(0);
        if (staged) {
            for (int k = a + lane; k < b; k += G) sum += prod[k - s];
        } else {
            for (int k = a + lane; k < b; k += G) sum += product(indices, data, x, k);
        }
        sum = fold_lanes<T, G>(sum, 0xffffffffu);
        if (lane == 0 && r < r1) y[r] = sum;
        a = next_a;
        b = next_b;
    }
}

#define SPMV_STREAM_KERNEL(T, TN, G)                                                           \
    extern "C" __global__ void __launch_bounds__(STREAM_THREADS) spmv_csr_stream_##TN##_g##G(  \
        const int* indptr, const int* indices, const T* data, const T* x, T* y,                \
        const int* row_block, const int* nnz_block) {                                          \
        spmv_csr_stream<T, G>(indptr, indices, data, x, y, row_block, nnz_block);              \
    }

SPMV_FOR_EACH_G(SPMV_STREAM_KERNEL, float, f32)
SPMV_FOR_EACH_G(SPMV_STREAM_KERNEL, double, f64)
