// Kernel lab for gated_dwconv's backward (gated_dwconv_backward_{f32,bf16} + gated_dwconv_backward_reduce): numbered
// variants, a check against the double reference of gated_dwconv_bwd_ref.h on random odd shapes with every output
// poisoned, and a timing loop (3 warm-ups, median of 20, L2 flushed by a 256 MB memset before each run) at MambaOut's
// batch-256 shapes against the measured copy floor. The mainline source is included, not copied.
//   v1: rows through registers (the mainline of lab round 1, and still its path for unaligned shapes): a row is
//       loaded one step ahead into registers, cooked (dy * act(g), dy * act'(g)) into the block's ring after the
//       step's FMAs, one barrier per row. Conv blocks (528 target: 2 per SM x 2 waves) first, then pointwise blocks.
//   v2: the mainline (round 2): in bf16, where x and dy allow 16-byte copies, rows stream with cp.async into a raw
//       ring 3 rows ahead, each row cooked from shared memory one step ahead; same arithmetic, so v2 == v1 bit for
//       bit. f32 takes v1's path (round 2 measured its 1-row cp.async ring at 0.96-1.00x, so it was dropped).
//       (Round 1's v2, the same blocks interleaved in the grid, measured 0.75-0.94x: NOTES.md.)
//
//   nvcc -O3 -lineinfo -std=c++17 -arch=sm_90 -o /tmp/gdb_lab kernels/lab/gated_dwconv_bwd_lab.cu
//   /tmp/gdb_lab --check    # validate v1 and v2 (and v2 == v1 bit for bit)
//   /tmp/gdb_lab            # validate, then time
#include "lab_util.cuh"
#include "../src/main/cuda/gated_dwconv.cu"
#include "gated_dwconv_bwd_ref.h"

#include <string>

// ---------------------------------------------------------------- variants
template <typename T>
__global__ void __launch_bounds__(GDB_BLOCK, 2) gdb_v1(T* __restrict__ dx, float* __restrict__ partial,
        const T* __restrict__ x, const T* __restrict__ dy, const float* __restrict__ weight,
        const float* __restrict__ bias, int N, int H, int W, int hidden, int conv, int k, int act, int strip_rows,
        int splits) {
    __shared__ __align__(16) float ring[GDB_RING * gdb_slot_floats(GDB_MAX_K)];
    const GdbShape s(N, H, W, hidden, conv, k, act, strip_rows, splits);
    const long long b = blockIdx.x;
    if (b < s.conv_blocks()) gdb_block<T>(dx, partial, x, dy, weight, bias, s, true, b, ring, nullptr, false);
    else gdb_block<T>(dx, partial, x, dy, weight, bias, s, false, b - s.conv_blocks(), ring, nullptr, false);
}

struct Geometry {
    int strip_rows, splits, grid, reduce_grid;
};

static Geometry geometry(int N, int H, int W, int hidden, int conv, int k, int eb) {
    Geometry g;
    g.strip_rows = gdb_ref_strip_rows(N, H, W, conv);
    g.splits = gdb_ref_splits(N, H, W, conv);
    const int u = (hidden % (16 / eb) == 0 && conv % (16 / eb) == 0) ? 16 / eb : 1;
    const long long pw = (long long)N * H * W * ((hidden - conv) / u);
    g.grid = (int)((long long)gd_ceil_div(conv, 32) * g.splits + (pw + GDB_PW_UNITS - 1) / GDB_PW_UNITS);
    g.reduce_grid = gd_ceil_div((k * k + 1) * conv, 32);
    return g;
}

template <typename T>
static void launch(int v, T* dx, float* partial, float* dw, float* db, const T* x, const T* dy, const float* w,
                   const float* b, int N, int H, int W, int hidden, int conv, int k, int act) {
    const Geometry g = geometry(N, H, W, hidden, conv, k, sizeof(T));
    if (v == 1) {
        gdb_v1<T><<<g.grid, GDB_BLOCK>>>(dx, partial, x, dy, w, b, N, H, W, hidden, conv, k, act, g.strip_rows, g.splits);
    } else if constexpr (sizeof(T) == 4) {
        gated_dwconv_backward_f32<<<g.grid, GDB_BLOCK>>>(dx, partial, x, dy, w, b, N, H, W, hidden, conv, k, act,
                                                          g.strip_rows, g.splits);
    } else {
        gated_dwconv_backward_bf16<<<g.grid, GDB_BLOCK>>>(dx, partial, x, dy, w, b, N, H, W, hidden, conv, k, act,
                                                           g.strip_rows, g.splits);
    }
    gated_dwconv_backward_reduce<<<g.reduce_grid, GDB_BLOCK>>>(dw, db, partial, g.splits, conv, k);
    CK(cudaGetLastError());
}

// ---------------------------------------------------------------- validation
template <typename T>
static bool check_case(int hidden, int conv, int k, int N, int H, int W, int act) {
    using Hs = LabHost<T>;
    using S = typename Hs::S;
    constexpr bool BF = sizeof(T) == 2;
    const long long tokens = (long long)N * H * W;
    const size_t nx = tokens * 2 * hidden, ny = tokens * hidden;
    std::vector<float> x(nx), dy(ny), w((size_t)k * k * conv), b(conv);
    std::vector<S> xs(nx), dys(ny);
    for (size_t i = 0; i < nx; i++) { xs[i] = Hs::from(lab_randn()); x[i] = Hs::to(xs[i]); }
    for (size_t i = 0; i < ny; i++) { dys[i] = Hs::from(lab_randn()); dy[i] = Hs::to(dys[i]); }
    for (auto& v : w) v = lab_randn() / k;
    for (auto& v : b) v = 0.5f * lab_randn();
    std::vector<double> rdx, rdw, rdb;
    gdb_reference(x.data(), dy.data(), w, b, N, H, W, hidden, conv, k, act, rdx, rdw, rdb);

    const Geometry g = geometry(N, H, W, hidden, conv, k, sizeof(T));
    T *dx, *dxd, *dyd;
    float *part, *dw, *db, *wd, *bd;
    const size_t part_n = (size_t)g.splits * (k * k + 1) * conv;
    CK(cudaMalloc(&dx, nx * sizeof(T))); CK(cudaMalloc(&dxd, nx * sizeof(T))); CK(cudaMalloc(&dyd, ny * sizeof(T)));
    CK(cudaMalloc(&part, part_n * 4)); CK(cudaMalloc(&dw, w.size() * 4)); CK(cudaMalloc(&db, conv * 4));
    CK(cudaMalloc(&wd, w.size() * 4)); CK(cudaMalloc(&bd, conv * 4));
    CK(cudaMemcpy(dxd, xs.data(), nx * sizeof(T), cudaMemcpyHostToDevice));   // dxd holds x
    CK(cudaMemcpy(dyd, dys.data(), ny * sizeof(T), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(wd, w.data(), w.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(bd, b.data(), conv * 4, cudaMemcpyHostToDevice));
    bool ok = true;
    std::vector<S> first_dx;
    std::vector<float> first_dw, first_db;
    for (int v = 1; v <= 2; v++) {
        CK(cudaMemset(dx, 0xff, nx * sizeof(T))); CK(cudaMemset(part, 0xff, part_n * 4));   // NaN poison
        CK(cudaMemset(dw, 0xff, w.size() * 4)); CK(cudaMemset(db, 0xff, conv * 4));
        launch<T>(v, dx, part, dw, db, dxd, dyd, wd, bd, N, H, W, hidden, conv, k, act);
        CK(cudaDeviceSynchronize());
        std::vector<S> hdx(nx);
        std::vector<float> gdx(nx), gdw(w.size()), gdb(conv);
        CK(cudaMemcpy(hdx.data(), dx, nx * sizeof(T), cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(gdw.data(), dw, w.size() * 4, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(gdb.data(), db, conv * 4, cudaMemcpyDeviceToHost));
        for (size_t i = 0; i < nx; i++) gdx[i] = Hs::to(hdx[i]);
        const double tol = BF ? 1e-2 : 1e-5;
        const double e1 = gdb_ref_rel(gdx, rdx), e2 = gdb_ref_rel(gdw, rdw), e3 = gdb_ref_rel(gdb, rdb);
        bool pass = e1 < tol && e2 < tol && e3 < tol;
        if (v == 1) {
            first_dx = hdx; first_dw = gdw; first_db = gdb;
        } else if (memcmp(first_dx.data(), hdx.data(), nx * sizeof(S)) || memcmp(first_dw.data(), gdw.data(), gdw.size() * 4)
                   || memcmp(first_db.data(), gdb.data(), conv * 4)) {
            printf("FAIL v2 differs from v1 bit for bit: ");
            pass = false;
        }
        if (!pass) {
            printf("FAIL v%d %s hidden=%d conv=%d k=%d N,H,W=%d,%d,%d act=%d: dx %.2e dW %.2e db %.2e\n", v,
                   BF ? "bf16" : "f32", hidden, conv, k, N, H, W, act, e1, e2, e3);
        }
        ok = ok && pass;
    }
    CK(cudaFree(dx)); CK(cudaFree(dxd)); CK(cudaFree(dyd)); CK(cudaFree(part)); CK(cudaFree(dw)); CK(cudaFree(db));
    CK(cudaFree(wd)); CK(cudaFree(bd));
    return ok;
}

// ---------------------------------------------------------------- timing
struct Shape {
    const char* model;
    int stage, N, H, hidden, conv;
};

template <typename T>
static void time_shape(const Shape& sh, void* flush, double copy_bps) {
    const int N = sh.N, H = sh.H, W = sh.H, hidden = sh.hidden, conv = sh.conv, k = 7;
    const long long tokens = (long long)N * H * W;
    const size_t nx = tokens * 2 * hidden, ny = tokens * hidden;
    const Geometry g = geometry(N, H, W, hidden, conv, k, sizeof(T));
    const size_t part_n = (size_t)g.splits * (k * k + 1) * conv;
    T *dx, *x, *dy;
    float *part, *dw, *db, *w, *b;
    CK(cudaMalloc(&dx, nx * sizeof(T))); CK(cudaMalloc(&x, nx * sizeof(T))); CK(cudaMalloc(&dy, ny * sizeof(T)));
    CK(cudaMalloc(&part, part_n * 4)); CK(cudaMalloc(&dw, (size_t)k * k * conv * 4)); CK(cudaMalloc(&db, conv * 4));
    CK(cudaMalloc(&w, (size_t)k * k * conv * 4)); CK(cudaMalloc(&b, conv * 4));
    CK(cudaMemset(x, 0x3c, nx * sizeof(T))); CK(cudaMemset(dy, 0x3c, ny * sizeof(T)));   // finite, moderate values
    CK(cudaMemset(w, 0, (size_t)k * k * conv * 4)); CK(cudaMemset(b, 0, conv * 4));
    const double bytes = 5.0 * hidden * tokens * sizeof(T) + 2.0 * part_n * 4;
    const double floor_us = bytes / copy_bps * 1e6;
    float t[3];
    for (int v = 1; v <= 2; v++) {
        t[v] = 1e3f * lab_time_ms([&] { launch<T>(v, dx, part, dw, db, x, dy, w, b, N, H, W, hidden, conv, k, 0); }, flush, 20);
    }
    printf("| %s | %d | %d | %s | %d | %d | %.1f | %.1f | %.1f | %.0f%% | %.1f | %.0f%% | %.2f |\n", sh.model, sh.stage, N,
           sizeof(T) == 4 ? "f32" : "bf16", hidden, conv, bytes / 1e6, floor_us, t[1], 100 * floor_us / t[1], t[2],
           100 * floor_us / t[2], t[1] / t[2]);
    CK(cudaFree(dx)); CK(cudaFree(x)); CK(cudaFree(dy)); CK(cudaFree(part)); CK(cudaFree(dw)); CK(cudaFree(db));
    CK(cudaFree(w)); CK(cudaFree(b));
}

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    cudaDeviceProp p;
    CK(cudaGetDeviceProperties(&p, 0));
    printf("device: %s, %d SMs, L2 %d MB\n", p.name, p.multiProcessorCount, p.l2CacheSize >> 20);
    // hidden, conv, k, N, H, W, act: odd widths, conv = hidden, a partial 32-channel chunk, k = 1/3/5/7, 1x1 images,
    // strips, more units than 528 splits.
    const int cases[][7] = {{170, 80, 7, 2, 7, 7, 0}, {42, 16, 7, 1, 3, 5, 1}, {128, 48, 7, 2, 14, 14, 0},
                            {64, 64, 3, 1, 9, 11, 1}, {33, 7, 5, 2, 6, 5, 0}, {96, 40, 1, 3, 5, 4, 1},
                            {40, 20, 7, 3, 1, 1, 0}, {256, 96, 7, 1, 28, 28, 1}, {96, 36, 7, 2, 17, 9, 0},
                            {40, 32, 5, 600, 2, 2, 1}, {768, 288, 7, 2, 7, 7, 0}, {3, 1, 3, 1, 2, 3, 1}};
    int failed = 0, n = 0;
    for (const auto& c : cases) {
        failed += !check_case<float>(c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
        failed += !check_case<__nv_bfloat16>(c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
        n += 2;
    }
    printf("validation: %d cases (v1 and v2 each, v2 == v1 bit for bit), %d failed\n", n, failed);
    if (failed || mode == "--check") return failed ? 1 : 0;

    void* flush;
    CK(cudaMalloc(&flush, LAB_FLUSH_BYTES));
    const double copy_bps = lab_copy_bps(flush);
    const Shape shapes[] = {{"femto", 1, 256, 56, 128, 48}, {"femto", 2, 256, 28, 256, 96}, {"femto", 3, 256, 14, 512, 192},
                            {"femto", 4, 256, 7, 768, 288}, {"tiny", 1, 256, 56, 256, 96}, {"tiny", 2, 256, 28, 512, 192},
                            {"tiny", 3, 256, 14, 1024, 384}, {"tiny", 4, 256, 7, 1536, 576}};
    printf("\n| model | stage | N | dtype | hidden | conv | MB | floor us | v1 us | v1 %% | v2 us | v2 %% | v1 / v2 |\n");
    printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (const Shape& s : shapes) time_shape<float>(s, flush, copy_bps);
    for (const Shape& s : shapes) time_shape<__nv_bfloat16>(s, flush, copy_bps);
    CK(cudaFree(flush));
    return 0;
}
