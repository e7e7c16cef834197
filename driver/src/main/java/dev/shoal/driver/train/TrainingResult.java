package dev.shoal.driver.train;

import dev.shoal.kernel.EvalResult;
import dev.shoal.kernel.ModelSnapshot;
import java.util.List;

/**
 * The outcome of a run: the model to save, the last evaluation, and each epoch's figures.
 *
 * @param modelEpoch   the epoch whose model {@code model} is: the last one, or the best one when early
 *                     stopping restores it
 * @param stoppedEarly early stopping ended the run before the plan's last epoch
 */
public record TrainingResult(ModelSnapshot model, EvalResult lastEvaluation, List<Metrics.Epoch> epochs,
                             int modelEpoch, boolean stoppedEarly) {
}
