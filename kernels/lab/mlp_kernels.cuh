// The MLP lab's kernels (mlp_lab.cu), shared with its host check (mlp_host_check.cpp, which compiles them as plain
// C++ under a shim with an emulated mma.sync). The includer provides cuda_bf16 types and, on the host, ML_HOST.
#pragma once
#include <cstdint>

constexpr int ML_BLOCK = 256, ML_BM = 128, ML_BN = 128, ML_MAXK = 192, ML_PAD = 8;
constexpr int ML_PITCH = ML_MAXK + ML_PAD;   // bf16 elements per shared row

__device__ __forceinline__ float ml_warp_sum(float v) {
    #pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

#ifndef ML_HOST
__device__ __forceinline__ void ml_mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
#endif

__device__ __forceinline__ uint32_t ml_ld32(const __nv_bfloat16* p) { return *reinterpret_cast<const uint32_t*>(p); }

template <bool STAGED>
__global__ void __launch_bounds__(ML_BLOCK) mlp_ln_fc1(__nv_bfloat16* __restrict__ y, const float* __restrict__ x,
                                                          const float* __restrict__ gamma,
                                                          const float* __restrict__ beta,
                                                          const __nv_bfloat16* __restrict__ w,
                                                          const float* __restrict__ bias, int T, int K, int N,
                                                          float eps) {
#ifndef ML_HOST
    extern __shared__ __align__(16) __nv_bfloat16 ml_smem[];
#endif
    __nv_bfloat16* sa = ml_smem;                       // [ML_BM][ML_PITCH]: LN(x) of the block's rows
    __nv_bfloat16* sw = ml_smem + ML_BM * ML_PITCH;    // [ML_BN][ML_PITCH]: one column tile of W
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const long long row0 = (long long)blockIdx.x * ML_BM;

    // LayerNorm: warp w normalises rows w*16 .. w*16+15, K <= 192 = 6 values per lane.
    for (int r = warp * 16; r < warp * 16 + 16; r++) {
        const long long t = row0 + r;
        float v[ML_MAXK / 32];
        float s = 0.0f;
        #pragma unroll
        for (int j = 0; j < ML_MAXK / 32; j++) {
            const int c = lane + 32 * j;
            v[j] = (t < T && c < K) ? x[t * K + c] : 0.0f;
            s += v[j];
        }
        const float mean = ml_warp_sum(s) / K;
        float q = 0.0f;
        #pragma unroll
        for (int j = 0; j < ML_MAXK / 32; j++) {
            const int c = lane + 32 * j;
            const float d = c < K ? v[j] - mean : 0.0f;
            q += d * d;
        }
        const float rstd = rsqrtf(ml_warp_sum(q) / K + eps);
        #pragma unroll
        for (int j = 0; j < ML_MAXK / 32; j++) {
            const int c = lane + 32 * j;
            if (c < K) {
                const float o = t < T ? (v[j] - mean) * rstd * gamma[c] + beta[c] : 0.0f;
                sa[r * ML_PITCH + c] = __float2bfloat16_rn(o);
            }
        }
    }

    const int g = lane >> 2, tg = lane & 3;
    const int wm = warp % 4, wn = warp / 4;            // rows wm*32.., columns wn*64.. of the tile
    for (int n0 = 0; n0 < N; n0 += ML_BN) {
        __syncthreads();   // the A tile is written (first pass) and the previous W tile's reads are done
        // W's tile: rows n0 .. n0+127, K bf16 each, 16-byte copies; rows past N are zero.
        const int pieces = ML_BN * K / 8;
        for (int i = threadIdx.x; i < pieces; i += ML_BLOCK) {
            const int n = i / (K / 8), k = (i % (K / 8)) * 8;
            uint4 u = make_uint4(0, 0, 0, 0);
            if (n0 + n < N) u = *reinterpret_cast<const uint4*>(w + (long long)(n0 + n) * K + k);
            *reinterpret_cast<uint4*>(sw + n * ML_PITCH + k) = u;
        }
        __syncthreads();
        float acc[2][8][4];
        #pragma unroll
        for (int i = 0; i < 2; i++)
            #pragma unroll
            for (int j = 0; j < 8; j++)
                #pragma unroll
                for (int e = 0; e < 4; e++) acc[i][j][e] = 0.0f;
        for (int k0 = 0; k0 < K; k0 += 16) {
            uint32_t a[2][4];
            #pragma unroll
            for (int i = 0; i < 2; i++) {
                const __nv_bfloat16* p = sa + (wm * 32 + i * 16 + g) * ML_PITCH + k0 + tg * 2;
                a[i][0] = ml_ld32(p);
                a[i][1] = ml_ld32(p + 8 * ML_PITCH);
                a[i][2] = ml_ld32(p + 8);
                a[i][3] = ml_ld32(p + 8 * ML_PITCH + 8);
            }
            #pragma unroll
            for (int j = 0; j < 8; j++) {
                const __nv_bfloat16* p = sw + (wn * 64 + j * 8 + g) * ML_PITCH + k0 + tg * 2;
                const uint32_t b0 = ml_ld32(p), b1 = ml_ld32(p + 8);
                ml_mma(acc[0][j], a[0], b0, b1);
                ml_mma(acc[1][j], a[1], b0, b1);
            }
        }
        if constexpr (STAGED) {
            // v2: the tile through shared memory (W's slot is free once every warp has done its MMAs), then rows of
            // 16-byte stores: a warp writes 512 contiguous bytes of a row instead of 8 rows x 16 bytes.
            constexpr int OP = ML_BN + 8;   // bf16 per staged row: rows on shifted banks
            __syncthreads();
            #pragma unroll
            for (int i = 0; i < 2; i++)
                #pragma unroll
                for (int j = 0; j < 8; j++) {
                    const int c = wn * 64 + j * 8 + tg * 2, n = n0 + c;
                    const float b0 = n < N ? bias[n] : 0.0f, b1 = n + 1 < N ? bias[n + 1] : 0.0f;
                    #pragma unroll
                    for (int h = 0; h < 2; h++) {
                        const int r = wm * 32 + i * 16 + g + h * 8;
                        *reinterpret_cast<__nv_bfloat162*>(sw + r * OP + c) =
                            __floats2bfloat162_rn(acc[i][j][2 * h] + b0, acc[i][j][2 * h + 1] + b1);
                    }
                }
            __syncthreads();
            const int cols = N - n0 < ML_BN ? N - n0 : ML_BN;
            for (int u = threadIdx.x; u < ML_BM * ML_BN / 8; u += ML_BLOCK) {
                const int r = u / (ML_BN / 8), c = (u % (ML_BN / 8)) * 8;
                const long long t = row0 + r;
                if (t >= T || c >= cols) continue;
                __nv_bfloat16* dst = y + t * N + n0 + c;
                if (c + 8 <= cols && N % 8 == 0) {
                    *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(sw + r * OP + c);
                } else {
                    for (int e = 0; e < 8 && c + e < cols; e++) dst[e] = sw[r * OP + c + e];
                }
            }
        } else {
            // v1's epilogue: bias, bf16, pairs of columns straight from the fragments.
            #pragma unroll
            for (int i = 0; i < 2; i++)
                #pragma unroll
                for (int j = 0; j < 8; j++) {
                    const int n = n0 + wn * 64 + j * 8 + tg * 2;
                    if (n >= N) continue;
                    const float b0 = bias[n], b1 = n + 1 < N ? bias[n + 1] : 0.0f;
                    #pragma unroll
                    for (int h = 0; h < 2; h++) {
                        const long long t = row0 + wm * 32 + i * 16 + g + h * 8;
                        if (t >= T) continue;
                        __nv_bfloat16* dst = y + t * N + n;
                        if (n + 1 < N) {
                            *reinterpret_cast<__nv_bfloat162*>(dst) =
                                __floats2bfloat162_rn(acc[i][j][2 * h] + b0, acc[i][j][2 * h + 1] + b1);
                        } else {
                            dst[0] = __float2bfloat16_rn(acc[i][j][2 * h] + b0);
                        }
                    }
                }
        }
    }
}

