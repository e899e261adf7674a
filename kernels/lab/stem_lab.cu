// Stem lab: conv3x3 stride 2 from the NCHW f32 batch + bias -> [LayerNorm over channels] -> act, NHWC out, one pass
// (the mainline: src/main/cuda/stem.cu). Variants, each a whole pixel per thread:
//   v1  weights read from global memory per FMA (the plain kernel), 1 pixel per thread
//   v2  the mainline's code with 1 pixel per thread: weights in shared memory, broadcast float4 loads
//   v3  the mainline's code with 2 pixels per thread: one float4 weight load feeds 8 FMAs
//   main  the extern "C" kernel the runtime launches (PIX per width as stem.cu instantiates it)
// Validation against a double reference on odd shapes (C = 1 and 3, odd H and W, Co not a multiple of the width, no
// LayerNorm, SiLU, stride 1), every output poisoned with NaN first and a guard after the end; then timing at the
// batch-256 stems of femto (Co 24), tiny/small (48) and base (64) against the copy floor (x read + out written) and
// the f32 FMA floor.
//   nvcc -O3 -lineinfo -std=c++17 -arch=sm_90 -o /tmp/stem_lab kernels/lab/stem_lab.cu && /tmp/stem_lab [--check]
#include "lab_util.cuh"
#include "../src/main/cuda/stem.cu"

template <typename T, int CB>
__global__ void __launch_bounds__(STEM_BLOCK) stem_v1(T* out, const float* x, const float* w /* [Co][C][3][3] */,
                                                      const float* bias, const float* gamma, const float* beta, int N,
                                                      int C, int H, int W, int Ho, int Wo, int Co, int stride, int pad,
                                                      int norm, int act, float eps) {
    const long long p = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (p >= (long long)N * Ho * Wo) return;
    const int n = (int)(p / ((long long)Ho * Wo)), r = (int)(p % ((long long)Ho * Wo)), oy = r / Wo, ox = r % Wo;
    float acc[CB];
#pragma unroll
    for (int c = 0; c < CB; c++) acc[c] = c < Co ? bias[c] : 0.0f;
    for (int ci = 0; ci < C; ci++)
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
                const int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                const float v = iy >= 0 && iy < H && ix >= 0 && ix < W ? x[(((long long)n * C + ci) * H + iy) * W + ix] : 0.0f;
#pragma unroll
                for (int c = 0; c < CB; c++)
                    if (c < Co) acc[c] = fmaf(v, __ldg(w + ((c * C + ci) * 3 + ky) * 3 + kx), acc[c]);
            }
    if (norm) {
        float s = 0, q = 0;
        for (int c = 0; c < Co; c++) s += acc[c];
        const float mean = s / Co;
#pragma unroll
        for (int c = 0; c < CB; c++) if (c < Co) q += (acc[c] - mean) * (acc[c] - mean);
        const float rstd = rsqrtf(q / Co + eps);
#pragma unroll
        for (int c = 0; c < CB; c++) if (c < Co) acc[c] = (acc[c] - mean) * rstd * gamma[c] + beta[c];
    }
#pragma unroll
    for (int c = 0; c < CB; c++) if (c < Co) out[p * Co + c] = from_f32<T>(stem_act(acc[c], act));
}

template <typename T, int CB, int PIX>
__global__ void __launch_bounds__(STEM_BLOCK) stem_vpix(T* out, const float* x, const float* packed, int N, int C,
                                                        int H, int W, int Ho, int Wo, int Co, int stride, int pad,
                                                        int norm, int act, float eps) {
    stem_conv_forward<T, CB, PIX>(out, x, packed, N, C, H, W, Ho, Wo, Co, stride, pad, norm, act, eps);
}

struct Case { int N, C, H, W, Co, stride, pad, norm, act; };

static int ceil_cb(int co) { for (int cb : {8, 16, 24, 32, 48, 64}) if (co <= cb) return cb; return -1; }

// The runtime's packing (StemKernels.pack): [C*9][CB] taps, then bias, gamma, beta, zero past Co.
static std::vector<float> pack(const std::vector<float>& w, const std::vector<float>& b, const std::vector<float>& g,
                               const std::vector<float>& be, int Co, int C, int CB) {
    std::vector<float> p((size_t)(C * 9 + 3) * CB, 0.0f);
    for (int o = 0; o < Co; o++) {
        for (int t = 0; t < C * 9; t++) p[(size_t)t * CB + o] = w[(size_t)o * C * 9 + t];
        p[(size_t)C * 9 * CB + o] = b[o];
        p[(size_t)(C * 9 + 1) * CB + o] = g[o];
        p[(size_t)(C * 9 + 2) * CB + o] = be[o];
    }
    return p;
}

static void reference(std::vector<double>& ref, const std::vector<float>& x, const std::vector<float>& w,
                      const std::vector<float>& b, const std::vector<float>& g, const std::vector<float>& be,
                      const Case& k, int Ho, int Wo) {
    std::vector<double> a(k.Co);
    for (int n = 0; n < k.N; n++)
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++) {
                for (int o = 0; o < k.Co; o++) {
                    double s = b[o];
                    for (int ci = 0; ci < k.C; ci++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                int iy = oy * k.stride - k.pad + ky, ix = ox * k.stride - k.pad + kx;
                                if (iy < 0 || iy >= k.H || ix < 0 || ix >= k.W) continue;
                                s += (double)x[(((size_t)n * k.C + ci) * k.H + iy) * k.W + ix] * w[((o * k.C + ci) * 3 + ky) * 3 + kx];
                            }
                    a[o] = s;
                }
                if (k.norm) {
                    double m = 0, v = 0;
                    for (double e : a) m += e;
                    m /= k.Co;
                    for (double e : a) v += (e - m) * (e - m);
                    double rs = 1 / sqrt(v / k.Co + 1e-6);
                    for (int o = 0; o < k.Co; o++) a[o] = (a[o] - m) * rs * g[o] + be[o];
                }
                for (int o = 0; o < k.Co; o++) {
                    double v = a[o];
                    ref[(((size_t)n * Ho + oy) * Wo + ox) * k.Co + o] = k.act == 0 ? 0.5 * v * (1 + erf(v / sqrt(2.0))) : v / (1 + exp(-v));
                }
            }
}

enum Variant { V1, V2, V3, MAIN };
static const char* vname[] = {"v1", "v2", "v3", "main"};

template <typename T, int CB>
static void launch_cb(Variant v, T* out, const float* x, const float* w, const float* b, const float* g,
                      const float* be, const float* packed, const Case& k, int Ho, int Wo) {
    const long long pixels = (long long)k.N * Ho * Wo;
    const size_t smem = (size_t)(k.C * 9 + 3) * CB * 4;
    const float eps = 1e-6f;
    switch (v) {
        case V1: stem_v1<T, CB><<<(unsigned)((pixels + STEM_BLOCK - 1) / STEM_BLOCK), STEM_BLOCK>>>(
                     out, x, w, b, g, be, k.N, k.C, k.H, k.W, Ho, Wo, k.Co, k.stride, k.pad, k.norm, k.act, eps); break;
        case V2: stem_vpix<T, CB, 1><<<(unsigned)((pixels + STEM_BLOCK - 1) / STEM_BLOCK), STEM_BLOCK, smem>>>(
                     out, x, packed, k.N, k.C, k.H, k.W, Ho, Wo, k.Co, k.stride, k.pad, k.norm, k.act, eps); break;
        case V3: stem_vpix<T, CB, 2><<<(unsigned)((pixels + 2 * STEM_BLOCK - 1) / (2 * STEM_BLOCK)), STEM_BLOCK, smem>>>(
                     out, x, packed, k.N, k.C, k.H, k.W, Ho, Wo, k.Co, k.stride, k.pad, k.norm, k.act, eps); break;
        case MAIN: {
            const int pix = CB <= 32 ? 2 : 1;   // stem.cu's instantiations (StemKernels.pixelsPerThread)
            const unsigned grid = (unsigned)((pixels + pix * STEM_BLOCK - 1) / (pix * STEM_BLOCK));
            using F = void (*)(T*, const float*, const float*, int, int, int, int, int, int, int, int, int, int, int, float);
            F f = nullptr;
            if constexpr (sizeof(T) == 4) {
                f = CB == 8 ? stem_conv_forward_f32_c8 : CB == 16 ? stem_conv_forward_f32_c16 : CB == 24 ? stem_conv_forward_f32_c24
                  : CB == 32 ? stem_conv_forward_f32_c32 : CB == 48 ? stem_conv_forward_f32_c48 : stem_conv_forward_f32_c64;
            } else {
                f = CB == 8 ? stem_conv_forward_bf16_c8 : CB == 16 ? stem_conv_forward_bf16_c16 : CB == 24 ? stem_conv_forward_bf16_c24
                  : CB == 32 ? stem_conv_forward_bf16_c32 : CB == 48 ? stem_conv_forward_bf16_c48 : stem_conv_forward_bf16_c64;
            }
            f<<<grid, STEM_BLOCK, smem>>>(out, x, packed, k.N, k.C, k.H, k.W, Ho, Wo, k.Co, k.stride, k.pad, k.norm, k.act, eps);
        }
    }
}

template <typename T>
static void launch(Variant v, T* out, const float* x, const float* w, const float* b, const float* g, const float* be,
                   const float* packed, const Case& k, int Ho, int Wo) {
    switch (ceil_cb(k.Co)) {
        case 8: launch_cb<T, 8>(v, out, x, w, b, g, be, packed, k, Ho, Wo); break;
        case 16: launch_cb<T, 16>(v, out, x, w, b, g, be, packed, k, Ho, Wo); break;
        case 24: launch_cb<T, 24>(v, out, x, w, b, g, be, packed, k, Ho, Wo); break;
        case 32: launch_cb<T, 32>(v, out, x, w, b, g, be, packed, k, Ho, Wo); break;
        case 48: launch_cb<T, 48>(v, out, x, w, b, g, be, packed, k, Ho, Wo); break;
        default: launch_cb<T, 64>(v, out, x, w, b, g, be, packed, k, Ho, Wo); break;
    }
    CK(cudaGetLastError());
}

struct Dev {
    float *x, *w, *b, *g, *be, *packed;
    std::vector<float> hx, hw, hb, hg, hbe;
    int Ho, Wo;
    explicit Dev(const Case& k) {
        Ho = (k.H + 2 * k.pad - 3) / k.stride + 1;
        Wo = (k.W + 2 * k.pad - 3) / k.stride + 1;
        hx.resize((size_t)k.N * k.C * k.H * k.W);
        for (auto& e : hx) e = lab_randn();
        hw.resize((size_t)k.Co * k.C * 9);
        for (auto& e : hw) e = 0.3f * lab_randn();
        hb.resize(k.Co); hg.resize(k.Co); hbe.resize(k.Co);
        for (int o = 0; o < k.Co; o++) { hb[o] = 0.2f * lab_randn(); hg[o] = 1 + 0.2f * lab_randn(); hbe[o] = 0.2f * lab_randn(); }
        auto hp = pack(hw, hb, hg, hbe, k.Co, k.C, ceil_cb(k.Co));
        auto up = [](float*& d, const std::vector<float>& h) {
            CK(cudaMalloc(&d, h.size() * 4)); CK(cudaMemcpy(d, h.data(), h.size() * 4, cudaMemcpyHostToDevice)); };
        up(x, hx); up(w, hw); up(b, hb); up(g, hg); up(be, hbe); up(packed, hp);
    }
    ~Dev() { for (float* p : {x, w, b, g, be, packed}) cudaFree(p); }
};

template <typename T>
static int validate(const Case& k) {
    Dev d(k);
    const size_t n = (size_t)k.N * d.Ho * d.Wo * k.Co, guard = 64;
    std::vector<double> ref(n);
    reference(ref, d.hx, d.hw, d.hb, d.hg, d.hbe, k, d.Ho, d.Wo);
    T* out; CK(cudaMalloc(&out, (n + guard) * sizeof(T)));
    int fails = 0;
    const double tol = sizeof(T) == 4 ? 2e-6 : 8e-3;
    for (Variant v : {V1, V2, V3, MAIN}) {
        CK(cudaMemset(out, 0xff, (n + guard) * sizeof(T)));   // NaN in both types
        launch<T>(v, out, d.x, d.w, d.b, d.g, d.be, d.packed, k, d.Ho, d.Wo);
        CK(cudaDeviceSynchronize());
        std::vector<typename LabHost<T>::S> h(n + guard);
        CK(cudaMemcpy(h.data(), out, (n + guard) * sizeof(T), cudaMemcpyDeviceToHost));
        double num = 0, den = 0; bool nan = false, guard_ok = true;
        for (size_t i = 0; i < n; i++) {
            double o = LabHost<T>::to(h[i]);
            if (!std::isfinite(o)) nan = true;
            num += (o - ref[i]) * (o - ref[i]); den += ref[i] * ref[i];
        }
        for (size_t i = n; i < n + guard; i++) if (!std::isnan(LabHost<T>::to(h[i]))) guard_ok = false;
        double rel = sqrt(num / den);
        bool ok = !nan && guard_ok && rel <= tol;
        if (!ok) fails++;
        printf("%s %-4s %-4s N=%d C=%d %dx%d Co=%d s=%d p=%d norm=%d act=%s: rel %.2e%s%s\n", ok ? "ok  " : "FAIL",
               sizeof(T) == 4 ? "f32" : "bf16", vname[v], k.N, k.C, k.H, k.W, k.Co, k.stride, k.pad, k.norm,
               k.act ? "silu" : "gelu", rel, nan ? " NaN" : "", guard_ok ? "" : " guard overwritten");
    }
    CK(cudaFree(out));
    return fails;
}

template <typename T>
static void time_case(const char* model, const Case& k, void* flush, double bps, double fma_per_s) {
    Dev d(k);
    const size_t n = (size_t)k.N * d.Ho * d.Wo * k.Co;
    T* out; CK(cudaMalloc(&out, n * sizeof(T)));
    const double bytes = (double)d.hx.size() * 4 + (double)n * sizeof(T);
    const double floor_us = bytes / bps * 1e6, fma_us = (double)n * k.C * 9 / fma_per_s * 1e6;
    printf("| %s | %s | %d | %.1f | %.1f | %.1f |", model, sizeof(T) == 4 ? "f32" : "bf16", k.Co, bytes / 1e6, floor_us, fma_us);
    for (Variant v : {V1, V2, V3, MAIN}) {
        float ms = lab_time_ms([&] { launch<T>(v, out, d.x, d.w, d.b, d.g, d.be, d.packed, k, d.Ho, d.Wo); }, flush, 20);
        printf(" %.1f (%.0f%%) |", ms * 1e3, floor_us / (ms * 1e3) * 100);
    }
    printf("\n");
    CK(cudaFree(out));
}

int main(int argc, char** argv) {
    bool check_only = argc > 1 && !strcmp(argv[1], "--check");
    cudaDeviceProp prop; CK(cudaGetDeviceProperties(&prop, 0));
    int clock_khz = 0; CK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, 0));
    printf("device: %s, %d SMs, clock %.2f GHz\n", prop.name, prop.multiProcessorCount, clock_khz / 1e6);
    const Case cases[] = {
        {2, 3, 37, 29, 24, 2, 1, 1, 0}, {3, 3, 16, 16, 48, 2, 1, 1, 0}, {1, 1, 33, 35, 5, 2, 1, 1, 0},
        {2, 3, 17, 19, 64, 2, 1, 0, 0}, {2, 3, 15, 13, 12, 2, 1, 1, 1}, {1, 2, 20, 21, 40, 1, 1, 1, 0},
        {1, 3, 9, 11, 30, 2, 0, 1, 0}, {5, 3, 64, 48, 32, 2, 1, 1, 0}, {1, 4, 7, 7, 8, 2, 1, 1, 1},
        {1, 3, 224, 224, 24, 2, 1, 1, 0},
    };
    int fails = 0, total = 0;
    for (const Case& k : cases) {
        fails += validate<float>(k); fails += validate<__nv_bfloat16>(k); total += 8;
    }
    printf("validation: %d cases, %d failed\n", total, fails);
    if (fails || check_only) return fails ? 1 : 0;

    void* flush; CK(cudaMalloc(&flush, LAB_FLUSH_BYTES));
    const double bps = lab_copy_bps(flush);
    const double fma_per_s = (double)prop.multiProcessorCount * 128 * clock_khz * 1e3;
    printf("f32 FMA rate %.1f T/s (SMs x 128 x clock)\n\n", fma_per_s / 1e12);
    printf("| model | dtype | Co | MB | floor us | FMA floor us | v1 us (%% floor) | v2 | v3 | main |\n");
    printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    const struct { const char* m; int co; } models[] = {{"femto", 24}, {"tiny/small", 48}, {"base", 64}};
    for (auto& m : models) {
        Case k{256, 3, 224, 224, m.co, 2, 1, 1, 0};
        time_case<__nv_bfloat16>(m.m, k, flush, bps, fma_per_s);
        time_case<float>(m.m, k, flush, bps, fma_per_s);
    }
    {
        Case k{256, 1, 32, 32, 24, 2, 1, 1, 0};   // Fashion-MNIST femto (in_chans 1, 32 x 32)
        time_case<__nv_bfloat16>("femto fmnist", k, flush, bps, fma_per_s);
    }
    CK(cudaFree(flush));
    return 0;
}
