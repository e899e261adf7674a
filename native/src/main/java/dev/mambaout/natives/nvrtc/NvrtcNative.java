package dev.mambaout.natives.nvrtc;

import dev.mambaout.natives.panama.Downcalls;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** Downcalls into libnvrtc (nvrtc.h). Call {@link Nvrtc#require()} before touching the handles. */
final class NvrtcNative {

    /** NVRTC_ERROR_COMPILATION: the source did not compile; the program log says why. */
    static final int ERROR_COMPILATION = 6;

    static final SymbolLookup LIB = Nvrtc.require().lookup();

    static final MethodHandle VERSION = Downcalls.bind(LIB, "nvrtcVersion",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle ERROR_STRING = Downcalls.bind(LIB, "nvrtcGetErrorString",
            FunctionDescriptor.of(ADDRESS, JAVA_INT));
    /** nvrtcCreateProgram(nvrtcProgram*, src, name, int numHeaders, headers[], includeNames[]). */
    static final MethodHandle CREATE = Downcalls.bind(LIB, "nvrtcCreateProgram",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle DESTROY = Downcalls.bind(LIB, "nvrtcDestroyProgram",
            FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle COMPILE = Downcalls.bind(LIB, "nvrtcCompileProgram",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS));
    static final MethodHandle PTX_SIZE = Downcalls.bind(LIB, "nvrtcGetPTXSize",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
    static final MethodHandle PTX = Downcalls.bind(LIB, "nvrtcGetPTX",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
    static final MethodHandle LOG_SIZE = Downcalls.bind(LIB, "nvrtcGetProgramLogSize",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
    static final MethodHandle LOG = Downcalls.bind(LIB, "nvrtcGetProgramLog",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));

    private NvrtcNative() {}

    /** nvrtcGetErrorString gives the symbolic name, e.g. NVRTC_ERROR_COMPILATION. */
    static String errorName(int status) {
        return Downcalls.statusText(ERROR_STRING, status, "NVRTC_ERROR_" + status);
    }

    static void check(String call, int status) {
        Downcalls.check(call, status, NvrtcNative::errorName, s -> null);
    }
}
