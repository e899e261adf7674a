// LayerNorm + Linear for inference (ln_linear.cuh): one kernel per K, bf16 out. Launch (LnLinearKernels.geometry):
// block LNL_WARPS * 32 threads, grid (persistent blocks, slices of nb columns), dynamic shared memory
// lnl_smem_bytes(K, nb).
#include "ln_linear.cuh"

extern "C" __global__ void __launch_bounds__(LNL_WARPS * 32) ln_linear_forward_bf16_k48(__nv_bfloat16* y,
        const float* x, const float* gamma, const float* beta, const __nv_bfloat16* w, const float* bias, int T, int N,
        int nb, float eps) {
    ln_linear_forward<48, true>(y, x, gamma, beta, w, bias, T, N, nb, eps);
}
extern "C" __global__ void __launch_bounds__(LNL_WARPS * 32) ln_linear_forward_bf16_k96(__nv_bfloat16* y,
        const float* x, const float* gamma, const float* beta, const __nv_bfloat16* w, const float* bias, int T, int N,
        int nb, float eps) {
    ln_linear_forward<96, true>(y, x, gamma, beta, w, bias, T, N, nb, eps);
}
