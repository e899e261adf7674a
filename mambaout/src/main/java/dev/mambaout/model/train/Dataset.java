package dev.mambaout.model.train;

import java.io.IOException;

/**
 * Labelled images for training or evaluation, each already transformed to the model's input: {@code channels x
 * height x width} float32 values (one image of an NCHW batch). Implementations are read by one loader thread at a
 * time, so they need not be thread-safe, but must give the same values for an index every time (resume relies on it).
 */
public interface Dataset {

    int size();

    int channels();

    int height();

    int width();

    /** Labels lie in {@code [0, numClasses)}. */
    int numClasses();

    int label(int index);

    /** Writes image {@code index} into {@code dst[offset .. offset + channels*height*width)} (CHW). */
    void image(int index, float[] dst, int offset) throws IOException;

    /** One line for the log: what the data is and where it came from. */
    String describe();

    default int sampleFloats() {
        return channels() * height() * width();
    }

    /** The first {@code n} samples (all of them when {@code n} is at least the size). */
    default Dataset limit(int n) {
        if (n < 1) throw new IllegalArgumentException("a dataset limit must be >= 1, got " + n);
        if (n >= size()) return this;
        Dataset all = this;
        return new Dataset() {
            @Override public int size() { return n; }
            @Override public int channels() { return all.channels(); }
            @Override public int height() { return all.height(); }
            @Override public int width() { return all.width(); }
            @Override public int numClasses() { return all.numClasses(); }
            @Override public int label(int index) { return all.label(index); }
            @Override public void image(int index, float[] dst, int offset) throws IOException { all.image(index, dst, offset); }
            @Override public String describe() { return all.describe() + ", first " + n; }
        };
    }
}
