// cuda_host.h -- just enough of CUDA to run minigrad's raw kernels (kernels/*.cu without
// tensor-core PTX, and the RawModule sources in minigrad/) as host C++ on the CPU, so that
// their CUDA text, not only their NumPy twins, is tested on a machine without a GPU.
// tests/kernels/cuda_host.py compiles a kernel file with this header first (g++), and
// launches a kernel by name, as cupy.RawModule does on a GPU.
//
// Execution model
//   Blocks run one after another, in a shuffled order (seeded per launch: a kernel that
//   relies on the order of its blocks shows it). The threads of a block are fibers
//   on one OS thread (made by ucontext, switched by _setjmp/_longjmp: no system call a
//   switch), started in a shuffled order; a fiber runs until it must wait (__syncthreads,
//   a warp collective whose partner has not got there yet) or ends.
//   So there is no data race and no memory ordering to model (__threadfence does nothing,
//   atomics are plain read-modify-writes), and a launch is deterministic.
//
// What it checks, beyond running the text (each a launch error, named with the kernel's
// line where it applies, rather than a hang or a silent wrong answer):
//   * __syncthreads met by the threads of one barrier at different source lines (undefined
//     behaviour in CUDA: a barrier in divergent code), and a deadlock (every live thread
//     waiting);
//   * a warp collective (__shfl*_sync, __ballot_sync, __any/__all_sync, __syncwarp) whose
//     mask leaves out the calling lane, names a lane the block does not have, or reads a
//     lane outside the mask or one that has exited;
//   * shared memory (__shared__) is filled with 0xff bytes (NaN for floats, -1 for
//     integers) before every block, so a read of a value no thread wrote shows;
//   * a kernel argument whose type is not the parameter's (cuda_host.py, from the
//     signature this header reports).
// Warp collectives pair the k-th call of each lane under the same mask (lanes that take
// part in a collective make the same calls in the same order, as CUDA requires).
//
// Not modelled: tensor-core instructions and other inline PTX (asm), dynamic shared memory
// (extern __shared__), textures, cooperative groups, clocks.
#pragma once

#include <setjmp.h>
#include <ucontext.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <sys/mman.h>
#include <utility>
#include <vector>

// ------------------------------------------------------------------ qualifiers and types
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
// Static shared arrays go to one section, so that every block can start them poisoned.
#define __shared__ static __attribute__((section("mg_shared")))

struct uint3 { unsigned int x, y, z; };
struct dim3 {
    unsigned int x, y, z;
    dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1) : x(x_), y(y_), z(z_) {}
};
#define MG_VEC2(T, N) struct alignas(2 * sizeof(T)) N { T x, y; }; \
    inline N make_##N(T x, T y) { return N{x, y}; }
#define MG_VEC4(T, N) struct alignas(4 * sizeof(T) > 16 ? 16 : 4 * sizeof(T)) N { T x, y, z, w; }; \
    inline N make_##N(T x, T y, T z, T w) { return N{x, y, z, w}; }
MG_VEC2(float, float2) MG_VEC4(float, float4) MG_VEC2(double, double2) MG_VEC4(double, double4)
MG_VEC2(int, int2) MG_VEC4(int, int4) MG_VEC2(unsigned int, uint2) MG_VEC4(unsigned int, uint4)
MG_VEC2(long long, longlong2)
#undef MG_VEC2
#undef MG_VEC4

// The math functions by their CUDA names (float overloads for float, as in device code).
using std::abs; using std::ceil; using std::cos; using std::exp; using std::expm1;
using std::fabs; using std::floor; using std::fma; using std::fmax; using std::fmin;
using std::isfinite; using std::isinf; using std::isnan; using std::log; using std::log1p;
using std::pow; using std::sin; using std::sqrt; using std::tanh; using std::erf;
inline float rsqrtf(float v) { return 1.0f / std::sqrt(v); }
inline double rsqrt(double v) { return 1.0 / std::sqrt(v); }

// CUDA's min and max overloads (math_functions.hpp): same-type ones and the mixed
// signed/unsigned ones, which compare as unsigned.
#define MG_MINMAX(T) inline T min(T a, T b) { return b < a ? b : a; } \
                     inline T max(T a, T b) { return a < b ? b : a; }
MG_MINMAX(int) MG_MINMAX(unsigned int) MG_MINMAX(long long) MG_MINMAX(unsigned long long)
MG_MINMAX(long) MG_MINMAX(unsigned long)
#undef MG_MINMAX
inline float min(float a, float b) { return std::fmin(a, b); }
inline float max(float a, float b) { return std::fmax(a, b); }
inline double min(double a, double b) { return std::fmin(a, b); }
inline double max(double a, double b) { return std::fmax(a, b); }
inline unsigned int min(int a, unsigned int b) { return min((unsigned int)a, b); }
inline unsigned int min(unsigned int a, int b) { return min(a, (unsigned int)b); }
inline unsigned int max(int a, unsigned int b) { return max((unsigned int)a, b); }
inline unsigned int max(unsigned int a, int b) { return max(a, (unsigned int)b); }
inline unsigned long long min(long long a, unsigned long long b) { return min((unsigned long long)a, b); }
inline unsigned long long min(unsigned long long a, long long b) { return min(a, (unsigned long long)b); }
inline unsigned long long max(long long a, unsigned long long b) { return max((unsigned long long)a, b); }
inline unsigned long long max(unsigned long long a, long long b) { return max(a, (unsigned long long)b); }

// Loads with cache hints are loads; products rounded on their own are products (the file
// is compiled with -ffp-contract=off, so nothing is fused into an FMA).
template <typename T> inline T __ldg(const T* p) { return *p; }
template <typename T> inline T __ldcs(const T* p) { return *p; }
template <typename T> inline T __ldcg(const T* p) { return *p; }
template <typename T> inline T __ldca(const T* p) { return *p; }
template <typename T> inline void __stcs(T* p, T v) { *p = v; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline double __dsqrt_rn(double a) { return std::sqrt(a); }
inline float __int_as_float(int v) { float f; std::memcpy(&f, &v, 4); return f; }
inline int __float_as_int(float v) { int i; std::memcpy(&i, &v, 4); return i; }
inline float __uint_as_float(unsigned int v) { float f; std::memcpy(&f, &v, 4); return f; }
inline unsigned int __float_as_uint(float v) { unsigned int u; std::memcpy(&u, &v, 4); return u; }
inline double __longlong_as_double(long long v) { double d; std::memcpy(&d, &v, 8); return d; }
inline long long __double_as_longlong(double v) { long long l; std::memcpy(&l, &v, 8); return l; }
inline unsigned int __umulhi(unsigned int a, unsigned int b) {
    return (unsigned int)(((unsigned long long)a * b) >> 32);
}
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
    return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
inline int __popc(unsigned int v) { return __builtin_popcount(v); }
inline int __popcll(unsigned long long v) { return __builtin_popcountll(v); }
inline int __clz(int v) { return v ? __builtin_clz((unsigned int)v) : 32; }
inline int __ffs(int v) { return __builtin_ffs(v); }

// ------------------------------------------------------------------------- the fibers
struct mg_history { unsigned int mask; std::vector<unsigned long long> values; };
struct mg_thread {
    ucontext_t ctx;           // where the fiber starts (its first switch)
    jmp_buf jb;               // where it waits (every later switch: no system call)
    bool started = false;
    uint3 tid;
    int linear = 0;           // x + y·bx + z·bx·by
    bool done = false;
    std::vector<mg_history> published;  // per mask: what this lane gave each collective
    const char* waiting = nullptr;
    int waiting_line = 0;
};

namespace mg {
inline ucontext_t start_ctx;          // (abandoned after each fiber's first switch)
inline jmp_buf sched_jb;
inline mg_thread* cur = nullptr;
inline std::vector<mg_thread>* threads = nullptr;
inline uint3 block_idx;
inline dim3 block_dim, grid_dim;
inline int live = 0;                 // threads of this block that have not returned
inline int bar_arrived = 0, bar_line = 0;
inline unsigned long long bar_gen = 0;
inline int stalls = 0;               // failed re-checks since anything moved
inline std::string error;
inline std::function<void()>* body = nullptr;

// Back to the scheduler until it resumes this fiber.
inline void yield() {
    if (!_setjmp(cur->jb)) _longjmp(sched_jb, 1);
}

[[noreturn]] inline void stop() {    // leave this fiber for good (after an error)
    _longjmp(sched_jb, 1);
}

inline void fail(const std::string& what) {
    if (error.empty()) {
        char where[96];
        std::snprintf(where, sizeof where, " (block (%u, %u, %u), thread (%u, %u, %u))",
                      block_idx.x, block_idx.y, block_idx.z, cur->tid.x, cur->tid.y, cur->tid.z);
        error = what + where;
    }
    stop();
}

// Wait (yielding to the other fibers) until ready() holds.
template <typename F> inline void wait_until(F ready, const char* what, int line) {
    stalls = 0;                       // arriving here is progress
    while (!ready()) {
        cur->waiting = what;
        cur->waiting_line = line;
        ++stalls;
        yield();
        if (!error.empty()) stop();
    }
    cur->waiting = nullptr;
    stalls = 0;
}

inline void syncthreads(int line) {
    if (bar_arrived == 0) bar_line = line;
    else if (line != bar_line)
        fail("__syncthreads at line " + std::to_string(line) + " met other threads of the "
             "block at the __syncthreads of line " + std::to_string(bar_line) +
             " (a barrier in divergent code)");
    const unsigned long long gen = bar_gen;
    if (++bar_arrived == live) { bar_arrived = 0; ++bar_gen; stalls = 0; return; }
    wait_until([gen] { return bar_gen != gen; }, "__syncthreads", line);
}

inline int lane() { return cur->linear % 32; }
inline mg_thread* lane_thread(int l) {   // lane l of the caller's warp, or null
    const int i = cur->linear / 32 * 32 + l;
    return i < (int)threads->size() ? &(*threads)[i] : nullptr;
}
inline std::vector<unsigned long long>& history(mg_thread* t, unsigned int mask) {
    for (auto& h : t->published) if (h.mask == mask) return h.values;
    t->published.push_back({mask, {}});
    return t->published.back().values;
}

// Give `bits` to this lane's next collective under `mask`; returns the call's index k.
inline size_t publish(unsigned int mask, unsigned long long bits, const char* what, int line) {
    const int l = lane();
    if (!(mask >> l & 1u))
        fail(std::string(what) + " at line " + std::to_string(line) + ": the mask 0x" +
             [&] { char b[16]; std::snprintf(b, sizeof b, "%08x", mask); return std::string(b); }() +
             " leaves out the calling lane " + std::to_string(l));
    const bool partial_warp = cur->linear / 32 * 32 + 32 > (int)threads->size();
    for (int o = 0; partial_warp && o < 32; ++o)
        if ((mask >> o & 1u) && !lane_thread(o))
            fail(std::string(what) + " at line " + std::to_string(line) + ": the mask names lane " +
                 std::to_string(o) + ", which this block does not have");
    auto& h = history(cur, mask);
    h.push_back(bits);
    return h.size() - 1;
}

// The value lane `src` gave its k-th collective under `mask` (waiting for it).
inline unsigned long long take(unsigned int mask, int src, size_t k, const char* what, int line) {
    if (!(mask >> src & 1u))
        fail(std::string(what) + " at line " + std::to_string(line) + " reads lane " +
             std::to_string(src) + ", outside its mask");
    mg_thread* t = lane_thread(src);
    wait_until([&] {
        if (history(t, mask).size() > k) return true;
        if (t->done)
            fail(std::string(what) + " at line " + std::to_string(line) + " waits for lane " +
                 std::to_string(src) + ", which has exited");
        return false;
    }, what, line);
    return history(t, mask)[k];
}

template <typename T> inline unsigned long long bits_of(T v) {
    static_assert(sizeof(T) <= 8, "shuffles of at most 8 bytes");
    unsigned long long b = 0;
    std::memcpy(&b, &v, sizeof(T));
    return b;
}
template <typename T> inline T from_bits(unsigned long long b) {
    T v;
    std::memcpy(&v, &b, sizeof(T));
    return v;
}

// shfl: the source lane of `lane` for each kind (PTX shfl.sync: a source outside the
// caller's segment of `width` lanes gives the caller's own value).
template <typename T> inline T shfl(unsigned int mask, T v, int src, int width, const char* what,
                                    int line) {
    const size_t k = publish(mask, bits_of(v), what, line);
    const int l = lane(), seg = l / width * width;
    if (src < seg || src >= seg + width) return v;
    return from_bits<T>(take(mask, src, k, what, line));
}

inline unsigned int vote(unsigned int mask, bool pred, const char* what, int line) {
    const size_t k = publish(mask, pred, what, line);
    unsigned int out = 0;
    for (int o = 0; o < 32; ++o)
        if (mask >> o & 1u) out |= (take(mask, o, k, what, line) ? 1u : 0u) << o;
    return out;
}
}  // namespace mg

#define threadIdx (mg::cur->tid)
#define blockIdx (mg::block_idx)
#define blockDim (mg::block_dim)
#define gridDim (mg::grid_dim)
#define warpSize 32
#define __syncthreads() mg::syncthreads(__LINE__)
#define __syncwarp(...) mg_syncwarp(__LINE__, ##__VA_ARGS__)
inline void mg_syncwarp(int line, unsigned int mask = 0xffffffffu) {
    mg::vote(mask, true, "__syncwarp", line);
}
#define __shfl_sync(mask, v, src, ...) mg_shfl_idx(__LINE__, mask, v, src, ##__VA_ARGS__)
#define __shfl_down_sync(mask, v, d, ...) mg_shfl_down(__LINE__, mask, v, d, ##__VA_ARGS__)
#define __shfl_up_sync(mask, v, d, ...) mg_shfl_up(__LINE__, mask, v, d, ##__VA_ARGS__)
#define __shfl_xor_sync(mask, v, m, ...) mg_shfl_xor(__LINE__, mask, v, m, ##__VA_ARGS__)
template <typename T> inline T mg_shfl_idx(int line, unsigned int mask, T v, int src, int width = 32) {
    const int seg = mg::lane() / width * width;
    return mg::shfl(mask, v, seg + ((src % width) + width) % width, width, "__shfl_sync", line);
}
template <typename T> inline T mg_shfl_down(int line, unsigned int mask, T v, unsigned int d, int width = 32) {
    return mg::shfl(mask, v, mg::lane() + (int)d, width, "__shfl_down_sync", line);
}
template <typename T> inline T mg_shfl_up(int line, unsigned int mask, T v, unsigned int d, int width = 32) {
    return mg::shfl(mask, v, mg::lane() - (int)d, width, "__shfl_up_sync", line);
}
template <typename T> inline T mg_shfl_xor(int line, unsigned int mask, T v, int m, int width = 32) {
    return mg::shfl(mask, v, mg::lane() ^ m, width, "__shfl_xor_sync", line);
}
#define __ballot_sync(mask, pred) mg::vote(mask, (pred), "__ballot_sync", __LINE__)
#define __any_sync(mask, pred) (mg::vote(mask, (pred), "__any_sync", __LINE__) != 0u)
#define __all_sync(mask, pred) \
    ([&](unsigned int m_) { return mg::vote(m_, (pred), "__all_sync", __LINE__) == m_; }(mask))
inline unsigned int __activemask() {
    unsigned int m = 0;
    for (int o = 0; o < 32; ++o)
        if (mg_thread* t = mg::lane_thread(o); t && !t->done) m |= 1u << o;
    return m;
}
inline void __threadfence() {}
inline void __threadfence_block() {}

// One OS thread runs every fiber: atomics are read-modify-writes.
template <typename T> inline T atomicAdd(T* p, T v) { T old = *p; *p = old + v; return old; }
template <typename T> inline T atomicSub(T* p, T v) { T old = *p; *p = old - v; return old; }
template <typename T> inline T atomicExch(T* p, T v) { T old = *p; *p = v; return old; }
template <typename T> inline T atomicMax(T* p, T v) { T old = *p; *p = max(old, v); return old; }
template <typename T> inline T atomicMin(T* p, T v) { T old = *p; *p = min(old, v); return old; }
template <typename T> inline T atomicCAS(T* p, T cmp, T v) {
    T old = *p;
    if (old == cmp) *p = v;
    return old;
}

// ----------------------------------------------------------------------- the launcher
extern "C" char __start_mg_shared[] __attribute__((weak));
extern "C" char __stop_mg_shared[] __attribute__((weak));

namespace mg {
constexpr size_t STACK = 256 * 1024;
inline std::vector<char*> stacks;    // kept for the process: their pages stay mapped

// A fiber runs the kernel once per block; between blocks it waits for the scheduler.
inline void fiber_main() {
    for (;;) {
        (*body)();
        cur->done = true;
        --live;
        stalls = 0;
        // A barrier that waited only for this thread opens (exited threads do not count).
        if (bar_arrived > 0 && bar_arrived == live) { bar_arrived = 0; ++bar_gen; }
        yield();
    }
}

inline void resume(mg_thread& th) {
    cur = &th;
    if (_setjmp(sched_jb)) return;   // the fiber yielded, ended its block or stopped
    if (!th.started) {
        th.started = true;
        swapcontext(&start_ctx, &th.ctx);
    }
    _longjmp(th.jb, 1);
}

// Run `kernel` (a call of the kernel with its arguments) on grid x block; 0 or -1 (error()).
inline int launch(const unsigned int grid[3], const unsigned int block[3],
                  const std::function<void()>& kernel, unsigned long long seed) {
    error.clear();
    grid_dim = dim3(grid[0], grid[1], grid[2]);
    block_dim = dim3(block[0], block[1], block[2]);
    const size_t n_threads = (size_t)block[0] * block[1] * block[2];
    const size_t n_blocks = (size_t)grid[0] * grid[1] * grid[2];
    if (n_threads == 0 || n_threads > 1024) {
        error = "block of " + std::to_string(n_threads) + " threads (CUDA allows 1 to 1024)";
        return -1;
    }
    if (grid[1] > 65535 || grid[2] > 65535) {
        error = "grid.y and grid.z are at most 65535";
        return -1;
    }
    while (stacks.size() < n_threads) {
        void* p = mmap(nullptr, STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) { error = "no memory for the fibers' stacks"; return -1; }
        stacks.push_back((char*)p);
    }
    std::vector<mg_thread> team(n_threads);
    threads = &team;
    std::function<void()> run = kernel;
    body = &run;
    for (size_t t = 0; t < n_threads; ++t) {
        mg_thread& th = team[t];
        th.tid = {unsigned(t % block[0]), unsigned(t / block[0] % block[1]),
                  unsigned(t / block[0] / block[1])};
        th.linear = (int)t;
        getcontext(&th.ctx);
        th.ctx.uc_stack.ss_sp = stacks[t];
        th.ctx.uc_stack.ss_size = STACK;
        th.ctx.uc_link = nullptr;     // fiber_main never returns
        makecontext(&th.ctx, fiber_main, 0);
    }
    std::mt19937_64 rng(seed);
    std::vector<size_t> block_order(n_blocks), thread_order(n_threads);
    for (size_t i = 0; i < n_blocks; ++i) block_order[i] = i;
    for (size_t i = 0; i < n_threads; ++i) thread_order[i] = i;
    std::shuffle(block_order.begin(), block_order.end(), rng);
    for (size_t bi = 0; bi < n_blocks && error.empty(); ++bi) {
        const size_t b = block_order[bi];
        block_idx = {unsigned(b % grid[0]), unsigned(b / grid[0] % grid[1]),
                     unsigned(b / grid[0] / grid[1])};
        if (__start_mg_shared != __stop_mg_shared)
            std::memset(__start_mg_shared, 0xff, __stop_mg_shared - __start_mg_shared);
        for (mg_thread& th : team) {
            th.done = false;
            th.published.clear();
            th.waiting = nullptr;
        }
        live = (int)n_threads;
        bar_arrived = 0;
        stalls = 0;
        std::shuffle(thread_order.begin(), thread_order.end(), rng);
        while (live > 0 && error.empty()) {
            for (size_t t : thread_order) {
                if (team[t].done) continue;
                resume(team[t]);
                if (!error.empty()) break;
            }
            if (error.empty() && live > 0 && stalls > 2 * live) {
                std::string what = "deadlock: every live thread of the block waits (";
                int shown = 0;
                for (auto& th : team)
                    if (!th.done && shown++ < 4)
                        what += std::string(shown > 1 ? "; " : "") + "thread " +
                                std::to_string(th.linear) + " at " + th.waiting + ", line " +
                                std::to_string(th.waiting_line);
                error = what + ")";
            }
        }
    }
    threads = nullptr;
    cur = nullptr;
    return error.empty() ? 0 : -1;
}

// The parameter types of a kernel, as dtype names (cuda_host.py checks each argument).
template <typename T> struct code { static constexpr const char* v = "struct"; };
template <typename T> struct code<T*> { static constexpr const char* v = "pointer"; };
#define MG_CODE(T, S) template <> struct code<T> { static constexpr const char* v = S; };
MG_CODE(float, "float32") MG_CODE(double, "float64") MG_CODE(int, "int32")
MG_CODE(unsigned int, "uint32") MG_CODE(long long, "int64") MG_CODE(long, "int64")
MG_CODE(unsigned long long, "uint64") MG_CODE(unsigned long, "uint64")
MG_CODE(short, "int16") MG_CODE(unsigned short, "uint16") MG_CODE(signed char, "int8")
MG_CODE(unsigned char, "uint8") MG_CODE(bool, "bool")
#undef MG_CODE

template <typename... A, size_t... I>
inline void call(void (*f)(A...), void** args, std::index_sequence<I...>) {
    f(*static_cast<typename std::decay<A>::type*>(args[I])...);
}

// A kernel's entry point: with args null, its signature ("int32,pointer,...") into sig;
// otherwise one launch.
template <typename... A>
inline int entry(void (*f)(A...), const unsigned int* grid, const unsigned int* block,
                 void** args, unsigned long long seed, char* sig, size_t sig_len) {
    if (!args) {
        std::string s;
        for (const char* c : {code<typename std::decay<A>::type>::v...})
            s += (s.empty() ? "" : ",") + std::string(c);
        std::snprintf(sig, sig_len, "%s", s.c_str());
        return 0;
    }
    return launch(grid, block, [&] { call(f, args, std::index_sequence_for<A...>{}); }, seed);
}
}  // namespace mg

extern "C" const char* mg_error() { return mg::error.c_str(); }
