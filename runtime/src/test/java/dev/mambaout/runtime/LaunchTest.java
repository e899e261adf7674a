package dev.mambaout.runtime;

import dev.mambaout.kernels.KernelArg;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.natives.ParamKind;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LaunchTest {

    @Test
    void preparedLaunchFillsTheBlockOnceAndRelaunchesWithoutRebuilding() {
        FakeDriver d = new FakeDriver();
        try (Device dev = Device.open(d, 0); Stream s = dev.newStream();
             Launch l = Launch.prepare(d, KernelCatalog.SMOKE_AXPY, 42, Dim3.of(3), Dim3.of(128), 0,
                     List.of(KernelArg.ptr(0x1000), KernelArg.ptr(0x2000), KernelArg.f32(2.5f), KernelArg.i32(300)))) {
            l.launch(s);
            l.setI32(3, 301);
            l.launch(s);
            assertEquals(List.of("42 3x1x1 128x1x1 smem=0 stream=5", "42 3x1x1 128x1x1 smem=0 stream=5"), d.launches);
        }
    }

    @Test
    void parameterBlockHoldsTheCheckedValues() {
        FakeDriver d = new FakeDriver();
        Launch l = Launch.prepare(d, KernelCatalog.SMOKE_FILL, 1, Dim3.of(1), Dim3.of(32), 0,
                List.of(KernelArg.ptr(0xABC00), KernelArg.f32(-1.5f), KernelArg.i32(17)));
        FakeDriver.RecordingBlock b = d.lastBlock;
        assertEquals(List.of(ParamKind.PTR, ParamKind.F32, ParamKind.I32), b.kinds());
        assertEquals(0xABC00, b.values[0]);
        assertEquals(Float.floatToRawIntBits(-1.5f), b.values[1]);
        assertEquals(17, b.values[2]);
        l.setPtr(0, 0xDEF00);
        l.set(1, KernelArg.f32(4f));
        assertEquals(0xDEF00, b.values[0]);
        assertEquals(Float.floatToRawIntBits(4f), b.values[1]);
        l.close();
        assertTrue(b.closed);
    }

    @Test
    void wrongArgumentsAreRefusedBeforeAnythingReachesTheDriver() {
        FakeDriver d = new FakeDriver();
        var count = assertThrows(IllegalArgumentException.class, () -> Launch.prepare(d, KernelCatalog.LAYERNORM_FORWARD,
                1, Dim3.of(1), Dim3.of(256), 0, List.of(KernelArg.ptr(1))));
        assertTrue(count.getMessage().startsWith("kernel layernorm/layernorm_forward takes 9 arguments"),
                count.getMessage());
        var kind = assertThrows(IllegalArgumentException.class, () -> Launch.prepare(d, KernelCatalog.SMOKE_FILL,
                1, Dim3.of(1), Dim3.of(32), 0, List.of(KernelArg.ptr(1), KernelArg.f32(1f), KernelArg.i64(5))));
        assertEquals("kernel smoke/smoke_fill: argument 2 (n) must be I32 but was given I64", kind.getMessage());
        var block = assertThrows(IllegalArgumentException.class, () -> Launch.prepare(d, KernelCatalog.SMOKE_EMPTY,
                1, Dim3.of(1), Dim3.of(64, 32), 0, List.of()));
        assertTrue(block.getMessage().contains("2048 threads"), block.getMessage());
        Launch ok = Launch.prepare(d, KernelCatalog.SMOKE_FILL, 1, Dim3.of(1), Dim3.of(32), 0,
                List.of(KernelArg.ptr(1), KernelArg.f32(1f), KernelArg.i32(5)));
        var set = assertThrows(IllegalArgumentException.class, () -> ok.setF32(2, 1f));
        assertEquals("kernel smoke/smoke_fill: argument 2 (n) must be I32 but was given F32", set.getMessage());
        ok.close();
        assertTrue(d.launches.isEmpty());
    }

    @Test
    void closedObjectsRefuseUseInsteadOfHandingFreedMemoryToTheDriver() {
        FakeDriver d = new FakeDriver();
        try (Device dev = Device.open(d, 0)) {
            Stream s = dev.newStream();
            Launch l = Launch.prepare(d, KernelCatalog.SMOKE_EMPTY, 1, Dim3.of(1), Dim3.of(32), 0, List.of());
            l.close();
            var e = assertThrows(IllegalStateException.class, () -> l.launch(s));
            assertEquals("launch of smoke/smoke_empty already closed", e.getMessage());
            s.close();
            assertThrows(IllegalStateException.class, s::handle);

            PinnedBuffer p = dev.newPinned(16);
            p.put(new float[] {1f, -2f, 3.5f});
            p.setInt(3, 42);
            assertEquals(-2f, p.getFloat(1));
            assertEquals(42, p.getInt(3));
            assertArrayEquals(new float[] {1f, -2f, 3.5f}, p.toFloatArray(3));
            var big = assertThrows(IllegalArgumentException.class, () -> p.put(new float[5]));
            assertEquals("put float[5] needs 20 bytes but the pinned buffer holds 16", big.getMessage());
            p.close();
            assertThrows(IllegalStateException.class, () -> p.getFloat(0));
            assertTrue(d.launches.isEmpty());
        }
    }
}
