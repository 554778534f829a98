// mma_peak.cu -- registers-only tensor-core throughput: the ceiling an mma.sync GEMM can reach.
//
// Math
//   Each warp runs ITERS x CHAINS independent mma instructions on register operands and
//   never touches memory inside the loop, so the time is tensor-core issue time only.
//     dense : mma.sync m16n8k16 f16 -> f32, 2*16*8*16 = 4096 flop per instruction
//     sparse: mma.sp::ordered_metadata m16n8k32 f16 -> f32, counted as the dense-equivalent
//             2*16*8*32 = 8192 flop per instruction (the 2:4 convention)
//   flop/s = warps * ITERS * CHAINS * flop_per_mma / seconds.
//
// Memory layout: out float[n_threads] receives the sum of each thread's accumulators so the
//   loop cannot be removed; its value is meaningless.
//
// Thread -> data mapping: every lane holds fixed A, B fragments (small fp16 numbers) and
//   CHAINS = 8 independent accumulators, enough to cover the mma latency.
//
// Launch configuration: block 256 threads (8 warps, two per SM sub-partition), grid a few
//   blocks per SM (the benchmark uses 4 * SM count); iters a runtime argument.
//   Kernel names: mma_peak_f16, mma_sp_peak_f16.
//
// Reference: none (a measurement, not a computation).

#include "tc_common.cuh"

#ifndef CHAINS
#define CHAINS 8
#endif

extern "C" __global__ void __launch_bounds__(256) mma_peak_f16(float* out, int iters) {
    const u32 one_half = 0x3c003c00u;  // (1.0, 1.0) in fp16
    const u32 a[4] = {one_half ^ (threadIdx.x & 1u), one_half, one_half, one_half};
    const u32 b[2] = {one_half, one_half ^ (threadIdx.x & 2u)};
    float acc[CHAINS][4];
#pragma unroll
    for (int c = 0; c < CHAINS; ++c)
#pragma unroll
        for (int q = 0; q < 4; ++q) acc[c][q] = 0.f;
    for (int i = 0; i < iters; ++i) {
#pragma unroll
        for (int c = 0; c < CHAINS; ++c) mma_16816<false>(acc[c], a, b);
    }
    float s = 0.f;
#pragma unroll
    for (int c = 0; c < CHAINS; ++c) s += acc[c][0] + acc[c][1] + acc[c][2] + acc[c][3];
    out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}

extern "C" __global__ void __launch_bounds__(256) mma_sp_peak_f16(float* out, int iters) {
    const u32 one_half = 0x3c003c00u;
    const u32 a[4] = {one_half ^ (threadIdx.x & 1u), one_half, one_half, one_half};
    const u32 b[4] = {one_half, one_half ^ (threadIdx.x & 2u), one_half, one_half};
    const u32 e = 0x44444444u;  // every group keeps positions 0 and 1: nibble (1 << 2) | 0
    float acc[CHAINS][4];
#pragma unroll
    for (int c = 0; c < CHAINS; ++c)
#pragma unroll
        for (int q = 0; q < 4; ++q) acc[c][q] = 0.f;
    for (int i = 0; i < iters; ++i) {
#pragma unroll
        for (int c = 0; c < CHAINS; ++c) mma_sp_16832<false>(acc[c], a, b, e);
    }
    float s = 0.f;
#pragma unroll
    for (int c = 0; c < CHAINS; ++c) s += acc[c][0] + acc[c][1] + acc[c][2] + acc[c][3];
    out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}
