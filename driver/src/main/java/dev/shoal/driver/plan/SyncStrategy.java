package dev.shoal.driver.plan;

/** How workers' progress is merged into one model. */
public enum SyncStrategy {
    /** Each worker takes average-every local steps, then the driver averages parameters and updater state. */
    AVERAGING,
    /** Workers step together: every step they exchange gradients and apply the same average. */
    GRADIENT_SHARING,
    /** Federated averaging: each round a sample of clients trains local epochs on its own data; weighted mean. */
    FEDERATED
}
