package dev.mambaout.bench;

import dev.mambaout.kernels.KernelCatalog;
import dev.mambaout.natives.CudaDriver;
import dev.mambaout.runtime.CudaGraph;
import dev.mambaout.runtime.Dim3;
import dev.mambaout.runtime.Launch;
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

import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Host cost of launching a kernel, Panama against JCuda, with the empty kernel {@code smoke_empty} (one block of 32
 * threads) so that the GPU finishes each kernel sooner than the host can queue the next and the time is the launch
 * path's. JMH's score is microseconds per kernel:
 * <ul>
 *   <li>{@link #launch}: {@value #LAUNCHES} {@code cuLaunchKernel} calls through the runtime's prepared
 *       {@link Launch} (what the engine does per kernel outside a graph), then one stream synchronize;</li>
 *   <li>{@link #graphReplay}: {@value #REPLAYS} replays of a CUDA graph of {@value #GRAPH_KERNELS} empty kernels,
 *       then one synchronize: the per-kernel cost when a whole step is one graph (mostly the GPU's own dispatch).</li>
 * </ul>
 * CUDA events around each invocation give the GPU-side span as well ({@link EventTimes}), and for {@link #launch} the
 * host clock also times the {@value #LAUNCHES} calls alone, before the synchronize ({@code enqueueUsPerKernel}): the
 * binding's cost with no wait on the GPU, the figure to hold against {@code bench/native/launch_floor.c}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class LaunchBench {

    public static final int LAUNCHES = 1000;
    public static final int GRAPH_KERNELS = 100;
    public static final int REPLAYS = 10;

    @Param({"PANAMA", "JCUDA"})
    public CudaDriver.Backend backend;

    private BenchGpu gpu;
    private Stream stream;
    private Launch empty;
    private CudaGraph graph;
    private final EventTimes times = new EventTimes(1 << 16);
    private final EventTimes enqueue = new EventTimes(1 << 16);

    @Setup(Level.Trial)
    public void setUp() {
        gpu = BenchGpu.open(backend);
        stream = gpu.stream();
        empty = gpu.device().modules().prepare(KernelCatalog.SMOKE_EMPTY, Dim3.of(1), Dim3.of(32), 0);
        // The first launch loads the module's code onto the GPU; keep that out of every measurement.
        empty.launch(stream);
        stream.synchronize();
        graph = CudaGraph.capture(gpu.driver(), stream, () -> {
            for (int i = 0; i < GRAPH_KERNELS; i++) empty.launch(stream);
        });
        graph.replay(stream);
        stream.synchronize();
    }

    @Setup(Level.Iteration)
    public void beforeIteration(IterationParams iteration) {
        gpu.makeCurrent();
        boolean measured = iteration.getType() == IterationType.MEASUREMENT;
        times.recording(measured);
        enqueue.recording(measured);
    }

    @Benchmark
    @OperationsPerInvocation(LAUNCHES)
    public void launch() {
        gpu.startTiming();
        long t0 = System.nanoTime();
        for (int i = 0; i < LAUNCHES; i++) empty.launch(stream);
        enqueue.add((System.nanoTime() - t0) / 1e6f);
        times.add(gpu.stopTiming());   // waits for the end event, so every kernel has run
    }

    @Benchmark
    @OperationsPerInvocation(REPLAYS * GRAPH_KERNELS)
    public void graphReplay() {
        gpu.startTiming();
        for (int i = 0; i < REPLAYS; i++) graph.replay(stream);
        times.add(gpu.stopTiming());   // waits for the end event, so every kernel has run
    }

    @TearDown(Level.Trial)
    public void tearDown(BenchmarkParams params) {
        boolean plain = params.getBenchmark().endsWith(".launch");
        int kernels = plain ? LAUNCHES : REPLAYS * GRAPH_KERNELS;
        Map<String, Double> derived = EventTimes.derived("usPerKernel", times.median() * 1000 / kernels);
        if (plain) derived.put("enqueueUsPerKernel", enqueue.median() * 1000 / LAUNCHES);
        times.report(params.getBenchmark(), Map.of("backend", backend.name()), gpu.device().info().name(), derived);
        try (BenchGpu g = gpu; Launch l = empty; CudaGraph cg = graph) {
            stream.synchronize();
        }
    }
}
