// Shared by the im2col, elementwise and head labs: error check, the timing loop (3 warm-ups, median, a 256 MB memset
// before each run to flush L2), the copy roof, and bf16 host conversions matching the kernels' rounding.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { \
    fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); exit(2); } } while (0)

static const size_t LAB_FLUSH_BYTES = 256u << 20;

static float lab_median(std::vector<float> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; }

template <typename F>
static float lab_time_ms(F body, void* flush, int reps) {
    cudaEvent_t a, b; CK(cudaEventCreate(&a)); CK(cudaEventCreate(&b));
    for (int i = 0; i < 3; i++) body();
    CK(cudaDeviceSynchronize());
    std::vector<float> t;
    for (int i = 0; i < reps; i++) {
        CK(cudaMemsetAsync(flush, i & 0xff, LAB_FLUSH_BYTES));
        CK(cudaEventRecord(a)); body(); CK(cudaEventRecord(b)); CK(cudaEventSynchronize(b));
        float ms; CK(cudaEventElapsedTime(&ms, a, b)); t.push_back(ms);
    }
    CK(cudaGetLastError());
    CK(cudaEventDestroy(a)); CK(cudaEventDestroy(b));
    return lab_median(t);
}

// Device-to-device copy bandwidth (bytes read + written per second): the roof the labs' "% of floor" uses.
static double lab_copy_bps(void* flush) {
    size_t bytes = 512u << 20; void *s, *d; CK(cudaMalloc(&s, bytes)); CK(cudaMalloc(&d, bytes));
    float ms = lab_time_ms([&] { CK(cudaMemcpyAsync(d, s, bytes, cudaMemcpyDeviceToDevice)); }, flush, 20);
    CK(cudaFree(s)); CK(cudaFree(d));
    double bps = 2.0 * bytes / ms * 1e3;
    printf("copy D2D %zu MB: %.3f ms, %.0f GB/s (read+write)\n", bytes >> 20, ms, bps / 1e9);
    return bps;
}

static uint16_t lab_f2bf(float f) {   // round to nearest even, as __float2bfloat16_rn (inputs here are finite)
    uint32_t u; memcpy(&u, &f, 4);
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}
static float lab_bf2f(uint16_t h) { uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f; }

// Host storage of T: float as is, bf16 as its 16 bits.
template <typename T> struct LabHost;
template <> struct LabHost<float> {
    using S = float;
    static S from(float v) { return v; }
    static float to(S v) { return v; }
};
template <> struct LabHost<__nv_bfloat16> {
    using S = uint16_t;
    static S from(float v) { return lab_f2bf(v); }
    static float to(S v) { return lab_bf2f(v); }
};

static uint64_t g_lab_rng = 0x9e3779b97f4a7c15ull;
static float lab_randn() {   // Box-Muller on a xorshift: reproducible, no <random> distribution differences
    auto u = [] { g_lab_rng ^= g_lab_rng << 13; g_lab_rng ^= g_lab_rng >> 7; g_lab_rng ^= g_lab_rng << 17;
                  return ((g_lab_rng >> 11) + 0.5) * (1.0 / 9007199254740992.0); };
    return (float)(sqrt(-2.0 * log(u())) * cos(6.283185307179586 * u()));
}
