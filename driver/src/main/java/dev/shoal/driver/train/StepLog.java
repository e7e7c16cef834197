package dev.shoal.driver.train;

import java.io.Serializable;
import java.util.stream.IntStream;
import java.util.stream.LongStream;

/**
 * What one gradient-sharing worker measured at each step of a stage, kept in flat arrays (a stage may have
 * thousands of steps) and sent to the driver with the stage's result.
 */
final class StepLog implements Serializable {
    private final long[] computeNanos;
    private final long[] encodeNanos;
    private final long[] exchangeNanos;
    private final long[] applyNanos;
    private final long[] bytesSent;
    private final int[] entriesSent;
    private final float[] thresholds;
    private final float[] losses;
    private final int[] examples;

    StepLog(int steps) {
        computeNanos = new long[steps];
        encodeNanos = new long[steps];
        exchangeNanos = new long[steps];
        applyNanos = new long[steps];
        bytesSent = new long[steps];
        entriesSent = new int[steps];
        thresholds = new float[steps];
        losses = new float[steps];
        examples = new int[steps];
    }

    void record(int step, long compute, long encode, long exchange, long apply, long bytes, int entries,
                float threshold, double loss, int rows) {
        computeNanos[step] = compute;
        encodeNanos[step] = encode;
        exchangeNanos[step] = exchange;
        applyNanos[step] = apply;
        bytesSent[step] = bytes;
        entriesSent[step] = entries;
        thresholds[step] = threshold;
        losses[step] = (float) loss;
        examples[step] = rows;
    }

    int steps() {
        return computeNanos.length;
    }

    long computeNanos() {
        return LongStream.of(computeNanos).sum();
    }

    long encodeNanos() {
        return LongStream.of(encodeNanos).sum();
    }

    long exchangeNanos() {
        return LongStream.of(exchangeNanos).sum();
    }

    long applyNanos() {
        return LongStream.of(applyNanos).sum();
    }

    long bytesSent() {
        return LongStream.of(bytesSent).sum();
    }

    long entriesSent() {
        return IntStream.of(entriesSent).asLongStream().sum();
    }

    double thresholdSum() {
        double sum = 0;
        for (float t : thresholds) {
            sum += t;
        }
        return sum;
    }

    /**
     * The metrics of {@code step} over all workers' logs: the slowest worker's times, the bytes and entries of all,
     * the mean threshold, and the loss averaged over the step's examples.
     */
    static Metrics.Step merge(int epoch, int step, int params, StepLog[] logs) {
        long compute = 0;
        long encode = 0;
        long exchange = 0;
        long apply = 0;
        long bytes = 0;
        long entries = 0;
        double threshold = 0;
        double lossSum = 0;
        long rows = 0;
        for (StepLog log : logs) {
            compute = Math.max(compute, log.computeNanos[step]);
            encode = Math.max(encode, log.encodeNanos[step]);
            exchange = Math.max(exchange, log.exchangeNanos[step]);
            apply = Math.max(apply, log.applyNanos[step]);
            bytes += log.bytesSent[step];
            entries += log.entriesSent[step];
            threshold += log.thresholds[step];
            lossSum += (double) log.losses[step] * log.examples[step];
            rows += log.examples[step];
        }
        return new Metrics.Step(epoch, step + 1, rows, rows == 0 ? 0 : lossSum / rows, compute / 1e6, encode / 1e6,
                exchange / 1e6, apply / 1e6, bytes, (double) entries / ((long) params * logs.length),
                threshold / logs.length);
    }
}
