package dev.shoal.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.driver.data.DataSource;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.run.ModelEvaluation;
import dev.shoal.driver.run.Preflight;
import dev.shoal.driver.run.RunDirectory;
import dev.shoal.driver.run.SparkContexts;
import dev.shoal.kernel.EvalResult;
import dev.shoal.kernel.config.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaSparkContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code shoal evaluate MODEL}: a saved model's figures on a test set, evaluated on the executors. */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
        description = {"Evaluate a saved model on a test set, distributed as training evaluates: accuracy, loss, "
                + "per-class precision, recall and F1, and the confusion matrix, printed and written as JSON.",
                "The plan (model type, data, workers) is the run's plan.yaml, next to the model; --data takes the "
                + "data section of another job file, --set changes single keys (e.g. --set data.test=...).",
                "Only the test set is read where the plan names one of its own (IDX, CIFAR, tables): the training "
                + "data need not exist any more. Texts, characters and image folders take their vocabulary or "
                + "classes from the training data, which is read then."})
final class EvaluateCommand implements Callable<Integer> {

    @Mixin
    SavedModel.Argument model;

    @Option(names = "--data", paramLabel = "JOB.yaml", description = "Evaluate on this job file's data section "
            + "(its test set) instead of the run's.")
    Path data;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a plan key, e.g. --set "
            + "data.test=tables/today.parquet (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--output", paramLabel = "FILE", defaultValue = "evaluation.json",
            description = "Where the figures go, as JSON (default: ${DEFAULT-VALUE}); written whole or not at all.")
    Path output;

    @Mixin
    MasterOption master;

    @Override
    public Integer call() throws IOException {
        Path work = Files.createTempDirectory("shoal-evaluate-");
        try {
            SavedModel saved = model.find(work);
            TrainingPlan plan = plan(saved.plan());
            DataSource test = Preflight.testSet(plan);
            String testSet = testSet(plan);
            System.out.println("evaluating " + saved.label() + " on " + testSet);
            EvalResult result;
            JavaSparkContext sc = SparkContexts.start(plan);
            try {
                result = ModelEvaluation.evaluate(saved.zip(), plan, test, sc);
            } finally {
                sc.stop();
            }
            ModelEvaluation.Report report = ModelEvaluation.report(result, saved.label(), testSet);
            RunDirectory.writeJson(output.toAbsolutePath(), report);
            System.out.print(report.table(plan.data().classNames()));
            System.out.println("written: " + output.toAbsolutePath());
            return 0;
        } finally {
            RunDirectory.deleteAll(work);
        }
    }

    /**
     * The files of the plan's test set (or its table in Spark's catalog), or the training file a held-out part of
     * which is the test set.
     */
    static String testSet(TrainingPlan plan) {
        if (!plan.data().format().readsFiles()) {
            return "table " + plan.data().test();
        }
        List<String> test = plan.data().inputs().entrySet().stream().filter(e -> e.getKey().startsWith("data.test"))
                .map(Map.Entry::getValue).toList();
        return test.isEmpty() ? "the held-out part of " + plan.data().train() : String.join(", ", test);
    }

    /** The run's plan, with another job file's data section and the overrides applied. */
    private TrainingPlan plan(Path planFile) {
        List<String> settings = new ArrayList<>(overrides);
        settings.addAll(master.settings());
        ObjectNode tree = TrainCommand.tree(planFile);
        if (data != null) {
            JsonNode section = TrainCommand.tree(data).get("data");
            if (section == null) {
                throw new ConfigException("--data", data, "has no data section");
            }
            tree.set("data", section);
        }
        settings.forEach(o -> PlanBinder.override(tree, o));
        return PlanBinder.bind(tree, TrainingPlan.class);
    }
}
