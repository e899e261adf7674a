package dev.mambaout.natives.blas;

import dev.mambaout.natives.CudaDriver;

/**
 * How {@link CublasLt#plan(LtMatmulSpec, LtAutotune)} picks an algorithm by timing: ask
 * {@code cublasLtMatmulAlgoGetHeuristic} for up to {@code candidates} algorithms, run each once eagerly (a candidate
 * cuBLASLt refuses is recorded and skipped), capture {@code runsPerSample} products of each into its own CUDA graph,
 * replay every graph {@code warmups} times, then {@code samples} rounds of one replay per candidate between
 * back-to-back CUDA events, and keep the candidate with the smallest median ({@link LtTuning#select}).
 *
 * <p>Why graphs and rounds: a graph replays its products with no host gap, so a 10 µs GEMM is timed as the GPU runs
 * it rather than as fast as the host can enqueue it; and interleaving candidates round by round spreads the card's
 * clock and power drift (an H100 at its power cap slows down over seconds of 8192³ products) over all of them instead
 * of penalising whichever is timed last.
 *
 * @param driver   the driver whose context is current on the calling thread; events and graphs are made through it
 * @param operands the plan's real buffers, workspace and stream
 */
public record LtAutotune(CudaDriver driver, LtOperands operands, int candidates, int warmups, int samples,
                         int runsPerSample) {

    public static final int DEFAULT_CANDIDATES = 8;
    public static final int DEFAULT_WARMUPS = 2;
    public static final int DEFAULT_SAMPLES = 5;
    public static final int DEFAULT_RUNS_PER_SAMPLE = 10;

    public LtAutotune {
        if (candidates < 1 || candidates > 32) {
            throw new IllegalArgumentException("candidates must be in [1, 32], got " + candidates);
        }
        if (warmups < 0 || warmups > 100) throw new IllegalArgumentException("warmups must be in [0, 100], got " + warmups);
        if (samples < 1 || samples > 100) throw new IllegalArgumentException("samples must be in [1, 100], got " + samples);
        if (runsPerSample < 1 || runsPerSample > 1000) {
            throw new IllegalArgumentException("runsPerSample must be in [1, 1000], got " + runsPerSample);
        }
        if (driver == null || operands == null) {
            throw new IllegalArgumentException("LtAutotune needs a driver and operands, got " + driver + ", " + operands);
        }
    }

    /** 8 candidates, 2 warm-up replays, median of 5 samples of 10 products each. */
    public static LtAutotune of(CudaDriver driver, LtOperands operands) {
        return new LtAutotune(driver, operands, DEFAULT_CANDIDATES, DEFAULT_WARMUPS, DEFAULT_SAMPLES,
                DEFAULT_RUNS_PER_SAMPLE);
    }
}
