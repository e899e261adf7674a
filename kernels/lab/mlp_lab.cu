// MLP lab, round 1: LayerNorm fused into fc1 (inference), y = LN(x) W^T + b, for the narrow MambaOut shapes where
// cuBLASLt's GEMM runs at about half of copy bandwidth (profile r7: femto stage 1's fc1, 802816 x 256 x 48, 227 us,
// 50% of its roof, after a 69 us layernorm_forward that writes the bf16 operand the GEMM reads back).
//   x [T, K] f32 (the residual stream), gamma, beta [K] f32, W [N, K] bf16 (PyTorch's Linear layout), bias [N] f32
//   -> y [T, N] bf16, f32 statistics and accumulation.
// Variants:
//   v1: a block of 256 threads takes 128 tokens: LayerNorm of its rows (a warp per 16 rows, the row in registers, two
//       passes) into a bf16 A tile in shared memory, then for every 128-column tile of N: W's tile [128, K] into
//       shared memory, mma.sync m16n8k16 (bf16 in, f32 accumulate; a warp owns 32 rows x 64 columns), bias, bf16,
//       stored from the fragments. K <= 192 and K % 16 == 0 (the whole K in shared memory: stages 1-3 of femto,
//       1-2 of tiny) and N even; rows padded by 8 elements so the fragment loads are conflict-free.
//   v2: v1 with the output tile staged through shared memory (W's slot, free after the MMAs) and written as rows of
//       16-byte stores (N % 8 == 0; partial tiles element by element).
//   v3: persistent and warp-independent (ln_linear.cuh without its staged stores): a W slice resident in shared memory,
//       the A fragments built in registers from x, bf16 pairs stored from the fragments (store-bound: 28-31%).
//   v4: v3 with each warp's 64-column output groups staged in shared memory and written as 16-byte row pieces: the
//       mainline (ln_linear.cu, K = 48 and 96).
//   fc2 v1 (mlp_kernels.cuh): fc2 + bias + the residual (f32 out, may be in place) + the next block's LayerNorm
//       (bf16 out) in one kernel, D = 48, 96, 192 (the whole row in one block), K in chunks of 32; fc2 v2 the same
//       with the chunks double-buffered through cp.async.
// Validation against a double reference on the bf16-rounded operands (LN output rounded as the kernel rounds it),
// odd token counts, N not a multiple of 128, outputs poisoned; timing at the batch-256 shapes against the copy floor
// (x read, y written, W) and, in NOTES.md, the two steps it replaces.
//   nvcc -O3 -lineinfo -std=c++17 -arch=sm_90 -o /tmp/mlp_lab kernels/lab/mlp_lab.cu && /tmp/mlp_lab [--check]
//   host check (no GPU): g++ -std=c++20 -O2 -pthread -o /tmp/mlp_check kernels/lab/mlp_host_check.cpp && /tmp/mlp_check
#include "lab_util.cuh"
#include <cuda_bf16.h>

#include "mlp_kernels.cuh"
#include "mlp_ref.h"

static size_t ml_smem_bytes() { return (size_t)(ML_BM + ML_BN) * ML_PITCH * sizeof(__nv_bfloat16); }

// v3 / v4: the mainline's ln_linear_forward (kernels/src/main/cuda/ln_linear.cuh) without and with its staged stores
// (v4 is what ln_linear.cu compiles), over slices of W of at most ~64 KB of shared memory in whole 64-column groups
// and a persistent grid of as many blocks as fit on the SMs (LnLinearKernels does the same on the Java side).
template <int K, bool ST>
__global__ void __launch_bounds__(LNL_WARPS * 32) lab_ln_linear(__nv_bfloat16* y, const float* x, const float* g,
                                                                const float* b, const __nv_bfloat16* w,
                                                                const float* bias, int T, int N, int nb, float eps) {
    ln_linear_forward<K, ST>(y, x, g, b, w, bias, T, N, nb, eps);
}

#ifndef LNL_SLICE_KB   // the W slice's shared memory at most; LnLinearKernels uses 64 KB
#define LNL_SLICE_KB 64
#endif
constexpr size_t LNL_SLICE_BYTES = LNL_SLICE_KB * 1024;
template <int K, bool ST>
static void m3_launch_k(__nv_bfloat16* y, const float* x, const float* g, const float* b, const __nv_bfloat16* w,
                        const float* bias, int T, int N) {
    int nb = (int)(LNL_SLICE_BYTES / ((K + 8) * 2)) / LNL_SC * LNL_SC;
    if (nb < LNL_SC) nb = LNL_SC;
    if (nb >= N) nb = N;
    const int gy = (N + nb - 1) / nb;
    const size_t smem = lnl_smem_bytes(K, nb);
    static int sms = 0, per_sm = 0;
    static size_t attr_smem = 0;
    if (!sms) { cudaDeviceProp p; CK(cudaGetDeviceProperties(&p, 0)); sms = p.multiProcessorCount; }
    if (smem > attr_smem) {
        CK(cudaFuncSetAttribute(lab_ln_linear<K, ST>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
        attr_smem = smem;
    }
    int occ = 0;
    CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ, lab_ln_linear<K, ST>, LNL_WARPS * 32, smem));
    if (per_sm != occ) {
        per_sm = occ;
        printf("# v%d K=%d N=%d: %d slices of %d columns, %zu B shared, %d blocks/SM\n", ST ? 4 : 3, K, N, gy, nb, smem, occ);
    }
    const long long tiles = ((long long)T + 15) / 16, want = (tiles + LNL_WARPS - 1) / LNL_WARPS;
    long long gx = (long long)occ * sms / gy;
    if (gx < 1) gx = 1;
    if (gx > want) gx = want;
    lab_ln_linear<K, ST><<<dim3((unsigned)gx, (unsigned)gy), LNL_WARPS * 32, smem>>>(y, x, g, b, w, bias, T, N, nb, 1e-6f);
    CK(cudaGetLastError());
}

template <bool ST>
static void m3_launch_st(__nv_bfloat16* y, const float* x, const float* g, const float* b, const __nv_bfloat16* w,
                         const float* bias, int T, int K, int N) {
    switch (K) {
        case 16: m3_launch_k<16, ST>(y, x, g, b, w, bias, T, N); break;
        case 32: m3_launch_k<32, ST>(y, x, g, b, w, bias, T, N); break;
        case 48: m3_launch_k<48, ST>(y, x, g, b, w, bias, T, N); break;
        case 96: m3_launch_k<96, ST>(y, x, g, b, w, bias, T, N); break;
        case 192: m3_launch_k<192, ST>(y, x, g, b, w, bias, T, N); break;
        default: fprintf(stderr, "mlp_lab v3: no instance for K = %d\n", K); exit(2);
    }
}

static void ml_launch(int v, __nv_bfloat16* y, const float* x, const float* g, const float* b, const __nv_bfloat16* w,
                      const float* bias, int T, int K, int N) {
    if (K % 16 != 0 || K > ML_MAXK || N % 2 != 0) {   // N even: the epilogue stores bf16 pairs (N = 2 hidden)
        fprintf(stderr, "mlp_lab v1: K = %d must be a multiple of 16 up to %d and N = %d even\n", K, ML_MAXK, N);
        exit(2);
    }
    const unsigned grid = (unsigned)((T + ML_BM - 1) / ML_BM);
    if (v >= 3) {
        if (v == 3) m3_launch_st<false>(y, x, g, b, w, bias, T, K, N);
        else m3_launch_st<true>(y, x, g, b, w, bias, T, K, N);
        return;
    }
    if (v == 1) mlp_ln_fc1<false><<<grid, ML_BLOCK, ml_smem_bytes()>>>(y, x, g, b, w, bias, T, K, N, 1e-6f);
    else mlp_ln_fc1<true><<<grid, ML_BLOCK, ml_smem_bytes()>>>(y, x, g, b, w, bias, T, K, N, 1e-6f);
    CK(cudaGetLastError());
}

struct MlDev {
    float *x, *g, *b, *bias;
    __nv_bfloat16 *w, *y;
    std::vector<float> hx, hg, hb, hbias, hw;   // hw: W as the kernel sees it (bf16-rounded)
    int T, K, N;
    MlDev(int T_, int K_, int N_, bool fill) : T(T_), K(K_), N(N_) {
        CK(cudaMalloc(&x, (size_t)T * K * 4)); CK(cudaMalloc(&y, (size_t)T * N * 2));
        CK(cudaMalloc(&g, K * 4)); CK(cudaMalloc(&b, K * 4)); CK(cudaMalloc(&bias, N * 4));
        CK(cudaMalloc(&w, (size_t)N * K * 2));
        hg.resize(K); hb.resize(K); hbias.resize(N); hw.resize((size_t)N * K);
        std::vector<uint16_t> wbits((size_t)N * K);
        for (int i = 0; i < K; i++) { hg[i] = 1 + 0.2f * lab_randn(); hb[i] = 0.2f * lab_randn(); }
        for (int i = 0; i < N; i++) hbias[i] = 0.2f * lab_randn();
        for (size_t i = 0; i < wbits.size(); i++) { wbits[i] = lab_f2bf(lab_randn() / sqrtf((float)K)); hw[i] = lab_bf2f(wbits[i]); }
        CK(cudaMemcpy(g, hg.data(), K * 4, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(b, hb.data(), K * 4, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(bias, hbias.data(), N * 4, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(w, wbits.data(), wbits.size() * 2, cudaMemcpyHostToDevice));
        if (fill) {
            hx.resize((size_t)T * K);
            for (auto& v : hx) v = 3 + 2 * lab_randn();
            CK(cudaMemcpy(x, hx.data(), hx.size() * 4, cudaMemcpyHostToDevice));
        } else {
            CK(cudaMemset(x, 0x3f, (size_t)T * K * 4));   // ~0.75: finite and moderate
        }
    }
    ~MlDev() { cudaFree(x); cudaFree(y); cudaFree(g); cudaFree(b); cudaFree(bias); cudaFree(w); }
};

static const char* ML_NAMES[] = {"v1", "v2", "v3", "v4"};

static bool ml_check(int T, int K, int N) {
    MlDev d(T, K, N, true);
    const std::vector<double> ref = mlp_ref_fc1(d.hx, d.hg, d.hb, d.hw, d.hbias, T, K, N,
                                                [](float v) { return lab_bf2f(lab_f2bf(v)); });
    bool all = true;
    for (int v = 1; v <= 4; v++) {
        CK(cudaMemset(d.y, 0xff, (size_t)T * N * 2));   // NaN poison
        ml_launch(v, d.y, d.x, d.g, d.b, d.w, d.bias, T, K, N);
        CK(cudaDeviceSynchronize());
        std::vector<uint16_t> hy((size_t)T * N);
        CK(cudaMemcpy(hy.data(), d.y, hy.size() * 2, cudaMemcpyDeviceToHost));
        bool nan = false;
        const double rel = mlp_rel(hy.size(), [&](size_t i) { return (double)lab_bf2f(hy[i]); }, ref, nan);
        const bool ok = !nan && rel < 1e-2;
        printf("%s %s T=%d K=%d N=%d: rel %.2e%s\n", ok ? "ok  " : "FAIL", ML_NAMES[v - 1], T, K, N, rel, nan ? " NaN" : "");
        all = all && ok;
    }
    return all;
}

// ---------------------------------------------------------------- fc2 + residual + the next LayerNorm
template <int NT>
static void mf_launch_nt(int v, unsigned grid, float* out_res, __nv_bfloat16* out_ln, const float* res,
                         const __nv_bfloat16* a, const __nv_bfloat16* w, const float* bias, const float* g,
                         const float* b, int T, int H) {
    if (v == 1) mlp_fc2_res_ln<NT, false><<<grid, ML_BLOCK, mf_smem_bytes(NT * 16, false)>>>(out_res, out_ln, res, a, w, bias, g, b, T, H, 1e-6f);
    else mlp_fc2_res_ln<NT, true><<<grid, ML_BLOCK, mf_smem_bytes(NT * 16, true)>>>(out_res, out_ln, res, a, w, bias, g, b, T, H, 1e-6f);
}

template <int NT>
static void mf_attributes() {
    CK(cudaFuncSetAttribute(mlp_fc2_res_ln<NT, false>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)mf_smem_bytes(NT * 16, false)));
    CK(cudaFuncSetAttribute(mlp_fc2_res_ln<NT, true>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)mf_smem_bytes(NT * 16, true)));
}

static void mf_launch(int v, float* out_res, __nv_bfloat16* out_ln, const float* res, const __nv_bfloat16* a,
                      const __nv_bfloat16* w, const float* bias, const float* g, const float* b, int T, int H, int D) {
    const unsigned grid = (unsigned)((T + ML_BM - 1) / ML_BM);
    if (H % MF_KC != 0) { fprintf(stderr, "mlp_lab fc2: H = %d must be a multiple of %d\n", H, MF_KC); exit(2); }
    switch (D) {
        case 48: mf_launch_nt<3>(v, grid, out_res, out_ln, res, a, w, bias, g, b, T, H); break;
        case 96: mf_launch_nt<6>(v, grid, out_res, out_ln, res, a, w, bias, g, b, T, H); break;
        case 192: mf_launch_nt<12>(v, grid, out_res, out_ln, res, a, w, bias, g, b, T, H); break;
        default: fprintf(stderr, "mlp_lab fc2: D = %d is not one of 48, 96, 192\n", D); exit(2);
    }
    CK(cudaGetLastError());
}

struct MfDev {
    __nv_bfloat16 *a, *w, *ln;
    float *res, *out, *bias, *g, *b;
    std::vector<float> ha, hw, hres, hbias, hg, hb;
    MfDev(int T, int H, int D, bool fill) {
        CK(cudaMalloc(&a, (size_t)T * H * 2)); CK(cudaMalloc(&w, (size_t)D * H * 2)); CK(cudaMalloc(&ln, (size_t)T * D * 2));
        CK(cudaMalloc(&res, (size_t)T * D * 4)); CK(cudaMalloc(&out, (size_t)T * D * 4));
        CK(cudaMalloc(&bias, D * 4)); CK(cudaMalloc(&g, D * 4)); CK(cudaMalloc(&b, D * 4));
        std::vector<uint16_t> wb((size_t)D * H);
        hw.resize(wb.size()); hbias.resize(D); hg.resize(D); hb.resize(D);
        for (size_t i = 0; i < wb.size(); i++) { wb[i] = lab_f2bf(lab_randn() / sqrtf((float)H)); hw[i] = lab_bf2f(wb[i]); }
        for (int i = 0; i < D; i++) { hbias[i] = 0.2f * lab_randn(); hg[i] = 1 + 0.2f * lab_randn(); hb[i] = 0.2f * lab_randn(); }
        CK(cudaMemcpy(w, wb.data(), wb.size() * 2, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(bias, hbias.data(), D * 4, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(g, hg.data(), D * 4, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(b, hb.data(), D * 4, cudaMemcpyHostToDevice));
        if (fill) {
            std::vector<uint16_t> abits((size_t)T * H);
            ha.resize(abits.size()); hres.resize((size_t)T * D);
            for (size_t i = 0; i < abits.size(); i++) { abits[i] = lab_f2bf(lab_randn()); ha[i] = lab_bf2f(abits[i]); }
            for (auto& v : hres) v = 2 * lab_randn();
            CK(cudaMemcpy(a, abits.data(), abits.size() * 2, cudaMemcpyHostToDevice));
            CK(cudaMemcpy(res, hres.data(), hres.size() * 4, cudaMemcpyHostToDevice));
        } else {
            CK(cudaMemset(a, 0x3c, (size_t)T * H * 2)); CK(cudaMemset(res, 0, (size_t)T * D * 4));
        }
    }
    ~MfDev() { for (void* p : {(void*)a, (void*)w, (void*)ln, (void*)res, (void*)out, (void*)bias, (void*)g, (void*)b}) cudaFree(p); }
};

static bool mf_check(int v, int T, int H, int D, bool in_place) {
    MfDev d(T, H, D, true);
    float* o = in_place ? d.res : d.out;
    CK(cudaMemset(d.ln, 0xff, (size_t)T * D * 2));
    if (!in_place) CK(cudaMemset(d.out, 0xff, (size_t)T * D * 4));
    mf_launch(v, o, d.ln, d.res, d.a, d.w, d.bias, d.g, d.b, T, H, D);
    CK(cudaDeviceSynchronize());
    std::vector<float> got((size_t)T * D);
    std::vector<uint16_t> gl((size_t)T * D);
    CK(cudaMemcpy(got.data(), o, got.size() * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(gl.data(), d.ln, gl.size() * 2, cudaMemcpyDeviceToHost));
    std::vector<double> sref, lref;
    mlp_ref_fc2(d.hres, d.ha, d.hw, d.hbias, d.hg, d.hb, T, H, D, sref, lref);
    bool nan = false;
    const double e1 = mlp_rel(sref.size(), [&](size_t i) { return (double)got[i]; }, sref, nan);
    const double e2 = mlp_rel(lref.size(), [&](size_t i) { return (double)lab_bf2f(gl[i]); }, lref, nan);
    const bool ok = !nan && e1 < 1e-5 && e2 < 1e-2;
    printf("%s fc2 v%d T=%d H=%d D=%d%s: sum %.2e, LN %.2e%s\n", ok ? "ok  " : "FAIL", v, T, H, D,
           in_place ? " in place" : "", e1, e2, nan ? " NaN" : "");
    return ok;
}

int main(int argc, char** argv) {
    cudaDeviceProp p; CK(cudaGetDeviceProperties(&p, 0));
    printf("device: %s, %d SMs; ln_linear LNL_JU %d, slices within %d KB\n", p.name, p.multiProcessorCount, LNL_JU, LNL_SLICE_KB);
    CK(cudaFuncSetAttribute(mlp_ln_fc1<false>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)ml_smem_bytes()));
    CK(cudaFuncSetAttribute(mlp_ln_fc1<true>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)ml_smem_bytes()));
    const int cases[][3] = {{1, 48, 256}, {127, 48, 256}, {129, 16, 8}, {300, 96, 512}, {1000, 192, 1024},
                            {257, 32, 136}, {64, 48, 130}, {5000, 96, 200}};
    int fails = 0;
    for (auto& c : cases) fails += !ml_check(c[0], c[1], c[2]);
    mf_attributes<3>();
    mf_attributes<6>();
    mf_attributes<12>();
    const int fc2_cases[][4] = {{1, 128, 48, 0}, {200, 128, 48, 1}, {129, 256, 96, 0}, {1000, 512, 192, 1}, {127, 32, 48, 0}};
    for (auto& c : fc2_cases)
        for (int v = 1; v <= 2; v++) fails += !mf_check(v, c[0], c[1], c[2], c[3] != 0);
    printf("validation: %d fc1 shapes x v1, v2, v3, v4 and %d fc2 shapes x v1, v2, %d failed\n", (int)(sizeof(cases) / sizeof(cases[0])),
           (int)(sizeof(fc2_cases) / sizeof(fc2_cases[0])), fails);
    if (fails || (argc > 1 && !strcmp(argv[1], "--check"))) return fails ? 1 : 0;
    void* flush; CK(cudaMalloc(&flush, LAB_FLUSH_BYTES));
    const double bps = lab_copy_bps(flush);
    printf("\n| shape | T | K | N | MB | floor us | v1 us (%% of floor) | v2 us | v3 us | v4 us |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    const struct { const char* name; int T, K, N; } shapes[] = {
        {"femto 1 fc1", 802816, 48, 256}, {"femto 2 fc1", 200704, 96, 512}, {"femto 3 fc1", 50176, 192, 1024},
        {"tiny 1 fc1", 802816, 96, 512}, {"tiny 2 fc1", 200704, 192, 1024}};
    for (auto& s : shapes) {
        MlDev d(s.T, s.K, s.N, false);
        const double bytes = (double)s.T * s.K * 4 + (double)s.T * s.N * 2 + (double)s.N * s.K * 2;
        const double floor_us = bytes / bps * 1e6;
        printf("| %s | %d | %d | %d | %.1f | %.1f |", s.name, s.T, s.K, s.N, bytes / 1e6, floor_us);
        for (int v = 1; v <= 4; v++) {
            const float ms = lab_time_ms([&] { ml_launch(v, d.y, d.x, d.g, d.b, d.w, d.bias, s.T, s.K, s.N); }, flush, 20);
            printf(" %.1f (%.0f%%) |", ms * 1e3, 100 * floor_us / (ms * 1e3));
        }
        printf("\n");
    }
    printf("\n| fc2 + residual + LN | T | H | D | MB | floor us | v1 us (%% of floor) | v2 us |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    const struct { const char* name; int T, H, D; } fc2_shapes[] = {
        {"femto 1 fc2", 802816, 128, 48}, {"femto 2 fc2", 200704, 256, 96}, {"femto 3 fc2", 50176, 512, 192},
        {"tiny 1 fc2", 802816, 256, 96}, {"tiny 2 fc2", 200704, 512, 192}};
    for (auto& s : fc2_shapes) {
        MfDev d(s.T, s.H, s.D, false);
        // a read, res read, s written (f32), LN(s) written (bf16), W
        const double bytes = (double)s.T * (s.H * 2 + s.D * 4 * 2 + s.D * 2) + (double)s.D * s.H * 2;
        const double floor_us = bytes / bps * 1e6;
        printf("| %s | %d | %d | %d | %.1f | %.1f |", s.name, s.T, s.H, s.D, bytes / 1e6, floor_us);
        for (int v = 1; v <= 2; v++) {
            const float ms = lab_time_ms([&] { mf_launch(v, d.res, d.ln, d.res, d.a, d.w, d.bias, d.g, d.b, s.T, s.H, s.D); },
                                         flush, 20);
            printf(" %.1f (%.0f%%) |", ms * 1e3, 100 * floor_us / (ms * 1e3));
        }
        printf("\n");
    }
    CK(cudaFree(flush));
    return 0;
}
