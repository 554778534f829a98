// spmv_csr_merge.cu -- load-balanced CSR SpMV by merge path (Merrill & Garland, SC'16).
//
// Math
//   y[r] = sum_{k = indptr[r]}^{indptr[r+1]-1} data[k] * x[indices[k]], as spmv_csr.cu, but the
//   work is split evenly however the nonzeros are spread over the rows (power-law rows).
//
// The merge path
//   Merge the list A = row_end = indptr[1:] (n_rows items) with the list B = 0, 1, ..., nnz-1
//   (one item per nonzero): walking the merged list, "take nonzero j" while j < row_end[i],
//   else "finish row i". The walk has n_rows + nnz steps; every thread gets ITEMS of them, so
//   a row of 10^5 nonzeros is shared by many threads and a run of empty rows costs one step
//   each. The point where diagonal d (= i + j) crosses the path is found by binary search:
//     lo = max(d - nnz, 0), hi = min(d, n_rows)
//     while lo < hi: p = (lo + hi) / 2;  if row_end[p] <= d - p - 1: lo = p + 1 else hi = p
//     -> (i, j) = (lo, d - lo)
//
// Memory layout: as spmv_csr.cu (int32 indptr/indices, T = float or double values), plus
//   tile_row : int32[n_tiles + 1], block_carry_row : int32[n_tiles], block_carry_val : T[n_tiles].
//
// Thread -> data mapping
//   Tile b owns the diagonals [b*TILE, min((b+1)*TILE, n_rows+nnz)), TILE = THREADS*ITEMS.
//   1. spmv_csr_merge_search: one thread per tile boundary writes tile_row[b], the row
//      coordinate where diagonal b*TILE crosses the path (the nonzero coordinate is
//      b*TILE - tile_row[b]).
//   2. spmv_csr_merge: block b reads its start (r0, n0) and end (r1, n1), stages with
//      coalesced loads the products data[k]*x[indices[k]] for k in [n0, n1) and the row
//      ends row_end[r] - n0 for r in [r0, r1] in shared memory. Thread t searches its own
//      diagonal t*ITEMS inside the tile and walks ITEMS steps:
//        nonzero step: sum += prod[j]; j++
//        row-end step: finish row r with sum; sum = 0; r++
//      What is left when a thread stops is its carry (open row, partial sum), kept in shared
//      memory. Carries are resolved without atomics, in a fixed order:
//        - the first row a thread finishes may have started in earlier threads of the block:
//          its value is first_sum + carry[t-1] + carry[t-2] + ... over the run of earlier
//          threads whose carry row is that row (carry rows never decrease with t);
//        - every later row a thread finishes started inside the thread: y[r] = sum;
//        - the row still open at the end of the tile (r1) gets one block carry,
//          carry[THREADS-1] + carry[THREADS-2] + ... over the run with that row, written to
//          block_carry_row[b], block_carry_val[b].
//   3. spmv_csr_merge_fixup: one thread per tile adds its block carry into y with atomicAdd
//      (a row spanning several tiles gets several, in any order). It runs after kernel 2, so
//      every store "y[r] = ..." precedes every atomicAdd.
//
// Launch configuration
//   search: ceil((n_tiles + 1) / 256) blocks of 256.  main: n_tiles blocks of THREADS (256),
//   static shared memory TILE*sizeof(T) + (TILE+1)*4 + THREADS*(4+sizeof(T)) bytes.
//   fixup: ceil(n_tiles / 256) blocks of 256. n_tiles = ceil((n_rows + nnz) / TILE).
//   Kernel names: spmv_csr_merge_search, spmv_csr_merge_<f32|f64>,
//   spmv_csr_merge_fixup_<f32|f64>.
//
// Reference
//   minigrad.kernels.reference.spmv_csr_merge (same search, same walk, same carry order;
//   only the atomicAdd order of block carries of one row is free on the GPU).

#ifndef THREADS
#define THREADS 256
#endif
#ifndef ITEMS
#define ITEMS 7
#endif
#define TILE (THREADS * ITEMS)

// Coordinate on the merge path of `diagonal`: returns i (rows finished); j = diagonal - i.
// row_end[p] is compared with the count of nonzeros taken before step d, d - p - 1.
__device__ __forceinline__ int merge_path_search(int diagonal, const int* row_end, int a_len,
                                                 int b_len, int row_end_offset) {
    int lo = max(diagonal - b_len, 0);
    int hi = min(diagonal, a_len);
    while (lo < hi) {
        const int p = (lo + hi) >> 1;
        if (row_end[p] - row_end_offset <= diagonal - p - 1) lo = p + 1;
        else hi = p;
    }
    return lo;
}

extern "C" __global__ void spmv_csr_merge_search(int n_tiles, int n_rows, int nnz,
                                                  const int* __restrict__ indptr,
                                                  int* __restrict__ tile_row) {
    const int b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b > n_tiles) return;
    const long long n_merge = (long long)n_rows + nnz;
    const int d = (int)min((long long)b * TILE, n_merge);
    tile_row[b] = merge_path_search(d, indptr + 1, n_rows, nnz, 0);
}

// total + carry[u] + carry[u-1] + ... over the run of threads u, u-1, ... whose carry row is
// `row` (carry rows never decrease with the thread index), added in that order. The shared
// memory reads are made CARRY_BATCH at a time (speculatively, then used in order), so a run
// across a whole block (a row longer than the tile) costs THREADS / CARRY_BATCH latencies.
#define CARRY_BATCH 8
template <typename T>
__device__ __forceinline__ T add_carries(T total, int u, int row, const int* s_carry_row,
                                         const T* s_carry_val) {
    bool go = true;
    for (; go && u >= 0; u -= CARRY_BATCH) {
        int rows[CARRY_BATCH];
        T vals[CARRY_BATCH];
#pragma unroll
        for (int q = 0; q < CARRY_BATCH; ++q) {
            rows[q] = u - q >= 0 ? s_carry_row[u - q] : -1;
            vals[q] = u - q >= 0 ? s_carry_val[u - q] : T(0);
        }
#pragma unroll
        for (int q = 0; q < CARRY_BATCH; ++q) {
            go = go && rows[q] == row;
            if (go) total += vals[q];
        }
    }
    return total;
}

template <typename T>
__device__ __forceinline__ void spmv_csr_merge(int n_rows, int nnz, const int* __restrict__ indptr,
                                               const int* __restrict__ indices,
                                               const T* __restrict__ data,
                                               const T* __restrict__ x, T* __restrict__ y,
                                               const int* __restrict__ tile_row,
                                               int* __restrict__ block_carry_row,
                                               T* __restrict__ block_carry_val) {
    __shared__ T s_prod[TILE];
    __shared__ int s_row_end[TILE + 1];
    __shared__ T s_carry_val[THREADS];
    __shared__ int s_carry_row[THREADS];

    const long long n_merge = (long long)n_rows + nnz;
    const int d0 = (int)min((long long)blockIdx.x * TILE, n_merge);
    const int d1 = (int)min((long long)d0 + TILE, n_merge);
    const int r0 = __ldg(tile_row + blockIdx.x), n0 = d0 - r0;
    const int r1 = __ldg(tile_row + blockIdx.x + 1), n1 = d1 - r1;
    const int tile_rows = r1 - r0;  // row-end steps in this tile
    const int tile_nnz = n1 - n0;   // nonzero steps in this tile

    // Stage products and row ends (relative to n0) with coalesced loads: all of a thread's
    // values, columns and row ends are loaded before the first x gather (fixed trip counts,
    // unrolled), so a block waits for about two memory latencies instead of 2 * ITEMS.
    T pv[ITEMS];
    int pc[ITEMS], pe[ITEMS + 1];
#pragma unroll
    for (int it = 0; it < ITEMS; ++it) {
        const int i = threadIdx.x + it * THREADS;
        pv[it] = T(0);
        pc[it] = 0;
        if (i < tile_nnz) {
            pv[it] = __ldcs(data + n0 + i);
            pc[it] = __ldcs(indices + n0 + i);
        }
    }
#pragma unroll
    for (int it = 0; it < ITEMS + 1; ++it) {
        const int i = threadIdx.x + it * THREADS, r = r0 + i;
        pe[it] = i <= tile_rows ? (r < n_rows ? __ldg(indptr + r + 1) : nnz) - n0 : 0;
    }
#pragma unroll
    for (int it = 0; it < ITEMS; ++it) {
        const int i = threadIdx.x + it * THREADS;
        if (i < tile_nnz) s_prod[i] = pv[it] * __ldg(x + pc[it]);
    }
#pragma unroll
    for (int it = 0; it < ITEMS + 1; ++it) {
        const int i = threadIdx.x + it * THREADS;
        if (i <= tile_rows) s_row_end[i] = pe[it];
    }
    __syncthreads();

    // This thread's share of the tile: local diagonals [t0, t1).
    const int t = threadIdx.x;
    const int t0 = min(t * ITEMS, tile_rows + tile_nnz);
    const int t1 = min(t0 + ITEMS, tile_rows + tile_nnz);
    int r = merge_path_search(t0, s_row_end, tile_rows, tile_nnz, 0);
    int j = t0 - r;
    const int r_start = r;
    T sum = T(0), first_sum = T(0);
#pragma unroll
    for (int step = 0; step < ITEMS; ++step) {
        if (r + j < t1) {
            if (j < s_row_end[r]) {
                sum += s_prod[j];
                ++j;
            } else {
                if (r == r_start) first_sum = sum;  // may still need earlier threads' carries
                else y[r0 + r] = sum;               // started in this thread: complete
                sum = T(0);
                ++r;
            }
        }
    }
    s_carry_row[t] = r;
    s_carry_val[t] = sum;
    __syncthreads();

    if (r > r_start) {  // finished its first row: add the carries of earlier threads
        y[r0 + r_start] = add_carries(first_sum, t - 1, r_start, s_carry_row, s_carry_val);
    }
    if (t == THREADS - 1 && r1 < n_rows) {  // the row left open at the end of the tile
        block_carry_row[blockIdx.x] = r1;
        block_carry_val[blockIdx.x] = add_carries(sum, t - 1, tile_rows, s_carry_row, s_carry_val);
    } else if (t == THREADS - 1) {
        block_carry_row[blockIdx.x] = n_rows;  // nothing open
        block_carry_val[blockIdx.x] = T(0);
    }
}

template <typename T>
__device__ __forceinline__ void spmv_csr_merge_fixup(int n_tiles, int n_rows,
                                                     const int* __restrict__ block_carry_row,
                                                     const T* __restrict__ block_carry_val,
                                                     T* __restrict__ y) {
    const int b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= n_tiles) return;
    const int r = block_carry_row[b];
    if (r < n_rows) atomicAdd(y + r, block_carry_val[b]);
}

#define SPMV_MERGE_KERNELS(T, TN)                                                              \
    extern "C" __global__ void __launch_bounds__(THREADS) spmv_csr_merge_##TN(                 \
        int n_rows, int nnz, const int* indptr, const int* indices, const T* data, const T* x, \
        T* y, const int* tile_row, int* block_carry_row, T* block_carry_val) {                 \
        spmv_csr_merge<T>(n_rows, nnz, indptr, indices, data, x, y, tile_row,                  \
                          block_carry_row, block_carry_val);                                   \
    }                                                                                          \
    extern "C" __global__ void spmv_csr_merge_fixup_##TN(int n_tiles, int n_rows,              \
                                                         const int* block_carry_row,           \
                                                         const T* block_carry_val, T* y) {     \
        spmv_csr_merge_fixup<T>(n_tiles, n_rows, block_carry_row, block_carry_val, y);         \
    }

SPMV_MERGE_KERNELS(float, f32)
SPMV_MERGE_KERNELS(double, f64)
