package dev.shoal.driver.train;

import dev.shoal.driver.plan.GradientEncoding;
import dev.shoal.driver.plan.SharingConfig;
import dev.shoal.kernel.sharing.GradientMessage;
import dev.shoal.kernel.sharing.PeerGroup;
import dev.shoal.kernel.sharing.ThresholdEncoder;
import java.util.Arrays;

/**
 * How a gradient-sharing worker turns its own gradient into the sum of every worker's, once per step: dense
 * (every value, summed by a ring all-reduce) or threshold-encoded (sparse messages with error feedback, all
 * gathered and added in rank order). Either way every worker ends with the same bits.
 */
sealed interface GradientExchange permits GradientExchange.Dense, GradientExchange.Threshold {

    /** The exchange {@code sharing} asks for, for {@code n} parameters, continuing {@code residual} if it fits. */
    static GradientExchange of(SharingConfig sharing, int n, float[] residual) {
        return sharing.encoding() == GradientEncoding.DENSE ? new Dense(n)
                : new Threshold(new ThresholdEncoder(residual.length == n ? residual : new float[n],
                sharing.fraction()));
    }

    /**
     * Sums {@code gradient}, over {@code rows} examples, with every peer's; the sum is in {@link #sum()} after.
     */
    Step exchange(float[] gradient, int rows, PeerGroup peers);

    /** The summed gradients of the last exchange. */
    float[] sum();

    /** What this worker has not sent yet, for the next stage; empty for dense. */
    float[] residual();

    /**
     * One exchange: the examples behind the sum, the entries this worker sent, its threshold (0 for dense), and
     * the time spent encoding and then exchanging (waiting for peers included).
     */
    record Step(int examples, int sent, float threshold, long encodeNanos, long exchangeNanos) {
    }

    /** Every value, and the example count in one more slot, summed around the ring. */
    final class Dense implements GradientExchange {
        private final float[] buffer;

        Dense(int n) {
            buffer = new float[n + 1];
        }

        @Override
        public Step exchange(float[] gradient, int rows, PeerGroup peers) {
            long t0 = System.nanoTime();
            int n = gradient.length;
            System.arraycopy(gradient, 0, buffer, 0, n);
            buffer[n] = rows;
            long t1 = System.nanoTime();
            peers.ringAllReduce(buffer);
            return new Step((int) buffer[n], n, 0, t1 - t0, System.nanoTime() - t1);
        }

        @Override
        public float[] sum() {
            return buffer;
        }

        @Override
        public float[] residual() {
            return new float[0];
        }
    }

    /** Entries above an adaptive threshold, the rest carried to the next step. */
    final class Threshold implements GradientExchange {
        private final ThresholdEncoder encoder;
        private float[] buffer = new float[0];

        Threshold(ThresholdEncoder encoder) {
            this.encoder = encoder;
        }

        @Override
        public Step exchange(float[] gradient, int rows, PeerGroup peers) {
            long t0 = System.nanoTime();
            GradientMessage mine = encoder.encode(gradient, rows);
            long t1 = System.nanoTime();
            GradientMessage[] all = peers.allGather(mine);
            if (buffer.length != gradient.length) {
                buffer = new float[gradient.length];
            }
            Arrays.fill(buffer, 0);
            int total = 0;
            for (GradientMessage m : all) {
                m.addTo(buffer);
                total += m.examples();
            }
            return new Step(total, mine.entries().length, mine.threshold(), t1 - t0, System.nanoTime() - t1);
        }

        @Override
        public float[] sum() {
            return buffer;
        }

        @Override
        public float[] residual() {
            return encoder.residual();
        }
    }
}
