// Elementwise lab: act_forward (GELU erf / SiLU) at MambaOut-femto's largest activation (256 x 112 x 112 x 24).
//   v1  one element per thread, scalar loads and stores, full grid
//   v2  the mainline (../src/main/cuda/elementwise.cu, included): 16-byte vectors, streaming loads/stores
// Each variant is checked against a CPU double reference (normwise, scale max(|ref|, |x|); see ActGpuTest) on odd
// sizes and a misaligned view, outputs poisoned first.
// Build: nvcc -O3 -lineinfo -std=c++17 -arch=sm_90 -o /tmp/elementwise_lab kernels/lab/elementwise_lab.cu
// Run:   /tmp/elementwise_lab [--check]
#include "../src/main/cuda/elementwise.cu"
#include "lab_util.cuh"

template <typename T>
__global__ void act_v1(T* out, const T* x, int n, int act) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = from_f32<T>(act_apply(to_f32(x[i]), act));
}

template <typename T>
static void run(int v, T* out, const T* x, int n, int act) {
    if (v == 1) {
        act_v1<T><<<(n + 255) / 256, 256>>>(out, x, n, act);
    } else {
        const int V = vec16_elems<T>();
        const int grid = (int)std::min<long long>(1 << 20, ((long long)n / V + 1 + 255) / 256);
        if constexpr (sizeof(T) == 4) act_forward_f32<<<grid, 256>>>(out, x, n, act);
        else act_forward_bf16<<<grid, 256>>>(out, x, n, act);
    }
    CK(cudaGetLastError());
}

template <typename T>
static bool validate(int n, int offset, int act) {
    using H = LabHost<T>;
    std::vector<typename H::S> xs(n + offset), got(n + offset);
    std::vector<float> xf(n);
    for (int i = 0; i < n; i++) { xs[offset + i] = H::from(3.0f * lab_randn()); xf[i] = H::to(xs[offset + i]); }
    T *dx, *dout;
    CK(cudaMalloc(&dx, (n + offset) * sizeof(T))); CK(cudaMalloc(&dout, (n + offset) * sizeof(T)));
    CK(cudaMemcpy(dx, xs.data(), xs.size() * sizeof(T), cudaMemcpyHostToDevice));
    bool ok = true;
    for (int v = 1; v <= 2; v++) {
        CK(cudaMemset(dout, 0xff, (n + offset) * sizeof(T)));
        run<T>(v, dout + offset, dx + offset, n, act);
        CK(cudaMemcpy(got.data(), dout, got.size() * sizeof(T), cudaMemcpyDeviceToHost));
        double num = 0, den = 0;
        for (int i = 0; i < n; i++) {
            const double x = xf[i];
            const double ref = act == 0 ? 0.5 * x * (1 + erf(x / sqrt(2.0))) : x / (1 + exp(-x));
            const double d = H::to(got[offset + i]) - ref, sc = std::max(fabs(ref), fabs(x));
            num += d * d; den += sc * sc;
            if (std::isnan(d)) num = INFINITY;
        }
        const double e = sqrt(num) / std::max(sqrt(den), 1e-300), tol = sizeof(T) == 4 ? 1e-5 : 1e-2;
        if (!(e < tol)) {
            printf("  FAIL v%d %s act=%d n=%d offset=%d: rel err %.3g\n", v, sizeof(T) == 4 ? "f32" : "bf16", act, n,
                   offset, e);
            ok = false;
        }
    }
    CK(cudaFree(dx)); CK(cudaFree(dout));
    return ok;
}

int main(int argc, char** argv) {
    const bool check_only = argc > 1 && !strcmp(argv[1], "--check");
    cudaDeviceProp prop; CK(cudaGetDeviceProperties(&prop, 0));
    printf("device: %s, %d SMs, L2 %d MB\n", prop.name, prop.multiProcessorCount, prop.l2CacheSize >> 20);
    int cases = 0, fails = 0;
    for (int n : {1, 7, 8, 9, 4099, 1000003}) for (int off : {0, 1, 3}) for (int act : {0, 1}) {
        cases += 2;
        if (!validate<float>(n, off, act)) fails++;
        if (!validate<__nv_bfloat16>(n, off, act)) fails++;
    }
    printf("validation: %d cases x 2 variants, %d cases failed\n", cases, fails);
    if (check_only) return fails ? 1 : 0;

    void* flush; CK(cudaMalloc(&flush, LAB_FLUSH_BYTES));
    const double roof = lab_copy_bps(flush);
    const int n = 256 * 112 * 112 * 24;
    void *dx, *dout;
    CK(cudaMalloc(&dx, (size_t)n * 4)); CK(cudaMalloc(&dout, (size_t)n * 4));
    {
        std::vector<float> h(n);
        for (auto& v : h) v = lab_randn();
        CK(cudaMemcpy(dx, h.data(), (size_t)n * 4, cudaMemcpyHostToDevice));   // bf16 runs read its first half as bits
        for (size_t i = 0; i < h.size() / 2; i++) {   // ... made finite bf16 pairs
            uint32_t u = (uint32_t)lab_f2bf(h[2 * i]) | ((uint32_t)lab_f2bf(h[2 * i + 1]) << 16);
            memcpy(&h[i], &u, 4);
        }
        CK(cudaMemcpy(dx, h.data(), (size_t)n * 2, cudaMemcpyHostToDevice));
    }
    printf("\n| type | act | n | MB moved | floor us | v1 us | v2 us | v2 %% of floor |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (int t = 0; t < 2; t++) for (int act : {0, 1}) {
        const size_t es = t == 0 ? 2 : 4;
        const double bytes = 2.0 * n * es, floor_us = bytes / roof * 1e6;
        float us[3];
        for (int v = 1; v <= 2; v++) {
            us[v] = 1e3f * lab_time_ms([&] {
                if (t == 0) run<__nv_bfloat16>(v, (__nv_bfloat16*)dout, (const __nv_bfloat16*)dx, n, act);
                else run<float>(v, (float*)dout, (const float*)dx, n, act);
            }, flush, 20);
        }
        printf("| %s | %s | %d | %.0f | %.1f | %.1f | %.1f | %.0f%% |\n", t == 0 ? "bf16" : "f32", act ? "silu" : "gelu",
               n, bytes / 1e6, floor_us, us[1], us[2], 100 * floor_us / us[2]);
    }
    CK(cudaFree(dx)); CK(cudaFree(dout)); CK(cudaFree(flush));
    return fails ? 1 : 0;
}
