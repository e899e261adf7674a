// The optimizer step over flat f32 buffers: every parameter's master weight, gradient and two moments live in one
// flat buffer each (a parameter is a contiguous slice), so one launch updates all of them ("multi-tensor" for free).
// Three kernels, always launched in this order on one stream (AdamWLaunch), none of which syncs with the host, so
// the whole step can be captured in a CUDA graph:
//
//   adamw_sumsq_partial  partial[b] = sum over block b's elements of g^2, in double (exact squares of the floats),
//                        one double per block into the workspace; no atomics
//   adamw_finalize       one block: norm = sqrt(sum of the partials in index order) -> *norm (f32, device memory);
//                        clip scale and the step's scalars (bias corrections, decay factor) computed in double from
//                        the host-written hyperparameters, rounded to f32 into the workspace header
//   adamw_step           p, m, v updated in place (f32 math), optional bf16 copy of p written in the same pass
//
// Determinism: the partial grid is a function of n alone (AdamWKernels.sumsqGrid), each thread sums a fixed set of
// elements in a fixed order, and the block and final reductions are fixed trees, so the same gradients (at the same
// alignment) give the same norm bit for bit, run after run.
//
// The update is AdamW.java's (torch.optim.AdamW, single-tensor, no amsgrad) in f32, with the clipping of
// AdamW.clipGradNorm (torch.nn.utils.clip_grad_norm_) folded in; per element, with the derived scalars:
//   g' = g * scale                      scale = max_norm / (norm + 1e-6) when that is < 1, else 1 (also for NaN)
//   m  = beta1 * m + (1 - beta1) * g'
//   v  = beta2 * v + (1 - beta2) * g' * g'
//   p  = p * decay - step_size * m / (sqrt(v) / bc2_sqrt + eps)
//   decay = 1 - lr * weight_decay for elements [0, decay_count), 1 after; step_size = lr / (1 - beta1^t);
//   bc2_sqrt = sqrt(1 - beta2^t). The gradient buffer is only read: the clipped gradient is not stored.
//
// Weight-decay mask: ONE split index. The runtime lays the flat buffers out with every decaying parameter first
// (conv / linear weights, AdamW.decays) and the exempt ones (norms, biases, LayerScale) after, so "decays" is
// i < decay_count: no bytes per element and one compare. The flat order is the runtime's free choice (each
// parameter is a slice at an offset it picks), so this costs nothing; a per-element f32 factor would add 4 B to the
// 28-30 B per parameter, a byte mask 1 B, a bit mask 1/8 B plus a build step, and a segment table a search per
// element or per chunk. AdamWKernels.plan computes such a layout (slices padded to 8 elements, so each starts
// 16-byte aligned in the bf16 copy too); padding elements must hold zeros in p, g, m and v (they then stay zero and
// add nothing to the norm).
//
// Hyperparameters: `hyper` is 8 doubles the host writes between steps (device memory filled by a captured copy from
// pinned memory, or mapped pinned memory), layout ADAMW_H_* below = AdamWKernels.HYPER_*. Doubles, because the
// bias corrections need them: 1 - 0.999f is 1.3e-5 off 1 - 0.999, and sqrt of it would put 6e-6 into every update.
//
// Launch (AdamWKernels): sumsq block 256, grid sumsqGrid(n) <= 1024 (= the number of partials, passed to
// finalize); finalize grid 1, block 256; step block 256, grid-stride, any grid is correct.
#include "common.cuh"

#include <cuda_bf16.h>

// ---------------------------------------------------------------------------------------------- layouts
// hyper[]: f64, written by the host (AdamWKernels.HYPER_*)
#define ADAMW_H_LR 0
#define ADAMW_H_BETA1 1
#define ADAMW_H_BETA2 2
#define ADAMW_H_EPS 3
#define ADAMW_H_WEIGHT_DECAY 4
#define ADAMW_H_STEP 5       // 1-based, as a double (exact below 2^53)
#define ADAMW_H_MAX_NORM 6   // <= 0 (or NaN): no clipping; +inf clips nothing either

// workspace: a 64-byte header of f32 scalars written by adamw_finalize (AdamWKernels.WS_*), then the f64 partials.
#define ADAMW_WS_SCALE 0
#define ADAMW_WS_BETA1 1
#define ADAMW_WS_ONE_MINUS_BETA1 2
#define ADAMW_WS_BETA2 3
#define ADAMW_WS_ONE_MINUS_BETA2 4
#define ADAMW_WS_EPS 5
#define ADAMW_WS_DECAY 6
#define ADAMW_WS_STEP_SIZE 7
#define ADAMW_WS_BC2_SQRT 8
#define ADAMW_WS_HEADER_FLOATS 16

constexpr int ADAMW_MAX_PARTIALS = 1024;  // the sumsq grid's cap: workspace = 64 + 8 * 1024 bytes
constexpr int ADAMW_SUMSQ_BLOCK = 256;
constexpr int ADAMW_FINALIZE_BLOCK = 256;
constexpr int ADAMW_STEP_BLOCK = 256;

__device__ __forceinline__ bool aligned8(const void* p) { return (reinterpret_cast<size_t>(p) & 7) == 0; }

__device__ __forceinline__ double warp_sum_f64(double v) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(FULL_MASK, v, offset);
    return v;
}

// Sum over a block of `blockDim.x` (a multiple of 32, at most 1024) threads in a fixed tree; thread 0 gets the total.
__device__ __forceinline__ double block_sum_f64(double v) {
    __shared__ double warps[32];
    const int lane = threadIdx.x % WARP_SIZE, warp = threadIdx.x / WARP_SIZE;
    v = warp_sum_f64(v);
    if (lane == 0) warps[warp] = v;
    __syncthreads();
    double t = 0.0;
    if (warp == 0) {
        t = lane < (int)(blockDim.x / WARP_SIZE) ? warps[lane] : 0.0;
        t = warp_sum_f64(t);
    }
    return t;
}

// ---------------------------------------------------------------------------------------------- norm
// Plain loads: the step kernel reads g again right after, and for small models part of it is still in L2.
extern "C" __global__ void __launch_bounds__(ADAMW_SUMSQ_BLOCK) adamw_sumsq_partial(float* workspace,
                                                                                     const float* __restrict__ g,
                                                                                     int n) {
    double* partials = reinterpret_cast<double*>(workspace + ADAMW_WS_HEADER_FLOATS);
    // unsigned: i < n <= 2^31 - 1 plus a stride below 2^31 cannot wrap.
    const unsigned stride = gridDim.x * blockDim.x;
    const unsigned tid = blockIdx.x * blockDim.x + threadIdx.x;
    double acc = 0.0;
    unsigned done = 0;
    if (aligned16(g)) {
        const unsigned nv = (unsigned)n / 4;
        const float4* g4 = reinterpret_cast<const float4*>(g);
#pragma unroll 4
        for (unsigned i = tid; i < nv; i += stride) {
            const float4 x = g4[i];
            acc = fma((double)x.x, (double)x.x, acc);
            acc = fma((double)x.y, (double)x.y, acc);
            acc = fma((double)x.z, (double)x.z, acc);
            acc = fma((double)x.w, (double)x.w, acc);
        }
        done = nv * 4;
    }
    for (unsigned i = done + tid; i < (unsigned)n; i += stride) {
        const double x = g[i];
        acc = fma(x, x, acc);
    }
    const double s = block_sum_f64(acc);
    if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

extern "C" __global__ void __launch_bounds__(ADAMW_FINALIZE_BLOCK) adamw_finalize(float* workspace, float* norm,
                                                                                   const double* hyper,
                                                                                   int num_partials) {
    const double* partials = reinterpret_cast<const double*>(workspace + ADAMW_WS_HEADER_FLOATS);
    const int count = min(num_partials, ADAMW_MAX_PARTIALS);  // the workspace holds no more
    double s = 0.0;
    for (int i = threadIdx.x; i < count; i += blockDim.x) s += partials[i];
    s = block_sum_f64(s);
    if (threadIdx.x != 0) return;

    const double total = sqrt(s);
    if (norm != nullptr) *norm = (float)total;
    const double lr = hyper[ADAMW_H_LR], beta1 = hyper[ADAMW_H_BETA1], beta2 = hyper[ADAMW_H_BETA2];
    const double step = hyper[ADAMW_H_STEP], max_norm = hyper[ADAMW_H_MAX_NORM];
    // AdamW.clipGradNorm: coef = max_norm / (norm + 1e-6), applied only when below one (a NaN coef is not).
    const double coef = max_norm > 0.0 ? max_norm / (total + 1e-6) : 1.0;
    float* h = workspace;
    h[ADAMW_WS_SCALE] = coef < 1.0 ? (float)coef : 1.0f;
    h[ADAMW_WS_BETA1] = (float)beta1;
    h[ADAMW_WS_ONE_MINUS_BETA1] = (float)(1.0 - beta1);
    h[ADAMW_WS_BETA2] = (float)beta2;
    h[ADAMW_WS_ONE_MINUS_BETA2] = (float)(1.0 - beta2);
    h[ADAMW_WS_EPS] = (float)hyper[ADAMW_H_EPS];
    h[ADAMW_WS_DECAY] = (float)(1.0 - lr * hyper[ADAMW_H_WEIGHT_DECAY]);
    h[ADAMW_WS_STEP_SIZE] = (float)(lr / (1.0 - pow(beta1, step)));
    h[ADAMW_WS_BC2_SQRT] = (float)sqrt(1.0 - pow(beta2, step));
}

// ---------------------------------------------------------------------------------------------- step
struct AdamWScalars {
    float scale, beta1, omb1, beta2, omb2, eps, decay, step_size, bc2_sqrt;
};

__device__ __forceinline__ AdamWScalars adamw_load_scalars(const float* ws) {
    AdamWScalars s;
    s.scale = ws[ADAMW_WS_SCALE];
    s.beta1 = ws[ADAMW_WS_BETA1];
    s.omb1 = ws[ADAMW_WS_ONE_MINUS_BETA1];
    s.beta2 = ws[ADAMW_WS_BETA2];
    s.omb2 = ws[ADAMW_WS_ONE_MINUS_BETA2];
    s.eps = ws[ADAMW_WS_EPS];
    s.decay = ws[ADAMW_WS_DECAY];
    s.step_size = ws[ADAMW_WS_STEP_SIZE];
    s.bc2_sqrt = ws[ADAMW_WS_BC2_SQRT];
    return s;
}

// AdamW.update's element, in f32 and in its order of operations.
__device__ __forceinline__ void adamw_element(float& p, float& m, float& v, float g, float decay,
                                              const AdamWScalars& s) {
    g *= s.scale;
    m = s.beta1 * m + s.omb1 * g;
    v = s.beta2 * v + s.omb2 * g * g;
    p = p * decay - s.step_size * m / (sqrtf(v) / s.bc2_sqrt + s.eps);
}

template <bool BF16>
__device__ __forceinline__ void adamw_step_impl(float* __restrict__ p, float* __restrict__ m, float* __restrict__ v,
                                                __nv_bfloat16* __restrict__ p_bf16, const float* __restrict__ g,
                                                const AdamWScalars& s, unsigned n, unsigned decay_count) {
    const unsigned stride = gridDim.x * blockDim.x;
    const unsigned tid = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned done = 0;
    if (aligned16(p) && aligned16(m) && aligned16(v) && aligned16(g) && (!BF16 || aligned8(p_bf16))) {
        const unsigned nv = n / 4;
        for (unsigned i = tid; i < nv; i += stride) {
            float4 pp = __ldcs(reinterpret_cast<const float4*>(p) + i);
            float4 mm = __ldcs(reinterpret_cast<const float4*>(m) + i);
            float4 vv = __ldcs(reinterpret_cast<const float4*>(v) + i);
            const float4 gg = __ldcs(reinterpret_cast<const float4*>(g) + i);
            const unsigned e = i * 4;
            adamw_element(pp.x, mm.x, vv.x, gg.x, e + 0 < decay_count ? s.decay : 1.0f, s);
            adamw_element(pp.y, mm.y, vv.y, gg.y, e + 1 < decay_count ? s.decay : 1.0f, s);
            adamw_element(pp.z, mm.z, vv.z, gg.z, e + 2 < decay_count ? s.decay : 1.0f, s);
            adamw_element(pp.w, mm.w, vv.w, gg.w, e + 3 < decay_count ? s.decay : 1.0f, s);
            __stcs(reinterpret_cast<float4*>(p) + i, pp);
            __stcs(reinterpret_cast<float4*>(m) + i, mm);
            __stcs(reinterpret_cast<float4*>(v) + i, vv);
            if (BF16) {
                // Written with default caching: the next forward's GEMMs read it.
                __nv_bfloat162 lo = __floats2bfloat162_rn(pp.x, pp.y), hi = __floats2bfloat162_rn(pp.z, pp.w);
                uint2 packed;
                packed.x = *reinterpret_cast<const unsigned*>(&lo);
                packed.y = *reinterpret_cast<const unsigned*>(&hi);
                reinterpret_cast<uint2*>(p_bf16)[i] = packed;
            }
        }
        done = nv * 4;
    }
    for (unsigned i = done + tid; i < n; i += stride) {
        float pi = p[i], mi = m[i], vi = v[i];
        adamw_element(pi, mi, vi, g[i], i < decay_count ? s.decay : 1.0f, s);
        p[i] = pi;
        m[i] = mi;
        v[i] = vi;
        if (BF16) p_bf16[i] = __float2bfloat16_rn(pi);
    }
}

// p_bf16 may be null (no working copy). p, m, v, p_bf16 and g must not overlap.
extern "C" __global__ void __launch_bounds__(ADAMW_STEP_BLOCK) adamw_step(float* p, float* m, float* v,
                                                                           __nv_bfloat16* p_bf16, const float* g,
                                                                           const float* workspace, int n,
                                                                           int decay_count) {
    const AdamWScalars s = adamw_load_scalars(workspace);
    if (p_bf16 != nullptr) adamw_step_impl<true>(p, m, v, p_bf16, g, s, (unsigned)n, (unsigned)decay_count);
    else adamw_step_impl<false>(p, m, v, p_bf16, g, s, (unsigned)n, (unsigned)decay_count);
}
