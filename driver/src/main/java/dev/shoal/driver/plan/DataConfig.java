package dev.shoal.driver.plan;

import dev.shoal.kernel.config.Checks;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.Key;
import java.util.List;

/**
 * The {@code data} section. Paths are local paths or Hadoop URIs (hdfs://, s3a://) that every executor can read.
 */
public record DataConfig(
        @Key(doc = "Input format: idx (image and label files); a table that Spark SQL reads: parquet, csv "
                + "(with a header line) or json (JSON lines); text (labelled texts in a JSON file, an array of "
                + "objects or JSON lines); cifar (CIFAR-10 binary files); chars (a plain UTF-8 text, for "
                + "char-lstm); images (image files in one sub-folder per class); or spark-table (tables or "
                + "views in the Spark session's catalog: data.train and data.test are their names).",
                defaultValue = "idx")
        DataFormat format,
        @Key(doc = "idx: training images (IDX, gzipped or not).", defaultValue = "''", path = true)
        String trainImages,
        @Key(doc = "idx: training labels (IDX, gzipped or not).", defaultValue = "''", path = true)
        String trainLabels,
        @Key(doc = "idx: test images, evaluated after every epoch.", defaultValue = "''", path = true)
        String testImages,
        @Key(doc = "idx: test labels.", defaultValue = "''", path = true)
        String testLabels,
        @Key(doc = "Tables and cifar: the training set, a file or a folder of files; text: the JSON file; chars: "
                + "the text file; images: the folder of class folders.",
                defaultValue = "''", path = true) String train,
        @Key(doc = "All formats but idx: the test set, evaluated after every epoch (text and chars: "
                + "empty to hold out part of data.train, see holdout).", defaultValue = "''", path = true)
        String test,
        @Key(doc = "Tables and text: the label column or field, integral class indices.", defaultValue = "label")
        String label,
        @Key(doc = "Tables: the feature columns, either one array or Spark ML vector column, or numeric columns; "
                + "empty for the "
                + "column 'features' if there is one, else every numeric column but the label.",
                defaultValue = "[]") List<String> features,
        @Key(doc = "Tables: features are multiplied by this (0.00392156862745098 = 1/255 for pixel bytes).",
                defaultValue = "1.0") double scale,
        @Key(doc = "Tables: the features of a row as an image, [height, width, channels], channel after "
                + "channel, each row by row; empty for a flat vector. images: the size images are scaled to, with "
                + "1 (grey) or 3 (RGB) channels.", defaultValue = "[]") List<Integer> shape,
        @Key(doc = "text: the field of each record that holds the text.", defaultValue = "text") String text,
        @Key(doc = "text and chars without data.test, and ShoalClassifier.fit: the fraction of data.train's "
                + "records (chars: windows) held out as the test set, drawn by the seed (so a file sorted by label "
                + "is split fairly).",
                defaultValue = "0") double holdout,
        @Key(doc = "text: token ids per example; a longer text keeps its last words, a shorter one is padded in "
                + "front. chars: characters a window is read in, each followed by the next.", defaultValue = "200")
        int maxLength,
        @Key(doc = "text: how many of the training set's most frequent words get their own id; the others share "
                + "the unknown id.", defaultValue = "20000") int vocabulary,
        @Key(doc = "Number of classes; labels must lie in [0, classes).", defaultValue = "10") int classes,
        @Key(doc = "Names of the classes in label order (class 0 first), for predict's class_name column and "
                + "picture; empty for numbers. images: training fills in the class folders' names.",
                defaultValue = "[]") List<String> classNames,
        @Key(doc = "Train on the first N training examples only, for quick runs; 0 for all.", defaultValue = "0")
        int trainLimit,
        @Key(doc = "Leave out records that cannot be used (a label out of range, a missing or non-finite value, an "
                + "image that cannot be decoded) instead of failing, logging each and counting them; damaged "
                + "files fail either way. shoal train --skip-bad-records sets it.", defaultValue = "false")
        boolean skipBadRecords,
        @Key(doc = "Public dataset that scripts/shoal fetches with scripts/fetch-data when the files are missing;"
                + " empty for none.", defaultValue = "''") String fetch) {

    public DataConfig {
        Checks.atLeast("classes", classes, 2);
        Checks.atLeast("train-limit", trainLimit, 0);
        Checks.positive("scale", scale);
        features = List.copyOf(features);
        classNames = List.copyOf(classNames);
        if (!classNames.isEmpty() && classNames.size() != classes) {
            throw new ConfigException("class-names", classNames, "names " + classNames.size() + " classes, and "
                    + "classes is " + classes);
        }
        shape = List.copyOf(shape);
        if (!shape.isEmpty()) {
            Checks.positiveSizes("shape", shape);
            if (shape.size() != 3) {
                throw new ConfigException("shape", shape, "must be [height, width, channels] or empty");
            }
        }
        Checks.atLeast("max-length", maxLength, 1);
        Checks.atLeast("vocabulary", vocabulary, 1);
        if (holdout < 0 || holdout >= 1) {
            throw new ConfigException("holdout", holdout, "must be in [0, 1)");
        }
        if (format == DataFormat.IMAGES && (shape.isEmpty() || shape.get(2) != 1 && shape.get(2) != 3)) {
            throw new ConfigException("shape", shape, "format images needs [height, width, 1 or 3 channels]");
        }
        if (format == DataFormat.TEXT || format == DataFormat.CHARS) {
            required("train", train, format);
            if (test.isEmpty() && holdout == 0) {
                throw new ConfigException("test", "(missing)", "required with format " + format.name()
                        .toLowerCase(java.util.Locale.ROOT) + " unless holdout is set");
            }
        } else if (format != DataFormat.IDX) {
            required("train", train, format);
            required("test", test, format);
        } else {
            required("train-images", trainImages, format);
            required("train-labels", trainLabels, format);
            required("test-images", testImages, format);
            required("test-labels", testLabels, format);
        }
        trainImages = absolute(trainImages);
        trainLabels = absolute(trainLabels);
        testImages = absolute(testImages);
        testLabels = absolute(testLabels);
        if (format.readsFiles()) {
            train = absolute(train);
            test = absolute(test);
        }
    }

    /** The IDX files, with their keys. */
    public static DataConfig idx(String trainImages, String trainLabels, String testImages, String testLabels,
                                 int classes) {
        return new DataConfig(DataFormat.IDX, trainImages, trainLabels, testImages, testLabels, "", "", "label",
                List.of(), 1.0, List.of(), "text", 0, 200, 20000, classes, List.of(), 0, false, "");
    }

    /** This section with the classes named {@code names}. */
    public DataConfig withClassNames(List<String> names) {
        return new DataConfig(format, trainImages, trainLabels, testImages, testLabels, train, test, label, features,
                scale, shape, text, holdout, maxLength, vocabulary, classes, names, trainLimit, skipBadRecords,
                fetch);
    }

    /** The files (or, for spark-table, the tables) the plan reads, by job-file key. */
    public java.util.Map<String, String> inputs() {
        java.util.Map<String, String> inputs = new java.util.LinkedHashMap<>();
        if (format == DataFormat.IDX) {
            inputs.put("data.train-images", trainImages);
            inputs.put("data.train-labels", trainLabels);
            inputs.put("data.test-images", testImages);
            inputs.put("data.test-labels", testLabels);
        } else {
            inputs.put("data.train", train);
            if (!test.isEmpty()) {
                inputs.put("data.test", test);
            }
        }
        return inputs;
    }

    private static void required(String key, String value, DataFormat format) {
        if (value.isEmpty()) {
            throw new ConfigException(key, "(missing)", "required with format " + format.name()
                    .toLowerCase(java.util.Locale.ROOT));
        }
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
