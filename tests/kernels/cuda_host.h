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
//   a warp collective whose partner has not got there yet) or ends. Two schedules: "lead"
//   (the default): before every round of the live threads, the warp of the first thread in
//   the order runs for as long as any of its threads can move, so it gets as far ahead of
//   the others as the barriers let it -- a read of data another warp has not written yet,
//   or a write over data it has not read yet (a missing barrier), shows; "rounds"
//   (mg_set_lead(0)): each live thread in turn only, so warps move in near lock step.
//   So no data race happens on the host and there is no memory ordering to model
//   (__threadfence does nothing, atomics are plain read-modify-writes), and a launch is
//   deterministic; the racecheck (below) names the races a GPU would have.
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
//   * a shared-memory race: two threads touching one byte between the same two barriers,
//     one of them writing (MG_RACECHECK; the "racecheck" section);
//   * a kernel argument whose type is not the parameter's (cuda_host.py, from the
//     signature this header reports).
// Warp collectives pair the k-th call of each lane under the same mask (lanes that take
// part in a collective make the same calls in the same order, as CUDA requires).
//
// The tensor-core wrappers of kernels/tc_common.cuh (cp.async, ldmatrix, mma, mma.sp, cvt
// packs) are modelled below by their PTX semantics; dynamic shared memory is a buffer of the
// launch's size (cuda_host.py rewrites `extern __shared__`).
// The wgmma instructions of kernels/wgmma_common.cuh's kernels are modelled too (below).
// CUDA's WMMA API is modelled in cuda_host_include/mma.h (which a kernel includes as <mma.h>).
// Not modelled: other inline PTX (asm: the host run refuses such a source), TMA,
// mbarriers, textures, cooperative groups, clocks.
#pragma once

#include <dlfcn.h>
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
#ifdef MG_KERNEL_NAMES  // cuda_host.py's preprocessor run that names the kernels reads them
#define __launch_bounds__(...) mg_bounds_begin __VA_ARGS__ mg_bounds_end
#else
#define __launch_bounds__(...)
#endif
#define __align__(n) __attribute__((aligned(n)))
// cuda_host.py rewrites every __shared__ declaration: `extern __shared__ T a[];` into a
// pointer to the launch's dynamic buffer, and a static one, `__shared__ T a[N];`, into a
// reference to its place in mg::static_smem (mg::static_shared), so that every block can
// start it poisoned -- a static local of a template is a COMDAT object, which g++ would not
// put into a section of our own. One it did not rewrite stops the build here.
#define __shared__ static_assert(false, "a __shared__ declaration cuda_host.py did not rewrite");

// Code whose accesses the racecheck does not see: its own, and the atomics (which do not race
// with each other; a plain access racing with an atomic one goes unseen).
#ifdef MG_RACECHECK
#define MG_UNCHECKED __attribute__((no_sanitize_thread))
#else
#define MG_UNCHECKED
#endif

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

// A place in the kernel's text, for the messages: "hgemm.cu line 206" (the launchers'
// kernel_source names every line's own file with #line directives), or "kernel line 12" (a
// source given as a string). mg_site() is where it is written, and a parameter
// `mg_site at = mg_site()` is where the function is called (GCC evaluates __builtin_FILE
// and __builtin_LINE in a default argument at the call; not in a braced aggregate, hence
// the constructor). mg_site(nullptr, 0) is none.
struct mg_site {
    const char* file;
    int line;
    mg_site(const char* f = __builtin_FILE(), int l = __builtin_LINE()) : file(f), line(l) {}
    std::string str() const {
        return std::string(file ? file : "kernel") + " line " + std::to_string(line);
    }
    bool operator==(const mg_site& o) const {
        return line == o.line && (file == o.file || (file && o.file && !std::strcmp(file, o.file)));
    }
    bool operator!=(const mg_site& o) const { return !(*this == o); }
};

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
    mg_site waiting_at{nullptr, 0};
    bool at_barrier = false;          // waiting at __syncthreads for bar_gen to pass ...
    unsigned long long barrier_gen = 0;  // ... this generation
    // cp.async: the copies of the open group, and the committed groups, oldest first
    struct copy { unsigned char* dst; const unsigned char* src; bool valid; };
    std::vector<copy> cp_open;
    std::vector<std::vector<copy>> cp_groups;
    unsigned long long coll_k = 0;  // warp-wide instructions (ldmatrix, mma) met so far
    unsigned syncwarps = 0;         // __syncwarp calls passed (racecheck: order in a warp)
    unsigned proxy_fences = 0;      // fence.proxy.async calls passed (racecheck)
    bool cp_unfenced = false;       // a cp.async of this thread landed since its last
                                    // fence.proxy.async (generic-proxy data wgmma may not see)
    // wgmma (per thread; the instructions themselves are the warpgroup's, mg::wg_state)
    unsigned long long wg_issued = 0;           // wgmma.mma_async issued so far
    std::vector<unsigned long long> wg_groups;  // committed groups: the issue count at commit
    bool wg_fenced = false;         // a wgmma.fence since the accumulators were last accessible
    unsigned long long wg_acc_hash = 0;  // its accumulators as the in-flight wgmmas left them
};

// One warp-wide instruction: every lane's operands in, every lane's results out, computed
// once by the last lane to arrive. A warp has at most two in use (a lane cannot pass the
// next one before every lane has left this one), so two slots a warp serve.
struct mg_coll {
    unsigned long long k = ~0ull;
    const char* kind = nullptr;
    int arrived = 0;
    bool done = false;
    unsigned in[32][16];
    unsigned out[32][4];
};

namespace mg {
inline ucontext_t start_ctx;          // (abandoned after each fiber's first switch)
inline jmp_buf sched_jb;
inline mg_thread* cur = nullptr;
inline std::vector<mg_thread>* threads = nullptr;
inline uint3 block_idx;
inline dim3 block_dim, grid_dim;
inline int live = 0;                 // threads of this block that have not returned
inline int bar_arrived = 0;
inline mg_site bar_at{nullptr, 0};   // the __syncthreads the block's threads arrive at
inline unsigned long long bar_gen = 0;  // barrier intervals opened so far, every block's
inline unsigned long long block_gen = 0;  // bar_gen at the start of this block
// Where the kernel calls the modelled instruction whose shared accesses run now (line 0:
// none), so that a racecheck report names it rather than the model's code in this file.
inline mg_site model_at{nullptr, 0};
inline int stalls = 0;               // failed re-checks since anything moved
inline unsigned long long moves = 0; // waits arrived at or passed (the lead schedule's clock)
inline bool lead = true;             // the schedule: a leading warp (see launch)
inline std::string error;
inline std::function<void()>* body = nullptr;
inline unsigned char* dynamic_smem = nullptr;  // extern __shared__ (cuda_host.py rewrites it)
inline size_t dynamic_smem_bytes = 0;
inline std::vector<mg_coll> colls;             // two a warp

// Back to the scheduler until it resumes this fiber.
inline void yield() {
    if (!_setjmp(cur->jb)) _longjmp(sched_jb, 1);
}

[[noreturn]] inline void stop() {    // leave this fiber for good (after an error)
    _longjmp(sched_jb, 1);
}

[[noreturn]] inline void fail(const std::string& what) {
    if (error.empty()) {
        char where[96];
        std::snprintf(where, sizeof where, " (block (%u, %u, %u), thread (%u, %u, %u))",
                      block_idx.x, block_idx.y, block_idx.z, cur->tid.x, cur->tid.y, cur->tid.z);
        error = what + where;
    }
    stop();
}

// Wait (yielding to the other fibers) until ready() holds.
template <typename F> inline void wait_until(F ready, const char* what, mg_site at) {
    stalls = 0;                       // arriving here is progress
    ++moves;
    while (!ready()) {
        cur->waiting = what;
        cur->waiting_at = at;
        ++stalls;
        yield();
        if (!error.empty()) stop();
    }
    cur->waiting = nullptr;
    stalls = 0;
    ++moves;
}

inline void syncthreads(mg_site at) {
    if (bar_arrived == 0) bar_at = at;
    else if (at != bar_at)
        fail("__syncthreads at " + at.str() + " met other threads of the "
             "block at the __syncthreads of " + bar_at.str() +
             " (a barrier in divergent code)");
    const unsigned long long gen = bar_gen;
    if (++bar_arrived == live) { bar_arrived = 0; ++bar_gen; stalls = 0; return; }
    cur->at_barrier = true;           // (the scheduler need not resume it to see it wait)
    cur->barrier_gen = gen;
    wait_until([gen] { return bar_gen != gen; }, "__syncthreads", at);
    cur->at_barrier = false;
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
inline size_t publish(unsigned int mask, unsigned long long bits, const char* what, mg_site at) {
    const int l = lane();
    if (!(mask >> l & 1u))
        fail(std::string(what) + " at " + at.str() + ": the mask 0x" +
             [&] { char b[16]; std::snprintf(b, sizeof b, "%08x", mask); return std::string(b); }() +
             " leaves out the calling lane " + std::to_string(l));
    const bool partial_warp = cur->linear / 32 * 32 + 32 > (int)threads->size();
    for (int o = 0; partial_warp && o < 32; ++o)
        if ((mask >> o & 1u) && !lane_thread(o))
            fail(std::string(what) + " at " + at.str() + ": the mask names lane " +
                 std::to_string(o) + ", which this block does not have");
    auto& h = history(cur, mask);
    h.push_back(bits);
    return h.size() - 1;
}

// The value lane `src` gave its k-th collective under `mask` (waiting for it).
inline unsigned long long take(unsigned int mask, int src, size_t k, const char* what, mg_site at) {
    if (!(mask >> src & 1u))
        fail(std::string(what) + " at " + at.str() + " reads lane " +
             std::to_string(src) + ", outside its mask");
    mg_thread* t = lane_thread(src);
    wait_until([&] {
        if (history(t, mask).size() > k) return true;
        if (t->done)
            fail(std::string(what) + " at " + at.str() + " waits for lane " +
                 std::to_string(src) + ", which has exited");
        return false;
    }, what, at);
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
                                    mg_site at) {
    const size_t k = publish(mask, bits_of(v), what, at);
    const int l = lane(), seg = l / width * width;
    if (src < seg || src >= seg + width) return v;
    return from_bits<T>(take(mask, src, k, what, at));
}

inline unsigned int vote(unsigned int mask, bool pred, const char* what, mg_site at) {
    const size_t k = publish(mask, pred, what, at);
    unsigned int out = 0;
    for (int o = 0; o < 32; ++o)
        if (mask >> o & 1u) out |= (take(mask, o, k, what, at) ? 1u : 0u) << o;
    return out;
}
}  // namespace mg

// ------------------------------------------------- tensor-core instructions (tc_common.cuh)
// The PTX wrappers of kernels/tc_common.cuh by the semantics of the PTX ISA sections it
// names (the layouts as kernels/ptx_model.py transcribes them); tc_common.cuh leaves its own
// out when CUDA_HOST_RUN is defined.
#define CUDA_HOST_RUN 1
#include "../../kernels/convert.cuh"
namespace mg {
constexpr unsigned STATIC_WINDOW = 0x40000000u;  // shared addresses of static arrays start here
constexpr size_t STATIC_SHARED_MAX = 48 * 1024;  // CUDA's limit on a kernel's static __shared__
alignas(1024) inline unsigned char static_smem[STATIC_SHARED_MAX];
inline size_t static_smem_used = 0;              // bytes placed so far in this launch
struct shared_var { const char* function; int site; size_t at; };
inline std::vector<shared_var> shared_vars;

// The static __shared__ variable declared at `site` (cuda_host.py numbers the declarations of
// a source) in `function` (__PRETTY_FUNCTION__: each instantiation of a template its own):
// placed in static_smem on first use, at the same place for every block, poisoned.
template <typename T> inline T& static_shared(const char* function, int site, size_t align) {
    for (const shared_var& v : shared_vars)
        if (v.site == site && v.function == function) return *reinterpret_cast<T*>(static_smem + v.at);
    align = std::max(align, alignof(T));
    const size_t at = (static_smem_used + align - 1) / align * align;
    if (at + sizeof(T) > STATIC_SHARED_MAX)
        fail("more than 48 KiB of static __shared__ memory (CUDA's limit)");
    std::memset(static_smem + static_smem_used, 0xff, at + sizeof(T) - static_smem_used);
    static_smem_used = at + sizeof(T);
    shared_vars.push_back({function, site, at});
    return *reinterpret_cast<T*>(static_smem + at);
}

inline unsigned shared_address(const void* p) {
    const unsigned char* c = (const unsigned char*)p;
    if (dynamic_smem && c >= dynamic_smem && c < dynamic_smem + dynamic_smem_bytes)
        return (unsigned)(c - dynamic_smem);
    if (c >= static_smem && c < static_smem + static_smem_used)
        return STATIC_WINDOW + (unsigned)(c - static_smem);
    fail("cvta.to.shared of an address outside shared memory");
}
inline unsigned char* shared_pointer(unsigned a, size_t bytes, const char* what) {
    if (a < STATIC_WINDOW) {
        if (a + bytes > dynamic_smem_bytes)
            fail(std::string(what) + ": shared address " + std::to_string(a) + " + " +
                 std::to_string(bytes) + " is past the dynamic shared memory (" +
                 std::to_string(dynamic_smem_bytes) + " bytes)");
        return dynamic_smem + a;
    }
    if (a - STATIC_WINDOW + bytes > static_smem_used)
        fail(std::string(what) + ": shared address past the static shared memory");
    return static_smem + (a - STATIC_WINDOW);
}

// ------------------------------------------------------------------------------ racecheck
// With MG_RACECHECK (cuda_host.py's default), g++ instruments every load and store of the
// kernel file (-fsanitize=thread, without its runtime: the __tsan_* hooks below are this
// file's), and the accesses to shared memory are checked as CUDA's racecheck does: two
// threads of a block touching one byte in one barrier interval (no __syncthreads between),
// at least one of them writing, is a race, whatever order the fibers happened to run in.
// This is what no schedule of whole waits can show: the fibers switch only where they wait,
// so a race inside a barrier interval gives the right answer on the host. Two lanes of one
// warp are also ordered by a __syncwarp between the accesses (taken as full-warp). The
// tensor-core models' shared accesses count as the calling thread's: a cp.async lands as
// its thread's write at the wait that completes its group (its poison at the issue), a
// warp-wide ldmatrix or WMMA tile reads (writes) as its warp's last lane to arrive, and a
// wgmma reads as its warpgroup's last thread to issue it, and again as the thread whose
// wait_group retires it (it may read its operands until then); such an access is named by
// the place in the kernel that calls the instruction (mg::model_at). Global memory is not
// race-checked (nor by CUDA's racecheck); its bounds are (the memcheck, below).
// The same records show a wgmma (the async proxy) reading a byte whose last write, by any
// store of the generic proxy (st.shared, a plain store, a landed cp.async), has no
// fence.proxy.async by its writing thread after it.
#ifdef MG_RACECHECK
struct race_rec {  // 32 bytes: three a shared byte
    unsigned long long gen = 0;
    const void* pc = nullptr;
    unsigned sw = 0, pf = 0;  // the thread's __syncwarps and fence.proxy.asyncs at the access
    int tid = -1;
    int site = 0;             // a modelled instruction's place in the kernel (mg::model_at):
};                            // race_sites[site - 1] (0: none; pc names the access)
struct race_cell { race_rec w, r[2]; };  // the last write; two readers of its interval
inline std::vector<race_cell> race_shadow;  // dynamic shared bytes, then the static ones
inline race_cell* race_cells = nullptr;      // race_shadow's, read without instrumentation
inline size_t race_n = 0;
inline bool async_proxy_read = false;        // the reads now are a wgmma's
inline std::vector<mg_site> race_sites;      // the places race_rec::site names

// model_at's number in race_sites (0: none), the last one's kept: a warp-wide instruction
// touches many bytes from one place.
MG_UNCHECKED inline int race_site() {
    static mg_site last{nullptr, 0};
    static int last_site = 0;
    if (!model_at.line) return 0;
    if (model_at.line == last.line && model_at.file == last.file) return last_site;
    size_t i = 0;
    while (i < race_sites.size() && race_sites[i] != model_at) ++i;
    if (i == race_sites.size()) race_sites.push_back(model_at);
    last = model_at;
    return last_site = int(i) + 1;
}

// Whether an access by thread `tid` (having passed `sw` __syncwarps) now is ordered after r.
MG_UNCHECKED inline bool race_ordered(const race_rec& r, int tid, unsigned sw) {
    return r.gen != bar_gen || r.tid == tid || (r.tid / 32 == tid / 32 && sw > r.sw);
}

inline void race_prepare() {
    const size_t n = dynamic_smem_bytes + STATIC_SHARED_MAX;
    if (race_shadow.size() < n) race_shadow.resize(n);  // old records: older intervals
    race_cells = race_shadow.data();
    race_n = race_shadow.size();
}

// Where an access was made: the place that calls a modelled instruction ("hgemm.cu line
// 188"), else its code address as "{pc:<offset in its library>}" (cuda_host.py names the
// source line).
inline std::string code_place(const void* pc) {
    Dl_info info{};
    char b[48];
    std::snprintf(b, sizeof b, "{pc:%lx}", dladdr(pc, &info) && info.dli_fbase
                  ? (unsigned long)((const char*)pc - (const char*)info.dli_fbase) : 0ul);
    return b;
}
inline std::string race_where(const race_rec& r) {
    return r.site ? race_sites[r.site - 1].str() : code_place(r.pc);
}

// Where a shared byte is: "dynamic shared offset N" or "static shared offset N".
inline std::string shared_offset(size_t at) {
    const bool dyn = at < dynamic_smem_bytes;
    return std::string(dyn ? "dynamic" : "static") + " shared offset " +
           std::to_string(dyn ? at : at - dynamic_smem_bytes);
}

[[noreturn]] inline void proxy_report(const race_rec& w, size_t at) {
    fail("a wgmma.mma_async reads the byte at " + shared_offset(at) + ", which thread " +
         std::to_string(w.tid) + " wrote through the generic proxy (" + race_where(w) +
         ") with no fence.proxy.async after it (the async proxy may not see the write)");
}

[[noreturn]] inline void race_report(const race_rec& other, bool other_wrote, bool write,
                                     size_t n, size_t at, const race_rec& now) {
    fail("shared-memory race: this thread " + std::string(write ? "wrote " : "read ") +
         std::to_string(n) + (n == 1 ? " byte at " : " bytes at ") + shared_offset(at) + " (" +
         race_where(now) + ") in the barrier interval where thread " + std::to_string(other.tid) +
         " " + (other_wrote ? "wrote" : "read") + " it (" + race_where(other) + "), with no "
         "__syncthreads between (the GPU may run the two in either order)");
}

// The byte at p as an index into race_cells (dynamic shared bytes, then the static ones), or
// NOT_SHARED (most accesses: the quick test in every hook).
constexpr size_t NOT_SHARED = ~size_t(0);
MG_UNCHECKED inline size_t race_offset(const void* p) {
    const uintptr_t a = (uintptr_t)p;
    if (a - (uintptr_t)dynamic_smem < dynamic_smem_bytes) return a - (uintptr_t)dynamic_smem;
    if (a - (uintptr_t)static_smem < static_smem_used)
        return dynamic_smem_bytes + (a - (uintptr_t)static_smem);
    return NOT_SHARED;
}

// An access of n bytes from race_cells' byte `at` (race_offset), by the instruction at pc.
MG_UNCHECKED __attribute__((noinline)) inline void race_access(size_t at, size_t n, bool write,
                                                              const void* pc) {
    if (!cur || !threads) return;
    const int tid = cur->linear;
    const unsigned sw = cur->syncwarps;
    const race_rec now{bar_gen, pc, sw, cur->proxy_fences, tid, race_site()};
    for (size_t i = 0; i < n && at + i < race_n; ++i) {
        race_cell& x = race_cells[at + i];
        if (async_proxy_read && x.w.gen >= block_gen && x.w.tid >= 0 &&
            (*threads)[x.w.tid].proxy_fences == x.w.pf)
            proxy_report(x.w, at);
        if (!race_ordered(x.w, tid, sw)) race_report(x.w, true, write, n, at, now);
        if (write) {
            for (const race_rec& r : x.r)
                if (!race_ordered(r, tid, sw)) race_report(r, false, write, n, at, now);
            x.w = now;
        } else if (x.r[0].gen != bar_gen || x.r[0].tid == tid) {
            x.r[0] = now;
            x.r[1].gen = 0;
        } else if (x.r[1].gen != bar_gen || x.r[1].tid == tid) {
            x.r[1] = now;             // a second reader (any later one conflicts as these do)
        }
    }
}

// ------------------------------------------------------------------------------- memcheck
// The same hooks see the kernel's global accesses. cuda_host.py copies a launch's array
// arguments into one arena, each (or each group of overlapping ones) between red zones of
// at least 256 bytes, at its own address modulo 256, and names their extents here
// (mg_memcheck). An access inside the arena and not inside one argument's extent is out of
// bounds, as compute-sanitizer's memcheck names it on a GPU: a read or write past the end
// of an array, or before its start, lands in a red zone (or in another argument's bytes,
// which is the one case not seen: an argument is only checked against its neighbours'
// red zones). Memory that is no argument (the stack, the library's statics) is not
// checked. The atomics and the cp.async model check their global addresses themselves
// (their own accesses are not instrumented).
struct mem_extent { uintptr_t lo, hi; int arg; };
inline uintptr_t arena_lo = 0, arena_bytes = 0;
inline std::vector<mem_extent> mem_extents;
inline mem_extent mem_last{0, 0, -1};  // the extent of the last access: most follow in it

[[noreturn]] inline void mem_report(uintptr_t a, size_t n, bool write, const std::string& where) {
    const mem_extent* near = nullptr;
    uintptr_t best = ~uintptr_t(0);
    for (const mem_extent& e : mem_extents) {
        const uintptr_t d = a + n <= e.lo ? e.lo - a : a >= e.hi ? a - e.hi + 1 : 0;
        if (d < best) best = d, near = &e;
    }
    std::string what = "out-of-bounds global memory: this thread " +
        std::string(write ? "wrote " : "read ") + std::to_string(n) + (n == 1 ? " byte" : " bytes") +
        " (" + where + ")";
    if (near)
        what += " at offset " + std::to_string((long long)(a - near->lo)) + " of argument " +
                std::to_string(near->arg) + ", which has " + std::to_string(near->hi - near->lo) +
                " bytes";
    fail(what);
}

// An access of n bytes at a, inside the arena: within one argument's extent, or reported.
// (Past the quick test of the extent of the last access.)
MG_UNCHECKED __attribute__((noinline)) inline void mem_access(uintptr_t a, size_t n, bool write,
                                                             const void* pc, mg_site site) {
    if (!cur) return;
    for (const mem_extent& e : mem_extents)
        if (a >= e.lo && a + n <= e.hi) {
            mem_last = e;
            return;
        }
    mem_report(a, n, write, site.line ? site.str() : code_place(pc));
}

MG_UNCHECKED inline bool mem_in_last(uintptr_t a, size_t n) {
    return a - mem_last.lo < mem_last.hi - mem_last.lo && a + n <= mem_last.hi;
}

// Every instrumented access: shared memory to the racecheck, the arena to the memcheck.
MG_UNCHECKED inline void checked_access(const void* p, size_t n, bool write, const void* pc) {
    const uintptr_t a = (uintptr_t)p;
    if (a - arena_lo < arena_bytes) {
        if (!mem_in_last(a, n)) mem_access(a, n, write, pc, mg_site(nullptr, 0));
        return;
    }
    const size_t at = race_offset(p);
    if (at != NOT_SHARED) race_access(at, n, write, pc);
}

// A modelled instruction's (or an atomic's) global access, named by the kernel's place.
MG_UNCHECKED inline void global_access(const void* p, size_t n, bool write, mg_site at) {
    const uintptr_t a = (uintptr_t)p;
    if (a - arena_lo < arena_bytes && !mem_in_last(a, n)) mem_access(a, n, write, nullptr, at);
}
#define MG_GLOBAL_ACCESS(p, n, write, at) mg::global_access(p, n, write, at)
#else
#define MG_GLOBAL_ACCESS(p, n, write, at) ((void)0)
#endif

// The warp-wide instruction `kind`, which the kernel calls at `at`: this lane's n operands
// in; returns its results once compute(slot) has run (by the last lane of the warp to arrive).
template <typename F>
inline const unsigned* warp_op(const char* kind, mg_site at, const unsigned* in, int n,
                               F compute) {
    const int w = cur->linear / 32, l = lane();
    if (w * 32 + 32 > (int)threads->size())
        fail(std::string(kind) + " in a warp of fewer than 32 threads (.aligned: all 32)");
    const unsigned long long k = cur->coll_k++;
    mg_coll& c = colls[2 * w + (k & 1)];
    if (c.k != k) { c.k = k; c.kind = kind; c.arrived = 0; c.done = false; }
    if (c.kind != kind)
        fail(std::string("the lanes of a warp met different warp-wide instructions: ") + kind +
             " and " + c.kind);
    std::memcpy(c.in[l], in, n * sizeof(unsigned));
    if (++c.arrived == 32) {
        model_at = at;
        compute(c);
        model_at = mg_site(nullptr, 0);
        c.done = true;
        stalls = 0;
    } else {
        wait_until([&] {
            if (c.done) return true;
            for (int o = 0; o < 32; ++o)
                if ((*threads)[w * 32 + o].done)
                    fail(std::string(kind) + ": lane " + std::to_string(o) +
                         " of the warp has exited (.sync.aligned: all 32 lanes)");
            return false;
        }, kind, at);
    }
    return c.out[l];
}

// The 16-bit conversions are convert.cuh's (its host forms: GCC's _Float16, and bfloat16's
// round to nearest even by hand, as cvt.rn).
inline float half_bits_to_float(unsigned short b, bool bf16) {
    return bf16 ? to_acc(::bf16{b}) : to_acc(f16{b});
}
inline unsigned short float_to_half_bits(float v, bool bf16) {
    if (bf16) {
        ::bf16 h;
        store(&h, v);
        return h.bits;
    }
    f16 h;
    store(&h, v);
    return h.bits;
}
// element p (0: bits 0..15) of a packed pair
inline float elem(unsigned reg, int p, bool bf16) {
    return half_bits_to_float((unsigned short)(reg >> (16 * p)), bf16);
}

// D (16 x 8) = A B + C over k, from the lanes' fragments (m16n8k16 layout of the C/D
// fragment: c0 c1 row g, c2 c3 row g+8, columns 2t, 2t+1), in double, rounded once.
inline void mma_result(mg_coll& c, const float (&A)[16][32], const float (&B)[32][8], int K,
                       int c_at) {
    for (int l = 0; l < 32; ++l) {
        const int g = l / 4, t = l % 4;
        for (int i = 0; i < 4; ++i) {
            const int row = g + 8 * (i / 2), col = 2 * t + (i % 2);
            double acc = __uint_as_float(c.in[l][c_at + i]);
            for (int k = 0; k < K; ++k) acc += (double)A[row][k] * (double)B[k][col];
            c.out[l][i] = __float_as_uint((float)acc);
        }
    }
}

// The dense 16 x 16 A of the m16n8k16 fragment a[4] at in[at..at+3] (a0 a1 row g, a2 a3 row
// g+8, a4 a5 row g, a6 a7 row g+8; columns 2t + p, plus 8 for a4..a7).
inline void a_16x16(const mg_coll& c, int at, bool bf16, float (&A)[16][32]) {
    for (int l = 0; l < 32; ++l) {
        const int g = l / 4, t = l % 4;
        for (int r = 0; r < 4; ++r)
            for (int p = 0; p < 2; ++p)
                A[g + 8 * (r & 1)][2 * t + p + 8 * (r >> 1)] = elem(c.in[l][at + r], p, bf16);
    }
}
}  // namespace mg

inline unsigned smem_u32(const void* p) { return mg::shared_address(p); }

// cp.async.cg 16 bytes (src-size 0: zeros). The destination reads as 0xff bytes (NaN) from
// the issue until the wait that completes its group, when the data lands: a read between
// the two (a missing wait, or a stage refilled while another warp still reads it) shows.
inline void cp_async_16(unsigned dst, const void* src, bool valid, mg_site at = mg_site()) {
    unsigned char* d = mg::shared_pointer(dst, 16, "cp.async");
    if (dst % 16) mg::fail("cp.async: shared address not 16-byte aligned");
    if (valid) MG_GLOBAL_ACCESS(src, 16, false, at);  // (src-size 0 reads nothing)
    mg::model_at = at;
    std::memset(d, 0xff, 16);
    mg::model_at = mg_site(nullptr, 0);
    mg::cur->cp_open.push_back({d, (const unsigned char*)src, valid});
}
inline void cp_async_commit() {
    mg::cur->cp_groups.push_back(std::move(mg::cur->cp_open));
    mg::cur->cp_open.clear();
}
template <int N> inline void cp_async_wait(mg_site at = mg_site()) {
    auto& groups = mg::cur->cp_groups;
    mg::model_at = at;                // the data lands as this wait's writes
    while (groups.size() > (size_t)N) {
        for (auto& c : groups.front()) {
            if (c.valid) std::memcpy(c.dst, c.src, 16);
            else std::memset(c.dst, 0, 16);
            mg::cur->cp_unfenced = true;
        }
        groups.erase(groups.begin());
    }
    mg::model_at = mg_site(nullptr, 0);
}

// ldmatrix.x4: lane l gives the row address of row l%8 of matrix l/8; register j of lane l
// gets, of matrix j, row l/4 columns 2(l%4), 2(l%4)+1 (.trans: rows 2(l%4), 2(l%4)+1 of
// column l/4), the first in bits 0..15.
inline void mg_ldmatrix(unsigned (&r)[4], unsigned addr, bool trans, mg_site at) {
    if (addr % 16) mg::fail("ldmatrix: row address not 16-byte aligned");
    mg::shared_pointer(addr, 16, "ldmatrix");
    const unsigned* out = mg::warp_op(trans ? "ldmatrix.x4.trans" : "ldmatrix.x4", at, &addr, 1,
                                      [trans](mg_coll& c) {
        for (int l = 0; l < 32; ++l) {
            const int g = l / 4, t = l % 4;
            for (int j = 0; j < 4; ++j) {
                unsigned short e[2];
                for (int p = 0; p < 2; ++p) {
                    // row (lane 8j + row) and column of element p
                    const int row = trans ? 2 * t + p : g, col = trans ? g : 2 * t + p;
                    const unsigned char* rp = mg::shared_pointer(c.in[8 * j + row][0], 16,
                                                                  "ldmatrix");
                    std::memcpy(&e[p], rp + 2 * col, 2);
                }
                c.out[l][j] = (unsigned)e[0] | ((unsigned)e[1] << 16);
            }
        }
    });
    for (int j = 0; j < 4; ++j) r[j] = out[j];
}
// (line: where the kernel calls it, for the racecheck's reports)
inline void ldmatrix_x4(unsigned (&r)[4], unsigned addr, mg_site at = mg_site()) {
    mg_ldmatrix(r, addr, false, at);
}
inline void ldmatrix_x4_trans(unsigned (&r)[4], unsigned addr, mg_site at = mg_site()) {
    mg_ldmatrix(r, addr, true, at);
}

// mma.sync m16n8k16 .row.col f32 += f16|bf16 x f16|bf16 (b0 b1: k = 2t, 2t+1 of column g;
// b2 b3: k = 2t+8, 2t+9).
template <bool IS_BF16>
inline void mma_16816(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2],
                      mg_site at = mg_site()) {
    unsigned in[10];
    for (int i = 0; i < 4; ++i) in[i] = a[i];
    in[4] = b[0]; in[5] = b[1];
    for (int i = 0; i < 4; ++i) in[6 + i] = __float_as_uint(d[i]);
    const unsigned* out = mg::warp_op("mma.m16n8k16", at, in, 10, [](mg_coll& c) {
        float A[16][32], B[32][8];
        mg::a_16x16(c, 0, IS_BF16, A);
        for (int l = 0; l < 32; ++l)
            for (int r = 0; r < 2; ++r)
                for (int p = 0; p < 2; ++p)
                    B[2 * (l % 4) + p + 8 * r][l / 4] = mg::elem(c.in[l][4 + r], p, IS_BF16);
        mg::mma_result(c, A, B, 16, 6);
    });
    for (int i = 0; i < 4; ++i) d[i] = __uint_as_float(out[i]);
}

// mma.sp::ordered_metadata m16n8k32 f16|bf16, sparsity selector 0: the kept values in the
// m16n8k16 A layout (kept column 2G + p of group G), metadata from lanes 4g and 4g + 1 (lane
// 4g + u: groups 4u .. 4u+3, bits 15:0 row g, 31:16 row g + 8, a nibble (i1 << 2) | i0 a
// group, i0 < i1); b register j: k = 8j + 2t, 8j + 2t + 1 of column g.
template <bool IS_BF16>
inline void mma_sp_16832(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[4],
                         unsigned e, mg_site at = mg_site()) {
    unsigned in[13];
    for (int i = 0; i < 4; ++i) { in[i] = a[i]; in[4 + i] = b[i]; }
    in[8] = e;
    for (int i = 0; i < 4; ++i) in[9 + i] = __float_as_uint(d[i]);
    const unsigned* out = mg::warp_op("mma.sp.m16n8k32", at, in, 13, [at](mg_coll& c) {
        float kept[16][32], A[16][32] = {}, B[32][8];
        mg::a_16x16(c, 0, IS_BF16, kept);
        for (int l = 0; l < 32; ++l) {
            const int g = l / 4, u = l % 4;
            if (u > 1) continue;  // selector 0: lanes 4g, 4g + 1
            for (int h = 0; h < 2; ++h)
                for (int j = 0; j < 4; ++j) {
                    const unsigned nib = (c.in[l][8] >> (16 * h + 4 * j)) & 0xfu;
                    const int i0 = nib & 3, i1 = nib >> 2, row = g + 8 * h, group = 4 * u + j;
                    if (!(i0 < i1))
                        mg::fail("mma.sp at " + at.str() + ": illegal 2:4 metadata nibble");
                    A[row][4 * group + i0] = kept[row][2 * group];
                    A[row][4 * group + i1] = kept[row][2 * group + 1];
                }
        }
        for (int l = 0; l < 32; ++l)
            for (int j = 0; j < 4; ++j)
                for (int p = 0; p < 2; ++p)
                    B[8 * j + 2 * (l % 4) + p][l / 4] = mg::elem(c.in[l][4 + j], p, IS_BF16);
        mg::mma_result(c, A, B, 32, 9);
    });
    for (int i = 0; i < 4; ++i) d[i] = __uint_as_float(out[i]);
}

// ---------------------------------------------------------------------------- wgmma
// Hopper's warpgroup MMA (PTX ISA 9.7.15, the instructions kernels/wgmma_common.cuh wraps):
// wgmma.mma_async (dense m64nNk16 and sparse m64nNk32, both operands in shared memory
// through matrix descriptors, 128B- or 64B-swizzled), wgmma.fence, wgmma.commit_group,
// wgmma.wait_group, and fence.proxy.async. The descriptors are decoded and the operands read
// by the ISA's canonical layouts, as kernels/wgmma_model.py's desc_element_address (the
// reading the H200 confirmed).
//
// An mma_async is asynchronous: it starts once all 128 threads of the warpgroup have issued
// it (that is when its operands are read here), and its result is computed at the first
// wgmma.wait_group that needs it retired. Between the two, the model checks what the PTX
// leaves undefined:
//   * the shared memory it reads must not change (a stage refilled, or a cp.async issued
//     into it, while the wgmma may still read it);
//   * no thread may touch its accumulator registers (read or write them before the wait),
//     nor rewrite a wgmma.sp's metadata register (the wrapper passes it by reference; an
//     H200 gave wrong products when it was rewritten in flight);
// and, at the issue,
//   * a wgmma.fence since the thread's accumulators were last accessible (kernel start, or a
//     wgmma.wait_group), as the ISA requires before the first wgmma.mma_async that uses them;
//   * no thread of the block has cp.async data landed since its last fence.proxy.async
//     (generic-proxy writes that the async proxy, which wgmma reads through, may not see);
//   * the 128 threads issued the same instruction with the same descriptors (.aligned);
//   * every 2:4 metadata nibble is (i1 << 2) | i0 with i0 < i1.
// A thread may not end with a wgmma in flight. The products are computed in double per
// instruction and rounded once into the fp32 accumulators (as mma_result).
namespace mg {
struct wg_op {
    int n = 0, sel = 0;
    bool sparse = false, bf16 = false;
    unsigned long long da = 0, db = 0;
    int issued = 0;
    bool done = false;
    float* d[128];
    unsigned e[128];                   // the sp-meta registers' values at the issue
    const unsigned* ep[128];           // ... and the registers (still read after it)
    std::vector<unsigned short> a, b;  // the operands' bits as read at the start
    mg_site at{nullptr, 0};            // where the kernel issues it
};
struct wg_state {
    std::vector<wg_op> ops;          // by issue number
    unsigned long long computed = 0; // ops[0 .. computed) have their results
};
inline std::vector<wg_state> wgs;    // one per warpgroup of the block

inline int warpgroup() {
    const int wg = cur->linear / 128;
    if (wg * 128 + 128 > (int)threads->size())
        fail("wgmma in a warpgroup of fewer than 128 threads (the block has " +
             std::to_string(threads->size()) + ")");
    return wg;
}

// The shared address of element (mn, k) of an operand through descriptor `desc` (PTX
// "Matrix Descriptor Format"; canonical K-major and MN-major layouts, 128B and 64B swizzle).
inline unsigned desc_address(unsigned long long desc, bool k_major, int mn, int k) {
    const unsigned long long m14 = 0x3FFF;
    const unsigned start = unsigned(desc & m14) << 4, lbo = unsigned((desc >> 16) & m14) << 4,
                   sbo = unsigned((desc >> 32) & m14) << 4;
    const unsigned base_offset = unsigned(desc >> 49) & 7, mode = unsigned(desc >> 62);
    if (desc & ~(m14 | m14 << 16 | m14 << 32 | 7ull << 49 | 3ull << 62))
        fail("wgmma: a matrix descriptor sets reserved bits");
    if (mode != 1 && mode != 2)
        fail("wgmma: descriptor swizzle mode " + std::to_string(mode) + " (the host run models "
             "128B and 64B)");
    if (base_offset) fail("wgmma: descriptor base offset other than 0 (not modelled)");
    const unsigned w = mode == 1 ? 128 : 64, bits = mode == 1 ? 3 : 2;
    const unsigned off = k_major ? (mn % 8) * w + (mn / 8) * sbo + 2 * k
                                 : (mn % (w / 2)) * 2 + (mn / (w / 2)) * lbo + (k % 8) * w + (k / 8) * sbo;
    const unsigned a = start + off;
    return a ^ (((a >> 7) & ((1u << bits) - 1)) << 4);
}

// The bits of the A operand (64 rows x 16 values, K-major) and the B operand (kb x n,
// MN-major) that op reads now.
inline void wg_read(const wg_op& op, std::vector<unsigned short>& a, std::vector<unsigned short>& b) {
    const int kb = op.sparse ? 32 : 16;
    a.resize(64 * 16);
    b.resize(size_t(kb) * op.n);
    for (int r = 0; r < 64; ++r)
        for (int k = 0; k < 16; ++k)
            std::memcpy(&a[r * 16 + k], shared_pointer(desc_address(op.da, true, r, k), 2, "wgmma A"), 2);
    for (int k = 0; k < kb; ++k)
        for (int c = 0; c < op.n; ++c)
            std::memcpy(&b[size_t(k) * op.n + c], shared_pointer(desc_address(op.db, false, c, k), 2,
                                                                "wgmma B"), 2);
}

inline unsigned long long acc_hash(const float* d, int n) {
    unsigned long long h = 1469598103934665603ull;
    unsigned char bytes[4];
    for (int i = 0; i < n; ++i) {
        std::memcpy(bytes, &d[i], 4);
        for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
    }
    return h;
}

// wg_read as the async proxy reads (the racecheck checks the writes' proxy fences).
inline void wg_read_async(const wg_op& op, std::vector<unsigned short>& a,
                          std::vector<unsigned short>& b) {
#ifdef MG_RACECHECK
    async_proxy_read = true;          // (a launch starts it false: fail() longjmps past here)
#endif
    model_at = op.at;
    wg_read(op, a, b);
    model_at = mg_site(nullptr, 0);
#ifdef MG_RACECHECK
    async_proxy_read = false;
#endif
}

// Compute op (every earlier op of the warpgroup first): D += A B for each thread's registers.
inline void wg_compute(int wg, unsigned long long s) {
    wg_state& st = wgs[wg];
    while (st.computed <= s) {
        wg_op& op = st.ops[st.computed];
        std::vector<unsigned short> a, b;
        wg_read_async(op, a, b);
        if (a != op.a || b != op.b)
            fail("the shared memory read by the wgmma.mma_async at " + op.at.str() +
                 " changed between its start and the wgmma.wait_group that retires it (a stage "
                 "refilled, or a cp.async into it, while the wgmma may still read it)");
        const int kb = op.sparse ? 32 : 16;
        std::vector<double> A(64 * 32, 0.0);  // the logical A, 64 x kb (row stride 32)
        for (int r = 0; r < 64; ++r)
            for (int k = 0; k < 16; ++k) A[r * 32 + k] = half_bits_to_float(a[r * 16 + k], op.bf16);
        if (op.sparse) {  // kept value 2G + p of row r -> logical column 4G + (i0, i1)
            for (int tid = 0; tid < 128; ++tid)
                if (*op.ep[tid] != op.e[tid])
                    fail("thread " + std::to_string(128 * wg + tid) + " rewrote the sp-meta "
                         "register of the wgmma.mma_async.sp at " + op.at.str() +
                         " before the wgmma.wait_group that retires it (the hardware reads it "
                         "after the issue: wrong products on an H200)");
            std::vector<double> kept(A);
            std::fill(A.begin(), A.end(), 0.0);
            for (int tid = 0; tid < 128; ++tid) {
                const int w = tid / 32, lane = tid % 32, g = lane / 4, u = lane % 4 - 2 * op.sel;
                if (u < 0 || u > 1) continue;
                for (int h = 0; h < 2; ++h)
                    for (int j = 0; j < 4; ++j) {
                        const unsigned nib = (op.e[tid] >> (16 * h + 4 * j)) & 0xfu;
                        const int i0 = nib & 3, i1 = nib >> 2, row = 16 * w + g + 8 * h, grp = 4 * u + j;
                        if (!(i0 < i1))
                            fail("wgmma.sp: illegal 2:4 metadata nibble " + std::to_string(nib) +
                                 " (thread " + std::to_string(128 * wg + tid) + ")");
                        A[row * 32 + 4 * grp + i0] = kept[row * 32 + 2 * grp];
                        A[row * 32 + 4 * grp + i1] = kept[row * 32 + 2 * grp + 1];
                    }
            }
        }
        std::vector<double> B(size_t(kb) * op.n);
        for (size_t i = 0; i < B.size(); ++i) B[i] = half_bits_to_float(b[i], op.bf16);
        for (int tid = 0; tid < 128; ++tid) {
            mg_thread& th = (*threads)[128 * wg + tid];
            float* d = op.d[tid];
            if (acc_hash(d, op.n / 2) != th.wg_acc_hash)
                fail("thread " + std::to_string(th.linear) + " changed its accumulator registers "
                     "while a wgmma.mma_async (" + op.at.str() + ") that writes "
                     "them was in flight (touch them only after the wgmma.wait_group that retires it)");
            const int warp = tid / 32, lane = tid % 32;
            for (int i = 0; i < op.n / 2; ++i) {
                const int row = warp * 16 + lane / 4 + 8 * ((i / 2) % 2), col = (i / 4) * 8 + 2 * (lane % 4) + i % 2;
                double acc = d[i];
                for (int k = 0; k < kb; ++k) acc += A[row * 32 + k] * B[size_t(k) * op.n + col];
                d[i] = (float)acc;
            }
            th.wg_acc_hash = acc_hash(d, op.n / 2);
        }
        op.done = true;
        op.a.clear(); op.b.clear();
        ++st.computed;
    }
}

inline void wgmma_issue(float* d, int n, bool sparse, bool bf16, unsigned long long da,
                        unsigned long long db, const unsigned* e, int sel, mg_site at) {
    const int wg = warpgroup(), tid = cur->linear % 128;
    if (!cur->wg_fenced)
        fail("wgmma.mma_async at " + at.str() + " with no wgmma.fence since the "
             "thread's accumulators were last accessible (the kernel's start or a wgmma.wait_group)");
    wg_state& st = wgs[wg];
    const unsigned long long s = cur->wg_issued++;
    if (st.computed >= s) cur->wg_acc_hash = acc_hash(d, n / 2);  // none of its own in flight
    if (st.ops.size() <= s) st.ops.resize(s + 1);
    wg_op& op = st.ops[s];
    if (op.issued == 0) {
        op.n = n; op.sparse = sparse; op.bf16 = bf16; op.da = da; op.db = db; op.sel = sel;
        op.at = at;
    } else if (op.n != n || op.sparse != sparse || op.bf16 != bf16 || op.da != da ||
               op.db != db || op.sel != sel || op.at != at) {
        fail("the threads of a warpgroup issued different wgmma.mma_async instructions (" +
             op.at.str() + " and " + at.str() + ", or other descriptors): "
             ".sync.aligned needs one instruction");
    }
    op.d[tid] = d;
    op.ep[tid] = e;
    op.e[tid] = e ? *e : 0;
    if (++op.issued == 128) {  // the instruction starts: its operands are read now
        for (mg_thread& th : *threads)
            if (th.cp_unfenced && !th.done)
                fail("wgmma.mma_async at " + at.str() + " reads shared memory "
                     "while thread " + std::to_string(th.linear) + " has cp.async data landed "
                     "and no fence.proxy.async since (generic-proxy writes the async proxy may "
                     "not see)");
        wg_read_async(op, op.a, op.b);
        stalls = 0;
    }
}
}  // namespace mg

// (at: where the kernel calls it, for the messages)
template <int N, bool IS_BF16>
inline void wgmma_host(float (&d)[N / 2], unsigned long long da, unsigned long long db,
                       mg_site at = mg_site()) {
    mg::wgmma_issue(d, N, false, IS_BF16, da, db, nullptr, 0, at);
}
template <int N, bool IS_BF16>
inline void wgmma_sp_host(float (&d)[N / 2], unsigned long long da, unsigned long long db,
                          const unsigned& e, int sel, mg_site at = mg_site()) {
    mg::wgmma_issue(d, N, true, IS_BF16, da, db, &e, sel, at);
}
inline void wgmma_fence() { mg::warpgroup(); mg::cur->wg_fenced = true; }
inline void wgmma_commit() { mg::warpgroup(); mg::cur->wg_groups.push_back(mg::cur->wg_issued); }
template <int N> inline void wgmma_wait(mg_site at = mg_site()) {
    const int wg = mg::warpgroup();
    mg_thread* me = mg::cur;
    auto& groups = me->wg_groups;
    while (groups.size() > (size_t)N) {
        const unsigned long long end = groups.front();
        for (unsigned long long s = mg::wgs[wg].computed; s < end; ++s) {
            // (by index: other threads' issues may grow the list while this one waits)
            mg::wait_until([&] {
                if (mg::wgs[wg].ops[s].issued == 128) return true;
                for (int o = 0; o < 128; ++o)
                    if ((*mg::threads)[128 * wg + o].done)
                        mg::fail("wgmma.wait_group at " + at.str() + ": thread " +
                                 std::to_string(128 * wg + o) + " of the warpgroup exited "
                                 "without issuing the wgmma.mma_async at " +
                                 mg::wgs[wg].ops[s].at.str() + " (.sync.aligned)");
                return false;
            }, "wgmma.wait_group", at);
            if (!mg::wgs[wg].ops[s].done) mg::wg_compute(wg, s);
        }
        groups.erase(groups.begin());
    }
    me->wg_fenced = false;  // the retired accumulators are the thread's again
}
inline void fence_proxy_async() {
    mg::cur->cp_unfenced = false;
    ++mg::cur->proxy_fences;
}
template <int R> inline void fence_acc(float (&)[R]) {}
inline void keep_reg(unsigned) {}
inline void st_shared_u32(unsigned addr, unsigned v) {
    if (addr % 4) mg::fail("st.shared.u32: address not 4-byte aligned");
    std::memcpy(mg::shared_pointer(addr, 4, "st.shared"), &v, 4);
}

// cvt.rn.{f16x2,bf16x2}.f32: lo in bits 0..15.
template <bool IS_BF16> inline unsigned pack2(float lo, float hi) {
    return (unsigned)mg::float_to_half_bits(lo, IS_BF16) |
           ((unsigned)mg::float_to_half_bits(hi, IS_BF16) << 16);
}

#define threadIdx (mg::cur->tid)
#define blockIdx (mg::block_idx)
#define blockDim (mg::block_dim)
#define gridDim (mg::grid_dim)
#define warpSize 32
#define __syncthreads() mg::syncthreads(mg_site())
#define __syncwarp(...) mg_syncwarp(mg_site() __VA_OPT__(,) __VA_ARGS__)
inline void mg_syncwarp(mg_site at, unsigned int mask = 0xffffffffu) {
    mg::vote(mask, true, "__syncwarp", at);
    ++mg::cur->syncwarps;
}
#define __shfl_sync(mask, v, src, ...) mg_shfl_idx(mg_site(), mask, v, src, ##__VA_ARGS__)
#define __shfl_down_sync(mask, v, d, ...) mg_shfl_down(mg_site(), mask, v, d, ##__VA_ARGS__)
#define __shfl_up_sync(mask, v, d, ...) mg_shfl_up(mg_site(), mask, v, d, ##__VA_ARGS__)
#define __shfl_xor_sync(mask, v, m, ...) mg_shfl_xor(mg_site(), mask, v, m, ##__VA_ARGS__)
template <typename T> inline T mg_shfl_idx(mg_site at, unsigned int mask, T v, int src, int width = 32) {
    const int seg = mg::lane() / width * width;
    return mg::shfl(mask, v, seg + ((src % width) + width) % width, width, "__shfl_sync", at);
}
template <typename T> inline T mg_shfl_down(mg_site at, unsigned int mask, T v, unsigned int d, int width = 32) {
    return mg::shfl(mask, v, mg::lane() + (int)d, width, "__shfl_down_sync", at);
}
template <typename T> inline T mg_shfl_up(mg_site at, unsigned int mask, T v, unsigned int d, int width = 32) {
    return mg::shfl(mask, v, mg::lane() - (int)d, width, "__shfl_up_sync", at);
}
template <typename T> inline T mg_shfl_xor(mg_site at, unsigned int mask, T v, int m, int width = 32) {
    return mg::shfl(mask, v, mg::lane() ^ m, width, "__shfl_xor_sync", at);
}
#define __ballot_sync(mask, pred) mg::vote(mask, (pred), "__ballot_sync", mg_site())
#define __any_sync(mask, pred) (mg::vote(mask, (pred), "__any_sync", mg_site()) != 0u)
#define __all_sync(mask, pred) \
    ([&](unsigned int m_) { return mg::vote(m_, (pred), "__all_sync", mg_site()) == m_; }(mask))
inline unsigned int __activemask() {
    unsigned int m = 0;
    for (int o = 0; o < 32; ++o)
        if (mg_thread* t = mg::lane_thread(o); t && !t->done) m |= 1u << o;
    return m;
}
inline void __threadfence() {}
inline void __threadfence_block() {}

// One OS thread runs every fiber: atomics are read-modify-writes.
// (Each checks its address with the memcheck; the racecheck does not see them.)
#define MG_ATOMIC(name, update)                                                              \
    template <typename T> MG_UNCHECKED inline T name(T* p, T v, mg_site at = mg_site()) {    \
        MG_GLOBAL_ACCESS(p, sizeof(T), true, at);                                            \
        T old = *p;                                                                          \
        *p = update;                                                                         \
        return old;                                                                          \
    }
MG_ATOMIC(atomicAdd, old + v) MG_ATOMIC(atomicSub, old - v) MG_ATOMIC(atomicExch, v)
MG_ATOMIC(atomicMax, max(old, v)) MG_ATOMIC(atomicMin, min(old, v))
#undef MG_ATOMIC
template <typename T> MG_UNCHECKED inline T atomicCAS(T* p, T cmp, T v, mg_site at = mg_site()) {
    MG_GLOBAL_ACCESS(p, sizeof(T), true, at);
    T old = *p;
    if (old == cmp) *p = v;
    return old;
}

// ----------------------------------------------------------------------- the launcher

namespace mg {
constexpr size_t STACK = 256 * 1024;
inline std::vector<char*> stacks;    // kept for the process: their pages stay mapped

// A fiber runs the kernel once per block; between blocks it waits for the scheduler.
inline void fiber_main() {
    for (;;) {
        (*body)();
        if (!cur->wg_groups.empty() || (!wgs.empty() && cur->linear / 128 < (int)wgs.size() &&
                                        wgs[cur->linear / 128].computed < cur->wg_issued))
            fail("the thread returns with a wgmma.mma_async in flight (no wgmma.wait_group 0 "
                 "after its last wgmma.commit_group)");
        cur->done = true;
        --live;
        stalls = 0;
        // A barrier that waited only for this thread opens (exited threads do not count).
        if (bar_arrived > 0 && bar_arrived == live) { bar_arrived = 0; ++bar_gen; }
        yield();
    }
}

inline void resume(mg_thread& th) {
    if (th.at_barrier && th.barrier_gen == bar_gen) {
        ++stalls;                     // what it would do: find the barrier closed, and wait
        return;
    }
    cur = &th;
    if (_setjmp(sched_jb)) return;   // the fiber yielded, ended its block or stopped
    if (!th.started) {
        th.started = true;
        swapcontext(&start_ctx, &th.ctx);
    }
    _longjmp(th.jb, 1);
}

// Run `kernel` (a call of the kernel with its arguments) on grid x block; 0 or -1 (error()).
inline int launch(const unsigned int grid[3], const unsigned int block[3], size_t smem_bytes,
                  const std::function<void()>& kernel, unsigned long long seed) {
    error.clear();
    model_at = mg_site(nullptr, 0);                    // (fail() longjmps past the resets)
#ifdef MG_RACECHECK
    async_proxy_read = false;
#endif
    grid_dim = dim3(grid[0], grid[1], grid[2]);
    block_dim = dim3(block[0], block[1], block[2]);
    const size_t n_threads = (size_t)block[0] * block[1] * block[2];
    const size_t n_blocks = (size_t)grid[0] * grid[1] * grid[2];
    if (n_threads == 0 || n_threads > 1024 || block[2] > 64) {
        error = "block of " + std::to_string(n_threads) + " threads, " +
                std::to_string(block[2]) + " along z (CUDA allows 1 to 1024, z at most 64)";
        return -1;
    }
    if (grid[0] > 0x7fffffffu || grid[1] > 65535 || grid[2] > 65535) {
        error = "grid.x is at most 2^31 - 1, grid.y and grid.z at most 65535";
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
    std::vector<unsigned char> dynamic(smem_bytes + 1024);  // 1024-byte aligned, as on a GPU
    dynamic_smem = smem_bytes ? dynamic.data() + (-(uintptr_t)dynamic.data() & 1023) : nullptr;
    dynamic_smem_bytes = smem_bytes;
    shared_vars.clear();              // each launch places its kernel's static arrays anew
    static_smem_used = 0;
#ifdef MG_RACECHECK
    race_prepare();
#endif
    colls.assign(2 * ((n_threads + 31) / 32), mg_coll());
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
        std::memset(static_smem, 0xff, static_smem_used);
        if (smem_bytes) std::memset(dynamic_smem, 0xff, smem_bytes);
        for (mg_thread& th : team) {
            th.done = false;
            th.published.clear();
            th.waiting = nullptr;
            th.at_barrier = false;
            th.cp_open.clear();
            th.cp_groups.clear();
            th.coll_k = 0;
            th.syncwarps = 0;
            th.proxy_fences = 0;
            th.cp_unfenced = false;
            th.wg_issued = 0;
            th.wg_groups.clear();
            th.wg_fenced = false;
        }
        wgs.assign(n_threads / 128, wg_state());
        for (mg_coll& c : colls) c.k = ~0ull;
        live = (int)n_threads;
        bar_arrived = 0;
        block_gen = ++bar_gen;        // a new block: a new barrier interval (racecheck)
        stalls = 0;
        std::shuffle(thread_order.begin(), thread_order.end(), rng);
        // mg::lead: the warp of the first thread in the order leads: before every round, its
        // threads run for as long as any of them can move (off: plain rounds). (Until stop
        // 37 a local `lead`, the warp's first thread, hid the flag: the rounds schedule
        // could not be chosen, and a block led by warp 0 had plain rounds.)
        const size_t first = thread_order[0] / 32 * 32, end = std::min(first + 32, n_threads);
        while (live > 0 && error.empty()) {
            for (bool moved = lead; moved && error.empty();) {
                moved = false;
                for (size_t t = first; t < end && error.empty(); ++t) {
                    if (team[t].done) continue;
                    const unsigned long long before = moves;
                    resume(team[t]);
                    moved |= moves != before || team[t].done;
                }
            }
            for (size_t t : thread_order) {
                if (!error.empty()) break;
                if (team[t].done) continue;
                resume(team[t]);
            }
            if (error.empty() && live > 0 && stalls > 2 * live) {
                std::string what = "deadlock: every live thread of the block waits (";
                int shown = 0;
                for (auto& th : team)
                    if (!th.done && shown++ < 4)
                        what += std::string(shown > 1 ? "; " : "") + "thread " +
                                std::to_string(th.linear) + " at " + th.waiting + ", " +
                                th.waiting_at.str();
                error = what + ")";
            }
        }
    }
    threads = nullptr;
    cur = nullptr;
    dynamic_smem = nullptr;
    dynamic_smem_bytes = 0;
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
                 size_t smem_bytes, void** args, unsigned long long seed, char* sig,
                 size_t sig_len) {
    if (!args) {
        std::string s;
        for (const char* c : {code<typename std::decay<A>::type>::v...})
            s += (s.empty() ? "" : ",") + std::string(c);
        std::snprintf(sig, sig_len, "%s", s.c_str());
        return 0;
    }
    return launch(grid, block, smem_bytes,
                  [&] { call(f, args, std::index_sequence_for<A...>{}); }, seed);
}
}  // namespace mg

#define MG_EXPORT __attribute__((visibility("default")))
extern "C" MG_EXPORT const char* mg_error() { return mg::error.c_str(); }
extern "C" MG_EXPORT void mg_set_lead(int on) { mg::lead = on != 0; }

#ifdef MG_RACECHECK
// The hooks -fsanitize=thread calls (GCC's builtin signatures; no ThreadSanitizer runtime
// is linked): shared accesses go to mg::race_access, everything else returns at once.
#define MG_TSAN_HOOK(name, n, write)                                                          \
    extern "C" MG_UNCHECKED void name(void* p) {                                              \
        mg::checked_access(p, n, write, __builtin_return_address(0));                         \
    }
#define MG_TSAN_SIZE(n)                                                                       \
    MG_TSAN_HOOK(__tsan_read##n, n, false) MG_TSAN_HOOK(__tsan_write##n, n, true)              \
    MG_TSAN_HOOK(__tsan_unaligned_read##n, n, false) MG_TSAN_HOOK(__tsan_unaligned_write##n, n, true)
MG_TSAN_SIZE(1) MG_TSAN_SIZE(2) MG_TSAN_SIZE(4) MG_TSAN_SIZE(8) MG_TSAN_SIZE(16)
#undef MG_TSAN_SIZE
#undef MG_TSAN_HOOK
extern "C" MG_UNCHECKED void __tsan_read_range(void* p, unsigned long n) {
    mg::checked_access(p, n, false, __builtin_return_address(0));
}
extern "C" MG_UNCHECKED void __tsan_write_range(void* p, unsigned long n) {
    mg::checked_access(p, n, true, __builtin_return_address(0));
}
// The launch's arguments in the arena (cuda_host.py): [lo, lo + bytes), and n extents as
// (lo, hi, argument) triples. bytes = 0: no memcheck.
extern "C" MG_EXPORT void mg_memcheck(unsigned long long lo, unsigned long long bytes,
                                      const unsigned long long* extents, int n) {
    mg::arena_lo = lo;
    mg::arena_bytes = bytes;
    mg::mem_last = {0, 0, -1};
    mg::mem_extents.clear();
    for (int i = 0; i < n; ++i)
        mg::mem_extents.push_back({extents[3 * i], extents[3 * i + 1], int(extents[3 * i + 2])});
}
extern "C" void __tsan_init() {}
extern "C" void __tsan_func_entry(void*) {}
extern "C" void __tsan_func_exit(void*) {}
extern "C" void __tsan_vptr_update(void**, void*) {}
extern "C" void __tsan_vptr_read(void**) {}
#endif
