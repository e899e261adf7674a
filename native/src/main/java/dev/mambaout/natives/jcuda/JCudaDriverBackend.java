package dev.mambaout.natives.jcuda;

import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaDriver;
import dev.mambaout.natives.CudaException;
import dev.mambaout.natives.CudaUnavailableException;
import dev.mambaout.natives.HostSegments;
import dev.mambaout.natives.ModuleImages;
import dev.mambaout.natives.NativeLibraries;
import dev.mambaout.natives.ParamBlock;
import dev.mambaout.natives.ParamKind;
import dev.mambaout.natives.panama.PanamaCudaDriver;
import jcuda.Pointer;
import jcuda.driver.CUdevice;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The CUDA driver API through JCuda 12.6 ({@code jcuda.driver.JCudaDriver}), as the second backend and the baseline
 * Panama is measured against. JCuda's own exceptions are off; every return code is checked here and turned into
 * the same {@link CudaException} the Panama backend throws ({@code CUresult.stringFor}, {@code cuGetErrorString}).
 *
 * <p>Handles: JCuda wraps each driver handle in an object, the engine passes {@code long}s. Objects this backend
 * creates are subclasses that expose the driver's value ({@link Handles}), and are kept in lock-free tables keyed
 * by that value, so a {@code long} from this backend is the real handle (usable by the Panama cuBLAS/cuDNN
 * bindings) and maps back to its object without allocation. A stream, event, module, function or graph handle
 * this backend did not create (other than the NULL, legacy and per-thread streams) is refused with a message.
 *
 * <p>Host memory: a native {@link MemorySegment} is handed to JCuda as a Pointer to its address. That is the same
 * thing JCuda does for {@code Pointer.to(segment.asByteBuffer())} (a direct buffer's address) without a buffer
 * object per copy and without the buffer's 2 GiB limit. Heap segments are refused: their arrays move with the GC.
 */
public final class JCudaDriverBackend implements CudaDriver {

    private static final CUstream NULL_STREAM = new CUstream();

    private static JCudaDriverBackend instance;

    private final HandleTable<Handles.Stream> streams = new HandleTable<>();
    private final HandleTable<Handles.Event> events = new HandleTable<>();
    private final HandleTable<Handles.Module> modules = new HandleTable<>();
    private final HandleTable<Handles.Function> functions = new HandleTable<>();
    private final HandleTable<Handles.Graph> graphs = new HandleTable<>();
    private final HandleTable<Handles.GraphExec> graphExecs = new HandleTable<>();
    private final HandleTable<Handles.Context> contexts = new HandleTable<>();
    /** The functions taken from each module, dropped from {@link #functions} when it is unloaded. */
    private final Map<Long, List<Long>> moduleFunctions = new ConcurrentHashMap<>();

    private JCudaDriverBackend() {}

    /**
     * Loads JCuda's native library and runs {@code cuInit(0)} once per process.
     *
     * @throws CudaUnavailableException if libcuda is missing (listing every path tried, as the Panama backend
     *                                  does), JCuda's native library does not load, or cuInit fails
     */
    public static synchronized JCudaDriverBackend create() {
        if (instance != null) return instance;
        // JCuda's own library links against libcuda.so.1; looking for it first gives the same report of where it
        // was searched as the Panama backend, instead of a bare UnsatisfiedLinkError from JCuda's loader.
        NativeLibraries.load("cuda", PanamaCudaDriver.SONAMES);
        int status;
        try {
            JCudaDriver.setExceptionsEnabled(false);
            status = JCudaDriver.cuInit(0);
        } catch (LinkageError e) {
            throw new CudaUnavailableException("JCuda's native driver library did not load (org.jcuda:jcuda-natives"
                    + " for this platform must be on the class path): " + Cuda.summary(e), e);
        }
        if (status != CUresult.CUDA_SUCCESS) {
            CudaException e = error("cuInit", status);
            throw new CudaUnavailableException("cuInit(0) failed: " + e.getMessage(), e);
        }
        instance = new JCudaDriverBackend();
        return instance;
    }

    // ---- status handling -------------------------------------------------------------------------------------

    private static void check(String call, int status) {
        if (status != CUresult.CUDA_SUCCESS) throw error(call, status);
    }

    private static CudaException error(String call, int status) {
        String[] text = new String[1];
        String description = JCudaDriver.cuGetErrorString(status, text) == CUresult.CUDA_SUCCESS ? text[0] : null;
        return new CudaException(call, status, CUresult.stringFor(status), description);
    }

    private static <T> T require(T handle, String kind, long value) {
        if (handle == null) {
            throw new IllegalArgumentException(kind + " 0x" + Long.toHexString(value) + " was not created by this"
                    + " JCuda backend (or was already destroyed)");
        }
        return handle;
    }

    /**
     * JCuda's own stream object for a stream value this backend created (or 0, 1, 2), for JCuda-side libraries such
     * as JCublas whose calls take a CUstream rather than its value.
     */
    public CUstream jcudaStream(long value) {
        if (value == 0) return NULL_STREAM;
        Handles.Stream s = streams.get(value);
        if (s != null) return s;
        if (value == 1) return JCudaDriver.CU_STREAM_LEGACY;
        if (value == 2) return JCudaDriver.CU_STREAM_PER_THREAD;
        return require(null, "stream", value);
    }

    private static CUdevice device(int ordinal) {
        CUdevice dev = new CUdevice();
        check("cuDeviceGet(" + ordinal + ")", JCudaDriver.cuDeviceGet(dev, ordinal));
        return dev;
    }

    // ---- version and devices ---------------------------------------------------------------------------------

    @Override
    public Backend backend() { return Backend.JCUDA; }

    @Override
    public int driverVersion() {
        int[] v = new int[1];
        check("cuDriverGetVersion", JCudaDriver.cuDriverGetVersion(v));
        return v[0];
    }

    @Override
    public int deviceCount() {
        int[] n = new int[1];
        check("cuDeviceGetCount", JCudaDriver.cuDeviceGetCount(n));
        return n[0];
    }

    @Override
    public String deviceName(int ordinal) {
        byte[] name = new byte[256];
        check("cuDeviceGetName", JCudaDriver.cuDeviceGetName(name, name.length, device(ordinal)));
        int end = 0;
        while (end < name.length && name[end] != 0) end++;
        return new String(name, 0, end, StandardCharsets.UTF_8);
    }

    @Override
    public int deviceAttribute(int ordinal, int attribute) {
        int[] v = new int[1];
        check("cuDeviceGetAttribute(" + attribute + ")", JCudaDriver.cuDeviceGetAttribute(v, attribute, device(ordinal)));
        return v[0];
    }

    @Override
    public long deviceTotalMem(int ordinal) {
        long[] v = new long[1];
        check("cuDeviceTotalMem", JCudaDriver.cuDeviceTotalMem(v, device(ordinal)));
        return v[0];
    }

    // ---- contexts --------------------------------------------------------------------------------------------

    @Override
    public long primaryContextRetain(int ordinal) {
        Handles.Context ctx = new Handles.Context();
        check("cuDevicePrimaryCtxRetain", JCudaDriver.cuDevicePrimaryCtxRetain(ctx, device(ordinal)));
        contexts.put(ctx.value(), ctx);
        return ctx.value();
    }

    @Override
    public void primaryContextRelease(int ordinal) {
        check("cuDevicePrimaryCtxRelease", JCudaDriver.cuDevicePrimaryCtxRelease(device(ordinal)));
    }

    @Override
    public void contextSetCurrent(long context) {
        check("cuCtxSetCurrent", JCudaDriver.cuCtxSetCurrent(require(contexts.get(context), "context", context)));
    }

    @Override
    public void contextSynchronize() {
        check("cuCtxSynchronize", JCudaDriver.cuCtxSynchronize());
    }

    @Override
    public long[] memGetInfo() {
        long[] free = new long[1];
        long[] total = new long[1];
        check("cuMemGetInfo", JCudaDriver.cuMemGetInfo(free, total));
        return new long[] {free[0], total[0]};
    }

    // ---- streams and events ----------------------------------------------------------------------------------

    @Override
    public long streamCreate(boolean nonBlocking) {
        Handles.Stream s = new Handles.Stream();
        check("cuStreamCreate", JCudaDriver.cuStreamCreate(s, nonBlocking ? 1 : 0));
        streams.put(s.value(), s);
        return s.value();
    }

    @Override
    public void streamSynchronize(long stream) {
        check("cuStreamSynchronize", JCudaDriver.cuStreamSynchronize(jcudaStream(stream)));
    }

    @Override
    public void streamDestroy(long stream) {
        check("cuStreamDestroy", JCudaDriver.cuStreamDestroy(require(streams.get(stream), "stream", stream)));
        streams.remove(stream);
    }

    @Override
    public void streamWaitEvent(long stream, long event) {
        check("cuStreamWaitEvent",
                JCudaDriver.cuStreamWaitEvent(jcudaStream(stream), require(events.get(event), "event", event), 0));
    }

    @Override
    public long eventCreate(boolean timing) {
        Handles.Event e = new Handles.Event();
        check("cuEventCreate", JCudaDriver.cuEventCreate(e, timing ? 0 : 2 /* CU_EVENT_DISABLE_TIMING */));
        events.put(e.value(), e);
        return e.value();
    }

    @Override
    public void eventRecord(long event, long stream) {
        int status = JCudaDriver.cuEventRecord(require(events.get(event), "event", event), jcudaStream(stream));
        if (status != CUresult.CUDA_SUCCESS) throw error("cuEventRecord", status);
    }

    @Override
    public void eventSynchronize(long event) {
        check("cuEventSynchronize", JCudaDriver.cuEventSynchronize(require(events.get(event), "event", event)));
    }

    @Override
    public float eventElapsedMs(long start, long end) {
        float[] ms = new float[1];
        check("cuEventElapsedTime", JCudaDriver.cuEventElapsedTime(ms,
                require(events.get(start), "event", start), require(events.get(end), "event", end)));
        return ms[0];
    }

    @Override
    public void eventDestroy(long event) {
        check("cuEventDestroy", JCudaDriver.cuEventDestroy(require(events.get(event), "event", event)));
        events.remove(event);
    }

    // ---- memory ----------------------------------------------------------------------------------------------

    @Override
    public long memAlloc(long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("cuMemAlloc: bytes must be positive, got " + bytes);
        Handles.DevicePtr p = new Handles.DevicePtr();
        check("cuMemAlloc(" + bytes + " bytes)", JCudaDriver.cuMemAlloc(p, bytes));
        return p.value();
    }

    @Override
    public void memFree(long devicePtr) {
        check("cuMemFree", JCudaDriver.cuMemFree(new Handles.DevicePtr(devicePtr)));
    }

    @Override
    public MemorySegment memHostAlloc(long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("cuMemHostAlloc: bytes must be positive, got " + bytes);
        Handles.HostPtr p = new Handles.HostPtr();
        check("cuMemHostAlloc(" + bytes + " bytes)", JCudaDriver.cuMemHostAlloc(p, bytes, 1 /* PORTABLE */));
        return MemorySegment.ofAddress(p.value()).reinterpret(bytes);
    }

    @Override
    public void memFreeHost(MemorySegment host) {
        HostSegments.requireNative("cuMemFreeHost", host, 0);
        check("cuMemFreeHost", JCudaDriver.cuMemFreeHost(new Handles.HostPtr(host.address())));
    }

    private static Pointer host(String call, MemorySegment segment, long bytes) {
        HostSegments.requireNative(call, segment, bytes);
        return new Handles.HostPtr(segment.address());
    }

    @Override
    public void memcpyHtoD(long dst, MemorySegment src, long bytes) {
        check("cuMemcpyHtoD", JCudaDriver.cuMemcpyHtoD(new Handles.DevicePtr(dst), host("cuMemcpyHtoD", src, bytes), bytes));
    }

    @Override
    public void memcpyDtoH(MemorySegment dst, long src, long bytes) {
        check("cuMemcpyDtoH", JCudaDriver.cuMemcpyDtoH(host("cuMemcpyDtoH", dst, bytes), new Handles.DevicePtr(src), bytes));
    }

    @Override
    public void memcpyDtoD(long dst, long src, long bytes) {
        check("cuMemcpyDtoD", JCudaDriver.cuMemcpyDtoD(new Handles.DevicePtr(dst), new Handles.DevicePtr(src), bytes));
    }

    @Override
    public void memcpyHtoDAsync(long dst, MemorySegment src, long bytes, long stream) {
        check("cuMemcpyHtoDAsync", JCudaDriver.cuMemcpyHtoDAsync(new Handles.DevicePtr(dst),
                host("cuMemcpyHtoDAsync", src, bytes), bytes, jcudaStream(stream)));
    }

    @Override
    public void memcpyDtoHAsync(MemorySegment dst, long src, long bytes, long stream) {
        check("cuMemcpyDtoHAsync", JCudaDriver.cuMemcpyDtoHAsync(host("cuMemcpyDtoHAsync", dst, bytes),
                new Handles.DevicePtr(src), bytes, jcudaStream(stream)));
    }

    @Override
    public void memcpyDtoDAsync(long dst, long src, long bytes, long stream) {
        check("cuMemcpyDtoDAsync", JCudaDriver.cuMemcpyDtoDAsync(new Handles.DevicePtr(dst),
                new Handles.DevicePtr(src), bytes, jcudaStream(stream)));
    }

    @Override
    public void memsetD8Async(long dst, byte value, long count, long stream) {
        check("cuMemsetD8Async", JCudaDriver.cuMemsetD8Async(new Handles.DevicePtr(dst), value, count, jcudaStream(stream)));
    }

    @Override
    public void memsetD32Async(long dst, int value, long count, long stream) {
        check("cuMemsetD32Async", JCudaDriver.cuMemsetD32Async(new Handles.DevicePtr(dst), value, count, jcudaStream(stream)));
    }

    // ---- modules and launches --------------------------------------------------------------------------------

    @Override
    public long moduleLoadData(byte[] image) {
        byte[] bytes = ModuleImages.forLoad(image);
        Handles.Module m = new Handles.Module();
        check("cuModuleLoadData (" + ModuleImages.describe(bytes) + ")", JCudaDriver.cuModuleLoadData(m, bytes));
        modules.put(m.value(), m);
        return m.value();
    }

    @Override
    public void moduleUnload(long module) {
        check("cuModuleUnload", JCudaDriver.cuModuleUnload(require(modules.get(module), "module", module)));
        modules.remove(module);
        List<Long> taken = moduleFunctions.remove(module);
        if (taken != null) taken.forEach(functions::remove);
    }

    @Override
    public long moduleGetFunction(long module, String name) {
        Handles.Function f = new Handles.Function();
        check("cuModuleGetFunction(\"" + name + "\")",
                JCudaDriver.cuModuleGetFunction(f, require(modules.get(module), "module", module), name));
        functions.put(f.value(), f);
        moduleFunctions.compute(module, (k, taken) -> {
            List<Long> list = taken != null ? taken : new ArrayList<>();
            list.add(f.value());
            return list;
        });
        return f.value();
    }

    @Override
    public void funcSetAttribute(long function, int attribute, int value) {
        check("cuFuncSetAttribute(" + attribute + ", " + value + ")",
                JCudaDriver.cuFuncSetAttribute(require(functions.get(function), "function", function), attribute, value));
    }

    @Override
    public ParamBlock newParamBlock(List<ParamKind> kinds) {
        return new JCudaParamBlock(kinds);
    }

    /** Two table reads (function, stream) and the JNI call; nothing allocated on the Java side. */
    @Override
    public void launchKernel(long function, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                             int sharedMemBytes, long stream, ParamBlock params) {
        if (!(params instanceof JCudaParamBlock block)) {
            throw new IllegalArgumentException("launchKernel needs a ParamBlock made by this (JCuda) driver's"
                    + " newParamBlock, got " + (params == null ? "null" : params.getClass().getName()));
        }
        int status = JCudaDriver.cuLaunchKernel(require(functions.get(function), "function", function),
                gridX, gridY, gridZ, blockX, blockY, blockZ, sharedMemBytes, jcudaStream(stream), block.kernelParams, null);
        if (status != CUresult.CUDA_SUCCESS) throw error("cuLaunchKernel", status);
    }

    // ---- CUDA graphs -----------------------------------------------------------------------------------------

    @Override
    public void streamBeginCapture(long stream) {
        check("cuStreamBeginCapture", JCudaDriver.cuStreamBeginCapture(jcudaStream(stream), 1 /* THREAD_LOCAL */));
    }

    @Override
    public long streamEndCapture(long stream) {
        Handles.Graph g = new Handles.Graph();
        check("cuStreamEndCapture", JCudaDriver.cuStreamEndCapture(jcudaStream(stream), g));
        graphs.put(g.value(), g);
        return g.value();
    }

    @Override
    public long graphInstantiate(long graph) {
        Handles.GraphExec e = new Handles.GraphExec();
        check("cuGraphInstantiate", JCudaDriver.cuGraphInstantiate(e, require(graphs.get(graph), "graph", graph), 0L));
        graphExecs.put(e.value(), e);
        return e.value();
    }

    @Override
    public void graphLaunch(long graphExec, long stream) {
        int status = JCudaDriver.cuGraphLaunch(require(graphExecs.get(graphExec), "graph exec", graphExec), jcudaStream(stream));
        if (status != CUresult.CUDA_SUCCESS) throw error("cuGraphLaunch", status);
    }

    @Override
    public void graphExecDestroy(long graphExec) {
        check("cuGraphExecDestroy",
                JCudaDriver.cuGraphExecDestroy(require(graphExecs.get(graphExec), "graph exec", graphExec)));
        graphExecs.remove(graphExec);
    }

    @Override
    public void graphDestroy(long graph) {
        check("cuGraphDestroy", JCudaDriver.cuGraphDestroy(require(graphs.get(graph), "graph", graph)));
        graphs.remove(graph);
    }
}
