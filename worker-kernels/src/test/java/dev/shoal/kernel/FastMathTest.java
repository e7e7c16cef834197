package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * {@link FastMath} against {@code Math.tanh} and {@code Math.exp}, on a sweep of both signs' magnitudes from 1e-30
 * to 20 (40 for the sigmoid) in relative steps of 1e-5: ~6 million points per sign.
 */
class FastMathTest {
    /** Under 3 units in the last place of a float near 1 (2^-23 = 1.19e-7). */
    private static final double TANH_RELATIVE = 3.5e-7;
    private static final double SIGMOID_ABSOLUTE = 1.2e-7;

    @Test
    void tanhIsWithinFloatPrecisionEverywhere() {
        double worst = 0;
        for (double magnitude = 1e-30; magnitude <= 20; magnitude *= 1 + 1e-5) {
            for (double x : new double[] {magnitude, -magnitude}) {
                float v = (float) x;
                worst = Math.max(worst, Math.abs(FastMath.tanh(v) - Math.tanh(v)) / Math.abs(Math.tanh(v)));
            }
        }
        assertTrue(worst <= TANH_RELATIVE, "largest relative error " + worst);
        assertTrue(worst > 1e-8, "an approximation, not Math.tanh: " + worst); // the bound above is a real one
    }

    @Test
    void sigmoidIsWithinFloatPrecisionEverywhere() {
        double worst = 0;
        for (double magnitude = 1e-30; magnitude <= 40; magnitude *= 1 + 1e-5) {
            for (double x : new double[] {magnitude, -magnitude}) {
                float v = (float) x;
                worst = Math.max(worst, Math.abs(FastMath.sigmoid(v) - 1 / (1 + Math.exp(-v))));
            }
        }
        assertTrue(worst <= SIGMOID_ABSOLUTE, "largest absolute error " + worst);
    }

    @Test
    void expOfNonPositiveNumbersIsWithinFloatPrecision() {
        double worst = 0;
        for (double x = -87; x <= 0; x += 1e-5) {
            worst = Math.max(worst, Math.abs(FastMath.expNonPositive(x) - Math.exp(x)) / Math.exp(x));
        }
        assertTrue(worst <= 1e-8, "largest relative error " + worst);
        assertEquals(1.0, FastMath.expNonPositive(0.0));
        assertTrue(FastMath.expNonPositive(-1e4) < 1e-37, "clamped below float's range");
        assertTrue(Double.isNaN(FastMath.expNonPositive(Double.NaN)));
    }

    @Test
    void limitsSymmetryAndNan() {
        assertEquals(1.0, FastMath.tanh(1e30), 1e-7);
        assertEquals(-1.0, FastMath.tanh(Double.NEGATIVE_INFINITY), 1e-7);
        assertEquals(0.0, FastMath.tanh(0.0));
        assertEquals(-FastMath.tanh(0.7), FastMath.tanh(-0.7));
        assertEquals(0.5, FastMath.sigmoid(0.0));
        assertTrue(Double.isNaN(FastMath.tanh(Double.NaN)));
        assertTrue(Double.isNaN(FastMath.sigmoid(Double.NaN)));
    }
}
