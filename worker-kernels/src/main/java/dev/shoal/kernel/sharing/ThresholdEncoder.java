package dev.shoal.kernel.sharing;

import java.util.Arrays;

/**
 * Threshold encoding with error feedback, for one worker. Each step the new gradient is added to the residual
 * (what earlier steps did not send); every entry whose magnitude reaches the threshold τ is sent as a whole
 * multiple of τ (k = |v| / τ rounded down, at most 127, with v's sign) and that is taken off it; the rest, less
 * than τ, stays in the residual for the next step. Nothing is lost, only delayed:
 * {@code decode(encode(g)) + residual' == g + residual} holds exactly in float arithmetic.
 *
 * <p>The adaptive threshold: each step τ is picked from a histogram of the entries' magnitudes (8 bins per
 * power of two: exponent and the top 3 mantissa bits) as the largest bin edge with at least
 * {@code fraction x size} entries at or above it, so the share sent stays near the target as gradients shrink.
 * Exactness holds because τ has a 3-bit mantissa and is never below 2^-20 of the largest entry: then kτ (at
 * most 10 significant bits) is a multiple of every selected entry's ulp and |v - kτ| < |v|, so {@code v - kτ}
 * and {@code kτ + (v - kτ)} are exact.
 */
public final class ThresholdEncoder {
    /** Bits of a float's magnitude that name its bin: 8 exponent bits and the top 3 mantissa bits. */
    private static final int BIN_SHIFT = 20;
    private static final int BINS = 1 << (31 - BIN_SHIFT);
    private static final int BINS_PER_BINADE = 8;
    /** τ's lowest mantissa bit sits 20 binades below its leading bit's 23. */
    private static final int EXACT_BINADES = 20;
    /** The bits of a float's magnitude from which on it is infinite or NaN. */
    private static final int INFINITY = 0x7f800000;

    private final float[] residual;
    /** The indices {@link #select} keeps from one block of entries. */
    private final int[] selected = new int[4096];
    private final int target;
    private final int[] histogram = new int[BINS];

    /** @param fraction share of entries to send per step, in (0, 1] */
    public ThresholdEncoder(int size, double fraction) {
        this(new float[size], fraction);
    }

    /**
     * Continues from the {@code residual} an earlier encoder left (see {@link #residual()}), so that what it had
     * not sent yet is sent later rather than dropped.
     *
     * @param fraction share of entries to send per step, in (0, 1]
     */
    public ThresholdEncoder(float[] residual, double fraction) {
        if (!(fraction > 0 && fraction <= 1)) {
            throw new IllegalArgumentException("fraction must be in (0, 1], got " + fraction);
        }
        this.residual = residual.clone();
        this.target = Math.max(1, (int) Math.round(fraction * residual.length));
    }

    /**
     * Adds {@code gradient} to the residual and encodes what is to be sent now.
     *
     * @throws IllegalArgumentException if an entry of the gradient is NaN or infinite, or overflows when
     *                                  added to the residual (the residual is left partly updated: stop)
     */
    public GradientMessage encode(float[] gradient, int examples) {
        if (gradient.length != residual.length) {
            throw new IllegalArgumentException("gradient has " + gradient.length + " entries, encoder "
                    + residual.length);
        }
        Arrays.fill(histogram, 0);
        for (int i = 0; i < gradient.length; i++) {
            float v = residual[i] + gradient[i];
            int magnitude = Float.floatToRawIntBits(v) & 0x7fffffff;
            if (magnitude >= INFINITY) {
                throw notFinite(i, gradient[i]);
            }
            residual[i] = v;
            // Zeros land in bin 0 with the tiniest values, which are never sent.
            histogram[magnitude >>> BIN_SHIFT]++;
        }
        int top = BINS - 1;
        while (top >= 0 && histogram[top] == 0) {
            top--;
        }
        if (top <= 0) {
            return GradientMessage.sparse(examples, 0, new int[0], new byte[0]);
        }
        int lowest = 1;
        while (histogram[lowest] == 0 && lowest < top) {
            lowest++;
        }
        // Largest bin edge with `target` entries at or above it; never below the smallest entry's bin, so
        // that with fewer entries than the target all of them go out whole.
        int b = top;
        for (int count = histogram[top]; b > lowest && count < target; ) {
            count += histogram[--b];
        }
        b = Math.max(b, Math.max(1, top - EXACT_BINADES * BINS_PER_BINADE));
        return select(Float.intBitsToFloat(b << BIN_SHIFT), examples);
    }

    /**
     * Takes every entry of at least {@code threshold} off the residual, as a message. A tenth of the entries, in
     * no pattern, is selected, and the processor mispredicted a branch on that (and one on the entry's sign)
     * often enough to double the time. So each block of entries is read twice, without a branch that depends on
     * the data: first every index is written and only a selected one is kept (a finite float's magnitude orders
     * as its bits do), then the kept entries' multiples are taken off the residual.
     */
    private GradientMessage select(float threshold, int examples) {
        int thresholdBits = Float.floatToRawIntBits(threshold);
        int[] entries = new int[Math.min(residual.length, 2 * target)];
        byte[] multiples = new byte[entries.length];
        int n = 0;
        for (int start = 0; start < residual.length; start += selected.length) {
            int end = Math.min(residual.length, start + selected.length);
            int kept = 0;
            for (int i = start; i < end; i++) {
                selected[kept] = i;
                kept += 1 - (((Float.floatToRawIntBits(residual[i]) & 0x7fffffff) - thresholdBits) >>> 31);
            }
            if (n + kept > entries.length) {
                entries = Arrays.copyOf(entries, Math.max(2 * entries.length, n + kept));
                multiples = Arrays.copyOf(multiples, entries.length);
            }
            for (int j = 0; j < kept; j++) {
                int i = selected[j];
                float v = residual[i];
                int k = (int) Math.min(GradientMessage.MAX_MULTIPLE, Math.abs(v) / threshold);
                residual[i] = v - Math.copySign(k * threshold, v);
                int sign = Float.floatToRawIntBits(v) >> 31; // 0 or -1
                entries[n] = ((i + 1) ^ sign) - sign;
                multiples[n++] = (byte) k;
            }
        }
        return GradientMessage.sparse(examples, threshold, Arrays.copyOf(entries, n), Arrays.copyOf(multiples, n));
    }

    private IllegalArgumentException notFinite(int i, float g) {
        return new IllegalArgumentException(Float.isFinite(g)
                ? "gradient entry " + i + " overflows: " + g + " plus the " + residual[i] + " not sent yet"
                : "gradient entry " + i + " is " + g);
    }

    /** What has not been sent yet. */
    public float[] residual() {
        return residual.clone();
    }

}
