package dev.mambaout.runtime.launch;

import dev.mambaout.graph.DType;
import dev.mambaout.kernels.KernelSpec;
import dev.mambaout.runtime.Tensor;

/** Shape and dtype checks shared by the typed launchers; every message names the kernel family and the tensor. */
final class LaunchChecks {

    private LaunchChecks() {}

    static void rank(String kernel, String what, Tensor t, int rank) {
        if (t.shape().rank() != rank) {
            throw new IllegalArgumentException(kernel + ": " + what + " must have rank " + rank + ", was " + t.shape());
        }
    }

    /** F32 or BF16 storage. */
    static void activation(String kernel, String what, Tensor t) {
        if (t.dtype() != DType.F32 && t.dtype() != DType.BF16) {
            throw new IllegalArgumentException(kernel + ": " + what + " must be F32 or BF16, was " + t.dtype());
        }
    }

    static void dtype(String kernel, String what, Tensor t, DType want) {
        if (t.dtype() != want) {
            throw new IllegalArgumentException(kernel + ": " + what + " must be " + want + ", was " + t.dtype());
        }
    }

    static KernelSpec byDtype(DType t, KernelSpec f32, KernelSpec bf16) { return t == DType.BF16 ? bf16 : f32; }
}
