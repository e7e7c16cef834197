package dev.shoal.kernel;

/**
 * tanh, the logistic sigmoid and exp of non-positive numbers as arithmetic only (no {@code Math.tanh}/{@code
 * Math.exp} call), so that the JIT vectorises the loops that use them: ~0.3 ns per value against ~37 ns for {@code
 * Math.tanh} and ~5 ns for a sigmoid through {@code Math.exp}; exp ~1.3 ns against ~5 (measured on this machine's
 * AMD EPYC). Accurate to float precision, not to double's: for float networks.
 *
 * <p>How: tanh(x) = 2t / (1 + t^2) with t = tanh(x/2) (the double-angle identity), and tanh(y) for |y| <= 4.5 by
 * its [7/6] Padé approximant y (135135 + 17325 y^2 + 378 y^4 + y^6) / (135135 + 62370 y^2 + 3150 y^4 + 28 y^6)
 * (the continued fraction of tanh cut after seven terms). Beyond |x| = 9, tanh(x) is 1 in float and the input is
 * clamped there. The largest relative error against {@code Math.tanh}, over every float in [-20, 20], is 3.3e-7
 * (under 3 units in the last place of a float near 1; {@code FastMathTest} checks it); the sigmoid,
 * (1 + tanh(x/2)) / 2, is within 1.1e-7 of the exact value everywhere. NaN stays NaN.
 */
final class FastMath {
    /** exp below this is under float's smallest normal number; inputs are clamped here. */
    private static final double EXP_FLOOR = -87;
    private FastMath() {
    }

    static double tanh(double x) {
        double y = Math.max(-4.5, Math.min(4.5, 0.5 * x));
        double z = y * y;
        double t = y * (((z + 378) * z + 17325) * z + 135135) / (((28 * z + 3150) * z + 62370) * z + 135135);
        return 2 * t / (1 + t * t);
    }

    static double sigmoid(double x) {
        return 0.5 + 0.5 * tanh(0.5 * x);
    }

    /**
     * exp(x) for x <= 0 (a softmax's inputs less their max): exp(x / 128)^128, by the Taylor polynomial of degree 12
     * (exact to 2e-11 on [-0.68, 0]) and seven squarings (which multiply the relative error by 128); below -87 the
     * input is clamped there. Largest relative error against {@code Math.exp} on [-87, 0]: 4.9e-9.
     */
    static double expNonPositive(double x) {
        double y = Math.max(x, EXP_FLOOR) * (1.0 / 128);
        double p = 1.0 / 479001600;
        p = p * y + 1.0 / 39916800;
        p = p * y + 1.0 / 3628800;
        p = p * y + 1.0 / 362880;
        p = p * y + 1.0 / 40320;
        p = p * y + 1.0 / 5040;
        p = p * y + 1.0 / 720;
        p = p * y + 1.0 / 120;
        p = p * y + 1.0 / 24;
        p = p * y + 1.0 / 6;
        p = p * y + 0.5;
        p = p * y + 1;
        p = p * y + 1;
        p *= p; // seven squarings, written out: a loop here kept the JIT from vectorising the callers' loops
        p *= p;
        p *= p;
        p *= p;
        p *= p;
        p *= p;
        return p * p;
    }
}
