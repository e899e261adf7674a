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

#include "../src/main/cuda/mma_bf16.cuh"
#include "../src/main/cuda/ln_linear.cuh"   // fc1 v3 (unstaged) and v4 (staged: the mainline)

// An m16n8k16 A fragment from a row-major bf16 tile: p = &tile[g][k0 + 2 tg], pitch in elements (rows g, g + 8; k,
// k + 8).
__device__ __forceinline__ void ml_load_a(uint32_t (&a)[4], const __nv_bfloat16* p, int pitch) {
    a[0] = ld_bf16x2(p);
    a[1] = ld_bf16x2(p + 8 * pitch);
    a[2] = ld_bf16x2(p + 8);
    a[3] = ld_bf16x2(p + 8 * pitch + 8);
}

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
                ml_load_a(a[i], sa + (wm * 32 + i * 16 + g) * ML_PITCH + k0 + tg * 2, ML_PITCH);
            }
            #pragma unroll
            for (int j = 0; j < 8; j++) {
                const __nv_bfloat16* p = sw + (wn * 64 + j * 8 + g) * ML_PITCH + k0 + tg * 2;
                const uint32_t b0 = ld_bf16x2(p), b1 = ld_bf16x2(p + 8);
                mma_bf16_16816(acc[0][j], a[0], b0, b1);
                mma_bf16_16816(acc[1][j], a[1], b0, b1);
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


// ---------------------------------------------------------------------------------------------------------- fc2
// fc2 with the residual and the next block's LayerNorm: s = res + a W^T + bias (f32, written to out_res; out_res may
// be res), then out_ln = LN(s) (bf16, the next fc1's operand). a [T, H] bf16 (the gate's output), W [D, H] bf16,
// D = NT * 16 <= 192 (a whole row of s in one block: its LayerNorm needs no second pass), H % 32 == 0.
// v1: 128 tokens a block; K in chunks of 32 through shared memory (one buffer, two barriers a chunk); warps 4 (rows)
// x 2 (columns), a warp 32 rows x D / 2 columns = 2 x NT m16n8 tiles; the accumulators plus bias staged as f32
// [128][D] in shared memory, then a warp per 16 rows adds res, writes s and its LayerNorm.
// v2 (ASYNC): the chunks double-buffered with cp.async, chunk k + 1 in flight while chunk k is multiplied.
constexpr int MF_KC = 32, MF_KP = MF_KC + 8;   // K chunk and its padded row (bf16): conflict-free fragment loads

__host__ __device__ constexpr size_t mf_smem_bytes(int D, bool async) {
    return (size_t)(async ? 2 : 1) * (ML_BM + D) * MF_KP * 2 + (size_t)ML_BM * (D + 4) * 4;
}

#ifndef ML_HOST
#include "../src/main/cuda/cp_async.cuh"
#endif

template <int NT, bool ASYNC>
__global__ void __launch_bounds__(ML_BLOCK) mlp_fc2_res_ln(float* out_res, __nv_bfloat16* __restrict__ out_ln,
                                                           const float* res, const __nv_bfloat16* __restrict__ a,
                                                           const __nv_bfloat16* __restrict__ w,
                                                           const float* __restrict__ bias,
                                                           const float* __restrict__ gamma,
                                                           const float* __restrict__ beta, int T, int H, float eps) {
    constexpr int D = NT * 16, SP = D + 4;   // staged f32 row pitch
#ifndef ML_HOST
    extern __shared__ __align__(16) __nv_bfloat16 ml_smem[];
#endif
    constexpr int BUF = (ML_BM + D) * MF_KP;            // one chunk: a's [ML_BM][MF_KP], then W's [D][MF_KP]
    float* ss = reinterpret_cast<float*>(ml_smem + (ASYNC ? 2 : 1) * BUF);   // [ML_BM][SP]
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane >> 2, tg = lane & 3;
    const int wm = warp % 4, wn = warp / 4;
    const long long row0 = (long long)blockIdx.x * ML_BM;
    float acc[2][NT][4];
    #pragma unroll
    for (int i = 0; i < 2; i++)
        #pragma unroll
        for (int j = 0; j < NT; j++)
            #pragma unroll
            for (int e = 0; e < 4; e++) acc[i][j][e] = 0.0f;
    // Chunk k0's 16-byte pieces into buffer `buf`: a's rows (zero past T), then W's.
    auto load_chunk = [&](int k0, __nv_bfloat16* buf) {
        __nv_bfloat16* sa = buf;
        __nv_bfloat16* sw = buf + ML_BM * MF_KP;
        for (int i = threadIdx.x; i < (ML_BM + D) * MF_KC / 8; i += ML_BLOCK) {
            const int r = i / (MF_KC / 8), k = (i % (MF_KC / 8)) * 8;
            const bool isa = r < ML_BM;
            const bool ok = !isa || row0 + r < T;
            const __nv_bfloat16* src = isa ? a + (ok ? row0 + r : 0) * H + k0 + k : w + (long long)(r - ML_BM) * H + k0 + k;
            __nv_bfloat16* dst = (isa ? sa + r * MF_KP : sw + (r - ML_BM) * MF_KP) + k;
            if constexpr (ASYNC) {
                cp_async16(dst, src, ok);
            } else {
                uint4 u = make_uint4(0, 0, 0, 0);
                if (ok) u = *reinterpret_cast<const uint4*>(src);
                *reinterpret_cast<uint4*>(dst) = u;
            }
        }
        if constexpr (ASYNC) cp_async_commit();
    };
    if constexpr (ASYNC) load_chunk(0, ml_smem);
    for (int k0 = 0, c = 0; k0 < H; k0 += MF_KC, c++) {
        __nv_bfloat16* buf = ml_smem + (ASYNC ? (c & 1) * BUF : 0);
        if constexpr (ASYNC) {
            // The other buffer was last read in the previous chunk, before the barrier that ended it.
            if (k0 + MF_KC < H) load_chunk(k0 + MF_KC, ml_smem + ((c + 1) & 1) * BUF);
            else cp_async_commit();   // an empty group keeps the wait count uniform
            cp_async_wait<1>();       // this chunk's pieces (this thread's) have landed
            __syncthreads();
        } else {
            __syncthreads();   // the previous chunk's fragment reads are done
            load_chunk(k0, buf);
            __syncthreads();
        }
        const __nv_bfloat16* sa = buf;
        const __nv_bfloat16* sw = buf + ML_BM * MF_KP;
        #pragma unroll
        for (int kk = 0; kk < MF_KC; kk += 16) {
            uint32_t af[2][4];
            #pragma unroll
            for (int i = 0; i < 2; i++) {
                ml_load_a(af[i], sa + (wm * 32 + i * 16 + g) * MF_KP + kk + tg * 2, MF_KP);
            }
            #pragma unroll
            for (int j = 0; j < NT; j++) {
                const __nv_bfloat16* p = sw + (wn * (D / 2) + j * 8 + g) * MF_KP + kk + tg * 2;
                const uint32_t b0 = ld_bf16x2(p), b1 = ld_bf16x2(p + 8);
                mma_bf16_16816(acc[0][j], af[0], b0, b1);
                mma_bf16_16816(acc[1][j], af[1], b0, b1);
            }
        }
        if constexpr (ASYNC) __syncthreads();   // this buffer's reads are done before the next chunk refills it
    }
    // Stage acc + bias as f32 rows.
    #pragma unroll
    for (int i = 0; i < 2; i++)
        #pragma unroll
        for (int j = 0; j < NT; j++) {
            const int c = wn * (D / 2) + j * 8 + tg * 2;
            #pragma unroll
            for (int h = 0; h < 2; h++) {
                const int r = wm * 32 + i * 16 + g + h * 8;
                ss[r * SP + c] = acc[i][j][2 * h] + bias[c];
                ss[r * SP + c + 1] = acc[i][j][2 * h + 1] + bias[c + 1];
            }
        }
    __syncthreads();
    // A warp per 16 rows: s = staged + res (written out), then its LayerNorm (two passes over the row in registers).
    constexpr int PER = (D + 31) / 32;
    for (int r = warp * 16; r < warp * 16 + 16; r++) {
        const long long t = row0 + r;
        if (t >= T) continue;   // uniform per warp
        float v[PER];
        float sum = 0.0f;
        #pragma unroll
        for (int q = 0; q < PER; q++) {
            const int c = lane + 32 * q;
            v[q] = c < D ? ss[r * SP + c] + res[t * D + c] : 0.0f;
            sum += v[q];
        }
        const float mean = ml_warp_sum(sum) / D;
        float var = 0.0f;
        #pragma unroll
        for (int q = 0; q < PER; q++) {
            const int c = lane + 32 * q;
            const float d = c < D ? v[q] - mean : 0.0f;
            var += d * d;
        }
        const float rstd = rsqrtf(ml_warp_sum(var) / D + eps);
        #pragma unroll
        for (int q = 0; q < PER; q++) {
            const int c = lane + 32 * q;
            if (c < D) {
                out_res[t * D + c] = v[q];
                out_ln[t * D + c] = __float2bfloat16_rn((v[q] - mean) * rstd * gamma[c] + beta[c]);
            }
        }
    }
}
