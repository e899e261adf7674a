package dev.mambaout.model.infer;

import java.util.Locale;

/** Where a model runs: the GPU (or fail saying why not), the CPU executor, or the GPU when one is usable. */
public enum DeviceChoice {
    GPU, CPU, AUTO;

    /** Case-insensitive ("gpu", "CPU", "auto"). */
    public static DeviceChoice parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown device '" + s + "'; expected gpu, cpu or auto");
        }
    }
}
