package dev.shoal.driver.run;

import dev.shoal.driver.data.DataSource;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.kernel.FeatureRows;
import dev.shoal.kernel.NetworkFactory;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.deeplearning4j.nn.conf.CacheMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.memory.MemoryUseMode;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The Java heap a run of a plan needs when driver and workers share one JVM (local mode), worked out from the
 * job before it starts, so that {@code scripts/shoal} can start that JVM with a fixed heap of this size rather
 * than a one-size 4 GiB. A fixed, pre-touched heap keeps resident memory flat (a growable one grows epoch after
 * epoch under the rounds' allocations); sizing it from the job keeps it small.
 *
 * <p>What goes in: Spark's reserved memory (300 MB, of which storage and execution memory are what exceeds it),
 * the data blocks twice over (Spark caches blocks in 60% of the rest of the heap; loading builds each block
 * once in floats before it is stored), and for each network in the JVM (one a worker, one on the driver) four
 * times DL4J's own estimate of a training step's memory at the plan's batch size: Shoal's Java kernels keep
 * their activations on the heap, in doubles where they compute in doubles, and evaluate at twice the batch.
 * Twice was too little: imdb-lstm ran out of heap at 896 MB and trains in the 1,344 MB of four times.
 *
 * @param dataBytes    the training and test blocks in executor memory
 * @param networkBytes one network's training memory at the plan's batch size, DL4J's estimate
 * @param heapBytes    the heap to start the JVM with
 */
public record HeapSize(long dataBytes, long networkBytes, long heapBytes) {
    private static final long MB = 1L << 20;
    private static final long SPARK_RESERVED = 320 * MB;
    /** For networks DL4J cannot estimate (read from files, GANs, self-attention). */
    private static final long UNKNOWN_NETWORK = 256 * MB;
    private static final long MINIMUM = 512 * MB;
    private static final long ROUNDING = 64 * MB;

    /**
     * The heap for {@code sources}; empty when the data's size is known only once Spark has read it (tables).
     */
    public static Optional<HeapSize> of(Preflight.Sources sources) {
        if (sources.plan().data().format().isTable()) {
            return Optional.empty();
        }
        TrainingPlan plan = sources.plan();
        long data = blockBytes(sources.train()) + blockBytes(sources.test());
        long network = networkBytes(plan, sources.train());
        int networks = plan.sync().workers() + 1;
        long heap = Math.max(MINIMUM, SPARK_RESERVED + 2 * data + 4L * networks * network);
        return Optional.of(new HeapSize(data, network, (heap + ROUNDING - 1) / ROUNDING * ROUNDING));
    }

    /** A source's blocks: one byte a feature value where the values fit, four otherwise; a label each. */
    static long blockBytes(DataSource source) {
        int distinct = source.distinctValues();
        int valueBytes = distinct > 0 && distinct <= FeatureRows.MAX_CODES ? 1 : Float.BYTES;
        return (long) source.examples() * ((long) source.featureSize() * valueBytes + Integer.BYTES);
    }

    private static long networkBytes(TrainingPlan plan, DataSource train) {
        if (plan.model().type().fromFile()) {
            return UNKNOWN_NETWORK;
        }
        try {
            MultiLayerConfiguration conf = NetworkFactory.build(plan.model(), plan.optimizer(), train.inputShape(),
                    train.classes(), plan.training().seed());
            return conf.getMemoryReport(NetworkFactory.inputType(plan.model(), train.inputShape()))
                    .getTotalMemoryBytes(plan.training().batchSize(), MemoryUseMode.TRAINING, CacheMode.NONE,
                            DataType.FLOAT);
        } catch (RuntimeException e) {
            // DL4J 1.0.0-M2.1 has no estimate for some layers (self-attention: a NullPointerException).
            return UNKNOWN_NETWORK;
        }
    }

    /**
     * The JVM options that start a JVM with this heap, fixed and touched at start, collected by the parallel
     * collector. G1, the default, treats every array of half a region or more (a model's 235,000 parameters, a
     * snapshot's bytes: 1 to 3 MB, several a round) as a humongous allocation that starts a concurrent cycle:
     * the Fashion-MNIST MLP ran about 30 collections a second, its collector threads taking 10-20% of a core
     * from the workers, and trained ~10% slower than with the parallel collector, which has no such case and
     * suits a batch job that wants throughput, not short pauses.
     */
    public List<String> jvmOptions() {
        long mb = heapBytes / MB;
        return List.of("-Xms" + mb + "m", "-Xmx" + mb + "m", "-XX:+AlwaysPreTouch", "-XX:+UseParallelGC");
    }

    /** One line for a person: the heap and what it is made of. */
    public String describe() {
        return String.format(Locale.ROOT, "heap %,d MB for one JVM (data %,d MB, a network's training step %,d MB)",
                heapBytes / MB, dataBytes / MB, networkBytes / MB);
    }
}
