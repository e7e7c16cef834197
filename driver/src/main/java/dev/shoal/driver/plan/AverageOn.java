package dev.shoal.driver.plan;

/** Where parameter averaging merges the workers' rounds. */
public enum AverageOn {
    /**
     * The workers when Spark can run them all at once (the cores it has now, without dynamic allocation), as a
     * barrier stage needs; the driver otherwise.
     */
    AUTO,
    /** A Spark job a round: the model goes out as a broadcast, the workers' results come back to the driver. */
    DRIVER,
    /**
     * One Spark barrier stage for all the rounds up to the next checkpoint: the workers keep the model between
     * rounds and send each other their results, which every worker merges and averages as the driver would.
     */
    WORKERS
}
