package dev.mambaout.runtime;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ArenaTest {

    @Test
    void bumpAllocationAlignsEverySliceTo256Bytes() {
        ArenaLayout a = new ArenaLayout(4096);
        assertEquals(0, a.allocate(1, "a"));
        assertEquals(256, a.allocate(300, "b"));    // 1 byte used -> next slice at 256
        assertEquals(768, a.allocate(256, "c"));    // 256 + 300 = 556 -> 768
        assertEquals(1024, a.used());
        assertEquals(3072, a.free());
        assertEquals(0, ArenaLayout.alignUp(0));
        assertEquals(256, ArenaLayout.alignUp(255));
        assertEquals(512, ArenaLayout.alignUp(257));
        a.reset();
        assertEquals(0, a.allocate(10, "again"));
    }

    @Test
    void exhaustionNamesRequestFreeAndCapacity() {
        ArenaLayout a = new ArenaLayout(1024);
        a.allocate(700, "x");
        var e = assertThrows(ArenaExhaustedException.class, () -> a.allocate(300, "activation conv1"));
        assertEquals("arena exhausted: activation conv1 requested 300 bytes but only 256 of the arena's 1024 bytes are"
                + " free (700 used, slices aligned to 256 bytes)", e.getMessage());
        assertEquals(768, a.allocate(256, "fits exactly"));
        assertThrows(IllegalArgumentException.class, () -> a.allocate(0, "empty"));
    }

    @Test
    void plannedSlicesAreCheckedForAlignmentAndBounds() {
        ArenaLayout a = new ArenaLayout(2048);
        a.checkSlice(1792, 256, "last");
        var misaligned = assertThrows(IllegalArgumentException.class, () -> a.checkSlice(100, 4, "t"));
        assertTrue(misaligned.getMessage().contains("offset 100"), misaligned.getMessage());
        var outside = assertThrows(ArenaExhaustedException.class, () -> a.checkSlice(1792, 257, "t"));
        assertTrue(outside.getMessage().contains("[1792, 2049)"), outside.getMessage());
    }

    @Test
    void deviceArenaCarvesTensorsFromOneAllocation() {
        FakeDriver d = new FakeDriver();
        try (Device dev = Device.open(d, 0); DeviceArena arena = dev.newArena(10_000)) {
            assertEquals(10_240, arena.capacity());
            Tensor t0 = arena.allocate(DType.F32, Shape.of(3, 5));
            Tensor t1 = arena.allocate(DType.BF16, Shape.nhwc(1, 2, 2, 3));
            assertEquals(arena.base(), t0.address());
            assertEquals(arena.base() + 256, t1.address());
            assertEquals(24, t1.bytes());
            Tensor planned = arena.at(1024, DType.F32, Shape.of(16));
            assertEquals(arena.base() + 1024, planned.address());
            var e = assertThrows(ArenaExhaustedException.class, () -> arena.allocate(DType.F32, Shape.of(4096), "big"));
            assertTrue(e.getMessage().contains("big requested 16384 bytes") && e.getMessage().contains("10240"),
                    e.getMessage());
        }
        assertEquals(1, d.released);
    }

    @Test
    void refusedCuMemAllocNamesBytesAndDeviceMemoryAndLeavesDeviceUsable() {
        FakeDriver d = new FakeDriver();
        try (Device dev = Device.open(d, 0)) {
            var e = assertThrows(DeviceOutOfMemoryException.class, () -> dev.newArena(2 * FakeDriver.TOTAL));
            assertEquals(2 * FakeDriver.TOTAL, e.requested());
            assertTrue(e.getMessage().contains("arena of " + 2 * FakeDriver.TOTAL + " bytes")
                    && e.getMessage().contains(FakeDriver.TOTAL + " bytes free")
                    && e.getMessage().contains("of " + FakeDriver.TOTAL + " total")
                    && e.getMessage().contains("Fake GPU"), e.getMessage());
            try (DeviceArena ok = dev.newArena(1 << 20)) {
                assertEquals(1 << 20, ok.capacity());
            }
        }
    }

    @Test
    void openingAMissingOrdinalSaysHowManyDevicesThereAre() {
        var e = assertThrows(IllegalArgumentException.class, () -> Device.open(new FakeDriver(), 3));
        assertEquals("no CUDA device 3: the PANAMA driver sees 1 device(s)", e.getMessage());
    }
}
