package dev.shoal.driver.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.plan.DataFormat;
import dev.shoal.driver.testing.SparkFixture;
import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.Shuffle;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.bytes.HeapByteBufferAllocator;
import org.apache.parquet.column.EncodingStats;
import org.apache.parquet.column.values.rle.RunLengthBitPackingHybridEncoder;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Parquet tables read by Parquet's own page readers ({@link ParquetTable}): row groups as parts, every page
 * version and encoding Spark writes, bad rows named, and what is left to Spark SQL.
 */
class ParquetTableTest {
    @RegisterExtension
    static final SparkFixture SPARK = new SparkFixture();

    private static final StructType SCHEMA = new StructType()
            .add("features", DataTypes.createArrayType(DataTypes.FloatType))
            .add("label", DataTypes.IntegerType);

    @TempDir
    Path dir;

    private static SparkSession spark() {
        return SparkSession.builder().sparkContext(SPARK.sc().sc()).getOrCreate();
    }

    private static TableDataSource open(Path path, int limit) {
        return TableDataSource.of(new TableDataSource.Spec("data.train", path.toString(), DataFormat.PARQUET,
                "label", List.of(), 10, 1, List.of(), limit, BadRecords.FAIL)).open(SPARK.sc());
    }

    /** {@code n} rows of {@code width} values, pixel-like (many zeros, 256 levels) or any float. */
    private static List<Row> rows(int n, int width, boolean pixels, long seed) {
        Random random = new Random(seed);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            List<Float> f = new ArrayList<>();
            for (int k = 0; k < width; k++) {
                f.add(pixels ? (random.nextInt(3) == 0 ? random.nextInt(256) : 0) : (float) random.nextGaussian());
            }
            rows.add(RowFactory.create(f, random.nextInt(10)));
        }
        return rows;
    }

    /** The Parquet files of a folder by name, each one's rows in order: the order Parquet's readers number them. */
    private static List<Row> inNameOrder(Path folder) throws IOException {
        List<Row> rows = new ArrayList<>();
        for (Path f : partFiles(folder)) {
            rows.addAll(spark().read().parquet(f.toString()).collectAsList());
        }
        return rows;
    }

    private static List<Path> partFiles(Path folder) throws IOException {
        try (var files = Files.list(folder)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".parquet")).sorted().toList();
        }
    }

    /** Every block's rows, each as its values and label, in slot order. */
    private static List<String> loaded(TableDataSource source, int partitions, long seed) {
        int width = source.featureSize();
        List<String> rows = new ArrayList<>();
        for (ExampleBlock b : source.load(SPARK.sc(), partitions, seed).collect()) {
            for (int r = 0; r < b.size(); r++) {
                rows.add(Arrays.toString(Arrays.copyOfRange(b.features(), r * width, (r + 1) * width)) + ":"
                        + b.labels()[r]);
            }
        }
        return rows;
    }

    /** {@code inOrder}'s rows in the slots the seeded permutation gives them, as {@link #loaded} lists them. */
    private static List<String> placed(List<Row> inOrder, int partitions, long seed) {
        int n = inOrder.size();
        int[] slotOf = Shuffle.permutation(n, seed);
        String[] rows = new String[n];
        for (int k = 0; k < n; k++) {
            List<Object> values = inOrder.get(k).getList(0);
            float[] f = new float[values.size()];
            for (int i = 0; i < f.length; i++) {
                f[i] = ((Number) values.get(i)).floatValue();
            }
            rows[slotOf[k]] = Arrays.toString(f) + ":" + ((Number) inOrder.get(k).get(1)).intValue();
        }
        return Arrays.asList(rows);
    }

    @Test
    void rowGroupsArePartsInFileOrderAndALimitCutsThem() throws IOException {
        Path path = dir.resolve("groups.parquet");
        // Row groups of ~4 kB: a file of 400 rows of 20 floats holds several.
        spark().createDataFrame(rows(400, 20, false, 1), SCHEMA).repartition(2).write()
                .option("parquet.block.size", "4096").parquet(path.toString());
        TableDataSource all = open(path, 0);
        ParquetTable table = all.layout().parquet();
        assertNotNull(table);
        assertTrue(table.parts().size() > 2, table.parts().toString());
        assertEquals(table.parts().get(0).file(), table.parts().get(1).file(), "a file's row groups are parts");
        assertEquals(400, all.examples());
        List<Row> inOrder = inNameOrder(path);
        assertEquals(placed(inOrder, 3, 9), loaded(all, 3, 9));

        TableDataSource first = open(path, 137);
        assertEquals(137, first.examples());
        assertEquals(137, Arrays.stream(first.layout().partitionRows()).sum());
        assertEquals(placed(inOrder.subList(0, 137), 2, 4), loaded(first, 2, 4), "the first 137 rows");
    }

    /**
     * A table of one large row group is cut into as many parts as there are cores; each part passes over the rows
     * before its own (levels, and dictionary ids or plain values, unread), and the parts together are the file's
     * rows in order, for pages of version 1 and 2, values from a dictionary or plain. Small row groups stay whole.
     */
    @Test
    void aRowGroupIsCutIntoPartsThatSkipToTheirRows() throws IOException {
        for (String version : List.of("PARQUET_1_0", "PARQUET_2_0")) {
            for (boolean dictionary : new boolean[] {true, false}) {
                Path path = dir.resolve("one-" + version + "-" + dictionary + ".parquet");
                spark().createDataFrame(rows(301, 9, true, 8), SCHEMA).coalesce(1).write()
                        .option("parquet.writer.version", version)
                        .option("parquet.enable.dictionary", Boolean.toString(dictionary))
                        .option("parquet.page.size", "1024").parquet(path.toString());
                ParquetTable whole = ParquetTable.find(path.toString(), "label", List.of(), 0, 3,
                        new Configuration()).orElseThrow();
                assertEquals(1, whole.parts().size(), "a few kB: not worth cutting");
                // The same row group as if it were large.
                ParquetTable table = new ParquetTable(ParquetTable.split(whole.parts(),
                        List.of(10 * ParquetTable.MIN_PIECE_BYTES), 3), "label", List.of("features"), true, 9);
                assertEquals(List.of(0L, 100L, 200L), table.parts().stream().map(ParquetTable.Part::firstRow)
                        .toList(), path.toString());
                assertEquals(List.of(100L, 100L, 101L), table.parts().stream().map(ParquetTable.Part::rows)
                        .toList());
                List<String> read = new ArrayList<>();
                for (ParquetTable.Part part : table.parts()) {
                    try (ParquetTable.Rows rows = table.rows(part, new Configuration())) {
                        while (rows.hasNext()) {
                            rows.next();
                            read.add(Arrays.toString(Arrays.copyOf(rows.values(), rows.size())) + ":"
                                    + (int) rows.label());
                        }
                    }
                }
                List<String> written = new ArrayList<>();
                for (Row row : inNameOrder(path)) {
                    List<Object> values = row.getList(0);
                    float[] f = new float[values.size()];
                    for (int i = 0; i < f.length; i++) {
                        f[i] = ((Number) values.get(i)).floatValue();
                    }
                    written.add(Arrays.toString(f) + ":" + row.getInt(1));
                }
                assertEquals(written, read, path.toString());
            }
        }
        long large = 100 * ParquetTable.MIN_PIECE_BYTES;
        List<ParquetTable.Part> two = List.of(new ParquetTable.Part("f", 0, 0, 5), new ParquetTable.Part("f", 1, 0, 0));
        assertEquals(two, ParquetTable.split(two, List.of(large, 0L), 1), "enough parts: left as they are");
        assertEquals(5, ParquetTable.split(List.of(new ParquetTable.Part("f", 0, 0, 5)), List.of(large), 8).size(),
                "no part without rows");
        assertEquals(3, ParquetTable.split(List.of(new ParquetTable.Part("f", 0, 0, 1000)),
                List.of(3 * ParquetTable.MIN_PIECE_BYTES + 1), 8).size(), "pieces of the least bytes at most");
    }

    /**
     * Data pages of version 1 and 2, values from a dictionary or plain, pages small enough that a column chunk
     * has many: every value as Spark reads it.
     */
    @Test
    void pageVersionsAndEncodingsReadAlike() throws IOException {
        for (String version : List.of("v1", "v2")) {
            for (boolean dictionary : new boolean[] {true, false}) {
                for (boolean pixels : new boolean[] {true, false}) {
                    Path path = dir.resolve(version + "-" + dictionary + "-" + pixels + ".parquet");
                    spark().createDataFrame(rows(700, 30, pixels, 2), SCHEMA).repartition(2).write()
                            .option("parquet.writer.version", version.equals("v1") ? "PARQUET_1_0" : "PARQUET_2_0")
                            .option("parquet.enable.dictionary", Boolean.toString(dictionary))
                            .option("parquet.page.size", "2048")
                            .parquet(path.toString());
                    EncodingStats stats = encodingStats(partFiles(path).get(0));
                    assertEquals(version.equals("v2"), stats.usesV2Pages(), path.toString());
                    assertEquals(dictionary && pixels, stats.hasDictionaryEncodedPages(), path.toString());
                    TableDataSource source = open(path, 0);
                    assertNotNull(source.layout().parquet(), path.toString());
                    assertEquals(placed(inNameOrder(path), 2, 5), loaded(source, 2, 5), path.toString());
                }
            }
        }
    }

    /** The encodings of the first file's array column. */
    private static EncodingStats encodingStats(Path file) throws IOException {
        try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromPath(
                new org.apache.hadoop.fs.Path(file.toUri()), new Configuration()))) {
            return reader.getRowGroups().get(0).getColumns().get(0).getEncodingStats();
        }
    }

    @Test
    void badRowsAreNamedWithTheirFileRowAndValue() throws IOException {
        Object[][] bad = {
            {null, 1}, {Arrays.asList(1f, null, 3f), 1}, {List.of(1f, 2f), 1}, {List.of(1f, 2f, 3f), null},
            {List.of(1f, 2f, 3f), 12}, {List.of(1f, Float.NaN, 3f), 1}};
        List<String> errors = new ArrayList<>();
        for (int k = 0; k < bad.length; k++) {
            Path path = dir.resolve("bad" + k + ".parquet");
            spark().createDataFrame(List.of(RowFactory.create(List.of(0f, 0.5f, 1f), 2),
                    RowFactory.create(bad[k][0], bad[k][1])), SCHEMA).coalesce(1).write().parquet(path.toString());
            assertNotNull(open(path, 0).layout().parquet());
            String message = TableDataSourceTest.loadError(() -> open(path, 0).load(SPARK.sc(), 1, 1).count());
            String file = partFiles(path).get(0).toUri().toString();
            String prefix = "data.train = " + path + ": row 1 (in " + file + "): ";
            assertTrue(message.startsWith(prefix), message);
            errors.add(message.substring(prefix.length()));
        }
        assertEquals(List.of("feature column 'features' is null", "feature 'features[1]' is null",
                "feature column 'features' holds 2 values; the table's first row has 3",
                "label column 'label' is null", "label 12 is not a class index in [0, 9] (data.classes is 10)",
                "feature 'features[1]' is NaN"), errors);
    }

    /**
     * The first row's size comes from the first part with rows (an empty file, first by name, has none: no row
     * group); a null first row is named.
     */
    @Test
    void theFeatureSizeComesFromTheFirstRowOfTheFirstPartWithRows() throws IOException {
        Path path = dir.resolve("sized.parquet");
        spark().createDataFrame(rows(10, 4, false, 3), SCHEMA).coalesce(1).write().parquet(path.toString());
        Path empty = dir.resolve("empty.parquet");
        spark().createDataFrame(List.of(), SCHEMA).coalesce(1).write().parquet(empty.toString());
        Files.copy(partFiles(empty).get(0), path.resolve("a-empty.parquet"));
        TableDataSource source = open(path, 0);
        assertTrue(source.layout().parquet().parts().stream().noneMatch(p -> p.file().contains("a-empty")));
        assertEquals(4, source.featureSize());
        assertEquals(10, loaded(source, 2, 1).size());

        Path nullFirst = dir.resolve("null-first.parquet");
        spark().createDataFrame(List.of(RowFactory.create(null, 1), RowFactory.create(List.of(1f), 2)), SCHEMA)
                .coalesce(1).write().parquet(nullFirst.toString());
        DataFormatException e = assertThrows(DataFormatException.class, () -> open(nullFirst, 0));
        assertEquals("data.train = " + nullFirst + ": feature column 'features' of the first row is null",
                e.getMessage());
    }

    /**
     * Number columns (FLOAT, DOUBLE, INT32) are read as they are named, or found as Spark SQL finds them (every
     * number column but the label, in the schema's order); each row's values as Spark casts them to floats, and a
     * null or non-finite value named with its column.
     */
    @Test
    void numberColumnsAreReadAsSparkSqlFindsThem() throws IOException {
        Path path = dir.resolve("columns.parquet");
        Dataset<Row> table = spark().createDataFrame(rows(90, 3, false, 7), SCHEMA);
        table.selectExpr("features[0] a", "cast(features[1] as double) b", "label",
                "cast(features[2] * 100 as int) c", "'text' name").repartition(2).write().parquet(path.toString());
        TableDataSource found = open(path, 0);
        assertNotNull(found.layout().parquet());
        assertEquals(List.of("a", "b", "c"), found.layout().columns());
        List<Row> inOrder = new ArrayList<>();
        for (Path f : partFiles(path)) {
            inOrder.addAll(spark().read().parquet(f.toString())
                    .selectExpr("array(cast(a as float), cast(b as float), cast(c as float))", "label")
                    .collectAsList());
        }
        assertEquals(placed(inOrder, 2, 8), loaded(found, 2, 8));

        TableDataSource named = TableDataSource.of(new TableDataSource.Spec("data.train", path.toString(),
                DataFormat.PARQUET, "label", List.of("c", "a"), 10, 1, List.of(), 0, BadRecords.FAIL))
                .open(SPARK.sc());
        assertEquals(List.of("c", "a"), named.layout().columns());
        assertEquals(2, named.featureSize());

        Path bad = dir.resolve("bad-columns.parquet");
        spark().createDataFrame(List.of(RowFactory.create(1f, 2.0, 1), RowFactory.create(Float.NaN, null, 2)),
                new StructType().add("a", DataTypes.FloatType).add("b", DataTypes.DoubleType)
                        .add("label", DataTypes.IntegerType)).coalesce(1).write().parquet(bad.toString());
        assertNotNull(open(bad, 0).layout().parquet());
        String message = TableDataSourceTest.loadError(() -> open(bad, 0).load(SPARK.sc(), 1, 1).count());
        assertTrue(message.endsWith("): feature 'a' is NaN"), message + ": the first bad column in order");
    }

    /**
     * Partition folders, globs, vector columns and number types read elsewhere (a decimal, a long feature) are
     * Spark SQL's to read, and load as before.
     */
    @Test
    void whatParquetsReadersDoNotReadIsLeftToSparkSql() throws IOException {
        Path partitioned = dir.resolve("partitioned.parquet");
        Dataset<Row> table = spark().createDataFrame(rows(60, 5, false, 4), SCHEMA);
        table.withColumn("day", table.col("label").mod(3)).write().partitionBy("day").parquet(partitioned.toString());
        TableDataSource byDay = open(partitioned, 0);
        assertNull(byDay.layout().parquet());
        assertEquals(60, loaded(byDay, 2, 1).size());

        for (String other : List.of("cast(features[1] as decimal(10, 4))", "cast(features[1] * 1000 as long)")) {
            Path columns = dir.resolve("other" + other.length() + ".parquet");
            table.selectExpr("features[0] a", other + " b", "label").write().parquet(columns.toString());
            TableDataSource numeric = open(columns, 0);
            assertNull(numeric.layout().parquet(), other);
            assertEquals(List.of("a", "b"), numeric.layout().columns());
            assertEquals(60, loaded(numeric, 2, 1).size());
        }
    }

    /** The run-length/bit-packing decoder against Parquet's own encoder: runs, packed groups, every width. */
    @Test
    void hybridDecodingMatchesParquetsEncoder() throws IOException {
        Random random = new Random(6);
        for (int width : new int[] {1, 2, 3, 5, 7, 8, 9, 12, 16, 20}) {
            int n = 1000 + random.nextInt(50);
            int[] values = new int[n];
            for (int i = 0; i < n; i++) { // stretches of repeats (runs) between stretches of noise (packed)
                values[i] = (i / 40) % 2 == 0 ? (i / 80) % (1 << width) : random.nextInt(1 << width);
            }
            RunLengthBitPackingHybridEncoder encoder = new RunLengthBitPackingHybridEncoder(width, 64, 1 << 16,
                    new HeapByteBufferAllocator());
            for (int v : values) {
                encoder.writeInt(v);
            }
            ByteBuffer encoded = encoder.toBytes().toByteBuffer();
            int[] decoded = new int[n + 8];
            ParquetTable.hybrid(encoded, width, decoded, n);
            assertArrayEquals(values, Arrays.copyOf(decoded, n), "width " + width);
        }
        ByteBuffer truncated = ByteBuffer.wrap(new byte[] {(byte) 0x05, 1}); // 2 packed groups of 3 bits, 1 byte
        IOException e = assertThrows(IOException.class, () -> ParquetTable.hybrid(truncated, 3, new int[24], 16));
        assertTrue(e.getMessage().contains("overruns its page"), e.getMessage());
    }
}
