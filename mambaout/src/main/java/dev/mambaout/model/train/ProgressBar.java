package dev.mambaout.model.train;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * The console's view of a run. On a terminal: one line redrawn in place ({@code \r}) at most ten times a second,
 * with a bar, the step, the loss, images per second and the time left. Elsewhere (a pipe, a log file, CI): the same
 * text as a plain line every {@code linesEvery} steps, so logs stay readable.
 */
public final class ProgressBar {

    static final int BAR = 24;
    static final long REDRAW_NANOS = 100_000_000L;

    private final PrintWriter out;
    private final boolean terminal;
    private final long totalSteps;
    private final int linesEvery;
    private final long firstStep;
    private final long startNanos = System.nanoTime();
    private long lastDraw;
    private int drawnWidth;

    /** @param firstStep the step this process starts from (the time left is estimated from its own pace) */
    public ProgressBar(PrintWriter out, boolean terminal, long totalSteps, long firstStep, int linesEvery) {
        if (linesEvery < 1) throw new IllegalArgumentException("lines every must be >= 1, got " + linesEvery);
        this.out = out;
        this.terminal = terminal;
        this.totalSteps = totalSteps;
        this.firstStep = firstStep;
        this.linesEvery = linesEvery;
    }

    /** After each step: {@code step} updates done, the loss of the last interval, the recent images per second. */
    public void update(long step, int epoch, int epochs, double loss, double imagesPerSecond) {
        long now = System.nanoTime();
        boolean last = step == totalSteps;
        if (terminal) {
            if (!last && now - lastDraw < REDRAW_NANOS) return;
            lastDraw = now;
            String text = text(step, epoch, epochs, loss, imagesPerSecond, now);
            out.print("\r" + text + " ".repeat(Math.max(0, drawnWidth - text.length())));
            drawnWidth = text.length();
            out.flush();
        } else if (step % linesEvery == 0 || last) {
            out.println(text(step, epoch, epochs, loss, imagesPerSecond, now));
            out.flush();
        }
    }

    /** A line of its own (an epoch's summary, a checkpoint), printed below the bar, which is drawn again next step. */
    public void message(String line) {
        if (terminal && drawnWidth > 0) {
            out.print("\r" + " ".repeat(drawnWidth) + "\r");
            drawnWidth = 0;
        }
        out.println(line);
        out.flush();
    }

    String text(long step, int epoch, int epochs, double loss, double imagesPerSecond, long now) {
        int filled = (int) (BAR * step / Math.max(1, totalSteps));
        String bar = "#".repeat(filled) + ".".repeat(BAR - filled);
        long done = step - firstStep;
        String eta = done > 0 ? duration((now - startNanos) / 1e9 / done * (totalSteps - step)) : "?";
        return String.format(Locale.ROOT, "epoch %d/%d [%s] step %d/%d  loss %.4f  %.0f img/s  ETA %s", epoch, epochs,
                bar, step, totalSteps, loss, imagesPerSecond, eta);
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        if (s < 60) return s + "s";
        if (s < 3600) return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        return String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60);
    }
}
