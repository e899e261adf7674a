// im2col for the k x k stride-s convolutions (stem, downsampling): the conv then runs as one GEMM
// col[N*Ho*Wo, col_stride] x Wpacked[Cout, col_stride]^T. Column (ky*k + kx)*C + c of row (n*Ho + oy)*Wo + ox holds
// x[n, oy*s - p + ky, ox*s - p + kx, c], 0 outside the image; columns [k*k*C, col_stride) are 0, so the GEMM's
// K padding (col_stride a multiple of 8: 16-byte rows) multiplies zeros by the packed weight's zeros.
//
// A thread writes one "unit" of V consecutive columns of a row: V = 16 bytes of T when col_stride % V == 0 and col is
// 16-byte aligned (one vector store), else V = 1. Writes are the larger side (9/4 of the input at k=3, s=2), so they
// are always coalesced; the input is read as 16-byte vectors too when a unit lies inside one tap (C % V == 0, NHWC),
// else element by element (the stem's C = 3). The pixels a resident wave touches span a few input rows per image,
// which stay in L2, so the k*k/s^2 re-reads of x do not reach DRAM; col is stored streaming (the GEMM reads it once,
// later) to keep those input rows resident.
//
// What limits the kernel is locating a unit (unit -> row, ox, oy, n, tap, ky), not the bytes: with plain 32-bit
// divisions the 16-byte path reached 39-62% of the H200's copy bandwidth at MambaOut's shapes, with multiply-shift
// divisors (FastDiv) 52-83% (kernels/lab/im2col_lab.cu, v2 = the previous mainline, v3 = this one). Building the five
// divisors costs more than a unit, so a thread builds them once and loops: Im2colKernels launches the 16-byte path on
// a capped grid (8 blocks of 256 per SM, as measured). The V = 1 path (col_stride not a multiple of V, or a misaligned
// col view: never the buffers the lowering allocates) keeps the plain divisions and, from Im2colKernels, a full grid
// when the stride is the reason.
//
// Launch (Im2colKernels): block 256, 1-D grid-stride over the units, any grid is correct. The caller keeps
// N*Ho*Wo*col_stride < 2^31: unit indices are 32-bit, and every numerator a FastDiv sees (a unit index, a row,
// row / Wo, a column or tap within a row) is then below 2^31, the bound of its exact range (fastdiv.cuh).
#include "common.cuh"
#include "fastdiv.cuh"
#include "storage.cuh"

struct Im2colGeom {
    int N, H, W, C, Ho, Wo, k, s, p, col_stride;
};

// Walks the (ky, kx, c) of consecutive columns without a division per element.
struct TapCursor {
    int ky, kx, c;
    __device__ __forceinline__ void next(int C, int k) {
        if (++c == C) { c = 0; if (++kx == k) { kx = 0; ++ky; } }
    }
};

// 16-byte units: unit u is columns [j*V, j*V + V) of row u / upr. vec_load (NHWC, T in and out, C % V == 0, x
// aligned; CAN_VEC says the instantiation allows it): the unit is V channels of one tap, copied as one 16-byte load
// (bit-exact: no conversion). Otherwise each column is gathered and converted (NCHW f32 input, C % V != 0, f32 into
// bf16); NCHW reads x[n, c, iy, ix], NHWC x[n, iy, ix, c]. vec_load is a per-launch flag tested per unit rather than
// a loop per path: with two loops in one entry point nvcc took 46-56 registers at sm_90 (and spilled under the launch
// bounds below), with one 32 and no spills.
template <typename T, typename TIn, int V, bool NCHW, bool CAN_VEC>
__device__ __forceinline__ void im2col_units(T* __restrict__ col, const TIn* __restrict__ x, const Im2colGeom g,
                                             const bool vec_load) {
    const unsigned upr = g.col_stride / V;
    const unsigned total = (unsigned)(g.N * g.Ho * g.Wo) * upr;
    const FastDiv d_upr(upr), d_wo(g.Wo), d_ho(g.Ho), d_c(CAN_VEC && vec_load ? g.C / V : g.C), d_k(g.k);
    const int kkC = g.k * g.k * g.C;
    for (unsigned u = blockIdx.x * blockDim.x + threadIdx.x; u < total; u += gridDim.x * blockDim.x) {
        const unsigned row = d_upr.div(u);
        const int j = (int)(u - row * upr);
        const unsigned t = d_wo.div(row);
        const int ox = (int)(row - t * g.Wo);
        const unsigned n = d_ho.div(t);
        const int oy = (int)(t - n * g.Ho);
        const int iy0 = oy * g.s - g.p, ix0 = ox * g.s - g.p;
        if (CAN_VEC && vec_load) {
            const int tap = (int)d_c.div(j), c = (j - tap * (g.C / V)) * V;
            const int ky = (int)d_k.div(tap), kx = tap - ky * g.k;
            const int iy = iy0 + ky, ix = ix0 + kx;
            uint4 v = make_uint4(0, 0, 0, 0);
            if (tap < g.k * g.k && iy >= 0 && iy < g.H && ix >= 0 && ix < g.W)
                v = *reinterpret_cast<const uint4*>(x + (((long long)n * g.H + iy) * g.W + ix) * g.C + c);
            __stcs(reinterpret_cast<uint4*>(col + (long long)row * g.col_stride) + j, v);
        } else {
            const int e0 = j * V;
            const int e = min(e0, kkC), tap = (int)d_c.div(e), ky = (int)d_k.div(tap);
            TapCursor cur{ky, tap - ky * g.k, e - tap * g.C};
            alignas(16) T v[V];
#pragma unroll
            for (int q = 0; q < V; q++) {
                float val = 0.0f;
                const int iy = iy0 + cur.ky, ix = ix0 + cur.kx;
                if (e0 + q < kkC && iy >= 0 && iy < g.H && ix >= 0 && ix < g.W)
                    val = to_f32(x[NCHW ? (((long long)n * g.C + cur.c) * g.H + iy) * g.W + ix
                                        : (((long long)n * g.H + iy) * g.W + ix) * g.C + cur.c]);
                v[q] = from_f32<T>(val);
                cur.next(g.C, g.k);
            }
            __stcs(reinterpret_cast<uint4*>(col + (long long)row * g.col_stride + e0),
                   *reinterpret_cast<const uint4*>(v));
        }
    }
}

// V = 1: one column per thread, scalar stores, plain divisions (the rare path: no divisor setup to amortise).
template <typename T, typename TIn, bool NCHW>
__device__ __forceinline__ void im2col_scalar(T* __restrict__ col, const TIn* __restrict__ x, const Im2colGeom g) {
    const unsigned total = (unsigned)(g.N * g.Ho * g.Wo) * (unsigned)g.col_stride;
    const int kkC = g.k * g.k * g.C;
    for (unsigned u = blockIdx.x * blockDim.x + threadIdx.x; u < total; u += gridDim.x * blockDim.x) {
        const unsigned row = u / g.col_stride;
        const int e = (int)(u - row * g.col_stride);
        float val = 0.0f;
        if (e < kkC) {
            const int ox = row % g.Wo, t = row / g.Wo, oy = t % g.Ho, n = t / g.Ho;
            const int tap = e / g.C, c = e - tap * g.C, ky = tap / g.k, kx = tap - ky * g.k;
            const int iy = oy * g.s - g.p + ky, ix = ox * g.s - g.p + kx;
            if (iy >= 0 && iy < g.H && ix >= 0 && ix < g.W) {
                val = to_f32(x[NCHW ? (((long long)n * g.C + c) * g.H + iy) * g.W + ix
                                    : (((long long)n * g.H + iy) * g.W + ix) * g.C + c]);
            }
        }
        __stcs(col + (long long)row * g.col_stride + e, from_f32<T>(val));
    }
}

template <typename T>
__device__ __forceinline__ bool im2col_vector_store(const T* col, const Im2colGeom& g) {
    return g.col_stride % vec16_elems<T>() == 0 && aligned16(col);
}

// NHWC of any input type TIn into T columns (TIn = T, or f32 into bf16: the gather converts).
template <typename T, typename TIn>
__device__ __forceinline__ void im2col_nhwc(T* col, const TIn* x, const Im2colGeom g) {
    constexpr int V = vec16_elems<T>();
    constexpr bool same = sizeof(TIn) == sizeof(T);
    if (im2col_vector_store(col, g)) im2col_units<T, TIn, V, false, same>(col, x, g, g.C % V == 0 && aligned16(x));
    else im2col_scalar<T, TIn, false>(col, x, g);
}

template <typename T>
__device__ __forceinline__ void im2col_nchw(T* col, const float* x, const Im2colGeom g) {
    if (im2col_vector_store(col, g)) im2col_units<T, float, vec16_elems<T>(), true, false>(col, x, g, false);
    else im2col_scalar<T, float, true>(col, x, g);
}

// Im2colKernels launches the 16-byte path as 8 blocks of 256 per SM (the grid the lab measured): at sm_80 and sm_90
// (2048 threads per SM) a bound of 8 resident blocks, i.e. <= 32 registers, keeps all of them running at once, so
// none waits behind the others for a second round. sm_86/sm_89 hold 1536 threads: 6 blocks is the most that fits
// (the 8-per-SM grid then takes 1.33 rounds there; not measured).
#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ == 860 || __CUDA_ARCH__ == 870 || __CUDA_ARCH__ == 890)
#define IM2COL_MIN_BLOCKS 6
#else
#define IM2COL_MIN_BLOCKS 8
#endif

extern "C" __global__ void __launch_bounds__(256, IM2COL_MIN_BLOCKS) im2col_nhwc_f32(
        float* col, const float* x, int N, int H, int W, int C, int Ho, int Wo, int kernel_size, int stride,
        int padding, int col_stride) {
    im2col_nhwc(col, x, Im2colGeom{N, H, W, C, Ho, Wo, kernel_size, stride, padding, col_stride});
}

extern "C" __global__ void __launch_bounds__(256, IM2COL_MIN_BLOCKS) im2col_nhwc_bf16(
        __nv_bfloat16* col, const __nv_bfloat16* x, int N, int H, int W, int C, int Ho, int Wo, int kernel_size,
        int stride, int padding, int col_stride) {
    im2col_nhwc(col, x, Im2colGeom{N, H, W, C, Ho, Wo, kernel_size, stride, padding, col_stride});
}

// f32 NHWC in (a bf16 program's residual stream at a downsampling conv), bf16 columns out: the gather converts.
extern "C" __global__ void __launch_bounds__(256, IM2COL_MIN_BLOCKS) im2col_nhwc_f32_bf16(
        __nv_bfloat16* col, const float* x, int N, int H, int W, int C, int Ho, int Wo, int kernel_size, int stride,
        int padding, int col_stride) {
    im2col_nhwc(col, x, Im2colGeom{N, H, W, C, Ho, Wo, kernel_size, stride, padding, col_stride});
}

extern "C" __global__ void __launch_bounds__(256, IM2COL_MIN_BLOCKS) im2col_nchw_f32(
        float* col, const float* x, int N, int C, int H, int W, int Ho, int Wo, int kernel_size, int stride,
        int padding, int col_stride) {
    im2col_nchw(col, x, Im2colGeom{N, H, W, C, Ho, Wo, kernel_size, stride, padding, col_stride});
}

extern "C" __global__ void __launch_bounds__(256, IM2COL_MIN_BLOCKS) im2col_nchw_bf16(
        __nv_bfloat16* col, const float* x, int N, int C, int H, int W, int Ho, int Wo, int kernel_size, int stride,
        int padding, int col_stride) {
    im2col_nchw(col, x, Im2colGeom{N, H, W, C, Ho, Wo, kernel_size, stride, padding, col_stride});
}

// ================================================ col2im (backward) ================================================
// The adjoint of im2col_nhwc, for the backward of the stem's second conv and the downsampling convs: the GEMM
// dcol = dy [N*Ho*Wo, Cout] x Wpacked [Cout, col_stride] gives the gradient of every column, and
// dx[n, iy, ix, c] = sum of dcol[(n*Ho + oy)*Wo + ox, (ky*k + kx)*C + c] over the (oy, ox, ky, kx) with
// oy*s - p + ky = iy and ox*s - p + kx = ix, i.e. graph's Conv2dBackwardInput. Columns [k*k*C, col_stride) are never
// read (the GEMM's K padding).
//
// A GATHER, not a scatter: a thread owns V consecutive channels of one dx pixel ("unit") and sums its
// <= ceil(k/s)^2 contributing column vectors in a fixed order (ky, then kx, ascending), in f32, then stores once. No
// atomics, so the result is deterministic and every dx element is written exactly once (no zero-fill pass). Each
// dcol element is read by exactly one unit, so dcol streams through once; for a pixel the taps are
// ky = (iy + p) mod s, + s, ... with oy = (iy + p) / s, -1, ... (one division per axis, by s).
//
// accumulate = 0: dx = the sum (overwrite). accumulate = 1: dx += the sum, read and written in the same pass (the sum
// in f32, one rounding for bf16 dx). The training runtime launches every MambaOut conv with accumulate = 0. Graph's
// Autodiff sums a tensor's gradient over its consumers (Add ops once all are visited, in reverse topological
// order), and a conv's input here has exactly one consumer, the conv: the stem conv2 reads the stem GELU's output,
// a downsampling conv a stage's last residual sum (norm-last, the official structure) or the downsample LayerNorm's
// output (norm-first); feature outputs carry no gradient. So the conv's dx is that tensor's whole gradient. For the
// residual sum it then flows through the Add unchanged to both operands, and the previous sum's gradient gains the
// block's LayerNorm-backward contribution: that accumulation belongs to the LayerNorm backward, not here (in a bf16
// program this dx is f32, col2im_nhwc_bf16_f32, as the residual stream is). accumulate = 1 is for a graph whose conv
// input has another consumer: it folds that consumer's Add into the gather.
//
// 16-byte path (C and col_stride multiples of V = 16 bytes of dcol's type, dcol and dx 16-byte aligned: MambaOut's
// C = 24..192 in arena buffers): one 16-byte load per contributing tap, V channels stored as 16 bytes (32 bytes for
// f32 dx from bf16 dcol). Otherwise V = 1, element by element (the stem conv1's C = 3, odd C, misaligned views).
// Divisors are multiply-shift (FastDiv) built once per thread, and the grid is capped (Im2colKernels.col2im).
// dx must not overlap dcol. The caller keeps N*H*W*C < 2^31 and N*Ho*Wo*col_stride < 2^31 (32-bit unit indices,
// FastDiv numerators below 2^31).
template <typename TO, typename TI, int V>
__device__ __forceinline__ void col2im_units(TO* __restrict__ dx, const TI* __restrict__ dcol, const Im2colGeom g,
                                             const int accumulate) {
    const unsigned upp = g.C / V;  // units per pixel
    const unsigned total = (unsigned)(g.N * g.H * g.W) * upp;
    const FastDiv d_upp(upp), d_w(g.W), d_h(g.H), d_s(g.s);
    for (unsigned u = blockIdx.x * blockDim.x + threadIdx.x; u < total; u += gridDim.x * blockDim.x) {
        const unsigned pix = d_upp.div(u);
        const int c = (int)(u - pix * upp) * V;
        const unsigned t = d_w.div(pix);
        const int ix = (int)(pix - t * g.W);
        const unsigned n = d_h.div(t);
        const int iy = (int)(t - n * g.H);
        const unsigned ty = (unsigned)(iy + g.p), tx = (unsigned)(ix + g.p);
        const int qy = (int)d_s.div(ty), qx = (int)d_s.div(tx);
        const int ky0 = (int)ty - qy * g.s, kx0 = (int)tx - qx * g.s;
        float acc[V];
#pragma unroll
        for (int q = 0; q < V; q++) acc[q] = 0.0f;
        for (int ky = ky0, oy = qy; ky < g.k && oy >= 0; ky += g.s, --oy) {
            if (oy >= g.Ho) continue;
            const TI* rowp = dcol + ((long long)n * g.Ho + oy) * g.Wo * g.col_stride + ky * g.k * g.C + c;
            for (int kx = kx0, ox = qx; kx < g.k && ox >= 0; kx += g.s, --ox) {
                if (ox >= g.Wo) continue;
                const TI* src = rowp + (long long)ox * g.col_stride + kx * g.C;
                if constexpr (V > 1) {
                    alignas(16) TI v[V];
                    *reinterpret_cast<uint4*>(v) = __ldg(reinterpret_cast<const uint4*>(src));
#pragma unroll
                    for (int q = 0; q < V; q++) acc[q] += to_f32(v[q]);
                } else {
                    acc[0] += to_f32(src[0]);
                }
            }
        }
        TO* dst = dx + (long long)pix * g.C + c;
        alignas(16) TO o[V];
        constexpr int STORES = V * (int)sizeof(TO) / 16;  // 16-byte stores per unit (0: V = 1)
        if constexpr (V > 1) {
            if (accumulate) {
#pragma unroll
                for (int w = 0; w < STORES; w++) reinterpret_cast<uint4*>(o)[w] = reinterpret_cast<const uint4*>(dst)[w];
#pragma unroll
                for (int q = 0; q < V; q++) acc[q] += to_f32(o[q]);
            }
#pragma unroll
            for (int q = 0; q < V; q++) o[q] = from_f32<TO>(acc[q]);
#pragma unroll
            for (int w = 0; w < STORES; w++) reinterpret_cast<uint4*>(dst)[w] = reinterpret_cast<const uint4*>(o)[w];
        } else {
            *dst = from_f32<TO>(accumulate ? acc[0] + to_f32(*dst) : acc[0]);
        }
    }
}

// Im2colKernels.col2im caps the grid at 8 blocks of 256 per SM, as im2col's. At sm_90 ptxas fits the three kernels
// in 30-32 registers without spilling, so the bound below keeps all 8 resident; at sm_80 bounding them to 32 spills
// 20-28 bytes per thread, so there they keep 38-39 registers (6 blocks per SM: the capped grid takes 1.33 rounds).
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define COL2IM_MIN_BLOCKS 8
#else
#define COL2IM_MIN_BLOCKS 1
#endif

template <typename TO, typename TI>
__device__ __forceinline__ void col2im_nhwc(TO* dx, const TI* dcol, const Im2colGeom g, const int accumulate) {
    constexpr int V = vec16_elems<TI>();
    if (g.C % V == 0 && g.col_stride % V == 0 && aligned16(dx) && aligned16(dcol))
        col2im_units<TO, TI, V>(dx, dcol, g, accumulate);
    else
        col2im_units<TO, TI, 1>(dx, dcol, g, accumulate);
}

extern "C" __global__ void __launch_bounds__(256, COL2IM_MIN_BLOCKS) col2im_nhwc_f32(
        float* dx, const float* dcol, int N, int H, int W, int C, int Ho, int Wo, int kernel_size, int stride,
        int padding, int col_stride, int accumulate) {
    col2im_nhwc(dx, dcol, Im2colGeom{N, H, W, C, Ho, Wo, kernel_size, stride, padding, col_stride}, accumulate);
}

extern "C" __global__ void __launch_bounds__(256, COL2IM_MIN_BLOCKS) col2im_nhwc_bf16(
        __nv_bfloat16* dx, const __nv_bfloat16* dcol, int N, int H, int W, int C, int Ho, int Wo, int kernel_size,
        int stride, int padding, int col_stride, int accumulate) {
    col2im_nhwc(dx, dcol, Im2colGeom{N, H, W, C, Ho, Wo, kernel_size, stride, padding, col_stride}, accumulate);
}

// bf16 dcol (a bf16 program's GEMM output) into f32 dx: the gradient of an f32 residual sum at a downsampling conv.
extern "C" __global__ void __launch_bounds__(256, COL2IM_MIN_BLOCKS) col2im_nhwc_bf16_f32(
        float* dx, const __nv_bfloat16* dcol, int N, int H, int W, int C, int Ho, int Wo, int kernel_size, int stride,
        int padding, int col_stride, int accumulate) {
    col2im_nhwc(dx, dcol, Im2colGeom{N, H, W, C, Ho, Wo, kernel_size, stride, padding, col_stride}, accumulate);
}
