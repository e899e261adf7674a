package dev.mambaout.natives.cudnn;

/** {@code cudnnDataType_t} values (cudnn_graph.h / cudnn_ops.h: FLOAT = 0, HALF = 2, BFLOAT16 = 9). */
public enum CudnnDataType {
    FLOAT(0, 4),
    HALF(2, 2),
    BFLOAT16(9, 2);

    private final int value;
    private final int bytes;

    CudnnDataType(int value, int bytes) {
        this.value = value;
        this.bytes = bytes;
    }

    public int value() { return value; }

    public int bytes() { return bytes; }
}
