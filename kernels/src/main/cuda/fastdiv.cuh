// Division by a divisor fixed for a whole launch: the GPU has no integer divide, so n / d by a run-time d is a
// ~20-30 instruction sequence while a multiply-shift is 3; a kernel whose cost is index arithmetic (im2col) builds
// these once per thread and amortises that over a grid-stride loop.
// __host__ as well, so kernels/lab/fastdiv_check.cu tests this same arithmetic on a machine without a GPU.
#pragma once

// n / d as (umulhi(n, m) + n) >> shift, shift = ceil(log2 d), m = floor(2^32 (2^shift - d) / d) + 1
// (Granlund-Montgomery round-up, as PyTorch's IntDivider). Exact for 1 <= d <= 2^31 and 0 <= n < 2^31: with
// M = m + 2^32 = (2^(32+shift) + e) / d, 0 < e <= d, n M / 2^(32+shift) = n/d + n e / (d 2^(32+shift)), and the
// error term is < n / 2^(32+shift) < 1/d for any n < 2^32, so the floor is n / d's. The 2^31 bound on n is the 32-bit
// sum umulhi(n, m) + n (< 2n), which wraps beyond it: callers keep numerators below 2^31.
struct FastDiv {
    unsigned d, m, shift;
    __host__ __device__ FastDiv(unsigned d_) : d(d_) {
        shift = 0;
        while ((1u << shift) < d) shift++;
        m = (unsigned)(((1ull << 32) * ((1ull << shift) - d)) / d + 1);
    }
    __host__ __device__ __forceinline__ unsigned div(unsigned n) const {
#ifdef __CUDA_ARCH__
        return (__umulhi(n, m) + n) >> shift;
#else
        return ((unsigned)(((unsigned long long)n * m) >> 32) + n) >> shift;
#endif
    }
};
