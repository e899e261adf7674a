package dev.mambaout.graph;

/** Thrown at build time when an op's operands do not fit; the message names the op and every shape involved. */
public class ShapeException extends IllegalArgumentException {
    public ShapeException(String message) {
        super(message);
    }
}
