// The C floor for LaunchBench: the same empty kernel (smoke_empty from the kernels jar's smoke.fatbin), the same
// geometry (1 block of 32 threads) and the same loops (1000 cuLaunchKernel calls then one synchronize; 10 replays of a
// 100-kernel graph then one synchronize), timed with the host clock, median of 200 rounds after at least one second
// of warm-up rounds (an idle H100 sits at a low clock, at which even empty kernels run slower than the host queues
// them). Each plain round also reports the enqueue time alone (the 1000 calls, before the synchronize): the host cost
// with no waiting on the GPU. Whatever the Java backends cost above these numbers is their binding's overhead.
// libcuda is opened with dlopen so this builds without the CUDA stubs:
//   gcc -O2 -I/usr/local/cuda/include launch_floor.c -ldl -o launch_floor && ./launch_floor smoke.fatbin [out.jsonl]
#include <cuda.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef CUresult (*init_t)(unsigned);
typedef CUresult (*device_get_t)(CUdevice *, int);
typedef CUresult (*ctx_retain_t)(CUcontext *, CUdevice);
typedef CUresult (*ctx_set_t)(CUcontext);
typedef CUresult (*module_load_t)(CUmodule *, const void *);
typedef CUresult (*get_function_t)(CUfunction *, CUmodule, const char *);
typedef CUresult (*stream_create_t)(CUstream *, unsigned);
typedef CUresult (*stream_sync_t)(CUstream);
typedef CUresult (*launch_t)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                             CUstream, void **, void **);
typedef CUresult (*begin_capture_t)(CUstream, CUstreamCaptureMode);
typedef CUresult (*end_capture_t)(CUstream, CUgraph *);
typedef CUresult (*instantiate_t)(CUgraphExec *, CUgraph, unsigned long long);
typedef CUresult (*graph_launch_t)(CUgraphExec, CUstream);
typedef CUresult (*driver_version_t)(int *);

static void *lib;

static void *sym(const char *name) {
    void *p = dlsym(lib, name);
    if (!p) { fprintf(stderr, "launch_floor: %s not found in libcuda.so.1\n", name); exit(2); }
    return p;
}

#define CHECK(call) do { CUresult r_ = (call); if (r_ != CUDA_SUCCESS) { \
    fprintf(stderr, "launch_floor: %s failed with CUresult %d\n", #call, (int) r_); exit(1); } } while (0)

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

enum { LAUNCHES = 1000, GRAPH_KERNELS = 100, REPLAYS = 10, ROUNDS = 200 };
static const double WARMUP_US = 1e6;

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: launch_floor smoke.fatbin [out.jsonl]\n"); return 2; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 2; }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *image = malloc(size);
    if (fread(image, 1, size, f) != (size_t) size) { fprintf(stderr, "short read of %s\n", argv[1]); return 2; }
    fclose(f);

    lib = dlopen("libcuda.so.1", RTLD_NOW);
    if (!lib) { fprintf(stderr, "launch_floor: %s\n", dlerror()); return 2; }
    init_t cuInit_ = sym("cuInit");
    driver_version_t cuDriverGetVersion_ = sym("cuDriverGetVersion");
    device_get_t cuDeviceGet_ = sym("cuDeviceGet");
    ctx_retain_t cuDevicePrimaryCtxRetain_ = sym("cuDevicePrimaryCtxRetain");
    ctx_set_t cuCtxSetCurrent_ = sym("cuCtxSetCurrent");
    module_load_t cuModuleLoadData_ = sym("cuModuleLoadData");
    get_function_t cuModuleGetFunction_ = sym("cuModuleGetFunction");
    stream_create_t cuStreamCreate_ = sym("cuStreamCreate");
    stream_sync_t cuStreamSynchronize_ = sym("cuStreamSynchronize");
    launch_t cuLaunchKernel_ = sym("cuLaunchKernel");
    begin_capture_t cuStreamBeginCapture_ = sym("cuStreamBeginCapture_v2");
    end_capture_t cuStreamEndCapture_ = sym("cuStreamEndCapture");
    instantiate_t cuGraphInstantiate_ = sym("cuGraphInstantiateWithFlags");
    graph_launch_t cuGraphLaunch_ = sym("cuGraphLaunch");

    CUdevice dev;
    CUcontext ctx;
    CUmodule module;
    CUfunction fn;
    CUstream stream;
    int version = 0;
    CHECK(cuInit_(0));
    CHECK(cuDriverGetVersion_(&version));
    CHECK(cuDeviceGet_(&dev, 0));
    CHECK(cuDevicePrimaryCtxRetain_(&ctx, dev));
    CHECK(cuCtxSetCurrent_(ctx));
    CHECK(cuModuleLoadData_(&module, image));
    CHECK(cuModuleGetFunction_(&fn, module, "smoke_empty"));
    CHECK(cuStreamCreate_(&stream, CU_STREAM_NON_BLOCKING));
    void *params[1] = {0};

    static double plain[ROUNDS], enqueue[ROUNDS], graph[ROUNDS];
    for (double start = now_us(); now_us() - start < WARMUP_US;) {
        for (int i = 0; i < LAUNCHES; i++) CHECK(cuLaunchKernel_(fn, 1, 1, 1, 32, 1, 1, 0, stream, params, NULL));
        CHECK(cuStreamSynchronize_(stream));
    }
    for (int round = 0; round < ROUNDS; round++) {
        double t0 = now_us();
        for (int i = 0; i < LAUNCHES; i++) CHECK(cuLaunchKernel_(fn, 1, 1, 1, 32, 1, 1, 0, stream, params, NULL));
        double t1 = now_us();
        CHECK(cuStreamSynchronize_(stream));
        plain[round] = (now_us() - t0) / LAUNCHES;
        enqueue[round] = (t1 - t0) / LAUNCHES;
    }

    CUgraph g;
    CUgraphExec exec;
    CHECK(cuStreamBeginCapture_(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
    for (int i = 0; i < GRAPH_KERNELS; i++) CHECK(cuLaunchKernel_(fn, 1, 1, 1, 32, 1, 1, 0, stream, params, NULL));
    CHECK(cuStreamEndCapture_(stream, &g));
    CHECK(cuGraphInstantiate_(&exec, g, 0));
    for (int round = 0; round < 50 + ROUNDS; round++) {
        double t0 = now_us();
        for (int r = 0; r < REPLAYS; r++) CHECK(cuGraphLaunch_(exec, stream));
        CHECK(cuStreamSynchronize_(stream));
        if (round >= 50) graph[round - 50] = (now_us() - t0) / (REPLAYS * GRAPH_KERNELS);
    }
    qsort(plain, ROUNDS, sizeof(double), cmp);
    qsort(enqueue, ROUNDS, sizeof(double), cmp);
    qsort(graph, ROUNDS, sizeof(double), cmp);
    char json[768];
    snprintf(json, sizeof json,
             "{\"driverVersion\":%d,\"launches\":%d,\"graphKernels\":%d,\"replays\":%d,\"rounds\":%d,"
             "\"launchUsPerKernelMedian\":%.4f,\"launchUsPerKernelP10\":%.4f,\"launchUsPerKernelP90\":%.4f,"
             "\"enqueueUsPerKernelMedian\":%.4f,\"enqueueUsPerKernelP10\":%.4f,\"enqueueUsPerKernelP90\":%.4f,"
             "\"graphUsPerKernelMedian\":%.4f,\"graphUsPerKernelP10\":%.4f,\"graphUsPerKernelP90\":%.4f}\n",
             version, LAUNCHES, GRAPH_KERNELS, REPLAYS, ROUNDS,
             plain[ROUNDS / 2], plain[ROUNDS / 10], plain[ROUNDS * 9 / 10],
             enqueue[ROUNDS / 2], enqueue[ROUNDS / 10], enqueue[ROUNDS * 9 / 10],
             graph[ROUNDS / 2], graph[ROUNDS / 10], graph[ROUNDS * 9 / 10]);
    fputs(json, stdout);
    if (argc > 2) {
        FILE *out = fopen(argv[2], "a");   // appends: one line per run
        if (!out) { perror(argv[2]); return 2; }
        fputs(json, out);
        fclose(out);
    }
    return 0;
}
