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
//   One thread per output element (im2col: per element of cols, col2im: per element of gx),
//   in a grid-stride loop over a 64-bit flat index, 256 threads per block. Consecutive
//   threads write consecutive addresses. col2im is a gather: each thread walks the kh*kw
//   kernel offsets, keeps the ones whose (h + pt - i*dh) and (w + pl - j*dw) are
//   non-negative multiples of the stride landing inside (Ho, Wo), and sums their gcols
//   entries in the order i, j (row-major) -- no atomics, so the result is deterministic.
//   It sums in float for half types (in double for double) and rounds once. The loops take
//   their first index and step as arguments (FIRST, STEP below), so the tests' host program
//   runs the very same functions one element after another.
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

// The coordinates of element t of cols (K, N, P): (wo, ho, n, j, i, c), fastest first.
template <typename I>
__host__ __device__ __forceinline__ void cols_coords(I r, const Geometry& g, int* d) {
    d[0] = digit(r, g.Wo);
    d[1] = digit(r, g.Ho);
    d[2] = digit(r, g.N);
    d[3] = digit(r, g.kw);
    d[4] = digit(r, g.kh);
    d[5] = (int)r;
}

// The coordinates of element t of x (N, C, H, W): (w, h, c, n), fastest first.
template <typename I>
__host__ __device__ __forceinline__ void image_coords(I r, const Geometry& g, int* d) {
    d[0] = digit(r, g.W);
    d[1] = digit(r, g.H);
    d[2] = digit(r, g.C);
    d[3] = (int)r;
}

// The element loops take their first index and step as arguments (a kernel passes its
// global thread index and the grid's size) so that the host program of the tests runs
// the same code with (0, 1).
template <typename T>
__host__ __device__ __forceinline__ void im2col(const T* __restrict__ x, T* __restrict__ cols,
                                                const Geometry g, long long first,
                                                long long step) {
    const long long P = (long long)g.Ho * g.Wo;
    const long long total = (long long)g.C * g.kh * g.kw * g.N * P;
    const bool narrow = total <= 0xffffffffLL;
    for (long long t = first; t < total; t += step) {
        int d[6];
        if (narrow) {
            cols_coords<unsigned int>((unsigned int)t, g, d);
        } else {
            cols_coords<long long>(t, g, d);
        }
        const int wo = d[0], ho = d[1], n = d[2], j = d[3], i = d[4], c = d[5];
        const int h = ho * g.sh - g.pt + i * g.dh;
        const int w = wo * g.sw - g.pl + j * g.dw;
        T v;
        if (h >= 0 && h < g.H && w >= 0 && w < g.W) {
            v = x[(((long long)n * g.C + c) * g.H + h) * g.W + w];
        } else {
            v = T();  // zero bits: +0 in every type
        }
        cols[t] = v;
    }
}

template <typename T>
__host__ __device__ __forceinline__ void col2im(const T* __restrict__ gcols, T* __restrict__ gx,
                                                const Geometry g, long long first,
                                                long long step) {
    typedef typename Acc<T>::type A;
    const long long P = (long long)g.Ho * g.Wo;
    const long long K = (long long)g.C * g.kh * g.kw;
    const long long total = (long long)g.N * g.C * g.H * g.W;
    const bool narrow = total <= 0xffffffffLL;
    for (long long t = first; t < total; t += step) {
        int d[4];
        if (narrow) {
            image_coords<unsigned int>((unsigned int)t, g, d);
        } else {
            image_coords<long long>(t, g, d);
        }
        const int w = d[0], h = d[1], c = d[2], n = d[3];
        const T* base = gcols + (long long)n * K * P;
        A sum = A(0);
        for (int i = 0; i < g.kh; ++i) {
            const int hs = h + g.pt - i * g.dh;
            if (hs < 0 || hs % g.sh) continue;
            const int ho = hs / g.sh;
            if (ho >= g.Ho) continue;
            for (int j = 0; j < g.kw; ++j) {
                const int ws = w + g.pl - j * g.dw;
                if (ws < 0 || ws % g.sw) continue;
                const int wo = ws / g.sw;
                if (wo >= g.Wo) continue;
                const long long k = ((long long)c * g.kh + i) * g.kw + j;
                sum += to_acc(base[k * P + (long long)ho * g.Wo + wo]);
            }
        }
        store(gx + t, sum);
    }
}

// The geometry travels as 14 int arguments (scalars are what every launcher passes).
#define GEOMETRY_PARAMS                                                                      \
    int N, int C, int H, int W, int kh, int kw, int sh, int sw, int pt, int pl, int dh,      \
        int dw, int Ho, int Wo
#define GEOMETRY {N, C, H, W, kh, kw, sh, sw, pt, pl, dh, dw, Ho, Wo}
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
