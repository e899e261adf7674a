// LayerNorm over the channel (last, contiguous) dimension of an NHWC tensor seen as [N tokens, C] f32.
// Forward and backward side by side. The forward is the kernel lab's winner (kernels/lab/NOTES.md): one warp per
// token, float4 loads when C % 4 == 0 and the pointers allow it, scalar loads otherwise (odd C).
//
// Launch geometry (the Java catalog computes it; see LayerNormKernels):
//   layernorm_forward          block 256 (8 warps = 8 tokens), grid ceil(N / 8)
//   layernorm_backward         block 256, grid ceil(N / rows_per_block); writes one partial row per block
//   layernorm_backward_reduce  block 256, grid ceil(C / 256)
#include "common.cuh"

// Sum over the row of f(x[i], i) with the warp's 32 lanes striding the row; vectorised when `vec`.
// Kept as a macro-free template so the float4 and scalar paths share one body and cannot drift apart.
template <typename F>
__device__ __forceinline__ float row_reduce(const float* __restrict__ x, int C, bool vec, int lane, F f) {
    float acc = 0.0f;
    if (vec) {
        const float4* x4 = reinterpret_cast<const float4*>(x);
        for (int i = lane; i < C / 4; i += WARP_SIZE) {
            float4 v = x4[i];
            acc += f(v.x, 4 * i) + f(v.y, 4 * i + 1) + f(v.z, 4 * i + 2) + f(v.w, 4 * i + 3);
        }
    } else {
        for (int i = lane; i < C; i += WARP_SIZE) acc += f(x[i], i);
    }
    return warp_sum(acc);
}

// out = (x - mean) * rstd * weight + bias, per token. mean and rstd (length N) are written for the backward; either
// may be null (inference). Two passes over the row (mean, then centred variance) rather than E[x^2] - E[x]^2,
// because the one-pass form loses digits when |mean| >> std; the second read comes from L1.
extern "C" __global__ void layernorm_forward(float* __restrict__ out, float* __restrict__ mean,
                                             float* __restrict__ rstd, const float* __restrict__ inp,
                                             const float* __restrict__ weight, const float* __restrict__ bias,
                                             int N, int C, float eps) {
    const int lane = threadIdx.x % WARP_SIZE;
    const int row = blockIdx.x * (blockDim.x / WARP_SIZE) + threadIdx.x / WARP_SIZE;
    if (row >= N) return;
    const float* x = inp + (size_t)row * C;
    float* o = out + (size_t)row * C;
    const bool vec = (C % 4 == 0) && aligned16(inp) && aligned16(out) && aligned16(weight) && aligned16(bias);

    const float m = row_reduce(x, C, vec, lane, [](float v, int) { return v; }) / C;
    const float var = row_reduce(x, C, vec, lane, [m](float v, int) { float d = v - m; return d * d; }) / C;
    const float s = rsqrtf(var + eps);

    if (vec) {
        const float4* x4 = reinterpret_cast<const float4*>(x);
        const float4* w4 = reinterpret_cast<const float4*>(weight);
        const float4* b4 = reinterpret_cast<const float4*>(bias);
        float4* o4 = reinterpret_cast<float4*>(o);
        for (int i = lane; i < C / 4; i += WARP_SIZE) {
            float4 v = x4[i], w = w4[i], b = b4[i], r;
            r.x = (v.x - m) * s * w.x + b.x;
            r.y = (v.y - m) * s * w.y + b.y;
            r.z = (v.z - m) * s * w.z + b.z;
            r.w = (v.w - m) * s * w.w + b.w;
            __stcs(o4 + i, r);  // streaming store: the output is not re-read by this kernel
        }
    } else {
        for (int i = lane; i < C; i += WARP_SIZE) o[i] = (x[i] - m) * s * weight[i] + bias[i];
    }
    if (lane == 0) {
        if (mean != nullptr) mean[row] = m;
        if (rstd != nullptr) rstd[row] = s;
    }
}

// dinp (overwritten) for rows [r0, r1) of this block, one warp per row, and this block's partial sums of
// dweight = sum dout * xhat and dbias = sum dout over the same rows, written to row blockIdx.x of the [gridDim.x, C]
// partial buffers. Partials then a fixed-order reduction instead of atomics: the result is bit-for-bit repeatable.
extern "C" __global__ void layernorm_backward(float* __restrict__ dinp, float* __restrict__ dweight_partial,
                                              float* __restrict__ dbias_partial, const float* __restrict__ dout,
                                              const float* __restrict__ inp, const float* __restrict__ weight,
                                              const float* __restrict__ mean, const float* __restrict__ rstd,
                                              int N, int C, int rows_per_block) {
    const int lane = threadIdx.x % WARP_SIZE;
    const int warp = threadIdx.x / WARP_SIZE;
    const int warps = blockDim.x / WARP_SIZE;
    const int r0 = blockIdx.x * rows_per_block;
    const int r1 = min(N, r0 + rows_per_block);
    const bool vec = (C % 4 == 0) && aligned16(dinp) && aligned16(dout) && aligned16(inp) && aligned16(weight);

    for (int row = r0 + warp; row < r1; row += warps) {
        const float* x = inp + (size_t)row * C;
        const float* g = dout + (size_t)row * C;
        float* dx = dinp + (size_t)row * C;
        const float m = mean[row], s = rstd[row];
        float sum_dn = 0.0f, sum_dnx = 0.0f;
        if (vec) {
            const float4* x4 = reinterpret_cast<const float4*>(x);
            const float4* g4 = reinterpret_cast<const float4*>(g);
            const float4* w4 = reinterpret_cast<const float4*>(weight);
            for (int i = lane; i < C / 4; i += WARP_SIZE) {
                float4 v = x4[i], gg = g4[i], w = w4[i];
                float d0 = gg.x * w.x, d1 = gg.y * w.y, d2 = gg.z * w.z, d3 = gg.w * w.w;
                sum_dn += d0 + d1 + d2 + d3;
                sum_dnx += d0 * (v.x - m) + d1 * (v.y - m) + d2 * (v.z - m) + d3 * (v.w - m);
            }
        } else {
            for (int i = lane; i < C; i += WARP_SIZE) {
                float d = g[i] * weight[i];
                sum_dn += d;
                sum_dnx += d * (x[i] - m);
            }
        }
        const float mean_dn = warp_sum(sum_dn) / C;
        const float mean_dnx = warp_sum(sum_dnx) * s / C;
        if (vec) {
            const float4* x4 = reinterpret_cast<const float4*>(x);
            const float4* g4 = reinterpret_cast<const float4*>(g);
            const float4* w4 = reinterpret_cast<const float4*>(weight);
            float4* dx4 = reinterpret_cast<float4*>(dx);
            for (int i = lane; i < C / 4; i += WARP_SIZE) {
                float4 v = x4[i], gg = g4[i], w = w4[i], r;
                r.x = s * (gg.x * w.x - mean_dn - (v.x - m) * s * mean_dnx);
                r.y = s * (gg.y * w.y - mean_dn - (v.y - m) * s * mean_dnx);
                r.z = s * (gg.z * w.z - mean_dn - (v.z - m) * s * mean_dnx);
                r.w = s * (gg.w * w.w - mean_dn - (v.w - m) * s * mean_dnx);
                dx4[i] = r;
            }
        } else {
            for (int i = lane; i < C; i += WARP_SIZE) {
                dx[i] = s * (g[i] * weight[i] - mean_dn - (x[i] - m) * s * mean_dnx);
            }
        }
    }

    // Column pass over the same rows (now in L1/L2): thread per channel, rows in order, so coalesced and ordered.
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float dw = 0.0f, db = 0.0f;
        for (int row = r0; row < r1; ++row) {
            const float g = dout[(size_t)row * C + c];
            dw += g * (inp[(size_t)row * C + c] - mean[row]) * rstd[row];
            db += g;
        }
        dweight_partial[(size_t)blockIdx.x * C + c] = dw;
        dbias_partial[(size_t)blockIdx.x * C + c] = db;
    }
}

// dweight[c] = sum over partial rows p of dweight_partial[p, c] (same for dbias), p in order: overwrites.
extern "C" __global__ void layernorm_backward_reduce(float* __restrict__ dweight, float* __restrict__ dbias,
                                                     const float* __restrict__ dweight_partial,
                                                     const float* __restrict__ dbias_partial,
                                                     int num_partials, int C) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float dw = 0.0f, db = 0.0f;
    for (int p = 0; p < num_partials; ++p) {
        dw += dweight_partial[(size_t)p * C + c];
        db += dbias_partial[(size_t)p * C + c];
    }
    dweight[c] = dw;
    dbias[c] = db;
}
