package dev.mambaout.kernels;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class KernelsTest {

    private static Function<String, InputStream> only(String path, String text) {
        return p -> p.equals(path) ? new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)) : null;
    }

    @Test
    void jarBuiltWithoutNvccSaysSoOnFirstLoad() {
        String index = "status=not-built\nreason=nvcc was not found when this jar was built (looked at PATH)\n";
        Function<String, InputStream> res = only(Kernels.INDEX, index);
        Kernels.BuildInfo info = Kernels.parse(Kernels.readIndex(res));
        assertFalse(info.built());
        var e = assertThrows(KernelsNotBuiltException.class, () -> Kernels.load(info, "layernorm", res));
        assertEquals("kernels were not built: nvcc was not found when this jar was built (looked at PATH)",
                e.getMessage());
    }

    @Test
    void missingIndexMeansGenerateResourcesNeverRan() {
        Kernels.BuildInfo info = Kernels.parse(Kernels.readIndex(p -> null));
        var e = assertThrows(KernelsNotBuiltException.class, () -> Kernels.load(info, "smoke", p -> null));
        assertTrue(e.getMessage().startsWith("kernels were not built: "), e.getMessage());
        assertTrue(e.getMessage().contains("kernels.properties is missing"), e.getMessage());
    }

    @Test
    void unknownModuleAndMissingFatbinAreNamed() {
        String index = "status=built\nnvcc=13.0\narchs=sm_90\nmodules=smoke\n";
        Function<String, InputStream> res = only(Kernels.INDEX, index);
        Kernels.BuildInfo info = Kernels.parse(Kernels.readIndex(res));
        assertEquals(java.util.List.of("sm_90"), info.archs());
        var unknown = assertThrows(KernelsNotBuiltException.class, () -> Kernels.load(info, "conv", res));
        assertTrue(unknown.getMessage().contains("no kernel module 'conv'") && unknown.getMessage().contains("[smoke]"),
                unknown.getMessage());
        var missing = assertThrows(KernelsNotBuiltException.class, () -> Kernels.load(info, "smoke", res));
        assertTrue(missing.getMessage().contains("/dev/mambaout/kernels/smoke.fatbin is missing"), missing.getMessage());
    }

    @Test
    void builtJarCarriesOneFatbinPerCuFile() throws Exception {
        Kernels.BuildInfo info = Kernels.buildInfo();
        assumeTrue(info.built(), "kernels not built here: " + info.reason());
        long cuFiles;
        try (var files = java.nio.file.Files.list(java.nio.file.Path.of("src/main/cuda"))) {
            cuFiles = files.filter(p -> p.toString().endsWith(".cu")).count();
        }
        assertEquals(cuFiles, info.modules().size(), "modules " + info.modules());
        assertTrue(info.archs().contains("sm_90"), "archs " + info.archs());
        for (String m : info.modules()) {
            byte[] image = Kernels.module(m);
            // A fatbin container starts with the magic 0xBA55ED50, stored little-endian.
            int magic = (image[0] & 0xff) | (image[1] & 0xff) << 8 | (image[2] & 0xff) << 16 | (image[3] & 0xff) << 24;
            assertEquals(0xBA55ED50, magic, m + ".fatbin magic");
        }
    }
}
