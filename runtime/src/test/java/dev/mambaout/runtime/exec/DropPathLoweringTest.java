package dev.mambaout.runtime.exec;

import dev.mambaout.graph.DType;
import dev.mambaout.graph.ops.DropPath;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Stochastic depth in the training lowering: its kernel pair per block, and nothing at all without it. */
class DropPathLoweringTest {

    private static TrainingNets.Spec spec(boolean layerScale) {
        TrainingNets.Spec s = TrainingNets.small();
        return new TrainingNets.Spec(s.batch(), s.inChans(), s.height(), s.width(), s.dims(), s.depths(), s.kernel(),
                s.convRatio(), s.act(), s.normFirst(), s.mlpHead(), layerScale, s.classes(), s.smoothing());
    }

    private static TrainingLowering.Result lower(TrainingNets.Net n, Precision p) {
        return TrainingLowering.lower(n.training(), n.logits(), p, 132, TrainingNets::decays);
    }

    /** What identifies a step list: names, kernels, the buffers read and written with their types and shapes. */
    private static List<String> signature(TrainingLowering.Result r) {
        return r.program().steps().stream().map(s -> s.name() + " | " + s.kernel() + " | "
                + s.reads().stream().map(b -> b.name() + b.dtype() + b.shape()).toList() + " -> "
                + s.writes().stream().map(b -> b.name() + b.dtype() + b.shape()).toList()).toList();
    }

    @ParameterizedTest
    @CsvSource({"F32, false", "F32, true", "BF16, false", "BF16, true"})
    void rateZeroIsTheGraphAndTheStepsOfToday(Precision p, boolean layerScale) {
        TrainingNets.Net plain = TrainingNets.build(spec(layerScale)), zero = TrainingNets.build(spec(layerScale), 0.0, 42);
        assertEquals(plain.training().graph().ops(), zero.training().graph().ops(), "rate 0 adds no op");
        assertEquals(plain.training().graph().inputs(), zero.training().graph().inputs(), "and no step counter");
        TrainingLowering.Result r = lower(zero, p);
        assertEquals(signature(lower(plain, p)), signature(r));
        assertFalse(r.program().steps().stream().anyMatch(s -> s.kernel().startsWith("droppath")));
        // Without drop path the hyperparameters are read by the optimiser alone.
        assertEquals(List.of("adamw_step"), r.program().steps().stream()
                .filter(s -> s.kernel().equals("adamw_step") || s.kernel().startsWith("droppath")).map(Lowering.Step::kernel).toList());
        assertEquals(layerScale ? 3 : 0, r.program().steps().stream().filter(s -> s.kernel().equals("layerscale_residual_forward")).count());
    }

    @ParameterizedTest
    @CsvSource({"F32, false", "F32, true", "BF16, false", "BF16, true"})
    void eachBlockGetsTheForwardAndBackwardKernel(Precision p, boolean layerScale) {
        TrainingNets.Net n = TrainingNets.build(spec(layerScale), 0.5, 42);
        assertEquals(3, n.training().graph().ops().stream().filter(o -> o instanceof DropPath).count(), "three blocks");
        TrainingLowering.Result r = lower(n, p);
        GpuProgram.place(r.program());
        List<Lowering.Step> steps = r.program().steps();
        List<String> kernels = steps.stream().map(Lowering.Step::kernel).toList();
        assertEquals(3, kernels.stream().filter(k -> k.equals("droppath_residual_forward")).count(), "one per block");
        assertEquals(3, kernels.stream().filter(k -> k.equals("droppath_backward")).count());
        assertEquals(0, kernels.stream().filter(k -> k.equals("layerscale_residual_forward")).count(),
                "LayerScale is folded into the drop-path residual");
        assertEquals(layerScale ? 3 : 0, kernels.stream().filter(k -> k.equals("layerscale_backward")).count());
        assertFalse(kernels.stream().anyMatch(k -> k.contains("add")), "no separate add pass");
        assertTrue(r.program().weights().stream().anyMatch(w -> w.key().equals(TrainingLowering.HYPER)));
        // The step counter is AdamW's step in the hyperparameter buffer, not an input the caller stages.
        assertEquals(List.of(DType.F32, DType.I32), r.program().inputs().stream().map(Lowering.Buffer::dtype).toList());

        for (Lowering.Step s : steps) {
            if (s.kernel().equals("droppath_residual_forward")) {
                assertEquals(DType.F32, s.writes().getFirst().dtype(), s.name() + " writes the f32 residual stream");
                assertEquals(DType.F32, s.reads().get(1).dtype(), s.name() + " reads the f32 shortcut");
                assertEquals(p.storage(), s.reads().getFirst().dtype(), s.name() + " reads fc2's output as stored");
            }
            if (s.kernel().equals("droppath_backward")) {
                assertEquals(DType.F32, s.reads().getFirst().dtype(), s.name() + " reads the stream's f32 gradient");
                // fc2's GEMMs read the storage type; LayerScale's backward an f32 dy.
                assertEquals(layerScale ? DType.F32 : p.storage(), s.writes().getFirst().dtype(), s.name());
            }
        }
        // fc2 no longer writes into the stream: each block's residual sum is the drop-path kernel's.
        assertTrue(steps.stream().filter(s -> s.kernel().startsWith("cublasLtMatmul") && s.name().contains(" linear")
                && !s.name().contains("dW") && !s.name().contains("dX")).allMatch(s -> s.reads().size() <= 1),
                "no forward GEMM reads a shortcut");
    }
}
