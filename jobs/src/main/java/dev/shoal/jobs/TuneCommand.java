package dev.shoal.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.run.ModelEvaluation;
import dev.shoal.driver.run.Preflight;
import dev.shoal.driver.run.RunDirectory;
import dev.shoal.driver.run.SparkContexts;
import dev.shoal.jobs.tune.Distribution;
import dev.shoal.jobs.tune.SearchConfig;
import dev.shoal.jobs.tune.SearchSpace;
import dev.shoal.kernel.config.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaSparkContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code shoal tune search.yaml}: hyperparameter search over a job's keys, trials as training runs. */
@Command(name = "tune", mixinStandardHelpOptions = true,
        description = {"Search hyperparameters: train trials of a job with values drawn from the search file's "
                + "space (random or TPE), stop trials behind their rung (asynchronous successive halving), and "
                + "write <dir>/<name>-tune-<time>/: trials.jsonl, leaderboard.md, best.yaml (the best trial's "
                + "plan, ready for 'shoal train') and trials/trial-NNN/ (run directories).",
            "A search that stopped goes on with --resume DIR; trials that ended are not run again.",
            "Search file keys: job, trials, parallel, metric, mode, seed, sampler, startup-trials, budget-minutes, "
                + "pruning {enabled, min-epochs, reduction}, dir, and space: {job.key: {uniform|log-uniform|int: "
                + "[low, high]} or {choice|grid: [values]}}."})
final class TuneCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "SEARCH.yaml", description = "The search file.")
    Path searchFile;

    @Option(names = "--resume", paramLabel = "DIR", description = "Go on with the search in DIR (a folder "
            + "with trials.jsonl) instead of starting a new one.")
    Path resume;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a key of the job file for every "
            + "trial, e.g. --set training.epochs=3 (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Mixin
    MasterOption master;

    @Option(names = "--register", paramLabel = "NAME", description = "Hand the best trial's model to the registry "
            + "(--registry, or $SHOAL_REGISTRY) as NAME through retrain's gate (the job's gate section, against "
            + "the champion on the job's test set): registered either way, champion only if it passes. Exit code "
            + "then as retrain's: 0 promoted, 3 not promoted, 4 lost the race.")
    String register;

    @Mixin
    RegistryCommand.Location location;

    @Override
    public Integer call() throws IOException {
        ObjectNode tree = read(searchFile);
        JsonNode space = tree.remove("space");
        PlanBinder.resolvePaths(tree, SearchConfig.class, searchFile.toAbsolutePath().getParent());
        SearchConfig config = PlanBinder.bind(tree, SearchConfig.class);
        SearchSpace searchSpace = SearchSpace.parse(space);
        ObjectNode job = TrainCommand.tree(Path.of(config.job()));
        List<String> settings = new ArrayList<>(overrides);
        settings.addAll(master.settings());
        settings.forEach(o -> PlanBinder.override(job, o));
        TrainingPlan base = PlanBinder.bind(job, TrainingPlan.class);
        checkKeys(job, searchSpace);
        int trials = config.trials();
        if (trials == 0) {
            if (!searchSpace.onlyGrid()) {
                throw new ConfigException("trials", 0, "0 means every grid combination once; give a number when "
                        + "the space has keys that are not grid");
            }
            trials = searchSpace.gridSize();
        }
        // The champion is fetched first: one that cannot be read stops the search before it starts.
        Optional<Challenge> challenge = register == null ? Optional.empty() : Optional.of(new Challenge(
                location.open(), register, Path.of(config.dir(), "champions"), System.out));
        Path dir;
        if (resume != null) {
            if (!Files.isRegularFile(resume.resolve(TrialLog.FILE))) {
                throw new ConfigException("--resume", resume, "is not a search directory: it has no "
                        + TrialLog.FILE);
            }
            dir = resume;
        } else {
            dir = Path.of(config.dir(), base.name() + "-tune-"
                    + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
            Files.createDirectories(dir);
            Files.copy(searchFile, dir.resolve("search.yaml"));
        }
        Optional<Path> best = new Search(config, searchSpace, job, dir, trials, System.out).run();
        if (best.isEmpty()) {
            return 1;
        }
        return challenge.isPresent() ? register(challenge.get(), best.get(), dir) : 0;
    }

    /** The best trial against the champion, on the job's test set, through the job's gate. */
    private static int register(Challenge challenge, Path run, Path search) {
        Preflight.Sources sources = Preflight.check(TrainCommand.plan(run.resolve(RunDirectory.PLAN), List.of()));
        Optional<ModelEvaluation.Report> defender;
        ModelEvaluation.Report challenger;
        JavaSparkContext sc = SparkContexts.start(sources.plan());
        try {
            defender = challenge.evaluateChampion(sources, sc);
            challenger = Challenge.evaluate(run, sources, sc);
        } finally {
            sc.stop();
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("search", search.toAbsolutePath().toString());
        extra.put("trial", run.getFileName().toString());
        return challenge.decide(sources.plan(), run, challenger, defender, "tune", extra);
    }

    private static ObjectNode read(Path file) {
        try {
            return PlanBinder.parse(Files.readString(file), file.toString());
        } catch (NoSuchFileException e) {
            throw new ConfigException("search file", file, "no such file");
        } catch (IOException e) {
            throw new ConfigException("search file", file, "cannot be read: " + e.getMessage());
        }
    }

    /**
     * Binds the job with a value of each space key in turn, so that an unknown key or a value of the wrong type
     * fails now, in one line naming the key, not in the middle of the search.
     */
    private static void checkKeys(ObjectNode job, SearchSpace space) {
        Random random = new Random(0);
        for (Map.Entry<String, Distribution> e : space.keys().entrySet()) {
            ObjectNode copy = job.deepCopy();
            PlanBinder.set(copy, e.getKey(), e.getValue().sample(random));
            try {
                PlanBinder.bind(copy, TrainingPlan.class);
            } catch (ConfigException bad) {
                throw bad.under("space");
            }
        }
    }
}
