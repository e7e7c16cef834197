package dev.shoal.jobs;

import static org.apache.spark.ml.functions.array_to_vector;

import dev.shoal.driver.data.IdxFile;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.run.RunDirectory;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.ml.ShoalClassificationModel;
import dev.shoal.ml.ShoalClassifier;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.ml.classification.MultilayerPerceptronClassificationModel;
import org.apache.spark.ml.classification.MultilayerPerceptronClassifier;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal bench-ml}: ShoalClassifier.fit against shoal train and Spark MLlib's own perceptron. */
@Command(name = "bench-ml", mixinStandardHelpOptions = true,
        description = {"Train the Fashion-MNIST MLP job three ways on the same data and cores, and report wall time, "
                + "examples/s and test accuracy: shoal train on the IDX files; ShoalClassifier.fit on the same "
                + "images written as a Parquet table and read as a DataFrame (an array column; "
                + "validationIndicatorCol marks the test images, tested on after every epoch as the command "
                + "line does); and Spark MLlib's "
                + "MultilayerPerceptronClassifier with the same layers (L-BFGS, --mllib-iterations). Then "
                + "ShoalClassificationModel.transform's rows/s on the 10,000 test rows.",
                "The command line runs first: it starts and stops a Spark context of its own, and a JVM holds one "
                + "at a time."})
final class BenchMlCommand implements Callable<Integer> {
    @Option(names = "--job", defaultValue = "conf/fashion-mnist-mlp.yaml", description = "The job file (default: "
            + "${DEFAULT-VALUE}, under the Shoal installation); its IDX data and training keys are used.")
    String job;

    @Option(names = "--epochs", defaultValue = "5", description = "Epochs of both Shoal runs (default: "
            + "${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--mllib-iterations", defaultValue = "50", description = "L-BFGS iterations of MLlib's "
            + "perceptron (default: ${DEFAULT-VALUE}); 0 leaves it out.")
    int mllibIterations;

    @Override
    public Integer call() throws IOException {
        if (epochs < 1 || mllibIterations < 0) {
            throw new ConfigException(epochs < 1 ? "--epochs" : "--mllib-iterations",
                    epochs < 1 ? epochs : mllibIterations, epochs < 1 ? "must be at least 1" : "must be >= 0");
        }
        Path jobFile = BenchCommand.jobFile(job);
        Path work = Files.createTempDirectory("shoal-bench-ml-");
        try {
            TrainingPlan plan = TrainCommand.plan(jobFile, List.of("training.epochs=" + epochs));
            DataFetcher.fetchIfMissing(plan.data());
            List<String> rows = new ArrayList<>();

            long start = System.nanoTime();
            int code = Shoal.run("train", jobFile.toString(), "--set", "training.epochs=" + epochs, "--set",
                    "output.dir=" + work, "--set", "output.run-id=cli");
            if (code != 0) {
                return code;
            }
            double cliSeconds = seconds(start);
            ShoalClassificationModel cli = ShoalClassificationModel.fromRunDirectory("cli", work.resolve("cli"));
            rows.add(row("shoal train (IDX files)", cliSeconds, cli.summary()));

            SparkSession spark = SparkSession.builder().master("local[" + plan.sync().workers() + "]")
                    .appName("shoal bench-ml").config("spark.ui.enabled", "false").getOrCreate();
            try {
                Dataset<Row> train = table(spark, plan.data().trainImages(), plan.data().trainLabels(),
                        work.resolve("train.parquet"));
                Dataset<Row> test = table(spark, plan.data().testImages(), plan.data().testLabels(),
                        work.resolve("test.parquet"));
                long examples = train.count() + test.count();
                ShoalClassifier classifier = new ShoalClassifier().setJobFile(jobFile.toString())
                        .setKey("training.epochs", epochs).setOutputDir(work.toString())
                        .setValidationIndicatorCol("test");
                // The test images tested on after every epoch, as the command line does.
                Dataset<Row> both = train.withColumn("test", functions.lit(false))
                        .union(test.withColumn("test", functions.lit(true)));
                start = System.nanoTime();
                ShoalClassificationModel model = classifier.fit(both);
                double fitSeconds = seconds(start);
                rows.add(row("ShoalClassifier.fit (DataFrame)", fitSeconds, model.summary()));

                double transformSeconds = 0;
                for (int pass = 0; pass < 3; pass++) {
                    start = System.nanoTime();
                    model.transform(test).select("prediction").foreach(r -> { });
                    transformSeconds = seconds(start);
                }
                double transformRate = test.count() / transformSeconds;
                double transformAccuracy = accuracy(model.transform(test));

                if (mllibIterations > 0) {
                    List<Integer> layers = new ArrayList<>(List.of(IdxFile.open(plan.data().trainImages())
                            .recordSize()));
                    layers.addAll(plan.model().hidden());
                    layers.add(plan.data().classes());
                    MultilayerPerceptronClassifier mllib = new MultilayerPerceptronClassifier()
                            .setLayers(layers.stream().mapToInt(Integer::intValue).toArray())
                            .setMaxIter(mllibIterations).setBlockSize(plan.training().batchSize())
                            .setSeed(plan.training().seed());
                    Dataset<Row> vectors = asVectors(train);
                    start = System.nanoTime();
                    MultilayerPerceptronClassificationModel fitted = mllib.fit(vectors);
                    double mllibSeconds = seconds(start);
                    double mllibAccuracy = accuracy(fitted.transform(asVectors(test)));
                    rows.add(row("MLlib MultilayerPerceptronClassifier, " + mllibIterations + " L-BFGS iterations",
                            mllibSeconds, Double.NaN, mllibAccuracy));
                }
                System.out.printf(Locale.ROOT, "%n%s, %d epochs, %,d images, local[%d]%n%n", jobFile.getFileName(),
                        epochs, examples, plan.sync().workers());
                System.out.println("| system | wall s | ex/s after epoch 1 | test accuracy |");
                System.out.println("|---|---|---|---|");
                rows.forEach(System.out::println);
                System.out.printf(Locale.ROOT, "%nShoalClassificationModel.transform: %,.0f rows/s on %,d test rows "
                        + "(third pass), accuracy %.2f%%%n", transformRate, test.count(), 100 * transformAccuracy);
            } finally {
                spark.stop();
            }
            return 0;
        } finally {
            RunDirectory.deleteAll(work);
        }
    }

    /** An IDX image file and its labels as a Parquet table, read back as a DataFrame (as a user's data comes). */
    private static Dataset<Row> table(SparkSession spark, String images, String labels, Path parquet) {
        IdxCopies.writeParquet(spark, images, labels, parquet);
        return spark.read().parquet(parquet.toString());
    }

    /** The features as ML Vectors, as MLlib's classifiers take them. */
    private static Dataset<Row> asVectors(Dataset<Row> rows) {
        return rows.select(array_to_vector(functions.col("features")).as("features"), functions.col("label"));
    }

    private static double accuracy(Dataset<Row> predictions) {
        return new MulticlassClassificationEvaluator().setMetricName("accuracy").evaluate(predictions);
    }

    /** A run's row: the mean of its epochs' examples/s after the first, and its last test accuracy. */
    private static String row(String system, double seconds, List<ShoalClassificationModel.Epoch> epochs) {
        double rate = epochs.subList(1, epochs.size()).stream()
                .mapToDouble(ShoalClassificationModel.Epoch::examplesPerSecond).average().orElse(Double.NaN);
        return row(system, seconds, rate, epochs.get(epochs.size() - 1).testAccuracy());
    }

    private static String row(String system, double seconds, double rate, double accuracy) {
        return String.format(Locale.ROOT, "| %s | %.1f | %s | %.2f%% |", system, seconds,
                Double.isNaN(rate) ? "–" : String.format(Locale.ROOT, "%,.0f", rate), 100 * accuracy);
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }
}
