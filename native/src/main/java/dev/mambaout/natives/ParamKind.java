package dev.mambaout.natives;

/** The kinds of kernel parameter the engine passes; each is stored by value in a {@link ParamBlock}. */
public enum ParamKind {
    /** A device pointer (CUdeviceptr, 8 bytes). */
    PTR(8),
    I32(4),
    I64(8),
    F32(4);

    private final int bytes;

    ParamKind(int bytes) { this.bytes = bytes; }

    public int bytes() { return bytes; }
}
