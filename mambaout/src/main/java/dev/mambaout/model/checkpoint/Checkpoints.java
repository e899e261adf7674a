package dev.mambaout.model.checkpoint;

import dev.mambaout.model.MambaOutConfig;
import dev.mambaout.model.ParameterSpec;
import dev.mambaout.graph.DType;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * Loads checkpoint tensors into a model's parameters (by {@link ParameterSpec}) and saves them back. Either key
 * naming is accepted (detected from the keys), as is a leading {@code module.} or {@code model.} on every key.
 */
public final class Checkpoints {

    private Checkpoints() {}

    public enum Mode {
        /** Every parameter present with its exact shape, no extra keys. */
        STRICT,
        /**
         * As strict, except the classifier ({@code head.fc.*}) may be missing or of another shape (a different
         * num_classes): such parameters get timm's fresh initialisation and are listed in {@link Loaded#reinitialized}.
         */
        NEW_HEAD
    }

    /**
     * Parameter values by timm name, in the spec's order, one array per parameter (PyTorch layout, row-major).
     *
     * @param naming        the key naming the file used
     * @param prefix        the wrapper prefix stripped from every key ("" if none)
     * @param reinitialized classifier parameters not taken from the file (NEW_HEAD only)
     */
    public record Loaded<A>(Map<String, A> values, KeyNaming naming, String prefix, List<String> reinitialized) {
        public Loaded {
            values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
            reinitialized = List.copyOf(reinitialized);
        }
    }

    public static Loaded<double[]> loadDoubles(TensorSource src, ParameterSpec spec, Mode mode) {
        Resolved r = resolve(src, spec, mode);
        Map<String, double[]> values = new LinkedHashMap<>();
        for (ParameterSpec.Param p : spec.params()) values.put(p.name(), r.doubles(p.name()));
        return new Loaded<>(values, r.naming(), r.prefix(), r.reinitialized());
    }

    public static Loaded<float[]> loadFloats(TensorSource src, ParameterSpec spec, Mode mode) {
        Resolved r = resolve(src, spec, mode);
        Map<String, float[]> values = new LinkedHashMap<>();
        for (ParameterSpec.Param p : spec.params()) values.put(p.name(), r.floats(p.name()));
        return new Loaded<>(values, r.naming(), r.prefix(), r.reinitialized());
    }

    /**
     * Refuses a tensor holding NaN or infinity, naming it: such weights (a diverged run, a damaged file, an F16
     * overflow at save time) would otherwise surface only as NaN logits, far from their cause.
     */
    private static double[] finite(TensorSource src, String key, double[] v) {
        for (int i = 0; i < v.length; i++) {
            if (!Double.isFinite(v[i])) {
                int n = 0;
                for (double x : v) if (!Double.isFinite(x)) n++;
                throw nonFinite(src, key, v.length, i, v[i], n);
            }
        }
        return v;
    }

    private static float[] finite(TensorSource src, String key, float[] v) {
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                int n = 0;
                for (float x : v) if (!Float.isFinite(x)) n++;
                throw nonFinite(src, key, v.length, i, v[i], n);
            }
        }
        return v;
    }

    private static IllegalArgumentException nonFinite(TensorSource src, String key, int length, int first, double value,
                                                      int count) {
        return new IllegalArgumentException("checkpoint " + src + ": tensor '" + key + "' holds " + count + " of " + length
                + " values that are not finite (first: " + value + " at flat index " + first + "); weights must be "
                + "finite numbers: the file is damaged or was saved from a diverged run");
    }

    /** Opens, loads and closes a checkpoint file, sharded index or directory (see {@link TensorSource#open}). */
    public static Loaded<double[]> loadDoubles(Path path, ParameterSpec spec, Mode mode) throws IOException {
        try (TensorSource src = TensorSource.open(path)) {
            return loadDoubles(src, spec, mode);
        }
    }

    public static Loaded<float[]> loadFloats(Path path, ParameterSpec spec, Mode mode) throws IOException {
        try (TensorSource src = TensorSource.open(path)) {
            return loadFloats(src, spec, mode);
        }
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    /**
     * A checkpoint checked against a spec (every key, shape and dtype, as a strict or new-head load checks them)
     * whose tensors are read only when asked for, straight from the file's mapping: what the GPU upload wants, one
     * tensor at a time instead of the whole model on the heap. Valid while its source is open.
     *
     * @param naming        the key naming the file used
     * @param prefix        the wrapper prefix stripped from every key ("" if none)
     * @param reinitialized classifier parameters not taken from the file (NEW_HEAD only)
     */
    public record Resolved(TensorSource source, ParameterSpec spec, Map<String, String> fileKeys, KeyNaming naming,
                           String prefix, List<String> reinitialized) {
        public Resolved {
            fileKeys = Map.copyOf(fileKeys);
            reinitialized = List.copyOf(reinitialized);
        }

        /** The parameter's values as float (timm name), checked finite; a reinitialized classifier gets timm's init. */
        public float[] floats(String name) {
            return value(name, (s, key) -> finite(s, key, s.readFloats(key)), Checkpoints::toFloats);
        }

        public double[] doubles(String name) {
            return value(name, (s, key) -> finite(s, key, s.readDoubles(key)), d -> d);
        }

        private <A> A value(String name, BiFunction<TensorSource, String, A> read, Function<double[], A> fromDoubles) {
            if (reinitialized.contains(name)) return fromDoubles.apply(freshClassifier(spec.byName().get(name)));
            String key = fileKeys.get(name);
            if (key == null) throw new IllegalArgumentException("no parameter '" + name + "' in " + spec.config().name());
            return read.apply(source, key);
        }
    }

    /** Checks the checkpoint against the spec without reading any tensor's data. */
    public static Resolved resolve(TensorSource src, ParameterSpec spec, Mode mode) {
        List<String> keys = new ArrayList<>(src.names());
        String prefix = KeyNaming.wrapperPrefix(keys);
        List<String> stripped = keys.stream().map(k -> k.substring(prefix.length())).toList();
        KeyNaming naming = KeyNaming.detect(stripped);

        Map<String, String> fileKeyOf = new HashMap<>();
        List<String> unexpected = new ArrayList<>();
        Map<String, ParameterSpec.Param> params = spec.byName();
        for (int i = 0; i < keys.size(); i++) {
            String timm = naming.toTimm(stripped.get(i));
            String previous = fileKeyOf.putIfAbsent(timm, keys.get(i));
            if (previous != null) {
                throw new IllegalArgumentException("checkpoint " + src + ": keys '" + previous + "' and '" + keys.get(i)
                        + "' both name parameter '" + timm + "'");
            }
            if (!params.containsKey(timm)) unexpected.add(keys.get(i));
        }

        List<String> missing = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        List<String> reinit = new ArrayList<>();
        for (ParameterSpec.Param p : spec.params()) {
            String key = fileKeyOf.get(p.name());
            boolean lenient = mode == Mode.NEW_HEAD && ParameterSpec.isClassifier(p.name());
            if (key == null) {
                if (lenient) reinit.add(p.name());
                else missing.add(p.name());
                continue;
            }
            TensorInfo t = src.info(key);
            if (!t.dtype().isFloatingPoint()) {
                mismatched.add(describe(p, key) + ": checkpoint dtype " + t.dtype() + " is not floating point");
            } else if (!t.hasShape(p.shape())) {
                if (lenient) reinit.add(p.name());
                else mismatched.add(describe(p, key) + ": checkpoint " + t.shape() + " vs model " + p.shape());
            }
        }
        if (!missing.isEmpty() || !unexpected.isEmpty() || !mismatched.isEmpty()) {
            throw new CheckpointMismatchException(src.toString(), spec.config().name() + " (num_classes "
                    + spec.config().numClasses() + ")", missing, unexpected, mismatched);
        }
        Map<String, String> used = new HashMap<>();
        for (ParameterSpec.Param p : spec.params()) {
            if (!reinit.contains(p.name())) used.put(p.name(), fileKeyOf.get(p.name()));
        }
        return new Resolved(src, spec, used, naming, prefix, reinit);
    }

    private static String describe(ParameterSpec.Param p, String fileKey) {
        return fileKey.equals(p.name()) ? p.name() : p.name() + " (file key '" + fileKey + "')";
    }

    /**
     * timm's {@code _init_weights} for a Linear: weight ~ trunc_normal(std 0.02, cut at +-2), bias 0. Seeded by the
     * name so a reload gives the same head.
     */
    private static double[] freshClassifier(ParameterSpec.Param p) {
        double[] v = new double[Math.toIntExact(p.numel())];
        if (p.name().endsWith(".weight")) {
            SplittableRandom rng = new SplittableRandom(p.name().hashCode());
            for (int i = 0; i < v.length; i++) {
                double x;
                do {
                    x = 0.02 * rng.nextGaussian();
                } while (Math.abs(x) > 2);
                v[i] = x;
            }
        }
        return v;
    }

    /**
     * Writes parameter values (timm names, spec order) as one safetensors file in the given dtype and naming, with
     * {@code format=pt} metadata as PyTorch's writer adds, so timm and the official code can read it back.
     */
    public static void save(Path path, ParameterSpec spec, Map<String, ?> values, DType dtype, KeyNaming naming)
            throws IOException {
        List<String> absent = spec.params().stream().map(ParameterSpec.Param::name)
                .filter(n -> !values.containsKey(n)).toList();
        if (!absent.isEmpty()) throw new IllegalArgumentException("cannot save: no values for " + absent);
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        MambaOutConfig c = spec.config();
        w.metadata("mambaout.variant", c.name());
        for (ParameterSpec.Param p : spec.params()) {
            long[] shape = p.shape().stream().mapToLong(Integer::longValue).toArray();
            String key = naming.fromTimm(p.name());
            switch (values.get(p.name())) {
                case double[] d -> w.put(key, dtype, d, shape);
                case float[] f -> w.put(key, dtype, f, shape);
                case null, default -> throw new IllegalArgumentException("parameter '" + p.name()
                        + "': values must be double[] or float[]");
            }
        }
        w.write(path);
    }
}
