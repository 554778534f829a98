// spmv_csr.cu -- CSR sparse matrix x dense vector, "CSR-vector": a group of G lanes per row.
//
// Math
//   y[r] = sum_{k = indptr[r]}^{indptr[r+1]-1} data[k] * x[indices[k]]      (r = 0 .. n_rows-1)
//
// Memory layout
//   indptr  : int32[n_rows + 1]   row r owns the nonzeros k in [indptr[r], indptr[r+1])
//   indices : int32[nnz]          column of nonzero k
//   data    : T[nnz]              value of nonzero k      (T = float or double)
//   x       : T[n_cols], y : T[n_rows]; all contiguous.
//
// Thread -> data mapping
//   A group of G consecutive lanes (G = 2, 4, 8, 16 or 32; G divides the warp) owns one row,
//   row = blockIdx.x * (blockDim.x / G) + threadIdx.x / G, lane = threadIdx.x % G.
//   With vectorised loads (VEC = 1) the row's nonzeros are split into three parts:
//     head  k in [s, a)   a = min(e, round_up(s, V))          one element per lane per step
//     body  chunks c in [a/V, b/V)  b = max(a, round_down(e, V))  one 16-byte chunk (V values,
//           V indices) per lane per step: float4 + int4 for float (V = 4), double2 + int2
//           for double (V = 2); lane takes chunks a/V + lane, + G, + 2G, ...
//     tail  k in [b, e)                                      one element per lane per step
//   Each lane keeps one running sum in T, in the order head, body (chunk by chunk, the V
//   products of a chunk in order), tail. The G partial sums are then reduced with
//   __shfl_down_sync at offsets G/2, G/4, ..., 1; lane 0 writes y[row].
//   Vectorised loads need data and indices 16-byte aligned at index 0 (the launcher checks
//   the pointers and falls back to VEC = 0, one element per lane per step).
//
// Launch configuration
//   block = 256 threads (256 / G rows per block), grid = ceil(n_rows / (256 / G)).
//   Kernel names: spmv_csr_vector_<f32|f64>_g<G>[_vec].
//
// Reference
//   minigrad.kernels.reference.spmv_csr_vector (same split, same per-lane order, same
//   shuffle tree). The GPU contracts a*b+s into one FMA; the reference rounds twice, so the
//   two agree to rounding, not bit for bit.

template <typename T> struct Vec16;
template <> struct Vec16<float> {
    static constexpr int V = 4;
    typedef float4 values;
    typedef int4 cols;
};
template <> struct Vec16<double> {
    static constexpr int V = 2;
    typedef double2 values;
    typedef int2 cols;
};

__device__ __forceinline__ float chunk_dot(float s, const float4 v, const int4 c, const float* x) {
    s += v.x * __ldg(x + c.x);
    s += v.y * __ldg(x + c.y);
    s += v.z * __ldg(x + c.z);
    s += v.w * __ldg(x + c.w);
    return s;
}

__device__ __forceinline__ double chunk_dot(double s, const double2 v, const int2 c, const double* x) {
    s += v.x * __ldg(x + c.x);
    s += v.y * __ldg(x + c.y);
    return s;
}

// The x values of a chunk, gathered ahead of their use, and the chunk's sum with them (same
// order as chunk_dot).
__device__ __forceinline__ float4 chunk_x(const int4 c, const float* x) {
    return make_float4(__ldg(x + c.x), __ldg(x + c.y), __ldg(x + c.z), __ldg(x + c.w));
}
__device__ __forceinline__ double2 chunk_x(const int2 c, const double* x) {
    return make_double2(__ldg(x + c.x), __ldg(x + c.y));
}
__device__ __forceinline__ float chunk_dot_x(float s, const float4 v, const float4 xv) {
    s += v.x * xv.x;
    s += v.y * xv.y;
    s += v.z * xv.z;
    s += v.w * xv.w;
    return s;
}
__device__ __forceinline__ double chunk_dot_x(double s, const double2 v, const double2 xv) {
    s += v.x * xv.x;
    s += v.y * xv.y;
    return s;
}

template <typename T, int G, bool VEC>
__device__ __forceinline__ void spmv_csr_vector(int n_rows, const int* __restrict__ indptr,
                                                const int* __restrict__ indices,
                                                const T* __restrict__ data,
                                                const T* __restrict__ x, T* __restrict__ y) {
    const int lane = threadIdx.x % G;
    const int row = blockIdx.x * (blockDim.x / G) + threadIdx.x / G;
    // All 32 lanes are still converged here; the mask names the lanes that keep working.
    const unsigned mask = __ballot_sync(0xffffffffu, row < n_rows);
    if (row >= n_rows) return;  // whole groups leave together: G divides 32

    const int s = __ldg(indptr + row);
    const int e = __ldg(indptr + row + 1);
    T sum = T(0);
    if (VEC) {
        typedef Vec16<T> VT;
        constexpr int V = VT::V;
        const int a = min(e, (s + V - 1) / V * V);
        const int b = max(a, e / V * V);
        const typename VT::values* dv = reinterpret_cast<const typename VT::values*>(data);
        const typename VT::cols* iv = reinterpret_cast<const typename VT::cols*>(indices);
        // The first step of each part (head, body, tail) is loaded up front -- values and
        // columns, then the x gathers -- so a row of up to G*V + 2(V-1) nonzeros costs one
        // round of memory latency instead of three; the sums are still added in the order
        // head, body, tail.
        const int kh = s + lane, c0 = a / V + lane, kt = b + lane;
        const bool hv = kh < a, cv = c0 < b / V, tv = kt < e;
        T hval = T(0), tval = T(0), hx = T(0), tx = T(0);
        int hcol = 0, tcol = 0;
        typename VT::values cval, cx;
        typename VT::cols ccol;
        if (hv) { hval = __ldcs(data + kh); hcol = __ldcs(indices + kh); }
        if (cv) { cval = __ldcs(dv + c0); ccol = __ldcs(iv + c0); }
        if (tv) { tval = __ldcs(data + kt); tcol = __ldcs(indices + kt); }
        if (hv) hx = __ldg(x + hcol);
        if (cv) cx = chunk_x(ccol, x);
        if (tv) tx = __ldg(x + tcol);
        if (hv) sum += hval * hx;
        for (int k = kh + G; k < a; k += G) sum += __ldcs(data + k) * __ldg(x + __ldcs(indices + k));
        if (cv) sum = chunk_dot_x(sum, cval, cx);
#pragma unroll 2
        for (int c = c0 + G; c < b / V; c += G) sum = chunk_dot(sum, __ldcs(dv + c), __ldcs(iv + c), x);
        if (tv) sum += tval * tx;
        for (int k = kt + G; k < e; k += G) sum += __ldcs(data + k) * __ldg(x + __ldcs(indices + k));
    } else {
        for (int k = s + lane; k < e; k += G) sum += __ldcs(data + k) * __ldg(x + __ldcs(indices + k));
    }
#pragma unroll
    for (int off = G / 2; off > 0; off /= 2) sum += __shfl_down_sync(mask, sum, off, G);
    if (lane == 0) y[row] = sum;
}

#define SPMV_VECTOR_KERNEL(T, TN, G)                                                           \
    extern "C" __global__ void __launch_bounds__(256) spmv_csr_vector_##TN##_g##G(             \
        int n_rows, const int* indptr, const int* indices, const T* data, const T* x, T* y) {  \
        spmv_csr_vector<T, G, false>(n_rows, indptr, indices, data, x, y);                     \
    }                                                                                          \
    extern "C" __global__ void __launch_bounds__(256) spmv_csr_vector_##TN##_g##G##_vec(       \
        int n_rows, const int* indptr, const int* indices, const T* data, const T* x, T* y) {  \
        spmv_csr_vector<T, G, true>(n_rows, indptr, indices, data, x, y);                      \
    }

#define SPMV_VECTOR_ALL_G(T, TN) \
    SPMV_VECTOR_KERNEL(T, TN, 2) \
    SPMV_VECTOR_KERNEL(T, TN, 4) \
    SPMV_VECTOR_KERNEL(T, TN, 8) \
    SPMV_VECTOR_KERNEL(T, TN, 16) \
    SPMV_VECTOR_KERNEL(T, TN, 32)

SPMV_VECTOR_ALL_G(float, f32)
SPMV_VECTOR_ALL_G(double, f64)
