// batchnorm.cu -- batch norm's per-channel sums, each in one launch: Σx (the mean),
// Σ(x − μ)² (the variance and 1/√(σ² + ε)), both at once (mode 3, the forward's) and, for
// the backward, Σg with Σg·x̂ together.
// CuPy's reduction kernels need two launches for each sum (over L, then over N), plus one
// to divide and one for the statistics: 13 launches a batch norm layer a training step
// with the running-statistics update, here 6 (BatchNormFunction's CUDA path: these three,
// two elementwise kernels and the running update).
//
// Math (M = N·L values per channel c)
//   mode 0:  mean[c] = (Σ x) / M
//   mode 1:  var[c]  = (Σ (x − mean[c])²) / M,   inv[c] = 1 / √(var[c] + eps)
//   mode 2:  s1[c]   = Σ g,   s2[c] = Σ g·x̂                 (g: the incoming gradient)
//   mode 3:  mean[c], var[c], inv[c] as modes 0 and 1, in one launch: block b of a
//            channel takes the mean m_b of its n_b values (its Σx / n_b) and then, reading
//            them again, M2_b = Σ (x − m_b)²; the last block merges the S pairs in order
//            (Chan, Golub & LeVeque 1979): with n, μ, M2 the merged count, mean and sum
//            of squares so far, δ = m_b − μ, w = n_b / (n + n_b):
//              μ ← μ + δ·w,   M2 ← (M2 + M2_b) + δ²·(n·w),   n ← n + n_b
//            var = M2 / M. (Two passes over each block's values, as modes 0 then 1 over
//            the channel's, each deviation taken from a mean of the same values.)
//
// Memory layout (contiguous)
//   x (or g)  : T[N, C, L]        T = float, double, or float16 (16-bit storage)
//   xhat      : A[N, C, L]        mode 2 only; A = double for double, float otherwise
//   mean      : A[C]              mode 1's input
//   out0, out1: A[C]              mean | var, inv | s1, s2 | mean, var
//   out2      : A[C]              mode 3's inv (unused by the others)
//   part0/1   : A[C, S]           the blocks' partial sums (mode 3: M2_b | m_b)
//   tickets   : unsigned[C]       zero before a launch, and again after it (the last block
//                                 of each channel resets its ticket)
//
// Thread -> data mapping
//   grid (C, S), 256 threads a block. Block (c, s) owns the values e of channel c with
//   e in [s·chunk, min(M, (s+1)·chunk)), chunk = ceil(M / S), value e being x[n, c, l] with
//   n = e / L, l = e % L. Thread t sums the values start + t, start + t + 256, ... in that
//   order, in A; the block's 256 sums are then added in a fixed tree in shared memory
//   (t += t + 128, then + 64, ..., + 1) and thread 0 stores the block's partial. The last
//   block of a channel to finish (a ticket per channel, taken after a __threadfence) adds
//   the S partials in the order s = 0 .. S − 1 and writes the channel's results. Products
//   and squares are rounded before they are added (mul_rn: no fused multiply-add), so every
//   sum is bit for bit the twin's.
//
// Reference
//   minigrad.kernels.reference.bn_channel_sums: the same split, per-thread order, tree and
//   partial order on NumPy arrays. tests/kernels/test_batchnorm_kernels.py compiles this
//   file with nvcc into a host program (float, double) that must equal the twin bit for bit.

#include "convert.cuh"

#define BN_THREADS 256

// a·b rounded on its own: never fused into an add (the host compiler emits no FMA).
template <typename A>
__host__ __device__ __forceinline__ A mul_rn(A a, A b) {
#ifdef __CUDA_ARCH__
    if constexpr (sizeof(A) == 4) {
        return __fmul_rn(a, b);
    } else {
        return __dmul_rn(a, b);
    }
#else
    return a * b;
#endif
}
__host__ __device__ __forceinline__ float rsqrt_rn(float v) { return 1.0f / sqrtf(v); }
__host__ __device__ __forceinline__ double rsqrt_rn(double v) { return 1.0 / sqrt(v); }

struct BnShape {
    int N, C, L, S;  // the (N, C, L) array; S blocks per channel
};

// Thread t's running sums over its values of block (c, s): first = start + t, step 256.
template <typename T, typename A, int MODE>
__host__ __device__ __forceinline__ void thread_sums(const T* __restrict__ x,
                                                     const A* __restrict__ xhat, A mu,
                                                     const BnShape& b, int c, long long first,
                                                     long long end, long long step, A& s0,
                                                     A& s1) {
    // 32-bit division where the values of a channel fit (always, in practice): a 64-bit
    // one costs several times more, once per value.
    const bool narrow = (long long)b.N * b.L <= 0xffffffffLL;
    for (long long e = first; e < end; e += step) {
        long long n;
        if (narrow) {
            n = (unsigned int)e / (unsigned int)b.L;
        } else {
            n = e / b.L;
        }
        const long long i = (n * b.C + c) * b.L + (e - n * b.L);
        const A v = to_acc(x[i]);
        if (MODE == 0) {
            s0 += v;
        } else if (MODE == 1) {
            const A d = v - mu;
            s0 += mul_rn(d, d);
        } else {
            s0 += v;
            s1 += mul_rn(v, xhat[i]);
        }
    }
}

// One level of the block's tree: thread t adds the sum of thread t + stride to its own.
template <typename A>
__host__ __device__ __forceinline__ void tree_step(A* buf, int t, int stride) {
    if (t < stride) buf[t] += buf[t + stride];
}

// Mode 3's merge of the S (M2_b in part0, m_b in part1) pairs, in order (see the top).
template <typename A>
__host__ __device__ __forceinline__ void finish_moments(const volatile A* part0,
                                                        const volatile A* part1, int S,
                                                        long long M, A eps, int c, A* out0,
                                                        A* out1, A* out2) {
    const long long chunk = (M + S - 1) / S;
    long long n = 0;
    A mu = A(0), m2 = A(0);
    for (int s = 0; s < S; ++s) {
        const long long lo = s * chunk, hi = lo + chunk < M ? lo + chunk : M;
        if (hi <= lo) continue;  // an empty block (none, with bn_blocks' split)
        const long long nn = n + (hi - lo);
        const A delta = part1[s] - mu;
        const A w = (A)(hi - lo) / (A)nn;
        mu = mu + mul_rn(delta, w);
        m2 = (m2 + part0[s]) + mul_rn(mul_rn(delta, delta), mul_rn((A)n, w));
        n = nn;
    }
    const A var = m2 / (A)M;
    out0[c] = mu;
    out1[c] = var;
    out2[c] = rsqrt_rn(var + eps);
}

// The last block of channel c: the S partials added in order, the channel's results.
template <typename A, int MODE>
__host__ __device__ __forceinline__ void finish(const volatile A* part0, const volatile A* part1,
                                                int S, long long M, A eps, int c, A* out0,
                                                A* out1, A* out2) {
    if (MODE == 3) {
        finish_moments<A>(part0, part1, S, M, eps, c, out0, out1, out2);
        return;
    }
    A t0 = A(0), t1 = A(0);
    for (int s = 0; s < S; ++s) {
        t0 += part0[s];
        if (MODE == 2) t1 += part1[s];
    }
    if (MODE == 0) {
        out0[c] = t0 / (A)M;
    } else if (MODE == 1) {
        const A var = t0 / (A)M;
        out0[c] = var;
        out1[c] = rsqrt_rn(var + eps);
    } else {
        out0[c] = t0;
        out1[c] = t1;
    }
}

// The block's tree over buf0 (and buf1 when TWO), level by level.
template <typename A, bool TWO>
__device__ __forceinline__ void block_tree(A* buf0, A* buf1, int t) {
    for (int stride = BN_THREADS / 2; stride > 0; stride >>= 1) {
        tree_step(buf0, t, stride);
        if (TWO) tree_step(buf1, t, stride);
        __syncthreads();
    }
}

template <typename T, typename A, int MODE>
__device__ __forceinline__ void channel_sums(const T* __restrict__ x, const A* __restrict__ xhat,
                                             const A* __restrict__ mean, const BnShape b, A eps,
                                             A* part0, A* part1, unsigned int* tickets, A* out0,
                                             A* out1, A* out2) {
    __shared__ A buf0[BN_THREADS];
    __shared__ A buf1[BN_THREADS];
    __shared__ bool last;
    constexpr int PASS1 = MODE == 3 ? 0 : MODE;  // mode 3 starts with mode 0's sum
    const int c = blockIdx.x, s = blockIdx.y, t = threadIdx.x;
    const long long M = (long long)b.N * b.L;
    const long long chunk = (M + b.S - 1) / b.S;
    const long long start = s * chunk;
    const long long end = start + chunk < M ? start + chunk : M;
    A s0 = A(0), s1 = A(0);
    thread_sums<T, A, PASS1>(x, xhat, PASS1 == 1 ? mean[c] : A(0), b, c, start + t, end,
                             BN_THREADS, s0, s1);
    buf0[t] = s0;
    buf1[t] = s1;
    __syncthreads();
    block_tree<A, MODE == 2>(buf0, buf1, t);
    A mb = A(0);  // mode 3: the block's mean, then its values again around it
    if (MODE == 3) {
        if (end > start) mb = buf0[0] / (A)(end - start);
        __syncthreads();  // every thread has read buf0[0] before it is overwritten
        A q0 = A(0), q1 = A(0);
        thread_sums<T, A, 1>(x, xhat, mb, b, c, start + t, end, BN_THREADS, q0, q1);
        buf0[t] = q0;
        __syncthreads();
        block_tree<A, false>(buf0, buf1, t);
    }
    if (t == 0) {
        part0[(long long)c * b.S + s] = buf0[0];
        if (MODE == 2) part1[(long long)c * b.S + s] = buf1[0];
        if (MODE == 3) part1[(long long)c * b.S + s] = mb;
        __threadfence();  // the partial is visible before the ticket is taken
        last = atomicAdd(tickets + c, 1u) == (unsigned int)(b.S - 1);
    }
    __syncthreads();
    if (last && t == 0) {
        __threadfence();
        finish<A, MODE>(part0 + (long long)c * b.S, part1 + (long long)c * b.S, b.S, M, eps, c,
                        out0, out1, out2);
        tickets[c] = 0u;  // ready for the next launch
    }
}

#define BN_PARAMS(T, A)                                                                      \
    const T *x, const A *xhat, const A *mean, int N, int C, int L, int S, A eps, A *part0,   \
        A *part1, unsigned int *tickets, A *out0, A *out1, A *out2

#define BN_KERNEL(T, A, TN, MODE)                                                            \
    extern "C" __global__ void __launch_bounds__(BN_THREADS)                                 \
        bn_sums##MODE##_##TN(BN_PARAMS(T, A)) {                                              \
        const BnShape b = {N, C, L, S};                                                      \
        channel_sums<T, A, MODE>(x, xhat, mean, b, eps, part0, part1, tickets, out0, out1,   \
                                 out2);                                                      \
    }

#define BN_KERNELS(T, A, TN)                                                                 \
    BN_KERNEL(T, A, TN, 0) BN_KERNEL(T, A, TN, 1) BN_KERNEL(T, A, TN, 2) BN_KERNEL(T, A, TN, 3)

BN_KERNELS(float, float, f32)
BN_KERNELS(double, double, f64)
BN_KERNELS(f16, float, f16)
