package dev.mambaout.model.train;

import com.fasterxml.jackson.databind.JsonNode;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Draws loss and accuracy per epoch (training and test) from the metrics file's epoch lines as one PNG: two charts
 * side by side, drawn by XChart into an image in memory (no window, so it works on a headless machine) and moved into
 * place atomically.
 */
public final class TrainingPlot {

    static {
        // AWT must not look for a display; respect an explicit setting.
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    public static final int WIDTH = 640, HEIGHT = 420;

    private TrainingPlot() {}

    /** Writes the plot of every epoch line of {@code metrics}; returns the number of epochs drawn. */
    public static int write(Path metrics, Path png) throws IOException {
        List<Double> epochs = new ArrayList<>(), loss = new ArrayList<>(), acc = new ArrayList<>();
        List<Double> testEpochs = new ArrayList<>(), testLoss = new ArrayList<>(), testAcc = new ArrayList<>();
        for (JsonNode n : MetricsLog.read(metrics)) {
            if (!MetricsLog.EPOCH.equals(n.path("kind").asText())) continue;
            double e = n.path("epoch").asDouble();
            epochs.add(e);
            loss.add(n.path("loss").asDouble());
            acc.add(n.path("accuracy").asDouble());
            if (n.has("test_loss")) {
                testEpochs.add(e);
                testLoss.add(n.path("test_loss").asDouble());
                testAcc.add(n.path("test_accuracy").asDouble());
            }
        }
        if (epochs.isEmpty()) throw new IllegalArgumentException(metrics + " has no epoch lines to plot");
        XYChart lossChart = chart("Loss per epoch", "cross-entropy");
        XYChart accChart = chart("Accuracy per epoch", "top-1 accuracy");
        series(lossChart, "train (label-smoothed)", epochs, loss);
        series(accChart, "train", epochs, acc);
        if (!testEpochs.isEmpty()) {
            series(lossChart, "test", testEpochs, testLoss);
            series(accChart, "test", testEpochs, testAcc);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        BitmapEncoder.saveBitmap(List.of(lossChart, accChart), 1, 2, bytes, BitmapEncoder.BitmapFormat.PNG);
        Path tmp = png.resolveSibling("." + png.getFileName() + ".partial");
        Files.write(tmp, bytes.toByteArray());
        Files.move(tmp, png, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return epochs.size();
    }

    private static XYChart chart(String title, String yTitle) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle("epoch").yAxisTitle(yTitle).build();
        c.getStyler().setDecimalPattern("#0.###");
        return c;
    }

    private static void series(XYChart chart, String name, List<Double> x, List<Double> y) {
        XYSeries s = chart.addSeries(name, x, y);
        s.setMarker(SeriesMarkers.CIRCLE);
    }
}
