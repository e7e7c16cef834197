package dev.shoal.jobs;

import dev.shoal.driver.data.IdxFile;
import dev.shoal.driver.plan.DataConfig;
import dev.shoal.driver.plan.DataFormat;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.run.Preflight;
import dev.shoal.driver.run.RunDirectory;
import dev.shoal.driver.run.SparkContexts;
import dev.shoal.driver.run.TrainingRun;
import dev.shoal.kernel.JitDirectives;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.UserFacingException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal bench-load}: how long a run takes to load a job's data from IDX files and from a Parquet table. */
@Command(name = "bench-load", mixinStandardHelpOptions = true,
        description = {"Time loading a job's IDX data (its training and test sets, opened and loaded side by side "
                + "into executor memory as 'shoal train' does before its first epoch) against the same images "
                + "written as a Parquet table (a float array column, as Spark writes it), and against both "
                + "repeated --scale times.",
                "Each load runs in a JVM of its own, the cases taking turns, so that a machine's drift hits all "
                + "alike: the first load in a JVM is the cold one a 'shoal train' run pays (Spark SQL starts for a "
                + "table), the next --warm are timed in the same JVM once it is warm. Writes bench-load.md and "
                + "bench-load.json into --out."})
final class BenchLoadCommand implements Callable<Integer> {
    @Option(names = "--job", defaultValue = "conf/fashion-mnist-mlp.yaml", description = "Job file with IDX data "
            + "(default: ${DEFAULT-VALUE}, under the Shoal installation).")
    String job;

    @Option(names = "--scale", defaultValue = "10", description = "Copies of the data in the large cases "
            + "(default: ${DEFAULT-VALUE}); 1 leaves them out.")
    int scale;

    @Option(names = "--repeats", defaultValue = "3", description = "JVMs per case (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--warm", defaultValue = "3", description = "Loads timed after the cold one in each JVM "
            + "(default: ${DEFAULT-VALUE}).")
    int warm;

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default: runs/bench-load-<time>).")
    Path out;

    /** One way of giving the job its data: the keys that say so, and the rows a load must end with. */
    private record Case(String name, List<String> sets, long rows) {
    }

    /** What one JVM measured: the seconds of each load, the cold one first. */
    record Loads(List<Double> seconds) {
    }

    @Override
    public Integer call() throws IOException {
        if (scale < 1 || repeats < 1 || warm < 1) {
            String key = scale < 1 ? "--scale" : repeats < 1 ? "--repeats" : "--warm";
            throw new ConfigException(key, scale < 1 ? scale : repeats < 1 ? repeats : warm, "must be at least 1");
        }
        Path jobFile = BenchCommand.jobFile(job);
        TrainingPlan plan = TrainCommand.plan(jobFile, List.of());
        if (plan.data().format() != DataFormat.IDX) {
            throw new ConfigException("data.format", plan.data().format().name().toLowerCase(Locale.ROOT),
                    "shoal bench-load starts from IDX files");
        }
        DataFetcher.fetchIfMissing(plan.data());
        Path dir = out != null ? out : Path.of("runs", "bench-load-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        Path data = dir.resolve("data");
        Files.createDirectories(data);
        try {
            List<Case> cases = writeData(plan, data);
            Map<String, List<Loads>> measured = new LinkedHashMap<>();
            for (int r = 0; r < repeats; r++) {
                for (Case c : cases) {
                    Path result = dir.resolve(c.name() + "-" + r + ".json");
                    List<String> command = new ArrayList<>(List.of("bench-load-run", jobFile.toString(), "--loads",
                            Integer.toString(1 + warm), "--rows", Long.toString(c.rows()), "--result",
                            result.toString()));
                    c.sets().forEach(s -> command.addAll(List.of("--set", s)));
                    System.out.printf(Locale.ROOT, "%n== %s, JVM %d of %d%n", c.name(), r + 1, repeats);
                    int exit = run(Shoal.inNewJvm(command.toArray(String[]::new)));
                    if (exit != 0) {
                        throw new UserFacingException("loading " + c.name() + " failed (exit code " + exit
                                + ", output above)");
                    }
                    measured.computeIfAbsent(c.name(), k -> new ArrayList<>())
                            .add(BenchCommand.JSON.readValue(result.toFile(), Loads.class));
                    Files.delete(result);
                }
            }
            String table = table(cases, measured);
            Files.writeString(dir.resolve("bench-load.md"), table);
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("job", jobFile.toString());
            json.put("cpu", BenchCommand.cpu());
            json.put("loads", measured);
            BenchCommand.JSON.writeValue(dir.resolve("bench-load.json").toFile(), json);
            System.out.printf("%n%s%nwritten: %s, %s%n", table, dir.resolve("bench-load.md"),
                    dir.resolve("bench-load.json"));
            return 0;
        } finally {
            RunDirectory.deleteAll(data);
        }
    }

    /** The job's data as a Parquet table and, with a scale, both repeated: the cases and their keys. */
    private List<Case> writeData(TrainingPlan plan, Path data) {
        DataConfig d = plan.data();
        List<Case> cases = new ArrayList<>(List.of(new Case("idx", List.of(), rows(d, 1)),
                new Case("parquet", table(data.resolve("train.parquet"), data.resolve("test.parquet")), rows(d, 1))));
        SparkSession spark = SparkSession.builder().master("local[" + plan.sync().workers() + "]")
                .appName("shoal bench-load").config("spark.ui.enabled", "false").getOrCreate();
        try {
            IdxCopies.writeParquet(spark, d.trainImages(), d.trainLabels(), data.resolve("train.parquet"));
            IdxCopies.writeParquet(spark, d.testImages(), d.testLabels(), data.resolve("test.parquet"));
            if (scale > 1) {
                String x = "-x" + scale;
                IdxCopies.repeatParquet(spark, data.resolve("train.parquet"), scale,
                        data.resolve("train" + x + ".parquet"));
                IdxCopies.repeatParquet(spark, data.resolve("test.parquet"), scale,
                        data.resolve("test" + x + ".parquet"));
                Map<String, String> idx = new LinkedHashMap<>();
                idx.put("train-images", d.trainImages());
                idx.put("train-labels", d.trainLabels());
                idx.put("test-images", d.testImages());
                idx.put("test-labels", d.testLabels());
                List<String> sets = new ArrayList<>();
                idx.forEach((key, path) -> {
                    Path copy = data.resolve(key + x + ".idx");
                    IdxCopies.repeatIdx(path, scale, copy);
                    sets.add("data." + key + "=" + copy);
                });
                cases.add(new Case("idx" + x, sets, rows(d, scale)));
                cases.add(new Case("parquet" + x, table(data.resolve("train" + x + ".parquet"),
                        data.resolve("test" + x + ".parquet")), rows(d, scale)));
            }
        } finally {
            spark.stop();
        }
        return cases;
    }

    /** Training and test rows of the job's data repeated {@code copies} times (data.train-limit applies). */
    private static long rows(DataConfig d, int copies) {
        long train = (long) copies * IdxFile.open(d.trainImages()).records();
        return (d.trainLimit() > 0 ? Math.min(d.trainLimit(), train) : train)
                + (long) copies * IdxFile.open(d.testImages()).records();
    }

    /** The keys that train on a Parquet table pair written by {@link IdxCopies#writeParquet}. */
    private static List<String> table(Path train, Path test) {
        return List.of("data.format=parquet", "data.train=" + train, "data.test=" + test, "data.label=label");
    }

    /** The markdown table: each case's cold and warm medians, and their ratios to IDX at the same size. */
    private String table(List<Case> cases, Map<String, List<Loads>> measured) {
        boolean archive = java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .anyMatch(o -> o.startsWith("-XX:SharedArchiveFile"));
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "Loading %s's data (training and test sets), "
                + "%d JVMs per case, a cold load and %d warm ones each; medians; class-data archive %s. CPU: %s.%n%n",
                Path.of(job).getFileName(), repeats, warm, archive ? "in use" : "not in use (see scripts/shoal)",
                BenchCommand.cpu()));
        s.append("| data | rows | cold load s | warm load s | cold x IDX | warm x IDX | warm us per row |\n");
        s.append("|---|---|---|---|---|---|---|\n");
        Map<String, double[]> medians = new LinkedHashMap<>();
        for (Case c : cases) {
            List<Loads> jvms = measured.get(c.name());
            double cold = BenchCommand.median(jvms.stream().map(l -> l.seconds().get(0)).toList());
            double warmSeconds = BenchCommand.median(jvms.stream()
                    .flatMap(l -> l.seconds().subList(1, l.seconds().size()).stream()).toList());
            medians.put(c.name(), new double[] {cold, warmSeconds});
            double[] idx = medians.get(c.name().replace("parquet", "idx"));
            s.append(String.format(Locale.ROOT, "| %s | %,d | %.2f | %.2f | %.2f | %.2f | %.2f |%n", c.name(),
                    c.rows(), cold, warmSeconds, cold / idx[0], warmSeconds / idx[1], 1e6 * warmSeconds / c.rows()));
        }
        if (scale > 1) {
            String x = "-x" + scale;
            s.append(String.format(Locale.ROOT, "%n%d times the rows, warm: %.1f times the time for Parquet, %.1f "
                    + "for IDX (linear: %d).%n", scale, medians.get("parquet" + x)[1] / medians.get("parquet")[1],
                    medians.get("idx" + x)[1] / medians.get("idx")[1], scale));
        }
        return s.toString();
    }

    private static int run(List<String> command) {
        try {
            return new ProcessBuilder(command).inheritIO().start().waitFor();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start a JVM: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** {@code shoal bench-load-run}: one JVM's loads inside {@code shoal bench-load}. */
    @Command(name = "bench-load-run", hidden = true, mixinStandardHelpOptions = true,
            description = "Load a job's data several times in this JVM and write the seconds as JSON (used by "
                    + "'shoal bench-load').")
    static final class Run implements Callable<Integer> {
        @picocli.CommandLine.Parameters(index = "0", description = "The job file.")
        Path job;

        @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a job-file key.")
        List<String> sets = new ArrayList<>();

        @Option(names = "--loads", required = true, description = "How many loads.")
        int loads;

        @Option(names = "--rows", required = true, description = "Training and test rows every load must give.")
        long rows;

        @Option(names = "--result", required = true, description = "Where to write the seconds.")
        Path result;

        @Override
        public Integer call() throws IOException {
            Preflight.Sources sources = Preflight.check(TrainCommand.plan(job, sets));
            JitDirectives.install(); // as a training run does before Spark starts
            JavaSparkContext sc = SparkContexts.start(sources.plan());
            List<Double> seconds = new ArrayList<>();
            try {
                for (int i = 0; i < loads; i++) {
                    TrainingRun.Loaded loaded = TrainingRun.load(sources, sc);
                    long got = loaded.train().examples() + loaded.test().examples();
                    if (got != rows) {
                        throw new UserFacingException("load " + (i + 1) + " gave " + got + " rows, not " + rows);
                    }
                    seconds.add(loaded.seconds());
                    System.out.printf(Locale.ROOT, "load %d: %.2f s%n", i + 1, loaded.seconds());
                    loaded.train().blocks().unpersist(true);
                    loaded.test().blocks().unpersist(true);
                }
            } finally {
                sc.stop();
            }
            BenchCommand.JSON.writeValue(result.toFile(), new Loads(seconds));
            return 0;
        }
    }
}
