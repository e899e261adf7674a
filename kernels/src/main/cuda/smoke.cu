// Kernels that exercise the launch path itself: an empty kernel to measure launch overhead, and tiny elementwise
// kernels whose results are trivial to check from Java.
#include "common.cuh"

extern "C" __global__ void smoke_empty() {}

// y[i] = value for i < n.
extern "C" __global__ void smoke_fill(float* __restrict__ y, float value, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = value;
}

// y[i] = a * x[i] + y[i] for i < n.
extern "C" __global__ void smoke_axpy(float* __restrict__ y, const float* __restrict__ x, float a, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = fmaf(a, x[i], y[i]);
}
