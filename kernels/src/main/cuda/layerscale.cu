// LayerScale of timm's `_rw` MambaOut blocks, for training: out = shortcut + gamma[c] * x over x [tokens, C] NHWC
// (fc2's output, storage T = f32 or bf16), with shortcut, out, gamma and the gradients of the residual stream in f32;
// all math f32, bf16 rounded once, at the store.
//   - forward layerscale_residual_forward_<t>: out may be shortcut itself (the residual stream updated in place): a
//     thread reads an element of shortcut before it writes the same element of out, so those two are not restrict.
//   - backward layerscale_backward_<t>: dx = gamma * dy in T, and per-block partial sums of dy * x per channel, one
//     row of C floats per block; layerscale_backward_finalize sums the rows in a fixed order into dgamma (written,
//     or added to it: gradient accumulation over micro-batches). No atomics: bit-identical reruns.
// Vector units of 4 channels (a float4 of the f32 operands, 16 or 8 bytes of x) when C % 4 == 0 and every pointer is
// aligned to its unit (arena slices are); one channel per unit otherwise (odd C, views at odd offsets).
// Indices are 32-bit: the launcher keeps tokens * C below 2^31.
//
// Launch (LayerScaleKernels): block 256 for all three.
//   forward   1-D grid-stride: any grid is correct.
//   backward  grid = the number of partial rows: block b owns rows [b * R, (b + 1) * R), R = ceil(tokens / grid),
//             and writes row b of partial [grid, C] (zeros when its range is empty), so any grid is correct given a
//             workspace of grid * C floats.
//   finalize  grid ceil(C / 32).
#include "common.cuh"
#include "storage.cuh"

#include <cstdint>
#include <type_traits>

constexpr int LS_BLOCK = 256;
constexpr int LS_WARPS = LS_BLOCK / WARP_SIZE;
constexpr int LS_UNIT = 4;
// Rows of a backward lane's loads issued before the first use (memory-level parallelism within a thread).
constexpr int LS_ROWS_IN_FLIGHT = 4;

__device__ __forceinline__ bool ls_aligned(const void* p, int bytes) {
    return (reinterpret_cast<uintptr_t>(p) & (uintptr_t)(bytes - 1)) == 0;
}

// U consecutive elements of T as f32: one load of U * sizeof(T) bytes when U > 1 (the caller checked the alignment).
template <typename T, int U>
__device__ __forceinline__ void ls_load(const T* p, float (&v)[U]) {
    if constexpr (U == 1) {
        v[0] = to_f32(*p);
    } else {
        using Raw = std::conditional_t<U * sizeof(T) == 16, uint4, uint2>;
        static_assert(U * sizeof(T) == sizeof(Raw), "a unit is one 8- or 16-byte access");
        alignas(sizeof(Raw)) T e[U];
        *reinterpret_cast<Raw*>(e) = *reinterpret_cast<const Raw*>(p);
#pragma unroll
        for (int i = 0; i < U; i++) v[i] = to_f32(e[i]);
    }
}

template <typename T, int U>
__device__ __forceinline__ void ls_store(T* p, const float (&v)[U]) {
    if constexpr (U == 1) {
        *p = from_f32<T>(v[0]);
    } else {
        using Raw = std::conditional_t<U * sizeof(T) == 16, uint4, uint2>;
        alignas(sizeof(Raw)) T e[U];
#pragma unroll
        for (int i = 0; i < U; i++) e[i] = from_f32<T>(v[i]);
        *reinterpret_cast<Raw*>(p) = *reinterpret_cast<const Raw*>(e);
    }
}

template <typename T, int U>
__device__ __forceinline__ bool ls_units_fit(const T* p) {
    return U == 1 || ls_aligned(p, U * (int)sizeof(T));
}

// ================================================ forward ================================================
template <typename T, int U>
__device__ __forceinline__ void ls_forward_units(float* out, const float* shortcut, const T* __restrict__ x,
                                                 const float* __restrict__ gamma, int tokens, int C) {
    const unsigned per_row = C / U, units = (unsigned)tokens * per_row;
    const unsigned stride = gridDim.x * blockDim.x;
    const unsigned tid = blockIdx.x * blockDim.x + threadIdx.x;
    // The channel unit follows the grid-stride step with one carry instead of a division per unit.
    const unsigned step = stride % per_row;
    unsigned cu = tid % per_row;
    for (unsigned i = tid; i < units; i += stride) {
        float s[U], v[U], g[U];
        ls_load<float, U>(shortcut + (size_t)i * U, s);
        ls_load<T, U>(x + (size_t)i * U, v);
        ls_load<float, U>(gamma + cu * U, g);
#pragma unroll
        for (int j = 0; j < U; j++) s[j] = fmaf(g[j], v[j], s[j]);
        ls_store<float, U>(out + (size_t)i * U, s);
        cu += step;
        if (cu >= per_row) cu -= per_row;
    }
}

template <typename T>
__device__ __forceinline__ void ls_forward(float* out, const float* shortcut, const T* x, const float* gamma,
                                           int tokens, int C) {
    if (C % LS_UNIT == 0 && ls_units_fit<float, LS_UNIT>(out) && ls_units_fit<float, LS_UNIT>(shortcut)
        && ls_units_fit<float, LS_UNIT>(gamma) && ls_units_fit<T, LS_UNIT>(x)) {
        ls_forward_units<T, LS_UNIT>(out, shortcut, x, gamma, tokens, C);
    } else {
        ls_forward_units<T, 1>(out, shortcut, x, gamma, tokens, C);
    }
}

extern "C" __global__ void __launch_bounds__(LS_BLOCK) layerscale_residual_forward_f32(float* out,
        const float* shortcut, const float* x, const float* gamma, int tokens, int C) {
    ls_forward(out, shortcut, x, gamma, tokens, C);
}

extern "C" __global__ void __launch_bounds__(LS_BLOCK) layerscale_residual_forward_bf16(float* out,
        const float* shortcut, const __nv_bfloat16* x, const float* gamma, int tokens, int C) {
    ls_forward(out, shortcut, x, gamma, tokens, C);
}

// ================================================ backward ================================================
// A warp takes a chunk of `lanes` channel units of 32 / lanes rows at once (lanes: the smallest power of two holding
// the row's units, at most 32), so narrow rows still fill the warp; each lane sums dy * x of its unit over its rows in
// registers. The chunk's sums then combine across the warp's row groups (xor butterfly) and across the 8 warps (shared
// memory, warp order): a fixed order for fixed sizes and grid.
template <typename T, int U>
__device__ __forceinline__ void ls_backward_units(T* __restrict__ dx, float* __restrict__ partial,
                                                  const float* __restrict__ dy, const T* __restrict__ x,
                                                  const float* __restrict__ gamma, int tokens, int C,
                                                  float (&sums)[LS_WARPS][WARP_SIZE * LS_UNIT]) {
    const int units = C / U;
    int lanes = 1;
    while (lanes < units && lanes < WARP_SIZE) lanes <<= 1;
    const int lane = threadIdx.x % WARP_SIZE, warp = threadIdx.x / WARP_SIZE;
    const int group = lane / lanes, ul = lane % lanes;
    const unsigned row_step = LS_WARPS * (WARP_SIZE / lanes);
    // Rows unsigned: r1 < 2^31 plus a step below 2^31 cannot wrap.
    const unsigned per_block = (tokens + gridDim.x - 1) / gridDim.x;
    const unsigned r0 = min(blockIdx.x * per_block, (unsigned)tokens), r1 = min(r0 + per_block, (unsigned)tokens);
    float* prow = partial + (size_t)blockIdx.x * C;
    for (int u0 = 0; u0 < units; u0 += lanes) {
        const int u = u0 + ul;
        const bool active = u < units;
        float g[U], acc[U];
#pragma unroll
        for (int j = 0; j < U; j++) g[j] = acc[j] = 0.0f;
        if (active) ls_load<float, U>(gamma + u * U, g);
        for (unsigned r = r0 + warp * (WARP_SIZE / lanes) + group; r < r1; r += LS_ROWS_IN_FLIGHT * row_step) {
            float d[LS_ROWS_IN_FLIGHT][U], v[LS_ROWS_IN_FLIGHT][U];
#pragma unroll
            for (int k = 0; k < LS_ROWS_IN_FLIGHT; k++) {
                const unsigned rr = r + k * row_step;
                if (active && rr < r1) {
                    ls_load<float, U>(dy + rr * C + u * U, d[k]);
                    ls_load<T, U>(x + rr * C + u * U, v[k]);
                }
            }
#pragma unroll
            for (int k = 0; k < LS_ROWS_IN_FLIGHT; k++) {
                const unsigned rr = r + k * row_step;
                if (active && rr < r1) {
                    float o[U];
#pragma unroll
                    for (int j = 0; j < U; j++) {
                        o[j] = g[j] * d[k][j];
                        acc[j] = fmaf(d[k][j], v[k][j], acc[j]);
                    }
                    ls_store<T, U>(dx + rr * C + u * U, o);
                }
            }
        }
        for (int o = lanes; o < WARP_SIZE; o <<= 1) {
#pragma unroll
            for (int j = 0; j < U; j++) acc[j] += __shfl_xor_sync(FULL_MASK, acc[j], o);
        }
        if (group == 0) {
#pragma unroll
            for (int j = 0; j < U; j++) sums[warp][ul * U + j] = acc[j];
        }
        __syncthreads();
        // lanes * U <= 128 < LS_BLOCK: one value per thread at most.
        const int i = threadIdx.x, c = u0 * U + i;
        if (i < lanes * U && c < C) {
            float t = 0.0f;
#pragma unroll
            for (int w = 0; w < LS_WARPS; w++) t += sums[w][i];
            prow[c] = t;
        }
        __syncthreads();   // the sums are read before the next chunk overwrites them
    }
}

template <typename T>
__device__ __forceinline__ void ls_backward(T* __restrict__ dx, float* __restrict__ partial,
                                            const float* __restrict__ dy, const T* __restrict__ x,
                                            const float* __restrict__ gamma, int tokens, int C) {
    __shared__ float sums[LS_WARPS][WARP_SIZE * LS_UNIT];
    if (C % LS_UNIT == 0 && ls_units_fit<T, LS_UNIT>(dx) && ls_units_fit<float, LS_UNIT>(dy)
        && ls_units_fit<T, LS_UNIT>(x) && ls_units_fit<float, LS_UNIT>(gamma)) {
        ls_backward_units<T, LS_UNIT>(dx, partial, dy, x, gamma, tokens, C, sums);
    } else {
        ls_backward_units<T, 1>(dx, partial, dy, x, gamma, tokens, C, sums);
    }
}

extern "C" __global__ void __launch_bounds__(LS_BLOCK) layerscale_backward_f32(float* __restrict__ dx,
        float* __restrict__ partial, const float* __restrict__ dy, const float* __restrict__ x,
        const float* __restrict__ gamma, int tokens, int C) {
    ls_backward(dx, partial, dy, x, gamma, tokens, C);
}

extern "C" __global__ void __launch_bounds__(LS_BLOCK) layerscale_backward_bf16(__nv_bfloat16* __restrict__ dx,
        float* __restrict__ partial, const float* __restrict__ dy, const __nv_bfloat16* __restrict__ x,
        const float* __restrict__ gamma, int tokens, int C) {
    ls_backward(dx, partial, dy, x, gamma, tokens, C);
}

// dgamma [C] from partial [blocks, C]: a block per 32 channels (a lane each), warp w summing rows w, w + 8, ..., then
// the 8 warp sums in warp order.
extern "C" __global__ void __launch_bounds__(LS_BLOCK) layerscale_backward_finalize(float* __restrict__ dgamma,
        const float* __restrict__ partial, int blocks, int C, int accumulate) {
    __shared__ float sums[LS_WARPS][WARP_SIZE];
    const int lane = threadIdx.x % WARP_SIZE, warp = threadIdx.x / WARP_SIZE;
    const int c = blockIdx.x * WARP_SIZE + lane;
    float t = 0.0f;
    if (c < C) {
#pragma unroll 8
        for (int b = warp; b < blocks; b += LS_WARPS) t += partial[(size_t)b * C + c];
    }
    sums[warp][lane] = t;
    __syncthreads();
    if (warp == 0 && c < C) {
        float total = 0.0f;
#pragma unroll
        for (int w = 0; w < LS_WARPS; w++) total += sums[w][lane];
        dgamma[c] = accumulate ? dgamma[c] + total : total;
    }
}
