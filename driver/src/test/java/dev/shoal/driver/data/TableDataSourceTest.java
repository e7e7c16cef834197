package dev.shoal.driver.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.plan.DataFormat;
import dev.shoal.driver.testing.SparkFixture;
import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.Shuffle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Parquet, CSV and JSON tables into balanced blocks: exact placement, column discovery, and every bad record. */
class TableDataSourceTest {
    @RegisterExtension
    static final SparkFixture SPARK = new SparkFixture();

    @TempDir
    Path dir;

    private static TableDataSource open(DataFormat format, Path path, List<String> features, double scale,
                                        List<Integer> shape) {
        return TableDataSource.of(new TableDataSource.Spec("data.train", path.toString(), format, "label",
                features, 10, (float) scale, shape, 0, BadRecords.FAIL)).open(SPARK.sc());
    }

    private static TableDataSource open(DataFormat format, Path path) {
        return open(format, path, List.of(), 1, List.of());
    }

    private static List<ExampleBlock> load(TableDataSource source, int partitions, long seed) {
        return source.load(SPARK.sc(), partitions, seed).collect();
    }

    /** A CSV of {@code n} rows: columns a, b, c (row i: i, 2i, -i) and label i mod 10. */
    private Path csv(int n) throws IOException {
        StringBuilder text = new StringBuilder("a,b,c,label\n");
        for (int i = 0; i < n; i++) {
            text.append(i).append(',').append(2 * i).append(',').append(-i).append(',').append(i % 10).append('\n');
        }
        return Files.writeString(dir.resolve("table.csv"), text);
    }

    @Test
    void aRowGoesToTheSlotTheSeededPermutationGivesIt() throws IOException {
        int n = 103;
        TableDataSource source = open(DataFormat.CSV, csv(n), List.of(), 0.5, List.of());
        assertEquals(n, source.examples());
        assertEquals(3, source.featureSize());
        List<ExampleBlock> blocks = load(source, 3, 42);

        int[] slotOf = Shuffle.permutation(n, 42);
        for (int i = 0; i < n; i++) {
            int slot = slotOf[i];
            int p = 0;
            while (DataSource.start(p + 1, 3, n) <= slot) {
                p++;
            }
            int row = slot - DataSource.start(p, 3, n);
            ExampleBlock block = blocks.get(p);
            assertArrayEquals(new float[] {0.5f * i, i, -0.5f * i + 0f},
                    Arrays.copyOfRange(block.features(), row * 3, row * 3 + 3), "row " + i);
            assertEquals(i % 10, block.labels()[row], "row " + i);
        }
        assertEquals(List.of(34, 34, 35), blocks.stream().map(ExampleBlock::size).toList());
        assertNotEquals(Arrays.toString(blocks.get(0).labels()), Arrays.toString(load(source, 3, 43).get(0).labels()),
                "another seed places the rows differently");
    }

    @Test
    void aSparkMlVectorColumnDenseOrSparseIsReadAsAnArray() {
        StructType schema = new StructType()
                .add("vec", org.apache.spark.ml.linalg.SQLDataTypes.VectorType())
                .add("label", DataTypes.IntegerType);
        List<Row> rows = new ArrayList<>();
        List<String> written = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            double[] values = {i, 0, 0, -i / 4.0};
            // Every other row sparse, as VectorAssembler stores rows with many zeros.
            rows.add(RowFactory.create(i % 2 == 0 ? Vectors.dense(values)
                    : Vectors.sparse(4, new int[] {0, 3}, new double[] {i, -i / 4.0}), i % 10));
            written.add(Arrays.toString(new float[] {i, 0, 0, -i / 4f}) + (i % 10));
        }
        Path path = dir.resolve("vectors.parquet");
        SparkSession.builder().sparkContext(SPARK.sc().sc()).getOrCreate().createDataFrame(rows, schema)
                .repartition(3).write().parquet(path.toString());

        TableDataSource source = open(DataFormat.PARQUET, path, List.of("vec"), 1, List.of());
        assertEquals(4, source.featureSize());
        List<String> loaded = new ArrayList<>();
        for (ExampleBlock b : load(source, 2, 1)) {
            for (int r = 0; r < b.size(); r++) {
                loaded.add(Arrays.toString(Arrays.copyOfRange(b.features(), r * 4, r * 4 + 4)) + b.labels()[r]);
            }
        }
        loaded.sort(null);
        written.sort(null);
        assertEquals(written, loaded);
    }

    @Test
    void parquetWithAnArrayColumnIsFoundByItsNameAndShapedAsAnImage() {
        StructType schema = new StructType()
                .add("id", DataTypes.LongType)
                .add("features", DataTypes.createArrayType(DataTypes.FloatType))
                .add("label", DataTypes.IntegerType);
        Random random = new Random(5);
        List<Row> rows = new ArrayList<>();
        float[][] features = new float[50][12];
        for (int i = 0; i < 50; i++) {
            List<Float> values = new ArrayList<>();
            for (int f = 0; f < 12; f++) {
                features[i][f] = random.nextFloat();
                values.add(features[i][f]);
            }
            rows.add(RowFactory.create((long) i, values, i % 10));
        }
        Path path = dir.resolve("table.parquet");
        SparkSession.builder().sparkContext(SPARK.sc().sc()).getOrCreate().createDataFrame(rows, schema)
                .repartition(4).write().parquet(path.toString());

        TableDataSource source = open(DataFormat.PARQUET, path, List.of(), 1, List.of(2, 3, 2));
        assertEquals("2x3x2", source.inputShape().toString());
        List<ExampleBlock> blocks = load(source, 2, 1);
        List<String> loaded = new ArrayList<>();
        for (ExampleBlock b : blocks) {
            for (int r = 0; r < b.size(); r++) {
                loaded.add(Arrays.toString(Arrays.copyOfRange(b.features(), r * 12, r * 12 + 12)) + b.labels()[r]);
            }
        }
        List<String> written = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            written.add(Arrays.toString(features[i]) + (i % 10));
        }
        loaded.sort(null);
        written.sort(null);
        assertEquals(written, loaded, "every row once, the id column left out");
    }

    /**
     * A table that Spark SQL reads (a glob of files) in several partitions: each partition numbers its rows from
     * the count of the partitions before it (taken when the table is opened), so row k in Spark's order of the
     * rows goes to the slot the seeded permutation gives k, as in a table of one partition.
     */
    @Test
    void rowsOfEveryPartitionGoToTheirSlots() throws IOException {
        SparkSession spark = SparkSession.builder().sparkContext(SPARK.sc().sc()).getOrCreate();
        Path path = dir.resolve("parts");
        int n = 97;
        spark.read().option("header", "true").option("inferSchema", "true").csv(csv(n).toString())
                .repartition(4).write().parquet(path.toString());
        spark.conf().set("spark.sql.files.openCostInBytes", "1");
        spark.conf().set("spark.sql.files.maxPartitionBytes", "600");
        try {
            Path glob = path.resolve("*.parquet");
            TableDataSource source = open(DataFormat.PARQUET, glob);
            assertEquals(null, source.layout().parquet(), "a glob is Spark's to read");
            assertTrue(source.layout().partitionRows().length > 2, Arrays.toString(source.layout().partitionRows()));
            List<Row> inOrder = spark.read().parquet(glob.toString()).select("a", "label").collectAsList();
            List<ExampleBlock> blocks = load(source, 3, 7);
            int[] slotOf = Shuffle.permutation(n, 7);
            for (int k = 0; k < n; k++) {
                int p = 0;
                while (DataSource.start(p + 1, 3, n) <= slotOf[k]) {
                    p++;
                }
                int row = slotOf[k] - DataSource.start(p, 3, n);
                assertEquals(inOrder.get(k).getInt(0), blocks.get(p).feature(row * 3), 0f, "row " + k);
                assertEquals(inOrder.get(k).getInt(1), blocks.get(p).labels()[row], "row " + k);
            }
        } finally {
            spark.conf().unset("spark.sql.files.openCostInBytes");
            spark.conf().unset("spark.sql.files.maxPartitionBytes");
        }
    }

    @Test
    void jsonLinesWithNamedColumns() throws IOException {
        Path path = Files.writeString(dir.resolve("t.json"), "{\"x\": 1.5, \"y\": 2, \"label\": 3}\n"
                + "{\"x\": -1, \"y\": 0.25, \"label\": 0}\n");
        TableDataSource source = open(DataFormat.JSON, path, List.of("y", "x"), 1, List.of());
        List<ExampleBlock> blocks = load(source, 1, 9);
        float[] f = blocks.get(0).features();
        List<String> rows = List.of(f[0] + "," + f[1] + ":" + blocks.get(0).labels()[0],
                f[2] + "," + f[3] + ":" + blocks.get(0).labels()[1]);
        assertEquals(List.of("0.25,-1.0:0", "2.0,1.5:3"), rows.stream().sorted().toList());
    }

    /** The message of the error that loading {@code csv} (header a,b,label) raises. */
    private String csvError(String body) throws IOException {
        Path path = Files.writeString(dir.resolve("bad.csv"), "a,b,label\n" + body);
        return loadError(() -> load(open(DataFormat.CSV, path), 1, 1));
    }

    /** The message of the DataFormatException that {@code load} raises, under Spark's task failure if need be. */
    static String loadError(org.junit.jupiter.api.function.Executable load) {
        Throwable e = assertThrows(Exception.class, load);
        while (!(e instanceof DataFormatException) && e.getCause() != null) {
            e = e.getCause();
        }
        assertTrue(e instanceof DataFormatException, e.toString());
        return e.getMessage();
    }

    @Test
    void badRecordsAreNamedWithTheirFileRowAndValue() throws IOException {
        String file = dir.resolve("bad.csv").toUri().toString();
        assertEquals("data.train = " + dir.resolve("bad.csv") + ": row 1 (in " + file + "): label 12 is not a "
                + "class index in [0, 9] (data.classes is 10)", csvError("1,2,3\n4,5,12\n"));
        assertEquals("data.train = " + dir.resolve("bad.csv") + ": row 2 (in " + file + "): feature 'b' is NaN",
                csvError("1,2,3\n4,5,6\n7,NaN,8\n"));
        assertEquals("data.train = " + dir.resolve("bad.csv") + ": row 0 (in " + file + "): feature 'a' is null",
                csvError(",2,3\n4,5,6\n"));
        assertTrue(csvError("1,2,3\n4,5,2.5\n").contains("row 1 (in " + file + "): label 2.5 is not a class index"));

        // Skipping bad records: the three good rows of five load, the bad ones are left out.
        Path path = Files.writeString(dir.resolve("bad.csv"), "a,b,label\n1,2,3\n4,NaN,6\n7,8,9\n,1,1\n2,2,2\n");
        TableDataSource skipping = TableDataSource.of(new TableDataSource.Spec("data.train", path.toString(),
                DataFormat.CSV, "label", List.of(), 10, 1, List.of(), 0, new BadRecords(true))).open(SPARK.sc());
        List<ExampleBlock> blocks = load(skipping, 2, 1);
        List<Integer> labels = new ArrayList<>();
        blocks.forEach(b -> Arrays.stream(b.labels()).forEach(labels::add));
        assertEquals(List.of(2, 3, 9), labels.stream().sorted().toList());
    }

    @Test
    void unusableColumnsAreNamedBeforeAnyRowIsRead() throws IOException {
        Path path = Files.writeString(dir.resolve("cols.csv"), "a,name,target\n1,x,2\n");
        DataFormatException noLabel = assertThrows(DataFormatException.class, () -> open(DataFormat.CSV, path));
        assertEquals("data.train = " + path + ": has no label column 'label'; its columns are [a, name, target]",
                noLabel.getMessage());

        Path text = Files.writeString(dir.resolve("text.csv"), "a,name,label\n1,x,2\n");
        DataFormatException notNumber = assertThrows(DataFormatException.class,
                () -> open(DataFormat.CSV, text, List.of("a", "name"), 1, List.of()));
        assertEquals("data.train = " + text + ": feature column 'name' is string, not a number",
                notNumber.getMessage());

        DataFormatException shape = assertThrows(DataFormatException.class,
                () -> open(DataFormat.CSV, text, List.of("a"), 1, List.of(2, 2, 1)));
        assertTrue(shape.getMessage().contains("data.shape [2, 2, 1] holds 4 values, but the table has 1"),
                shape.getMessage());
    }

    /**
     * The rows of a folder of Parquet files in the order Parquet's own readers number them: the files by name,
     * each file's rows in order.
     */
    private static List<Row> inNameOrder(SparkSession spark, Path folder) throws IOException {
        List<Row> rows = new ArrayList<>();
        try (var files = Files.list(folder)) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".parquet")).sorted().toList()) {
                rows.addAll(spark.read().parquet(f.toString()).collectAsList());
            }
        }
        return rows;
    }

    /** Checks that row k of {@code inOrder} (an array and a label) is in the slot the seeded permutation gives k. */
    private static void assertPlaced(List<Row> inOrder, List<ExampleBlock> blocks, int width, float scale,
                                     long seed, String what) {
        int n = inOrder.size();
        int[] slotOf = Shuffle.permutation(n, seed);
        for (int k = 0; k < n; k++) {
            int p = 0;
            while (DataSource.start(p + 1, blocks.size(), n) <= slotOf[k]) {
                p++;
            }
            int row = slotOf[k] - DataSource.start(p, blocks.size(), n);
            List<Object> features = inOrder.get(k).getList(0);
            for (int f = 0; f < width; f++) {
                assertEquals(scale * ((Number) features.get(f)).floatValue(), blocks.get(p).feature(row * width + f),
                        what + " row " + k);
            }
            assertEquals(((Number) inOrder.get(k).get(1)).intValue(), blocks.get(p).labels()[row], what + " row " + k);
        }
    }

    /**
     * Arrays of floats, doubles and ints in a folder of files are read by Parquet's own readers, row k of the
     * files in name order going to the slot the seeded permutation gives k, with a label of any integral type.
     * The same files through a glob are Spark SQL's: floats straight from the scan's column batches, doubles cast
     * by Spark and read as rows, row k in Spark's order of the rows in slot k.
     */
    @Test
    void parquetReadersColumnBatchesAndRowsAllPlaceEveryRow() throws IOException {
        SparkSession spark = SparkSession.builder().sparkContext(SPARK.sc().sc()).getOrCreate();
        Random random = new Random(11);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            List<Float> f = new ArrayList<>();
            for (int k = 0; k < 7; k++) {
                f.add(random.nextInt(5) == 0 ? 0f : (float) random.nextGaussian());
            }
            rows.add(RowFactory.create(f, i % 10));
        }
        Path floats = dir.resolve("floats.parquet");
        spark.createDataFrame(rows, new StructType().add("features", DataTypes.createArrayType(DataTypes.FloatType))
                .add("label", DataTypes.IntegerType)).repartition(3).write().parquet(floats.toString());
        Path doubles = dir.resolve("doubles.parquet");
        spark.read().parquet(floats.toString()).selectExpr("cast(features as array<double>) features",
                "cast(label as long) label").write().parquet(doubles.toString());
        Path ints = dir.resolve("ints.parquet");
        spark.read().parquet(floats.toString()).selectExpr("cast(features as array<int>) features",
                "cast(label as short) label").write().parquet(ints.toString());

        for (Path table : List.of(floats, doubles, ints)) {
            TableDataSource source = open(DataFormat.PARQUET, table, List.of(), 0.5, List.of());
            assertTrue(source.layout().parquet() != null, table + " is Parquet's to read");
            assertTrue(source.layout().partitionRows().length > 1, Arrays.toString(source.layout().partitionRows()));
            assertPlaced(inNameOrder(spark, table), load(source, 2, 3), 7, 0.5f, 3, table.toString());
        }
        for (Path table : List.of(floats, doubles)) {
            Path glob = table.resolve("*.parquet");
            TableDataSource source = open(DataFormat.PARQUET, glob, List.of(), 0.5, List.of());
            assertEquals(null, source.layout().parquet(), "a glob is Spark's to read");
            assertEquals(table == floats,
                    TableDataSource.columnarScan(source.rows(SPARK.sc()).queryExecution().executedPlan()).isPresent());
            assertTrue(source.layout().partitionRows().length > 1, Arrays.toString(source.layout().partitionRows()));
            assertPlaced(spark.read().parquet(glob.toString()).collectAsList(), load(source, 2, 3), 7, 0.5f, 3,
                    glob.toString());
        }
    }

    /**
     * Pixels (256 values) cross the shuffle coded one byte a value in chunks coded each on its own, and the blocks
     * stay coded, every value in its slot; a table of floats loads as floats.
     */
    @Test
    void pixelsStayCodedFromTheChunksToTheBlocks() throws IOException {
        SparkSession spark = SparkSession.builder().sparkContext(SPARK.sc().sc()).getOrCreate();
        Random random = new Random(13);
        int n = 2000;
        int width = 50; // 2,000 rows in chunks of 5,242 rows at most: 3 partitions x 2 blocks make 6 chunks
        for (boolean pixels : new boolean[] {true, false}) {
            List<Row> rows = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                List<Float> f = new ArrayList<>();
                for (int k = 0; k < width; k++) {
                    f.add(pixels ? (float) random.nextInt(256) : random.nextFloat());
                }
                rows.add(RowFactory.create(f, i % 10));
            }
            Path path = dir.resolve(pixels + ".parquet");
            spark.createDataFrame(rows, new StructType().add("features",
                    DataTypes.createArrayType(DataTypes.FloatType)).add("label", DataTypes.IntegerType))
                    .repartition(3).write().parquet(path.toString());
            TableDataSource source = open(DataFormat.PARQUET, path, List.of(), 1 / 255.0, List.of());
            List<Row> inOrder = inNameOrder(spark, path);
            List<ExampleBlock> blocks = load(source, 2, 5);
            int[] slotOf = Shuffle.permutation(n, 5);
            for (ExampleBlock block : blocks) {
                assertEquals(pixels, block.featureRows().coded());
            }
            for (int k = 0; k < n; k++) {
                int p = slotOf[k] < n / 2 ? 0 : 1;
                int row = slotOf[k] - n / 2 * p;
                List<Object> features = inOrder.get(k).getList(0);
                for (int f = 0; f < width; f++) {
                    assertEquals((float) (1 / 255.0) * ((Number) features.get(f)).floatValue(),
                            blocks.get(p).feature(row * width + f), path + " row " + k);
                }
            }
        }
    }

    @Test
    void aNonFiniteValueInAnArrayIsNamedWithItsIndex() {
        StructType schema = new StructType()
                .add("features", DataTypes.createArrayType(DataTypes.FloatType))
                .add("label", DataTypes.IntegerType);
        SparkSession spark = SparkSession.builder().sparkContext(SPARK.sc().sc()).getOrCreate();
        String[] errors = new String[3];
        float[][] bad = {{1, 2, Float.NaN}, {Float.NEGATIVE_INFINITY, 0, 0}, {0, Float.MAX_VALUE, 1}};
        for (int k = 0; k < bad.length; k++) {
            List<Row> rows = new ArrayList<>();
            rows.add(RowFactory.create(List.of(0.5f, 0.25f, 0f), 1));
            List<Float> values = new ArrayList<>();
            for (float v : bad[k]) {
                values.add(v);
            }
            rows.add(RowFactory.create(values, 2));
            Path path = dir.resolve("nonfinite" + k + ".parquet");
            spark.createDataFrame(rows, schema).coalesce(1).write().parquet(path.toString());
            String message = loadError(() -> load(open(DataFormat.PARQUET, path, List.of(), 2, List.of()), 1, 1));
            assertTrue(message.contains(": row 1 (in " + path.toUri()), message); // the part file
            errors[k] = message.replaceAll(".*: row 1 \\(in [^)]*\\): ", "");
        }
        assertEquals("feature 'features[2]' is NaN (x 2.0 = NaN)", errors[0]);
        assertEquals("feature 'features[0]' is -Infinity (x 2.0 = -Infinity)", errors[1]);
        assertEquals("feature 'features[1]' is " + (double) Float.MAX_VALUE + " (x 2.0 = Infinity)", errors[2]);
    }

    /**
     * Files are read in at least 8 splits per core (balanced tasks), unless the session already says how many; a
     * user's setting is kept.
     */
    @Test
    void aTableIsReadInSmallSplitsUnlessTheSessionSaysOtherwise() throws IOException {
        SparkSession spark = SparkSession.builder().sparkContext(SPARK.sc().sc()).getOrCreate();
        String key = "spark.sql.files.minPartitionNum";
        spark.conf().unset(key);
        open(DataFormat.CSV, csv(10));
        assertEquals(Integer.toString(8 * SPARK.sc().defaultParallelism()), spark.conf().get(key));
        spark.conf().set(key, "3");
        try {
            open(DataFormat.CSV, csv(10));
            assertEquals("3", spark.conf().get(key));
        } finally {
            spark.conf().unset(key);
        }
    }

    /** The feature size is read from the first partition that has rows: an empty first partition is passed over. */
    @Test
    void theFeatureSizeComesFromTheFirstPartitionWithRows() {
        SparkSession spark = SparkSession.builder().sparkContext(SPARK.sc().sc()).getOrCreate();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            rows.add(RowFactory.create((Object) new float[i < 6 ? 3 : 5]));
        }
        // Three partitions of three rows, the first emptied: partition 1's rows have 3 values, partition 2's 5.
        var partitions = SPARK.sc().parallelize(rows, 3).mapPartitionsWithIndex((p, it) -> p == 0
                ? java.util.Collections.<Row>emptyIterator() : it, true);
        var table = spark.createDataFrame(partitions, new StructType().add("features",
                DataTypes.createArrayType(DataTypes.FloatType)));
        assertEquals(3, TableDataSource.firstRowSize(table, table.col("features"), new long[] {0, 3, 3}));
        assertEquals(5, TableDataSource.firstRowSize(table, table.col("features"), new long[] {0, 0, 3}),
                "partition 2 read alone");
        // The same from a Parquet scan's column batches: its first partition is empty too.
        Path path = dir.resolve("sizes.parquet");
        table.write().parquet(path.toString());
        var parquet = spark.read().parquet(path.toString());
        assertTrue(TableDataSource.columnarScan(parquet.queryExecution().executedPlan()).isPresent());
        long[] partitionRows = new long[parquet.rdd().getNumPartitions()];
        var counted = parquet.javaRDD().mapPartitionsWithIndex((p, it) -> {
            long n = 0;
            for (; it.hasNext(); it.next()) {
                n++;
            }
            return List.of(new long[] {p, n}).iterator();
        }, false).collect();
        counted.forEach(c -> partitionRows[(int) c[0]] = c[1]);
        int firstWithRows = 0;
        while (partitionRows[firstWithRows] == 0) {
            firstWithRows++;
        }
        int firstPartition = firstWithRows;
        int expected = parquet.javaRDD().mapPartitionsWithIndex((p, it) -> p == firstPartition && it.hasNext()
                ? List.of(it.next().getList(0).size()).iterator() : java.util.Collections.emptyIterator(), false)
                .collect().get(0);
        assertEquals(expected, TableDataSource.firstRowSize(parquet, parquet.col("features"), partitionRows));
    }

    @Test
    void aNullFeatureArrayInTheFirstRowIsNamed() throws IOException {
        Path path = Files.writeString(dir.resolve("null.json"), "{\"features\": null, \"label\": 1}\n"
                + "{\"features\": [1, 2], \"label\": 1}\n");
        DataFormatException e = assertThrows(DataFormatException.class, () -> open(DataFormat.JSON, path));
        assertEquals("data.train = " + path + ": feature column 'features' of the first row is null",
                e.getMessage());
    }

    @Test
    void anArrayOfTheWrongLengthIsNamed() throws IOException {
        Path path = Files.writeString(dir.resolve("arr.json"), "{\"features\": [1, 2, 3], \"label\": 1}\n"
                + "{\"features\": [1, 2], \"label\": 1}\n");
        String message = loadError(() -> load(open(DataFormat.JSON, path), 1, 1));
        assertTrue(message.endsWith("row 1 (in " + path.toUri() + "): feature column 'features' holds 2 "
                + "values; the table's first row has 3"), message);
    }
}
