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
//   (reference.spmv_vector_grid). Kernel names: spmv_csr_vector_<f32|f64>_g<G>[_vec]; R, the
//   prefetch and the pipeline are -D macros (one module per setting).
//
// Persistent, software-pipelined schedule (SPMV_PIPE=1, the launcher's pipeline=True; _vec
// kernels only, the scalar ones keep the schedule above)
//   Why: each group above does its R rows in three dependent memory rounds (indptr, then
//   values/columns, then the x gathers) and its block exits; the SM's loads in flight are
//   what bounds the kernel (R = 2 helped, R = 4 lost occupancy). Here the grid is what the
//   device holds at once, grid = min(the grid above, SMs x resident blocks per SM)
//   (reference.spmv_persistent_grid; the launcher asks CUDA's occupancy calculator), and
//   group g (numbered as above, first = g * R) owns rows first + j*stride .. + R - 1 at step
//   j = 0, 1, 2, ..., stride = (groups in the grid) * R: consecutive groups still read
//   consecutive rows, a warp's loads at a step cover 32/G*R consecutive rows as before.
//   Pipeline of depth 2: while a group gathers x for its rows of step j and sums them, the
//   first loads (RowPass::load: head element, first 16-byte chunk, tail element) of its rows
//   of step j+1 are already issued, and the row pointers of step j+2 are being read; the
//   RowPass registers rotate (cur = nxt) at the end of a step. Each row is summed by the same
//   RowPass::sum and shuffle tree, so y is the same bits as with SPMV_PIPE=0.
//   Masks: a warp's rows at a step are consecutive, so its first group has the most steps;
//   every lane loops while that group has a row (a value common to the warp), so all 32
//   lanes run every step and reach every shuffle: the mask is the full warp. A group whose
//   rows of a step are past the end reads them as empty (indptr[n_rows] twice, no loads),
//   sums zeros, takes part in the shuffles and stores nothing.
//   Registers (ptxas -v, nvcc 13.0, no spills, every G): R = 1: 64 for float32 and for
//   float64, sm_80 and sm_90a (4 blocks of 256 an SM; 48 and 40 without the pipeline, 5 and 6
//   blocks). R = 2: float32 103 (sm_80) / 104 (sm_90a), float64 113 / 118 (G = 32: 99-114):
//   2 blocks an SM, as R = 4 without the pipeline. Two RowPasses are live across a step
//   (cur's gathers, nxt's loaded values and columns); that is the price of the loads in flight.
//   __launch_bounds__(256, 5) at R = 1 spills (48 registers, 68-76 bytes): 4 blocks it is.
//   SASS (cuobjdump -sass, sm_90a, float32 G = 4, R = 1): in the loop body every load is
//   issued before the first FFMA on a gathered x: ptxas puts the current rows' x gathers
//   first (5 LDG.CONSTANT), then the next rows' values and columns (LDG.E.EF: head, tail,
//   the two 16-byte LDG.E.EF.128 of the chunk) and the row pointers two steps ahead. The
//   gathers need columns loaded a step earlier (in the steady state they came during the
//   previous step's sums; if not, the next rows' loads wait behind them, as they do in the
//   first step), and the next rows' loads are in flight during the current rows' sums.
//   float64 and sm_80 look the same; at R = 2 the next rows' loads interleave with the
//   current gathers, all before the first FFMA.
//   Timed on an H200 at stop 30 (banded 16M: 0.061 against 0.075 ms at R = 1; uniform 0.132
//   against 0.129): the launcher's default at R = 1 since (pipeline=None).
//
// Reference
//   minigrad.kernels.reference.spmv_csr_vector (same split, same per-lane order, same
//   shuffle tree). The GPU contracts a*b+s into one FMA; the reference rounds twice, so the
//   two agree to rounding, not bit for bit.

#include "spmv_common.cuh"

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
#ifndef SPMV_PIPE
#define SPMV_PIPE 0      // 1: the _vec kernels persistent and software-pipelined (below)
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
#if SPMV_PREFETCH && defined(__CUDA_ARCH__)  // (a hint: the host run, cuda_host.h, skips it)
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
        const T sum = fold_lanes<T, G>(sums[i], mask);
        if (lane == 0 && first + i < n_rows) y[first + i] = sum;
    }
}

#if SPMV_PIPE
// The persistent, pipelined schedule (header comment: "Persistent, software-pipelined
// schedule"). Rows are unsigned: with the persistent grid (stride = SMs x resident blocks x
// 256/G x R, some 10^5 rows) first + 2*stride stays below 2^32 for any int n_rows, where a
// signed int could wrap for n_rows near 2^31.
template <typename T, int G, int R>
__device__ __forceinline__ void spmv_csr_vector_pipe(int n_rows_, const int* __restrict__ indptr,
                                                     const int* __restrict__ indices,
                                                     const T* __restrict__ data,
                                                     const T* __restrict__ x, T* __restrict__ y) {
    const unsigned n_rows = n_rows_;
    const unsigned lane = threadIdx.x % G;
    const unsigned groups = blockDim.x / G;                 // groups per block
    const unsigned stride = gridDim.x * groups * R;         // rows per step of the whole grid
    unsigned first = (blockIdx.x * groups + threadIdx.x / G) * R;
    unsigned wfirst = (blockIdx.x * groups + threadIdx.x / 32 * (32 / G)) * R;
    if (wfirst >= n_rows) return;  // whole warps leave (the grid is capped by the rows)

    // Prologue: row pointers of steps 0 and 1, the first loads of step 0.
    int p[R + 1], q[R + 1];
#pragma unroll
    for (int i = 0; i <= R; ++i) p[i] = __ldg(indptr + min(first + i, n_rows));
#pragma unroll
    for (int i = 0; i <= R; ++i) q[i] = __ldg(indptr + min(first + stride + i, n_rows));
    RowPass<T, G> cur[R], nxt[R];
#pragma unroll
    for (int i = 0; i < R; ++i) cur[i].load(p[i], p[i + 1], lane, data, indices);

    for (; wfirst < n_rows; wfirst += stride, first += stride) {
        // Step j+1's first loads (its row pointers q were read during step j-1) and step
        // j+2's row pointers, then step j's gathers (cur's columns were loaded a step ago)
        // and sums. ptxas issues the gathers first; every load comes before the first sum.
#pragma unroll
        for (int i = 0; i < R; ++i) nxt[i].load(q[i], q[i + 1], lane, data, indices);
#pragma unroll
        for (int i = 0; i <= R; ++i) q[i] = __ldg(indptr + min(first + 2 * stride + i, n_rows));
#pragma unroll
        for (int i = 0; i < R; ++i) cur[i].gather(x);
#pragma unroll
        for (int i = 0; i < R; ++i) {
            // all 32 lanes of the warp run every step: the full mask
            const T sum = fold_lanes<T, G>(cur[i].sum(data, indices, x), 0xffffffffu);
            if (lane == 0 && first + i < n_rows) y[first + i] = sum;
        }
#pragma unroll
        for (int i = 0; i < R; ++i) cur[i] = nxt[i];
    }
}
#define SPMV_VECTOR_VEC(T, G, n_rows, indptr, indices, data, x, y) \
    spmv_csr_vector_pipe<T, G, SPMV_ROWS>(n_rows, indptr, indices, data, x, y)
#else
#define SPMV_VECTOR_VEC(T, G, n_rows, indptr, indices, data, x, y) \
    spmv_csr_vector<T, G, true, SPMV_ROWS>(n_rows, indptr, indices, data, x, y)
#endif

// The scalar kernels (VEC = 0, for unaligned values or columns) keep the one-step schedule
// whatever SPMV_PIPE says; the launcher sizes their grid as always.
#define SPMV_VECTOR_KERNEL(T, TN, G)                                                           \
    extern "C" __global__ void __launch_bounds__(256) spmv_csr_vector_##TN##_g##G(             \
        int n_rows, const int* indptr, const int* indices, const T* data, const T* x, T* y) {  \
        spmv_csr_vector<T, G, false, SPMV_ROWS>(n_rows, indptr, indices, data, x, y);         \
    }                                                                                          \
    extern "C" __global__ void __launch_bounds__(256) spmv_csr_vector_##TN##_g##G##_vec(       \
        int n_rows, const int* indptr, const int* indices, const T* data, const T* x, T* y) {  \
        SPMV_VECTOR_VEC(T, G, n_rows, indptr, indices, data, x, y);                            \
    }

SPMV_FOR_EACH_G(SPMV_VECTOR_KERNEL, float, f32)
SPMV_FOR_EACH_G(SPMV_VECTOR_KERNEL, double, f64)
