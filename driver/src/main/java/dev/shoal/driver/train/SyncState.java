package dev.shoal.driver.train;

import java.util.List;

/**
 * What a sync strategy carries from one epoch (or round) to the next, beyond the model: each strategy's own
 * state, kept in {@link TrainingState} and so in checkpoints.
 */
public sealed interface SyncState permits SyncState.Averaging, SyncState.Sharing, SyncState.Federated {

    /** Examples the epoch in progress has already trained (a checkpoint taken between two of its rounds). */
    default long epochExamples() {
        return 0;
    }

    /** Averaging rounds of the epoch in progress already done: 0 at an epoch boundary. */
    default int round() {
        return 0;
    }

    /**
     * Parameter averaging's position inside an epoch.
     *
     * @param round         rounds of the epoch in progress already done (0 at an epoch boundary)
     * @param epochExamples examples those rounds trained (for the epoch's metrics)
     * @param epochLossSum  their summed training loss
     */
    record Averaging(int round, long epochExamples, double epochLossSum) implements SyncState {
        public static final Averaging EPOCH_START = new Averaging(0, 0, 0);
    }

    /**
     * Gradient sharing's error feedback: by rank, what each worker's threshold encoder has not sent yet. Empty
     * before the first stage; an empty array for a worker without one (dense encoding).
     */
    record Sharing(List<float[]> residuals) implements SyncState {
        public static final Sharing NONE = new Sharing(List.of());

        public Sharing {
            residuals = List.copyOf(residuals);
        }
    }

    /**
     * Federated averaging's server optimizer: the momentum buffer of FedAvgM, empty without server momentum or
     * before the first round.
     */
    record Federated(float[] velocity) implements SyncState {
        public static final Federated NONE = new Federated(new float[0]);
    }
}
