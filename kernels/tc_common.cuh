// tc_common.cuh -- PTX wrappers and the shared-memory swizzle shared by hgemm.cu and mm24.cu,
// so that the dense and the 2:4 GEMM use the same tiling code. No CUDA headers: the 16-bit
// floats travel as raw bits (unsigned short) and are converted with PTX cvt.
//
// Every wrapper names the PTX ISA section it follows (PTX ISA 8.5+, sm_80+):
//   cp.async            9.7.9.25  "Data Movement: cp.async" (cg: L2 only, 16 bytes, src-size 0
//                                  fills the destination with zeros)
//   ldmatrix            9.7.14.5.15 "ldmatrix" (m8n8, .x4, optional .trans)
//   mma m16n8k16        9.7.14.5.8  "Matrix Fragments for mma.m16n8k16 with floating point type"
//   mma.sp m16n8k32     9.7.14.6.2.2 "Matrix Fragments for sparse mma.m16n8k32 with .f16 and .bf16"
#pragma once

typedef unsigned int u32;
typedef unsigned short u16;

// The host run of the kernels (tests/kernels/cuda_host.h, CUDA_HOST_RUN) defines these
// wrappers itself, by the PTX semantics of each instruction.
#ifndef CUDA_HOST_RUN
// Generic -> shared-window address (what ldmatrix / cp.async take).
__device__ __forceinline__ u32 smem_u32(const void* p) {
    u32 r;
    asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(r) : "l"(p));
    return r;
}

// 16-byte global -> shared copy; valid == false writes 16 zero bytes (ragged edges).
__device__ __forceinline__ void cp_async_16(u32 dst, const void* src, bool valid) {
    const int n = valid ? 16 : 0;
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(n));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

// Four 8x8 b16 matrices; lane l gives the row address of row l%8 of matrix l/8.
// Lane l receives, of matrix j, row l/4, columns 2(l%4), 2(l%4)+1 in register j
// (.trans: rows 2(l%4), 2(l%4)+1 of column l/4).
__device__ __forceinline__ void ldmatrix_x4(u32 (&r)[4], u32 addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(u32 (&r)[4], u32 addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}

// D = A(16x16) B(16x8) + D, fp32 accumulate. IS_BF16 selects .bf16 inputs.
template <bool IS_BF16>
__device__ __forceinline__ void mma_16816(float (&d)[4], const u32 (&a)[4], const u32 (&b)[2]) {
    if (IS_BF16) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
            "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    } else {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
            "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
}

// D = A(16x32, 2:4 sparse, given as 16x16 kept values + metadata e) B(32x8) + D.
// Sparsity selector 0: lanes 4g and 4g+1 supply the metadata (see mm24.cu for the layout).
template <bool IS_BF16>
__device__ __forceinline__ void mma_sp_16832(float (&d)[4], const u32 (&a)[4], const u32 (&b)[4],
                                             u32 e) {
    if (IS_BF16) {
        asm volatile(
            "mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.bf16.bf16.f32 "
            "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9,%10,%11}, {%0,%1,%2,%3}, %12, 0x0;\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "r"(b[2]),
              "r"(b[3]), "r"(e));
    } else {
        asm volatile(
            "mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.f16.f16.f32 "
            "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9,%10,%11}, {%0,%1,%2,%3}, %12, 0x0;\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "r"(b[2]),
              "r"(b[3]), "r"(e));
    }
}

// Two fp32 -> packed 16-bit pair (lo in bits 0..15). PTX cvt packs its first source high.
template <bool IS_BF16>
__device__ __forceinline__ u32 pack2(float lo, float hi) {
    u32 r;
    if (IS_BF16) asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    else asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}
#endif  // CUDA_HOST_RUN

// The two pipeline steps of hgemm.cu's and mm24.cu's main loops (CUTLASS's multistage loop).
// refill_stage, at a k tile's first step: issue k tile kt + NSTAGES - 1 into stage wr, the
// one tile kt - 1 used (every read of it is done), commit (an empty group past the end keeps
// the count of groups), and advance wr.
template <int NSTAGES, class LoadStage>
__device__ __forceinline__ void refill_stage(LoadStage& load_stage, int kt, int KT, int& wr) {
    const int next = kt + NSTAGES - 1;
    if (next < KT) load_stage(wr, next);
    cp_async_commit();
    wr = wr + 1 == NSTAGES ? 0 : wr + 1;
}

// next_stage, before the first fragments of k tile kt + 1: wait until it has landed (at most
// NSTAGES - 2 groups pending), then a barrier (every warp is done with what it read before,
// so the next refill may overwrite it), and advance the stage read, rd.
template <int NSTAGES>
__device__ __forceinline__ void next_stage(int& rd) {
    cp_async_wait<NSTAGES - 2>();
    __syncthreads();
    rd = rd + 1 == NSTAGES ? 0 : rd + 1;
}

// Swizzled shared-memory tile: rows of CHUNKS 16-byte chunks (8 halves each). Chunk c of
// row r is stored at chunk  c ^ ((r / ROWS_PER_128B) % min(CHUNKS, 8))  of the same row,
// ROWS_PER_128B = max(1, 8 / CHUNKS). Then the 8 row addresses of one ldmatrix phase (8
// consecutive rows, same logical chunk) and the 8 chunks written by 8 consecutive cp.async
// threads fall into 8 different 16-byte bank groups: no bank conflicts.
// Returns the index, in halves, of the chunk's first element.
// (reference: minigrad.kernels.reference.swizzle_chunk)
template <int CHUNKS>
__device__ __forceinline__ int swz(int r, int c) {
    constexpr int ROWS_PER_128B = CHUNKS >= 8 ? 1 : 8 / CHUNKS;
    constexpr int MASK = (CHUNKS >= 8 ? 8 : CHUNKS) - 1;
    return (r * CHUNKS + (c ^ ((r / ROWS_PER_128B) & MASK))) * 8;
}

// Tile order: GROUP_M tile rows are swept together so that neighbouring blocks share A and
// B panels in L2 (the "grouped ordering" of the Triton matmul tutorial).
__device__ __forceinline__ void tile_coords(int pid, int tiles_m, int tiles_n, int group_m,
                                            int& bm, int& bn) {
    const int in_group = group_m * tiles_n;
    const int first_m = (pid / in_group) * group_m;
    const int size_m = min(tiles_m - first_m, group_m);
    bm = first_m + (pid % in_group) % size_m;
    bn = (pid % in_group) / size_m;
}
