// spmv_floor.cu -- the memory floor of a CSR SpMV on one matrix: its values and column
// indices streamed and its x gathers made, exactly as any CSR SpMV must, with the rows left
// out (no row pointers, no per-row sums, no y). A benchmark kernel, like mma_peak.cu: the
// time it takes is what the matrix's bytes and gathers cost by themselves.
//
// Why it exists
//   gpu_kernels.py reports SpMV against "minimum bytes" (values + indices + row pointers + x
//   + y) over the copy bandwidth. That count takes every x value as read once. When the
//   columns are spread over all of x, each 4-byte gather moves a whole 32-byte sector from L2
//   (x, 4 MB at 1M columns, fits in the H200's L2, not in an SM's L1), so the gathers move 8
//   times the bytes the count gives them, through L2 rather than from DRAM. This kernel
//   measures that floor on the matrix itself, so the fraction of it a SpMV reaches says how
//   much of the gap to the copy bandwidth is the kernel's and how much the matrix's.
//
// Math
//   out[b] = sum over the nonzeros k of block b of data[k] * x[indices[k]]  (float32)
//   so that sum(out) = sum_k data[k] x[indices[k]] = sum_r y[r] (a checkable result; the
//   summation order is not a SpMV's).
//
// Memory layout
//   indices : int32[nnz], data : float32[nnz] (16-byte aligned), x : float32[n_cols],
//   out : float32[grid].
//
// Thread -> data mapping
//   16-byte chunks c = 0 .. nnz/4 - 1 (4 values, 4 columns each). Block b, thread t takes the
//   chunks c = (b UNROLL + u) 256 + t, u = 0 .. UNROLL-1 (coalesced: a warp reads 512
//   contiguous bytes of values and of indices per u); all its value and index loads are
//   issued before its gathers, and all its gathers before the sums. The nnz % 4 last
//   nonzeros are added by block 0, thread 0. The block's sums are folded by
//   __shfl_down_sync and shared memory; thread 0 writes out[b].
//
// Launch configuration
//   block 256, grid max(1, ceil(nnz / 4 / (256 UNROLL))), UNROLL = 4: 16 KiB of values and
//   indices per block in flight at once.
//
// Reference
//   minigrad.kernels.reference.spmv_floor (the same blocks, float64 sums).

#define FLOOR_UNROLL 4

extern "C" __global__ void __launch_bounds__(256) spmv_floor_f32(int nnz,
                                                               const int* __restrict__ indices,
                                                               const float* __restrict__ data,
                                                               const float* __restrict__ x,
                                                               float* __restrict__ out) {
    const int n_chunks = nnz / 4;
    const int4* iv = reinterpret_cast<const int4*>(indices);
    const float4* dv = reinterpret_cast<const float4*>(data);
    int4 col[FLOOR_UNROLL];
    float4 val[FLOOR_UNROLL], xv[FLOOR_UNROLL];
    bool ok[FLOOR_UNROLL];
#pragma unroll
    for (int u = 0; u < FLOOR_UNROLL; ++u) {
        const int c = (blockIdx.x * FLOOR_UNROLL + u) * 256 + threadIdx.x;
        ok[u] = c < n_chunks;
        col[u] = ok[u] ? __ldcs(iv + c) : make_int4(0, 0, 0, 0);
        val[u] = ok[u] ? __ldcs(dv + c) : make_float4(0.f, 0.f, 0.f, 0.f);
    }
#pragma unroll
    for (int u = 0; u < FLOOR_UNROLL; ++u)
        xv[u] = ok[u] ? make_float4(__ldg(x + col[u].x), __ldg(x + col[u].y), __ldg(x + col[u].z),
                                    __ldg(x + col[u].w))
                      : make_float4(0.f, 0.f, 0.f, 0.f);
    float s = 0.f;
#pragma unroll
    for (int u = 0; u < FLOOR_UNROLL; ++u)
        s += val[u].x * xv[u].x + val[u].y * xv[u].y + val[u].z * xv[u].z + val[u].w * xv[u].w;
    if (blockIdx.x == 0 && threadIdx.x == 0)
        for (int k = 4 * n_chunks; k < nnz; ++k) s += data[k] * __ldg(x + indices[k]);

    __shared__ float warp_sums[8];
#pragma unroll
    for (int off = 16; off > 0; off /= 2) s += __shfl_down_sync(0xffffffffu, s, off);
    if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
        float b = 0.f;
#pragma unroll
        for (int w = 0; w < 8; ++w) b += warp_sums[w];
        out[blockIdx.x] = b;
    }
}
