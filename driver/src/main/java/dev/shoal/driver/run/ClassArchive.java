package dev.shoal.driver.run;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The class-data archive that {@code scripts/shoal} has the first training run after a build write when it ends
 * (the classes that JVM loaded, which later JVMs map instead of reading them from the jars). A run on IDX files
 * or texts never loads Spark SQL's and Parquet's classes, and the archive it wrote made tables start slower than
 * an archive written by a table's run (a Parquet table's cold load 7.8 against 6.4-6.8 s). So the writing JVM,
 * told by the system property {@value #WRITING}, writes and reads a small Parquet table before it stops Spark.
 */
final class ClassArchive {
    /** Set by scripts/shoal on the JVM that writes the archive. */
    static final String WRITING = "shoal.class-archive.writing";
    private static final Logger LOG = LoggerFactory.getLogger(ClassArchive.class);

    private ClassArchive() {
    }

    /**
     * In the archive-writing JVM on a local master: a Parquet table of a few rows written and read back through
     * Spark SQL, so that their classes are in the archive; nothing otherwise. A failure is only logged: the run's
     * outcome does not depend on it.
     */
    static void loadTableClasses(JavaSparkContext sc) {
        if (!Boolean.getBoolean(WRITING) || !sc.isLocal()) {
            return;
        }
        Path dir = null;
        try {
            dir = Files.createTempDirectory("shoal-class-archive-");
            String table = dir.resolve("t.parquet").toString();
            SparkSession spark = SparkSession.builder().sparkContext(sc.sc()).getOrCreate();
            spark.range(8).selectExpr("array(cast(id as float), 0f) as features", "cast(id % 2 as int) as label")
                    .write().parquet(table);
            spark.read().parquet(table).selectExpr("sum(label)", "sum(size(features))").collect();
        } catch (IOException | RuntimeException e) {
            LOG.debug("Spark SQL's classes were not loaded for the class-data archive", e);
        } finally {
            deleteQuietly(dir);
        }
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try {
            RunDirectory.deleteAll(dir);
        } catch (IOException | UncheckedIOException e) {
            LOG.debug("cannot delete {}", dir, e);
        }
    }
}
