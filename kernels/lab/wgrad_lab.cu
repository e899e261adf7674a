// Lab for wgrad.cu (dW = dY^T X, db = colsum dY for narrow layers over many rows): validation against a double
// reference on odd shapes (M, N not multiples of 4, rows not a multiple of the chunk or the block, misaligned
// operands: the scalar staging path), outputs poisoned; timing at the stem conv's training shapes (batch 128, 224 px:
// 1.6M rows, dY [., Co], X = im2col [., 32]) against the copy floor and the FMA floor. cuBLASLt's BGRADB GEMM ran
// femto's shape in 817 us in the training profile (bench/results/2026-12-04-h200-train-timer-r2.txt).
//   v1: the mainline (wgrad_partial + wgrad_reduce), rows per block as WgradKernels.rowsPerBlock chooses (rows / 264
//       rounded up to 64, within [256, 4096]); round 1 (no prefetch of the next chunk) measured at 3bf8010
//   v2: the same with 1024 rows per block
//   nvcc -O3 -lineinfo -std=c++17 -arch=sm_90 -o /tmp/wgrad_lab kernels/lab/wgrad_lab.cu && /tmp/wgrad_lab [--check]
#include "lab_util.cuh"
#include "../src/main/cuda/wgrad.cu"

static int rows_per_block(long long rows) {   // WgradKernels.rowsPerBlock
    long long want = (rows + 263) / 264;
    want = (want + 63) / 64 * 64;
    return (int)std::max(256LL, std::min(4096LL, want));
}

template <typename T>
static void run(int rpb, float* dw, float* db, float* part, const T* dy, const T* x, long long rows, int M, int N) {
    const int grid = (int)((rows + rpb - 1) / rpb);
    if constexpr (sizeof(T) == 4) wgrad_partial_f32<<<grid, WG_BLOCK>>>(part, dy, x, rows, M, N, rpb);
    else wgrad_partial_bf16<<<grid, WG_BLOCK>>>(part, dy, x, rows, M, N, rpb);
    wgrad_reduce<<<(M * N + M + WG_BLOCK - 1) / WG_BLOCK, WG_BLOCK>>>(dw, db, part, grid, M, N);
    CK(cudaGetLastError());
}

template <typename T>
static int check(long long rows, int M, int N, int off) {
    using H = LabHost<T>;
    std::vector<typename H::S> hdy(rows * M + off), hx(rows * N + off);
    std::vector<float> fdy(rows * M), fx(rows * N);
    for (long long i = 0; i < rows * M; i++) { hdy[i + off] = H::from(lab_randn()); fdy[i] = H::to(hdy[i + off]); }
    for (long long i = 0; i < rows * N; i++) { hx[i + off] = H::from(lab_randn()); fx[i] = H::to(hx[i + off]); }
    std::vector<double> rw((size_t)M * N, 0), rb(M, 0);
    for (long long r = 0; r < rows; r++)
        for (int o = 0; o < M; o++) {
            rb[o] += fdy[r * M + o];
            for (int t = 0; t < N; t++) rw[(size_t)o * N + t] += (double)fdy[r * M + o] * fx[r * N + t];
        }
    T *ddy, *dx; float *dw, *db, *part;
    const int grid = (int)((rows + 255) / 256);
    CK(cudaMalloc(&ddy, hdy.size() * sizeof(T))); CK(cudaMalloc(&dx, hx.size() * sizeof(T)));
    CK(cudaMalloc(&dw, (size_t)M * N * 4)); CK(cudaMalloc(&db, M * 4)); CK(cudaMalloc(&part, (size_t)grid * (M * N + M) * 4));
    CK(cudaMemcpy(ddy, hdy.data(), hdy.size() * sizeof(T), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dx, hx.data(), hx.size() * sizeof(T), cudaMemcpyHostToDevice));
    int fails = 0;
    for (int rpb : {rows_per_block(rows), 1024}) {
        CK(cudaMemset(dw, 0xff, (size_t)M * N * 4)); CK(cudaMemset(db, 0xff, M * 4));
        run<T>(rpb, dw, db, part, ddy + off, dx + off, rows, M, N);
        std::vector<float> gw((size_t)M * N), gb(M);
        CK(cudaMemcpy(gw.data(), dw, gw.size() * 4, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(gb.data(), db, M * 4, cudaMemcpyDeviceToHost));
        double nw = 0, dw2 = 0, nb = 0, db2 = 0;
        bool nan = false;
        for (size_t i = 0; i < gw.size(); i++) { nan |= !std::isfinite(gw[i]); nw += (gw[i] - rw[i]) * (gw[i] - rw[i]); dw2 += rw[i] * rw[i]; }
        for (int i = 0; i < M; i++) { nan |= !std::isfinite(gb[i]); nb += (gb[i] - rb[i]) * (gb[i] - rb[i]); db2 += rb[i] * rb[i]; }
        const double ew = sqrt(nw / dw2), eb = sqrt(nb / db2), tol = 1e-5;
        const bool ok = !nan && ew < tol && eb < tol;
        fails += !ok;
        printf("%s %s rows=%lld M=%d N=%d off=%d rows/block=%d: dW %.2e db %.2e\n", ok ? "ok  " : "FAIL",
               sizeof(T) == 4 ? "f32 " : "bf16", rows, M, N, off, rpb, ew, eb);
    }
    CK(cudaFree(ddy)); CK(cudaFree(dx)); CK(cudaFree(dw)); CK(cudaFree(db)); CK(cudaFree(part));
    return fails;
}

template <typename T>
static void time_shape(const char* name, long long rows, int M, int N, void* flush, double bps, double fma) {
    T *dy, *x; float *dw, *db, *part;
    CK(cudaMalloc(&dy, rows * M * sizeof(T))); CK(cudaMalloc(&x, rows * N * sizeof(T)));
    CK(cudaMemset(dy, 0x3c, rows * M * sizeof(T))); CK(cudaMemset(x, 0x3c, rows * N * sizeof(T)));
    CK(cudaMalloc(&dw, (size_t)M * N * 4)); CK(cudaMalloc(&db, M * 4));
    CK(cudaMalloc(&part, (size_t)(rows / 256 + 1) * (M * N + M) * 4));
    const double bytes = (double)rows * (M + N) * sizeof(T);
    const double floor_us = bytes / bps * 1e6, fma_us = (double)rows * M * N / fma * 1e6;
    printf("| %s | %s | %lld | %d | %d | %.1f | %.1f | %.1f |", name, sizeof(T) == 4 ? "f32" : "bf16", rows, M, N,
           bytes / 1e6, floor_us, fma_us);
    for (int rpb : {rows_per_block(rows), 1024}) {
        float ms = lab_time_ms([&] { run<T>(rpb, dw, db, part, dy, x, rows, M, N); }, flush, 20);
        printf(" %.1f (%.0f%%) |", ms * 1e3, floor_us / (ms * 1e3) * 100);
    }
    printf("\n");
    CK(cudaFree(dy)); CK(cudaFree(x)); CK(cudaFree(dw)); CK(cudaFree(db)); CK(cudaFree(part));
}

int main(int argc, char** argv) {
    cudaDeviceProp p; CK(cudaGetDeviceProperties(&p, 0));
    int khz = 0; CK(cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, 0));
    printf("device: %s, %d SMs\n", p.name, p.multiProcessorCount);
    int fails = 0, n = 0;
    const long long shapes[][4] = {{1, 1, 1, 0}, {5000, 24, 32, 0}, {9001, 5, 7, 0}, {70000, 48, 32, 0},
                                   {4097, 64, 64, 0}, {3000, 24, 32, 1}, {12345, 13, 16, 0}, {65, 64, 9, 3}};
    for (auto& s : shapes) {
        fails += check<float>(s[0], (int)s[1], (int)s[2], (int)s[3]);
        fails += check<__nv_bfloat16>(s[0], (int)s[1], (int)s[2], (int)s[3]);
        n += 4;
    }
    printf("validation: %d cases, %d failed\n", n, fails);
    if (fails || (argc > 1 && !strcmp(argv[1], "--check"))) return fails ? 1 : 0;
    void* flush; CK(cudaMalloc(&flush, LAB_FLUSH_BYTES));
    const double bps = lab_copy_bps(flush), fma = (double)p.multiProcessorCount * 128 * khz * 1e3;
    printf("\n| shape | dtype | rows | M | N | MB | floor us | FMA floor us | v1 us (%% floor) | v2 |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    const long long rows = 128LL * 112 * 112;
    time_shape<__nv_bfloat16>("femto stem conv1 b128", rows, 24, 32, flush, bps, fma);
    time_shape<__nv_bfloat16>("tiny stem conv1 b128", rows, 48, 32, flush, bps, fma);
    time_shape<__nv_bfloat16>("base stem conv1 b128", rows, 64, 32, flush, bps, fma);
    time_shape<float>("femto stem conv1 b128", rows, 24, 32, flush, bps, fma);
    time_shape<__nv_bfloat16>("fmnist femto b256 (32 px)", 256LL * 16 * 16, 24, 16, flush, bps, fma);
    CK(cudaFree(flush));
    return 0;
}
