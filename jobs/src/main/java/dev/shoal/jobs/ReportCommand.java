package dev.shoal.jobs;

import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.run.RunDirectory;
import dev.shoal.driver.run.RunReport;
import dev.shoal.kernel.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code shoal report RUN...}: report.html of one run, or of several runs overlaid in one page. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"Write the HTML report of a run (training writes it at the end, as report.html in the run "
                + "directory; this rebuilds it), or of several runs in one page with their epoch curves overlaid.",
                "The page is self-contained: charts are PNG images inside it; it needs no network to open."})
final class ReportCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "RUN", description = "Run directories.")
    List<Path> runs;

    @Option(names = "--output", paramLabel = "FILE", description = "Where the page goes (default: RUN/report.html "
            + "for one run, report.html here for several).")
    Path output;

    @Override
    public Integer call() {
        List<TrainingPlan> plans = new ArrayList<>();
        for (Path run : runs) {
            plans.add(planOfRun(run));
        }
        Path page = output != null ? output : runs.size() == 1 ? runs.get(0).resolve(RunReport.FILE)
                : Path.of(RunReport.FILE);
        RunReport.write(runs, plans, page.toAbsolutePath());
        System.out.println("written: " + page.toAbsolutePath());
        return 0;
    }

    /** The plan of the run in {@code run}, which must hold plan.yaml and metrics.jsonl (the RUN argument). */
    static TrainingPlan planOfRun(Path run) {
        if (!Files.isRegularFile(run.resolve(RunDirectory.METRICS))
                || !Files.isRegularFile(run.resolve(RunDirectory.PLAN))) {
            throw new ConfigException("RUN", run, "is not a run directory (it needs plan.yaml and metrics.jsonl)");
        }
        return TrainCommand.plan(run.resolve(RunDirectory.PLAN), List.of());
    }
}
