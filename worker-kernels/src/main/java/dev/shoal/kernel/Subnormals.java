package dev.shoal.kernel;

import java.nio.FloatBuffer;

/**
 * Flushes subnormal floats (nonzero, smaller in magnitude than {@link Float#MIN_NORMAL}, 1.18e-38) to zero in a
 * network's parameters and optimizer state, as the FTZ/DAZ modes of x86 CPUs would (TensorFlow runs with them on;
 * PyTorch has {@code torch.set_flush_denormal}). Java and ND4J cannot set those modes, and without them an Intel CPU
 * takes a microcode assist of ~100 cycles for every operation on a subnormal value.
 *
 * <p>Why it matters: with Adam and L2, the weights of ReLU units that no longer fire (and the Adam moments that
 * follow them) shrink geometrically toward zero and sit in the subnormal range for good. On a Sapphire Rapids Xeon
 * the Fashion-MNIST MLP had 15,000 subnormal weights (6%) after 14 epochs, and every system slowed down with
 * them: plain DL4J from 10,079 to 1,284 examples/s, PyTorch from 20,568 to 3,956, Shoal from 34,335 to 9,589.
 * Set to zero, such a weight stays zero while its unit is dead (its gradient is then zero, and so are its
 * moments), so flushing every {@link #EVERY} steps keeps the subnormals to the few that crossed the boundary since.
 *
 * <p>A flushed value changes a product by less than 1.2e-38 times the other factor: below the rounding of any
 * normal float sum. Runs without subnormals (every short run) are bit for bit the same with or without the flush;
 * {@code kernel.flush-subnormals: false} keeps DL4J's arithmetic exactly also where they appear.
 */
final class Subnormals {
    /**
     * Optimizer steps between two flushes, counted by the network's iteration, so that every replica and a resumed
     * run flush at the same steps. A weight takes hundreds of steps to shrink through the subnormal range.
     */
    static final int EVERY = 16;

    private Subnormals() {
    }

    /** Whether the flush is due after the step that made the network's iteration counter {@code iteration}. */
    static boolean due(int iteration) {
        return iteration % EVERY == 0;
    }

    /** Sets the subnormal values of {@code values} to zero of the same sign; returns how many there were. */
    static int flush(float[] values) {
        return flush(values, values.length);
    }

    /** As {@link #flush(float[])}, for a buffer's values from its position to its limit, through {@code scratch}. */
    static int flush(FloatBuffer values, float[] scratch) {
        FloatBuffer view = values.duplicate();
        int flushed = 0;
        while (view.hasRemaining()) {
            int at = view.position();
            int n = Math.min(scratch.length, view.remaining());
            view.get(scratch, 0, n);
            int here = flush(scratch, n);
            if (here > 0) {
                view.put(at, scratch, 0, n);
            }
            flushed += here;
        }
        return flushed;
    }

    private static int flush(float[] values, int n) {
        int flushed = 0;
        for (int i = 0; i < n; i++) {
            float v = values[i];
            if (v != 0 && Math.abs(v) < Float.MIN_NORMAL) {
                values[i] = Math.copySign(0f, v);
                flushed++;
            }
        }
        return flushed;
    }
}
