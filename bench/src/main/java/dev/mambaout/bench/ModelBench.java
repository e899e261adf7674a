package dev.mambaout.bench;

import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.model.infer.DeviceChoice;
import dev.mambaout.model.infer.InferenceOptions;
import dev.mambaout.model.infer.MambaOutModel;
import dev.mambaout.natives.CudaDriver;
import dev.mambaout.runtime.exec.Precision;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The whole model through the embedded API, as a service calls it: {@code predict} of an NCHW float batch, host
 * copies in and out included. JMH's score is milliseconds per call: at batch 256 it is throughput (img/s = 256 /
 * score), at batch 1 latency. Random timm-initialised weights and N(0,1) inputs, 224x224. For GPU time alone (CUDA
 * events around graph replays) and PyTorch beside it, see {@link InferenceTimer} and bench/python/inference_compare.py.
 * <p>
 * Run on a GPU machine: {@code scripts/gpu-bench .gpu ModelBench -p model=femto -p batch=256}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class ModelBench {

    @Param({"PANAMA", "JCUDA"})
    public CudaDriver.Backend backend;

    @Param({"femto", "tiny"})
    public String model;

    @Param({"BF16"})
    public Precision precision;

    @Param({"256", "1"})
    public int batch;

    private MambaOutModel net;
    private float[] input;

    @Setup(Level.Trial)
    public void open() {
        MambaOutConfig c = MambaOutConfig.variant(model);
        net = MambaOutModel.random(c, 0, new InferenceOptions(DeviceChoice.GPU, precision, batch, 224, 224, backend, 0));
        input = new float[batch * 3 * 224 * 224];
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < input.length; i++) input[i] = (float) r.nextGaussian();
        net.predict(input, batch);
    }

    @Benchmark
    public float[] predict() {
        return net.predict(input, batch);
    }

    @TearDown(Level.Trial)
    public void close() {
        net.close();
    }
}
