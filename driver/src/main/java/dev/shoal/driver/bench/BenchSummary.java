package dev.shoal.driver.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * One system's figures over all its runs in a bench.
 *
 * @param system                the system
 * @param status                ok, skipped or failed
 * @param reason                why it was skipped or failed; empty when ok
 * @param runs                  completed runs
 * @param steadyExamplesPerSec  median examples/s over every epoch after the first, of every run
 * @param minExamplesPerSec     slowest such epoch
 * @param maxExamplesPerSec     fastest such epoch
 * @param secondsToTarget       median training seconds until test accuracy first reached the target; NaN if a
 *                              run never did
 * @param finalAccuracy         median test accuracy after the last epoch
 * @param peakRssMb             largest resident memory seen
 * @param rssDriftPercent       change of resident memory from epoch 2 to the last epoch, median over runs
 * @param bytesPerStepPerWorker see {@link SystemRun}
 * @param stepTimes             where a step's time went
 */
public record BenchSummary(String system, String status, String reason, int runs, double steadyExamplesPerSec,
                           double minExamplesPerSec, double maxExamplesPerSec, double secondsToTarget,
                           double finalAccuracy, long peakRssMb, double rssDriftPercent,
                           long bytesPerStepPerWorker, StepTimes stepTimes) {

    /**
     * Where a step's time went, over every epoch after the first of every run (totals divided by the steps, so
     * the parts add up): milliseconds of training per step, of which computing and exchanging (NaN where the
     * system does not tell them apart; the rest is launching work and waiting), and seconds of evaluation per
     * epoch.
     */
    public record StepTimes(double trainMs, double computeMs, double exchangeMs, double evalSeconds) {
        static StepTimes of(List<EpochMeasurement> epochs) {
            double train = 0;
            double compute = 0;
            double exchange = 0;
            double eval = 0;
            long steps = 0;
            for (EpochMeasurement e : epochs) {
                train += e.trainSeconds();
                compute += e.computeSeconds() == null ? Double.NaN : e.computeSeconds();
                exchange += e.exchangeSeconds() == null ? Double.NaN : e.exchangeSeconds();
                eval += e.evalSeconds();
                steps += e.steps();
            }
            return new StepTimes(1e3 * train / steps, 1e3 * compute / steps, 1e3 * exchange / steps,
                    eval / epochs.size());
        }

        /**
         * Milliseconds per step neither computing nor exchanging: launching work, waiting for the slowest. At least
         * 0: the parts are the workers' clocks, the whole the driver's, and with nothing to launch (a workers'
         * session) they can differ by a few microseconds a step either way.
         */
        public double otherMs() {
            return Math.max(0, trainMs - computeMs - exchangeMs);
        }
    }

    public static BenchSummary skipped(BenchSystem system, String reason) {
        return notRun(system, "skipped", reason);
    }

    public static BenchSummary failed(BenchSystem system, String reason) {
        return notRun(system, "failed", reason);
    }

    private static BenchSummary notRun(BenchSystem system, String status, String reason) {
        return new BenchSummary(system.id(), status, reason, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
                Double.NaN, -1, Double.NaN, -1, null);
    }

    /** Summarises the runs of one system; {@code targetAccuracy} is the accuracy time-to-target measures. */
    public static BenchSummary of(BenchSystem system, List<SystemRun> runs, double targetAccuracy) {
        List<Double> toTarget = new ArrayList<>();
        List<Double> finals = new ArrayList<>();
        List<Double> drift = new ArrayList<>();
        List<EpochMeasurement> steadyEpochs = new ArrayList<>();
        long peak = -1;
        for (SystemRun run : runs) {
            List<EpochMeasurement> epochs = run.epochs();
            epochs.stream().skip(epochs.size() > 1 ? 1 : 0).forEach(steadyEpochs::add);
            toTarget.add(secondsTo(targetAccuracy, epochs));
            finals.add(epochs.get(epochs.size() - 1).testAccuracy());
            for (EpochMeasurement e : epochs) {
                peak = Math.max(peak, e.rssMb());
            }
            if (epochs.size() >= 3) {
                double second = epochs.get(1).rssMb();
                drift.add(100 * (epochs.get(epochs.size() - 1).rssMb() - second) / second);
            }
        }
        List<Double> steady = steadyEpochs.stream().map(EpochMeasurement::examplesPerSecond).toList();
        return new BenchSummary(system.id(), "ok", "", runs.size(), median(steady),
                steady.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN),
                steady.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN),
                median(toTarget), median(finals), peak, median(drift), runs.get(0).bytesPerStepPerWorker(),
                StepTimes.of(steadyEpochs));
    }

    /** Training seconds, summed over epochs, until the test accuracy first reaches {@code target}; else NaN. */
    static double secondsTo(double target, List<EpochMeasurement> epochs) {
        double seconds = 0;
        for (EpochMeasurement e : epochs) {
            seconds += e.trainSeconds();
            if (e.testAccuracy() >= target) {
                return seconds;
            }
        }
        return Double.NaN;
    }

    /** The median; NaN for no values or when any value is NaN (a run that never reached a target). */
    static double median(List<Double> values) {
        if (values.isEmpty() || values.stream().anyMatch(v -> v.isNaN())) {
            return Double.NaN;
        }
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    public boolean ok() {
        return "ok".equals(status);
    }
}
