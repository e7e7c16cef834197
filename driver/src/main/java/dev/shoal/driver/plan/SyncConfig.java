package dev.shoal.driver.plan;

import dev.shoal.kernel.config.Checks;
import dev.shoal.kernel.config.Key;

/** The {@code sync} section: workers and how they are merged. */
public record SyncConfig(
        @Key(doc = "Sync strategy: averaging, gradient-sharing or federated.", defaultValue = "averaging")
        SyncStrategy strategy,
        @Key(doc = "Number of workers (data partitions trained in parallel).", defaultValue = "2") int workers,
        @Key(doc = "Averaging: local minibatch steps per worker between two averagings (one round).",
                defaultValue = "20") int averageEvery,
        @Key(doc = "ND4J threads per worker; workers x threads should not exceed the cores.",
                defaultValue = "1") int threadsPerWorker,
        @Key(doc = "Gradient sharing settings.", defaultValue = "{}") SharingConfig sharing,
        @Key(doc = "Federated averaging settings.", defaultValue = "{}") FederatedConfig federated,
        @Key(doc = "Averaging: where rounds are merged: workers (one barrier stage for the whole run, which the "
                + "driver asks for each epoch's or checkpoint interval's rounds; the workers exchange their results "
                + "with each other and average them as the driver does, to the same bits), driver (a Spark job a "
                + "round), or auto: workers when Spark has a core for every worker and no dynamic allocation, else "
                + "driver.", defaultValue = "auto")
        AverageOn averageOn) {

    public SyncConfig {
        Checks.atLeast("workers", workers, 1);
        Checks.atLeast("average-every", averageEvery, 1);
        Checks.atLeast("threads-per-worker", threadsPerWorker, 1);
    }

    /** Sync settings without federated ones (the defaults), as plans before federated averaging had them. */
    public SyncConfig(SyncStrategy strategy, int workers, int averageEvery, int threadsPerWorker,
                      SharingConfig sharing) {
        this(strategy, workers, averageEvery, threadsPerWorker, sharing, FederatedConfig.DEFAULT);
    }

    /** Sync settings that leave where to average to Shoal ({@code average-on: auto}). */
    public SyncConfig(SyncStrategy strategy, int workers, int averageEvery, int threadsPerWorker,
                      SharingConfig sharing, FederatedConfig federated) {
        this(strategy, workers, averageEvery, threadsPerWorker, sharing, federated, AverageOn.AUTO);
    }
}
