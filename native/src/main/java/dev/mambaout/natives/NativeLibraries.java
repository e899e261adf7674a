package dev.mambaout.natives;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Finds and loads CUDA's shared libraries by soname over the usual places, newest major first.
 *
 * <p>Order: an explicit file ({@code -Dmambaout.lib.<name>=/path/lib.so} or {@code MAMBAOUT_LIB_<NAME>}) if given, and
 * then nothing else; otherwise, for each soname in the order given (e.g. {@code libcublas.so.13}, then {@code .12}):
 * the directories of {@code -Dmambaout.cuda.path} / {@code MAMBAOUT_CUDA_PATH}, {@code LD_LIBRARY_PATH},
 * {@code /usr/local/cuda*}/targets/x86_64-linux/lib and lib64, {@code /usr/lib/x86_64-linux-gnu},
 * {@code /usr/local/nvidia/lib64}, {@code /usr/lib64}, {@code /usr/lib}; then the {@code nvidia/*}{@code /lib}
 * folders of the active Python environment's site-packages ({@code VIRTUAL_ENV}, then {@code CONDA_PREFIX}), where
 * pip's NVIDIA wheels (nvidia-nccl-cu13, nvidia-cudnn-cu13, ...) put their libraries; then the dynamic linker's own
 * search for the bare soname. When nothing loads, the exception lists every attempt and what it said.
 */
public final class NativeLibraries {

    /** A library that loaded: where from, and its symbols. */
    public record Loaded(String name, String path, SymbolLookup lookup) {}

    private static final ConcurrentMap<String, Loaded> CACHE = new ConcurrentHashMap<>();

    private NativeLibraries() {}

    /**
     * Loads a library once per process.
     *
     * @param name    the short name used in overrides and messages, e.g. {@code cublas} (override
     *                {@code -Dmambaout.lib.cublas}, {@code MAMBAOUT_LIB_CUBLAS})
     * @param sonames candidates, preferred first
     */
    public static Loaded load(String name, List<String> sonames) {
        Loaded hit = CACHE.get(name);
        if (hit != null) return hit;
        synchronized (CACHE) {
            hit = CACHE.get(name);
            if (hit == null) {
                hit = find(name, sonames);
                CACHE.put(name, hit);
            }
            return hit;
        }
    }

    private static Loaded find(String name, List<String> sonames) {
        List<String> tried = new ArrayList<>();
        String prop = "mambaout.lib." + name;
        String env = "MAMBAOUT_LIB_" + name.toUpperCase(Locale.ROOT);
        String override = System.getProperty(prop, System.getenv(env));
        if (override != null && !override.isBlank()) {
            Loaded l = tryLoad(name, override, tried);
            if (l != null) return l;
            throw new CudaUnavailableException("could not load " + name + " from the override (-D" + prop + " or " + env
                    + "):\n  " + String.join("\n  ", tried));
        }
        List<Path> dirs = searchDirectories();
        for (String soname : sonames) {
            for (Path dir : dirs) {
                Path file = dir.resolve(soname);
                if (!Files.exists(file)) continue;
                Loaded l = tryLoad(name, file.toString(), tried);
                if (l != null) return l;
            }
            Loaded l = tryLoad(name, soname, tried);   // the dynamic linker's own search path and cache
            if (l != null) return l;
        }
        throw new CudaUnavailableException("could not load " + name + " (" + String.join(", ", sonames) + "). Looked in "
                + dirs + " and the dynamic linker's path. Attempts:\n  " + String.join("\n  ", tried)
                + "\nSet -D" + prop + "=/path/to/" + sonames.getFirst() + " (or " + env
                + "), or add its folder to -Dmambaout.cuda.path / MAMBAOUT_CUDA_PATH.");
    }

    private static Loaded tryLoad(String name, String pathOrSoname, List<String> tried) {
        try {
            SymbolLookup lookup = SymbolLookup.libraryLookup(pathOrSoname, Arena.global());
            return new Loaded(name, pathOrSoname, lookup);
        } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
            tried.add(pathOrSoname + ": " + e.getMessage());
            return null;
        }
    }

    /** The directories searched, in order (without the dynamic linker's own). */
    public static List<Path> searchDirectories() {
        Set<Path> dirs = new LinkedHashSet<>();
        addPathList(dirs, System.getProperty("mambaout.cuda.path", System.getenv("MAMBAOUT_CUDA_PATH")));
        addPathList(dirs, System.getenv("LD_LIBRARY_PATH"));
        List<Path> cudaRoots = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(Path.of("/usr/local"), "cuda*")) {
            for (Path p : ds) cudaRoots.add(p);
        } catch (IOException | RuntimeException ignored) {
            // no /usr/local or unreadable: nothing to add
        }
        // "cuda" (the symlink to the default toolkit) first, then versioned folders newest first.
        cudaRoots.sort(Comparator.comparing((Path p) -> !p.getFileName().toString().equals("cuda"))
                .thenComparing(Comparator.comparing(Path::toString).reversed()));
        for (Path root : cudaRoots) {
            dirs.add(root.resolve("targets/x86_64-linux/lib"));
            dirs.add(root.resolve("lib64"));
        }
        for (String d : List.of("/usr/lib/x86_64-linux-gnu", "/usr/local/nvidia/lib64", "/usr/lib64", "/usr/lib")) {
            dirs.add(Path.of(d));
        }
        // After the system's folders, so a machine's own install wins over a wheel that came with PyTorch.
        dirs.addAll(nvidiaWheelDirectories(Arrays.asList(System.getenv("VIRTUAL_ENV"), System.getenv("CONDA_PREFIX"))));
        dirs.removeIf(p -> !Files.isDirectory(p));
        return List.copyOf(dirs);
    }

    /**
     * {@code <env>/lib/python3.*}{@code /site-packages/nvidia/*}{@code /lib} for each Python environment root given
     * (null or blank ones skipped), each environment's folders sorted by name for a stable order.
     */
    static List<Path> nvidiaWheelDirectories(List<String> environmentRoots) {
        List<Path> out = new ArrayList<>();
        for (String root : environmentRoots) {
            if (root == null || root.isBlank()) continue;
            List<Path> found = new ArrayList<>();
            for (Path python : children(Path.of(root.trim(), "lib"), "python3*")) {
                for (Path pkg : children(python.resolve("site-packages/nvidia"), "*")) {
                    if (Files.isDirectory(pkg.resolve("lib"))) found.add(pkg.resolve("lib"));
                }
            }
            found.sort(Comparator.comparing(Path::toString));
            out.addAll(found);
        }
        return out;
    }

    private static List<Path> children(Path dir, String glob) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) return out;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, glob)) {
            for (Path p : ds) out.add(p);
        } catch (IOException | RuntimeException ignored) {
            // unreadable: nothing to add, as for /usr/local above
        }
        return out;
    }

    private static void addPathList(Set<Path> dirs, String list) {
        if (list == null) return;
        for (String s : list.split(":")) {
            if (!s.isBlank()) dirs.add(Path.of(s.trim()));
        }
    }
}
