package dev.mambaout.model.infer;

import dev.mambaout.model.Fixtures;
import dev.mambaout.model.checkpoint.TensorSource;
import dev.mambaout.natives.Cuda;
import dev.mambaout.runtime.exec.Precision;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** The inference API on the CPU executor (what CI has): timm parity through load, the three input forms, bad input. */
class MambaOutModelTest {

    private static final InferenceOptions CPU = new InferenceOptions(DeviceChoice.CPU, Precision.F32, 2, 64, 64,
            dev.mambaout.natives.CudaDriver.Backend.PANAMA, 0, 2);

    @Test
    void loadedCheckpointMatchesTimmThroughEveryInputForm() throws Exception {
        try (TensorSource ref = TensorSource.open(Fixtures.resource("mini.reference.safetensors"));
             MambaOutModel m = MambaOutModel.load(Fixtures.MINI, Fixtures.resource("mini.safetensors"), CPU)) {
            assertFalse(m.onGpu());
            float[] x = ref.readFloats("input");
            double[] logits = ref.readDoubles("logits");
            float[] a = m.predict(x, 2);
            assertTrue(GpuInferenceGpuTest.relError(a, logits) < 1e-5, "logits " + GpuInferenceGpuTest.relError(a, logits));
            assertArrayEquals(a, m.predict(FloatBuffer.wrap(x), 2), "FloatBuffer gives the same logits");
            assertArrayEquals(a, m.predict(java.lang.foreign.MemorySegment.ofArray(x), 2), "MemorySegment too");
            Map<String, float[]> f = m.features(x, 2);
            assertEquals(List.of("stem", "stage0", "stage1", "stage2", "stage3", "logits"), List.copyOf(f.keySet()));
            for (String s : List.of("stem", "stage0", "stage1", "stage2", "stage3")) {
                double e = GpuInferenceGpuTest.relError(f.get(s), ref.readDoubles("features." + s));
                assertTrue(e < 1e-5, s + ": " + e);
            }
            List<List<MambaOutModel.Prediction>> top = m.topK(a, 3);
            assertEquals(2, top.size());
            assertEquals(3, top.get(0).size());
            assertTrue(top.get(0).get(0).probability() >= top.get(0).get(1).probability());
            assertTrue(top.get(0).get(0).label().startsWith("class "), "10-class models have no ImageNet labels");
        }
    }

    @Test
    void badInputIsRefusedByName() throws Exception {
        MambaOutModel m = MambaOutModel.load(Fixtures.MINI, Fixtures.resource("mini.safetensors"), CPU);
        var len = assertThrows(IllegalArgumentException.class, () -> m.predict(new float[7], 1));
        assertTrue(len.getMessage().contains("[1, 3, 64, 64]"), len.getMessage());
        var big = assertThrows(IllegalArgumentException.class, () -> m.predict(new float[3 * 3 * 64 * 64], 3));
        assertTrue(big.getMessage().contains("maxBatch"), big.getMessage());
        m.close();
        m.close();
        var closed = assertThrows(IllegalStateException.class, () -> m.predict(new float[3 * 64 * 64], 1));
        assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
        var missing = assertThrows(IllegalArgumentException.class, () -> MambaOutModel.open(Fixtures.MINI, Map.of(), CPU));
        assertTrue(missing.getMessage().contains("no weights for parameter 'stem.conv1.weight'"), missing.getMessage());
    }

    @Test
    void autoFallsBackToTheCpuWithoutAGpu() throws Exception {
        assumeFalse(Cuda.availability(Cuda.configuredBackend()).available(), "this machine has a GPU");
        try (MambaOutModel m = MambaOutModel.load(Fixtures.MINI, Fixtures.resource("mini.safetensors"),
                CPU.withDevice(DeviceChoice.AUTO))) {
            assertFalse(m.onGpu());
            assertTrue(m.describe().startsWith("CPU executor"), m.describe());
        }
        var gpu = assertThrows(dev.mambaout.natives.CudaUnavailableException.class, () -> MambaOutModel.load(Fixtures.MINI,
                Fixtures.resource("mini.safetensors"), CPU.withDevice(DeviceChoice.GPU)));
        assertTrue(gpu.getMessage().contains("no usable GPU"), gpu.getMessage());
    }
}
