// im2col.cu -- the column matrix of a 2-D convolution (im2col), and its adjoint (col2im),
// each in one launch, straight from and into the unpadded NCHW image.
//
// Math (cross-correlation, PyTorch's conv2d; K = C*kh*kw, P = Ho*Wo)
//   im2col:  cols[k, n, p] = x[n, c, h, w]   (0 where (h, w) falls in the zero padding)
//            k = (c*kh + i)*kw + j,  p = ho*Wo + wo,
//            h = ho*sh - pt + i*dh,  w = wo*sw - pl + j*dw
//   col2im:  gx[n, c, h, w] = sum over the (i, j, ho, wo) with h = ho*sh - pt + i*dh and
//            w = wo*sw - pl + j*dw of gcols[n, k, p]            (the adjoint of im2col)
//
// Memory layout (all contiguous)
//   x, gx   : T[N, C, H, W]
//   cols    : T[K, N, P]   (im2col's output: the right operand of the forward product
//                           Y[n] = Wmat @ cols[:, n, :] and, read transposed, of the weight
//                           gradient gW = gY @ cols^T over all N*P pixels at once)
//   gcols   : T[N, K, P]   (col2im's input: the batched product Wmat^T @ gy[n])
//
// Thread -> data mapping
//   One thread per group of V consecutive output elements (V = 16 bytes / sizeof(T): 4
//   floats, 2 doubles, 8 16-bit values; im2col: of cols, col2im: of gx), in a grid-stride
//   loop over 64-bit group indices, 256 threads per block. A thread finds the coordinates of
//   its group's first element with integer divisions (digit below) and steps to the next
//   element by incrementing them (next_*), so the divisions are paid once per V elements,
//   not once per element (on an H200, 2026-11-27, the one-thread-per-element version spent
//   as long on float16 as on float32 data: bound by its index arithmetic, not by memory);
//   im2col's V values leave in one 16-byte store when cols is 16-byte aligned (CuPy's
//   allocations are), else one by one; col2im stores each sum (nine loads a store for a
//   3x3 kernel, so the stores matter less). col2im is a gather: each element walks the kh*kw
//   kernel offsets, keeps the ones whose (h + pt - i*dh) and (w + pl - j*dw) are
//   non-negative multiples of the stride landing inside (Ho, Wo) (strides 1 and 2 without a
//   division: exact_quotient), and sums their gcols entries in the order i, j (row-major)
//   -- no atomics, so the result is deterministic. It sums in float for half types (in
//   double for double) and rounds once. The loops take their first group and step as
//   arguments (FIRST, STEP below), so the tests' host program runs the very same functions
//   one group after another.
//
// Types
//   f32 (float), f64 (double), f16 and bf16 (16-bit storage). im2col moves bits only, so
//   one 16-bit kernel serves both half types; col2im converts with cvt (PTX), needing no
//   header.
//
// Reference
//   minigrad.kernels.reference.im2col / col2im: the same index arithmetic on NumPy arrays,
//   element by element vectorised, the same summation order. tests/kernels/test_im2col.py
//   compiles this file with nvcc into a host program (f32, f64, bf16; the f16 conversions
//   are PTX) whose output must equal the twins bit for bit.

#include "convert.cuh"

struct Geometry {
    int N, C, H, W;        // the image batch
    int kh, kw, sh, sw;    // kernel, stride
    int pt, pl, dh, dw;    // top/left padding, dilation
    int Ho, Wo;            // the output grid
};

// The next digit of the mixed-radix number r (fastest-varying first); r keeps the rest.
// Unsigned 32-bit where the index fits (a 64-bit division costs several times more).
template <typename I>
__host__ __device__ __forceinline__ int digit(I& r, int radix) {
    const I q = r / (I)radix;
    const int d = (int)(r - q * (I)radix);
    r = q;
    return d;
}

// V elements of T in one 16-byte word, for one vector store.
template <typename T>
struct GroupSize {
    static constexpr int V = 16 / sizeof(T);
};

template <typename T>
union Group {
    uint4 word;
    T v[GroupSize<T>::V];
};

// The coordinates of element t of cols (K, N, P): (wo, ho, n, j, i, c), fastest first.
struct ColsPos {
    int wo, ho, n, j, i, c;
};

template <typename I>
__host__ __device__ __forceinline__ ColsPos cols_pos(I r, const Geometry& g) {
    ColsPos q;
    q.wo = digit(r, g.Wo);
    q.ho = digit(r, g.Ho);
    q.n = digit(r, g.N);
    q.j = digit(r, g.kw);
    q.i = digit(r, g.kh);
    q.c = (int)r;
    return q;
}

// The coordinates of the next element of cols (past the last one they run on harmlessly).
__host__ __device__ __forceinline__ void next_cols(ColsPos& q, const Geometry& g) {
    if (++q.wo < g.Wo) return;
    q.wo = 0;
    if (++q.ho < g.Ho) return;
    q.ho = 0;
    if (++q.n < g.N) return;
    q.n = 0;
    if (++q.j < g.kw) return;
    q.j = 0;
    if (++q.i < g.kh) return;
    q.i = 0;
    ++q.c;
}

// The coordinates of element t of x (N, C, H, W): (w, h, c, n), fastest first.
struct ImagePos {
    int w, h, c, n;
};

template <typename I>
__host__ __device__ __forceinline__ ImagePos image_pos(I r, const Geometry& g) {
    ImagePos q;
    q.w = digit(r, g.W);
    q.h = digit(r, g.H);
    q.c = digit(r, g.C);
    q.n = (int)r;
    return q;
}

__host__ __device__ __forceinline__ void next_image(ImagePos& q, const Geometry& g) {
    if (++q.w < g.W) return;
    q.w = 0;
    if (++q.h < g.H) return;
    q.h = 0;
    if (++q.c < g.C) return;
    q.c = 0;
    ++q.n;
}

// q = s / stride where s is a non-negative multiple of stride, else false; strides 1 and 2
// (nearly every convolution's) without a division.
__host__ __device__ __forceinline__ bool exact_quotient(int s, int stride, int& q) {
    if (s < 0) return false;
    if (stride == 1) {
        q = s;
        return true;
    }
    if (stride == 2) {
        q = s >> 1;
        return (s & 1) == 0;
    }
    q = s / stride;
    return q * stride == s;
}

// Whether p may take a 16-byte store.
__host__ __device__ __forceinline__ bool aligned16(const void* p) {
    return ((unsigned long long)p & 15ull) == 0;
}

// The element loops take their first group and step as arguments (a kernel passes its
// global thread index and the grid's size) so that the host program of the tests runs
// the same code with (0, 1).
template <typename T>
__host__ __device__ __forceinline__ void im2col(const T* __restrict__ x, T* __restrict__ cols,
                                                const Geometry g, long long first,
                                                long long step) {
    constexpr int V = GroupSize<T>::V;
    const long long P = (long long)g.Ho * g.Wo;
    const long long total = (long long)g.C * g.kh * g.kw * g.N * P;
    const bool narrow = total <= 0xffffffffLL;
    const bool vector_store = aligned16(cols);
    for (long long t0 = first * V; t0 < total; t0 += step * V) {
        ColsPos q = narrow ? cols_pos<unsigned int>((unsigned int)t0, g)
                           : cols_pos<long long>(t0, g);
        const int here = total - t0 < V ? (int)(total - t0) : V;
        Group<T> out;
#pragma unroll
        for (int e = 0; e < V; ++e) {
            const int h = q.ho * g.sh - g.pt + q.i * g.dh;
            const int w = q.wo * g.sw - g.pl + q.j * g.dw;
            if (e < here && h >= 0 && h < g.H && w >= 0 && w < g.W) {
                out.v[e] = x[(((long long)q.n * g.C + q.c) * g.H + h) * g.W + w];
            } else {
                out.v[e] = T();  // zero bits: +0 in every type
            }
            next_cols(q, g);
        }
        if (vector_store && here == V) {
            *reinterpret_cast<uint4*>(cols + t0) = out.word;
        } else {
#pragma unroll  // (constant indices: out stays in registers)
            for (int e = 0; e < V; ++e) {
                if (e < here) cols[t0 + e] = out.v[e];
            }
        }
    }
}

template <typename T>
__host__ __device__ __forceinline__ void col2im(const T* __restrict__ gcols, T* __restrict__ gx,
                                                const Geometry g, long long first,
                                                long long step) {
    typedef typename Acc<T>::type A;
    constexpr int V = GroupSize<T>::V;
    const long long P = (long long)g.Ho * g.Wo;
    const long long K = (long long)g.C * g.kh * g.kw;
    const long long total = (long long)g.N * g.C * g.H * g.W;
    const bool narrow = total <= 0xffffffffLL;
    for (long long t0 = first * V; t0 < total; t0 += step * V) {
        ImagePos q = narrow ? image_pos<unsigned int>((unsigned int)t0, g)
                            : image_pos<long long>(t0, g);
        const int here = total - t0 < V ? (int)(total - t0) : V;
        for (int e = 0; e < here; ++e) {  // (stored one by one: nine loads a store)
            const T* base = gcols + (long long)q.n * K * P;
            A sum = A(0);
            for (int i = 0; i < g.kh; ++i) {
                int ho;
                if (!exact_quotient(q.h + g.pt - i * g.dh, g.sh, ho) || ho >= g.Ho) continue;
                for (int j = 0; j < g.kw; ++j) {
                    int wo;
                    if (!exact_quotient(q.w + g.pl - j * g.dw, g.sw, wo) || wo >= g.Wo) continue;
                    const long long k = ((long long)q.c * g.kh + i) * g.kw + j;
                    sum += to_acc(base[k * P + (long long)ho * g.Wo + wo]);
                }
            }
            store(gx + t0 + e, sum);
            next_image(q, g);
        }
    }
}

// The geometry travels as 14 int arguments (scalars are what every launcher passes).
#define GEOMETRY_PARAMS                                                                      \
    int N, int C, int H, int W, int kh, int kw, int sh, int sw, int pt, int pl, int dh,      \
        int dw, int Ho, int Wo
#define GEOMETRY {N, C, H, W, kh, kw, sh, sw, pt, pl, dh, dw, Ho, Wo}
// Group indices: the launcher's grid covers ceil(elements / V) threads.
#define FIRST (blockIdx.x * (long long)blockDim.x + threadIdx.x)
#define STEP ((long long)gridDim.x * blockDim.x)

#define IM2COL_KERNEL(T, TN)                                                                 \
    extern "C" __global__ void __launch_bounds__(256) im2col_##TN(const T* x, T* cols,       \
                                                                  GEOMETRY_PARAMS) {         \
        const Geometry g = GEOMETRY;                                                         \
        im2col<T>(x, cols, g, FIRST, STEP);                                                  \
    }

#define COL2IM_KERNEL(T, TN)                                                                 \
    extern "C" __global__ void __launch_bounds__(256) col2im_##TN(const T* gcols, T* gx,     \
                                                                  GEOMETRY_PARAMS) {         \
        const Geometry g = GEOMETRY;                                                         \
        col2im<T>(gcols, gx, g, FIRST, STEP);                                                \
    }

IM2COL_KERNEL(float, f32)
IM2COL_KERNEL(double, f64)
IM2COL_KERNEL(unsigned short, b16)
COL2IM_KERNEL(float, f32)
COL2IM_KERNEL(double, f64)
COL2IM_KERNEL(f16, f16)
COL2IM_KERNEL(bf16, bf16)
