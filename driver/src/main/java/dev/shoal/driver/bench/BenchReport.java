package dev.shoal.driver.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;

/** The bench's results as a Markdown table, the same text on stdout and in bench.md. */
public final class BenchReport {
    private BenchReport() {
    }

    /**
     * One ratio column per baseline, against its steady examples/s: plain DL4J's always ("–" when it did not
     * run), PyTorch's when it ran, since those are the comparisons users ask for.
     */
    public static String table(List<BenchSummary> summaries, double targetAccuracy) {
        List<String> ratioColumns = new ArrayList<>();
        List<OptionalDouble> bases = new ArrayList<>();
        for (BenchSystem baseline : List.of(BenchSystem.DL4J, BenchSystem.PYTORCH)) {
            OptionalDouble base = summaries.stream().filter(s -> s.system().equals(baseline.id()) && s.ok())
                    .mapToDouble(BenchSummary::steadyExamplesPerSec).findFirst();
            if (baseline == BenchSystem.DL4J || base.isPresent()) {
                ratioColumns.add("x " + baseline.id());
                bases.add(base);
            }
        }
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "| system | runs | ex/s (median) | min-max | %s | s to %.1f%% "
                + "| final accuracy | peak RSS MB | RSS epoch 2 -> last | bytes/step/worker |%n",
                String.join(" | ", ratioColumns), 100 * targetAccuracy));
        out.append("|---".repeat(9 + ratioColumns.size())).append("|\n");
        for (BenchSummary s : summaries) {
            if (!s.ok()) {
                out.append(String.format("| %s | %s: %s |%s%n", s.system(), s.status(), s.reason(),
                        " |".repeat(7 + ratioColumns.size())));
                continue;
            }
            List<String> ratios = bases.stream().map(base -> base.isEmpty() ? "–"
                    : String.format(Locale.ROOT, "%.2f", s.steadyExamplesPerSec() / base.getAsDouble())).toList();
            out.append(String.format(Locale.ROOT, "| %s | %d | %,.0f | %,.0f-%,.0f | %s | %s | %.2f%% | %,d | %s "
                            + "| %s |%n", s.system(), s.runs(), s.steadyExamplesPerSec(), s.minExamplesPerSec(),
                    s.maxExamplesPerSec(), String.join(" | ", ratios),
                    Double.isNaN(s.secondsToTarget()) ? "not reached" : String.format(Locale.ROOT, "%.1f",
                            s.secondsToTarget()),
                    100 * s.finalAccuracy(), s.peakRssMb(),
                    Double.isNaN(s.rssDriftPercent()) ? "-" : String.format(Locale.ROOT, "%+.1f%%",
                            s.rssDriftPercent()),
                    s.bytesPerStepPerWorker() < 0 ? "-" : String.format(Locale.ROOT, "%,d",
                            s.bytesPerStepPerWorker())));
        }
        return out.toString();
    }

    /**
     * Where a step's time went, system by system: a step's training time split into computing, exchanging and
     * the rest (launching work, waiting for the slowest worker), and the evaluation after each epoch. "–" where
     * a system does not tell the parts apart.
     */
    public static String stepTimes(List<BenchSummary> summaries) {
        StringBuilder out = new StringBuilder("| system | ms per step | computing | exchanging | launching and waiting "
                + "| evaluation s/epoch |\n|---|---|---|---|---|---|\n");
        for (BenchSummary s : summaries) {
            if (s.ok()) {
                BenchSummary.StepTimes t = s.stepTimes();
                out.append(String.format(Locale.ROOT, "| %s | %.2f | %s | %s | %s | %.2f |%n", s.system(),
                        t.trainMs(), partOf(t.computeMs(), t.trainMs()), partOf(t.exchangeMs(), t.trainMs()),
                        partOf(t.otherMs(), t.trainMs()), t.evalSeconds()));
            }
        }
        return out.toString();
    }

    /** {@code ms} and its share of {@code totalMs}, or "–" when not known. */
    private static String partOf(double ms, double totalMs) {
        return Double.isNaN(ms) ? "–" : String.format(Locale.ROOT, "%.2f (%.0f%%)", ms, 100 * ms / totalMs);
    }
}
