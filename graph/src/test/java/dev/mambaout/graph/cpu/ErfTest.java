package dev.mambaout.graph.cpu;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ErfTest {
    /** Reference values of erf to 16+ digits (mpmath / A&S tables); both branches and the sign are covered. */
    @ParameterizedTest(name = "erf({0})")
    @CsvSource({
            "0.0, 0.0",
            "1e-10, 1.1283791670955126e-10",
            "0.1, 0.1124629160182849",
            "0.5, 0.5204998778130465",
            "1.0, 0.8427007929497149",
            "-1.0, -0.8427007929497149",
            "1.5, 0.9661051464753108",
            "2.0, 0.9953222650189527",
            "2.5, 0.9995930479825550",
            "2.9, 0.9999589021219005",
            "3.0, 0.9999779095030014",
            "3.5, 0.9999992569016276",
            "-4.0, -0.9999999845827421",
            "5.0, 0.9999999999984626",
            "10.0, 1.0"})
    void matchesReference(double x, double expected) {
        double got = Erf.erf(x);
        assertEquals(expected, got, Math.max(Math.abs(expected), 1e-300) * 4e-16 + 1e-300, "erf(" + x + ")");
    }
}
