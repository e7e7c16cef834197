package dev.shoal.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.registry.Gate;
import dev.shoal.driver.registry.Registry;
import dev.shoal.driver.run.ModelEvaluation;
import dev.shoal.driver.run.Preflight;
import dev.shoal.driver.run.RunDirectory;
import dev.shoal.driver.run.SparkContexts;
import dev.shoal.driver.run.TrainingRun;
import dev.shoal.kernel.config.ConfigException;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.util.ModelSerializer;
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
    static final int NOT_PROMOTED = 3;
    static final int LOST_RACE = 4;
    private static final ObjectMapper JSON = new ObjectMapper();

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
        Registry.requireName(name);
        Optional<Registry.Promotion> champion = registry.champion(name);
        List<String> settings = new ArrayList<>(overrides);
        settings.addAll(master.settings());
        // The champion's files stay under output.dir: a warm-started run's plan.yaml names its model.zip.
        Path champions = Path.of(TrainCommand.plan(jobFile, settings).output().dir(), "champions");
        Optional<Path> championModel = champion.map(c -> fetchModel(registry, c.version(),
                champions.resolve(name + "-v" + c.version())));
        if (warmStart && championModel.isPresent()) {
            settings.add("training.warm-start=" + championModel.get());
        }
        TrainingPlan plan = TrainCommand.plan(jobFile, settings);
        DataFetcher.fetchIfMissing(plan.data());
        Preflight.Sources sources = Preflight.check(plan);
        System.out.println(champion.map(c -> "champion of " + name + ": version " + c.version()
                + (warmStart ? "; the challenger starts from its parameters" : "")).orElse("no champion of "
                + name + " yet in " + registry.root() + (warmStart ? "; the challenger starts from the seed" : "")));
        return retrain(registry, champion, championModel, sources.plan(), sources);
    }

    private int retrain(Registry registry, Optional<Registry.Promotion> champion, Optional<Path> championModel,
                        TrainingPlan plan, Preflight.Sources sources) {
        TrainingRun.Outcome run;
        ModelEvaluation.Report challenger;
        Optional<ModelEvaluation.Report> defender;
        JavaSparkContext sc = SparkContexts.start(plan);
        try {
            // The champion first: one that cannot be evaluated on this data stops the retrain before it trains.
            defender = championModel.map(zip -> evaluateChampion(zip, champion.get().version(), sources, sc));
            run = TrainingRun.execute(plan, sources, PlanBinder.toYaml(plan), sc, System.out);
            Path model = run.directory().resolve(RunDirectory.MODEL);
            challenger = ModelEvaluation.report(ModelEvaluation.evaluate(model, plan, sources.test(), sc),
                    model.toString(), EvaluateCommand.testSet(plan));
        } finally {
            sc.stop();
        }
        Gate.Verdict verdict = Gate.judge(plan.gate(), challenger.metrics(),
                defender.map(ModelEvaluation.Report::metrics));
        Path dir = run.directory();
        RunDirectory.writeJson(dir.resolve("evaluation.json"), challenger);
        defender.ifPresent(d -> RunDirectory.writeJson(dir.resolve("champion-evaluation.json"), d));
        Map<String, Object> verdictFile = new LinkedHashMap<>();
        verdictFile.put("champion", champion.map(Registry.Promotion::version).orElse(null));
        verdictFile.put("promote", verdict.promote());
        verdictFile.put("reason", verdict.reason());
        verdictFile.put("checks", verdict.checks());
        RunDirectory.writeJson(dir.resolve("verdict.json"), verdictFile);

        System.out.print("challenger: " + challenger.table().lines().findFirst().orElseThrow() + "\n"
                + defender.map(d -> "champion:   " + d.table().lines().findFirst().orElseThrow() + "\n").orElse(""));
        verdict.checks().forEach(c -> System.out.println("  " + c.reason()));
        int version = registry.register(name, versionFiles(dir), provenance(dir, champion));
        System.out.printf("registered %s version %d in %s; it %s the gate: %s%n", name, version, registry.root(),
                verdict.promote() ? "passed" : "did not pass", verdict.reason());
        if (!verdict.promote()) {
            System.out.printf("champion unchanged: %s%n", champion.map(c -> "version " + c.version()).orElse("none"));
            return NOT_PROMOTED;
        }
        long expected = champion.map(Registry.Promotion::sequence).orElse(0L);
        if (registry.promote(name, version, expected, "retrain: " + verdict.reason())) {
            System.out.printf("version %d is now the champion of %s%n", version, name);
            return 0;
        }
        Registry.Promotion now = registry.champion(name).orElseThrow();
        System.out.printf("lost the race: version %d became champion of %s at %s while this retrain ran, so "
                + "version %d (judged against %s) stays registered but not champion; retrain again, or promote it "
                + "by hand with 'shoal registry promote'%n", now.version(), name, now.at(), version,
                champion.map(c -> "version " + c.version()).orElse("no champion"));
        return LOST_RACE;
    }

    /** The champion's figures on this data; a champion that cannot be evaluated is a failure, not a bad job. */
    private ModelEvaluation.Report evaluateChampion(Path zip, int version, Preflight.Sources sources,
                                                    JavaSparkContext sc) {
        try {
            return ModelEvaluation.report(ModelEvaluation.evaluate(zip, sources.plan(), sources.test(), sc),
                    name + " version " + version, EvaluateCommand.testSet(sources.plan()));
        } catch (ConfigException e) {
            throw new IllegalStateException("the champion, " + name + " version " + version + ", cannot be "
                    + "evaluated on this data: " + e.getMessage() + "; nothing was trained or promoted", e);
        }
    }

    /**
     * The champion's model.zip, copied into {@code folder} with its vocabulary or alphabet (a text model is
     * evaluated with its own), and checked to be a model.
     */
    private Path fetchModel(Registry registry, int version, Path folder) {
        Path zip = folder.resolve(RunDirectory.MODEL);
        String where = registry.versionUri(name, version) + "/" + RunDirectory.MODEL;
        try {
            Files.createDirectories(folder);
            for (String file : List.of(RunDirectory.MODEL, RunDirectory.VOCABULARY, RunDirectory.ALPHABET)) {
                if (file.equals(RunDirectory.MODEL) || registry.exists(name, version, file)) {
                    registry.copyToLocal(name, version, file, folder.resolve(file));
                }
            }
            ModelSerializer.restoreMultiLayerNetwork(new File(zip.toString()), false);
            return zip.toAbsolutePath();
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("the champion's model " + where + " cannot be read: " + e.getMessage()
                    + "; nothing was trained or promoted", e);
        }
    }

    /** The run's files a version keeps, those it has. */
    private static Map<String, Path> versionFiles(Path dir) {
        Map<String, Path> files = new LinkedHashMap<>();
        for (String file : List.of(RunDirectory.MODEL, RunDirectory.PLAN, RunDirectory.METRICS,
                RunDirectory.VOCABULARY, RunDirectory.ALPHABET, RunDirectory.SAMPLES, "evaluation.json",
                "champion-evaluation.json", "verdict.json")) {
            if (Files.exists(dir.resolve(file))) {
                files.put(file, dir.resolve(file));
            }
        }
        return files;
    }

    /** The version's provenance: the run's, and what it was judged against and started from. */
    private Map<String, Object> provenance(Path dir, Optional<Registry.Promotion> champion) {
        Map<String, Object> provenance = new LinkedHashMap<>();
        provenance.put("name", name);
        provenance.put("registeredAt", Instant.now().toString());
        provenance.put("runDirectory", dir.toAbsolutePath().toString());
        provenance.put("judgedAgainst", champion.map(Registry.Promotion::version).orElse(null));
        provenance.put("warmStartedFrom", warmStart ? champion.map(Registry.Promotion::version).orElse(null) : null);
        try {
            provenance.put("run", JSON.readTree(dir.resolve(RunDirectory.PROVENANCE).toFile()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir.resolve(RunDirectory.PROVENANCE), e);
        }
        return provenance;
    }
}
