package dev.shoal.jobs;

import dev.shoal.driver.data.IdxFile;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.run.BatchPrediction;
import dev.shoal.driver.run.ModelEvaluation;
import dev.shoal.driver.run.RunDirectory;
import dev.shoal.driver.run.SparkContexts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code shoal bench-predict}: batch scoring through Shoal against plain DL4J output() on the same rows. */
@Command(name = "bench-predict", mixinStandardHelpOptions = true,
        description = {"Score the same IDX images with plain single-process DL4J (MultiLayerNetwork.output in "
                + "minibatches, in this JVM) and with Shoal's predict path (local[workers], the model broadcast and "
                + "restored once per JVM, one ND4J thread per task), and report rows/s and the ratio.",
                "The systems take turns, pass after pass, so that a machine's drift hits both alike; ND4J's "
                + "process-wide thread settings are given back to DL4J before each of its passes (Shoal's tasks "
                + "set them to one thread). Each system's first pass is reported as its cold start; the ratio is "
                + "of the medians of the later passes. Shoal's passes count the scored rows; two more also write "
                + "Parquet (the second is reported)."})
final class BenchPredictCommand implements Callable<Integer> {
    @Mixin
    SavedModel.Argument model;

    @Option(names = "--input", required = true, paramLabel = "IDX", description = "IDX images to score.")
    String input;

    @Option(names = "--workers", defaultValue = "2", description = "Spark tasks scoring at once "
            + "(default: ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--batch-size", defaultValue = "256", description = "Rows per output() call, in both systems "
            + "(default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--repeats", defaultValue = "9", description = "Warm passes per system (default: "
            + "${DEFAULT-VALUE}).")
    int repeats;

    @Override
    public Integer call() throws IOException {
        if (workers < 1 || batchSize < 1 || repeats < 1) {
            String key = workers < 1 ? "--workers" : batchSize < 1 ? "--batch-size" : "--repeats";
            throw new dev.shoal.kernel.config.ConfigException(key, workers < 1 ? workers : batchSize < 1 ? batchSize
                    : repeats, "must be at least 1");
        }
        Path work = Files.createTempDirectory("shoal-bench-predict-");
        try {
            SavedModel saved = model.find(work);
            TrainingPlan plan = TrainCommand.plan(saved.plan(), List.of("spark.master=local[" + workers + "]"));
            IdxFile images = IdxFile.open(input);
            int n = images.records();
            int size = images.recordSize();
            float[] pixels = images.readScaled(0, n);
            byte[] bytes = Files.readAllBytes(saved.zip());
            MultiLayerNetwork net = ModelEvaluation.restore(saved.zip());
            JavaSparkContext sc = SparkContexts.start(plan);
            try {
                List<Double> dl4j = new ArrayList<>();
                List<Double> shoal = new ArrayList<>();
                Nd4jThreads processDefaults = Nd4jThreads.now();
                for (int pass = 0; pass <= repeats; pass++) {
                    // Shoal's tasks set ND4J to one thread, and BLAS's setting is per process: DL4J gets back
                    // the threads a process starts with, or it would not be plain DL4J.
                    processDefaults.restore();
                    dl4j.add(timed(() -> dl4jPass(net, pixels, n, size)));
                    shoal.add(timed(() -> shoalPass(sc, images, bytes, saved.version()).count()));
                    System.out.printf(Locale.ROOT, "pass %d: dl4j %.3f s, shoal %.3f s%n", pass, dl4j.get(pass),
                            shoal.get(pass));
                }
                // Parquet twice: the first write in a JVM also loads and compiles the writer.
                List<Double> writes = new ArrayList<>();
                for (String folder : List.of("first", "second")) {
                    writes.add(timed(() -> shoalPass(sc, images, bytes, saved.version()).write()
                            .parquet(work.resolve(folder).toString())));
                }
                double written = writes.get(1);
                double dl4jWarm = n / BenchCommand.median(dl4j.subList(1, dl4j.size()));
                double shoalWarm = n / BenchCommand.median(shoal.subList(1, shoal.size()));
                System.out.printf(Locale.ROOT, "%n%,d rows of %d values, batch %d, Shoal on local[%d], %s%n%n", n,
                        size, batchSize, workers, System.getProperty("os.arch"));
                System.out.println("| system | cold first pass | warm rows/s (median) | x dl4j |");
                System.out.println("|---|---|---|---|");
                System.out.printf(Locale.ROOT, "| dl4j output(), one process | %.2f s | %,.0f | 1.00 |%n",
                        dl4j.get(0), dl4jWarm);
                System.out.printf(Locale.ROOT, "| shoal predict, scored rows counted | %.2f s | %,.0f | %.2f |%n",
                        shoal.get(0), shoalWarm, shoalWarm / dl4jWarm);
                System.out.printf(Locale.ROOT, "| shoal predict, written as Parquet | – | %,.0f | %.2f |%n",
                        n / written, n / written / dl4jWarm);
            } finally {
                sc.stop();
            }
            return 0;
        } finally {
            RunDirectory.deleteAll(work);
        }
    }

    private void dl4jPass(MultiLayerNetwork net, float[] pixels, int n, int size) {
        for (int r = 0; r < n; r += batchSize) {
            int b = Math.min(batchSize, n - r);
            float[] rows = Arrays.copyOfRange(pixels, r * size, (r + b) * size);
            net.output(Nd4j.create(rows, new long[] {b, size}, 'c'), false).argMax(1).getInt(0);
        }
    }

    private Dataset<Row> shoalPass(JavaSparkContext sc, IdxFile images, byte[] bytes, String version) {
        return BatchPrediction.score(sc, BatchPrediction.idxExamples(sc, images, Optional.empty(), workers),
                BatchPrediction.idxKept(Optional.empty()), images.recordSize(), bytes, version, batchSize, 1);
    }

    /** ND4J's process-wide thread settings. */
    private record Nd4jThreads(int environment, int master, int blas) {
        static Nd4jThreads now() {
            return new Nd4jThreads(Nd4j.getEnvironment().maxThreads(), Nd4j.getEnvironment().maxMasterThreads(),
                    Nd4j.factory().blas().getMaxThreads());
        }

        void restore() {
            Nd4j.getEnvironment().setMaxThreads(environment);
            Nd4j.getEnvironment().setMaxMasterThreads(master);
            Nd4j.factory().blas().setMaxThreads(blas);
        }
    }

    private static double timed(Runnable action) {
        long start = System.nanoTime();
        action.run();
        return (System.nanoTime() - start) / 1e9;
    }
}
