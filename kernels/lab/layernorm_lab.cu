// Kernel lab for the layernorm family: numbered variants, a CPU double-precision check on random odd shapes with
// outputs poisoned, and a timing loop (warm-up, median of many runs, L2 flushed, inputs larger than L2) printing
// GB/s against the measured device-to-device copy bandwidth. Variant 3 (forward) and 2 (backward) ARE the mainline
// kernels: the mainline source is included, not copied.
//
//   nvcc -O3 -lineinfo -std=c++17 -arch=sm_90 -o /tmp/layernorm_lab kernels/lab/layernorm_lab.cu
//   /tmp/layernorm_lab            # validate, then time
//   /tmp/layernorm_lab --check    # validate only (e.g. under compute-sanitizer)
#include "../src/main/cuda/layernorm.cu"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { \
    fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); exit(1); } } while (0)

// ---------------------------------------------------------------- forward variants
// 1: one thread per token. Each thread walks its own row: neighbouring threads touch addresses C floats apart, so
// every load is its own 32-byte sector; expected far from the floor.
__global__ void ln_fwd_v1(float* out, float* mean, float* rstd, const float* inp, const float* w, const float* b,
                          int N, int C, float eps) {
    int row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= N) return;
    const float* x = inp + (size_t)row * C;
    float s = 0; for (int i = 0; i < C; i++) s += x[i];
    float m = s / C, v = 0;
    for (int i = 0; i < C; i++) { float d = x[i] - m; v += d * d; }
    float r = rsqrtf(v / C + eps);
    for (int i = 0; i < C; i++) out[(size_t)row * C + i] = (x[i] - m) * r * w[i] + b[i];
    mean[row] = m; rstd[row] = r;
}

// 2: one warp per token, scalar loads, shuffles for the sums: coalesced rows.
__global__ void ln_fwd_v2(float* out, float* mean, float* rstd, const float* inp, const float* w, const float* b,
                          int N, int C, float eps) {
    int lane = threadIdx.x % 32, row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (row >= N) return;
    const float* x = inp + (size_t)row * C;
    float s = 0; for (int i = lane; i < C; i += 32) s += x[i];
    float m = warp_sum(s) / C, v = 0;
    for (int i = lane; i < C; i += 32) { float d = x[i] - m; v += d * d; }
    float r = rsqrtf(warp_sum(v) / C + eps);
    for (int i = lane; i < C; i += 32) out[(size_t)row * C + i] = (x[i] - m) * r * w[i] + b[i];
    if (lane == 0) { mean[row] = m; rstd[row] = r; }
}
// 3: layernorm_forward (mainline): variant 2 plus float4 loads/stores when C % 4 == 0, streaming store for out.

// ---------------------------------------------------------------- backward variants
// 1: one thread per token for dx; dweight/dbias partials from a separate column kernel (two launches + reduce).
__global__ void ln_bwd_v1_dx(float* dinp, const float* dout, const float* inp, const float* w, const float* mean,
                             const float* rstd, int N, int C) {
    int row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= N) return;
    const float* x = inp + (size_t)row * C; const float* g = dout + (size_t)row * C;
    float m = mean[row], s = rstd[row], a = 0, bb = 0;
    for (int i = 0; i < C; i++) { float d = g[i] * w[i]; a += d; bb += d * (x[i] - m); }
    a /= C; bb = bb * s / C;
    for (int i = 0; i < C; i++) dinp[(size_t)row * C + i] = s * (g[i] * w[i] - a - (x[i] - m) * s * bb);
}
__global__ void ln_bwd_v1_cols(float* dwp, float* dbp, const float* dout, const float* inp, const float* mean,
                               const float* rstd, int N, int C, int R) {
    int r0 = blockIdx.x * R, r1 = min(N, r0 + R);
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float dw = 0, db = 0;
        for (int row = r0; row < r1; row++) {
            float g = dout[(size_t)row * C + c];
            dw += g * (inp[(size_t)row * C + c] - mean[row]) * rstd[row]; db += g;
        }
        dwp[(size_t)blockIdx.x * C + c] = dw; dbp[(size_t)blockIdx.x * C + c] = db;
    }
}
// 2: layernorm_backward (mainline): warp per token dx + the column pass fused in one block over the same rows.

// ---------------------------------------------------------------- harness
struct Bufs {
    int N, C, P, R;
    float *x, *w, *b, *out, *mean, *rstd, *dout, *dx, *dwp, *dbp, *dw, *db;
};

static int g_sms = 0;
static int rows_per_block(int N, int R_override) {
    return R_override > 0 ? R_override : std::max(8, (N + 4 * g_sms - 1) / (4 * g_sms));
}

static void alloc(Bufs& B, int N, int C, int R) {
    B.N = N; B.C = C; B.R = R; B.P = (N + R - 1) / R;
    size_t nc = (size_t)N * C * 4;
    CK(cudaMalloc(&B.x, nc)); CK(cudaMalloc(&B.out, nc)); CK(cudaMalloc(&B.dout, nc)); CK(cudaMalloc(&B.dx, nc));
    CK(cudaMalloc(&B.w, C * 4)); CK(cudaMalloc(&B.b, C * 4)); CK(cudaMalloc(&B.dw, C * 4)); CK(cudaMalloc(&B.db, C * 4));
    CK(cudaMalloc(&B.mean, N * 4)); CK(cudaMalloc(&B.rstd, N * 4));
    CK(cudaMalloc(&B.dwp, (size_t)B.P * C * 4)); CK(cudaMalloc(&B.dbp, (size_t)B.P * C * 4));
}
static void release(Bufs& B) {
    for (float* p : {B.x, B.out, B.dout, B.dx, B.w, B.b, B.dw, B.db, B.mean, B.rstd, B.dwp, B.dbp}) CK(cudaFree(p));
}

static void fwd(int v, Bufs& B) {
    switch (v) {
        case 1: ln_fwd_v1<<<(B.N + 127) / 128, 128>>>(B.out, B.mean, B.rstd, B.x, B.w, B.b, B.N, B.C, 1e-5f); break;
        case 2: ln_fwd_v2<<<(B.N + 7) / 8, 256>>>(B.out, B.mean, B.rstd, B.x, B.w, B.b, B.N, B.C, 1e-5f); break;
        default: layernorm_forward<<<(B.N + 7) / 8, 256>>>(B.out, B.mean, B.rstd, B.x, B.w, B.b, B.N, B.C, 1e-5f);
    }
}
static void bwd(int v, Bufs& B) {
    if (v == 1) {
        ln_bwd_v1_dx<<<(B.N + 127) / 128, 128>>>(B.dx, B.dout, B.x, B.w, B.mean, B.rstd, B.N, B.C);
        ln_bwd_v1_cols<<<B.P, 256>>>(B.dwp, B.dbp, B.dout, B.x, B.mean, B.rstd, B.N, B.C, B.R);
    } else {
        layernorm_backward<<<B.P, 256>>>(B.dx, B.dwp, B.dbp, B.dout, B.x, B.w, B.mean, B.rstd, B.N, B.C, B.R);
    }
    layernorm_backward_reduce<<<(B.C + 255) / 256, 256>>>(B.dw, B.db, B.dwp, B.dbp, B.P, B.C);
}

// Normwise relative error ||got - ref|| / ||scale||. The scale is the size of what float rounding of the inputs
// alone would perturb: each token's terms times kappa = max(1, max|x| * rstd). A token whose values nearly coincide
// (likely with C = 3) has a tiny std, and any float LayerNorm, whatever its summation order, loses digits on it in
// proportion to max|x| / std: the input's conditioning, not the kernel's error. dx uses the size of its terms rather
// than its value, which is exactly 0 when C = 1. dweight/dbias (sums over many tokens) use their own norm.
static double norm_rel(const std::vector<float>& got, const std::vector<double>& ref, const std::vector<double>* scale = nullptr) {
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.size(); i++) {
        double d = (double)got[i] - ref[i];
        if (!(d == d)) return INFINITY;  // NaN: an element the kernel never wrote (poisoned)
        num += d * d;
        double sc = scale ? (*scale)[i] : ref[i];
        den += sc * sc;
    }
    return std::sqrt(num) / std::max(std::sqrt(den), 1e-300);
}

static bool validate(int N, int C, int R, std::mt19937& rng) {
    std::normal_distribution<float> nd(0.f, 1.f);
    std::vector<float> x((size_t)N * C), w(C), b(C), g((size_t)N * C);
    for (auto& v : x) v = 3.0f + 2.0f * nd(rng);  // non-zero mean: exercises the two-pass variance
    for (auto& v : w) v = 1.0f + 0.1f * nd(rng);
    for (auto& v : b) v = 0.1f * nd(rng);
    for (auto& v : g) v = nd(rng);
    // CPU double reference.
    std::vector<double> ro((size_t)N * C), rm(N), rr(N), rdx((size_t)N * C), rdw(C, 0), rdb(C, 0), so((size_t)N * C), sdx((size_t)N * C), sm(N), sr(N);
    for (int n = 0; n < N; n++) {
        const float* xr = &x[(size_t)n * C];
        double m = 0; for (int i = 0; i < C; i++) m += xr[i]; m /= C;
        double v = 0; for (int i = 0; i < C; i++) v += (xr[i] - m) * (xr[i] - m); v /= C;
        double s = 1.0 / std::sqrt(v + 1e-5);
        rm[n] = m; rr[n] = s;
        double xmax = 0; for (int i = 0; i < C; i++) xmax = std::max(xmax, (double)std::fabs(xr[i]));
        const double kappa = std::max(1.0, xmax * s);  // how much float rounding of x is amplified: ~max|x| / std
        sm[n] = xmax;
        sr[n] = s * kappa;
        double a = 0, bb = 0;
        for (int i = 0; i < C; i++) {
            double xh = (xr[i] - m) * s;
            ro[(size_t)n * C + i] = xh * w[i] + b[i];
            so[(size_t)n * C + i] = kappa * (std::fabs(xh * w[i]) + std::fabs(b[i]));
            double gi = g[(size_t)n * C + i], dn = gi * w[i];
            a += dn; bb += dn * xh; rdw[i] += gi * xh; rdb[i] += gi;
        }
        a /= C; bb /= C;
        for (int i = 0; i < C; i++) {
            double xh = (xr[i] - m) * s;
            rdx[(size_t)n * C + i] = s * ((double)g[(size_t)n * C + i] * w[i] - a - xh * bb);
            sdx[(size_t)n * C + i] = kappa * s * (std::fabs((double)g[(size_t)n * C + i] * w[i]) + std::fabs(a) + std::fabs(xh * bb));
        }
    }
    Bufs B; alloc(B, N, C, R);
    CK(cudaMemcpy(B.x, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(B.dout, g.data(), g.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(B.w, w.data(), C * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(B.b, b.data(), C * 4, cudaMemcpyHostToDevice));
    bool ok = true;
    for (int v = 1; v <= 3; v++) {
        CK(cudaMemset(B.out, 0xff, (size_t)N * C * 4)); CK(cudaMemset(B.mean, 0xff, N * 4)); CK(cudaMemset(B.rstd, 0xff, N * 4));
        fwd(v, B); CK(cudaGetLastError()); CK(cudaDeviceSynchronize());
        std::vector<float> o((size_t)N * C), m(N), r(N);
        CK(cudaMemcpy(o.data(), B.out, o.size() * 4, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(m.data(), B.mean, N * 4, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(r.data(), B.rstd, N * 4, cudaMemcpyDeviceToHost));
        double e = std::max({norm_rel(o, ro, &so), norm_rel(m, rm, &sm), norm_rel(r, rr, &sr)});
        if (!(e < 1e-5)) { printf("  FAIL fwd v%d N=%d C=%d rel err %.3g\n", v, N, C, e); ok = false; }
    }
    for (int v = 1; v <= 2; v++) {
        CK(cudaMemset(B.dx, 0xff, (size_t)N * C * 4)); CK(cudaMemset(B.dw, 0xff, C * 4)); CK(cudaMemset(B.db, 0xff, C * 4));
        bwd(v, B); CK(cudaGetLastError()); CK(cudaDeviceSynchronize());
        std::vector<float> dx((size_t)N * C), dw(C), db(C);
        CK(cudaMemcpy(dx.data(), B.dx, dx.size() * 4, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(dw.data(), B.dw, C * 4, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(db.data(), B.db, C * 4, cudaMemcpyDeviceToHost));
        double e = std::max({norm_rel(dx, rdx, &sdx), norm_rel(dw, rdw), norm_rel(db, rdb)});
        if (!(e < 1e-5)) { printf("  FAIL bwd v%d N=%d C=%d R=%d rel err %.3g\n", v, N, C, R, e); ok = false; }
    }
    release(B);
    return ok;
}

static float median(std::vector<float> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; }

template <typename F>
static float time_ms(F body, void* flush, size_t flush_bytes, int reps) {
    cudaEvent_t a, b; CK(cudaEventCreate(&a)); CK(cudaEventCreate(&b));
    for (int i = 0; i < 3; i++) body();  // warm-up: module load, clocks, TLB
    std::vector<float> t;
    for (int i = 0; i < reps; i++) {
        CK(cudaMemsetAsync(flush, i & 0xff, flush_bytes));  // evicts the inputs from L2 between runs
        CK(cudaEventRecord(a)); body(); CK(cudaEventRecord(b)); CK(cudaEventSynchronize(b));
        float ms; CK(cudaEventElapsedTime(&ms, a, b)); t.push_back(ms);
    }
    CK(cudaGetLastError());
    CK(cudaEventDestroy(a)); CK(cudaEventDestroy(b));
    return median(t);
}

int main(int argc, char** argv) {
    bool check_only = argc > 1 && !strcmp(argv[1], "--check");
    cudaDeviceProp p; CK(cudaGetDeviceProperties(&p, 0)); g_sms = p.multiProcessorCount;
    printf("device: %s, %d SMs, L2 %d MB\n", p.name, p.multiProcessorCount, p.l2CacheSize >> 20);

    std::mt19937 rng(1234);
    int Ns[] = {1, 7, 33, 1000, 4097};
    int Cs[] = {1, 3, 42, 48, 85, 96, 170, 192, 288, 768, 1023};
    int fails = 0, cases = 0;
    for (int N : Ns) for (int C : Cs) for (int R : {0, 1, 13}) { cases++; if (!validate(N, C, rows_per_block(N, R), rng)) fails++; }
    printf("validation: %d cases (fwd v1-3, bwd v1-2 each), %d failed\n", cases, fails);
    if (check_only) return fails ? 1 : 0;
    if (fails) printf("WARNING: validation failed; timings below are of kernels that are wrong somewhere\n");

    const size_t flush_bytes = 256u << 20;
    void* flush; CK(cudaMalloc(&flush, flush_bytes));
    // Device-to-device copy bandwidth, the practical roof: bytes read + written per second.
    {
        size_t bytes = 512u << 20; void *s, *d; CK(cudaMalloc(&s, bytes)); CK(cudaMalloc(&d, bytes));
        float ms = time_ms([&] { CK(cudaMemcpyAsync(d, s, bytes, cudaMemcpyDeviceToDevice)); }, flush, flush_bytes, 20);
        printf("copy D2D %zu MB: %.3f ms, %.0f GB/s (read+write)\n", bytes >> 20, ms, 2.0 * bytes / ms / 1e6);
        CK(cudaFree(s)); CK(cudaFree(d));
    }
    struct Shape { int N, C; } shapes[] = {{1 << 20, 48}, {1 << 19, 85}, {1 << 19, 96}, {1 << 18, 192},
                                          {175616, 288}, {1 << 16, 768}, {25088, 48}};
    for (auto s : shapes) {
        for (int R : {0, 8, 32}) {
            Bufs B; alloc(B, s.N, s.C, rows_per_block(s.N, R));
            CK(cudaMemset(B.x, 0, (size_t)s.N * s.C * 4)); CK(cudaMemset(B.dout, 0, (size_t)s.N * s.C * 4));
            CK(cudaMemset(B.w, 0, s.C * 4)); CK(cudaMemset(B.b, 0, s.C * 4));
            fwd(3, B);  // mean and rstd for the backward
            double nc = (double)s.N * s.C * 4;
            double fwd_bytes = 2 * nc + 8.0 * s.N, bwd_bytes = 3 * nc + 8.0 * s.N + 2.0 * 2 * B.P * s.C * 4;
            if (R == 0) {
                for (int v = 1; v <= 3; v++) {
                    float ms = time_ms([&] { fwd(v, B); }, flush, flush_bytes, 30);
                    printf("fwd v%d N=%-8d C=%-4d %8.1f us  %6.0f GB/s  (%.0f MB moved)\n", v, s.N, s.C, ms * 1e3,
                           fwd_bytes / ms / 1e6, fwd_bytes / 1e6);
                }
            }
            for (int v = 1; v <= 2; v++) {
                if (v == 1 && R != 0) continue;
                float ms = time_ms([&] { bwd(v, B); }, flush, flush_bytes, 30);
                printf("bwd v%d N=%-8d C=%-4d R=%-5d P=%-6d %8.1f us  %6.0f GB/s  (%.0f MB moved)\n", v, s.N, s.C, B.R,
                       B.P, ms * 1e3, bwd_bytes / ms / 1e6, bwd_bytes / 1e6);
            }
            release(B);
        }
    }
    CK(cudaFree(flush));
    return 0;
}
