// Softmax cross-entropy of the classifier's logits, forward and backward in one kernel, then the batch mean in a
// second tiny one. Semantics of graph's CrossEntropy / CrossEntropyBackward (CpuKernels.crossEntropy*): PyTorch's
// cross_entropy(logits, labels, label_smoothing=s, reduction='mean'), target q = (1 - s) onehot(label) + s / K:
//   loss_rows[n] = -sum_k q_k log softmax(x_n)_k = lse_n - (1 - s) x_n[label_n] - (s / K) sum_k x_n[k]
//   dlogits[n,k] = grad_scale * (softmax(x_n)_k - q_k),  grad_scale = dLoss / N (the mean's 1/N; dLoss = 1 in training)
//   loss_mean[0] = (sum_n loss_rows[n]) / N
// lse = max + log(sum_k exp(x_k - max)): max subtraction, so any finite logits are stable. f32 math and f32 loss for
// either storage type of the logits; dlogits has the logits' storage type (bf16 in a bf16 program: it is the head
// fc's dY, read by the backward GEMMs next to the bf16 weight and activations, as PyTorch autocast does).
//
// Labels outside [0, K) are no crash and no out-of-bounds read: that row's loss is NaN (so the mean is NaN, visible
// in the log), its dlogits row is 0 (the bad sample adds no gradient, so the weights stay finite), and
// cross_entropy_mean writes the number of such rows to bad_labels[0] (overwritten each step: no memset needed).
//
// Deterministic: no atomics. Within a row the sums run in a fixed order (strided lanes, xor butterfly, the row's warps
// added in warp order); the mean is one block summing the rows in a fixed order. So a CUDA-graph step never syncs
// the host for the loss, and two runs on the same inputs give identical bits.
//
// Launch (CrossEntropyKernels): cross_entropy_*: block 256 (8 warps), row_warps warps per row (1, 2, 4 or 8; 8 /
// row_warps rows per block), grid ceil(N / (8 / row_warps)). cross_entropy_mean: one block of any multiple of 32
// threads up to 1024 (256). dlogits must not overlap logits (restrict).
#include "common.cuh"
#include "storage.cuh"

constexpr int CE_BLOCK = 256;
constexpr int CE_WARPS = CE_BLOCK / WARP_SIZE;

__device__ __forceinline__ float ce_warp_max(float v) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, offset));
    return v;
}

// The warps of a row combine their (already warp-reduced) values in warp order. Every thread of the block calls it
// (the barriers), with the same row_warps. sa, sb: CE_WARPS floats each.
__device__ __forceinline__ void ce_row_max_sum(float& mx, float& s, float* sa, float* sb, int row_warps) {
    if (row_warps == 1) return;
    const int warp = threadIdx.x / WARP_SIZE, first = warp / row_warps * row_warps;
    __syncthreads();  // readers of the previous combine are done
    if (threadIdx.x % WARP_SIZE == 0) { sa[warp] = mx; sb[warp] = s; }
    __syncthreads();
    mx = sa[first];
    s = sb[first];
    for (int w = 1; w < row_warps; w++) { mx = fmaxf(mx, sa[first + w]); s += sb[first + w]; }
}

__device__ __forceinline__ void ce_row_sum(float& s, float* sb, int row_warps) {
    if (row_warps == 1) return;
    const int warp = threadIdx.x / WARP_SIZE, first = warp / row_warps * row_warps;
    __syncthreads();
    if (threadIdx.x % WARP_SIZE == 0) sb[warp] = s;
    __syncthreads();
    s = sb[first];
    for (int w = 1; w < row_warps; w++) s += sb[first + w];
}

template <typename T>
__device__ __forceinline__ void cross_entropy_rows(float* __restrict__ loss_rows, T* __restrict__ dlogits,
                                                   const T* __restrict__ logits, const int* __restrict__ labels,
                                                   int N, int K, float smoothing, float grad_scale, int row_warps) {
    __shared__ float sa[CE_WARPS], sb[CE_WARPS];
    const int warp = threadIdx.x / WARP_SIZE;
    const int row = blockIdx.x * (CE_WARPS / row_warps) + warp / row_warps;
    const int t = (warp % row_warps) * WARP_SIZE + threadIdx.x % WARP_SIZE, nt = row_warps * WARP_SIZE;
    const bool active = row < N;  // a block's spare rows still reach every barrier
    const long long base = (long long)(active ? row : 0) * K;
    const T* __restrict__ x = logits + base;

    // Pass 1: max and plain sum (the smoothing term) of the row.
    float mx = -INFINITY, sx = 0.0f;
    if (active) {
#pragma unroll 4
        for (int k = t; k < K; k += nt) {
            const float v = to_f32(x[k]);
            mx = fmaxf(mx, v);
            sx += v;
        }
    }
    mx = ce_warp_max(mx);
    sx = warp_sum(sx);
    ce_row_max_sum(mx, sx, sa, sb, row_warps);

    // Pass 2: sum of exp(x - max) (the row is in L1 now).
    float se = 0.0f;
    if (active) {
#pragma unroll 4
        for (int k = t; k < K; k += nt) se += expf(to_f32(x[k]) - mx);
    }
    se = warp_sum(se);
    ce_row_sum(se, sb, row_warps);
    if (!active) return;  // after the last barrier

    const float lse = mx + logf(se);
    const int label = labels[row];
    T* __restrict__ d = dlogits + base;
    if ((unsigned)label >= (unsigned)K) {
        for (int k = t; k < K; k += nt) d[k] = from_f32<T>(0.0f);
        if (t == 0) loss_rows[row] = __int_as_float(0x7fc00000);  // quiet NaN
        return;
    }
    const float off = smoothing / K, on = 1.0f - smoothing;  // q_k = off, plus on at the label
    // Pass 3: the gradient.
#pragma unroll 4
    for (int k = t; k < K; k += nt) {
        const float q = k == label ? on + off : off;
        d[k] = from_f32<T>(grad_scale * (expf(to_f32(x[k]) - lse) - q));
    }
    if (t == 0) loss_rows[row] = lse - on * to_f32(x[label]) - off * sx;
}

extern "C" __global__ void __launch_bounds__(CE_BLOCK) cross_entropy_f32(float* __restrict__ loss_rows,
        float* __restrict__ dlogits, const float* __restrict__ logits, const int* __restrict__ labels, int N,
        int classes, float smoothing, float grad_scale, int row_warps) {
    cross_entropy_rows(loss_rows, dlogits, logits, labels, N, classes, smoothing, grad_scale, row_warps);
}

extern "C" __global__ void __launch_bounds__(CE_BLOCK) cross_entropy_bf16(float* __restrict__ loss_rows,
        __nv_bfloat16* __restrict__ dlogits, const __nv_bfloat16* __restrict__ logits, const int* __restrict__ labels,
        int N, int classes, float smoothing, float grad_scale, int row_warps) {
    cross_entropy_rows(loss_rows, dlogits, logits, labels, N, classes, smoothing, grad_scale, row_warps);
}

// loss_mean[0] = sum of loss_rows / N and bad_labels[0] = the number of labels outside [0, classes), both overwritten.
// One block: thread i adds rows i, i + blockDim, ... in order, then the xor butterfly, then warp 0 adds the warps'
// sums in warp order: a fixed order for a fixed block size, so bit-for-bit repeatable.
extern "C" __global__ void cross_entropy_mean(float* __restrict__ loss_mean, int* __restrict__ bad_labels,
                                              const float* __restrict__ loss_rows, const int* __restrict__ labels,
                                              int N, int classes) {
    __shared__ float ss[WARP_SIZE];
    __shared__ int sc[WARP_SIZE];
    const int lane = threadIdx.x % WARP_SIZE, warp = threadIdx.x / WARP_SIZE, warps = blockDim.x / WARP_SIZE;
    float s = 0.0f;
    int bad = 0;
    for (int i = threadIdx.x; i < N; i += blockDim.x) {
        s += loss_rows[i];
        bad += (unsigned)labels[i] >= (unsigned)classes;
    }
    s = warp_sum(s);
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) bad += __shfl_xor_sync(FULL_MASK, bad, offset);
    if (lane == 0) { ss[warp] = s; sc[warp] = bad; }
    __syncthreads();
    if (threadIdx.x == 0) {
        float total = 0.0f;
        int count = 0;
        for (int w = 0; w < warps; w++) { total += ss[w]; count += sc[w]; }
        loss_mean[0] = total / N;
        bad_labels[0] = count;
    }
}
