package dev.shoal.driver.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.plan.AverageOn;
import dev.shoal.driver.plan.CheckpointConfig;
import dev.shoal.driver.plan.SyncConfig;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.testing.SparkFixture;
import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.WorkerKernel;
import dev.shoal.kernel.config.ScheduleType;
import dev.shoal.kernel.config.UpdaterType;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Averaging on the workers ({@code sync.average-on: workers}) runs the driver's merge and average on every worker,
 * so it must train to the same bits as averaging on the driver: the same loss every round, the same parameters
 * and updater state at the end, whatever the number of workers, with blocks of unequal size (a worker out of
 * batches in the last rounds) and with stages cut short by checkpoints. The workers evaluate each epoch's model
 * in the epoch's last stage, no Spark job of its own, to the driver's figures.
 */
class AveragingOnWorkersTest {
    @RegisterExtension
    static final SparkFixture SPARK = new SparkFixture("local[3]");

    @Test
    void twoWorkersTrainToTheDriversBits() {
        assertSameTraining(2, 0, true);
    }

    @Test
    void threeUnequalWorkersTrainToTheDriversBitsAcrossCheckpointStages() {
        assertSameTraining(3, 2, true);
    }

    /** Test data the workers cannot evaluate on (another partition count): a stage per request, no session. */
    @Test
    void withoutATestPartitionPerWorkerEachRequestIsAStageOfItsOwn() {
        assertSameTraining(2, 2, false);
    }

    /** The description of the job {@link #theSessionYieldsItsCoresToAJobBetweenEpochs} runs between epochs. */
    private static final String BETWEEN_EPOCHS = "between epochs";

    /**
     * A Spark job the driver runs between epochs (here from the metrics sink, on the training thread) gets the
     * cores: the workers' session yields them, and the next epoch starts a new session, sent the model again.
     * Without that the job would wait forever for cores the session holds. Training is the same to the bit.
     */
    @Test
    void theSessionYieldsItsCoresToAJobBetweenEpochs() throws Exception {
        TrainingPlan plan = with(AveragingInvariantsTest.plan(UpdaterType.ADAM, ScheduleType.NONE, 2, 2, 8, 2),
                AverageOn.WORKERS, 0);
        String json = AveragingInvariantsTest.networkJson(plan);
        List<ExampleBlock> blocks = List.of(AveragingInvariantsTest.block(64, 10), AveragingInvariantsTest.block(51, 11));
        ModelSnapshot start = new WorkerKernel(json).snapshot();
        Run alone = train(plan, json, start, blocks, 2);
        java.util.concurrent.atomic.AtomicLong counted = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.ExecutorService thread = java.util.concurrent.Executors.newSingleThreadExecutor();
        Run interrupted;
        try {
            interrupted = thread.submit(() -> train(plan, json, start, blocks, 2, () -> {
                String description = SPARK.sc().getLocalProperty("spark.job.description");
                SPARK.sc().setJobDescription("shoal " + BETWEEN_EPOCHS);
                counted.addAndGet(SPARK.sc().parallelize(List.of(1, 2, 3), 3).count());
                SPARK.sc().setJobDescription(description);
            })).get(120, java.util.concurrent.TimeUnit.SECONDS);
        } finally {
            thread.shutdownNow();
        }

        assertEquals(2 * 3, counted.get(), "a job ran after each epoch");
        assertEquals(List.of("training from epoch 1 round 1", "training from epoch 2 round 1"),
                interrupted.trainingJobs(), "a session for each epoch");
        assertEquals(interrupted.losses().size() - 2, interrupted.roundsWithoutBroadcast(), "the model sent to each");
        assertEquals(alone.losses(), interrupted.losses());
        assertArrayEquals(bits(alone.model().params()), bits(interrupted.model().params()));
        assertArrayEquals(bits(alone.model().updaterState()), bits(interrupted.model().updaterState()));
    }

    @Test
    void autoAveragesOnTheWorkersWhenSparkHasACoreForEach() {
        TrainingPlan three = AveragingInvariantsTest.plan(UpdaterType.ADAM, ScheduleType.NONE, 3, 2, 8, 1);
        TrainingPlan four = AveragingInvariantsTest.plan(UpdaterType.ADAM, ScheduleType.NONE, 4, 2, 8, 1);
        assertTrue(Averaging.onWorkers(SPARK.sc(), with(three, AverageOn.AUTO, 0)), "local[3], 3 workers");
        assertFalse(Averaging.onWorkers(SPARK.sc(), with(four, AverageOn.AUTO, 0)), "local[3], 4 workers");
        assertFalse(Averaging.onWorkers(SPARK.sc(), with(three, AverageOn.DRIVER, 0)));
    }

    /**
     * Trains 2 epochs averaging on the driver, then on the workers: the same bits. With {@code session}, the test
     * data has a partition for every worker, and the workers run as one job, sent the model once.
     */
    private static void assertSameTraining(int workers, int checkpointEvery, boolean session) {
        TrainingPlan base = AveragingInvariantsTest.plan(UpdaterType.ADAM, ScheduleType.NONE, workers, 2, 8, 2);
        String json = AveragingInvariantsTest.networkJson(base);
        List<ExampleBlock> blocks = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            blocks.add(AveragingInvariantsTest.block(64 - 13 * w, 10 + w));
        }
        ModelSnapshot start = new WorkerKernel(json).snapshot();

        int testPartitions = session ? workers : workers + 1;
        Run onDriver = train(with(base, AverageOn.DRIVER, checkpointEvery), json, start, blocks, testPartitions);
        long keptUses = ResidentModel.uses();
        Run onWorkers = train(with(base, AverageOn.WORKERS, checkpointEvery), json, start, blocks, testPartitions);

        assertTrue(onDriver.losses().size() > 4, "several rounds an epoch");
        assertEquals(0, onDriver.roundsWithoutBroadcast(), "the driver broadcasts every round");
        int roundsPerEpoch = onWorkers.losses().size() / 2;
        int requests = 2 * (checkpointEvery > 0 ? (roundsPerEpoch + checkpointEvery - 1) / checkpointEvery : 1);
        if (session) {
            assertEquals(List.of("training from epoch 1 round 1"), onWorkers.trainingJobs(), "one job for the run");
            // Only the first request carries the model: proof that the workers kept theirs between requests.
            assertEquals(onWorkers.losses().size() - 1, onWorkers.roundsWithoutBroadcast(), "the model sent once");
            assertEquals(0, ResidentModel.uses() - keptUses, "the session keeps its model itself");
        } else {
            assertEquals(requests, onWorkers.trainingJobs().size(), onWorkers.trainingJobs().toString());
            assertEquals(onWorkers.losses().size() - requests, onWorkers.roundsWithoutBroadcast(),
                    "each stage's first round carries a broadcast");
            assertTrue(ResidentModel.uses() - keptUses >= workers, "a stage after the first starts, on each worker,"
                    + " from the model the workers kept (one JVM here, so any worker's)");
        }
        assertEquals(onDriver.losses(), onWorkers.losses(), "every round's loss, to the last bit");
        assertEquals(onDriver.examples(), onWorkers.examples());
        assertArrayEquals(bits(onDriver.model().params()), bits(onWorkers.model().params()));
        assertArrayEquals(bits(onDriver.model().updaterState()), bits(onWorkers.model().updaterState()));
        assertEquals(onDriver.model().iteration(), onWorkers.model().iteration());

        assertEquals(2, onDriver.evaluations().size());
        assertEquals(onDriver.evaluationJobs(), onDriver.evaluations().size(), "an evaluation job an epoch");
        assertEquals(session ? 0 : 2, onWorkers.evaluationJobs(), "evaluated by the workers when they can");
        for (int e = 0; e < onDriver.evaluations().size(); e++) {
            assertEquals(onDriver.evaluations().get(e).testAccuracy(), onWorkers.evaluations().get(e).testAccuracy());
            // The workers' results merged in rank order, the driver's in the order its tasks end: the same sum
            // of a few doubles, up to its rounding.
            assertEquals(onDriver.evaluations().get(e).testLoss(), onWorkers.evaluations().get(e).testLoss(),
                    1e-12 * Math.abs(onDriver.evaluations().get(e).testLoss()));
        }
    }

    private record Run(ModelSnapshot model, List<Double> losses, List<Long> examples, long roundsWithoutBroadcast,
                       List<Metrics.Epoch> evaluations, int evaluationJobs, List<String> trainingJobs) {
    }

    /** The descriptions of the Spark jobs that start, without the "shoal " they begin with. */
    private static final class Jobs extends org.apache.spark.scheduler.SparkListener {
        private final List<String> described = java.util.Collections.synchronizedList(new ArrayList<>());

        @Override
        public void onJobStart(org.apache.spark.scheduler.SparkListenerJobStart job) {
            String description = job.properties() == null ? null
                    : job.properties().getProperty("spark.job.description");
            if (description != null && description.startsWith("shoal ")) {
                described.add(description.substring("shoal ".length()));
            }
        }

        int evaluations() {
            return (int) described.stream().filter(d -> d.endsWith("evaluation")).count();
        }

        List<String> training() {
            return described.stream().filter(d -> !d.endsWith("evaluation") && !d.equals(BETWEEN_EPOCHS))
                    .toList();
        }
    }

    /** Trains on {@code blocks}, one a worker, and evaluates on the same examples in {@code testPartitions}. */
    private static Run train(TrainingPlan plan, String json, ModelSnapshot start, List<ExampleBlock> blocks,
                             int testPartitions) {
        return train(plan, json, start, blocks, testPartitions, () -> { });
    }

    /** {@link #train}, running {@code betweenEpochs} on the training thread after each epoch (from the sink). */
    private static Run train(TrainingPlan plan, String json, ModelSnapshot start, List<ExampleBlock> blocks,
                             int testPartitions, Runnable betweenEpochs) {
        JavaRDD<ExampleBlock> rdd = SPARK.sc().parallelize(blocks, blocks.size()).cache();
        int total = blocks.stream().mapToInt(ExampleBlock::size).sum();
        int largest = blocks.stream().mapToInt(ExampleBlock::size).max().orElseThrow();
        TrainingData data = new TrainingData(rdd, total, largest);
        JavaRDD<ExampleBlock> testRdd = testPartitions == blocks.size() ? rdd
                : rdd.repartition(testPartitions).cache();
        TrainingData test = new TrainingData(testRdd, total, largest);
        List<Metrics> metrics = new ArrayList<>();
        Jobs jobs = new Jobs();
        SPARK.sc().sc().addSparkListener(jobs);
        TrainingResult result;
        try {
            result = new Trainer(SPARK.sc(), plan, json, AveragingInvariantsTest.SHAPE, m -> {
                metrics.add(m);
                if (m instanceof Metrics.Epoch) {
                    betweenEpochs.run();
                }
            }).run(start, data, test);
            SPARK.sc().sc().listenerBus().waitUntilEmpty(); // the jobs' starts are counted
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("Spark's listeners did not catch up", e);
        } finally {
            SPARK.sc().sc().removeSparkListener(jobs);
        }
        rdd.unpersist();
        testRdd.unpersist();
        List<Metrics.Round> rounds = metrics.stream().filter(m -> m instanceof Metrics.Round)
                .map(m -> (Metrics.Round) m).toList();
        return new Run(result.model(), rounds.stream().map(Metrics.Round::loss).toList(),
                rounds.stream().map(Metrics.Round::examples).toList(),
                rounds.stream().filter(r -> r.broadcastMs() == 0).count(),
                metrics.stream().filter(m -> m instanceof Metrics.Epoch).map(m -> (Metrics.Epoch) m).toList(),
                jobs.evaluations(), jobs.training());
    }

    static TrainingPlan with(TrainingPlan p, AverageOn on, int checkpointEvery) {
        SyncConfig s = p.sync();
        return new TrainingPlan(p.name(), p.data(), p.model(), p.optimizer(), p.training(),
                new SyncConfig(s.strategy(), s.workers(), s.averageEvery(), s.threadsPerWorker(), s.sharing(),
                        s.federated(), on),
                p.spark(), p.output(), new CheckpointConfig("", checkpointEvery, 3), p.gate());
    }

    private static int[] bits(float[] values) {
        int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            bits[i] = Float.floatToRawIntBits(values[i]);
        }
        return bits;
    }
}
