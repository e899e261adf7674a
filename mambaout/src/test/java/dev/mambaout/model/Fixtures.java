package dev.mambaout.model;

import org.junit.jupiter.api.Assumptions;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Where the timm reference fixtures live. The small mini* files are test resources (a fresh clone passes); femto is
 * read from {@code ../shared/fixtures} beside the project root, or from {@code $MAMBAOUT_FIXTURES}, and tests that
 * need it are skipped with a reason when it is absent.
 */
public final class Fixtures {

    private Fixtures() {}

    /** timm {@code MambaOut(depths=(1,1,2,1), dims=(16,32,48,64), num_classes=10)}: official structure. */
    public static final MambaOutConfig MINI =
            MambaOutConfig.official("mini", List.of(1, 1, 2, 1), List.of(16, 32, 48, 64)).withNumClasses(10);

    /** make_fixtures.py's mini_rw: no stem mid norm, conv_nf, LayerScale, norm_mlp head, expansion 3, conv 1.25, SiLU. */
    public static final MambaOutConfig MINI_RW = new MambaOutConfig("mini_rw", 3, 10, List.of(1, 1, 2, 1),
            List.of(16, 32, 48, 64), 3.0, 1.25, 7, false, MambaOutConfig.Downsample.CONV_NORM_FIRST, true,
            MambaOutConfig.Activation.SILU, MambaOutConfig.Head.NORM_MLP, 224, 1.0);

    public static final MambaOutConfig FEMTO = MambaOutConfig.variant("femto");

    /** The configuration of fixture {@code tag}: mini, mini_rw or femto. */
    public static MambaOutConfig config(String tag) {
        return switch (tag) {
            case "mini" -> MINI;
            case "mini_rw" -> MINI_RW;
            case "femto" -> FEMTO;
            default -> throw new IllegalArgumentException("no fixture '" + tag + "' (mini, mini_rw, femto)");
        };
    }

    /** The weights of fixture {@code tag}: a test resource, or (femto) from the shared folder, skipping without it. */
    public static Path weights(String tag) {
        return tag.equals("femto") ? shared("femto.safetensors") : resource(tag + ".safetensors");
    }

    /** timm's reference outputs and gradients for {@code tag}, found as {@link #weights} is. */
    public static Path reference(String tag) {
        return tag.equals("femto") ? shared("femto.reference.safetensors") : resource(tag + ".reference.safetensors");
    }

    /**
     * ||out - ref|| / ||ref||; infinite when any element is NaN (never written); absolute where the reference is all
     * zero (a gradient nothing reaches).
     */
    public static double relError(float[] out, double[] ref) {
        if (out.length != ref.length) throw new AssertionError("element count " + out.length + ", reference " + ref.length);
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = out[i] - ref[i];
            if (Double.isNaN(d)) return Double.POSITIVE_INFINITY;
            num += d * d;
            den += ref[i] * ref[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    /** A fixture shipped as a test resource (mini.*, mini_rw.*). */
    public static Path resource(String name) {
        URL url = Fixtures.class.getResource("/fixtures/" + name);
        if (url == null) throw new IllegalStateException("test resource fixtures/" + name + " is missing from the class path");
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(url + " is not a file", e);
        }
    }

    /** A fixture from the shared folder; skips the calling test (visibly) when it is not there. */
    public static Path shared(String name) {
        Path dir = sharedDir();
        Path file = dir == null ? null : dir.resolve(name);
        Assumptions.assumeTrue(file != null && Files.isRegularFile(file),
                "fixture " + name + " not found (looked in " + (dir == null ? "<no project root found>" : dir)
                        + "); set MAMBAOUT_FIXTURES to the folder holding it");
        return file;
    }

    private static Path sharedDir() {
        String env = System.getenv("MAMBAOUT_FIXTURES");
        if (env != null && !env.isBlank()) return Path.of(env);
        for (Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath(); p != null; p = p.getParent()) {
            Path pom = p.resolve("pom.xml");
            try {
                if (Files.isRegularFile(pom) && Files.readString(pom).contains("<artifactId>mambaout-parent</artifactId>")
                        && Files.readString(pom).contains("<modules>")) {
                    return p.resolve("../shared/fixtures").normalize();
                }
            } catch (java.io.IOException e) {
                return null;
            }
        }
        return null;
    }
}
