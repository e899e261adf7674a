package dev.mambaout.bench;

import dev.mambaout.graph.DType;
import dev.mambaout.runtime.Device;
import dev.mambaout.runtime.PinnedBuffer;
import dev.mambaout.runtime.Stream;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/**
 * A pinned buffer of random bf16 values, uniform in [-1, 1), from which device buffers of any size are filled by
 * tiling: element {@code e} of a fill that starts at {@code start} is {@code value(start + e)}. Benchmarks never time
 * zeros (they can run faster than real data and hide unwritten outputs), and the tiling lets a host check recompute
 * any element of a device matrix without a host copy of it.
 */
final class RandomBf16 implements AutoCloseable {

    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private final PinnedBuffer pinned;
    private final long elements;

    /** @param elements how many distinct values before the pattern repeats */
    RandomBf16(Device device, long elements, long seed) {
        if (elements < 1) throw new IllegalArgumentException("need at least one random element, got " + elements);
        this.elements = elements;
        this.pinned = device.newPinned(elements * 2);
        MemorySegment s = pinned.segment();
        SplittableRandom random = new SplittableRandom(seed);
        for (long i = 0; i < elements; i++) {
            s.setAtIndex(BF16, i, DType.floatToBf16((float) (random.nextDouble() * 2 - 1)));
        }
    }

    /** The value a fill that started at 0 put at element {@code index}. */
    float value(long index) {
        return DType.bf16ToFloat(pinned.segment().getAtIndex(BF16, Math.floorMod(index, elements)));
    }

    /** Copies elements {@code start, start+1, ...} (tiled) into {@code count} bf16 elements at {@code dst}; waits. */
    void fill(Device device, Stream stream, long dst, long count, long start) {
        long done = 0;
        while (done < count) {
            long from = Math.floorMod(start + done, elements);
            long n = Math.min(count - done, elements - from);
            device.driver().memcpyHtoDAsync(dst + done * 2, pinned.segment().asSlice(from * 2, n * 2), n * 2,
                    stream.handle());
            done += n;
        }
        stream.synchronize();
    }

    MemorySegment segment() { return pinned.segment(); }

    @Override
    public void close() { pinned.close(); }
}
