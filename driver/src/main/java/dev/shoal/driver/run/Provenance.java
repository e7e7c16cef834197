package dev.shoal.driver.run;

import java.util.List;
import java.util.Map;

/**
 * {@code provenance.json}: what produced a model, so a person or a scheduled retraining can tell two models
 * apart. Written last: its presence with status {@code completed} is what marks a run as finished.
 * {@code resumed} says the run was continued from a checkpoint; {@code seconds} then covers the last part only.
 * {@code speedUps} names Shoal's speed-ups of DL4J that were engaged ({@code kernel} keys switch them off).
 */
public record Provenance(String runId, String status, String startedAt, String finishedAt, String host,
                         String master, Map<String, String> versions, List<DataFile> data, boolean resumed,
                         Seconds seconds, Result result, List<String> speedUps) {

    /** One input file and its fingerprint. */
    public record DataFile(String key, String path, long bytes, String sha256) {
    }

    /** Wall time of loading the data, of training (evaluations included), and of the whole run. */
    public record Seconds(double load, double train, double total) {
    }

    /**
     * What the run achieved with the model it saved: its epoch's test figures, how many epochs (rounds) ran,
     * records left out as bad, and the mean examples/s after the first epoch.
     */
    public record Result(double testAccuracy, double testLoss, int modelEpoch, int epochsTrained,
                         boolean stoppedEarly, Skipped skippedRecords, double steadyExamplesPerSecond) {
    }

    /** Records of the training and test sources left out as bad ({@code data.skip-bad-records}). */
    public record Skipped(long train, long test) {
    }
}
