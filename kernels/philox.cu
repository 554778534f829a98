// philox.cu -- counter-based random numbers (Philox4x32-10) for minigrad's CUDA generator.
//
// Math
//   Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as 1, 2, 3",
//   SC'11) maps a 128-bit counter c = (c0, c1, c2, c3) and a 64-bit key k = (k0, k1) to four
//   32-bit words by ten rounds of
//       (hi0, lo0) = M0 * c0,   (hi1, lo1) = M1 * c2          (32 x 32 -> 64-bit products)
//       c = (hi1 ^ c1 ^ k0,  lo1,  hi0 ^ c3 ^ k1,  lo0)
//   with the key bumped by (W0, W1) before every round but the first.
//   M0 = 0xD2511F53, M1 = 0xCD9E8D57, W0 = 0x9E3779B9, W1 = 0xBB67AE85 (Random123's constants;
//   its known-answer vectors are tested in tests/kernels/test_philox.py).
//
//   minigrad's stream: block b (b = 0, 1, 2, ...) is philox(c = (b mod 2^32, b >> 32, 0, 0),
//   k = (seed mod 2^32, seed >> 32)). The generator's whole state is (seed, offset): a draw that
//   needs B blocks uses blocks offset .. offset + B - 1 and then advances offset by B. Block i
//   of the draw fills outputs [P*i, P*i + P) (P values per block, below), so a draw is a pure
//   function of (seed, offset, n) -- which is what makes it saveable and resumable.
//
//   From a block's words (w0, w1, w2, w3):
//     uniform f32  P = 4   u = (w >> 8) * 2^-24                      in [0, 1), 24 bits
//     uniform f64  P = 2   u = ((w0 >> 5) * 2^26 + (w1 >> 6)) * 2^-53  in [0, 1), 53 bits
//                          (and the same from (w2, w3))
//     normal  f32  P = 4   Box-Muller on (w0, w1) and on (w2, w3):
//                          u1 = float(w0) * 2^-32 + 2^-33 in (0, 1], u2 = uniform f32 of w1,
//                          r = sqrt(-2 ln u1), z = (r cos 2 pi u2, r sin 2 pi u2)
//     normal  f64  P = 2   Box-Muller with u1 = 1 - (uniform f64 of w0, w1), u2 = (w2, w3)
//     below   u64  P = 2   x = w0 * 2^32 + w1 (and w2, w3): floor(x * range / 2^64), an integer
//                          in [0, range) (bias at most range / 2^64)
//     bits    u64  P = 2   x itself (sort keys of a random permutation)
//   The float conversions are exact (integers below 2^24 or 2^53 scaled by powers of two) and
//   the f32 u1 rounds once, so NumPy reproduces every value bit for bit; only the normals'
//   log/cos/sin come from the CUDA math library and agree with the host's to a few ulp.
//
// Memory layout
//   out : T[n], contiguous, 16-byte aligned (a fresh CuPy allocation). A block whose P outputs
//   all fit is stored with one 16-byte vector store; the last, partial block element by element.
//
// Thread -> data mapping
//   One thread per Philox block, grid-stride: i = blockIdx.x * blockDim.x + threadIdx.x, then
//   += gridDim.x * blockDim.x while i < n_blocks = ceil(n / P).
//
// Launch configuration
//   block = 256 threads, grid = min(ceil(n_blocks / 256), 65535).
//   Kernel names: philox_uniform_f32, philox_uniform_f64, philox_normal_f32, philox_normal_f64,
//   philox_below_u64, philox_bits_u64 (all extern "C").
//
// Reference
//   minigrad.kernels.reference.philox4x32_10 and philox_fill (the same stream and transforms,
//   in NumPy or CuPy array arithmetic). The __host__ __device__ functions below are also
//   compiled into a host program in CI and compared with the reference value by value.

typedef unsigned int u32;
typedef unsigned long long u64;

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

struct PhiloxBlock {
    u32 w[4];
};

// Ten rounds on a full 128-bit counter and 64-bit key (what the known-answer vectors test).
__host__ __device__ inline PhiloxBlock philox4x32_10(u32 c0, u32 c1, u32 c2, u32 c3,
                                                     u32 k0, u32 k1) {
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        const u64 p0 = (u64)PHILOX_M0 * c0;
        const u64 p1 = (u64)PHILOX_M1 * c2;
        const u32 hi0 = (u32)(p0 >> 32), lo0 = (u32)p0;
        const u32 hi1 = (u32)(p1 >> 32), lo1 = (u32)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    PhiloxBlock out = {{c0, c1, c2, c3}};
    return out;
}

// Block b of the stream keyed by seed.
__host__ __device__ inline PhiloxBlock philox_block(u64 b, u64 seed) {
    return philox4x32_10((u32)b, (u32)(b >> 32), 0u, 0u, (u32)seed, (u32)(seed >> 32));
}

__host__ __device__ inline float uniform_f32(u32 w) {
    return (float)(w >> 8) * 5.9604644775390625e-08f;  // 2^-24
}

__host__ __device__ inline double uniform_f64(u32 hi, u32 lo) {
    const u64 k = ((u64)(hi >> 5) << 26) | (u64)(lo >> 6);  // 53 random bits
    return (double)k * 1.1102230246251565e-16;              // 2^-53
}

__host__ __device__ inline u64 bits_u64(u32 hi, u32 lo) {
    return ((u64)hi << 32) | (u64)lo;
}

__host__ __device__ inline u64 mulhi_u64(u64 a, u64 b) {
#ifdef __CUDA_ARCH__
    return __umul64hi(a, b);
#else
    return (u64)(((unsigned __int128)a * b) >> 64);
#endif
}

__host__ __device__ inline void box_muller_f32(u32 a, u32 b, float& z0, float& z1) {
    const float u1 = (float)a * 2.3283064365386963e-10f + 1.1641532182693481e-10f;  // (0, 1]
    const float u2 = uniform_f32(b);
    const float r = sqrtf(-2.0f * logf(u1));
    const float theta = 6.2831854820251465f * u2;  // float(2 pi)
    z0 = r * cosf(theta);
    z1 = r * sinf(theta);
}

__host__ __device__ inline void box_muller_f64(u32 a0, u32 a1, u32 b0, u32 b1,
                                               double& z0, double& z1) {
    const double u1 = 1.0 - uniform_f64(a0, a1);  // (0, 1]
    const double u2 = uniform_f64(b0, b1);
    const double r = sqrt(-2.0 * log(u1));
    const double theta = 6.283185307179586 * u2;
    z0 = r * cos(theta);
    z1 = r * sin(theta);
}

// The P values of block i of a draw (seed, offset), as the table above says.
__host__ __device__ inline void block_uniform_f32(u64 i, u64 seed, u64 offset, float v[4]) {
    const PhiloxBlock x = philox_block(offset + i, seed);
    for (int j = 0; j < 4; ++j) v[j] = uniform_f32(x.w[j]);
}

__host__ __device__ inline void block_uniform_f64(u64 i, u64 seed, u64 offset, double v[2]) {
    const PhiloxBlock x = philox_block(offset + i, seed);
    v[0] = uniform_f64(x.w[0], x.w[1]);
    v[1] = uniform_f64(x.w[2], x.w[3]);
}

__host__ __device__ inline void block_normal_f32(u64 i, u64 seed, u64 offset, float v[4]) {
    const PhiloxBlock x = philox_block(offset + i, seed);
    box_muller_f32(x.w[0], x.w[1], v[0], v[1]);
    box_muller_f32(x.w[2], x.w[3], v[2], v[3]);
}

__host__ __device__ inline void block_normal_f64(u64 i, u64 seed, u64 offset, double v[2]) {
    const PhiloxBlock x = philox_block(offset + i, seed);
    box_muller_f64(x.w[0], x.w[1], x.w[2], x.w[3], v[0], v[1]);
}

__host__ __device__ inline void block_below_u64(u64 i, u64 seed, u64 offset, u64 range,
                                                u64 v[2]) {
    const PhiloxBlock x = philox_block(offset + i, seed);
    v[0] = mulhi_u64(bits_u64(x.w[0], x.w[1]), range);
    v[1] = mulhi_u64(bits_u64(x.w[2], x.w[3]), range);
}

__host__ __device__ inline void block_bits_u64(u64 i, u64 seed, u64 offset, u64 v[2]) {
    const PhiloxBlock x = philox_block(offset + i, seed);
    v[0] = bits_u64(x.w[0], x.w[1]);
    v[1] = bits_u64(x.w[2], x.w[3]);
}

// ------------------------------------------------------------------------------ the kernels

template <typename T, int P>
struct alignas(16) Pack {  // a block's P values: 16 bytes, one vector store
    T v[P];
};

// out[0, n) from the blocks of the draw: block(i, v) writes block i's P values into v.
template <typename T, int P, typename Block>
__device__ __forceinline__ void fill(long long n, T* __restrict__ out, Block block) {
    const long long n_blocks = (n + P - 1) / P;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n_blocks;
         i += (long long)gridDim.x * blockDim.x) {
        Pack<T, P> x;
        block((u64)i, x.v);
        if (P * i + P <= n) {
            reinterpret_cast<Pack<T, P>*>(out)[i] = x;
        } else {  // constant indices into x.v once unrolled: x stays in registers
#pragma unroll
            for (int j = 0; j < P; ++j)
                if (P * i + j < n) out[P * i + j] = x.v[j];
        }
    }
}

extern "C" __global__ void philox_uniform_f32(u64 seed, u64 offset, long long n, float* out) {
    fill<float, 4>(n, out, [=](u64 i, float* v) { block_uniform_f32(i, seed, offset, v); });
}

extern "C" __global__ void philox_uniform_f64(u64 seed, u64 offset, long long n, double* out) {
    fill<double, 2>(n, out, [=](u64 i, double* v) { block_uniform_f64(i, seed, offset, v); });
}

extern "C" __global__ void philox_normal_f32(u64 seed, u64 offset, long long n, float* out) {
    fill<float, 4>(n, out, [=](u64 i, float* v) { block_normal_f32(i, seed, offset, v); });
}

extern "C" __global__ void philox_normal_f64(u64 seed, u64 offset, long long n, double* out) {
    fill<double, 2>(n, out, [=](u64 i, double* v) { block_normal_f64(i, seed, offset, v); });
}

extern "C" __global__ void philox_below_u64(u64 seed, u64 offset, long long n, u64 range,
                                            u64* out) {
    fill<u64, 2>(n, out, [=](u64 i, u64* v) { block_below_u64(i, seed, offset, range, v); });
}

extern "C" __global__ void philox_bits_u64(u64 seed, u64 offset, long long n, u64* out) {
    fill<u64, 2>(n, out, [=](u64 i, u64* v) { block_bits_u64(i, seed, offset, v); });
}
