// Kernels for the native module's GPU tests. The PTX next to the tests is made from this file with
//   nvcc -ptx -arch=sm_80 -o ../resources/dev/mambaout/natives/test_kernels.ptx test_kernels.cu
// (sm_80 PTX: the driver JIT-compiles it for whatever newer GPU runs the tests).

// y[i] = a * x[i] + y[i]: exercises PTR and F32 and I32 parameters.
extern "C" __global__ void saxpy(int n, float a, const float* __restrict__ x, float* __restrict__ y) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}

// out[i] = base + i * step: exercises I64 parameters with values beyond 32 bits.
extern "C" __global__ void iota64(long long* out, long long base, long long step, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = base + (long long) i * step;
}

// Counts its launches: one thread adds 1, so after N launches the counter is N.
extern "C" __global__ void count(unsigned int* counter) {
    if (threadIdx.x == 0 && blockIdx.x == 0) atomicAdd(counter, 1u);
}
