package dev.mambaout.natives.blas;

import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaDriver;
import org.junit.jupiter.api.Assumptions;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Device memory for the GPU tests of the library bindings, through the project's driver: a context made current,
 * buffers freed on close, host staging in native memory, bf16 rounding, and the relative-error measure.
 */
public final class GpuTestSupport implements AutoCloseable {

    /** Float NaN as a 32-bit pattern: poisons f32 outputs before a run. */
    public static final int NAN_F32 = 0x7FC00000;
    /** Two bf16 NaNs: poisons bf16 outputs. */
    public static final int NAN_BF16_PAIR = 0x7FC07FC0;

    public final CudaDriver driver;
    private final Arena arena = Arena.ofShared();
    private final List<Long> buffers = new ArrayList<>();

    private GpuTestSupport(CudaDriver driver) {
        this.driver = driver;
    }

    /** Skips the calling test, with the probe's reason, where there is no usable CUDA driver and device. */
    public static GpuTestSupport open() {
        Cuda.Availability a = Cuda.availability();
        Assumptions.assumeTrue(a.available(), a.reason());
        System.out.println(a.reason());
        CudaDriver d = Cuda.open();
        d.contextSetCurrent(d.primaryContextRetain(0));
        return new GpuTestSupport(d);
    }

    /** Makes the primary context current on this thread (JUnit may call from another thread). */
    public void makeCurrent() {
        driver.contextSetCurrent(driver.primaryContextRetain(0));
        driver.primaryContextRelease(0);
    }

    public long alloc(long bytes) {
        long p = driver.memAlloc(Math.max(bytes, 4));
        buffers.add(p);
        return p;
    }

    /** Fills {@code bytes} (a multiple of 4) with a 32-bit pattern and waits. */
    public void poison(long p, long bytes, int pattern) {
        driver.memsetD32Async(p, pattern, bytes / 4, 0);
        driver.streamSynchronize(0);
    }

    public long upload(float[] v) {
        MemorySegment host = arena.allocate(JAVA_FLOAT, v.length);
        MemorySegment.copy(v, 0, host, JAVA_FLOAT, 0, v.length);
        long p = alloc(host.byteSize());
        driver.memcpyHtoD(p, host, host.byteSize());
        return p;
    }

    /** Uploads as bf16 or f32: the tests run each case in both types. */
    public long upload(float[] v, boolean bf16) {
        return bf16 ? uploadBf16(v) : upload(v);
    }

    public long uploadBf16(float[] v) {
        MemorySegment host = arena.allocate(JAVA_SHORT, Math.max(2, v.length + (v.length & 1)));
        for (int i = 0; i < v.length; i++) host.setAtIndex(JAVA_SHORT, i, toBf16(v[i]));
        long p = alloc(host.byteSize());
        driver.memcpyHtoD(p, host, host.byteSize());
        return p;
    }

    public float[] download(long p, int n) {
        driver.contextSynchronize();
        MemorySegment host = arena.allocate(JAVA_FLOAT, n);
        driver.memcpyDtoH(host, p, host.byteSize());
        return host.toArray(JAVA_FLOAT);
    }

    public float[] downloadBf16(long p, int n) {
        driver.contextSynchronize();
        MemorySegment host = arena.allocate(JAVA_SHORT, Math.max(2, n + (n & 1)));
        driver.memcpyDtoH(host, p, host.byteSize());
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = fromBf16(host.getAtIndex(JAVA_SHORT, i));
        return out;
    }

    /** Round to nearest even, like the hardware's float-to-bf16 conversion (inputs here are finite). */
    public static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    public static float fromBf16(short h) {
        return Float.intBitsToFloat((h & 0xFFFF) << 16);
    }

    /** The values a bf16 buffer made from {@code v} holds. */
    public static float[] roundBf16(float[] v) {
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++) r[i] = fromBf16(toBf16(v[i]));
        return r;
    }

    /** Uniform in [-1, 1). */
    public static float[] random(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = rnd.nextFloat() * 2f - 1f;
        return v;
    }

    /** ||out - ref|| / ||ref||; infinite if any output is NaN or infinite (e.g. left poisoned). */
    public static double relativeError(float[] out, double[] ref) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            if (!Float.isFinite(out[i])) return Double.POSITIVE_INFINITY;
            double d = out[i] - ref[i];
            num += d * d;
            den += ref[i] * ref[i];
        }
        return Math.sqrt(num / den);
    }

    @Override
    public void close() {
        driver.contextSynchronize();
        for (long p : buffers) driver.memFree(p);
        buffers.clear();
        arena.close();
        driver.primaryContextRelease(0);
    }
}
