package dev.shoal.driver.bench;

import java.util.List;
import java.util.Locale;

/** The bench's results as a Markdown table, the same text on stdout and in bench.md. */
public final class BenchReport {
    private BenchReport() {
    }

    /** Ratios are against {@code baseline}'s steady examples/s (plain DL4J), when it ran. */
    public static String table(List<BenchSummary> summaries, BenchSystem baseline, double targetAccuracy) {
        double base = summaries.stream().filter(s -> s.system().equals(baseline.id()) && s.ok())
                .mapToDouble(BenchSummary::steadyExamplesPerSec).findFirst().orElse(Double.NaN);
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "| system | runs | ex/s (median) | min-max | x %s | s to %.1f%% "
                + "| final accuracy | peak RSS MB | RSS epoch 2 -> last | bytes/step/worker |%n", baseline.id(),
                100 * targetAccuracy));
        out.append("|---|---|---|---|---|---|---|---|---|---|\n");
        for (BenchSummary s : summaries) {
            if (!s.ok()) {
                out.append(String.format("| %s | %s: %s | | | | | | | | |%n", s.system(), s.status(), s.reason()));
                continue;
            }
            out.append(String.format(Locale.ROOT, "| %s | %d | %,.0f | %,.0f-%,.0f | %.2f | %s | %.2f%% | %,d | %s "
                            + "| %s |%n", s.system(), s.runs(), s.steadyExamplesPerSec(), s.minExamplesPerSec(),
                    s.maxExamplesPerSec(), s.steadyExamplesPerSec() / base,
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
}
