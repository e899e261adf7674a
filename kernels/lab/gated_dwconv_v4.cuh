// Lab variant 4 (rounds 4-6; the mainline until 2026-12-04, replaced by v7's warp-private rings): the rolling column
// fed through a block-wide ring in shared memory, one __syncthreads per input row. Moved here verbatim from
// gated_dwconv.cu (with its launch parameters chunk_warps and columns) so the lab can still time it against the
// mainline; the lab includes the mainline first (GdShape, the column path, the pointwise items, cp.async).
#pragma once

// v4's launch: the mainline's shape plus the staged layout the launcher chose.
struct Gd4Shape : GdShape {
    int chunk_warps, cols;

    __device__ Gd4Shape(int N_, int H_, int W_, int hidden_, int conv_, int k_, int act_, int strip_rows_,
                        int chunk_warps_, int cols_)
        : GdShape{N_, H_, W_, hidden_, conv_, k_, act_, strip_rows_, gd_ceil_div(H_, strip_rows_)},
          chunk_warps(chunk_warps_), cols(cols_) {}

    // Bands x channel chunks per (image, strip), for the staged layout (chunk_warps, cols).
    __device__ long long staged_blocks() const;
};

// The rolling column fed through shared memory. A block owns (image, strip, band of output columns, chunk of conv
// channels); its 8 warps are laid out WX = 8 / CW along the band and CW along the channels (CW = chunk_warps, chosen
// by the launcher per shape so that fewer lanes idle on narrow images or odd channel counts: 1 or 2; 4 would win
// only below 5 columns, not worth its code in every fatbin). Lane l of
// warp (wx, wc) is channel c0 + 32 wc + l and owns C adjacent output columns x0 + wx C + j, with its channel's k*k
// weights and C x k accumulators in registers. Each input row then costs C + k - 1 shared loads for C x k*k FMAs, and
// one weight set serves C columns: fewer instructions per output (lab round 6: 1.15-1.27x at batch 256 in bf16 for
// C = GD_COLS = 2). Small batches take C = 1 (the launcher's choice, `cols`): twice the blocks, each half as long,
// where the wide layout would leave SMs idle (round 6: batch 1 was 1.3-1.8x slower at C = 2).
// The band's input rows (band + k - 1 pixels x chunk channels) and g rows stream through a ring of GD_STAGES rows
// in shared memory, filled by 16-byte cp.async with zero fill for the padding, up to GD_STAGES - 1 rows ahead of the
// arithmetic.
// Needs 16-byte units: hidden and conv multiples of 16 / sizeof(T), x 16-byte aligned; k = GD_SMEM_K (7).
constexpr int GD_WARPS = GD_BLOCK / WARP_SIZE;
#ifndef GD_COLS
#define GD_COLS 2
#endif
constexpr int GD_SMEM_K = 7;
#ifndef GD_STAGED
#define GD_STAGED 1   // 0: the register-only rolling column everywhere (lab variant v4)
#endif
#ifndef GD_STAGES_N
#define GD_STAGES_N 6
#endif

__host__ __device__ constexpr int gd_band_cols(int cw, int cols) { return GD_WARPS / cw * cols; }
__host__ __device__ constexpr int gd_chunk(int cw) { return WARP_SIZE * cw; }
// One ring slot, in elements of T: the input row then the g row, for the widest layout.
__host__ __device__ constexpr int gd_slot_elems(int cw) {
    return (gd_band_cols(cw, GD_COLS) + GD_SMEM_K - 1) * gd_chunk(cw) + gd_band_cols(cw, GD_COLS) * gd_chunk(cw);
}
__host__ __device__ constexpr int gd_max(int a, int b) { return a > b ? a : b; }
constexpr int GD_SLOT = gd_max(gd_slot_elems(1), gd_slot_elems(2));
// Ring rows: GD_STAGES_N, fewer where the ring would pass the 48 KB of static shared memory (f32 at 4 columns).
// The depth hardly matters (round 5: 6, 12 and 16 stages within 2%).
template <typename T>
__host__ __device__ constexpr int gd_stages() {
    return GD_STAGES_N * GD_SLOT * (int)sizeof(T) <= 48 * 1024 ? GD_STAGES_N : 48 * 1024 / (GD_SLOT * (int)sizeof(T));
}

__device__ long long Gd4Shape::staged_blocks() const {
    return (long long)N * strips * gd_ceil_div(W, gd_band_cols(chunk_warps, cols)) * gd_ceil_div(conv, gd_chunk(chunk_warps));
}

struct GdBand {
    long long n;
    int y0, y1, x0, c0;

    __device__ GdBand(const Gd4Shape& s, long long item) {
        const int chunks = gd_ceil_div(s.conv, gd_chunk(s.chunk_warps));
        const int bands = gd_ceil_div(s.W, gd_band_cols(s.chunk_warps, s.cols));
        c0 = (int)(item % chunks) * gd_chunk(s.chunk_warps);
        long long rest = item / chunks;
        x0 = (int)(rest % bands) * gd_band_cols(s.chunk_warps, s.cols);
        rest /= bands;
        const int strip = (int)(rest % s.strips);
        n = rest / s.strips;
        y0 = strip * s.strip_rows;
        y1 = min(y0 + s.strip_rows, s.H);
    }
};

template <typename T, int K, int CW, int C>
__device__ void gd_conv_staged(T* __restrict__ out, const T* __restrict__ x, const float* __restrict__ weight,
                               const float* __restrict__ bias, const Gd4Shape& s, long long item, T* ring) {
    constexpr int P = K / 2, V = 16 / sizeof(T), WX = GD_WARPS / CW;
    constexpr int BX = gd_band_cols(CW, C), CH = gd_chunk(CW), PIX = BX + K - 1;
    constexpr int GD_STAGES = gd_stages<T>();
    constexpr int UNITS_PER_PIXEL = CH / V, IN_UNITS = PIX * UNITS_PER_PIXEL, G_UNITS = BX * UNITS_PER_PIXEL;
    const GdBand band(s, item);
    const int warp = threadIdx.x / WARP_SIZE, lane = threadIdx.x % WARP_SIZE;
    const int wx = warp % WX, lc = (warp / WX) * WARP_SIZE + lane;   // first band column / channel in the chunk
    const int x_first = band.x0 + wx * C, c = band.c0 + lc;
    const int pixel_stride = 2 * s.hidden, row_stride = pixel_stride * s.W;
    const T* img = x + band.n * s.H * s.W * pixel_stride;
    const int cofs = 2 * s.hidden - s.conv, gofs = s.hidden - s.conv;

    // The loads of one ring row: input row iy (band columns x0 - P .. x0 + BX + P - 1) and g row oy.
    auto issue = [&](int tt) {
        T* slot = ring + (tt % GD_STAGES) * GD_SLOT;
        const int iy = band.y0 - P + tt, oy = iy - P;
        for (int e = threadIdx.x; e < IN_UNITS + G_UNITS; e += GD_BLOCK) {
            if (e < IN_UNITS) {
                const int px = e / UNITS_PER_PIXEL, cu = (e % UNITS_PER_PIXEL) * V;
                const int xx = band.x0 - P + px;
                const bool ok = iy >= 0 && iy < s.H && xx >= 0 && xx < s.W && band.c0 + cu < s.conv;
                const T* src = ok ? img + iy * row_stride + xx * pixel_stride + cofs + band.c0 + cu : x;
                cp_async16(slot + px * CH + cu, src, ok);
            } else {
                const int f = e - IN_UNITS, px = f / UNITS_PER_PIXEL, cu = (f % UNITS_PER_PIXEL) * V;
                const int xx = band.x0 + px;
                const bool ok = oy >= band.y0 && oy < band.y1 && xx < s.W && band.c0 + cu < s.conv;
                const T* src = ok ? img + oy * row_stride + xx * pixel_stride + gofs + band.c0 + cu : x;
                cp_async16(slot + PIX * CH + px * CH + cu, src, ok);
            }
        }
    };
    const int rows = band.y1 - band.y0 + 2 * P;
    #pragma unroll 1
    for (int tt = 0; tt < GD_STAGES - 1; tt++) {
        if (tt < rows) issue(tt);
        cp_async_commit();   // empty groups keep the count uniform
    }
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
    T* dst = out + (band.n * s.H * s.W + x_first) * s.hidden + gofs + c;
    // Unrolled by k so that the window moves by renaming, not by k moves per row: output row y0 + r collects in
    // acc[.][r mod k]; input row tt (= u mod k) adds tap row ky to acc[.][(u - ky) mod k] and closes
    // acc[.][(u + 1) % k] (row y0 + tt - 2P), which then reopens for the row k below. (Unrolled, the register-only
    // column wanted 204 registers for its hoisted global loads; here the barrier keeps each row's shared loads in
    // place.)
    for (int step = 0; step < rows; step += K) {
        #pragma unroll
        for (int u = 0; u < K; u++) {
            const int tt = step + u;
            if (tt >= rows) break;
            cp_async_wait<GD_STAGES - 2>();   // row tt has landed (this thread's part)
            __syncthreads();                     // ... everyone's; and row tt - 1's slot is free to refill
            if (tt + GD_STAGES - 1 < rows) issue(tt + GD_STAGES - 1);
            cp_async_commit();
            const T* slot = ring + (tt % GD_STAGES) * GD_SLOT;
            const int iy = band.y0 - P + tt, oy = iy - P;
            if (iy >= 0 && iy < s.H) {
                float v[C + K - 1];
                #pragma unroll
                for (int px = 0; px < C + K - 1; px++) v[px] = gd_to_float(slot[(wx * C + px) * CH + lc]);
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
            if (oy >= band.y0) {
                #pragma unroll
                for (int j = 0; j < C; j++) {
                    if (computes[j]) {
                        const float g = gd_to_float(slot[PIX * CH + (wx * C + j) * CH + lc]);
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

template <typename T, int K>
__device__ __forceinline__ void gd_conv_staged_cw(T* __restrict__ out, const T* __restrict__ x,
                                                  const float* __restrict__ weight, const float* __restrict__ bias,
                                                  const Gd4Shape& s, long long item, T* ring) {
    if (s.cols == 1) {
        if (s.chunk_warps == 1) gd_conv_staged<T, K, 1, 1>(out, x, weight, bias, s, item, ring);
        else gd_conv_staged<T, K, 2, 1>(out, x, weight, bias, s, item, ring);
    } else {
        if (s.chunk_warps == 1) gd_conv_staged<T, K, 1, GD_COLS>(out, x, weight, bias, s, item, ring);
        else gd_conv_staged<T, K, 2, GD_COLS>(out, x, weight, bias, s, item, ring);
    }
}

template <typename T, int U>
__device__ void gd_forward_units_v4(T* __restrict__ out, const T* __restrict__ x, const float* __restrict__ weight,
                                 const float* __restrict__ bias, const Gd4Shape& s, T* ring) {
    // Staged for k = 7 only (MambaOut's size): each staged k costs 8 kernel bodies per dtype in the fatbin; other k
    // take the register-only rolling column, correct and about 1.5-2x slower.
    const bool staged = GD_STAGED && U > 1 && s.k == GD_SMEM_K;
    if (!staged) {   // every other shape took the column path, which the mainline still has
        gd_forward_units<T, U>(out, x, weight, bias, s);
        return;
    }
    const long long conv_blocks = s.staged_blocks(), item = blockIdx.x;
    if (item < conv_blocks) {
        gd_conv_staged_cw<T, GD_SMEM_K>(out, x, weight, bias, s, item, ring);
        return;
    }
    // Pointwise blocks walk their items grid-stride: the grid also covers the column path a misaligned x or out
    // would take, so there are spare blocks.
    const long long pw_units = (long long)s.N * s.H * s.W * ((s.hidden - s.conv) / U);
    const long long pw_items = (pw_units + GD_PW_UNITS - 1) / GD_PW_UNITS;
    for (long long pi = item - conv_blocks; pi < pw_items; pi += gridDim.x - conv_blocks) gd_pointwise<T, U>(out, x, s, pi);
}

template <typename T>
__device__ void gd_forward_v4(T* __restrict__ out, const T* __restrict__ x, const float* __restrict__ weight,
                           const float* __restrict__ bias, int N, int H, int W, int hidden, int conv, int k, int act,
                           int strip_rows, int chunk_warps, int cols) {
    __shared__ __align__(16) T ring[gd_stages<T>() * GD_SLOT];
    const Gd4Shape s(N, H, W, hidden, conv, k, act, strip_rows, chunk_warps, cols);
    constexpr int V = 16 / sizeof(T);
    if (hidden % V == 0 && conv % V == 0 && aligned16(x) && aligned16(out)) {
        gd_forward_units_v4<T, V>(out, x, weight, bias, s, ring);
    } else {
        gd_forward_units_v4<T, 1>(out, x, weight, bias, s, ring);
    }
}

template <typename T>
__global__ void __launch_bounds__(GD_BLOCK, GD_MIN_BLOCKS) gd_v4(T* __restrict__ out, const T* __restrict__ x,
        const float* __restrict__ weight, const float* __restrict__ bias, int N, int H, int W, int hidden, int conv,
        int k, int act, int strip_rows, int chunk_warps, int columns) {
    gd_forward_v4<T>(out, x, weight, bias, N, H, W, hidden, conv, k, act, strip_rows, chunk_warps, columns);
}
