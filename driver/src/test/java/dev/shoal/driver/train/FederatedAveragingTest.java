package dev.shoal.driver.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.data.BadRecords;
import dev.shoal.driver.data.TableDataSource;
import dev.shoal.driver.plan.ClientSplit;
import dev.shoal.driver.plan.ClientWeighting;
import dev.shoal.driver.plan.DataFormat;
import dev.shoal.driver.plan.FederatedConfig;
import dev.shoal.driver.plan.SyncConfig;
import dev.shoal.driver.plan.SyncStrategy;
import dev.shoal.driver.plan.TrainingConfig;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.testing.SparkFixture;
import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.Shuffle;
import dev.shoal.kernel.WorkerKernel;
import dev.shoal.kernel.config.ScheduleType;
import dev.shoal.kernel.config.UpdaterType;
import dev.shoal.kernel.testing.Rounding;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.apache.spark.api.java.JavaRDD;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;
import scala.Tuple2;

/**
 * Federated averaging against the invariants the math gives: one full-batch epoch on every client is averaging
 * every step; local epochs are plain DL4J training on the client's own data; the average is weighted by
 * examples; a resumed run and a run whose client task failed once are bit-identical to the uninterrupted one.
 */
class FederatedAveragingTest {
    /** Up to 3 attempts per task, as on a cluster: a lost client is run again. */
    @RegisterExtension
    static final SparkFixture SPARK = new SparkFixture("local[2,3]");

    private static TrainingPlan federated(UpdaterType updater, int clients, ClientSplit split, double fraction,
                                          int localEpochs, int batch, int rounds, ClientWeighting weighting,
                                          double serverRate, double momentum) {
        TrainingPlan base = AveragingInvariantsTest.plan(updater, ScheduleType.NONE, 2, 1, 16, rounds);
        FederatedConfig f = new FederatedConfig(clients, split, 2, 0.3, fraction, localEpochs, batch, rounds,
                weighting, serverRate, momentum, 0);
        return with(base, new SyncConfig(SyncStrategy.FEDERATED, 2, 1, 1, base.sync().sharing(), f), base.training());
    }

    private static TrainingPlan with(TrainingPlan p, SyncConfig sync, TrainingConfig training) {
        return new TrainingPlan(p.name(), p.data(), p.model(), p.optimizer(), training, sync, p.spark(), p.output(),
                p.checkpoint(), p.gate());
    }

    private static TrainingData data(List<ExampleBlock> blocks) {
        JavaRDD<ExampleBlock> rdd = SPARK.sc().parallelize(blocks, blocks.size()).cache();
        return new TrainingData(rdd, blocks.stream().mapToInt(ExampleBlock::size).sum(),
                blocks.stream().mapToInt(ExampleBlock::size).max().orElseThrow());
    }

    private static List<ExampleBlock> blocks(int count, int rows) {
        List<ExampleBlock> blocks = new ArrayList<>();
        for (int k = 0; k < count; k++) {
            blocks.add(AveragingInvariantsTest.block(rows, 10 + k));
        }
        return blocks;
    }

    private record Run(TrainingResult result, List<TrainingState> checkpoints, List<Metrics.Round> rounds) {
    }

    private static Run train(TrainingPlan plan, TrainingData data, Optional<TrainingState> from, WorkerFault fault) {
        String json = AveragingInvariantsTest.networkJson(plan);
        List<TrainingState> checkpoints = new ArrayList<>();
        List<Metrics.Round> rounds = new ArrayList<>();
        Trainer trainer = new Trainer(SPARK.sc(), plan, json, AveragingInvariantsTest.SHAPE,
                m -> {
                    if (m instanceof Metrics.Round r) {
                        rounds.add(r);
                    }
                }, fault);
        TrainingResult result = trainer.run(from.orElseGet(() -> trainer.fresh(new WorkerKernel(json).snapshot())),
                data, data, s -> checkpoints.add(dev.shoal.driver.run.CheckpointStoreAccess.roundTrip(s)));
        return new Run(result, checkpoints, rounds);
    }

    private static Run train(TrainingPlan plan, TrainingData data) {
        return train(plan, data, Optional.empty(), WorkerFault.NONE);
    }

    @Test
    void oneFullBatchEpochOnEveryClientIsAveragingEveryStepBitForBit() {
        TrainingData data = data(blocks(4, 50));
        try {
            for (ClientWeighting weighting : ClientWeighting.values()) {
                TrainingPlan fedAvg = federated(UpdaterType.SGD, 4, ClientSplit.IID, 1.0, 1, 0, 3, weighting, 1, 0);
                TrainingPlan averaging = with(fedAvg, new SyncConfig(SyncStrategy.AVERAGING, 4, 1, 1,
                        fedAvg.sync().sharing()), new TrainingConfig(3, 50, 42, fedAvg.training().earlyStopping(),
                        fedAvg.training().augment()));
                Run a = train(averaging, data);
                Run f = train(fedAvg, data);
                assertEquals(a.result().model(), f.result().model(), weighting + ": the same model, bit for bit");
                for (int e = 0; e < 3; e++) {
                    assertEquals(a.result().epochs().get(e).trainLoss(), f.result().epochs().get(e).trainLoss());
                    assertEquals(a.result().epochs().get(e).testAccuracy(),
                            f.result().epochs().get(e).testAccuracy());
                }
                assertEquals(List.of(4, 4, 4), f.rounds().stream().map(Metrics.Round::workers).toList());
            }
        } finally {
            data.blocks().unpersist();
        }
    }

    @Test
    void aClientsLocalEpochsArePlainDl4jTrainingOnItsOwnData() {
        // One client, two local epochs of batches of 16 over its 40 examples (3 batches each, the last short).
        List<ExampleBlock> blocks = blocks(1, 40);
        TrainingData data = data(blocks);
        try {
            TrainingPlan plan = federated(UpdaterType.ADAM, 1, ClientSplit.IID, 1.0, 2, 16, 1,
                    ClientWeighting.EXAMPLES, 1, 0);
            String json = AveragingInvariantsTest.networkJson(plan);
            ModelSnapshot start = new WorkerKernel(json).snapshot();
            Run run = train(plan, data);

            MultiLayerNetwork plain = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(json));
            plain.init();
            plain.setParams(Nd4j.createFromArray(start.params()));
            long order = Shuffle.orderSeed(42, 0, 0);
            int steps = 0;
            for (long pass : new long[] {order, Shuffle.orderSeed(order, 1, 0)}) {
                var batches = blocks.get(0).batches(pass, 16, 0, Integer.MAX_VALUE);
                while (batches.hasNext()) {
                    plain.fit(batches.next().toDataSet());
                    steps++;
                }
            }
            assertEquals(6, steps);
            assertEquals(6, run.result().model().iteration(), "the model counts the client's steps");
            Rounding.assertSameUpdate("parameters after two local epochs", start.params(),
                    plain.params().toFloatVector(), run.result().model().params());
        } finally {
            data.blocks().unpersist();
        }
    }

    @Test
    void theAverageWeighsClientsByTheirExamplesOrAlike() {
        // Clients of 20 and 60 examples, one full-batch SGD step each: the new model is the weighted mean.
        List<ExampleBlock> blocks = List.of(AveragingInvariantsTest.block(20, 3), AveragingInvariantsTest.block(60, 4));
        TrainingData data = data(blocks);
        try {
            for (ClientWeighting weighting : ClientWeighting.values()) {
                TrainingPlan plan = federated(UpdaterType.SGD, 2, ClientSplit.IID, 1.0, 1, 0, 1, weighting, 1, 0);
                String json = AveragingInvariantsTest.networkJson(plan);
                ModelSnapshot start = new WorkerKernel(json).snapshot();
                float[] expected = new float[start.params().length];
                double[] sum = new double[expected.length];
                double total = 0;
                for (int k = 0; k < 2; k++) {
                    MultiLayerNetwork plain = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(json));
                    plain.init();
                    plain.setParams(Nd4j.createFromArray(start.params()));
                    ExampleBlock b = blocks.get(k);
                    plain.fit(b.batches(Shuffle.orderSeed(42, 0, k), b.size(), 0, 1).next().toDataSet());
                    float[] p = plain.params().toFloatVector();
                    double w = weighting == ClientWeighting.EXAMPLES ? b.size() : 1;
                    for (int i = 0; i < p.length; i++) {
                        sum[i] += w * p[i];
                    }
                    total += w;
                }
                for (int i = 0; i < expected.length; i++) {
                    expected[i] = (float) (sum[i] / total);
                }
                Rounding.assertSameUpdate(weighting + " average", start.params(), expected,
                        train(plan, data).result().model().params());
            }
        } finally {
            data.blocks().unpersist();
        }
    }

    @Test
    void clientsAreDealtBySplitEveryExampleToExactlyOneAndOnlySampledClientsTrain() {
        List<ExampleBlock> blocks = blocks(3, 70);
        TrainingData data = data(blocks);
        try {
            TrainingPlan plan = federated(UpdaterType.SGD, 6, ClientSplit.SHARDS, 0.5, 1, 8, 2,
                    ClientWeighting.EXAMPLES, 1, 0);
            FederatedAveraging strategy = new FederatedAveraging(SPARK.sc(), plan, null, m -> { }, WorkerFault.NONE);
            List<Tuple2<Integer, ExampleBlock>> clients = strategy.clients(data).collect().stream()
                    .sorted(Comparator.comparing(Tuple2::_1)).toList();
            strategy.close();

            int[] labels = blocks.stream().flatMapToInt(b -> Arrays.stream(b.labels())).toArray();
            int[] clientOf = Clients.shards(labels, 6, 2, 42);
            assertEquals(List.of(0, 1, 2, 3, 4, 5), clients.stream().map(Tuple2::_1).toList());
            int next = 0;
            for (Tuple2<Integer, ExampleBlock> client : clients) {
                // The client's rows are the examples dealt to it, in data order.
                List<Integer> mine = new ArrayList<>();
                for (int i = 0; i < clientOf.length; i++) {
                    if (clientOf[i] == client._1()) {
                        mine.add(i);
                    }
                }
                assertEquals(mine.size(), client._2().size(), "client " + client._1());
                for (int r = 0; r < mine.size(); r++) {
                    int i = mine.get(r);
                    ExampleBlock source = blocks.get(i / 70);
                    assertEquals(source.labels()[i % 70], client._2().labels()[r]);
                    assertArrayEquals(Arrays.copyOfRange(source.features(), (i % 70) * 10, (i % 70 + 1) * 10),
                            Arrays.copyOfRange(client._2().features(), r * 10, (r + 1) * 10));
                }
                next += mine.size();
            }
            assertEquals(210, next, "every example once");

            Run run = train(plan, data);
            for (Metrics.Round r : run.rounds()) {
                assertEquals(3, r.workers(), "C = 0.5 of 6 clients");
            }
            int[] first = Clients.sample(6, 3, 0, 42, 0);
            long dealtToFirst = Arrays.stream(clientOf).filter(k -> Arrays.stream(first).anyMatch(s -> s == k)).count();
            assertEquals(dealtToFirst, run.rounds().get(0).examples(), "round 1 trains its sampled clients' examples");
        } finally {
            data.blocks().unpersist();
        }
    }

    @Test
    void aResumedRunWithServerMomentumEqualsTheUninterruptedOneBitForBit() {
        TrainingData data = data(blocks(2, 100));
        try {
            TrainingPlan plan = federated(UpdaterType.ADAM, 8, ClientSplit.DIRICHLET, 0.5, 2, 8, 4,
                    ClientWeighting.EXAMPLES, 0.7, 0.9);
            Run whole = train(plan, data);
            assertEquals(4, whole.checkpoints().size());
            TrainingState afterTwo = whole.checkpoints().get(1);
            assertEquals(2, afterTwo.epoch());
            assertTrue(((SyncState.Federated) afterTwo.sync()).velocity().length > 0, "the server's momentum is kept");

            Run resumed = train(plan, data, Optional.of(afterTwo), WorkerFault.NONE);
            assertEquals(whole.result().model(), resumed.result().model());
            for (int e = 0; e < 4; e++) {
                assertEquals(whole.result().epochs().get(e).trainLoss(), resumed.result().epochs().get(e).trainLoss());
                assertEquals(whole.result().epochs().get(e).testLoss(), resumed.result().epochs().get(e).testLoss());
            }

            // The momentum matters: without it the run goes elsewhere, so the equality above is not by accident.
            TrainingState withoutVelocity = new TrainingState(2, afterTwo.model(), SyncState.Federated.NONE,
                    afterTwo.history(), afterTwo.best(), afterTwo.bestEpoch());
            assertNotEquals(whole.result().model(),
                    train(plan, data, Optional.of(withoutVelocity), WorkerFault.NONE).result().model());
        } finally {
            data.blocks().unpersist();
        }
    }

    @Test
    void aClientLostMidRoundIsRunAgainAndCountedOnce() {
        TrainingData data = data(blocks(4, 60));
        try {
            TrainingPlan plan = federated(UpdaterType.SGD, 4, ClientSplit.IID, 0.5, 2, 10, 3,
                    ClientWeighting.EXAMPLES, 1, 0);
            Run clean = train(plan, data);
            int victim = Clients.sample(4, 2, 0, 42, 1)[1];
            Run faulty = train(plan, data, Optional.empty(), new WorkerFault(victim, 1));

            assertEquals(clean.result().model(), faulty.result().model());
            assertEquals(clean.rounds().stream().map(Metrics.Round::examples).toList(),
                    faulty.rounds().stream().map(Metrics.Round::examples).toList(), "no example counted twice");
            assertEquals(clean.result().epochs().get(1).trainLoss(), faulty.result().epochs().get(1).trainLoss());
        } finally {
            data.blocks().unpersist();
        }
    }

    @TempDir
    Path dir;

    @Test
    void aTableColumnNamesTheClientsAndEachClientHoldsExactlyItsRows() throws IOException {
        // 150 rows of 10 features (f0 = the row number) whose user is one of 7 names, u0 to u6, by row mod 7.
        StringBuilder csv = new StringBuilder("f0,f1,f2,f3,f4,f5,f6,f7,f8,f9,label,user\n");
        for (int i = 0; i < 150; i++) {
            csv.append(i);
            for (int f = 1; f < 10; f++) {
                csv.append(',').append((i * f) % 13 - 6);
            }
            csv.append(',').append(i % 4).append(",u").append(i % 7).append('\n');
        }
        Path table = Files.writeString(dir.resolve("clients.csv"), csv);
        List<String> features = List.of("f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9");
        TableDataSource source = TableDataSource.of(new TableDataSource.Spec("data.train", table.toString(),
                DataFormat.CSV, "label", features, 4, 1, List.of(), 0, BadRecords.FAIL, "user")).open(SPARK.sc());
        assertEquals(List.of("u0", "u1", "u2", "u3", "u4", "u5", "u6"), source.layout().clients());
        JavaRDD<ExampleBlock> blocks = source.load(SPARK.sc(), 2, 42);
        TrainingData data = new TrainingData(blocks, 150, blocks.map(ExampleBlock::size).reduce(Math::max));
        try {
            for (ExampleBlock b : blocks.collect()) {
                for (int r = 0; r < b.size(); r++) {
                    assertEquals((int) b.feature(r * 10) % 7, b.clients()[r], "row " + b.feature(r * 10));
                }
            }
            TrainingPlan base = federated(UpdaterType.SGD, 100, ClientSplit.IID, 0.5, 1, 8, 2,
                    ClientWeighting.EXAMPLES, 1, 0);
            TrainingPlan plan = with(base, new SyncConfig(SyncStrategy.FEDERATED, 2, 1, 1, base.sync().sharing(),
                    new FederatedConfig(100, ClientSplit.COLUMN, 2, 0.3, 0.5, 1, 8, 2, ClientWeighting.EXAMPLES, 1, 0,
                            0, "user")), base.training());
            FederatedAveraging strategy = new FederatedAveraging(SPARK.sc(), plan, null, m -> { }, WorkerFault.NONE);
            List<Tuple2<Integer, ExampleBlock>> clients = strategy.clients(data).collect();
            strategy.close();
            assertEquals(7, clients.size(), "one client per user, whatever sync.federated.clients says");
            int rows = 0;
            for (Tuple2<Integer, ExampleBlock> client : clients) {
                ExampleBlock b = client._2();
                for (int r = 0; r < b.size(); r++) {
                    assertEquals(client._1(), (int) b.feature(r * 10) % 7, "user u" + client._1() + "'s rows only");
                }
                rows += b.size();
            }
            assertEquals(150, rows, "every row once");

            Run run = train(plan, data);
            assertEquals(List.of(4, 4), run.rounds().stream().map(Metrics.Round::workers).toList(),
                    "C = 0.5 of the table's 7 clients");
        } finally {
            blocks.unpersist();
        }
    }
}
