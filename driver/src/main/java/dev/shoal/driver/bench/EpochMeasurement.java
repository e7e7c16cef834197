package dev.shoal.driver.bench;

/**
 * One training epoch of one benchmarked system, measured the same way for all of them.
 *
 * @param epoch           1-based
 * @param examples        training examples processed in the epoch
 * @param trainSeconds    wall time of the training part of the epoch (evaluation excluded)
 * @param testAccuracy    accuracy on the test set after the epoch
 * @param rssMb           resident memory of the process that trained (in local mode: executors and driver)
 * @param steps           optimizer steps one worker took in the epoch
 * @param evalSeconds     wall time of the test-set evaluation after the epoch
 * @param computeSeconds  of {@code trainSeconds}, the time the workers computed (forward, backward, update; for
 *                        the slowest worker where they differ); null where the system does not tell it apart
 * @param exchangeSeconds of {@code trainSeconds}, the time spent sending and merging models or gradients between
 *                        workers; null where the system does not tell it apart
 */
public record EpochMeasurement(int epoch, long examples, double trainSeconds, double testAccuracy, long rssMb,
                               int steps, double evalSeconds, Double computeSeconds, Double exchangeSeconds) {
    public double examplesPerSecond() {
        return examples / trainSeconds;
    }
}
