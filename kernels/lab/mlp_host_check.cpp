// Host check of the MLP lab's kernels (mlp_kernels.cuh) without a GPU: the kernels compiled as plain C++ under a
// CUDA shim (a block = 256 std::threads, __syncthreads = a block barrier, a warp's shuffles and mma.sync through a
// per-warp barrier and exchange arrays) against a double reference of LN(x) W^T + b on the bf16-rounded operands.
// mma.sync m16n8k16 is emulated from the PTX ISA's fragment figures for .bf16 (A: a0,a1 row g, k 2t..2t+1; a2,a3
// row g + 8; a4..a7 the same rows at k + 8; B: b0,b1 k 2t..2t+1 of column g, b2,b3 k + 8; C/D: c0,c1 row g, columns
// 2t, 2t + 1; c2,c3 row g + 8; g = lane / 4, t = lane % 4): it checks the kernels' indexing, fragment loads, staging
// and barriers against that reading of the layout, not GPU timing or memory ordering.
//   g++ -std=c++20 -O2 -pthread -o /tmp/mlp_check kernels/lab/mlp_host_check.cpp && /tmp/mlp_check
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <type_traits>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define ML_HOST 1
#define MMA_HOST 1

struct Dim { unsigned x = 0, y = 0, z = 0; };
thread_local Dim threadIdx, blockIdx;
static Dim gridDim;
static std::barrier<>* g_block;
static std::barrier<>* g_warp[8];
inline void __syncthreads() { g_block->arrive_and_wait(); }
inline void __syncwarp() { g_warp[threadIdx.x / 32]->arrive_and_wait(); }

struct __nv_bfloat16 { uint16_t v; };
struct __nv_bfloat162 { __nv_bfloat16 x, y; };
struct uint4 { uint32_t x, y, z, w; };
struct float2 { float x, y; };
inline float2 make_float2(float a, float b) { return {a, b}; }
inline uint4 make_uint4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return {a, b, c, d}; }
inline __nv_bfloat16 __float2bfloat16_rn(float f) {
    uint32_t u; memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return {(uint16_t)((u >> 16) | 0x40)};
    u += 0x7fffu + ((u >> 16) & 1);
    return {(uint16_t)(u >> 16)};
}
inline float bf2f(__nv_bfloat16 b) { uint32_t u = (uint32_t)b.v << 16; float f; memcpy(&f, &u, 4); return f; }
inline __nv_bfloat162 __floats2bfloat162_rn(float a, float b) { return {__float2bfloat16_rn(a), __float2bfloat16_rn(b)}; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }

// Per-warp exchange: every lane publishes, the warp meets, every lane reads, the warp meets again.
static float g_xf[8][32];
static uint32_t g_xa[8][32][4], g_xb[8][32][2];
inline float __shfl_xor_sync(unsigned, float v, int o) {
    const int w = threadIdx.x / 32, l = threadIdx.x % 32;
    g_xf[w][l] = v;
    g_warp[w]->arrive_and_wait();
    const float r = g_xf[w][l ^ o];
    g_warp[w]->arrive_and_wait();
    return r;
}
inline float lo(uint32_t r) { return bf2f({(uint16_t)(r & 0xffff)}); }
inline float hi(uint32_t r) { return bf2f({(uint16_t)(r >> 16)}); }
inline void mma_bf16_16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    const int w = threadIdx.x / 32, l = threadIdx.x % 32;
    for (int i = 0; i < 4; i++) g_xa[w][l][i] = a[i];
    g_xb[w][l][0] = b0;
    g_xb[w][l][1] = b1;
    g_warp[w]->arrive_and_wait();
    float A[16][16], B[16][8];
    for (int lane = 0; lane < 32; lane++) {
        const int g = lane / 4, t = lane % 4;
        const uint32_t* ar = g_xa[w][lane];
        A[g][2 * t] = lo(ar[0]); A[g][2 * t + 1] = hi(ar[0]);
        A[g + 8][2 * t] = lo(ar[1]); A[g + 8][2 * t + 1] = hi(ar[1]);
        A[g][2 * t + 8] = lo(ar[2]); A[g][2 * t + 9] = hi(ar[2]);
        A[g + 8][2 * t + 8] = lo(ar[3]); A[g + 8][2 * t + 9] = hi(ar[3]);
        B[2 * t][g] = lo(g_xb[w][lane][0]); B[2 * t + 1][g] = hi(g_xb[w][lane][0]);
        B[2 * t + 8][g] = lo(g_xb[w][lane][1]); B[2 * t + 9][g] = hi(g_xb[w][lane][1]);
    }
    g_warp[w]->arrive_and_wait();
    const int g = l / 4, t = l % 4;
    const int rows[4] = {g, g, g + 8, g + 8}, cols[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
    for (int e = 0; e < 4; e++) {
        float s = d[e];
        for (int k = 0; k < 16; k++) s += A[rows[e]][k] * B[k][cols[e]];
        d[e] = s;
    }
}

// cp.async, emulated twice as the gated backward's host check does: eager (lands when issued: a buffer refilled
// too early clobbers a chunk still being read) and late (lands only at the wait that retires its group).
struct Copy { void* dst; const void* src; bool valid; };
static bool g_eager;
thread_local std::vector<Copy> t_open;
thread_local std::deque<std::vector<Copy>> t_groups;
inline void do_copy(const Copy& c) { if (c.valid) memcpy(c.dst, c.src, 16); else memset(c.dst, 0, 16); }
inline void cp_async16(void* smem, const void* gmem, bool valid) {
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

// The kernels' dynamic shared memory: one block at a time, as large as the largest kernel's (fc2 at D = 192).
alignas(16) static __nv_bfloat16 ml_smem[80 * 1024];

#define lnl_smem ml_smem
#include "mlp_kernels.cuh"
#include "mlp_ref.h"

// Blocks one after another (grid x, then y), each as `threads` std::threads (a multiple of 32, at most 256).
template <class F>
static void launch(int grid, F body, int gy = 1, int threads = ML_BLOCK) {
    gridDim = {(unsigned)grid, (unsigned)gy, 1};
    for (int by = 0; by < gy; by++)
        for (int blk = 0; blk < grid; blk++) {
            std::barrier<> bb(threads);
            std::vector<std::unique_ptr<std::barrier<>>> wb;
            for (int i = 0; i < 8; i++) { wb.emplace_back(new std::barrier<>(32)); g_warp[i] = wb.back().get(); }
            g_block = &bb;
            std::vector<std::thread> ts;
            for (int t = 0; t < threads; t++)
                ts.emplace_back([&, t, blk, by] { threadIdx.x = t; blockIdx.x = blk; blockIdx.y = by; body(); });
            for (auto& t : ts) t.join();
        }
}

static uint16_t f2bf(float f) { return __float2bfloat16_rn(f).v; }

template <bool STAGED>
static bool run(int T, int K, int N) {
    std::mt19937 rng(T * 7 + K * 131 + N);
    std::normal_distribution<float> nd(0, 1);
    std::vector<float> x((size_t)T * K), g(K), b(K), bias(N), wf((size_t)N * K);
    std::vector<__nv_bfloat16> w((size_t)N * K), y((size_t)T * N, {0x7fc0});   // poisoned with NaN
    for (auto& v : x) v = 3 + 2 * nd(rng);
    for (int i = 0; i < K; i++) { g[i] = 1 + 0.2f * nd(rng); b[i] = 0.2f * nd(rng); }
    for (auto& v : bias) v = 0.2f * nd(rng);
    for (size_t i = 0; i < w.size(); i++) { w[i] = {f2bf(nd(rng) / std::sqrt((float)K))}; wf[i] = bf2f(w[i]); }
    launch((T + ML_BM - 1) / ML_BM, [&] {
        mlp_ln_fc1<STAGED>(y.data(), x.data(), g.data(), b.data(), w.data(), bias.data(), T, K, N, 1e-6f);
    });
    const std::vector<double> ref = mlp_ref_fc1(x, g, b, wf, bias, T, K, N, [](float v) { return bf2f({f2bf(v)}); });
    bool nan = false;
    const double rel = mlp_rel(ref.size(), [&](size_t i) { return (double)bf2f(y[i]); }, ref, nan);
    const bool ok = !nan && rel < 1e-2;
    printf("%s v%d T=%d K=%d N=%d: rel %.2e%s\n", ok ? "ok  " : "FAIL", STAGED ? 2 : 1, T, K, N, rel, nan ? " NaN" : "");
    return ok;
}

// v3 with a small persistent grid (so warps loop over several tiles) and slices of nb columns (blockIdx.y).
template <int K, bool STAGE>
static bool run_v3(int T, int N, int nb, int grid) {
    static_assert(lnl_smem_bytes(K, 256) <= sizeof(ml_smem), "v3's shared memory");
    std::mt19937 rng(T * 5 + K * 131 + N + nb);
    std::normal_distribution<float> nd(0, 1);
    std::vector<float> x((size_t)T * K), g(K), b(K), bias(N), wf((size_t)N * K);
    std::vector<__nv_bfloat16> w((size_t)N * K), y((size_t)T * N, {0x7fc0});
    for (auto& v : x) v = 3 + 2 * nd(rng);
    for (int i = 0; i < K; i++) { g[i] = 1 + 0.2f * nd(rng); b[i] = 0.2f * nd(rng); }
    for (auto& v : bias) v = 0.2f * nd(rng);
    for (size_t i = 0; i < w.size(); i++) { w[i] = {f2bf(nd(rng) / std::sqrt((float)K))}; wf[i] = bf2f(w[i]); }
    launch(grid, [&] {
        ln_linear_forward<K, STAGE>(y.data(), x.data(), g.data(), b.data(), w.data(), bias.data(), T, N, nb, 1e-6f);
    }, (N + nb - 1) / nb, LNL_WARPS * 32);
    const std::vector<double> ref = mlp_ref_fc1(x, g, b, wf, bias, T, K, N, [](float v) { return bf2f({f2bf(v)}); });
    bool nan = false;
    const double rel = mlp_rel(ref.size(), [&](size_t i) { return (double)bf2f(y[i]); }, ref, nan);
    const bool ok = !nan && rel < 1e-2;
    printf("%s v%d T=%d K=%d N=%d nb=%d grid=%d: rel %.2e%s\n", ok ? "ok  " : "FAIL", STAGE ? 4 : 3, T, K, N,
           nb, grid, rel, nan ? " NaN" : "");
    return ok;
}

template <int NT, bool ASYNC>
static bool run_fc2(int T, int H, bool in_place) {
    constexpr int D = NT * 16;
    static_assert(mf_smem_bytes(D, ASYNC) <= sizeof(ml_smem), "the fc2 kernel's shared memory");
    std::mt19937 rng(T * 3 + H * 17 + D);
    std::normal_distribution<float> nd(0, 1);
    std::vector<__nv_bfloat16> a((size_t)T * H), w((size_t)D * H), ln((size_t)T * D, {0x7fc0});
    std::vector<float> af(a.size()), wf(w.size()), res((size_t)T * D), bias(D), g(D), b(D);
    std::vector<float> out(in_place ? 0 : (size_t)T * D, NAN);
    for (size_t i = 0; i < a.size(); i++) { a[i] = {f2bf(nd(rng))}; af[i] = bf2f(a[i]); }
    for (size_t i = 0; i < w.size(); i++) { w[i] = {f2bf(nd(rng) / std::sqrt((float)H))}; wf[i] = bf2f(w[i]); }
    for (auto& v : res) v = 2 * nd(rng);
    for (int i = 0; i < D; i++) { bias[i] = 0.2f * nd(rng); g[i] = 1 + 0.2f * nd(rng); b[i] = 0.2f * nd(rng); }
    const std::vector<float> res0 = res;
    float* o = in_place ? res.data() : out.data();
    launch((T + ML_BM - 1) / ML_BM, [&] {
        mlp_fc2_res_ln<NT, ASYNC>(o, ln.data(), res.data(), a.data(), w.data(), bias.data(), g.data(), b.data(), T, H, 1e-6f);
    });
    std::vector<double> sref, lref;
    mlp_ref_fc2(res0, af, wf, bias, g, b, T, H, D, sref, lref);
    bool nan = false;
    const double e1 = mlp_rel(sref.size(), [&](size_t i) { return (double)o[i]; }, sref, nan);
    const double e2 = mlp_rel(lref.size(), [&](size_t i) { return (double)bf2f(ln[i]); }, lref, nan);
    const bool ok = !nan && e1 < 1e-5 && e2 < 1e-2;
    printf("%s fc2 v%d%s T=%d H=%d D=%d%s: sum %.2e, LN %.2e%s\n", ok ? "ok  " : "FAIL", ASYNC ? 2 : 1,
           ASYNC ? (g_eager ? " (cp.async eager)" : " (cp.async late)") : "", T, H, D, in_place ? " in place" : "", e1, e2,
           nan ? " NaN" : "");
    return ok;
}

int main() {
    const int cases[][3] = {{1, 48, 256}, {127, 48, 256}, {129, 16, 8}, {300, 96, 512}, {130, 192, 1024},
                            {257, 32, 136}, {64, 48, 130}};
    int fails = 0;
    for (auto& c : cases) {
        fails += !run<false>(c[0], c[1], c[2]);
        fails += !run<true>(c[0], c[1], c[2]);
    }
    for (bool stage : {false, true}) {
        auto v3 = [&](auto k, int T, int N, int nb, int grid) {
            constexpr int K = decltype(k)::value;
            fails += stage ? !run_v3<K, true>(T, N, nb, grid) : !run_v3<K, false>(T, N, nb, grid);
        };
        v3(std::integral_constant<int, 48>{}, 1, 256, 256, 1);
        v3(std::integral_constant<int, 48>{}, 300, 256, 256, 2);      // 19 tiles over 8 warps: 2-3 tiles a warp
        v3(std::integral_constant<int, 16>{}, 129, 8, 8, 1);
        v3(std::integral_constant<int, 96>{}, 200, 512, 256, 1);     // two slices
        v3(std::integral_constant<int, 192>{}, 70, 1024, 160, 2);    // seven slices, the last 64 wide
        v3(std::integral_constant<int, 32>{}, 257, 136, 136, 3);     // 17 n8 tiles: padded to 20
        v3(std::integral_constant<int, 48>{}, 64, 130, 66, 1);       // N % 8 != 0, slices of 66 and 64
        v3(std::integral_constant<int, 96>{}, 45, 392, 200, 2);      // slices of 200 and 192: a partial staged group
    }
    fails += !run_fc2<3, false>(1, 128, false);
    fails += !run_fc2<3, false>(200, 128, true);
    fails += !run_fc2<6, false>(129, 256, false);
    fails += !run_fc2<12, false>(130, 512, true);
    fails += !run_fc2<3, false>(127, 32, false);
    for (bool eager : {true, false}) {
        g_eager = eager;
        fails += !run_fc2<3, true>(1, 128, false);
        fails += !run_fc2<3, true>(200, 128, true);
        fails += !run_fc2<6, true>(129, 256, false);
        fails += !run_fc2<12, true>(130, 512, true);
        fails += !run_fc2<3, true>(127, 32, false);
    }
    printf("%d failures\n", fails);
    return fails != 0;
}
