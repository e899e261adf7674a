package dev.mambaout.runtime.exec;

import dev.mambaout.graph.Autodiff;
import dev.mambaout.graph.DType;
import dev.mambaout.graph.Graph;
import dev.mambaout.graph.GraphBuilder;
import dev.mambaout.graph.Tensor;
import dev.mambaout.graph.TrainingGraph;
import dev.mambaout.graph.ops.Activation;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * MambaOut training graphs in miniature for the training lowering's tests, built the way the model's graph builder
 * builds them (runtime cannot see the mambaout module): stem, blocks, a downsampling, the head, cross-entropy.
 */
final class TrainingNets {

    private TrainingNets() {}

    /**
     * @param normFirst  the {@code _rw}-free official downsampling (LayerNorm, then conv) instead of conv, then norm
     * @param mlpHead    timm's MLP head (a LayerNorm after the hidden layer's GELU) instead of NORM_MLP
     * @param layerScale a LayerScale before each residual add (the {@code _rw} blocks)
     */
    record Spec(int batch, int inChans, int height, int width, int[] dims, int[] depths, int kernel, double convRatio, Activation act,
                boolean normFirst, boolean mlpHead, boolean layerScale, int classes, double smoothing) {}

    /** @param step the drop-path step counter (I64 [1]), or null without drop path */
    record Net(TrainingGraph training, Tensor input, Tensor labels, Tensor logits, Tensor step, Spec spec) {}

    static Spec small() {
        return new Spec(3, 3, 19, 14, new int[] {8, 12}, new int[] {1, 2}, 7, 1.0, Activation.GELU, false, true, false, 5, 0.1);
    }

    static Net build(Spec s) { return build(s, 0, 0); }

    /** With drop path at {@code dropPath} on every block's branch (0: none, the graph of {@link #build(Spec)}). */
    static Net build(Spec s, double dropPath, long seed) {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("input", s.batch(), s.inChans(), s.height(), s.width());
        Tensor y = g.labels("labels", s.batch());
        Tensor step = dropPath > 0 ? g.counter("step") : null;
        int blocks = 0;
        int d0 = s.dims()[0];
        Tensor h = conv(g, "stem.conv1", g.nchwToNhwc(x), d0 / 2, s.inChans());
        h = g.activation(h, s.act());
        h = norm(g, "stem.norm2", conv(g, "stem.conv2", h, d0, d0 / 2), d0);
        for (int st = 0; st < s.dims().length; st++) {
            int dim = s.dims()[st];
            if (st > 0) {
                int prev = s.dims()[st - 1];
                String ds = "stages." + st + ".downsample.";
                h = s.normFirst() ? conv(g, ds + "conv", norm(g, ds + "norm", h, prev), dim, prev)
                        : norm(g, ds + "norm", conv(g, ds + "conv", h, dim, prev), dim);
            }
            int hidden = (int) (8.0 / 3 * dim), cc = Math.max(1, (int) (s.convRatio() * dim));
            for (int b = 0; b < s.depths()[st]; b++) {
                String blk = "stages." + st + ".blocks." + b + ".";
                Tensor t = norm(g, blk + "norm", h, dim);
                t = g.linear(t, g.parameter(blk + "fc1.weight", 2 * hidden, dim), g.parameter(blk + "fc1.bias", 2 * hidden));
                t = g.gatedDwConv(t, g.parameter(blk + "conv.weight", cc, 1, s.kernel(), s.kernel()),
                        g.parameter(blk + "conv.bias", cc), s.act());
                t = g.linear(t, g.parameter(blk + "fc2.weight", dim, hidden), g.parameter(blk + "fc2.bias", dim));
                if (s.layerScale()) t = g.layerScale(t, g.parameter(blk + "ls.gamma", dim));
                if (step != null) t = g.dropPath(t, step, dropPath, seed, blocks);
                blocks++;
                h = g.add(t, h);
            }
        }
        int last = s.dims()[s.dims().length - 1], hh = 2 * last;
        Tensor z = norm(g, "head.norm", g.meanHW(h), last);
        z = g.gelu(g.linear(z, g.parameter("head.fc1.weight", hh, last), g.parameter("head.fc1.bias", hh)));
        if (s.mlpHead()) z = norm(g, "head.pre_logits.norm", z, hh);
        Tensor logits = g.linear(z, g.parameter("head.fc.weight", s.classes(), hh), g.parameter("head.fc.bias", s.classes()));
        g.output(logits);
        Tensor loss = g.crossEntropy(logits, y, s.smoothing());
        g.output(loss);
        Graph forward = g.build();
        return new Net(Autodiff.training(forward, loss), x, y, logits, step, s);
    }

    private static Tensor conv(GraphBuilder g, String name, Tensor x, int out, int in) {
        return g.conv2d(x, g.parameter(name + ".weight", out, in, 3, 3), g.parameter(name + ".bias", out), 2, 1);
    }

    private static Tensor norm(GraphBuilder g, String name, Tensor x, int c) {
        return g.layerNorm(x, g.parameter(name + ".weight", c), g.parameter(name + ".bias", c), 1e-6);
    }

    /** timm's decay rule: rank > 1 and not a bias. */
    static boolean decays(Tensor p) { return p.shape().dims().length > 1 && !p.name().endsWith(".bias"); }

    /** Random weights in PyTorch's layout: norms near one, the rest small, so activations stay in range. */
    static Map<String, float[]> weights(Net n, long seed) {
        Random r = new Random(seed);
        Map<String, float[]> w = new LinkedHashMap<>();
        for (Tensor p : n.training().graph().tensors()) {
            if (p.role() != Tensor.Role.PARAMETER) continue;
            float[] v = new float[Math.toIntExact(p.numel())];
            boolean normWeight = p.name().contains("norm") && p.name().endsWith(".weight");
            int fanIn = p.shape().dims().length > 1 ? Math.toIntExact(p.numel() / p.shape().dims()[0]) : 1;
            double std = normWeight ? 0.1 : p.shape().dims().length > 1 ? 1.0 / Math.sqrt(fanIn) : 0.1;
            for (int i = 0; i < v.length; i++) v[i] = (float) ((normWeight ? 1 : 0) + std * r.nextGaussian());
            w.put(p.name(), v);
        }
        return w;
    }
}
