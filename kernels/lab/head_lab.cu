// Head lab: mean over H*W then LayerNorm over C (MambaOut's pooled classifier input) at batch 256, 7 x 7, C = 288
// and 576 (femto's last stage, and twice it).
//   v1  unfused: a thread per (n, c) pools into an f32 buffer, then a block per image LayerNorms it (2 launches)
//   v2  the mainline (../src/main/cuda/head.cu, included): one block per image, the pooled row in shared memory
// Checked against a CPU double MeanHW + LayerNorm on odd shapes (C = 1, 37, 1030, 13001, HW = 1, 15), out poisoned.
// Build: nvcc -O3 -lineinfo -std=c++17 -arch=sm_90 -o /tmp/head_lab kernels/lab/head_lab.cu
// Run:   /tmp/head_lab [--check]
#include "../src/main/cuda/head.cu"
#include "lab_util.cuh"

template <typename T>
__global__ void head_v1_pool(float* m, const T* x, int N, int HW, int C) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= N * C) return;
    const int n = i / C, c = i % C;
    float s = 0.0f;
    for (int h = 0; h < HW; h++) s += to_f32(x[((long long)n * HW + h) * C + c]);
    m[i] = s / HW;
}

template <typename T>
__global__ void head_v1_norm(T* out, const float* m, const float* w, const float* b, int C, float eps) {
    __shared__ float scratch[HEAD_MAX_WARPS];
    const float* r = m + (long long)blockIdx.x * C;
    float s = 0.0f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) s += r[c];
    const float mean = head_block_sum(s, scratch) / C;
    float v = 0.0f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) v += (r[c] - mean) * (r[c] - mean);
    const float rstd = rsqrtf(head_block_sum(v, scratch) / C + eps);
    for (int c = threadIdx.x; c < C; c += blockDim.x)
        out[(long long)blockIdx.x * C + c] = from_f32<T>((r[c] - mean) * rstd * w[c] + b[c]);
}

template <typename T>
static void run(int v, T* out, const T* x, const float* w, const float* b, float* tmp, int N, int HW, int C, float eps) {
    if (v == 1) {
        head_v1_pool<T><<<(N * C + 255) / 256, 256>>>(tmp, x, N, HW, C);
        head_v1_norm<T><<<N, 256>>>(out, tmp, w, b, C, eps);
    } else {   // HeadKernels.geometry
        const int block = std::min(1024, (C + 31) / 32 * 32), shared = C <= HEAD_MAX_CACHED_C ? C * 4 : 0;
        if constexpr (sizeof(T) == 4) mean_hw_layernorm_f32<<<N, block, shared>>>(out, x, w, b, N, HW, C, eps);
        else mean_hw_layernorm_bf16<<<N, block, shared>>>(out, x, w, b, N, HW, C, eps);
    }
    CK(cudaGetLastError());
}

template <typename T>
static bool validate(int N, int HW, int C) {
    using H = LabHost<T>;
    const float eps = 1e-6f;
    std::vector<typename H::S> xs((size_t)N * HW * C), got((size_t)N * C);
    std::vector<float> xf(xs.size()), w(C), b(C);
    for (size_t i = 0; i < xs.size(); i++) { xs[i] = H::from(0.7f + 2.0f * lab_randn()); xf[i] = H::to(xs[i]); }
    for (int c = 0; c < C; c++) { w[c] = 1.0f + 0.3f * lab_randn(); b[c] = 0.3f * lab_randn(); }
    T *dx, *dout; float *dw, *db, *dtmp;
    CK(cudaMalloc(&dx, xs.size() * sizeof(T))); CK(cudaMalloc(&dout, got.size() * sizeof(T)));
    CK(cudaMalloc(&dw, C * 4)); CK(cudaMalloc(&db, C * 4)); CK(cudaMalloc(&dtmp, (size_t)N * C * 4));
    CK(cudaMemcpy(dx, xs.data(), xs.size() * sizeof(T), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dw, w.data(), C * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(db, b.data(), C * 4, cudaMemcpyHostToDevice));
    bool ok = true;
    for (int v = 1; v <= 2; v++) {
        CK(cudaMemset(dout, 0xff, got.size() * sizeof(T)));
        run<T>(v, dout, dx, dw, db, dtmp, N, HW, C, eps);
        CK(cudaMemcpy(got.data(), dout, got.size() * sizeof(T), cudaMemcpyDeviceToHost));
        double num = 0, den = 0;
        std::vector<double> m(C);
        for (int n = 0; n < N; n++) {
            double mu = 0, var = 0;
            for (int c = 0; c < C; c++) {
                double s = 0;
                for (int h = 0; h < HW; h++) s += xf[((size_t)n * HW + h) * C + c];
                m[c] = s / HW; mu += m[c];
            }
            mu /= C;
            for (int c = 0; c < C; c++) var += (m[c] - mu) * (m[c] - mu);
            const double rstd = 1 / sqrt(var / C + eps);
            for (int c = 0; c < C; c++) {
                const double ref = (m[c] - mu) * rstd * w[c] + b[c], d = H::to(got[(size_t)n * C + c]) - ref;
                num += std::isnan(d) ? INFINITY : d * d; den += ref * ref;
            }
        }
        const double e = sqrt(num) / std::max(sqrt(den), 1e-300), tol = sizeof(T) == 4 ? 1e-5 : 1e-2;
        if (!(e < tol)) {
            printf("  FAIL v%d %s N=%d HW=%d C=%d: rel err %.3g\n", v, sizeof(T) == 4 ? "f32" : "bf16", N, HW, C, e);
            ok = false;
        }
    }
    CK(cudaFree(dx)); CK(cudaFree(dout)); CK(cudaFree(dw)); CK(cudaFree(db)); CK(cudaFree(dtmp));
    return ok;
}

int main(int argc, char** argv) {
    const bool check_only = argc > 1 && !strcmp(argv[1], "--check");
    cudaDeviceProp prop; CK(cudaGetDeviceProperties(&prop, 0));
    printf("device: %s, %d SMs, L2 %d MB\n", prop.name, prop.multiProcessorCount, prop.l2CacheSize >> 20);
    int cases = 0, fails = 0;
    struct S { int N, HW, C; } vs[] = {{3, 49, 288}, {2, 49, 576}, {5, 1, 1}, {4, 15, 37}, {2, 6, 1030},
                                       {1, 4, 13001}, {9, 7, 64}, {256, 49, 288}};
    for (auto s : vs) {
        cases += 2;
        if (!validate<float>(s.N, s.HW, s.C)) fails++;
        if (!validate<__nv_bfloat16>(s.N, s.HW, s.C)) fails++;
    }
    printf("validation: %d cases x 2 variants, %d cases failed\n", cases, fails);
    if (check_only) return fails ? 1 : 0;

    void* flush; CK(cudaMalloc(&flush, LAB_FLUSH_BYTES));
    const double roof = lab_copy_bps(flush);
    printf("\n| type | N | HW | C | MB moved | floor us | v1 us | v2 us | v2 %% of floor |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (int t = 0; t < 2; t++) for (int C : {288, 576}) {
        const int N = 256, HW = 49;
        const size_t es = t == 0 ? 2 : 4, nx = (size_t)N * HW * C;
        void *dx, *dout; float *dw, *db, *dtmp;
        CK(cudaMalloc(&dx, nx * es)); CK(cudaMalloc(&dout, (size_t)N * C * es));
        CK(cudaMalloc(&dw, C * 4)); CK(cudaMalloc(&db, C * 4)); CK(cudaMalloc(&dtmp, (size_t)N * C * 4));
        CK(cudaMemset(dx, 0x3f, nx * es)); CK(cudaMemset(dw, 0x3f, C * 4)); CK(cudaMemset(db, 0, C * 4));
        const double bytes = (double)nx * es + (double)N * C * es, floor_us = bytes / roof * 1e6;
        float us[3];
        for (int v = 1; v <= 2; v++) {
            us[v] = 1e3f * lab_time_ms([&] {
                if (t == 0) run<__nv_bfloat16>(v, (__nv_bfloat16*)dout, (const __nv_bfloat16*)dx, dw, db, dtmp, N, HW, C, 1e-6f);
                else run<float>(v, (float*)dout, (const float*)dx, dw, db, dtmp, N, HW, C, 1e-6f);
            }, flush, 30);
        }
        printf("| %s | %d | %d | %d | %.1f | %.1f | %.1f | %.1f | %.0f%% |\n", t == 0 ? "bf16" : "f32", N, HW, C,
               bytes / 1e6, floor_us, us[1], us[2], 100 * floor_us / us[2]);
        CK(cudaFree(dx)); CK(cudaFree(dout)); CK(cudaFree(dw)); CK(cudaFree(db)); CK(cudaFree(dtmp));
    }
    CK(cudaFree(flush));
    return fails ? 1 : 0;
}
