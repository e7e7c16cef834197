package dev.shoal.driver.plan;

import dev.shoal.kernel.config.Checks;
import dev.shoal.kernel.config.Key;

/** The {@code checkpoint} section: where and how often the driver saves the state a run can resume from. */
public record CheckpointConfig(
        @Key(doc = "Folder or Hadoop URI (hdfs://, s3a://) that holds checkpoints, one sub-folder per run id; "
                + "empty for <run directory>/checkpoints.", defaultValue = "''", path = true) String dir,
        @Key(doc = "Averaging: also checkpoint every N rounds inside an epoch; 0 for epoch ends only. Gradient "
                + "sharing checkpoints at epoch ends.", defaultValue = "0") int everyRounds,
        @Key(doc = "Checkpoints kept; older ones are deleted once a newer one is written.", defaultValue = "3")
        int keep) {
    /** The defaults: the last 3 epoch-end checkpoints in the run directory. */
    public static final CheckpointConfig DEFAULTS = new CheckpointConfig("", 0, 3);

    public CheckpointConfig {
        Checks.atLeast("every-rounds", everyRounds, 0);
        Checks.atLeast("keep", keep, 1);
    }
}
