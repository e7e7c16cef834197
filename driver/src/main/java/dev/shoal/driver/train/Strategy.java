package dev.shoal.driver.train;

import dev.shoal.kernel.EvalResult;
import dev.shoal.kernel.MemoryUse;
import dev.shoal.kernel.ModelSnapshot;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * How workers' progress becomes one model, epoch by epoch: each strategy owns its loop inside an epoch (or, for
 * federated averaging, a round) and its own {@link SyncState}. The {@link Trainer} around it evaluates, stops
 * early and checkpoints, the same for all three.
 */
sealed interface Strategy permits Averaging, GradientSharing, FederatedAveraging {

    /** The state a fresh run starts from. */
    SyncState start();

    /** Epochs (federated averaging: rounds) the run trains, each followed by an evaluation. */
    int epochs();

    /** Examples one epoch (round) trains, about: what the ETA counts in. */
    default long examplesPerEpoch(TrainingData train) {
        return train.examples();
    }

    /**
     * Trains epoch {@code epoch} (0-based) from {@code model} and {@code state}, which a checkpoint may have
     * taken in the middle of the epoch. States inside the epoch that are worth a checkpoint go to
     * {@code midEpoch}. A strategy may evaluate the epoch's model on {@code test} itself, where the epoch's work
     * ends ({@link EpochWork#evaluation}); the {@link Trainer} evaluates it otherwise.
     */
    EpochWork epoch(TrainingData train, TrainingData test, ModelSnapshot model, int epoch, SyncState state,
                    Consumer<EpochWork> midEpoch);

    /** Lets go of what the strategy keeps between epochs (cached data); the strategy is not used again. */
    default void close() {
    }

    /**
     * What training did in one epoch so far, whatever the strategy: the model, the epoch's examples and summed
     * loss (a resumed epoch's earlier rounds included), the executors' peak memory, and the strategy's state.
     */
    record EpochWork(ModelSnapshot model, long examples, double lossSum, MemoryUse executorMemory,
                     SyncState state, Optional<Evaluation> evaluation) {

        /** Work whose model the {@link Trainer} evaluates. */
        EpochWork(ModelSnapshot model, long examples, double lossSum, MemoryUse executorMemory, SyncState state) {
            this(model, examples, lossSum, executorMemory, state, Optional.empty());
        }
    }

    /** The epoch's model evaluated on the test set by the strategy, and the seconds that took (the slowest worker). */
    record Evaluation(EvalResult result, double seconds) {
    }
}
