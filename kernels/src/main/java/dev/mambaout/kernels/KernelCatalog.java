package dev.mambaout.kernels;

import dev.mambaout.natives.ParamKind;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.mambaout.natives.ParamKind.F32;
import static dev.mambaout.natives.ParamKind.I32;
import static dev.mambaout.natives.ParamKind.PTR;

/** Every kernel in {@code src/main/cuda} by name, with its parameter layout, so a launch is checked before it is made. */
public final class KernelCatalog {

    public static final KernelSpec SMOKE_EMPTY = spec("smoke", "smoke_empty");
    public static final KernelSpec SMOKE_FILL = spec("smoke", "smoke_fill", "y", PTR, "value", F32, "n", I32);
    public static final KernelSpec SMOKE_AXPY = spec("smoke", "smoke_axpy", "y", PTR, "x", PTR, "a", F32, "n", I32);

    public static final KernelSpec LAYERNORM_FORWARD = spec("layernorm", "layernorm_forward",
            "out", PTR, "mean", PTR, "rstd", PTR, "inp", PTR, "weight", PTR, "bias", PTR, "N", I32, "C", I32,
            "eps", F32);
    public static final KernelSpec LAYERNORM_BACKWARD = spec("layernorm", "layernorm_backward",
            "dinp", PTR, "dweight_partial", PTR, "dbias_partial", PTR, "dout", PTR, "inp", PTR, "weight", PTR,
            "mean", PTR, "rstd", PTR, "N", I32, "C", I32, "rows_per_block", I32);
    public static final KernelSpec LAYERNORM_BACKWARD_REDUCE = spec("layernorm", "layernorm_backward_reduce",
            "dweight", PTR, "dbias", PTR, "dweight_partial", PTR, "dbias_partial", PTR, "num_partials", I32, "C", I32);

    private static final Map<String, KernelSpec> BY_NAME;

    static {
        Map<String, KernelSpec> m = new LinkedHashMap<>();
        for (KernelSpec s : List.of(SMOKE_EMPTY, SMOKE_FILL, SMOKE_AXPY, LAYERNORM_FORWARD, LAYERNORM_BACKWARD,
                LAYERNORM_BACKWARD_REDUCE)) {
            if (m.put(s.name(), s) != null) throw new ExceptionInInitializerError("duplicate kernel " + s.name());
        }
        BY_NAME = Collections.unmodifiableMap(m);
    }

    private KernelCatalog() {}

    public static List<KernelSpec> all() { return List.copyOf(BY_NAME.values()); }

    /** The spec of an extern "C" kernel name; throws listing the known names when there is none. */
    public static KernelSpec get(String name) {
        KernelSpec s = BY_NAME.get(name);
        if (s == null) throw new IllegalArgumentException("no kernel named '" + name + "'; known: " + BY_NAME.keySet());
        return s;
    }

    private static KernelSpec spec(String module, String name, Object... nameKindPairs) {
        List<KernelSpec.Param> params = new ArrayList<>();
        for (int i = 0; i < nameKindPairs.length; i += 2) {
            params.add(new KernelSpec.Param((String) nameKindPairs[i], (ParamKind) nameKindPairs[i + 1]));
        }
        return new KernelSpec(module, name, params);
    }
}
