package dev.mambaout.natives.nccl;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.util.Arrays;
import java.util.HexFormat;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * An {@code ncclUniqueId}: the 128 opaque bytes rank 0 gets from {@code ncclGetUniqueId} and every rank passes to
 * {@code ncclCommInitRank}. It travels between processes as hex text ({@link #hex()} / {@link #fromHex}), through
 * whatever rendezvous the launcher has (a file, an environment variable, a TCP store). It holds rank 0's bootstrap
 * address and a random magic: whoever has it can join that bootstrap, so it is handled like a session token (never
 * printed) and is good for one communicator.
 */
public final class NcclUniqueId {

    /** {@code NCCL_UNIQUE_ID_BYTES}. */
    public static final int BYTES = 128;

    /**
     * {@code typedef struct { char internal[NCCL_UNIQUE_ID_BYTES]; } ncclUniqueId;}: ncclCommInitRank takes it by
     * value, so its downcall needs the struct's layout, not a pointer. Kept here, away from the class that loads the
     * library, so it can be checked without NCCL.
     */
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(BYTES, JAVA_BYTE).withName("internal")).withName("ncclUniqueId");

    private static final HexFormat HEX = HexFormat.of();

    private final byte[] bytes;

    private NcclUniqueId(byte[] bytes) { this.bytes = bytes; }

    /** A copy of exactly {@link #BYTES} bytes. */
    public static NcclUniqueId of(byte[] bytes) {
        if (bytes.length != BYTES) {
            throw new IllegalArgumentException("an ncclUniqueId is " + BYTES + " bytes, got " + bytes.length);
        }
        return new NcclUniqueId(bytes.clone());
    }

    /** Parses {@link #hex()}'s 256 hex digits (either case). */
    public static NcclUniqueId fromHex(String hex) {
        String s = hex.strip();
        if (s.length() != 2 * BYTES) {
            throw new IllegalArgumentException("an ncclUniqueId is " + 2 * BYTES + " hex digits, got " + s.length());
        }
        return new NcclUniqueId(HEX.parseHex(s));
    }

    static NcclUniqueId read(MemorySegment struct) {
        return new NcclUniqueId(struct.asSlice(0, BYTES).toArray(JAVA_BYTE));
    }

    /** The struct as NCCL takes it by value, in memory from {@code allocator}. */
    MemorySegment toStruct(SegmentAllocator allocator) {
        MemorySegment s = allocator.allocate(LAYOUT);
        MemorySegment.copy(bytes, 0, s, JAVA_BYTE, 0, BYTES);
        return s;
    }

    public byte[] bytes() { return bytes.clone(); }

    /** 256 lower-case hex digits. */
    public String hex() { return HEX.formatHex(bytes); }

    @Override
    public boolean equals(Object o) { return o instanceof NcclUniqueId other && Arrays.equals(bytes, other.bytes); }

    @Override
    public int hashCode() { return Arrays.hashCode(bytes); }

    /** Not the bytes: see the class comment. */
    @Override
    public String toString() { return "NcclUniqueId[" + BYTES + " bytes]"; }
}
