package dev.shoal.driver.bench;

import dev.shoal.driver.data.DataSource;
import dev.shoal.driver.data.IdxDataSource;
import dev.shoal.driver.data.TextDataSource;
import dev.shoal.driver.plan.SyncStrategy;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.run.Preflight;
import dev.shoal.driver.run.SparkContexts;
import dev.shoal.driver.run.TrainingRun;
import dev.shoal.driver.train.Metrics;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.KernelThreads;
import dev.shoal.kernel.MemoryUse;
import dev.shoal.kernel.MiniBatch;
import dev.shoal.kernel.NetworkFactory;
import dev.shoal.kernel.Shuffle;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.deeplearning4j.spark.impl.repartitioner.NoOpRepartitioner;
import org.deeplearning4j.spark.parameterserver.training.SharedTrainingMaster;
import org.nd4j.parameterserver.distributed.conf.VoidConfiguration;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Trains a plan's model with one {@link BenchSystem}, in this JVM, and measures every epoch the same way:
 * training wall time (evaluation excluded), test accuracy after the epoch, and resident memory.
 * Each system sees the same data (the plan's files, shuffled by the plan's seed), batch size, model and seed.
 */
public final class BenchSystems {
    private BenchSystems() {
    }

    /** Runs {@code system}; {@code workDir} takes whatever files the system writes. */
    public static SystemRun run(BenchSystem system, TrainingPlan plan, Preflight.Sources sources,
                                String planYaml, Path workDir, PrintStream out) {
        return switch (system) {
            case DL4J -> new SystemRun(dl4j(plan, sources, out), 0);
            case SHOAL_AVERAGING, SHOAL_AVERAGING_DRIVER, SHOAL_AVERAGING_CLUSTER, SHOAL_AVERAGING_DRIVER_CLUSTER,
                 SHOAL_SHARING_THRESHOLD, SHOAL_SHARING_DENSE, SHOAL_SHARING_THRESHOLD_CLUSTER ->
                    shoal(plan, sources, planYaml, out);
            case DL4J_SPARK_AVERAGING -> new SystemRun(dl4jSparkAveraging(plan, sources, workDir, out),
                    averagingBytesPerStep(plan, sources));
            case DL4J_SPARK_SHARED -> new SystemRun(dl4jSparkShared(plan, sources, workDir, out), -1);
            default -> throw new IllegalArgumentException(system + " is not trained in a JVM");
        };
    }

    /**
     * Parameter averaging moves the parameters and the updater state (floats) to each worker and back once per
     * round of {@code average-every} steps; both Shoal and dl4j-spark (which saves the updater by default) do.
     */
    private static long averagingBytesPerStep(TrainingPlan plan, Preflight.Sources sources) {
        MultiLayerNetwork net = new MultiLayerNetwork(network(plan, sources));
        net.init();
        long values = net.numParams() + net.getUpdater().getStateViewArray().length();
        return 2 * Float.BYTES * values / plan.sync().averageEvery();
    }

    /**
     * A Shoal run with the plan's sync strategy; gradient sharing reports the bytes it sent per step. An epoch's
     * compute and exchange come from its rounds (averaging: the workers' steps; the model's broadcast and merge)
     * or stages (gradient sharing: forward, backward and the update; encoding and the peers' exchange).
     */
    private static SystemRun shoal(TrainingPlan plan, Preflight.Sources sources, String planYaml, PrintStream out) {
        List<Metrics.Stage> stages = new ArrayList<>();
        Map<Integer, double[]> computeAndExchangeMs = new HashMap<>();
        TrainingRun.Outcome outcome = TrainingRun.execute(plan, sources, planYaml, Optional.empty(), out, m -> {
            if (m instanceof Metrics.Round r) {
                add(computeAndExchangeMs, r.epoch(), r.computeMs(), r.broadcastMs() + r.aggregateMs());
            } else if (m instanceof Metrics.Stage s) {
                stages.add(s);
                add(computeAndExchangeMs, s.epoch(), s.computeMs() + s.applyMs(), s.encodeMs() + s.exchangeMs());
            }
        });
        boolean averaging = plan.sync().strategy() == SyncStrategy.AVERAGING;
        // training.batch-size is per worker (the bench splits its batch across the workers).
        int examplesPerStep = plan.training().batchSize() * plan.sync().workers();
        List<EpochMeasurement> epochs = new ArrayList<>();
        for (Metrics.Epoch e : outcome.result().epochs()) {
            double[] ms = computeAndExchangeMs.getOrDefault(e.epoch(), new double[2]);
            epochs.add(new EpochMeasurement(e.epoch(), e.examples(), e.trainSeconds(), e.testAccuracy(),
                    e.executorMemory().rssMb(), steps(e.examples(), examplesPerStep), e.evalSeconds(),
                    ms[0] / 1e3, ms[1] / 1e3));
        }
        long bytes = averaging ? averagingBytesPerStep(plan, sources)
                : Math.round(stages.stream().mapToDouble(Metrics.Stage::bytesPerStep).average().orElse(-1));
        return new SystemRun(epochs, bytes);
    }

    private static void add(Map<Integer, double[]> perEpoch, int epoch, double computeMs, double exchangeMs) {
        double[] ms = perEpoch.computeIfAbsent(epoch, e -> new double[2]);
        ms[0] += computeMs;
        ms[1] += exchangeMs;
    }

    private static int steps(long examples, int examplesPerStep) {
        return (int) ((examples + examplesPerStep - 1) / examplesPerStep);
    }

    /**
     * Plain DL4J as a user would write it: the whole training set in memory as minibatch DataSets, reshuffled
     * each epoch, and {@code fit(iterator)} once per epoch (which also advances the epoch counter that the
     * learning-rate schedule follows). ND4J gets one thread, its fastest setting for this model on 2 cores.
     */
    private static List<EpochMeasurement> dl4j(TrainingPlan plan, Preflight.Sources sources, PrintStream out) {
        KernelThreads.apply(plan.sync().threadsPerWorker());
        ExampleBlock train = whole(sources.train(), plan.training().seed());
        List<DataSet> test = dataSets(whole(sources.test(), plan.training().seed()).inOrder(EVAL_BATCH));
        MultiLayerNetwork net = new MultiLayerNetwork(network(plan, sources));
        net.init();
        List<EpochMeasurement> epochs = new ArrayList<>();
        for (int epoch = 0; epoch < plan.training().epochs(); epoch++) {
            // The order Shoal's first worker would use: one worker averaging every step trains on exactly this.
            long order = Shuffle.orderSeed(plan.training().seed(), epoch, 0);
            List<DataSet> batches = dataSets(train.batches(order, plan.training().batchSize(), 0, Integer.MAX_VALUE));
            long t0 = System.nanoTime();
            net.fit(new ListDataSetIterator<>(batches, 1));
            double seconds = (System.nanoTime() - t0) / 1e9;
            // One process: all of the training time is its computing, nothing is exchanged.
            epochs.add(measured(epoch, train.size(), seconds, batches.size(), seconds, 0.0, net, test, out));
        }
        return epochs;
    }

    /**
     * dl4j-spark's parameter averaging with the plan's workers, batch size and averaging frequency, and its
     * defaults otherwise (export approach: minibatches written to files and re-read by the workers).
     */
    private static List<EpochMeasurement> dl4jSparkAveraging(TrainingPlan plan, Preflight.Sources sources,
                                                             Path workDir, PrintStream out) {
        int batch = plan.training().batchSize();
        ExampleBlock train = whole(sources.train(), plan.training().seed());
        List<DataSet> test = dataSets(whole(sources.test(), plan.training().seed()).inOrder(EVAL_BATCH));
        JavaSparkContext sc = SparkContexts.start(plan);
        try {
            JavaRDD<DataSet> rdd = sc.parallelize(dataSets(train.inOrder(batch)), plan.sync().workers());
            ParameterAveragingTrainingMaster master = new ParameterAveragingTrainingMaster.Builder(batch)
                    .batchSizePerWorker(batch)
                    .averagingFrequency(plan.sync().averageEvery())
                    .rngSeed(plan.training().seed())
                    .exportDirectory(workDir.resolve("dl4j-spark-export").toUri().toString())
                    .build();
            SparkDl4jMultiLayer spark = new SparkDl4jMultiLayer(sc, network(plan, sources), master);
            List<EpochMeasurement> epochs = new ArrayList<>();
            for (int epoch = 0; epoch < plan.training().epochs(); epoch++) {
                long t0 = System.nanoTime();
                spark.fit(rdd);
                double seconds = (System.nanoTime() - t0) / 1e9;
                epochs.add(measured(epoch, train.size(), seconds,
                        steps(train.size(), batch * plan.sync().workers()), null, null, spark.getNetwork(), test, out));
            }
            return epochs;
        } finally {
            sc.stop();
        }
    }

    /**
     * dl4j-spark's gradient sharing (SharedTrainingMaster: threshold-encoded updates over Aeron) with the plan's
     * workers, the batch split across them as for every system with workers, and its defaults otherwise, tuned only
     * as far as it needs to run here: Aeron's publication timeout raised (it gives up within seconds while a worker
     * JVM starts), the data left in its partitions (by default it repartitions into a task per minibatch), and a
     * new training master per epoch (reusing one deadlocked on the third {@code fit}). Bytes on the wire are not
     * known: in local mode its workers share one JVM's accumulator and send nothing over Aeron.
     */
    private static List<EpochMeasurement> dl4jSparkShared(TrainingPlan plan, Preflight.Sources sources,
                                                          Path workDir, PrintStream out) {
        int batch = plan.training().batchSize(); // per worker: the bench has split its batch already
        ExampleBlock train = whole(sources.train(), plan.training().seed());
        List<DataSet> test = dataSets(whole(sources.test(), plan.training().seed()).inOrder(EVAL_BATCH));
        System.setProperty("aeron.publication.unblock.timeout", "60000000000");
        JavaSparkContext sc = SparkContexts.start(plan);
        try {
            JavaRDD<DataSet> rdd = sc.parallelize(dataSets(train.inOrder(batch)), plan.sync().workers());
            VoidConfiguration transport = VoidConfiguration.builder().controllerAddress("127.0.0.1")
                    .networkMask("127.0.0.0/8").build();
            MultiLayerNetwork net = new MultiLayerNetwork(network(plan, sources));
            net.init();
            List<EpochMeasurement> epochs = new ArrayList<>();
            for (int epoch = 0; epoch < plan.training().epochs(); epoch++) {
                SharedTrainingMaster master = new SharedTrainingMaster.Builder(transport, batch)
                        .batchSizePerWorker(batch)
                        .workersPerNode(1)
                        .repartitioner(new NoOpRepartitioner())
                        .rngSeed(plan.training().seed())
                        .exportDirectory(workDir.resolve("dl4j-spark-shared-export").toUri().toString())
                        .build();
                SparkDl4jMultiLayer spark = new SparkDl4jMultiLayer(sc, net, master);
                long t0 = System.nanoTime();
                spark.fit(rdd);
                double seconds = (System.nanoTime() - t0) / 1e9;
                net = spark.getNetwork();
                epochs.add(measured(epoch, train.size(), seconds, steps(train.size(), batch * plan.sync().workers()),
                        null, null, net, test, out));
            }
            return epochs;
        } finally {
            sc.stop();
        }
    }

    private static MultiLayerConfiguration network(TrainingPlan plan, Preflight.Sources sources) {
        return NetworkFactory.build(plan.model(), plan.optimizer(), sources.train().inputShape(),
                plan.data().classes(), plan.training().seed());
    }

    /**
     * The whole data set in one block, placed by {@code seed}, read in this JVM without Spark: what the
     * single-process baselines train on, and what the PyTorch baseline is given.
     */
    public static ExampleBlock whole(DataSource source, long seed) {
        if (source instanceof IdxDataSource idx) {
            return idx.readAll(seed);
        }
        if (source instanceof TextDataSource text) {
            return text.readAll(seed);
        }
        throw new ConfigException("data.format", source.getClass().getSimpleName(),
                "shoal bench runs on idx and text data");
    }

    private static EpochMeasurement measured(int epoch, long examples, double seconds, int steps,
                                             Double computeSeconds, Double exchangeSeconds, MultiLayerNetwork net,
                                             List<DataSet> test, PrintStream out) {
        long t0 = System.nanoTime();
        double accuracy = net.evaluate(new ListDataSetIterator<>(test, 1)).accuracy();
        double evalSeconds = (System.nanoTime() - t0) / 1e9;
        EpochMeasurement m = new EpochMeasurement(epoch + 1, examples, seconds, accuracy, MemoryUse.now().rssMb(),
                steps, evalSeconds, computeSeconds, exchangeSeconds);
        out.printf("epoch %d  %,.0f ex/s  test accuracy %.2f%%  RSS %,d MB%n", m.epoch(), m.examplesPerSecond(),
                100 * accuracy, m.rssMb());
        return m;
    }

    private static List<DataSet> dataSets(Iterator<MiniBatch> batches) {
        List<DataSet> out = new ArrayList<>();
        batches.forEachRemaining(b -> out.add(b.toDataSet()));
        return out;
    }

    private static final int EVAL_BATCH = 256;
}
