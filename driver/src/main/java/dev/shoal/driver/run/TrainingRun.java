package dev.shoal.driver.run;

import dev.shoal.driver.data.CharDataSource;
import dev.shoal.driver.data.DataSource;
import dev.shoal.driver.data.InputFiles;
import dev.shoal.driver.data.TextDataSource;
import dev.shoal.driver.plan.ClientSplit;
import dev.shoal.driver.plan.FederatedConfig;
import dev.shoal.driver.plan.SyncStrategy;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.train.Metrics;
import dev.shoal.driver.train.Trainer;
import dev.shoal.driver.train.TrainingData;
import dev.shoal.driver.train.TrainingResult;
import dev.shoal.driver.train.TrainingState;
import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.Gan;
import dev.shoal.kernel.InputShape;
import dev.shoal.kernel.JitDirectives;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.WorkerKernel;
import dev.shoal.kernel.config.ModelType;
import dev.shoal.kernel.config.UserFacingException;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Runs one plan from start to finish and leaves a complete run directory: plan.yaml first, then metrics as
 * training goes, then model.zip, then provenance.json. A run that fails leaves no model and no provenance, so
 * nothing claims success.
 */
public final class TrainingRun {
    private TrainingRun() {
    }

    /** What a finished run left behind. */
    public record Outcome(Path directory, TrainingResult result) {
    }

    /**
     * @param sources  the plan's data, already checked by {@link Preflight}
     * @param planYaml the resolved plan, written as plan.yaml
     * @param sc       the Spark context to run in; empty to start (and stop) one for this run
     */
    public static Outcome execute(TrainingPlan plan, Preflight.Sources sources, String planYaml,
                                  Optional<JavaSparkContext> sc, PrintStream out) {
        return execute(plan, sources, planYaml, sc, out, m -> { });
    }

    /** Like {@link #execute(TrainingPlan, Preflight.Sources, String, Optional, PrintStream)}, also
     * handing every metrics record to {@code observer}. */
    public static Outcome execute(TrainingPlan plan, Preflight.Sources sources, String planYaml,
                                  Optional<JavaSparkContext> sc, PrintStream out, Consumer<Metrics> observer) {
        Instant started = Instant.now();
        String runId = plan.output().runId().isEmpty()
                ? plan.name() + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"))
                : plan.output().runId();
        try (RunDirectory dir = RunDirectory.create(Path.of(plan.output().dir()), runId)) {
            dir.writeAtomically(RunDirectory.PLAN, p -> Files.writeString(p, planYaml));
            out.println("run directory " + dir.path());
            CheckpointStore checkpoints = CheckpointStore.forRun(plan.checkpoint(), dir.path());
            return withSpark(plan, sc, spark ->
                    train(plan, sources, spark, dir, checkpoints, Optional.empty(), out, started, observer));
        }
    }

    /**
     * Continues the run in {@code runDir} (planned by {@code plan}, its plan.yaml) from its newest usable
     * checkpoint; a damaged newer one is reported on {@code out} and skipped. The finished run is the one an
     * uninterrupted run would have left.
     */
    public static Outcome resume(Path runDir, TrainingPlan plan, Preflight.Sources sources,
                                 Optional<JavaSparkContext> sc, PrintStream out) {
        Instant started = Instant.now();
        CheckpointStore checkpoints = CheckpointStore.forRun(plan.checkpoint(), runDir);
        CheckpointStore.Saved saved = checkpoints.newest(w -> out.println("warning: " + w)).orElseThrow(() ->
                new UserFacingException("cannot resume " + runDir + ": no usable checkpoint in "
                        + checkpoints.location() + "; start it again with 'shoal train <job.yaml>'"));
        try (RunDirectory dir = RunDirectory.reopen(runDir, saved.metricsBytes())) {
            out.printf("resuming %s from %s (%d epoch(s) and %d round(s) done)%n", runDir, saved.file(),
                    saved.state().epoch(), saved.state().round());
            return withSpark(plan, sc, spark ->
                    train(plan, sources, spark, dir, checkpoints, Optional.of(saved.state()), out, started,
                            m -> { }));
        }
    }

    private static Outcome withSpark(TrainingPlan plan, Optional<JavaSparkContext> sc,
                                     Function<JavaSparkContext, Outcome> run) {
        // Before Spark starts, whose start-up code is among what C2 should skip; here, not at every command's
        // start: a JVM that does not train (--help, the heap probe, the bench's reference systems) is left as is.
        JitDirectives.install();
        if (sc.isPresent()) {
            return run.apply(sc.get());
        }
        JavaSparkContext own = SparkContexts.start(plan);
        try {
            return run.apply(own);
        } finally {
            ClassArchive.loadTableClasses(own);
            own.stop();
        }
    }

    /** Trains from {@code resumeFrom}, or from a fresh model when it is empty: load, fit, write. */
    private static Outcome train(TrainingPlan plan, Preflight.Sources sources, JavaSparkContext sc,
                                 RunDirectory dir, CheckpointStore checkpoints, Optional<TrainingState> resumeFrom,
                                 PrintStream out, Instant started, Consumer<Metrics> observer) {
        long t0 = System.nanoTime();
        Loaded data = load(plan, sources, sc, dir, out);
        Fitted fitted = fit(plan, data, sc, dir, checkpoints, resumeFrom, out, observer);
        return write(plan, data, fitted, sc, dir, resumeFrom.isPresent(), out, started, t0);
    }

    /** The run's data in executor memory, and how long loading took. */
    public record Loaded(Preflight.Sources sources, TrainingData train, TrainingData test, double seconds) {
    }

    /** What fitting left: the result, the driver's copy of the network, the TensorBoard log, and its seconds. */
    private record Fitted(TrainingResult result, WorkerKernel driverKernel, Optional<TensorBoardLog> tensorboard,
                          double seconds) {
    }

    private static Loaded load(TrainingPlan plan, Preflight.Sources sources, JavaSparkContext sc, RunDirectory dir,
                               PrintStream out) {
        Loaded loaded = load(sources, sc);
        TrainingData train = loaded.train();
        TrainingData test = loaded.test();
        out.printf("loaded %,d training and %,d test examples on %d workers in %.1fs (master %s)%n",
                train.examples(), test.examples(), plan.sync().workers(), loaded.seconds(), sc.master());
        if (train.skipped() + test.skipped() > 0) {
            out.printf("skipped %,d training and %,d test records that cannot be used (data.skip-bad-records; the "
                    + "executors' log names each)%n", train.skipped(), test.skipped());
        }
        dir.accept(new Metrics.Data(train.examples(), train.skipped(), test.examples(), test.skipped()));
        return loaded;
    }

    /**
     * Opens the plan's training and test sets and loads them into executor memory, side by side, as a run does
     * before its first epoch (also what {@code shoal bench-load} times).
     */
    public static Loaded load(Preflight.Sources sources, JavaSparkContext sc) {
        long t0 = System.nanoTime();
        TrainingPlan plan = sources.plan();
        Preflight.Sources ready = sources.open(sc);
        var loaded = SideBySide.run(() -> load(sc, ready.train(), trainingPartitions(plan), plan.training().seed()),
                () -> load(sc, ready.test(), plan.sync().workers(), plan.training().seed()));
        return new Loaded(ready, loaded.first(), loaded.second(), (System.nanoTime() - t0) / 1e9);
    }

    /**
     * Trains the plan's network on the loaded data, checkpointing every epoch; the data leaves executor memory
     * when training ends, however it ends.
     */
    private static Fitted fit(TrainingPlan plan, Loaded data, JavaSparkContext sc, RunDirectory dir,
                              CheckpointStore checkpoints, Optional<TrainingState> resumeFrom, PrintStream out,
                              Consumer<Metrics> observer) {
        Preflight.Sources ready = data.sources();
        StartingModel model = StartingModel.of(plan, ready.train().inputShape(), ready.train().classes());
        WorkerKernel driverKernel = model.kernel();
        ModelSnapshot first = resumeFrom.map(TrainingState::model).orElseGet(model::fresh);
        if (first.params().length != driverKernel.numParams()) {
            throw new UserFacingException("the checkpoint's model has " + first.params().length
                    + " parameters but the plan's has " + driverKernel.numParams() + "; was plan.yaml changed?");
        }
        ProgressReporter progress = new ProgressReporter(out, unit(plan));
        Optional<TensorBoardLog> tensorboard = plan.output().tensorboard()
                ? Optional.of(TensorBoardLog.open(dir.path(), plan, readPlan(dir), resumeFrom,
                driverKernel.network(first), out))
                : Optional.empty();
        Trainer trainer = new Trainer(sc, plan, model.networkJson(), ready.train().inputShape(), m -> {
            dir.accept(m);
            progress.accept(m);
            tensorboard.ifPresent(t -> t.accept(m));
            observer.accept(m);
        });
        InputShape shape = ready.train().inputShape();
        Consumer<TrainingState> epochs = state -> {
            checkpoints.save(state, dir.metricsBytes());
            if (state.round() == 0) {
                tensorboard.ifPresent(t -> {
                    MultiLayerNetwork net = driverKernel.network(state.model());
                    t.epochEnd(state.epoch(), net, samples(plan, net, shape));
                });
            }
        };
        long t1 = System.nanoTime();
        // The run's Spark jobs are grouped under its id; the trainer names each "shoal <id> epoch E round R".
        // An application's own job group (ShoalClassifier.fit) is given back afterwards.
        String runId = dir.path().getFileName().toString();
        String group = sc.getLocalProperty("spark.jobGroup.id");
        String description = sc.getLocalProperty("spark.job.description");
        sc.setJobGroup(runId, "shoal " + runId, false);
        try {
            TrainingResult result = trainer.run(resumeFrom.orElseGet(() -> trainer.fresh(first)), data.train(),
                    data.test(), epochs);
            return new Fitted(result, driverKernel, tensorboard, (System.nanoTime() - t1) / 1e9);
        } catch (RuntimeException e) {
            tensorboard.ifPresent(TensorBoardLog::failed);
            throw e;
        } finally {
            sc.clearJobGroup();
            if (group != null) {
                sc.setJobGroup(group, description, false);
            }
            // Also when training stopped: a Spark context that goes on (shoal tune, an application) keeps no data.
            data.train().blocks().unpersist(false);
            data.test().blocks().unpersist(false);
        }
    }

    /**
     * Writes what a finished run leaves (model.zip, vocabulary or alphabet, a GAN's samples, TensorBoard's last
     * images, the copy, provenance.json, evaluation.json and report.html) and prints the summary.
     */
    private static Outcome write(TrainingPlan plan, Loaded data, Fitted fitted, JavaSparkContext sc,
                                 RunDirectory dir, boolean resumed, PrintStream out, Instant started, long t0) {
        TrainingResult result = fitted.result();
        WorkerKernel driverKernel = fitted.driverKernel();
        Preflight.Sources ready = data.sources();
        dir.writeAtomically(RunDirectory.MODEL,
                p -> ModelSerializer.writeModel(driverKernel.network(result.model()), p.toFile(), true));
        if (ready.train() instanceof TextDataSource text) {
            dir.writeAtomically(RunDirectory.VOCABULARY, text.vocabulary()::write);
        }
        if (ready.train() instanceof CharDataSource chars) {
            dir.writeAtomically(RunDirectory.ALPHABET, chars.alphabet()::write);
        }
        if (plan.model().type() == ModelType.GAN) {
            INDArray samples = Gan.samples(driverKernel.network(result.model()), 64, plan.training().seed());
            dir.writeAtomically(RunDirectory.SAMPLES, p -> SampleGrid.write(samples, ready.train().inputShape(), p));
            out.println("64 generated images in " + dir.path().resolve(RunDirectory.SAMPLES));
        }
        fitted.tensorboard().ifPresent(t -> finishTensorBoard(t, plan, dir, result, out));
        Metrics.Epoch last = result.epochs().get(result.epochs().size() - 1);
        Metrics.Epoch saved = result.epochs().get(result.modelEpoch() - 1);
        double examplesPerSecond = result.epochs().stream().skip(result.epochs().size() > 1 ? 1 : 0)
                .mapToDouble(Metrics.Epoch::examplesPerSecond).average().orElse(Double.NaN);
        Provenance provenance = new Provenance(dir.path().getFileName().toString(), "completed",
                started.toString(), Instant.now().toString(), hostName(), sc.master(), versions(),
                fingerprints(plan), resumed,
                new Provenance.Seconds(data.seconds(), fitted.seconds(), (System.nanoTime() - t0) / 1e9),
                new Provenance.Result(saved.testAccuracy(), saved.testLoss(), result.modelEpoch(),
                        result.epochs().size(), result.stoppedEarly(),
                        new Provenance.Skipped(data.train().skipped(), data.test().skipped()), examplesPerSecond),
                driverKernel.speedUps());
        if (!plan.output().copyTo().isEmpty()) {
            // Before provenance.json: a run whose copy failed does not claim success, and can be resumed to retry.
            out.println("copied the model, plan, metrics and provenance to "
                    + dir.copyTo(plan.output().copyTo(), provenance));
        }
        dir.writeJson(RunDirectory.PROVENANCE, provenance);
        writeReport(plan, dir, result, out);
        if (result.stoppedEarly()) {
            out.printf("early stopping: no better %s on the held-out set for %d epoch(s) after epoch %d%n",
                    plan.training().earlyStopping().metric().name().toLowerCase(java.util.Locale.ROOT),
                    last.epoch() - result.modelEpoch(), result.modelEpoch());
        }
        String score = Double.isNaN(saved.testAccuracy()) ? String.format("test loss %.4f", saved.testLoss())
                : String.format("test accuracy %.2f%%", 100 * saved.testAccuracy());
        if (plan.sync().strategy() == SyncStrategy.FEDERATED && !Double.isNaN(saved.testAccuracy())) {
            out.println("rounds to test accuracy: " + roundsToAccuracy(result.epochs()));
        }
        out.printf("done: %s (model of %s %d), %,.0f examples/s after the first %s; model in %s%n", score,
                unit(plan), result.modelEpoch(), examplesPerSecond, unit(plan), dir.path().resolve(RunDirectory.MODEL));
        return new Outcome(dir.path(), result);
    }

    /**
     * evaluation.json (the last evaluation, when the saved model is the last epoch's) and report.html. The run is
     * complete without them: a failure here is a warning, never a failed run.
     */
    private static void writeReport(TrainingPlan plan, RunDirectory dir, TrainingResult result, PrintStream out) {
        try {
            if (plan.model().type().target().hasAccuracy() && result.modelEpoch() == result.epochs().size()) {
                dir.writeJson(RunReport.EVALUATION, ModelEvaluation.report(result.lastEvaluation(),
                        dir.path().resolve(RunDirectory.MODEL).toString(), "the run's test set"));
            }
            Path page = dir.path().resolve(RunReport.FILE);
            RunReport.write(List.of(dir.path()), List.of(plan), page);
            out.println("report: " + page);
        } catch (RuntimeException e) {
            out.println("warning: report.html not written (the run is complete): " + e.getMessage());
        }
    }

    /** The confusion matrix and prediction grid; the run is complete without them, so a failure only warns. */
    private static void finishTensorBoard(TensorBoardLog log, TrainingPlan plan, RunDirectory dir,
                                          TrainingResult result, PrintStream out) {
        boolean classifier = plan.model().type().target().hasAccuracy();
        try {
            log.finish(result.epochs().size(), classifier ? Optional.of(result.lastEvaluation()) : Optional.empty(),
                    RunReport.predictionGrid(dir.path(), plan));
            out.println("TensorBoard files in " + dir.path().resolve(TensorBoardLog.FOLDER)
                    + " ('tensorboard --logdir " + dir.path().getParent() + "' shows every run)");
        } catch (RuntimeException e) {
            log.failed();
            out.println("warning: TensorBoard's confusion matrix and prediction grid not written (the run is "
                    + "complete): " + e.getMessage());
        }
    }

    /** A GAN's samples from {@code net}, drawn from the plan's seed: the same noise every epoch. */
    private static Optional<BufferedImage> samples(TrainingPlan plan, MultiLayerNetwork net, InputShape shape) {
        return plan.model().type() == ModelType.GAN
                ? Optional.of(SampleGrid.render(Gan.samples(net, 64, plan.training().seed()), shape))
                : Optional.empty();
    }

    private static String readPlan(RunDirectory dir) {
        try {
            return Files.readString(dir.path().resolve(RunDirectory.PLAN));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir.path().resolve(RunDirectory.PLAN), e);
        }
    }

    /** "90%: 2, 95%: 4, ..., 99%: not in 20": the first round reaching each of the report's targets. */
    private static String roundsToAccuracy(List<Metrics.Epoch> rounds) {
        double[] accuracies = rounds.stream().mapToDouble(Metrics.Epoch::testAccuracy).toArray();
        return java.util.Arrays.stream(RunReport.TARGETS).mapToObj(t -> String.format("%.0f%%: %s", 100 * t,
                RunReport.firstReaching(accuracies, t).map(String::valueOf).orElse("not in " + rounds.size())))
                .collect(java.util.stream.Collectors.joining(", "));
    }

    /** What the run's evaluated periods are called: epochs, or rounds for federated averaging. */
    static String unit(TrainingPlan plan) {
        return plan.sync().strategy() == SyncStrategy.FEDERATED ? "round" : "epoch";
    }

    /**
     * Partitions of the training data: one per worker, or for federated averaging's IID split one per client (the
     * data source's seeded placement is that split).
     */
    private static int trainingPartitions(TrainingPlan plan) {
        FederatedConfig federated = plan.sync().federated();
        return plan.sync().strategy() == SyncStrategy.FEDERATED && federated.split() == ClientSplit.IID
                ? federated.clients() : plan.sync().workers();
    }

    /** Loads {@code source}; its blocks may hold fewer examples than it has records when bad ones were skipped. */
    static TrainingData load(JavaSparkContext sc, DataSource source, int partitions, long seed) {
        JavaRDD<ExampleBlock> blocks = source.load(sc, partitions, seed);
        List<Integer> sizes = blocks.map(ExampleBlock::size).collect();
        int loaded = sizes.stream().mapToInt(Integer::intValue).sum();
        return new TrainingData(blocks, loaded, sizes.stream().mapToInt(Integer::intValue).max().orElse(0),
                source.examples() - loaded);
    }

    private static List<Provenance.DataFile> fingerprints(TrainingPlan plan) {
        // Tables in Spark's catalog have no files to fingerprint.
        Map<String, String> inputs = plan.data().format().readsFiles() ? new LinkedHashMap<>(plan.data().inputs())
                : new LinkedHashMap<>();
        if (plan.model().type().fromFile()) {
            inputs.put(plan.model().fileKey(), plan.model().file());
        }
        return inputs.entrySet().stream().map(e -> fingerprint(e.getKey(), e.getValue())).toList();
    }

    /** Size and SHA-256 of a file, or of the files of a folder or glob (names and contents, in path order). */
    private static Provenance.DataFile fingerprint(String key, String path) {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
        try {
            FileSystem fs = InputFiles.fileSystem(p);
            FileStatus[] matched = fs.globStatus(p);
            List<LocatedFileStatus> files = new ArrayList<>();
            for (FileStatus m : matched) {
                RemoteIterator<LocatedFileStatus> listing = fs.listFiles(m.getPath(), true);
                while (listing.hasNext()) {
                    files.add(listing.next());
                }
            }
            files.sort(Comparator.comparing(f -> f.getPath().toString()));
            boolean folder = matched.length > 1 || matched[0].isDirectory();
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            long bytes = 0;
            for (LocatedFileStatus file : files) {
                if (folder) {
                    sha.update(file.getPath().getName().getBytes(StandardCharsets.UTF_8));
                }
                try (InputStream in = fs.open(file.getPath())) {
                    for (int n; (n = in.read(buf)) > 0; ) {
                        sha.update(buf, 0, n);
                        bytes += n;
                    }
                }
            }
            return new Provenance.DataFile(key, path, bytes, HexFormat.of().formatHex(sha.digest()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, String> versions() {
        Map<String, String> v = new LinkedHashMap<>();
        v.put("shoal", mavenVersion("dev.shoal", "shoal-driver"));
        v.put("java", System.getProperty("java.version"));
        v.put("spark", org.apache.spark.package$.MODULE$.SPARK_VERSION());
        v.put("deeplearning4j", mavenVersion("org.deeplearning4j", "deeplearning4j-nn"));
        v.put("nd4j", mavenVersion("org.nd4j", "nd4j-api"));
        return v;
    }

    private static String mavenVersion(String group, String artifact) {
        String resource = "/META-INF/maven/" + group + "/" + artifact + "/pom.properties";
        try (InputStream in = TrainingRun.class.getResourceAsStream(resource)) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(new java.io.InputStreamReader(in, StandardCharsets.UTF_8));
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
