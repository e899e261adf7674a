package dev.mambaout.runtime;

import dev.mambaout.kernels.KernelArg;
import dev.mambaout.kernels.KernelSpec;
import dev.mambaout.kernels.Kernels;
import dev.mambaout.kernels.LaunchGeometry;
import dev.mambaout.natives.CudaDriver;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The kernels module's fatbins loaded into one context: each module once, each function looked up once. Get it from
 * {@link Device#modules()}; the device unloads everything when it closes.
 */
public final class KernelModules implements AutoCloseable {

    private final CudaDriver driver;
    private final int smCount;
    private final Map<String, Long> modules = new HashMap<>();
    private final Map<String, Long> functions = new HashMap<>();
    private final Map<String, Integer> sharedOptIn = new HashMap<>();

    /** Dynamic shared memory a launch may use without opting in. */
    private static final int DEFAULT_DYNAMIC_SHARED = 48 * 1024;
    private static final int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;

    KernelModules(CudaDriver driver, int smCount) {
        this.driver = driver;
        this.smCount = smCount;
    }

    /** SMs of the context's device, for families whose grid is sized per SM (im2col). */
    public int smCount() { return smCount; }

    /** The CUfunction of a catalog kernel, loading its fatbin on first use. */
    public long function(KernelSpec spec) {
        Long f = functions.get(spec.name());
        if (f != null) return f;
        long module = modules.computeIfAbsent(spec.module(), name -> driver.moduleLoadData(Kernels.module(name)));
        long fn = driver.moduleGetFunction(module, spec.name());
        functions.put(spec.name(), fn);
        return fn;
    }

    /**
     * A prepared launch of a catalog kernel; the arguments are checked against its spec. Dynamic shared memory past
     * the default 48 KB is opted into here, once per function and size, before any launch or capture uses it.
     */
    public Launch prepare(KernelSpec spec, Dim3 grid, Dim3 block, int sharedBytes, KernelArg... args) {
        long fn = function(spec);
        if (sharedBytes > DEFAULT_DYNAMIC_SHARED && sharedBytes > sharedOptIn.getOrDefault(spec.name(), 0)) {
            driver.funcSetAttribute(fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, sharedBytes);
            sharedOptIn.put(spec.name(), sharedBytes);
        }
        return Launch.prepare(driver, spec, fn, grid, block, sharedBytes, List.of(args));
    }

    /** As {@link #prepare(KernelSpec, Dim3, Dim3, int, KernelArg...)} with a family's computed geometry. */
    public Launch prepare(KernelSpec spec, LaunchGeometry g, KernelArg... args) {
        return prepare(spec, new Dim3(g.gridX(), g.gridY(), g.gridZ()), new Dim3(g.blockX(), g.blockY(), g.blockZ()),
                g.sharedBytes(), args);
    }

    @Override
    public void close() {
        RuntimeException first = null;
        for (long m : modules.values()) {
            try {
                driver.moduleUnload(m);
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        modules.clear();
        functions.clear();
        if (first != null) throw first;
    }
}
