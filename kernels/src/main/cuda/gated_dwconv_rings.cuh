// gated_dwconv's conv blocks with warp-private rings (lab variant 7, round 7; the mainline since 2026-12-04 for k = 7,
// the lab keeps 3 and 5): the rolling column of lab v4 (rounds 4-6) fed through shared memory with no block-wide
// barrier anywhere in the row loop. Included by gated_dwconv.cu (the kernels) and by the lab's host check.
//
// Why: round 6 halved the instructions per output (2 columns per lane) and gained only 1.15-1.27x in bf16; v4's
// 8 warps met at a __syncthreads per input row, and at 2 blocks per SM a block waiting there left its SM half idle
// while the slowest warp finished its row. Here every warp is its own work unit and streams its own rows: it waits
// for them with cp.async.wait_group + __syncwarp only, so warps drift apart and their phases interleave on the
// schedulers. Measured (H200, round 7, bench/results/2026-12-03-h200-gated-r7.txt): 1.2-1.7x faster than v4 at
// batch 256 with 4 columns per lane, f32 52-70% of copy bandwidth, bf16 29-45%.
//
// A warp's unit: (image, strip of strip_rows output rows, band of BX columns, chunk of LC conv channels). Its lanes are
// G = 32 / LC column groups x LC channels: lane (gx, lc) is channel c0 + lc and owns the C adjacent output columns
// x0 + gx C + j, with its channel's k*k weights and C x k accumulators in registers, walking down its columns: each
// input row brings k*k*C FMAs into the k open output rows; the closing row is gated and stored.
//   LC = 16 channels for bf16 (one 32-byte sector per pixel; G = 2 groups, so a band of 2C columns pays k - 1 halo
//        pixels instead of the 4x at C = 2 that one group would; the femto-1 width of 48 channels has no idle lanes),
//   LC = 32 for f32 (16 f32 channels would put the two groups' pixels 2C * 64 bytes apart: the same banks for C = 2).
// Cost: each warp loads its own k - 1 halo pixels (BX + k - 1 pixels per row; the extra reads are L1/L2 hits: input
// rows are loaded with cp.async.ca and the 8 warps of a block are neighbouring bands of one chunk, so they read each
// other's halo close in time).
// Ring: GDR_STAGES rows per warp, each row = the input row (BX + k - 1 pixels x LC channels) then the g row (BX
// pixels), [pixel][LC channels], filled 16 bytes per cp.async with zero fill for padding and channels >= conv. Unit e
// of a row's input part lands at element e * V of the slot (pixel e / (LC / V), channels (e % (LC / V)) V).
// Needs 16-byte units: hidden and conv multiples of 16 / sizeof(T), x and out 16-byte aligned (the launcher takes the
// column path otherwise); any odd k with K known. GatedDwConvKernels (Java) mirrors the unit count, the band and the
// shared memory size.
//
// The includer provides gd_ceil_div, gd_to_float, gd_from_float, gd_act, cp_async16 (.cg), cp_async16_ca,
// cp_async_commit, cp_async_wait<N>, WARP_SIZE, __syncwarp: gated_dwconv.cu and cp_async.cuh define them; the host check
// (kernels/lab/gated_dwconv_v7_host_check.cpp) emulates them with std::threads.
#pragma once

constexpr int GDR_BLOCK = 256;
constexpr int GDR_WARPS = GDR_BLOCK / WARP_SIZE;
#ifndef GDR_LC_BF16
#define GDR_LC_BF16 16   // conv channels per warp for bf16: 16 (2 column groups) or 32 (1)
#endif
#ifndef GDR_STAGES
#define GDR_STAGES 6     // ring rows per warp: up to 5 rows in flight (dynamic shared memory, up to 86 KB per block)
#endif

// One forward launch's sizes, for both of gated_dwconv.cu's conv paths (strips = ceil(H / strip_rows)).
struct GdShape {
    int N, H, W, hidden, conv, k, act, strip_rows, strips;
    // Threads of the column path: one per (image, strip, column, conv channel).
    __host__ __device__ long long conv_threads() const { return (long long)N * strips * W * conv; }
};

template <typename T> __host__ __device__ constexpr int gdr_lc() { return sizeof(T) == 4 ? 32 : GDR_LC_BF16; }
template <typename T, int C> __host__ __device__ constexpr int gdr_band() { return WARP_SIZE / gdr_lc<T>() * C; }
// One ring row in elements of T: the input row (band + k - 1 pixels), then the g row (band pixels).
template <typename T, int K, int C> __host__ __device__ constexpr int gdr_slot() {
    return (2 * gdr_band<T, C>() + K - 1) * gdr_lc<T>();
}
template <typename T, int K, int C> __host__ __device__ constexpr int gdr_smem_bytes() {
    return GDR_WARPS * GDR_STAGES * gdr_slot<T, K, C>() * (int)sizeof(T);
}
template <typename T, int C> __host__ __device__ inline long long gdr_units(const GdShape& s) {
    return (long long)s.N * s.strips * gd_ceil_div(s.W, gdr_band<T, C>()) * gd_ceil_div(s.conv, gdr_lc<T>());
}
template <typename T, int C> __host__ __device__ inline long long gdr_conv_blocks(const GdShape& s) {
    return (gdr_units<T, C>(s) + GDR_WARPS - 1) / GDR_WARPS;
}

template <typename T, int K, int C>
__device__ void gdr_conv_warp(T* __restrict__ out, const T* __restrict__ x, const float* __restrict__ weight,
                              const float* __restrict__ bias, const GdShape& s, long long unit, T* ring) {
    constexpr int P = K / 2, V = 16 / (int)sizeof(T), LC = gdr_lc<T>(), BX = gdr_band<T, C>(), PIX = BX + K - 1;
    constexpr int UPP = LC / V, IN_UNITS = PIX * UPP, G_UNITS = BX * UPP, SLOT = gdr_slot<T, K, C>();
    constexpr int IN_PER_LANE = (IN_UNITS + WARP_SIZE - 1) / WARP_SIZE, G_PER_LANE = (G_UNITS + WARP_SIZE - 1) / WARP_SIZE;
    static_assert(LC % V == 0 && WARP_SIZE % LC == 0, "a pixel's channels are whole 16-byte units");
    const int lane = threadIdx.x % WARP_SIZE, gx = lane / LC, lc = lane % LC;
    // Unit order: band fastest, so the 8 warps of a block are neighbouring bands (their halo reads meet in L1).
    const int bands = gd_ceil_div(s.W, BX), chunks = gd_ceil_div(s.conv, LC);
    const int x0 = (int)(unit % bands) * BX;
    long long rest = unit / bands;
    const int c0 = (int)(rest % chunks) * LC;
    rest /= chunks;
    const int strip = (int)(rest % s.strips);
    const long long n = rest / s.strips;
    const int y0 = strip * s.strip_rows, y1 = min(y0 + s.strip_rows, s.H);
    // Offsets inside one image fit 32 bits (H*W*2*hidden < 2^31: the Java launcher checks it for the mainline; the
    // lab's shapes are far below).
    const int pixel_stride = 2 * s.hidden, row_stride = pixel_stride * s.W;
    const int cofs = 2 * s.hidden - s.conv, gofs = s.hidden - s.conv;
    const T* img = x + n * s.H * s.W * pixel_stride;

    // This lane's 16-byte units of every row, fixed for the whole strip: offset within the row and whether the
    // column and channels exist (the row's own test is added per row).
    int in_ofs[IN_PER_LANE], g_ofs[G_PER_LANE];
    bool in_ok[IN_PER_LANE], g_ok[G_PER_LANE];
    #pragma unroll
    for (int i = 0; i < IN_PER_LANE; i++) {
        const int e = lane + i * WARP_SIZE, xx = x0 - P + e / UPP, cu = c0 + (e % UPP) * V;
        in_ok[i] = e < IN_UNITS && xx >= 0 && xx < s.W && cu < s.conv;
        in_ofs[i] = xx * pixel_stride + cofs + cu;
    }
    #pragma unroll
    for (int i = 0; i < G_PER_LANE; i++) {
        const int f = lane + i * WARP_SIZE, xx = x0 + f / UPP, cu = c0 + (f % UPP) * V;
        g_ok[i] = f < G_UNITS && xx < s.W && cu < s.conv;
        g_ofs[i] = xx * pixel_stride + gofs + cu;
    }
    // Ring row tt: input row y0 - P + tt and g row y0 - 2P + tt (the output row that closes with it).
    auto issue = [&](int tt, T* slot) {
        const int iy = y0 - P + tt, oy = iy - P;
        const bool iy_ok = iy >= 0 && iy < s.H, oy_ok = oy >= y0 && oy < y1;
        #pragma unroll
        for (int i = 0; i < IN_PER_LANE; i++) {
            const int e = lane + i * WARP_SIZE;
            if (e < IN_UNITS) {
                const bool ok = iy_ok && in_ok[i];
                cp_async16_ca(slot + e * V, ok ? img + (iy * row_stride + in_ofs[i]) : x, ok);
            }
        }
        #pragma unroll
        for (int i = 0; i < G_PER_LANE; i++) {
            const int f = lane + i * WARP_SIZE;
            if (f < G_UNITS) {
                const bool ok = oy_ok && g_ok[i];
                cp_async16(slot + (PIX * LC + f * V), ok ? img + (oy * row_stride + g_ofs[i]) : x, ok);
            }
        }
    };
    const int rows = y1 - y0 + 2 * P;
    // Ring slots by a rolling index (GDR_STAGES need not be a power of two): rd = row tt's slot, wr = row
    // tt + GDR_STAGES - 1's, which is row tt - 1's (read by every lane before this row's __syncwarp).
    #pragma unroll 1
    for (int tt = 0; tt < GDR_STAGES - 1; tt++) {
        if (tt < rows) issue(tt, ring + tt * SLOT);
        cp_async_commit();   // empty groups keep the count uniform
    }
    const int c = c0 + lc, x_first = x0 + gx * C;
    const bool channel = c < s.conv;
    bool computes[C];
    #pragma unroll
    for (int j = 0; j < C; j++) computes[j] = channel && x_first + j < s.W;
    float w[K * K];
    #pragma unroll
    for (int tap = 0; tap < K * K; tap++) w[tap] = channel ? __ldg(weight + tap * s.conv + c) : 0.0f;
    const float b = channel ? __ldg(bias + c) : 0.0f;
    float acc[C][K];
    #pragma unroll
    for (int j = 0; j < C; j++) {
        #pragma unroll
        for (int i = 0; i < K; i++) acc[j][i] = b;
    }
    T* dst = out + (n * s.H * s.W + x_first) * s.hidden + gofs + c;
    int rd = 0, wr = GDR_STAGES - 1;
    // Unrolled by k as in the mainline: output row y0 + r collects in acc[.][r mod k], input row tt (= u mod k) adds
    // tap row ky to acc[.][(u - ky) mod k] and closes acc[.][(u + 1) mod k] (row y0 + tt - 2P).
    for (int step = 0; step < rows; step += K) {
        #pragma unroll
        for (int u = 0; u < K; u++) {
            const int tt = step + u;
            if (tt >= rows) break;
            cp_async_wait<GDR_STAGES - 2>();   // row tt has landed (this lane's part)
            __syncwarp();                        // ... every lane's; and every lane has read row tt - 1's slot
            if (tt + GDR_STAGES - 1 < rows) issue(tt + GDR_STAGES - 1, ring + wr * SLOT);
            cp_async_commit();
            const T* slot = ring + rd * SLOT;
            rd = rd == GDR_STAGES - 1 ? 0 : rd + 1;
            wr = wr == GDR_STAGES - 1 ? 0 : wr + 1;
            const int iy = y0 - P + tt, oy = iy - P;
            if (iy >= 0 && iy < s.H) {
                float v[C + K - 1];
                #pragma unroll
                for (int px = 0; px < C + K - 1; px++) v[px] = gd_to_float(slot[(gx * C + px) * LC + lc]);
                #pragma unroll
                for (int ky = 0; ky < K; ky++) {
                    #pragma unroll
                    for (int kx = 0; kx < K; kx++) {
                        #pragma unroll
                        for (int j = 0; j < C; j++) {
                            acc[j][(u - ky + K) % K] = fmaf(w[ky * K + kx], v[j + kx], acc[j][(u - ky + K) % K]);
                        }
                    }
                }
            }
            if (oy >= y0) {
                #pragma unroll
                for (int j = 0; j < C; j++) {
                    if (computes[j]) {
                        const float g = gd_to_float(slot[PIX * LC + (gx * C + j) * LC + lc]);
                        dst[oy * s.W * s.hidden + j * s.hidden] = gd_from_float<T>(gd_act(g, s.act) * acc[j][(u + 1) % K]);
                    }
                }
            }
            #pragma unroll
            for (int j = 0; j < C; j++) acc[j][(u + 1) % K] = b;
        }
    }
    cp_async_wait<0>();
}

// The conv blocks: warp w of block b runs unit 8 b + w on its own GDR_STAGES rows of the block's ring; warps past
// the last unit return (no block barrier to keep them for).
template <typename T, int K, int C>
__device__ __forceinline__ void gdr_conv(T* __restrict__ out, const T* __restrict__ x, const float* __restrict__ weight,
                                         const float* __restrict__ bias, const GdShape& s, T* ring) {
    const int warp = threadIdx.x / WARP_SIZE;
    const long long unit = (long long)blockIdx.x * GDR_WARPS + warp;
    if (unit >= gdr_units<T, C>(s)) return;
    gdr_conv_warp<T, K, C>(out, x, weight, bias, s, unit, ring + warp * GDR_STAGES * gdr_slot<T, K, C>());
}
