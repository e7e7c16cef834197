package dev.shoal.driver.train;

import java.io.Serializable;

/**
 * A failure tests inject into gradient sharing: worker {@code rank} drops its connections before step
 * {@code step}, once per JVM (the retried stage then runs through). {@link #NONE} in every real run.
 */
record WorkerFault(int rank, int step) implements Serializable {
    static final WorkerFault NONE = new WorkerFault(-1, -1);

    boolean strikes(int workerRank, int workerStep) {
        return workerRank == rank && workerStep == step;
    }
}
