// Pointwise activations, out = act(x) over n elements (out may alias x): act 0 = GELU (erf, PyTorch's default, as
// erf_fast: 2.9e-7 absolute),
// 1 = SiLU. 16-byte vectors when both pointers are 16-byte aligned (the tail element by element), scalar otherwise;
// f32 math for either storage type. Pure streaming: the floor is 2 * n * sizeof(T) bytes at copy bandwidth.
//
// Launch (ElementwiseKernels): block 256, 1-D grid-stride, any grid is correct.
#include "common.cuh"
#include "erf_fast.cuh"
#include "storage.cuh"

constexpr int ACT_GELU = 0;

__device__ __forceinline__ float act_apply(float x, int act) {
    return act == ACT_GELU ? 0.5f * x * (1.f + erf_fast(x * 0.70710678f)) : x / (1.f + expf(-x));
}

template <typename T>
__device__ __forceinline__ void act_forward(T* out, const T* x, int n, int act) {
    constexpr int V = vec16_elems<T>();
    // unsigned: i < n <= 2^31 - 1 plus a stride below 2^31 cannot wrap.
    const unsigned stride = gridDim.x * blockDim.x;
    const unsigned tid = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned done = 0;
    if (aligned16(out) && aligned16(x)) {
        const unsigned nv = n / V;
        for (unsigned i = tid; i < nv; i += stride) {
            alignas(16) T v[V];
            *reinterpret_cast<uint4*>(v) = __ldcs(reinterpret_cast<const uint4*>(x) + i);
#pragma unroll
            for (int j = 0; j < V; j++) v[j] = from_f32<T>(act_apply(to_f32(v[j]), act));
            __stcs(reinterpret_cast<uint4*>(out) + i, *reinterpret_cast<const uint4*>(v));
        }
        done = nv * V;
    }
    for (unsigned i = done + tid; i < (unsigned)n; i += stride) out[i] = from_f32<T>(act_apply(to_f32(x[i]), act));
}

extern "C" __global__ void act_forward_f32(float* out, const float* x, int n, int act) {
    act_forward(out, x, n, act);
}

extern "C" __global__ void act_forward_bf16(__nv_bfloat16* out, const __nv_bfloat16* x, int n, int act) {
    act_forward(out, x, n, act);
}

// ================================================ backward and casts ================================================
// act_backward: dx = dy * act'(x) over n elements, graph's ActBackward (CpuKernels.actGrad): GELU (erf)
// act'(x) = 0.5 (1 + erf(x / sqrt 2)) + x exp(-x^2 / 2) / sqrt(2 pi); SiLU act'(x) = sg (1 + x (1 - sg)),
// sg = 1 / (1 + exp(-x)). x, dy, dx of one storage type, f32 math, one rounding; dx may be x or dy (same index read
// before written by the same thread), never a partial overlap. 16-byte vectors when all three are aligned, else
// element by element. Floor: 3 * n * sizeof(T) bytes.
__device__ __forceinline__ float act_grad(float x, int act) {
    if (act == ACT_GELU) return 0.5f * (1.f + erf_fast(x * 0.70710678f)) + x * 0.39894228f * expf(-0.5f * x * x);
    const float sg = 1.f / (1.f + expf(-x));
    return sg * (1.f + x * (1.f - sg));
}

template <typename T>
__device__ __forceinline__ void act_backward(T* dx, const T* x, const T* dy, int n, int act) {
    constexpr int V = vec16_elems<T>();
    const unsigned stride = gridDim.x * blockDim.x;
    const unsigned tid = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned done = 0;
    if (aligned16(dx) && aligned16(x) && aligned16(dy)) {
        const unsigned nv = n / V;
        for (unsigned i = tid; i < nv; i += stride) {
            alignas(16) T vx[V];
            alignas(16) T vd[V];
            *reinterpret_cast<uint4*>(vx) = __ldcs(reinterpret_cast<const uint4*>(x) + i);
            *reinterpret_cast<uint4*>(vd) = __ldcs(reinterpret_cast<const uint4*>(dy) + i);
#pragma unroll
            for (int j = 0; j < V; j++) vd[j] = from_f32<T>(to_f32(vd[j]) * act_grad(to_f32(vx[j]), act));
            reinterpret_cast<uint4*>(dx)[i] = *reinterpret_cast<const uint4*>(vd);
        }
        done = nv * V;
    }
    for (unsigned i = done + tid; i < (unsigned)n; i += stride)
        dx[i] = from_f32<T>(to_f32(dy[i]) * act_grad(to_f32(x[i]), act));
}

extern "C" __global__ void act_backward_f32(float* dx, const float* x, const float* dy, int n, int act) {
    act_backward(dx, x, dy, n, act);
}

extern "C" __global__ void act_backward_bf16(__nv_bfloat16* dx, const __nv_bfloat16* x, const __nv_bfloat16* dy, int n,
                                             int act) {
    act_backward(dx, x, dy, n, act);
}

// Casts between the storage types, n elements, out and x must not overlap. f32 -> bf16 rounds to nearest even, bit
// for bit DType.floatToBf16 (the host's conversion): the same as cvt.rn.bf16.f32 for every non-NaN input
// (subnormals kept, overflow to +-inf), while a NaN keeps its sign and payload, quieted (the hardware would return its
// canonical 0x7fff). bf16 -> f32 is exact: the 16 bits moved to the top, NaN payloads included. A thread converts 8
// elements per step (32 bytes of f32 = two 16-byte accesses, 16 bytes of bf16 = one) when both pointers are 16-byte
// aligned; the tail and misaligned views go element by element. Integer arithmetic only: ~6 operations per
// element, far under the bandwidth budget. Floor: 6 * n bytes.
constexpr int CAST_V = 8;

__device__ __forceinline__ unsigned f32_to_bf16_bits(float f) {
    const unsigned b = __float_as_uint(f);
    if ((b & 0x7fffffffu) > 0x7f800000u) return (b >> 16) | 0x40u;
    return (b + 0x7fffu + ((b >> 16) & 1u)) >> 16;  // no wrap: the largest non-NaN b is 0xff800000
}

__device__ __forceinline__ unsigned pack_bf16x2(float lo, float hi) {
    return f32_to_bf16_bits(lo) | (f32_to_bf16_bits(hi) << 16);
}

extern "C" __global__ void cast_f32_bf16(__nv_bfloat16* out, const float* x, int n) {
    const unsigned stride = gridDim.x * blockDim.x;
    const unsigned tid = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned done = 0;
    if (aligned16(out) && aligned16(x)) {
        const unsigned nv = n / CAST_V;
        for (unsigned i = tid; i < nv; i += stride) {
            const float4 a = __ldcs(reinterpret_cast<const float4*>(x) + 2 * i);
            const float4 b = __ldcs(reinterpret_cast<const float4*>(x) + 2 * i + 1);
            reinterpret_cast<uint4*>(out)[i] = make_uint4(pack_bf16x2(a.x, a.y), pack_bf16x2(a.z, a.w),
                                                          pack_bf16x2(b.x, b.y), pack_bf16x2(b.z, b.w));
        }
        done = nv * CAST_V;
    }
    unsigned short* o = reinterpret_cast<unsigned short*>(out);
    for (unsigned i = done + tid; i < (unsigned)n; i += stride) o[i] = (unsigned short)f32_to_bf16_bits(x[i]);
}

extern "C" __global__ void cast_bf16_f32(float* out, const __nv_bfloat16* x, int n) {
    const unsigned stride = gridDim.x * blockDim.x;
    const unsigned tid = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned done = 0;
    if (aligned16(out) && aligned16(x)) {
        const unsigned nv = n / CAST_V;
        for (unsigned i = tid; i < nv; i += stride) {
            const uint4 raw = __ldcs(reinterpret_cast<const uint4*>(x) + i);
            // Little-endian pairs: element 2j is the low half of word j (shift it up), 2j + 1 the high half (mask).
            reinterpret_cast<float4*>(out)[2 * i] =
                    make_float4(__uint_as_float(raw.x << 16), __uint_as_float(raw.x & 0xffff0000u),
                                __uint_as_float(raw.y << 16), __uint_as_float(raw.y & 0xffff0000u));
            reinterpret_cast<float4*>(out)[2 * i + 1] =
                    make_float4(__uint_as_float(raw.z << 16), __uint_as_float(raw.z & 0xffff0000u),
                                __uint_as_float(raw.w << 16), __uint_as_float(raw.w & 0xffff0000u));
        }
        done = nv * CAST_V;
    }
    const unsigned short* h = reinterpret_cast<const unsigned short*>(x);
    for (unsigned i = done + tid; i < (unsigned)n; i += stride) out[i] = __uint_as_float((unsigned)h[i] << 16);
}
