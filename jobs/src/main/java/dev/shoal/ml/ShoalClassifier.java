package dev.shoal.ml;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.run.Preflight;
import dev.shoal.driver.run.TrainingRun;
import dev.shoal.jobs.PlanBinder;
import dev.shoal.kernel.config.ConfigException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsReader$;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.Option;

/**
 * Shoal's trainer as a Spark ML Estimator: {@code fit} trains a network on a DataFrame's feature column (an ML
 * Vector or an array of numbers) and label column (class indices) with the same code as {@code shoal train},
 * on the DataFrame's own SparkSession, and returns a {@link ShoalClassificationModel}.
 *
 * <p>Its Params are the column Params Spark's classifiers have ({@code featuresCol}, {@code labelCol},
 * {@code predictionCol}, {@code probabilityCol}, {@code rawPredictionCol}) and the job-file keys that describe
 * training, each a Param named by its key ({@code optimizer.learning-rate}), with the key's default, doc and
 * checks ({@link PlanParams}). {@code model.type} has no default, as in a job file.
 *
 * <p>fit registers the DataFrame's training rows and test rows as temporary views (the test rows are those
 * {@code validationIndicatorCol} marks, or a held-out fraction when {@code data.holdout} is above 0, or else the
 * training rows themselves), trains the plan they make with format
 * {@code spark-table} exactly as a job file with those keys would be trained, writes the run directory under
 * {@code output.dir}, and drops the views. The data is read by the executors; nothing is collected to the
 * driver.
 *
 * <p>A plain Estimator, not a {@code ProbabilisticClassifier}: Spark's classifier base classes train through
 * {@code train(Dataset)} on an RDD of LabeledPoint-like rows and own the feature handling, while Shoal trains on
 * the table through its own data path; the model's output columns are those of Spark's probabilistic
 * classifiers, so Spark's evaluators work unchanged.
 */
public final class ShoalClassifier extends Estimator<ShoalClassificationModel> implements MLWritable {
    private final String uid;
    private final PlanParams plan;
    private final Columns columns;
    private final Param<String> labelCol;
    private final Param<String> validationIndicatorCol;

    public ShoalClassifier() {
        this(Identifiable$.MODULE$.randomUID("shoalClassifier"));
    }

    public ShoalClassifier(String uid) {
        this.uid = uid;
        plan = new PlanParams(this);
        columns = new Columns(this);
        labelCol = new Param<>(this, "labelCol", "label column name: class indices 0, 1, ...");
        setDefault(labelCol, "label");
        validationIndicatorCol = new Param<>(this, "validationIndicatorCol", "name of a boolean column that is "
                + "true for the rows to test on after every epoch (the others train); unset: data.holdout, or the "
                + "training rows");
        columns.defaults().forEach(this::setDefault);
        plan.defaults().forEach((p, v) -> setDefault(raw(p), v));
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public Param<?>[] params() {
        List<Param<?>> all = new ArrayList<>(columns.params());
        all.add(labelCol);
        all.add(validationIndicatorCol);
        all.addAll(plan.params());
        return all.toArray(Param<?>[]::new);
    }

    /** The Param of a job-file key, e.g. {@code param("optimizer.learning-rate")}. */
    public Param<?> param(String key) {
        return plan.param(key);
    }

    /** Sets the job-file {@code key} to {@code value} (checked as a job file's value is). */
    public ShoalClassifier setKey(String key, Object value) {
        set(raw(plan.param(key)), value);
        return this;
    }

    /**
     * Sets the Params from the keys of the job file at {@code path} (those that are Params: the data's location,
     * format and columns are the DataFrame's), its relative paths read against its folder: fit then trains a
     * DataFrame as the job file trains its files.
     */
    public ShoalClassifier setJobFile(String path) {
        Path file = Path.of(path);
        ObjectNode tree;
        try {
            tree = PlanBinder.parse(Files.readString(file), path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the job file " + path, e);
        }
        PlanBinder.resolvePaths(tree, TrainingPlan.class, file.toAbsolutePath().getParent());
        // Bound first, strictly: an unknown key or a value of the wrong type fails here, naming the key.
        plan.setFrom(PlanBinder.toTree(PlanBinder.bind(tree, TrainingPlan.class)), (p, v) -> set(raw(p), v));
        return this;
    }

    public ShoalClassifier setFeaturesCol(String value) {
        set(columns.features(), value);
        return this;
    }

    public ShoalClassifier setValidationIndicatorCol(String value) {
        set(validationIndicatorCol, value);
        return this;
    }

    public ShoalClassifier setLabelCol(String value) {
        set(labelCol, value);
        return this;
    }

    public ShoalClassifier setPredictionCol(String value) {
        set(columns.prediction(), value);
        return this;
    }

    public ShoalClassifier setProbabilityCol(String value) {
        set(columns.probability(), value);
        return this;
    }

    public ShoalClassifier setRawPredictionCol(String value) {
        set(columns.rawPrediction(), value);
        return this;
    }

    /** The run directories of fit go here ({@code output.dir}). */
    public ShoalClassifier setOutputDir(String value) {
        return setKey("output.dir", value);
    }

    public Param<String> labelCol() {
        return labelCol;
    }

    Columns columns() {
        return columns;
    }

    @Override
    public ShoalClassificationModel fit(Dataset<?> dataset) {
        transformSchema(dataset.schema(), true);
        SparkSession spark = dataset.sparkSession();
        Dataset<Row>[] trainAndTest = split(dataset.toDF());
        String view = "shoal_" + UUID.randomUUID().toString().replace("-", "");
        List<String> views = List.of(view + "_train", view + "_test");
        // The views live in the DataFrame's session; the training reads them through the active one.
        Option<SparkSession> active = SparkSession.getActiveSession();
        SparkSession.setActiveSession(spark);
        try {
            trainAndTest[0].createOrReplaceTempView(views.get(0));
            trainAndTest[1].createOrReplaceTempView(views.get(1));
            TrainingPlan bound = bind(views.get(0), views.get(1));
            Preflight.Sources sources = Preflight.check(bound);
            JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            TrainingRun.Outcome outcome = TrainingRun.execute(sources.plan(), sources,
                    PlanBinder.toYaml(sources.plan()), Optional.of(sc), System.out);
            ShoalClassificationModel model = ShoalClassificationModel.fromRunDirectory(uid, outcome.directory());
            copyValues(model, ParamMap.empty());
            return model.setParent(this);
        } finally {
            views.forEach(v -> spark.catalog().dropTempView(v));
            if (active.isDefined()) {
                SparkSession.setActiveSession(active.get());
            } else {
                SparkSession.clearActiveSession();
            }
        }
    }

    /** The plan fit trains on these views; the binder's message (key and value) when a Param breaks a rule. */
    private TrainingPlan bind(String trainView, String testView) {
        try {
            return PlanBinder.bind(jobTree(trainView, testView), TrainingPlan.class);
        } catch (ConfigException e) {
            throw new IllegalArgumentException(uid + ": " + e.getMessage(), e);
        }
    }

    /**
     * The training rows and the test rows (features and label): split by validationIndicatorCol when it is set,
     * else the held-out fraction data.holdout drawn by the seed, else all rows both.
     */
    private Dataset<Row>[] split(Dataset<Row> data) {
        String x = getOrDefault(columns.features());
        String y = getOrDefault(labelCol);
        double holdout = (Double) getOrDefault(plan.param("data.holdout"));
        @SuppressWarnings("unchecked")
        Dataset<Row>[] split = new Dataset[2];
        if (isDefined(validationIndicatorCol)) {
            String v = getOrDefault(validationIndicatorCol);
            if (holdout > 0) {
                throw new IllegalArgumentException("validationIndicatorCol '" + v + "' and data.holdout = "
                        + holdout + " both choose the test rows; set one");
            }
            Columns.requireType(data.schema(), v, "validationIndicatorCol", DataTypes.BooleanType);
            split[0] = data.where(functions.not(functions.col(v))).select(x, y);
            split[1] = data.where(functions.col(v)).select(x, y);
        } else if (holdout > 0) {
            split = data.select(x, y).randomSplit(new double[] {1 - holdout, holdout},
                    (Long) getOrDefault(plan.param("training.seed")));
        } else {
            split[0] = data.select(x, y);
            split[1] = split[0];
        }
        for (int i = 0; i < 2; i++) {
            if (split[i].isEmpty()) {
                String chosenBy = isDefined(validationIndicatorCol) ? "validationIndicatorCol '"
                        + getOrDefault(validationIndicatorCol) + "'" : "data.holdout = " + holdout;
                throw new IllegalArgumentException(i == 0 && holdout == 0 && !isDefined(validationIndicatorCol)
                        ? "the DataFrame has no rows" : chosenBy + " leaves no " + (i == 0 ? "training" : "test")
                        + " rows");
            }
        }
        return split;
    }

    /**
     * The job file fit trains: the Params' keys, the views as a spark-table data section, and a run id of this
     * estimator's uid and a random suffix (CrossValidator fits several at once).
     */
    ObjectNode jobTree(String trainView, String testView) {
        ObjectNode tree = plan.tree(this);
        JsonNodeFactory f = JsonNodeFactory.instance;
        PlanBinder.set(tree, "name", f.textNode(uid));
        PlanBinder.set(tree, "data.format", f.textNode("spark-table"));
        PlanBinder.set(tree, "data.train", f.textNode(trainView));
        PlanBinder.set(tree, "data.test", f.textNode(testView));
        PlanBinder.set(tree, "data.label", f.textNode(getOrDefault(labelCol)));
        PlanBinder.set(tree, "data.features", f.arrayNode().add(getOrDefault(columns.features())));
        PlanBinder.set(tree, "output.run-id", f.textNode(uid + "-" + UUID.randomUUID().toString().substring(0, 8)));
        return tree;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        Columns.requireNumeric(schema, getOrDefault(labelCol), "labelCol");
        bind("train", "test"); // ranges and rules between keys, before anything trains
        return columns.outputSchema(this, schema);
    }

    @Override
    public ShoalClassifier copy(ParamMap extra) {
        return (ShoalClassifier) defaultCopy(extra);
    }

    @Override
    public MLWriter write() {
        return new MLWriter() {
            @Override
            public void saveImpl(String path) {
                DefaultParamsWriter$.MODULE$.saveMetadata(ShoalClassifier.this, path, sc(), Option.empty(),
                        Option.empty());
            }
        };
    }

    public static MLReader<ShoalClassifier> read() {
        return new MLReader<>() {
            @Override
            public ShoalClassifier load(String path) {
                DefaultParamsReader.Metadata metadata = DefaultParamsReader$.MODULE$.loadMetadata(path, sc(),
                        ShoalClassifier.class.getName());
                ShoalClassifier estimator = new ShoalClassifier(metadata.uid());
                metadata.getAndSetParams(estimator, Option.empty());
                return estimator;
            }
        };
    }

    public static ShoalClassifier load(String path) {
        return read().load(path);
    }

    @SuppressWarnings("unchecked")
    private static Param<Object> raw(Param<?> p) {
        return (Param<Object>) p;
    }
}
