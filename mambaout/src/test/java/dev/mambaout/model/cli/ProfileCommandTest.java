package dev.mambaout.model.cli;

import dev.mambaout.natives.Cuda;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** {@code mambaout profile} where there is no GPU (CI): one clear message, no stack trace; bad options named. */
class ProfileCommandTest {

    @Test
    void withoutAGpuSaysWhatIsMissing() {
        assumeFalse(Cuda.availability(Cuda.configuredBackend()).available(), "this machine has a GPU: the GPU tests cover profile");
        CliRun r = CliRun.of("profile", "--model", "femto", "--batch", "2", "--image-size", "32");
        assertEquals(1, r.exit(), r.toString());
        assertTrue(r.err().contains("no usable GPU") && r.err().contains("libcuda"), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace without --verbose: " + r.err());
    }

    @Test
    void badOptionsAreNamed() {
        CliRun precision = CliRun.of("profile", "--precision", "fp8");
        assertEquals(2, precision.exit(), precision.toString());
        assertTrue(precision.err().contains("--precision"), precision.err());
        CliRun batch = CliRun.of("profile", "--batch", "0");
        assertEquals(1, batch.exit(), batch.toString());
        assertTrue(batch.err().contains("--batch must be >= 1"), batch.err());
    }
}
