package dev.mambaout.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every learnable tensor of a model, with timm's name and PyTorch's shape, in timm's registration order. The single
 * place where parameter names and shapes are written: the graph builder, the checkpoint loader and the counts all
 * read them from here.
 */
public record ParameterSpec(MambaOutConfig config, List<Param> params) {

    /** One parameter: timm's key and its shape (Linear weights are [out, in]; conv weights [out, in/groups, k, k]). */
    public record Param(String name, List<Integer> shape) {
        public Param {
            shape = List.copyOf(shape);
        }

        public long numel() {
            long n = 1;
            for (int d : shape) n *= d;
            return n;
        }
    }

    public ParameterSpec {
        params = List.copyOf(params);
    }

    public static ParameterSpec of(MambaOutConfig c) {
        List<Param> p = new ArrayList<>();
        int d0 = c.dim(0);
        conv(p, "stem.conv1", d0 / 2, c.inChans(), 3);
        if (c.stemMidNorm()) norm(p, "stem.norm1", d0 / 2);
        conv(p, "stem.conv2", d0, d0 / 2, 3);
        norm(p, "stem.norm2", d0);
        for (int s = 0; s < c.stages(); s++) {
            int dim = c.dim(s);
            if (s > 0) {
                String ds = "stages." + s + ".downsample";
                int prev = c.dim(s - 1);
                if (c.downsample() == MambaOutConfig.Downsample.CONV) {
                    conv(p, ds + ".conv", dim, prev, 3);
                    norm(p, ds + ".norm", dim);
                } else {
                    norm(p, ds + ".norm", prev);
                    conv(p, ds + ".conv", dim, prev, 3);
                }
            }
            int hidden = c.hidden(s);
            int cc = c.convChannels(s);
            for (int b = 0; b < c.depth(s); b++) {
                String blk = "stages." + s + ".blocks." + b;
                norm(p, blk + ".norm", dim);
                linear(p, blk + ".fc1", 2 * hidden, dim);
                p.add(new Param(blk + ".conv.weight", List.of(cc, 1, c.kernelSize(), c.kernelSize())));
                p.add(new Param(blk + ".conv.bias", List.of(cc)));
                linear(p, blk + ".fc2", dim, hidden);
                if (c.layerScale()) p.add(new Param(blk + ".ls.gamma", List.of(dim)));
            }
        }
        int last = c.dims().getLast();
        int hh = c.headHidden();
        norm(p, "head.norm", last);
        linear(p, "head.pre_logits.fc", hh, last);
        if (c.head() == MambaOutConfig.Head.MLP) norm(p, "head.pre_logits.norm", hh);
        linear(p, "head.fc", c.numClasses(), hh);
        return new ParameterSpec(c, p);
    }

    private static void conv(List<Param> p, String name, int out, int in, int k) {
        p.add(new Param(name + ".weight", List.of(out, in, k, k)));
        p.add(new Param(name + ".bias", List.of(out)));
    }

    private static void norm(List<Param> p, String name, int dim) {
        p.add(new Param(name + ".weight", List.of(dim)));
        p.add(new Param(name + ".bias", List.of(dim)));
    }

    private static void linear(List<Param> p, String name, int out, int in) {
        p.add(new Param(name + ".weight", List.of(out, in)));
        p.add(new Param(name + ".bias", List.of(out)));
    }

    public long count() {
        return params.stream().mapToLong(Param::numel).sum();
    }

    /** The parameters by timm name, in registration order. */
    public Map<String, Param> byName() {
        Map<String, Param> m = new LinkedHashMap<>();
        for (Param q : params) m.put(q.name(), q);
        return Collections.unmodifiableMap(m);
    }

    /** Whether a parameter belongs to the classifier (the part a lenient load may replace for new num_classes). */
    public static boolean isClassifier(String timmName) {
        return timmName.startsWith("head.fc.");
    }
}
