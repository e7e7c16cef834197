package dev.shoal.driver.train;

import dev.shoal.kernel.ModelSnapshot;
import java.util.List;
import java.util.Optional;

/**
 * Everything a run needs to go on exactly where it was: what a checkpoint holds. The data order is not stored:
 * every epoch's order is drawn from the plan's seed and the epoch number, so the position is enough.
 *
 * @param epoch     the epoch (or federated round) in progress, 0-based ({@code epochs} once training is done)
 * @param model     the model at that point
 * @param sync      the sync strategy's own state: averaging's position inside the epoch, gradient sharing's
 *                  residuals, federated averaging's server momentum
 * @param history   the metrics of the epochs done
 * @param best      early stopping: the model of the best epoch so far, when it is to be restored
 * @param bestEpoch the 1-based number of the best epoch so far; 0 before the first evaluation
 */
public record TrainingState(int epoch, ModelSnapshot model, SyncState sync, List<Metrics.Epoch> history,
                            Optional<ModelSnapshot> best, int bestEpoch) {

    public TrainingState {
        history = List.copyOf(history);
        if (epoch != history.size()) {
            throw new IllegalArgumentException("epoch " + epoch + " does not follow " + history.size()
                    + " finished epochs");
        }
    }

    /** The state before the first step: {@code model} freshly initialised, nothing trained. */
    public static TrainingState start(ModelSnapshot model, SyncState sync) {
        return new TrainingState(0, model, sync, List.of(), Optional.empty(), 0);
    }

    /** Averaging rounds of the epoch in progress already done: 0 at an epoch boundary. */
    public int round() {
        return sync.round();
    }
}
