package dev.mambaout.natives.cudnn;

/**
 * {@code cudnnMathType_t}: DEFAULT = 0 (tensor cores allowed, which for float data on Ampere and later means TF32),
 * TENSOR_OP = 1, TENSOR_OP_ALLOW_CONVERSION = 2, FMA = 3 (plain float arithmetic, no tensor cores).
 */
public enum CudnnMathType {
    DEFAULT(0),
    TENSOR_OP(1),
    TENSOR_OP_ALLOW_CONVERSION(2),
    FMA(3);

    private final int value;

    CudnnMathType(int value) { this.value = value; }

    public int value() { return value; }
}
