package dev.mambaout.runtime.dist;

import dev.mambaout.natives.CudaUnavailableException;
import dev.mambaout.natives.nccl.Nccl;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.abort;

/** Without libnccl (CI, this development machine) making a communicator says what was looked for. */
class NcclCommunicatorTest {

    @Test
    void withoutNcclTheFactoriesNameTheLibraryAndEveryPlaceTried() {
        try {
            abort("libnccl is installed here (" + Nccl.libraryPath() + "); nothing to check");
        } catch (CudaUnavailableException expected) {
            // the normal case off the GPU machine
        }
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class, () -> NcclCommunicator.initAll(0));
        assertTrue(e.getMessage().contains("libnccl.so.2") && e.getMessage().contains("Attempts:"), e.getMessage());
        assertTrue(e.getMessage().contains("-Dmambaout.lib.nccl=/path/to/libnccl.so.2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NcclCommunicator.initAll(1, 1));
    }
}
