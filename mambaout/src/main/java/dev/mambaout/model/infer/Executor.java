package dev.mambaout.model.infer;

import java.lang.foreign.MemorySegment;
import java.util.List;

/** What runs a model's forward pass: the GPU runtime or the CPU executor, behind one interface. */
sealed interface Executor extends AutoCloseable permits GpuForward, CpuForward {

    /**
     * Runs {@code batch} NCHW float images from {@code x} and writes each requested output ("logits", "stem",
     * "stage0".. in NHWC) into the matching array of {@code dst}.
     */
    void forward(MemorySegment x, int batch, List<String> outputs, float[][] dst);

    /** One line: where it runs and how ("NVIDIA H200, bf16, panama" or "CPU executor, f32, 16 threads"). */
    String describe();

    boolean onGpu();

    @Override
    void close();
}
