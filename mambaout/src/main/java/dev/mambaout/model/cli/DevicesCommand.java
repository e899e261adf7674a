package dev.mambaout.model.cli;

import dev.mambaout.kernels.Kernels;
import dev.mambaout.natives.Cuda;
import dev.mambaout.natives.CudaDriver;
import dev.mambaout.runtime.Device;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code mambaout devices}: what the GPU path would run on — the CUDA driver through the chosen backend, each device,
 * and the kernels built into this jar. Without a usable driver it says why (every library path tried) and exits 1,
 * so a deployment can check a machine before it serves.
 */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List the CUDA devices the driver backend (--cuda-backend) sees, and the kernels in this jar.")
final class DevicesCommand implements Callable<Integer> {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Kernels.BuildInfo k = Kernels.buildInfo();
        out.println(k.built()
                ? "kernels  " + k.modules() + " built by nvcc " + k.nvcc() + " for " + k.archs()
                : "kernels  not built: " + k.reason());
        CudaDriver.Backend backend = Cuda.configuredBackend();
        String name = backend.name().toLowerCase(Locale.ROOT);
        Cuda.Availability a = Cuda.availability(backend);
        if (!a.available()) {
            out.println("backend  " + name);
            out.flush();
            spec.commandLine().getErr().println("mambaout devices: no usable CUDA device: " + a.reason());
            return MambaOutCli.EXIT_FAILURE;
        }
        CudaDriver driver = Cuda.open(backend);
        int v = driver.driverVersion();
        out.printf(Locale.ROOT, "backend  %s, CUDA driver %d.%d%n", name, v / 1000, v % 1000 / 10);
        for (int i = 0; i < driver.deviceCount(); i++) {
            try (Device d = Device.open(driver, i)) {
                Device.Info info = d.info();
                Device.MemInfo mem = d.memInfo();
                out.printf(Locale.ROOT, "device %d %s, compute capability %s, %d SMs, L2 %d MiB, memory %.1f GiB (%.1f GiB free)%n",
                        i, info.name(), info.computeCapability(), info.smCount(), info.l2CacheBytes() >> 20,
                        info.totalMemoryBytes() / 1073741824.0, mem.free() / 1073741824.0);
            }
        }
        out.flush();
        return 0;
    }
}
