// Warp-level tensor-core helpers: mma.sync m16n8k16 (bf16 in, f32 accumulate, sm_80+) and its fragment pieces.
// Fragment layouts (PTX ISA, m16n8k16 .bf16; g = lane / 4, t = lane % 4): A a[0] row g, k 2t..2t+1; a[1] row g + 8;
// a[2], a[3] the same rows at k + 8. B b0 k 2t..2t+1 of column g, b1 at k + 8. C/D c0, c1 row g, columns 2t, 2t + 1;
// c2, c3 row g + 8. A host check (kernels/lab/mlp_host_check.cpp) defines MMA_HOST and brings its own emulation.
#pragma once
#include <cstdint>

#ifndef MMA_HOST
#include <cuda_bf16.h>

__device__ __forceinline__ void mma_bf16_16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
#endif

// Two consecutive bf16 as one fragment register.
__device__ __forceinline__ uint32_t ld_bf16x2(const __nv_bfloat16* p) { return *reinterpret_cast<const uint32_t*>(p); }

__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
    const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<const uint32_t*>(&h);
}
