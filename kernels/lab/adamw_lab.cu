// AdamW lab: the mainline optimizer kernels (../src/main/cuda/adamw.cu, included) at MambaOut femto (7.3M
// parameters) and tiny (26.5M) sizes: adamw_sumsq_partial, adamw_finalize, adamw_step with and without the bf16
// copy, and the whole step. Validation first (one step against a host double mirror of AdamWKernels.reference on an
// odd size, a misaligned view and the femto size; normwise 1e-6, norm 1e-6, bf16 copy exact, outputs poisoned).
// Build: nvcc -O3 -lineinfo -std=c++17 -arch=sm_90 -o /tmp/adamw_lab kernels/lab/adamw_lab.cu
// Run:   /tmp/adamw_lab [--check]
#include "../src/main/cuda/adamw.cu"
#include "lab_util.cuh"

#include <functional>

struct Bufs {
    float *p, *g, *m, *v, *ws, *norm;
    __nv_bfloat16* b;
    double* hyper;
};

static Bufs alloc(int n) {
    Bufs d;
    CK(cudaMalloc(&d.p, (n + 4) * 4)); CK(cudaMalloc(&d.g, (n + 4) * 4)); CK(cudaMalloc(&d.m, (n + 4) * 4));
    CK(cudaMalloc(&d.v, (n + 4) * 4)); CK(cudaMalloc(&d.b, (n + 8) * 2));
    CK(cudaMalloc(&d.ws, 64 + 8 * ADAMW_MAX_PARTIALS)); CK(cudaMalloc(&d.norm, 4)); CK(cudaMalloc(&d.hyper, 64));
    return d;
}

static void release(Bufs& d) {
    CK(cudaFree(d.p)); CK(cudaFree(d.g)); CK(cudaFree(d.m)); CK(cudaFree(d.v)); CK(cudaFree(d.b));
    CK(cudaFree(d.ws)); CK(cudaFree(d.norm)); CK(cudaFree(d.hyper));
}

static int sumsq_grid(int n) { return (int)std::min<long long>(ADAMW_MAX_PARTIALS, ((n + 3LL) / 4 + 255) / 256); }
static int step_grid(int n) { return (int)std::min<long long>(1 << 20, ((n + 3LL) / 4 + 255) / 256); }

static void sumsq(const Bufs& d, int off, int n) { adamw_sumsq_partial<<<sumsq_grid(n), 256>>>(d.ws, d.g + off, n); }
static void finalize(const Bufs& d, int n) { adamw_finalize<<<1, 256>>>(d.ws, d.norm, d.hyper, sumsq_grid(n)); }
static void step(const Bufs& d, int off, int n, int decay_count, bool bf16) {
    adamw_step<<<step_grid(n), 256>>>(d.p + off, d.m + off, d.v + off, bf16 ? d.b + off : nullptr, d.g + off, d.ws, n,
                                      decay_count);
}

static double rel(const std::vector<float>& got, const std::vector<double>& ref) {
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.size(); i++) {
        const double e = got[i] - ref[i];
        if (std::isnan(e)) return INFINITY;
        num += e * e; den += ref[i] * ref[i];
    }
    return sqrt(num) / std::max(sqrt(den), 1e-300);
}

// One step from random state; hyper: lr, b1, b2, eps, wd, step, max_norm.
static bool validate(int n, int off, int decay_count, double max_norm_factor, bool bf16) {
    std::vector<float> p(n), g(n), m(n), v(n);
    double sum = 0;
    for (int i = 0; i < n; i++) {
        p[i] = 0.3f * lab_randn(); g[i] = 0.05f * lab_randn(); m[i] = 0.01f * lab_randn();
        const float s = 0.05f * lab_randn(); v[i] = s * s;
        sum += (double)g[i] * g[i];
    }
    const double norm = sqrt(sum);
    const double h[8] = {0.02, 0.9, 0.999, 1e-8, 0.05, 3, max_norm_factor * norm, 0};
    Bufs d = alloc(n);
    CK(cudaMemcpy(d.p + off, p.data(), n * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d.g + off, g.data(), n * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d.m + off, m.data(), n * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d.v + off, v.data(), n * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d.hyper, h, 64, cudaMemcpyHostToDevice));
    CK(cudaMemset(d.b, 0xff, (n + 8) * 2)); CK(cudaMemset(d.ws, 0xff, 64 + 8 * ADAMW_MAX_PARTIALS));
    CK(cudaMemset(d.norm, 0xff, 4));
    sumsq(d, off, n); finalize(d, n); step(d, off, n, decay_count, bf16);
    CK(cudaGetLastError());
    std::vector<float> gp(n), gm(n), gv(n); std::vector<uint16_t> gb(n); float gnorm;
    CK(cudaMemcpy(gp.data(), d.p + off, n * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(gm.data(), d.m + off, n * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(gv.data(), d.v + off, n * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(gb.data(), d.b + off, n * 2, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(&gnorm, d.norm, 4, cudaMemcpyDeviceToHost));
    release(d);

    // AdamWKernels.reference (= AdamW.java) in double with float state.
    const double coef = h[6] > 0 ? h[6] / (norm + 1e-6) : INFINITY;
    const double bc1 = 1 - pow(h[1], h[5]), bc2s = sqrt(1 - pow(h[2], h[5])), ss = h[0] / bc1, dec = 1 - h[0] * h[4];
    std::vector<double> rp(n), rm(n), rv(n);
    for (int i = 0; i < n; i++) {
        const double gi = coef < 1 ? g[i] * coef : g[i];
        const float mi = (float)(h[1] * m[i] + (1 - h[1]) * gi), vi = (float)(h[2] * v[i] + (1 - h[2]) * gi * gi);
        rm[i] = mi; rv[i] = vi;
        rp[i] = (float)(p[i] * (i < decay_count ? dec : 1.0) - ss * mi / (sqrt((double)vi) / bc2s + h[3]));
    }
    const double ep = rel(gp, rp), em = rel(gm, rm), ev = rel(gv, rv), en = fabs(gnorm - norm) / norm;
    int bad_bf16 = 0;
    if (bf16) for (int i = 0; i < n; i++) bad_bf16 += gb[i] != lab_f2bf(gp[i]);
    const bool ok = ep < 1e-6 && em < 1e-6 && ev < 1e-6 && en < 1e-6 && bad_bf16 == 0;
    if (!ok) {
        printf("  FAIL n=%d off=%d decay=%d clip=%g bf16=%d: p %.3g m %.3g v %.3g norm %.3g, bf16 mismatches %d\n", n,
               off, decay_count, max_norm_factor, bf16, ep, em, ev, en, bad_bf16);
    }
    return ok;
}

int main(int argc, char** argv) {
    const bool check_only = argc > 1 && strcmp(argv[1], "--check") == 0;
    int cases = 0, failed = 0;
    for (int n : {1, 7, 10007, 7300000})
        for (int off : {0, 1})
            for (double clip : {0.0, 0.3, 1e3})
                for (bool bf16 : {true, false}) {
                    cases++;
                    failed += !validate(n, off, std::min(n, n / 3 + 2), clip, bf16);   // split inside a float4 (n > 7)
                }
    printf("validation: %d cases, %d failed\n", cases, failed);
    if (check_only || failed) return failed ? 1 : 0;

    void* flush; CK(cudaMalloc(&flush, LAB_FLUSH_BYTES));
    const double bps = lab_copy_bps(flush);
    for (int n : {7300000, 26500000}) {
        Bufs d = alloc(n);
        CK(cudaMemset(d.p, 0, (n + 4) * 4)); CK(cudaMemset(d.g, 0, (n + 4) * 4)); CK(cudaMemset(d.m, 0, (n + 4) * 4));
        CK(cudaMemset(d.v, 0, (n + 4) * 4));
        const double h[8] = {1e-3, 0.9, 0.999, 1e-8, 0.05, 10, 1.0, 0};
        CK(cudaMemcpy(d.hyper, h, 64, cudaMemcpyHostToDevice));
        const int dc = n * 9 / 10;
        struct Row { const char* name; double bytes; std::function<void()> f; };
        std::vector<Row> rows = {
            {"sumsq", 4.0 * n, [&] { sumsq(d, 0, n); }},
            {"finalize", 0, [&] { finalize(d, n); }},
            {"step (no bf16)", 28.0 * n, [&] { step(d, 0, n, dc, false); }},
            {"step + bf16", 30.0 * n, [&] { step(d, 0, n, dc, true); }},
            {"whole (3 kernels)", 34.0 * n, [&] { sumsq(d, 0, n); finalize(d, n); step(d, 0, n, dc, true); }},
        };
        for (auto& r : rows) {
            const float ms = lab_time_ms(r.f, flush, 30);
            const double floor_us = r.bytes / bps * 1e6;
            printf("n=%d %-18s %8.1f us  floor %7.1f us  %5.1f%%\n", n, r.name, ms * 1e3, floor_us,
                   r.bytes > 0 ? 100.0 * floor_us / (ms * 1e3) : 0.0);
        }
        release(d);
    }
    CK(cudaFree(flush));
    return 0;
}
