package dev.mambaout.model.infer;

import dev.mambaout.natives.CudaDriver;
import dev.mambaout.runtime.exec.Precision;

/**
 * How a {@link MambaOutModel} runs.
 *
 * @param device    GPU, CPU or AUTO (GPU when the driver, a device and the kernels are there, else CPU with one log line)
 * @param precision F32 (default), TF32 (opt-in tensor-core float GEMMs) or BF16 storage; the CPU executor always
 *                  computes in float with double accumulation
 * @param maxBatch  the largest batch {@code predict} accepts; the GPU sizes its first program for it
 * @param height    input height in pixels (the variant's image size by default)
 * @param width     input width
 * @param backend   the CUDA driver binding (Panama or JCuda), passed explicitly
 * @param ordinal   which GPU
 * @param cpuThreads worker threads of the CPU executor (0 = every available processor)
 */
public record InferenceOptions(DeviceChoice device, Precision precision, int maxBatch, int height, int width,
                               CudaDriver.Backend backend, int ordinal, int cpuThreads) {

    public InferenceOptions {
        if (device == null || precision == null || backend == null) throw new IllegalArgumentException("device, precision and backend are required");
        if (maxBatch < 1) throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
        if (height < 1 || width < 1) throw new IllegalArgumentException("image size must be positive, got " + height + "x" + width);
        if (ordinal < 0) throw new IllegalArgumentException("GPU ordinal must be >= 0, got " + ordinal);
        if (cpuThreads < 0 || cpuThreads > 0x7fff) throw new IllegalArgumentException("cpuThreads must lie in 0..32767, got " + cpuThreads);
    }

    public InferenceOptions(DeviceChoice device, Precision precision, int maxBatch, int height, int width,
                            CudaDriver.Backend backend, int ordinal) {
        this(device, precision, maxBatch, height, width, backend, ordinal, 0);
    }

    /** AUTO device, F32, batch up to 1, 224x224, Panama, GPU 0. */
    public static InferenceOptions defaults() {
        return new InferenceOptions(DeviceChoice.AUTO, Precision.F32, 1, 224, 224, CudaDriver.Backend.PANAMA, 0, 0);
    }

    public InferenceOptions withDevice(DeviceChoice d) { return new InferenceOptions(d, precision, maxBatch, height, width, backend, ordinal, cpuThreads); }

    public InferenceOptions withPrecision(Precision p) { return new InferenceOptions(device, p, maxBatch, height, width, backend, ordinal, cpuThreads); }

    public InferenceOptions withMaxBatch(int b) { return new InferenceOptions(device, precision, b, height, width, backend, ordinal, cpuThreads); }

    public InferenceOptions withImageSize(int h, int w) { return new InferenceOptions(device, precision, maxBatch, h, w, backend, ordinal, cpuThreads); }

    public InferenceOptions withBackend(CudaDriver.Backend b) { return new InferenceOptions(device, precision, maxBatch, height, width, b, ordinal, cpuThreads); }

    public InferenceOptions withCpuThreads(int t) { return new InferenceOptions(device, precision, maxBatch, height, width, backend, ordinal, t); }
}
