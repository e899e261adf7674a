// Weight gradient of a narrow layer over many rows, for training: dW [M, N] = dY^T X and db [M] = the column sums of
// dY, with dY [rows, M] and X [rows, N] row-major in one storage type (f32 or bf16), f32 sums; M, N <= 64. This is
// the stem's first conv (dY [N*112*112, Co], X = its im2col [.., 32]): cuBLASLt ran femto's 24 x 32 x 1.6M product
// with its BGRADB epilogue in 817 us on the H200 (profile r2, 2026-12-04), ~19x its 43 us of bytes: too few output
// tiles for its kernels. Two launches, deterministic (sums in an order fixed by the geometry alone):
//   1. wgrad_partial_{f32,bf16}: block b takes rows [b * rows_per_block, ...) in chunks of WG_ROWS rows staged in
//      shared memory as f32 (the next chunk's loads in flight while one is summed); each thread owns a 4 x 4 tile of dW (tiles = ceil(M/4) x ceil(N/4)) and a row group
//      (256 / tiles groups, rows g, g + groups, ... of each chunk), and the tiles of the first column of tiles also
//      sum their 4 bias entries; the groups then add up in order, and the block writes partial[b] = (dW | db).
//   2. wgrad_reduce: dW, db = the sum over b of partial[b], b in a fixed order.
// Launch (WgradKernels): WG_BLOCK threads; grid = ceil(rows / rows_per_block) for the partials, ceil((M*N + M) /
// WG_BLOCK) for the reduce; workspace partial [grid, M*N + M] f32.
#include "common.cuh"
#include "storage.cuh"

constexpr int WG_BLOCK = 256;
constexpr int WG_MAX = 64;                 // M and N at most
constexpr int WG_ROWS = 64;                // rows per shared-memory chunk
constexpr int WG_PITCH = WG_MAX + 4;       // a row's floats in shared memory: 16-byte rows, rows on shifted banks
static_assert(WG_BLOCK * 20 <= 2 * WG_ROWS * WG_PITCH, "the groups' sums fit where the chunks were");

// A chunk's rows are one contiguous run of WG_ROWS * width elements (rows past the end read as zero). Vector path
// (width a multiple of 16 bytes, aligned operand): the chunk's 16-byte units are loaded into registers one chunk
// ahead (wg_load, in flight while the previous chunk is summed) and then stored as f32 (wg_store).
template <typename T> __host__ __device__ constexpr int wg_units_per_thread() {
    return 2 * WG_ROWS * WG_MAX / vec16_elems<T>() / WG_BLOCK;   // dY's and X's units at M = N = 64
}

template <typename T>
__device__ __forceinline__ void wg_load(uint4 (&r)[wg_units_per_thread<T>()], const T* __restrict__ dy,
                                        const T* __restrict__ x, long long row0, long long last, int M, int N) {
    constexpr int V = vec16_elems<T>();
    const int have = (int)(last - row0 < WG_ROWS ? last - row0 : WG_ROWS);
    const int udy = WG_ROWS * M / V, ux = WG_ROWS * N / V;
    #pragma unroll
    for (int j = 0; j < wg_units_per_thread<T>(); j++) {
        const int u = threadIdx.x + j * WG_BLOCK;
        r[j] = make_uint4(0, 0, 0, 0);   // bf16 and f32 zero alike
        if (u < udy) {
            if (u * V / M < have) r[j] = __ldcs(reinterpret_cast<const uint4*>(dy + row0 * M) + u);
        } else if (u - udy < ux) {
            const int w = u - udy;
            if (w * V / N < have) r[j] = __ldcs(reinterpret_cast<const uint4*>(x + row0 * N) + w);
        }
    }
}

template <typename T>
__device__ __forceinline__ void wg_store(float* sdy, float* sx, const uint4 (&r)[wg_units_per_thread<T>()], int M,
                                         int N) {
    constexpr int V = vec16_elems<T>();
    const int udy = WG_ROWS * M / V, ux = WG_ROWS * N / V;
    #pragma unroll
    for (int j = 0; j < wg_units_per_thread<T>(); j++) {
        const int u = threadIdx.x + j * WG_BLOCK;
        const bool isdy = u < udy;
        if (!isdy && u - udy >= ux) continue;
        const int width = isdy ? M : N, e = (isdy ? u : u - udy) * V, row = e / width, c = e - row * width;
        float* dst = (isdy ? sdy : sx) + row * WG_PITCH + c;
        const T* v = reinterpret_cast<const T*>(&r[j]);
        #pragma unroll
        for (int i = 0; i < V; i++) dst[i] = to_f32(v[i]);
    }
}

// The scalar path (a width that is not a multiple of 16 bytes, or a misaligned operand), staged without prefetch.
template <typename T>
__device__ __forceinline__ void wg_stage_scalar(float* dst, const T* __restrict__ src, long long row0, long long last,
                                                int width) {
    const long long have = last - row0 < WG_ROWS ? last - row0 : WG_ROWS;
    const T* base = src + row0 * width;
    for (int e = threadIdx.x; e < WG_ROWS * width; e += WG_BLOCK) {
        const int r = e / width, c = e - r * width;
        dst[r * WG_PITCH + c] = r < have ? to_f32(base[e]) : 0.0f;
    }
}

template <typename T>
__device__ __forceinline__ void wgrad_partial(float* __restrict__ partial, const T* __restrict__ dy,
                                              const T* __restrict__ x, long long rows, int M, int N,
                                              int rows_per_block) {
    __shared__ __align__(16) float smem[2 * WG_ROWS * WG_PITCH];   // the two chunks; then the groups' sums
    float* sdy = smem;
    float* sx = smem + WG_ROWS * WG_PITCH;
    const int mt = (M + 3) / 4, nt = (N + 3) / 4, tiles = mt * nt, groups = WG_BLOCK / tiles;
    const int tile = threadIdx.x % tiles, group = threadIdx.x / tiles;
    const int o0 = tile / nt * 4, t0 = tile % nt * 4;
    const bool active = group < groups;
    // The padded columns (M, N rounded up to 4) must read zeros: clear them once; staging never writes them.
    for (int i = threadIdx.x; i < 2 * WG_ROWS * WG_PITCH; i += WG_BLOCK) smem[i] = 0.0f;
    float acc[4][4] = {}, bacc[4] = {};
    const long long first = (long long)blockIdx.x * rows_per_block;
    const long long last = first + rows_per_block < rows ? first + rows_per_block : rows;
    constexpr int V = vec16_elems<T>();
    const bool vec = M % V == 0 && N % V == 0 && aligned16(dy) && aligned16(x);
    uint4 next[wg_units_per_thread<T>()];
    if (vec && first < last) wg_load<T>(next, dy, x, first, last, M, N);
    for (long long row0 = first; row0 < last; row0 += WG_ROWS) {
        __syncthreads();   // the previous chunk's reads (and the clearing) are done
        if (vec) {
            wg_store<T>(sdy, sx, next, M, N);
        } else {
            wg_stage_scalar(sdy, dy, row0, last, M);
            wg_stage_scalar(sx, x, row0, last, N);
        }
        __syncthreads();
        if (vec && row0 + WG_ROWS < last) wg_load<T>(next, dy, x, row0 + WG_ROWS, last, M, N);
        if (active) {
            for (int r = group; r < WG_ROWS; r += groups) {
                const float4 a = *reinterpret_cast<const float4*>(sdy + r * WG_PITCH + o0);
                const float4 b = *reinterpret_cast<const float4*>(sx + r * WG_PITCH + t0);
                const float av[4] = {a.x, a.y, a.z, a.w}, bv[4] = {b.x, b.y, b.z, b.w};
                #pragma unroll
                for (int i = 0; i < 4; i++) {
                    #pragma unroll
                    for (int j = 0; j < 4; j++) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
                    bacc[i] += av[i];
                }
            }
        }
    }
    // The row groups add up in order through shared memory (the chunk buffers are free now).
    __syncthreads();
    float* red = smem;   // [group][tile][20]: 16 dW sums, then 4 bias sums (at most 256 x 20 floats)
    if (active) {
        float* o = red + ((long long)group * tiles + tile) * 20;
        #pragma unroll
        for (int i = 0; i < 4; i++) {
            #pragma unroll
            for (int j = 0; j < 4; j++) o[i * 4 + j] = acc[i][j];
            o[16 + i] = bacc[i];
        }
    }
    __syncthreads();
    const int width = M * N + M;
    float* out = partial + (long long)blockIdx.x * width;
    for (int e = threadIdx.x; e < width; e += WG_BLOCK) {
        int tl, slot;
        if (e < M * N) {
            const int o = e / N, t = e - o * N;
            tl = o / 4 * nt + t / 4;
            slot = (o % 4) * 4 + t % 4;
        } else {
            const int o = e - M * N;
            tl = o / 4 * nt;   // the first tile of the row of tiles holds the bias sums
            slot = 16 + o % 4;
        }
        float s = 0.0f;
        for (int g = 0; g < groups; g++) s += red[((long long)g * tiles + tl) * 20 + slot];
        out[e] = s;
    }
}

extern "C" __global__ void __launch_bounds__(WG_BLOCK) wgrad_partial_f32(float* __restrict__ partial,
        const float* __restrict__ dy, const float* __restrict__ x, long long rows, int M, int N, int rows_per_block) {
    wgrad_partial<float>(partial, dy, x, rows, M, N, rows_per_block);
}

extern "C" __global__ void __launch_bounds__(WG_BLOCK) wgrad_partial_bf16(float* __restrict__ partial,
        const __nv_bfloat16* __restrict__ dy, const __nv_bfloat16* __restrict__ x, long long rows, int M, int N,
        int rows_per_block) {
    wgrad_partial<__nv_bfloat16>(partial, dy, x, rows, M, N, rows_per_block);
}

// dW [M, N] then db [M] from partial [num_partials, M*N + M]: a thread per output, four accumulators over partials
// b, b + 1, b + 2, b + 3 (fixed order), summed pairwise at the end.
extern "C" __global__ void __launch_bounds__(WG_BLOCK) wgrad_reduce(float* __restrict__ dweight,
        float* __restrict__ dbias, const float* __restrict__ partial, int num_partials, int M, int N) {
    const int width = M * N + M;
    const int e = blockIdx.x * WG_BLOCK + threadIdx.x;
    if (e >= width) return;
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    int b = 0;
    for (; b + 3 < num_partials; b += 4) {
        a0 += partial[(long long)b * width + e];
        a1 += partial[(long long)(b + 1) * width + e];
        a2 += partial[(long long)(b + 2) * width + e];
        a3 += partial[(long long)(b + 3) * width + e];
    }
    for (; b < num_partials; b++) a0 += partial[(long long)b * width + e];
    const float s = (a0 + a1) + (a2 + a3);
    if (e < M * N) dweight[e] = s;
    else dbias[e - M * N] = s;
}
