package dev.mambaout.graph.cpu;

/**
 * erf in double precision (about 1e-16 relative), since f64 GELU must match PyTorch to 1e-12 and float-grade
 * approximations (Abramowitz-Stegun 7.1.26 and the like, ~1e-7) cannot.
 * <p>
 * |x| < 2: erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)) (A&S 7.1.6), whose terms are all
 * positive, so nothing cancels. |x| >= 2: erf = 1 - erfc, erfc from its continued fraction (A&S 7.1.14) by the
 * modified Lentz method; there erfc < 4.7e-3, so its own relative error barely reaches erf.
 */
final class Erf {
    private Erf() {}

    private static final double TWO_OVER_SQRT_PI = 1.1283791670955126;
    private static final double ONE_OVER_SQRT_PI = 0.5641895835477563;

    /** 2/(2n+1): GELU calls erf for every activation, and a multiply is several times cheaper than a divide. */
    private static final double[] TWO_OVER_ODD = new double[64];

    static {
        for (int n = 0; n < TWO_OVER_ODD.length; n++) TWO_OVER_ODD[n] = 2.0 / (2 * n + 1);
    }

    static double erf(double x) {
        if (Double.isNaN(x)) return x;
        double ax = Math.abs(x);
        double r;
        if (ax < 2.0) {
            double x2 = ax * ax;
            double term = ax, sum = ax;
            for (int n = 1; n < TWO_OVER_ODD.length; n++) {
                term *= x2 * TWO_OVER_ODD[n];
                sum += term;
                if (term < sum * 1e-17) break;
            }
            r = TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
        } else if (ax < 6.5) {
            r = 1.0 - erfcLarge(ax);
        } else {
            r = 1.0;
        }
        return x < 0 ? -r : r;
    }

    /** erfc(x) for x >= 2: exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))). */
    private static double erfcLarge(double x) {
        final double tiny = 1e-300;
        double f = x, c = x, d = 0.0;
        for (int n = 1; n < 500; n++) {
            double a = n * 0.5;
            d = x + a * d;
            if (d == 0) d = tiny;
            c = x + a / c;
            if (c == 0) c = tiny;
            d = 1.0 / d;
            double delta = c * d;
            f *= delta;
            if (Math.abs(delta - 1.0) < 1e-17) break;
        }
        return Math.exp(-x * x) * ONE_OVER_SQRT_PI / f;
    }
}
