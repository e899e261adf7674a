// LayerNorm fused into the Linear that reads it, for inference: y = LN(x) W^T + b, the normalised rows never reach
// memory. x [T, K] f32 (the residual stream), gamma, beta [K] f32, W [N, K] bf16 (PyTorch's Linear layout), bias
// [N] f32 -> y [T, N] bf16; f32 statistics and accumulation, the LN output rounded to bf16 as the unfused path's
// operand is. For the narrow stages (K = 48: femto's and kobe's stage 1, where layernorm_forward + cuBLASLt took 297 us
// per block at batch 256 and this takes 182, kernels/lab/NOTES.md "MLP lab").
//
// Persistent and warp-independent: a block holds a column slice of W [n8p * 8][K + 8] (rows padded 8 elements so the
// B fragment loads are conflict-free), gamma, beta and the slice's bias in shared memory for its life (blockIdx.y =
// the slice, grid-stride over 16-token tiles in x). Each warp takes 16 tokens at a time: x straight from global in
// m16n8k16 A-fragment order (float2 loads, a quad reads 32 contiguous bytes of a row), the LayerNorm statistics by quad
// shuffles (two passes over the registers), the bf16 A fragments kept in registers, then the slice's n8 tiles 4 at a
// time (4 independent accumulator chains), bias added. STAGE (the mainline): 64 columns of the warp's 16 rows staged
// in its own shared buffer and written as 16-byte row pieces, 8 lanes a 128-byte row; without it (the lab's v3) each
// lane stores bf16 pairs straight from the fragments, 8 rows x 16 bytes per instruction, which the lab measured
// store-bound at 28-31% of the copy floor against 74% staged.
// nb: the slice's columns (LnLinearKernels.sliceColumns: whole 64-column groups, the slice within ~64 KB); n8p: its
// n8 tiles rounded up to whole staged groups, the padding rows zero.
#pragma once
#include "mma_bf16.cuh"

// LNL_JU_V: the n8 tiles multiplied together (independent accumulator chains), 4 or 8; a lab build may override it.
#ifndef LNL_JU_V
#define LNL_JU_V 4
#endif
constexpr int LNL_WARPS = 4, LNL_JU = LNL_JU_V, LNL_SC = 64, LNL_SP = LNL_SC + 8;   // staged columns, their pitch
static_assert(LNL_SC / 8 % LNL_JU == 0, "whole multiply groups per staged group");

__host__ __device__ constexpr int lnl_n8p(int nb) { return ((nb + 7) / 8 + 7) / 8 * 8; }
__host__ __device__ constexpr size_t lnl_smem_bytes(int K, int nb) {
    return (size_t)lnl_n8p(nb) * 8 * (K + 8) * 2 + (size_t)(2 * K + lnl_n8p(nb) * 8) * 4 +
           (size_t)LNL_WARPS * 16 * LNL_SP * 2;
}

template <int K, bool STAGE>
__device__ __forceinline__ void ln_linear_forward(__nv_bfloat16* __restrict__ y, const float* __restrict__ x,
                                                  const float* __restrict__ gamma, const float* __restrict__ beta,
                                                  const __nv_bfloat16* __restrict__ w, const float* __restrict__ bias,
                                                  int T, int N, int nb, float eps) {
    static_assert(K % 16 == 0, "K in whole m16n8k16 steps");
    constexpr int KS = K / 16, KP = K + 8;
#ifndef MMA_HOST
    extern __shared__ __align__(16) __nv_bfloat16 lnl_smem[];
#endif
    const int n_lo = blockIdx.y * nb;
    const int ncols = N - n_lo < nb ? N - n_lo : nb;
    const int n8p = lnl_n8p(nb);
    __nv_bfloat16* sw = lnl_smem;                                         // [n8p * 8][KP]
    float* sg = reinterpret_cast<float*>(lnl_smem + n8p * 8 * KP);         // gamma [K], beta [K], bias [n8p * 8]
    float* sb = sg + K;
    float* sbias = sb + K;
    __nv_bfloat16* sst = reinterpret_cast<__nv_bfloat16*>(sbias + n8p * 8) + (threadIdx.x / 32) * 16 * LNL_SP;
    for (int i = threadIdx.x; i < n8p * 8 * (K / 8); i += LNL_WARPS * 32) {
        const int n = i / (K / 8), k = (i % (K / 8)) * 8;
        uint4 u = make_uint4(0, 0, 0, 0);
        if (n < ncols) u = *reinterpret_cast<const uint4*>(w + (long long)(n_lo + n) * K + k);
        *reinterpret_cast<uint4*>(sw + n * KP + k) = u;
    }
    for (int i = threadIdx.x; i < K; i += LNL_WARPS * 32) { sg[i] = gamma[i]; sb[i] = beta[i]; }
    for (int i = threadIdx.x; i < n8p * 8; i += LNL_WARPS * 32) sbias[i] = i < ncols ? bias[n_lo + i] : 0.0f;
    __syncthreads();

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane >> 2, tg = lane & 3;
    const long long tiles = ((long long)T + 15) / 16, stride = (long long)gridDim.x * LNL_WARPS;
    for (long long tile = (long long)blockIdx.x * LNL_WARPS + warp; tile < tiles; tile += stride) {
        const long long r0 = tile * 16 + g, r1 = r0 + 8;
        // v[s]: row g at columns c, c + 1, c + 8, c + 9 (c = 16 s + 2 tg), then row g + 8 at the same columns.
        float v[KS][8];
        #pragma unroll
        for (int s = 0; s < KS; s++) {
            const int c = s * 16 + tg * 2;
            float2 p0 = make_float2(0.0f, 0.0f), p1 = p0, q0 = p0, q1 = p0;
            if (r0 < T) {
                p0 = *reinterpret_cast<const float2*>(x + r0 * K + c);
                p1 = *reinterpret_cast<const float2*>(x + r0 * K + c + 8);
            }
            if (r1 < T) {
                q0 = *reinterpret_cast<const float2*>(x + r1 * K + c);
                q1 = *reinterpret_cast<const float2*>(x + r1 * K + c + 8);
            }
            v[s][0] = p0.x; v[s][1] = p0.y; v[s][2] = p1.x; v[s][3] = p1.y;
            v[s][4] = q0.x; v[s][5] = q0.y; v[s][6] = q1.x; v[s][7] = q1.y;
        }
        float m[2] = {0.0f, 0.0f}, q[2] = {0.0f, 0.0f}, r[2];
        #pragma unroll
        for (int s = 0; s < KS; s++)
            #pragma unroll
            for (int e = 0; e < 8; e++) m[e / 4] += v[s][e];
        #pragma unroll
        for (int h = 0; h < 2; h++) {
            m[h] += __shfl_xor_sync(0xffffffffu, m[h], 1);
            m[h] += __shfl_xor_sync(0xffffffffu, m[h], 2);
            m[h] /= K;
        }
        #pragma unroll
        for (int s = 0; s < KS; s++)
            #pragma unroll
            for (int e = 0; e < 8; e++) { const float d = v[s][e] - m[e / 4]; q[e / 4] += d * d; }
        #pragma unroll
        for (int h = 0; h < 2; h++) {
            q[h] += __shfl_xor_sync(0xffffffffu, q[h], 1);
            q[h] += __shfl_xor_sync(0xffffffffu, q[h], 2);
            r[h] = rsqrtf(q[h] / K + eps);
        }
        uint32_t a[KS][4];
        #pragma unroll
        for (int s = 0; s < KS; s++) {
            const int c = s * 16 + tg * 2;
            auto nrm = [&](int e, int col) { return (v[s][e] - m[e / 4]) * r[e / 4] * sg[col] + sb[col]; };
            a[s][0] = pack_bf16x2(nrm(0, c), nrm(1, c + 1));
            a[s][1] = pack_bf16x2(nrm(4, c), nrm(5, c + 1));
            a[s][2] = pack_bf16x2(nrm(2, c + 8), nrm(3, c + 9));
            a[s][3] = pack_bf16x2(nrm(6, c + 8), nrm(7, c + 9));
        }
        for (int j = 0; j < n8p; j += LNL_JU) {
            float acc[LNL_JU][4];
            #pragma unroll
            for (int u = 0; u < LNL_JU; u++)
                #pragma unroll
                for (int e = 0; e < 4; e++) acc[u][e] = 0.0f;
            #pragma unroll
            for (int s = 0; s < KS; s++)
                #pragma unroll
                for (int u = 0; u < LNL_JU; u++) {
                    const __nv_bfloat16* p = sw + ((j + u) * 8 + g) * KP + s * 16 + tg * 2;
                    mma_bf16_16816(acc[u], a[s], ld_bf16x2(p), ld_bf16x2(p + 8));
                }
            if constexpr (STAGE) {
                const int jj = j % (LNL_SC / 8);   // this group's n8 tiles within the staged 64 columns
                #pragma unroll
                for (int u = 0; u < LNL_JU; u++) {
                    const int c = (jj + u) * 8 + tg * 2;
                    const float b0 = sbias[(j + u) * 8 + tg * 2], b1 = sbias[(j + u) * 8 + tg * 2 + 1];
                    *reinterpret_cast<__nv_bfloat162*>(sst + g * LNL_SP + c) =
                        __floats2bfloat162_rn(acc[u][0] + b0, acc[u][1] + b1);
                    *reinterpret_cast<__nv_bfloat162*>(sst + (g + 8) * LNL_SP + c) =
                        __floats2bfloat162_rn(acc[u][2] + b0, acc[u][3] + b1);
                }
                if (jj + LNL_JU == LNL_SC / 8) {   // 64 columns staged: write them out
                    __syncwarp();
                    const int c0 = (j + LNL_JU) * 8 - LNL_SC, piece = (lane % 8) * 8;
                    #pragma unroll
                    for (int i = 0; i < 4; i++) {
                        const int rr = i * 4 + lane / 8;
                        const long long t = tile * 16 + rr;
                        const int c = c0 + piece;
                        if (t < T && c < ncols) {
                            __nv_bfloat16* dst = y + t * N + n_lo + c;
                            const __nv_bfloat16* src = sst + rr * LNL_SP + piece;
                            if (c + 8 <= ncols && N % 8 == 0) {
                                *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(src);
                            } else {
                                for (int e = 0; e < 8 && c + e < ncols; e++) dst[e] = src[e];
                            }
                        }
                    }
                    __syncwarp();   // the buffer's reads are done before the next group is staged
                }
            } else {
                #pragma unroll
                for (int u = 0; u < LNL_JU; u++) {
                    const int c = (j + u) * 8 + tg * 2;   // even, and ncols is even: c < ncols covers c + 1
                    if (c >= ncols) continue;
                    const float b0 = sbias[c], b1 = sbias[c + 1];
                    if (r0 < T)
                        *reinterpret_cast<__nv_bfloat162*>(y + r0 * N + n_lo + c) =
                            __floats2bfloat162_rn(acc[u][0] + b0, acc[u][1] + b1);
                    if (r1 < T)
                        *reinterpret_cast<__nv_bfloat162*>(y + r1 * N + n_lo + c) =
                            __floats2bfloat162_rn(acc[u][2] + b0, acc[u][3] + b1);
                }
            }
        }
    }
}
