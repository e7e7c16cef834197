package dev.shoal.driver.data;

import static org.apache.spark.ml.functions.vector_to_array;

import dev.shoal.driver.plan.DataFormat;
import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.FeatureRows;
import dev.shoal.kernel.Floats;
import dev.shoal.kernel.InputShape;
import dev.shoal.kernel.Shuffle;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;
import org.apache.spark.HashPartitioner;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.InputFileBlockHolder;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.execution.ColumnarToRowExec;
import org.apache.spark.sql.execution.FileSourceScanExec;
import org.apache.spark.sql.execution.InputAdapter;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.WholeStageCodegenExec;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.apache.spark.util.SerializableConfiguration;
import org.apache.spark.util.TaskCompletionListener;
import scala.Tuple2;

/**
 * A table that Spark SQL reads (Parquet, CSV with a header line, JSON lines), one example per row: a label
 * column of class indices, and the features in one array column, one Spark ML vector column (dense or sparse, as
 * VectorAssembler writes it) or numeric columns.
 *
 * <p>Executors read the rows; each row gets its slot from the seeded permutation of the table's row numbers,
 * and Spark moves it to the block that owns the slot (each partition's rows grouped by block, a few arrays per
 * partition and block), so blocks are balanced and random as for IDX files and the driver never holds the data.
 * A Parquet table of a label and one array column or number columns is read by Parquet's own readers
 * ({@link ParquetTable}: the footers give its row groups' rows, a row group is a partition). Spark SQL reads any
 * other table twice: its label column when it is opened, to count the rows of each partition, then everything
 * once. A row with a missing or non-finite value, an array of the wrong length or a label that is not a class
 * index fails the load with a message naming the file, the row and the value.
 *
 * @param spec   what the plan says
 * @param layout what the table holds: null until {@link #open} has read it through Spark
 */
public record TableDataSource(Spec spec, Layout layout) implements DataSource, Serializable {
    /** File splits a table is read in, per core Spark runs tasks on (at least; Spark keeps them to 128 MB). */
    private static final int SPLITS_PER_CORE = 8;
    private static final String MIN_SPLITS = "spark.sql.files.minPartitionNum";

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
     * array), the values per example and the rows, and the rows of each of the partitions Spark reads the table
     * in; with a client column, its distinct values, sorted (a row's client is the index of its value there); the
     * table's schema as it was read (the load reads the files with it instead of inferring it again: a CSV file's
     * inference reads the whole file; labels are read in the type it gives them). A Parquet table that Parquet's
     * own readers read ({@link ParquetTable}) has its row groups as the partitions, and no Spark schema.
     */
    public record Layout(List<String> columns, boolean array, boolean vector, int featureSize, int examples,
                         List<String> clients, long[] partitionRows, StructType schema, ParquetTable parquet)
            implements Serializable {

        /** The feature columns as the rows are read, as floats: a vector column becomes an array of floats. */
        List<Column> select() {
            return columns.stream().map(c -> vector ? vector_to_array(functions.col(c), "float32")
                    : functions.col(c).cast(array ? DataTypes.createArrayType(DataTypes.FloatType)
                    : DataTypes.FloatType)).toList();
        }
    }

    public static TableDataSource of(Spec spec) {
        return new TableDataSource(spec, null);
    }

    /**
     * Reads the schema, counts the rows of each partition and, for an array column, reads the first row's size,
     * checking that the columns are usable.
     */
    @Override
    public TableDataSource open(JavaSparkContext sc) {
        if (spec.format() == DataFormat.PARQUET && spec.clientColumn().isEmpty()) {
            Optional<ParquetTable> parquet = ParquetTable.find(spec.path(), spec.label(), spec.features(),
                    spec.limit(), sc.defaultParallelism(), sc.hadoopConfiguration());
            if (parquet.isPresent()) {
                ParquetTable p = parquet.get();
                long[] partRows = p.partRows();
                return checked(new Layout(p.features(), p.array(), false, p.featureSize(), examples(partRows),
                        List.of(), partRows, null, p));
            }
        }
        Dataset<Row> table = read(sc, null);
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
        } else {
            for (String c : columns) {
                DataType t = type(schema, c, "features");
                if (!(t instanceof NumericType)) {
                    throw error("feature column '" + c + "' is " + t.simpleString() + ", not a number");
                }
            }
        }
        long[] partitionRows = rowsPerPartition(table.select(spec.label()));
        int rows = examples(partitionRows);
        if (array) {
            Column values = new Layout(columns, true, vector, 0, 0, List.of(), new long[0], schema, null).select()
                    .get(0);
            featureSize = firstRowSize(table, values, partitionRows);
        }
        return checked(new Layout(List.copyOf(columns), array, vector, featureSize, rows,
                clientNames(table, schema), partitionRows, schema, null));
    }

    /** The rows of all partitions, checked to be some and at most an int's count. */
    private int examples(long[] partitionRows) {
        long rows = Arrays.stream(partitionRows).sum();
        if (rows == 0 || rows > Integer.MAX_VALUE) {
            throw error(rows == 0 ? "the table has no rows" : "the table has " + rows + " rows; at most "
                    + Integer.MAX_VALUE + " are supported");
        }
        return (int) rows;
    }

    /** This table with {@code layout}, once its first row's array has values and data.shape fits them. */
    private TableDataSource checked(Layout layout) {
        int featureSize = layout.featureSize();
        if (layout.array() && featureSize < 1) {
            throw error("feature column '" + layout.columns().get(0) + "' of the first row is "
                    + (featureSize < 0 ? "null" : "empty"));
        }
        if (!spec.shape().isEmpty()) {
            int product = spec.shape().stream().reduce(1, (x, y) -> x * y);
            if (product != featureSize) {
                throw error("data.shape " + spec.shape() + " holds " + product + " values, but the table has "
                        + featureSize + " features per row");
            }
        }
        return new TableDataSource(spec, layout);
    }

    /**
     * The rows of each partition Spark reads {@code column} in, which are the partitions of any other selection of
     * the table's columns (Spark splits files by their bytes, not by the columns read): so that each partition of
     * the load knows the number of its first row without the pass over all the data that zipWithIndex makes.
     * Counted on the label alone: counting on the feature array's size read the whole array column.
     */
    private static long[] rowsPerPartition(Dataset<Row> column) {
        return internalRows(column).mapPartitions(rows -> {
            long n = 0;
            for (; rows.hasNext(); rows.next()) {
                n++;
            }
            return List.of(n).iterator();
        }).collect().stream().mapToLong(Long::longValue).toArray();
    }

    /**
     * The size of the first row's array in {@code values} (a column of {@code table}; -1 when null), read from the
     * first partition that has rows and no other: Spark's head() reads the partitions in turns from the first, and
     * a split holding no row group's start is empty (the first of Fashion-MNIST's was, and its second look read
     * four partitions: 1 s of a table's first load).
     */
    static int firstRowSize(Dataset<Row> table, Column values, long[] partitionRows) {
        int first = 0;
        while (partitionRows[first] == 0) {
            first++;
        }
        int partition = first;
        List<Integer> size = internalRows(table.select(values)).mapPartitionsWithIndex((p, rows) ->
                p == partition && rows.hasNext() ? List.of(arraySize(rows.next())).iterator()
                        : java.util.Collections.emptyIterator(), false).collect();
        if (size.isEmpty()) {
            throw new IllegalStateException("partition " + partition + " of the table had rows and now has none");
        }
        return size.get(0);
    }

    /** The size of a row's first field, an array; -1 when it is null. */
    private static int arraySize(InternalRow row) {
        return row.isNullAt(0) ? -1 : row.getArray(0).numElements();
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
        long[] firstRows = new long[l.partitionRows().length];
        for (int p = 1; p < firstRows.length; p++) {
            firstRows[p] = firstRows[p - 1] + l.partitionRows()[p - 1];
        }
        TableDataSource source = this;
        JavaRDD<Chunk> chunks;
        if (l.parquet() != null) {
            ParquetTable table = l.parquet();
            SerializableConfiguration conf = new SerializableConfiguration(sc.hadoopConfiguration());
            List<Integer> parts = IntStream.range(0, table.parts().size()).boxed().toList();
            chunks = sc.parallelize(parts, parts.size()).mapPartitions(in -> {
                int part = in.next();
                ParquetTable.Rows rows = table.rows(table.parts().get(part), conf.value());
                TaskContext.get().addTaskCompletionListener((TaskCompletionListener) task -> {
                    try {
                        rows.close();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
                return source.place(rows, source.parquetRows(), (int) firstRows[part], partitions, seed);
            }, true);
        } else {
            chunks = internalRows(rows(sc)).mapPartitionsWithIndex((part, in) ->
                    source.place(in, source.sparkRows(), (int) firstRows[part], partitions, seed), true);
            if (chunks.getNumPartitions() != l.partitionRows().length) {
                throw error("was read in " + chunks.getNumPartitions() + " partitions, "
                        + l.partitionRows().length + " when it was opened: did it change?");
            }
        }
        JavaRDD<ExampleBlock> blocks = chunks
                .mapToPair(chunk -> new Tuple2<>(chunk.block(), chunk))
                .partitionBy(new HashPartitioner(partitions))
                .mapPartitionsWithIndex((p, placed) -> List.of(block(p, partitions, placed)).iterator(), true)
                .setName("examples " + spec.path())
                .persist(org.apache.spark.storage.StorageLevel.MEMORY_ONLY());
        blocks.count();
        return blocks;
    }

    /** The rows as {@link #place} reads them: the feature columns as floats, the client, the label. */
    Dataset<Row> rows(JavaSparkContext sc) {
        List<Column> select = new ArrayList<>(opened().select());
        if (!opened().clients().isEmpty()) {
            select.add(functions.col(spec.clientColumn()).cast("string"));
        }
        select.add(functions.col(spec.label()));
        return read(sc, opened().schema()).select(select.toArray(Column[]::new));
    }

    /**
     * The rows of {@code query}, partition by partition, as Spark's internal rows (a feature array is copied out in
     * one go, where a Row boxes every value): straight from the scan's column batches when the query is nothing but
     * the scan (Parquet; a row is a view of its batch, read before the next), else as Spark executes the query.
     * Reading every value of Fashion-MNIST as Parquet (600,000 rows) took 13 s through Spark's rows, 3.5 s from the
     * batches, which also need no code generated and compiled (0.43 s the first time in a JVM).
     */
    private static JavaRDD<InternalRow> internalRows(Dataset<Row> query) {
        Optional<SparkPlan> scan = columnarScan(query.queryExecution().executedPlan());
        return scan.isPresent()
                ? scan.get().executeColumnar().toJavaRDD().mapPartitions(TableDataSource::rowsOf, true)
                : query.queryExecution().toRdd().toJavaRDD();
    }

    /**
     * The file scan under {@code plan} when the plan is nothing but the scan and Spark's conversion of its column
     * batches into rows: the batches can be read as they are. Empty for any other plan (a cast, a limit, a format
     * or setting without batches).
     */
    static Optional<SparkPlan> columnarScan(SparkPlan plan) {
        SparkPlan p = plan instanceof WholeStageCodegenExec codegen ? codegen.child() : plan;
        if (!(p instanceof ColumnarToRowExec toRows)) {
            return Optional.empty();
        }
        SparkPlan under = toRows.child() instanceof InputAdapter input ? input.child() : toRows.child();
        return under instanceof FileSourceScanExec scan && scan.supportsColumnar() ? Optional.of(scan)
                : Optional.empty();
    }

    /** The rows of a partition's column batches, as views (a batch is read to its end before the next is taken). */
    private static Iterator<InternalRow> rowsOf(Iterator<ColumnarBatch> batches) {
        return new Iterator<>() {
            private ColumnarBatch batch;
            private int next;

            @Override
            public boolean hasNext() {
                while ((batch == null || next == batch.numRows()) && batches.hasNext()) {
                    batch = batches.next();
                    next = 0;
                }
                return batch != null && next < batch.numRows();
            }

            @Override
            public InternalRow next() {
                if (!hasNext()) {
                    throw new java.util.NoSuchElementException();
                }
                return batch.getRow(next++);
            }
        };
    }

    /**
     * Runs on an executor: converts the rows of one partition, whose first row is row {@code first} of the table,
     * into chunks of rows whose slots in the seeded permutation fall in the same block; a chunk goes on its way
     * as soon as it is full, so Spark moves arrays of about a megabyte (small enough for the garbage collector's
     * regions) rather than an object per row, and a partition's rows are never all held at once.
     */
    private <R> Iterator<Chunk> place(Iterator<R> rows, RowReader<R> reader, int first, int partitions, long seed) {
        int n = layout.examples();
        int[] slotOf = Shuffle.permutation(n, seed);
        Chunk[] filling = new Chunk[partitions];
        Deque<Chunk> ready = new ArrayDeque<>();
        return new Iterator<>() {
            private int index = first;

            @Override
            public boolean hasNext() {
                while (ready.isEmpty() && rows.hasNext()) {
                    add(rows.next());
                }
                if (ready.isEmpty()) { // the partition is read: what is left in each block's chunk
                    for (int p = 0; p < partitions; p++) {
                        if (filling[p] != null) {
                            ready.add(filling[p].done());
                            filling[p] = null;
                        }
                    }
                }
                return !ready.isEmpty();
            }

            @Override
            public Chunk next() {
                if (!hasNext()) {
                    throw new java.util.NoSuchElementException();
                }
                return ready.poll();
            }

            private void add(R row) {
                try {
                    if (index >= n) {
                        throw rowError(index, "the table has more rows than when it was opened (" + n + ")");
                    }
                    int slot = slotOf[index];
                    int p = owner(slot, partitions, n);
                    if (filling[p] == null) {
                        filling[p] = new Chunk(p, layout.featureSize(), !layout.clients().isEmpty());
                    }
                    filling[p].add(slot, row, index, reader);
                    if (filling[p].full()) {
                        ready.add(filling[p].done());
                        filling[p] = null;
                    }
                } catch (DataFormatException problem) {
                    spec.bad().reject(problem);
                }
                index++;
            }
        };
    }

    /** How a chunk reads a row of type R: its features into an array, its label and its client, each checked. */
    private interface RowReader<R> {
        void features(R row, int index, float[] x, int offset);

        int label(R row, int index);

        int client(R row, int index);
    }

    /** Spark's rows: the feature columns (as floats), the client (with a client column), the label. */
    private RowReader<InternalRow> sparkRows() {
        return new RowReader<>() {
            @Override
            public void features(InternalRow row, int index, float[] x, int offset) {
                TableDataSource.this.features(row, index, x, offset);
            }

            @Override
            public int label(InternalRow row, int index) {
                return TableDataSource.this.label(row, index);
            }

            @Override
            public int client(InternalRow row, int index) {
                return TableDataSource.this.client(row, index);
            }
        };
    }

    /** Parquet's rows, as {@link ParquetTable} reads them: an array column or number columns, and a label. */
    private RowReader<ParquetTable.Rows> parquetRows() {
        return new RowReader<>() {
            @Override
            public void features(ParquetTable.Rows row, int index, float[] x, int offset) {
                String file = row.file();
                if (!layout.array()) {
                    System.arraycopy(row.values(), 0, x, offset, layout.featureSize());
                    scaledColumns(row.nullElement(), index, file, x, offset);
                    return;
                }
                if (row.size() < 0) {
                    throw rowError(index, file, "feature column '" + layout.columns().get(0) + "' is null");
                }
                checkArray(row.size(), row.nullElement(), index, file);
                scaled(row.values(), index, file, x, offset);
            }

            @Override
            public int label(ParquetTable.Rows row, int index) {
                if (row.labelNull()) {
                    throw rowError(index, row.file(), "label column '" + spec.label() + "' is null");
                }
                return classIndex(row.label(), index, row.file());
            }

            @Override
            public int client(ParquetTable.Rows row, int index) {
                throw new IllegalStateException("a table with clients is read by Spark SQL");
            }
        };
    }

    /** Checks that a row's array holds the first row's number of values, none null (the first null: -1 if none). */
    private void checkArray(int size, int nullElement, int index, String file) {
        String column = layout.columns().get(0);
        if (size != layout.featureSize()) {
            throw rowError(index, file, "feature column '" + column + "' holds " + size
                    + " values; the table's first row has " + layout.featureSize());
        }
        if (nullElement >= 0) {
            throw rowError(index, file, "feature '" + column + "[" + nullElement + "]' is null");
        }
    }

    /**
     * A row's array values into {@code x} at {@code offset}, scaled, then checked for infinity and NaN in loops
     * without a branch per value.
     */
    private void scaled(float[] values, int index, String file, float[] x, int offset) {
        int size = layout.featureSize();
        float scale = spec.scale();
        for (int i = 0; i < size; i++) {
            x[offset + i] = values[i] * scale;
        }
        int bad = Floats.firstNonFinite(x, offset, size);
        if (bad >= 0) {
            throw notFinite(values[bad], index, file, layout.columns().get(0) + "[" + bad + "]");
        }
    }

    /**
     * One row's features into {@code x} at {@code offset}; the row holds the feature columns (as floats), the
     * client (with a client column) and the label (as the table has it), in that order.
     */
    void features(InternalRow row, int index, float[] x, int offset) {
        Layout l = layout;
        int size = l.featureSize();
        if (l.array()) {
            String file = sparkFile();
            if (row.isNullAt(0)) {
                throw rowError(index, file, "feature column '" + l.columns().get(0) + "' is null");
            }
            ArrayData values = row.getArray(0);
            int nullElement = -1;
            for (int i = 0; i < size && i < values.numElements() && nullElement < 0; i++) {
                nullElement = values.isNullAt(i) ? i : -1;
            }
            checkArray(values.numElements(), nullElement, index, file);
            scaled(values.toFloatArray(), index, file, x, offset); // copied in bulk
        } else {
            int firstNull = -1;
            for (int i = 0; i < size && firstNull < 0; i++) {
                if (row.isNullAt(i)) {
                    firstNull = i;
                } else {
                    x[offset + i] = row.getFloat(i);
                }
            }
            scaledColumns(firstNull, index, sparkFile(), x, offset);
        }
    }

    /**
     * A row's number columns, read into {@code x} at {@code offset} up to the first null one ({@code firstNull},
     * -1 for none), scaled there; the first bad column in order, null or not finite once scaled, is named.
     */
    private void scaledColumns(int firstNull, int index, String file, float[] x, int offset) {
        for (int i = 0; i < layout.featureSize(); i++) {
            if (i == firstNull) {
                throw rowError(index, file, "feature '" + layout.columns().get(i) + "' is null");
            }
            float value = x[offset + i];
            x[offset + i] = value * spec.scale();
            if (!Float.isFinite(x[offset + i])) {
                throw notFinite(value, index, file, layout.columns().get(i));
            }
        }
    }

    /** A row's label, checked to be a class index. */
    int label(InternalRow row, int index) {
        int column = row.numFields() - 1;
        if (row.isNullAt(column)) {
            throw rowError(index, "label column '" + spec.label() + "' is null");
        }
        return classIndex(number(row, column, layout.schema().apply(spec.label()).dataType()), index, sparkFile());
    }

    /** A label checked to be a class index. */
    private int classIndex(double y, int index, String file) {
        if (y != Math.rint(y) || y < 0 || y >= spec.classes()) {
            throw rowError(index, file, "label " + number(y) + " is not a class index in [0, "
                    + (spec.classes() - 1) + "] (data.classes is " + spec.classes() + ")");
        }
        return (int) y;
    }

    /** A row's client: the index of its client column's value among the sorted client names. */
    int client(InternalRow row, int index) {
        int column = row.numFields() - 2;
        if (row.isNullAt(column)) {
            throw rowError(index, "client column '" + spec.clientColumn() + "' is null");
        }
        String value = row.getUTF8String(column).toString();
        int client = java.util.Collections.binarySearch(layout.clients(), value);
        if (client < 0) {
            throw rowError(index, "client '" + value + "' was not in the table when it was opened");
        }
        return client;
    }

    /** The error for a feature that is not finite once scaled (its name is made here, not for every value). */
    private DataFormatException notFinite(float value, int index, String file, String column) {
        return rowError(index, file, "feature '" + column + "' is " + number(value) + (spec.scale() != 1
                ? " (x " + spec.scale() + " = " + value * spec.scale() + ")" : ""));
    }

    /** Field {@code field} of {@code row}, a number of {@code type}, as a double. */
    private static double number(InternalRow row, int field, DataType type) {
        if (type instanceof DecimalType d) {
            return row.getDecimal(field, d.precision(), d.scale()).toDouble();
        }
        return switch (type.typeName()) {
            case "byte" -> row.getByte(field);
            case "short" -> row.getShort(field);
            case "integer" -> row.getInt(field);
            case "long" -> row.getLong(field);
            case "float" -> row.getFloat(field);
            case "double" -> row.getDouble(field);
            default -> throw new IllegalArgumentException("not a number type: " + type.simpleString());
        };
    }

    /** A value as a person writes it: 12, not 12.0. */
    private static String number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }

    /**
     * Block {@code partition}: the rows of its chunks in their slots' order. A chunk's features come coded one
     * byte a value where the values allow (a quarter of the bytes through Spark's shuffle), and the block keeps
     * them coded, renumbered rather than coded again (the same choice as coding the block's floats would make).
     */
    private ExampleBlock block(int partition, int partitions, Iterator<Tuple2<Integer, Chunk>> chunks) {
        int n = layout.examples();
        int first = DataSource.start(partition, partitions, n);
        int size = DataSource.start(partition + 1, partitions, n) - first;
        List<Chunk> all = new ArrayList<>();
        boolean[] filled = new boolean[size];
        int count = 0;
        while (chunks.hasNext()) {
            Chunk c = chunks.next()._2();
            for (int i = 0; i < c.rows; i++) {
                filled[c.slots[i] - first] = true;
            }
            count += c.rows;
            all.add(c);
        }
        if (count != size && !spec.bad().skip()) {
            throw new DataFormatException(spec.path() + " changed while it was read: block " + partition + " got "
                    + count + " rows, expected " + size);
        }
        int[] rowOf = new int[size]; // a slot's row in the block: the slots of skipped bad rows leave no hole
        int kept = 0;
        for (int r = 0; r < size; r++) {
            rowOf[r] = filled[r] ? kept++ : -1;
        }
        int[] y = new int[kept];
        int[] clients = new int[layout.clients().isEmpty() ? 0 : kept];
        List<FeatureRows> parts = new ArrayList<>();
        List<int[]> rowsAt = new ArrayList<>();
        for (Chunk c : all) {
            int[] at = new int[c.rows];
            for (int i = 0; i < c.rows; i++) {
                at[i] = rowOf[c.slots[i] - first];
                y[at[i]] = c.y[i];
                if (clients.length > 0) {
                    clients[at[i]] = c.clients[i];
                }
            }
            parts.add(c.features);
            rowsAt.add(at);
        }
        return new ExampleBlock(FeatureRows.gather(layout.featureSize(), kept, parts, rowsAt), y, spec.classes(),
                clients);
    }

    /** The table at {@code path} in {@code format}: files Spark SQL reads, or a table in the session's catalog. */
    public static Dataset<Row> read(SparkSession spark, DataFormat format, String path) {
        return read(spark, format, path, null);
    }

    /** As {@link #read(SparkSession, DataFormat, String)}, files with {@code schema} unless it is null. */
    private static Dataset<Row> read(SparkSession spark, DataFormat format, String path, StructType schema) {
        if (format == DataFormat.SPARK_TABLE) {
            return spark.table(path);
        }
        var reader = spark.read().format(format.name().toLowerCase(java.util.Locale.ROOT));
        if (format == DataFormat.CSV) {
            reader = reader.option("header", "true").option("inferSchema", "true");
        }
        return (schema == null ? reader : reader.schema(schema)).load(path);
    }

    /** The table, read with {@code schema} (null: inferred), its first data.train-limit rows when there is one. */
    private Dataset<Row> read(JavaSparkContext sc, StructType schema) {
        SparkSession spark = SparkSession.builder().sparkContext(sc.sc()).getOrCreate();
        if (spec.format().readsFiles() && !spark.conf().contains(MIN_SPLITS)) {
            // Spark splits files into about one partition a core (at most 128 MB each): 292 MB on 2 cores made 3
            // tasks, the last alone on a core for a third of the load. Smaller splits let the cores finish
            // together. Left to a session whose splits are set already (by the user, or by the opening).
            spark.conf().set(MIN_SPLITS, SPLITS_PER_CORE * sc.defaultParallelism());
        }
        Dataset<Row> table;
        try {
            table = read(spark, spec.format(), spec.path(), schema);
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

    /** An error naming the row, and the file it is in as Spark reads it ({@link #sparkFile}). */
    private DataFormatException rowError(int index, String message) {
        return rowError(index, sparkFile(), message);
    }

    /** An error naming the row and the file it is in. */
    private DataFormatException rowError(int index, String file, String message) {
        return new DataFormatException(spec.key() + " = " + spec.path() + ": row " + index + " (in " + file + "): "
                + message);
    }

    /** The file the task is reading, as Spark's input_file_name() knows it (empty for data not read from files). */
    private static String sparkFile() {
        return InputFileBlockHolder.getInputFilePath().toString();
    }

    /**
     * Rows of one partition whose slots fall in block {@code block}: their slots, features, labels and (with a
     * client column) clients; as many rows as make about a megabyte of features. Filled as floats, its features
     * are coded ({@link FeatureRows}) when it is {@link #done}, before Spark serializes it.
     */
    private static final class Chunk implements Serializable {
        private static final int FLOATS = 1 << 18;
        private final int block;
        private final int featureSize;
        private int rows;
        private int[] slots;
        private transient float[] x;
        private FeatureRows features;
        private int[] y;
        private int[] clients;

        Chunk(int block, int featureSize, boolean withClients) {
            this.block = block;
            this.featureSize = featureSize;
            int capacity = Math.max(1, FLOATS / featureSize);
            slots = new int[capacity];
            x = new float[capacity * featureSize];
            y = new int[capacity];
            clients = new int[withClients ? capacity : 0];
        }

        int block() {
            return block;
        }

        boolean full() {
            return rows == slots.length;
        }

        /** Converts {@code row} (row {@code index} of the table) into the next place; a bad row adds nothing. */
        <R> void add(int slot, R row, int index, RowReader<R> reader) {
            reader.features(row, index, x, rows * featureSize);
            y[rows] = reader.label(row, index);
            if (clients.length > 0) {
                clients[rows] = reader.client(row, index);
            }
            slots[rows++] = slot;
        }

        /** This chunk ready for the trip to the block's executor: arrays cut to its rows, its features coded. */
        Chunk done() {
            features = FeatureRows.of(full() ? x : Arrays.copyOf(x, rows * featureSize), featureSize);
            slots = Arrays.copyOf(slots, rows);
            x = null;
            y = Arrays.copyOf(y, rows);
            clients = clients.length == 0 ? clients : Arrays.copyOf(clients, rows);
            return this;
        }
    }

    /** The block that owns slot {@code slot}: the p with start(p) <= slot < start(p + 1). */
    private static int owner(int slot, int partitions, int examples) {
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
