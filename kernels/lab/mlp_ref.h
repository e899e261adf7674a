// Double references of the MLP lab's kernels, shared by the lab (mlp_lab.cu) and its host check (mlp_host_check.cpp).
// Operands are the values the kernels see (bf16 inputs already rounded to float); `round_bf16` is the includer's
// round-to-nearest-even, applied where the kernel rounds in the middle (fc1's LayerNorm output).
#pragma once
#include <cmath>
#include <cstddef>
#include <vector>

// y [T, N] = LN(x) W^T + bias, LN over K with eps 1e-6 (its output rounded as the kernel rounds it).
template <class Round>
static std::vector<double> mlp_ref_fc1(const std::vector<float>& x, const std::vector<float>& g,
                                       const std::vector<float>& b, const std::vector<float>& w,
                                       const std::vector<float>& bias, int T, int K, int N, Round round_bf16) {
    std::vector<double> ref((size_t)T * N), a(K);
    for (int t = 0; t < T; t++) {
        double m = 0, v = 0;
        for (int c = 0; c < K; c++) m += x[(size_t)t * K + c];
        m /= K;
        for (int c = 0; c < K; c++) v += (x[(size_t)t * K + c] - m) * (x[(size_t)t * K + c] - m);
        const double rs = 1 / std::sqrt(v / K + 1e-6);
        for (int c = 0; c < K; c++) a[c] = round_bf16((float)((x[(size_t)t * K + c] - m) * rs * g[c] + b[c]));
        for (int n = 0; n < N; n++) {
            double s = bias[n];
            for (int c = 0; c < K; c++) s += a[c] * w[(size_t)n * K + c];
            ref[(size_t)t * N + n] = s;
        }
    }
    return ref;
}

// s [T, D] = res + a W^T + bias and ln [T, D] = LN(s) over D (eps 1e-6).
static void mlp_ref_fc2(const std::vector<float>& res, const std::vector<float>& a, const std::vector<float>& w,
                        const std::vector<float>& bias, const std::vector<float>& g, const std::vector<float>& b,
                        int T, int H, int D, std::vector<double>& s, std::vector<double>& ln) {
    s.assign((size_t)T * D, 0);
    ln.assign((size_t)T * D, 0);
    for (int t = 0; t < T; t++) {
        double* row = s.data() + (size_t)t * D;
        double m = 0, v = 0;
        for (int n = 0; n < D; n++) {
            double acc = res[(size_t)t * D + n] + bias[n];
            for (int k = 0; k < H; k++) acc += (double)a[(size_t)t * H + k] * w[(size_t)n * H + k];
            row[n] = acc;
            m += acc;
        }
        m /= D;
        for (int n = 0; n < D; n++) v += (row[n] - m) * (row[n] - m);
        const double rs = 1 / std::sqrt(v / D + 1e-6);
        for (int n = 0; n < D; n++) ln[(size_t)t * D + n] = (row[n] - m) * rs * g[n] + b[n];
    }
}

// ||got - ref|| / ||ref||, and whether any got is not finite.
template <class Get>
static double mlp_rel(size_t n, Get got, const std::vector<double>& ref, bool& nan) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        const double x = got(i);
        if (!std::isfinite(x)) nan = true;
        num += (x - ref[i]) * (x - ref[i]);
        den += ref[i] * ref[i];
    }
    return std::sqrt(num / den);
}
