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
//   A group of G consecutive lanes (G = 2, 4, 8, 16 or 32; G divides the warp) owns R
//   consecutive rows (R = SPMV_ROWS: 1 by default, 2 or 4), rows first .. first + R - 1 with
//   first = (blockIdx.x * (blockDim.x / G) + threadIdx.x / G) * R, lane = threadIdx.x % G.
//   Each row is summed exactly as with R = 1; R > 1 only puts the first loads of R rows
//   ahead of any wait in the source (more bytes in flight per thread: SpMV is bound by
//   memory latency times the loads in flight, not by arithmetic); ptxas keeps part of that
//   order (sm_90a SASS: the second row's loads interleave with the first row's gathers).
//   With vectorised loads (VEC = 1) the row's nonzeros are split into three parts:
//     head  k in [s, a)   a = min(e, round_up(s, V))          one element per lane per step
//     body  chunks c in [a/V, b/V)  b = max(a, round_down(e, V))  one 16-byte chunk (V values,
//           V indices) per lane per step: float4 + int4 for float (V = 4), double2 + int2
//           for double (V = 2); lane takes chunks a/V + lane, + G, + 2G, ...
//     tail  k in [b, e)                                      one element per lane per step
//   Each lane keeps one running sum in T, in the order head, body (chunk by chunk, the V
//   products of a chunk in order), tail. The G partial sums are then reduced with
//   __shfl_down_sync at offsets G/2, G/4, ..., 1; lane 0 writes y[row]. The first step of
//   each part (one head element, one chunk, one tail element per lane) of all R rows is
//   loaded up front, then their x gathers, then the sums (RowPass below).
//   Vectorised loads need data and indices 16-byte aligned at index 0 (the launcher checks
//   the pointers and falls back to VEC = 0, one element per lane per step).
//
// Launch configuration
//   block = 256 threads (256 / G * R rows per block), grid = ceil(n_rows / (256 / G * R))
//   (reference.spmv_vector_grid). Kernel names: spmv_csr_vector_<f32|f64>_g<G>[_vec]; R and
//   the prefetch are -D macros (one module per setting).
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

// Tuning macros (the launcher's rows_per_group= and prefetch=; both off by default).
#ifndef SPMV_ROWS
#define SPMV_ROWS 1      // rows per group of G lanes: 1, 2 or 4
#endif
#ifndef SPMV_PREFETCH
#define SPMV_PREFETCH 0  // 1: prefetch.global.L2 ahead of the first chunk's values
#endif

// One lane's share of one row, split in three so that a group can issue the first loads of
// all its R rows before it uses any of them: load() issues the first step of each part
// (values and columns), gather() the x values of that step, sum() adds the row's products
// in the order head, body, tail (the remaining steps are loaded as they are added).
template <typename T, int G>
struct RowPass {
    typedef Vec16<T> VT;
    static constexpr int V = VT::V;
    int kh, c0, kt, a, b, e;
    bool hv, cv, tv;
    T hval, tval, hx, tx;
    int hcol, tcol;
    typename VT::values cval, cx;
    typename VT::cols ccol;

    __device__ __forceinline__ void load(int s, int e_, int lane, const T* __restrict__ data,
                                         const int* __restrict__ indices) {
        e = e_;
        a = min(e, (s + V - 1) / V * V);
        b = max(a, e / V * V);
        kh = s + lane;
        c0 = a / V + lane;
        kt = b + lane;
        hv = kh < a;
        cv = c0 < b / V;
        tv = kt < e;
        hval = tval = hx = tx = T(0);
        hcol = tcol = 0;
        if (hv) { hval = __ldcs(data + kh); hcol = __ldcs(indices + kh); }
        if (cv) {
#if SPMV_PREFETCH
            // ptxas may place this load after the first gathers, and a gather waits for its
            // column, holding the load back one memory latency. A prefetch has no register
            // to wait for: it starts the read at once (and, in the SASS of sm_90a, ptxas
            // then issues the load beside it).
            asm volatile("prefetch.global.L2 [%0];"
                         :: "l"(reinterpret_cast<const typename VT::values*>(data) + c0));
#endif
            cval = __ldcs(reinterpret_cast<const typename VT::values*>(data) + c0);
            ccol = __ldcs(reinterpret_cast<const typename VT::cols*>(indices) + c0);
        }
        if (tv) { tval = __ldcs(data + kt); tcol = __ldcs(indices + kt); }
    }

    __device__ __forceinline__ void gather(const T* __restrict__ x) {
        if (hv) hx = __ldg(x + hcol);
        if (cv) cx = chunk_x(ccol, x);
        if (tv) tx = __ldg(x + tcol);
    }

    __device__ __forceinline__ T sum(const T* __restrict__ data, const int* __restrict__ indices,
                                     const T* __restrict__ x) const {
        const typename VT::values* dv = reinterpret_cast<const typename VT::values*>(data);
        const typename VT::cols* iv = reinterpret_cast<const typename VT::cols*>(indices);
        T sum = T(0);
        if (hv) sum += hval * hx;
        for (int k = kh + G; k < a; k += G) sum += __ldcs(data + k) * __ldg(x + __ldcs(indices + k));
        if (cv) sum = chunk_dot_x(sum, cval, cx);
#pragma unroll 2
        for (int c = c0 + G; c < b / V; c += G) sum = chunk_dot(sum, __ldcs(dv + c), __ldcs(iv + c), x);
        if (tv) sum += tval * tx;
        for (int k = kt + G; k < e; k += G) sum += __ldcs(data + k) * __ldg(x + __ldcs(indices + k));
        return sum;
    }
};

template <typename T, int G, bool VEC, int R>
__device__ __forceinline__ void spmv_csr_vector(int n_rows, const int* __restrict__ indptr,
                                                const int* __restrict__ indices,
                                                const T* __restrict__ data,
                                                const T* __restrict__ x, T* __restrict__ y) {
    const int lane = threadIdx.x % G;
    const int first = (blockIdx.x * (blockDim.x / G) + threadIdx.x / G) * R;
    // All 32 lanes are still converged here; the mask names the lanes that keep working.
    const unsigned mask = __ballot_sync(0xffffffffu, first < n_rows);
    if (first >= n_rows) return;  // whole groups leave together: G divides 32

    // Row first + i owns [p[i], p[i + 1]); rows past the end read as empty (never stored).
    int p[R + 1];
#pragma unroll
    for (int i = 0; i <= R; ++i) p[i] = __ldg(indptr + min(first + i, n_rows));
    T sums[R];
    if (VEC) {
        RowPass<T, G> part[R];
#pragma unroll
        for (int i = 0; i < R; ++i) part[i].load(p[i], p[i + 1], lane, data, indices);
#pragma unroll
        for (int i = 0; i < R; ++i) part[i].gather(x);
#pragma unroll
        for (int i = 0; i < R; ++i) sums[i] = part[i].sum(data, indices, x);
    } else {
#pragma unroll
        for (int i = 0; i < R; ++i) {
            T sum = T(0);
            for (int k = p[i] + lane; k < p[i + 1]; k += G)
                sum += __ldcs(data + k) * __ldg(x + __ldcs(indices + k));
            sums[i] = sum;
        }
    }
#pragma unroll
    for (int i = 0; i < R; ++i) {
        T sum = sums[i];
#pragma unroll
        for (int off = G / 2; off > 0; off /= 2) sum += __shfl_down_sync(mask, sum, off, G);
        if (lane == 0 && first + i < n_rows) y[first + i] = sum;
    }
}


#define SPMV_VECTOR_KERNEL(T, TN, G)                                                           \
    extern "C" __global__ void __launch_bounds__(256) spmv_csr_vector_##TN##_g##G(             \
        int n_rows, const int* indptr, const int* indices, const T* data, const T* x, T* y) {  \
        spmv_csr_vector<T, G, false, SPMV_ROWS>(n_rows, indptr, indices, data, x, y);         \
    }                                                                                          \
    extern "C" __global__ void __launch_bounds__(256) spmv_csr_vector_##TN##_g##G##_vec(       \
        int n_rows, const int* indptr, const int* indices, const T* data, const T* x, T* y) {  \
        spmv_csr_vector<T, G, true, SPMV_ROWS>(n_rows, indptr, indices, data, x, y);          \
    }

#define SPMV_VECTOR_ALL_G(T, TN) \
    SPMV_VECTOR_KERNEL(T, TN, 2) \
    SPMV_VECTOR_KERNEL(T, TN, 4) \
    SPMV_VECTOR_KERNEL(T, TN, 8) \
    SPMV_VECTOR_KERNEL(T, TN, 16) \
    SPMV_VECTOR_KERNEL(T, TN, 32)

SPMV_VECTOR_ALL_G(float, f32)
SPMV_VECTOR_ALL_G(double, f64)
