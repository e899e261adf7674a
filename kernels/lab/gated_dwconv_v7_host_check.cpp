// Host-side check of v7's conv warps (the mainline's gated_dwconv_rings.cuh) without a GPU: the header is compiled as plain
// C++ under a small CUDA shim (a block = 256 std::threads, __syncwarp = a barrier of the warp's 32 threads, the
// dynamic shared memory = one array poisoned with NaN, blocks one after another) and the conv columns are compared
// with a double reference written from the definition. cp.async is emulated twice: "eager" (the copy lands when it
// is issued: a slot refilled too early clobbers rows still being read) and "late" (pending groups land only when
// cp.async.wait_group must retire them: a row read before its wait sees the slot's old contents). Every copy is
// checked to be 16-byte aligned, inside x when it reads, inside its warp's ring slice; the plain columns (the
// pointwise blocks' work, not run here) and guard zones around out must keep their poison. It checks indexing, the
// ring's schedule and the warp synchronisation, not GPU timing or the memory model.
//   g++ -std=c++20 -O2 -pthread -Wno-unknown-pragmas -o /tmp/gdr_check kernels/lab/gated_dwconv_v7_host_check.cpp && /tmp/gdr_check
#include <algorithm>
#include <atomic>
#include <barrier>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <thread>
#include <type_traits>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__
#define WARP_SIZE 32
struct Dim { unsigned x = 0, y = 0, z = 0; };
thread_local Dim threadIdx, blockIdx;
static std::barrier<>* g_warp_bar[8];
inline void __syncwarp() { g_warp_bar[threadIdx.x / WARP_SIZE]->arrive_and_wait(); }
struct __nv_bfloat16 { uint16_t v; };
inline float __bfloat162float(__nv_bfloat16 b) { uint32_t u = (uint32_t)b.v << 16; float f; memcpy(&f, &u, 4); return f; }
inline __nv_bfloat16 __float2bfloat16_rn(float f) {
    uint32_t u; memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return {(uint16_t)((u >> 16) | 0x40)};
    u += 0x7fffu + ((u >> 16) & 1);
    return {(uint16_t)(u >> 16)};
}
template <class T> inline T __ldg(const T* p) { return *p; }
constexpr int gd_ceil_div(int a, int b) { return (a + b - 1) / b; }
inline float gd_to_float(float v) { return v; }
inline float gd_to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> inline T gd_from_float(float v);
template <> inline float gd_from_float<float>(float v) { return v; }
template <> inline __nv_bfloat16 gd_from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
inline float gd_act(float v, int act) { return act == 0 ? 0.5f * v * (1.0f + std::erf(v * 0.70710678f)) : v / (1.0f + std::exp(-v)); }
using std::min;

// cp.async: per thread, the open group and the committed ones not yet retired.
struct Copy { void* dst; const void* src; bool valid; };
static bool g_eager;
static const char *g_x_lo, *g_x_hi, *g_ring_lo;
static size_t g_warp_ring_bytes;
static std::atomic<int> g_bad_copies{0};
thread_local std::vector<Copy> t_open;
thread_local std::deque<std::vector<Copy>> t_groups;
inline void do_copy(const Copy& c) {
    if (c.valid) memcpy(c.dst, c.src, 16); else memset(c.dst, 0, 16);
}
inline void cp_async(void* smem, const void* gmem, bool valid) {
    const char* d = (const char*)smem;
    const char* lo = g_ring_lo + (threadIdx.x / WARP_SIZE) * g_warp_ring_bytes;
    bool ok = ((uintptr_t)smem & 15) == 0 && d >= lo && d + 16 <= lo + g_warp_ring_bytes;
    if (valid) ok = ok && ((uintptr_t)gmem & 15) == 0 && (const char*)gmem >= g_x_lo && (const char*)gmem + 16 <= g_x_hi;
    if (!ok) { g_bad_copies++; return; }
    const Copy c{smem, gmem, valid};
    if (g_eager) do_copy(c); else t_open.push_back(c);
}
inline void cp_async16(void* smem, const void* gmem, bool valid) { cp_async(smem, gmem, valid); }
inline void cp_async16_ca(void* smem, const void* gmem, bool valid) { cp_async(smem, gmem, valid); }
inline void cp_async_commit() { t_groups.push_back(std::move(t_open)); t_open.clear(); }
template <int N> inline void cp_async_wait() {
    while ((int)t_groups.size() > N) {
        for (const Copy& c : t_groups.front()) do_copy(c);
        t_groups.pop_front();
    }
}

#include "../src/main/cuda/gated_dwconv_rings.cuh"

template <typename T> static T to_t(float v) { return gd_from_float<T>(v); }

template <typename T, int K, int C>
static bool run_case(int hidden, int conv, int N, int H, int W, int act, int rows, bool eager) {
    constexpr bool BF = std::is_same<T, __nv_bfloat16>::value;
    const int P = K / 2, plain = hidden - conv;
    const long tokens = (long)N * H * W, nx = tokens * 2 * hidden, no = tokens * hidden, guard = 64;
    std::mt19937 rng(hidden * 131 + conv * 7 + K + N * 1000 + H * 17 + W + C * 5 + rows);
    std::normal_distribution<float> nd(0, 1);
    T* x = (T*)aligned_alloc(64, (nx * sizeof(T) + 63) / 64 * 64);
    T* obuf = (T*)aligned_alloc(64, ((no + 2 * guard) * sizeof(T) + 63) / 64 * 64);
    T* out = obuf + guard;
    for (long i = 0; i < nx; i++) x[i] = to_t<T>(nd(rng));
    const T poison = to_t<T>(NAN);
    for (long i = 0; i < no + 2 * guard; i++) obuf[i] = poison;
    std::vector<float> w(K * K * conv), b(conv);   // tap-major
    for (auto& v : w) v = nd(rng) / K;
    for (auto& v : b) v = nd(rng) * 0.5f;
    const GdShape s{N, H, W, hidden, conv, K, act, rows, gd_ceil_div(H, rows)};
    const int ring_elems = gdr_smem_bytes<T, K, C>() / (int)sizeof(T);
    std::vector<T> ring(ring_elems + 16);
    T* ring16 = (T*)(((uintptr_t)ring.data() + 15) & ~(uintptr_t)15);
    g_eager = eager;
    g_x_lo = (const char*)x; g_x_hi = (const char*)(x + nx); g_ring_lo = (const char*)ring16;
    g_warp_ring_bytes = (size_t)GDR_STAGES * gdr_slot<T, K, C>() * sizeof(T);
    g_bad_copies = 0;
    const long long blocks = gdr_conv_blocks<T, C>(s);
    for (long long blk = 0; blk < blocks; blk++) {
        for (int i = 0; i < ring_elems; i++) ring16[i] = poison;
        std::vector<std::unique_ptr<std::barrier<>>> bars;
        for (int i = 0; i < 8; i++) {
            bars.push_back(std::make_unique<std::barrier<>>(WARP_SIZE));
            g_warp_bar[i] = bars.back().get();
        }
        std::vector<std::thread> ts;
        for (int t = 0; t < GDR_BLOCK; t++) ts.emplace_back([&, t] {
            threadIdx.x = t; blockIdx.x = (unsigned)blk;
            t_open.clear(); t_groups.clear();
            gdr_conv<T, K, C>(out, x, w.data(), b.data(), s, ring16);
            if (!t_open.empty() || !t_groups.empty()) g_bad_copies++;   // every group retired at the end
        });
        for (auto& t : ts) t.join();
    }
    // reference on the conv columns; the plain columns and the guards keep their poison
    double num = 0, den = 0;
    bool untouched = true;
    for (long i = 0; i < guard; i++) untouched &= !memcmp(&obuf[i], &poison, sizeof(T)) && !memcmp(&obuf[guard + no + i], &poison, sizeof(T));
    for (int n = 0; n < N; n++) for (int y = 0; y < H; y++) for (int xo = 0; xo < W; xo++) {
        const long t = ((long)n * H + y) * W + xo;
        for (int j = 0; j < plain; j++) untouched &= !memcmp(&out[t * hidden + j], &poison, sizeof(T));
        for (int ch = 0; ch < conv; ch++) {
            double v = b[ch];
            for (int ky = 0; ky < K; ky++) for (int kx = 0; kx < K; kx++) {
                const int yy = y + ky - P, xx = xo + kx - P;
                if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
                v += (double)w[(ky * K + kx) * conv + ch] * gd_to_float(x[(((long)n * H + yy) * W + xx) * 2 * hidden + hidden + plain + ch]);
            }
            const double g = gd_to_float(x[t * 2 * hidden + plain + ch]);
            const double ref = (act == 0 ? 0.5 * g * (1 + std::erf(g / std::sqrt(2.0))) : g / (1 + std::exp(-g))) * v;
            const double got = gd_to_float(out[t * hidden + plain + ch]);
            if (std::isnan(got)) num = INFINITY;
            num += (got - ref) * (got - ref);
            den += ref * ref;
        }
    }
    const double e = std::sqrt(num) / std::max(std::sqrt(den), 1e-300);
    const bool ok = e < (BF ? 1e-2 : 1e-5) && untouched && g_bad_copies == 0;
    printf("%s %s k=%d C=%d hidden=%d conv=%d N,H,W=%d,%d,%d act=%d rows=%d %s: rel err %.2e%s%s\n", ok ? "ok  " : "FAIL",
           BF ? "bf16" : "f32 ", K, C, hidden, conv, N, H, W, act, rows, eager ? "eager" : "late ", e,
           untouched ? "" : ", poison overwritten", g_bad_copies ? ", bad copies" : "");
    free(x); free(obuf);
    return ok;
}

template <typename T, int K>
static int run_k(int hidden, int conv, int N, int H, int W, int act, int rows) {
    int fails = 0;
    for (bool eager : {true, false}) {
        fails += !run_case<T, K, 1>(hidden, conv, N, H, W, act, rows, eager);
        fails += !run_case<T, K, 2>(hidden, conv, N, H, W, act, rows, eager);
        fails += !run_case<T, K, 4>(hidden, conv, N, H, W, act, rows, eager);
    }
    return fails;
}

int main() {
    int fails = 0;
    for (int bf = 0; bf < 2; bf++) {
        // the lab validation's v7 shapes (16-byte units), strips of the whole height and of 1, 2, 5 rows
        auto k7 = [&](int h, int c, int n, int H, int W, int a, int r) {
            return bf ? run_k<__nv_bfloat16, 7>(h, c, n, H, W, a, r) : run_k<float, 7>(h, c, n, H, W, a, r);
        };
        auto k5 = [&](int h, int c, int n, int H, int W, int a, int r) {
            return bf ? run_k<__nv_bfloat16, 5>(h, c, n, H, W, a, r) : run_k<float, 5>(h, c, n, H, W, a, r);
        };
        auto k3 = [&](int h, int c, int n, int H, int W, int a, int r) {
            return bf ? run_k<__nv_bfloat16, 3>(h, c, n, H, W, a, r) : run_k<float, 3>(h, c, n, H, W, a, r);
        };
        fails += k7(128, 48, 2, 14, 14, 0, 14);
        fails += k7(64, 32, 1, 13, 17, 0, 5);
        fails += k7(768, 288, 1, 7, 7, 0, 7);
        fails += k7(256, 128, 2, 5, 4, 0, 2);
        fails += k7(64, 24, 1, 9, 10, 1, 9);
        fails += k7(128, 48, 1, 3, 2, 1, 1);
        fails += k5(96, 64, 1, 6, 9, 1, 6);
        fails += k5(80, 40, 1, 11, 6, 0, 2);
        fails += k5(16, 16, 1, 20, 3, 0, 20);
        fails += k3(64, 64, 1, 9, 11, 1, 9);
        fails += k3(96, 32, 2, 10, 13, 0, 5);
        fails += k3(144, 48, 1, 15, 9, 1, 1);
    }
    printf("%d failures\n", fails);
    return fails != 0;
}
