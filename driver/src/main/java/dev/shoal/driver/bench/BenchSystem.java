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
     * The minibatch each worker takes per step: the plan's batch split across the workers by every system that has
     * workers, so that an epoch takes as many sequential steps of as many examples as a single process takes
     * (whose steps are the accuracy a run reaches in a number of epochs). Workers that step together (gradient
     * sharing, DistributedDataParallel) average each gradient over the whole batch, as one process does; workers
     * that average parameters every few steps train on their own in between, each on its part of the batch. With
     * the whole batch each, two workers averaging took half a process's steps an epoch: LeNet 1.5 points below
     * plain DL4J after 3 epochs (88.55% against 90.06%), within 0.25 with the batch split (89.84%).
     */
    public int batchPerWorker(int batch, int workers) {
        boolean oneProcess = this == DL4J || this == PYTORCH || this == PYTORCH_FLUSH;
        return oneProcess ? batch : Math.max(1, batch / workers);
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
