package dev.mambaout.natives.panama;

import dev.mambaout.natives.ParamKind;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static dev.mambaout.natives.ParamKind.F32;
import static dev.mambaout.natives.ParamKind.I32;
import static dev.mambaout.natives.ParamKind.I64;
import static dev.mambaout.natives.ParamKind.PTR;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The void** block is read back through raw addresses, the way the driver reads it. */
class PanamaParamBlockTest {

    /** Follows pointer {@code i} of the block's void** to its cell. */
    private static MemorySegment cell(PanamaParamBlock block, int i, long bytes) {
        long address = block.argv().get(ValueLayout.JAVA_LONG, i * 8L);
        return MemorySegment.ofAddress(address).reinterpret(bytes);
    }

    @Test
    void pointersLeadToTheValuesThatWereSet() {
        List<ParamKind> kinds = List.of(PTR, I32, F32, I64, PTR, I32);
        try (PanamaParamBlock block = new PanamaParamBlock(kinds)) {
            assertEquals(kinds, block.kinds());
            assertEquals(kinds.size() * 8L, block.argv().byteSize());
            assertEquals(block.argv().address(), block.address());
            block.setPtr(0, 0x7f00_dead_beef_0000L);
            block.setI32(1, -123_456_789);
            block.setF32(2, -3.25e-7f);
            block.setI64(3, Long.MIN_VALUE + 17);
            block.setPtr(4, 0);
            block.setI32(5, Integer.MAX_VALUE);

            assertEquals(0x7f00_dead_beef_0000L, cell(block, 0, 8).get(ValueLayout.JAVA_LONG, 0));
            assertEquals(-123_456_789, cell(block, 1, 4).get(ValueLayout.JAVA_INT, 0));
            assertEquals(Float.floatToRawIntBits(-3.25e-7f),
                    Float.floatToRawIntBits(cell(block, 2, 4).get(ValueLayout.JAVA_FLOAT, 0)));
            assertEquals(Long.MIN_VALUE + 17, cell(block, 3, 8).get(ValueLayout.JAVA_LONG, 0));
            assertEquals(0L, cell(block, 4, 8).get(ValueLayout.JAVA_LONG, 0));
            assertEquals(Integer.MAX_VALUE, cell(block, 5, 4).get(ValueLayout.JAVA_INT, 0));

            // Rewriting in place changes the cell, not the pointer to it.
            long before = block.argv().get(ValueLayout.JAVA_LONG, 8);
            block.setI32(1, 42);
            assertEquals(before, block.argv().get(ValueLayout.JAVA_LONG, 8));
            assertEquals(42, cell(block, 1, 4).get(ValueLayout.JAVA_INT, 0));
        }
    }

    @Test
    void cellsAreDistinctAlignedAndOutsideThePointerArray() {
        int n = 9;
        try (PanamaParamBlock block = new PanamaParamBlock(java.util.Collections.nCopies(n, I64))) {
            Set<Long> seen = new HashSet<>();
            long argvStart = block.address();
            long argvEnd = argvStart + n * 8L;
            for (int i = 0; i < n; i++) {
                long a = block.argv().get(ValueLayout.JAVA_LONG, i * 8L);
                assertEquals(0, a % 8, "cell " + i + " misaligned");
                assertTrue(a >= argvEnd || a + 8 <= argvStart, "cell " + i + " overlaps the pointer array");
                assertTrue(seen.add(a), "cell " + i + " shared");
                block.setI64(i, 1000L * i + 7);
            }
            for (int i = 0; i < n; i++) assertEquals(1000L * i + 7, cell(block, i, 8).get(ValueLayout.JAVA_LONG, 0));
        }
    }

    @Test
    void wrongKindOrIndexIsRefusedWithTheLayout() {
        try (PanamaParamBlock block = new PanamaParamBlock(List.of(PTR, I32))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> block.setF32(1, 1f));
            assertTrue(e.getMessage().contains("parameter 1 is I32, not F32"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> block.setPtr(2, 1));
            assertTrue(e.getMessage().contains("index 2 out of range"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> block.setI32(-1, 1));
        }
    }

    @Test
    void closedBlockCannotBeWritten() {
        PanamaParamBlock block = new PanamaParamBlock(List.of(I32));
        block.close();
        block.close();   // idempotent
        assertThrows(IllegalStateException.class, () -> block.setI32(0, 1));
    }

    @Test
    void parameterlessKernelGetsAnEmptyArray() {
        try (PanamaParamBlock block = new PanamaParamBlock(List.of())) {
            assertEquals(0, block.argv().byteSize());
            assertTrue(block.address() != 0);
        }
    }
}
