package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import dev.mambaout.natives.CudaDriver;
import dev.mambaout.natives.CudaException;

/**
 * One cuMemAlloc carved into 256-byte-aligned tensors, either by bump allocation or at offsets from a memory plan.
 * Views stay valid until {@link #reset()} or {@link #close()}; nothing is freed one by one.
 */
public final class DeviceArena implements AutoCloseable {

    private static final int CUDA_ERROR_OUT_OF_MEMORY = 2;

    private final CudaDriver driver;
    private final long base;
    private final ArenaLayout layout;
    private boolean closed;

    private DeviceArena(CudaDriver driver, long base, long capacity) {
        this.driver = driver;
        this.base = base;
        this.layout = new ArenaLayout(capacity);
    }

    /**
     * Allocates the arena. A refused allocation throws {@link DeviceOutOfMemoryException} with the bytes asked and
     * what cuMemGetInfo reports; nothing was allocated, so the device stays usable.
     */
    static DeviceArena allocate(Device device, long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("arena size must be positive, was " + bytes);
        CudaDriver driver = device.driver();
        long capacity = ArenaLayout.alignUp(bytes);
        long ptr;
        try {
            ptr = driver.memAlloc(capacity);
        } catch (CudaException e) {
            if (e.status() != CUDA_ERROR_OUT_OF_MEMORY) throw e;
            Device.MemInfo m = device.memInfo();
            throw new DeviceOutOfMemoryException("cannot allocate a device arena of " + capacity + " bytes ("
                    + gib(capacity) + ") on " + device.info().name() + ": cuMemGetInfo reports " + m.free()
                    + " bytes free (" + gib(m.free()) + ") of " + m.total() + " total (" + gib(m.total()) + ")",
                    capacity, e);
        }
        return new DeviceArena(driver, ptr, capacity);
    }

    private static String gib(long bytes) { return String.format("%.2f GiB", bytes / (double) (1L << 30)); }

    public long base() { return base; }

    public long capacity() { return layout.capacity(); }

    public long used() { return layout.used(); }

    public long free() { return layout.free(); }

    /** A new tensor at the next aligned offset. */
    public Tensor allocate(DType dtype, Shape shape) {
        return allocate(dtype, shape, dtype + shape.toString());
    }

    /** As {@link #allocate(DType, Shape)}, naming the tensor in the exhaustion message. */
    public Tensor allocate(DType dtype, Shape shape, String what) {
        checkOpen();
        long off = layout.allocate(Math.multiplyExact(shape.numel(), dtype.bytes()), what);
        return new Tensor(base, off, shape, dtype);
    }

    /** A tensor at an offset chosen by a memory plan (aligned, inside the arena). */
    public Tensor at(long byteOffset, DType dtype, Shape shape) {
        checkOpen();
        layout.checkSlice(byteOffset, Math.multiplyExact(shape.numel(), dtype.bytes()), dtype + shape.toString());
        return new Tensor(base, byteOffset, shape, dtype);
    }

    /** Forgets all bump allocations: tensors handed out before must no longer be used. */
    public void reset() { layout.reset(); }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("device arena already closed");
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        driver.memFree(base);
    }
}
