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
    TEXT;

    /** Whether examples are rows of a table that Spark SQL reads. */
    public boolean isTable() {
        return this == PARQUET || this == CSV || this == JSON;
    }
}
