package dev.shoal.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.run.HeapSize;
import dev.shoal.driver.run.Preflight;
import dev.shoal.driver.run.TrainingRun;
import dev.shoal.kernel.config.ConfigException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code shoal train job.yaml}: bind and check the plan, then train and write the run directory. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train the model a job file describes and write runs/<run-id>/ "
                + "(plan.yaml, model.zip, metrics.jsonl, provenance.json, report.html, tensorboard/, checkpoints/).",
                "The whole plan is checked before Spark starts; 'shoal keys' lists every key.",
                "A run that stopped (killed, crashed, machine gone) goes on with --resume runs/<run-id>."})
final class TrainCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", paramLabel = "JOB.yaml", description = "The job file.")
    Path jobFile;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "Override a job-file key, e.g. --set training.epochs=3 (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--dry-run", description = "Check the plan and the data files, print the resolved plan, "
            + "and stop before Spark starts.")
    boolean dryRun;

    @Mixin
    MasterOption master;

    @Option(names = "--skip-bad-records", description = "Leave out records that cannot be used (each is logged and "
            + "counted in metrics.jsonl and provenance.json) instead of failing; short for --set "
            + "data.skip-bad-records=true.")
    boolean skipBadRecords;

    @Option(names = "--resume", paramLabel = "RUN_DIR", description = "Continue the run in RUN_DIR from its "
            + "newest usable checkpoint, with the plan in its plan.yaml; it ends as the uninterrupted run would.")
    Path resume;

    @Option(names = "--heap-to", hidden = true, paramLabel = "FILE", description = "Write the JVM options of the "
            + "heap the run needs to FILE and stop before Spark starts: scripts/shoal asks first, then starts the JVM "
            + "that trains with them.")
    Path heapTo;

    @Override
    public Integer call() {
        if ((jobFile == null) == (resume == null)) {
            throw new ConfigException("command line", jobFile == null ? "(nothing)" : jobFile + " and --resume",
                    "give either a job file or --resume RUN_DIR");
        }
        if (resume != null && !overrides.isEmpty()) {
            throw new ConfigException("--set", overrides.get(0), "a resumed run keeps the plan it started with "
                    + "(only --master may change)");
        }
        if (resume != null && !Files.isRegularFile(resume.resolve("plan.yaml"))) {
            throw new ConfigException("--resume", resume, "is not a run directory: it has no plan.yaml");
        }
        List<String> settings = new ArrayList<>(overrides);
        settings.addAll(master.settings());
        if (skipBadRecords) {
            settings.add("data.skip-bad-records=true");
        }
        TrainingPlan plan = plan(resume != null ? resume.resolve("plan.yaml") : jobFile, settings);
        DataFetcher.fetchIfMissing(plan.data());
        Preflight.Sources sources = Preflight.check(plan);
        plan = sources.plan();
        String yaml = PlanBinder.toYaml(plan);
        Optional<HeapSize> heap = HeapSize.of(sources);
        if (dryRun) {
            System.out.print(yaml);
            System.out.println(heap.map(h -> "# memory: " + h.describe()).orElse("# memory: a table's size is "
                    + "known once Spark reads it; scripts/shoal gives the JVM its default heap"));
            System.out.println(plan.data().format().isTable()
                    ? "# plan OK; the tables' columns and rows are checked when Spark starts"
                    : "# plan OK: " + sources.train().examples() + " training and " + sources.test().examples()
                            + " test examples");
            return 0;
        }
        if (heapTo != null) {
            // Empty for a table: scripts/shoal then starts the JVM with its default heap.
            write(heapTo, heap.map(h -> String.join(" ", h.jvmOptions())).orElse(""));
            return 0;
        }
        if (resume != null) {
            TrainingRun.resume(resume, plan, sources, Optional.empty(), System.out);
        } else {
            TrainingRun.execute(plan, sources, yaml, Optional.empty(), System.out);
        }
        return 0;
    }

    private static void write(Path file, String text) {
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads, overrides and binds a job file. Relative paths in the file are read against the file's folder, so a
     * job runs the same from any working directory (a scheduler's is rarely the project's); relative paths
     * given with --set are read against the working directory, as on any command line.
     */
    static TrainingPlan plan(Path jobFile, List<String> overrides) {
        ObjectNode tree = tree(jobFile);
        overrides.forEach(o -> PlanBinder.override(tree, o));
        return PlanBinder.bind(tree, TrainingPlan.class);
    }

    /** A job file's keys, its relative paths made absolute against its folder. */
    static ObjectNode tree(Path jobFile) {
        String text;
        try {
            text = Files.readString(jobFile);
        } catch (NoSuchFileException e) {
            throw new ConfigException("job file", jobFile, "no such file");
        } catch (IOException e) {
            throw new ConfigException("job file", jobFile, "cannot be read: " + e.getMessage());
        }
        ObjectNode tree = PlanBinder.parse(text, jobFile.toString());
        PlanBinder.resolvePaths(tree, TrainingPlan.class, jobFile.toAbsolutePath().getParent());
        return tree;
    }
}
