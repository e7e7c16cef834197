package dev.shoal.driver.train;

import dev.shoal.kernel.MemoryUse;

/**
 * What a run reports as it goes: the loaded data, then one record per averaging round, per gradient-sharing step
 * and stage, and per epoch.
 */
public sealed interface Metrics permits Metrics.Data, Metrics.Round, Metrics.Step, Metrics.Stage, Metrics.Epoch {

    /** The loaded data: examples, and records left out as bad ({@code data.skip-bad-records}). */
    record Data(long trainExamples, long trainSkipped, long testExamples, long testSkipped) implements Metrics {
    }

    /**
     * One averaging round. Times in milliseconds: {@code broadcastMs} encoding and broadcasting the snapshot,
     * {@code computeMs} the slowest worker's training steps, {@code aggregateMs} averaging on the driver, and
     * {@code idleMs} the rest of the round (scheduling, task start, snapshot decode, result transfer and merge).
     */
    record Round(int epoch, int round, int rounds, int workers, long examples, double loss,
                 double broadcastMs, double computeMs, double aggregateMs, double idleMs, double totalMs)
            implements Metrics {
    }

    /**
     * One gradient-sharing step (1-based within its epoch), over all workers: times in milliseconds, each the
     * longest of any worker's (parts as in {@link Stage}); {@code bytesSent} by all workers together;
     * {@code sentFraction} of all workers' gradient entries; {@code threshold} the workers' mean (0 for dense);
     * {@code loss} the mean over the step's {@code examples}.
     */
    record Step(int epoch, int step, long examples, double loss, double computeMs, double encodeMs,
                double exchangeMs, double applyMs, long bytesSent, double sentFraction, double threshold)
            implements Metrics {
    }

    /**
     * One gradient-sharing stage (an epoch's steps, taken together by all workers). Times in milliseconds, all of
     * the worker that computed longest (the one the others wait for): {@code computeMs} forward/backward,
     * {@code encodeMs} encoding, {@code exchangeMs} sending and receiving (waiting for peers included),
     * {@code applyMs} decoding, averaging and the updater.
     * {@code sentFraction} is the share of gradient entries sent (1 for dense), {@code threshold} the mean
     * threshold (0 for dense), {@code bytesPerStep} what one worker sent per step on average.
     */
    record Stage(int epoch, int attempt, int steps, int workers, long examples, double loss, double computeMs,
                 double encodeMs, double exchangeMs, double applyMs, double totalMs, long bytesSent,
                 double bytesPerStep, double sentFraction, double threshold) implements Metrics {
    }

    /**
     * One epoch, ending with the evaluation on the test set. {@code executorMemory} is the peak any executor
     * reported after its rounds; {@code driverMemory} is the driver's at the end of the epoch (in local mode the
     * two are one JVM).
     */
    record Epoch(int epoch, int epochs, long examples, double trainLoss, double testLoss, double testAccuracy,
                 double trainSeconds, double evalSeconds, double examplesPerSecond, double etaSeconds,
                 MemoryUse executorMemory, MemoryUse driverMemory)
            implements Metrics {
    }
}
