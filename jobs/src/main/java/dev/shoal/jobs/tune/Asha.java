package dev.shoal.jobs.tune;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Asynchronous successive halving (Li et al., "A System for Massively Parallel Hyperparameter Tuning", 2020), as
 * a stopping rule: rungs sit at epochs {@code minEpochs * reduction^k}. A trial reaching a rung records its score
 * there (higher is better) and goes on only if it is among the best {@code 1/reduction} of all scores recorded at
 * that rung so far, itself included; the first trials at a rung always go on, since there is no one yet to
 * compare with. Trials need not wait for each other: each is judged against those that reached the rung before.
 */
public final class Asha {
    private final int minEpochs;
    private final int reduction;
    private final Map<Integer, List<Double>> rungs = new HashMap<>();

    public Asha(int minEpochs, int reduction) {
        this.minEpochs = minEpochs;
        this.reduction = reduction;
    }

    /** Whether epoch {@code epoch} (1-based) is a rung. */
    public boolean isRung(int epoch) {
        long rung = minEpochs;
        while (rung < epoch) {
            rung *= reduction;
        }
        return rung == epoch;
    }

    /** Records a trial's {@code score} after {@code epoch}, and says whether it goes on. */
    public synchronized Decision reached(int epoch, double score) {
        if (!isRung(epoch)) {
            return new Decision(true, Double.NaN);
        }
        List<Double> scores = rungs.computeIfAbsent(epoch, e -> new ArrayList<>());
        scores.add(score);
        List<Double> sorted = new ArrayList<>(scores);
        sorted.sort(java.util.Comparator.reverseOrder());
        double cut = sorted.get(Math.max(0, sorted.size() / reduction - 1));
        return new Decision(score >= cut, cut);
    }

    /** Whether the trial goes on, and the score it had to reach at this rung (NaN off the rungs). */
    public record Decision(boolean goOn, double cut) {
    }
}
