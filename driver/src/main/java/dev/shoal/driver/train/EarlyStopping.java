package dev.shoal.driver.train;

import dev.shoal.driver.plan.EarlyStoppingConfig;
import dev.shoal.driver.plan.StopMetric;
import dev.shoal.kernel.ModelSnapshot;
import java.util.Optional;

/**
 * Watches the held-out metric epoch by epoch: which epoch was best, its model (when it is to be restored), and
 * whether the patience has run out. Its state travels in {@link TrainingState}, so a resumed run stops where
 * the uninterrupted one would.
 */
final class EarlyStopping {
    private final EarlyStoppingConfig config;
    private Optional<ModelSnapshot> best;
    private int bestEpoch;
    private double bestScore;

    EarlyStopping(EarlyStoppingConfig config, TrainingState start) {
        this.config = config;
        this.best = start.best();
        this.bestEpoch = start.bestEpoch();
        this.bestScore = bestEpoch > 0 ? score(start.history().get(bestEpoch - 1)) : Double.NaN;
    }

    /** Takes an epoch's evaluation and the model it evaluated. */
    void record(Metrics.Epoch epoch, ModelSnapshot model) {
        double score = score(epoch);
        if (bestEpoch == 0 || score > bestScore + config.minDelta()) {
            bestScore = score;
            bestEpoch = epoch.epoch();
            best = config.enabled() && config.restoreBest() ? Optional.of(model) : Optional.empty();
        }
    }

    /** True when early stopping is on and {@code epochsDone} have gone {@code patience} epochs past the best. */
    boolean patienceExhausted(int epochsDone) {
        return config.enabled() && bestEpoch > 0 && epochsDone - bestEpoch >= config.patience();
    }

    /** The best epoch's model when it is to be restored. */
    Optional<ModelSnapshot> best() {
        return best;
    }

    /** The 1-based best epoch so far; 0 before the first. */
    int bestEpoch() {
        return bestEpoch;
    }

    /** Higher is better; NaN (a non-finite loss) never is. */
    private double score(Metrics.Epoch epoch) {
        return config.metric() == StopMetric.ACCURACY ? epoch.testAccuracy() : -epoch.testLoss();
    }
}
