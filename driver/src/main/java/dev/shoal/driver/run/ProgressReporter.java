package dev.shoal.driver.run;

import dev.shoal.driver.train.Metrics;
import java.io.PrintStream;
import java.util.function.Consumer;

/**
 * Human progress lines: a line every couple of seconds while an epoch runs, and a summary with the test
 * accuracy and the ETA of the whole run after each epoch.
 */
public final class ProgressReporter implements Consumer<Metrics> {
    private static final long MIN_INTERVAL_NANOS = 2_000_000_000L;

    private final PrintStream out;
    private final String unit;
    private long lastLine = System.nanoTime();
    private long epochStart = System.nanoTime();
    private long epochExamples;
    private double epochLoss;

    public ProgressReporter(PrintStream out) {
        this(out, "epoch");
    }

    /** @param unit what an evaluated period is called: "epoch", or "round" for federated averaging */
    public ProgressReporter(PrintStream out, String unit) {
        this.out = out;
        this.unit = unit;
    }

    @Override
    public void accept(Metrics m) {
        if (m instanceof Metrics.Round r) {
            round(r);
        } else if (m instanceof Metrics.Stage s) {
            stage(s);
        } else if (m instanceof Metrics.Epoch e) {
            epoch(e);
        }
    }

    private void stage(Metrics.Stage s) {
        out.printf("epoch %d  %d steps on %d workers%s: compute %.1fs  encode %.1fs  exchange %.1fs  apply %.1fs  "
                        + "%,.0f bytes/step/worker  %.2f%% of entries sent%n", s.epoch(), s.steps(), s.workers(),
                s.attempt() > 1 ? " (attempt " + s.attempt() + ")" : "", s.computeMs() / 1e3, s.encodeMs() / 1e3,
                s.exchangeMs() / 1e3, s.applyMs() / 1e3, s.bytesPerStep(), 100 * s.sentFraction());
    }

    private void round(Metrics.Round r) {
        epochExamples += r.examples();
        epochLoss += r.loss() * r.examples();
        long now = System.nanoTime();
        if (now - lastLine >= MIN_INTERVAL_NANOS && r.round() < r.rounds()) {
            double rate = epochExamples / ((now - epochStart) / 1e9);
            out.printf("epoch %d  round %d/%d  %,.0f ex/s  loss %.4f%n", r.epoch(), r.round(), r.rounds(), rate,
                    epochLoss / epochExamples);
            lastLine = now;
        }
    }

    private void epoch(Metrics.Epoch e) {
        out.printf("%s %d/%d done in %.1fs  %,.0f ex/s  train loss %.4f  test loss %.4f  %sexecutor RSS %,d MB  "
                        + "ETA %s%n", unit, e.epoch(), e.epochs(), e.trainSeconds() + e.evalSeconds(),
                e.examplesPerSecond(), e.trainLoss(), e.testLoss(), Double.isNaN(e.testAccuracy()) ? ""
                        : String.format("test accuracy %.2f%%  ", 100 * e.testAccuracy()),
                e.executorMemory().rssMb(), duration(e.etaSeconds()));
        epochStart = System.nanoTime();
        lastLine = epochStart;
        epochExamples = 0;
        epochLoss = 0;
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%dh%02dm", s / 3600, s / 60 % 60)
                : s >= 60 ? String.format("%dm%02ds", s / 60, s % 60) : s + "s";
    }
}
