package dev.shoal.jobs;

import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.registry.Registry;
import dev.shoal.driver.run.ModelEvaluation;
import dev.shoal.driver.run.Preflight;
import dev.shoal.driver.run.SparkContexts;
import dev.shoal.driver.run.TrainingRun;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaSparkContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code shoal retrain job.yaml --registry URI --name NAME}: train a challenger, evaluate it and the champion on
 * the same held-out data, apply the job's gate, register the challenger either way, and promote it only if it
 * passed.
 */
@Command(name = "retrain", mixinStandardHelpOptions = true,
        description = {"Train a challenger on the job's data, evaluate it and the registry's champion on the same "
                + "held-out data in the same run, apply the job file's gate, register the challenger as a new "
                + "version (with evaluation.json and verdict.json) either way, and make it champion only if the "
                + "gate passed.",
                "Exit codes: 0 promoted, 3 registered but not promoted (the gate failed), 4 registered and passed "
                + "the gate, but another version became champion meanwhile (lost the race), 1 failure, 2 bad "
                + "command line or job file."})
final class RetrainCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "JOB.yaml", description = "The job file; its gate section is the gate.")
    Path jobFile;

    @Mixin
    RegistryCommand.Location location;

    @Option(names = "--name", required = true, paramLabel = "NAME", description = "The model's name in the registry.")
    String name;

    @Option(names = "--warm-start", description = "Start from the champion's parameters (fresh optimizer state) "
            + "instead of the seed; from the seed when there is no champion yet.")
    boolean warmStart;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a job-file key (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Mixin
    MasterOption master;

    @Override
    public Integer call() throws IOException {
        Registry registry = location.open();
        List<String> settings = new ArrayList<>(overrides);
        settings.addAll(master.settings());
        // The champion's files stay under output.dir: a warm-started run's plan.yaml names its model.zip.
        Challenge challenge = new Challenge(registry, name,
                Path.of(TrainCommand.plan(jobFile, settings).output().dir(), "champions"), System.out);
        Optional<Registry.Promotion> champion = challenge.champion();
        if (warmStart && challenge.championModel().isPresent()) {
            settings.add("training.warm-start=" + challenge.championModel().get());
        }
        TrainingPlan plan = TrainCommand.plan(jobFile, settings);
        DataFetcher.fetchIfMissing(plan.data());
        Preflight.Sources sources = Preflight.check(plan);
        System.out.println(champion.map(c -> "champion of " + name + ": version " + c.version()
                + (warmStart ? "; the challenger starts from its parameters" : "")).orElse("no champion of "
                + name + " yet in " + registry.root() + (warmStart ? "; the challenger starts from the seed" : "")));
        TrainingRun.Outcome run;
        ModelEvaluation.Report challenger;
        Optional<ModelEvaluation.Report> defender;
        JavaSparkContext sc = SparkContexts.start(sources.plan());
        try {
            // The champion first: one that cannot be evaluated on this data stops the retrain before it trains.
            defender = challenge.evaluateChampion(sources, sc);
            run = TrainingRun.execute(sources.plan(), sources, PlanBinder.toYaml(sources.plan()), Optional.of(sc),
                    System.out);
            challenger = Challenge.evaluate(run.directory(), sources, sc);
        } finally {
            sc.stop();
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("warmStartedFrom", warmStart ? champion.map(Registry.Promotion::version).orElse(null) : null);
        return challenge.decide(sources.plan(), run.directory(), challenger, defender, "retrain", extra);
    }
}
