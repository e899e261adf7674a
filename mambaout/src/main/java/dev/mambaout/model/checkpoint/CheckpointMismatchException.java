package dev.mambaout.model.checkpoint;

import java.util.List;

/**
 * A checkpoint that does not fit the model it is loaded into. Lists every problem at once (not just the first), so
 * one attempt shows whether the file is for another variant, another num_classes, or another naming. The message
 * lists the first {@link #LISTED_PER_SECTION} of each kind; the accessors hold them all.
 *
 * @param missing    model parameters (timm names) the checkpoint lacks
 * @param unexpected checkpoint keys (as written in the file) that match no model parameter
 * @param mismatched "name: checkpoint [..] vs model [..]" for parameters present in both with different shape or a
 *                   non-floating dtype
 */
public final class CheckpointMismatchException extends IllegalArgumentException {

    private final List<String> missing;
    private final List<String> unexpected;
    private final List<String> mismatched;

    public CheckpointMismatchException(String source, String model, List<String> missing, List<String> unexpected,
                                       List<String> mismatched) {
        super(message(source, model, missing, unexpected, mismatched));
        this.missing = List.copyOf(missing);
        this.unexpected = List.copyOf(unexpected);
        this.mismatched = List.copyOf(mismatched);
    }

    private static String message(String source, String model, List<String> missing, List<String> unexpected,
                                  List<String> mismatched) {
        StringBuilder b = new StringBuilder("checkpoint ").append(source).append(" does not fit model ").append(model)
                .append(": ").append(missing.size()).append(" missing, ").append(unexpected.size()).append(" unexpected, ")
                .append(mismatched.size()).append(" shape/dtype mismatches");
        section(b, "missing keys", missing);
        section(b, "unexpected keys", unexpected);
        section(b, "shape mismatches", mismatched);
        return b.toString();
    }

    /**
     * Items listed per section; the rest are counted. A file of another model can differ in every key, and a
     * hostile one can hold millions of keys, which would make the message itself the problem.
     */
    public static final int LISTED_PER_SECTION = 20;

    private static void section(StringBuilder b, String title, List<String> items) {
        if (items.isEmpty()) return;
        b.append("\n  ").append(title).append(':');
        for (String s : items.subList(0, Math.min(items.size(), LISTED_PER_SECTION))) b.append("\n    ").append(s);
        if (items.size() > LISTED_PER_SECTION) b.append("\n    ... and ").append(items.size() - LISTED_PER_SECTION).append(" more");
    }

    public List<String> missing() { return missing; }

    public List<String> unexpected() { return unexpected; }

    public List<String> mismatched() { return mismatched; }
}
