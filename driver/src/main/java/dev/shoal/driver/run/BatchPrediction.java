package dev.shoal.driver.run;

import static org.apache.spark.ml.functions.vector_to_array;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
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
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

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

    private static final Map<String, ThreadLocal<MultiLayerNetwork>> MODELS = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    private BatchPrediction() {
    }

    /**
     * The rows to score and how to read their features.
     *
     * @param features    the feature columns: one array or ML vector column, or numeric columns
     * @param featureSize values per row, checked on every row
     * @param scale       what each value is multiplied by, as training did (data.scale)
     */
    public record Input(Dataset<Row> rows, List<String> features, int featureSize, float scale) {
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
     * Scores {@code input} with the model saved in {@code model} (model.zip's bytes), {@code batchSize} rows at a
     * time, naming it {@code version} in the output.
     */
    public static Dataset<Row> score(JavaSparkContext sc, Input input, byte[] model, String version, int batchSize) {
        Dataset<Row> rows = input.rows();
        List<String> kept = new ArrayList<>();
        List<Column> select = new ArrayList<>();
        for (String c : rows.columns()) {
            if (!input.features().contains(c)) {
                kept.add(c);
                select.add(functions.col(c));
            }
        }
        boolean array = isArray(rows, input.features());
        for (String c : input.features()) {
            select.add(array ? asArray(rows, c) : functions.col(c).cast(DataTypes.FloatType));
        }
        StructType schema = new StructType();
        for (String c : kept) {
            schema = schema.add(rows.schema().apply(c));
        }
        schema = schema.add(PREDICTION, DataTypes.IntegerType, false)
                .add(PROBABILITY, DataTypes.createArrayType(DataTypes.FloatType, false), false)
                .add(MODEL_VERSION, DataTypes.StringType, false);
        Broadcast<byte[]> shipped = sc.broadcast(model);
        Scorer scorer = new Scorer(shipped, sha256(model), version, kept.size(), array,
                input.featureSize(), input.scale(), batchSize);
        JavaRDD<Row> scored = rows.select(select.toArray(Column[]::new)).javaRDD().mapPartitions(scorer);
        return SparkSession.builder().sparkContext(sc.sc()).getOrCreate().createDataFrame(scored, schema);
    }

    /** The SHA-256 of {@code bytes}, in hex. */
    public static String sha256(byte[] bytes) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code list} as a Row holds an array value (Spark's row encoder takes Scala sequences, not Java lists). */
    public static Object scalaSeq(List<?> list) {
        return scala.collection.JavaConverters.asScalaBuffer(list).toSeq();
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

    /** This thread's copy of the model with hash {@code hash}, restored once per JVM. */
    private static MultiLayerNetwork model(String hash, Broadcast<byte[]> bytes) {
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
                    return restored.clone();
                }
            });
        }).get();
    }

    /** Scores the rows of one partition: kept columns first, then the features. */
    private record Scorer(Broadcast<byte[]> model, String hash, String version, int kept, boolean array,
                          int featureSize, float scale, int batchSize)
            implements FlatMapFunction<Iterator<Row>, Row>, Serializable {

        /** The partition's rows scored a minibatch at a time, as Spark asks for them. */
        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            MultiLayerNetwork net = BatchPrediction.model(hash, model);
            return new Iterator<>() {
                private final List<Row> scored = new ArrayList<>(batchSize);
                private int next;

                @Override
                public boolean hasNext() {
                    if (next == scored.size() && rows.hasNext()) {
                        List<Row> batch = new ArrayList<>(batchSize);
                        while (batch.size() < batchSize && rows.hasNext()) {
                            batch.add(rows.next());
                        }
                        scored.clear();
                        next = 0;
                        score(net, batch, scored);
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

        private void score(MultiLayerNetwork net, List<Row> batch, List<Row> out) {
            float[] x = new float[batch.size() * featureSize];
            for (int r = 0; r < batch.size(); r++) {
                features(batch.get(r), x, r * featureSize);
            }
            INDArray probabilities = net.output(Nd4j.create(x, new long[] {batch.size(), featureSize}, 'c'), false)
                    .castTo(DataType.FLOAT);
            int classes = (int) probabilities.size(1);
            float[] p = probabilities.dup('c').data().asFloat();
            for (int r = 0; r < batch.size(); r++) {
                Object[] values = new Object[kept + 3];
                Row row = batch.get(r);
                for (int c = 0; c < kept; c++) {
                    values[c] = row.get(c);
                }
                List<Float> probability = new ArrayList<>(classes);
                int best = 0;
                for (int k = 0; k < classes; k++) {
                    probability.add(p[r * classes + k]);
                    if (p[r * classes + k] > p[r * classes + best]) {
                        best = k;
                    }
                }
                values[kept] = best;
                values[kept + 1] = scalaSeq(probability);
                values[kept + 2] = version;
                out.add(RowFactory.create(values));
            }
        }

        /** Reads a row's features into {@code x} at {@code offset}, scaled; a bad row fails with its values. */
        private void features(Row row, float[] x, int offset) {
            if (array) {
                List<Object> values = row.isNullAt(kept) ? null : row.getList(kept);
                if (values == null || values.size() != featureSize) {
                    throw new IllegalStateException("a row to score has " + (values == null ? "no features"
                            : values.size() + " feature values") + " where the model takes " + featureSize
                            + ": " + row);
                }
                for (int i = 0; i < featureSize; i++) {
                    x[offset + i] = value(values.get(i), row) * scale;
                }
            } else {
                for (int i = 0; i < featureSize; i++) {
                    x[offset + i] = value(row.get(kept + i), row) * scale;
                }
            }
        }

        private static float value(Object v, Row row) {
            if (v == null) {
                throw new IllegalStateException("a row to score has a missing feature value: " + row);
            }
            return ((Number) v).floatValue();
        }
    }
}
