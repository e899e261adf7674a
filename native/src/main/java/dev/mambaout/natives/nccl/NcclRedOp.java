package dev.mambaout.natives.nccl;

/** The built-in {@code ncclRedOp_t} values from nccl.h ({@code ncclAvg} exists since NCCL 2.10). */
public enum NcclRedOp {
    SUM(0),
    PROD(1),
    MAX(2),
    MIN(3),
    AVG(4);

    private final int value;

    NcclRedOp(int value) { this.value = value; }

    /** The {@code ncclRedOp_t} number. */
    public int value() { return value; }
}
