package dev.mambaout.model.train;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Host memory the loader fills with one batch while the step works on the other: images as float32 NCHW and labels
 * as int32. The CPU step uses heap memory ({@link #onHeap}); a GPU step supplies page-locked memory so the copy to
 * the device can run asynchronously, without the loader or the trainer knowing the difference.
 */
public interface StagingBuffer {

    /** Most samples the buffer holds. */
    int capacity();

    /** Floats of one image (channels x height x width). */
    int sampleFloats();

    /** {@code capacity * sampleFloats} float32 values. */
    MemorySegment images();

    /** {@code capacity} int32 labels. */
    MemorySegment labels();

    /** Writes one sample at position {@code slot}. */
    default void put(int slot, float[] image, int label) {
        if (image.length != sampleFloats()) {
            throw new IllegalArgumentException("an image of " + image.length + " floats does not fit slots of " + sampleFloats());
        }
        MemorySegment.copy(image, 0, images(), ValueLayout.JAVA_FLOAT, (long) slot * sampleFloats() * Float.BYTES, sampleFloats());
        labels().setAtIndex(ValueLayout.JAVA_INT, slot, label);
    }

    /** The first {@code count} images as one array (what the CPU executor binds). */
    default float[] imageArray(int count) {
        return images().asSlice(0, (long) count * sampleFloats() * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT);
    }

    default int[] labelArray(int count) {
        return labels().asSlice(0, (long) count * Integer.BYTES).toArray(ValueLayout.JAVA_INT);
    }

    static StagingBuffer onHeap(int capacity, int sampleFloats) {
        if (capacity < 1 || sampleFloats < 1) {
            throw new IllegalArgumentException("a staging buffer needs capacity and sample size >= 1, got " + capacity + " and " + sampleFloats);
        }
        long floats = (long) capacity * sampleFloats;
        if (floats > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("a batch of " + capacity + " images of " + sampleFloats + " floats exceeds one Java array");
        }
        return new Heap(capacity, sampleFloats, MemorySegment.ofArray(new float[(int) floats]), MemorySegment.ofArray(new int[capacity]));
    }

    /** Heap arrays seen as segments. */
    record Heap(int capacity, int sampleFloats, MemorySegment images, MemorySegment labels) implements StagingBuffer {}
}
