package dev.shoal.jobs;

import dev.shoal.driver.bench.BenchSystem;
import dev.shoal.driver.bench.BenchSystems;
import dev.shoal.driver.bench.SystemRun;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.run.Preflight;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code shoal bench-system}: one system's run inside {@code shoal bench}, in a JVM of its own. */
@Command(name = "bench-system", hidden = true, mixinStandardHelpOptions = true,
        description = "Run one benchmarked system and write its measurements as JSON (used by 'shoal bench').")
final class BenchSystemCommand implements Callable<Integer> {

    @Parameters(index = "0", converter = BenchCommand.SystemConverter.class, description = "The system.")
    BenchSystem system;

    @Option(names = "--plan", required = true, description = "Resolved plan (plan.yaml).")
    Path plan;

    @Option(names = "--result", required = true, description = "Where to write the measurements.")
    Path result;

    @Option(names = "--work", required = true, description = "Folder for files the system writes.")
    Path work;

    @Option(names = "--run-id", required = true, description = "Run id for systems that write a run directory.")
    String runId;

    @Override
    public Integer call() throws IOException {
        List<String> sets = new ArrayList<>(system.overrides());
        sets.add("output.run-id=" + runId);
        TrainingPlan bench = TrainCommand.plan(plan, sets);
        sets.add("training.batch-size="
                + system.batchPerWorker(bench.training().batchSize(), bench.sync().workers()));
        TrainingPlan p = TrainCommand.plan(plan, sets);
        Preflight.Sources sources = Preflight.check(p);
        SystemRun run = BenchSystems.run(system, sources.plan(), sources, PlanBinder.toYaml(sources.plan()), work,
                System.out);
        Path temp = result.resolveSibling(result.getFileName() + ".tmp");
        BenchCommand.JSON.writeValue(temp.toFile(), run);
        Files.move(temp, result, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return 0;
    }
}
