package dev.shoal.jobs;

import dev.shoal.driver.data.IdxFile;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** A job's IDX images in the other shapes the benchmarks load them in: a Parquet table, or several copies. */
final class IdxCopies {
    private IdxCopies() {
    }

    /**
     * An IDX image file and its labels as a Parquet table at {@code parquet}: a float array column "features",
     * pixels scaled to [0, 1] as training reads them, and an int column "label".
     */
    static void writeParquet(SparkSession spark, String images, String labels, Path parquet) {
        IdxFile imageFile = IdxFile.open(images);
        int n = imageFile.records();
        int size = imageFile.recordSize();
        float[] pixels = imageFile.readScaled(0, n);
        int[] y = IdxFile.open(labels).readLabels(0, n);
        List<Row> rows = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            rows.add(RowFactory.create(Arrays.copyOfRange(pixels, i * size, (i + 1) * size), y[i]));
        }
        StructType schema = new StructType()
                .add("features", DataTypes.createArrayType(DataTypes.FloatType, false), false)
                .add("label", DataTypes.IntegerType, false);
        spark.createDataFrame(rows, schema).write().parquet(parquet.toString());
    }

    /** The rows of the table at {@code table}, {@code copies} times over, as a table at {@code out}. */
    static void repeatParquet(SparkSession spark, Path table, int copies, Path out) {
        Dataset<Row> one = spark.read().parquet(table.toString());
        Dataset<Row> all = one;
        for (int c = 1; c < copies; c++) {
            all = all.union(one);
        }
        all.write().parquet(out.toString());
    }

    /** The records of the IDX file at {@code path}, {@code copies} times over, as a raw IDX file at {@code out}. */
    static void repeatIdx(String path, int copies, Path out) {
        IdxFile file = IdxFile.open(path);
        int[] dimensions = file.dimensions();
        try (DataOutputStream o = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(out)))) {
            o.writeInt(0x0800 | dimensions.length); // unsigned bytes, rank
            o.writeInt(dimensions[0] * copies);
            for (int d = 1; d < dimensions.length; d++) {
                o.writeInt(dimensions[d]);
            }
            for (int c = 0; c < copies; c++) {
                file.forEachRecord((r, values) -> {
                    try {
                        o.write(values);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out + ": " + e.getMessage(), e);
        }
    }
}
