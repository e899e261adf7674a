package dev.mambaout.kernels;

/** The jar carries no compiled kernels (or not the one asked for): says why, as recorded when the jar was built. */
public final class KernelsNotBuiltException extends IllegalStateException {
    public KernelsNotBuiltException(String message) { super(message); }
}
