package dev.mambaout.kernels;

import java.util.Arrays;
import java.util.List;

/**
 * Geometry of ln_linear.cu (y = LN(x) W^T + b for inference, bf16 out, compiled per K): a persistent grid of
 * {@link #BLOCK}-thread blocks, each holding one column slice of W in shared memory (blockIdx.y = the slice) and
 * striding over 16-token tiles. The compiled K are where the lab measured it ahead of layernorm_forward + cuBLASLt
 * (kernels/lab/NOTES.md, "MLP lab"); the lowering fuses nothing else.
 */
public final class LnLinearKernels {

    /** Threads per block: ln_linear.cuh's LNL_WARPS * 32. */
    public static final int BLOCK = 128;
    /** Columns a warp stages before writing them out (LNL_SC); a slice is a whole number of them. */
    private static final int STAGED_COLUMNS = 64;
    /** The staged rows' pitch in bf16 (LNL_SP). */
    private static final int STAGE_PITCH = STAGED_COLUMNS + 8;
    /** W's slice in shared memory at most (the rest of a block's shared memory is small). */
    private static final int SLICE_BYTES = 64 * 1024;
    /** Shared memory per SM the grid is sized for (sm_90: 228 KB, 1 KB of it reserved per block). */
    private static final int SM_SHARED = 228 * 1024, RESERVED_PER_BLOCK = 1024;
    private static final int[] KS = {48, 96};

    private LnLinearKernels() {}

    /** The compiled K. */
    public static List<Integer> ks() {
        return Arrays.stream(KS).boxed().toList();
    }

    /** Whether LN over K followed by a Linear to N outputs has a kernel: a compiled K and N even (bf16 pairs). */
    public static boolean supports(int k, int n) {
        return Arrays.stream(KS).anyMatch(v -> v == k) && n >= 2 && n % 2 == 0;
    }

    /** The slice's columns: whole staged groups within {@link #SLICE_BYTES} (K = 48: 512, K = 96: 256), at most N. */
    public static int sliceColumns(int k, int n) {
        int nb = SLICE_BYTES / ((k + 8) * 2) / STAGED_COLUMNS * STAGED_COLUMNS;
        return Math.min(Math.max(nb, STAGED_COLUMNS), n);
    }

    /** ln_linear.cuh's lnl_smem_bytes: the padded W slice, gamma, beta, the slice's bias and each warp's stage. */
    public static int sharedBytes(int k, int nb) {
        int rows = ((nb + 7) / 8 + 7) / 8 * 64;
        return rows * (k + 8) * 2 + (2 * k + rows) * 4 + (BLOCK / 32) * 16 * STAGE_PITCH * 2;
    }

    /**
     * As many blocks as shared memory lets stay resident on {@code smCount} SMs, spread over the slices, and no more
     * than there are 16-token tiles for the block's warps; blocks past residency would only wait and reload W.
     */
    public static LaunchGeometry geometry(long tokens, int k, int n, int smCount) {
        if (!supports(k, n)) throw new IllegalArgumentException("no ln_linear kernel for K = " + k + ", N = " + n);
        if (tokens <= 0 || smCount <= 0) throw new IllegalArgumentException("tokens " + tokens + ", SMs " + smCount);
        int nb = sliceColumns(k, n), slices = (n + nb - 1) / nb, smem = sharedBytes(k, nb);
        int perSm = Math.max(1, Math.min(8, SM_SHARED / (smem + RESERVED_PER_BLOCK)));
        long tiles = (tokens + 15) / 16, want = (tiles + BLOCK / 32 - 1) / (BLOCK / 32);
        long gx = Math.max(1, Math.min(want, (long) perSm * smCount / slices));
        return new LaunchGeometry((int) gx, slices, 1, BLOCK, 1, 1, smem);
    }
}
