package dev.shoal.driver.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.shoal.driver.plan.AugmentConfig;
import dev.shoal.driver.plan.CheckpointConfig;
import dev.shoal.driver.plan.DataConfig;
import dev.shoal.driver.plan.EarlyStoppingConfig;
import dev.shoal.driver.plan.OutputConfig;
import dev.shoal.driver.plan.GradientEncoding;
import dev.shoal.driver.plan.SharingConfig;
import dev.shoal.driver.plan.SparkConfig;
import dev.shoal.driver.plan.SyncConfig;
import dev.shoal.driver.plan.SyncStrategy;
import dev.shoal.driver.plan.TrainingConfig;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.registry.GateConfig;
import dev.shoal.driver.testing.SparkFixture;
import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.InputShape;
import dev.shoal.kernel.MiniBatch;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.NetworkFactory;
import dev.shoal.kernel.Shuffle;
import dev.shoal.kernel.WorkerKernel;
import dev.shoal.kernel.config.Activation;
import dev.shoal.kernel.config.Loss;
import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.ModelType;
import dev.shoal.kernel.config.OptimizerConfig;
import dev.shoal.kernel.config.ScheduleConfig;
import dev.shoal.kernel.config.ScheduleType;
import dev.shoal.kernel.config.UpdaterType;
import dev.shoal.kernel.config.WeightInit;
import dev.shoal.kernel.testing.Rounding;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import org.apache.spark.api.java.JavaRDD;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The invariants DESIGN.md pins for parameter averaging, checked against plain single-process DL4J: equal up to
 * rounding ({@link Rounding}), since Shoal's kernels and the averaging sum in another order than DL4J's layers.
 */
class AveragingInvariantsTest {
    @RegisterExtension
    static final SparkFixture SPARK = new SparkFixture();

    private static final int FEATURES = 10;
    static final InputShape SHAPE = InputShape.vector(FEATURES);
    private static final int CLASSES = 4;
    private static final long SEED = 42;
    static final SharingConfig SHARING = new SharingConfig(GradientEncoding.THRESHOLD, 0.01, 60, 3, false);

    @Test
    void oneWorkerAveragingEveryStepEqualsPlainDl4jFit() {
        int batch = 16;
        int epochs = 2;
        TrainingPlan plan = plan(UpdaterType.ADAM, ScheduleType.EXPONENTIAL, 1, 1, batch, epochs);
        String json = networkJson(plan);
        ExampleBlock block = block(200, 1);
        ModelSnapshot start = new WorkerKernel(json).snapshot();

        TrainingResult distributed = train(plan, json, start, List.of(block));

        MultiLayerNetwork plain = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(json));
        plain.init();
        plain.setParams(Nd4j.createFromArray(start.params()));
        for (int epoch = 0; epoch < epochs; epoch++) {
            List<DataSet> batches = new ArrayList<>();
            block.batches(Shuffle.orderSeed(SEED, epoch, 0), batch, 0, Integer.MAX_VALUE)
                    .forEachRemaining(b -> batches.add(b.toDataSet()));
            plain.fit(new ListDataSetIterator<>(batches, 1));
        }

        assertEquals(epochs * 13, distributed.model().iteration());
        Rounding.assertSameUpdate("parameters", start.params(), plain.params().toFloatVector(),
                distributed.model().params());
        Rounding.assertClose("updater state", plain.getUpdater().getStateViewArray().toFloatVector(),
                distributed.model().updaterState());
    }

    @Test
    void twoSgdWorkersWithBatchBEqualOneProcessWithBatchTwoB() {
        int batch = 16;
        TrainingPlan plan = plan(UpdaterType.SGD, ScheduleType.NONE, 2, 1, batch, 1);
        String json = networkJson(plan);
        List<ExampleBlock> blocks = List.of(block(64, 2), block(64, 3));
        ModelSnapshot start = new WorkerKernel(json).snapshot();

        TrainingResult distributed = train(plan, json, start, blocks);

        MultiLayerNetwork plain = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(json));
        plain.init();
        plain.setParams(Nd4j.createFromArray(start.params()));
        Iterator<MiniBatch> w0 = blocks.get(0).batches(Shuffle.orderSeed(SEED, 0, 0), batch, 0, Integer.MAX_VALUE);
        Iterator<MiniBatch> w1 = blocks.get(1).batches(Shuffle.orderSeed(SEED, 0, 1), batch, 0, Integer.MAX_VALUE);
        int steps = 0;
        while (w0.hasNext()) {
            plain.fit(concat(w0.next(), w1.next()).toDataSet());
            steps++;
        }

        assertEquals(4, steps);
        Rounding.assertSameUpdate("parameters", start.params(), plain.params().toFloatVector(),
                distributed.model().params());
    }

    private static TrainingResult train(TrainingPlan plan, String json, ModelSnapshot start,
                                        List<ExampleBlock> blocks) {
        JavaRDD<ExampleBlock> rdd = SPARK.sc().parallelize(blocks, blocks.size()).cache();
        int total = blocks.stream().mapToInt(ExampleBlock::size).sum();
        int largest = blocks.stream().mapToInt(ExampleBlock::size).max().orElseThrow();
        TrainingData data = new TrainingData(rdd, total, largest);
        List<Metrics> metrics = new ArrayList<>();
        TrainingResult result = new Trainer(SPARK.sc(), plan, json, AveragingInvariantsTest.SHAPE, metrics::add).run(start, data, data);
        long trained = metrics.stream().filter(m -> m instanceof Metrics.Round)
                .mapToLong(m -> ((Metrics.Round) m).examples()).sum();
        assertEquals((long) total * plan.training().epochs(), trained, "every example once per epoch");
        rdd.unpersist();
        return result;
    }

    static TrainingPlan plan(UpdaterType updater, ScheduleType schedule, int workers, int averageEvery,
                             int batch, int epochs) {
        return new TrainingPlan("test",
                DataConfig.idx("-", "-", "-", "-", CLASSES),
                new ModelConfig(ModelType.MLP, List.of(12, 8), Activation.TANH, WeightInit.XAVIER, 0, 0, 1e-4,
                        Loss.MCXENT),
                new OptimizerConfig(updater, 0.05, 0.9, 0.9, 0.999, 0.95, 1e-8,
                        new ScheduleConfig(schedule, 0.5, 1)),
                new TrainingConfig(epochs, batch, SEED, EarlyStoppingConfig.OFF, AugmentConfig.OFF),
                new SyncConfig(SyncStrategy.AVERAGING, workers, averageEvery, 1, SHARING),
                new SparkConfig("auto", false),
                new OutputConfig("runs", "", "", false), CheckpointConfig.DEFAULTS, GateConfig.NONE);
    }

    static String networkJson(TrainingPlan plan) {
        return NetworkFactory.build(plan.model(), plan.optimizer(), SHAPE, CLASSES, SEED).toJson();
    }

    static ExampleBlock block(int rows, long seed) {
        Random random = new Random(seed);
        float[] x = new float[rows * FEATURES];
        int[] y = new int[rows];
        for (int r = 0; r < rows; r++) {
            for (int f = 0; f < FEATURES; f++) {
                x[r * FEATURES + f] = (float) random.nextGaussian();
            }
            y[r] = (x[r * FEATURES] > 0 ? 2 : 0) + (x[r * FEATURES + 1] > 0 ? 1 : 0);
        }
        return new ExampleBlock(x, y, FEATURES, CLASSES);
    }

    static MiniBatch concat(MiniBatch a, MiniBatch b) {
        float[] x = new float[a.features().length + b.features().length];
        System.arraycopy(a.features(), 0, x, 0, a.features().length);
        System.arraycopy(b.features(), 0, x, a.features().length, b.features().length);
        int[] y = new int[a.rows() + b.rows()];
        System.arraycopy(a.labels(), 0, y, 0, a.rows());
        System.arraycopy(b.labels(), 0, y, a.rows(), b.rows());
        return new MiniBatch(x, y, a.featureSize(), a.numClasses());
    }
}
