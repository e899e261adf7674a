package dev.mambaout.model.cli;

import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * {@code devices} and the global {@code --cuda-backend} flag. On a machine without a GPU (CI) the command must fail
 * with the driver probe's reason; where a GPU exists the same command lists it, so each check states its premise.
 */
class DevicesCommandTest {

    @AfterEach
    void forgetTheFlag() {
        System.clearProperty(Cuda.BACKEND_PROPERTY);
    }

    @Test
    void withoutAGpuItSaysWhyAndFails() {
        assumeFalse(Cuda.availability(CudaDriver.Backend.PANAMA).available(), "a GPU is present here");
        CliRun r = CliRun.of("devices");
        assertEquals(1, r.exit(), r.toString());
        assertTrue(r.out().contains("backend  panama"), r.out());
        assertTrue(r.out().startsWith("kernels  "), r.out());
        assertTrue(r.err().startsWith("mambaout devices: no usable CUDA device: "), r.err());
        assertTrue(r.err().contains("libcuda.so.1"), "the reason names what was tried: " + r.err());
    }

    @Test
    void theFlagChoosesTheBackend() {
        assumeFalse(Cuda.availability(CudaDriver.Backend.JCUDA).available(), "a GPU is present here");
        CliRun r = CliRun.of("--cuda-backend", "JCuda", "devices");
        assertEquals(1, r.exit(), r.toString());
        assertTrue(r.out().contains("backend  jcuda"), r.out());
        assertEquals(CudaDriver.Backend.JCUDA, Cuda.configuredBackend());
    }

    @Test
    void anUnknownBackendIsBadUsageNamingTheChoices() {
        CliRun r = CliRun.of("--cuda-backend", "opencl", "devices");
        assertEquals(2, r.exit(), r.toString());
        assertTrue(r.err().contains("opencl") && r.err().contains("panama, jcuda"), r.err());
    }
}
