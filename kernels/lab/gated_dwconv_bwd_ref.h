// gated_dwconv's backward from its definition, in double, and the launch geometry as GatedDwConvKernels.backward*
// computes it: shared by the host check (gated_dwconv_bwd_host_check.cpp, no GPU) and the lab
// (gated_dwconv_bwd_lab.cu). Plain C++; the includer provides gd_ceil_div.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

// Output rows per strip and splits per 32-channel chunk (GatedDwConvKernels.backwardStripRows / backwardSplits:
// 528 conv blocks = 132 SMs x 2 x 2 waves, 8-column bands, strips of at least 8 rows).
static int gdb_ref_strip_rows(int n, int h, int w, int conv) {
    long base = (long)n * gd_ceil_div(w, 8) * gd_ceil_div(conv, 32);
    if (base >= 528) return h;
    long strips = std::max(1L, std::min((528 + base - 1) / base, (long)h / 8));
    return (int)((h + strips - 1) / strips);
}
static int gdb_ref_splits(int n, int h, int w, int conv) {
    const long units = (long)n * gd_ceil_div(h, gdb_ref_strip_rows(n, h, w, conv)) * gd_ceil_div(w, 8);
    return (int)std::max(1L, std::min(units, (long)gd_ceil_div(528, gd_ceil_div(conv, 32))));
}

static double gdb_ref_act(double v, int a) { return a == 0 ? 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))) : v / (1 + std::exp(-v)); }
static double gdb_ref_act_grad(double v, int a) {
    if (a == 0) return 0.5 * (1 + std::erf(v / std::sqrt(2.0))) + v * std::exp(-0.5 * v * v) / std::sqrt(2 * M_PI);
    double s = 1 / (1 + std::exp(-v));
    return s * (1 + v * (1 - s));
}

// ||got - ref|| / ||ref||; NaN anywhere (a poisoned output left unwritten) is infinitely wrong.
static double gdb_ref_rel(const std::vector<float>& got, const std::vector<double>& ref) {
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.size(); i++) {
        if (std::isnan(got[i])) return INFINITY;
        num += (got[i] - ref[i]) * (got[i] - ref[i]);
        den += ref[i] * ref[i];
    }
    return std::sqrt(num) / std::max(std::sqrt(den), 1e-300);
}

// x [T, 2*hidden], dy [T, hidden] as the stored values; weight tap-major [k*k, conv], bias [conv] ->
// dx [T, 2*hidden], dweight [k*k, conv], dbias [conv].
static void gdb_reference(const float* x, const float* dy, const std::vector<float>& wt, const std::vector<float>& bs,
                          int N, int H, int W, int hidden, int conv, int k, int act, std::vector<double>& rdx,
                          std::vector<double>& rdw, std::vector<double>& rdb) {
    const int P = k / 2, plain = hidden - conv;
    const long T = (long)N * H * W;
    rdx.assign(T * 2 * hidden, 0);
    rdw.assign((size_t)k * k * conv, 0);
    rdb.assign(conv, 0);
    std::vector<double> dconv(T * conv);
    auto X = [&](long p, int ch) { return (double)x[p * 2 * hidden + ch]; };
    for (int n = 0; n < N; n++) for (int y = 0; y < H; y++) for (int xx = 0; xx < W; xx++) {
        long p = ((long)n * H + y) * W + xx;
        for (int j = 0; j < hidden; j++) {
            double g = X(p, j), d = dy[p * hidden + j], v;
            if (j < plain) v = X(p, hidden + j);
            else {
                int c = j - plain; v = bs[c];
                for (int ky = 0; ky < k; ky++) for (int kx = 0; kx < k; kx++) {
                    int sy = y - P + ky, sx = xx - P + kx;
                    if (sy < 0 || sy >= H || sx < 0 || sx >= W) continue;
                    v += wt[(ky * k + kx) * conv + c] * X(((long)n * H + sy) * W + sx, hidden + j);
                }
            }
            rdx[p * 2 * hidden + j] = d * gdb_ref_act_grad(g, act) * v;
            double du = d * gdb_ref_act(g, act);
            if (j < plain) rdx[p * 2 * hidden + hidden + j] = du; else dconv[p * conv + j - plain] = du;
        }
    }
    for (int n = 0; n < N; n++) for (int y = 0; y < H; y++) for (int xx = 0; xx < W; xx++) {
        long p = ((long)n * H + y) * W + xx;
        for (int c = 0; c < conv; c++) {
            double s = 0;
            rdb[c] += dconv[p * conv + c];
            for (int ky = 0; ky < k; ky++) for (int kx = 0; kx < k; kx++) {
                int sy = y + P - ky, sx = xx + P - kx;
                if (sy >= 0 && sy < H && sx >= 0 && sx < W) s += wt[(ky * k + kx) * conv + c] * dconv[(((long)n * H + sy) * W + sx) * conv + c];
                int ty = y - P + ky, tx = xx - P + kx;
                if (ty >= 0 && ty < H && tx >= 0 && tx < W) rdw[(ky * k + kx) * conv + c] += dconv[p * conv + c] * X(((long)n * H + ty) * W + tx, hidden + plain + c);
            }
            rdx[p * 2 * hidden + hidden + plain + c] = s;
        }
    }
}
