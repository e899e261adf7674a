// erf for the GELU of every kernel (gated conv forward and backward, act forward and backward, the stem): lab
// round 7's v7b, branch-free, ~12 instructions where CUDA 13's erff takes ~24 (its PTX: two polynomials merged by 8
// selects, then a branch around ex2 for |x| >= 1.003); measured 8-10% faster gated conv at batch 256 (NOTES.md). erf(x) = sign(x) (1 - erfc(|x|)) with
// erfc(t) = 2^q(t), q a degree-8 polynomial on t = |x| clamped to [0, 3.92] (beyond it erfc < 2^-25: erf rounds to
// +-1 in f32, and so does this). Coefficients from kernels/lab/gd_erf_fit.py (weighted minimax of the absolute error
// in erf, f32); error measured by kernels/lab/erf_fast_check.cpp against erf in double: 6.8e-8 (~1.1 ulp near 1)
// with an exact exp2, plus ex2.approx's relative error on erfc: 2.9e-7 in all. Near 0 it is 1 - 2^q, so its error is
// absolute (~1 ulp of 1), which is what GELU's 0.5 v (1 + erf) and its derivative see. The lab builds the old erff
// back in with -DGD_ERF=1.
#pragma once

__host__ __device__ inline float erfc_log2_fast(float t) {
    float q = -0x1.7406fep-15f;
    q = fmaf(q, t, 0x1.ca2308p-12f);
    q = fmaf(q, t, -0x1.7ecdc8p-10f);
    q = fmaf(q, t, -0x1.b0b628p-11f);
    q = fmaf(q, t, 0x1.cfb356p-6f);
    q = fmaf(q, t, -0x1.30244ap-3f);
    q = fmaf(q, t, -0x1.d639dp-1f);
    q = fmaf(q, t, -0x1.a0beaap+0f);
    return fmaf(q, t, 0x1.756e68p-26f);
}

__host__ __device__ inline float erf_fast(float x) {
    const float q = erfc_log2_fast(fminf(fabsf(x), 3.92f));
#ifdef __CUDA_ARCH__
    float e;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(e) : "f"(q));   // one MUFU.EX2
#else
    const float e = exp2f(q);   // the host check adds ex2.approx's error bound itself
#endif
    return copysignf(1.0f - e, x);
}
