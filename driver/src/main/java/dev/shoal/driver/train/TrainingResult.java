package dev.shoal.driver.train;

import dev.shoal.kernel.EvalResult;
import dev.shoal.kernel.ModelSnapshot;
import java.util.List;

/** The outcome of a run: the final model, its last evaluation, and each epoch's figures. */
public record TrainingResult(ModelSnapshot model, EvalResult lastEvaluation, List<Metrics.Epoch> epochs) {
}
