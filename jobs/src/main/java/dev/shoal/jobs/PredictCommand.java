package dev.shoal.jobs;

import dev.shoal.driver.data.IdxFile;
import dev.shoal.driver.data.ImageFolderDataSource;
import dev.shoal.driver.data.TableDataSource;
import dev.shoal.driver.data.InputFiles;
import dev.shoal.driver.data.Vocabulary;
import dev.shoal.driver.plan.DataFormat;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.run.BatchPrediction;
import dev.shoal.driver.run.ModelEvaluation;
import dev.shoal.driver.run.PredictionGrid;
import dev.shoal.driver.run.RunDirectory;
import dev.shoal.driver.run.SparkContexts;
import dev.shoal.kernel.InputShape;
import dev.shoal.kernel.config.ConfigException;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PushbackInputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.zip.GZIPInputStream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code shoal predict MODEL --input ... --output ...}: batch scoring on the executors. */
@Command(name = "predict", mixinStandardHelpOptions = true,
        description = {"Score a table, texts, image files or IDX images with a saved model, on the executors: the model is shipped "
                + "once per executor JVM and rows are scored in minibatches.",
                "Writes a new folder of Parquet (or CSV) files: the input's other columns (ids, keys, labels; "
                + "for IDX: index and label), prediction, probability (one per class) and model_version.",
                "Tables are read as the model's plan reads them (format, feature columns, scale); texts (JSON) "
                + "with the model's vocabulary.txt; image files (any sub-folder of --input) decoded at the model's "
                + "data.shape, their paths kept as 'file'; IDX images need a model trained on IDX data."})
final class PredictCommand implements Callable<Integer> {

    @Mixin
    SavedModel.Argument model;

    @Option(names = "--input", required = true, paramLabel = "PATH", description = "The rows to score: a table "
            + "in the model's data format (a file, folder or glob on any Hadoop file system), or an IDX images file.")
    String input;

    @Option(names = "--labels", paramLabel = "IDX", description = "IDX input: the true labels, kept as column "
            + "'label' and shown in the grid.")
    String labels;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "The folder to write; it must "
            + "not exist (predict never overwrites).")
    String output;

    @Option(names = "--output-format", defaultValue = "parquet", paramLabel = "FORMAT",
            description = "parquet or csv (probability as values joined by ';'); default: ${DEFAULT-VALUE}.")
    String outputFormat;

    @Option(names = "--keep", split = ",", paramLabel = "COLUMN", description = "Table input: the columns to "
            + "keep beside the predictions (default: every column that is not a feature).")
    List<String> keep = new ArrayList<>();

    @Option(names = "--grid", paramLabel = "PNG", description = "Image input: also draw the first --grid-size² "
            + "images with their predicted (and true) class, wrong ones framed in red, to this PNG file.")
    Path grid;

    @Option(names = "--grid-size", defaultValue = "5", paramLabel = "N", description = "Images per side of the "
            + "grid (default: ${DEFAULT-VALUE}).")
    int gridSize;

    @Option(names = "--batch-size", defaultValue = "256", paramLabel = "N",
            description = "Rows scored at a time (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Mixin
    MasterOption master;

    @Override
    public Integer call() throws IOException {
        if (!outputFormat.equals("parquet") && !outputFormat.equals("csv")) {
            throw new ConfigException("--output-format", outputFormat, "must be parquet or csv");
        }
        if (batchSize < 1 || gridSize < 1) {
            throw new ConfigException(batchSize < 1 ? "--batch-size" : "--grid-size",
                    batchSize < 1 ? batchSize : gridSize, "must be at least 1");
        }
        Path work = Files.createTempDirectory("shoal-predict-");
        try {
            SavedModel saved = model.find(work);
            List<String> settings = master.settings();
            TrainingPlan plan = TrainCommand.plan(saved.plan(), settings);
            DataFormat format = plan.data().format();
            if (format == DataFormat.CHARS || format == DataFormat.CIFAR) {
                throw new ConfigException("MODEL", model.reference, "was trained on "
                        + format.name().toLowerCase(Locale.ROOT) + " data; predict reads tables (parquet, csv, "
                        + "json), texts, image files and IDX images");
            }
            if (grid != null && format != DataFormat.IDX && format != DataFormat.IMAGES) {
                throw new ConfigException("--grid", grid, "draws images, and the model reads "
                        + format.name().toLowerCase(Locale.ROOT) + " data");
            }
            requireNew(output);
            byte[] bytes = Files.readAllBytes(saved.zip());
            var net = ModelEvaluation.restore(saved.zip());
            JavaSparkContext sc = SparkContexts.start(plan);
            try {
                SparkSession spark = SparkSession.builder().sparkContext(sc.sc()).getOrCreate();
                Rows rows = switch (format) {
                    case IDX -> idx(sc, plan.sync().workers());
                    case TEXT -> text(spark, plan, saved);
                    case IMAGES -> images(sc, plan);
                    default -> table(spark, plan);
                };
                ModelEvaluation.requireFits(net, saved.zip(), rows.featureSize());
                System.out.println("scoring " + input + " with " + saved.label());
                long start = System.nanoTime();
                Dataset<Row> scored = BatchPrediction.score(sc, rows.examples(), rows.kept(), rows.featureSize(),
                        bytes, saved.version(), batchSize, plan.sync().threadsPerWorker());
                write(BatchPrediction.withClassNames(scored, plan.data().classNames()));
                double seconds = (System.nanoTime() - start) / 1e9;
                long count = spark.read().format(outputFormat).option("header", "true").load(output).count();
                System.out.printf(Locale.ROOT, "scored %,d rows in %.1fs (%,.0f rows/s), written to %s%n", count,
                        seconds, count / seconds, output);
                if (grid != null && format == DataFormat.IDX) {
                    drawIdxGrid(spark, plan.data().classNames());
                } else if (grid != null) {
                    drawImageGrid(spark, plan);
                }
            } finally {
                sc.stop();
            }
            return 0;
        } finally {
            RunDirectory.deleteAll(work);
        }
    }

    private void requireNew(String folder) throws IOException {
        org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(folder);
        if (InputFiles.fileSystem(path).exists(path)) {
            throw new ConfigException("--output", folder, "exists; predict writes a new folder and never overwrites");
        }
    }

    private void write(Dataset<Row> scored) {
        if (outputFormat.equals("csv")) {
            scored.withColumn(BatchPrediction.PROBABILITY, functions.concat_ws(";",
                            functions.col(BatchPrediction.PROBABILITY).cast("array<string>")))
                    .write().option("header", "true").csv(output);
        } else {
            scored.write().parquet(output);
        }
    }

    /** The examples to score, the schema of the values they keep, and the features per example. */
    private record Rows(JavaRDD<BatchPrediction.Example> examples, StructType kept, int featureSize) {
    }

    /** A table, read as the model's plan reads its data. */
    private Rows table(SparkSession spark, TrainingPlan plan) {
        Dataset<Row> table = TableDataSource.read(spark, plan.data().format(), input);
        List<String> ignored = new ArrayList<>(keep);
        ignored.add(plan.data().label());
        List<String> features = BatchPrediction.featureColumns(table.schema(), plan.data().features(), ignored);
        for (String c : features) {
            if (!List.of(table.columns()).contains(c)) {
                throw new ConfigException("--input", input, "has no feature column '" + c + "'; its columns are "
                        + List.of(table.columns()));
            }
        }
        table = keepOnly(table, features);
        int featureSize = BatchPrediction.featureSize(table, features);
        var examples = BatchPrediction.examples(table, features, featureSize, (float) plan.data().scale());
        return new Rows(examples._1(), examples._2(), featureSize);
    }

    /** {@code table} with only the --keep columns and {@code inputs}, when --keep was given. */
    private Dataset<Row> keepOnly(Dataset<Row> table, List<String> inputs) {
        if (keep.isEmpty()) {
            return table;
        }
        List<String> selected = new ArrayList<>(keep);
        selected.addAll(inputs);
        return table.selectExpr(selected.stream().map(c -> "`" + c + "`").toArray(String[]::new));
    }

    /**
     * Texts in JSON (an array of objects or JSON lines, as training reads them), turned into token ids with the
     * model's own vocabulary.txt; every field but the text is kept (or those of --keep).
     */
    private Rows text(SparkSession spark, TrainingPlan plan, SavedModel saved) throws IOException {
        Path vocabularyFile = saved.zip().resolveSibling(RunDirectory.VOCABULARY);
        if (!Files.isRegularFile(vocabularyFile)) {
            throw new ConfigException("MODEL", model.reference, "is a text model without its vocabulary.txt "
                    + "beside it; predict needs the words behind its token ids");
        }
        Dataset<Row> table = spark.read().option("multiLine", jsonArray(input)).json(input);
        String text = plan.data().text();
        if (!List.of(table.columns()).contains(text)) {
            throw new ConfigException("--input", input, "has no text field '" + text + "' (data.text); its fields "
                    + "are " + List.of(table.columns()));
        }
        table = keepOnly(table, List.of(text));
        var examples = BatchPrediction.textExamples(table, text, Vocabulary.read(vocabularyFile),
                plan.data().maxLength());
        return new Rows(examples._1(), examples._2(), plan.data().maxLength());
    }

    /** {@code path} made absolute, with its file system's scheme (file:/..., hdfs://...). */
    private static String qualified(String path) {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
        try {
            return InputFiles.fileSystem(p).makeQualified(p).toString();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Whether JSON input is one array per file (Spark reads it with multiLine) rather than JSON lines, judged from
     * the first file's first character (gzipped files unpacked).
     */
    private static boolean jsonArray(String path) {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
        try {
            var fs = InputFiles.fileSystem(p);
            var matched = fs.globStatus(p);
            if (matched == null || matched.length == 0) {
                throw new ConfigException("--input", path, "no such file or folder");
            }
            var files = fs.listFiles(matched[0].getPath(), true);
            org.apache.hadoop.fs.Path first = null;
            while (files.hasNext() && first == null) {
                org.apache.hadoop.fs.Path f = files.next().getPath();
                if (!f.getName().startsWith(".") && !f.getName().startsWith("_")) {
                    first = f;
                }
            }
            if (first == null) {
                throw new ConfigException("--input", path, "holds no files");
            }
            try (var in = new PushbackInputStream(new BufferedInputStream(fs.open(first)), 2)) {
                byte[] magic = in.readNBytes(2);
                in.unread(magic);
                boolean gzip = magic.length == 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b;
                InputStream text = gzip ? new GZIPInputStream(in) : in;
                int c = text.read();
                while (c != -1 && Character.isWhitespace(c)) {
                    c = text.read();
                }
                return c == '[';
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * The image files under --input (in any sub-folder), decoded on the executors at the size the model was
     * trained on (data.shape); the kept value is each file's path.
     */
    private Rows images(JavaSparkContext sc, TrainingPlan plan) {
        List<String> files = ImageFolderDataSource.imagesUnder(qualified(input));
        if (files.isEmpty()) {
            throw new ConfigException("--input", input, "holds no images (.png, .jpg, .jpeg, .gif, .bmp)");
        }
        List<Integer> s = plan.data().shape();
        InputShape shape = new InputShape(s.get(0), s.get(1), s.get(2));
        return new Rows(BatchPrediction.imageExamples(sc, files, shape, plan.sync().workers()),
                BatchPrediction.imageKept(), shape.size());
    }

    /** IDX images (and labels), read on the executors. */
    private Rows idx(JavaSparkContext sc, int partitions) {
        // Executors read the files themselves: give them paths that mean the same in their working folders.
        IdxFile images = IdxFile.open(qualified(input));
        Optional<IdxFile> truth = labels == null ? Optional.empty() : Optional.of(labelFile(images.records()));
        return new Rows(BatchPrediction.idxExamples(sc, images, truth, partitions), BatchPrediction.idxKept(truth),
                images.recordSize());
    }

    private IdxFile labelFile(int records) {
        IdxFile file = IdxFile.open(qualified(labels));
        if (file.records() != records || file.recordSize() != 1) {
            throw new ConfigException("--labels", labels, "holds " + file.records() + " labels of "
                    + file.recordSize() + " value(s); the images are " + records);
        }
        return file;
    }

    /**
     * The first gridSize² image files (in path order) with their predictions, read back from the output (no true
     * classes: the files need not lie in class folders).
     */
    private void drawImageGrid(SparkSession spark, TrainingPlan plan) {
        List<String> files = ImageFolderDataSource.imagesUnder(qualified(input));
        List<String> first = files.subList(0, Math.min(gridSize * gridSize, files.size()));
        List<Integer> s = plan.data().shape();
        InputShape shape = new InputShape(s.get(0), s.get(1), s.get(2));
        float[] pixels = new float[first.size() * shape.size()];
        for (int i = 0; i < first.size(); i++) {
            System.arraycopy(ImageFolderDataSource.decode(first.get(i), shape), 0, pixels, i * shape.size(),
                    shape.size());
        }
        int[] predicted = new int[first.size()];
        for (Row r : spark.read().format(outputFormat).option("header", "true").option("inferSchema", "true")
                .load(output).filter(functions.col("file").isin(first.toArray())).collectAsList()) {
            predicted[first.indexOf(r.<String>getAs("file"))] = ((Number) r.getAs(BatchPrediction.PREDICTION))
                    .intValue();
        }
        PredictionGrid.write(PredictionGrid.render(pixels, shape, predicted, null,
                plan.data().classNames()), grid.toAbsolutePath());
        System.out.println("the first " + first.size() + " images with their predictions: " + grid.toAbsolutePath());
    }

    /** The first gridSize² images of the IDX input with their predictions, read back from the output. */
    private void drawIdxGrid(SparkSession spark, List<String> classNames) {
        IdxFile images = IdxFile.open(input);
        int n = Math.min(gridSize * gridSize, images.records());
        int size = images.recordSize();
        float[] pixels = images.readScaled(0, n);
        int[] predicted = new int[n];
        int[] truth = labels == null ? null : new int[n];
        for (Row r : spark.read().format(outputFormat).option("header", "true").option("inferSchema", "true")
                .load(output).filter(functions.col("index").lt(n)).collectAsList()) {
            int i = (int) ((Number) r.getAs("index")).longValue();
            predicted[i] = ((Number) r.getAs(BatchPrediction.PREDICTION)).intValue();
            if (truth != null) {
                truth[i] = ((Number) r.getAs("label")).intValue();
            }
        }
        int[] d = images.dimensions();
        InputShape shape = d.length == 3 ? new InputShape(d[1], d[2], 1) : InputShape.vector(size);
        PredictionGrid.write(PredictionGrid.render(pixels, shape, predicted, truth, classNames), grid.toAbsolutePath());
        System.out.println("the first " + n + " images with their predictions: " + grid.toAbsolutePath());
    }
}
