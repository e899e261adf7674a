package dev.mambaout.kernels;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.function.Function;

/**
 * The fatbins compiled from {@code src/main/cuda/*.cu}, one per kernel family, read from this jar's resources
 * ({@code dev/mambaout/kernels/<module>.fatbin}) through the index the build wrote beside them.
 *
 * <p>The index records whether nvcc was there at build time, so a jar built without it fails at the first kernel
 * load with that reason instead of a bare "resource not found".
 */
public final class Kernels {

    static final String RESOURCE_DIR = "/dev/mambaout/kernels/";
    static final String INDEX = RESOURCE_DIR + "kernels.properties";

    /** What the index says about this build. */
    public record BuildInfo(boolean built, String reason, String nvcc, List<String> archs, List<String> modules) {}

    private static final class Holder {
        static final BuildInfo INFO = parse(readIndex(Kernels.class::getResourceAsStream));
    }

    private Kernels() {}

    /** The build's record: nvcc version, architectures, modules; {@code built() == false} with the reason otherwise. */
    public static BuildInfo buildInfo() { return Holder.INFO; }

    /** The fatbin image of one kernel family, e.g. {@code module("layernorm")}, for cuModuleLoadData. */
    public static byte[] module(String name) {
        return load(Holder.INFO, name, Kernels.class::getResourceAsStream);
    }

    static byte[] load(BuildInfo info, String name, Function<String, InputStream> resources) {
        if (!info.built()) throw new KernelsNotBuiltException("kernels were not built: " + info.reason());
        if (!info.modules().contains(name)) {
            throw new KernelsNotBuiltException("no kernel module '" + name + "' in this jar; it has " + info.modules()
                    + " (built by nvcc " + info.nvcc() + ")");
        }
        String path = RESOURCE_DIR + name + ".fatbin";
        try (InputStream in = resources.apply(path)) {
            if (in == null) {
                throw new KernelsNotBuiltException("kernel module '" + name + "' is listed in " + INDEX
                        + " but " + path + " is missing from the class path");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + path, e);
        }
    }

    static Properties readIndex(Function<String, InputStream> resources) {
        Properties p = new Properties();
        try (InputStream in = resources.apply(INDEX)) {
            if (in == null) {
                p.setProperty("status", "not-built");
                p.setProperty("reason", INDEX + " is missing: the kernels module's generate-resources step never ran");
            } else {
                p.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + INDEX, e);
        }
        return p;
    }

    static BuildInfo parse(Properties p) {
        boolean built = "built".equals(p.getProperty("status"));
        String reason = p.getProperty("reason", built ? "" : "the index does not say why (status="
                + p.getProperty("status") + ")");
        return new BuildInfo(built, reason, p.getProperty("nvcc", "?"), list(p.getProperty("archs")),
                list(p.getProperty("modules")));
    }

    private static List<String> list(String csv) {
        if (csv == null || csv.isBlank()) return List.of();
        return Arrays.stream(csv.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }
}
