package dev.shoal.driver.run;

import dev.shoal.driver.plan.TrainingPlan;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/** Starts the Spark context a plan asks for. */
public final class SparkContexts {
    private SparkContexts() {
    }

    /**
     * The master is the plan's {@code spark.master}; with {@code auto}, spark-submit's master if there is one,
     * else {@code local[workers]}, so each worker gets a core of its own.
     */
    public static JavaSparkContext start(TrainingPlan plan) {
        SparkConf conf = new SparkConf()
                .setAppName("shoal " + plan.name())
                .set("spark.ui.enabled", Boolean.toString(plan.spark().ui()))
                .set("spark.ui.showConsoleProgress", "false")
                // Each worker returns its whole model every round (a few MB). Above this size Spark would park
                // the result in the block manager and fetch it in a second step: 15 ms more per round measured
                // on the Fashion-MNIST MLP. Spark caps it at spark.rpc.message.maxSize (128 MiB).
                .setIfMissing("spark.task.maxDirectResultSize", "128m");
        String master = plan.spark().master();
        if (!"auto".equals(master)) {
            conf.setMaster(master);
        } else if (!conf.contains("spark.master")) {
            conf.setMaster("local[" + plan.sync().workers() + "]");
        }
        return new JavaSparkContext(conf);
    }
}
