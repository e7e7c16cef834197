package dev.shoal.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.run.Preflight;
import dev.shoal.driver.run.TrainingRun;
import dev.shoal.kernel.config.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code shoal train job.yaml}: bind and check the plan, then train and write the run directory. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train the model a job file describes and write runs/<run-id>/ "
                + "(plan.yaml, model.zip, metrics.jsonl, provenance.json).",
                "The whole plan is checked before Spark starts; 'shoal keys' lists every key."})
final class TrainCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "JOB.yaml", description = "The job file.")
    Path jobFile;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "Override a job-file key, e.g. --set training.epochs=3 (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--dry-run", description = "Check the plan and the data files, print the resolved plan, "
            + "and stop before Spark starts.")
    boolean dryRun;

    @Override
    public Integer call() {
        TrainingPlan plan = plan(jobFile, overrides);
        DataFetcher.fetchIfMissing(plan.data());
        Preflight.Sources sources = Preflight.check(plan);
        String yaml = PlanBinder.toYaml(plan);
        if (dryRun) {
            System.out.print(yaml);
            System.out.println("# plan OK: " + sources.train().examples() + " training and "
                    + sources.test().examples() + " test examples");
            return 0;
        }
        TrainingRun.execute(plan, sources, yaml, null, System.out);
        return 0;
    }

    /** Reads, overrides and binds a job file. */
    static TrainingPlan plan(Path jobFile, List<String> overrides) {
        String text;
        try {
            text = Files.readString(jobFile);
        } catch (NoSuchFileException e) {
            throw new ConfigException("job file", jobFile, "no such file");
        } catch (IOException e) {
            throw new ConfigException("job file", jobFile, "cannot be read: " + e.getMessage());
        }
        ObjectNode tree = PlanBinder.parse(text, jobFile.toString());
        overrides.forEach(o -> PlanBinder.override(tree, o));
        return PlanBinder.bind(tree, TrainingPlan.class);
    }
}
