package dev.mambaout.natives.nvrtc;

import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.mambaout.natives.blas.LibraryMissingTest.assertNamesEveryAttempt;
import static org.junit.jupiter.api.Assertions.assertThrows;

class NvrtcMissingTest {

    @Test
    void nvrtcMissingNamesEveryAttempt() {
        assertNamesEveryAttempt(Nvrtc::version, "libnvrtc.so.13", "libnvrtc.so.12");
        assertNamesEveryAttempt(() -> Nvrtc.compile("extern \"C\" __global__ void k() {}", "k.cu", List.of()),
                "libnvrtc.so.13");
    }

    @Test
    void emptySourceIsRefusedBeforeLoadingAnything() {
        assertThrows(IllegalArgumentException.class, () -> Nvrtc.compile(" ", "k.cu", List.of()));
    }
}
