// Host-side check of FastDiv (../src/main/cuda/fastdiv.cuh), the multiply-shift divisor the im2col mainline uses:
// its __host__ path is the device arithmetic with umulhi written out, so this runs without a GPU.
//   1. exhaustive: every n < 2^31 for each divisor im2col builds at MambaOut's shapes (every variant's widths,
//      images 160..512 in steps of 32: upr = col_stride / V, Wo, Ho, C, C / V, k; and 1, 2) against n / d
//   2. every d in [1, 2^16], 4096 log-uniform d up to 2^31 and 2^b - 1, 2^b, 2^b + 1: n in [0, min(2d + 2, 2^18)],
//      n = 2^31 - 1 and the top multiples of d (+-1) below it, and 256 random n < 2^31
//   3. informative: n >= 2^31, outside the documented range, where the 32-bit sum umulhi(n, m) + n wraps
// Build: nvcc -O3 -std=c++17 -Xcompiler -fopenmp -o /tmp/fastdiv_check kernels/lab/fastdiv_check.cu
// Run:   /tmp/fastdiv_check            (all; ~1 s per exhaustive divisor per core)   /tmp/fastdiv_check --quick (2, 3)
#include "../src/main/cuda/fastdiv.cuh"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <vector>

static const uint32_t N_LIMIT = 1u << 31;   // numerators are < 2^31 (fastdiv.cuh)

// Divisors of one im2col launch at (C, image side, k = 3, s = 2, p = 1) for f32 and bf16 columns.
static void add_launch(std::set<uint32_t>& ds, int C, int side) {
    const int k = 3, s = 2, p = 1, o = (side + 2 * p - k) / s + 1;
    const int cs = (k * k * C + 7) / 8 * 8;
    for (int V : {4, 8}) {
        ds.insert(cs / V);
        if (C % V == 0) ds.insert(C / V);
    }
    ds.insert(C);
    ds.insert(o);
    ds.insert(k);
}

static long long check_range(const FastDiv& f, uint32_t d, uint64_t lo, uint64_t hi) {
    long long bad = 0;
#pragma omp parallel for reduction(+ : bad) schedule(static)
    for (long long n = (long long)lo; n < (long long)hi; n++) bad += f.div((uint32_t)n) != (uint32_t)n / d;
    return bad;
}

static bool check_one(uint32_t d, uint32_t n) {
    const FastDiv f(d);
    return f.div(n) == n / d;
}

int main(int argc, char** argv) {
    const bool quick = argc > 1 && !strcmp(argv[1], "--quick");
    long long failures = 0;

    // 1. exhaustive over the divisors the geometry produces
    std::set<uint32_t> ds = {1, 2};   // and the unit tests' 1 x 1 images, k = 1, k = 2, C = 8 in bf16
    const int widths[][4] = {{48, 96, 192, 288}, {96, 192, 384, 576}, {128, 256, 512, 768}};
    for (const auto& dims : widths)
        for (int side = 160; side <= 512; side += 32) {
            add_launch(ds, 3, side);                 // stem conv1 (NCHW, C = 3)
            add_launch(ds, dims[0] / 2, side / 2);   // stem conv2
            for (int i = 0; i < 3; i++) add_launch(ds, dims[i], side >> (i + 2));   // downsampling convs
        }
    printf("1. %zu divisors from the model shapes:", ds.size());
    for (uint32_t d : ds) printf(" %u", d);
    printf("\n");
    if (!quick) {
        for (uint32_t d : ds) {
            const long long bad = check_range(FastDiv(d), d, 0, N_LIMIT);
            if (bad) printf("   FAIL d=%u: %lld of 2^31 numerators wrong\n", d, bad);
            failures += bad;
        }
        printf("   every n < 2^31 for each: %s\n", failures ? "FAILED" : "exact");
    } else {
        printf("   (skipped: --quick)\n");
    }

    // 2. all small divisors, random large ones, at the boundaries and at random numerators
    std::mt19937_64 rng(12345);
    std::vector<uint32_t> divs;
    for (uint32_t d = 1; d <= 65536; d++) divs.push_back(d);
    for (int i = 0; i < 4096; i++) {
        const double e = std::uniform_real_distribution<double>(0.0, 31.0)(rng);
        divs.push_back((uint32_t)std::min<double>(N_LIMIT, std::max(1.0, std::pow(2.0, e))));
    }
    for (int b = 16; b <= 31; b++)
        for (int dd = -1; dd <= 1; dd++)
            if (((uint64_t)1 << b) + dd <= N_LIMIT) divs.push_back((uint32_t)(((uint64_t)1 << b) + dd));
    long long checked = 0, bad2 = 0;
    for (uint32_t d : divs) {
        auto one = [&](uint64_t n) {
            if (n >= N_LIMIT) return;
            checked++;
            if (!check_one(d, (uint32_t)n)) {
                if (bad2 < 10) printf("   FAIL d=%u n=%llu\n", d, (unsigned long long)n);
                bad2++;
            }
        };
        for (uint64_t n = 0; n <= std::min<uint64_t>(2ull * d + 2, 1u << 18); n++) one(n);
        one(N_LIMIT - 1);
        const uint64_t top = (N_LIMIT - 1) / d * d;
        for (int q = 0; q < 3 && top >= (uint64_t)q * d; q++)
            for (int dd = -1; dd <= 1; dd++) one(top - (uint64_t)q * d + dd);
        for (int i = 0; i < 256; i++) one(rng() & (N_LIMIT - 1));
    }
    printf("2. %zu divisors, %lld (d, n) pairs at boundaries and random n < 2^31: %lld wrong\n", divs.size(), checked,
           bad2);
    failures += bad2;

    // 3. outside the range: why numerators stay below 2^31
    long long wrong_hi = 0, tried_hi = 0;
    for (uint32_t d : {3u, 7u, 27u, 112u, 1000u}) {
        const FastDiv f(d);
        for (int i = 0; i < 100000; i++) {
            const uint32_t n = (uint32_t)(N_LIMIT | (rng() & (N_LIMIT - 1)));
            tried_hi++;
            wrong_hi += f.div(n) != n / d;
        }
    }
    printf("3. n >= 2^31 (not allowed): %lld of %lld sampled quotients wrong (the 32-bit sum wraps)\n", wrong_hi,
           tried_hi);

    printf("%s\n", failures ? "FAILED" : "OK: FastDiv is exact for every numerator below 2^31 it was given");
    return failures ? 1 : 0;
}
