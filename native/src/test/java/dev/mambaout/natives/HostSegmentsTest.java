package dev.mambaout.natives;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HostSegmentsTest {

    @Test
    void heapSegmentIsRefusedWithTheReason() {
        MemorySegment heap = MemorySegment.ofArray(new float[16]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> HostSegments.requireNative("cuMemcpyHtoD_v2", heap, 64));
        assertTrue(e.getMessage().startsWith("cuMemcpyHtoD_v2: ") && e.getMessage().contains("Java heap"), e.getMessage());
    }

    @Test
    void copyLongerThanTheSegmentIsRefused() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(64);
            assertDoesNotThrow(() -> HostSegments.requireNative("x", s, 64));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> HostSegments.requireNative("cuMemcpyDtoH_v2", s, 65));
            assertTrue(e.getMessage().contains("65 bytes") && e.getMessage().contains("64"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> HostSegments.requireNative("x", s, -1));
            assertThrows(IllegalArgumentException.class, () -> HostSegments.requireNative("x", null, 0));
        }
    }
}
