package dev.mambaout.kernels;

import dev.mambaout.natives.ParamKind;

/**
 * One typed kernel argument, so a launch can be checked against its {@link KernelSpec} before anything reaches the
 * driver: a {@code long} alone cannot say whether it is a device pointer or an int64.
 */
public sealed interface KernelArg {

    ParamKind kind();

    record Ptr(long address) implements KernelArg {
        public ParamKind kind() { return ParamKind.PTR; }
    }

    record I32(int value) implements KernelArg {
        public ParamKind kind() { return ParamKind.I32; }
    }

    record I64(long value) implements KernelArg {
        public ParamKind kind() { return ParamKind.I64; }
    }

    record F32(float value) implements KernelArg {
        public ParamKind kind() { return ParamKind.F32; }
    }

    static KernelArg ptr(long address) { return new Ptr(address); }

    static KernelArg i32(int value) { return new I32(value); }

    static KernelArg i64(long value) { return new I64(value); }

    static KernelArg f32(float value) { return new F32(value); }
}
