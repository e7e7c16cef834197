package dev.shoal.driver.plan;

import dev.shoal.kernel.config.Checks;
import dev.shoal.kernel.config.Key;

/**
 * The {@code training.early-stopping} section. The metric is measured after every epoch on the held-out set
 * (the data's test files).
 */
public record EarlyStoppingConfig(
        @Key(doc = "Stop after this many epochs without improvement; 0 turns early stopping off.",
                defaultValue = "0") int patience,
        @Key(doc = "What must improve: accuracy (higher is better) or loss (lower is better), on the held-out set.",
                defaultValue = "accuracy") StopMetric metric,
        @Key(doc = "Smallest change that counts as an improvement.", defaultValue = "0") double minDelta,
        @Key(doc = "Save the best epoch's model instead of the last one.", defaultValue = "true")
        boolean restoreBest) {
    /** Early stopping off: the defaults. */
    public static final EarlyStoppingConfig OFF = new EarlyStoppingConfig(0, StopMetric.ACCURACY, 0, true);

    public EarlyStoppingConfig {
        Checks.atLeast("patience", patience, 0);
        Checks.nonNegative("min-delta", minDelta);
    }

    public boolean enabled() {
        return patience > 0;
    }
}
