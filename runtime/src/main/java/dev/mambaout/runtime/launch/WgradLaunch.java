package dev.mambaout.runtime.launch;

import dev.mambaout.graph.DType;
import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.kernels.KernelSpec;
import dev.mambaout.kernels.WgradKernels;
import dev.mambaout.runtime.KernelModules;
import dev.mambaout.runtime.LaunchSequence;
import dev.mambaout.runtime.Stream;
import dev.mambaout.runtime.Tensor;

import static dev.mambaout.kernels.KernelArg.i32;
import static dev.mambaout.kernels.KernelArg.i64;

/**
 * The weight gradient of a narrow layer (wgrad.cu): dW [m, n] = dY^T X and db [m] = the column sums of dY, from dY
 * [rows, m] and X [rows, n] of one type (F32 or BF16), into F32 dW and db (overwritten), deterministically: per-block
 * partial sums into the F32 workspace ({@link WgradKernels#workspaceFloats} elements, the caller's scratch), then a
 * reduce in a fixed order. m and n at most {@link WgradKernels#MAX_WIDTH}.
 */
public final class WgradLaunch implements AutoCloseable {

    private final LaunchSequence launches;

    private WgradLaunch(LaunchSequence launches) { this.launches = launches; }

    public static WgradLaunch prepare(KernelModules modules, Tensor dWeight, Tensor dBias, Tensor workspace, Tensor dy,
                                      Tensor x, long rows, int m, int n) {
        String k = "wgrad";
        if (!WgradKernels.supports(m, n)) {
            throw new IllegalArgumentException(k + ": m = " + m + " and n = " + n + " must be in [1, "
                    + WgradKernels.MAX_WIDTH + "]");
        }
        LaunchChecks.activation(k, "dy", dy);
        LaunchChecks.dtype(k, "x", x, dy.dtype());
        count(k, "dy", dy, rows * m, "rows x m");
        count(k, "x", x, rows * n, "rows x n");
        LaunchChecks.dtype(k, "dWeight", dWeight, DType.F32);
        LaunchChecks.dtype(k, "dBias", dBias, DType.F32);
        LaunchChecks.dtype(k, "workspace", workspace, DType.F32);
        count(k, "dWeight", dWeight, (long) m * n, "m x n");
        count(k, "dBias", dBias, m, "m");
        long need = WgradKernels.workspaceFloats(rows, m, n);
        if (workspace.numel() < need) {
            throw new IllegalArgumentException(k + ": workspace must hold " + need + " floats ("
                    + WgradKernels.blocks(rows) + " partials of " + (m * n + m) + "), has " + workspace.numel());
        }
        KernelSpec partial = LaunchChecks.byDtype(dy.dtype(), KernelCatalog.WGRAD_PARTIAL_F32,
                KernelCatalog.WGRAD_PARTIAL_BF16);
        int blocks = WgradKernels.blocks(rows);
        return new WgradLaunch(LaunchSequence.prepare(
                () -> modules.prepare(partial, WgradKernels.partialGeometry(rows), workspace.arg(), dy.arg(), x.arg(),
                        i64(rows), i32(m), i32(n), i32(WgradKernels.rowsPerBlock(rows))),
                () -> modules.prepare(KernelCatalog.WGRAD_REDUCE, WgradKernels.reduceGeometry(m, n), dWeight.arg(),
                        dBias.arg(), workspace.arg(), i32(blocks), i32(m), i32(n))));
    }

    private static void count(String k, String what, Tensor t, long want, String how) {
        if (t.numel() != want) {
            throw new IllegalArgumentException(k + ": " + what + " must hold " + how + " = " + want + " values, has "
                    + t.numel());
        }
    }

    /** Queues both kernels on {@code stream}. */
    public void launch(Stream stream) { launches.launch(stream); }

    @Override
    public void close() { launches.close(); }
}
