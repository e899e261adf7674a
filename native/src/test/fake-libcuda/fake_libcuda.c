// A CPU stand-in for libcuda.so.1, for checking the Java bindings' plumbing on a machine without a GPU: symbol
// names, argument layouts, out-parameters, the kernel-parameter blocks of both backends, error mapping. It is not
// a CUDA emulator: "device" memory is host memory, streams run everything at once, and cuLaunchKernel knows only
// the three kernels of test_kernels.cu, which it runs on the CPU from the parameter block it is handed. Each
// function is defined with cuda.h's own prototype (-Werror=missing-prototypes), so a binding to a name that
// cuda.h does not declare, such as a wrong _v2 suffix, shows up here at compile time. See native/README.md.
#include <cuda.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

CUresult CUDAAPI cuInit(unsigned int flags) { return CUDA_SUCCESS; }
CUresult CUDAAPI cuDriverGetVersion(int *v) { *v = 13000; return CUDA_SUCCESS; }

CUresult CUDAAPI cuGetErrorName(CUresult e, const char **s) {
    switch (e) {
        case CUDA_SUCCESS: *s = "CUDA_SUCCESS"; return CUDA_SUCCESS;
        case CUDA_ERROR_INVALID_VALUE: *s = "CUDA_ERROR_INVALID_VALUE"; return CUDA_SUCCESS;
        case CUDA_ERROR_OUT_OF_MEMORY: *s = "CUDA_ERROR_OUT_OF_MEMORY"; return CUDA_SUCCESS;
        case CUDA_ERROR_INVALID_HANDLE: *s = "CUDA_ERROR_INVALID_HANDLE"; return CUDA_SUCCESS;
        case CUDA_ERROR_NOT_FOUND: *s = "CUDA_ERROR_NOT_FOUND"; return CUDA_SUCCESS;
        default: *s = NULL; return CUDA_ERROR_INVALID_VALUE;
    }
}

CUresult CUDAAPI cuGetErrorString(CUresult e, const char **s) {
    const char *name;
    if (cuGetErrorName(e, &name) != CUDA_SUCCESS) { *s = NULL; return CUDA_ERROR_INVALID_VALUE; }
    *s = "(fake libcuda)";
    return CUDA_SUCCESS;
}

// ---- device and context ----
CUresult CUDAAPI cuDeviceGetCount(int *c) { *c = 1; return CUDA_SUCCESS; }
CUresult CUDAAPI cuDeviceGet(CUdevice *d, int ordinal) {
    if (ordinal != 0) return CUDA_ERROR_INVALID_DEVICE;
    *d = 0;
    return CUDA_SUCCESS;
}
CUresult CUDAAPI cuDeviceGetName(char *name, int len, CUdevice d) { snprintf(name, len, "Fake CUDA CPU"); return CUDA_SUCCESS; }
CUresult CUDAAPI cuDeviceGetAttribute(int *v, CUdevice_attribute a, CUdevice d) {
    switch (a) {
        case CU_DEVICE_ATTRIBUTE_WARP_SIZE: *v = 32; break;
        case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *v = 9; break;
        case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *v = 0; break;
        case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *v = 132; break;
        default: *v = 1;
    }
    return CUDA_SUCCESS;
}
CUresult CUDAAPI cuDeviceTotalMem_v2(size_t *bytes, CUdevice d) { *bytes = 80ull << 30; return CUDA_SUCCESS; }

static int primary_context;
CUresult CUDAAPI cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice d) { *c = (CUcontext) &primary_context; return CUDA_SUCCESS; }
CUresult CUDAAPI cuDevicePrimaryCtxRelease_v2(CUdevice d) { return CUDA_SUCCESS; }
CUresult CUDAAPI cuCtxSetCurrent(CUcontext c) { return c == (CUcontext) &primary_context ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE; }
CUresult CUDAAPI cuCtxSynchronize(void) { return CUDA_SUCCESS; }
CUresult CUDAAPI cuMemGetInfo_v2(size_t *free_, size_t *total) { *free_ = 70ull << 30; *total = 79ull << 30; return CUDA_SUCCESS; }

// ---- streams, events, captured graphs ----
typedef struct { CUfunction f; unsigned threads; char args[4][8]; } Node;
typedef struct { int capturing; Node *nodes; int n; } Stream;
typedef struct { Node *nodes; int n; } Graph;
typedef struct { unsigned flags; double ms; int recorded; } Event;

CUresult CUDAAPI cuStreamCreate(CUstream *s, unsigned int flags) { *s = calloc(1, sizeof(Stream)); return CUDA_SUCCESS; }
CUresult CUDAAPI cuStreamSynchronize(CUstream s) { return CUDA_SUCCESS; }
CUresult CUDAAPI cuStreamDestroy_v2(CUstream s) { free(s); return CUDA_SUCCESS; }
CUresult CUDAAPI cuStreamWaitEvent(CUstream s, CUevent e, unsigned int flags) {
    return ((Event *) e)->recorded ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}
CUresult CUDAAPI cuEventCreate(CUevent *e, unsigned int flags) {
    Event *ev = calloc(1, sizeof(Event));
    ev->flags = flags;
    *e = (CUevent) ev;
    return CUDA_SUCCESS;
}
CUresult CUDAAPI cuEventRecord(CUevent e, CUstream s) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ((Event *) e)->ms = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
    ((Event *) e)->recorded = 1;
    return CUDA_SUCCESS;
}
CUresult CUDAAPI cuEventSynchronize(CUevent e) { return CUDA_SUCCESS; }
CUresult CUDAAPI cuEventElapsedTime_v2(float *ms, CUevent a, CUevent b) {
    Event *x = (Event *) a, *y = (Event *) b;
    if ((x->flags | y->flags) & CU_EVENT_DISABLE_TIMING) return CUDA_ERROR_INVALID_HANDLE;
    *ms = (float) (y->ms - x->ms);
    return CUDA_SUCCESS;
}
// The pre-12.8 name, which JCuda 12.6 links against; cuda.h 13 only has it as a macro for the _v2.
#undef cuEventElapsedTime
CUresult CUDAAPI cuEventElapsedTime(float *ms, CUevent a, CUevent b);
CUresult CUDAAPI cuEventElapsedTime(float *ms, CUevent a, CUevent b) { return cuEventElapsedTime_v2(ms, a, b); }
CUresult CUDAAPI cuEventDestroy_v2(CUevent e) { free(e); return CUDA_SUCCESS; }

// ---- memory ----
CUresult CUDAAPI cuMemAlloc_v2(CUdeviceptr *p, size_t n) {
    if (n > (1ull << 40)) return CUDA_ERROR_OUT_OF_MEMORY;
    *p = (CUdeviceptr) malloc(n);
    return CUDA_SUCCESS;
}
CUresult CUDAAPI cuMemFree_v2(CUdeviceptr p) { free((void *) p); return CUDA_SUCCESS; }
CUresult CUDAAPI cuMemHostAlloc(void **p, size_t n, unsigned int flags) { *p = malloc(n); return CUDA_SUCCESS; }
CUresult CUDAAPI cuMemFreeHost(void *p) { free(p); return CUDA_SUCCESS; }
CUresult CUDAAPI cuMemcpyHtoD_v2(CUdeviceptr d, const void *s, size_t n) { memcpy((void *) d, s, n); return CUDA_SUCCESS; }
CUresult CUDAAPI cuMemcpyDtoH_v2(void *d, CUdeviceptr s, size_t n) { memcpy(d, (void *) s, n); return CUDA_SUCCESS; }
CUresult CUDAAPI cuMemcpyDtoD_v2(CUdeviceptr d, CUdeviceptr s, size_t n) { memcpy((void *) d, (void *) s, n); return CUDA_SUCCESS; }
CUresult CUDAAPI cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *s, size_t n, CUstream st) { return cuMemcpyHtoD_v2(d, s, n); }
CUresult CUDAAPI cuMemcpyDtoHAsync_v2(void *d, CUdeviceptr s, size_t n, CUstream st) { return cuMemcpyDtoH_v2(d, s, n); }
CUresult CUDAAPI cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st) { return cuMemcpyDtoD_v2(d, s, n); }
CUresult CUDAAPI cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, CUstream s) { memset((void *) d, v, n); return CUDA_SUCCESS; }
CUresult CUDAAPI cuMemsetD32Async(CUdeviceptr d, unsigned int v, size_t n, CUstream s) {
    for (size_t i = 0; i < n; i++) ((unsigned int *) d)[i] = v;
    return CUDA_SUCCESS;
}

// ---- modules and the three test kernels ----
static int module;
static int kernels[3];   // saxpy, iota64, count
#define SAXPY ((CUfunction) &kernels[0])
#define IOTA64 ((CUfunction) &kernels[1])
#define COUNT ((CUfunction) &kernels[2])

CUresult CUDAAPI cuModuleLoadData(CUmodule *m, const void *image) {
    // PTX must arrive NUL-terminated: strstr would run off the end otherwise, as the real driver would.
    if (strstr((const char *) image, ".entry saxpy") == NULL) return CUDA_ERROR_INVALID_IMAGE;
    *m = (CUmodule) &module;
    return CUDA_SUCCESS;
}
CUresult CUDAAPI cuModuleUnload(CUmodule m) { return CUDA_SUCCESS; }
CUresult CUDAAPI cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name) {
    if (!strcmp(name, "saxpy")) *f = SAXPY;
    else if (!strcmp(name, "iota64")) *f = IOTA64;
    else if (!strcmp(name, "count")) *f = COUNT;
    else return CUDA_ERROR_NOT_FOUND;
    return CUDA_SUCCESS;
}
CUresult CUDAAPI cuFuncSetAttribute(CUfunction f, CUfunction_attribute a, int v) { return CUDA_SUCCESS; }

static void run(const Node *nd) {
    if (nd->f == SAXPY) {
        int n = *(int *) nd->args[0];
        float a = *(float *) nd->args[1];
        float *x = *(float **) nd->args[2], *y = *(float **) nd->args[3];
        for (int i = 0; i < n && i < (int) nd->threads; i++) y[i] = __builtin_fmaf(a, x[i], y[i]);
    } else if (nd->f == IOTA64) {
        long long *out = *(long long **) nd->args[0];
        long long base = *(long long *) nd->args[1], step = *(long long *) nd->args[2];
        int n = *(int *) nd->args[3];
        for (int i = 0; i < n && i < (int) nd->threads; i++) out[i] = base + (long long) i * step;
    } else {
        (**(unsigned int **) nd->args[0])++;
    }
}

CUresult CUDAAPI cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
                                unsigned int by, unsigned int bz, unsigned int shared, CUstream s, void **params,
                                void **extra) {
    static const int saxpy_sizes[] = {4, 4, 8, 8}, iota_sizes[] = {8, 8, 8, 4}, count_sizes[] = {8};
    if (bx * by * bz > 1024) return CUDA_ERROR_INVALID_VALUE;
    const int *sizes = f == SAXPY ? saxpy_sizes : f == IOTA64 ? iota_sizes : count_sizes;
    int count = f == COUNT ? 1 : 4;
    Node nd = {.f = f, .threads = gx * bx};
    for (int i = 0; i < count; i++) memcpy(nd.args[i], params[i], sizes[i]);   // by value, as the driver does
    Stream *st = (Stream *) s;
    if (st != NULL && st->capturing) {
        st->nodes = realloc(st->nodes, (st->n + 1) * sizeof(Node));
        st->nodes[st->n++] = nd;
        return CUDA_SUCCESS;
    }
    run(&nd);
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuStreamBeginCapture_v2(CUstream s, CUstreamCaptureMode mode) {
    if (s == NULL || mode != CU_STREAM_CAPTURE_MODE_THREAD_LOCAL) return CUDA_ERROR_INVALID_VALUE;
    ((Stream *) s)->capturing = 1;
    return CUDA_SUCCESS;
}
CUresult CUDAAPI cuStreamEndCapture(CUstream s, CUgraph *g) {
    Stream *st = (Stream *) s;
    Graph *graph = malloc(sizeof(Graph));
    graph->nodes = st->nodes;
    graph->n = st->n;
    st->nodes = NULL;
    st->n = 0;
    st->capturing = 0;
    *g = (CUgraph) graph;
    return CUDA_SUCCESS;
}
CUresult CUDAAPI cuGraphInstantiateWithFlags(CUgraphExec *e, CUgraph g, unsigned long long flags) { *e = (CUgraphExec) g; return CUDA_SUCCESS; }
CUresult CUDAAPI cuGraphLaunch(CUgraphExec e, CUstream s) {
    Graph *g = (Graph *) e;
    for (int i = 0; i < g->n; i++) run(&g->nodes[i]);
    return CUDA_SUCCESS;
}
CUresult CUDAAPI cuGraphExecDestroy(CUgraphExec e) { return CUDA_SUCCESS; }
CUresult CUDAAPI cuGraphDestroy(CUgraph g) { free(((Graph *) g)->nodes); free(g); return CUDA_SUCCESS; }
