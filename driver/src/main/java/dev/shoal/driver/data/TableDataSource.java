package dev.shoal.driver.data;

import static org.apache.spark.ml.functions.vector_to_array;

import dev.shoal.driver.plan.DataFormat;
import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.InputShape;
import dev.shoal.kernel.Shuffle;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.Tuple2;

/**
 * A table that Spark SQL reads (Parquet, CSV with a header line, JSON lines), one example per row: a label
 * column of class indices, and the features in one array column, one Spark ML vector column (dense or sparse, as
 * VectorAssembler writes it) or numeric columns.
 *
 * <p>Executors read the rows; each row gets its slot from the seeded permutation of the table's row numbers,
 * and Spark moves it to the block that owns the slot, so blocks are balanced and random as for IDX files and
 * the driver never holds the data. A row with a missing or non-finite value, an array of the wrong length or a
 * label that is not a class index fails the load with a message naming the file, the row and the value.
 *
 * @param spec   what the plan says
 * @param layout what the table holds: null until {@link #open} has read it through Spark
 */
public record TableDataSource(Spec spec, Layout layout) implements DataSource, Serializable {

    /**
     * The plan's description of a table.
     *
     * @param key      job-file key of the path, for messages
     * @param features feature columns as configured; empty to find them ({@link #open})
     * @param shape    [height, width, channels] of an image, or empty for a flat vector
     * @param limit    use the first {@code limit} rows only; 0 for all
     * @param clientColumn the column naming each row's client (federated averaging's column split); empty for none
     */
    public record Spec(String key, String path, DataFormat format, String label, List<String> features,
                       int classes, float scale, List<Integer> shape, int limit, BadRecords bad, String clientColumn)
            implements Serializable {

        /** A table whose rows name no clients. */
        public Spec(String key, String path, DataFormat format, String label, List<String> features, int classes,
                    float scale, List<Integer> shape, int limit, BadRecords bad) {
            this(key, path, format, label, features, classes, scale, shape, limit, bad, "");
        }
    }

    /**
     * The feature columns found, whether they are one array column (or one Spark ML vector column, read as an
     * array), the values per example and the rows; with a client column, its distinct values, sorted (a row's
     * client is the index of its value there).
     */
    public record Layout(List<String> columns, boolean array, boolean vector, int featureSize, int examples,
                         List<String> clients) implements Serializable {

        /** The feature columns as the rows are read: a vector column becomes an array of floats. */
        List<Column> select() {
            return columns.stream().map(c -> vector ? vector_to_array(functions.col(c), "float32")
                    : functions.col(c)).toList();
        }
    }

    public static TableDataSource of(Spec spec) {
        return new TableDataSource(spec, null);
    }

    /** Reads the schema and counts the rows (one Spark job), checking that the columns are usable. */
    @Override
    public TableDataSource open(JavaSparkContext sc) {
        Dataset<Row> table = read(sc);
        StructType schema = table.schema();
        DataType labelType = type(schema, spec.label(), "label");
        if (!(labelType instanceof NumericType)) {
            throw error("label column '" + spec.label() + "' is " + labelType.simpleString()
                    + ", not a number");
        }
        List<String> columns = spec.features().isEmpty() ? findFeatures(schema) : spec.features();
        boolean array = false;
        boolean vector = false;
        int featureSize = columns.size();
        DataType firstType = columns.size() == 1 ? type(schema, columns.get(0), "features") : null;
        if (firstType instanceof ArrayType || firstType instanceof VectorUDT) {
            if (firstType instanceof ArrayType a && !(a.elementType() instanceof NumericType)) {
                throw error("feature column '" + columns.get(0) + "' is " + a.simpleString() + ", not an array "
                        + "of numbers");
            }
            array = true;
            vector = firstType instanceof VectorUDT;
            Column values = new Layout(columns, true, vector, 0, 0, List.of()).select().get(0);
            featureSize = table.select(functions.size(values)).head().getInt(0);
        } else {
            for (String c : columns) {
                DataType t = type(schema, c, "features");
                if (!(t instanceof NumericType)) {
                    throw error("feature column '" + c + "' is " + t.simpleString() + ", not a number");
                }
            }
        }
        if (!spec.shape().isEmpty()) {
            int product = spec.shape().stream().reduce(1, (x, y) -> x * y);
            if (product != featureSize) {
                throw error("data.shape " + spec.shape() + " holds " + product + " values, but the table has "
                        + featureSize + " features per row");
            }
        }
        long rows = table.count();
        if (rows == 0 || rows > Integer.MAX_VALUE) {
            throw error(rows == 0 ? "the table has no rows" : "the table has " + rows + " rows; at most "
                    + Integer.MAX_VALUE + " are supported");
        }
        return new TableDataSource(spec, new Layout(List.copyOf(columns), array, vector, featureSize, (int) rows,
                clientNames(table, schema)));
    }

    /** The distinct values of the client column, sorted; empty without one. */
    private List<String> clientNames(Dataset<Row> table, StructType schema) {
        String c = spec.clientColumn();
        if (c.isEmpty()) {
            return List.of();
        }
        type(schema, c, "client");
        return table.select(functions.col(c).cast("string")).where(functions.col(c).isNotNull()).distinct()
                .collectAsList().stream().map(r -> r.getString(0)).sorted().toList();
    }

    private Layout opened() {
        if (layout == null) {
            throw new IllegalStateException(spec.path() + " is read when Spark starts: call open() first");
        }
        return layout;
    }

    @Override
    public int examples() {
        return opened().examples();
    }

    @Override
    public int classes() {
        return spec.classes();
    }

    @Override
    public int featureSize() {
        return opened().featureSize();
    }

    @Override
    public InputShape inputShape() {
        List<Integer> s = spec.shape();
        return s.isEmpty() ? InputShape.vector(featureSize()) : new InputShape(s.get(0), s.get(1), s.get(2));
    }

    @Override
    public JavaRDD<ExampleBlock> load(JavaSparkContext sc, int partitions, long seed) {
        Layout l = opened();
        List<Column> select = new ArrayList<>();
        select.addAll(l.select());
        if (!l.clients().isEmpty()) {
            select.add(functions.col(spec.clientColumn()).cast("string"));
        }
        select.add(functions.col(spec.label()));
        select.add(functions.input_file_name());
        int n = l.examples();
        TableDataSource source = this;
        BadRecords bad = spec.bad();
        JavaRDD<ExampleBlock> blocks = read(sc).select(select.toArray(Column[]::new)).javaRDD()
                .zipWithIndex()
                .mapPartitionsToPair(rows -> {
                    int[] slotOf = Shuffle.permutation(n, seed);
                    List<Tuple2<Integer, Example>> placed = new ArrayList<>();
                    while (rows.hasNext()) {
                        Tuple2<Row, Long> row = rows.next();
                        int index = Math.toIntExact(row._2());
                        try {
                            placed.add(new Tuple2<>(slotOf[index], source.example(row._1(), index)));
                        } catch (DataFormatException problem) {
                            bad.reject(problem);
                        }
                    }
                    return placed.iterator();
                })
                .partitionBy(new SlotPartitioner(n, partitions))
                .mapPartitionsWithIndex((p, placed) -> List.of(block(p, partitions, placed)).iterator(), true)
                .setName("examples " + spec.path())
                .persist(org.apache.spark.storage.StorageLevel.MEMORY_ONLY());
        blocks.count();
        return blocks;
    }

    /**
     * One row's example; the row holds the feature columns, the client (with a client column), the label and the
     * file name, in that order.
     */
    Example example(Row row, int index) {
        Layout l = layout;
        String file = row.getString(row.length() - 1);
        float[] x = new float[l.featureSize()];
        if (l.array()) {
            if (row.isNullAt(0)) {
                throw rowError(file, index, "feature column '" + l.columns().get(0) + "' is null");
            }
            List<Object> values = row.getList(0);
            if (values.size() != x.length) {
                throw rowError(file, index, "feature column '" + l.columns().get(0) + "' holds " + values.size()
                        + " values; the table's first row has " + x.length);
            }
            for (int i = 0; i < x.length; i++) {
                x[i] = feature(values.get(i), file, index, l.columns().get(0) + "[" + i + "]");
            }
        } else {
            for (int i = 0; i < x.length; i++) {
                x[i] = feature(row.get(i), file, index, l.columns().get(i));
            }
        }
        Object label = row.get(row.length() - 2);
        if (label == null) {
            throw rowError(file, index, "label column '" + spec.label() + "' is null");
        }
        double y = ((Number) label).doubleValue();
        if (y != Math.rint(y) || y < 0 || y >= spec.classes()) {
            throw rowError(file, index, "label " + label + " is not a class index in [0, " + (spec.classes() - 1)
                    + "] (data.classes is " + spec.classes() + ")");
        }
        return new Example(x, (int) y, l.clients().isEmpty() ? -1 : client(row.get(row.length() - 3), file, index));
    }

    /** The index of a row's client among the sorted client names. */
    private int client(Object value, String file, int index) {
        if (value == null) {
            throw rowError(file, index, "client column '" + spec.clientColumn() + "' is null");
        }
        int client = java.util.Collections.binarySearch(layout.clients(), (String) value);
        if (client < 0) {
            throw rowError(file, index, "client '" + value + "' was not in the table when it was opened");
        }
        return client;
    }

    private float feature(Object value, String file, int index, String column) {
        if (value == null) {
            throw rowError(file, index, "feature '" + column + "' is null");
        }
        float v = ((Number) value).floatValue() * spec.scale();
        if (!Float.isFinite(v)) {
            throw rowError(file, index, "feature '" + column + "' is " + value + (spec.scale() != 1
                    ? " (x " + spec.scale() + " = " + v + ")" : ""));
        }
        return v;
    }

    private ExampleBlock block(int partition, int partitions, Iterator<Tuple2<Integer, Example>> placed) {
        int n = layout.examples();
        int first = DataSource.start(partition, partitions, n);
        int size = DataSource.start(partition + 1, partitions, n) - first;
        int featureSize = layout.featureSize();
        float[] x = new float[size * featureSize];
        int[] y = new int[size];
        int[] clients = new int[layout.clients().isEmpty() ? 0 : size];
        boolean[] filled = new boolean[size];
        int count = 0;
        while (placed.hasNext()) {
            Tuple2<Integer, Example> e = placed.next();
            int row = e._1() - first;
            System.arraycopy(e._2().x(), 0, x, row * featureSize, featureSize);
            y[row] = e._2().y();
            if (clients.length > 0) {
                clients[row] = e._2().client();
            }
            filled[row] = true;
            count++;
        }
        if (count != size && !spec.bad().skip()) {
            throw new DataFormatException(spec.path() + " changed while it was read: block " + partition + " got "
                    + count + " rows, expected " + size);
        }
        return DataSource.compact(x, y, clients, filled, featureSize, spec.classes());
    }

    /** The table at {@code path} in {@code format}: files Spark SQL reads, or a table in the session's catalog. */
    public static Dataset<Row> read(SparkSession spark, DataFormat format, String path) {
        if (format == DataFormat.SPARK_TABLE) {
            return spark.table(path);
        }
        var reader = spark.read().format(format.name().toLowerCase(java.util.Locale.ROOT));
        if (format == DataFormat.CSV) {
            reader = reader.option("header", "true").option("inferSchema", "true");
        }
        return reader.load(path);
    }

    private Dataset<Row> read(JavaSparkContext sc) {
        SparkSession spark = SparkSession.builder().sparkContext(sc.sc()).getOrCreate();
        Dataset<Row> table;
        try {
            table = read(spark, spec.format(), spec.path());
        } catch (RuntimeException e) {
            String format = spec.format().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
            throw error("cannot be read as " + format + ": " + e.getMessage().lines().findFirst().orElse(""));
        }
        return spec.limit() > 0 ? table.limit(spec.limit()) : table;
    }

    /** The column named {@code name}, or an error listing the columns there are. */
    private DataType type(StructType schema, String name, String role) {
        for (StructField f : schema.fields()) {
            if (f.name().equals(name)) {
                return f.dataType();
            }
        }
        throw error("has no " + role + " column '" + name + "'; its columns are "
                + Arrays.toString(schema.fieldNames()));
    }

    /** A column named "features" if there is one, else every numeric column but the label. */
    private List<String> findFeatures(StructType schema) {
        List<String> numeric = new ArrayList<>();
        for (StructField f : schema.fields()) {
            if (f.name().equals("features")) {
                return List.of("features");
            }
            if (f.dataType() instanceof NumericType && !f.name().equals(spec.label())) {
                numeric.add(f.name());
            }
        }
        if (numeric.isEmpty()) {
            throw error("has no 'features' column and no numeric column besides the label; its columns are "
                    + Arrays.toString(schema.fieldNames()));
        }
        return numeric;
    }

    private DataFormatException error(String message) {
        return new DataFormatException(spec.key() + " = " + spec.path() + ": " + message);
    }

    private DataFormatException rowError(String file, int index, String message) {
        return new DataFormatException(spec.key() + " = " + spec.path() + ": row " + index + " (in " + file + "): "
                + message);
    }

    /** One row, converted; {@code client} is -1 without a client column. */
    record Example(float[] x, int y, int client) implements Serializable {
    }

    /** Sends slot s to the block that owns it: the p with start(p) <= s < start(p + 1). */
    private static final class SlotPartitioner extends Partitioner {
        private final int examples;
        private final int partitions;

        SlotPartitioner(int examples, int partitions) {
            this.examples = examples;
            this.partitions = partitions;
        }

        @Override
        public int numPartitions() {
            return partitions;
        }

        @Override
        public int getPartition(Object key) {
            int slot = (Integer) key;
            int lo = 0;
            int hi = partitions - 1;
            while (lo < hi) {
                int mid = (lo + hi + 1) >>> 1;
                if (DataSource.start(mid, partitions, examples) <= slot) {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            return lo;
        }
    }
}
