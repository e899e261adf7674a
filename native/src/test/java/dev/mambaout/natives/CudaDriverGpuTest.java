package dev.mambaout.natives;

import dev.mambaout.natives.CudaDriver.Backend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Random;

import static dev.mambaout.natives.ParamKind.F32;
import static dev.mambaout.natives.ParamKind.I32;
import static dev.mambaout.natives.ParamKind.I64;
import static dev.mambaout.natives.ParamKind.PTR;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Both backends against the real driver. References are plain CPU loops over the same random inputs (fresh seed
 * each run, printed on failure); outputs are poisoned first so that an element nobody wrote cannot pass.
 */
@Tag("gpu")
class CudaDriverGpuTest {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final int POISON = 0x7fc0_dead;   // a NaN bit pattern no kernel here produces

    private CudaDriver cuda;
    private final long seed = System.nanoTime();
    private final Random random = new Random(seed);

    private CudaDriver open(Backend backend) {
        Cuda.Availability a = Cuda.availability(backend);
        assumeTrue(a.available(), a.reason());
        cuda = Cuda.open(backend);
        assertEquals(backend, cuda.backend());
        cuda.contextSetCurrent(cuda.primaryContextRetain(0));
        return cuda;
    }

    @AfterEach
    void release() {
        if (cuda != null) {
            cuda.contextSynchronize();
            cuda.primaryContextRelease(0);
        }
    }

    private static byte[] ptx() throws IOException {
        try (InputStream in = CudaDriverGpuTest.class.getResourceAsStream("test_kernels.ptx")) {
            if (in == null) fail("test_kernels.ptx missing from test resources");
            return in.readAllBytes();
        }
    }

    private MemorySegment randomFloats(Arena arena, int n) {
        MemorySegment s = arena.allocate(F, n);
        for (int i = 0; i < n; i++) s.setAtIndex(F, i, (float) random.nextGaussian());
        return s;
    }

    private static MemorySegment poisoned(Arena arena, long bytes) {
        MemorySegment s = arena.allocate(bytes, 8);
        for (long i = 0; i + 4 <= bytes; i += 4) s.set(ValueLayout.JAVA_INT, i, POISON);
        return s;
    }

    private void assertSameBytes(MemorySegment expected, MemorySegment actual, String what) {
        long at = expected.mismatch(actual);
        if (at != -1) fail(what + ": first difference at byte " + at + " (seed " + seed + ")");
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void reportsTheDevice(Backend backend) {
        CudaDriver d = open(backend);
        assertTrue(d.driverVersion() >= 12000, "driver " + d.driverVersion());
        assertTrue(d.deviceCount() >= 1);
        assertTrue(!d.deviceName(0).isBlank());
        assertEquals(32, d.deviceAttribute(0, CudaDriver.DeviceAttribute.WARP_SIZE));
        assertTrue(d.deviceAttribute(0, CudaDriver.DeviceAttribute.COMPUTE_CAPABILITY_MAJOR) >= 8,
                "the test kernels are sm_80 PTX");
        assertTrue(d.deviceAttribute(0, CudaDriver.DeviceAttribute.MULTIPROCESSOR_COUNT) > 0);
        long total = d.deviceTotalMem(0);
        long[] info = d.memGetInfo();
        assertTrue(total > (1L << 30), "total " + total);
        assertTrue(info[0] > 0 && info[0] <= info[1], info[0] + " free of " + info[1]);
        System.out.printf("%s: %s, driver %d, cc %d.%d, %d SMs, %.1f GiB%n", backend, d.deviceName(0),
                d.driverVersion(), d.deviceAttribute(0, 75), d.deviceAttribute(0, 76), d.deviceAttribute(0, 16),
                total / (double) (1L << 30));
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void synchronousCopiesRoundTrip(Backend backend) {
        CudaDriver d = open(backend);
        int n = 1_000_003;
        long bytes = 4L * n;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = randomFloats(arena, n);
            MemorySegment dst = poisoned(arena, bytes);
            long a = d.memAlloc(bytes);
            long b = d.memAlloc(bytes);
            try {
                d.memcpyHtoD(a, src, bytes);
                d.memcpyDtoD(b, a, bytes);
                d.memcpyDtoH(dst, b, bytes);
                assertSameBytes(src, dst, "HtoD, DtoD, DtoH");
            } finally {
                d.memFree(a);
                d.memFree(b);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void memsetWritesExactlyTheRequestedRange(Backend backend) {
        CudaDriver d = open(backend);
        int n = 12_347;
        long bytes = 4L * n;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = randomFloats(arena, n);
            MemorySegment back = poisoned(arena, bytes);
            long dev = d.memAlloc(bytes);
            try {
                d.memcpyHtoD(dev, host, bytes);
                int count32 = 5_001;
                d.memsetD32Async(dev + 4L * 3, 0x3f80_0000, count32, 0);          // 1.0f
                d.memsetD8Async(dev + 4L * 6_000 + 1, (byte) 0xA5, 4_099, 0);      // odd start and length
                d.streamSynchronize(0);
                d.memcpyDtoH(back, dev, bytes);
                for (long i = 0; i < bytes; i++) {
                    byte expected = host.get(ValueLayout.JAVA_BYTE, i);
                    if (i >= 12 && i < 12 + 4L * count32) {
                        expected = (byte) (0x3f80_0000 >>> (8 * (i % 4)));
                    }
                    if (i >= 4L * 6_000 + 1 && i < 4L * 6_000 + 1 + 4_099) expected = (byte) 0xA5;
                    if (back.get(ValueLayout.JAVA_BYTE, i) != expected) {
                        fail("byte " + i + ": " + back.get(ValueLayout.JAVA_BYTE, i) + " != " + expected + " (seed " + seed + ")");
                    }
                }
            } finally {
                d.memFree(dev);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void asynchronousCopiesOnAStreamWithPinnedMemory(Backend backend) {
        CudaDriver d = open(backend);
        int n = 3_000_017;
        long bytes = 4L * n;
        long stream = d.streamCreate(true);
        MemorySegment src = d.memHostAlloc(bytes);
        MemorySegment dst = d.memHostAlloc(bytes);
        long a = d.memAlloc(bytes);
        long b = d.memAlloc(bytes);
        try {
            assertEquals(bytes, src.byteSize());
            for (int i = 0; i < n; i++) src.setAtIndex(F, i, random.nextFloat() - 0.5f);
            for (long i = 0; i < bytes; i += 4) dst.set(ValueLayout.JAVA_INT, i, POISON);
            d.memcpyHtoDAsync(a, src, bytes, stream);
            d.memcpyDtoDAsync(b, a, bytes, stream);
            d.memcpyDtoHAsync(dst, b, bytes, stream);
            d.streamSynchronize(stream);
            assertSameBytes(src, dst, "async HtoD, DtoD, DtoH");
        } finally {
            d.memFree(a);
            d.memFree(b);
            d.memFreeHost(src);
            d.memFreeHost(dst);
            d.streamDestroy(stream);
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void eventsTimeWorkOnAStream(Backend backend) {
        CudaDriver d = open(backend);
        long bytes = 256L << 20;
        long stream = d.streamCreate(true);
        long start = d.eventCreate(true);
        long end = d.eventCreate(true);
        long untimed = d.eventCreate(false);
        long dev = d.memAlloc(bytes);
        try {
            d.memsetD32Async(dev, 1, bytes / 4, stream);   // warm-up
            d.eventRecord(start, stream);
            for (int i = 0; i < 20; i++) d.memsetD32Async(dev, i, bytes / 4, stream);
            d.eventRecord(end, stream);
            d.eventRecord(untimed, stream);
            d.eventSynchronize(end);
            float ms = d.eventElapsedMs(start, end);
            // 20 x 256 MiB of writes: ~1.7 ms at 3 TB/s; anything from 0.1 ms to 5 s is a sane clock.
            assertTrue(ms > 0.1f && ms < 5000f, "elapsed " + ms + " ms");
            System.out.printf("%s: 20 x memset 256 MiB took %.3f ms (%.0f GB/s)%n", backend, ms,
                    20 * bytes / (ms * 1e-3) / 1e9);
            long waiter = d.streamCreate(true);
            d.streamWaitEvent(waiter, end);
            d.streamSynchronize(waiter);
            d.streamDestroy(waiter);
            d.eventSynchronize(untimed);
            CudaException e = assertThrows(CudaException.class, () -> d.eventElapsedMs(start, untimed));
            assertEquals("CUDA_ERROR_INVALID_HANDLE", e.statusName(), e.getMessage());
        } finally {
            d.memFree(dev);
            d.eventDestroy(start);
            d.eventDestroy(end);
            d.eventDestroy(untimed);
            d.streamDestroy(stream);
        }
    }

    private static int blocks(int n, int threads) { return (n + threads - 1) / threads; }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void launchesKernelsFromPtx(Backend backend) throws IOException {
        CudaDriver d = open(backend);
        long module = d.moduleLoadData(ptx());
        long saxpy = d.moduleGetFunction(module, "saxpy");
        long iota = d.moduleGetFunction(module, "iota64");
        CudaException missing = assertThrows(CudaException.class, () -> d.moduleGetFunction(module, "no_such_kernel"));
        assertEquals("CUDA_ERROR_NOT_FOUND", missing.statusName(), missing.getMessage());
        int n = 100_003;
        float alpha = 1.75f;
        try (Arena arena = Arena.ofConfined();
             ParamBlock sp = d.newParamBlock(List.of(I32, F32, PTR, PTR));
             ParamBlock ip = d.newParamBlock(List.of(PTR, I64, I64, I32))) {
            MemorySegment x = randomFloats(arena, n);
            MemorySegment y = randomFloats(arena, n);
            MemorySegment out = poisoned(arena, 4L * n);
            long dx = d.memAlloc(4L * n);
            long dy = d.memAlloc(4L * n);
            long di = d.memAlloc(8L * n);
            try {
                d.memcpyHtoD(dx, x, 4L * n);
                d.memcpyHtoD(dy, y, 4L * n);
                sp.setI32(0, n);
                sp.setF32(1, alpha);
                sp.setPtr(2, dx);
                sp.setPtr(3, dy);
                d.launchKernel(saxpy, blocks(n, 256), 1, 1, 256, 1, 1, 0, 0, sp);
                d.contextSynchronize();
                d.memcpyDtoH(out, dy, 4L * n);
                for (int i = 0; i < n; i++) {
                    float expected = Math.fma(alpha, x.getAtIndex(F, i), y.getAtIndex(F, i));
                    float actual = out.getAtIndex(F, i);
                    if (Float.floatToRawIntBits(expected) != Float.floatToRawIntBits(actual)) {
                        fail("saxpy[" + i + "] = " + actual + ", expected " + expected + " (seed " + seed + ")");
                    }
                }

                long base = 5_000_000_000L + random.nextInt(1000);
                long step = -3_000_000_007L;
                MemorySegment longs = poisoned(arena, 8L * n);
                ip.setPtr(0, di);
                ip.setI64(1, base);
                ip.setI64(2, step);
                ip.setI32(3, n);
                d.launchKernel(iota, blocks(n, 128), 1, 1, 128, 1, 1, 0, 0, ip);
                d.contextSynchronize();
                d.memcpyDtoH(longs, di, 8L * n);
                for (int i = 0; i < n; i++) {
                    long expected = base + (long) i * step;
                    long actual = longs.getAtIndex(ValueLayout.JAVA_LONG, i);
                    if (actual != expected) fail("iota64[" + i + "] = " + actual + ", expected " + expected);
                }

                d.funcSetAttribute(saxpy, 8 /* MAX_DYNAMIC_SHARED_SIZE_BYTES */, 64 * 1024);
                CudaException bad = assertThrows(CudaException.class,
                        () -> d.launchKernel(saxpy, 1, 1, 1, 4096, 1, 1, 0, 0, sp));   // > 1024 threads
                assertEquals("CUDA_ERROR_INVALID_VALUE", bad.statusName(), bad.getMessage());
            } finally {
                d.memFree(dx);
                d.memFree(dy);
                d.memFree(di);
                d.moduleUnload(module);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void capturedGraphReplaysTheLaunchesWithTheirCapturedArguments(Backend backend) throws IOException {
        CudaDriver d = open(backend);
        long module = d.moduleLoadData(ptx());
        long saxpy = d.moduleGetFunction(module, "saxpy");
        int n = 65_537;
        float[] alphas = {1.5f, -0.25f, 3.0f};
        long stream = d.streamCreate(true);
        try (Arena arena = Arena.ofConfined(); ParamBlock p = d.newParamBlock(List.of(I32, F32, PTR, PTR))) {
            MemorySegment x = randomFloats(arena, n);
            MemorySegment y = randomFloats(arena, n);
            MemorySegment out = poisoned(arena, 4L * n);
            long dx = d.memAlloc(4L * n);
            long dy = d.memAlloc(4L * n);
            try {
                d.memcpyHtoD(dx, x, 4L * n);
                d.memcpyHtoD(dy, y, 4L * n);
                p.setI32(0, n);
                p.setPtr(2, dx);
                p.setPtr(3, dy);
                d.streamBeginCapture(stream);
                for (float a : alphas) {
                    p.setF32(1, a);   // the driver copies the arguments into the node at capture
                    d.launchKernel(saxpy, blocks(n, 256), 1, 1, 256, 1, 1, 0, stream, p);
                }
                long graph = d.streamEndCapture(stream);
                long exec = d.graphInstantiate(graph);
                p.setF32(1, 1000f);   // must not reach the graph

                d.memcpyDtoH(out, dy, 4L * n);
                assertSameBytes(y, out, "capture must not execute the launches");

                int replays = 2;
                for (int r = 0; r < replays; r++) d.graphLaunch(exec, stream);
                d.streamSynchronize(stream);
                d.memcpyDtoH(out, dy, 4L * n);
                for (int i = 0; i < n; i++) {
                    float expected = y.getAtIndex(F, i);
                    for (int r = 0; r < replays; r++) {
                        for (float a : alphas) expected = Math.fma(a, x.getAtIndex(F, i), expected);
                    }
                    float actual = out.getAtIndex(F, i);
                    if (Float.floatToRawIntBits(expected) != Float.floatToRawIntBits(actual)) {
                        fail("y[" + i + "] = " + actual + " after replays, expected " + expected + " (seed " + seed + ")");
                    }
                }
                d.graphExecDestroy(exec);
                d.graphDestroy(graph);
            } finally {
                d.memFree(dx);
                d.memFree(dy);
                d.streamDestroy(stream);
                d.moduleUnload(module);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void outOfMemoryIsReportedAndTheDeviceStaysUsable(Backend backend) {
        CudaDriver d = open(backend);
        long pebibyte = 1L << 50;
        CudaException e = assertThrows(CudaException.class, () -> d.memAlloc(pebibyte));
        assertEquals("CUDA_ERROR_OUT_OF_MEMORY", e.statusName(), e.getMessage());
        assertEquals(2, e.status());
        assertTrue(e.getMessage().contains("CUDA_ERROR_OUT_OF_MEMORY") && e.getMessage().contains(Long.toString(pebibyte)),
                e.getMessage());
        int n = 262_147;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = randomFloats(arena, n);
            MemorySegment dst = poisoned(arena, 4L * n);
            long dev = d.memAlloc(4L * n);
            try {
                d.memcpyHtoD(dev, src, 4L * n);
                d.memcpyDtoH(dst, dev, 4L * n);
                assertSameBytes(src, dst, "round trip after the failed allocation");
            } finally {
                d.memFree(dev);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void heapSegmentsAndForeignParamBlocksAreRefused(Backend backend) {
        CudaDriver d = open(backend);
        long dev = d.memAlloc(64);
        try {
            MemorySegment heap = MemorySegment.ofArray(new float[16]);
            assertThrows(IllegalArgumentException.class, () -> d.memcpyHtoD(dev, heap, 64));
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment small = arena.allocate(32);
                assertThrows(IllegalArgumentException.class, () -> d.memcpyDtoH(small, dev, 64));
            }
            ParamBlock foreign = new ParamBlock() {
                public List<ParamKind> kinds() { return List.of(); }
                public void setPtr(int i, long v) {}
                public void setI32(int i, int v) {}
                public void setI64(int i, long v) {}
                public void setF32(int i, float v) {}
                public void close() {}
            };
            assertThrows(IllegalArgumentException.class, () -> d.launchKernel(0, 1, 1, 1, 1, 1, 1, 0, 0, foreign));
        } finally {
            d.memFree(dev);
        }
    }
}
