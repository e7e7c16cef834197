package dev.shoal.kernel;

import java.io.Serializable;

/**
 * Evaluation counts from one or more workers: a confusion matrix (row = true class, column = predicted; empty
 * when predictions have no classes, as an autoencoder's) and the loss summed over examples. {@link #merge} is
 * associative and commutative with {@link #empty()} as identity.
 */
public record EvalResult(long[] confusion, int numClasses, double lossSum, long examples) implements Serializable {

    public static EvalResult empty() {
        return new EvalResult(new long[0], 0, 0, 0);
    }

    public EvalResult merge(EvalResult other) {
        if (other.examples == 0) {
            return this;
        }
        if (examples == 0) {
            return other;
        }
        long[] sum = confusion.clone();
        for (int i = 0; i < sum.length; i++) {
            sum[i] += other.confusion[i];
        }
        return new EvalResult(sum, numClasses, lossSum + other.lossSum, examples + other.examples);
    }

    public long count(int trueClass, int predicted) {
        return confusion[trueClass * numClasses + predicted];
    }

    /** The share of predictions that are right; NaN without predictions. */
    public double accuracy() {
        long correct = 0;
        long all = 0;
        for (int c = 0; c < numClasses; c++) {
            correct += count(c, c);
        }
        for (long n : confusion) {
            all += n;
        }
        return all == 0 ? Double.NaN : (double) correct / all;
    }

    public double meanLoss() {
        return examples == 0 ? Double.NaN : lossSum / examples;
    }
}
