package dev.mambaout.graph;

import dev.mambaout.graph.ops.Activation;

import java.util.List;
import java.util.Random;

/**
 * A MambaOut-shaped network built only from this module's API (the graph module cannot see the model module):
 * stem conv/LN/GELU/conv/LN, conv+LN downsampling, blocks of LN -> fc1 -> gated dwconv -> fc2 (+LayerScale)
 * + residual, head mean -> LN -> fc -> GELU -> LN -> fc, mean cross-entropy. Used for end-to-end gradient checks,
 * planner scale tests and timing.
 */
record NetFixture(Graph graph, Tensor input, Tensor labels, Tensor logits, Tensor loss) {

    static NetFixture build(DType dtype, int batch, int image, int inChans, int classes, List<Integer> depths,
                            List<Integer> dims, double expansion, int k, Activation act, boolean layerScale, double smoothing) {
        GraphBuilder g = new GraphBuilder(dtype);
        Tensor x = g.input("input", batch, inChans, image, image);
        Tensor labels = g.labels("labels", batch);
        Tensor h = g.nchwToNhwc(x);
        int d0 = dims.getFirst();
        h = conv(g, "stem.conv1", h, inChans, d0 / 2);
        h = g.gelu(norm(g, "stem.norm1", h, d0 / 2));
        h = norm(g, "stem.norm2", conv(g, "stem.conv2", h, d0 / 2, d0), d0);
        for (int s = 0; s < dims.size(); s++) {
            int dim = dims.get(s);
            if (s > 0) {
                String ds = "stages." + s + ".downsample";
                h = norm(g, ds + ".norm", conv(g, ds + ".conv", h, dims.get(s - 1), dim), dim);
            }
            int hidden = (int) (expansion * dim);
            for (int b = 0; b < depths.get(s); b++) {
                String blk = "stages." + s + ".blocks." + b;
                Tensor t = norm(g, blk + ".norm", h, dim);
                t = linear(g, blk + ".fc1", t, dim, 2 * hidden);
                t = g.gatedDwConv(t, g.parameter(blk + ".conv.weight", dim, 1, k, k), g.parameter(blk + ".conv.bias", dim), act);
                t = linear(g, blk + ".fc2", t, hidden, dim);
                if (layerScale) t = g.layerScale(t, g.parameter(blk + ".ls.gamma", dim));
                h = g.add(t, h);
            }
        }
        int last = dims.getLast();
        Tensor p = norm(g, "head.norm", g.meanHW(h), last);
        p = g.gelu(linear(g, "head.pre_logits.fc", p, last, 4 * last));
        p = norm(g, "head.pre_logits.norm", p, 4 * last);
        Tensor logits = g.output(linear(g, "head.fc", p, 4 * last, classes));
        Tensor loss = g.output(g.crossEntropy(logits, labels, smoothing));
        return new NetFixture(g.build(), x, labels, logits, loss);
    }

    /** mambaout_femto's shape (depths 3,3,9,3, dims 48..288, expansion 8/3, k 7). */
    static NetFixture femto(DType dtype, int batch, int image) {
        return build(dtype, batch, image, 3, 1000, List.of(3, 3, 9, 3), List.of(48, 96, 192, 288), 8.0 / 3.0, 7,
                Activation.GELU, false, 0.0);
    }

    /** mambaout_base's shape (depths 3,4,27,3, dims 128..768). */
    static NetFixture base(DType dtype, int batch, int image) {
        return build(dtype, batch, image, 3, 1000, List.of(3, 4, 27, 3), List.of(128, 256, 512, 768), 8.0 / 3.0, 7,
                Activation.GELU, false, 0.0);
    }

    private static Tensor conv(GraphBuilder g, String name, Tensor x, int in, int out) {
        return g.conv2d(x, g.parameter(name + ".weight", out, in, 3, 3), g.parameter(name + ".bias", out), 2, 1);
    }

    private static Tensor norm(GraphBuilder g, String name, Tensor x, int c) {
        return g.layerNorm(x, g.parameter(name + ".weight", c), g.parameter(name + ".bias", c), 1e-6);
    }

    private static Tensor linear(GraphBuilder g, String name, Tensor x, int in, int out) {
        return g.linear(x, g.parameter(name + ".weight", out, in), g.parameter(name + ".bias", out));
    }

    /** Random values in the fixtures' style: weights ~ N(0, 1/fan_in), biases ~ 0.1 N, norm weights ~ 1 + 0.1 N. */
    static double[] init(Tensor t, Random rnd) {
        double[] v = new double[(int) t.numel()];
        String n = t.name();
        boolean normWeight = n.contains("norm") && n.endsWith(".weight");
        double fanIn = t.shape().rank() >= 2 ? t.numel() / (double) t.shape().dim(0) : 1;
        for (int i = 0; i < v.length; i++) {
            double z = rnd.nextGaussian();
            if (t.role() == Tensor.Role.INPUT) v[i] = z;
            else if (normWeight) v[i] = 1 + 0.1 * z;
            else if (n.endsWith(".gamma")) v[i] = 0.5 + 0.1 * z;
            else if (t.shape().rank() == 1) v[i] = 0.1 * z;
            else v[i] = z / Math.sqrt(fanIn);
        }
        return v;
    }
}
