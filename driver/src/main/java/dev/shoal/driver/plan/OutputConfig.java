package dev.shoal.driver.plan;

import dev.shoal.kernel.config.Key;

/** The {@code output} section. */
public record OutputConfig(
        @Key(doc = "Folder that holds run directories.", defaultValue = "runs", path = true) String dir,
        @Key(doc = "Name of this run's directory; empty for <name>-<timestamp>.", defaultValue = "''") String runId,
        @Key(doc = "Hadoop URI (hdfs://, s3a://, file://) of a folder that also receives the finished run's "
                + "model.zip (with vocabulary.txt or alphabet.json), plan.yaml, metrics.jsonl and provenance.json, "
                + "in <copy-to>/<run id>/ (and the TensorBoard files after every epoch); empty for none.",
                defaultValue = "''", path = true) String copyTo,
        @Key(doc = "Write TensorBoard event files into <run>/tensorboard/ (train/, test/, and the plan and "
                + "hyperparameters): 'tensorboard --logdir runs' shows every run.", defaultValue = "true")
        boolean tensorboard) {
}
