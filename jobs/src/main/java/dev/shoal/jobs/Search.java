package dev.shoal.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.driver.plan.StopMetric;
import dev.shoal.driver.plan.SyncStrategy;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.run.Preflight;
import dev.shoal.driver.run.RunDirectory;
import dev.shoal.driver.run.SparkContexts;
import dev.shoal.driver.run.TrainingRun;
import dev.shoal.driver.train.Metrics;
import dev.shoal.jobs.tune.Asha;
import dev.shoal.jobs.tune.RandomSampler;
import dev.shoal.jobs.tune.Sampler;
import dev.shoal.jobs.tune.SearchConfig;
import dev.shoal.jobs.tune.SearchSpace;
import dev.shoal.jobs.tune.TpeSampler;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * One search: trials proposed by the sampler, each trained as a Shoal run in {@code <dir>/trials/trial-NNN/} on
 * one Spark context ({@code parallel} at a time, each in a FAIR pool of its own), judged after every epoch by
 * {@link Asha}, logged to trials.jsonl; then the leaderboard and the best trial's plan.
 */
final class Search {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SearchConfig config;
    private final SearchSpace space;
    private final ObjectNode job;
    private final Path dir;
    private final int trials;
    private final PrintStream out;
    private final TrialLog log;
    private final Asha asha;
    private final Sampler sampler;
    private final long deadline;

    Search(SearchConfig config, SearchSpace space, ObjectNode job, Path dir, int trials, PrintStream out) {
        this.config = config;
        this.space = space;
        this.job = job;
        this.dir = dir;
        this.trials = trials;
        this.out = out;
        this.log = TrialLog.open(dir);
        this.asha = new Asha(config.pruning().minEpochs(), config.pruning().reduction());
        // A resumed search's rungs hold what the ended trials recorded there.
        for (ObjectNode ended : log.ended()) {
            List<Double> values = epochValues(ended);
            for (int epoch = 1; epoch <= values.size(); epoch++) {
                asha.reached(epoch, score(values.get(epoch - 1)));
            }
        }
        this.sampler = config.sampler() == SearchConfig.SamplerKind.TPE
                ? new TpeSampler(space, config.seed(), config.startupTrials())
                : new RandomSampler(space, config.seed());
        this.deadline = config.budgetMinutes() > 0
                ? System.nanoTime() + (long) (config.budgetMinutes() * 60e9) : Long.MAX_VALUE;
    }

    /** Runs the trials not ended yet; returns the best completed trial's run directory, if a trial completed. */
    Optional<Path> run() {
        TrainingPlan base = PlanBinder.bind(job, TrainingPlan.class);
        DataFetcher.fetchIfMissing(base.data());
        int parallel = config.parallel();
        boolean sharing = base.sync().strategy() == SyncStrategy.GRADIENT_SHARING
                || space.keys().containsKey("sync.strategy");
        if (sharing && parallel > 1) {
            // A gradient-sharing stage holds all its workers' slots at once; two could wait on each other.
            out.println("gradient sharing: trials run one at a time (parallel " + parallel + " ignored)");
            parallel = 1;
        }
        out.printf("search %s: %d trials of %s, %d at a time, %s sampler, metric %s (%s)%s%n", dir, trials,
                base.name(), parallel, name(config.sampler()), name(config.metric()),
                config.maximize() ? "higher is better" : "lower is better", pruning(base.training().epochs()));
        JavaSparkContext sc = SparkContexts.start(base, parallel > 1 ? Map.of("spark.scheduler.mode", "FAIR")
                : Map.of());
        ExecutorService pool = Executors.newFixedThreadPool(parallel);
        try {
            List<Future<?>> running = new ArrayList<>();
            for (int t = 0; t < trials; t++) {
                if (!log.hasEnded(t)) {
                    int trial = t;
                    running.add(pool.submit(() -> trial(trial, sc)));
                }
            }
            for (Future<?> f : running) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("the search was interrupted", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } finally {
            pool.shutdownNow();
            sc.stop();
        }
        return finish();
    }

    private void trial(int trial, JavaSparkContext sc) {
        if (System.nanoTime() > deadline) {
            return;
        }
        Map<String, JsonNode> params;
        synchronized (log) {
            params = log.startedParams(trial).orElseGet(() -> sampler.propose(trial,
                    log.observations(config.maximize())));
            log.started(trial, params);
        }
        String runId = String.format(Locale.ROOT, "trial-%03d", trial);
        Path trialsDir = dir.resolve("trials");
        out.printf("trial %d/%d started: %s%n", trial + 1, trials, describe(params));
        ObjectNode record = JSON.createObjectNode().put("trial", trial);
        record.set("params", JSON.valueToTree(params));
        record.put("metric", name(config.metric())).put("run", "trials/" + runId);
        List<Double> values = new ArrayList<>();
        record.put("startedAt", System.currentTimeMillis());
        long start = System.nanoTime();
        try {
            Files.createDirectories(trialsDir);
            setAside(trialsDir.resolve(runId));
            ObjectNode tree = job.deepCopy();
            params.forEach((key, value) -> PlanBinder.set(tree, key, value));
            PlanBinder.set(tree, "output.dir", JSON.valueToTree(trialsDir.toString()));
            PlanBinder.set(tree, "output.run-id", JSON.valueToTree(runId));
            try (PrintStream trialOut = new PrintStream(Files.newOutputStream(trialsDir.resolve(runId + ".log")),
                    true, StandardCharsets.UTF_8)) {
                TrainingPlan plan = PlanBinder.bind(tree, TrainingPlan.class);
                Preflight.Sources sources = Preflight.check(plan);
                plan = sources.plan();
                sc.setLocalProperty("spark.scheduler.pool", runId);
                TrainingRun.Outcome outcome = TrainingRun.execute(plan, sources, PlanBinder.toYaml(plan),
                        Optional.of(sc), trialOut, m -> judge(m, values));
                Metrics.Epoch saved = outcome.result().epochs().get(outcome.result().modelEpoch() - 1);
                record.put("status", "completed").put("value", metric(saved));
            }
        } catch (Pruned p) {
            record.put("status", "pruned").put("value", values.get(values.size() - 1)).put("prunedAfter", p.epoch)
                    .put("cut", p.cut);
        } catch (IOException | RuntimeException e) {
            record.put("status", "failed").put("error", String.valueOf(e.getMessage()));
        } finally {
            sc.setLocalProperty("spark.scheduler.pool", null);
        }
        record.set("epochs", JSON.valueToTree(values));
        record.put("seconds", Math.round((System.nanoTime() - start) / 1e8) / 10.0);
        record.put("endedAt", System.currentTimeMillis());
        log.ended(record);
        if (Files.isDirectory(trialsDir.resolve(runId))) {
            RunDirectory.writeJson(trialsDir.resolve(runId).resolve("trial.json"), record);
        }
        out.println(summary(record));
    }

    /** After each epoch: the metric, and the rung's verdict; a trial behind is stopped by {@link Pruned}. */
    private void judge(Metrics m, List<Double> values) {
        if (m instanceof Metrics.Epoch e) {
            double value = metric(e);
            values.add(value);
            if (config.pruning().enabled() && e.epoch() < e.epochs()) {
                Asha.Decision d = asha.reached(e.epoch(), score(value));
                if (!d.goOn()) {
                    throw new Pruned(e.epoch(), score(d.cut()));
                }
            }
        }
    }

    /** Stops a trial behind its rung; thrown through the training run, which leaves its files as they are. */
    private static final class Pruned extends RuntimeException {
        final int epoch;
        final double cut;

        Pruned(int epoch, double cut) {
            super("pruned after epoch " + epoch, null, false, false);
            this.epoch = epoch;
            this.cut = cut;
        }
    }

    private double metric(Metrics.Epoch e) {
        return config.metric() == StopMetric.ACCURACY ? e.testAccuracy() : e.testLoss();
    }

    /** Higher is better; the same map turns a score back into the metric. */
    private double score(double metric) {
        return config.maximize() ? metric : -metric;
    }

    /** A trial dir left by a search that was killed is kept beside, not trained over. */
    private static void setAside(Path run) throws IOException {
        if (Files.exists(run)) {
            int n = 1;
            while (Files.exists(run.resolveSibling(run.getFileName() + ".interrupted-" + n))) {
                n++;
            }
            Files.move(run, run.resolveSibling(run.getFileName() + ".interrupted-" + n));
        }
    }

    private String summary(ObjectNode r) {
        String head = String.format(Locale.ROOT, "trial %d/%d %s in %.0fs", r.get("trial").asInt() + 1, trials,
                r.get("status").asText(), r.get("seconds").asDouble());
        return switch (r.get("status").asText()) {
            case "completed" -> head + String.format(Locale.ROOT, ": %s %.4f (best so far: %s)",
                    name(config.metric()), r.get("value").asDouble(), best().map(b -> String.format(Locale.ROOT,
                            "trial %d, %.4f", b.get("trial").asInt() + 1, b.get("value").asDouble())).orElse("-"));
            case "pruned" -> head + String.format(Locale.ROOT, " after epoch %d: %s %.4f, behind the rung's %.4f",
                    r.get("prunedAfter").asInt(), name(config.metric()), r.get("value").asDouble(),
                    r.get("cut").asDouble());
            default -> head + ": " + r.get("error").asText();
        };
    }

    /** The leaderboard, and the best trial's plan and run directory. */
    private Optional<Path> finish() {
        List<ObjectNode> ranked = new ArrayList<>(log.ended());
        ranked.sort(Comparator.comparing((ObjectNode r) -> rank(r.get("status").asText()))
                .thenComparing(r -> -score(r.path("value").asDouble())));
        String table = leaderboard(ranked);
        write(dir.resolve("leaderboard.md"), table);
        out.print(table);
        int notRun = trials - ranked.size();
        if (notRun > 0) {
            out.printf("%d trial(s) not started: the budget of %s minutes ran out%n", notRun,
                    config.budgetMinutes());
        }
        Optional<ObjectNode> best = best();
        if (best.isEmpty()) {
            out.println("no trial completed; see the trials' logs in " + dir.resolve("trials"));
            return Optional.empty();
        }
        ObjectNode tree = job.deepCopy();
        TrialLog.params(best.get()).forEach((key, value) -> PlanBinder.set(tree, key, value));
        String yaml = String.format(Locale.ROOT, "# The best trial of the search %s: trial %d, %s %.4f.%n",
                dir, best.get().get("trial").asInt() + 1, name(config.metric()), best.get().get("value").asDouble())
                + PlanBinder.toYaml(PlanBinder.bind(tree, TrainingPlan.class));
        write(dir.resolve("best.yaml"), yaml);
        out.printf("best: trial %d (%s); its plan is %s ('shoal train %s' trains it)%n",
                best.get().get("trial").asInt() + 1, describe(TrialLog.params(best.get())), dir.resolve("best.yaml"),
                dir.resolve("best.yaml"));
        return Optional.of(dir.resolve(best.get().get("run").asText()));
    }

    private Optional<ObjectNode> best() {
        return log.ended().stream().filter(r -> r.get("status").asText().equals("completed"))
                .max(Comparator.comparingDouble(r -> score(r.get("value").asDouble())));
    }

    private static int rank(String status) {
        return switch (status) {
            case "completed" -> 0;
            case "pruned" -> 1;
            default -> 2;
        };
    }

    private String leaderboard(List<ObjectNode> ranked) {
        StringBuilder t = new StringBuilder("| rank | trial | status | " + name(config.metric()) + " | epochs | ");
        t.append(String.join(" | ", space.keys().keySet())).append(" |\n|");
        t.append("---|".repeat(5 + space.keys().size())).append('\n');
        int rank = 1;
        for (ObjectNode r : ranked) {
            boolean failed = r.get("status").asText().equals("failed");
            t.append(String.format(Locale.ROOT, "| %d | %d | %s | %s | %d | ", rank++, r.get("trial").asInt() + 1,
                    r.get("status").asText(), failed ? "-" : String.format(Locale.ROOT, "%.4f",
                            r.get("value").asDouble()), r.path("epochs").size()));
            Map<String, JsonNode> params = TrialLog.params(r);
            t.append(space.keys().keySet().stream().map(k -> value(params.get(k))).collect(Collectors.joining(
                    " | "))).append(" |\n");
        }
        return t.toString();
    }

    private String pruning(int epochs) {
        if (!config.pruning().enabled()) {
            return "";
        }
        List<String> rungs = new ArrayList<>();
        for (int e = 1; e < epochs; e++) {
            if (asha.isRung(e)) {
                rungs.add(Integer.toString(e));
            }
        }
        return rungs.isEmpty() ? "; no rung before the last epoch, so nothing is pruned"
                : "; pruning after epoch " + String.join(", ", rungs) + " (each keeps the best 1/"
                + config.pruning().reduction() + ")";
    }

    private static List<Double> epochValues(JsonNode record) {
        List<Double> values = new ArrayList<>();
        record.path("epochs").forEach(v -> values.add(v.asDouble()));
        return values;
    }

    private static String describe(Map<String, JsonNode> params) {
        return params.entrySet().stream().map(e -> e.getKey() + "=" + value(e.getValue()))
                .collect(Collectors.joining(", "));
    }

    private static String value(JsonNode v) {
        if (v == null) {
            return "-";
        }
        return v.isFloatingPointNumber() ? String.format(Locale.ROOT, "%.4g", v.asDouble())
                : v.isTextual() ? v.asText() : v.toString();
    }

    private static String name(Enum<?> e) {
        return PlanBinder.enumName(e);
    }

    private static void write(Path file, String text) {
        RunDirectory.writeAtomically(file, p -> Files.writeString(p, text));
    }
}
