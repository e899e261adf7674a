package dev.mambaout.bench;

import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaDriver;
import dev.mambaout.runtime.DeviceArena;
import dev.mambaout.runtime.PinnedBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Copy bandwidth: host to device and device to host through pinned memory ({@value #HOST_BYTES} bytes), and device to
 * device ({@value #DEVICE_BYTES} bytes, counted twice: read and written, so it compares with the memory's
 * bandwidth). One invocation is one async copy on the benchmark stream between two CUDA events, then a wait; JMH's
 * score is milliseconds per copy, and the event line gives the median GPU time and GB/s (10^9 bytes per second).
 * Sources hold random bytes, never zeros.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class CopyBench {

    public static final long HOST_BYTES = 256L << 20;
    public static final long DEVICE_BYTES = 1L << 30;

    public enum Direction { H2D, D2H, D2D }

    @Param({"H2D", "D2H", "D2D"})
    public Direction direction;

    private BenchGpu gpu;
    private CudaDriver driver;
    private long stream;
    private PinnedBuffer pinned;
    private MemorySegment host;
    private DeviceArena arena;
    private long src;
    private long dst;
    private long copyBytes;
    private final EventTimes times = new EventTimes(1 << 16);

    @Setup(Level.Trial)
    public void setUp() {
        gpu = BenchGpu.open(Cuda.configuredBackend());
        driver = gpu.driver();
        stream = gpu.stream().handle();
        try (RandomBf16 random = new RandomBf16(gpu.device(), 8L << 20, 0x5eed_c0feL)) {
            if (direction == Direction.D2D) {
                copyBytes = DEVICE_BYTES;
                arena = gpu.device().newArena(2 * DEVICE_BYTES);
                src = arena.base();
                dst = arena.base() + DEVICE_BYTES;
                random.fill(gpu.device(), gpu.stream(), src, DEVICE_BYTES / 2, 0);
            } else {
                copyBytes = HOST_BYTES;
                pinned = gpu.device().newPinned(HOST_BYTES);
                host = pinned.segment();
                arena = gpu.device().newArena(HOST_BYTES);
                dst = arena.base();
                // Random bytes on both sides: the pinned buffer tiles the random block, the device gets it too.
                for (long off = 0; off < HOST_BYTES; off += random.segment().byteSize()) {
                    MemorySegment.copy(random.segment(), 0, host, off,
                            Math.min(random.segment().byteSize(), HOST_BYTES - off));
                }
                random.fill(gpu.device(), gpu.stream(), dst, HOST_BYTES / 2, 0);
            }
        }
    }

    @Setup(Level.Iteration)
    public void beforeIteration(IterationParams iteration) {
        gpu.makeCurrent();
        times.recording(iteration.getType() == IterationType.MEASUREMENT);
    }

    @Benchmark
    public void copy() {
        gpu.startTiming();
        switch (direction) {
            case H2D -> driver.memcpyHtoDAsync(dst, host, HOST_BYTES, stream);
            case D2H -> driver.memcpyDtoHAsync(host, dst, HOST_BYTES, stream);
            case D2D -> driver.memcpyDtoDAsync(dst, src, DEVICE_BYTES, stream);
        }
        times.add(gpu.stopTiming());
    }

    /** Bytes one copy moves through memory: a device-to-device copy reads and writes each byte. */
    static long bytesMoved(Direction direction, long copyBytes) {
        return direction == Direction.D2D ? 2 * copyBytes : copyBytes;
    }

    @TearDown(Level.Trial)
    public void tearDown(BenchmarkParams params) {
        long moved = bytesMoved(direction, copyBytes);
        times.report(params.getBenchmark(), Map.of("direction", direction.name(), "backend",
                        driver.backend().name()), gpu.device().info().name(),
                EventTimes.derived("copyBytes", copyBytes, "bytesMoved", moved,
                        "GBps", moved / (times.median() * 1e6)));
        // Closed in reverse order: buffers before the device whose context they live in.
        try (BenchGpu g = gpu; DeviceArena ar = arena; PinnedBuffer p = pinned) {
            g.stream().synchronize();
        }
    }
}
