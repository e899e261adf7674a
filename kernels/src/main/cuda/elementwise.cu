// Pointwise activations, out = act(x) over n elements (out may alias x): act 0 = GELU (exact erf, PyTorch's default),
// 1 = SiLU. 16-byte vectors when both pointers are 16-byte aligned (the tail element by element), scalar otherwise;
// f32 math for either storage type. Pure streaming: the floor is 2 * n * sizeof(T) bytes at copy bandwidth.
//
// Launch (ElementwiseKernels): block 256, 1-D grid-stride, any grid is correct.
#include "common.cuh"
#include "storage.cuh"

constexpr int ACT_GELU = 0;

__device__ __forceinline__ float act_apply(float x, int act) {
    return act == ACT_GELU ? 0.5f * x * (1.f + erff(x * 0.70710678f)) : x / (1.f + expf(-x));
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
