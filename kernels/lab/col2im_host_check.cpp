// Host-side check of the training kernels appended to im2col.cu (col2im) and elementwise.cu (act_backward, casts)
// without a GPU: each section (from its banner to the end of the file) is compiled as plain C++ under a small CUDA
// shim (threads run one after another: the kernels share nothing) and compared with references written from the
// definitions: col2im against a scatter of dcol (the adjoint of im2col) in double, act_backward against double
// derivatives, the casts bit for bit against the host's DType.floatToBf16 rule. Checks indexing, paths and
// rounding, not GPU timing.
//   sed -n '/^struct Im2colGeom/,/^};/p' kernels/src/main/cuda/im2col.cu > /tmp/c2i_geom.inc
//   sed -n '/col2im (backward) =/,$p' kernels/src/main/cuda/im2col.cu > /tmp/c2i_section.inc
//   sed -n '/backward and casts =/,$p' kernels/src/main/cuda/elementwise.cu > /tmp/ew_section.inc
//   g++ -std=c++20 -O2 -I kernels/src/main/cuda -o /tmp/c2i_check kernels/lab/col2im_host_check.cpp && /tmp/c2i_check
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
struct Dim { unsigned x = 0, y = 0, z = 0; };
Dim threadIdx, blockIdx, gridDim, blockDim;
struct uint4 { uint32_t x, y, z, w; };
struct float4 { float x, y, z, w; };
inline uint4 make_uint4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return {a, b, c, d}; }
inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
struct __nv_bfloat16 { uint16_t v; };
inline float __uint_as_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
inline uint32_t __float_as_uint(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
inline float __bfloat162float(__nv_bfloat16 b) { return __uint_as_float((uint32_t)b.v << 16); }
inline __nv_bfloat16 __float2bfloat16_rn(float f) {  // cvt.rn.bf16.f32 for non-NaN; NaN as the hardware: 0x7fff
    uint32_t u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return {0x7fff};
    u += 0x7fffu + ((u >> 16) & 1);
    return {(uint16_t)(u >> 16)};
}
template <class T> inline T __ldg(const T* p) { return *p; }
template <class T> inline T __ldcs(const T* p) { return *p; }
inline bool aligned16(const void* p) { return (reinterpret_cast<size_t>(p) & 15) == 0; }
inline float erff_(float x) { return std::erf(x); }
#define erff erff_
using std::min;
inline float to_f32(float v) { return v; }
inline float to_f32(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> inline T from_f32(float v);
template <> inline float from_f32<float>(float v) { return v; }
template <> inline __nv_bfloat16 from_f32<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <typename T> constexpr int vec16_elems() { return 16 / (int)sizeof(T); }
constexpr int ACT_GELU = 0;

#include "fastdiv.cuh"
#include "/tmp/c2i_geom.inc"
#include "/tmp/c2i_section.inc"
#include "/tmp/ew_section.inc"

template <class F>
static void launch(int grid, F kernel) {
    gridDim.x = grid;
    blockDim.x = 256;
    for (unsigned b = 0; b < (unsigned)grid; b++)
        for (unsigned t = 0; t < 256; t++) { blockIdx.x = b; threadIdx.x = t; kernel(); }
}

static uint16_t java_bf16(float f) {  // DType.floatToBf16
    uint32_t bits = __float_as_uint(f);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x0040);
    return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1)) >> 16);
}
template <typename T> static T store(float v) { if constexpr (sizeof(T) == 4) return v; else return {java_bf16(v)}; }

static int failures = 0;

// Im2colKernels.col2im's grid: 8 blocks per SM (132 SMs) or fewer; `grid` overrides (1: one block loops over all).
template <typename TO, typename TI>
static void check_col2im(const char* name, int N, int H, int W, int C, int k, int s, int p, int colStride, int dcolOff,
                         int dxOff, bool accumulate, int gridOverride, std::mt19937& rng) {
    const int Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1, rows = N * Ho * Wo, kkc = k * k * C;
    if (colStride == 0) colStride = (kkc + 7) / 8 * 8;
    std::normal_distribution<float> nd(0.f, 1.f);
    // 16-byte aligned buffers; the offsets make misaligned views.
    std::vector<uint4> colBuf(((size_t)rows * colStride + dcolOff) * sizeof(TI) / 16 + 2);
    std::vector<uint4> dxBuf(((size_t)N * H * W * C + dxOff) * sizeof(TO) / 16 + 2);
    TI* dcol = reinterpret_cast<TI*>(colBuf.data()) + dcolOff;
    TO* dx = reinterpret_cast<TO*>(dxBuf.data()) + dxOff;
    std::vector<double> ref((size_t)N * H * W * C, 0.0), prior(ref.size(), 0.0);
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < colStride; j++) dcol[(size_t)r * colStride + j] = store<TI>(j < kkc ? nd(rng) : NAN);
    for (size_t i = 0; i < ref.size(); i++) {
        dx[i] = accumulate ? store<TO>(nd(rng)) : store<TO>(NAN);
        if (accumulate) prior[i] = to_f32(dx[i]);
    }
    for (int n = 0; n < N; n++)
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++)
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int iy = oy * s - p + ky, ix = ox * s - p + kx;
                        if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                        for (int c = 0; c < C; c++)
                            ref[(((size_t)n * H + iy) * W + ix) * C + c] +=
                                    to_f32(dcol[((size_t)(n * Ho + oy) * Wo + ox) * colStride + (ky * k + kx) * C + c]);
                    }
    const int V = 16 / (int)sizeof(TI);
    long units = (C % V == 0 && colStride % V == 0) ? (long)N * H * W * C / V : (long)N * H * W * C;
    int grid = gridOverride > 0 ? gridOverride : (int)std::min<long>(8 * 132, (units + 255) / 256);
    launch(grid, [&] { col2im_nhwc(dx, dcol, Im2colGeom{N, H, W, C, Ho, Wo, k, s, p, colStride}, accumulate ? 1 : 0); });
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.size(); i++) {
        double want = ref[i] + prior[i], got = to_f32(dx[i]);
        if (std::isnan(got)) { num = INFINITY; break; }
        num += (got - want) * (got - want);
        den += want * want;
    }
    double e = std::sqrt(num) / std::max(std::sqrt(den), 1e-300);
    double tol = sizeof(TO) == 4 ? 1e-6 : 4e-3;
    bool ok = e < tol;
    failures += !ok;
    printf("%-4s %-22s N=%d H=%d W=%d C=%d k=%d s=%d p=%d cs=%d offs=%d/%d acc=%d grid=%d: rel err %.2e %s\n",
           ok ? "ok" : "FAIL", name, N, H, W, C, k, s, p, colStride, dcolOff, dxOff, accumulate, grid, e, ok ? "" : "<<<");
}

template <typename T>
static void check_act_backward(const char* name, int n, int off, int act, std::mt19937& rng) {
    std::normal_distribution<float> nd(0.f, 3.f);
    std::vector<uint4> bx((n + off) * sizeof(T) / 16 + 2), bd(bx.size()), bo(bx.size());
    T* x = reinterpret_cast<T*>(bx.data()) + off;
    T* dy = reinterpret_cast<T*>(bd.data()) + off;
    T* dx = reinterpret_cast<T*>(bo.data()) + off;
    for (int i = 0; i < n; i++) { x[i] = store<T>(nd(rng)); dy[i] = store<T>(nd(rng) / 3); dx[i] = store<T>(NAN); }
    launch((int)std::min<long>(1 << 20, ((n + 15) / 16 + 255) / 256), [&] { act_backward(dx, x, dy, n, act); });
    double num = 0, den = 0;
    for (int i = 0; i < n; i++) {
        double v = to_f32(x[i]), g;
        if (act == 0) g = 0.5 * (1 + std::erf(v / std::sqrt(2.0))) + v * std::exp(-0.5 * v * v) / std::sqrt(2 * M_PI);
        else { double sg = 1 / (1 + std::exp(-v)); g = sg * (1 + v * (1 - sg)); }
        double want = to_f32(dy[i]) * g, got = to_f32(dx[i]);
        if (std::isnan(got)) { num = INFINITY; break; }
        num += (got - want) * (got - want);
        double sc = std::max(std::fabs(want), (double)std::fabs(to_f32(dy[i])));
        den += sc * sc;
    }
    double e = std::sqrt(num) / std::max(std::sqrt(den), 1e-300);
    bool ok = e < (sizeof(T) == 4 ? 1e-6 : 4e-3);
    failures += !ok;
    printf("%-4s %-22s n=%d off=%d act=%d: rel err %.2e\n", ok ? "ok" : "FAIL", name, n, off, act, e);
}

static void check_casts(int n, int xoff, int ooff, std::mt19937& rng) {
    std::vector<uint4> bf((n + xoff) * 4 / 16 + 2), bh((n + ooff) * 4 / 16 + 2), bo((n + ooff) * 4 / 16 + 2);
    float* f = reinterpret_cast<float*>(bf.data()) + xoff;
    __nv_bfloat16* h = reinterpret_cast<__nv_bfloat16*>(bh.data()) + ooff;
    const uint32_t edges[] = {0, 0x80000000, 0x7f800000, 0xff800000, 0x7f7fffff, 0x3f808000, 0x3f818000, 0x7f7f8000,
                              0x00000001, 0x807fffff, 0x00008000, 0x00018000, 0x7fc00000, 0xffc00001, 0x7f800001};
    for (int i = 0; i < n; i++) f[i] = __uint_as_float(i < 15 ? edges[i] : (uint32_t)rng());
    launch((int)std::min<long>(1 << 20, ((n + 7) / 8 + 255) / 256), [&] { cast_f32_bf16(h, f, n); });
    int bad = 0;
    for (int i = 0; i < n; i++) bad += h[i].v != java_bf16(f[i]);
    // bf16 -> f32 of every pattern (n >= 65536) or random ones
    float* o = reinterpret_cast<float*>(bo.data()) + ooff;
    std::vector<uint4> bh2((n + xoff) * 2 / 16 + 2);
    __nv_bfloat16* h2 = reinterpret_cast<__nv_bfloat16*>(bh2.data()) + xoff;
    for (int i = 0; i < n; i++) h2[i].v = (uint16_t)(n >= 65536 && i < 65536 ? i : rng());
    launch((int)std::min<long>(1 << 20, ((n + 7) / 8 + 255) / 256), [&] { cast_bf16_f32(o, h2, n); });
    for (int i = 0; i < n; i++) bad += __float_as_uint(o[i]) != ((uint32_t)h2[i].v << 16);
    failures += bad != 0;
    printf("%-4s casts n=%d xoff=%d ooff=%d: %d mismatches\n", bad ? "FAIL" : "ok", n, xoff, ooff, bad);
}

int main() {
    std::mt19937 rng(7);
    struct S { int N, H, W, C, k, s, p, cs, doff, xoff; };
    const S shapes[] = {{2, 13, 11, 24, 3, 2, 1, 0, 0, 0}, {1, 14, 14, 48, 3, 2, 1, 0, 0, 0}, {3, 7, 9, 5, 3, 2, 1, 0, 0, 0},
                        {2, 9, 7, 3, 3, 2, 1, 0, 0, 0},    {1, 11, 9, 7, 5, 3, 2, 0, 0, 0},  {2, 9, 8, 16, 5, 1, 2, 0, 0, 0},
                        {2, 8, 8, 16, 1, 2, 0, 0, 0, 0},   {1, 7, 6, 8, 1, 1, 0, 0, 0, 0},   {2, 10, 9, 24, 3, 1, 1, 0, 0, 0},
                        {2, 8, 7, 16, 2, 2, 0, 0, 0, 0},   {1, 9, 10, 24, 3, 2, 1, 232, 0, 0}, {1, 5, 6, 3, 3, 1, 1, 29, 0, 0},
                        {1, 9, 10, 24, 3, 2, 1, 0, 1, 0},  {1, 9, 10, 24, 3, 2, 1, 0, 0, 3}, {1, 3, 3, 8, 3, 2, 1, 0, 0, 0},
                        {1, 1, 1, 1, 1, 1, 0, 0, 0, 0},    {1, 6, 6, 8, 1, 1, 2, 0, 0, 0}};
    for (const S& s : shapes)
        for (int acc = 0; acc < 2; acc++) {
            check_col2im<float, float>("col2im_nhwc_f32", s.N, s.H, s.W, s.C, s.k, s.s, s.p, s.cs, s.doff, s.xoff, acc, 0, rng);
            check_col2im<__nv_bfloat16, __nv_bfloat16>("col2im_nhwc_bf16", s.N, s.H, s.W, s.C, s.k, s.s, s.p, s.cs, s.doff,
                                                       s.xoff, acc, 0, rng);
            check_col2im<float, __nv_bfloat16>("col2im_nhwc_bf16_f32", s.N, s.H, s.W, s.C, s.k, s.s, s.p, s.cs, s.doff,
                                               s.xoff, acc, 0, rng);
        }
    // grid-stride loop: one block for all units
    check_col2im<float, __nv_bfloat16>("col2im_nhwc_bf16_f32", 2, 28, 28, 48, 3, 2, 1, 0, 0, 0, false, 1, rng);
    check_col2im<float, float>("col2im_nhwc_f32", 2, 27, 25, 24, 3, 2, 1, 0, 0, 0, true, 3, rng);
    for (int act = 0; act < 2; act++)
        for (int n : {1, 7, 8, 9, 4099})
            for (int off : {0, 1, 3}) {
                check_act_backward<float>("act_backward_f32", n, off, act, rng);
                check_act_backward<__nv_bfloat16>("act_backward_bf16", n, off, act, rng);
            }
    for (int n : {1, 7, 8, 23, 4099, 65536 + 13})
        for (int xo : {0, 1}) for (int oo : {0, 3}) check_casts(n, xo, oo, rng);
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "all passed", failures);
    return failures ? 1 : 0;
}
