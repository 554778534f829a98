// spmm_csr.cu -- CSR sparse matrix x dense matrix (many right-hand sides).
//
// Math
//   C[r, n] = sum_{k = indptr[r]}^{indptr[r+1]-1} data[k] * B[indices[k], n]
//   A is n_rows x n_inner in CSR, B is n_inner x N dense row-major, C is n_rows x N row-major.
//
// Memory layout
//   indptr int32[n_rows+1], indices int32[nnz], data T[nnz]; B T[n_inner * N] with leading
//   dimension N; C T[n_rows * N]. T = float or double.
//
// Thread -> data mapping ("row split", one warp per (row, column strip))
//   warp w of the block owns row r = blockIdx.x * WARPS + w and the strip of 32*CPL columns
//   starting at n0 = blockIdx.y * 32 * CPL. Lane l owns CPL columns of the strip:
//     VEC = 0: columns n0 + l + 32*c, c = 0..CPL-1   (each load instruction is coalesced)
//     VEC = 1: columns n0 + CPL*l + c                 (16-byte loads: one float4, or two
//                                                      double2, per lane per nonzero)
//   The row's nonzeros are read 32 at a time, lane l holding (indices[k0+l], data[k0+l]);
//   __shfl_sync broadcasts nonzero i of the batch to all lanes, which then do
//   acc[c] += v * B[col, n_c]. Per output element the sum runs over the row's nonzeros in
//   storage order.
//
// Launch configuration
//   block = 32*WARPS threads (WARPS = 8), grid = (ceil(n_rows / WARPS), ceil(N / (32*CPL))).
//   CPL = 4 for both dtypes (float: one float4 per lane with VEC; double: two double2).
//   Kernel names: spmm_csr_<f32|f64>[_vec]. VEC needs N % CPL == 0 and B 16-byte aligned.
//
// Reference
//   minigrad.kernels.reference.spmm_csr (per row, nonzeros accumulated in storage order).

#ifndef WARPS
#define WARPS 8
#endif
#define CPL 4

template <typename T, bool VEC>
__device__ __forceinline__ void spmm_csr(int n_rows, int N, const int* __restrict__ indptr,
                                         const int* __restrict__ indices,
                                         const T* __restrict__ data, const T* __restrict__ B,
                                         T* __restrict__ C) {
    const int lane = threadIdx.x % 32;
    const int row = blockIdx.x * WARPS + threadIdx.x / 32;
    if (row >= n_rows) return;  // whole warps leave together
    const int n0 = blockIdx.y * 32 * CPL;

    int col[CPL];
    bool ok[CPL];
#pragma unroll
    for (int c = 0; c < CPL; ++c) {
        col[c] = VEC ? n0 + CPL * lane + c : n0 + lane + 32 * c;
        ok[c] = col[c] < N;
    }
    T acc[CPL];
#pragma unroll
    for (int c = 0; c < CPL; ++c) acc[c] = T(0);

    const int s = __ldg(indptr + row);
    const int e = __ldg(indptr + row + 1);
    for (int k0 = s; k0 < e; k0 += 32) {
        const int k = k0 + lane;
        const int my_col = k < e ? __ldg(indices + k) : 0;
        const T my_val = k < e ? __ldg(data + k) : T(0);
        const int batch = min(32, e - k0);
        for (int i = 0; i < batch; ++i) {
            const int bi = __shfl_sync(0xffffffffu, my_col, i);
            const T v = __shfl_sync(0xffffffffu, my_val, i);
            const T* brow = B + (long long)bi * N;
            if (VEC) {
                if (ok[0]) {  // N % CPL == 0: a lane's CPL columns are all in or all out
                    if (sizeof(T) == 4) {
                        const float4 b4 = __ldg(reinterpret_cast<const float4*>(brow + col[0]));
                        acc[0] += v * (T)b4.x;
                        acc[1] += v * (T)b4.y;
                        acc[2] += v * (T)b4.z;
                        acc[3] += v * (T)b4.w;
                    } else {
                        const double2 b0 = __ldg(reinterpret_cast<const double2*>(brow + col[0]));
                        const double2 b1 = __ldg(reinterpret_cast<const double2*>(brow + col[2]));
                        acc[0] += v * (T)b0.x;
                        acc[1] += v * (T)b0.y;
                        acc[2] += v * (T)b1.x;
                        acc[3] += v * (T)b1.y;
                    }
                }
            } else {
#pragma unroll
                for (int c = 0; c < CPL; ++c)
                    if (ok[c]) acc[c] += v * __ldg(brow + col[c]);
            }
        }
    }
    T* crow = C + (long long)row * N;
#pragma unroll
    for (int c = 0; c < CPL; ++c)
        if (ok[c]) crow[col[c]] = acc[c];
}

#define SPMM_KERNELS(T, TN)                                                                    \
    extern "C" __global__ void __launch_bounds__(32 * WARPS) spmm_csr_##TN(                    \
        int n_rows, int N, const int* indptr, const int* indices, const T* data, const T* B,   \
        T* C) {                                                                                \
        spmm_csr<T, false>(n_rows, N, indptr, indices, data, B, C);                            \
    }                                                                                          \
    extern "C" __global__ void __launch_bounds__(32 * WARPS) spmm_csr_##TN##_vec(              \
        int n_rows, int N, const int* indptr, const int* indices, const T* data, const T* B,   \
        T* C) {                                                                                \
        spmm_csr<T, true>(n_rows, N, indptr, indices, data, B, C);                             \
    }

SPMM_KERNELS(float, f32)
SPMM_KERNELS(double, f64)
