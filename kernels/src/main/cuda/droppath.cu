// Stochastic depth (timm's DropPath, scale_by_keep) on a MambaOut block's residual branch, for training. Sample n of
// a block is kept at a step when SplitMix64 keyed by (seed, step, block, n) says so (DropPathRng.java holds the same
// arithmetic; the GPU test compares the masks bit for bit); a kept sample's branch is scaled by 1 / (1 - rate), a
// dropped one contributes nothing. The step is read from the step's hyperparameter buffer (AdamW's 1-based step, a
// double, AdamWKernels.HYPER_STEP), not passed as an argument, so a captured training step replays with fresh masks.
//   - forward droppath_residual_forward_<t>: out = shortcut + scale[n] * gamma[c] * x over x [N, per_sample] NHWC
//     (fc2's output, storage T = f32 or bf16; gamma null = no LayerScale), shortcut and out f32 (the residual stream);
//     out may be shortcut itself (a thread reads an element before it writes it). A dropped sample does not read x.
//   - backward droppath_backward_<t>: dx = scale[n] * dy, dy f32 (the residual stream's gradient), dx in T: the
//     branch's gradient that fc2's backward GEMMs read (in bf16 programs this is also the cast they need). A dropped
//     sample does not read dy and writes zeros.
// All math f32, bf16 rounded once, at the store. The per-sample decision is uniform within a block (blockIdx.y is
// the sample), so the hash costs a few integer multiplies per thread, not per element.
//
// Launch (DropPathKernels): block 256, grid (ceil(per_sample / 1024), N): grid-stride over the sample's elements,
// any grid.x is correct; indices unsigned 32-bit (the launcher keeps N * per_sample below 2^31).
#include "common.cuh"
#include "storage.cuh"

#include <cstdint>

constexpr int DP_BLOCK = 256;
// adamw.cu's ADAMW_H_STEP; AdamWKernels.HYPER_SAMPLE_OFFSET: the first sample of this rank's batch in the global
// batch (data parallel), so a sample's mask is keyed by its global index and ranks do not repeat each other's masks.
constexpr int DP_HYPER_STEP = 5;
constexpr int DP_HYPER_SAMPLE_OFFSET = 7;

// Output i of SplitMix64 seeded with seed (Steele, Lea, Flood 2014; Vigna's splitmix64.c).
__device__ __forceinline__ uint64_t dp_splitmix(uint64_t seed, uint64_t i) {
    uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// scale if sample blockIdx.y (global index: + the rank's sample offset) is kept at this step, else 0.
__device__ __forceinline__ float dp_sample_scale(const double* hyper, long long seed, int block, long long threshold,
                                                 float scale) {
    const uint64_t step = (uint64_t)hyper[DP_HYPER_STEP];
    const uint64_t sample = (uint64_t)hyper[DP_HYPER_SAMPLE_OFFSET] + blockIdx.y;
    const uint64_t bits = dp_splitmix(dp_splitmix(dp_splitmix((uint64_t)seed, step), (uint64_t)block), sample);
    return (long long)(bits >> 11) < threshold ? scale : 0.0f;
}

// ================================================ forward ================================================
template <typename T>
__device__ __forceinline__ void dp_forward(float* out, const float* shortcut, const T* __restrict__ x,
                                           const float* __restrict__ gamma, const double* hyper, long long seed,
                                           int block, long long threshold, float scale, int per_sample, int C) {
    const float s = dp_sample_scale(hyper, seed, block, threshold, scale);
    const size_t base = (size_t)blockIdx.y * per_sample;
    const unsigned stride = gridDim.x * blockDim.x, tid = blockIdx.x * blockDim.x + threadIdx.x;
    // The channel follows the grid-stride step with one carry instead of a division per element.
    const unsigned step = stride % C;
    unsigned c = tid % C;
    for (unsigned i = tid; i < (unsigned)per_sample; i += stride) {
        float v = shortcut[base + i];
        if (s != 0.0f) v = fmaf(gamma != nullptr ? s * gamma[c] : s, to_f32(x[base + i]), v);
        out[base + i] = v;
        c += step;
        if (c >= (unsigned)C) c -= C;
    }
}

extern "C" __global__ void __launch_bounds__(DP_BLOCK) droppath_residual_forward_f32(float* out, const float* shortcut,
        const float* x, const float* gamma, const double* hyper, long long seed, int block, long long threshold,
        float scale, int per_sample, int C) {
    dp_forward(out, shortcut, x, gamma, hyper, seed, block, threshold, scale, per_sample, C);
}

extern "C" __global__ void __launch_bounds__(DP_BLOCK) droppath_residual_forward_bf16(float* out, const float* shortcut,
        const __nv_bfloat16* x, const float* gamma, const double* hyper, long long seed, int block, long long threshold,
        float scale, int per_sample, int C) {
    dp_forward(out, shortcut, x, gamma, hyper, seed, block, threshold, scale, per_sample, C);
}

// ================================================ backward ================================================
template <typename T>
__device__ __forceinline__ void dp_backward(T* __restrict__ dx, const float* __restrict__ dy, const double* hyper,
                                            long long seed, int block, long long threshold, float scale,
                                            int per_sample) {
    const float s = dp_sample_scale(hyper, seed, block, threshold, scale);
    const size_t base = (size_t)blockIdx.y * per_sample;
    const unsigned stride = gridDim.x * blockDim.x;
    for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < (unsigned)per_sample; i += stride) {
        dx[base + i] = from_f32<T>(s != 0.0f ? s * dy[base + i] : 0.0f);
    }
}

extern "C" __global__ void __launch_bounds__(DP_BLOCK) droppath_backward_f32(float* __restrict__ dx,
        const float* __restrict__ dy, const double* hyper, long long seed, int block, long long threshold, float scale,
        int per_sample) {
    dp_backward(dx, dy, hyper, seed, block, threshold, scale, per_sample);
}

extern "C" __global__ void __launch_bounds__(DP_BLOCK) droppath_backward_bf16(__nv_bfloat16* __restrict__ dx,
        const float* __restrict__ dy, const double* hyper, long long seed, int block, long long threshold, float scale,
        int per_sample) {
    dp_backward(dx, dy, hyper, seed, block, threshold, scale, per_sample);
}
