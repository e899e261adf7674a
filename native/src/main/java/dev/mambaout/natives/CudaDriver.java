package dev.mambaout.natives;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The CUDA driver API as the engine uses it, behind one small interface with two implementations: Panama
 * (java.lang.foreign, the default) and JCuda. Handles (contexts, streams, events, modules, functions, graphs) are the
 * driver's own opaque values carried as {@code long}; device memory is a {@code CUdeviceptr} as {@code long}; host
 * memory is a {@link MemorySegment}. Every call checks its status and throws {@link CudaException} naming the call.
 *
 * <p>Get one with {@link Cuda#open()}; the backend comes from {@code -Dmambaout.cuda.backend=panama|jcuda} or
 * {@code MAMBAOUT_CUDA_BACKEND}. {@link Cuda#availability()} says, without throwing, whether there is a driver.
 *
 * <p>Threads: like the driver itself, calls work on the calling thread's current context; make it current with
 * {@link #contextSetCurrent} on each thread that uses the GPU. Handles are the driver's real values in both
 * backends, so they can be handed to other libraries (cuBLAS, cuDNN) bound through Panama.
 */
public interface CudaDriver {

    enum Backend { PANAMA, JCUDA }

    Backend backend();

    /** {@code cuDriverGetVersion}, e.g. 13000 for CUDA 13.0. */
    int driverVersion();

    int deviceCount();

    String deviceName(int ordinal);

    /** {@code cuDeviceGetAttribute}; see {@link DeviceAttribute} for the ones the engine reads. */
    int deviceAttribute(int ordinal, int attribute);

    long deviceTotalMem(int ordinal);

    // ---- contexts --------------------------------------------------------------------------------------------
    /** Retains the device's primary context (cuDevicePrimaryCtxRetain) and returns it. */
    long primaryContextRetain(int ordinal);

    void primaryContextRelease(int ordinal);

    /** Makes the context current on the calling thread (cuCtxSetCurrent). */
    void contextSetCurrent(long context);

    void contextSynchronize();

    /** {@code cuMemGetInfo_v2}: {free, total} bytes for the current context. */
    long[] memGetInfo();

    // ---- streams and events ----------------------------------------------------------------------------------
    long streamCreate(boolean nonBlocking);

    void streamSynchronize(long stream);

    void streamDestroy(long stream);

    void streamWaitEvent(long stream, long event);

    long eventCreate(boolean timing);

    void eventRecord(long event, long stream);

    void eventSynchronize(long event);

    /** Milliseconds between two recorded timing events (cuEventElapsedTime). */
    float eventElapsedMs(long start, long end);

    void eventDestroy(long event);

    // ---- memory ----------------------------------------------------------------------------------------------
    long memAlloc(long bytes);

    void memFree(long devicePtr);

    /** Page-locked host memory (cuMemHostAlloc), returned as a segment of exactly {@code bytes}. */
    MemorySegment memHostAlloc(long bytes);

    void memFreeHost(MemorySegment host);

    void memcpyHtoD(long dst, MemorySegment src, long bytes);

    void memcpyDtoH(MemorySegment dst, long src, long bytes);

    void memcpyDtoD(long dst, long src, long bytes);

    void memcpyHtoDAsync(long dst, MemorySegment src, long bytes, long stream);

    void memcpyDtoHAsync(MemorySegment dst, long src, long bytes, long stream);

    void memcpyDtoDAsync(long dst, long src, long bytes, long stream);

    void memsetD8Async(long dst, byte value, long count, long stream);

    void memsetD32Async(long dst, int value, long count, long stream);

    // ---- modules and launches --------------------------------------------------------------------------------
    /** Loads a fatbin, cubin or NUL-terminated PTX image (cuModuleLoadData). */
    long moduleLoadData(byte[] image);

    void moduleUnload(long module);

    long moduleGetFunction(long module, String name);

    /** cuFuncSetAttribute, e.g. CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES (8). */
    void funcSetAttribute(long function, int attribute, int value);

    /** A parameter block for a kernel with these parameters, for {@link #launchKernel}. */
    ParamBlock newParamBlock(List<ParamKind> kinds);

    /** cuLaunchKernel with the block's values; allocates nothing. */
    void launchKernel(long function, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                      int sharedMemBytes, long stream, ParamBlock params);

    // ---- CUDA graphs -----------------------------------------------------------------------------------------
    /** cuStreamBeginCapture_v2 in the thread-local mode. */
    void streamBeginCapture(long stream);

    /** Ends capture and returns the captured CUgraph. */
    long streamEndCapture(long stream);

    long graphInstantiate(long graph);

    void graphLaunch(long graphExec, long stream);

    void graphExecDestroy(long graphExec);

    void graphDestroy(long graph);

    /** Device attribute ids (CUdevice_attribute) the engine reads. */
    final class DeviceAttribute {
        public static final int MAX_THREADS_PER_BLOCK = 1;
        public static final int MAX_SHARED_MEMORY_PER_BLOCK = 8;
        public static final int WARP_SIZE = 10;
        public static final int CLOCK_RATE = 13;
        public static final int MULTIPROCESSOR_COUNT = 16;
        public static final int GLOBAL_MEMORY_BUS_WIDTH = 37;
        public static final int L2_CACHE_SIZE = 38;
        public static final int COMPUTE_CAPABILITY_MAJOR = 75;
        public static final int COMPUTE_CAPABILITY_MINOR = 76;
        public static final int MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;

        private DeviceAttribute() {}
    }
}
