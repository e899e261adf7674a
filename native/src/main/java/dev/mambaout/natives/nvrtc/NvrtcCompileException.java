package dev.mambaout.natives.nvrtc;

import dev.mambaout.natives.CudaException;

/** The source did not compile: carries NVRTC's program log (the compiler's own messages with line numbers). */
public final class NvrtcCompileException extends CudaException {
    private final String programName;
    private final String log;

    NvrtcCompileException(String programName, int status, String statusName, String options, String log) {
        super("nvrtcCompileProgram", status, statusName, "program " + programName + " with options " + options
                + " did not compile; log:\n" + log);
        this.programName = programName;
        this.log = log;
    }

    public String programName() { return programName; }

    /** NVRTC's program log. */
    public String log() { return log; }
}
