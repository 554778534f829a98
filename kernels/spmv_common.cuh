// spmv_common.cuh -- what spmv_csr.cu and spmv_csr_stream.cu share: the shuffle tree that
// folds a row's G lane sums (reference.spmv_csr_vector models it; the stream kernel's bits
// equal the scalar vector kernel's because both use this one tree), and the instantiation of
// a kernel for every group size G = 2, 4, 8, 16, 32 (the launcher's threads_per_row).
#pragma once

// A row's G partial sums folded by __shfl_down_sync at offsets G/2, G/4, ..., 1: lane 0 gets
// the row's sum.
template <typename T, int G>
__device__ __forceinline__ T fold_lanes(T sum, unsigned mask) {
#pragma unroll
    for (int off = G / 2; off > 0; off /= 2) sum += __shfl_down_sync(mask, sum, off, G);
    return sum;
}

// KERNEL(T, TN, G) for each group size G.
#define SPMV_FOR_EACH_G(KERNEL, T, TN) \
    KERNEL(T, TN, 2)                   \
    KERNEL(T, TN, 4)                   \
    KERNEL(T, TN, 8)                   \
    KERNEL(T, TN, 16)                  \
    KERNEL(T, TN, 32)
