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
// Launch (Im2colKernels): block 256, 1-D grid-stride over the units, any grid is correct. The caller keeps
// N*Ho*Wo*col_stride < 2^31 (unit indices are 32-bit: the divisions that locate a unit are the kernel's main cost).
#include "common.cuh"
#include "storage.cuh"

struct Im2colGeom {
    int N, H, W, C, Ho, Wo, k, s, p, col_stride;
};

// Walks the (ky, kx, c) of consecutive columns without a division per element.
struct TapCursor {
    int ky, kx, c;
    __device__ __forceinline__ TapCursor(int e, int C, int k) {
        const int tap = e / C;
        c = e - tap * C;
        ky = tap / k;
        kx = tap - ky * k;
    }
    __device__ __forceinline__ void next(int C, int k) {
        if (++c == C) { c = 0; if (++kx == k) { kx = 0; ++ky; } }
    }
};

// Generic gather of units of V columns; NCHW reads x[n, c, iy, ix] (f32 user input), NHWC x[n, iy, ix, c].
template <typename T, typename TIn, int V, bool NCHW>
__device__ __forceinline__ void im2col_gather(T* __restrict__ col, const TIn* __restrict__ x, const Im2colGeom g) {
    const unsigned units_per_row = g.col_stride / V;
    const unsigned total = (unsigned)(g.N * g.Ho * g.Wo) * units_per_row;
    const int kkC = g.k * g.k * g.C;
    for (unsigned u = blockIdx.x * blockDim.x + threadIdx.x; u < total; u += gridDim.x * blockDim.x) {
        const unsigned row = u / units_per_row;
        const int e0 = (int)(u - row * units_per_row) * V;
        const int ox = row % g.Wo, t = row / g.Wo, oy = t % g.Ho, n = t / g.Ho;
        const int iy0 = oy * g.s - g.p, ix0 = ox * g.s - g.p;
        alignas(16) T v[V];
        TapCursor cur(min(e0, kkC), g.C, g.k);
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

// NHWC with C % V == 0: a unit is V channels of one tap, copied as one 16-byte load (bit-exact: no conversion).
template <typename T, int V>
__device__ __forceinline__ void im2col_nhwc_vec(T* __restrict__ col, const T* __restrict__ x, const Im2colGeom g) {
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
__device__ __forceinline__ bool im2col_vector_store(const T* col, const Im2colGeom& g) {
    return g.col_stride % vec16_elems<T>() == 0 && aligned16(col);
}

template <typename T>
__device__ __forceinline__ void im2col_nhwc(T* col, const T* x, const Im2colGeom g) {
    constexpr int V = vec16_elems<T>();
    if (im2col_vector_store(col, g)) {
        if (g.C % V == 0 && aligned16(x)) im2col_nhwc_vec<T, V>(col, x, g);
        else im2col_gather<T, T, V, false>(col, x, g);
    } else {
        im2col_gather<T, T, 1, false>(col, x, g);
    }
}

template <typename T>
__device__ __forceinline__ void im2col_nchw(T* col, const float* x, const Im2colGeom g) {
    if (im2col_vector_store(col, g)) im2col_gather<T, float, vec16_elems<T>(), true>(col, x, g);
    else im2col_gather<T, float, 1, true>(col, x, g);
}

extern "C" __global__ void im2col_nhwc_f32(float* col, const float* x, int N, int H, int W, int C, int Ho, int Wo,
                                           int kernel_size, int stride, int padding, int col_stride) {
    im2col_nhwc(col, x, Im2colGeom{N, H, W, C, Ho, Wo, kernel_size, stride, padding, col_stride});
}

extern "C" __global__ void im2col_nhwc_bf16(__nv_bfloat16* col, const __nv_bfloat16* x, int N, int H, int W, int C,
                                            int Ho, int Wo, int kernel_size, int stride, int padding, int col_stride) {
    im2col_nhwc(col, x, Im2colGeom{N, H, W, C, Ho, Wo, kernel_size, stride, padding, col_stride});
}

// f32 NHWC in (a bf16 program's residual stream at a downsampling conv), bf16 columns out: the gather converts.
extern "C" __global__ void im2col_nhwc_f32_bf16(__nv_bfloat16* col, const float* x, int N, int H, int W, int C,
                                                int Ho, int Wo, int kernel_size, int stride, int padding,
                                                int col_stride) {
    const Im2colGeom g{N, H, W, C, Ho, Wo, kernel_size, stride, padding, col_stride};
    if (im2col_vector_store(col, g)) im2col_gather<__nv_bfloat16, float, vec16_elems<__nv_bfloat16>(), false>(col, x, g);
    else im2col_gather<__nv_bfloat16, float, 1, false>(col, x, g);
}

extern "C" __global__ void im2col_nchw_f32(float* col, const float* x, int N, int C, int H, int W, int Ho, int Wo,
                                           int kernel_size, int stride, int padding, int col_stride) {
    im2col_nchw(col, x, Im2colGeom{N, H, W, C, Ho, Wo, kernel_size, stride, padding, col_stride});
}

extern "C" __global__ void im2col_nchw_bf16(__nv_bfloat16* col, const float* x, int N, int C, int H, int W, int Ho,
                                            int Wo, int kernel_size, int stride, int padding, int col_stride) {
    im2col_nchw(col, x, Im2colGeom{N, H, W, C, Ho, Wo, kernel_size, stride, padding, col_stride});
}
