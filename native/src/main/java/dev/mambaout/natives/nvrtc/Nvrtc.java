package dev.mambaout.natives.nvrtc;

import dev.mambaout.natives.NativeLibraries;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * NVRTC through Panama: compiles CUDA C++ to PTX at run time, for kernels a user adds without a toolkit. Load the
 * result with the driver ({@code moduleLoadData}); name kernels {@code extern "C"} so their names are not mangled.
 */
public final class Nvrtc {

    static final String LIBRARY = "nvrtc";
    static final List<String> SONAMES = List.of("libnvrtc.so.13", "libnvrtc.so.12");

    /** {@code NativeLibraries.load} of this library (cached once loaded); kept out of the class that binds the
     * symbols so that a missing library is a {@link dev.mambaout.natives.CudaUnavailableException} every time,
     * never a class-initialisation error.
     */
    static NativeLibraries.Loaded require() {
        return NativeLibraries.load(LIBRARY, SONAMES);
    }

    /** NVRTC's version, e.g. 13.0. */
    public record Version(int major, int minor) {
        @Override
        public String toString() { return major + "." + minor; }
    }

    private Nvrtc() {}

    /** Where libnvrtc was loaded from. */
    public static String libraryPath() { return require().path(); }

    /** {@code nvrtcVersion}; needs no GPU. */
    public static Version version() {
        require();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment major = a.allocate(JAVA_INT);
            MemorySegment minor = a.allocate(JAVA_INT);
            NvrtcNative.check("nvrtcVersion", (int) NvrtcNative.VERSION.invokeExact(major, minor));
            return new Version(major.get(JAVA_INT, 0), minor.get(JAVA_INT, 0));
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("nvrtcVersion downcall failed", t);
        }
    }

    /**
     * Compiles {@code source} to PTX.
     *
     * @param programName shown in the compiler's messages, e.g. {@code my_kernel.cu}
     * @param options     nvcc-style options, e.g. {@code --gpu-architecture=compute_90}, {@code -default-device},
     *                    {@code --use_fast_math}
     * @throws NvrtcCompileException when the source does not compile; it carries the program log
     */
    public static Ptx compile(String source, String programName, List<String> options) {
        if (source == null || source.isBlank()) throw new IllegalArgumentException("NVRTC source is empty");
        if (programName == null || programName.isBlank()) throw new IllegalArgumentException("programName is empty");
        require();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment progOut = a.allocate(JAVA_LONG);
            NvrtcNative.check("nvrtcCreateProgram", (int) NvrtcNative.CREATE.invokeExact(progOut,
                    a.allocateFrom(source), a.allocateFrom(programName), 0, MemorySegment.NULL, MemorySegment.NULL));
            long prog = progOut.get(JAVA_LONG, 0);
            try {
                MemorySegment opts = a.allocate(ADDRESS, Math.max(1, options.size()));
                for (int i = 0; i < options.size(); i++) opts.setAtIndex(ADDRESS, i, a.allocateFrom(options.get(i)));
                int st = (int) NvrtcNative.COMPILE.invokeExact(prog, options.size(), opts);
                String log = read(a, prog, NvrtcNative.LOG_SIZE, NvrtcNative.LOG, "nvrtcGetProgramLog");
                if (st != 0) {
                    throw new NvrtcCompileException(programName, st, NvrtcNative.errorName(st), options.toString(), log);
                }
                String ptx = read(a, prog, NvrtcNative.PTX_SIZE, NvrtcNative.PTX, "nvrtcGetPTX");
                byte[] image = new byte[ptx.length() + 1];   // keeps the NUL that cuModuleLoadData needs
                for (int i = 0; i < ptx.length(); i++) image[i] = (byte) ptx.charAt(i);
                return new Ptx(programName, image, log);
            } finally {
                int st = (int) NvrtcNative.DESTROY.invokeExact(progOut);
                NvrtcNative.check("nvrtcDestroyProgram", st);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("NVRTC downcall failed", t);
        }
    }

    /** Reads one of NVRTC's size-then-copy strings (log, PTX). */
    private static String read(Arena a, long prog, MethodHandle size, MethodHandle get,
                               String call) throws Throwable {
        MemorySegment n = a.allocate(JAVA_LONG);
        NvrtcNative.check(call + "Size", (int) size.invokeExact(prog, n));
        long bytes = n.get(JAVA_LONG, 0);
        if (bytes <= 1) return "";
        MemorySegment buf = a.allocate(JAVA_BYTE, bytes);
        NvrtcNative.check(call, (int) get.invokeExact(prog, buf));
        return buf.getString(0);
    }
}
