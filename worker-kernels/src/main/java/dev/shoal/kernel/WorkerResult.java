package dev.shoal.kernel;

import java.io.Serial;
import java.io.Serializable;

/**
 * What workers send back after a round, summed: parameters and updater state as sums (so the driver divides
 * once by their {@link #weight}), and totals for examples, steps, loss and compute time. Immutable; {@link #merge} is
 * associative and commutative and {@link #empty()} is its identity, so Spark may combine results in any tree.
 * Sums are kept in doubles so that the order Spark merges in does not change the averaged floats.
 *
 * <p>On the wire it travels as {@link WorkerResultCodec}'s bytes: a single unweighted worker's sums are its own
 * float values, so they go as floats (half the bytes of the doubles, exactly); merged results as doubles.
 *
 * @param paramSum        sum over workers of their parameter vectors, each times its weight (empty when no
 *                        worker contributed)
 * @param updaterSum      the same for their updater-state vectors
 * @param workers         number of workers that ran at least one step
 * @param weight          the workers' summed weights: 1 each, unless {@link #weighted} gave one another weight
 * @param examples        examples trained on
 * @param maxSteps        the most steps any worker took, which advances the iteration counter
 * @param lossSum         sum over examples of the minibatch loss
 * @param computeNanos    summed compute time of the workers
 * @param maxComputeNanos compute time of the slowest worker: the round cannot end before it
 * @param memory          the largest memory use any worker's JVM reported at the end of its steps
 */
public record WorkerResult(double[] paramSum, double[] updaterSum, int workers, double weight, long examples,
                           int maxSteps,
                           double lossSum, long computeNanos, long maxComputeNanos, MemoryUse memory)
        implements Serializable {

    private static final long MANTISSA = (1L << 52) - 1;
    private static final WorkerResult EMPTY = new WorkerResult(new double[0], new double[0], 0, 0, 0, 0, 0, 0, 0,
            MemoryUse.none());

    public static WorkerResult empty() {
        return EMPTY;
    }

    /** One worker's result. */
    public static WorkerResult of(float[] params, float[] updaterState, long examples, int steps, double lossSum,
                                  long computeNanos, MemoryUse memory) {
        return new WorkerResult(widen(params), widen(updaterState), 1, 1, examples, steps, lossSum,
                computeNanos, computeNanos, memory);
    }

    /**
     * This one worker's result counted {@code w} times in {@link #average} (federated averaging weighs a client
     * by its examples). The weighted sums are exact: a float times an integer below 2^29 fits a double.
     */
    public WorkerResult weighted(double w) {
        if (workers != 1 || weight != 1) {
            throw new IllegalStateException("only a single worker's result can be weighted");
        }
        return new WorkerResult(scale(paramSum, w), scale(updaterSum, w), 1, w, examples, maxSteps, lossSum,
                computeNanos, maxComputeNanos, memory);
    }

    public WorkerResult merge(WorkerResult other) {
        if (other.workers == 0) {
            return this;
        }
        if (workers == 0) {
            return other;
        }
        return new WorkerResult(add(paramSum, other.paramSum), add(updaterSum, other.updaterSum),
                workers + other.workers, weight + other.weight, examples + other.examples,
                Math.max(maxSteps, other.maxSteps),
                lossSum + other.lossSum, computeNanos + other.computeNanos,
                Math.max(maxComputeNanos, other.maxComputeNanos), memory.max(other.memory));
    }

    /** These figures without the parameters and updater state: what a round's report needs. */
    public WorkerResult withoutModel() {
        return new WorkerResult(new double[0], new double[0], workers, weight, examples, maxSteps, lossSum,
                computeNanos, maxComputeNanos, memory);
    }

    /** The average model: the (weighted) mean of the workers' parameters and updater states, as a snapshot. */
    public ModelSnapshot average(int iteration, int epoch) {
        if (workers == 0) {
            throw new IllegalStateException("no worker contributed to this round");
        }
        return new ModelSnapshot(mean(paramSum), mean(updaterSum), iteration, epoch);
    }

    public double meanLoss() {
        return examples == 0 ? Double.NaN : lossSum / examples;
    }

    /** On the wire (Java serialization, as Spark sends task results): the bytes of {@link WorkerResultCodec}. */
    @Serial
    private Object writeReplace() {
        return new Encoded(WorkerResultCodec.encode(this));
    }

    /** The serialized form: Shoal's versioned, checksummed codec, not Java's field-by-field one. */
    private record Encoded(byte[] bytes) implements Serializable {
        @Serial
        private Object readResolve() {
            return WorkerResultCodec.decode(bytes);
        }
    }

    private float[] mean(double[] sum) {
        float[] out = new float[sum.length];
        mean(sum, sum.length, weight, out, 0);
        return out;
    }

    /**
     * {@code out[at + i] = (float) (sums[i] / weight)} for the first {@code n} sums. Dividing by a power of two
     * (the weight of 1, 2, 4... workers) is multiplying by its reciprocal, to the bit: both round the same real
     * number once. The multiplication vectorises; the division took a third of an averaging stage's average.
     */
    static void mean(double[] sums, int n, double weight, float[] out, int at) {
        boolean powerOfTwo = weight >= 1 && (Double.doubleToRawLongBits(weight) & MANTISSA) == 0;
        if (powerOfTwo) {
            double reciprocal = 1 / weight;
            for (int i = 0; i < n; i++) {
                out[at + i] = (float) (sums[i] * reciprocal);
            }
        } else {
            for (int i = 0; i < n; i++) {
                out[at + i] = (float) (sums[i] / weight);
            }
        }
    }

    private static double[] add(double[] a, double[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("cannot merge results of different models: " + a.length
                    + " vs " + b.length + " values");
        }
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i] + b[i];
        }
        return out;
    }

    private static double[] scale(double[] v, double w) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i] * w;
        }
        return out;
    }

    private static double[] widen(float[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }
}
