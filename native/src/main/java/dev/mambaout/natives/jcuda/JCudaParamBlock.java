package dev.mambaout.natives.jcuda;

import dev.mambaout.natives.ParamBlock;
import dev.mambaout.natives.ParamKind;
import jcuda.Pointer;

import java.util.List;

/**
 * A kernel's arguments the way JCuda takes them: one single-element Java array per parameter (long[] for PTR and
 * I64, int[] for I32, float[] for F32), each behind a Pointer, and a Pointer to those Pointers for
 * {@code kernelParams}. All of it is built once; setters write element 0 of a cell in place. JCuda's native side
 * then reads the cells on each launch (it pins or copies each array for the duration of the call): that per-launch
 * work is JCuda's, and part of what the bench module measures against Panama's native block.
 */
final class JCudaParamBlock implements ParamBlock {

    private final List<ParamKind> kinds;
    private final ParamKind[] kindArray;
    private final long[][] longCells;
    private final int[][] intCells;
    private final float[][] floatCells;
    final Pointer kernelParams;

    JCudaParamBlock(List<ParamKind> kinds) {
        this.kinds = List.copyOf(kinds);
        this.kindArray = this.kinds.toArray(ParamKind[]::new);
        int n = kindArray.length;
        longCells = new long[n][];
        intCells = new int[n][];
        floatCells = new float[n][];
        Pointer[] cells = new Pointer[n];
        for (int i = 0; i < n; i++) {
            cells[i] = switch (kindArray[i]) {
                case PTR, I64 -> Pointer.to(longCells[i] = new long[1]);
                case I32 -> Pointer.to(intCells[i] = new int[1]);
                case F32 -> Pointer.to(floatCells[i] = new float[1]);
            };
        }
        kernelParams = Pointer.to(cells);
    }

    @Override
    public List<ParamKind> kinds() { return kinds; }

    @Override
    public void setPtr(int index, long devicePointer) { longCells[check(index, ParamKind.PTR)][0] = devicePointer; }

    @Override
    public void setI32(int index, int value) { intCells[check(index, ParamKind.I32)][0] = value; }

    @Override
    public void setI64(int index, long value) { longCells[check(index, ParamKind.I64)][0] = value; }

    @Override
    public void setF32(int index, float value) { floatCells[check(index, ParamKind.F32)][0] = value; }

    /** The value in cell {@code index} as the raw bits the kernel will read (for tests and diagnostics). */
    long rawValue(int index) {
        return switch (kindArray[index]) {
            case PTR, I64 -> longCells[index][0];
            case I32 -> intCells[index][0];
            case F32 -> Float.floatToRawIntBits(floatCells[index][0]);
        };
    }

    private int check(int index, ParamKind expected) {
        if (index < 0 || index >= kindArray.length || kindArray[index] != expected) {
            throw new IllegalArgumentException(index < 0 || index >= kindArray.length
                    ? "parameter index " + index + " out of range for a block of " + kindArray.length + " " + kinds
                    : "parameter " + index + " is " + kindArray[index] + ", not " + expected + " (block " + kinds + ")");
        }
        return index;
    }

    /** Nothing native to free: the cells are Java arrays. */
    @Override
    public void close() {}
}
