package dev.mambaout.runtime.launch;

import dev.mambaout.graph.DType;
import dev.mambaout.kernels.ElementwiseKernels;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.Launch;
import dev.mambaout.runtime.Tensor;

import static dev.mambaout.kernels.KernelArg.i32;

/**
 * out = x in the other storage type: F32 to BF16 (round to nearest even, bit for bit {@link DType#floatToBf16},
 * NaN payloads kept) or BF16 to F32 (exact). Same shape; out must not overlap x.
 */
public final class CastLaunch {

    private CastLaunch() {}

    public static Launch prepare(KernelModules m, Tensor out, Tensor x) {
        String k = "cast";
        if (m == null || out == null || x == null) throw new IllegalArgumentException(k + ": modules, out and x are required");
        LaunchChecks.activation(k, "x", x);
        LaunchChecks.activation(k, "out", out);
        if (out.dtype() == x.dtype()) {
            throw new IllegalArgumentException(k + ": x and out are both " + x.dtype() + " (F32 -> BF16 or BF16 -> F32; "
                    + "a same-type copy is a memcpy)");
        }
        if (!out.shape().equals(x.shape())) {
            throw new IllegalArgumentException(k + ": out " + out.shape() + " must have x's shape " + x.shape());
        }
        if (x.numel() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(k + ": " + x.numel() + " elements, more than 2^31 - 1 (split it)");
        }
        if (out.overlaps(x)) {
            throw new IllegalArgumentException(k + ": out overlaps x");
        }
        return m.prepare(x.dtype() == DType.F32 ? KernelCatalog.CAST_F32_BF16 : KernelCatalog.CAST_BF16_F32,
                ElementwiseKernels.castGeometry(x.numel()), out.arg(), x.arg(), i32((int) x.numel()));
    }
}
