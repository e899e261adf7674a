package dev.mambaout.model.train;

import dev.mambaout.model.ParameterSpec;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What an optimiser step changes, on the host: float32 master weights and AdamW's two moments per parameter (timm
 * names, PyTorch layout), and the number of updates made so far. Checkpoints hold exactly this.
 */
public record TrainState(Map<String, float[]> weights, Map<String, float[]> expAvg, Map<String, float[]> expAvgSq, long step) {

    public TrainState {
        if (step < 0) throw new IllegalArgumentException("step must be >= 0, got " + step);
    }

    /** A run's start: the given weights (copied), zero moments, step 0. */
    public static TrainState fresh(ParameterSpec spec, Map<String, float[]> weights) {
        Map<String, float[]> w = new LinkedHashMap<>(), m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
        for (ParameterSpec.Param p : spec.params()) {
            float[] src = weights.get(p.name());
            if (src == null || src.length != p.numel()) {
                throw new IllegalArgumentException("initial weights: '" + p.name() + "' needs " + p.numel() + " values, got "
                        + (src == null ? "none" : src.length));
            }
            w.put(p.name(), src.clone());
            m.put(p.name(), new float[src.length]);
            v.put(p.name(), new float[src.length]);
        }
        return new TrainState(w, m, v, 0);
    }

    /** A deep copy, so a snapshot does not change under later steps. */
    public TrainState copy() {
        return new TrainState(deep(weights), deep(expAvg), deep(expAvgSq), step);
    }

    private static Map<String, float[]> deep(Map<String, float[]> src) {
        Map<String, float[]> out = new LinkedHashMap<>();
        src.forEach((k, v) -> out.put(k, v.clone()));
        return out;
    }
}
