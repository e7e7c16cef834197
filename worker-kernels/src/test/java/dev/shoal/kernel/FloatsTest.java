package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class FloatsTest {

    @Test
    void firstNonFiniteFindsTheFirstInfinityOrNaNInARange() {
        float[] x = new float[100];
        Arrays.fill(x, 1e30f);
        x[3] = Float.MIN_VALUE; // subnormal: finite
        assertEquals(-1, Floats.firstNonFinite(x, 0, 100));
        x[70] = Float.NaN;
        x[90] = Float.POSITIVE_INFINITY;
        assertEquals(70, Floats.firstNonFinite(x, 0, 100));
        assertEquals(10, Floats.firstNonFinite(x, 80, 20));
        assertEquals(-1, Floats.firstNonFinite(x, 0, 70), "the range ends before the NaN");
        x[5] = -Float.MAX_VALUE;
        assertEquals(-1, Floats.firstNonFinite(x, 0, 70));
    }

    /** A model's first non-finite value counts the parameters first, then the updater state. */
    @Test
    void aModelNamesItsFirstNonFiniteValueAcrossParametersAndState() {
        float[] params = {1, 2, 3};
        float[] state = {0, 0, Float.NaN, Float.NEGATIVE_INFINITY};
        assertEquals(5, new ModelSnapshot(params, state, 0, 0).firstNonFinite());
        params[1] = Float.POSITIVE_INFINITY;
        assertEquals(1, new ModelSnapshot(params, state, 0, 0).firstNonFinite());
        assertEquals(-1, new ModelSnapshot(new float[] {1}, new float[] {2}, 0, 0).firstNonFinite());
    }
}
