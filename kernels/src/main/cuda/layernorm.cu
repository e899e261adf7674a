// LayerNorm over the channel (last, contiguous) dimension of an NHWC tensor seen as [N tokens, C].
// The forward stores f32 (layernorm_forward) or bf16 (layernorm_forward_bf16, the inference activations) from one
// template on the storage type T: statistics and math are f32 either way, and bf16 is rounded once, at the store.
// The backward (training) is one template on the storage types of dinp, dout and x with f32 math, statistics (the
// forward's mean/rstd) and partials: layernorm_backward (f32) and layernorm_backward_<dout>_<x>_<dinp>[_acc], where
// _acc adds dx into dinp (the residual stream's f32 gradient). Each kernel chooses a path by C (kernels/lab/NOTES.md
// has the measurements):
//   - register groups (forward C <= 768, backward C <= 384; scalar path C <= 96): a token is held in registers by a
//     group of G = 4..32 lanes, several tokens per warp when C is small, so x (and dout) are read from DRAM once;
//   - backward 384 < C <= 768: a warp per token, dweight/dbias partials in shared memory;
//   - longer rows: a warp per token (the backward then re-reads x and dout in a column pass).
// 16-byte loads (a float4, or 8 bf16) when C is a multiple of that unit and the pointers allow it, scalar loads
// otherwise (odd C, views at odd offsets); the backward's unit is 4 values for every type (8 bytes of bf16).
//
// Launch geometry (the Java catalog computes it; see LayerNormKernels):
//   layernorm_forward(_bf16)   block 256 (8 warps), grid ceil(N / (8 * ln_tokens_per_warp(C, V))), V = values per
//                              16-byte unit (4 f32, 8 bf16); any grid is correct (grid-stride), a larger one only
//                              leaves blocks without work
//   layernorm_backward(_*)     block 256, grid ceil(N / rows_per_block); writes one partial row per block;
//                              rows_per_block = ceil(N / (3 * SMs)): one wave of 3 blocks per SM
//   layernorm_backward_reduce  block 256, grid ceil(C / 32)
#include "common.cuh"

#include <cuda_bf16.h>
#include <type_traits>

// ------------------------------------------------------------------------------------------ path choice
// A "unit" is what one load moves: 16 bytes on the vector path (a float4, or 8 bf16 in the forward), one element on
// the scalar one. Register groups hold at most 3 units per lane (96 per token); the forward's full warp may hold 24
// values per lane (C <= 768: 6 float4, or 3 units of 8 bf16). The backward keeps three arrays per unit live (x,
// dout, weight, then xhat and dout * w) plus two accumulators, so it stops at 3 units: 6 would need ~128 registers,
// 2 blocks per SM (ptxas -v; see the lab notes).
constexpr int LN_GROUP_MAX_UNITS = 96;
constexpr int LN_FORWARD_WIDE_MAX_C = 768;
constexpr int LN_F32_UNIT = 4;
constexpr int LN_BF16_UNIT = 8;
constexpr int LN_BACKWARD_MAX_GROUP_C = 4 * LN_GROUP_MAX_UNITS;
// Rows up to this long keep the backward's dweight/dbias partials in shared memory: 8 warps x 2 x 768 floats = 48 KB,
// the most a kernel may declare statically; the register-group path uses the first 2 x 384 of it.
constexpr int LN_BACKWARD_MAX_SHARED_C = 768;
constexpr int LN_BACKWARD_WARPS = 8;

// Lanes per token on the register path: the smallest group whose lanes hold the row in 3 units each, a full warp for
// up to max_units, or 0 for the warp-per-token path.
__host__ __device__ constexpr int ln_group_lanes(int units, int max_units) {
    return units > max_units ? 0 : units <= 12 ? 4 : units <= 24 ? 8 : units <= 48 ? 16 : 32;
}

// The forward's register-group limit in units of V values (V = 1: the scalar path).
__host__ __device__ constexpr int ln_forward_max_units(bool vec, int V) {
    return vec ? LN_FORWARD_WIDE_MAX_C / V : LN_GROUP_MAX_UNITS;
}

__host__ __device__ constexpr bool ln_vector_shape(int C) { return C % 4 == 0; }

// Tokens one forward warp handles at once, V values per vector unit (LN_F32_UNIT, LN_BF16_UNIT), for pointers
// aligned to the unit (how the arena hands them out); the host sizes the forward grid with it.
__host__ __device__ constexpr int ln_tokens_per_warp(int C, int V = LN_F32_UNIT) {
    const bool vec = C % V == 0;
    const int g = ln_group_lanes(vec ? C / V : C, ln_forward_max_units(vec, V));
    return g == 0 ? 1 : WARP_SIZE / g;
}

// ------------------------------------------------------------------------------------------ helpers
// Sum over the G lanes of an aligned group; G is a power of two <= 32, so xor offsets below G stay inside the group.
template <int G>
__device__ __forceinline__ float group_sum(float v) {
#pragma unroll
    for (int offset = G / 2; offset > 0; offset >>= 1) v += __shfl_xor_sync(FULL_MASK, v, offset);
    return v;
}

template <int BYTES>
__device__ __forceinline__ bool ln_aligned(const void* p) { return (reinterpret_cast<size_t>(p) & (BYTES - 1)) == 0; }

// V bf16 moved by one load: 8 or 16 bytes.
template <int V>
using bf16_unit_raw = std::conditional_t<V == 8, uint4, uint2>;

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

// Unit `unit` (values unit * V ..) of p into f32 registers: float4 loads for f32 (V a multiple of 4: bf16 rows read
// their f32 weight 8 at a time), one 8- or 16-byte load of bf16 pairs.
template <int V, typename T>
__device__ __forceinline__ void load_unit(float (&d)[V], const T* __restrict__ p, int unit) {
    if constexpr (V == 1) {
        d[0] = to_float(p[unit]);
    } else if constexpr (std::is_same_v<T, float>) {
        static_assert(V % 4 == 0, "f32 units are whole float4s");
#pragma unroll
        for (int i = 0; i < V / 4; i++) {
            const float4 t = reinterpret_cast<const float4*>(p)[unit * (V / 4) + i];
            d[4 * i] = t.x; d[4 * i + 1] = t.y; d[4 * i + 2] = t.z; d[4 * i + 3] = t.w;
        }
    } else {
        static_assert(std::is_same_v<T, __nv_bfloat16> && (V == 4 || V == 8), "bf16 units are 8 or 16 bytes");
        const bf16_unit_raw<V> raw = reinterpret_cast<const bf16_unit_raw<V>*>(p)[unit];
        const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
        for (int i = 0; i < V / 2; i++) {
            const float2 f = __bfloat1622float2(h[i]);
            d[2 * i] = f.x; d[2 * i + 1] = f.y;
        }
    }
}

template <int V>
__device__ __forceinline__ void zero_unit(float (&d)[V]) {
#pragma unroll
    for (int j = 0; j < V; j++) d[j] = 0.0f;
}

// Streaming store: neither kernel re-reads what it writes, so it need not displace inputs from L2 (STREAM = false: a
// plain store, the backward's long-row path). bf16 is rounded to nearest even here, the one rounding of the output.
template <bool STREAM, typename T>
__device__ __forceinline__ void ln_st(T* p, const T& v) {
    if constexpr (STREAM) __stcs(p, v); else *p = v;
}

template <int V, typename T, bool STREAM = true>
__device__ __forceinline__ void store_unit(T* __restrict__ p, int unit, const float (&d)[V]) {
    if constexpr (std::is_same_v<T, float>) {
        static_assert(V == 1 || V == 4, "f32 stores are a float or a float4");
        if constexpr (V == 4) ln_st<STREAM>(reinterpret_cast<float4*>(p) + unit, make_float4(d[0], d[1], d[2], d[3]));
        else ln_st<STREAM>(p + unit, d[0]);
    } else if constexpr (V == 1) {
        ln_st<STREAM>(p + unit, __float2bfloat16_rn(d[0]));
    } else {
        bf16_unit_raw<V> raw;
        __nv_bfloat162* h = reinterpret_cast<__nv_bfloat162*>(&raw);
#pragma unroll
        for (int i = 0; i < V / 2; i++) h[i] = __floats2bfloat162_rn(d[2 * i], d[2 * i + 1]);
        ln_st<STREAM>(reinterpret_cast<bf16_unit_raw<V>*>(p) + unit, raw);
    }
}

// ------------------------------------------------------------------------------------------ forward
// Register groups: G lanes per token, K units of V values per lane, 32 / G tokens per warp. The row is read once into
// registers; mean, then the centred variance (not E[x^2] - E[x]^2, which loses digits when |mean| >> std) come from
// those registers. The loop bound is uniform per warp so every shuffle sees all 32 lanes; a group past the end of
// the tensor computes on zeros and stores nothing. AFFINE = false (lab only: kernels/lab/layernorm_lab.cu, the
// fold-into-fc1 question) stores (x - mean) * rstd and never reads weight or bias.
template <typename TO, typename TI, int G, int K, int V, bool AFFINE = true>
__device__ __forceinline__ void ln_forward_groups(TO* __restrict__ out, float* __restrict__ mean,
                                                  float* __restrict__ rstd, const TI* __restrict__ inp,
                                                  const float* __restrict__ weight, const float* __restrict__ bias,
                                                  int N, int C, float eps) {
    constexpr int GPW = WARP_SIZE / G;
    const int lane = threadIdx.x % WARP_SIZE, sub = lane % G, grp = lane / G;
    const int warps = blockDim.x / WARP_SIZE;
    const int units = C / V;
    const int stride = gridDim.x * warps * GPW;
    for (int base = (blockIdx.x * warps + threadIdx.x / WARP_SIZE) * GPW; base < N; base += stride) {
        const int row = base + grp;
        const bool live = row < N;
        const TI* x = inp + (size_t)row * C;
        float v[K][V];
#pragma unroll
        for (int k = 0; k < K; k++) {
            if (live && sub + G * k < units) load_unit<V>(v[k], x, sub + G * k); else zero_unit<V>(v[k]);
        }
        float acc = 0.0f;
#pragma unroll
        for (int k = 0; k < K; k++)
#pragma unroll
            for (int j = 0; j < V; j++) acc += v[k][j];
        const float m = group_sum<G>(acc) / C;
        acc = 0.0f;
#pragma unroll
        for (int k = 0; k < K; k++) {
            if (sub + G * k < units) {  // a padding zero would add m^2
#pragma unroll
                for (int j = 0; j < V; j++) { const float d = v[k][j] - m; acc += d * d; }
            }
        }
        const float s = rsqrtf(group_sum<G>(acc) / C + eps);
        if (!live) continue;
        TO* o = out + (size_t)row * C;
#pragma unroll
        for (int k = 0; k < K; k++) {
            const int u = sub + G * k;
            if (u < units) {
                float r[V];
                if constexpr (AFFINE) {
                    float w[V], b[V];
                    load_unit<V>(w, weight, u);
                    load_unit<V>(b, bias, u);
#pragma unroll
                    for (int j = 0; j < V; j++) r[j] = (v[k][j] - m) * s * w[j] + b[j];
                } else {
#pragma unroll
                    for (int j = 0; j < V; j++) r[j] = (v[k][j] - m) * s;
                }
                store_unit<V>(o, u, r);
            }
        }
        if (sub == 0) {
            if (mean != nullptr) mean[row] = m;
            if (rstd != nullptr) rstd[row] = s;
        }
    }
}

// One warp per token, for rows too long for registers: two reductions over the row (re-read from L1), then the write.
template <typename TO, typename TI, int V, bool AFFINE = true>
__device__ __forceinline__ void ln_forward_warp_rows(TO* __restrict__ out, float* __restrict__ mean,
                                                     float* __restrict__ rstd, const TI* __restrict__ inp,
                                                     const float* __restrict__ weight, const float* __restrict__ bias,
                                                     int N, int C, float eps) {
    const int lane = threadIdx.x % WARP_SIZE;
    const int warps = blockDim.x / WARP_SIZE;
    const int units = C / V;
    for (int row = blockIdx.x * warps + threadIdx.x / WARP_SIZE; row < N; row += gridDim.x * warps) {
        const TI* x = inp + (size_t)row * C;
        TO* o = out + (size_t)row * C;
        float acc = 0.0f;
        for (int u = lane; u < units; u += WARP_SIZE) {
            float v[V];
            load_unit<V>(v, x, u);
            float t = v[0];
#pragma unroll
            for (int j = 1; j < V; j++) t += v[j];
            acc += t;
        }
        const float m = warp_sum(acc) / C;
        acc = 0.0f;
        for (int u = lane; u < units; u += WARP_SIZE) {
            float v[V];
            load_unit<V>(v, x, u);
            float t = (v[0] - m) * (v[0] - m);
#pragma unroll
            for (int j = 1; j < V; j++) t += (v[j] - m) * (v[j] - m);
            acc += t;
        }
        const float s = rsqrtf(warp_sum(acc) / C + eps);
        for (int u = lane; u < units; u += WARP_SIZE) {
            float v[V], r[V];
            load_unit<V>(v, x, u);
            if constexpr (AFFINE) {
                float w[V], b[V];
                load_unit<V>(w, weight, u);
                load_unit<V>(b, bias, u);
#pragma unroll
                for (int j = 0; j < V; j++) r[j] = (v[j] - m) * s * w[j] + b[j];
            } else {
#pragma unroll
                for (int j = 0; j < V; j++) r[j] = (v[j] - m) * s;
            }
            store_unit<V>(o, u, r);
        }
        if (lane == 0) {
            if (mean != nullptr) mean[row] = m;
            if (rstd != nullptr) rstd[row] = s;
        }
    }
}

// out = (x - mean) * rstd * weight + bias per token, TI, TO = float or __nv_bfloat16, V values per vector unit. The vector
// path needs x and out aligned to the unit and weight/bias to 16 bytes (read as float4). AFFINE = false: out =
// (x - mean) * rstd, weight and bias unread (may be null); no extern "C" kernel instantiates it (the lab does).
template <typename TO, typename TI, int V, bool AFFINE = true>
__device__ __forceinline__ void ln_forward(TO* __restrict__ out, float* __restrict__ mean, float* __restrict__ rstd,
                                           const TI* __restrict__ inp, const float* __restrict__ weight,
                                           const float* __restrict__ bias, int N, int C, float eps) {
    constexpr int WIDE_K = LN_FORWARD_WIDE_MAX_C / V / WARP_SIZE;  // a full warp's units per lane: 6 float4, 3 x 8 bf16
    const bool vec = C % V == 0 && ln_aligned<V * sizeof(TI)>(inp) && ln_aligned<V * sizeof(TO)>(out)
                     && (!AFFINE || (aligned16(weight) && aligned16(bias)));
    const int units = vec ? C / V : C;
    const int g = ln_group_lanes(units, ln_forward_max_units(vec, V));
    if (vec) {
        switch (g) {
            case 4: ln_forward_groups<TO, TI, 4, 3, V, AFFINE>(out, mean, rstd, inp, weight, bias, N, C, eps); return;
            case 8: ln_forward_groups<TO, TI, 8, 3, V, AFFINE>(out, mean, rstd, inp, weight, bias, N, C, eps); return;
            case 16: ln_forward_groups<TO, TI, 16, 3, V, AFFINE>(out, mean, rstd, inp, weight, bias, N, C, eps); return;
            case 32:
                if constexpr (WIDE_K > 3) {
                    if (units > 3 * WARP_SIZE) {
                        ln_forward_groups<TO, TI, 32, WIDE_K, V, AFFINE>(out, mean, rstd, inp, weight, bias, N, C, eps);
                        return;
                    }
                }
                ln_forward_groups<TO, TI, 32, 3, V, AFFINE>(out, mean, rstd, inp, weight, bias, N, C, eps);
                return;
        }
        ln_forward_warp_rows<TO, TI, V, AFFINE>(out, mean, rstd, inp, weight, bias, N, C, eps);
    } else {
        switch (g) {
            case 4: ln_forward_groups<TO, TI, 4, 3, 1, AFFINE>(out, mean, rstd, inp, weight, bias, N, C, eps); return;
            case 8: ln_forward_groups<TO, TI, 8, 3, 1, AFFINE>(out, mean, rstd, inp, weight, bias, N, C, eps); return;
            case 16: ln_forward_groups<TO, TI, 16, 3, 1, AFFINE>(out, mean, rstd, inp, weight, bias, N, C, eps); return;
            case 32: ln_forward_groups<TO, TI, 32, 3, 1, AFFINE>(out, mean, rstd, inp, weight, bias, N, C, eps); return;
        }
        ln_forward_warp_rows<TO, TI, 1, AFFINE>(out, mean, rstd, inp, weight, bias, N, C, eps);
    }
}

// mean and rstd (length N) are written for the backward; either may be null (inference).
extern "C" __global__ void __launch_bounds__(256) layernorm_forward(float* __restrict__ out, float* __restrict__ mean,
                                             float* __restrict__ rstd, const float* __restrict__ inp,
                                             const float* __restrict__ weight, const float* __restrict__ bias,
                                             int N, int C, float eps) {
    ln_forward<float, float, LN_F32_UNIT>(out, mean, rstd, inp, weight, bias, N, C, eps);
}

// bf16 activations in and out; weight, bias, mean and rstd stay f32 (C and N values: noise next to the rows).
extern "C" __global__ void __launch_bounds__(256) layernorm_forward_bf16(__nv_bfloat16* __restrict__ out,
                                             float* __restrict__ mean, float* __restrict__ rstd,
                                             const __nv_bfloat16* __restrict__ inp, const float* __restrict__ weight,
                                             const float* __restrict__ bias, int N, int C, float eps) {
    ln_forward<__nv_bfloat16, __nv_bfloat16, LN_BF16_UNIT>(out, mean, rstd, inp, weight, bias, N, C, eps);
}

// f32 in (the residual stream of a bf16 program, kept f32 as PyTorch's autocast keeps it), bf16 out (the next GEMM's
// operand); units of 4 values (a float4 in, 8 bytes out), so the geometry is the f32 forward's.
extern "C" __global__ void __launch_bounds__(256) layernorm_forward_f32_bf16(__nv_bfloat16* __restrict__ out,
                                             float* __restrict__ mean, float* __restrict__ rstd,
                                             const float* __restrict__ inp, const float* __restrict__ weight,
                                             const float* __restrict__ bias, int N, int C, float eps) {
    ln_forward<__nv_bfloat16, float, LN_F32_UNIT>(out, mean, rstd, inp, weight, bias, N, C, eps);
}

// ------------------------------------------------------------------------------------------ backward
// dx = rstd * (dout * w - mean(dout * w) - xhat * mean(dout * w * xhat)), xhat = (x - mean) * rstd;
// dweight += dout * xhat, dbias += dout, summed over the block's rows into its partial row.
//
// One template on the storage types serves every variant: TG = dinp, TD = dout, TX = inp (each float or bf16), and
// ACC: false overwrites dinp with dx, true adds dx into it (dinp += dx: each unit of dinp read back and written by the
// thread that computed it, no separate add pass), for the residual stream's gradient, where the shortcut's share is
// already in the buffer. ACC needs f32 dinp: the residual stream and its gradient are f32 in every program, and a
// bf16 read-modify-write would round the sum at every accumulation. mean/rstd come from the forward (f32 [N]); all
// math, the statistics and the partials are f32 whatever the storage, and a bf16 dinp is rounded once, at the store.
// The vector unit is 4 values for every type (a float4, or 8 bytes of bf16), so the paths, their C limits and the
// geometry are the f32 ones: the limit of 3 units per lane is a register budget (x, dout, w, then xhat and dout * w
// per value), which 8-value bf16 units would double.

// Whether a view may be read or written in units of V values of T (the vector path).
template <int V, typename T>
__device__ __forceinline__ bool ln_unit_aligned(const T* p) { return ln_aligned<V * (int)sizeof(T)>(p); }

// Unit u of dinp = r (ACC false), or dinp + r (ACC true: the same thread reads the unit back first; nothing else
// touches it in the kernel). STREAM: the evict-first store (see store_unit).
template <bool ACC, bool STREAM, int V, typename TG>
__device__ __forceinline__ void ln_store_dx(TG* __restrict__ dx, int u, float (&r)[V]) {
    if constexpr (ACC) {
        static_assert(std::is_same_v<TG, float>, "dinp += dx is f32 (the residual stream's gradient)");
        float old[V];
        load_unit<V>(old, dx, u);
#pragma unroll
        for (int j = 0; j < V; j++) r[j] = old[j] + r[j];
    }
    store_unit<V, TG, STREAM>(dx, u, r);
}

// Register groups over rows [r0, r1) of this block: each lane keeps the dweight/dbias sums of the channels it owns
// (the same channels for every row its group handles) in registers, so x and dout are read from DRAM exactly once.
// At the end the groups of a warp are combined by an xor butterfly and the warps in fixed order through `red`
// (2 * LN_BACKWARD_MAX_GROUP_C floats of shared memory): which thread adds which value in which order depends only on
// (block, thread), so the partial rows, and the reduced dweight/dbias, are bit-identical run to run.
template <typename TG, typename TD, typename TX, bool ACC, int G, int K, int V>
__device__ __forceinline__ void ln_backward_groups(TG* __restrict__ dinp, float* __restrict__ dweight_partial,
                                                   float* __restrict__ dbias_partial, const TD* __restrict__ dout,
                                                   const TX* __restrict__ inp, const float* __restrict__ weight,
                                                   const float* __restrict__ mean, const float* __restrict__ rstd,
                                                   int N, int C, int rows_per_block, float* red) {
    constexpr int GPW = WARP_SIZE / G;
    const int lane = threadIdx.x % WARP_SIZE, sub = lane % G, grp = lane / G;
    const int warp = threadIdx.x / WARP_SIZE, warps = blockDim.x / WARP_SIZE;
    const int units = C / V;
    const int r0 = blockIdx.x * rows_per_block;
    const int r1 = min(N, r0 + rows_per_block);

    float aw[K][V], ab[K][V];
#pragma unroll
    for (int k = 0; k < K; k++) { zero_unit<V>(aw[k]); zero_unit<V>(ab[k]); }

    for (int base = r0 + warp * GPW; base < r1; base += warps * GPW) {  // uniform per warp: full-mask shuffles
        const int row = base + grp;
        const bool live = row < r1;
        const float m = live ? mean[row] : 0.0f, s = live ? rstd[row] : 0.0f;
        const TX* x = inp + (size_t)row * C;
        const TD* g = dout + (size_t)row * C;
        // Padding units and dead rows load zeros: they add exactly 0 to every sum below.
        float xh[K][V], dn[K][V];
#pragma unroll
        for (int k = 0; k < K; k++) {
            const int u = sub + G * k;
            float xv[V], gv[V], wv[V];
            if (live && u < units) {
                load_unit<V>(xv, x, u); load_unit<V>(gv, g, u); load_unit<V>(wv, weight, u);
            } else {
                zero_unit<V>(xv); zero_unit<V>(gv); zero_unit<V>(wv);
            }
#pragma unroll
            for (int j = 0; j < V; j++) {
                xh[k][j] = (xv[j] - m) * s;
                dn[k][j] = gv[j] * wv[j];
                aw[k][j] += gv[j] * xh[k][j];
                ab[k][j] += gv[j];
            }
        }
        float sum_dn = 0.0f, sum_dnx = 0.0f;
#pragma unroll
        for (int k = 0; k < K; k++)
#pragma unroll
            for (int j = 0; j < V; j++) { sum_dn += dn[k][j]; sum_dnx += dn[k][j] * xh[k][j]; }
        const float mean_dn = group_sum<G>(sum_dn) / C;
        const float mean_dnx = group_sum<G>(sum_dnx) / C;
        if (!live) continue;
        TG* dx = dinp + (size_t)row * C;
#pragma unroll
        for (int k = 0; k < K; k++) {
            const int u = sub + G * k;
            if (u < units) {
                float r[V];
#pragma unroll
                for (int j = 0; j < V; j++) r[j] = s * (dn[k][j] - mean_dn - xh[k][j] * mean_dnx);
                ln_store_dx<ACC, true, V>(dx, u, r);
            }
        }
    }

    // Groups of a warp that own the same channels: lanes sub, sub + G, sub + 2G, ...
#pragma unroll
    for (int offset = G; offset < WARP_SIZE; offset <<= 1) {
#pragma unroll
        for (int k = 0; k < K; k++)
#pragma unroll
            for (int j = 0; j < V; j++) {
                aw[k][j] += __shfl_xor_sync(FULL_MASK, aw[k][j], offset);
                ab[k][j] += __shfl_xor_sync(FULL_MASK, ab[k][j], offset);
            }
    }
    // Warps in order 0, 1, ..., each adding its sums to the running ones (group 0 of the warp writes).
    for (int w = 0; w < warps; w++) {
        if (warp == w && grp == 0) {
#pragma unroll
            for (int k = 0; k < K; k++) {
                const int u = sub + G * k;
                if (u < units) {
#pragma unroll
                    for (int j = 0; j < V; j++) {
                        const int c = u * V + j;
                        red[c] = w == 0 ? aw[k][j] : red[c] + aw[k][j];
                        red[LN_BACKWARD_MAX_GROUP_C + c] = w == 0 ? ab[k][j] : red[LN_BACKWARD_MAX_GROUP_C + c] + ab[k][j];
                    }
                }
            }
        }
        __syncthreads();
    }
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        dweight_partial[(size_t)blockIdx.x * C + c] = red[c];
        dbias_partial[(size_t)blockIdx.x * C + c] = red[LN_BACKWARD_MAX_GROUP_C + c];
    }
}

// The warp-per-row paths' passes over one row, in units of V values (4: the vector path, 1: scalar). First pass of
// the shared-memory path: sum_dn += sum of dout * w, sum_dnx += sum of dout * w * xhat, and the row's dout * xhat and
// dout added into this warp's partial slices pw/pb (a float4 at a time on the vector path).
template <int V, typename TD, typename TX>
__device__ __forceinline__ void ln_row_sums_partials(float& sum_dn, float& sum_dnx, float* pw, float* pb,
                                                     const TX* __restrict__ x, const TD* __restrict__ g,
                                                     const float* __restrict__ weight, float m, float s, int C,
                                                     int lane) {
    for (int i = lane; i < C / V; i += WARP_SIZE) {
        float v[V], gg[V], w[V], h[V], d[V];
        load_unit<V>(v, x, i); load_unit<V>(gg, g, i); load_unit<V>(w, weight, i);
#pragma unroll
        for (int j = 0; j < V; j++) { h[j] = (v[j] - m) * s; d[j] = gg[j] * w[j]; }
        float t = d[0], q = d[0] * h[0];
#pragma unroll
        for (int j = 1; j < V; j++) { t += d[j]; q += d[j] * h[j]; }
        sum_dn += t;
        sum_dnx += q;
        if constexpr (V == 4) {
            float4* pw4 = reinterpret_cast<float4*>(pw);
            float4* pb4 = reinterpret_cast<float4*>(pb);
            float4 a = pw4[i], b = pb4[i];
            a.x += gg[0] * h[0]; a.y += gg[1] * h[1]; a.z += gg[2] * h[2]; a.w += gg[3] * h[3];
            b.x += gg[0]; b.y += gg[1]; b.z += gg[2]; b.w += gg[3];
            pw4[i] = a;
            pb4[i] = b;
        } else {
            pw[i] += gg[0] * h[0];
            pb[i] += gg[0];
        }
    }
}

// First pass of the long-row path: the same sums, with sum_dnx still unscaled by rstd (sum of dout * w * (x - mean)).
template <int V, typename TD, typename TX>
__device__ __forceinline__ void ln_row_sums(float& sum_dn, float& sum_dnx, const TX* __restrict__ x,
                                            const TD* __restrict__ g, const float* __restrict__ weight, float m,
                                            int C, int lane) {
    for (int i = lane; i < C / V; i += WARP_SIZE) {
        float v[V], gg[V], w[V], d[V];
        load_unit<V>(v, x, i); load_unit<V>(gg, g, i); load_unit<V>(w, weight, i);
#pragma unroll
        for (int j = 0; j < V; j++) d[j] = gg[j] * w[j];
        float t = d[0], q = d[0] * (v[0] - m);
#pragma unroll
        for (int j = 1; j < V; j++) { t += d[j]; q += d[j] * (v[j] - m); }
        sum_dn += t;
        sum_dnx += q;
    }
}

// Second pass: dx from the re-read row (L1/L2), written or added (ACC) to dinp's row.
template <bool ACC, bool STREAM, int V, typename TG, typename TD, typename TX>
__device__ __forceinline__ void ln_row_dx(TG* __restrict__ dx, const TX* __restrict__ x, const TD* __restrict__ g,
                                          const float* __restrict__ weight, float m, float s, float mean_dn,
                                          float mean_dnx, int C, int lane) {
    for (int i = lane; i < C / V; i += WARP_SIZE) {
        float v[V], gg[V], w[V], r[V];
        load_unit<V>(v, x, i); load_unit<V>(gg, g, i); load_unit<V>(w, weight, i);
#pragma unroll
        for (int j = 0; j < V; j++) r[j] = s * (gg[j] * w[j] - mean_dn - (v[j] - m) * s * mean_dnx);
        ln_store_dx<ACC, STREAM, V>(dx, i, r);
    }
}

// One warp per row for rows too long for register groups but at most LN_BACKWARD_MAX_SHARED_C channels: the row is
// read twice (sums, then dx; the second read comes from L1/L2 right after the first), and during the first read each
// warp adds dout * xhat and dout into its own [2][C] slice of `part` (shared memory). A lane always touches the same
// channels of its slice, so no synchronisation is needed until the 8 slices are summed in warp order at the end:
// deterministic, and x and dout come from DRAM once (the column pass below reads them a second time).
template <typename TG, typename TD, typename TX, bool ACC>
__device__ __forceinline__ void ln_backward_warp_rows_shared(TG* __restrict__ dinp,
                                                             float* __restrict__ dweight_partial,
                                                             float* __restrict__ dbias_partial,
                                                             const TD* __restrict__ dout,
                                                             const TX* __restrict__ inp,
                                                             const float* __restrict__ weight,
                                                             const float* __restrict__ mean,
                                                             const float* __restrict__ rstd,
                                                             int N, int C, int rows_per_block, bool vec, float* part) {
    const int lane = threadIdx.x % WARP_SIZE;
    const int warp = threadIdx.x / WARP_SIZE;
    const int warps = blockDim.x / WARP_SIZE;
    const int r0 = blockIdx.x * rows_per_block;
    const int r1 = min(N, r0 + rows_per_block);
    float* pw = part + (size_t)warp * 2 * LN_BACKWARD_MAX_SHARED_C;
    float* pb = pw + LN_BACKWARD_MAX_SHARED_C;
    for (int c = lane; c < C; c += WARP_SIZE) { pw[c] = 0.0f; pb[c] = 0.0f; }
    __syncwarp();  // zeroed by lane c % 32, updated below by the lane that owns float4 c / 4 on the vector path

    for (int row = r0 + warp; row < r1; row += warps) {
        const TX* x = inp + (size_t)row * C;
        const TD* g = dout + (size_t)row * C;
        TG* dx = dinp + (size_t)row * C;
        const float m = mean[row], s = rstd[row];
        float sum_dn = 0.0f, sum_dnx = 0.0f;
        if (vec) ln_row_sums_partials<4>(sum_dn, sum_dnx, pw, pb, x, g, weight, m, s, C, lane);
        else ln_row_sums_partials<1>(sum_dn, sum_dnx, pw, pb, x, g, weight, m, s, C, lane);
        const float mean_dn = warp_sum(sum_dn) / C;
        const float mean_dnx = warp_sum(sum_dnx) / C;
        if (vec) ln_row_dx<ACC, true, 4>(dx, x, g, weight, m, s, mean_dn, mean_dnx, C, lane);
        else ln_row_dx<ACC, true, 1>(dx, x, g, weight, m, s, mean_dn, mean_dnx, C, lane);
    }
    __syncthreads();
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float dw = 0.0f, db = 0.0f;
        for (int w = 0; w < warps; w++) {
            dw += part[(size_t)w * 2 * LN_BACKWARD_MAX_SHARED_C + c];
            db += part[(size_t)w * 2 * LN_BACKWARD_MAX_SHARED_C + LN_BACKWARD_MAX_SHARED_C + c];
        }
        dweight_partial[(size_t)blockIdx.x * C + c] = dw;
        dbias_partial[(size_t)blockIdx.x * C + c] = db;
    }
}

// One warp per row, then a column pass over the same rows (thread per channel, rows in order) for the partials. For
// rows longer than LN_BACKWARD_MAX_SHARED_C: the column pass re-reads x and dout (from DRAM once the tensor exceeds
// L2). The mainline until round 2 (lab v2).
template <typename TG, typename TD, typename TX, bool ACC>
__device__ __forceinline__ void ln_backward_rows_then_columns(TG* __restrict__ dinp,
                                                              float* __restrict__ dweight_partial,
                                                              float* __restrict__ dbias_partial,
                                                              const TD* __restrict__ dout,
                                                              const TX* __restrict__ inp,
                                                              const float* __restrict__ weight,
                                                              const float* __restrict__ mean,
                                                              const float* __restrict__ rstd,
                                                              int N, int C, int rows_per_block, bool vec) {
    const int lane = threadIdx.x % WARP_SIZE;
    const int warp = threadIdx.x / WARP_SIZE;
    const int warps = blockDim.x / WARP_SIZE;
    const int r0 = blockIdx.x * rows_per_block;
    const int r1 = min(N, r0 + rows_per_block);

    for (int row = r0 + warp; row < r1; row += warps) {
        const TX* x = inp + (size_t)row * C;
        const TD* g = dout + (size_t)row * C;
        TG* dx = dinp + (size_t)row * C;
        const float m = mean[row], s = rstd[row];
        float sum_dn = 0.0f, sum_dnx = 0.0f;
        if (vec) ln_row_sums<4>(sum_dn, sum_dnx, x, g, weight, m, C, lane);
        else ln_row_sums<1>(sum_dn, sum_dnx, x, g, weight, m, C, lane);
        const float mean_dn = warp_sum(sum_dn) / C;
        const float mean_dnx = warp_sum(sum_dnx) * s / C;
        if (vec) ln_row_dx<ACC, false, 4>(dx, x, g, weight, m, s, mean_dn, mean_dnx, C, lane);
        else ln_row_dx<ACC, false, 1>(dx, x, g, weight, m, s, mean_dn, mean_dnx, C, lane);
    }

    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float dw = 0.0f, db = 0.0f;
        for (int row = r0; row < r1; ++row) {
            const float g = to_float(dout[(size_t)row * C + c]);
            dw += g * (to_float(inp[(size_t)row * C + c]) - mean[row]) * rstd[row];
            db += g;
        }
        dweight_partial[(size_t)blockIdx.x * C + c] = dw;
        dbias_partial[(size_t)blockIdx.x * C + c] = db;
    }
}

// dinp for rows [blockIdx.x * rows_per_block, +rows_per_block) (written, or added to when ACC) and this block's
// partial sums of dweight and dbias over the same rows, written to row blockIdx.x of the [gridDim.x, C] partial
// buffers. Partials then a fixed-order reduction instead of atomics: the result is bit-for-bit repeatable. `part` is
// the kernel's 48 KB of static shared memory (16-byte aligned: the vector paths use it as float4).
template <typename TG, typename TD, typename TX, bool ACC>
__device__ __forceinline__ void ln_backward(TG* __restrict__ dinp, float* __restrict__ dweight_partial,
                                            float* __restrict__ dbias_partial, const TD* __restrict__ dout,
                                            const TX* __restrict__ inp, const float* __restrict__ weight,
                                            const float* __restrict__ mean, const float* __restrict__ rstd,
                                            int N, int C, int rows_per_block, float* part) {
    const bool vec = ln_vector_shape(C) && ln_unit_aligned<LN_F32_UNIT>(dinp) && ln_unit_aligned<LN_F32_UNIT>(dout)
                     && ln_unit_aligned<LN_F32_UNIT>(inp) && aligned16(weight);
    const int units = vec ? C / 4 : C;
    const int g = ln_group_lanes(units, LN_GROUP_MAX_UNITS);
#define LN_BWD_GROUPS(G, K, V) ln_backward_groups<TG, TD, TX, ACC, G, K, V>(dinp, dweight_partial, dbias_partial, \
                                                   dout, inp, weight, mean, rstd, N, C, rows_per_block, part)
    if (vec) {
        switch (g) {
            case 4: LN_BWD_GROUPS(4, 3, 4); return;
            case 8: LN_BWD_GROUPS(8, 3, 4); return;
            case 16: LN_BWD_GROUPS(16, 3, 4); return;
            case 32: LN_BWD_GROUPS(32, 3, 4); return;
        }
    } else {
        switch (g) {
            case 4: LN_BWD_GROUPS(4, 3, 1); return;
            case 8: LN_BWD_GROUPS(8, 3, 1); return;
            case 16: LN_BWD_GROUPS(16, 3, 1); return;
            case 32: LN_BWD_GROUPS(32, 3, 1); return;
        }
    }
#undef LN_BWD_GROUPS
    if (C <= LN_BACKWARD_MAX_SHARED_C) {
        ln_backward_warp_rows_shared<TG, TD, TX, ACC>(dinp, dweight_partial, dbias_partial, dout, inp, weight, mean,
                                                      rstd, N, C, rows_per_block, vec, part);
        return;
    }
    ln_backward_rows_then_columns<TG, TD, TX, ACC>(dinp, dweight_partial, dbias_partial, dout, inp, weight, mean, rstd,
                                                   N, C, rows_per_block, vec);
}

// The kernels: ln_backward on the storage types, named layernorm_backward_<dout>_<x>_<dinp>[_acc] (the f32 original
// keeps its name). All take the same parameters and the same geometry (LayerNormKernels.backward*), at most 85
// registers so 3 blocks of 256 fit an SM (the host sizes the grid to one such wave; the wave arithmetic must not
// depend on what ptxas happens to take), 48 KB of static shared memory. Which program uses which (bf16 programs keep
// the residual stream and its gradient f32, Lowering.activationType):
//   layernorm_backward                 f32 program, dinp written (an LN whose input has no other reader: stem, conv)
//   layernorm_backward_f32_f32_f32_acc f32 program, a block's LN: dinp (the residual gradient) += dx
//   layernorm_backward_bf16_f32_f32_acc bf16 program, a block's LN: bf16 dout from fc1's dX GEMM, f32 residual x
//   layernorm_backward_bf16_f32_f32    bf16 program, f32 residual x read by this LN alone (downsampling, norm first)
//   layernorm_backward_f32_f32_bf16    bf16 program, LN after a conv whose output feeds the residual stream (stem.norm2,
//                                      downsampling conv first): f32 dout (the residual gradient), bf16 dinp for the
//                                      conv's backward GEMMs
//   layernorm_backward_bf16_f32_bf16   the same after a conv, with bf16 dout (stem.norm1, read by the activation)
//   layernorm_backward_bf16_bf16_bf16  bf16 x (e.g. the MLP head's norm after GELU): dinp in x's dtype
#define LN_BWD_SHARED __shared__ __align__(16) float part[LN_BACKWARD_WARPS * 2 * LN_BACKWARD_MAX_SHARED_C]

extern "C" __global__ void __launch_bounds__(LN_BACKWARD_WARPS * WARP_SIZE, 3) layernorm_backward(float* __restrict__ dinp, float* __restrict__ dweight_partial,
                                              float* __restrict__ dbias_partial, const float* __restrict__ dout,
                                              const float* __restrict__ inp, const float* __restrict__ weight,
                                              const float* __restrict__ mean, const float* __restrict__ rstd,
                                              int N, int C, int rows_per_block) {
    LN_BWD_SHARED;
    ln_backward<float, float, float, false>(dinp, dweight_partial, dbias_partial, dout, inp, weight, mean, rstd, N, C,
                                            rows_per_block, part);
}

extern "C" __global__ void __launch_bounds__(LN_BACKWARD_WARPS * WARP_SIZE, 3) layernorm_backward_f32_f32_f32_acc(
        float* __restrict__ dinp, float* __restrict__ dweight_partial, float* __restrict__ dbias_partial,
        const float* __restrict__ dout, const float* __restrict__ inp, const float* __restrict__ weight,
        const float* __restrict__ mean, const float* __restrict__ rstd, int N, int C, int rows_per_block) {
    LN_BWD_SHARED;
    ln_backward<float, float, float, true>(dinp, dweight_partial, dbias_partial, dout, inp, weight, mean, rstd, N, C,
                                           rows_per_block, part);
}

extern "C" __global__ void __launch_bounds__(LN_BACKWARD_WARPS * WARP_SIZE, 3) layernorm_backward_bf16_f32_f32_acc(
        float* __restrict__ dinp, float* __restrict__ dweight_partial, float* __restrict__ dbias_partial,
        const __nv_bfloat16* __restrict__ dout, const float* __restrict__ inp, const float* __restrict__ weight,
        const float* __restrict__ mean, const float* __restrict__ rstd, int N, int C, int rows_per_block) {
    LN_BWD_SHARED;
    ln_backward<float, __nv_bfloat16, float, true>(dinp, dweight_partial, dbias_partial, dout, inp, weight, mean, rstd,
                                                   N, C, rows_per_block, part);
}

extern "C" __global__ void __launch_bounds__(LN_BACKWARD_WARPS * WARP_SIZE, 3) layernorm_backward_bf16_f32_f32(
        float* __restrict__ dinp, float* __restrict__ dweight_partial, float* __restrict__ dbias_partial,
        const __nv_bfloat16* __restrict__ dout, const float* __restrict__ inp, const float* __restrict__ weight,
        const float* __restrict__ mean, const float* __restrict__ rstd, int N, int C, int rows_per_block) {
    LN_BWD_SHARED;
    ln_backward<float, __nv_bfloat16, float, false>(dinp, dweight_partial, dbias_partial, dout, inp, weight, mean,
                                                    rstd, N, C, rows_per_block, part);
}

extern "C" __global__ void __launch_bounds__(LN_BACKWARD_WARPS * WARP_SIZE, 3) layernorm_backward_f32_f32_bf16(
        __nv_bfloat16* __restrict__ dinp, float* __restrict__ dweight_partial, float* __restrict__ dbias_partial,
        const float* __restrict__ dout, const float* __restrict__ inp, const float* __restrict__ weight,
        const float* __restrict__ mean, const float* __restrict__ rstd, int N, int C, int rows_per_block) {
    LN_BWD_SHARED;
    ln_backward<__nv_bfloat16, float, float, false>(dinp, dweight_partial, dbias_partial, dout, inp, weight, mean,
                                                    rstd, N, C, rows_per_block, part);
}

extern "C" __global__ void __launch_bounds__(LN_BACKWARD_WARPS * WARP_SIZE, 3) layernorm_backward_bf16_f32_bf16(
        __nv_bfloat16* __restrict__ dinp, float* __restrict__ dweight_partial, float* __restrict__ dbias_partial,
        const __nv_bfloat16* __restrict__ dout, const float* __restrict__ inp, const float* __restrict__ weight,
        const float* __restrict__ mean, const float* __restrict__ rstd, int N, int C, int rows_per_block) {
    LN_BWD_SHARED;
    ln_backward<__nv_bfloat16, __nv_bfloat16, float, false>(dinp, dweight_partial, dbias_partial, dout, inp, weight,
                                                            mean, rstd, N, C, rows_per_block, part);
}

extern "C" __global__ void __launch_bounds__(LN_BACKWARD_WARPS * WARP_SIZE, 3) layernorm_backward_bf16_bf16_bf16(
        __nv_bfloat16* __restrict__ dinp, float* __restrict__ dweight_partial, float* __restrict__ dbias_partial,
        const __nv_bfloat16* __restrict__ dout, const __nv_bfloat16* __restrict__ inp, const float* __restrict__ weight,
        const float* __restrict__ mean, const float* __restrict__ rstd, int N, int C, int rows_per_block) {
    LN_BWD_SHARED;
    ln_backward<__nv_bfloat16, __nv_bfloat16, __nv_bfloat16, false>(dinp, dweight_partial, dbias_partial, dout, inp,
                                                                    weight, mean, rstd, N, C, rows_per_block, part);
}
#undef LN_BWD_SHARED

// dweight[c] = sum over the partial rows p of dweight_partial[p, c] (same for dbias): overwrites. A block takes 32
// channels; warp w sums rows w, w + warps, ... of its lane's channel (coalesced 128-byte rows, several loads in
// flight), then warp 0 adds the warps' sums in order 0, 1, ...: a fixed order, so bit-identical run to run. One
// thread per channel walking all rows (the first version) was latency-bound: ~30 us for 523 rows.
extern "C" __global__ void layernorm_backward_reduce(float* __restrict__ dweight, float* __restrict__ dbias,
                                                     const float* __restrict__ dweight_partial,
                                                     const float* __restrict__ dbias_partial,
                                                     int num_partials, int C) {
    __shared__ float sw[WARP_SIZE][WARP_SIZE], sb[WARP_SIZE][WARP_SIZE];  // [warp][lane], up to 1024 threads
    const int lane = threadIdx.x % WARP_SIZE, warp = threadIdx.x / WARP_SIZE, warps = blockDim.x / WARP_SIZE;
    const int c = blockIdx.x * WARP_SIZE + lane;
    float dw = 0.0f, db = 0.0f;
    if (c < C) {
#pragma unroll 8
        for (int p = warp; p < num_partials; p += warps) {
            dw += dweight_partial[(size_t)p * C + c];
            db += dbias_partial[(size_t)p * C + c];
        }
    }
    sw[warp][lane] = dw;
    sb[warp][lane] = db;
    __syncthreads();
    if (warp == 0 && c < C) {
        dw = 0.0f;
        db = 0.0f;
        for (int w = 0; w < warps; w++) { dw += sw[w][lane]; db += sb[w][lane]; }
        dweight[c] = dw;
        dbias[c] = db;
    }
}
