package dev.shoal.kernel;

/** Checks over arrays of floats that every model and every row of data goes through. */
public final class Floats {
    private Floats() {
    }

    /** The index (from {@code offset}) of the first of {@code x}'s {@code size} values that is not finite, or -1. */
    public static int firstNonFinite(float[] x, int offset, int size) {
        int flags = 0;
        for (int i = 0; i < size; i++) {
            // All eight exponent bits set (infinity, NaN) carry into the sign bit; no branch per value.
            flags |= (Float.floatToRawIntBits(x[offset + i]) & 0x7f800000) + 0x00800000;
        }
        if (flags >= 0) {
            return -1;
        }
        for (int i = 0; i < size; i++) {
            if (!Float.isFinite(x[offset + i])) {
                return i;
            }
        }
        throw new AssertionError("a non-finite value that is not there");
    }
}
