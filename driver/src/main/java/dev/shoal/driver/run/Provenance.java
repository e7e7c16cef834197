package dev.shoal.driver.run;

import java.util.List;
import java.util.Map;

/**
 * {@code provenance.json}: what produced a model, so a person or a scheduled retraining can tell two models
 * apart. Written last: its presence with status {@code completed} is what marks a run as finished.
 * {@code resumed} says the run was continued from a checkpoint; {@code seconds} then covers the last part only.
 */
public record Provenance(String runId, String status, String startedAt, String finishedAt, String host,
                         String master, Map<String, String> versions, List<DataFile> data, boolean resumed,
                         Map<String, Double> seconds, Map<String, Object> result) {

    /** One input file and its fingerprint. */
    public record DataFile(String key, String path, long bytes, String sha256) {
    }
}
