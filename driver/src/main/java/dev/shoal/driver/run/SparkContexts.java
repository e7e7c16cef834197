package dev.shoal.driver.run;

import dev.shoal.driver.plan.TrainingPlan;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
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
        return start(plan, Map.of());
    }

    /** Like {@link #start(TrainingPlan)}, with more Spark {@code settings} (e.g. the scheduler mode). */
    public static JavaSparkContext start(TrainingPlan plan, Map<String, String> settings) {
        SparkConf conf = new SparkConf()
                .setAppName("shoal " + plan.name())
                .set("spark.ui.enabled", Boolean.toString(plan.spark().ui()))
                .set("spark.ui.showConsoleProgress", "false")
                // Each worker returns its whole model every round (a few MB). Above this size Spark would park
                // the result in the block manager and fetch it in a second step: 15 ms more per round measured
                // on the Fashion-MNIST MLP. Spark caps it at spark.rpc.message.maxSize (128 MiB).
                .setIfMissing("spark.task.maxDirectResultSize", "128m")
                // A training stage's tasks (one a worker, all at once: barrier mode) read blocks cached on the
                // executors; Spark would hold a task back up to 3 s a stage for the executor that caches its
                // block when another task took it (a test block cached beside the other worker's training
                // block: a soak on the local cluster took 4 s an epoch instead of 1.5). Run at once, a task reads
                // the few MB it lacks from the other executor.
                .setIfMissing("spark.locality.wait", "0");
        // Executors in JVMs of their own get the launcher's fixed, pre-touched heap (see scripts/shoal): with a
        // growable one their resident memory climbed 645 -> 1,519 MB over 12 epochs on the local cluster. And
        // the training JVM's collector (HeapSize): under G1 every model-sized array is a humongous allocation.
        executorJvmFlags().ifPresent(flags -> conf.setIfMissing("spark.executor.extraJavaOptions", flags
                + " -XX:+AlwaysPreTouch -XX:+UseParallelGC -Xms" + conf.getSizeAsMb("spark.executor.memory", "1g")
                + "m"));
        conf.set("spark.plugins", RemovalPools.addedTo(conf.get("spark.plugins", null)));
        // The matrix-product kernels the launcher named, for executors too.
        openBlasKernels().ifPresent(kernels -> conf.setIfMissing("spark.executorEnv.OPENBLAS_CORETYPE", kernels));
        settings.forEach(conf::set);
        OpenBlasKernels.warnIfUnnamed(conf);
        String master = plan.spark().master();
        if (!"auto".equals(master)) {
            conf.setMaster(master);
        } else if (!conf.contains("spark.master")) {
            conf.setMaster("local[" + plan.sync().workers() + "]");
        }
        return new JavaSparkContext(conf);
    }

    /** The OpenBLAS kernels this process was started with ({@code OPENBLAS_CORETYPE}, scripts/openblas-kernels). */
    public static Optional<String> openBlasKernels() {
        return Optional.ofNullable(System.getenv("OPENBLAS_CORETYPE")).filter(k -> !k.isBlank());
    }

    /**
     * The JVM flags of conf/jvm.properties (--add-opens, the oneDNN native library), for executors that run in
     * JVMs of their own (a standalone cluster); empty outside a Shoal checkout (spark-submit users pass their own
     * flags).
     */
    private static Optional<String> executorJvmFlags() {
        String home = System.getProperty("shoal.home");
        if (home == null) {
            return Optional.empty();
        }
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(Path.of(home, "conf", "jvm.properties"))) {
            p.load(in);
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.ofNullable(p.getProperty("shoal.jvm.flags"));
    }
}
