package dev.mambaout.natives;

import dev.mambaout.natives.CudaDriver.Backend;
import dev.mambaout.natives.jcuda.JCudaDriverBackend;
import dev.mambaout.natives.panama.PanamaCudaDriver;

import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * Entry point to the driver: picks the backend and says, without throwing, whether CUDA can be used here.
 *
 * <p>Backend: {@code -Dmambaout.cuda.backend}, else the environment variable {@code MAMBAOUT_CUDA_BACKEND}, else
 * Panama; values are {@code panama} or {@code jcuda}, any case. Each backend is one instance per process.
 *
 * <p>GPU tests start with
 * {@code var a = Cuda.availability(); Assumptions.assumeTrue(a.available(), a.reason());}
 * so on a machine without a driver they are skipped with the reason (e.g. every path libcuda was looked for).
 */
public final class Cuda {

    public static final String BACKEND_PROPERTY = "mambaout.cuda.backend";
    public static final String BACKEND_ENV = "MAMBAOUT_CUDA_BACKEND";

    /** Whether CUDA works here; {@code reason} says why not, or what was found (driver, devices). */
    public record Availability(boolean available, String reason) {}

    private static final Map<Backend, Availability> AVAILABILITY = new ConcurrentHashMap<>();

    private Cuda() {}

    /** The configured backend's driver. */
    public static CudaDriver open() { return open(configuredBackend()); }

    /**
     * The given backend's driver: loads its library and runs {@code cuInit(0)} on first use.
     *
     * @throws CudaUnavailableException naming what is missing
     */
    public static CudaDriver open(Backend backend) {
        return switch (backend) {
            case PANAMA -> PanamaCudaDriver.create();
            case JCUDA -> JCudaDriverBackend.create();
        };
    }

    /** The backend chosen by the system property or environment variable, Panama if neither is set. */
    public static Backend configuredBackend() {
        String prop = System.getProperty(BACKEND_PROPERTY);
        if (prop != null && !prop.isBlank()) return parseBackend(prop, "-D" + BACKEND_PROPERTY);
        String env = System.getenv(BACKEND_ENV);
        if (env != null && !env.isBlank()) return parseBackend(env, BACKEND_ENV);
        return Backend.PANAMA;
    }

    /**
     * @param value  a backend name, any case, surrounding blanks ignored
     * @param source where the value came from, for the message
     * @throws IllegalArgumentException listing the choices, if {@code value} names none
     */
    public static Backend parseBackend(String value, String source) {
        String v = value == null ? "" : value.strip().toLowerCase(Locale.ROOT);
        for (Backend b : Backend.values()) {
            if (b.name().toLowerCase(Locale.ROOT).equals(v)) return b;
        }
        throw new IllegalArgumentException(source + "=\"" + value + "\" is not a CUDA backend; choose one of "
                + Arrays.stream(Backend.values()).map(b -> b.name().toLowerCase(Locale.ROOT))
                .collect(Collectors.joining(", ")));
    }

    /** Availability of the configured backend; a bad backend setting is reported, not thrown. */
    public static Availability availability() {
        Backend backend;
        try {
            backend = configuredBackend();
        } catch (IllegalArgumentException e) {
            return new Availability(false, e.getMessage());
        }
        return availability(backend);
    }

    /**
     * Whether {@code backend} can open the driver and sees at least one device. Never throws; computed once per
     * backend and process (the answer cannot change while the process runs: a library once loaded stays loaded).
     */
    public static Availability availability(Backend backend) {
        return AVAILABILITY.computeIfAbsent(backend, Cuda::probe);
    }

    private static Availability probe(Backend backend) {
        String name = backend.name().toLowerCase(Locale.ROOT);
        try {
            CudaDriver driver = open(backend);
            int count = driver.deviceCount();
            if (count < 1) return new Availability(false, "CUDA driver found (" + name + ") but it reports no devices");
            return new Availability(true, "CUDA driver " + driver.driverVersion() + " via " + name + ": " + count
                    + " device(s), device 0 is " + driver.deviceName(0));
        } catch (CudaUnavailableException | CudaException e) {
            return new Availability(false, "no usable CUDA driver (" + name + " backend): " + e.getMessage());
        } catch (RuntimeException | LinkageError e) {
            return new Availability(false, "no usable CUDA driver (" + name + " backend): " + summary(e));
        }
    }

    /** Lines of a summary beyond the first: enough for each load attempt's own reason. */
    static final int SUMMARY_CAUSES = 3;

    /**
     * A one-line account of a failure whose message may be a report of many lines: JCuda's loader puts the nested
     * stack traces of every attempt into its UnsatisfiedLinkError's message (about 60 lines). Kept: the first line
     * and the distinct exception lines inside ("java.lang.UnsatisfiedLinkError: libcuda.so.1: cannot open..."), which
     * say why each attempt failed; stack frames are dropped.
     */
    public static String summary(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) return e.getClass().getName();
        List<String> lines = m.strip().lines().map(String::strip).toList();
        Set<String> kept = new LinkedHashSet<>();
        kept.add(e.getClass().getName() + ": " + lines.getFirst());
        lines.stream().skip(1)
                .filter(l -> l.matches("(Caused by: )?[\\w$.]+(Error|Exception): .+"))
                .map(l -> l.replaceFirst("^Caused by: ", ""))
                .filter(l -> !l.endsWith(lines.getFirst()))
                .limit(SUMMARY_CAUSES)
                .forEach(kept::add);
        return String.join("; ", kept);
    }
}
