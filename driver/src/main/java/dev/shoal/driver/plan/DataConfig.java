package dev.shoal.driver.plan;

import dev.shoal.kernel.config.Checks;
import dev.shoal.kernel.config.Key;

/**
 * The {@code data} section. Paths are local paths or Hadoop URIs (hdfs://, s3a://) that every executor can read.
 */
public record DataConfig(
        @Key(doc = "Input format: idx.", defaultValue = "idx") DataFormat format,
        @Key(doc = "Training images (IDX, gzipped or not).") String trainImages,
        @Key(doc = "Training labels (IDX, gzipped or not).") String trainLabels,
        @Key(doc = "Test images, evaluated after every epoch.") String testImages,
        @Key(doc = "Test labels.") String testLabels,
        @Key(doc = "Number of classes; labels must lie in [0, classes).", defaultValue = "10") int classes,
        @Key(doc = "Train on the first N training examples only, for quick runs; 0 for all.", defaultValue = "0")
        int trainLimit,
        @Key(doc = "Public dataset that scripts/shoal fetches with scripts/fetch-data when the files are missing;"
                + " empty for none.", defaultValue = "''") String fetch) {

    public DataConfig {
        Checks.atLeast("classes", classes, 2);
        Checks.atLeast("train-limit", trainLimit, 0);
        trainImages = absolute(trainImages);
        trainLabels = absolute(trainLabels);
        testImages = absolute(testImages);
        testLabels = absolute(testLabels);
    }

    /**
     * A relative local path made absolute against the driver's working directory: executors of a cluster
     * run elsewhere and would read it relative to theirs. URIs (hdfs://, s3a://, file:) are left alone.
     */
    private static String absolute(String path) {
        if (path.isEmpty() || path.matches("[A-Za-z][A-Za-z0-9+.-]*:.*")) {
            return path;
        }
        return java.nio.file.Path.of(path).toAbsolutePath().normalize().toString();
    }
}
