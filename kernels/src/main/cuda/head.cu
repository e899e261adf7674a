// The classifier head's pooling and norm, fused: m[n, c] = mean over HW of x[n, hw, c] (NHWC, f32 sums), then
// out[n, :] = LayerNorm over C of m[n, :] (biased variance, two passes over m for accuracy; f32 affine weight/bias).
// N is the batch (small), so one block per image: its threads own channels c = tid, tid + blockDim, ...; each reads
// its channel down the HW rows, so a warp reads 32 consecutive channels of one row (coalesced).
//
// The pooled row is kept in dynamic shared memory (C floats) up to HEAD_MAX_CACHED_C; longer rows recompute it from x
// in each of the three passes rather than needing an opt-in shared size (any C stays correct).
//
// Training also needs what the LayerNorm backward reads: pooled (f32 [N, C], the norm's input) and the per-image
// mean and rstd (f32 [N]); each may be null (inference passes null for all three and writes nothing more).
//
// Launch (HeadKernels): grid N, block = C rounded up to a warp, at most 1024, shared C * 4 bytes when
// C <= HEAD_MAX_CACHED_C, else 0. Any multiple of 32 threads is correct.
#include "common.cuh"
#include "storage.cuh"

// 47 KB of floats: with the static reduction scratch, under the 48 KB a launch gets without opting in.
constexpr int HEAD_MAX_CACHED_C = 12032;
constexpr int HEAD_MAX_WARPS = 32;

// Sum over the block; every thread gets the total. scratch: HEAD_MAX_WARPS floats, reused by consecutive calls.
__device__ __forceinline__ float head_block_sum(float v, float* scratch) {
    const int lane = threadIdx.x % WARP_SIZE, warp = threadIdx.x / WARP_SIZE, warps = blockDim.x / WARP_SIZE;
    v = warp_sum(v);
    __syncthreads();  // the previous call's readers are done with scratch
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float t = lane < warps ? scratch[lane] : 0.0f;
    return warp_sum(t);
}

template <typename T>
__device__ __forceinline__ float head_channel_mean(const T* __restrict__ xn, int HW, int C, int c, float inv_hw) {
    float s = 0.0f;
#pragma unroll 7
    for (int i = 0; i < HW; i++) s += to_f32(xn[(long long)i * C + c]);
    return s * inv_hw;
}

template <typename T, bool CACHED>
__device__ __forceinline__ float head_pooled(const T* xn, const float* m, int HW, int C, int c, float inv_hw) {
    return CACHED ? m[c] : head_channel_mean(xn, HW, C, c, inv_hw);
}

template <typename TO, typename T, bool CACHED>
__device__ void mean_hw_layernorm(TO* __restrict__ out, float* __restrict__ pooled_out, float* __restrict__ mean_out,
                                  float* __restrict__ rstd_out, const T* __restrict__ x,
                                  const float* __restrict__ weight, const float* __restrict__ bias, int HW, int C,
                                  float eps) {
    extern __shared__ float pooled[];
    __shared__ float scratch[HEAD_MAX_WARPS];
    const int n = blockIdx.x;
    const T* xn = x + (long long)n * HW * C;
    const float inv_hw = 1.0f / HW;

    float s = 0.0f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        const float m = head_channel_mean(xn, HW, C, c, inv_hw);
        if (CACHED) pooled[c] = m;
        if (pooled_out != nullptr) pooled_out[(long long)n * C + c] = m;
        s += m;
    }
    const float mean = head_block_sum(s, scratch) / C;

    float v = 0.0f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        const float d = head_pooled<T, CACHED>(xn, pooled, HW, C, c, inv_hw) - mean;
        v += d * d;
    }
    const float rstd = rsqrtf(head_block_sum(v, scratch) / C + eps);
    if (threadIdx.x == 0 && mean_out != nullptr) mean_out[n] = mean;
    if (threadIdx.x == 0 && rstd_out != nullptr) rstd_out[n] = rstd;

    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        const float xh = (head_pooled<T, CACHED>(xn, pooled, HW, C, c, inv_hw) - mean) * rstd;
        out[(long long)n * C + c] = from_f32<TO>(xh * weight[c] + bias[c]);
    }
}

template <typename TO, typename T>
__device__ __forceinline__ void mean_hw_layernorm_dispatch(TO* out, float* pooled, float* mean, float* rstd, const T* x,
                                                           const float* weight, const float* bias, int HW, int C,
                                                           float eps) {
    if (C <= HEAD_MAX_CACHED_C) mean_hw_layernorm<TO, T, true>(out, pooled, mean, rstd, x, weight, bias, HW, C, eps);
    else mean_hw_layernorm<TO, T, false>(out, pooled, mean, rstd, x, weight, bias, HW, C, eps);
}

extern "C" __global__ void mean_hw_layernorm_f32(float* out, float* pooled, float* mean, float* rstd, const float* x,
        const float* weight, const float* bias, int N, int HW, int C, float eps) {
    if (blockIdx.x < N) mean_hw_layernorm_dispatch(out, pooled, mean, rstd, x, weight, bias, HW, C, eps);
}

extern "C" __global__ void mean_hw_layernorm_bf16(__nv_bfloat16* out, float* pooled, float* mean, float* rstd,
        const __nv_bfloat16* x, const float* weight, const float* bias, int N, int HW, int C, float eps) {
    if (blockIdx.x < N) mean_hw_layernorm_dispatch(out, pooled, mean, rstd, x, weight, bias, HW, C, eps);
}

// f32 in (a bf16 program's residual stream), bf16 out (the head MLP's operand).
extern "C" __global__ void mean_hw_layernorm_f32_bf16(__nv_bfloat16* out, float* pooled, float* mean, float* rstd,
        const float* x, const float* weight, const float* bias, int N, int HW, int C, float eps) {
    if (blockIdx.x < N) mean_hw_layernorm_dispatch(out, pooled, mean, rstd, x, weight, bias, HW, C, eps);
}

// ================================================================================================================
// Backward of the head's mean over H*W (training): dx[n, hw, c] = dy[n, c] / HW, graph's MeanHWBackward. dy is the
// LayerNorm backward's f32 dinp (or bf16); dx f32 or bf16, the last stage's gradient. Pure store traffic: dy is N*C,
// dx HW times that.
//
// A unit is 16 bytes of a dx row (V = 4 f32 / 8 bf16) when C % V == 0 and dx is 16-byte aligned (then every row
// is), else one element. The threads of image n (blockIdx.y) are numbered i in [0, T); when T >= the units of a row,
// thread i owns unit i % units of rows i / units, + T / units, ... (its dy values divided once, then one 16-byte
// store per row; consecutive threads store consecutive units); with fewer threads than units each loops over units
// and rows. dy is read with scalar loads (N*C, from L2).
//
// Launch (HeadBackwardKernels): grid (gx, N), block 256; any gx >= 1 and any multiple of 32 threads is correct.
// ================================================================================================================

template <typename TO, typename TI, int V>
__device__ __forceinline__ void mean_hw_backward_unit(TO* __restrict__ dxn, const TI* __restrict__ dyn, int HW, int C,
                                                      int u, int r0, int step, float hw) {
    alignas(16) TO v[V];
#pragma unroll
    for (int j = 0; j < V; j++) v[j] = from_f32<TO>(to_f32(dyn[u * V + j]) / hw);
    for (int r = r0; r < HW; r += step) {
        TO* p = dxn + (long long)r * C + u * V;
        if constexpr (V * sizeof(TO) == 16) *reinterpret_cast<uint4*>(p) = *reinterpret_cast<const uint4*>(v);
        else *p = v[0];
    }
}

template <typename TO, typename TI, int V>
__device__ __forceinline__ void mean_hw_backward_rows(TO* dxn, const TI* dyn, int HW, int C) {
    const int units = C / V;
    const int i = blockIdx.x * blockDim.x + threadIdx.x, T = gridDim.x * blockDim.x;
    const float hw = (float)HW;
    if (T >= units) {
        const int step = T / units, r0 = i / units;
        if (r0 < step) mean_hw_backward_unit<TO, TI, V>(dxn, dyn, HW, C, i % units, r0, step, hw);
    } else {
        for (int u = i; u < units; u += T) mean_hw_backward_unit<TO, TI, V>(dxn, dyn, HW, C, u, 0, 1, hw);
    }
}

template <typename TO, typename TI>
__device__ __forceinline__ void mean_hw_backward(TO* __restrict__ dx, const TI* __restrict__ dy, int N, int HW, int C) {
    constexpr int V = vec16_elems<TO>();
    const int n = blockIdx.y;
    if (n >= N) return;
    TO* dxn = dx + (long long)n * HW * C;
    const TI* dyn = dy + (long long)n * C;
    if (C % V == 0 && aligned16(dx)) mean_hw_backward_rows<TO, TI, V>(dxn, dyn, HW, C);
    else mean_hw_backward_rows<TO, TI, 1>(dxn, dyn, HW, C);
}

extern "C" __global__ void mean_hw_backward_f32(float* __restrict__ dx, const float* __restrict__ dy, int N, int HW,
                                                int C) {
    mean_hw_backward(dx, dy, N, HW, C);
}

extern "C" __global__ void mean_hw_backward_bf16(__nv_bfloat16* __restrict__ dx, const __nv_bfloat16* __restrict__ dy,
                                                 int N, int HW, int C) {
    mean_hw_backward(dx, dy, N, HW, C);
}

// f32 dy (the LayerNorm backward's dinp) into a bf16 program's bf16 dx.
extern "C" __global__ void mean_hw_backward_f32_bf16(__nv_bfloat16* __restrict__ dx, const float* __restrict__ dy,
                                                     int N, int HW, int C) {
    mean_hw_backward(dx, dy, N, HW, C);
}
