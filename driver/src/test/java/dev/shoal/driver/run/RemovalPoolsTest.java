package dev.shoal.driver.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.plan.AugmentConfig;
import dev.shoal.driver.plan.CheckpointConfig;
import dev.shoal.driver.plan.DataConfig;
import dev.shoal.driver.plan.EarlyStoppingConfig;
import dev.shoal.driver.plan.GradientEncoding;
import dev.shoal.driver.plan.OutputConfig;
import dev.shoal.driver.plan.SharingConfig;
import dev.shoal.driver.plan.SparkConfig;
import dev.shoal.driver.plan.SyncConfig;
import dev.shoal.driver.plan.SyncStrategy;
import dev.shoal.driver.plan.TrainingConfig;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.registry.GateConfig;
import dev.shoal.kernel.config.Activation;
import dev.shoal.kernel.config.Loss;
import dev.shoal.kernel.config.ModelConfig;
import dev.shoal.kernel.config.ModelType;
import dev.shoal.kernel.config.OptimizerConfig;
import dev.shoal.kernel.config.ScheduleConfig;
import dev.shoal.kernel.config.ScheduleType;
import dev.shoal.kernel.config.UpdaterType;
import dev.shoal.kernel.config.WeightInit;
import java.util.List;
import java.util.concurrent.ThreadPoolExecutor;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.junit.jupiter.api.Test;

/** Spark's block-removal pools start a thread per removal; the contexts Shoal starts keep them to a few. */
class RemovalPoolsTest {
    /** Broadcasts removed in each test: a few epochs' worth. */
    private static final int REMOVALS = 30;

    @Test
    void sparkAloneStartsAThreadForEachRemoval() throws Exception {
        JavaSparkContext sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("removals")
                .set("spark.ui.enabled", "false"));
        try {
            // The fact the plugin is for: should Spark change it, this fails and the plugin can go.
            assertTrue(largestPools(sc) >= REMOVALS, "threads in Spark's removal pools: " + largestPools(sc));
        } finally {
            sc.stop();
        }
    }

    @Test
    void contextsStartedForAPlanKeepTheirRemovalPoolsSmall() throws Exception {
        JavaSparkContext sc = SparkContexts.start(plan());
        try {
            assertEquals(2, RemovalPools.of(SparkEnv.get()).size(), "the master's pool and the block manager's");
            assertTrue(largestPools(sc) <= RemovalPools.THREADS, "threads in a removal pool: " + largestPools(sc));
        } finally {
            sc.stop();
        }
    }

    @Test
    void thePluginJoinsTheUsersPlugins() {
        String name = RemovalPools.class.getName();
        assertEquals(name, RemovalPools.addedTo(null));
        assertEquals(name, RemovalPools.addedTo(" "));
        assertEquals("com.example.Mine," + name, RemovalPools.addedTo("com.example.Mine"));
        assertEquals("com.example.Mine, " + name, RemovalPools.addedTo("com.example.Mine, " + name));
    }

    /** Removes {@link #REMOVALS} broadcasts, one after the other; the most threads any removal pool had. */
    private static int largestPools(JavaSparkContext sc) throws Exception {
        for (int i = 0; i < REMOVALS; i++) {
            Broadcast<int[]> b = sc.broadcast(new int[] {i});
            b.destroy(true); // waits until every block manager removed it
        }
        return RemovalPools.of(SparkEnv.get()).stream().mapToInt(ThreadPoolExecutor::getLargestPoolSize).max()
                .orElseThrow();
    }

    private static TrainingPlan plan() {
        return new TrainingPlan("removals", DataConfig.idx("-", "-", "-", "-", 2),
                new ModelConfig(ModelType.MLP, List.of(4), Activation.TANH, WeightInit.XAVIER, 0, 0, 0, Loss.MCXENT),
                new OptimizerConfig(UpdaterType.SGD, 0.1, 0.9, 0.9, 0.999, 0.95, 1e-8,
                        new ScheduleConfig(ScheduleType.NONE, 0.5, 1)),
                new TrainingConfig(1, 8, 1, EarlyStoppingConfig.OFF, AugmentConfig.OFF),
                new SyncConfig(SyncStrategy.AVERAGING, 2, 1, 1,
                        new SharingConfig(GradientEncoding.THRESHOLD, 0.01, 60, 3, false)),
                new SparkConfig("auto", false),
                new OutputConfig("runs", "", "", false), CheckpointConfig.DEFAULTS, GateConfig.NONE);
    }
}
