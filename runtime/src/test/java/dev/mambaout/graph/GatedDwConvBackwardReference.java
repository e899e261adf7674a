package dev.mambaout.graph;

import dev.mambaout.graph.cpu.Bindings;
import dev.mambaout.graph.cpu.CpuExecutor;
import dev.mambaout.graph.cpu.Precision;
import dev.mambaout.graph.cpu.Results;
import dev.mambaout.graph.ops.Activation;
import dev.mambaout.graph.ops.GatedDwConv;
import dev.mambaout.graph.ops.GatedDwConvBackward;

/**
 * The CPU reference of the gated dwconv backward for the runtime's GPU tests: graph's {@link GatedDwConvBackward}
 * op on the float64 CpuExecutor. It lives in graph's package (in the runtime's test sources) because the builder's
 * backward ops are package-private, added by Autodiff.
 */
public final class GatedDwConvBackwardReference {

    /** dx [n,h,w,2*hidden], dWeight in PyTorch's [conv,1,k,k] layout, dBias [conv]. */
    public record Grads(double[] dx, double[] dWeight, double[] dBias) {}

    private GatedDwConvBackwardReference() {}

    /** x [n,h,w,2*hidden], weight PyTorch [conv,1,k,k], bias [conv], dy [n,h,w,hidden]. */
    public static Grads run(float[] x, float[] weight, float[] bias, float[] dy, int n, int h, int w, int hidden,
                            int conv, int k, Activation act) {
        GraphBuilder b = new GraphBuilder(DType.F64);
        Tensor tx = b.input("x", n, h, w, 2 * hidden);
        Tensor tw = b.parameter("w", conv, 1, k, k);
        Tensor tb = b.parameter("b", conv);
        Tensor y = b.gatedDwConv(tx, tw, tb, act);
        Tensor tdy = b.input("dy", n, h, w, hidden);
        GatedDwConvBackward r = b.gatedDwConvBackward((GatedDwConv) b.build().producer(y), tdy);
        b.output(r.dx());
        b.output(r.dWeight());
        b.output(r.dBias());
        Results res = new CpuExecutor(Precision.F64).run(b.build(),
                new Bindings().put(tx, x).put(tw, weight).put(tb, bias).put(tdy, dy));
        return new Grads(res.doubles(r.dx()), res.doubles(r.dWeight()), res.doubles(r.dBias()));
    }
}
