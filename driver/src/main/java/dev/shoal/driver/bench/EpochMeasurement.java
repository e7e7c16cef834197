package dev.shoal.driver.bench;

/**
 * One training epoch of one benchmarked system, measured the same way for all of them.
 *
 * @param epoch        1-based
 * @param examples     training examples processed in the epoch
 * @param trainSeconds wall time of the training part of the epoch (evaluation excluded)
 * @param testAccuracy accuracy on the test set after the epoch
 * @param rssMb        resident memory of the process that trained (in local mode: executors and driver)
 */
public record EpochMeasurement(int epoch, long examples, double trainSeconds, double testAccuracy, long rssMb) {
    public double examplesPerSecond() {
        return examples / trainSeconds;
    }
}
