package dev.mambaout.runtime;

import dev.mambaout.natives.CudaDriver;
import dev.mambaout.natives.CudaDriver.DeviceAttribute;

/**
 * One GPU: retains its primary context (the one the CUDA runtime, cuBLAS and cuDNN share) and makes it current on
 * the opening thread. Factory for the objects that live in that context. Closing releases the context retain; close
 * streams, arenas, buffers and graphs made here first.
 */
public final class Device implements AutoCloseable {

    /** What the engine reads about a device once, at open. */
    public record Info(int ordinal, String name, int smCount, int l2CacheBytes, int computeMajor, int computeMinor,
                       long totalMemoryBytes, int maxSharedMemoryPerBlockOptin) {
        public String computeCapability() { return computeMajor + "." + computeMinor; }
    }

    /** cuMemGetInfo: bytes free and total in this context. */
    public record MemInfo(long free, long total) {}

    private final CudaDriver driver;
    private final Info info;
    private final long context;
    private KernelModules modules;
    private boolean closed;

    private Device(CudaDriver driver, Info info, long context) {
        this.driver = driver;
        this.info = info;
        this.context = context;
    }

    /** Opens device {@code ordinal} of {@code driver}; throws naming the ordinal and how many devices there are. */
    public static Device open(CudaDriver driver, int ordinal) {
        int count = driver.deviceCount();
        if (ordinal < 0 || ordinal >= count) {
            throw new IllegalArgumentException("no CUDA device " + ordinal + ": the " + driver.backend()
                    + " driver sees " + count + " device(s)");
        }
        long ctx = driver.primaryContextRetain(ordinal);
        try {
            driver.contextSetCurrent(ctx);
            Info info = new Info(ordinal, driver.deviceName(ordinal),
                    driver.deviceAttribute(ordinal, DeviceAttribute.MULTIPROCESSOR_COUNT),
                    driver.deviceAttribute(ordinal, DeviceAttribute.L2_CACHE_SIZE),
                    driver.deviceAttribute(ordinal, DeviceAttribute.COMPUTE_CAPABILITY_MAJOR),
                    driver.deviceAttribute(ordinal, DeviceAttribute.COMPUTE_CAPABILITY_MINOR),
                    driver.deviceTotalMem(ordinal),
                    driver.deviceAttribute(ordinal, DeviceAttribute.MAX_SHARED_MEMORY_PER_BLOCK_OPTIN));
            return new Device(driver, info, ctx);
        } catch (RuntimeException e) {
            driver.primaryContextRelease(ordinal);
            throw e;
        }
    }

    public CudaDriver driver() { return driver; }

    public Info info() { return info; }

    public long context() { return context; }

    /** Makes this device's context current on the calling thread (each thread that issues work must). */
    public void makeCurrent() { driver.contextSetCurrent(context); }

    public void synchronize() { driver.contextSynchronize(); }

    public MemInfo memInfo() {
        long[] m = driver.memGetInfo();
        return new MemInfo(m[0], m[1]);
    }

    public Stream newStream() { return new Stream(driver, driver.streamCreate(true)); }

    public Event newEvent() { return new Event(driver, driver.eventCreate(true)); }

    public DeviceArena newArena(long bytes) { return DeviceArena.allocate(this, bytes); }

    public PinnedBuffer newPinned(long bytes) { return PinnedBuffer.allocate(driver, bytes); }

    /** The fatbin modules loaded into this context, loaded on first use and unloaded when the device closes. */
    public KernelModules modules() {
        if (modules == null) modules = new KernelModules(driver, info.smCount());
        return modules;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            if (modules != null) modules.close();
        } finally {
            driver.primaryContextRelease(info.ordinal());
        }
    }
}
