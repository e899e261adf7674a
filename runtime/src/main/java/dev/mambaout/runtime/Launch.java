package dev.mambaout.runtime;

import dev.mambaout.kernels.KernelArg;
import dev.mambaout.kernels.KernelSpec;
import dev.mambaout.natives.CudaDriver;
import dev.mambaout.natives.ParamBlock;
import dev.mambaout.natives.ParamKind;

import java.util.List;

/**
 * A kernel launch prepared once: function, geometry and a parameter block filled from arguments checked against the
 * kernel's {@link KernelSpec}. {@link #launch(Stream)} only calls cuLaunchKernel, allocating nothing; arguments can
 * be rewritten in place (checked by kind) when, say, a buffer moves.
 */
public final class Launch implements AutoCloseable {

    private static final int MAX_THREADS_PER_BLOCK = 1024;

    private final CudaDriver driver;
    private final KernelSpec spec;
    private final long function;
    private final int gx, gy, gz, bx, by, bz, sharedBytes;
    private final ParamBlock params;
    private boolean closed;

    private Launch(CudaDriver driver, KernelSpec spec, long function, Dim3 grid, Dim3 block, int sharedBytes,
                   ParamBlock params) {
        this.driver = driver;
        this.spec = spec;
        this.function = function;
        this.gx = grid.x();
        this.gy = grid.y();
        this.gz = grid.z();
        this.bx = block.x();
        this.by = block.y();
        this.bz = block.z();
        this.sharedBytes = sharedBytes;
        this.params = params;
    }

    /** Checks {@code args} against {@code spec} (count, kinds) and the geometry, then builds the parameter block. */
    public static Launch prepare(CudaDriver driver, KernelSpec spec, long function, Dim3 grid, Dim3 block,
                                 int sharedBytes, List<? extends KernelArg> args) {
        spec.check(args);
        if (block.volume() > MAX_THREADS_PER_BLOCK) {
            throw new IllegalArgumentException("kernel " + spec.qualifiedName() + ": block " + block + " has "
                    + block.volume() + " threads, more than " + MAX_THREADS_PER_BLOCK);
        }
        if (sharedBytes < 0) {
            throw new IllegalArgumentException("kernel " + spec.qualifiedName() + ": negative shared memory " + sharedBytes);
        }
        ParamBlock params = driver.newParamBlock(spec.kinds());
        try {
            for (int i = 0; i < args.size(); i++) write(params, i, args.get(i));
        } catch (RuntimeException e) {
            params.close();
            throw e;
        }
        return new Launch(driver, spec, function, grid, block, sharedBytes, params);
    }

    public KernelSpec spec() { return spec; }

    /** Replaces argument {@code index}; it must be of the kind the kernel declares there. */
    public void set(int index, KernelArg arg) {
        checkOpen();
        spec.checkKind(index, arg.kind());
        write(params, index, arg);
    }

    /** Replaces pointer argument {@code index} without boxing, for per-step rebinding. */
    public void setPtr(int index, long address) {
        checkOpen();
        spec.checkKind(index, ParamKind.PTR);
        params.setPtr(index, address);
    }

    public void setI32(int index, int value) {
        checkOpen();
        spec.checkKind(index, ParamKind.I32);
        params.setI32(index, value);
    }

    public void setF32(int index, float value) {
        checkOpen();
        spec.checkKind(index, ParamKind.F32);
        params.setF32(index, value);
    }

    /** Queues the kernel on {@code stream}. */
    public void launch(Stream stream) {
        checkOpen();
        driver.launchKernel(function, gx, gy, gz, bx, by, bz, sharedBytes, stream.handle(), params);
    }

    private static void write(ParamBlock block, int index, KernelArg arg) {
        switch (arg) {
            case KernelArg.Ptr p -> block.setPtr(index, p.address());
            case KernelArg.I32 v -> block.setI32(index, v.value());
            case KernelArg.I64 v -> block.setI64(index, v.value());
            case KernelArg.F32 v -> block.setF32(index, v.value());
        }
    }

    // The parameter block's native memory is gone after close: launching from it would hand the driver freed memory.
    private void checkOpen() {
        if (closed) throw new IllegalStateException("launch of " + spec.qualifiedName() + " already closed");
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        params.close();
    }
}
