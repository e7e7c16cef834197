package dev.shoal.ml;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.testing.SparkFixture;
import dev.shoal.jobs.PlanBinder;
import dev.shoal.kernel.testing.Rounding;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.feature.StandardScaler;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.tuning.CrossValidator;
import org.apache.spark.ml.tuning.CrossValidatorModel;
import org.apache.spark.ml.tuning.ParamGridBuilder;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import scala.collection.JavaConverters;

class ShoalClassifierTest {
    @RegisterExtension
    static final SparkFixture SPARK = new SparkFixture();

    @TempDir
    Path dir;

    private SparkSession spark() {
        return SparkSession.builder().sparkContext(SPARK.sc().sc()).getOrCreate();
    }

    /** Three classes of points in four columns, around centres 4 apart (noise 1): separable by a wide margin. */
    static Dataset<Row> blobs(SparkSession spark, int n, long seed) {
        Random random = new Random(seed);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int label = i % 3;
            Object[] values = new Object[6];
            values[0] = "id" + i;
            for (int c = 0; c < 4; c++) {
                values[1 + c] = random.nextGaussian() + (c == label ? 4.0 : 0.0) + 10;
            }
            values[5] = label;
            rows.add(RowFactory.create(values));
        }
        StructType schema = new StructType().add("id", DataTypes.StringType).add("a", DataTypes.DoubleType)
                .add("b", DataTypes.DoubleType).add("c", DataTypes.DoubleType).add("d", DataTypes.DoubleType)
                .add("label", DataTypes.IntegerType);
        return spark.createDataFrame(rows, schema);
    }

    static ShoalClassifier classifier(Path dir) {
        return new ShoalClassifier().setKey("model.type", "mlp").setKey("model.hidden", new int[] {16})
                .setKey("data.classes", 3).setKey("training.epochs", 4).setKey("training.batch-size", 16)
                .setKey("optimizer.learning-rate", 0.01).setOutputDir(dir.resolve("runs").toString());
    }

    private static Pipeline pipeline(ShoalClassifier classifier) {
        VectorAssembler assembler = new VectorAssembler().setInputCols(new String[] {"a", "b", "c", "d"})
                .setOutputCol("raw");
        StandardScaler scaler = new StandardScaler().setInputCol("raw").setOutputCol("features").setWithMean(true);
        return new Pipeline().setStages(new PipelineStage[] {assembler, scaler, classifier});
    }

    private static double accuracy(Dataset<Row> predictions) {
        return new MulticlassClassificationEvaluator().setMetricName("accuracy").evaluate(predictions);
    }

    /**
     * A Pipeline (VectorAssembler, StandardScaler, ShoalClassifier) learns the blobs; the model's probabilities
     * are DL4J's output() on the same scaled rows; saved and loaded back, the pipeline predicts the same bytes.
     */
    @Test
    void aPipelineLearnsScoresAsDl4jAndLoadsBackTheSame() throws IOException {
        PipelineModel fitted = pipeline(classifier(dir)).fit(blobs(spark(), 600, 1));
        Dataset<Row> test = blobs(spark(), 300, 2);
        Dataset<Row> predictions = fitted.transform(test).orderBy("id");

        assertTrue(accuracy(predictions) > 0.9, "accuracy " + accuracy(predictions));
        assertEquals(List.of("id", "a", "b", "c", "d", "label", "raw", "features", "rawPrediction", "probability",
                "prediction"), List.of(predictions.columns()));
        List<Row> rows = predictions.select("features", "probability", "prediction", "rawPrediction")
                .collectAsList();
        assertEquals(300, rows.size());
        ShoalClassificationModel model = (ShoalClassificationModel) fitted.stages()[2];
        MultiLayerNetwork net = model.network();
        float[] x = new float[300 * 4];
        float[] actual = new float[300 * 3];
        for (int i = 0; i < 300; i++) {
            double[] features = rows.get(i).<Vector>getAs(0).toArray();
            double[] p = rows.get(i).<Vector>getAs(1).toArray();
            double[] raw = rows.get(i).<Vector>getAs(3).toArray();
            for (int k = 0; k < 4; k++) {
                x[i * 4 + k] = (float) features[k];
            }
            int best = 0;
            for (int k = 0; k < 3; k++) {
                actual[i * 3 + k] = (float) p[k];
                best = p[k] > p[best] ? k : best;
                assertEquals(Math.log(p[k]), raw[k], 1e-6, "rawPrediction is the log of the probability");
            }
            assertEquals(best, rows.get(i).getDouble(2), "the most probable class");
        }
        float[] expected = net.output(Nd4j.create(x, new long[] {300, 4}, 'c')).castTo(DataType.FLOAT)
                .data().asFloat();
        Rounding.assertClose("probabilities", expected, actual);
        assertEquals(4, model.summary().size(), "one summary line per epoch");
        assertTrue(model.summary().get(3).testAccuracy() > 0.9, model.summary().toString());

        String saved = dir.resolve("pipeline").toString();
        fitted.write().save(saved);
        PipelineModel loaded = PipelineModel.load(saved);
        assertEquals(predictions.select("probability", "prediction").collectAsList(),
                loaded.transform(test).orderBy("id").select("probability", "prediction").collectAsList());
        assertTrue(Files.isRegularFile(dir.resolve("pipeline/stages/2_" + model.uid() + "/data/model.zip")));
    }

    /**
     * CrossValidator fits the estimator over a grid of 2 learning rates x 2 hidden sizes on 2 folds, picks a
     * model, and the CrossValidatorModel saves and loads back predicting the same.
     */
    @Test
    void crossValidatorSearchesAGridAndItsModelLoadsBack() throws IOException {
        ShoalClassifier classifier = classifier(dir).setKey("training.epochs", 2);
        Pipeline pipeline = pipeline(classifier);
        @SuppressWarnings("unchecked")
        Param<Object> hidden = (Param<Object>) classifier.param("model.hidden");
        ParamMap[] grid = new ParamGridBuilder()
                .addGrid((DoubleParam) classifier.param("optimizer.learning-rate"), new double[] {0.001, 0.01})
                .addGrid(hidden, JavaConverters.asScalaBuffer(List.<Object>of(new int[] {4}, new int[] {16})))
                .build();
        CrossValidator cv = new CrossValidator().setEstimator(pipeline).setEstimatorParamMaps(grid).setNumFolds(2)
                .setEvaluator(new MulticlassClassificationEvaluator().setMetricName("accuracy")).setSeed(3);

        CrossValidatorModel fitted = cv.fit(blobs(spark(), 400, 4));

        assertEquals(4, fitted.avgMetrics().length);
        double best = java.util.Arrays.stream(fitted.avgMetrics()).max().orElseThrow();
        assertTrue(best > 0.8, "best mean accuracy " + best);
        Dataset<Row> test = blobs(spark(), 150, 5);
        String saved = dir.resolve("cv").toString();
        fitted.write().save(saved);
        CrossValidatorModel loaded = CrossValidatorModel.load(saved);
        assertEquals(fitted.transform(test).orderBy("id").select("probability").collectAsList(),
                loaded.transform(test).orderBy("id").select("probability").collectAsList());
    }

    /** validationIndicatorCol picks the rows tested on after every epoch: the last epoch's figure is theirs. */
    @Test
    void theRowsMarkedForValidationAreTheOnesTestedOn() {
        Dataset<Row> both = blobs(spark(), 300, 8).selectExpr("id", "array(a, b, c, d) as features", "label",
                "id like '%7' as held");
        ShoalClassificationModel model = classifier(dir).setKey("training.epochs", 2)
                .setValidationIndicatorCol("held").fit(both);

        Dataset<Row> held = both.where("held");
        double accuracy = accuracy(model.transform(held));
        assertEquals(accuracy, model.summary().get(1).testAccuracy(), 1e-12, "accuracy on the 30 held rows");

        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class, () -> classifier(dir)
                .setValidationIndicatorCol("held").setKey("data.holdout", 0.2).fit(both));
        assertTrue(twice.getMessage().contains("both choose the test rows"), twice.getMessage());
        IllegalArgumentException notBoolean = assertThrows(IllegalArgumentException.class, () -> classifier(dir)
                .setValidationIndicatorCol("id").fit(both));
        assertTrue(notBoolean.getMessage().contains("validationIndicatorCol 'id' is string; expected boolean"),
                notBoolean.getMessage());
    }

    /** Bad values and bad DataFrames fail at once, naming the param or column and the value. */
    @Test
    void badParamsAndBadDataFramesFailNamingWhatIsWrong() {
        ShoalClassifier classifier = classifier(dir);
        IllegalArgumentException updater = assertThrows(IllegalArgumentException.class,
                () -> classifier.setKey("optimizer.updater", "adamw"));
        assertTrue(updater.getMessage().contains("optimizer.updater = \"adamw\": unknown value"), updater.getMessage());
        IllegalArgumentException key = assertThrows(IllegalArgumentException.class,
                () -> classifier.param("optimizer.learning_rate"));
        assertTrue(key.getMessage().contains("no Param for key 'optimizer.learning_rate'"), key.getMessage());

        IllegalArgumentException notANumber = assertThrows(IllegalArgumentException.class,
                () -> classifier.setKey("model.hidden", new String[] {"wide"}));
        assertTrue(notANumber.getMessage().contains("model.hidden"), notANumber.getMessage());

        Dataset<Row> data = blobs(spark(), 60, 7).selectExpr("array(a, b, c, d) as features", "label", "id");
        // Ranges and rules between keys need the whole plan: checked when the stage binds it, before training.
        IllegalArgumentException rate = assertThrows(IllegalArgumentException.class,
                () -> classifier(dir).setKey("optimizer.learning-rate", -0.1).fit(data));
        assertTrue(rate.getMessage().contains("optimizer.learning-rate = -0.1: must be a finite number > 0"),
                rate.getMessage());
        IllegalArgumentException names = assertThrows(IllegalArgumentException.class,
                () -> classifier(dir).setKey("data.class-names", new String[] {"a", "b"}).fit(data));
        assertTrue(names.getMessage().contains("data.class-names = [a, b]: names 2 classes, and classes is 3"),
                names.getMessage());
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> classifier(dir).setValidationIndicatorCol("held").fit(data.withColumn("held",
                        functions.lit(false))));
        assertTrue(none.getMessage().contains("validationIndicatorCol 'held' leaves no test rows"),
                none.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> classifier.setFeaturesCol("x").fit(data));
        assertTrue(missing.getMessage().contains("featuresCol 'x' is not a column"), missing.getMessage());
        IllegalArgumentException text = assertThrows(IllegalArgumentException.class,
                () -> classifier(dir).setLabelCol("id").fit(data));
        assertTrue(text.getMessage().contains("labelCol 'id' is string"), text.getMessage());
        Exception outOfRange = assertThrows(Exception.class,
                () -> classifier(dir).fit(data.selectExpr("features", "label + 3 as label")));
        assertTrue(outOfRange.getMessage().contains("is not a class index in [0, 2]"), outOfRange.getMessage());
        Exception ragged = assertThrows(Exception.class, () -> classifier(dir).fit(data.selectExpr(
                "if(label = 1, slice(features, 1, 3), features) as features", "label")));
        assertTrue(ragged.getMessage().contains("holds 3 values; the table's first row has 4"), ragged.getMessage());
        ShoalClassificationModel model = classifier(dir).setKey("training.epochs", 1).fit(data);
        IllegalArgumentException narrow = assertThrows(IllegalArgumentException.class, () -> model.transform(
                data.selectExpr("slice(features, 1, 3) as features")));
        assertTrue(narrow.getMessage().contains("featuresCol 'features' holds 3 values a row, and the model does "
                + "not take them"), narrow.getMessage());
        Exception nan = assertThrows(Exception.class, () -> classifier(dir).fit(
                data.selectExpr("array(features[0], double('NaN'), features[2], features[3]) as features", "label")));
        assertTrue(nan.getMessage().contains("is NaN"), nan.getMessage());
    }

    /**
     * Keys that depend on each other are set in any order (each is checked alone when set, the plan as a whole
     * when it is bound), and a job file's keys come in through setJobFile, bound strictly first.
     */
    @Test
    void keysThatDependOnEachOtherSetInAnyOrderAndJobFilesBindStrictly() throws IOException {
        ShoalClassifier classifier = new ShoalClassifier().setKey("data.class-names", new String[] {"x", "y", "z"})
                .setKey("data.classes", 3).setKey("model.base", "base.zip").setKey("model.type", "fine-tune");
        assertEquals("fine-tune", classifier.getOrDefault(classifier.param("model.type")));

        Path job = Files.writeString(dir.resolve("job.yaml"), "data: {train-images: a, train-labels: b, "
                + "test-images: c, test-labels: d}\nmodel: {type: mlp, hidden: [7]}\n"
                + "optimizer: {learning-rate: 0.05}\n");
        ShoalClassifier fromJob = new ShoalClassifier().setJobFile(job.toString());
        assertArrayEquals(new int[] {7}, (int[]) fromJob.getOrDefault(fromJob.param("model.hidden")));
        assertEquals(0.05, fromJob.getOrDefault(fromJob.param("optimizer.learning-rate")));
        Path typo = Files.writeString(dir.resolve("typo.yaml"), Files.readString(job).replace("learning-rate",
                "learning_rate"));
        RuntimeException unknown = assertThrows(RuntimeException.class,
                () -> new ShoalClassifier().setJobFile(typo.toString()));
        assertTrue(unknown.getMessage().contains("optimizer.learning_rate"), unknown.getMessage());

        Dataset<Row> empty = blobs(spark(), 30, 9).selectExpr("array(a, b, c, d) as features", "label").limit(0);
        ShoalClassificationModel model = classifier(dir).setKey("training.epochs", 1)
                .fit(blobs(spark(), 60, 9).selectExpr("array(a, b, c, d) as features", "label"));
        Dataset<Row> scored = model.transform(empty);
        assertEquals(0, scored.count());
        assertEquals(List.of("features", "label", "rawPrediction", "probability", "prediction"),
                List.of(scored.columns()));
    }

    /**
     * The Params are the job-file keys: the Params' defaults make the same plan as a job file that leaves
     * them out, and every Param's doc is its key's.
     */
    @Test
    void theParamsAreTheJobFileKeysWithTheirDefaults() {
        ShoalClassifier classifier = new ShoalClassifier().setKey("model.type", "mlp");
        ObjectNode minimal = JsonNodeFactory.instance.objectNode();
        PlanBinder.set(minimal, "model.type", JsonNodeFactory.instance.textNode("mlp"));
        ObjectNode fromParams = classifier.jobTree("t", "v");
        for (String key : List.of("name", "data.format", "data.train", "data.test", "data.label", "data.features",
                "output.run-id")) {
            PlanBinder.set(minimal, key, PlanBinder.value(key, fromParams.at("/" + key.replace('.', '/'))
                    .toString()));
        }

        assertEquals(PlanBinder.bind(minimal, TrainingPlan.class), PlanBinder.bind(fromParams, TrainingPlan.class));
        assertTrue(classifier.explainParams().contains(
                "optimizer.learning-rate: Initial learning rate, > 0. (default: 0.001)"),
                classifier.explainParams());
        assertEquals(List.of(), new PlanParams(classifier).keys().stream()
                .filter(k -> !k.startsWith("model.") && !k.startsWith("optimizer.") && !k.startsWith("training.")
                        && !k.startsWith("sync.") && !k.startsWith("checkpoint.") && !k.startsWith("data.")
                        && !k.equals("output.dir")).toList());
    }
}
