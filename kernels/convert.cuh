// convert.cuh -- the 16-bit float types as raw bits, and their conversions to and from the
// accumulation type, without CUDA headers (NVRTC has none by default): float16 through PTX
// cvt on the GPU (GCC's _Float16 in the host run, tests/kernels/cuda_host.h), bfloat16 by
// bit shifts and a hand-written round-to-nearest-even (host and GPU, so the tests' host
// programs run it). Shared by im2col.cu and batchnorm.cu.
#pragma once
#ifndef MINIGRAD_CONVERT_CUH  // also a guard: kernel_source() inlines headers without
#define MINIGRAD_CONVERT_CUH  // their #pragma once, and the host run includes this too

struct f16 { unsigned short bits; };
struct bf16 { unsigned short bits; };

__host__ __device__ __forceinline__ float to_acc(float v) { return v; }
__host__ __device__ __forceinline__ double to_acc(double v) { return v; }
__host__ __device__ __forceinline__ float to_acc(f16 v) {
#ifdef __CUDA_ARCH__
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(v.bits));
    return f;
#else  // the host run of the kernels (tests/kernels/cuda_host.h): GCC's _Float16
    _Float16 h;
    __builtin_memcpy(&h, &v.bits, 2);
    return (float)h;
#endif
}
// Reinterpreting bits: the intrinsics on the GPU, memcpy in the tests' host program.
__host__ __device__ __forceinline__ float bits_to_float(unsigned int u) {
#ifdef __CUDA_ARCH__
    return __uint_as_float(u);
#else
    float f;
    __builtin_memcpy(&f, &u, 4);
    return f;
#endif
}
__host__ __device__ __forceinline__ unsigned int float_to_bits(float f) {
#ifdef __CUDA_ARCH__
    return __float_as_uint(f);
#else
    unsigned int u;
    __builtin_memcpy(&u, &f, 4);
    return u;
#endif
}
__host__ __device__ __forceinline__ float to_acc(bf16 v) {
    return bits_to_float(((unsigned int)v.bits) << 16);
}

__host__ __device__ __forceinline__ void store(float* p, float v) { *p = v; }
__host__ __device__ __forceinline__ void store(double* p, double v) { *p = v; }
__host__ __device__ __forceinline__ void store(f16* p, float v) {
    unsigned short b;
#ifdef __CUDA_ARCH__
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(b) : "f"(v));
#else  // round to nearest even, as cvt.rn
    const _Float16 h = (_Float16)v;
    __builtin_memcpy(&b, &h, 2);
#endif
    p->bits = b;
}
__host__ __device__ __forceinline__ void store(bf16* p, float v) {
    // Round to nearest even by hand (cvt.rn.bf16.f32 needs sm_80; this runs anywhere).
    unsigned int u = float_to_bits(v);
    unsigned short b;
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) {
        b = (unsigned short)((u >> 16) | 0x0040u);  // NaN stays a (quiet) NaN
    } else {
        b = (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    }
    p->bits = b;
}

template <typename T> struct Acc { typedef float type; };
template <> struct Acc<double> { typedef double type; };

#endif  // MINIGRAD_CONVERT_CUH
