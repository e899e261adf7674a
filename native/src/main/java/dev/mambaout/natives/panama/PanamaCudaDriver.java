package dev.mambaout.natives.panama;

import dev.mambaout.natives.CudaDriver;
import dev.mambaout.natives.CudaException;
import dev.mambaout.natives.CudaUnavailableException;
import dev.mambaout.natives.HostSegments;
import dev.mambaout.natives.ModuleImages;
import dev.mambaout.natives.NativeLibraries;
import dev.mambaout.natives.ParamBlock;
import dev.mambaout.natives.ParamKind;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The CUDA driver API through java.lang.foreign. One instance per process ({@link #create()}); the downcall handles
 * are {@code static final} fields of a holder class, so the JIT treats them as constants and inlines the calls.
 *
 * <p>Symbols: cuda.h turns plain names into versioned ones with macros ({@code cuMemAlloc} is
 * {@code cuMemAlloc_v2}, {@code cuStreamBeginCapture} is {@code cuStreamBeginCapture_v2},
 * {@code cuGraphInstantiate} is {@code cuGraphInstantiateWithFlags}, {@code cuEventElapsedTime} is
 * {@code cuEventElapsedTime_v2} from CUDA 12.8), and the unversioned exports are the old ABI kept for old binaries.
 * So each call binds the exact symbol cuda.h of CUDA 13.0 names; {@code cuEventElapsedTime_v2} falls back to the
 * original on drivers before 12.8, whose semantics it only refines.
 *
 * <p>ABI: opaque handles (CUstream, CUfunction, ...), device pointers, {@code void**} argument blocks and
 * {@code size_t} are all passed as {@code JAVA_LONG}. On the 64-bit Linux ABIs this engine supports (x86-64 SysV,
 * AAPCS64) a pointer and a 64-bit integer travel in the same integer register, so this is the same call, and it
 * spares a {@code MemorySegment.ofAddress} object per argument on the hot paths. Host memory is passed as a
 * {@link MemorySegment} ({@code ADDRESS}), which keeps its arena alive for the duration of the call.
 */
public final class PanamaCudaDriver implements CudaDriver {

    /** Where libcuda is looked for: the driver's real soname first, the development symlink second. */
    public static final List<String> SONAMES = List.of("libcuda.so.1", "libcuda.so");

    private static final int CU_STREAM_NON_BLOCKING = 0x1;
    private static final int CU_EVENT_DISABLE_TIMING = 0x2;
    private static final int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;
    private static final int CU_MEMHOSTALLOC_PORTABLE = 0x1;

    private static PanamaCudaDriver instance;

    private PanamaCudaDriver() {}

    /**
     * Loads libcuda, binds every entry point and runs {@code cuInit(0)} once per process.
     *
     * @throws CudaUnavailableException if libcuda is missing (listing every path tried), lacks a symbol, or cuInit fails
     */
    public static synchronized PanamaCudaDriver create() {
        if (instance != null) return instance;
        NativeLibraries.load("cuda", SONAMES);   // fails here, retriably, with the list of attempts
        int status;
        try {
            status = (int) Api.cuInit.invokeExact(0);
        } catch (ExceptionInInitializerError | NoClassDefFoundError e) {
            Throwable cause = e instanceof ExceptionInInitializerError ? e.getCause() : e;
            throw new CudaUnavailableException("libcuda loaded but could not be bound: " + cause.getMessage(), cause);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (status != 0) {
            CudaException e = error("cuInit", status);
            throw new CudaUnavailableException("cuInit(0) failed: " + e.getMessage(), e);
        }
        instance = new PanamaCudaDriver();
        return instance;
    }

    /** The downcall handles: initialized on first use, after {@link #create()} has found the library. */
    private static final class Api {
        static final SymbolLookup LIB = NativeLibraries.load("cuda", SONAMES).lookup();

        static final FunctionDescriptor ELAPSED = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG);
        static final boolean ELAPSED_V2 = LIB.find("cuEventElapsedTime_v2").isPresent();

        static final MethodHandle cuInit = bind("cuInit", JAVA_INT);
        static final MethodHandle cuGetErrorName = bind("cuGetErrorName", JAVA_INT, ADDRESS);
        static final MethodHandle cuGetErrorString = bind("cuGetErrorString", JAVA_INT, ADDRESS);
        static final MethodHandle cuDriverGetVersion = bind("cuDriverGetVersion", ADDRESS);
        static final MethodHandle cuDeviceGetCount = bind("cuDeviceGetCount", ADDRESS);
        static final MethodHandle cuDeviceGet = bind("cuDeviceGet", ADDRESS, JAVA_INT);
        static final MethodHandle cuDeviceGetName = bind("cuDeviceGetName", ADDRESS, JAVA_INT, JAVA_INT);
        static final MethodHandle cuDeviceGetAttribute = bind("cuDeviceGetAttribute", ADDRESS, JAVA_INT, JAVA_INT);
        static final MethodHandle cuDeviceTotalMem = bind("cuDeviceTotalMem_v2", ADDRESS, JAVA_INT);
        static final MethodHandle cuDevicePrimaryCtxRetain = bind("cuDevicePrimaryCtxRetain", ADDRESS, JAVA_INT);
        static final MethodHandle cuDevicePrimaryCtxRelease = bind("cuDevicePrimaryCtxRelease_v2", JAVA_INT);
        static final MethodHandle cuCtxSetCurrent = bind("cuCtxSetCurrent", JAVA_LONG);
        static final MethodHandle cuCtxSynchronize = bind("cuCtxSynchronize");
        static final MethodHandle cuMemGetInfo = bind("cuMemGetInfo_v2", ADDRESS, ADDRESS);

        static final MethodHandle cuStreamCreate = bind("cuStreamCreate", ADDRESS, JAVA_INT);
        static final MethodHandle cuStreamSynchronize = bind("cuStreamSynchronize", JAVA_LONG);
        static final MethodHandle cuStreamDestroy = bind("cuStreamDestroy_v2", JAVA_LONG);
        static final MethodHandle cuStreamWaitEvent = bind("cuStreamWaitEvent", JAVA_LONG, JAVA_LONG, JAVA_INT);
        static final MethodHandle cuEventCreate = bind("cuEventCreate", ADDRESS, JAVA_INT);
        static final MethodHandle cuEventSynchronize = bind("cuEventSynchronize", JAVA_LONG);
        static final MethodHandle cuEventElapsedTime = Downcalls.bind(LIB,
                ELAPSED_V2 ? "cuEventElapsedTime_v2" : "cuEventElapsedTime", ELAPSED);
        static final MethodHandle cuEventDestroy = bind("cuEventDestroy_v2", JAVA_LONG);

        static final MethodHandle cuMemAlloc = bind("cuMemAlloc_v2", ADDRESS, JAVA_LONG);
        static final MethodHandle cuMemFree = bind("cuMemFree_v2", JAVA_LONG);
        static final MethodHandle cuMemHostAlloc = bind("cuMemHostAlloc", ADDRESS, JAVA_LONG, JAVA_INT);
        static final MethodHandle cuMemFreeHost = bind("cuMemFreeHost", JAVA_LONG);
        static final MethodHandle cuMemcpyHtoD = bind("cuMemcpyHtoD_v2", JAVA_LONG, ADDRESS, JAVA_LONG);
        static final MethodHandle cuMemcpyDtoH = bind("cuMemcpyDtoH_v2", ADDRESS, JAVA_LONG, JAVA_LONG);
        static final MethodHandle cuMemcpyDtoD = bind("cuMemcpyDtoD_v2", JAVA_LONG, JAVA_LONG, JAVA_LONG);
        static final MethodHandle cuMemcpyHtoDAsync = bind("cuMemcpyHtoDAsync_v2", JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG);
        static final MethodHandle cuMemcpyDtoHAsync = bind("cuMemcpyDtoHAsync_v2", ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG);
        static final MethodHandle cuMemcpyDtoDAsync = bind("cuMemcpyDtoDAsync_v2", JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG);
        static final MethodHandle cuMemsetD8Async = bind("cuMemsetD8Async", JAVA_LONG, JAVA_BYTE, JAVA_LONG, JAVA_LONG);
        static final MethodHandle cuMemsetD32Async = bind("cuMemsetD32Async", JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG);

        static final MethodHandle cuModuleLoadData = bind("cuModuleLoadData", ADDRESS, ADDRESS);
        static final MethodHandle cuModuleUnload = bind("cuModuleUnload", JAVA_LONG);
        static final MethodHandle cuModuleGetFunction = bind("cuModuleGetFunction", ADDRESS, JAVA_LONG, ADDRESS);
        static final MethodHandle cuFuncSetAttribute = bind("cuFuncSetAttribute", JAVA_LONG, JAVA_INT, JAVA_INT);

        static final MethodHandle cuStreamBeginCapture = bind("cuStreamBeginCapture_v2", JAVA_LONG, JAVA_INT);
        static final MethodHandle cuStreamEndCapture = bind("cuStreamEndCapture", JAVA_LONG, ADDRESS);
        static final MethodHandle cuGraphInstantiate = bind("cuGraphInstantiateWithFlags", ADDRESS, JAVA_LONG, JAVA_LONG);
        static final MethodHandle cuGraphExecDestroy = bind("cuGraphExecDestroy", JAVA_LONG);
        static final MethodHandle cuGraphDestroy = bind("cuGraphDestroy", JAVA_LONG);

        // The hot three are "critical" downcalls: no Java-to-native thread-state transition, which is most of the
        // fixed cost of a short downcall. That is safe here because (1) they take only primitives, no heap memory;
        // (2) they never call back into Java: this engine enqueues no host functions (cuLaunchHostFunc) whose upcall
        // a GC safepoint could block while the launching thread waits; (3) they return after enqueueing work. The
        // one wait they can do, when the launch queue is full, ends as the GPU drains it and needs nothing from the
        // JVM; it only holds off a safepoint for that long, which a full queue means the host is far ahead anyway.
        static final MethodHandle cuLaunchKernel = bindCritical("cuLaunchKernel", JAVA_LONG,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG);
        static final MethodHandle cuGraphLaunch = bindCritical("cuGraphLaunch", JAVA_LONG, JAVA_LONG);
        static final MethodHandle cuEventRecord = bindCritical("cuEventRecord", JAVA_LONG, JAVA_LONG);

        private static MethodHandle bind(String name, ValueLayout... args) {
            return Downcalls.bind(LIB, name, FunctionDescriptor.of(JAVA_INT, args));
        }

        private static MethodHandle bindCritical(String name, ValueLayout... args) {
            return Downcalls.bind(LIB, name, FunctionDescriptor.of(JAVA_INT, args), Linker.Option.critical(false));
        }
    }

    // ---- status handling -------------------------------------------------------------------------------------

    private static void check(String call, int status) {
        if (status != 0) throw error(call, status);
    }

    /** Builds the exception for a failed call, asking the driver for the status's name and description. */
    private static CudaException error(String call, int status) {
        String name = null;
        String text = null;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            if ((int) Api.cuGetErrorName.invokeExact(status, out) == 0) name = Downcalls.cString(out.get(ADDRESS, 0));
            if ((int) Api.cuGetErrorString.invokeExact(status, out) == 0) text = Downcalls.cString(out.get(ADDRESS, 0));
        } catch (Throwable ignored) {
            // The description is a courtesy; the status number below still says what happened.
        }
        return new CudaException(call, status, name != null ? name : "CUresult " + status, text);
    }

    private static RuntimeException unexpected(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException("downcall failed", t);
    }

    // ---- version and devices ---------------------------------------------------------------------------------

    @Override
    public Backend backend() { return Backend.PANAMA; }

    @Override
    public int driverVersion() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("cuDriverGetVersion", (int) Api.cuDriverGetVersion.invokeExact(out));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int deviceCount() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("cuDeviceGetCount", (int) Api.cuDeviceGetCount.invokeExact(out));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    private static int device(int ordinal) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("cuDeviceGet(" + ordinal + ")", (int) Api.cuDeviceGet.invokeExact(out, ordinal));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public String deviceName(int ordinal) {
        int dev = device(ordinal);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(256);
            check("cuDeviceGetName", (int) Api.cuDeviceGetName.invokeExact(out, 256, dev));
            return out.getString(0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int deviceAttribute(int ordinal, int attribute) {
        int dev = device(ordinal);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("cuDeviceGetAttribute(" + attribute + ")", (int) Api.cuDeviceGetAttribute.invokeExact(out, attribute, dev));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public long deviceTotalMem(int ordinal) {
        int dev = device(ordinal);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuDeviceTotalMem_v2", (int) Api.cuDeviceTotalMem.invokeExact(out, dev));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // ---- contexts --------------------------------------------------------------------------------------------

    @Override
    public long primaryContextRetain(int ordinal) {
        int dev = device(ordinal);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuDevicePrimaryCtxRetain", (int) Api.cuDevicePrimaryCtxRetain.invokeExact(out, dev));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void primaryContextRelease(int ordinal) {
        int dev = device(ordinal);
        try {
            check("cuDevicePrimaryCtxRelease_v2", (int) Api.cuDevicePrimaryCtxRelease.invokeExact(dev));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void contextSetCurrent(long context) {
        try {
            check("cuCtxSetCurrent", (int) Api.cuCtxSetCurrent.invokeExact(context));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void contextSynchronize() {
        try {
            check("cuCtxSynchronize", (int) Api.cuCtxSynchronize.invokeExact());
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public long[] memGetInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment free = a.allocate(JAVA_LONG);
            MemorySegment total = a.allocate(JAVA_LONG);
            check("cuMemGetInfo_v2", (int) Api.cuMemGetInfo.invokeExact(free, total));
            return new long[] {free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0)};
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // ---- streams and events ----------------------------------------------------------------------------------

    @Override
    public long streamCreate(boolean nonBlocking) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuStreamCreate", (int) Api.cuStreamCreate.invokeExact(out, nonBlocking ? CU_STREAM_NON_BLOCKING : 0));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void streamSynchronize(long stream) {
        try {
            check("cuStreamSynchronize", (int) Api.cuStreamSynchronize.invokeExact(stream));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void streamDestroy(long stream) {
        try {
            check("cuStreamDestroy_v2", (int) Api.cuStreamDestroy.invokeExact(stream));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void streamWaitEvent(long stream, long event) {
        try {
            check("cuStreamWaitEvent", (int) Api.cuStreamWaitEvent.invokeExact(stream, event, 0));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public long eventCreate(boolean timing) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuEventCreate", (int) Api.cuEventCreate.invokeExact(out, timing ? 0 : CU_EVENT_DISABLE_TIMING));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void eventRecord(long event, long stream) {
        int status;
        try {
            status = (int) Api.cuEventRecord.invokeExact(event, stream);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (status != 0) throw error("cuEventRecord", status);
    }

    @Override
    public void eventSynchronize(long event) {
        try {
            check("cuEventSynchronize", (int) Api.cuEventSynchronize.invokeExact(event));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public float eventElapsedMs(long start, long end) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.JAVA_FLOAT);
            check(Api.ELAPSED_V2 ? "cuEventElapsedTime_v2" : "cuEventElapsedTime",
                    (int) Api.cuEventElapsedTime.invokeExact(out, start, end));
            return out.get(ValueLayout.JAVA_FLOAT, 0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void eventDestroy(long event) {
        try {
            check("cuEventDestroy_v2", (int) Api.cuEventDestroy.invokeExact(event));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // ---- memory ----------------------------------------------------------------------------------------------

    @Override
    public long memAlloc(long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("cuMemAlloc_v2: bytes must be positive, got " + bytes);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            int status = (int) Api.cuMemAlloc.invokeExact(out, bytes);
            if (status != 0) throw error("cuMemAlloc_v2(" + bytes + " bytes)", status);
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void memFree(long devicePtr) {
        try {
            check("cuMemFree_v2", (int) Api.cuMemFree.invokeExact(devicePtr));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public MemorySegment memHostAlloc(long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("cuMemHostAlloc: bytes must be positive, got " + bytes);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            int status = (int) Api.cuMemHostAlloc.invokeExact(out, bytes, CU_MEMHOSTALLOC_PORTABLE);
            if (status != 0) throw error("cuMemHostAlloc(" + bytes + " bytes)", status);
            return out.get(ADDRESS, 0).reinterpret(bytes);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void memFreeHost(MemorySegment host) {
        HostSegments.requireNative("cuMemFreeHost", host, 0);
        try {
            check("cuMemFreeHost", (int) Api.cuMemFreeHost.invokeExact(host.address()));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void memcpyHtoD(long dst, MemorySegment src, long bytes) {
        HostSegments.requireNative("cuMemcpyHtoD_v2", src, bytes);
        try {
            check("cuMemcpyHtoD_v2", (int) Api.cuMemcpyHtoD.invokeExact(dst, src, bytes));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void memcpyDtoH(MemorySegment dst, long src, long bytes) {
        HostSegments.requireNative("cuMemcpyDtoH_v2", dst, bytes);
        try {
            check("cuMemcpyDtoH_v2", (int) Api.cuMemcpyDtoH.invokeExact(dst, src, bytes));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void memcpyDtoD(long dst, long src, long bytes) {
        try {
            check("cuMemcpyDtoD_v2", (int) Api.cuMemcpyDtoD.invokeExact(dst, src, bytes));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void memcpyHtoDAsync(long dst, MemorySegment src, long bytes, long stream) {
        HostSegments.requireNative("cuMemcpyHtoDAsync_v2", src, bytes);
        try {
            check("cuMemcpyHtoDAsync_v2", (int) Api.cuMemcpyHtoDAsync.invokeExact(dst, src, bytes, stream));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void memcpyDtoHAsync(MemorySegment dst, long src, long bytes, long stream) {
        HostSegments.requireNative("cuMemcpyDtoHAsync_v2", dst, bytes);
        try {
            check("cuMemcpyDtoHAsync_v2", (int) Api.cuMemcpyDtoHAsync.invokeExact(dst, src, bytes, stream));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void memcpyDtoDAsync(long dst, long src, long bytes, long stream) {
        try {
            check("cuMemcpyDtoDAsync_v2", (int) Api.cuMemcpyDtoDAsync.invokeExact(dst, src, bytes, stream));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void memsetD8Async(long dst, byte value, long count, long stream) {
        try {
            check("cuMemsetD8Async", (int) Api.cuMemsetD8Async.invokeExact(dst, value, count, stream));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void memsetD32Async(long dst, int value, long count, long stream) {
        try {
            check("cuMemsetD32Async", (int) Api.cuMemsetD32Async.invokeExact(dst, value, count, stream));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // ---- modules and launches --------------------------------------------------------------------------------

    @Override
    public long moduleLoadData(byte[] image) {
        byte[] bytes = ModuleImages.forLoad(image);
        try (Arena a = Arena.ofConfined()) {
            // The driver copies (or JIT-compiles) the image during the call, so the native copy can go right after.
            MemorySegment copy = a.allocateFrom(JAVA_BYTE, bytes);
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuModuleLoadData (" + ModuleImages.describe(bytes) + ")",
                    (int) Api.cuModuleLoadData.invokeExact(out, copy));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void moduleUnload(long module) {
        try {
            check("cuModuleUnload", (int) Api.cuModuleUnload.invokeExact(module));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public long moduleGetFunction(long module, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuModuleGetFunction(\"" + name + "\")",
                    (int) Api.cuModuleGetFunction.invokeExact(out, module, a.allocateFrom(name)));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void funcSetAttribute(long function, int attribute, int value) {
        try {
            check("cuFuncSetAttribute(" + attribute + ", " + value + ")",
                    (int) Api.cuFuncSetAttribute.invokeExact(function, attribute, value));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public ParamBlock newParamBlock(List<ParamKind> kinds) {
        return new PanamaParamBlock(kinds);
    }

    /**
     * One critical downcall with the block's prebuilt {@code void**}: no allocation, no copying, no lookups. The
     * status is checked inline and the exception built only on failure.
     */
    @Override
    public void launchKernel(long function, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                             int sharedMemBytes, long stream, ParamBlock params) {
        if (!(params instanceof PanamaParamBlock block)) throw foreignBlock(params);
        int status;
        try {
            status = (int) Api.cuLaunchKernel.invokeExact(function, gridX, gridY, gridZ, blockX, blockY, blockZ,
                    sharedMemBytes, stream, block.address(), 0L);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (status != 0) throw error("cuLaunchKernel", status);
    }

    private static IllegalArgumentException foreignBlock(ParamBlock params) {
        return new IllegalArgumentException("launchKernel needs a ParamBlock made by this (Panama) driver's"
                + " newParamBlock, got " + (params == null ? "null" : params.getClass().getName()));
    }

    // ---- CUDA graphs -----------------------------------------------------------------------------------------

    @Override
    public void streamBeginCapture(long stream) {
        try {
            check("cuStreamBeginCapture_v2",
                    (int) Api.cuStreamBeginCapture.invokeExact(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public long streamEndCapture(long stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuStreamEndCapture", (int) Api.cuStreamEndCapture.invokeExact(stream, out));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public long graphInstantiate(long graph) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuGraphInstantiateWithFlags", (int) Api.cuGraphInstantiate.invokeExact(out, graph, 0L));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void graphLaunch(long graphExec, long stream) {
        int status;
        try {
            status = (int) Api.cuGraphLaunch.invokeExact(graphExec, stream);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (status != 0) throw error("cuGraphLaunch", status);
    }

    @Override
    public void graphExecDestroy(long graphExec) {
        try {
            check("cuGraphExecDestroy", (int) Api.cuGraphExecDestroy.invokeExact(graphExec));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public void graphDestroy(long graph) {
        try {
            check("cuGraphDestroy", (int) Api.cuGraphDestroy.invokeExact(graph));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }
}
