package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.natives.CudaDriver;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Page-locked host memory for staging copies: only pinned memory lets cuMemcpy*Async overlap with kernels and be
 * captured into a CUDA graph. Typed access by element index.
 */
public final class PinnedBuffer implements AutoCloseable {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private final CudaDriver driver;
    private final MemorySegment segment;
    private boolean closed;

    private PinnedBuffer(CudaDriver driver, MemorySegment segment) {
        this.driver = driver;
        this.segment = segment;
    }

    static PinnedBuffer allocate(CudaDriver driver, long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("pinned buffer size must be positive, was " + bytes);
        return new PinnedBuffer(driver, driver.memHostAlloc(bytes));
    }

    public MemorySegment segment() {
        checkOpen();
        return segment;
    }

    public long bytes() { return segment.byteSize(); }

    public float getFloat(long i) {
        checkOpen();
        return segment.getAtIndex(F32, i);
    }

    public void setFloat(long i, float v) {
        checkOpen();
        segment.setAtIndex(F32, i, v);
    }

    public int getInt(long i) {
        checkOpen();
        return segment.getAtIndex(I32, i);
    }

    public void setInt(long i, int v) {
        checkOpen();
        segment.setAtIndex(I32, i, v);
    }

    public long getLong(long i) {
        checkOpen();
        return segment.getAtIndex(I64, i);
    }

    public void setLong(long i, long v) {
        checkOpen();
        segment.setAtIndex(I64, i, v);
    }

    /** Raw 16-bit element, for bf16/f16 (see {@link DType#bf16ToFloat}). */
    public short getShort(long i) {
        checkOpen();
        return segment.getAtIndex(I16, i);
    }

    public void setShort(long i, short v) {
        checkOpen();
        segment.setAtIndex(I16, i, v);
    }

    /** Copies {@code src} to the start of the buffer. */
    public void put(float[] src) {
        requireBytes((long) src.length * Float.BYTES, "put float[" + src.length + "]");
        MemorySegment.copy(src, 0, segment, F32, 0, src.length);
    }

    /** The first {@code n} floats. */
    public float[] toFloatArray(int n) {
        requireBytes((long) n * Float.BYTES, "read " + n + " floats");
        float[] out = new float[n];
        MemorySegment.copy(segment, F32, 0, out, 0, n);
        return out;
    }

    /** Queues a copy of {@code dst.bytes()} from this buffer's start into {@code dst}. */
    public void uploadAsync(Tensor dst, Stream stream) {
        requireBytes(dst.bytes(), "upload to " + dst.shape());
        driver.memcpyHtoDAsync(dst.address(), segment, dst.bytes(), stream.handle());
    }

    /** Queues a copy of {@code src} into this buffer's start. */
    public void downloadAsync(Tensor src, Stream stream) {
        requireBytes(src.bytes(), "download of " + src.shape());
        driver.memcpyDtoHAsync(segment, src.address(), src.bytes(), stream.handle());
    }

    // The memory is page-locked host memory freed by close(); touching it afterwards would crash the JVM, not throw.
    private void checkOpen() {
        if (closed) throw new IllegalStateException("pinned buffer already closed");
    }

    private void requireBytes(long bytes, String what) {
        checkOpen();
        if (bytes > segment.byteSize()) {
            throw new IllegalArgumentException(what + " needs " + bytes + " bytes but the pinned buffer holds "
                    + segment.byteSize());
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        driver.memFreeHost(segment);
    }
}
