package dev.shoal.ml;

import static org.apache.spark.ml.functions.array_to_vector;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.run.BatchPrediction;
import dev.shoal.driver.run.ModelEvaluation;
import dev.shoal.driver.run.RunDirectory;
import dev.shoal.jobs.PlanBinder;
import dev.shoal.kernel.Checksum;
import dev.shoal.kernel.config.ConfigException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsReader$;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import scala.Option;

/**
 * A network trained by {@link ShoalClassifier}: {@code transform} scores a DataFrame on the executors with the
 * code {@code shoal predict} uses (the model broadcast once and restored once per executor JVM, rows scored in
 * minibatches) and appends {@code rawPredictionCol} (the log of each class probability), {@code probabilityCol}
 * (an ML Vector) and {@code predictionCol} (the most probable class, a double), as Spark's probabilistic
 * classifiers do, so that Spark's evaluators work unchanged. Every input column is kept.
 *
 * <p>Saved ({@code write().save(path)}, also inside a Pipeline or a CrossValidatorModel) as Spark's metadata for
 * the Params plus the run's {@code model.zip}, {@code plan.yaml} and {@code metrics.jsonl} under
 * {@code path/data}: the saved model is a plain DL4J model too.
 */
public final class ShoalClassificationModel extends Model<ShoalClassificationModel> implements MLWritable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> FILES = List.of(RunDirectory.MODEL, RunDirectory.PLAN, RunDirectory.METRICS);

    private final String uid;
    private final byte[] modelZip;
    private final String planYaml;
    private final String metrics;
    private final Columns columns;
    private final String version;
    /** The network, restored once for the driver's checks. */
    private transient MultiLayerNetwork restored;

    /** One epoch of the training run: its losses, test accuracy (NaN without classes) and speed. */
    public record Epoch(int epoch, double trainLoss, double testLoss, double testAccuracy,
                        double examplesPerSecond) {
    }

    public ShoalClassificationModel(String uid, byte[] modelZip, String planYaml, String metrics) {
        this.uid = uid;
        this.modelZip = modelZip.clone();
        this.planYaml = planYaml;
        this.metrics = metrics;
        version = "sha256:" + Checksum.sha256(modelZip).substring(0, 12);
        columns = new Columns(this);
        columns.defaults().forEach(this::setDefault);
    }

    /**
     * The model of a finished run directory ({@code shoal train}'s or fit's: model.zip, plan.yaml,
     * metrics.jsonl), named {@code uid}: a model trained on the command line becomes a Spark ML model.
     */
    public static ShoalClassificationModel fromRunDirectory(String uid, Path runDir) {
        List<byte[]> contents = new ArrayList<>();
        for (String file : FILES) {
            try {
                contents.add(Files.readAllBytes(runDir.resolve(file)));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + runDir.resolve(file) + ": " + e.getMessage(), e);
            }
        }
        return new ShoalClassificationModel(uid, contents.get(0), new String(contents.get(1), StandardCharsets.UTF_8),
                new String(contents.get(2), StandardCharsets.UTF_8));
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public Param<?>[] params() {
        return columns.params().toArray(Param<?>[]::new);
    }

    /** The DL4J model.zip, as {@code shoal train} writes it. */
    public byte[] modelZip() {
        return modelZip.clone();
    }

    /** The trained network. */
    public MultiLayerNetwork network() {
        try {
            return ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(modelZip), false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot restore the model", e);
        }
    }

    private MultiLayerNetwork restored() {
        if (restored == null) {
            restored = network();
        }
        return restored;
    }

    /** The plan the model was trained with, as plan.yaml says it. */
    public String planYaml() {
        return planYaml;
    }

    /** The training run's epochs, from its metrics.jsonl. */
    public List<Epoch> summary() {
        List<Epoch> epochs = new ArrayList<>();
        for (String line : metrics.lines().toList()) {
            try {
                JsonNode r = JSON.readTree(line);
                if ("epoch".equals(r.path("type").asText())) {
                    epochs.add(new Epoch(r.get("epoch").asInt(), r.get("trainLoss").asDouble(),
                            r.get("testLoss").asDouble(), r.path("testAccuracy").asDouble(Double.NaN),
                            r.get("examplesPerSecond").asDouble()));
                }
            } catch (IOException e) {
                throw new UncheckedIOException("metrics.jsonl holds a line that is not JSON: " + line, e);
            }
        }
        return epochs;
    }

    public ShoalClassificationModel setFeaturesCol(String value) {
        set(columns.features(), value);
        return this;
    }

    public ShoalClassificationModel setPredictionCol(String value) {
        set(columns.prediction(), value);
        return this;
    }

    public ShoalClassificationModel setProbabilityCol(String value) {
        set(columns.probability(), value);
        return this;
    }

    public ShoalClassificationModel setRawPredictionCol(String value) {
        set(columns.rawPrediction(), value);
        return this;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        return columns.outputSchema(this, schema);
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        transformSchema(dataset.schema(), true);
        TrainingPlan plan = PlanBinder.bind(PlanBinder.parse(planYaml, "the model's plan.yaml"), TrainingPlan.class);
        Dataset<Row> rows = dataset.toDF();
        if (rows.isEmpty()) {
            return rows.sparkSession().createDataFrame(List.of(), transformSchema(rows.schema()));
        }
        List<String> inputs = List.of(rows.columns());
        String x = getOrDefault(columns.features());
        // A copy of the features to score (predict's code keeps every column but those it scores).
        String values = "__shoal_features";
        Dataset<Row> withValues = rows.withColumn(values, functions.col(x));
        int featureSize = BatchPrediction.featureSize(withValues, List.of(values));
        try {
            ModelEvaluation.requireFits(restored(), Path.of(RunDirectory.MODEL), featureSize);
        } catch (ConfigException e) {
            throw new IllegalArgumentException("featuresCol '" + x + "' holds " + featureSize + " values a row, "
                    + "and the model does not take them: " + e.getMessage(), e);
        }
        var examples = BatchPrediction.examples(withValues, List.of(values), featureSize,
                (float) plan.data().scale());
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(rows.sparkSession().sparkContext());
        Dataset<Row> scored = BatchPrediction.score(sc, examples._1(), examples._2(), featureSize, modelZip,
                version, 256, plan.sync().threadsPerWorker());
        // The kept columns are the input's, in order; then BatchPrediction's three, renamed so that no input
        // column can clash with them.
        List<String> names = new ArrayList<>(inputs);
        names.addAll(List.of("__shoal_prediction", "__shoal_probability", "__shoal_version"));
        Dataset<Row> renamed = scored.toDF(names.toArray(String[]::new));
        Column probability = functions.col("__shoal_probability");
        return renamed
                .withColumn(getOrDefault(columns.rawPrediction()),
                        array_to_vector(functions.transform(probability, p -> functions.log(functions.greatest(p,
                                functions.lit(Float.MIN_VALUE))))))
                .withColumn(getOrDefault(columns.probability()), array_to_vector(probability))
                .withColumn(getOrDefault(columns.prediction()), functions.col("__shoal_prediction")
                        .cast(DataTypes.DoubleType))
                .drop("__shoal_prediction", "__shoal_probability", "__shoal_version");
    }

    @Override
    public ShoalClassificationModel copy(ParamMap extra) {
        ShoalClassificationModel copy = new ShoalClassificationModel(uid, modelZip, planYaml, metrics);
        return copyValues(copy, extra).setParent(parent());
    }

    @Override
    public MLWriter write() {
        return new MLWriter() {
            @Override
            public void saveImpl(String path) {
                DefaultParamsWriter$.MODULE$.saveMetadata(ShoalClassificationModel.this, path, sc(), Option.empty(),
                        Option.empty());
                byte[][] contents = {modelZip, planYaml.getBytes(StandardCharsets.UTF_8),
                    metrics.getBytes(StandardCharsets.UTF_8)};
                for (int i = 0; i < FILES.size(); i++) {
                    write(new org.apache.hadoop.fs.Path(path, "data/" + FILES.get(i)), contents[i]);
                }
            }

            private void write(org.apache.hadoop.fs.Path file, byte[] content) {
                try {
                    FileSystem fs = file.getFileSystem(sc().hadoopConfiguration());
                    try (FSDataOutputStream out = fs.create(file, false)) {
                        out.write(content);
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot write " + file, e);
                }
            }
        };
    }

    public static MLReader<ShoalClassificationModel> read() {
        return new MLReader<>() {
            @Override
            public ShoalClassificationModel load(String path) {
                DefaultParamsReader.Metadata metadata = DefaultParamsReader$.MODULE$.loadMetadata(path, sc(),
                        ShoalClassificationModel.class.getName());
                List<byte[]> contents = new ArrayList<>();
                for (String name : FILES) {
                    org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(path, "data/" + name);
                    try {
                        FileSystem fs = file.getFileSystem(sc().hadoopConfiguration());
                        try (var in = fs.open(file)) {
                            contents.add(in.readAllBytes());
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException("cannot read " + file + " of the saved model", e);
                    }
                }
                ShoalClassificationModel model = new ShoalClassificationModel(metadata.uid(), contents.get(0),
                        new String(contents.get(1), StandardCharsets.UTF_8),
                        new String(contents.get(2), StandardCharsets.UTF_8));
                metadata.getAndSetParams(model, Option.empty());
                return model;
            }
        };
    }

    public static ShoalClassificationModel load(String path) {
        return read().load(path);
    }
}
