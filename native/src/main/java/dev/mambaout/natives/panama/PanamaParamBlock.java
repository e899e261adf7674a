package dev.mambaout.natives.panama;

import dev.mambaout.natives.ParamBlock;
import dev.mambaout.natives.ParamKind;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * A kernel's argument block in native memory, laid out exactly as {@code cuLaunchKernel}'s {@code kernelParams}
 * wants it: {@code n} pointers (the {@code void**}) followed by {@code n} value cells of 8 bytes, pointer {@code i}
 * holding the address of cell {@code i}. The pointers are written once here; a setter writes only its cell, so a
 * prepared launch is replayed by passing one address, with nothing allocated and nothing copied.
 *
 * <p>Every cell is 8 bytes and 8-aligned whatever its kind: the driver reads each parameter through its own
 * pointer, so cells need not be packed like the kernel's parameter buffer, and a uniform stride keeps the offsets
 * arithmetic trivial. 4-byte values sit at the start of their cell (x86-64 and aarch64 are little-endian).
 *
 * <p>Setters may be called from any thread (the memory is from a shared arena) but are not synchronized: the owner
 * of a prepared launch writes its values and then launches it, from one thread at a time.
 */
public final class PanamaParamBlock implements ParamBlock {

    private static final long CELL = 8;

    private final List<ParamKind> kinds;
    private final ParamKind[] kindArray;
    private final Arena arena;
    private final MemorySegment block;
    private final long valuesOffset;

    public PanamaParamBlock(List<ParamKind> kinds) {
        this.kinds = List.copyOf(kinds);   // also rejects null elements
        this.kindArray = this.kinds.toArray(ParamKind[]::new);
        int n = kindArray.length;
        this.arena = Arena.ofShared();
        // One allocation for pointers and cells; at least one cell so a parameterless kernel still gets a valid
        // (unused) address rather than a zero-length segment.
        this.block = arena.allocate(Math.max(1, 2L * n) * CELL, CELL);
        this.valuesOffset = n * CELL;
        for (int i = 0; i < n; i++) {
            block.set(ValueLayout.JAVA_LONG, i * CELL, block.address() + valuesOffset + i * CELL);
        }
    }

    @Override
    public List<ParamKind> kinds() { return kinds; }

    /** The {@code void**} array: {@code kinds().size()} pointers, one to each value cell. */
    public MemorySegment argv() { return block.asSlice(0, valuesOffset); }

    /** The address {@code cuLaunchKernel} takes as {@code kernelParams}. */
    public long address() { return block.address(); }

    @Override
    public void setPtr(int index, long devicePointer) {
        block.set(ValueLayout.JAVA_LONG, cell(index, ParamKind.PTR), devicePointer);
    }

    @Override
    public void setI32(int index, int value) {
        block.set(ValueLayout.JAVA_INT, cell(index, ParamKind.I32), value);
    }

    @Override
    public void setI64(int index, long value) {
        block.set(ValueLayout.JAVA_LONG, cell(index, ParamKind.I64), value);
    }

    @Override
    public void setF32(int index, float value) {
        block.set(ValueLayout.JAVA_FLOAT, cell(index, ParamKind.F32), value);
    }

    private long cell(int index, ParamKind expected) {
        if (index < 0 || index >= kindArray.length || kindArray[index] != expected) {
            throw new IllegalArgumentException(index < 0 || index >= kindArray.length
                    ? "parameter index " + index + " out of range for a block of " + kindArray.length + " " + kinds
                    : "parameter " + index + " is " + kindArray[index] + ", not " + expected + " (block " + kinds + ")");
        }
        return valuesOffset + index * CELL;
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }
}
