// Host-side check of gated_dwconv.cu's BACKWARD section without a GPU: the section (from its banner to the end of the
// file) is compiled as plain C++ under a small CUDA shim (a block = 256 std::threads, __syncthreads = a barrier,
// __shared__ = one static array, blocks run one after another) and compared with a double reference written from the
// definition. It checks indexing, the ring's schedule and the barrier placement, not GPU timing or memory ordering.
// The conv blocks' cp.async path (aligned shapes) runs under two emulations of cp.async, as the forward's v7 host check
// does: "eager" (a copy lands when issued: a raw slot refilled too early clobbers a row still to be cooked) and
// "late" (a group lands only when cp.async.wait_group retires it: a row cooked before its wait reads stale data).
// Every copy must be 16-byte aligned on both sides and read inside x or dy.
//   sed -n '/=== BACKWARD ===/,$p' kernels/src/main/cuda/gated_dwconv.cu > /tmp/gdb_section.inc
//   g++ -std=c++20 -O2 -pthread -I /usr/local/cuda/include -o /tmp/gdb_check kernels/lab/gated_dwconv_bwd_host_check.cpp \
//       -DSECTION='"/tmp/gdb_section.inc"' && /tmp/gdb_check
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <random>
#include <thread>
#include <type_traits>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __restrict__
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static
#define WARP_SIZE 32
struct Dim { unsigned x = 0, y = 0, z = 0; };
thread_local Dim threadIdx, blockIdx;
Dim gridDim;
static std::barrier<>* g_bar;
inline void __syncthreads() { g_bar->arrive_and_wait(); }
struct uint4 { uint32_t x, y, z, w; };
struct __nv_bfloat16 { uint16_t v; };
inline float __bfloat162float(__nv_bfloat16 b) { uint32_t u = (uint32_t)b.v << 16; float f; memcpy(&f, &u, 4); return f; }
inline __nv_bfloat16 __float2bfloat16_rn(float f) {
    uint32_t u; memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return {(uint16_t)((u >> 16) | 0x40)};
    u += 0x7fffu + ((u >> 16) & 1);
    return {(uint16_t)(u >> 16)};
}
template <class T> inline T __ldg(const T* p) { return *p; }
template <class T> inline T __ldcs(const T* p) { return *p; }
template <class T> inline void __stcs(T* p, T v) { *p = v; }
inline bool aligned16(const void* p) { return (reinterpret_cast<size_t>(p) & 15) == 0; }
constexpr int gd_ceil_div(int a, int b) { return (a + b - 1) / b; }
inline float gd_to_float(float v) { return v; }
inline float gd_to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> inline T gd_from_float(float v);
template <> inline float gd_from_float<float>(float v) { return v; }
template <> inline __nv_bfloat16 gd_from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
using std::min;

struct Copy { void* dst; const void* src; bool valid; };
static bool g_eager;
static const char *g_x_lo, *g_x_hi, *g_dy_lo, *g_dy_hi;
static std::atomic<int> g_bad_copies{0};
thread_local std::vector<Copy> t_open;
thread_local std::deque<std::vector<Copy>> t_groups;
inline void do_copy(const Copy& c) {
    if (c.valid) memcpy(c.dst, c.src, 16); else memset(c.dst, 0, 16);
}
inline void cp_async16(void* smem, const void* gmem, bool valid) {
    const char* g = (const char*)gmem;
    bool ok = ((uintptr_t)smem & 15) == 0;
    if (valid) ok = ok && ((uintptr_t)g & 15) == 0 && ((g >= g_x_lo && g + 16 <= g_x_hi) || (g >= g_dy_lo && g + 16 <= g_dy_hi));
    if (!ok) { g_bad_copies++; return; }
    const Copy c{smem, gmem, valid};
    if (g_eager) do_copy(c); else t_open.push_back(c);
}
inline void cp_async_commit() { t_groups.push_back(std::move(t_open)); t_open.clear(); }
template <int N> inline void cp_async_wait() {
    while ((int)t_groups.size() > N) {
        for (const Copy& c : t_groups.front()) do_copy(c);
        t_groups.pop_front();
    }
}
#include "../src/main/cuda/erf_fast.cuh"   // the section's GELU (host branch: exp2f)

#include SECTION

template <class F>
static void launch(int grid, F kernel) {
    gridDim.x = grid;
    for (int b = 0; b < grid; b++) {
        std::barrier<> bar(256);
        g_bar = &bar;
        std::vector<std::thread> ts;
        for (int t = 0; t < 256; t++) ts.emplace_back([&, t, b] { threadIdx.x = t; blockIdx.x = b; kernel(); });
        for (auto& t : ts) t.join();
    }
}

#include "gated_dwconv_bwd_ref.h"

template <typename T> static T to_t(float v);
template <> float to_t<float>(float v) { return v; }
template <> __nv_bfloat16 to_t<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

template <typename Ty>
static bool run_case(int hidden, int conv, int k, int N, int H, int W, int act, int off) {
    constexpr bool BF = std::is_same<Ty, __nv_bfloat16>::value;
    const int taps = k * k, plain = hidden - conv;
    const long T = (long)N * H * W;
    std::mt19937 rng(hidden * 131 + conv * 7 + k + N * 1000 + H * 17 + W);
    std::normal_distribution<float> nd(0, 1);
    std::vector<float> xb(T * 2 * hidden + off), dyb(T * hidden + off), dxb(T * 2 * hidden + off, NAN);
    float* x = xb.data() + off; float* dy = dyb.data() + off; float* dx = dxb.data() + off;
    for (long i = 0; i < T * 2 * hidden; i++) x[i] = gd_to_float(to_t<Ty>(nd(rng)));   // stored values
    for (long i = 0; i < T * hidden; i++) dy[i] = gd_to_float(to_t<Ty>(nd(rng)));
    std::vector<float> wt(taps * conv), bs(conv);   // tap-major
    for (auto& v : wt) v = nd(rng) / k;
    for (auto& v : bs) v = nd(rng) * 0.5f;
    std::vector<double> rdx, rdw, rdb;
    gdb_reference(x, dy, wt, bs, N, H, W, hidden, conv, k, act, rdx, rdw, rdb);
    // "GPU"
    const int sr = gdb_ref_strip_rows(N, H, W, conv), chunks = gd_ceil_div(conv, 32);
    const int splits = gdb_ref_splits(N, H, W, conv);
    const int V = BF ? 8 : 4;
    const long pw_units = T * (plain / ((hidden % V == 0 && conv % V == 0) ? V : 1));
    std::vector<Ty> xs(xb.size()), dys(dyb.size()), dxs(dxb.size(), to_t<Ty>(NAN));
    for (size_t i = 0; i < xb.size(); i++) xs[i] = to_t<Ty>(xb[i]);
    for (size_t i = 0; i < dyb.size(); i++) dys[i] = to_t<Ty>(dyb[i]);
    const int grid = chunks * splits + (int)((pw_units + 1023) / 1024);
    g_x_lo = (const char*)(xs.data() + off); g_x_hi = (const char*)(xs.data() + xs.size());
    g_dy_lo = (const char*)(dys.data() + off); g_dy_hi = (const char*)(dys.data() + dys.size());
    g_bad_copies = 0;
    std::vector<float> partial((size_t)splits * (taps + 1) * conv, NAN), dw(taps * conv, NAN), db(conv, NAN);
    launch(grid, [&] {
        if constexpr (BF) gated_dwconv_backward_bf16(dxs.data() + off, partial.data(), xs.data() + off, dys.data() + off,
                                                     wt.data(), bs.data(), N, H, W, hidden, conv, k, act, sr, splits);
        else gated_dwconv_backward_f32(dxs.data() + off, partial.data(), xs.data() + off, dys.data() + off, wt.data(),
                                       bs.data(), N, H, W, hidden, conv, k, act, sr, splits);
    });
    launch(gd_ceil_div((taps + 1) * conv, 32), [&] {
        gated_dwconv_backward_reduce(dw.data(), db.data(), partial.data(), splits, conv, k);
    });
    std::vector<float> gdx(T * 2 * hidden);
    for (long i = 0; i < T * 2 * hidden; i++) gdx[i] = gd_to_float(dxs[off + i]);
    (void)dx;
    const double tol = BF ? 1e-2 : 1e-5;
    double e1 = gdb_ref_rel(gdx, rdx), e2 = gdb_ref_rel(dw, rdw), e3 = gdb_ref_rel(db, rdb);
    const int bad = g_bad_copies;
    const bool async = BF && off == 0 && hidden % V == 0 && conv % V == 0;
    bool ok = e1 < tol && e2 < tol && e3 < tol && bad == 0;
    printf("%s %s hidden=%d conv=%d k=%d N,H,W=%d,%d,%d act=%d off=%d strip=%d splits=%d %s: dx %.2e dW %.2e db %.2e%s\n",
           ok ? "ok  " : "FAIL", BF ? "bf16" : "f32 ", hidden, conv, k, N, H, W, act, off, sr, splits,
           async ? (g_eager ? "cp.async eager" : "cp.async late ") : "registers     ", e1, e2, e3,
           bad ? " (bad copies)" : "");
    return ok;
}

static int run_all();

int main() {
    int fails = 0;
    for (bool eager : {true, false}) {
        g_eager = eager;
        fails += run_all();
    }
    printf("%d failures\n", fails);
    return fails != 0;
}

static int run_all() {
    int fails = 0;
    fails += !run_case<float>(128, 48, 7, 2, 19, 23, 0, 0);   // femto stage 1 in miniature: a half-full chunk
    fails += !run_case<__nv_bfloat16>(128, 48, 7, 2, 19, 23, 0, 0);
    fails += !run_case<float>(64, 24, 3, 2, 9, 17, 1, 0);
    fails += !run_case<__nv_bfloat16>(64, 24, 3, 2, 9, 17, 1, 0);
    fails += !run_case<float>(256, 96, 7, 1, 30, 11, 0, 0);
    fails += !run_case<__nv_bfloat16>(256, 96, 7, 1, 30, 11, 0, 0);
    fails += !run_case<float>(42, 16, 7, 1, 3, 5, 0, 0);
    fails += !run_case<__nv_bfloat16>(42, 16, 7, 1, 3, 5, 0, 0);
    fails += !run_case<float>(33, 7, 5, 2, 6, 5, 0, 0);
    fails += !run_case<__nv_bfloat16>(33, 7, 5, 2, 6, 5, 0, 0);
    fails += !run_case<float>(37, 37, 3, 3, 5, 9, 1, 0);
    fails += !run_case<__nv_bfloat16>(37, 37, 3, 3, 5, 9, 1, 0);
    fails += !run_case<float>(96, 40, 1, 3, 5, 4, 1, 0);
    fails += !run_case<__nv_bfloat16>(96, 40, 1, 3, 5, 4, 1, 0);
    fails += !run_case<float>(40, 20, 7, 3, 1, 1, 0, 0);
    fails += !run_case<__nv_bfloat16>(40, 20, 7, 3, 1, 1, 0, 0);
    fails += !run_case<float>(65, 36, 5, 2, 13, 17, 1, 0);
    fails += !run_case<__nv_bfloat16>(65, 36, 5, 2, 13, 17, 1, 0);
    fails += !run_case<float>(24, 8, 7, 1, 41, 9, 1, 0);
    fails += !run_case<__nv_bfloat16>(24, 8, 7, 1, 41, 9, 1, 0);
    fails += !run_case<float>(51, 19, 3, 4, 20, 3, 0, 0);
    fails += !run_case<__nv_bfloat16>(51, 19, 3, 4, 20, 3, 0, 0);
    fails += !run_case<float>(128, 48, 7, 1, 9, 9, 0, 1);
    fails += !run_case<__nv_bfloat16>(128, 48, 7, 1, 9, 9, 0, 1);
    fails += !run_case<float>(40, 32, 5, 600, 2, 2, 1, 0);
    fails += !run_case<__nv_bfloat16>(40, 32, 5, 600, 2, 2, 1, 0);
    fails += !run_case<float>(3, 1, 3, 1, 2, 3, 1, 0);
    fails += !run_case<__nv_bfloat16>(3, 1, 3, 1, 2, 3, 1, 0);
    return fails;
}
