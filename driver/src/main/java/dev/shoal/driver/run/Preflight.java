package dev.shoal.driver.run;

import dev.shoal.driver.data.BadRecords;
import dev.shoal.driver.data.CharDataSource;
import dev.shoal.driver.data.CifarDataSource;
import dev.shoal.driver.data.DataSource;
import dev.shoal.driver.data.IdxDataSource;
import dev.shoal.driver.data.ImageFolderDataSource;
import dev.shoal.driver.data.InputFiles;
import dev.shoal.driver.data.TableDataSource;
import dev.shoal.driver.data.TextDataSource;
import dev.shoal.driver.data.TextFile;
import dev.shoal.driver.plan.ClientSplit;
import dev.shoal.driver.plan.DataConfig;
import dev.shoal.driver.plan.DataFormat;
import dev.shoal.driver.plan.StopMetric;
import dev.shoal.driver.plan.SyncStrategy;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.kernel.InputShape;
import dev.shoal.kernel.NetworkFiles;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.ModelType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.function.Predicate;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Checks that need the file system, made before Spark starts: the data files exist and IDX headers agree, and
 * every worker gets at least one full minibatch. Errors name the job-file key and the value. A table's columns
 * and rows are checked in the same way once Spark has started ({@link Sources#open}).
 */
public final class Preflight {
    private Preflight() {
    }

    /** The training and test sources of a plan that passed every check so far. */
    public record Sources(TrainingPlan plan, DataSource train, DataSource test) {
        /** Both sources ready to load (tables: schema and row count read through Spark), and checked. */
        public Sources open(JavaSparkContext sc) {
            var opened = SideBySide.run(() -> train.open(sc), () -> test.open(sc));
            return checked(plan, opened.first(), opened.second());
        }
    }

    public static Sources check(TrainingPlan plan) {
        DataConfig d = plan.data();
        requireFiles(d, key -> true);
        var stopping = plan.training().earlyStopping();
        if (stopping.enabled() && stopping.metric() == StopMetric.ACCURACY
                && !plan.model().type().target().hasAccuracy()) {
            throw new ConfigException("training.early-stopping.metric", "accuracy", "a "
                    + plan.model().type().configName() + " has no accuracy; use loss");
        }
        if (plan.model().type() == ModelType.GAN && plan.sync().strategy() == SyncStrategy.GRADIENT_SHARING) {
            throw new ConfigException("sync.strategy", "gradient-sharing", "a gan takes two steps per minibatch "
                    + "(discriminator, then generator); train it with averaging");
        }
        if (plan.model().type().fromFile()) {
            requireInput(plan.model().fileKey(), plan.model().file(), false);
        }
        if (plan.model().type() == ModelType.KERAS) {
            NetworkFiles.requireHdf5(plan.model().keras(), plan.model().fileKey());
        }
        boolean clientColumn = plan.sync().strategy() == SyncStrategy.FEDERATED
                && plan.sync().federated().split() == ClientSplit.COLUMN;
        if (clientColumn && !d.format().isTable()) {
            throw new ConfigException("sync.federated.split", "column", "needs a table (data.format parquet, csv, "
                    + "json or spark-table) whose sync.federated.column names each row's client; data.format is "
                    + d.format().name().toLowerCase(java.util.Locale.ROOT));
        }
        return switch (d.format()) {
            case IDX -> idx(plan);
            case PARQUET, CSV, JSON, SPARK_TABLE -> new Sources(plan, table("data.train", d.train(), d, d.trainLimit(),
                    clientColumn ? plan.sync().federated().column() : ""), table("data.test", d.test(), d, 0, ""));
            case TEXT -> text(plan);
            case CHARS -> chars(plan);
            case CIFAR -> cifar(plan);
            case IMAGES -> images(plan);
        };
    }

    /**
     * The plan's test set, checked, for evaluating a saved model. Where the plan names a test set of its own and
     * the training data gives nothing evaluation needs (IDX, CIFAR, tables), the training data is not read, so a
     * model whose training data is gone (yesterday's partition, another machine) can still be evaluated. Texts,
     * characters and image folders take their vocabulary or class folders from the training data, and a test set
     * held out of the training data is a part of it: those are read as training reads them.
     */
    public static DataSource testSet(TrainingPlan plan) {
        DataConfig d = plan.data();
        boolean trainingGivesNothing = d.format().isTable() || d.format() == DataFormat.IDX
                || d.format() == DataFormat.CIFAR;
        if (!trainingGivesNothing) {
            return check(plan).test();
        }
        requireFiles(d, key -> key.startsWith("data.test"));
        return switch (d.format()) {
            case IDX -> IdxDataSource.open(d.testImages(), d.testLabels(), d.classes()).with(bad(d));
            case CIFAR -> CifarDataSource.open(d.test(), d.classes()).with(bad(d));
            default -> table("data.test", d.test(), d, 0, "");
        };
    }

    private static Sources idx(TrainingPlan plan) {
        DataConfig d = plan.data();
        IdxDataSource train = IdxDataSource.open(d.trainImages(), d.trainLabels(), d.classes()).with(bad(d));
        if (d.trainLimit() > 0) {
            train = train.first(d.trainLimit());
        }
        return checked(plan, train, IdxDataSource.open(d.testImages(), d.testLabels(), d.classes()).with(bad(d)));
    }

    private static Sources text(TrainingPlan plan) {
        DataConfig d = plan.data();
        TextDataSource.Pair text = TextDataSource.split(textFile(d.train(), d),
                d.test().isEmpty() ? null : textFile(d.test(), d), d.holdout(), d.trainLimit(), d.maxLength(),
                d.vocabulary(), plan.training().seed(), bad(d));
        return checked(plan, text.train(), text.test());
    }

    private static Sources chars(TrainingPlan plan) {
        DataConfig d = plan.data();
        CharDataSource.Pair chars = CharDataSource.split(d.train(), d.test().isEmpty() ? null : d.test(),
                d.holdout(), d.trainLimit(), d.maxLength(), plan.training().seed());
        return checked(plan, chars.train(), chars.test());
    }

    private static Sources cifar(TrainingPlan plan) {
        DataConfig d = plan.data();
        CifarDataSource train = CifarDataSource.open(d.train(), d.classes()).with(bad(d));
        if (d.trainLimit() > 0) {
            train = train.first(d.trainLimit());
        }
        return checked(plan, train, CifarDataSource.open(d.test(), d.classes()).with(bad(d)));
    }

    private static Sources images(TrainingPlan plan) {
        DataConfig d = plan.data();
        InputShape shape = new InputShape(d.shape().get(0), d.shape().get(1), d.shape().get(2));
        ImageFolderDataSource train = ImageFolderDataSource.open("data.train", d.train(), List.of(), d.classes(),
                shape).with(bad(d));
        if (d.trainLimit() > 0) {
            train = train.sample(d.trainLimit(), plan.training().seed());
        }
        List<String> folders = train.classNames();
        if (!d.classNames().isEmpty() && !d.classNames().equals(folders)) {
            throw new ConfigException("data.class-names", d.classNames(), "differs from the class folders of "
                    + d.train() + ", " + folders + "; leave it out for images");
        }
        return checked(plan.withData(d.withClassNames(folders)), train, ImageFolderDataSource.open("data.test",
                d.test(), folders, d.classes(), shape).with(bad(d)));
    }

    /** A table source; {@code clientColumn} names each row's client (federated column split), or is empty. */
    private static TableDataSource table(String key, String path, DataConfig d, int limit, String clientColumn) {
        return TableDataSource.of(new TableDataSource.Spec(key, path, d.format(), d.label(), d.features(),
                d.classes(), (float) d.scale(), d.shape(), limit, bad(d), clientColumn));
    }

    private static BadRecords bad(DataConfig d) {
        return new BadRecords(d.skipBadRecords());
    }

    private static TextFile textFile(String path, DataConfig d) {
        return new TextFile(path, d.text(), d.label(), d.classes());
    }

    private static Sources checked(TrainingPlan plan, DataSource train, DataSource test) {
        String testKey = plan.data().inputs().keySet().stream().filter(k -> k.startsWith("data.test")).findFirst()
                .orElse("data.train");
        if (train.featureSize() != test.featureSize()) {
            throw new ConfigException(testKey, plan.data().inputs().get(testKey), "has " + test.featureSize()
                    + " values per example but the training data has " + train.featureSize());
        }
        if (plan.sync().strategy() == SyncStrategy.FEDERATED) {
            int clients = plan.sync().federated().clients();
            if (plan.sync().federated().split() != ClientSplit.COLUMN && clients > train.examples()) {
                throw new ConfigException("sync.federated.clients", clients, "more clients than the "
                        + train.examples() + " training examples");
            }
            return new Sources(plan, train, test);
        }
        int workers = plan.sync().workers();
        int perWorker = train.examples() / workers;
        if (plan.training().batchSize() > perWorker) {
            throw new ConfigException("training.batch-size", plan.training().batchSize(), "larger than the "
                    + perWorker + " examples each of the " + workers + " workers holds (" + train.examples()
                    + " training examples)");
        }
        return new Sources(plan, train, test);
    }

    /** The input files of the keys {@code keys} accepts exist; tables in Spark's catalog are checked when read. */
    private static void requireFiles(DataConfig d, Predicate<String> keys) {
        if (d.format().readsFiles()) {
            d.inputs().forEach((key, path) -> {
                if (keys.test(key)) {
                    requireInput(key, path, d.format().readsFolders());
                }
            });
        }
    }

    /** An input file, or where folders are allowed also a folder of files or a glob that matches something. */
    private static void requireInput(String key, String path, boolean folderAllowed) {
        try {
            Path p = new Path(path);
            var fs = InputFiles.fileSystem(p);
            FileStatus[] matched = folderAllowed ? fs.globStatus(p) : null;
            if (!(fs.isFile(p) || matched != null && matched.length > 0)) {
                throw new ConfigException(key, path, "no such file" + (folderAllowed ? " or folder" : ""));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check " + key + " = " + path + ": " + e.getMessage(), e);
        }
    }
}
