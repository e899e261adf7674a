// MambaOut's gated depthwise convolution, forward, in one pass over NHWC activations:
//   x [N*H*W, 2*hidden] = (g | i | c), g = cols [0, hidden), i = [hidden, 2*hidden - conv), c = the last conv cols;
//   out[t, j] = act(g[t, j]) * (j < hidden - conv ? i[t, j] : dwconv_kxk(c)[t, j - (hidden - conv)] + bias),
// zero padding k/2, stride 1, weight packed tap-major [k*k, conv] f32 (the Java side repacks PyTorch's [C,1,k,k]).
// The conv result never goes to memory. f32 and bf16 storage; all math in f32.
//
// One launch does two kinds of work (kernels/lab/NOTES.md, "gated_dwconv", has the measurements and the variants
// these beat): conv blocks, then pointwise blocks (the i columns, act(g) * i, 1024 16-byte units per block, all
// loads issued before the first use). Two kernels share that split:
//   - gated_dwconv_forward_rings_<type>_c<C> (lab v7, gated_dwconv_rings.cuh): k = 7 with 16-byte units (hidden and
//     conv multiples of 16 / sizeof(T), x and out 16-byte aligned): every warp streams its own band of C-column
//     lanes through a warp-private ring in dynamic shared memory, no block barrier. C = 4 at large batches, 1 where
//     the 4-column blocks would not fill a wave (GatedDwConvKernels.ringColumns).
//   - gated_dwconv_forward_<type> (every other shape): the same rolling column with its loads straight from global
//     memory, a thread per (image, strip, column, channel), compiled for k = 1, 3, 5, 7 with k known; any other odd
//     k takes a direct path (each output's k*k taps read from global memory).
// In both, a thread holds its channel's k*k weights and k accumulators per column in registers and walks down its
// columns: each input row feeds the k output rows still open; the row that closes is gated and stored, and its
// accumulator reopens for the row k below. Blocks are numbered conv first, then pointwise: the grid must cover every
// conv block (the Java geometry, GatedDwConvKernels, computes it and chooses strip_rows; extra blocks return). Not
// grid-stride there: the loop's live values pushed the k = 7 path, which needs its 49 weights in registers, into
// spills at the 128-register cap.
// Vector units for the pointwise part (16 bytes: 4 f32 or 8 bf16 channels) when hidden and conv are multiples of the
// unit and x, out are 16-byte aligned; one channel per unit otherwise.
// Where it stands (H200, lab round 7, at the batch-256 shapes): the rings kernel at 52-70% of copy bandwidth in f32
// and 29-45% in bf16, issue-bound: see NOTES.md for what is left (the halo loads) and what would lift it. GELU's erf
// is erf_fast (half of erff's instructions: 8-10% at those shapes, lab round 7).
#include "common.cuh"
#include "cp_async.cuh"
#include "erf_fast.cuh"
#include <cuda_bf16.h>
#include <cstdint>

constexpr int GD_BLOCK = 256;
// Pointwise units a thread loads before the first use (the lab overrides it with -D to compare;
// GatedDwConvKernels.POINTWISE_UNITS mirrors it).
#ifndef GD_PW_UNROLL_N
#define GD_PW_UNROLL_N 4
#endif
// Resident blocks per SM the registers are capped for (2: 128 registers, what the k*k weights in registers need).
#ifndef GD_MIN_BLOCKS
#define GD_MIN_BLOCKS 2
#endif
// 1: the next input row is loaded before this row's FMAs (more registers, the memory wait hidden within a thread);
// 0: loaded at the top of its own row (other warps hide the wait).
#ifndef GD_PREFETCH
#define GD_PREFETCH 0
#endif
constexpr int GD_PW_UNROLL = GD_PW_UNROLL_N;
constexpr int GD_PW_UNITS = GD_BLOCK * GD_PW_UNROLL;

__host__ __device__ constexpr int gd_ceil_div(int a, int b) { return (a + b - 1) / b; }

__device__ __forceinline__ float gd_act(float v, int act) {
    return act == 0 ? 0.5f * v * (1.0f + erf_fast(v * 0.70710678f)) : v / (1.0f + expf(-v));
}

__device__ __forceinline__ float gd_to_float(float v) { return v; }
__device__ __forceinline__ float gd_to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> __device__ __forceinline__ T gd_from_float(float v);
template <> __device__ __forceinline__ float gd_from_float<float>(float v) { return v; }
template <> __device__ __forceinline__ __nv_bfloat16 gd_from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// U consecutive channels as raw storage (what a load returns: one register per 4 bytes), converted at use. U = 1:
// a plain load; otherwise one 16-byte load. g and i are read exactly once, so they are loaded evict-first
// (ld.global.cs) to leave L2 to the c values that the neighbouring columns read again.
template <typename T, int U>
struct GdRaw {
    static constexpr int WORDS = U == 1 ? 1 : 4;
    uint32_t w[WORDS];
    __device__ __forceinline__ float get(int i) const {
        if constexpr (U == 1) return gd_to_float(*reinterpret_cast<const T*>(&w[0]));
        else return gd_to_float(reinterpret_cast<const T*>(w)[i]);
    }
};

template <typename T, int U, bool STREAM>
__device__ __forceinline__ GdRaw<T, U> gd_load(const T* p) {
    GdRaw<T, U> r;
    if constexpr (U == 1) {
        *reinterpret_cast<T*>(&r.w[0]) = *p;
    } else {
        static_assert(U * sizeof(T) == 16, "a vector unit is 16 bytes");
        const uint4 v = STREAM ? __ldcs(reinterpret_cast<const uint4*>(p)) : __ldg(reinterpret_cast<const uint4*>(p));
        r.w[0] = v.x; r.w[1] = v.y; r.w[2] = v.z; r.w[3] = v.w;
    }
    return r;
}

template <typename T, int U>
__device__ __forceinline__ void gd_store(T* p, const float (&v)[U]) {
    if constexpr (U == 1) {
        *p = gd_from_float<T>(v[0]);
    } else {
        uint4 r;
        T* e = reinterpret_cast<T*>(&r);
        #pragma unroll
        for (int i = 0; i < U; i++) e[i] = gd_from_float<T>(v[i]);
        *reinterpret_cast<uint4*>(p) = r;
    }
}

#include "gated_dwconv_rings.cuh"

// ------------------------------------------------------------------------------------------ pointwise items
// Shape: any type with N, H, W, hidden, conv, act (the lab's v3 passes its own).
template <typename T, int U, typename Shape>
__device__ void gd_pointwise(T* __restrict__ out, const T* __restrict__ x, const Shape& s, long long item) {
    const int per_token = (s.hidden - s.conv) / U;
    const long long total = (long long)s.N * s.H * s.W * per_token;
    // One division per thread: later units step by GD_BLOCK, i.e. by (q tokens, r units) with a carry.
    long long e = item * GD_PW_UNITS + threadIdx.x;
    long long t = e / per_token;
    int u = (int)(e - t * per_token);
    const int q = GD_BLOCK / per_token, r = GD_BLOCK % per_token;
    GdRaw<T, U> g[GD_PW_UNROLL], v[GD_PW_UNROLL];
    long long tok[GD_PW_UNROLL];
    int unit[GD_PW_UNROLL];
    #pragma unroll
    for (int j = 0; j < GD_PW_UNROLL; j++) {
        tok[j] = t;
        unit[j] = u;
        if (e + j * GD_BLOCK < total) {
            const T* row = x + t * 2 * s.hidden + u * U;
            g[j] = gd_load<T, U, true>(row);
            v[j] = gd_load<T, U, true>(row + s.hidden);
        }
        t += q;
        u += r;
        if (u >= per_token) { u -= per_token; t++; }
    }
    #pragma unroll
    for (int j = 0; j < GD_PW_UNROLL; j++) {
        if (e + j * GD_BLOCK < total) {
            float o[U];
            #pragma unroll
            for (int i = 0; i < U; i++) o[i] = gd_act(g[j].get(i), s.act) * v[j].get(i);
            gd_store<T, U>(out + tok[j] * s.hidden + unit[j] * U, o);
        }
    }
}

// ------------------------------------------------------------------------------------------ conv blocks
// Where conv thread t works: image n, output rows [y0, y1), column xo, conv channel c.
struct GdColumn {
    long long n;
    int y0, y1, xo, c;

    __device__ GdColumn(const GdShape& s, long long t) {
        c = (int)(t % s.conv);
        long long rest = t / s.conv;
        xo = (int)(rest % s.W);
        rest /= s.W;
        const int strip = (int)(rest % s.strips);
        n = rest / s.strips;
        y0 = strip * s.strip_rows;
        y1 = min(y0 + s.strip_rows, s.H);
    }
};

template <typename T, int K>
__device__ __forceinline__ void gd_conv_column(T* __restrict__ out, const T* __restrict__ x,
                                               const float* __restrict__ weight, const float* __restrict__ bias,
                                               const GdShape& s, long long t) {
    constexpr int P = K / 2;
    const GdColumn col(s, t);
    // Offsets inside one image fit 32 bits (the launcher checks H*W*2*hidden < 2^31): one 64-bit base per tensor
    // and 32-bit offsets keep the address registers few next to the k*k weights.
    const int pixel_stride = 2 * s.hidden, row_stride = pixel_stride * s.W;
    const long long img = col.n * s.H * s.W;
    const int j = s.hidden - s.conv + col.c;             // output column (and g column) of this channel
    const T* src = x + img * pixel_stride + (2 * s.hidden - s.conv) + col.c;   // c, pixel (0, 0)
    const T* gsrc = x + img * pixel_stride + j;
    T* dst = out + img * s.hidden + j;
    float w[K * K];
    #pragma unroll
    for (int tap = 0; tap < K * K; tap++) w[tap] = __ldg(weight + tap * s.conv + col.c);
    const float b = __ldg(bias + col.c);
    bool in_x[K];
    #pragma unroll
    for (int kx = 0; kx < K; kx++) in_x[kx] = col.xo - P + kx >= 0 && col.xo - P + kx < s.W;
    // While input row iy is added, acc[i] holds output row iy - P + i (its tap row is k-1-i); afterwards acc[0] is
    // complete and the window moves down one row. The loop is not unrolled, so at most one row of loads is in
    // flight per thread (unrolled, ptxas wanted 204 registers). GD_PREFETCH picks whether the next
    // row's loads are issued before this row's FMAs.
    float acc[K];
    #pragma unroll
    for (int i = 0; i < K; i++) acc[i] = b;
    const int rows = col.y1 - col.y0 + 2 * P;             // input rows y0 - P .. y1 + P - 1
    auto load_row = [&](float (&v)[K], int iy) {
        const bool in_y = iy >= 0 && iy < s.H;
        const int r = iy * row_stride + (col.xo - P) * pixel_stride;
        #pragma unroll
        for (int kx = 0; kx < K; kx++) v[kx] = in_y && in_x[kx] ? gd_to_float(__ldg(src + (r + kx * pixel_stride))) : 0.0f;
    };
    auto load_g = [&](int oy) {
        return oy >= col.y0 && oy < col.y1 ? gd_to_float(__ldg(gsrc + (oy * row_stride + col.xo * pixel_stride))) : 0.0f;
    };
    float v[K];
    load_row(v, col.y0 - P);
    float g = load_g(col.y0 - 2 * P);
    #pragma unroll 1
    for (int tt = 0; tt < rows; tt++) {
        const int iy = col.y0 - P + tt;
#if GD_PREFETCH
        float vn[K];
        load_row(vn, iy + 1);
        const float gn = load_g(iy + 1 - P);
#else
        if (tt > 0) {
            load_row(v, iy);
            g = load_g(iy - P);
        }
#endif
        if (iy >= 0 && iy < s.H) {
            #pragma unroll
            for (int i = 0; i < K; i++) {
                #pragma unroll
                for (int kx = 0; kx < K; kx++) acc[i] = fmaf(w[(K - 1 - i) * K + kx], v[kx], acc[i]);
            }
        }
        const int oy = iy - P;
        if (oy >= col.y0) dst[(oy * s.W + col.xo) * s.hidden] = gd_from_float<T>(gd_act(g, s.act) * acc[0]);
        #pragma unroll
        for (int i = 0; i < K - 1; i++) acc[i] = acc[i + 1];
        acc[K - 1] = b;
#if GD_PREFETCH
        #pragma unroll
        for (int kx = 0; kx < K; kx++) v[kx] = vn[kx];
        g = gn;
#endif
    }
}


// Any odd k: the same thread roles, every tap read from global memory.
template <typename T>
__device__ void gd_conv_direct(T* __restrict__ out, const T* __restrict__ x, const float* __restrict__ weight,
                               const float* __restrict__ bias, const GdShape& s, long long t) {
    const GdColumn col(s, t);
    const int P = s.k / 2;
    const long long pixel_stride = 2LL * s.hidden, img = col.n * s.H * s.W;
    const int j = s.hidden - s.conv + col.c;
    const T* cx = x + img * pixel_stride + (2 * s.hidden - s.conv) + col.c;
    for (int yo = col.y0; yo < col.y1; yo++) {
        float acc = __ldg(bias + col.c);
        for (int ky = 0; ky < s.k; ky++) {
            const int yy = yo + ky - P;
            if (yy < 0 || yy >= s.H) continue;
            for (int kx = 0; kx < s.k; kx++) {
                const int xx = col.xo + kx - P;
                if (xx < 0 || xx >= s.W) continue;
                acc = fmaf(__ldg(weight + (ky * s.k + kx) * s.conv + col.c),
                           gd_to_float(cx[((long long)yy * s.W + xx) * pixel_stride]), acc);
            }
        }
        const long long pixel = img + (long long)yo * s.W + col.xo;
        const float g = gd_to_float(x[pixel * pixel_stride + j]);
        out[pixel * s.hidden + j] = gd_from_float<T>(gd_act(g, s.act) * acc);
    }
}

// ------------------------------------------------------------------------------------------ entry
template <typename T, int U>
__device__ void gd_forward_units(T* __restrict__ out, const T* __restrict__ x, const float* __restrict__ weight,
                                 const float* __restrict__ bias, const GdShape& s) {
    const long long conv_blocks = (s.conv_threads() + GD_BLOCK - 1) / GD_BLOCK;
    const long long item = blockIdx.x;
    if (item < conv_blocks) {
        const long long t = item * GD_BLOCK + threadIdx.x;
        if (t >= s.conv_threads()) return;
        switch (s.k) {
            case 1: gd_conv_column<T, 1>(out, x, weight, bias, s, t); break;
            case 3: gd_conv_column<T, 3>(out, x, weight, bias, s, t); break;
            case 5: gd_conv_column<T, 5>(out, x, weight, bias, s, t); break;
            case 7: gd_conv_column<T, 7>(out, x, weight, bias, s, t); break;
            default: gd_conv_direct<T>(out, x, weight, bias, s, t); break;
        }
        return;
    }
    // Pointwise blocks walk their items grid-stride: the geometry counts them for 16-byte units, and a misaligned
    // x or out (one channel per unit) needs more of them.
    const long long pw_units = (long long)s.N * s.H * s.W * ((s.hidden - s.conv) / U);
    const long long pw_items = (pw_units + GD_PW_UNITS - 1) / GD_PW_UNITS;
    for (long long pi = item - conv_blocks; pi < pw_items; pi += gridDim.x - conv_blocks) gd_pointwise<T, U>(out, x, s, pi);
}

template <typename T>
__device__ void gd_forward(T* __restrict__ out, const T* __restrict__ x, const float* __restrict__ weight,
                           const float* __restrict__ bias, int N, int H, int W, int hidden, int conv, int k, int act,
                           int strip_rows) {
    const GdShape s{N, H, W, hidden, conv, k, act, strip_rows, gd_ceil_div(H, strip_rows)};
    constexpr int V = 16 / sizeof(T);
    if (hidden % V == 0 && conv % V == 0 && aligned16(x) && aligned16(out)) {
        gd_forward_units<T, V>(out, x, weight, bias, s);
    } else {
        gd_forward_units<T, 1>(out, x, weight, bias, s);
    }
}

extern "C" __global__ void __launch_bounds__(GD_BLOCK, GD_MIN_BLOCKS) gated_dwconv_forward_f32(float* __restrict__ out,
        const float* __restrict__ x, const float* __restrict__ weight, const float* __restrict__ bias, int N, int H,
        int W, int hidden, int conv_channels, int kernel_size, int act, int strip_rows) {
    gd_forward<float>(out, x, weight, bias, N, H, W, hidden, conv_channels, kernel_size, act, strip_rows);
}

extern "C" __global__ void __launch_bounds__(GD_BLOCK, GD_MIN_BLOCKS) gated_dwconv_forward_bf16(__nv_bfloat16* __restrict__ out,
        const __nv_bfloat16* __restrict__ x, const float* __restrict__ weight, const float* __restrict__ bias, int N,
        int H, int W, int hidden, int conv_channels, int kernel_size, int act, int strip_rows) {
    gd_forward<__nv_bfloat16>(out, x, weight, bias, N, H, W, hidden, conv_channels, kernel_size, act, strip_rows);
}

// The rings kernels (k = GD_RING_K): conv blocks of 8 warp units (gated_dwconv_rings.cuh), then exactly one block per
// pointwise item (the launcher guarantees the 16-byte units). One kernel per (type, C): the k = 7 body at C = 4 gets
// its 124-126 registers without the other paths' (ptxas, lab round 7). Dynamic shared memory gdr_smem_bytes<T, 7, C>
// (up to 86 KB: the launcher opts in above 48 KB).
constexpr int GD_RING_K = 7;
template <typename T, int C>
__device__ __forceinline__ void gd_forward_rings(T* __restrict__ out, const T* __restrict__ x,
                                                 const float* __restrict__ weight, const float* __restrict__ bias,
                                                 int N, int H, int W, int hidden, int conv, int act, int strip_rows) {
    extern __shared__ __align__(16) unsigned char gd_ring[];
    const GdShape s{N, H, W, hidden, conv, GD_RING_K, act, strip_rows, gd_ceil_div(H, strip_rows)};
    const long long conv_blocks = gdr_conv_blocks<T, C>(s);
    if (blockIdx.x < conv_blocks) gdr_conv<T, GD_RING_K, C>(out, x, weight, bias, s, reinterpret_cast<T*>(gd_ring));
    else gd_pointwise<T, 16 / sizeof(T)>(out, x, s, blockIdx.x - conv_blocks);
}

extern "C" __global__ void __launch_bounds__(GDR_BLOCK, 2) gated_dwconv_forward_rings_f32_c1(float* __restrict__ out,
        const float* __restrict__ x, const float* __restrict__ weight, const float* __restrict__ bias, int N, int H,
        int W, int hidden, int conv_channels, int act, int strip_rows) {
    gd_forward_rings<float, 1>(out, x, weight, bias, N, H, W, hidden, conv_channels, act, strip_rows);
}

extern "C" __global__ void __launch_bounds__(GDR_BLOCK, 2) gated_dwconv_forward_rings_f32_c4(float* __restrict__ out,
        const float* __restrict__ x, const float* __restrict__ weight, const float* __restrict__ bias, int N, int H,
        int W, int hidden, int conv_channels, int act, int strip_rows) {
    gd_forward_rings<float, 4>(out, x, weight, bias, N, H, W, hidden, conv_channels, act, strip_rows);
}

extern "C" __global__ void __launch_bounds__(GDR_BLOCK, 2) gated_dwconv_forward_rings_bf16_c1(__nv_bfloat16* __restrict__ out,
        const __nv_bfloat16* __restrict__ x, const float* __restrict__ weight, const float* __restrict__ bias, int N, int H,
        int W, int hidden, int conv_channels, int act, int strip_rows) {
    gd_forward_rings<__nv_bfloat16, 1>(out, x, weight, bias, N, H, W, hidden, conv_channels, act, strip_rows);
}

extern "C" __global__ void __launch_bounds__(GDR_BLOCK, 2) gated_dwconv_forward_rings_bf16_c4(__nv_bfloat16* __restrict__ out,
        const __nv_bfloat16* __restrict__ x, const float* __restrict__ weight, const float* __restrict__ bias, int N, int H,
        int W, int hidden, int conv_channels, int act, int strip_rows) {
    gd_forward_rings<__nv_bfloat16, 4>(out, x, weight, bias, N, H, W, hidden, conv_channels, act, strip_rows);
}

// =====================================================================================================================
// ================================================ BACKWARD ===========================================================
// =====================================================================================================================
// Gradients of the forward above, given dy [tokens, hidden] (x's storage type), all math in f32:
//   dx [tokens, 2*hidden] = (dg | di | dc):  dg = dy * act'(g) * v  (v = i, or the conv output recomputed with its bias),
//                                            di = dy * act(g)  (plain columns),
//                                            dc[p, ch] = sum_tap w[tap, ch] * dconv[p - offset(tap), ch]  (the
//                                            correlation with the flipped kernel), dconv = dy * act(g) on the conv
//                                            channels;
//   dweight [k*k, conv] f32 (tap-major, the forward's packed layout) = sum over images and pixels of dconv * c shifted;
//   dbias [conv] f32 = sum of dconv.
// Two launches, deterministic (no float atomics; every sum in an order fixed by the geometry alone):
//   1. gated_dwconv_backward_{f32,bf16}: conv blocks, then pointwise blocks.
//      - conv block (chunk of 32 conv channels, split s): grid-strides over work units (image, strip of rows, band of
//        8 columns), units s, s + splits, ...; warp w = column x0 + w, lane = channel. Input rows stream through a
//        ring of GDB_RING slots in shared memory (f32), each slot holding for one row: c over the band's columns with
//        the k-1 halo, dconv = dy * act(g) over the same columns (zero outside the image), and dy * act'(g) over the
//        band's own 8 columns. In bf16, where x and dy allow 16-byte copies (hidden, conv multiples of 8, aligned
//        pointers), rows stream with cp.async into a second, raw ring (4 rows, 3 in flight) and each is cooked from
//        there one step ahead (lab round 2: the row loads no longer wait inside the step, 1.24-1.31x); otherwise
//        a row is loaded into registers one step ahead and stored into its slot after the FMAs. One barrier per row. Each thread keeps its channel's k*k weights and two
//        sets of k rolling accumulators (the forward conv v, and dc), as the forward's rolling column does; the row
//        that closes (k - 1 rows behind the input) gives dg and dc, stored straight to dx. The weight gradient of that
//        closed row: warp w < k accumulates tap row ky = w over the 8 columns (k accumulators per thread, reading
//        the slots of rows o - k/2 + w), warp 7 the bias gradient. At the end each block writes its sums, all
//        k*k + 1 rows of its 32 channels, to partial[s, k*k + 1, conv] (every entry written by exactly one block).
//      - pointwise blocks (the plain columns): dg, di from g, i, dy, 1024 units per block (16-byte units when hidden,
//        conv are multiples of 16 bytes and x, dy, dx are 16-byte aligned; one channel otherwise), grid-stride.
//      k = 1, 3, 5, 7 only (compiled with k known; the launcher refuses others). No alignment needs on the conv side
//      (scalar loads, a lane per channel: 32 consecutive channels per warp access).
//   2. gated_dwconv_backward_reduce: dweight, dbias = the sum over s of partial[s], s in a fixed order (warp w sums
//      s = w, w + 8, ..., then the 8 warp sums in order).
// GatedDwConvKernels (backward*) mirrors the geometry: strips, splits, grid, workspace size.
#include <type_traits>
constexpr int GDB_BLOCK = 256;
constexpr int GDB_BAND = GDB_BLOCK / WARP_SIZE;   // output columns per work unit: a warp each
constexpr int GDB_CHUNK = WARP_SIZE;              // conv channels per conv block: a lane each
constexpr int GDB_MAX_K = 7;                      // warps 0..k-1 take the tap rows of dweight, warp 7 dbias
constexpr int GDB_RING = 8;                       // rows o - k/2 .. o + k/2 are read while row + 1 is stored: k + 1
constexpr int GDB_PW_UNROLL = 4;
constexpr int GDB_PW_UNITS = GDB_BLOCK * GDB_PW_UNROLL;
static_assert(GDB_RING >= GDB_MAX_K + 1, "the ring holds the k rows read and the one being filled");
static_assert(GDB_BAND > GDB_MAX_K - 1 + 1, "one warp beyond the tap rows takes the bias");

__host__ __device__ constexpr int gdb_slot_floats(int k) {   // c row + dconv row (band + halo), dy*act'(g) own columns
    return 2 * (GDB_BAND + k - 1) * GDB_CHUNK + GDB_BAND * GDB_CHUNK;
}
// The raw ring of the cp.async path (bf16): a row's c, g and dy as loaded, [3][band + halo][chunk] per slot; 4 rows
// (3 in flight while one is cooked), 10.5 KB beside the cooked ring's 36 KB of static shared memory.
constexpr int GDB_PIX_MAX = GDB_BAND + GDB_MAX_K - 1;
constexpr int GDB_RAW_ELEMS = 3 * GDB_PIX_MAX * GDB_CHUNK;
constexpr int GDB_RAW_SLOTS = 4;

// act(v) and act'(v) together (one erf or exp).
__device__ __forceinline__ void gdb_act2(float v, int act, float& a, float& da) {
    if (act == 0) {
        const float phi = 0.5f * (1.0f + erf_fast(v * 0.70710678f));
        a = v * phi;
        da = phi + v * 0.39894228f * expf(-0.5f * v * v);
    } else {
        const float sg = 1.0f / (1.0f + expf(-v));
        a = v * sg;
        da = sg * (1.0f + v * (1.0f - sg));
    }
}

struct GdbShape {
    int N, H, W, hidden, conv, k, act, strip_rows, splits, strips, bands, chunks;

    __device__ GdbShape(int N_, int H_, int W_, int hidden_, int conv_, int k_, int act_, int strip_rows_, int splits_)
        : N(N_), H(H_), W(W_), hidden(hidden_), conv(conv_), k(k_), act(act_), strip_rows(strip_rows_),
          splits(splits_), strips(gd_ceil_div(H_, strip_rows_)), bands(gd_ceil_div(W_, GDB_BAND)),
          chunks(gd_ceil_div(conv_, GDB_CHUNK)) {}

    __device__ long long units() const { return (long long)N * strips * bands; }   // per chunk
    __device__ long long conv_blocks() const { return (long long)chunks * splits; }
};

template <typename T, int K, bool ASYNC>
__device__ __noinline__ void gdb_conv_block(T* __restrict__ dx, float* __restrict__ partial, const T* __restrict__ x,
                                            const T* __restrict__ dy, const float* __restrict__ weight,
                                            const float* __restrict__ bias, const GdbShape s, long long block,
                                            float* ring, T* raw) {
    constexpr int P = K / 2, PIX = GDB_BAND + K - 1, SLOT = gdb_slot_floats(K);
    constexpr int C_OFS = 0, D_OFS = PIX * GDB_CHUNK, G_OFS = 2 * PIX * GDB_CHUNK;
    constexpr int FILL = (PIX + GDB_BAND - 1) / GDB_BAND;   // halo pixels per warp and row
    const int chunk = (int)(block % s.chunks), split = (int)(block / s.chunks);
    const int warp = threadIdx.x / WARP_SIZE, lane = threadIdx.x % WARP_SIZE;
    const int c = chunk * GDB_CHUNK + lane;          // this lane's conv channel
    const bool chan = c < s.conv;
    const int plain = s.hidden - s.conv, xs = 2 * s.hidden;
    const int gcol = plain + c;                      // g column of channel c (and, + hidden, its c column)

    float w[K * K];
    #pragma unroll
    for (int tap = 0; tap < K * K; tap++) w[tap] = chan ? __ldg(weight + tap * s.conv + c) : 0.0f;
    const float b = chan ? __ldg(bias + c) : 0.0f;
    float dw[K];                                     // warp < K: dweight[warp * K + kx, c]
    #pragma unroll
    for (int kx = 0; kx < K; kx++) dw[kx] = 0.0f;
    float db = 0.0f;                                 // warp 7: dbias[c]

    const long long units = s.units();
    for (long long unit = split; unit < units; unit += s.splits) {
        const int band = (int)(unit % s.bands);
        const long long rest = unit / s.bands;
        const int strip = (int)(rest % s.strips);
        const long long n = rest / s.strips;
        const int x0 = band * GDB_BAND, y0 = strip * s.strip_rows, y1 = min(y0 + s.strip_rows, s.H);
        const int xo = x0 + warp;
        const bool computes = chan && xo < s.W;
        // Offsets inside one image are 32-bit (the launcher checks H*W*2*hidden < 2^31).
        const T* ximg = x + n * s.H * s.W * xs;
        const T* dyimg = dy + n * s.H * s.W * s.hidden;
        T* dximg = dx + n * s.H * s.W * xs;

        // Row tt of the unit is input row y0 - P + tt; a warp loads halo pixels warp, warp + 8 of it.
        float fc[FILL], fg[FILL], fd[FILL];
        auto load_row = [&](int tt) {
            const int iy = y0 - P + tt;
            #pragma unroll
            for (int f = 0; f < FILL; f++) {
                const int px = warp + f * GDB_BAND, xx = x0 - P + px;
                const bool ok = px < PIX && chan && iy >= 0 && iy < s.H && xx >= 0 && xx < s.W;
                const int p = iy * s.W + xx;
                fc[f] = ok ? gd_to_float(ximg[p * xs + s.hidden + gcol]) : 0.0f;
                fg[f] = ok ? gd_to_float(ximg[p * xs + gcol]) : 0.0f;
                fd[f] = ok ? gd_to_float(dyimg[p * s.hidden + gcol]) : 0.0f;
            }
        };
        auto store_row = [&](int tt) {
            float* slot = ring + (tt % GDB_RING) * SLOT;
            #pragma unroll
            for (int f = 0; f < FILL; f++) {
                const int px = warp + f * GDB_BAND;
                if (px < PIX) {
                    float a, da;
                    gdb_act2(fg[f], s.act, a, da);
                    slot[C_OFS + px * GDB_CHUNK + lane] = fc[f];
                    slot[D_OFS + px * GDB_CHUNK + lane] = fd[f] * a;
                    if (px >= P && px < P + GDB_BAND) slot[G_OFS + (px - P) * GDB_CHUNK + lane] = fd[f] * da;
                }
            }
        };

        const int rows_of_unit = y1 - y0 + 2 * P;
        // The cp.async path (ASYNC): row tt's c, g, dy go to raw slot tt mod RAWS in 16-byte pieces, zero-filled
        // outside the image and past conv; `cook` then turns a landed raw row into its ring slot as store_row does.
        // Each thread copies the same pieces of every row (PT of them: bf16 k = 7 has 168 pieces for 256 threads):
        // their column, source and slot offsets are fixed per unit, only the row moves.
        constexpr int RAWS = GDB_RAW_SLOTS, VE = 16 / (int)sizeof(T), Q = GDB_CHUNK / VE;
        constexpr int PIECES = 3 * PIX * Q, PT = (PIECES + GDB_BLOCK - 1) / GDB_BLOCK;
        const T* psrc[PT];
        int pdst[PT], pstride[PT];
        bool pok[PT];
        #pragma unroll
        for (int j = 0; j < PT; j++) {
            const int i = threadIdx.x + j * GDB_BLOCK;
            const int tensor = i / (PIX * Q), px = i / Q % PIX, q = i % Q;
            const int xx = x0 - P + px, ch = chunk * GDB_CHUNK + q * VE;
            pok[j] = i < PIECES && xx >= 0 && xx < s.W && ch < s.conv;
            const int xc = pok[j] ? xx : 0;
            psrc[j] = tensor == 2 ? dyimg + xc * s.hidden + plain + ch : ximg + xc * xs + (tensor == 0 ? s.hidden : 0) + plain + ch;
            pstride[j] = (tensor == 2 ? s.hidden : xs) * s.W;   // one image row
            pdst[j] = i < PIECES ? (tensor * GDB_PIX_MAX + px) * GDB_CHUNK + q * VE : -1;
        }
        auto issue_raw = [&](int tt) {
            const int iy = y0 - P + tt;
            if (tt < rows_of_unit) {
                T* slot = raw + (tt % RAWS) * GDB_RAW_ELEMS;
                const bool row = iy >= 0 && iy < s.H;
                #pragma unroll
                for (int j = 0; j < PT; j++) {
                    if (pdst[j] >= 0) cp_async16(slot + pdst[j], psrc[j] + (row ? iy : 0) * pstride[j], row && pok[j]);
                }
            }
            cp_async_commit();   // an empty group past the last row keeps the wait counts uniform
        };
        auto cook = [&](int tt) {
            const T* rs = raw + (tt % RAWS) * GDB_RAW_ELEMS;
            float* slot = ring + (tt % GDB_RING) * SLOT;
            #pragma unroll
            for (int f = 0; f < FILL; f++) {
                const int px = warp + f * GDB_BAND;
                if (px < PIX) {
                    const float vc = gd_to_float(rs[px * GDB_CHUNK + lane]);
                    const float vg = gd_to_float(rs[(GDB_PIX_MAX + px) * GDB_CHUNK + lane]);
                    const float vd = gd_to_float(rs[(2 * GDB_PIX_MAX + px) * GDB_CHUNK + lane]);
                    float a, da;
                    gdb_act2(vg, s.act, a, da);
                    slot[C_OFS + px * GDB_CHUNK + lane] = vc;
                    slot[D_OFS + px * GDB_CHUNK + lane] = vd * a;
                    if (px >= P && px < P + GDB_BAND) slot[G_OFS + (px - P) * GDB_CHUNK + lane] = vd * da;
                }
            }
        };

        float acc[K], dacc[K];   // output row y0 + m collects in [m mod K]
        #pragma unroll
        for (int i = 0; i < K; i++) {
            acc[i] = b;
            dacc[i] = 0.0f;
        }
        const int rows = y1 - y0 + 2 * P;
        if constexpr (ASYNC) {
            for (int r = 0; r < RAWS; r++) issue_raw(r);
            cp_async_wait<RAWS - 2>();   // rows 0 and 1 landed (this thread's pieces)
            __syncthreads();
            cook(0);
        } else {
            load_row(0);
            store_row(0);
        }
        __syncthreads();
        // Unrolled by K so the accumulator windows move by renaming: input row tt (= u mod K) adds tap row ky of the
        // forward conv to acc[(u - ky) mod K] and of the transposed conv to dacc[(u + 1 + ky) mod K]; both close
        // [(u + 1) mod K], output row o = y0 + tt - 2P.
        for (int step = 0; step < rows; step += K) {
            #pragma unroll
            for (int u = 0; u < K; u++) {
                const int tt = step + u;
                if (tt >= rows) break;
                const bool next = tt + 1 < rows;
                if constexpr (ASYNC) {
                    // Raw row tt + 1 is visible (waited for before the last barrier); the cooked slot it fills held
                    // row tt - 7, last read before that barrier. The raw slot refilled held row tt, cooked then.
                    if (next) cook(tt + 1);
                    issue_raw(tt + RAWS);
                } else {
                    if (next) load_row(tt + 1);
                }
                const float* cur = ring + (tt % GDB_RING) * SLOT;
                const int iy = y0 - P + tt;
                if (iy >= 0 && iy < s.H) {   // rows outside the image are zeros: no FMAs
                    float cv[K], dv[K];
                    #pragma unroll
                    for (int kx = 0; kx < K; kx++) {
                        cv[kx] = cur[C_OFS + (warp + kx) * GDB_CHUNK + lane];
                        dv[kx] = cur[D_OFS + (warp + K - 1 - kx) * GDB_CHUNK + lane];
                    }
                    #pragma unroll
                    for (int ky = 0; ky < K; ky++) {
                        #pragma unroll
                        for (int kx = 0; kx < K; kx++) {
                            acc[(u - ky + K) % K] = fmaf(w[ky * K + kx], cv[kx], acc[(u - ky + K) % K]);
                            dacc[(u + 1 + ky) % K] = fmaf(w[ky * K + kx], dv[kx], dacc[(u + 1 + ky) % K]);
                        }
                    }
                }
                if (tt >= 2 * P) {
                    const int o = y0 + tt - 2 * P;
                    const float* own = ring + ((tt - P) % GDB_RING) * SLOT;   // row o
                    if (computes) {
                        const int off = (o * s.W + xo) * xs + gcol;
                        dximg[off] = gd_from_float<T>(own[G_OFS + warp * GDB_CHUNK + lane] * acc[(u + 1) % K]);
                        dximg[off + s.hidden] = gd_from_float<T>(dacc[(u + 1) % K]);
                    }
                    if (warp < K) {          // tap row ky = warp: c row o - P + warp against dconv row o
                        const float* crow = ring + ((tt - 2 * P + warp) % GDB_RING) * SLOT + C_OFS;
                        #pragma unroll
                        for (int xb = 0; xb < GDB_BAND; xb++) {
                            const float d = own[D_OFS + (xb + P) * GDB_CHUNK + lane];
                            #pragma unroll
                            for (int kx = 0; kx < K; kx++) dw[kx] = fmaf(d, crow[(xb + kx) * GDB_CHUNK + lane], dw[kx]);
                        }
                    } else if (warp == GDB_BAND - 1) {
                        #pragma unroll
                        for (int xb = 0; xb < GDB_BAND; xb++) db += own[D_OFS + (xb + P) * GDB_CHUNK + lane];
                    }
                }
                acc[(u + 1) % K] = b;
                dacc[(u + 1) % K] = 0.0f;
                if constexpr (ASYNC) {
                    cp_async_wait<RAWS - 2>();   // raw row tt + 2, cooked in the next step, has landed
                } else {
                    if (next) store_row(tt + 1);
                }
                __syncthreads();   // row tt + 1 visible; this row's reads done before its slot is refilled
            }
        }
    }
    if (chan) {
        float* pb = partial + (long long)split * (K * K + 1) * s.conv;
        if (warp < K) {
            #pragma unroll
            for (int kx = 0; kx < K; kx++) pb[(warp * K + kx) * s.conv + c] = dw[kx];
        } else if (warp == GDB_BAND - 1) {
            pb[K * K * s.conv + c] = db;
        }
    }
}

// The plain columns: dg = dy * act'(g) * i, di = dy * act(g). U channels per unit (16 bytes, or 1).
template <typename T, int U>
__device__ void gdb_pointwise(T* __restrict__ dx, const T* __restrict__ x, const T* __restrict__ dy,
                              const GdbShape& s, long long item) {
    using Vec = typename std::conditional<U == 1, T, uint4>::type;
    const int per_token = (s.hidden - s.conv) / U;
    const long long total = (long long)s.N * s.H * s.W * per_token;
    long long e = item * GDB_PW_UNITS + threadIdx.x;
    long long t = e / per_token;
    int u = (int)(e - t * per_token);
    const int q = GDB_BLOCK / per_token, r = GDB_BLOCK % per_token;
    Vec g[GDB_PW_UNROLL], v[GDB_PW_UNROLL], d[GDB_PW_UNROLL];
    long long tok[GDB_PW_UNROLL];
    int unit[GDB_PW_UNROLL];
    #pragma unroll
    for (int j = 0; j < GDB_PW_UNROLL; j++) {
        tok[j] = t;
        unit[j] = u;
        if (e + j * GDB_BLOCK < total) {
            const T* row = x + t * 2 * s.hidden + u * U;
            g[j] = __ldcs(reinterpret_cast<const Vec*>(row));
            v[j] = __ldcs(reinterpret_cast<const Vec*>(row + s.hidden));
            d[j] = __ldcs(reinterpret_cast<const Vec*>(dy + t * s.hidden + u * U));
        }
        t += q;
        u += r;
        if (u >= per_token) { u -= per_token; t++; }
    }
    #pragma unroll
    for (int j = 0; j < GDB_PW_UNROLL; j++) {
        if (e + j * GDB_BLOCK < total) {
            const T* ge = reinterpret_cast<const T*>(&g[j]);
            const T* ve = reinterpret_cast<const T*>(&v[j]);
            const T* de = reinterpret_cast<const T*>(&d[j]);
            Vec og, oi;
            T* oge = reinterpret_cast<T*>(&og);
            T* oie = reinterpret_cast<T*>(&oi);
            #pragma unroll
            for (int i = 0; i < U; i++) {
                float a, da;
                gdb_act2(gd_to_float(ge[i]), s.act, a, da);
                const float dd = gd_to_float(de[i]);
                oge[i] = gd_from_float<T>(dd * da * gd_to_float(ve[i]));
                oie[i] = gd_from_float<T>(dd * a);
            }
            T* row = dx + tok[j] * 2 * s.hidden + unit[j] * U;
            __stcs(reinterpret_cast<Vec*>(row), og);
            __stcs(reinterpret_cast<Vec*>(row + s.hidden), oi);
        }
    }
}

template <typename T, int U>
__device__ void gdb_pointwise_blocks(T* __restrict__ dx, const T* __restrict__ x, const T* __restrict__ dy,
                                     const GdbShape& s, long long first) {
    const long long units = (long long)s.N * s.H * s.W * ((s.hidden - s.conv) / U);
    const long long items = (units + GDB_PW_UNITS - 1) / GDB_PW_UNITS;
    // Grid-stride: the geometry counts items for 16-byte units; the scalar fallback needs more of them.
    for (long long pi = first; pi < items; pi += gridDim.x - s.conv_blocks()) gdb_pointwise<T, U>(dx, x, dy, s, pi);
}

template <typename T, bool ASYNC>
__device__ __forceinline__ void gdb_conv_dispatch(T* __restrict__ dx, float* __restrict__ partial,
                                                  const T* __restrict__ x, const T* __restrict__ dy,
                                                  const float* __restrict__ weight, const float* __restrict__ bias,
                                                  const GdbShape& s, long long index, float* ring, T* raw) {
    switch (s.k) {
        case 1: gdb_conv_block<T, 1, ASYNC>(dx, partial, x, dy, weight, bias, s, index, ring, raw); break;
        case 3: gdb_conv_block<T, 3, ASYNC>(dx, partial, x, dy, weight, bias, s, index, ring, raw); break;
        case 5: gdb_conv_block<T, 5, ASYNC>(dx, partial, x, dy, weight, bias, s, index, ring, raw); break;
        default: gdb_conv_block<T, 7, ASYNC>(dx, partial, x, dy, weight, bias, s, index, ring, raw); break;
    }
}

// Whether the conv blocks stream rows with cp.async: bf16 only (lab round 2: 1.24-1.31x in bf16, 0.96-1.00x in f32,
// whose raw ring holds one row in flight), in 16-byte pieces of the chunk's channels (hidden and conv multiples of 8,
// so plain is too) at 16-byte aligned x and dy. Otherwise rows go through registers.
template <typename T>
__device__ __forceinline__ bool gdb_async_ok(const GdbShape& s, const T* x, const T* dy) {
    constexpr int V = 16 / sizeof(T);
    return sizeof(T) == 2 && s.hidden % V == 0 && s.conv % V == 0 && aligned16(x) && aligned16(dy);
}

// One block's work: conv block `index` of s.conv_blocks(), or pointwise block `index` of gridDim.x - s.conv_blocks()
// (which block does which is the caller's grid order: conv blocks first). async: the conv blocks' cp.async path.
template <typename T>
__device__ __forceinline__ void gdb_block(T* __restrict__ dx, float* __restrict__ partial, const T* __restrict__ x,
                                          const T* __restrict__ dy, const float* __restrict__ weight,
                                          const float* __restrict__ bias, const GdbShape& s, bool conv_block,
                                          long long index, float* ring, T* raw, bool async) {
    if (conv_block) {
        if constexpr (sizeof(T) == 2) {
            if (async) {
                gdb_conv_dispatch<T, true>(dx, partial, x, dy, weight, bias, s, index, ring, raw);
                return;
            }
        }
        gdb_conv_dispatch<T, false>(dx, partial, x, dy, weight, bias, s, index, ring, raw);
        return;
    }
    constexpr int V = 16 / sizeof(T);
    if (s.hidden % V == 0 && s.conv % V == 0 && aligned16(x) && aligned16(dy) && aligned16(dx)) {
        gdb_pointwise_blocks<T, V>(dx, x, dy, s, index);
    } else {
        gdb_pointwise_blocks<T, 1>(dx, x, dy, s, index);
    }
}

template <typename T>
__device__ void gdb_backward(T* __restrict__ dx, float* __restrict__ partial, const T* __restrict__ x,
                             const T* __restrict__ dy, const float* __restrict__ weight,
                             const float* __restrict__ bias, int N, int H, int W, int hidden, int conv, int k, int act,
                             int strip_rows, int splits) {
    __shared__ __align__(16) float ring[GDB_RING * gdb_slot_floats(GDB_MAX_K)];
    T* raw = nullptr;
    if constexpr (sizeof(T) == 2) {
        __shared__ __align__(16) T raw_ring[GDB_RAW_SLOTS * GDB_RAW_ELEMS];
        raw = raw_ring;
    }
    const GdbShape s(N, H, W, hidden, conv, k, act, strip_rows, splits);
    const long long block = blockIdx.x;
    const bool async = gdb_async_ok(s, x, dy);
    if (block < s.conv_blocks()) gdb_block<T>(dx, partial, x, dy, weight, bias, s, true, block, ring, raw, async);
    else gdb_block<T>(dx, partial, x, dy, weight, bias, s, false, block - s.conv_blocks(), ring, raw, async);
}

extern "C" __global__ void __launch_bounds__(GDB_BLOCK, 2) gated_dwconv_backward_f32(float* __restrict__ dx,
        float* __restrict__ partial, const float* __restrict__ x, const float* __restrict__ dy,
        const float* __restrict__ weight, const float* __restrict__ bias, int N, int H, int W, int hidden,
        int conv_channels, int kernel_size, int act, int strip_rows, int splits) {
    gdb_backward<float>(dx, partial, x, dy, weight, bias, N, H, W, hidden, conv_channels, kernel_size, act,
                        strip_rows, splits);
}

extern "C" __global__ void __launch_bounds__(GDB_BLOCK, 2) gated_dwconv_backward_bf16(__nv_bfloat16* __restrict__ dx,
        float* __restrict__ partial, const __nv_bfloat16* __restrict__ x, const __nv_bfloat16* __restrict__ dy,
        const float* __restrict__ weight, const float* __restrict__ bias, int N, int H, int W, int hidden,
        int conv_channels, int kernel_size, int act, int strip_rows, int splits) {
    gdb_backward<__nv_bfloat16>(dx, partial, x, dy, weight, bias, N, H, W, hidden, conv_channels, kernel_size, act,
                                strip_rows, splits);
}

// dweight [k*k, conv] and dbias [conv] from partial [num_partials, k*k + 1, conv]: a block per 32 consecutive outputs
// (a lane each), warp w summing partials w, w + 8, ... (four accumulators, fixed order), then the 8 warp sums in order.
constexpr int GDB_REDUCE_WARPS = GDB_BLOCK / WARP_SIZE;

extern "C" __global__ void __launch_bounds__(GDB_BLOCK) gated_dwconv_backward_reduce(float* __restrict__ dweight,
        float* __restrict__ dbias, const float* __restrict__ partial, int num_partials, int conv_channels,
        int kernel_size) {
    __shared__ float sums[GDB_REDUCE_WARPS][WARP_SIZE];
    const int lane = threadIdx.x % WARP_SIZE, warp = threadIdx.x / WARP_SIZE;
    const int taps = kernel_size * kernel_size;
    const long long width = (long long)(taps + 1) * conv_channels;
    const long long o = (long long)blockIdx.x * WARP_SIZE + lane;
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    if (o < width) {
        const float* p = partial + o;
        int b = warp;
        constexpr int S = GDB_REDUCE_WARPS;
        for (; b + 3 * S < num_partials; b += 4 * S) {
            a0 += p[(long long)b * width];
            a1 += p[(long long)(b + S) * width];
            a2 += p[(long long)(b + 2 * S) * width];
            a3 += p[(long long)(b + 3 * S) * width];
        }
        for (; b < num_partials; b += S) a0 += p[(long long)b * width];
    }
    sums[warp][lane] = (a0 + a1) + (a2 + a3);
    __syncthreads();
    if (warp == 0 && o < width) {
        float t = 0.0f;
        #pragma unroll
        for (int i = 0; i < GDB_REDUCE_WARPS; i++) t += sums[i][lane];
        if (o < (long long)taps * conv_channels) dweight[o] = t;
        else dbias[o - (long long)taps * conv_channels] = t;
    }
}
