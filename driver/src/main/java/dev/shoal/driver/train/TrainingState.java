package dev.shoal.driver.train;

import dev.shoal.kernel.ModelSnapshot;
import java.util.List;

/**
 * Everything a run needs to go on exactly where it was: what a checkpoint holds. The data order is not stored:
 * every epoch's order is drawn from the plan's seed and the epoch number, so the position is enough.
 *
 * @param epoch         the epoch in progress, 0-based ({@code epochs} once training is done)
 * @param round         averaging rounds of that epoch already done (0 at an epoch boundary)
 * @param model         the model after those rounds
 * @param epochExamples examples trained so far in this epoch (for its metrics)
 * @param epochLossSum  their summed training loss
 * @param residuals     gradient sharing: each rank's encoder residual, by rank; null otherwise
 * @param history       the metrics of the epochs done
 * @param best          early stopping: the model of the best epoch so far; null when not kept
 * @param bestEpoch     the 1-based number of that epoch; 0 before the first evaluation
 */
public record TrainingState(int epoch, int round, ModelSnapshot model, long epochExamples, double epochLossSum,
                            float[][] residuals, List<Metrics.Epoch> history, ModelSnapshot best, int bestEpoch) {

    public TrainingState {
        history = List.copyOf(history);
        if (epoch != history.size()) {
            throw new IllegalArgumentException("epoch " + epoch + " does not follow " + history.size()
                    + " finished epochs");
        }
    }

    /** The state before the first step: {@code model} freshly initialised, nothing trained. */
    public static TrainingState start(ModelSnapshot model) {
        return new TrainingState(0, 0, model, 0, 0, null, List.of(), null, 0);
    }
}
