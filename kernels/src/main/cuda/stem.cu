// The stem's first convolution with everything up to the next convolution fused in, for inference:
//   out[n, oy, ox, o] = act(LN_o(conv3x3_s(x)[n, o, oy, ox] + bias[o]))      (LN optional: stem_mid_norm)
// from the user's NCHW f32 batch x [N, C, H, W] straight to NHWC [N, Ho, Wo, Co] in the program's type; zero padding
// `pad`, any stride. It replaces im2col_nchw + the GEMM + layernorm_forward + act_forward (four passes over a
// stem-sized tensor, ~700 us of femto's batch-256 forward, kernels/lab/NOTES.md "stem") with one: x read once, out
// written once. The training step keeps the unfused steps (its backward needs the LN input and statistics).
//
// Why plain FMAs and no tensor cores: a pixel's dot products are C*9 = 27 long (3 input channels), too short to fill
// an MMA's K, and the FLOPs are small (femto: 3.2M pixels x 24 x 27 = 2.1 G FMA, ~65 us at the H200's f32 FMA rate)
// beside the bytes a GEMM path moves. A thread owns PIX whole pixels: all Co accumulators in registers, so the
// LayerNorm over channels and the activation happen there with no exchange. The packed weights (taps x CB, then bias,
// gamma and beta, CB = the channels rounded up to the kernel's width, zero beyond Co) sit in shared memory and are
// read as broadcast float4s: one LDS.128 feeds 4 * PIX FMAs.
//
// packed (f32, StemKernels.pack): [C*9][CB] weights, tap (c*3 + ky)*3 + kx; [CB] bias; [CB] gamma; [CB] beta. The
// padded channels are zero, so they add nothing to the LayerNorm's sum; the variance skips them.
// Launch (StemKernels.geometry): block STEM_BLOCK, grid ceil(N*Ho*Wo / (STEM_BLOCK * PIX)), dynamic shared memory
// StemKernels.sharedBytes = (C*9 + 3) * CB * 4.
#include "common.cuh"
#include "erf_fast.cuh"
#include "storage.cuh"

constexpr int STEM_BLOCK = 128;
constexpr int STEM_K = 3;

__device__ __forceinline__ float stem_act(float v, int act) {
    return act == 0 ? 0.5f * v * (1.0f + erf_fast(v * 0.70710678f)) : v / (1.0f + expf(-v));
}

// 16-byte stores when the row is a whole number of them (Co * sizeof(T) % 16 == 0, out aligned), else scalars.
template <int CB, typename T>
__device__ __forceinline__ void stem_store_row(T* dst, const float (&v)[CB], int Co, bool vec) {
    constexpr int V = vec16_elems<T>();
    if (vec) {
#pragma unroll
        for (int c = 0; c < CB; c += V) {
            if (c < Co) {
                alignas(16) T u[V];
#pragma unroll
                for (int e = 0; e < V; e++) u[e] = from_f32<T>(v[c + e]);
                *reinterpret_cast<uint4*>(dst + c) = *reinterpret_cast<const uint4*>(u);
            }
        }
    } else {
#pragma unroll
        for (int c = 0; c < CB; c++) if (c < Co) dst[c] = from_f32<T>(v[c]);
    }
}

template <typename T, int CB, int PIX>
__device__ __forceinline__ void stem_conv_forward(T* __restrict__ out, const float* __restrict__ x,
                                                  const float* __restrict__ packed, int N, int C, int H, int W, int Ho,
                                                  int Wo, int Co, int stride, int pad, int norm, int act, float eps) {
    static_assert(CB % 8 == 0, "CB: whole float4s and whole 16-byte bf16 stores");
    extern __shared__ float4 stem_smem4[];
    float* sm = reinterpret_cast<float*>(stem_smem4);
    const int taps = C * STEM_K * STEM_K, words = (taps + 3) * CB;
    for (int i = threadIdx.x; i < words; i += blockDim.x) sm[i] = packed[i];
    __syncthreads();
    const float* s_bias = sm + taps * CB;
    const float* s_gamma = s_bias + CB;
    const float* s_beta = s_gamma + CB;

    const long long pixels = (long long)N * Ho * Wo;
    const long long first = (long long)blockIdx.x * (STEM_BLOCK * PIX) + threadIdx.x;
    // Pixel j of this thread is first + j * STEM_BLOCK: a warp's lanes take neighbouring output columns, so one load
    // instruction reads neighbouring (stride-2) input columns and one store instruction a contiguous run of rows.
    int img[PIX], iy0[PIX], ix0[PIX];
    bool live[PIX];
#pragma unroll
    for (int j = 0; j < PIX; j++) {
        const long long p = first + (long long)j * STEM_BLOCK;
        live[j] = p < pixels;
        const long long q = live[j] ? p : 0;
        const int n = (int)(q / ((long long)Ho * Wo));
        const int r = (int)(q - (long long)n * Ho * Wo);
        const int oy = r / Wo, ox = r - oy * Wo;
        iy0[j] = oy * stride - pad;
        ix0[j] = ox * stride - pad;
        img[j] = n;
    }
    float acc[PIX][CB];
#pragma unroll
    for (int j = 0; j < PIX; j++)
#pragma unroll
        for (int c = 0; c < CB; c++) acc[j][c] = s_bias[c];

    for (int ci = 0; ci < C; ci++) {
        float v[PIX][STEM_K * STEM_K];
#pragma unroll
        for (int j = 0; j < PIX; j++) {
            const float* plane = x + ((long long)img[j] * C + ci) * H * W;
#pragma unroll
            for (int ky = 0; ky < STEM_K; ky++) {
                const int iy = iy0[j] + ky;
                const bool row = live[j] && iy >= 0 && iy < H;
#pragma unroll
                for (int kx = 0; kx < STEM_K; kx++) {
                    const int ix = ix0[j] + kx;
                    v[j][ky * STEM_K + kx] = row && ix >= 0 && ix < W ? __ldg(plane + (long long)iy * W + ix) : 0.0f;
                }
            }
        }
        const float* wt = sm + ci * STEM_K * STEM_K * CB;
#pragma unroll
        for (int t = 0; t < STEM_K * STEM_K; t++) {
#pragma unroll
            for (int c = 0; c < CB; c += 4) {
                const float4 w4 = *reinterpret_cast<const float4*>(wt + t * CB + c);
#pragma unroll
                for (int j = 0; j < PIX; j++) {
                    acc[j][c] = fmaf(v[j][t], w4.x, acc[j][c]);
                    acc[j][c + 1] = fmaf(v[j][t], w4.y, acc[j][c + 1]);
                    acc[j][c + 2] = fmaf(v[j][t], w4.z, acc[j][c + 2]);
                    acc[j][c + 3] = fmaf(v[j][t], w4.w, acc[j][c + 3]);
                }
            }
        }
    }

    const bool vec = (Co * (int)sizeof(T)) % 16 == 0 && aligned16(out);
    const float inv = 1.0f / (float)Co;
#pragma unroll
    for (int j = 0; j < PIX; j++) {
        if (!live[j]) continue;
        if (norm) {
            float sum = 0.0f;
#pragma unroll
            for (int c = 0; c < CB; c++) sum += acc[j][c];   // the padded channels are exactly 0
            const float mean = sum * inv;
            float var = 0.0f;
#pragma unroll
            for (int c = 0; c < CB; c++) {
                const float d = acc[j][c] - mean;
                if (c < Co) var = fmaf(d, d, var);
            }
            const float rstd = rsqrtf(var * inv + eps);
#pragma unroll
            for (int c = 0; c < CB; c++) acc[j][c] = fmaf((acc[j][c] - mean) * rstd, s_gamma[c], s_beta[c]);
        }
#pragma unroll
        for (int c = 0; c < CB; c++) acc[j][c] = stem_act(acc[j][c], act);
        stem_store_row<CB>(out + (first + (long long)j * STEM_BLOCK) * Co, acc[j], Co, vec);
    }
}

// PIX per width: two pixels where their accumulators fit (CB <= 32), so each broadcast weight load feeds 8 FMAs.
// Spelled out (no macro): KernelCatalogTest reads these signatures.
extern "C" __global__ void __launch_bounds__(STEM_BLOCK) stem_conv_forward_f32_c8(float* out, const float* x,
        const float* packed, int N, int C, int H, int W, int Ho, int Wo, int Co, int stride, int pad, int norm, int act,
        float eps) {
    stem_conv_forward<float, 8, 2>(out, x, packed, N, C, H, W, Ho, Wo, Co, stride, pad, norm, act, eps);
}
extern "C" __global__ void __launch_bounds__(STEM_BLOCK) stem_conv_forward_f32_c16(float* out, const float* x,
        const float* packed, int N, int C, int H, int W, int Ho, int Wo, int Co, int stride, int pad, int norm, int act,
        float eps) {
    stem_conv_forward<float, 16, 2>(out, x, packed, N, C, H, W, Ho, Wo, Co, stride, pad, norm, act, eps);
}
extern "C" __global__ void __launch_bounds__(STEM_BLOCK) stem_conv_forward_f32_c24(float* out, const float* x,
        const float* packed, int N, int C, int H, int W, int Ho, int Wo, int Co, int stride, int pad, int norm, int act,
        float eps) {
    stem_conv_forward<float, 24, 2>(out, x, packed, N, C, H, W, Ho, Wo, Co, stride, pad, norm, act, eps);
}
extern "C" __global__ void __launch_bounds__(STEM_BLOCK) stem_conv_forward_f32_c32(float* out, const float* x,
        const float* packed, int N, int C, int H, int W, int Ho, int Wo, int Co, int stride, int pad, int norm, int act,
        float eps) {
    stem_conv_forward<float, 32, 2>(out, x, packed, N, C, H, W, Ho, Wo, Co, stride, pad, norm, act, eps);
}
extern "C" __global__ void __launch_bounds__(STEM_BLOCK) stem_conv_forward_f32_c48(float* out, const float* x,
        const float* packed, int N, int C, int H, int W, int Ho, int Wo, int Co, int stride, int pad, int norm, int act,
        float eps) {
    stem_conv_forward<float, 48, 1>(out, x, packed, N, C, H, W, Ho, Wo, Co, stride, pad, norm, act, eps);
}
extern "C" __global__ void __launch_bounds__(STEM_BLOCK) stem_conv_forward_f32_c64(float* out, const float* x,
        const float* packed, int N, int C, int H, int W, int Ho, int Wo, int Co, int stride, int pad, int norm, int act,
        float eps) {
    stem_conv_forward<float, 64, 1>(out, x, packed, N, C, H, W, Ho, Wo, Co, stride, pad, norm, act, eps);
}
extern "C" __global__ void __launch_bounds__(STEM_BLOCK) stem_conv_forward_bf16_c8(__nv_bfloat16* out, const float* x,
        const float* packed, int N, int C, int H, int W, int Ho, int Wo, int Co, int stride, int pad, int norm, int act,
        float eps) {
    stem_conv_forward<__nv_bfloat16, 8, 2>(out, x, packed, N, C, H, W, Ho, Wo, Co, stride, pad, norm, act, eps);
}
extern "C" __global__ void __launch_bounds__(STEM_BLOCK) stem_conv_forward_bf16_c16(__nv_bfloat16* out, const float* x,
        const float* packed, int N, int C, int H, int W, int Ho, int Wo, int Co, int stride, int pad, int norm, int act,
        float eps) {
    stem_conv_forward<__nv_bfloat16, 16, 2>(out, x, packed, N, C, H, W, Ho, Wo, Co, stride, pad, norm, act, eps);
}
extern "C" __global__ void __launch_bounds__(STEM_BLOCK) stem_conv_forward_bf16_c24(__nv_bfloat16* out, const float* x,
        const float* packed, int N, int C, int H, int W, int Ho, int Wo, int Co, int stride, int pad, int norm, int act,
        float eps) {
    stem_conv_forward<__nv_bfloat16, 24, 2>(out, x, packed, N, C, H, W, Ho, Wo, Co, stride, pad, norm, act, eps);
}
extern "C" __global__ void __launch_bounds__(STEM_BLOCK) stem_conv_forward_bf16_c32(__nv_bfloat16* out, const float* x,
        const float* packed, int N, int C, int H, int W, int Ho, int Wo, int Co, int stride, int pad, int norm, int act,
        float eps) {
    stem_conv_forward<__nv_bfloat16, 32, 2>(out, x, packed, N, C, H, W, Ho, Wo, Co, stride, pad, norm, act, eps);
}
extern "C" __global__ void __launch_bounds__(STEM_BLOCK) stem_conv_forward_bf16_c48(__nv_bfloat16* out, const float* x,
        const float* packed, int N, int C, int H, int W, int Ho, int Wo, int Co, int stride, int pad, int norm, int act,
        float eps) {
    stem_conv_forward<__nv_bfloat16, 48, 1>(out, x, packed, N, C, H, W, Ho, Wo, Co, stride, pad, norm, act, eps);
}
extern "C" __global__ void __launch_bounds__(STEM_BLOCK) stem_conv_forward_bf16_c64(__nv_bfloat16* out, const float* x,
        const float* packed, int N, int C, int H, int W, int Ho, int Wo, int Co, int stride, int pad, int norm, int act,
        float eps) {
    stem_conv_forward<__nv_bfloat16, 64, 1>(out, x, packed, N, C, H, W, Ho, Wo, Co, stride, pad, norm, act, eps);
}
