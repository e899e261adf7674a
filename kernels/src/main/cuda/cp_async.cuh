// cp.async (sm_80+) as the kernels use it: 16-byte copies global -> shared, zero-filled where `valid` is false (the
// source is then not read), committed in groups and waited for by count. The host checks (kernels/lab/*_host_check.cpp)
// define these four names themselves, emulating the copies landing early or late.
#pragma once

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, bool valid) {
    const unsigned dst = (unsigned)__cvta_generic_to_shared(smem);
    const int bytes = valid ? 16 : 0;   // 0: the 16 bytes are zero-filled, the source is not read
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" :: "r"(dst), "l"(gmem), "r"(bytes));
}
// Through L1 (.ca), for data that neighbouring warps re-read (the gated rings kernel's halo pixels).
__device__ __forceinline__ void cp_async16_ca(void* smem, const void* gmem, bool valid) {
    const unsigned dst = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("cp.async.ca.shared.global [%0], [%1], 16, %2;\n" :: "r"(dst), "l"(gmem), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" :: "n"(N)); }
