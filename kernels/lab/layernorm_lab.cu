// Kernel lab for the layernorm family: numbered variants, a CPU double-precision check on random odd shapes with
// outputs poisoned, and a timing loop (warm-up, median of many runs, L2 flushed, inputs larger than L2) printing
// GB/s against the measured device-to-device copy bandwidth. Forward v4, bf16 forward v3 and backward v3 ARE the
// mainline kernels, bf16 v2 is the mainline template with 8-byte units, and v3 / v2 call the mainline's
// warp-per-token device functions (what the mainline runs for long rows): the mainline source is included, not copied.
//
//   nvcc -O3 -lineinfo -std=c++17 -arch=sm_90 -o /tmp/layernorm_lab kernels/lab/layernorm_lab.cu
//   /tmp/layernorm_lab            # validate, then time
//   /tmp/layernorm_lab --check    # validate only (e.g. under compute-sanitizer)
//   /tmp/layernorm_lab --bf16     # the bf16 forward alone: validate, then time at the MambaOut batch-256 shapes
//   /tmp/layernorm_lab --fold     # the LayerNorm-affine fold question alone: bf16 validation (it covers the
//                                 # no-affine variants), then affine mainline vs no-affine at the same shapes
//   /tmp/layernorm_lab --bwd      # the backward storage variants alone (_acc, bf16): validate, then time at the
//                                 # MambaOut batch-128 training shapes
#include "../src/main/cuda/layernorm.cu"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
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
// 3: variant 2 plus float4 loads/stores when C % 4 == 0, streaming store for out (the mainline until round 2; still
// the mainline's path for rows longer than 768 channels).
__global__ void __launch_bounds__(256) ln_fwd_v3(float* out, float* mean, float* rstd, const float* inp,
                                                 const float* w, const float* b, int N, int C, float eps) {
    const bool vec = C % 4 == 0 && aligned16(inp) && aligned16(out) && aligned16(w) && aligned16(b);
    if (vec) ln_forward_warp_rows<float, float, LN_F32_UNIT>(out, mean, rstd, inp, w, b, N, C, eps);
    else ln_forward_warp_rows<float, float, 1>(out, mean, rstd, inp, w, b, N, C, eps);
}
// 4: layernorm_forward (mainline): register groups, 32 / G tokens per warp, the row read once into registers.

// ---------------------------------------------------------------- bf16 forward variants (round 3)
// bf16 storage, f32 math and statistics, one rounding at the store. 1: the plain kernel, variant 2 of f32 with bf16
// loads: a warp per token, 2-byte scalar loads, three passes over the row from L1.
__global__ void ln_fwd_bf16_v1(__nv_bfloat16* out, float* mean, float* rstd, const __nv_bfloat16* inp,
                               const float* w, const float* b, int N, int C, float eps) {
    int lane = threadIdx.x % 32, row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (row >= N) return;
    const __nv_bfloat16* x = inp + (size_t)row * C;
    float s = 0; for (int i = lane; i < C; i += 32) s += __bfloat162float(x[i]);
    float m = warp_sum(s) / C, v = 0;
    for (int i = lane; i < C; i += 32) { float d = __bfloat162float(x[i]) - m; v += d * d; }
    float r = rsqrtf(warp_sum(v) / C + eps);
    for (int i = lane; i < C; i += 32) {
        out[(size_t)row * C + i] = __float2bfloat16_rn((__bfloat162float(x[i]) - m) * r * w[i] + b[i]);
    }
    if (lane == 0) {
        if (mean != nullptr) mean[row] = m;
        if (rstd != nullptr) rstd[row] = r;
    }
}
// 2: the mainline template with 8-byte units (4 bf16): exactly the f32 geometry (same groups and tokens per warp at
// every C), half the bytes per load. 3: layernorm_forward_bf16 (mainline), 16-byte units (8 bf16): twice the tokens
// per warp at C = 96..576, as many bytes per load as f32.
__global__ void __launch_bounds__(256) ln_fwd_bf16_v2(__nv_bfloat16* out, float* mean, float* rstd,
                                                      const __nv_bfloat16* inp, const float* w, const float* b,
                                                      int N, int C, float eps) {
    ln_forward<__nv_bfloat16, __nv_bfloat16, 4>(out, mean, rstd, inp, w, b, N, C, eps);
}

// Fold question (round 4): the mainline template with AFFINE = false, out = (x - mean) * rstd, no weight/bias reads
// and no FMA: what the LayerNorm before fc1 would run if its affine were folded into fc1 (W' = W diag(gamma),
// b' = b + W beta). bf16 -> bf16 (layernorm_forward_bf16 without the affine) and f32 -> bf16
// (layernorm_forward_f32_bf16 without it: a bf16 program's LayerNorm reads the f32 residual stream).
__global__ void __launch_bounds__(256) ln_fwd_bf16_noaffine(__nv_bfloat16* out, float* mean, float* rstd,
                                                            const __nv_bfloat16* inp, int N, int C, float eps) {
    ln_forward<__nv_bfloat16, __nv_bfloat16, LN_BF16_UNIT, false>(out, mean, rstd, inp, nullptr, nullptr, N, C, eps);
}
__global__ void __launch_bounds__(256) ln_fwd_f32_bf16_noaffine(__nv_bfloat16* out, float* mean, float* rstd,
                                                                const float* inp, int N, int C, float eps) {
    ln_forward<__nv_bfloat16, float, LN_F32_UNIT, false>(out, mean, rstd, inp, nullptr, nullptr, N, C, eps);
}

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
// 2: warp per token dx + a column pass over the same rows in the same block (the mainline until round 2; still the
// mainline's path for C > 768), with the first reduce: one thread per channel walking every partial row.
__global__ void __launch_bounds__(256) ln_bwd_v2(float* dinp, float* dwp, float* dbp, const float* dout,
                                                 const float* inp, const float* w, const float* mean,
                                                 const float* rstd, int N, int C, int R) {
    const bool vec = C % 4 == 0 && aligned16(dinp) && aligned16(dout) && aligned16(inp) && aligned16(w);
    ln_backward_rows_then_columns<float, float, float, false>(dinp, dwp, dbp, dout, inp, w, mean, rstd, N, C, R, vec);
}
__global__ void ln_bwd_reduce_v1(float* dweight, float* dbias, const float* dwp, const float* dbp, int P, int C) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float dw = 0.0f, db = 0.0f;
    for (int p = 0; p < P; ++p) { dw += dwp[(size_t)p * C + c]; db += dbp[(size_t)p * C + c]; }
    dweight[c] = dw; dbias[c] = db;
}
// 3: layernorm_backward + layernorm_backward_reduce (mainline): for C <= 384 register groups, dweight/dbias partials
// accumulated in registers during the one pass over x and dout; for C <= 768 a warp per row with the partials in
// shared memory per warp; longer rows as v2. The reduce splits the partial rows over 8 warps per 32 channels.

// ---------------------------------------------------------------- harness
struct Bufs {
    int N, C, P, R;
    float *x, *w, *b, *out, *mean, *rstd, *dout, *dx, *dwp, *dbp, *dw, *db;
};

static int g_sms = 0;
static double g_copy_bps = 0;  // measured device-to-device copy, bytes read + written per second
// Default rows per block: v1/v2 as before (~4 blocks per SM, all resident), v3 as LayerNormKernels does (one wave of
// 3 blocks per SM, its __launch_bounds__ occupancy).
static int rows_per_block(int N, int R_override, int blocks_per_sm = 4) {
    return R_override > 0 ? R_override : std::max(8, (N + blocks_per_sm * g_sms - 1) / (blocks_per_sm * g_sms));
}

// The partial buffers are sized for R; a later, larger B.R (set_rows) fits in them.
static void set_rows(Bufs& B, int R) { B.R = R; B.P = (B.N + R - 1) / R; }
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

// Forward variants 1-4; 5 and 6 are v4 (the mainline) on other grids, to check its grid-stride loop: 5 with one token
// per warp (LayerNormKernels.forwardGrid(tokens), what older callers pass), 6 with 2 blocks for the whole tensor.
static const int FWD_VARIANTS = 6;
static void fwd(int v, Bufs& B) {
    const int exact = (B.N + 8 * ln_tokens_per_warp(B.C) - 1) / (8 * ln_tokens_per_warp(B.C));
    switch (v) {
        case 1: ln_fwd_v1<<<(B.N + 127) / 128, 128>>>(B.out, B.mean, B.rstd, B.x, B.w, B.b, B.N, B.C, 1e-5f); break;
        case 2: ln_fwd_v2<<<(B.N + 7) / 8, 256>>>(B.out, B.mean, B.rstd, B.x, B.w, B.b, B.N, B.C, 1e-5f); break;
        case 3: ln_fwd_v3<<<(B.N + 7) / 8, 256>>>(B.out, B.mean, B.rstd, B.x, B.w, B.b, B.N, B.C, 1e-5f); break;
        case 4: layernorm_forward<<<exact, 256>>>(B.out, B.mean, B.rstd, B.x, B.w, B.b, B.N, B.C, 1e-5f); break;
        case 5: layernorm_forward<<<(B.N + 7) / 8, 256>>>(B.out, B.mean, B.rstd, B.x, B.w, B.b, B.N, B.C, 1e-5f); break;
        default: layernorm_forward<<<2, 256>>>(B.out, B.mean, B.rstd, B.x, B.w, B.b, B.N, B.C, 1e-5f);
    }
}
static void reduce(int v, Bufs& B) {
    if (v < 3) ln_bwd_reduce_v1<<<(B.C + 255) / 256, 256>>>(B.dw, B.db, B.dwp, B.dbp, B.P, B.C);
    else layernorm_backward_reduce<<<(B.C + 31) / 32, 256>>>(B.dw, B.db, B.dwp, B.dbp, B.P, B.C);
}
static void bwd(int v, Bufs& B) {
    if (v == 1) {
        ln_bwd_v1_dx<<<(B.N + 127) / 128, 128>>>(B.dx, B.dout, B.x, B.w, B.mean, B.rstd, B.N, B.C);
        ln_bwd_v1_cols<<<B.P, 256>>>(B.dwp, B.dbp, B.dout, B.x, B.mean, B.rstd, B.N, B.C, B.R);
    } else if (v == 2) {
        ln_bwd_v2<<<B.P, 256>>>(B.dx, B.dwp, B.dbp, B.dout, B.x, B.w, B.mean, B.rstd, B.N, B.C, B.R);
    } else {
        layernorm_backward<<<B.P, 256>>>(B.dx, B.dwp, B.dbp, B.dout, B.x, B.w, B.mean, B.rstd, B.N, B.C, B.R);
    }
    reduce(v, B);
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
    for (int v = 1; v <= FWD_VARIANTS; v++) {
        CK(cudaMemset(B.out, 0xff, (size_t)N * C * 4)); CK(cudaMemset(B.mean, 0xff, N * 4)); CK(cudaMemset(B.rstd, 0xff, N * 4));
        fwd(v, B); CK(cudaGetLastError()); CK(cudaDeviceSynchronize());
        std::vector<float> o((size_t)N * C), m(N), r(N);
        CK(cudaMemcpy(o.data(), B.out, o.size() * 4, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(m.data(), B.mean, N * 4, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(r.data(), B.rstd, N * 4, cudaMemcpyDeviceToHost));
        double e = std::max({norm_rel(o, ro, &so), norm_rel(m, rm, &sm), norm_rel(r, rr, &sr)});
        if (!(e < 1e-5)) { printf("  FAIL fwd v%d N=%d C=%d rel err %.3g\n", v, N, C, e); ok = false; }
    }
    std::vector<float> dw_first(C), db_first(C);
    for (int v = 1; v <= 4; v++) {  // 4: v3 again, must give the same bits (deterministic)
        CK(cudaMemset(B.dx, 0xff, (size_t)N * C * 4)); CK(cudaMemset(B.dw, 0xff, C * 4)); CK(cudaMemset(B.db, 0xff, C * 4));
        CK(cudaMemset(B.dwp, 0xff, (size_t)B.P * C * 4)); CK(cudaMemset(B.dbp, 0xff, (size_t)B.P * C * 4));
        bwd(std::min(v, 3), B); CK(cudaGetLastError()); CK(cudaDeviceSynchronize());
        std::vector<float> dx((size_t)N * C), dw(C), db(C);
        CK(cudaMemcpy(dx.data(), B.dx, dx.size() * 4, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(dw.data(), B.dw, C * 4, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(db.data(), B.db, C * 4, cudaMemcpyDeviceToHost));
        double e = std::max({norm_rel(dx, rdx, &sdx), norm_rel(dw, rdw), norm_rel(db, rdb)});
        if (!(e < 1e-5)) { printf("  FAIL bwd v%d N=%d C=%d R=%d rel err %.3g\n", v, N, C, R, e); ok = false; }
        if (v == 3) { dw_first = dw; db_first = db; }
        if (v == 4 && (memcmp(dw.data(), dw_first.data(), C * 4) || memcmp(db.data(), db_first.data(), C * 4))) {
            printf("  FAIL bwd v3 N=%d C=%d R=%d: dweight/dbias not bit-identical on rerun\n", N, C, R); ok = false;
        }
    }
    release(B);
    return ok;
}

// ---------------------------------------------------------------- bf16 forward harness
struct Bf16Bufs {
    int N, C;
    __nv_bfloat16 *x, *out;
    float *xf;  // the same values as x in f32: the f32 -> bf16 variants' input
    float *w, *b, *mean, *rstd;
};
static void alloc(Bf16Bufs& B, int N, int C) {
    B.N = N; B.C = C;
    // 8 spare elements: variant 6 runs on views one element in
    CK(cudaMalloc(&B.x, ((size_t)N * C + 8) * 2)); CK(cudaMalloc(&B.out, ((size_t)N * C + 8) * 2));
    CK(cudaMalloc(&B.xf, (size_t)N * C * 4));
    CK(cudaMalloc(&B.w, C * 4)); CK(cudaMalloc(&B.b, C * 4)); CK(cudaMalloc(&B.mean, N * 4)); CK(cudaMalloc(&B.rstd, N * 4));
}
static void release(Bf16Bufs& B) {
    CK(cudaFree(B.x)); CK(cudaFree(B.out));
    for (float* p : {B.xf, B.w, B.b, B.mean, B.rstd}) CK(cudaFree(p));
}
// 1-3 as above; 4 and 5 are v3 (the mainline) on one token per warp and on 2 blocks (its grid-stride loop), 6 on x
// and out one element in (2-byte aligned: the scalar path). Stats null when !stats (inference: what the timing runs).
// Fold question: 7 = bf16 no-affine, 8 = layernorm_forward_f32_bf16 (mainline, f32 x), 9 = f32 -> bf16 no-affine,
// 10 = 7 on views one element in (its scalar path); 7, 9 and 10 are checked against the LayerNorm without the affine.
static const int BF16_VARIANTS = 10;
static bool bf16_noaffine(int v) { return v == 7 || v == 9 || v == 10; }
static bool bf16_offset(int v) { return v == 6 || v == 10; }
static void fwd_bf16(int v, Bf16Bufs& B, bool stats) {
    float* m = stats ? B.mean : nullptr;
    float* r = stats ? B.rstd : nullptr;
    const int tpw = v == 2 || v == 8 || v == 9 ? ln_tokens_per_warp(B.C, 4) : ln_tokens_per_warp(B.C, LN_BF16_UNIT);
    const int exact = (B.N + 8 * tpw - 1) / (8 * tpw);
    switch (v) {
        case 1: ln_fwd_bf16_v1<<<(B.N + 7) / 8, 256>>>(B.out, m, r, B.x, B.w, B.b, B.N, B.C, 1e-5f); break;
        case 2: ln_fwd_bf16_v2<<<exact, 256>>>(B.out, m, r, B.x, B.w, B.b, B.N, B.C, 1e-5f); break;
        case 3: layernorm_forward_bf16<<<exact, 256>>>(B.out, m, r, B.x, B.w, B.b, B.N, B.C, 1e-5f); break;
        case 4: layernorm_forward_bf16<<<(B.N + 7) / 8, 256>>>(B.out, m, r, B.x, B.w, B.b, B.N, B.C, 1e-5f); break;
        case 5: layernorm_forward_bf16<<<2, 256>>>(B.out, m, r, B.x, B.w, B.b, B.N, B.C, 1e-5f); break;
        case 6: layernorm_forward_bf16<<<exact, 256>>>(B.out + 1, m, r, B.x + 1, B.w, B.b, B.N, B.C, 1e-5f); break;
        case 7: ln_fwd_bf16_noaffine<<<exact, 256>>>(B.out, m, r, B.x, B.N, B.C, 1e-5f); break;
        case 8: layernorm_forward_f32_bf16<<<exact, 256>>>(B.out, m, r, B.xf, B.w, B.b, B.N, B.C, 1e-5f); break;
        case 9: ln_fwd_f32_bf16_noaffine<<<exact, 256>>>(B.out, m, r, B.xf, B.N, B.C, 1e-5f); break;
        default: ln_fwd_bf16_noaffine<<<exact, 256>>>(B.out + 1, m, r, B.x + 1, B.N, B.C, 1e-5f);
    }
}

// Host bf16, round to nearest even (finite inputs only: these are random normals).
static uint16_t to_bf16(float f) {
    uint32_t u; memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static float from_bf16(uint16_t h) { uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f; }

// Against a double LayerNorm of the bf16-rounded x: out normwise ||got - ref|| / ||ref|| < 1e-2 (one bf16 rounding is
// at most 2^-9 relative), mean and rstd (f32 from exactly representable values) at the f32 bound with the kappa
// scale. Each variant runs with and without statistics (null mean/rstd must not be written: they stay poisoned).
static bool validate_bf16(int N, int C, std::mt19937& rng) {
    std::normal_distribution<float> nd(0.f, 1.f);
    std::vector<uint16_t> xh((size_t)N * C);
    std::vector<float> x((size_t)N * C), w(C), b(C);
    for (size_t i = 0; i < x.size(); i++) { xh[i] = to_bf16(3.0f + 2.0f * nd(rng)); x[i] = from_bf16(xh[i]); }
    for (auto& v : w) v = 1.0f + 0.1f * nd(rng);
    for (auto& v : b) v = 0.1f * nd(rng);
    std::vector<double> ro((size_t)N * C), rp((size_t)N * C), rm(N), rr(N), sm(N), sr(N);
    for (int n = 0; n < N; n++) {
        const float* xr = &x[(size_t)n * C];
        double m = 0; for (int i = 0; i < C; i++) m += xr[i]; m /= C;
        double v = 0; for (int i = 0; i < C; i++) v += (xr[i] - m) * (xr[i] - m); v /= C;
        double s = 1.0 / std::sqrt(v + 1e-5);
        double xmax = 0; for (int i = 0; i < C; i++) xmax = std::max(xmax, (double)std::fabs(xr[i]));
        rm[n] = m; rr[n] = s; sm[n] = xmax; sr[n] = s * std::max(1.0, xmax * s);
        for (int i = 0; i < C; i++) {
            ro[(size_t)n * C + i] = (xr[i] - m) * s * w[i] + b[i];
            rp[(size_t)n * C + i] = (xr[i] - m) * s;  // without the affine (the fold variants)
        }
    }
    Bf16Bufs B; alloc(B, N, C);
    CK(cudaMemcpy(B.w, w.data(), C * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(B.b, b.data(), C * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(B.xf, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
    bool ok = true;
    for (int v = 1; v <= BF16_VARIANTS; v++) for (bool stats : {true, false}) {
        const int at = bf16_offset(v) ? 1 : 0;
        CK(cudaMemcpy(B.x + at, xh.data(), xh.size() * 2, cudaMemcpyHostToDevice));
        CK(cudaMemset(B.out, 0xff, ((size_t)N * C + 8) * 2)); CK(cudaMemset(B.mean, 0xff, N * 4)); CK(cudaMemset(B.rstd, 0xff, N * 4));
        fwd_bf16(v, B, stats); CK(cudaGetLastError()); CK(cudaDeviceSynchronize());
        std::vector<uint16_t> oh((size_t)N * C);
        std::vector<float> o((size_t)N * C), m(N), r(N);
        CK(cudaMemcpy(oh.data(), B.out + at, oh.size() * 2, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(m.data(), B.mean, N * 4, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(r.data(), B.rstd, N * 4, cudaMemcpyDeviceToHost));
        for (size_t i = 0; i < o.size(); i++) o[i] = from_bf16(oh[i]);
        const double eo = norm_rel(o, bf16_noaffine(v) ? rp : ro);
        const double es = stats ? std::max(norm_rel(m, rm, &sm), norm_rel(r, rr, &sr)) : 0.0;
        bool untouched = true;
        if (!stats) for (int i = 0; i < N; i++) untouched &= !(m[i] == m[i]) && !(r[i] == r[i]);
        if (!(eo < 1e-2) || !(es < 1e-5) || !untouched) {
            printf("  FAIL fwd bf16 v%d N=%d C=%d stats=%d: out rel err %.3g, stats %.3g%s\n", v, N, C, stats, eo, es,
                   untouched ? "" : ", null mean/rstd written");
            ok = false;
        }
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

// The bf16 forward at the MambaOut batch-256 LayerNorm shapes, inference (no mean/rstd): bytes = N*C*2 read + N*C*2
// written; the f32 mainline on the same values (8NC bytes) for comparison.
static void time_bf16(void* flush, size_t flush_bytes) {
    struct Shape { int N, C; const char* what; } shapes[] = {
            {802816, 48, "femto 1"}, {200704, 96, "femto 2"}, {50176, 192, "femto 3"}, {12544, 288, "femto 4"},
            {802816, 96, "tiny 1"}, {200704, 192, "tiny 2"}, {50176, 384, "tiny 3"}, {12544, 576, "tiny 4"}};
    std::vector<std::string> summary;
    for (auto s : shapes) {
        Bf16Bufs B; alloc(B, s.N, s.C);
        Bufs F; alloc(F, s.N, s.C, s.N);  // f32 buffers; the backward's partials are a single row, unused
        {
            std::mt19937 r2(s.N + s.C);
            std::normal_distribution<float> nd(0.f, 1.f);
            std::vector<uint16_t> h((size_t)s.N * s.C);
            std::vector<float> hf(h.size());
            for (size_t i = 0; i < h.size(); i++) { h[i] = to_bf16(3.0f + 2.0f * nd(r2)); hf[i] = from_bf16(h[i]); }
            CK(cudaMemcpy(B.x, h.data(), h.size() * 2, cudaMemcpyHostToDevice));
            CK(cudaMemcpy(F.x, hf.data(), hf.size() * 4, cudaMemcpyHostToDevice));
            std::vector<float> wb(s.C);
            for (auto& v : wb) v = 1.0f + 0.1f * nd(r2);
            CK(cudaMemcpy(B.w, wb.data(), s.C * 4, cudaMemcpyHostToDevice));
            CK(cudaMemcpy(F.w, wb.data(), s.C * 4, cudaMemcpyHostToDevice));
            for (auto& v : wb) v = 0.1f * nd(r2);
            CK(cudaMemcpy(B.b, wb.data(), s.C * 4, cudaMemcpyHostToDevice));
            CK(cudaMemcpy(F.b, wb.data(), s.C * 4, cudaMemcpyHostToDevice));
        }
        const double bytes = 4.0 * s.N * s.C, floor_us = bytes / g_copy_bps * 1e6;
        float t[4] = {0};
        for (int v = 1; v <= 3; v++) {
            t[v] = time_ms([&] { fwd_bf16(v, B, false); }, flush, flush_bytes, 30) * 1e3f;
            printf("fwd bf16 v%d N=%-8d C=%-4d %8.1f us  %6.0f GB/s  %3.0f%% of floor (%.0f MB moved)\n", v, s.N, s.C,
                   t[v], bytes / t[v] / 1e3, 100 * floor_us / t[v], bytes / 1e6);
        }
        const int g = (s.N + 8 * ln_tokens_per_warp(s.C) - 1) / (8 * ln_tokens_per_warp(s.C));
        const float tf = time_ms([&] {
            layernorm_forward<<<g, 256>>>(F.out, nullptr, nullptr, F.x, F.w, F.b, s.N, s.C, 1e-5f);
        }, flush, flush_bytes, 30) * 1e3f;
        printf("fwd f32 mainline N=%-8d C=%-4d %8.1f us  %6.0f GB/s  %3.0f%% of its floor\n", s.N, s.C, tf,
               2 * bytes / tf / 1e3, 200 * floor_us / tf);
        char line[256];
        snprintf(line, sizeof line, "| %s | %d | %d | %.0f | %.1f | %.1f | %.1f | %.1f (%.0f%%) | %.1f (%.0f%%) |", s.what,
                 s.N, s.C, bytes / 1e6, floor_us, t[1], t[2], t[3], 100 * floor_us / t[3], tf, 200 * floor_us / tf);
        summary.push_back(line);
        release(B);
        release(F);
    }
    printf("\nbf16 summary (us; %% = floor / time; floor = N*C*4 bytes / measured copy bandwidth; f32: twice the bytes)\n");
    printf("| stage | N | C | MB | floor | v1 plain | v2 8-byte units | v3 mainline 16-byte | f32 mainline |\n");
    for (auto& l : summary) printf("%s\n", l.c_str());
}

// The fold question at the same shapes: the affine mainline (layernorm_forward_bf16, layernorm_forward_f32_bf16) vs
// the same template without the affine (no weight/bias loads, no FMA), inference (no mean/rstd). The expected
// difference is small, so each pair is timed in 4 rounds of 50 runs, alternating which goes first; the table gives
// the mean of the round medians and the spread of the round medians (max - min, the noise to read the delta against).
static void time_fold(void* flush, size_t flush_bytes) {
    struct Shape { int N, C; const char* what; } shapes[] = {
            {802816, 48, "femto 1"}, {200704, 96, "femto 2"}, {50176, 192, "femto 3"}, {12544, 288, "femto 4"},
            {802816, 96, "tiny 1"}, {200704, 192, "tiny 2"}, {50176, 384, "tiny 3"}, {12544, 576, "tiny 4"}};
    std::vector<std::string> summary;
    for (auto s : shapes) {
        Bf16Bufs B; alloc(B, s.N, s.C);
        {
            std::mt19937 r2(s.N + s.C);
            std::normal_distribution<float> nd(0.f, 1.f);
            std::vector<uint16_t> h((size_t)s.N * s.C);
            std::vector<float> hf(h.size());
            for (size_t i = 0; i < h.size(); i++) { h[i] = to_bf16(3.0f + 2.0f * nd(r2)); hf[i] = from_bf16(h[i]); }
            CK(cudaMemcpy(B.x, h.data(), h.size() * 2, cudaMemcpyHostToDevice));
            CK(cudaMemcpy(B.xf, hf.data(), hf.size() * 4, cudaMemcpyHostToDevice));
            std::vector<float> wb(s.C);
            for (auto& v : wb) v = 1.0f + 0.1f * nd(r2);
            CK(cudaMemcpy(B.w, wb.data(), s.C * 4, cudaMemcpyHostToDevice));
            for (auto& v : wb) v = 0.1f * nd(r2);
            CK(cudaMemcpy(B.b, wb.data(), s.C * 4, cudaMemcpyHostToDevice));
        }
        // {affine, no-affine} for bf16 -> bf16 (v3, v7) and f32 -> bf16 (v8, v9)
        const int pairs[2][2] = {{3, 7}, {8, 9}};
        const double bytes[2] = {4.0 * s.N * s.C, 6.0 * s.N * s.C};
        double mean[2][2] = {{0, 0}, {0, 0}}, lo[2][2], hi[2][2];
        for (int p = 0; p < 2; p++) for (int q = 0; q < 2; q++) { lo[p][q] = 1e30; hi[p][q] = 0; }
        const int rounds = 4;
        for (int p = 0; p < 2; p++) {
            for (int round = 0; round < rounds; round++) {
                for (int k = 0; k < 2; k++) {
                    const int q = (round + k) % 2;  // alternate which variant goes first
                    const double us = time_ms([&] { fwd_bf16(pairs[p][q], B, false); }, flush, flush_bytes, 50) * 1e3;
                    mean[p][q] += us / rounds;
                    lo[p][q] = std::min(lo[p][q], us);
                    hi[p][q] = std::max(hi[p][q], us);
                }
            }
            printf("fold %s N=%-7d C=%-4d %s: affine %7.2f us (spread %.2f), no affine %7.2f us (spread %.2f): "
                   "%+.1f%%, %.0f GB/s affine\n", s.what, s.N, s.C, p == 0 ? "bf16->bf16" : "f32->bf16 ",
                   mean[p][0], hi[p][0] - lo[p][0], mean[p][1], hi[p][1] - lo[p][1],
                   100 * (mean[p][1] - mean[p][0]) / mean[p][0], bytes[p] / mean[p][0] / 1e3);
        }
        char line[320];
        snprintf(line, sizeof line, "| %s | %d | %d | %.2f (%.2f) | %.2f (%.2f) | %+.1f%% | %.2f (%.2f) | %.2f (%.2f) | %+.1f%% |",
                 s.what, s.N, s.C, mean[0][0], hi[0][0] - lo[0][0], mean[0][1], hi[0][1] - lo[0][1],
                 100 * (mean[0][1] - mean[0][0]) / mean[0][0], mean[1][0], hi[1][0] - lo[1][0], mean[1][1],
                 hi[1][1] - lo[1][1], 100 * (mean[1][1] - mean[1][0]) / mean[1][0]);
        summary.push_back(line);
        release(B);
    }
    printf("\nfold summary (us, mean of 4 round medians of 50 runs; (spread) = max - min of the round medians; "
           "delta = no affine vs affine, negative = folding saves)\n");
    printf("| stage | N | C | bf16 affine | bf16 no affine | delta | f32->bf16 affine | f32->bf16 no affine | delta |\n");
    printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (auto& l : summary) printf("%s\n", l.c_str());
}

// ---------------------------------------------------------------- backward storage variants (round 4)
// The mainline's layernorm_backward_<dout>_<x>_<dinp>[_acc] kernels (one template, ln_backward in layernorm.cu) and the
// f32 original, validated against a double reference of the stored (bf16-rounded) inputs with mean/rstd from the
// forward kernels (the training contract), then timed at the MambaOut batch-128 training shapes (--bwd).
struct BwdVariant { const char* name; bool dy16, x16, dx16, acc; };
static const BwdVariant BWD_VARIANTS[] = {
        {"layernorm_backward (f32)", false, false, false, false}, {"f32_f32_f32_acc", false, false, false, true},
        {"bf16_f32_f32_acc", true, false, false, true}, {"bf16_f32_f32", true, false, false, false},
        {"f32_f32_bf16", false, false, true, false}, {"bf16_f32_bf16", true, false, true, false},
        {"bf16_bf16_bf16", true, true, true, false}};
static const int NUM_BWD_VARIANTS = 7;

// Device buffers for every storage type at once; 8 spare elements so views can start one element in.
struct MixBufs {
    int N, C, R, P;
    float *x32, *dy32, *dx32;
    __nv_bfloat16 *x16, *dy16, *dx16;
    float *w, *b, *mean, *rstd, *dwp, *dbp, *dw, *db;
};
static void alloc(MixBufs& B, int N, int C, int R) {
    B.N = N; B.C = C; B.R = R; B.P = (N + R - 1) / R;
    const size_t n = (size_t)N * C + 8;
    CK(cudaMalloc(&B.x32, n * 4)); CK(cudaMalloc(&B.dy32, n * 4)); CK(cudaMalloc(&B.dx32, n * 4));
    CK(cudaMalloc(&B.x16, n * 2)); CK(cudaMalloc(&B.dy16, n * 2)); CK(cudaMalloc(&B.dx16, n * 2));
    CK(cudaMalloc(&B.w, C * 4)); CK(cudaMalloc(&B.b, C * 4)); CK(cudaMalloc(&B.dw, C * 4)); CK(cudaMalloc(&B.db, C * 4));
    CK(cudaMalloc(&B.mean, N * 4)); CK(cudaMalloc(&B.rstd, N * 4));
    CK(cudaMalloc(&B.dwp, (size_t)B.P * C * 4)); CK(cudaMalloc(&B.dbp, (size_t)B.P * C * 4));
}
static void release(MixBufs& B) {
    for (void* p : {(void*)B.x32, (void*)B.dy32, (void*)B.dx32, (void*)B.x16, (void*)B.dy16, (void*)B.dx16, (void*)B.w,
                    (void*)B.b, (void*)B.dw, (void*)B.db, (void*)B.mean, (void*)B.rstd, (void*)B.dwp, (void*)B.dbp}) CK(cudaFree(p));
}
// Variant v's main kernel on views `at` elements in (x, dy, dx alike), then (reduce) layernorm_backward_reduce.
static void bwd_mixed(int v, MixBufs& B, int at, bool reduce = true) {
    float* dx32 = B.dx32 + at; __nv_bfloat16* dx16 = B.dx16 + at;
    const float* x32 = B.x32 + at; const __nv_bfloat16* x16 = B.x16 + at;
    const float* dy32 = B.dy32 + at; const __nv_bfloat16* dy16 = B.dy16 + at;
#define ARGS B.dwp, B.dbp
#define TAIL B.w, B.mean, B.rstd, B.N, B.C, B.R
    switch (v) {
        case 0: layernorm_backward<<<B.P, 256>>>(dx32, ARGS, dy32, x32, TAIL); break;
        case 1: layernorm_backward_f32_f32_f32_acc<<<B.P, 256>>>(dx32, ARGS, dy32, x32, TAIL); break;
        case 2: layernorm_backward_bf16_f32_f32_acc<<<B.P, 256>>>(dx32, ARGS, dy16, x32, TAIL); break;
        case 3: layernorm_backward_bf16_f32_f32<<<B.P, 256>>>(dx32, ARGS, dy16, x32, TAIL); break;
        case 4: layernorm_backward_f32_f32_bf16<<<B.P, 256>>>(dx16, ARGS, dy32, x32, TAIL); break;
        case 5: layernorm_backward_bf16_f32_bf16<<<B.P, 256>>>(dx16, ARGS, dy16, x32, TAIL); break;
        default: layernorm_backward_bf16_bf16_bf16<<<B.P, 256>>>(dx16, ARGS, dy16, x16, TAIL);
    }
#undef ARGS
#undef TAIL
    if (reduce) layernorm_backward_reduce<<<(B.C + 31) / 32, 256>>>(B.dw, B.db, B.dwp, B.dbp, B.P, B.C);
}
// mean/rstd for variant v's x: the forward of its storage type (out into the dx buffer of that type: scratch).
static void stats_mixed(int v, MixBufs& B, int at) {
    if (BWD_VARIANTS[v].x16) {
        layernorm_forward_bf16<<<(B.N + 7) / 8, 256>>>(B.dx16, B.mean, B.rstd, B.x16 + at, B.w, B.b, B.N, B.C, 1e-5f);
    } else {
        layernorm_forward<<<(B.N + 7) / 8, 256>>>(B.dx32, B.mean, B.rstd, B.x32 + at, B.w, B.b, B.N, B.C, 1e-5f);
    }
}

static void upload_as(void* f32dst, void* bf16dst, const std::vector<float>& v, int at) {
    std::vector<uint16_t> h(v.size());
    for (size_t i = 0; i < v.size(); i++) h[i] = to_bf16(v[i]);
    CK(cudaMemcpy((float*)f32dst + at, v.data(), v.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy((uint16_t*)bf16dst + at, h.data(), h.size() * 2, cudaMemcpyHostToDevice));
}

// Every variant on one shape: outputs poisoned (dx pre-filled for _acc: expected = prefill + dx), dx normwise against
// kappa-scaled terms (< 1e-5 f32, < 1e-2 bf16), dweight/dbias < 1e-5 of their norm, a second run bit-identical.
static bool validate_mixed(int N, int C, int R, int at, std::mt19937& rng) {
    std::normal_distribution<float> nd(0.f, 1.f);
    const size_t n = (size_t)N * C;
    std::vector<float> x(n), g(n), w(C), b(C), pre(n);
    for (auto& v : x) v = 3.0f + 2.0f * nd(rng);
    for (auto& v : g) v = nd(rng);
    for (auto& v : w) v = 1.0f + 0.1f * nd(rng);
    for (auto& v : b) v = 0.1f * nd(rng);
    for (auto& v : pre) v = nd(rng);
    MixBufs B; alloc(B, N, C, R);
    upload_as(B.x32, B.x16, x, at);
    upload_as(B.dy32, B.dy16, g, at);
    CK(cudaMemcpy(B.w, w.data(), C * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(B.b, b.data(), C * 4, cudaMemcpyHostToDevice));
    bool ok = true;
    for (int v = 0; v < NUM_BWD_VARIANTS; v++) {
        const BwdVariant& V = BWD_VARIANTS[v];
        std::vector<float> xs(x), gs(g);  // the values as stored
        if (V.x16) for (auto& e : xs) e = from_bf16(to_bf16(e));
        if (V.dy16) for (auto& e : gs) e = from_bf16(to_bf16(e));
        std::vector<double> rdx(n), sdx(n), rdw(C, 0), rdb(C, 0);
        for (int t = 0; t < N; t++) {
            const float* xr = &xs[(size_t)t * C];
            const float* gr = &gs[(size_t)t * C];
            double m = 0; for (int i = 0; i < C; i++) m += xr[i]; m /= C;
            double var = 0; for (int i = 0; i < C; i++) var += (xr[i] - m) * (xr[i] - m); var /= C;
            const double s = 1.0 / std::sqrt(var + 1e-5);
            double xmax = 0; for (int i = 0; i < C; i++) xmax = std::max(xmax, (double)std::fabs(xr[i]));
            const double kappa = std::max(1.0, xmax * s);
            double a = 0, bb = 0;
            for (int i = 0; i < C; i++) {
                const double xh = (xr[i] - m) * s, dn = (double)gr[i] * w[i];
                a += dn; bb += dn * xh; rdw[i] += gr[i] * xh; rdb[i] += gr[i];
            }
            a /= C; bb /= C;
            for (int i = 0; i < C; i++) {
                const size_t e = (size_t)t * C + i;
                const double xh = (xr[i] - m) * s, dn = (double)gr[i] * w[i];
                rdx[e] = s * (dn - a - xh * bb);
                sdx[e] = kappa * s * (std::fabs(dn) + std::fabs(a) + std::fabs(xh * bb));
                if (V.acc) { rdx[e] += pre[e]; sdx[e] += std::fabs(pre[e]); }
            }
        }
        std::vector<float> first_dx, first_dw, first_db;
        for (int run = 0; run < 2; run++) {
            CK(cudaMemset(B.mean, 0xff, N * 4)); CK(cudaMemset(B.rstd, 0xff, N * 4));
            stats_mixed(v, B, at);
            if (V.acc) CK(cudaMemcpy(B.dx32 + at, pre.data(), n * 4, cudaMemcpyHostToDevice));
            else if (V.dx16) CK(cudaMemset(B.dx16, 0xff, (n + 8) * 2));
            else CK(cudaMemset(B.dx32, 0xff, (n + 8) * 4));
            CK(cudaMemset(B.dw, 0xff, C * 4)); CK(cudaMemset(B.db, 0xff, C * 4));
            CK(cudaMemset(B.dwp, 0xff, (size_t)B.P * C * 4)); CK(cudaMemset(B.dbp, 0xff, (size_t)B.P * C * 4));
            bwd_mixed(v, B, at); CK(cudaGetLastError()); CK(cudaDeviceSynchronize());
            std::vector<float> dx(n), dw(C), db(C);
            if (V.dx16) {
                std::vector<uint16_t> h(n);
                CK(cudaMemcpy(h.data(), B.dx16 + at, n * 2, cudaMemcpyDeviceToHost));
                for (size_t i = 0; i < n; i++) dx[i] = from_bf16(h[i]);
            } else {
                CK(cudaMemcpy(dx.data(), B.dx32 + at, n * 4, cudaMemcpyDeviceToHost));
            }
            CK(cudaMemcpy(dw.data(), B.dw, C * 4, cudaMemcpyDeviceToHost));
            CK(cudaMemcpy(db.data(), B.db, C * 4, cudaMemcpyDeviceToHost));
            if (run == 0) {
                const double edx = norm_rel(dx, rdx, &sdx), ew = std::max(norm_rel(dw, rdw), norm_rel(db, rdb));
                if (!(edx < (V.dx16 ? 1e-2 : 1e-5)) || !(ew < 1e-5)) {
                    printf("  FAIL bwd %s N=%d C=%d R=%d at=%d: dx rel err %.3g, dweight/dbias %.3g\n", V.name, N, C, R,
                           at, edx, ew);
                    ok = false;
                }
                first_dx = dx; first_dw = dw; first_db = db;
            } else if (memcmp(dx.data(), first_dx.data(), n * 4) || memcmp(dw.data(), first_dw.data(), C * 4)
                       || memcmp(db.data(), first_db.data(), C * 4)) {
                printf("  FAIL bwd %s N=%d C=%d R=%d at=%d: not bit-identical on rerun\n", V.name, N, C, R, at);
                ok = false;
            }
        }
    }
    release(B);
    return ok;
}

__global__ void lab_fill(float* p, __nv_bfloat16* h, size_t n, unsigned seed, float mean, float scale) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        unsigned u = (unsigned)i * 2654435761u ^ seed;
        u ^= u >> 15; u *= 2246822519u; u ^= u >> 13; u *= 3266489917u; u ^= u >> 16;
        const float v = mean + scale * ((u >> 8) * (1.0f / 16777216.0f) - 0.5f);  // uniform, std = scale / sqrt(12)
        p[i] = v;
        h[i] = __float2bfloat16_rn(v);
    }
}

// Training shapes at batch 128, 224 px (femto dims 48/96/192/288, tiny 96/192/384/576): the stem's mid norm at 112^2,
// stages 1-4 at 56^2, 28^2, 14^2, 7^2, the MLP head's norm (4 x the last dim, N = 128). Bytes per element: x + dy +
// dx (+ dx read back for _acc) in each variant's types, + 8N stats + the partials written and read (16 P C).
static void time_bwd_mixed(void* flush, size_t flush_bytes) {
    struct Shape { int N, C; const char* what; } shapes[] = {
            {1605632, 24, "femto stem.norm1"}, {401408, 48, "femto 1"}, {100352, 96, "femto 2"}, {25088, 192, "femto 3"},
            {6272, 288, "femto 4"}, {128, 1152, "femto head"}, {1605632, 48, "tiny stem.norm1"}, {401408, 96, "tiny 1"},
            {100352, 192, "tiny 2"}, {25088, 384, "tiny 3"}, {6272, 576, "tiny 4"}, {128, 2304, "tiny head"}};
    std::vector<std::string> summary;
    for (auto s : shapes) {
        const int R = rows_per_block(s.N, 0, 3);
        MixBufs B; alloc(B, s.N, s.C, R);
        const size_t n = (size_t)s.N * s.C;
        lab_fill<<<1024, 256>>>(B.x32, B.x16, n, 17u, 3.0f, 7.0f);
        lab_fill<<<1024, 256>>>(B.dy32, B.dy16, n, 29u, 0.0f, 3.5f);
        lab_fill<<<1024, 256>>>(B.dx32, B.dx16, n, 43u, 0.0f, 3.5f);
        std::vector<float> wb(s.C, 1.0f);
        CK(cudaMemcpy(B.w, wb.data(), s.C * 4, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(B.b, wb.data(), s.C * 4, cudaMemcpyHostToDevice));
        layernorm_forward<<<(s.N + 7) / 8, 256>>>(B.dx32, B.mean, B.rstd, B.x32, B.w, B.b, s.N, s.C, 1e-5f);
        CK(cudaDeviceSynchronize());
        const float red_us = time_ms([&] {
            layernorm_backward_reduce<<<(B.C + 31) / 32, 256>>>(B.dw, B.db, B.dwp, B.dbp, B.P, B.C);
        }, flush, flush_bytes, 30) * 1e3f;
        char line[1024];
        int len = snprintf(line, sizeof line, "| %s | %d | %d | %.1f |", s.what, s.N, s.C, red_us);
        for (int v = 0; v < NUM_BWD_VARIANTS; v++) {
            const BwdVariant& V = BWD_VARIANTS[v];
            const double per = (V.dy16 ? 2 : 4) + (V.x16 ? 2 : 4) + (V.dx16 ? 2 : 4) * (V.acc ? 2 : 1);
            const double bytes = per * n + 8.0 * s.N + 16.0 * B.P * s.C, floor_us = bytes / g_copy_bps * 1e6;
            const float main_us = time_ms([&] { bwd_mixed(v, B, 0, false); }, flush, flush_bytes, 30) * 1e3f;
            const float all_us = time_ms([&] { bwd_mixed(v, B, 0, true); }, flush, flush_bytes, 30) * 1e3f;
            printf("bwd %-24s %-16s N=%-8d C=%-5d P=%-4d main %8.1f us (%3.0f%% of %.1f us floor), +reduce %8.1f us\n",
                   V.name, s.what, s.N, s.C, B.P, main_us, 100 * floor_us / main_us, floor_us, all_us);
            len += snprintf(line + len, sizeof line - len, " %.1f / %.1f (%.0f%%) |", main_us, all_us,
                            100 * floor_us / main_us);
        }
        summary.push_back(line);
        release(B);
    }
    printf("\nbackward variants summary (us: main / main + reduce (main's %% of its floor); floor = bytes / measured copy)\n");
    printf("| shape | N | C | reduce alone |");
    for (int v = 0; v < NUM_BWD_VARIANTS; v++) printf(" %s |", BWD_VARIANTS[v].name);
    printf("\n");
    for (auto& l : summary) printf("%s\n", l.c_str());
}

int main(int argc, char** argv) {
    // --check: validate everything, no timing (e.g. under compute-sanitizer); --bf16: the bf16 forward alone.
    const bool check_only = argc > 1 && !strcmp(argv[1], "--check");
    const bool bf16_only = argc > 1 && !strcmp(argv[1], "--bf16");
    const bool fold_only = argc > 1 && !strcmp(argv[1], "--fold");
    const bool bwd_only = argc > 1 && !strcmp(argv[1], "--bwd");
    cudaDeviceProp p; CK(cudaGetDeviceProperties(&p, 0)); g_sms = p.multiProcessorCount;
    printf("device: %s, %d SMs, L2 %d MB\n", p.name, p.multiProcessorCount, p.l2CacheSize >> 20);

    std::mt19937 rng(1234);
    int Ns[] = {1, 7, 33, 1000, 4097};
    int Cs[] = {1, 3, 42, 48, 85, 96, 170, 192, 288, 768, 1023};
    int fails = 0, cases = 0;
    if (!bf16_only && !fold_only && !bwd_only) {
        for (int N : Ns) for (int C : Cs) for (int R : {0, 1, 13}) {
            cases++;
            if (!validate(N, C, rows_per_block(N, R, 3), rng)) fails++;
        }
        printf("validation: %d cases (fwd v1-4 + v4 on 2 other grids, bwd v1-3 + v3 rerun bit-identical), %d failed\n",
               cases, fails);
    }
    if (!bwd_only) {
        int bf16_cases = 0, bf16_fails = 0;
        for (int N : Ns) for (int C : {1, 3, 12, 42, 44, 48, 52, 85, 96, 170, 192, 288, 384, 576, 768, 776, 1023}) {
            bf16_cases++;
            if (!validate_bf16(N, C, rng)) bf16_fails++;
        }
        printf("bf16 validation: %d cases (fwd bf16 v1-3 + v3 on 2 other grids and a 2-byte offset, the f32 -> bf16 "
               "mainline, the no-affine fold variants bf16 / f32 -> bf16 / 2-byte offset, each with and without "
               "mean/rstd), %d failed\n", bf16_cases, bf16_fails);
        fails += bf16_fails;
    }
    if (!bf16_only && !fold_only) {
        int mix_cases = 0, mix_fails = 0;
        for (int N : {1, 7, 33, 4097}) for (int C : {1, 3, 24, 37, 48, 85, 96, 192, 288, 576, 768, 776, 1023})
            for (int R : {0, 13}) for (int at : {0, 1}) {
                mix_cases++;
                if (!validate_mixed(N, C, rows_per_block(N, R, 3), at, rng)) mix_fails++;
            }
        printf("backward variants validation: %d cases x %d variants (offsets 0 and 1, dx pre-filled for _acc, rerun "
               "bit-identical), %d failed\n", mix_cases, NUM_BWD_VARIANTS, mix_fails);
        fails += mix_fails;
    }
    if (check_only) return fails ? 1 : 0;
    if (fails) printf("WARNING: validation failed; timings below are of kernels that are wrong somewhere\n");

    const size_t flush_bytes = 256u << 20;
    void* flush; CK(cudaMalloc(&flush, flush_bytes));
    // Device-to-device copy bandwidth, the practical roof: bytes read + written per second.
    {
        size_t bytes = 512u << 20; void *s, *d; CK(cudaMalloc(&s, bytes)); CK(cudaMalloc(&d, bytes));
        float ms = time_ms([&] { CK(cudaMemcpyAsync(d, s, bytes, cudaMemcpyDeviceToDevice)); }, flush, flush_bytes, 20);
        g_copy_bps = 2.0 * bytes / ms * 1e3;
        printf("copy D2D %zu MB: %.3f ms, %.0f GB/s (read+write)\n", bytes >> 20, ms, 2.0 * bytes / ms / 1e6);
        CK(cudaFree(s)); CK(cudaFree(d));
    }
    if (bwd_only) {
        time_bwd_mixed(flush, flush_bytes);
        CK(cudaFree(flush));
        return 0;
    }
    if (bf16_only || fold_only) {
        if (bf16_only) time_bf16(flush, flush_bytes);
        else time_fold(flush, flush_bytes);
        CK(cudaFree(flush));
        return 0;
    }
    struct Shape { int N, C; } shapes[] = {{1 << 20, 48}, {1 << 19, 85}, {1 << 19, 96}, {1 << 18, 192},
                                          {175616, 288}, {1 << 16, 768}, {25088, 48},
                                          // mambaout_femto at batch 256: stage 1..4 tokens (56^2, 28^2, 14^2, 7^2)
                                          {802816, 48}, {200704, 96}, {50176, 192}, {12544, 288}};
    std::vector<std::string> summary;
    for (auto s : shapes) {
        const int R4 = rows_per_block(s.N, 0, 4), R3 = rows_per_block(s.N, 0, 3);
        Bufs B; alloc(B, s.N, s.C, std::min(R3, R4));
        {   // random data, not zeros: zeros can hide unwritten outputs and run faster than real data
            std::mt19937 r2(s.N + s.C);
            std::normal_distribution<float> nd(0.f, 1.f);
            std::vector<float> h((size_t)s.N * s.C);
            for (auto& v : h) v = 3.0f + 2.0f * nd(r2);
            CK(cudaMemcpy(B.x, h.data(), h.size() * 4, cudaMemcpyHostToDevice));
            for (auto& v : h) v = nd(r2);
            CK(cudaMemcpy(B.dout, h.data(), h.size() * 4, cudaMemcpyHostToDevice));
            std::vector<float> wb(s.C);
            for (auto& v : wb) v = 1.0f + 0.1f * nd(r2);
            CK(cudaMemcpy(B.w, wb.data(), s.C * 4, cudaMemcpyHostToDevice));
            for (auto& v : wb) v = 0.1f * nd(r2);
            CK(cudaMemcpy(B.b, wb.data(), s.C * 4, cudaMemcpyHostToDevice));
        }
        fwd(4, B);  // mean and rstd for the backward
        const double nc = (double)s.N * s.C * 4, fwd_bytes = 2 * nc + 8.0 * s.N;
        float f[5] = {0};
        for (int v = 1; v <= 4; v++) {
            float ms = time_ms([&] { fwd(v, B); }, flush, flush_bytes, 30);
            f[v] = ms * 1e3f;
            printf("fwd v%d N=%-8d C=%-4d %8.1f us  %6.0f GB/s  (%.0f MB moved)\n", v, s.N, s.C, ms * 1e3,
                   fwd_bytes / ms / 1e6, fwd_bytes / 1e6);
        }
        // backward: v1, v2 at their old R (4 blocks per SM), v3 at its R (one wave of 3 per SM) and at the old R
        struct Run { int v, R; const char* tag; } runs[] = {{1, R4, "v1"}, {2, R4, "v2"}, {3, R3, "v3"}, {3, R4, "v3@R4"}};
        float bt[4] = {0}, rt[4] = {0};
        double bb[4] = {0};
        for (int k = 0; k < 4; k++) {
            set_rows(B, runs[k].R);
            const double bwd_bytes = 3 * nc + 8.0 * s.N + 2.0 * 2 * B.P * s.C * 4;
            float ms = time_ms([&] { bwd(runs[k].v, B); }, flush, flush_bytes, 30);
            float red_ms = time_ms([&] { reduce(runs[k].v, B); }, flush, flush_bytes, 30);
            bt[k] = ms * 1e3f; rt[k] = red_ms * 1e3f; bb[k] = bwd_bytes;
            printf("bwd %-5s N=%-8d C=%-4d R=%-5d P=%-6d %8.1f us  %6.0f GB/s  (%.0f MB moved; its reduce alone %.1f us)\n",
                   runs[k].tag, s.N, s.C, B.R, B.P, ms * 1e3, bwd_bytes / ms / 1e6, bwd_bytes / 1e6, red_ms * 1e3);
        }
        char line[512];
        const double ffloor = fwd_bytes / g_copy_bps * 1e6, bfloor = bb[2] / g_copy_bps * 1e6;
        snprintf(line, sizeof line,
                 "| %d | %d | %.1f | %.1f | %.1f | %.1f (%.0f%%) | %.1f | %.1f | %.1f (red %.1f) | %.1f (red %.1f) | %.1f (%.0f%%) | %.1f |",
                 s.N, s.C, ffloor, f[2], f[3], f[4], 100 * ffloor / f[4], bfloor, bt[0], bt[1], rt[1], bt[2], rt[2],
                 bt[2], 100 * bfloor / bt[2], bt[3]);
        summary.push_back(line);
        release(B);
    }
    printf("\nsummary (us; %% = floor / time; floor = bytes / measured copy bandwidth; bwd floor at v3's P)\n");
    printf("| N | C | fwd floor | fwd v2 | fwd v3 | fwd v4 | bwd floor | bwd v1 | bwd v2 | bwd v3 | bwd v3 %% | v3 at R4 |\n");
    for (auto& l : summary) printf("%s\n", l.c_str());
    printf("\n");
    time_bf16(flush, flush_bytes);
    printf("\n");
    time_fold(flush, flush_bytes);
    time_bwd_mixed(flush, flush_bytes);
    CK(cudaFree(flush));
    return 0;
}
