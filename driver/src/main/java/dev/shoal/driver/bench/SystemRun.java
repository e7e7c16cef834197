package dev.shoal.driver.bench;

import java.util.List;

/**
 * What one run of one system measured.
 *
 * @param epochs                one measurement per epoch
 * @param bytesPerStepPerWorker model bytes each worker sends and receives per training step, averaged over a
 *                              round; 0 for a single process, -1 where unknown
 */
public record SystemRun(List<EpochMeasurement> epochs, long bytesPerStepPerWorker) {
}
