package dev.shoal.jobs.tune;

import dev.shoal.driver.plan.StopMetric;
import dev.shoal.kernel.config.Checks;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.Key;

/** A search file's keys, except {@code space} ({@link SearchSpace}). */
public record SearchConfig(
        @Key(doc = "The job file whose training runs are the trials; relative to the search file's folder.",
                path = true) String job,
        @Key(doc = "Trials to run; 0 with only grid keys: every combination once.", defaultValue = "20") int trials,
        @Key(doc = "Trials that train at the same time, each as its own Spark jobs in a FAIR scheduler pool.",
                defaultValue = "1") int parallel,
        @Key(doc = "What judges a trial: accuracy or loss on the job's test set, measured after every epoch.",
                defaultValue = "accuracy") StopMetric metric,
        @Key(doc = "max, min, or auto: max for accuracy, min for loss.", defaultValue = "auto") Mode mode,
        @Key(doc = "Seed of the sampler: the same seed proposes the same trials.", defaultValue = "1") long seed,
        @Key(doc = "random, or tpe (Tree-structured Parzen Estimator: random at first, then model-based).",
                defaultValue = "tpe") SamplerKind sampler,
        @Key(doc = "TPE: trials proposed at random before the model-based ones.", defaultValue = "5")
        int startupTrials,
        @Key(doc = "Minutes after which no new trial starts (running ones finish); 0 for no limit.",
                defaultValue = "0") double budgetMinutes,
        @Key(doc = "Asynchronous successive halving.", defaultValue = "{}") PruningConfig pruning,
        @Key(doc = "Folder that holds search directories.", defaultValue = "runs", path = true) String dir) {

    public SearchConfig {
        Checks.atLeast("trials", trials, 0);
        Checks.atLeast("parallel", parallel, 1);
        Checks.atLeast("startup-trials", startupTrials, 0);
        Checks.nonNegative("budget-minutes", budgetMinutes);
    }

    /** Whether a larger metric is better. */
    public boolean maximize() {
        return mode == Mode.AUTO ? metric == StopMetric.ACCURACY : mode == Mode.MAX;
    }

    public enum Mode { AUTO, MAX, MIN }

    public enum SamplerKind { RANDOM, TPE }

    /** The {@code pruning} section. */
    public record PruningConfig(
            @Key(doc = "Stop trials behind their rung.", defaultValue = "true") boolean enabled,
            @Key(doc = "Epochs of the first rung; later rungs at min-epochs * reduction^k.", defaultValue = "1")
            int minEpochs,
            @Key(doc = "Each rung keeps the best 1/reduction of the trials that reached it, >= 2.",
                    defaultValue = "3") int reduction) {
        public PruningConfig {
            Checks.atLeast("min-epochs", minEpochs, 1);
            if (reduction < 2) {
                throw new ConfigException("reduction", reduction, "must be an integer >= 2");
            }
        }
    }
}
