package dev.shoal.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.shoal.driver.bench.BenchReport;
import dev.shoal.driver.bench.BenchSummary;
import dev.shoal.driver.bench.BenchSystem;
import dev.shoal.driver.bench.SystemRun;
import dev.shoal.driver.plan.DataFormat;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.run.HeapSize;
import dev.shoal.driver.run.Preflight;
import dev.shoal.driver.run.SparkContexts;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.UserFacingException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code shoal bench}: the same model, data, batch and seed through every system in one invocation, each system
 * in a JVM of its own (same JVM flags as this one, same ND4J thread setting), taking turns: A B C, A B C...
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Train the same model on the same data through plain single-process DL4J, Shoal and "
                + "dl4j-spark, one after the other, and report examples/s, time to a target accuracy, final "
                + "accuracy, memory and ratios against plain DL4J.",
                "Writes bench.json and bench.md into the output folder and prints the table."})
final class BenchCommand implements Callable<Integer> {

    /** Model suites: which job file a suite trains, for how many epochs unless told, and through which systems. */
    enum Suite {
        mlp("conf/fashion-mnist-mlp.yaml", 5, List.of(BenchSystem.values())),
        cnn("conf/fashion-mnist-lenet.yaml", 5, List.of(BenchSystem.values())),
        // dl4j-spark trains through DL4J's own layers, as plain DL4J does (~5 minutes an epoch of IMDB through the
        // LSTM on one thread, ~20 through attention, by bench-kernel's step times): left out unless asked for.
        lstm("conf/imdb-lstm.yaml", 3, SEQUENCE_SYSTEMS),
        attention("conf/imdb-attention.yaml", 3, SEQUENCE_SYSTEMS);

        final String job;
        final int epochs;
        final List<BenchSystem> systems;

        Suite(String job, int epochs, List<BenchSystem> systems) {
            this.job = job;
            this.epochs = epochs;
            this.systems = systems;
        }

        /** The suite's job file in the Shoal installation, whatever the working directory. */
        Path jobFile() {
            return Path.of(System.getProperty("shoal.home", ".")).resolve(job);
        }
    }

    private static final List<BenchSystem> SEQUENCE_SYSTEMS = List.of(BenchSystem.DL4J, BenchSystem.SHOAL_AVERAGING,
            BenchSystem.SHOAL_SHARING_THRESHOLD, BenchSystem.PYTORCH, BenchSystem.PYTORCH_DDP);

    @Option(names = "--suite", defaultValue = "mlp", description = "Model suite: ${COMPLETION-CANDIDATES} "
            + "(default: ${DEFAULT-VALUE}). mlp and cnn on Fashion-MNIST: mlp is 784-256-128-10, cnn is LeNet-style "
            + "(conv 5x5 x20, pool, conv 5x5 x50, pool, dense 500). lstm and attention on IMDB reviews (200 "
            + "tokens, a vocabulary of 20,000): conf/imdb-lstm.yaml and conf/imdb-attention.yaml.")
    Suite suite;

    @Option(names = "--job", paramLabel = "JOB.yaml", description = "Job file to take model, data and "
            + "hyperparameters from, instead of the suite's.")
    Path job;

    @Option(names = "--epochs", description = "Epochs per run (default: 5 for mlp and cnn, 3 for lstm and "
            + "attention).")
    Integer epochs;

    @Option(names = "--quick", description = "Smoke run: the first 6,000 training examples, 2 epochs.")
    boolean quick;

    @Option(names = "--repeats", defaultValue = "1", description = "Runs per system, taken in turns "
            + "(default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--systems", split = ",", paramLabel = "SYSTEM", description = "Systems to run, comma "
            + "separated: ${COMPLETION-CANDIDATES} (default: all; for lstm and attention, all but dl4j-spark's).",
            converter = SystemConverter.class)
    List<BenchSystem> systems;

    @Option(names = "--target", defaultValue = "0.85", description = "Test accuracy that 'time to target' "
            + "measures (default: ${DEFAULT-VALUE}).")
    double target;

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default: runs/bench-<time>).")
    Path out;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a job-file key for every system.")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() throws IOException {
        if (epochs == null) {
            epochs = suite.epochs;
        }
        if (systems == null) {
            systems = suite.systems;
        }
        if (epochs < 1 || repeats < 1) {
            throw new ConfigException(epochs < 1 ? "--epochs" : "--repeats", epochs < 1 ? epochs : repeats,
                    "must be >= 1");
        }
        Path dir = out != null ? out : Path.of("runs", "bench-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        Files.createDirectories(dir);
        List<String> sets = new ArrayList<>(overrides);
        sets.add("training.epochs=" + (quick ? 2 : epochs));
        if (quick) {
            sets.add("data.train-limit=6000");
        }
        sets.add("output.dir=" + dir.resolve("runs"));
        TrainingPlan plan = TrainCommand.plan(job != null ? job : suite.jobFile(), sets);
        DataFetcher.fetchIfMissing(plan.data());
        Preflight.Sources sources = Preflight.check(plan);
        plan = sources.plan();
        if (plan.data().format() != DataFormat.IDX && plan.data().format() != DataFormat.TEXT) {
            throw new ConfigException("data.format", plan.data().format().name().toLowerCase(Locale.ROOT),
                    "shoal bench runs on idx and text data");
        }
        // Shoal's systems get the fixed heap `shoal train` sizes from the job; the others this JVM's (4 GiB).
        List<String> heap = HeapSize.of(sources).map(HeapSize::jvmOptions).orElse(List.of());
        Path planFile = dir.resolve("plan.yaml");
        Files.writeString(planFile, PlanBinder.toYaml(plan));

        Map<BenchSystem, String> unavailable = new EnumMap<>(BenchSystem.class);
        String python = systems.stream().anyMatch(BenchSystem::isPyTorch) ? PyTorchBaseline.python() : null;
        for (BenchSystem system : systems) {
            String reason = system.isPyTorch() ? PyTorchBaseline.unavailableReason(python, plan.model().type())
                    : null;
            if (reason != null) {
                unavailable.put(system, reason);
            }
        }
        boolean pytorch = systems.stream().anyMatch(s -> s.isPyTorch() && !unavailable.containsKey(s));
        Path tensors = pytorch ? PyTorchBaseline.writeData(sources, dir.resolve("pytorch-data")) : null;
        Map<BenchSystem, List<SystemRun>> runs = new EnumMap<>(BenchSystem.class);
        Map<BenchSystem, String> failures = new EnumMap<>(BenchSystem.class);
        List<BenchSystem> runnable = systems.stream().filter(s -> !unavailable.containsKey(s)).toList();
        boolean cluster = runnable.stream().anyMatch(BenchSystem::onCluster);
        if (cluster) {
            localCluster("start", Integer.toString(plan.sync().workers()));
        }
        try {
            runAll(runnable, repeats, plan, sources, python, tensors, heap, planFile, dir, runs, failures);
        } finally {
            if (cluster) {
                localCluster("stop");
            }
        }
        return report(systems, unavailable, failures, runs, plan, dir);
    }

    private void runAll(List<BenchSystem> runnable, int repeats, TrainingPlan plan, Preflight.Sources sources,
                        String python, Path tensors, List<String> heap, Path planFile, Path dir,
                        Map<BenchSystem, List<SystemRun>> runs, Map<BenchSystem, String> failures)
            throws IOException {
        for (int r = 1; r <= repeats; r++) {
            for (BenchSystem system : runnable) {
                if (failures.containsKey(system)) {
                    continue;
                }
                System.out.printf("%n== %s, run %d of %d: %s%n", system, r, repeats, system.description());
                Path result = dir.resolve(system + "-" + r + ".json");
                // One PyTorch process gets all the workers' threads; every other process, one worker's.
                boolean oneProcess = system == BenchSystem.PYTORCH || system == BenchSystem.PYTORCH_FLUSH;
                int threads = plan.sync().threadsPerWorker() * (oneProcess ? plan.sync().workers() : 1);
                int batch = system.batchPerWorker(plan.training().batchSize(), plan.sync().workers());
                List<String> command = system.isPyTorch()
                        ? PyTorchBaseline.command(python, sources, tensors, oneProcess ? 1 : plan.sync().workers(),
                        threads, batch, system == BenchSystem.PYTORCH_FLUSH, result)
                        : jvm(system, system.isShoal() ? heap : List.of(), planFile, result, dir, r);
                int exit = run(system, command, threads);
                if (exit != 0 || !Files.exists(result)) {
                    failures.put(system, "exit code " + exit + " (output above)");
                } else {
                    runs.computeIfAbsent(system, s -> new ArrayList<>())
                            .add(JSON.readValue(result.toFile(), SystemRun.class));
                }
            }
        }
    }

    private int report(List<BenchSystem> systems, Map<BenchSystem, String> unavailable,
                       Map<BenchSystem, String> failures, Map<BenchSystem, List<SystemRun>> runs, TrainingPlan plan,
                       Path dir) throws IOException {
        List<BenchSummary> summaries = new ArrayList<>();
        for (BenchSystem system : systems) {
            if (unavailable.containsKey(system)) {
                summaries.add(BenchSummary.skipped(system, unavailable.get(system)));
            } else if (failures.containsKey(system)) {
                summaries.add(BenchSummary.failed(system, failures.get(system)));
            } else {
                summaries.add(BenchSummary.of(system, runs.get(system), target));
            }
        }
        String table = BenchReport.table(summaries, target);
        String context = String.format("%s, %d epoch(s)%s, batch %d (split across the workers by every system "
                        + "that has workers: an epoch takes as many steps as one process's), %d workers averaging "
                        + "every %d steps, %d ND4J thread(s) per worker; %d run(s) per system in turns. CPU: %s.%n",
                plan.name(), plan.training().epochs(), quick ? " on 6,000 examples" : "",
                plan.training().batchSize(), plan.sync().workers(), plan.sync().averageEvery(),
                plan.sync().threadsPerWorker(), repeats, cpu());
        String steps = "## Where a step's time goes\n\nEpochs after the first, every run: milliseconds of training "
                + "per optimizer step of one worker, split into computing (forward, backward, update), exchanging "
                + "(models or gradients between workers) and the rest (launching work, waiting for the slowest "
                + "worker); then the evaluation after each epoch.\n\n" + BenchReport.stepTimes(summaries);
        Files.writeString(dir.resolve("bench.md"), "# shoal bench\n\n" + context + "\n" + table + "\n" + steps);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("context", context.trim());
        json.put("targetAccuracy", target);
        json.put("summaries", summaries);
        Map<String, List<SystemRun>> runsById = new LinkedHashMap<>();
        runs.forEach((system, list) -> runsById.put(system.id(), list));
        json.put("runs", runsById);
        JSON.writeValue(dir.resolve("bench.json").toFile(), json);
        System.out.printf("%n%s%n%s%n%s%nwritten: %s, %s%n", context, table, steps, dir.resolve("bench.md"),
                dir.resolve("bench.json"));
        return failures.isEmpty() ? 0 : 1;
    }

    /**
     * The command that runs one system in a JVM of its own, with {@code heap}'s options (Shoal's systems: the heap
     * `shoal train` would give the job) or, when empty, this JVM's.
     */
    private static List<String> jvm(BenchSystem system, List<String> heap, Path planFile, Path result, Path dir,
                                    int run) {
        return Shoal.inNewJvm(heap, "bench-system", system.id(), "--plan", planFile.toString(), "--result",
                result.toString(), "--work", dir.toString(), "--run-id", system + "-" + run);
    }

    /**
     * Starts or stops the bench's standalone cluster ({@code scripts/local-cluster} on a port and in a folder of
     * its own, so a cluster the user runs is left alone).
     */
    private static void localCluster(String... arguments) {
        Path home = Path.of(System.getProperty("shoal.home", "."));
        List<String> command = new ArrayList<>(List.of(home.resolve("scripts/local-cluster").toString()));
        command.addAll(List.of(arguments));
        ProcessBuilder builder = new ProcessBuilder(command).inheritIO();
        builder.environment().put("SHOAL_CLUSTER_PORT", Integer.toString(BenchSystem.Cluster.PORT));
        builder.environment().put("SHOAL_CLUSTER_DIR", home.resolve(BenchSystem.Cluster.DIR).toString());
        try {
            int exit = builder.start().waitFor();
            if (exit != 0) {
                throw new UserFacingException("scripts/local-cluster " + String.join(" ", arguments)
                        + " failed (exit code " + exit + ", output above)");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run scripts/local-cluster: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserFacingException("interrupted while running scripts/local-cluster");
        }
    }

    /** Runs a system's command and waits for it. */
    private static int run(BenchSystem system, List<String> command, int threads) {
        ProcessBuilder builder = new ProcessBuilder(command).inheritIO();
        // Every system gets the thread count the plan gives a worker: for dl4j-spark this is the only way.
        builder.environment().put("OMP_NUM_THREADS", Integer.toString(threads));
        try {
            return builder.start().waitFor();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + system + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** The median of {@code values}. */
    static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int m = sorted.size() / 2;
        return sorted.size() % 2 == 1 ? sorted.get(m) : (sorted.get(m - 1) + sorted.get(m)) / 2;
    }

    /** A job file named on a bench's command line: as given if it exists there, else in the Shoal installation. */
    static Path jobFile(String job) {
        return Path.of(job).isAbsolute() || Files.exists(Path.of(job)) ? Path.of(job)
                : Path.of(System.getProperty("shoal.home", ".")).resolve(job);
    }

    /**
     * The machine's CPU as /proc/cpuinfo names it (model name, family, model), its cores and the OpenBLAS kernels
     * asked for (scripts/openblas-kernels): figures compare only within one machine, and the same job ran twice as
     * fast on one CPU as on another.
     */
    static String cpu() {
        return cpuModel() + ", OpenBLAS kernels: "
                + SparkContexts.openBlasKernels().map(k -> k + " (OPENBLAS_CORETYPE)").orElse("OpenBLAS's choice");
    }

    private static String cpuModel() {
        Map<String, String> fields = new LinkedHashMap<>();
        try (var lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            lines.takeWhile(l -> !l.isBlank()).forEach(l -> {
                int colon = l.indexOf(':');
                if (colon > 0) {
                    fields.putIfAbsent(l.substring(0, colon).trim(), l.substring(colon + 1).trim());
                }
            });
        } catch (IOException e) {
            return System.getProperty("os.arch") + ", " + Runtime.getRuntime().availableProcessors() + " cores";
        }
        return String.format(Locale.ROOT, "%s (family %s, model %s), %d cores", fields.getOrDefault("model name",
                "?"), fields.getOrDefault("cpu family", "?"), fields.getOrDefault("model", "?"),
                Runtime.getRuntime().availableProcessors());
    }

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Accepts the systems' ids (dl4j, shoal-averaging, ...). */
    static final class SystemConverter implements picocli.CommandLine.ITypeConverter<BenchSystem> {
        @Override
        public BenchSystem convert(String value) {
            for (BenchSystem s : BenchSystem.values()) {
                if (s.id().equals(value)) {
                    return s;
                }
            }
            throw new picocli.CommandLine.TypeConversionException("unknown system '" + value + "'; expected one of "
                    + java.util.Arrays.stream(BenchSystem.values()).map(BenchSystem::id).toList());
        }
    }
}
