package dev.mambaout.natives;

import java.lang.foreign.MemorySegment;

/**
 * Checks on the host side of a copy, shared by both backends. The driver reads and writes host memory by raw
 * address, so a segment that is on the Java heap (the GC moves it), or shorter than the copy, would corrupt memory
 * or crash the JVM; both are refused with an exception instead.
 */
public final class HostSegments {

    private HostSegments() {}

    /**
     * @throws IllegalArgumentException if {@code segment} is null, on the heap, or shorter than {@code bytes}, or if
     *                                  {@code bytes} is negative
     */
    public static void requireNative(String call, MemorySegment segment, long bytes) {
        if (segment == null) throw new IllegalArgumentException(call + ": host segment is null");
        if (!segment.isNative()) {
            throw new IllegalArgumentException(call + ": host segment " + segment + " is on the Java heap; the driver"
                    + " needs a fixed address. Use a native segment (Arena.allocate) or pinned memory (memHostAlloc)");
        }
        if (bytes < 0 || bytes > segment.byteSize()) {
            throw new IllegalArgumentException(call + ": " + bytes + " bytes requested but the host segment holds "
                    + segment.byteSize());
        }
    }
}
