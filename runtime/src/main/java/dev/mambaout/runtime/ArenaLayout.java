package dev.mambaout.runtime;

/**
 * The arithmetic of carving one allocation into aligned slices, kept apart from device memory so it can be tested
 * and reused by planners: bump allocation, and checks for slices at offsets a plan chose.
 */
public final class ArenaLayout {

    /** Every slice starts on 256 bytes: what cudaMalloc guarantees, and enough for any vector load or TMA. */
    public static final long ALIGNMENT = 256;

    private final long capacity;
    private long used;

    public ArenaLayout(long capacity) {
        if (capacity <= 0) throw new IllegalArgumentException("arena capacity must be positive, was " + capacity);
        this.capacity = capacity;
    }

    public static long alignUp(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("negative size " + bytes);
        return Math.addExact(bytes, ALIGNMENT - 1) & -ALIGNMENT;
    }

    /** Reserves {@code bytes} at the next aligned offset and returns that offset. */
    public long allocate(long bytes, String what) {
        if (bytes <= 0) throw new IllegalArgumentException("allocation of " + bytes + " bytes for " + what + " must be positive");
        long start = alignUp(used);
        if (bytes > capacity - start) {
            throw new ArenaExhaustedException("arena exhausted: " + what + " requested " + bytes + " bytes but only "
                    + free() + " of the arena's " + capacity + " bytes are free (" + used + " used, slices aligned to "
                    + ALIGNMENT + " bytes)");
        }
        used = start + bytes;
        return start;
    }

    /** Checks that a slice a plan placed at {@code offset} is aligned and inside the arena. */
    public void checkSlice(long offset, long bytes, String what) {
        if (offset < 0 || offset % ALIGNMENT != 0) {
            throw new IllegalArgumentException(what + ": offset " + offset + " is not a non-negative multiple of "
                    + ALIGNMENT);
        }
        if (bytes <= 0 || bytes > capacity - offset) {
            throw new ArenaExhaustedException(what + ": slice [" + offset + ", " + (offset + bytes)
                    + ") does not fit in the arena's " + capacity + " bytes");
        }
    }

    public long capacity() { return capacity; }

    /** Bytes up to the end of the last bump allocation. */
    public long used() { return used; }

    /** Bytes still available for one bump allocation. */
    public long free() { return Math.max(0, capacity - alignUp(used)); }

    /** Forgets every bump allocation; views made before must no longer be used. */
    public void reset() { used = 0; }
}
