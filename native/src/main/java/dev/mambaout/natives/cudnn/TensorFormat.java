package dev.mambaout.natives.cudnn;

/**
 * {@code cudnnTensorFormat_t}: NCHW = 0, NHWC = 1. For filters the same value means [K, C/g, R, S] (NCHW) or
 * [K, R, S, C/g] (NHWC); a depthwise filter (C/g = 1) has one memory order in both, PyTorch's [C, 1, R, S].
 */
public enum TensorFormat {
    NCHW(0),
    NHWC(1);

    private final int value;

    TensorFormat(int value) { this.value = value; }

    public int value() { return value; }
}
