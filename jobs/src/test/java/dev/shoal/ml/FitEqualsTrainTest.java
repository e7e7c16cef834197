package dev.shoal.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.shoal.jobs.Shoal;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The no-second-path proof: ShoalClassifier.fit on a DataFrame read from a Parquet file trains exactly what
 * {@code shoal train} trains on that file with the same keys. (Not in ShoalClassifierTest: the command line
 * starts and stops a Spark context of its own, and a JVM holds one at a time.)
 */
class FitEqualsTrainTest {
    @TempDir
    Path dir;

    private static SparkSession session() {
        return SparkSession.builder().master("local[2]").appName("FitEqualsTrainTest")
                .config("spark.ui.enabled", "false").getOrCreate();
    }

    @Test
    void fitTrainsTheSameParametersAsTheCommandLineBitForBit() throws IOException {
        Path table = dir.resolve("blobs.parquet");
        SparkSession spark = session();
        // One file: Parquet's readers number a folder's rows by file name, a DataFrame in Spark's order of its
        // splits (largest file first); within one file both read the rows in order.
        ShoalClassifierTest.blobs(spark, 400, 6).selectExpr("array(a, b, c, d) as features", "label").coalesce(1)
                .write().parquet(table.toString());
        spark.stop();
        Path job = Files.writeString(dir.resolve("job.yaml"), "name: cli\n"
                + "data: {format: parquet, train: " + table + ", test: " + table + ", classes: 3}\n"
                + "model: {type: mlp, hidden: [16]}\noptimizer: {learning-rate: 0.01}\n"
                + "training: {epochs: 2, batch-size: 16}\nsync: {average-every: 3}\n"
                + "output: {dir: " + dir.resolve("runs") + ", run-id: cli}\n");
        assertEquals(0, Shoal.run("train", job.toString()));

        spark = session();
        try {
            ShoalClassificationModel model = ShoalClassifierTest.classifier(dir).setKey("training.epochs", 2)
                    .setKey("sync.average-every", 3).fit(spark.read().parquet(table.toString()));

            MultiLayerNetwork cli = ModelSerializer.restoreMultiLayerNetwork(
                    dir.resolve("runs/cli/model.zip").toFile());
            assertArrayEquals(cli.params().toFloatVector(), model.network().params().toFloatVector());
            assertEquals(2, model.summary().size());
            // The command line's run as a Spark ML model: the same parameters score the same.
            ShoalClassificationModel fromCli = ShoalClassificationModel.fromRunDirectory("cli",
                    dir.resolve("runs/cli"));
            var rows = spark.read().parquet(table.toString()).limit(50);
            assertEquals(model.transform(rows).select("probability").collectAsList(),
                    fromCli.transform(rows).select("probability").collectAsList());
        } finally {
            spark.stop();
        }
    }
}
