package dev.mambaout.model.checkpoint;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The two spellings of MambaOut parameter names: timm's ({@code stem.*}, {@code stages.i.blocks.j.*},
 * {@code head.pre_logits.fc.*}) and the official repository's ({@code downsample_layers.*}, {@code stages.i.j.*},
 * {@code norm.*}, {@code head.fc1/norm/fc2.*}). The engine speaks timm; official names are translated on load exactly
 * as timm's {@code checkpoint_filter_fn} does, and back on request.
 */
public enum KeyNaming {
    TIMM,
    OFFICIAL;

    private static final Pattern OFFICIAL_DOWNSAMPLE = Pattern.compile("^downsample_layers\\.(\\d+)\\.(.*)$");
    private static final Pattern OFFICIAL_BLOCK = Pattern.compile("^stages\\.(\\d+)\\.(\\d+)\\.(.*)$");
    private static final Pattern TIMM_DOWNSAMPLE = Pattern.compile("^stages\\.(\\d+)\\.downsample\\.(.*)$");
    private static final Pattern TIMM_BLOCK = Pattern.compile("^stages\\.(\\d+)\\.blocks\\.(\\d+)\\.(.*)$");

    /** Prefixes that training wrappers put in front of every key (DDP's {@code module.}, EMA/trainer {@code model.}). */
    public static final List<String> WRAPPER_PREFIXES = List.of("module.", "model.");

    /** A key of this naming in timm's spelling. */
    public String toTimm(String key) {
        if (this == TIMM) return key;
        Matcher m = OFFICIAL_DOWNSAMPLE.matcher(key);
        if (m.matches()) {
            return m.group(1).equals("0") ? "stem." + m.group(2) : "stages." + m.group(1) + ".downsample." + m.group(2);
        }
        m = OFFICIAL_BLOCK.matcher(key);
        if (m.matches()) return "stages." + m.group(1) + ".blocks." + m.group(2) + "." + m.group(3);
        // The official final norm sits after pooling, which timm moved into its head.
        if (key.startsWith("norm.")) return "head." + key;
        if (key.startsWith("head.fc1.")) return "head.pre_logits.fc." + key.substring("head.fc1.".length());
        if (key.startsWith("head.norm.")) return "head.pre_logits.norm." + key.substring("head.norm.".length());
        if (key.startsWith("head.fc2.")) return "head.fc." + key.substring("head.fc2.".length());
        return key;
    }

    /** A timm key in this naming's spelling. */
    public String fromTimm(String key) {
        if (this == TIMM) return key;
        if (key.startsWith("stem.")) return "downsample_layers.0." + key.substring("stem.".length());
        Matcher m = TIMM_DOWNSAMPLE.matcher(key);
        if (m.matches()) return "downsample_layers." + m.group(1) + "." + m.group(2);
        m = TIMM_BLOCK.matcher(key);
        if (m.matches()) return "stages." + m.group(1) + "." + m.group(2) + "." + m.group(3);
        if (key.startsWith("head.norm.")) return key.substring("head.".length());
        if (key.startsWith("head.pre_logits.fc.")) return "head.fc1." + key.substring("head.pre_logits.fc.".length());
        if (key.startsWith("head.pre_logits.norm.")) return "head.norm." + key.substring("head.pre_logits.norm.".length());
        if (key.startsWith("head.fc.")) return "head.fc2." + key.substring("head.fc.".length());
        return key;
    }

    private static boolean officialOnly(String k) {
        return k.startsWith("downsample_layers.") || OFFICIAL_BLOCK.matcher(k).matches() || k.startsWith("norm.")
                || k.startsWith("head.fc1.") || k.startsWith("head.fc2.");
    }

    private static boolean timmOnly(String k) {
        return k.startsWith("stem.") || TIMM_BLOCK.matcher(k).matches() || TIMM_DOWNSAMPLE.matcher(k).matches()
                || k.startsWith("head.pre_logits.") || k.startsWith("head.fc.");
    }

    /**
     * Which naming a set of keys uses. Keys that exist in both spellings ({@code head.norm.*}) decide nothing; a set
     * with keys unique to each spelling is refused, because translating it either way would silently drop half.
     */
    public static KeyNaming detect(Collection<String> keys) {
        List<String> official = new ArrayList<>();
        List<String> timm = new ArrayList<>();
        for (String k : keys) {
            if (officialOnly(k)) official.add(k);
            else if (timmOnly(k)) timm.add(k);
        }
        if (!official.isEmpty() && !timm.isEmpty()) {
            throw new IllegalArgumentException("checkpoint mixes timm key names (e.g. '" + timm.getFirst()
                    + "') with official ones (e.g. '" + official.getFirst() + "')");
        }
        return official.isEmpty() ? TIMM : OFFICIAL;
    }

    /** The wrapper prefix every key carries ("module." or "model."), or "" when they do not all share one. */
    public static String wrapperPrefix(Collection<String> keys) {
        if (keys.isEmpty()) return "";
        for (String p : WRAPPER_PREFIXES) {
            if (keys.stream().allMatch(k -> k.startsWith(p))) return p;
        }
        return "";
    }
}
