package dev.shoal.driver.plan;

/** The held-out metric early stopping watches. */
public enum StopMetric {
    /** Share of held-out examples classified correctly; higher is better. */
    ACCURACY,
    /** Mean held-out loss; lower is better. */
    LOSS
}
