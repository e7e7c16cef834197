package dev.shoal.driver.run;

import dev.shoal.driver.data.IdxDataSource;
import dev.shoal.driver.plan.DataConfig;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.kernel.config.ConfigException;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * Checks that need the file system, made before Spark starts: the data files exist and their headers agree,
 * and every worker gets at least one full minibatch. Errors name the job-file key and the value.
 */
public final class Preflight {
    private Preflight() {
    }

    /** The opened training and test sources of a plan that passed every check. */
    public record Sources(IdxDataSource train, IdxDataSource test) {
    }

    public static Sources check(TrainingPlan plan) {
        DataConfig d = plan.data();
        requireFile("data.train-images", d.trainImages());
        requireFile("data.train-labels", d.trainLabels());
        requireFile("data.test-images", d.testImages());
        requireFile("data.test-labels", d.testLabels());
        IdxDataSource train = IdxDataSource.open(d.trainImages(), d.trainLabels(), d.classes());
        if (d.trainLimit() > 0) {
            train = train.first(d.trainLimit());
        }
        IdxDataSource test = IdxDataSource.open(d.testImages(), d.testLabels(), d.classes());
        if (train.featureSize() != test.featureSize()) {
            throw new ConfigException("data.test-images", d.testImages(), "has " + test.featureSize()
                    + " values per example but the training images have " + train.featureSize());
        }
        int workers = plan.sync().workers();
        int perWorker = train.examples() / workers;
        if (plan.training().batchSize() > perWorker) {
            throw new ConfigException("training.batch-size", plan.training().batchSize(), "larger than the "
                    + perWorker + " examples each of the " + workers + " workers holds (" + train.examples()
                    + " training examples)");
        }
        return new Sources(train, test);
    }

    private static void requireFile(String key, String path) {
        try {
            Path p = new Path(path);
            if (!p.getFileSystem(new Configuration()).isFile(p)) {
                throw new ConfigException(key, path, "no such file");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check " + key + " = " + path + ": " + e.getMessage(), e);
        }
    }
}
