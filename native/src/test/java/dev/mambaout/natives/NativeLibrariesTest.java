package dev.mambaout.natives;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Library discovery fails with a message that lists every attempt and how to fix it. */
class NativeLibrariesTest {

    @TempDir
    Path dir;

    private static CudaUnavailableException loadWithOverride(String name, String override) {
        String prop = "mambaout.lib." + name;
        System.setProperty(prop, override);
        try {
            return assertThrows(CudaUnavailableException.class, () -> NativeLibraries.load(name, List.of("libx.so.1")));
        } finally {
            System.clearProperty(prop);
        }
    }

    @Test
    void overrideToMissingFileNamesTheFileAndTheOverride() {
        String missing = dir.resolve("no-such-libcuda.so.1").toString();
        CudaUnavailableException e = loadWithOverride("testmissing", missing);
        assertTrue(e.getMessage().contains(missing), e.getMessage());
        assertTrue(e.getMessage().contains("-Dmambaout.lib.testmissing"), e.getMessage());
        assertTrue(e.getMessage().contains("MAMBAOUT_LIB_TESTMISSING"), e.getMessage());
    }

    /** HotSpot prints a "might have disabled stack guard" warning for any non-ELF file it is asked to load: expected. */
    @Test
    void overrideToNonLibraryFileReportsTheLoadersComplaint() throws Exception {
        Path text = Files.writeString(dir.resolve("libfake.so"), "this is not an ELF shared object\n");
        CudaUnavailableException e = loadWithOverride("testnotalib", text.toString());
        String m = e.getMessage();
        assertTrue(m.contains(text.toString() + ": "), m);
        // The dynamic linker's own words follow the path (glibc: "invalid ELF header" or "file too short").
        String reason = m.substring(m.indexOf(text.toString() + ": ") + text.toString().length() + 2).strip();
        assertTrue(!reason.isEmpty() && !reason.startsWith("null"), m);
    }

    @Test
    void searchWithoutOverrideListsEverySonameTriedAndTheFix() {
        List<String> sonames = List.of("libmambaout-absent.so.13", "libmambaout-absent.so.12");
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class,
                () -> NativeLibraries.load("testabsent", sonames));
        String m = e.getMessage();
        for (String soname : sonames) assertTrue(m.contains("\n  " + soname + ": "), m);
        assertTrue(m.contains(NativeLibraries.searchDirectories().toString()), m);
        assertTrue(m.contains("-Dmambaout.lib.testabsent=/path/to/libmambaout-absent.so.13"), m);
    }

    @Test
    void pythonEnvironmentsContributeTheirNvidiaWheelFolders() throws Exception {
        Path venv = dir.resolve("venv");
        Path site = venv.resolve("lib/python3.12/site-packages/nvidia");
        Path nccl = Files.createDirectories(site.resolve("nccl/lib"));
        Path cudnn = Files.createDirectories(site.resolve("cudnn/lib"));
        Files.createDirectories(site.resolve("include-only/include"));   // a package without lib/ adds nothing
        Path conda = dir.resolve("conda");
        Path cu13 = Files.createDirectories(conda.resolve("lib/python3.11/site-packages/nvidia/cu13/lib"));
        Files.createDirectories(conda.resolve("lib/python2.7/site-packages/nvidia/old/lib"));   // not python3
        assertEquals(List.of(cudnn, nccl, cu13), NativeLibraries.nvidiaWheelDirectories(
                Arrays.asList(venv.toString(), null, " ", dir.resolve("absent").toString(), conda.toString())));
    }
}
