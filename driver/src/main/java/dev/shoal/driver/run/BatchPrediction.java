package dev.shoal.driver.run;

import dev.shoal.kernel.config.UserFacingException;
import static org.apache.spark.ml.functions.vector_to_array;

import dev.shoal.driver.data.DataSource;
import dev.shoal.driver.data.IdxFile;
import dev.shoal.driver.data.ImageFolderDataSource;
import dev.shoal.driver.data.Vocabulary;
import dev.shoal.kernel.Checksum;
import dev.shoal.kernel.Inference;
import dev.shoal.kernel.InputShape;
import dev.shoal.kernel.KernelThreads;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;

/**
 * Scores a table with a saved model on the executors ({@code shoal predict}). The model travels once, as a
 * broadcast, and each executor JVM restores it once (a cache keyed by the model's hash; each task thread scores
 * with its own copy, since a DL4J network is not safe to share between threads). Rows are scored in minibatches.
 * The output keeps the input's other columns and adds {@code prediction}, {@code probability} and
 * {@code model_version}.
 */
public final class BatchPrediction {
    public static final String PREDICTION = "prediction";
    public static final String PROBABILITY = "probability";
    public static final String MODEL_VERSION = "model_version";
    public static final String CLASS_NAME = "class_name";

    private static final Map<String, ThreadLocal<Inference>> MODELS = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();
    private static final int CACHED = 4;

    private BatchPrediction() {
    }

    /** One row to score: the values it keeps for the output, and its features, scaled as training scaled them. */
    public record Example(Object[] kept, float[] x) implements Serializable {
    }

    /**
     * The feature columns of {@code rows}: the plan's, else a column named "features", else every numeric column
     * but {@code ignored} (the label and the key columns).
     */
    public static List<String> featureColumns(StructType schema, List<String> planned, List<String> ignored) {
        if (!planned.isEmpty()) {
            return planned;
        }
        List<String> numeric = new ArrayList<>();
        for (StructField f : schema.fields()) {
            if (f.name().equals("features")) {
                return List.of("features");
            }
            if (f.dataType() instanceof NumericType && !ignored.contains(f.name())) {
                numeric.add(f.name());
            }
        }
        return numeric;
    }

    /** Values per row of {@code features} in {@code rows} (reads one row when they are one array column). */
    public static int featureSize(Dataset<Row> rows, List<String> features) {
        if (features.size() != 1) {
            return features.size();
        }
        org.apache.spark.sql.types.DataType type = rows.schema().apply(features.get(0)).dataType();
        if (type instanceof ArrayType || type instanceof VectorUDT) {
            return rows.select(functions.size(asArray(rows, features.get(0)))).head().getInt(0);
        }
        return 1;
    }

    /**
     * The rows of {@code table} as examples: every column but the {@code features} is kept, the features (one array
     * or ML vector column, or numeric columns; {@code featureSize} values) are multiplied by {@code scale}.
     * Returns the examples and the schema of the kept columns.
     */
    public static scala.Tuple2<JavaRDD<Example>, StructType> examples(Dataset<Row> table, List<String> features,
                                                                   int featureSize, float scale) {
        List<Column> select = new ArrayList<>();
        StructType kept = new StructType();
        for (StructField f : table.schema().fields()) {
            if (!features.contains(f.name())) {
                kept = kept.add(f);
                select.add(functions.col(f.name()));
            }
        }
        boolean array = isArray(table, features);
        for (String c : features) {
            select.add(array ? asArray(table, c) : functions.col(c).cast(DataTypes.FloatType));
        }
        TableRows reader = new TableRows(kept.size(), array, featureSize, scale);
        return new scala.Tuple2<>(table.select(select.toArray(Column[]::new)).javaRDD().map(reader::example), kept);
    }

    /**
     * Texts as examples: the text of column {@code textColumn} as the ids of {@code vocabulary} (the model's own),
     * {@code maxLength} of them as training read them; every other column is kept.
     */
    public static scala.Tuple2<JavaRDD<Example>, StructType> textExamples(Dataset<Row> table, String textColumn,
                                                                       Vocabulary vocabulary, int maxLength) {
        List<Column> select = new ArrayList<>();
        StructType kept = new StructType();
        for (StructField f : table.schema().fields()) {
            if (!f.name().equals(textColumn)) {
                kept = kept.add(f);
                select.add(functions.col(f.name()));
            }
        }
        select.add(functions.col(textColumn));
        int keptCount = kept.size();
        JavaRDD<Example> examples = table.select(select.toArray(Column[]::new)).javaRDD().map(row -> {
            Object[] values = new Object[keptCount];
            for (int c = 0; c < keptCount; c++) {
                values[c] = row.get(c);
            }
            if (row.isNullAt(keptCount)) {
                throw new UserFacingException("a record to score has no text in '" + textColumn + "': " + row);
            }
            float[] x = new float[maxLength];
            vocabulary.sequence(row.getString(keptCount), maxLength, x, 0);
            return new Example(values, x);
        });
        return new scala.Tuple2<>(examples, kept);
    }

    /**
     * Image files as examples, decoded on the executors as training decodes them ({@code shape}); the kept value
     * is the file's path ({@link #imageKept}).
     */
    public static JavaRDD<Example> imageExamples(JavaSparkContext sc, List<String> files, InputShape shape,
                                                 int partitions) {
        return sc.parallelize(files, partitions)
                .map(file -> new Example(new Object[] {file}, ImageFolderDataSource.decode(file, shape)));
    }

    /** The kept column of {@link #imageExamples}: the file. */
    public static StructType imageKept() {
        return new StructType().add("file", DataTypes.StringType, false);
    }

    /**
     * IDX images (and their labels) as examples, read on the executors: each of {@code partitions} tasks reads its
     * range of the file. Pixels are scaled to [0, 1], as training reads them; the kept values are the index and
     * the label ({@link #idxKept}).
     */
    public static JavaRDD<Example> idxExamples(JavaSparkContext sc, IdxFile images, Optional<IdxFile> labels,
                                               int partitions) {
        int n = images.records();
        IdxFile truth = labels.orElse(null);
        return sc.parallelize(IntStream.range(0, partitions).boxed().toList(), partitions)
                .flatMap(p -> readRange(images, truth, DataSource.start(p, partitions, n),
                        DataSource.start(p + 1, partitions, n)).iterator());
    }

    /** The kept columns of {@link #idxExamples}: index, and label when there are labels. */
    public static StructType idxKept(Optional<IdxFile> labels) {
        StructType kept = new StructType().add("index", DataTypes.LongType, false);
        return labels.isEmpty() ? kept : kept.add("label", DataTypes.IntegerType, false);
    }

    /** Records [first, end) of an IDX image file (and its labels, when not null) as examples. */
    private static List<Example> readRange(IdxFile images, IdxFile labels, int first, int end) {
        int size = images.recordSize();
        float[] pixels = images.readScaled(first, end);
        int[] y = labels == null ? null : labels.readLabels(first, end);
        List<Example> examples = new ArrayList<>(end - first);
        for (int i = first; i < end; i++) {
            Object[] kept = labels == null ? new Object[] {(long) i} : new Object[] {(long) i, y[i - first]};
            examples.add(new Example(kept, Arrays.copyOfRange(pixels, (i - first) * size, (i - first + 1) * size)));
        }
        return examples;
    }

    /**
     * Scores {@code examples} ({@code featureSize} values each, kept values as {@code kept} describes) with the
     * model saved in {@code model} (model.zip's bytes), {@code batchSize} rows at a time on {@code threads} ND4J
     * threads per task (sync.threads-per-worker, as training), naming it {@code version} in the output.
     */
    public static Dataset<Row> score(JavaSparkContext sc, JavaRDD<Example> examples, StructType kept,
                                     int featureSize, byte[] model, String version, int batchSize, int threads) {
        StructType schema = kept.add(PREDICTION, DataTypes.IntegerType, false)
                .add(PROBABILITY, DataTypes.createArrayType(DataTypes.FloatType, false), false)
                .add(MODEL_VERSION, DataTypes.StringType, false);
        Scorer scorer = new Scorer(sc.broadcast(model), Checksum.sha256(model), version, featureSize, batchSize,
                threads);
        return SparkSession.builder().sparkContext(sc.sc()).getOrCreate()
                .createDataFrame(examples.mapPartitions(scorer), schema);
    }

    /** {@code scored} with the predicted class's name as a last column, when the model's classes have names. */
    public static Dataset<Row> withClassNames(Dataset<Row> scored, List<String> names) {
        if (names.isEmpty()) {
            return scored;
        }
        Column all = functions.array(names.stream().map(functions::lit).toArray(Column[]::new));
        return scored.withColumn(CLASS_NAME, functions.element_at(all, functions.col(PREDICTION).plus(1)));
    }

    /** How many times this JVM has restored a model from its bytes. */
    public static int loads() {
        return LOADS.get();
    }

    private static boolean isArray(Dataset<Row> rows, List<String> features) {
        if (features.size() != 1) {
            return false;
        }
        org.apache.spark.sql.types.DataType type = rows.schema().apply(features.get(0)).dataType();
        return type instanceof ArrayType || type instanceof VectorUDT;
    }

    private static Column asArray(Dataset<Row> rows, String column) {
        return rows.schema().apply(column).dataType() instanceof VectorUDT
                ? vector_to_array(functions.col(column), "float32")
                : functions.col(column).cast(DataTypes.createArrayType(DataTypes.FloatType));
    }

    /**
     * This thread's copy of the model with hash {@code hash}, restored once per JVM, ready to score rows of
     * {@code featureSize} values. A JVM keeps the models of at most {@link #CACHED} runs of predict: an executor of
     * a long-lived application scores with many.
     */
    private static Inference model(String hash, Broadcast<byte[]> bytes, int featureSize) {
        if (!MODELS.containsKey(hash) && MODELS.size() >= CACHED) {
            MODELS.clear();
        }
        return MODELS.computeIfAbsent(hash, h -> {
            MultiLayerNetwork restored;
            try {
                restored = ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(bytes.value()), false);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot restore the model to score with", e);
            }
            LOADS.incrementAndGet();
            return ThreadLocal.withInitial(() -> {
                synchronized (restored) {
                    return Inference.of(restored.clone(), featureSize);
                }
            });
        }).get();
    }

    /** Scores the examples of one partition. */
    private record Scorer(Broadcast<byte[]> model, String hash, String version, int featureSize, int batchSize,
                          int threads) implements FlatMapFunction<Iterator<Example>, Row>, Serializable {

        /** The partition's rows scored a minibatch at a time, as Spark asks for them. */
        @Override
        public Iterator<Row> call(Iterator<Example> examples) {
            return new Iterator<>() {
                private final List<Row> scored = new ArrayList<>(batchSize);
                private int next;

                @Override
                public boolean hasNext() {
                    if (next == scored.size() && examples.hasNext()) {
                        List<Example> batch = new ArrayList<>(batchSize);
                        while (batch.size() < batchSize && examples.hasNext()) {
                            batch.add(examples.next());
                        }
                        scored.clear();
                        next = 0;
                        score(batch, scored);
                    }
                    return next < scored.size();
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new java.util.NoSuchElementException();
                    }
                    return scored.get(next++);
                }
            };
        }

        /** Scores {@code batch} on a kernel thread, with that thread's copy of the model. */
        private void score(List<Example> batch, List<Row> out) {
            float[] x = new float[batch.size() * featureSize];
            for (int r = 0; r < batch.size(); r++) {
                System.arraycopy(batch.get(r).x(), 0, x, r * featureSize, featureSize);
            }
            float[] p = KernelThreads.call(() -> {
                KernelThreads.apply(threads);
                return BatchPrediction.model(hash, model, featureSize).output(x, batch.size());
            });
            int classes = p.length / batch.size();
            for (int r = 0; r < batch.size(); r++) {
                Object[] kept = batch.get(r).kept();
                Object[] values = Arrays.copyOf(kept, kept.length + 3);
                float[] probability = Arrays.copyOfRange(p, r * classes, (r + 1) * classes);
                values[kept.length] = Inference.classOf(p, r, classes);
                values[kept.length + 1] = probability;
                values[kept.length + 2] = version;
                out.add(RowFactory.create(values));
            }
        }
    }

    /** Turns a table's rows (kept columns first, then the features) into examples, on the executors. */
    private record TableRows(int kept, boolean array, int featureSize, float scale) implements Serializable {

        Example example(Row row) {
            Object[] keptValues = new Object[kept];
            for (int c = 0; c < kept; c++) {
                keptValues[c] = row.get(c);
            }
            float[] x = new float[featureSize];
            if (array) {
                List<Object> values = row.isNullAt(kept) ? null : row.getList(kept);
                if (values == null || values.size() != featureSize) {
                    throw new UserFacingException("a row to score has " + (values == null ? "no features"
                            : values.size() + " feature values") + " where the model takes " + featureSize
                            + ": " + row);
                }
                for (int i = 0; i < featureSize; i++) {
                    x[i] = value(values.get(i), row) * scale;
                }
            } else {
                for (int i = 0; i < featureSize; i++) {
                    x[i] = value(row.get(kept + i), row) * scale;
                }
            }
            return new Example(keptValues, x);
        }

        private static float value(Object v, Row row) {
            if (v == null) {
                throw new UserFacingException("a row to score has a missing feature value: " + row);
            }
            return ((Number) v).floatValue();
        }
    }
}
