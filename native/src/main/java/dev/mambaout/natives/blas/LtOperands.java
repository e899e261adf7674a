package dev.mambaout.natives.blas;

/**
 * The real operands an autotuned plan is timed on: the arguments {@link LtMatmul#run} will get, plus how much
 * workspace there is. Timing overwrites D (and, for {@link Epilogue#BGRADB}, the bias gradient); run the plan again
 * afterwards for a result.
 *
 * @param c              C, or 0 when {@code beta == 0}
 * @param bias           as for {@link LtMatmul#run}: the bias or bias-gradient buffer when the epilogue has one, else 0
 * @param workspace      device memory of {@code workspaceBytes} (0 when that is 0)
 * @param workspaceBytes what {@code workspace} holds: candidates that need more are not timed. Pass the spec's
 *                       {@link LtMatmulSpec#maxWorkspaceBytes()} to let every candidate the heuristics offer run
 * @param stream         the stream to time on. It must be a created stream (or the per-thread default stream, 2):
 *                       each candidate is captured into a CUDA graph, which the legacy default stream (0, or
 *                       {@code CU_STREAM_LEGACY} = 1) cannot do
 */
public record LtOperands(float alpha, long a, long b, float beta, long c, long d, long bias, long workspace,
                         long workspaceBytes, long stream) {

    public LtOperands {
        if (a == 0 || b == 0 || d == 0) {
            throw new IllegalArgumentException("autotune operands need device pointers for A, B and D, got A=0x"
                    + Long.toHexString(a) + " B=0x" + Long.toHexString(b) + " D=0x" + Long.toHexString(d));
        }
        if (beta != 0f && c == 0) throw new IllegalArgumentException("beta=" + beta + " needs a C pointer, got 0");
        if (workspaceBytes < 0) throw new IllegalArgumentException("workspaceBytes < 0: " + workspaceBytes);
        if (workspaceBytes > 0 && workspace == 0) {
            throw new IllegalArgumentException("workspaceBytes=" + workspaceBytes + " but the workspace pointer is 0");
        }
        if (stream == 0 || stream == 1) {
            throw new IllegalArgumentException("autotune captures each candidate into a CUDA graph, which the legacy"
                    + " default stream cannot do (got stream " + stream + "); pass a stream from streamCreate");
        }
    }

    /** The checks {@link LtMatmul#run} makes, done before any GPU work: alignment, and the bias iff the epilogue has one. */
    void checkAgainst(LtMatmulSpec spec) {
        LtMatmul.checkPointer(spec, "A", a);
        LtMatmul.checkPointer(spec, "B", b);
        if (c != 0) LtMatmul.checkPointer(spec, "C", c);
        LtMatmul.checkPointer(spec, "D", d);
        Epilogue e = spec.epilogue();
        if (e.readsBias() || e.writesBias()) {
            LtMatmul.checkPointer(spec, "bias", bias);
        } else if (bias != 0) {
            throw new IllegalArgumentException("epilogue " + e + " takes no bias, got 0x" + Long.toHexString(bias));
        }
    }
}
