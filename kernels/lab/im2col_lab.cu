// im2col lab: variants of the NHWC and NCHW gathers, each checked bit for bit against a CPU gather on random and odd
// shapes (col poisoned with 0xFF = NaN first), then timed at MambaOut-femto's batch-256 stem and downsampling shapes.
//   v1  one thread per col element, scalar loads and stores, 5 divisions per element (the naive baseline)
//   v2  the previous mainline (copied below): 16-byte units (vector stores; NHWC vector loads when C % 8 == 0),
//       streaming stores, plain 32-bit divisions per unit, full 1-D grid
//   v3  the mainline (../src/main/cuda/im2col.cu, included): v2's decomposition with the unit -> (row, ox, oy, n,
//       tap, ky) divisions done by multiply-shift divisors (FastDiv) built once per thread, on the grid
//       Im2colKernels.geometry gives it: 8 blocks per SM for vector-store shapes (so the setup is amortised)
// Build: nvcc -O3 -lineinfo -std=c++17 -arch=sm_90 -o /tmp/im2col_lab kernels/lab/im2col_lab.cu
// Run:   /tmp/im2col_lab            (validate, then time);   /tmp/im2col_lab --check   (validate only)
#include "../src/main/cuda/im2col.cu"
#include "lab_util.cuh"
#include <string>

// ------------------------------------------------------------------------------------------ v1
template <typename T, typename TIn, bool NCHW>
__global__ void im2col_v1(T* col, const TIn* x, Im2colGeom g) {
    const long long total = (long long)g.N * g.Ho * g.Wo * g.col_stride;
    const int kkC = g.k * g.k * g.C;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
        const long long row = i / g.col_stride;
        const int e = (int)(i - row * g.col_stride);
        float v = 0.0f;
        if (e < kkC) {
            const int ox = row % g.Wo, oy = (row / g.Wo) % g.Ho, n = row / ((long long)g.Wo * g.Ho);
            const int tap = e / g.C, c = e % g.C, ky = tap / g.k, kx = tap % g.k;
            const int iy = oy * g.s - g.p + ky, ix = ox * g.s - g.p + kx;
            if (iy >= 0 && iy < g.H && ix >= 0 && ix < g.W) {
                v = to_f32(x[NCHW ? (((long long)n * g.C + c) * g.H + iy) * g.W + ix
                                  : (((long long)n * g.H + iy) * g.W + ix) * g.C + c]);
            }
        }
        col[i] = from_f32<T>(v);
    }
}

// ------------------------------------------------------------------------------------------ v2
// The mainline before v3 (commit fb5fde7's im2col.cu), kernels renamed; one kernel per entry point as it was, so its
// register allocation is the measured one.
struct V2TapCursor {
    int ky, kx, c;
    __device__ __forceinline__ V2TapCursor(int e, int C, int k) {
        const int tap = e / C;
        c = e - tap * C;
        ky = tap / k;
        kx = tap - ky * k;
    }
    __device__ __forceinline__ void next(int C, int k) {
        if (++c == C) { c = 0; if (++kx == k) { kx = 0; ++ky; } }
    }
};

template <typename T, typename TIn, int V, bool NCHW>
__device__ __forceinline__ void v2_gather(T* __restrict__ col, const TIn* __restrict__ x, const Im2colGeom g) {
    const unsigned units_per_row = g.col_stride / V;
    const unsigned total = (unsigned)(g.N * g.Ho * g.Wo) * units_per_row;
    const int kkC = g.k * g.k * g.C;
    for (unsigned u = blockIdx.x * blockDim.x + threadIdx.x; u < total; u += gridDim.x * blockDim.x) {
        const unsigned row = u / units_per_row;
        const int e0 = (int)(u - row * units_per_row) * V;
        const int ox = row % g.Wo, t = row / g.Wo, oy = t % g.Ho, n = t / g.Ho;
        const int iy0 = oy * g.s - g.p, ix0 = ox * g.s - g.p;
        alignas(16) T v[V];
        V2TapCursor cur(min(e0, kkC), g.C, g.k);
#pragma unroll
        for (int j = 0; j < V; j++) {
            float val = 0.0f;
            const int iy = iy0 + cur.ky, ix = ix0 + cur.kx;
            if (e0 + j < kkC && iy >= 0 && iy < g.H && ix >= 0 && ix < g.W) {
                const long long off = NCHW ? (((long long)n * g.C + cur.c) * g.H + iy) * g.W + ix
                                           : (((long long)n * g.H + iy) * g.W + ix) * g.C + cur.c;
                val = to_f32(x[off]);
            }
            v[j] = from_f32<T>(val);
            cur.next(g.C, g.k);
        }
        T* dst = col + (long long)row * g.col_stride + e0;
        if constexpr (V * sizeof(T) == 16) __stcs(reinterpret_cast<uint4*>(dst), *reinterpret_cast<const uint4*>(v));
        else __stcs(dst, v[0]);
    }
}

template <typename T, int V>
__device__ __forceinline__ void v2_nhwc_vec(T* __restrict__ col, const T* __restrict__ x, const Im2colGeom g) {
    const unsigned units_per_row = g.col_stride / V;
    const unsigned total = (unsigned)(g.N * g.Ho * g.Wo) * units_per_row;
    const int cv = g.C / V, kk = g.k * g.k;
    for (unsigned u = blockIdx.x * blockDim.x + threadIdx.x; u < total; u += gridDim.x * blockDim.x) {
        const unsigned row = u / units_per_row;
        const int j = (int)(u - row * units_per_row);
        const int ox = row % g.Wo, t = row / g.Wo, oy = t % g.Ho, n = t / g.Ho;
        const int tap = j / cv, c = (j - tap * cv) * V;
        const int ky = tap / g.k, kx = tap - ky * g.k;
        const int iy = oy * g.s - g.p + ky, ix = ox * g.s - g.p + kx;
        uint4 v = make_uint4(0, 0, 0, 0);
        if (tap < kk && iy >= 0 && iy < g.H && ix >= 0 && ix < g.W) {
            v = *reinterpret_cast<const uint4*>(x + (((long long)n * g.H + iy) * g.W + ix) * g.C + c);
        }
        __stcs(reinterpret_cast<uint4*>(col + (long long)row * g.col_stride) + j, v);
    }
}

template <typename T>
__global__ void im2col_v2_nhwc(T* col, const T* x, Im2colGeom g) {
    constexpr int V = vec16_elems<T>();
    if (im2col_vector_store(col, g)) {
        if (g.C % V == 0 && aligned16(x)) v2_nhwc_vec<T, V>(col, x, g);
        else v2_gather<T, T, V, false>(col, x, g);
    } else {
        v2_gather<T, T, 1, false>(col, x, g);
    }
}

template <typename T>
__global__ void im2col_v2_nchw(T* col, const float* x, Im2colGeom g) {
    if (im2col_vector_store(col, g)) v2_gather<T, float, vec16_elems<T>(), true>(col, x, g);
    else v2_gather<T, float, 1, true>(col, x, g);
}

static int g_sms = 132;

// One launch of variant v; T the col type, NCHW input is always f32.
template <typename T>
static void run(int v, bool nchw, T* col, const void* x, const Im2colGeom& g) {
    constexpr int V = vec16_elems<T>();
    const long long elems = (long long)g.N * g.Ho * g.Wo * g.col_stride;
    const bool vstore = g.col_stride % V == 0;
    const long long units = vstore ? elems / V : elems;
    const int grid_full = (int)std::min<long long>(1 << 20, (units + 255) / 256);
    if (v == 1) {
        const int grid = (int)std::min<long long>(1 << 20, (elems + 255) / 256);
        if (nchw) im2col_v1<T, float, true><<<grid, 256>>>(col, (const float*)x, g);
        else im2col_v1<T, T, false><<<grid, 256>>>(col, (const T*)x, g);
    } else if (v == 2) {
        if (nchw) im2col_v2_nchw<T><<<grid_full, 256>>>(col, (const float*)x, g);
        else im2col_v2_nhwc<T><<<grid_full, 256>>>(col, (const T*)x, g);
    } else {   // the mainline, on Im2colKernels.geometry's grid (BLOCKS_PER_SM = 8 when the stride allows vector stores)
        const int grid = vstore ? std::min(grid_full, 8 * g_sms) : grid_full;
        if constexpr (sizeof(T) == 4) {
            if (nchw) im2col_nchw_f32<<<grid, 256>>>(col, (const float*)x, g.N, g.C, g.H, g.W, g.Ho, g.Wo, g.k, g.s, g.p, g.col_stride);
            else im2col_nhwc_f32<<<grid, 256>>>(col, (const float*)x, g.N, g.H, g.W, g.C, g.Ho, g.Wo, g.k, g.s, g.p, g.col_stride);
        } else {
            if (nchw) im2col_nchw_bf16<<<grid, 256>>>(col, (const float*)x, g.N, g.C, g.H, g.W, g.Ho, g.Wo, g.k, g.s, g.p, g.col_stride);
            else im2col_nhwc_bf16<<<grid, 256>>>(col, (const T*)x, g.N, g.H, g.W, g.C, g.Ho, g.Wo, g.k, g.s, g.p, g.col_stride);
        }
    }
    CK(cudaGetLastError());
}

template <typename T>
static bool validate(bool nchw, int N, int H, int W, int C, int k, int s, int p, int stride_override) {
    using H_ = LabHost<T>;
    const int Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1;
    const int kkC = k * k * C, cs = stride_override ? stride_override : (kkC + 7) / 8 * 8;
    const size_t nx = (size_t)N * H * W * C, ncol = (size_t)N * Ho * Wo * cs;
    std::vector<float> xf(nx);
    for (auto& v : xf) v = nchw ? lab_randn() : H_::to(H_::from(lab_randn()));
    std::vector<typename H_::S> ref(ncol, H_::from(0.0f));
    for (int n = 0; n < N; n++) for (int oy = 0; oy < Ho; oy++) for (int ox = 0; ox < Wo; ox++)
        for (int ky = 0; ky < k; ky++) for (int kx = 0; kx < k; kx++) for (int c = 0; c < C; c++) {
            const int iy = oy * s - p + ky, ix = ox * s - p + kx;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            const size_t src = nchw ? (((size_t)n * C + c) * H + iy) * W + ix : (((size_t)n * H + iy) * W + ix) * C + c;
            ref[(((size_t)n * Ho + oy) * Wo + ox) * cs + (ky * k + kx) * C + c] = H_::from(xf[src]);
        }
    void* dx; T* dcol;
    const size_t xbytes = nx * (nchw ? 4 : sizeof(T));
    CK(cudaMalloc(&dx, xbytes)); CK(cudaMalloc(&dcol, ncol * sizeof(T)));
    if (nchw) CK(cudaMemcpy(dx, xf.data(), xbytes, cudaMemcpyHostToDevice));
    else {
        std::vector<typename H_::S> xs(nx);
        for (size_t i = 0; i < nx; i++) xs[i] = H_::from(xf[i]);
        CK(cudaMemcpy(dx, xs.data(), xbytes, cudaMemcpyHostToDevice));
    }
    bool ok = true;
    std::vector<typename H_::S> got(ncol);
    for (int v = 1; v <= 3; v++) {
        CK(cudaMemset(dcol, 0xff, ncol * sizeof(T)));
        run<T>(v, nchw, dcol, dx, Im2colGeom{N, H, W, C, Ho, Wo, k, s, p, cs});
        CK(cudaMemcpy(got.data(), dcol, ncol * sizeof(T), cudaMemcpyDeviceToHost));
        if (memcmp(got.data(), ref.data(), ncol * sizeof(T))) {
            size_t i = 0; while (i + 1 < ncol && !memcmp(&got[i], &ref[i], sizeof(T))) i++;
            printf("  FAIL v%d %s %s N=%d H=%d W=%d C=%d k=%d s=%d p=%d cs=%d: first diff at col[%zu, %zu]\n", v,
                   nchw ? "nchw" : "nhwc", sizeof(T) == 4 ? "f32" : "bf16", N, H, W, C, k, s, p, cs, i / cs, i % cs);
            ok = false;
        }
    }
    CK(cudaFree(dx)); CK(cudaFree(dcol));
    return ok;
}

struct LabShape { const char* name; bool nchw; int N, H, W, C; bool f32; };

int main(int argc, char** argv) {
    const bool check_only = argc > 1 && !strcmp(argv[1], "--check");
    cudaDeviceProp prop; CK(cudaGetDeviceProperties(&prop, 0)); g_sms = prop.multiProcessorCount;
    printf("device: %s, %d SMs, L2 %d MB\n", prop.name, prop.multiProcessorCount, prop.l2CacheSize >> 20);

    int cases = 0, fails = 0;
    struct VC { bool nchw; int N, H, W, C, k, s, p, cs; } vcs[] = {
        {true, 2, 17, 15, 3, 3, 2, 1, 0}, {true, 1, 9, 9, 3, 3, 2, 1, 27}, {true, 2, 8, 7, 5, 5, 3, 2, 0},
        {true, 3, 224, 224, 3, 3, 2, 1, 0},
        {false, 2, 13, 11, 24, 3, 2, 1, 0}, {false, 1, 14, 14, 48, 3, 2, 1, 0}, {false, 3, 7, 9, 5, 3, 2, 1, 0},
        {false, 1, 11, 9, 7, 5, 3, 2, 0}, {false, 2, 8, 8, 16, 2, 2, 0, 0}, {false, 1, 5, 6, 3, 3, 1, 1, 27},
        {false, 1, 1, 1, 1, 1, 1, 0, 0}, {false, 4, 56, 56, 48, 3, 2, 1, 0}, {false, 2, 14, 14, 192, 3, 2, 1, 0}};
    for (const auto& c : vcs) {
        cases += 2;
        if (!validate<float>(c.nchw, c.N, c.H, c.W, c.C, c.k, c.s, c.p, c.cs)) fails++;
        if (!validate<__nv_bfloat16>(c.nchw, c.N, c.H, c.W, c.C, c.k, c.s, c.p, c.cs)) fails++;
    }
    printf("validation: %d cases x 3 variants, bit-exact vs the CPU gather, %d cases failed\n", cases, fails);
    if (check_only) return fails ? 1 : 0;
    if (fails) printf("WARNING: validation failed; timings below are of kernels that are wrong somewhere\n");

    void* flush; CK(cudaMalloc(&flush, LAB_FLUSH_BYTES));
    const double roof = lab_copy_bps(flush);
    // MambaOut-femto, batch 256, k = 3, s = 2, p = 1.
    LabShape shapes[] = {{"stem1 nchw->bf16", true, 256, 224, 224, 3, false}, {"stem2", false, 256, 112, 112, 24, false},
                         {"down1", false, 256, 56, 56, 48, false}, {"down2", false, 256, 28, 28, 96, false},
                         {"down3", false, 256, 14, 14, 192, false}, {"stem2 f32", false, 256, 112, 112, 24, true}};
    std::vector<std::string> summary;
    for (const auto& sh : shapes) {
        const int k = 3, s = 2, p = 1, Ho = (sh.H + 2 * p - k) / s + 1, Wo = (sh.W + 2 * p - k) / s + 1;
        const int cs = (k * k * sh.C + 7) / 8 * 8;
        const size_t ct = sh.f32 ? 4 : 2, xt = (sh.nchw || sh.f32) ? 4 : 2;
        const size_t nx = (size_t)sh.N * sh.H * sh.W * sh.C, ncol = (size_t)sh.N * Ho * Wo * cs;
        void *dx, *dcol;
        CK(cudaMalloc(&dx, nx * xt)); CK(cudaMalloc(&dcol, ncol * ct));
        {
            std::vector<float> h(nx * xt / 4);
            for (auto& v : h) v = lab_randn();   // bf16 inputs: the bits of random floats (a gather does not look)
            CK(cudaMemcpy(dx, h.data(), nx * xt, cudaMemcpyHostToDevice));
        }
        const double bytes = (double)nx * xt + (double)ncol * ct, floor_us = bytes / roof * 1e6;
        float t[4] = {0};
        for (int v = 1; v <= 3; v++) {
            const Im2colGeom g{sh.N, sh.H, sh.W, sh.C, Ho, Wo, k, s, p, cs};
            float ms = lab_time_ms([&] {
                if (sh.f32) run<float>(v, sh.nchw, (float*)dcol, dx, g);
                else run<__nv_bfloat16>(v, sh.nchw, (__nv_bfloat16*)dcol, dx, g);
            }, flush, 20);
            t[v] = ms * 1e3f;
            printf("v%d %-17s in [%d,%d,%d,%d] col [%zu,%d] %8.1f us %6.0f GB/s %5.1f%% of floor (%.0f MB moved)\n", v,
                   sh.name, sh.N, sh.H, sh.W, sh.C, ncol / cs, cs, t[v], bytes / ms / 1e6, 100 * floor_us / t[v],
                   bytes / 1e6);
        }
        char line[256];
        snprintf(line, sizeof line, "| %s | %.0f | %.1f | %.1f | %.1f | %.1f | %.0f%% |", sh.name, bytes / 1e6,
                 floor_us, t[1], t[2], t[3], 100 * floor_us / std::min(t[2], t[3]));
        summary.push_back(line);
        CK(cudaFree(dx)); CK(cudaFree(dcol));
    }
    printf("\nsummary (us; floor = (x read once + col written) / measured copy bandwidth; %% = floor / best of v2, v3)\n");
    printf("| shape | MB moved | floor | v1 | v2 | v3 | best %% |\n| --- | --- | --- | --- | --- | --- | --- |\n");
    for (auto& l : summary) printf("%s\n", l.c_str());
    CK(cudaFree(flush));
    return fails ? 1 : 0;
}
