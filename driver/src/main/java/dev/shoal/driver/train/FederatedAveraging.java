package dev.shoal.driver.train;

import dev.shoal.driver.plan.ClientSplit;
import dev.shoal.driver.plan.ClientWeighting;
import dev.shoal.driver.plan.FederatedConfig;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.Shuffle;
import dev.shoal.kernel.SnapshotCodec;
import dev.shoal.kernel.WorkerResult;
import dev.shoal.kernel.config.ConfigException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.apache.spark.HashPartitioner;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.PartitionPruningRDD;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;
import scala.runtime.AbstractFunction1;

/**
 * Federated averaging (FedAvg, McMahan et al. 2017): the training data is dealt into {@code sync.federated.clients}
 * clients, one Spark partition each (see {@link Clients} for the splits). Each "epoch" of the run is one round:
 * the driver samples ⌈C·K⌉ clients with the seed, each trains {@code local-epochs} passes over its own data in
 * minibatches of {@code batch-size} from the global model, as a Spark task (more clients than executors simply
 * queue), and the driver averages their models weighted by examples (or uniformly), optionally through a server
 * optimizer (learning rate and momentum: FedAvgM). Only the sampled clients' partitions are scheduled. A task
 * that fails (an executor lost) is run again by Spark from the same broadcast model and seeds, so the round's
 * result is the same and nothing is counted twice: results come back through the job, not through side effects.
 *
 * <p>With C = 1, E = 1, B = all of a client's data and equal client sizes this is parameter averaging every
 * step with one batch per worker per epoch (pinned by a test).
 */
final class FederatedAveraging implements Strategy {
    private static final Logger LOG = LoggerFactory.getLogger(FederatedAveraging.class);

    private final JavaSparkContext sc;
    private final TrainingPlan plan;
    private final FederatedConfig config;
    private final ClientTask task;
    private final Consumer<Metrics> sink;
    /** The clients' data, one partition each, built on the first round. */
    private Optional<JavaPairRDD<Integer, ExampleBlock>> clients = Optional.empty();
    /** Whether the clients' data is a copy this strategy made (and lets go of when done). */
    private boolean ownClients;
    /** Clients K: sync.federated.clients, or for the column split the column's number of values. */
    private int clientCount;

    FederatedAveraging(JavaSparkContext sc, TrainingPlan plan, RoundTask task, Consumer<Metrics> sink,
                       WorkerFault fault) {
        this.sc = sc;
        this.plan = plan;
        this.config = plan.sync().federated();
        this.task = new ClientTask(task, config.localEpochs(), config.batchSize(),
                config.weighting() == ClientWeighting.EXAMPLES, fault);
        this.sink = sink;
    }

    @Override
    public SyncState start() {
        return SyncState.Federated.NONE;
    }

    @Override
    public int epochs() {
        return config.rounds();
    }

    /** The sampled clients' passes over their data, for clients of average size. */
    @Override
    public long examplesPerEpoch(TrainingData train) {
        clients(train);
        return train.examples() * config.clientsPerRound(clientCount) * config.localEpochs() / clientCount;
    }

    @Override
    public void close() {
        if (ownClients) {
            clients.ifPresent(c -> c.unpersist(false));
        }
        clients = Optional.empty();
    }

    /** Round {@code round}: the sampled clients' local training from {@code model}, averaged. */
    @Override
    public EpochWork epoch(TrainingData train, TrainingData test, ModelSnapshot model, int round, SyncState state,
                           Consumer<EpochWork> midEpoch) {
        JavaPairRDD<Integer, ExampleBlock> dealt = clients(train);
        int[] sampled = Clients.sample(clientCount, config.clientsPerRound(clientCount), config.dropout(),
                plan.training().seed(), round);
        Trainer.describeJobs(sc, "round " + (round + 1) + " on " + sampled.length + " clients");
        long t0 = System.nanoTime();
        ModelSnapshot global = model.atEpoch(round);
        Broadcast<byte[]> snapshot = sc.broadcast(SnapshotCodec.encode(global));
        long t1 = System.nanoTime();
        WorkerResult result;
        try {
            ClientTask t = task;
            int r = round;
            result = new JavaRDD<>(PartitionPruningRDD.create(dealt.rdd(), new Sampled(sampled)), dealt.classTag())
                    .map(client -> t.train(client._1(), client._2(), snapshot.value(), r))
                    .collect() // in client order, so the summed loss does not depend on which task ended first
                    .stream().reduce(WorkerResult.empty(), WorkerResult::merge);
        } finally {
            snapshot.destroy();
        }
        long t2 = System.nanoTime();
        String where = "round " + (round + 1);
        Trainer.requireFiniteLoss(result.meanLoss(), where, plan);
        ModelSnapshot average = result.average(global.iteration() + result.maxSteps(), round);
        ModelSnapshot next = average;
        SyncState after = SyncState.Federated.NONE;
        if (!config.plainAverage()) {
            float[] velocity = velocity(global, average, (SyncState.Federated) state);
            next = serverStep(global, average, velocity);
            after = config.serverMomentum() > 0 ? new SyncState.Federated(velocity) : after;
        }
        Trainer.requireFinite(next, where);
        long t3 = System.nanoTime();
        double computeMs = result.maxComputeNanos() / 1e6;
        sink.accept(new Metrics.Round(round + 1, 1, 1, result.workers(), result.examples(), result.meanLoss(),
                (t1 - t0) / 1e6, computeMs, (t3 - t2) / 1e6, Math.max(0, (t2 - t1) / 1e6 - computeMs),
                (t3 - t0) / 1e6));
        LOG.debug("round {}: clients {}", round + 1, Arrays.toString(sampled));
        return new EpochWork(next, result.examples(), result.lossSum(), result.memory(), after);
    }

    /** FedAvgM's velocity after this round: beta × velocity + (average − global). */
    private float[] velocity(ModelSnapshot global, ModelSnapshot average, SyncState.Federated server) {
        float[] w = global.params();
        float[] avg = average.params();
        float[] before = server.velocity();
        float[] v = new float[w.length];
        float beta = (float) config.serverMomentum();
        for (int i = 0; i < w.length; i++) {
            v[i] = (before.length == 0 ? 0 : beta * before[i]) + (avg[i] - w[i]);
        }
        return v;
    }

    /** The server optimizer's step: global + rate × velocity; the updater state is the clients' average. */
    private ModelSnapshot serverStep(ModelSnapshot global, ModelSnapshot average, float[] v) {
        float[] w = global.params();
        float[] next = new float[w.length];
        float rate = (float) config.serverLearningRate();
        for (int i = 0; i < w.length; i++) {
            next[i] = w[i] + rate * v[i];
        }
        return new ModelSnapshot(next, average.updaterState(), average.iteration(), average.epoch());
    }

    /** The clients' data, dealt from {@code train} on the first call. */
    JavaPairRDD<Integer, ExampleBlock> clients(TrainingData train) {
        if (clients.isEmpty()) {
            clients = Optional.of(deal(train));
        }
        return clients.get();
    }

    /**
     * The clients' data, one persisted partition per client: the loaded blocks themselves when the split is IID
     * and there are as many as clients (the data source's placement is already a seeded random one), otherwise
     * the examples dealt by {@link Clients} and moved with one shuffle, each client's rows in data order.
     */
    private JavaPairRDD<Integer, ExampleBlock> deal(TrainingData train) {
        int partitions = train.blocks().getNumPartitions();
        List<int[]> keysByBlock = config.split() == ClientSplit.COLUMN
                ? train.blocks().map(ExampleBlock::clients).collect() : List.of();
        int k = config.split() == ClientSplit.COLUMN ? columnClients(keysByBlock) : config.clients();
        clientCount = k;
        if (train.examples() < k) {
            throw new ConfigException("sync.federated.clients", k, "more clients than the " + train.examples()
                    + " training examples");
        }
        if (config.split() == ClientSplit.IID && partitions == k) {
            ownClients = false;
            return train.blocks().mapPartitionsWithIndex((p, blocks) -> List.of(new Tuple2<>(p, blocks.next()))
                    .iterator(), true).mapToPair(t -> t);
        }
        List<int[]> labelsByBlock = train.blocks().map(ExampleBlock::labels).collect();
        int[] offsets = new int[partitions + 1];
        for (int p = 0; p < partitions; p++) {
            offsets[p + 1] = offsets[p] + labelsByBlock.get(p).length;
        }
        int[] labels = new int[offsets[partitions]];
        for (int p = 0; p < partitions; p++) {
            System.arraycopy(labelsByBlock.get(p), 0, labels, offsets[p], labelsByBlock.get(p).length);
        }
        long seed = plan.training().seed();
        int[] clientOf = switch (config.split()) {
            case COLUMN -> concat(keysByBlock, labels.length);
            case IID -> iid(labels.length, k, seed);
            case SHARDS -> Clients.shards(labels, k, config.shardsPerClient(), seed);
            case DIRICHLET -> Clients.dirichlet(labels, train.blocks().first().numClasses(), k, config.alpha(), seed);
        };
        Broadcast<int[]> assignment = sc.broadcast(clientOf);
        JavaPairRDD<Integer, ExampleBlock> dealt = train.blocks()
                .mapPartitionsWithIndex((p, blocks) -> pieces(blocks.next(), offsets[p], assignment.value()), true)
                .mapToPair(t -> t)
                .partitionBy(new HashPartitioner(k))
                .mapPartitionsToPair(FederatedAveraging::join, true)
                .setName("clients (" + config.split().name().toLowerCase() + ", " + k + ")")
                .persist(StorageLevel.MEMORY_ONLY());
        dealt.count();
        assignment.destroy();
        ownClients = true;
        return dealt;
    }

    /** The column split's clients: one per value of the column (the keys index the sorted values). */
    private int columnClients(List<int[]> keysByBlock) {
        if (keysByBlock.stream().anyMatch(keys -> keys.length == 0)) {
            throw new ConfigException("sync.federated.split", "column", "the training data names no clients: "
                    + "it needs a table (data.format parquet, csv, json or spark-table) with sync.federated.column");
        }
        return keysByBlock.stream().flatMapToInt(Arrays::stream).max().orElse(0) + 1;
    }

    private static int[] concat(List<int[]> arrays, int length) {
        int[] all = new int[length];
        int at = 0;
        for (int[] a : arrays) {
            System.arraycopy(a, 0, all, at, a.length);
            at += a.length;
        }
        return all;
    }

    /** IID without a matching placement: a seeded permutation cut into {@code k} equal parts. */
    private static int[] iid(int n, int k, long seed) {
        int[] order = Shuffle.permutation(n, seed);
        int[] client = new int[n];
        for (int i = 0; i < n; i++) {
            client[order[i]] = (int) ((long) i * k / n);
        }
        return client;
    }

    /** One block's rows, grouped by client; each row carries its index in the whole data set. */
    private static Iterator<Tuple2<Integer, Piece>> pieces(ExampleBlock block, int offset, int[] clientOf) {
        Map<Integer, List<Integer>> rows = new TreeMap<>();
        for (int r = 0; r < block.size(); r++) {
            rows.computeIfAbsent(clientOf[offset + r], c -> new ArrayList<>()).add(r);
        }
        List<Tuple2<Integer, Piece>> out = new ArrayList<>();
        int f = block.featureSize();
        rows.forEach((client, rs) -> {
            float[] x = new float[rs.size() * f];
            int[] y = new int[rs.size()];
            int[] index = new int[rs.size()];
            for (int i = 0; i < rs.size(); i++) {
                block.featureRows().copyRow(rs.get(i), x, i * f);
                y[i] = block.labels()[rs.get(i)];
                index[i] = offset + rs.get(i);
            }
            out.add(new Tuple2<>(client, new Piece(index, new ExampleBlock(x, y, f, block.numClasses()))));
        });
        return out.iterator();
    }

    /** A client's pieces joined into its block, rows in data order. */
    private static Iterator<Tuple2<Integer, ExampleBlock>> join(Iterator<Tuple2<Integer, Piece>> pieces) {
        List<Piece> all = new ArrayList<>();
        int client = -1;
        while (pieces.hasNext()) {
            Tuple2<Integer, Piece> p = pieces.next();
            client = p._1();
            all.add(p._2());
        }
        if (all.isEmpty()) {
            return Collections.emptyIterator();
        }
        List<int[]> rows = new ArrayList<>(); // {index in the data set, piece, row in the piece}
        for (int p = 0; p < all.size(); p++) {
            for (int i = 0; i < all.get(p).index().length; i++) {
                rows.add(new int[] {all.get(p).index()[i], p, i});
            }
        }
        rows.sort(Comparator.comparingInt(r -> r[0]));
        int f = all.get(0).rows().featureSize();
        float[] x = new float[rows.size() * f];
        int[] y = new int[rows.size()];
        for (int r = 0; r < rows.size(); r++) {
            ExampleBlock from = all.get(rows.get(r)[1]).rows();
            int i = rows.get(r)[2];
            from.featureRows().copyRow(i, x, r * f);
            y[r] = from.labels()[i];
        }
        return List.of(new Tuple2<>(client, new ExampleBlock(x, y, f, all.get(0).rows().numClasses()))).iterator();
    }

    /** Rows of one client from one block, with their indices in the whole data set (ascending). */
    private record Piece(int[] index, ExampleBlock rows) implements Serializable {
    }

    /** Keeps the partitions of the sampled clients (partition = client). */
    private static final class Sampled extends AbstractFunction1<Object, Object> implements Serializable {
        private final Set<Integer> clients;

        Sampled(int[] sampled) {
            this.clients = Arrays.stream(sampled).boxed().collect(Collectors.toUnmodifiableSet());
        }

        @Override
        public Object apply(Object partition) {
            return clients.contains((Integer) partition);
        }
    }

    /**
     * What a client does in a round, on an executor: {@code localEpochs} passes over its block in minibatches of
     * {@code batchSize} (0: the whole block), from the round's global model.
     */
    record ClientTask(RoundTask round, int localEpochs, int batchSize, boolean weighByExamples, WorkerFault fault)
            implements Serializable {

        WorkerResult train(int client, ExampleBlock block, byte[] snapshot, int roundIndex) {
            if (fault.strikes(client, roundIndex) && TaskContext.get().attemptNumber() == 0) {
                throw new IllegalStateException("injected fault: client " + client + " lost in round "
                        + (roundIndex + 1));
            }
            int b = batchSize == 0 ? block.size() : batchSize;
            WorkerResult result = round.trainClient(client, SnapshotCodec.decode(snapshot), roundIndex, b,
                    localEpochs, block);
            return result.weighted(weighByExamples ? block.size() : 1);
        }
    }
}
