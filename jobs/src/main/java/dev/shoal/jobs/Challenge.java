package dev.shoal.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.registry.Gate;
import dev.shoal.driver.registry.Registry;
import dev.shoal.driver.run.ModelEvaluation;
import dev.shoal.driver.run.Preflight;
import dev.shoal.driver.run.RunDirectory;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.UserFacingException;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.util.ModelSerializer;

/**
 * A challenger, the model of a finished run, against a registry's champion: both evaluated on the same held-out
 * data, the plan's gate applied, the challenger registered either way and promoted only if it passed. What
 * {@code shoal retrain} and {@code shoal tune --register} do once they have a model.
 */
final class Challenge {
    static final int NOT_PROMOTED = 3;
    static final int LOST_RACE = 4;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Registry registry;
    private final String name;
    private final Optional<Registry.Promotion> champion;
    private final Optional<Path> championModel;
    private final PrintStream out;

    /** The champion of {@code name}, if there is one, with its model copied into {@code champions}. */
    Challenge(Registry registry, String name, Path champions, PrintStream out) {
        Registry.requireName(name);
        this.registry = registry;
        this.name = name;
        this.out = out;
        this.champion = registry.champion(name);
        this.championModel = champion.map(c -> fetchModel(c.version(), champions.resolve(name + "-v" + c.version())));
    }

    Optional<Registry.Promotion> champion() {
        return champion;
    }

    Optional<Path> championModel() {
        return championModel;
    }

    /** The champion's figures on this data; a champion that cannot be evaluated is a failure, not a bad job. */
    Optional<ModelEvaluation.Report> evaluateChampion(Preflight.Sources sources, JavaSparkContext sc) {
        return championModel.map(zip -> {
            int version = champion.orElseThrow().version();
            try {
                return ModelEvaluation.report(ModelEvaluation.evaluate(zip, sources.plan(), sources.test(), sc),
                        name + " version " + version, EvaluateCommand.testSet(sources.plan()));
            } catch (ConfigException e) {
                throw new UserFacingException("the champion, " + name + " version " + version + ", cannot be "
                        + "evaluated on this data: " + e.getMessage() + "; nothing was trained or promoted", e);
            }
        });
    }

    /** The challenger's figures: the model in run directory {@code dir}, on the same data. */
    static ModelEvaluation.Report evaluate(Path dir, Preflight.Sources sources, JavaSparkContext sc) {
        Path model = dir.resolve(RunDirectory.MODEL);
        return ModelEvaluation.report(ModelEvaluation.evaluate(model, sources.plan(), sources.test(), sc),
                model.toString(), EvaluateCommand.testSet(sources.plan()));
    }

    /**
     * Judges the run in {@code dir} (planned by {@code plan}) by the plan's gate, writes evaluation.json,
     * champion-evaluation.json and verdict.json into it, registers it, and promotes it if it passed; {@code how}
     * names the command in the promotion's note and {@code extra} goes into the version's provenance. Returns the
     * exit code: 0 promoted, {@link #NOT_PROMOTED}, or {@link #LOST_RACE}.
     */
    int decide(TrainingPlan plan, Path dir, ModelEvaluation.Report challenger,
               Optional<ModelEvaluation.Report> defender, String how, Map<String, Object> extra) {
        Gate.Verdict verdict = Gate.judge(plan.gate(), challenger.metrics(),
                defender.map(ModelEvaluation.Report::metrics));
        RunDirectory.writeJson(dir.resolve("evaluation.json"), challenger);
        defender.ifPresent(d -> RunDirectory.writeJson(dir.resolve("champion-evaluation.json"), d));
        Map<String, Object> verdictFile = new LinkedHashMap<>();
        verdictFile.put("champion", champion.map(Registry.Promotion::version).orElse(null));
        verdictFile.put("promote", verdict.promote());
        verdictFile.put("reason", verdict.reason());
        verdictFile.put("checks", verdict.checks());
        RunDirectory.writeJson(dir.resolve("verdict.json"), verdictFile);

        out.print("challenger: " + challenger.table().lines().findFirst().orElseThrow() + "\n"
                + defender.map(d -> "champion:   " + d.table().lines().findFirst().orElseThrow() + "\n").orElse(""));
        verdict.checks().forEach(c -> out.println("  " + c.reason()));
        int version = registry.register(name, versionFiles(dir), provenance(dir, extra));
        out.printf("registered %s version %d in %s; it %s the gate: %s%n", name, version, registry.root(),
                verdict.promote() ? "passed" : "did not pass", verdict.reason());
        if (!verdict.promote()) {
            out.printf("champion unchanged: %s%n", champion.map(c -> "version " + c.version()).orElse("none"));
            return NOT_PROMOTED;
        }
        long expected = champion.map(Registry.Promotion::sequence).orElse(0L);
        if (registry.promote(name, version, expected, how + ": " + verdict.reason())) {
            out.printf("version %d is now the champion of %s%n", version, name);
            return 0;
        }
        Registry.Promotion now = registry.champion(name).orElseThrow();
        out.printf("lost the race: version %d became champion of %s at %s while this %s ran, so version %d "
                + "(judged against %s) stays registered but not champion; %s again, or promote it by hand with "
                + "'shoal registry promote'%n", now.version(), name, now.at(), how, version,
                champion.map(c -> "version " + c.version()).orElse("no champion"), how);
        return LOST_RACE;
    }

    /**
     * The champion's model.zip, copied into {@code folder} with its vocabulary or alphabet (a text model is
     * evaluated with its own), and checked to be a model.
     */
    private Path fetchModel(int version, Path folder) {
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
            throw new UserFacingException("the champion's model " + where + " cannot be read: " + e.getMessage()
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

    /** The version's provenance: the run's, what it was judged against, and {@code extra}. */
    private Map<String, Object> provenance(Path dir, Map<String, Object> extra) {
        Map<String, Object> provenance = new LinkedHashMap<>();
        provenance.put("name", name);
        provenance.put("registeredAt", Instant.now().toString());
        provenance.put("runDirectory", dir.toAbsolutePath().toString());
        provenance.put("judgedAgainst", champion.map(Registry.Promotion::version).orElse(null));
        provenance.putAll(extra);
        try {
            provenance.put("run", JSON.readTree(dir.resolve(RunDirectory.PROVENANCE).toFile()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir.resolve(RunDirectory.PROVENANCE), e);
        }
        return provenance;
    }
}
