// mma.h for the host run (tests/kernels/cuda_host.h): CUDA's WMMA API (nvcuda::wmma) by its
// documented semantics (CUDA C++ Programming Guide, "Warp Matrix Functions"), for fp16
// inputs and fp32 or fp16 accumulators, m16n16k16.
//
// The model: CUDA leaves unspecified which elements of a tile each lane's fragment holds, so
// here every lane holds the whole tile (num_elements = rows x columns). A kernel that treats
// x[] elementwise (the same operation on every element, as the Guide allows) runs as on a
// GPU; one that depends on a particular distribution is wrong on a GPU too.
// The *_sync functions are warp-wide: every lane, the same arguments (checked), and the tile
// moves at one instant for the warp (when its last lane arrives). The Guide's constraints are
// checked: the pointer 256-bit (32-byte) aligned, ldm a multiple of 8 for __half and 4 for
// float. mma_sync and store_matrix_sync check that every lane holds the same fragment.
#pragma once

#include <type_traits>

#include "cuda_fp16.h"

namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment {
    static constexpr int rows = std::is_same<Use, matrix_b>::value ? K : M;
    static constexpr int cols = std::is_same<Use, matrix_a>::value ? K : N;
    static constexpr int num_elements = rows * cols;
    typedef T element_type;
    T x[num_elements];  // (r, c) at x[r * cols + c]
};

namespace detail {
inline float to_float(float v) { return v; }
inline float to_float(__half v) { return __half2float(v); }
inline void from_float(float& d, float v) { d = v; }
inline void from_float(__half& d, float v) { d = __float2half(v); }
inline void put(unsigned* in, const void* p) {
    const unsigned long long a = (unsigned long long)(uintptr_t)p;
    in[0] = (unsigned)a;
    in[1] = (unsigned)(a >> 32);
}
inline void* get(const unsigned* in) {
    return (void*)(uintptr_t)((unsigned long long)in[0] | ((unsigned long long)in[1] << 32));
}

// A warp-wide load or store of the tile at p (ldm: its row or column stride): every lane
// passes the same p and ldm (checked, with the Guide's alignment rules), and `move(p, ldm,
// lane's fragment)` runs for every lane at once, when the last lane arrives (one instant for
// the warp, as an ldmatrix: a tile some lane of another warp has not finished writing reads
// as the poison that shared memory starts with).
template <typename T, typename Move>
inline void tile_op(const char* what, mg_site at, const T* p, unsigned ldm, void* frag,
                    Move move) {
    if ((uintptr_t)p % 32)
        mg::fail(std::string(what) + ": pointer not 256-bit (32-byte) aligned");
    if (ldm % (16 / sizeof(T)))
        mg::fail(std::string(what) + ": ldm " + std::to_string(ldm) + " is not a multiple of " +
                 std::to_string(16 / sizeof(T)) + " elements (16 bytes)");
    unsigned in[5];
    put(in, p);
    in[2] = ldm;
    put(in + 3, frag);
    mg::warp_op(what, at, in, 5, [what, move](mg_coll& c) {
        for (int l = 1; l < 32; ++l)
            if (c.in[l][0] != c.in[0][0] || c.in[l][1] != c.in[0][1] || c.in[l][2] != c.in[0][2])
                mg::fail(std::string(what) + ": the lanes of the warp passed different "
                         "pointers or ldm (.sync: one tile for the warp)");
        for (int l = 0; l < 32; ++l) move((T*)get(c.in[0]), c.in[0][2], get(c.in[l] + 3), l);
    });
}
}  // namespace detail

template <typename Use, int M, int N, int K, typename T, typename L, typename V>
inline void fill_fragment(fragment<Use, M, N, K, T, L>& f, const V& v) {
    for (auto& e : f.x) detail::from_float(e, detail::to_float(v));
}

template <typename Use, int M, int N, int K, typename T, typename L, typename P>
inline void load_matrix_sync(fragment<Use, M, N, K, T, L>& f, const P* p, unsigned ldm,
                             mg_site at = mg_site()) {
    static_assert(!std::is_same<Use, accumulator>::value, "an accumulator load takes a layout_t");
    using F = fragment<Use, M, N, K, T, L>;
    detail::tile_op("wmma::load_matrix_sync", at, p, ldm, &f, [](const P* q, unsigned ld, void* g, int) {
        F& fl = *(F*)g;
        const bool row = std::is_same<L, row_major>::value;
        for (int r = 0; r < F::rows; ++r)
            for (int c = 0; c < F::cols; ++c) fl.x[r * F::cols + c] = row ? q[r * ld + c] : q[c * ld + r];
    });
}
template <int M, int N, int K, typename T, typename P>
inline void load_matrix_sync(fragment<accumulator, M, N, K, T, void>& f, const P* p, unsigned ldm,
                             layout_t layout, mg_site at = mg_site()) {
    using F = fragment<accumulator, M, N, K, T, void>;
    detail::tile_op("wmma::load_matrix_sync", at, p, ldm, &f, [layout](const P* q, unsigned ld, void* g, int) {
        F& fl = *(F*)g;
        for (int r = 0; r < M; ++r)
            for (int c = 0; c < N; ++c)
                fl.x[r * N + c] = layout == mem_row_major ? q[r * ld + c] : q[c * ld + r];
    });
}
// Every element once, from lane 0's fragment (the lanes' fragments are checked equal first).
template <int M, int N, int K, typename T, typename P>
inline void store_matrix_sync(P* p, const fragment<accumulator, M, N, K, T, void>& f, unsigned ldm,
                              layout_t layout, mg_site at = mg_site()) {
    using F = fragment<accumulator, M, N, K, T, void>;
    const F* first = nullptr;
    detail::tile_op("wmma::store_matrix_sync", at, p, ldm, (void*)&f,
                    [layout, &first](P* q, unsigned ld, void* g, int l) {
        const F& fl = *(const F*)g;
        if (l == 0) first = &fl;
        else if (std::memcmp(&fl, first, sizeof(F)))
            mg::fail("wmma::store_matrix_sync: lane " + std::to_string(l) + " holds another "
                     "fragment than lane 0 (this model keeps the whole tile in every lane; a "
                     "kernel whose lanes differ relies on a distribution CUDA does not specify)");
        if (l != 31) return;
        for (int r = 0; r < M; ++r)
            for (int c = 0; c < N; ++c)
                q[layout == mem_row_major ? r * ld + c : c * ld + r] = fl.x[r * N + c];
    });
}

// D = A B + C, each element summed in double and rounded once (as cuda_host.h's mma),
// computed once for the warp by its last lane to arrive, from lane 0's fragments, after
// checking that every lane holds the same ones (lanes that differ would rely on a
// distribution of the tile that CUDA does not specify).
template <int M, int N, int K, typename TA, typename LA, typename TB, typename LB, typename TC,
          typename TD>
inline void mma_sync(fragment<accumulator, M, N, K, TD, void>& d,
                     const fragment<matrix_a, M, N, K, TA, LA>& a,
                     const fragment<matrix_b, M, N, K, TB, LB>& b,
                     const fragment<accumulator, M, N, K, TC, void>& c,
                     mg_site at = mg_site()) {
    using FA = fragment<matrix_a, M, N, K, TA, LA>;
    using FB = fragment<matrix_b, M, N, K, TB, LB>;
    using FC = fragment<accumulator, M, N, K, TC, void>;
    using FD = fragment<accumulator, M, N, K, TD, void>;
    unsigned in[8];
    const void* ptrs[4] = {&a, &b, &c, &d};
    for (int i = 0; i < 4; ++i) {
        const unsigned long long p = (unsigned long long)(uintptr_t)ptrs[i];
        in[2 * i] = (unsigned)p;
        in[2 * i + 1] = (unsigned)(p >> 32);
    }
    mg::warp_op("wmma::mma_sync", at, in, 8, [](mg_coll& co) {
        auto at = [&co](int l, int i) {
            return (void*)(uintptr_t)((unsigned long long)co.in[l][2 * i] |
                                      ((unsigned long long)co.in[l][2 * i + 1] << 32));
        };
        const FA& a0 = *(const FA*)at(0, 0);
        const FB& b0 = *(const FB*)at(0, 1);
        const FC& c0 = *(const FC*)at(0, 2);
        for (int l = 1; l < 32; ++l)
            if (std::memcmp(at(l, 0), &a0, sizeof(FA)) || std::memcmp(at(l, 1), &b0, sizeof(FB)) ||
                std::memcmp(at(l, 2), &c0, sizeof(FC)))
                mg::fail("wmma::mma_sync: lane " + std::to_string(l) + " holds other fragments than "
                         "lane 0 (this model keeps the whole tile in every lane; a kernel whose "
                         "lanes differ relies on a distribution CUDA does not specify)");
        double A[M * K], B[K * N];  // each element converted once, not once a product
        for (int i = 0; i < M * K; ++i) A[i] = detail::to_float(a0.x[i]);
        for (int i = 0; i < K * N; ++i) B[i] = detail::to_float(b0.x[i]);
        float out[M * N];
        for (int r = 0; r < M; ++r)
            for (int col = 0; col < N; ++col) {
                double s = detail::to_float(c0.x[r * N + col]);
                for (int k = 0; k < K; ++k) s += A[r * K + k] * B[k * N + col];
                out[r * N + col] = (float)s;
            }
        for (int l = 0; l < 32; ++l) {
            FD& dl = *(FD*)at(l, 3);
            for (int i = 0; i < M * N; ++i) detail::from_float(dl.x[i], out[i]);
        }
    });
}
}  // namespace wmma
}  // namespace nvcuda
