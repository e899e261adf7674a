package dev.mambaout.bench;

import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.blas.ComputeType;
import dev.mambaout.natives.blas.CublasLt;
import dev.mambaout.natives.blas.CudaDataType;
import dev.mambaout.natives.blas.Epilogue;
import dev.mambaout.natives.blas.LtAutotune;
import dev.mambaout.natives.blas.LtMatmul;
import dev.mambaout.natives.blas.LtMatmulSpec;
import dev.mambaout.natives.blas.LtOperands;
import dev.mambaout.natives.blas.RowMajorGemm;
import dev.mambaout.runtime.CudaGraph;
import dev.mambaout.graph.DType;
import dev.mambaout.runtime.DeviceArena;
import dev.mambaout.runtime.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * cuBLASLt bf16 GEMMs (bf16 A, W and D, float compute, no epilogue) at 8192^3 and at MambaOut-femto's fc1/fc2
 * shapes for batch 256 ({@link GemmCase}). Setup fills the inputs with random values, plans the product once (the
 * heuristics' first algorithm, or with {@code autotune} the fastest of their top 8 timed on operand set 0), checks
 * sampled outputs against a float64 CPU dot product, and captures {@value #REPS} products into a CUDA graph, so that
 * an invocation (one replay between two events, then a wait) times the GPU work and not cuBLASLt's host cost per call.
 * JMH's score is milliseconds per product; the event line adds TFLOP/s and GB/s against {@link GemmCase#bytes()}.
 *
 * <p>Small shapes would otherwise be timed out of the 50 MB L2: the graph rotates over as many input/output sets as
 * it takes to pass twice the L2 size (at most {@value #MAX_SETS}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class GemmBench {

    public static final int REPS = 20;
    static final int MAX_SETS = 16;
    private static final int SAMPLES = 64;
    private static final double MAX_SAMPLE_ERROR = 1e-2;
    private static final long ALIGN = 256;

    @Param({"square_8192",
            "femto_b256_s0_fc1", "femto_b256_s0_fc2", "femto_b256_s1_fc1", "femto_b256_s1_fc2",
            "femto_b256_s2_fc1", "femto_b256_s2_fc2", "femto_b256_s3_fc1", "femto_b256_s3_fc2"})
    public String shape;

    /**
     * The pointer alignment promised to cuBLASLt's heuristics ({@link LtMatmulSpec#alignmentBytes()}): 16 is what the
     * engine promises for any tensor view, 256 what whole arena allocations have; the heuristics may pick another
     * kernel for each, so both are timed.
     */
    @Param({"16", "256"})
    public int alignment;

    /**
     * false: the plan runs cuBLASLt's heuristic first choice; true: {@link LtAutotune#of} times the heuristics' top 8
     * on operand set 0 at setup and keeps the fastest (its table is printed, the choice goes into the event line).
     */
    @Param({"false", "true"})
    public boolean autotune;

    private GemmCase gemm;
    private BenchGpu gpu;
    private CublasLt lt;
    private LtMatmul plan;
    private DeviceArena arena;
    private CudaGraph graph;
    private Stream stream;
    private int sets;
    private final EventTimes times = new EventTimes(1 << 16);

    /** How many rotating operand sets of {@code setBytes} it takes to pass twice the L2 size. */
    static int setsFor(long setBytes, long l2Bytes) {
        long needed = (2 * l2Bytes + setBytes - 1) / setBytes;
        return (int) Math.max(1, Math.min(MAX_SETS, needed));
    }

    @Setup(Level.Trial)
    public void setUp() {
        gemm = GemmCase.byName(shape);
        gpu = BenchGpu.open(Cuda.configuredBackend());
        stream = gpu.stream();
        lt = CublasLt.open();
        LtMatmulSpec spec = new LtMatmulSpec(RowMajorGemm.linear(gemm.m(), gemm.k(), gemm.n()), CudaDataType.BF16,
                CudaDataType.BF16, ComputeType.F32, Epilogue.NONE, LtMatmulSpec.DEFAULT_WORKSPACE, alignment);

        long aBytes = align(2L * gemm.m() * gemm.k());
        long wBytes = align(2L * gemm.n() * gemm.k());
        long dBytes = align(2L * gemm.m() * gemm.n());
        long setBytes = aBytes + wBytes + dBytes;
        sets = setsFor(setBytes, gpu.device().info().l2CacheBytes());
        // The whole allowance, whichever algorithm is kept: autotuning tries candidates that need up to this much.
        long workspace = align(spec.maxWorkspaceBytes());
        arena = gpu.device().newArena(sets * setBytes + Math.max(workspace, ALIGN));
        long wsBase = arena.base() + sets * setBytes;

        long[] a = new long[sets], w = new long[sets], d = new long[sets];
        try (RandomBf16 random = new RandomBf16(gpu.device(), 16L << 20, 0x6e33_0001L)) {
            for (int s = 0; s < sets; s++) {
                a[s] = arena.base() + s * setBytes;
                w[s] = a[s] + aBytes;
                d[s] = w[s] + wBytes;
                // A and W start at different places in the random block so they are not the same numbers.
                random.fill(gpu.device(), stream, a[s], (long) gemm.m() * gemm.k(), aStart(s));
                random.fill(gpu.device(), stream, w[s], (long) gemm.n() * gemm.k(), wStart(s));
                // 0xFFFF is a bf16 NaN: an output the GEMM failed to write shows up in the check below.
                gpu.driver().memsetD8Async(d[s], (byte) 0xFF, dBytes, stream.handle());
            }
            plan = autotune
                    ? lt.plan(spec, LtAutotune.of(gpu.driver(), new LtOperands(1f, a[0], w[0], 0f, 0, d[0], 0, wsBase,
                            workspace, stream.handle())))
                    : lt.plan(spec);
            plan.tuning().ifPresent(t -> System.out.print("autotune " + shape + " alignment " + alignment + ":\n"
                    + t.table()));
            // Autotuning wrote D of set 0: poison it again so the check below sees only the plan's own run.
            gpu.driver().memsetD8Async(d[0], (byte) 0xFF, dBytes, stream.handle());
            long ws = plan.workspaceBytes() == 0 ? 0 : wsBase;
            plan.run(1f, a[0], w[0], 0f, 0, d[0], 0, ws, stream.handle());
            stream.synchronize();
            checkSamples(random, d[0]);
        }
        long ws = plan.workspaceBytes() == 0 ? 0 : wsBase;
        graph = CudaGraph.capture(gpu.driver(), stream, () -> {
            for (int r = 0; r < REPS; r++) {
                int s = r % sets;
                plan.run(1f, a[s], w[s], 0f, 0, d[s], 0, ws, stream.handle());
            }
        });
        graph.replay(stream);
        stream.synchronize();
    }

    private long aStart(int set) { return 7919L * set; }

    private long wStart(int set) { return (4L << 20) + 104729L * set; }

    /**
     * Compares {@value #SAMPLES} random outputs of set 0 with float64 dot products of the same bf16 inputs:
     * ||got - ref|| / ||ref|| must stay under 1e-2 (bf16 rounding of D is about 2e-3), and no output may be NaN.
     */
    private void checkSamples(RandomBf16 random, long d0) {
        SplittableRandom pick = new SplittableRandom(42);
        double err2 = 0, ref2 = 0;
        try (Arena host = Arena.ofConfined()) {
            MemorySegment cell = host.allocate(2, 2);
            for (int t = 0; t < SAMPLES; t++) {
                int i = pick.nextInt(gemm.m());
                int j = pick.nextInt(gemm.n());
                double ref = 0;
                for (int kk = 0; kk < gemm.k(); kk++) {
                    ref += (double) random.value(aStart(0) + (long) i * gemm.k() + kk)
                            * random.value(wStart(0) + (long) j * gemm.k() + kk);
                }
                gpu.driver().memcpyDtoH(cell, d0 + 2 * ((long) i * gemm.n() + j), 2);
                float got = DType.bf16ToFloat(cell.get(ValueLayout.JAVA_SHORT, 0));
                if (Float.isNaN(got)) {
                    throw new IllegalStateException("GEMM " + gemm + " left D[" + i + "," + j + "] unwritten (NaN)");
                }
                err2 += (got - ref) * (got - ref);
                ref2 += ref * ref;
            }
        }
        double rel = Math.sqrt(err2 / ref2);
        if (!(rel < MAX_SAMPLE_ERROR)) {
            throw new IllegalStateException("GEMM " + gemm + " disagrees with the CPU: relative error " + rel
                    + " over " + SAMPLES + " sampled outputs (limit " + MAX_SAMPLE_ERROR + ")");
        }
    }

    private static long align(long bytes) { return (bytes + ALIGN - 1) / ALIGN * ALIGN; }

    @Setup(Level.Iteration)
    public void beforeIteration(IterationParams iteration) {
        gpu.makeCurrent();
        times.recording(iteration.getType() == IterationType.MEASUREMENT);
    }

    @Benchmark
    @OperationsPerInvocation(REPS)
    public void gemm() {
        gpu.startTiming();
        graph.replay(stream);
        times.add(gpu.stopTiming());
    }

    @TearDown(Level.Trial)
    public void tearDown(BenchmarkParams params) {
        double msPerGemm = times.median() / REPS;
        times.report(params.getBenchmark(), Map.of("shape", shape, "m", Integer.toString(gemm.m()),
                        "n", Integer.toString(gemm.n()), "k", Integer.toString(gemm.k()),
                        "sets", Integer.toString(sets), "alignment", Integer.toString(alignment),
                        "autotune", Boolean.toString(autotune), "algo", plan.algo().toString(),
                        "rank", Integer.toString(plan.tuning().map(t -> t.best().rank()).orElse(0))),
                gpu.device().info().name(),
                EventTimes.derived("msPerGemm", msPerGemm, "TFLOPs", gemm.flops() / (msPerGemm * 1e9),
                        "GBps", gemm.bytes() / (msPerGemm * 1e6)));
        try (BenchGpu g = gpu; CublasLt h = lt; LtMatmul p = plan; DeviceArena ar = arena; CudaGraph cg = graph) {
            stream.synchronize();
        }
    }
}
