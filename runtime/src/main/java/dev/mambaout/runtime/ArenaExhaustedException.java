package dev.mambaout.runtime;

/** An arena slice was asked for that does not fit: the message names the request, what is free and the capacity. */
public final class ArenaExhaustedException extends IllegalStateException {
    public ArenaExhaustedException(String message) { super(message); }
}
