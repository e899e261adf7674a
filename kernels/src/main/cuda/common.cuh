// Helpers shared by every kernel family. Header-only so each .cu stays one self-contained fatbin.
#pragma once
#include <cuda_runtime.h>

#define WARP_SIZE 32
#define FULL_MASK 0xffffffffu

__device__ __forceinline__ float warp_sum(float v) {
    // xor butterfly: every lane ends with the same total, so no broadcast is needed afterwards.
    #pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(FULL_MASK, v, offset);
    return v;
}

__device__ __forceinline__ int ceil_div(int a, int b) { return (a + b - 1) / b; }

// float4 access is only legal on 16-byte aligned addresses; arena slices are 256-byte aligned but views into them
// need not be, so vector paths check the pointers at run time rather than trusting the caller.
__device__ __forceinline__ bool aligned16(const void* p) { return (reinterpret_cast<size_t>(p) & 15) == 0; }
