package dev.shoal.driver.train;

import dev.shoal.kernel.EvalResult;
import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.UserFacingException;
import java.io.Serializable;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.function.IntFunction;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaFutureAction;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/** What the strategies that run Spark barrier stages (gradient sharing, averaging on the workers) share. */
final class BarrierStages {
    private static final Logger LOG = LoggerFactory.getLogger(BarrierStages.class);

    private BarrierStages() {
    }

    /**
     * Barrier stages need every worker at once: executors that come and go cannot run them. The error names
     * {@code key = value} and suggests {@code instead}.
     */
    static void requireStaticAllocation(SparkConf conf, String key, String value, String instead) {
        if (dynamicAllocation(conf)) {
            throw new ConfigException(key, value, "needs a fixed set of executors (Spark barrier mode), but "
                    + "spark.dynamicAllocation.enabled is true; disable it or " + instead);
        }
    }

    /** Whether Spark may add and remove executors while the run goes on. */
    static boolean dynamicAllocation(SparkConf conf) {
        return conf.getBoolean("spark.dynamicAllocation.enabled", false);
    }

    /** A worker's part of a barrier stage, shipped to the executors: its partition's input, its results out. */
    @FunctionalInterface
    interface StageBody<I, T> extends Serializable {
        Iterator<T> run(Iterator<I> input);
    }

    /** Runs {@code body} on every partition of {@code input} at once, one Spark barrier stage: what each returns. */
    static <I, T> List<T> run(JavaRDD<I> input, Class<T> type, StageBody<I, T> body) {
        return stage(input, type, body).collect();
    }

    /** {@link #run}, submitted: the caller goes on while the stage runs. */
    static <I, T> JavaFutureAction<List<T>> submit(JavaRDD<I> input, Class<T> type, StageBody<I, T> body) {
        return stage(input, type, body).collectAsync();
    }

    private static <I, T> JavaRDD<T> stage(JavaRDD<I> input, Class<T> type, StageBody<I, T> body) {
        ClassTag<T> tag = ClassTag$.MODULE$.apply(type);
        RDD<T> rdd = input.rdd().barrier().mapPartitions(new ScalaFunction<>(body), false, tag);
        return new JavaRDD<>(rdd, tag);
    }

    /** {@link StageBody} as the Scala function Spark's barrier RDD takes: Scala's iterators in and out. */
    private static final class ScalaFunction<I, T> extends AbstractFunction1<scala.collection.Iterator<I>,
            scala.collection.Iterator<T>> implements Serializable {
        private final StageBody<I, T> body;

        ScalaFunction(StageBody<I, T> body) {
            this.body = body;
        }

        @Override
        public scala.collection.Iterator<T> apply(scala.collection.Iterator<I> input) {
            return JavaConverters.asScalaIteratorConverter(
                    body.run(JavaConverters.asJavaIteratorConverter(input).asJava())).asScala();
        }
    }

    /** A worker's blocks: those it trains on, and those it evaluates the stage's last model on (maybe none). */
    record WorkerBlocks(List<ExampleBlock> train, List<ExampleBlock> test) {
    }

    /**
     * Each worker's blocks: its training partition and, with {@code test} (null for none) in as many partitions,
     * the test partition of its rank, zipped into the stage so that the epoch's evaluation needs no job of its own.
     */
    static JavaRDD<WorkerBlocks> blocks(TrainingData train, TrainingData test) {
        if (!zippable(train, test)) {
            return train.blocks().mapPartitions(b -> List.of(new WorkerBlocks(RoundTask.drain(b), List.of()))
                    .iterator(), true);
        }
        return train.blocks().zipPartitions(test.blocks(), (b, t) -> List.of(new WorkerBlocks(RoundTask.drain(b),
                RoundTask.drain(t))).iterator());
    }

    /** Whether {@code test} (null for none) has a partition for every worker of {@code train}. */
    static boolean zippable(TrainingData train, TrainingData test) {
        return test != null && test.blocks().getNumPartitions() == train.blocks().getNumPartitions();
    }

    /**
     * The workers' evaluations of the stage's last model (null where a worker made none), merged in rank order as
     * the driver's evaluation merges partitions, and the slowest worker's time for it; empty unless all made one.
     */
    static Optional<Strategy.Evaluation> evaluation(List<EvalResult> byRank, long slowestNanos) {
        if (byRank.isEmpty() || byRank.contains(null)) {
            return Optional.empty();
        }
        return Optional.of(new Strategy.Evaluation(byRank.stream().reduce(EvalResult.empty(), EvalResult::merge),
                slowestNanos / 1e9));
    }

    /** The host workers reach the driver's rendezvous at. */
    static String driverHost(JavaSparkContext sc) {
        return sc.getConf().get("spark.driver.host", SparkEnv.get().blockManager().blockManagerId().host());
    }

    /**
     * Runs {@code attempt} (given its number, from 1) until it succeeds or has failed {@code attempts} times; a
     * diverged run or replicas that disagree fail at once. A stage runs again from the model it started with.
     */
    static <T> T withAttempts(int attempts, String what, IntFunction<T> attempt) {
        for (int n = 1; ; n++) {
            try {
                return attempt.apply(n);
            } catch (TrainingDivergedException | ReplicaMismatchException e) {
                throw e;
            } catch (Exception e) { // SparkException is checked, but Scala throws it from collect() unchecked
                if (n >= attempts) {
                    throw new UserFacingException(what + " failed " + n + " time(s); last error: "
                            + rootMessage(e), e);
                }
                LOG.warn("{} failed (attempt {} of {}): {}; running it again from the model it started with", what,
                        n, attempts, rootMessage(e));
            }
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    /** Replicas that should be identical are not: a bug, never retried. */
    static final class ReplicaMismatchException extends IllegalStateException {
        ReplicaMismatchException(String message) {
            super(message);
        }
    }
}
