package dev.shoal.driver.plan;

/** Input formats. */
public enum DataFormat {
    /** IDX files as used by MNIST and Fashion-MNIST (raw or gzipped): unsigned-byte images and labels. */
    IDX,
    /** Parquet files (one file or a folder of them), read by Spark SQL. */
    PARQUET,
    /** CSV with a header line, read by Spark SQL with inferred column types. */
    CSV,
    /** JSON lines, read by Spark SQL. */
    JSON,
    /**
     * Labelled texts: a JSON file holding an array of objects or one object per line, each with a text and a
     * label field; examples are the texts' token ids.
     */
    TEXT,
    /** CIFAR-10 binary files: a label byte and a 32x32 colour image (3,072 bytes) per record. */
    CIFAR,
    /** A plain UTF-8 text, cut into windows of characters for a character-level language model. */
    CHARS,
    /** Image files in one sub-folder per class (PNG, JPEG, GIF, BMP), scaled to data.shape. */
    IMAGES,
    /**
     * A table or view in the Spark session's catalog, by name (a metastore table, or a DataFrame that
     * ShoalClassifier.fit registered as a temporary view); read as the other tables are.
     */
    SPARK_TABLE;

    /** Whether examples are rows of a table that Spark SQL reads. */
    public boolean isTable() {
        return this == PARQUET || this == CSV || this == JSON || this == SPARK_TABLE;
    }

    /** Whether data.train and data.test name files (or folders of files), not tables in Spark's catalog. */
    public boolean readsFiles() {
        return this != SPARK_TABLE;
    }

    /** Whether data.train and data.test may be folders of files. */
    public boolean readsFolders() {
        return this == PARQUET || this == CSV || this == JSON || this == CIFAR || this == IMAGES;
    }
}
