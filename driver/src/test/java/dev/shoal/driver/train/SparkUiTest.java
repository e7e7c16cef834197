package dev.shoal.driver.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.plan.AverageOn;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.testing.SparkFixture;
import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.WorkerKernel;
import dev.shoal.kernel.config.ScheduleType;
import dev.shoal.kernel.config.UpdaterType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import scala.collection.JavaConverters;

/** Training reads as progress in the Spark UI: job descriptions name run, epoch and round; stages count examples. */
class SparkUiTest {
    @RegisterExtension
    static final SparkFixture SPARK = new SparkFixture();

    @Test
    void jobsAreNamedByRoundAndStagesCountTheExamplesAndLoss() throws Exception {
        assertJobsNamedAndCounted(AverageOn.DRIVER, List.of("shoal run-7 epoch 1 round 1",
                "shoal run-7 epoch 1 round 2", "shoal run-7 epoch 2 round 2", "shoal run-7 epoch 2 evaluation"));
    }

    /** The workers train the whole run as one job (a session), evaluating in it: no evaluation job. */
    @Test
    void workersAveragingRunsAsOneJobNamedByWhereItStarts() throws Exception {
        List<String> jobs = assertJobsNamedAndCounted(AverageOn.WORKERS,
                List.of("shoal run-7 training from epoch 1 round 1"));
        assertTrue(jobs.stream().noneMatch(j -> j.endsWith("evaluation") || j.contains("rounds")), jobs.toString());
    }

    /** Trains 2 epochs averaging {@code on}: the jobs' descriptions, which hold {@code expected}. */
    private static List<String> assertJobsNamedAndCounted(AverageOn on, List<String> expected) throws Exception {
        List<String> descriptions = Collections.synchronizedList(new ArrayList<>());
        Map<String, Double> accumulated = new ConcurrentHashMap<>();
        SparkListener listener = new SparkListener() {
            @Override
            public void onJobStart(SparkListenerJobStart job) {
                descriptions.add(String.valueOf(job.properties().getProperty("spark.job.description")));
            }

            @Override
            public void onStageCompleted(SparkListenerStageCompleted stage) {
                for (AccumulableInfo a : JavaConverters.asJavaIterable(stage.stageInfo().accumulables().values())) {
                    // A stage reports the accumulator's running total.
                    if (a.name().isDefined() && a.name().get().startsWith("shoal ") && a.value().isDefined()) {
                        accumulated.merge(a.name().get(), Double.parseDouble(a.value().get().toString()), Math::max);
                    }
                }
            }
        };
        SPARK.sc().sc().addSparkListener(listener);
        TrainingPlan plan = AveragingOnWorkersTest.with(
                AveragingInvariantsTest.plan(UpdaterType.SGD, ScheduleType.NONE, 2, 2, 8, 2), on, 0);
        String json = AveragingInvariantsTest.networkJson(plan);
        List<ExampleBlock> blocks = List.of(AveragingInvariantsTest.block(32, 2),
                AveragingInvariantsTest.block(32, 3));
        JavaRDD<ExampleBlock> rdd = SPARK.sc().parallelize(blocks, 2).cache();
        TrainingData data = new TrainingData(rdd, 64, 32);
        List<Metrics> metrics = new ArrayList<>();

        SPARK.sc().setJobGroup("run-7", "shoal run-7", false);
        try {
            new Trainer(SPARK.sc(), plan, json, AveragingInvariantsTest.SHAPE, metrics::add)
                    .run(new WorkerKernel(json).snapshot(), data, data);
        } finally {
            SPARK.sc().clearJobGroup();
        }
        SPARK.sc().sc().listenerBus().waitUntilEmpty();
        SPARK.sc().sc().removeSparkListener(listener);

        // 32 rows a worker, batches of 8, averaging every 2 steps: 2 rounds an epoch.
        assertTrue(descriptions.containsAll(expected), descriptions.toString());
        assertEquals(2 * 64, accumulated.get("shoal examples"), 1e-9, "every example once an epoch");
        double lossSum = metrics.stream().filter(m -> m instanceof Metrics.Round r).mapToDouble(m ->
                ((Metrics.Round) m).loss() * ((Metrics.Round) m).examples()).sum();
        assertEquals(lossSum, accumulated.get("shoal loss sum"), 1e-6 * lossSum, "the rounds' summed losses");
        rdd.unpersist();
        return descriptions;
    }
}
