package dev.mambaout.model.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mambaout.graph.DType;
import dev.mambaout.model.ParameterSpec;
import dev.mambaout.model.checkpoint.SafetensorsFile;
import dev.mambaout.model.checkpoint.SafetensorsWriter;
import dev.mambaout.model.checkpoint.TensorInfo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A training checkpoint: one safetensors file with the weights under timm's names (F32), AdamW's moments under
 * {@code adamw.exp_avg.<name>} and {@code adamw.exp_avg_sq.<name>} (F32), and in {@code __metadata__} the step,
 * the epoch and batch the next step belongs to, the sampler's state (seed, shard, sample count), the optimiser's
 * constants and the {@link TrainConfig} as JSON. The weights alone are what timm's names expect, so
 * {@code run --weights} and {@code --init-from} read the model part of a checkpoint written at the end as
 * {@code model.safetensors}. Written through {@link SafetensorsWriter}: beside the target, then renamed over it, so
 * a run killed while saving keeps its previous checkpoint.
 */
public final class TrainCheckpoint {

    public static final String VERSION_KEY = "mambaout.train.version";
    public static final String VERSION = "1";
    public static final String CONFIG_KEY = "mambaout.train.config";
    public static final String STEP_KEY = "mambaout.train.step";
    public static final String EPOCH_KEY = "mambaout.train.epoch";
    public static final String BATCH_KEY = "mambaout.train.batch_in_epoch";
    public static final String SAMPLER_KEY = "mambaout.train.sampler";
    public static final String OPTIMIZER_KEY = "mambaout.train.optimizer";
    public static final String EXP_AVG = "adamw.exp_avg.";
    public static final String EXP_AVG_SQ = "adamw.exp_avg_sq.";

    static final ObjectMapper JSON = new ObjectMapper();

    private TrainCheckpoint() {}

    public static void save(Path file, TrainConfig config, ParameterSpec spec, TrainState state, Sampler sampler,
                            long stepsPerEpoch) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter()
                .metadata("format", "pt")
                .metadata("mambaout.variant", config.model().name())
                .metadata(VERSION_KEY, VERSION)
                .metadata(CONFIG_KEY, JSON.writeValueAsString(config.toJson(JSON)))
                .metadata(STEP_KEY, Long.toString(state.step()))
                .metadata(EPOCH_KEY, Long.toString(state.step() / stepsPerEpoch))
                .metadata(BATCH_KEY, Long.toString(state.step() % stepsPerEpoch))
                .metadata(SAMPLER_KEY, JSON.writeValueAsString(samplerJson(sampler)))
                .metadata(OPTIMIZER_KEY, JSON.writeValueAsString(optimizerJson(config.optimizer())));
        for (ParameterSpec.Param p : spec.params()) w.put(p.name(), DType.F32, state.weights().get(p.name()), shape(p));
        for (ParameterSpec.Param p : spec.params()) w.put(EXP_AVG + p.name(), DType.F32, state.expAvg().get(p.name()), shape(p));
        for (ParameterSpec.Param p : spec.params()) w.put(EXP_AVG_SQ + p.name(), DType.F32, state.expAvgSq().get(p.name()), shape(p));
        w.write(file);
    }

    /**
     * Reads a checkpoint written for this very run: the same {@link TrainConfig}, sampler and optimiser (anything
     * else is refused, naming every difference), every tensor present, of its shape, finite.
     */
    public static TrainState load(Path file, TrainConfig config, ParameterSpec spec, Sampler sampler, long stepsPerEpoch)
            throws IOException {
        if (!Files.exists(file)) throw new IOException("checkpoint " + file + " does not exist");
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, String> meta = f.metadata();
            if (!VERSION.equals(meta.get(VERSION_KEY))) {
                throw new IllegalArgumentException("checkpoint " + file + " was not written by 'mambaout train' (no "
                        + VERSION_KEY + " " + VERSION + " in its metadata): to start from its weights, use --init-from");
            }
            List<String> diffs = new ArrayList<>();
            compare("", json(file, meta, CONFIG_KEY), reparsed(config.toJson(JSON)), diffs);
            compare("sampler.", json(file, meta, SAMPLER_KEY), reparsed(samplerJson(sampler)), diffs);
            compare("optimizer.", json(file, meta, OPTIMIZER_KEY), reparsed(optimizerJson(config.optimizer())), diffs);
            if (!diffs.isEmpty()) {
                throw new IllegalArgumentException("checkpoint " + file + " belongs to another model or run configuration ("
                        + diffs.size() + " difference" + (diffs.size() == 1 ? "" : "s") + ", checkpoint vs this run); resume "
                        + "with the options it was written with, or start afresh (--init-from takes its weights):\n  "
                        + String.join("\n  ", diffs));
            }
            long step = number(file, meta, STEP_KEY);
            if (number(file, meta, EPOCH_KEY) != step / stepsPerEpoch || number(file, meta, BATCH_KEY) != step % stepsPerEpoch) {
                throw new IllegalArgumentException("checkpoint " + file + ": step " + step + " does not agree with its epoch "
                        + meta.get(EPOCH_KEY) + " and batch " + meta.get(BATCH_KEY) + " at " + stepsPerEpoch + " steps per epoch");
            }
            Map<String, float[]> w = new LinkedHashMap<>(), m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
            for (ParameterSpec.Param p : spec.params()) {
                w.put(p.name(), tensor(f, p.name(), p));
                m.put(p.name(), tensor(f, EXP_AVG + p.name(), p));
                v.put(p.name(), tensor(f, EXP_AVG_SQ + p.name(), p));
            }
            int expected = 3 * spec.params().size();
            if (f.names().size() != expected) {
                throw new IllegalArgumentException("checkpoint " + file + " holds " + f.names().size() + " tensors; a checkpoint of "
                        + config.model().name() + " holds " + expected + " (weights and two AdamW moments each)");
            }
            return new TrainState(w, m, v, step);
        }
    }

    private static float[] tensor(SafetensorsFile f, String key, ParameterSpec.Param p) {
        if (!f.names().contains(key)) throw new IllegalArgumentException("checkpoint " + f.path() + " has no tensor '" + key + "'");
        TensorInfo t = f.info(key);
        if (t.dtype() != DType.F32 || !t.hasShape(p.shape())) {
            throw new IllegalArgumentException("checkpoint " + f.path() + ": tensor '" + key + "' is " + t.dtype() + " " + t.shape()
                    + ", expected F32 " + p.shape());
        }
        float[] values = f.readFloats(key);
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw new IllegalArgumentException("checkpoint " + f.path() + ": tensor '" + key + "' holds " + values[i]
                        + " at flat index " + i + "; a run that diverged cannot be resumed");
            }
        }
        return values;
    }

    private static long[] shape(ParameterSpec.Param p) {
        return p.shape().stream().mapToLong(Integer::longValue).toArray();
    }

    private static ObjectNode samplerJson(Sampler s) {
        ObjectNode n = JSON.createObjectNode();
        n.put("samples", s.size());
        n.put("seed", s.seed());
        n.put("rank", s.rank());
        n.put("world_size", s.worldSize());
        return n;
    }

    private static ObjectNode optimizerJson(AdamW a) {
        ObjectNode n = JSON.createObjectNode();
        n.put("name", "adamw");
        n.put("beta1", a.beta1());
        n.put("beta2", a.beta2());
        n.put("eps", a.eps());
        n.put("weight_decay", a.weightDecay());
        return n;
    }

    /** Through text and back, so numbers compare as the stored ones were read (a long seed of 42 reads as an int). */
    private static JsonNode reparsed(JsonNode n) throws IOException {
        return JSON.readTree(JSON.writeValueAsString(n));
    }

    private static JsonNode json(Path file, Map<String, String> meta, String key) {
        String s = meta.get(key);
        if (s == null) throw new IllegalArgumentException("checkpoint " + file + " has no '" + key + "' in its metadata");
        try {
            return JSON.readTree(s);
        } catch (IOException e) {
            throw new IllegalArgumentException("checkpoint " + file + ": metadata '" + key + "' is not JSON", e);
        }
    }

    private static long number(Path file, Map<String, String> meta, String key) {
        String s = meta.get(key);
        try {
            long v = Long.parseLong(s);
            if (v < 0) throw new NumberFormatException();
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("checkpoint " + file + ": metadata '" + key + "' = " + s + " is not a count");
        }
    }

    /** Every leaf where the two JSON objects differ, as "path: checkpoint value vs this run's". */
    private static void compare(String prefix, JsonNode saved, JsonNode now, List<String> diffs) {
        if (saved.isObject() && now.isObject()) {
            List<String> keys = new ArrayList<>();
            now.fieldNames().forEachRemaining(keys::add);
            for (Iterator<String> it = saved.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!now.has(k)) keys.add(k);
            }
            for (String k : keys) {
                JsonNode a = saved.get(k), b = now.get(k);
                if (a == null || b == null) diffs.add(prefix + k + ": " + (a == null ? "absent" : a) + " vs " + (b == null ? "absent" : b));
                else compare(prefix + k + ".", a, b, diffs);
            }
        } else if (!saved.equals(now)) {
            diffs.add(prefix.substring(0, prefix.length() - 1) + ": " + saved + " vs " + now);
        }
    }
}
