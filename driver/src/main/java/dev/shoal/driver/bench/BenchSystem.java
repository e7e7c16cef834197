package dev.shoal.driver.bench;

import java.util.List;

/** The systems {@code shoal bench} trains the same model with, on the same data, batch and seed. */
public enum BenchSystem {
    DL4J("dl4j", "plain single-process DL4J: MultiLayerNetwork.fit(iterator), the one-JVM ceiling"),
    SHOAL_AVERAGING("shoal-averaging", "Shoal parameter averaging on Spark local[workers], as configured by "
            + "default (sync.average-on: auto, so the workers average when there is a core for each)",
            "sync.strategy=averaging"),
    SHOAL_AVERAGING_DRIVER("shoal-averaging-driver", "Shoal parameter averaging on Spark local[workers], the "
            + "driver averaging each round (sync.average-on: driver)",
            "sync.strategy=averaging", "sync.average-on=driver"),
    SHOAL_AVERAGING_CLUSTER("shoal-averaging-cluster", "Shoal parameter averaging on a standalone cluster of "
            + "this machine (scripts/local-cluster: executors in JVMs of their own), as configured by default",
            "sync.strategy=averaging", "spark.master=" + Cluster.MASTER),
    SHOAL_AVERAGING_DRIVER_CLUSTER("shoal-averaging-driver-cluster", "Shoal parameter averaging on the same "
            + "standalone cluster, the driver averaging each round",
            "sync.strategy=averaging", "sync.average-on=driver", "spark.master=" + Cluster.MASTER),
    SHOAL_SHARING_THRESHOLD("shoal-sharing-threshold", "Shoal gradient sharing, threshold-encoded",
            "sync.strategy=gradient-sharing", "sync.sharing.encoding=threshold"),
    SHOAL_SHARING_DENSE("shoal-sharing-dense", "Shoal gradient sharing, dense ring all-reduce",
            "sync.strategy=gradient-sharing", "sync.sharing.encoding=dense"),
    SHOAL_SHARING_THRESHOLD_CLUSTER("shoal-sharing-threshold-cluster", "Shoal gradient sharing, threshold-encoded, "
            + "on the same standalone cluster",
            "sync.strategy=gradient-sharing", "sync.sharing.encoding=threshold", "spark.master=" + Cluster.MASTER),
    DL4J_SPARK_AVERAGING("dl4j-spark-averaging",
            "dl4j-spark ParameterAveragingTrainingMaster on Spark local[workers], same averaging frequency"),
    DL4J_SPARK_SHARED("dl4j-spark-shared", "dl4j-spark SharedTrainingMaster (gradient sharing over Aeron)"),
    PYTORCH("pytorch", "PyTorch CPU, one process with all the workers' threads"),
    PYTORCH_FLUSH("pytorch-flush", "the same, with torch.set_flush_denormal(True): subnormal floats flushed to "
            + "zero by the CPU, as Shoal's kernel.flush-subnormals does in memory"),
    PYTORCH_DDP("pytorch-ddp", "PyTorch DistributedDataParallel over gloo, one process per worker");

    private final String id;
    private final String description;
    private final List<String> overrides;

    BenchSystem(String id, String description, String... overrides) {
        this.id = id;
        this.description = description;
        this.overrides = List.of(overrides);
    }

    /** Job-file keys this system sets on top of the bench's plan. */
    public List<String> overrides() {
        return overrides;
    }

    public String id() {
        return id;
    }

    public String description() {
        return description;
    }

    /**
     * The minibatch each worker takes per step. Systems whose workers take every step together (gradient sharing,
     * DistributedDataParallel) split the plan's batch across the workers, so that each step of theirs, like a
     * single-process step, averages the gradient over {@code batch} examples and an epoch has as many steps: the
     * same training, distributed. The others give each worker the whole batch, as their users do (a worker
     * that averages parameters every few steps trains on its own in between).
     */
    public int batchPerWorker(int batch, int workers) {
        boolean synchronous = this == SHOAL_SHARING_THRESHOLD || this == SHOAL_SHARING_DENSE
                || this == SHOAL_SHARING_THRESHOLD_CLUSTER || this == DL4J_SPARK_SHARED || this == PYTORCH_DDP;
        return synchronous ? Math.max(1, batch / workers) : batch;
    }

    /** One of Shoal's own strategies. */
    public boolean isShoal() {
        return this == SHOAL_AVERAGING || this == SHOAL_AVERAGING_DRIVER || onCluster()
                || this == SHOAL_SHARING_THRESHOLD || this == SHOAL_SHARING_DENSE;
    }

    /** Trained on the bench's standalone cluster, which the bench starts before and stops after. */
    public boolean onCluster() {
        return this == SHOAL_AVERAGING_CLUSTER || this == SHOAL_AVERAGING_DRIVER_CLUSTER
                || this == SHOAL_SHARING_THRESHOLD_CLUSTER;
    }

    /** The bench's own standalone cluster: a port and a folder of its own, beside any cluster a user runs. */
    public static final class Cluster {
        public static final int PORT = 7177;
        public static final String MASTER = "spark://127.0.0.1:" + PORT;
        /** Under the Shoal installation. */
        public static final String DIR = "target/bench-cluster";

        private Cluster() {
        }
    }

    /** Trained by scripts/bench-pytorch.py rather than in a JVM. */
    public boolean isPyTorch() {
        return this == PYTORCH || this == PYTORCH_FLUSH || this == PYTORCH_DDP;
    }

    @Override
    public String toString() {
        return id;
    }
}
