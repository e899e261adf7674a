// Lab variant 3: the mainline of rounds 1-2 (2026-12-02), kept for comparison when the mainline moved to the
// rolling-column kernel (v4). Conv items are an output tile of <= 8 x 8 pixels x 32 channels with the halo in
// shared memory as f32; see NOTES.md ("gated_dwconv", rounds 1-3) for its measurements. In namespace gd3 so that its
// tile code does not collide with the mainline's; the element helpers (gd_act, gd_load, GdRaw, ...) and the
// pointwise items are the mainline's, so include gated_dwconv.cu first.
#pragma once

namespace gd3 {

constexpr int GD_BLOCK = 256;
constexpr int GD_WARPS = GD_BLOCK / WARP_SIZE;
constexpr int GD_CHUNK = WARP_SIZE;       // conv channels per conv item: one per lane
constexpr int GD_TILE_MAX = GD_WARPS;     // tile edge: one warp per tile column, one register per tile row
constexpr int GD_SMEM_K = 7;              // the largest k with a shared-memory tile
constexpr int GD_HALO_MAX = GD_TILE_MAX + GD_SMEM_K - 1;
// Halo units a thread loads per batch before the first use (the lab overrides it with -D to compare).
#ifndef GD3_HALO_BATCH_N
#define GD3_HALO_BATCH_N 4
#endif
// Resident blocks per SM the registers are capped for (2: 128 registers).
#ifndef GD3_MIN_BLOCKS
#define GD3_MIN_BLOCKS 2
#endif
constexpr int GD_HALO_BATCH = GD3_HALO_BATCH_N;
constexpr int GD_PW_UNITS = ::GD_PW_UNITS;   // its pointwise items are the mainline's

// Tile edge for an image extent: as few tiles of <= 8 as possible, equally long (56 -> 8, 28 -> 7, 14 -> 7, 7 -> 7).
__host__ __device__ constexpr int gd_tile(int extent) { return gd_ceil_div(extent, gd_ceil_div(extent, GD_TILE_MAX)); }

struct GdShape {
    int N, H, W, hidden, conv, k, act;
    int th, tw, tiles_y, tiles_x, chunks;

    __device__ GdShape(int N_, int H_, int W_, int hidden_, int conv_, int k_, int act_)
        : N(N_), H(H_), W(W_), hidden(hidden_), conv(conv_), k(k_), act(act_), th(gd_tile(H_)), tw(gd_tile(W_)),
          tiles_y(gd_ceil_div(H_, th)), tiles_x(gd_ceil_div(W_, tw)), chunks(gd_ceil_div(conv_, GD_CHUNK)) {}
};

// ------------------------------------------------------------------------------------------ conv items
struct GdTile {
    int n, y0, x0, c0;
};

__device__ __forceinline__ GdTile gd_conv_tile(const GdShape& s, int item) {
    GdTile t;
    int rest = item;
    t.c0 = (rest % s.chunks) * GD_CHUNK;
    rest /= s.chunks;
    t.x0 = (rest % s.tiles_x) * s.tw;
    rest /= s.tiles_x;
    t.y0 = (rest % s.tiles_y) * s.th;
    t.n = rest / s.tiles_y;
    return t;
}

// out = act(g) * (conv + bias) for output row y0 + r, column x, conv channel ch (the caller checks ch < conv).
template <typename T>
__device__ __forceinline__ void gd_conv_store(T* __restrict__ out, const T* __restrict__ x, const GdShape& s,
                                              long long pixel, int ch, float conv_value) {
    const int j = s.hidden - s.conv + ch;
    const float g = gd_to_float(x[pixel * 2 * s.hidden + j]);
    out[pixel * s.hidden + j] = gd_from_float<T>(gd_act(g, s.act) * conv_value);
}

template <typename T, int U, int K>
__device__ void gd_conv_smem(T* __restrict__ out, const T* __restrict__ x, const float* __restrict__ weight,
                             const float* __restrict__ bias, const GdShape& s, int item, float* halo) {
    constexpr int P = K / 2;
    const GdTile tile = gd_conv_tile(s, item);
    const int sh = s.th + K - 1, sw = s.tw + K - 1;
    const long long img = (long long)tile.n * s.H * s.W;
    const T* c = x + (2 * s.hidden - s.conv);
    constexpr int UNITS = GD_CHUNK / U;   // per halo pixel

    const int warp = threadIdx.x / WARP_SIZE, lane = threadIdx.x % WARP_SIZE;
    const int ch = tile.c0 + lane, xo = tile.x0 + warp;
    const bool computes = warp < s.tw && xo < s.W && ch < s.conv;

    // Halo of c for channels [c0, c0 + 32) into shared memory [sh][sw][32], zeros outside the image and past conv.
    // Each batch issues all its loads (and, in the first, this thread's g values) before the first use, so an item
    // waits for memory once (the f32 and bf16 vector halos fit one batch), not once per load.
    const int halo_units = sh * sw * UNITS;
    // This thread's g values are loaded with the first batch and parked in shared memory (gate[r][warp][lane]) until
    // the conv is done: held in registers next to the k*k weights they made the compiler spill.
    float* gate = halo + GD_HALO_MAX * GD_HALO_MAX * GD_CHUNK;
    // The chunk's weights go through shared memory too: read from global after the barrier, the compiler hoisted
    // them (read-only loads) above it, and the 49 weights then lived next to the halo batch: spills.
    float* wsm = gate + GD_TILE_MAX * GD_WARPS * GD_CHUNK;
    constexpr int W_PER_THREAD = gd_ceil_div(K * K * GD_CHUNK, GD_BLOCK);
    T g[GD_TILE_MAX];
    float wt[W_PER_THREAD];
    for (int base = 0; base < halo_units; base += GD_HALO_BATCH * GD_BLOCK) {
        GdRaw<T, U> raw[GD_HALO_BATCH];
        int dst[GD_HALO_BATCH];
        bool inside[GD_HALO_BATCH];
        #pragma unroll
        for (int j = 0; j < GD_HALO_BATCH; j++) {
            const int e = base + j * GD_BLOCK + threadIdx.x;
            const int uu = e % UNITS, pix = e / UNITS;
            const int sy = pix / sw, sx = pix - sy * sw;
            const int yy = tile.y0 - P + sy, xx = tile.x0 - P + sx, cc = tile.c0 + uu * U;
            dst[j] = e < halo_units ? pix * GD_CHUNK + uu * U : -1;
            inside[j] = e < halo_units && yy >= 0 && yy < s.H && xx >= 0 && xx < s.W && cc < s.conv;
            if (inside[j]) raw[j] = gd_load<T, U, false>(c + (img + (long long)yy * s.W + xx) * 2 * s.hidden + cc);
        }
        if (base == 0) {
            #pragma unroll
            for (int j = 0; j < W_PER_THREAD; j++) {
                const int e = j * GD_BLOCK + threadIdx.x, cc = tile.c0 + e % GD_CHUNK;
                if (e < K * K * GD_CHUNK) wt[j] = cc < s.conv ? weight[(e / GD_CHUNK) * s.conv + cc] : 0.0f;
            }
        }
        if (base == 0 && computes) {
            #pragma unroll
            for (int r = 0; r < GD_TILE_MAX; r++) {
                const int yo = tile.y0 + r;
                if (r < s.th && yo < s.H) g[r] = x[(img + (long long)yo * s.W + xo) * 2 * s.hidden + s.hidden - s.conv + ch];
            }
        }
        if (base == 0) {
            #pragma unroll
            for (int j = 0; j < W_PER_THREAD; j++) {
                const int e = j * GD_BLOCK + threadIdx.x;
                if (e < K * K * GD_CHUNK) wsm[e] = wt[j];
            }
        }
        if (base == 0 && computes) {
            #pragma unroll
            for (int r = 0; r < GD_TILE_MAX; r++) {
                if (r < s.th && tile.y0 + r < s.H) gate[(r * GD_WARPS + warp) * GD_CHUNK + lane] = gd_to_float(g[r]);
            }
        }
        #pragma unroll
        for (int j = 0; j < GD_HALO_BATCH; j++) {
            if (dst[j] < 0) continue;
            float v[U];
            #pragma unroll
            for (int i = 0; i < U; i++) v[i] = inside[j] ? raw[j].get(i) : 0.0f;
            float* d = halo + dst[j];
            if constexpr (U == 4 || U == 8) {
                #pragma unroll
                for (int i = 0; i < U; i += 4) *reinterpret_cast<float4*>(d + i) = make_float4(v[i], v[i + 1], v[i + 2], v[i + 3]);
            } else {
                d[0] = v[0];
            }
        }
    }
    __syncthreads();

    if (computes) {
        float w[K * K];
        #pragma unroll
        for (int tap = 0; tap < K * K; tap++) w[tap] = wsm[tap * GD_CHUNK + lane];
        float acc[GD_TILE_MAX];
        const float b = __ldg(bias + ch);
        #pragma unroll
        for (int r = 0; r < GD_TILE_MAX; r++) acc[r] = b;
        // Halo row ir feeds output rows r = ir - ky; rows past the tile's th are computed and dropped. (Holding one
        // tap column of k weights at a time instead of all k*k was 10-25% slower: lab round 3.)
        #pragma unroll
        for (int ir = 0; ir < GD_TILE_MAX + K - 1; ir++) {
            if (ir < sh) {
                const float* row = halo + (ir * sw + warp) * GD_CHUNK + lane;
                #pragma unroll
                for (int kx = 0; kx < K; kx++) {
                    const float v = row[kx * GD_CHUNK];
                    #pragma unroll
                    for (int r = 0; r < GD_TILE_MAX; r++) {
                        const int ky = ir - r;
                        if (ky >= 0 && ky < K) acc[r] = fmaf(w[ky * K + kx], v, acc[r]);
                    }
                }
            }
        }
        const int j = s.hidden - s.conv + ch;
        #pragma unroll
        for (int r = 0; r < GD_TILE_MAX; r++) {
            const int yo = tile.y0 + r;
            if (r < s.th && yo < s.H) {
                const float gv = gate[(r * GD_WARPS + warp) * GD_CHUNK + lane];
                out[(img + (long long)yo * s.W + xo) * s.hidden + j] = gd_from_float<T>(gd_act(gv, s.act) * acc[r]);
            }
        }
    }
    __syncthreads();   // the next item (grid-stride) overwrites the halo
}

// Any odd k: the same tile and thread roles, every tap read from global memory.
template <typename T>
__device__ void gd_conv_direct(T* __restrict__ out, const T* __restrict__ x, const float* __restrict__ weight,
                               const float* __restrict__ bias, const GdShape& s, int item) {
    const GdTile tile = gd_conv_tile(s, item);
    const int P = s.k / 2;
    const long long img = (long long)tile.n * s.H * s.W;
    const T* c = x + (2 * s.hidden - s.conv);
    const int warp = threadIdx.x / WARP_SIZE, lane = threadIdx.x % WARP_SIZE;
    const int ch = tile.c0 + lane, xo = tile.x0 + warp;
    if (warp >= s.tw || xo >= s.W || ch >= s.conv) return;
    for (int r = 0; r < s.th; r++) {
        const int yo = tile.y0 + r;
        if (yo >= s.H) break;
        float acc = __ldg(bias + ch);
        for (int ky = 0; ky < s.k; ky++) {
            const int yy = yo + ky - P;
            if (yy < 0 || yy >= s.H) continue;
            for (int kx = 0; kx < s.k; kx++) {
                const int xx = xo + kx - P;
                if (xx < 0 || xx >= s.W) continue;
                acc = fmaf(__ldg(weight + (ky * s.k + kx) * s.conv + ch),
                           gd_to_float(c[(img + (long long)yy * s.W + xx) * 2 * s.hidden + ch]), acc);
            }
        }
        gd_conv_store(out, x, s, img + (long long)yo * s.W + xo, ch, acc);
    }
}

// ------------------------------------------------------------------------------------------ entry
template <typename T, int U>
__device__ void gd_forward_units(T* __restrict__ out, const T* __restrict__ x, const float* __restrict__ weight,
                                 const float* __restrict__ bias, const GdShape& s, float* halo) {
    const long long conv_items = (long long)s.N * s.tiles_y * s.tiles_x * s.chunks;
    const long long pw_units = (long long)s.N * s.H * s.W * ((s.hidden - s.conv) / U);
    const long long items = conv_items + (pw_units + GD_PW_UNITS - 1) / GD_PW_UNITS;
    for (long long item = blockIdx.x; item < items; item += gridDim.x) {
        if (item < conv_items) {
            const int ci = (int)item;
            switch (s.k) {
                case 1: gd_conv_smem<T, U, 1>(out, x, weight, bias, s, ci, halo); break;
                case 3: gd_conv_smem<T, U, 3>(out, x, weight, bias, s, ci, halo); break;
                case 5: gd_conv_smem<T, U, 5>(out, x, weight, bias, s, ci, halo); break;
                case 7: gd_conv_smem<T, U, 7>(out, x, weight, bias, s, ci, halo); break;
                default: gd_conv_direct<T>(out, x, weight, bias, s, ci); break;
            }
        } else {
            ::gd_pointwise<T, U>(out, x, s, item - conv_items);
        }
    }
}

template <typename T>
__device__ void gd_forward(T* __restrict__ out, const T* __restrict__ x, const float* __restrict__ weight,
                           const float* __restrict__ bias, int N, int H, int W, int hidden, int conv, int k, int act) {
    __shared__ __align__(16) float halo[(GD_HALO_MAX * GD_HALO_MAX + GD_TILE_MAX * GD_WARPS + GD_SMEM_K * GD_SMEM_K) * GD_CHUNK];   // + gate, weights
    const GdShape s(N, H, W, hidden, conv, k, act);
    constexpr int V = 16 / sizeof(T);
    if (hidden % V == 0 && conv % V == 0 && aligned16(x) && aligned16(out)) {
        gd_forward_units<T, V>(out, x, weight, bias, s, halo);
    } else {
        gd_forward_units<T, 1>(out, x, weight, bias, s, halo);
    }
}

template <typename T>
__global__ void __launch_bounds__(GD_BLOCK, GD3_MIN_BLOCKS) forward(T* __restrict__ out, const T* __restrict__ x,
        const float* __restrict__ weight, const float* __restrict__ bias, int N, int H, int W, int hidden, int conv,
        int k, int act) {
    gd_forward<T>(out, x, weight, bias, N, H, W, hidden, conv, k, act);
}

}  // namespace gd3
