package dev.shoal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.registry.Registry;
import dev.shoal.driver.run.CheckpointStore;
import dev.shoal.driver.run.Preflight;
import dev.shoal.driver.run.TrainingRun;
import dev.shoal.driver.testing.IdxFixtures;
import dev.shoal.driver.testing.RegistryRace;
import dev.shoal.driver.testing.SparkFixture;
import dev.shoal.driver.train.Metrics;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.hdfs.DistributedFileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.protocol.HdfsConstants;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints and finished runs on a real HDFS (Hadoop's in-process MiniDFSCluster: a namenode and a datanode
 * talking over loopback), and a disk that fills up mid-run (an HDFS space quota: the namenode refuses the next
 * block, as a full disk would).
 */
class HdfsTest {
    @RegisterExtension
    static final SparkFixture SPARK = new SparkFixture();

    @TempDir
    static Path dir;
    private static MiniDFSCluster hdfs;
    private static String root;
    private static IdxFixtures.Files4 files;

    @BeforeAll
    static void startHdfs() throws IOException {
        Configuration conf = new Configuration();
        hdfs = new MiniDFSCluster.Builder(conf, dir.resolve("hdfs").toFile()).numDataNodes(1).build();
        hdfs.waitActive();
        root = "hdfs://127.0.0.1:" + hdfs.getNameNodePort();
        files = IdxFixtures.writeSynthetic(dir, 1200, 300, 17);
    }

    @AfterAll
    static void stopHdfs() {
        if (hdfs != null) {
            hdfs.shutdown();
        }
    }

    private static TrainingPlan plan(String runId, String... settings) throws IOException {
        Path job = Files.writeString(dir.resolve(runId + ".yaml"), "name: hdfs\n" + files.dataSection() + "\n");
        List<String> all = new ArrayList<>(List.of("model.type=mlp", "model.hidden=[32]", "training.epochs=3",
                "training.batch-size=32", "sync.workers=2", "output.dir=" + dir.resolve("runs"),
                "output.run-id=" + runId));
        all.addAll(List.of(settings));
        return TrainCommand.plan(job, all);
    }

    private static TrainingRun.Outcome execute(TrainingPlan plan, Consumer<Metrics> observer) {
        return TrainingRun.execute(plan, Preflight.check(plan), PlanBinder.toYaml(plan), Optional.of(SPARK.sc()),
                new PrintStream(new ByteArrayOutputStream()), observer);
    }

    /** The names in an HDFS folder, sorted. */
    private static List<String> list(String path) throws IOException {
        return Arrays.stream(hdfs.getFileSystem().listStatus(new org.apache.hadoop.fs.Path(path)))
                .map(FileStatus::getPath).map(org.apache.hadoop.fs.Path::getName).sorted().toList();
    }

    private static byte[] read(String path) throws IOException {
        try (InputStream in = hdfs.getFileSystem().open(new org.apache.hadoop.fs.Path(path))) {
            return in.readAllBytes();
        }
    }

    @Test
    void checkpointsAndTheFinishedRunAreWrittenToHdfs() throws IOException {
        TrainingPlan plan = plan("to-hdfs", "checkpoint.dir=" + root + "/shoal/checkpoints", "checkpoint.keep=2",
                "output.copy-to=" + root + "/shoal/models");
        TrainingRun.Outcome outcome = execute(plan, m -> { });

        assertEquals(List.of("checkpoint-e0002-r00000.shoal", "checkpoint-e0003-r00000.shoal"),
                list("/shoal/checkpoints/to-hdfs"), "the newest two checkpoints, no temporary files");
        assertEquals(List.of("metrics.jsonl", "model.zip", "plan.yaml", "provenance.json", "tensorboard"),
                list("/shoal/models/to-hdfs"));
        Path local = outcome.directory();
        List<String> copied = new ArrayList<>(List.of("model.zip", "metrics.jsonl", "plan.yaml"));
        try (Stream<Path> events = Files.walk(local.resolve("tensorboard"))) {
            events.filter(Files::isRegularFile).forEach(f -> copied.add(local.relativize(f).toString()));
        }
        assertEquals(3 + 3, copied.size(), "the TensorBoard files of the run, train/ and test/ too");
        for (String name : copied) {
            assertArrayEquals(Files.readAllBytes(local.resolve(name)), read("/shoal/models/to-hdfs/" + name), name);
        }
        assertEquals(Files.readString(local.resolve("provenance.json")),
                new String(read("/shoal/models/to-hdfs/provenance.json"), StandardCharsets.UTF_8));

        // The last checkpoint on HDFS holds the model that was saved.
        CheckpointStore.Saved last = new CheckpointStore(root + "/shoal/checkpoints/to-hdfs", 2)
                .newest(w -> { throw new AssertionError(w); }).orElseThrow();
        assertEquals(3, last.state().epoch());
        MultiLayerNetwork saved = ModelSerializer.restoreMultiLayerNetwork(local.resolve("model.zip").toFile());
        assertArrayEquals(last.state().model().params(), saved.params().toFloatVector());
    }

    @Test
    void aDiskThatFillsUpStopsTheRunKeepsTheLastGoodCheckpointAndTheRunResumesFromIt() throws IOException {
        String checkpoints = "/shoal/full/disk-full";
        TrainingPlan plan = plan("disk-full", "checkpoint.dir=" + root + "/shoal/full");
        DistributedFileSystem fs = hdfs.getFileSystem();
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> execute(plan, m -> {
            if (m instanceof Metrics.Epoch epoch && epoch.epoch() == 2) {
                // Epoch 1's checkpoint is written; from now on the folder has no room for another block.
                org.apache.hadoop.fs.Path folder = new org.apache.hadoop.fs.Path(checkpoints);
                try {
                    fs.setQuota(folder, HdfsConstants.QUOTA_DONT_SET, fs.getContentSummary(folder).getSpaceConsumed());
                } catch (IOException ex) {
                    throw new UncheckedIOException(ex);
                }
            }
        }));

        String message = e.getMessage();
        assertTrue(message.contains("cannot write checkpoint " + root + checkpoints + "/checkpoint-e0002-r00000.shoal"),
                message);
        assertTrue(message.toLowerCase(Locale.ROOT).contains("quota"), message);
        assertFalse(message.contains("\n"), "one line, not the namenode's stack trace: " + message);
        assertEquals(List.of("checkpoint-e0001-r00000.shoal"), list(checkpoints), "nothing half-written is left");
        Path run = dir.resolve("runs/disk-full");
        assertFalse(Files.exists(run.resolve("model.zip")));
        assertFalse(Files.exists(run.resolve("provenance.json")), "the failed run does not claim success");

        // Space is freed; the run goes on from epoch 1's checkpoint and finishes.
        fs.setQuota(new org.apache.hadoop.fs.Path(checkpoints), HdfsConstants.QUOTA_DONT_SET,
                HdfsConstants.QUOTA_RESET);
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        TrainingRun.Outcome resumed = TrainingRun.resume(run, plan, Preflight.check(plan), Optional.of(SPARK.sc()),
                new PrintStream(console, true, StandardCharsets.UTF_8));
        assertTrue(console.toString(StandardCharsets.UTF_8).contains("checkpoint-e0001-r00000.shoal (1 epoch(s)"),
                console.toString(StandardCharsets.UTF_8));
        assertEquals(3, resumed.result().epochs().size());
        assertTrue(Files.exists(run.resolve("provenance.json")));
        assertEquals(List.of("checkpoint-e0001-r00000.shoal", "checkpoint-e0002-r00000.shoal",
                "checkpoint-e0003-r00000.shoal"), list(checkpoints));
    }

    @Test
    void promotionsOnHdfsAreACompareAndSet() throws Exception {
        Registry registry = new Registry(root + "/registry");
        List<Integer> winners = RegistryRace.run(registry, "race", 6);

        assertEquals(1, winners.size(), "winners: " + winners);
        assertEquals(List.of(1, 2, 3, 4, 5, 6), registry.versions("race"), "every version registered whole");
        assertEquals(winners.get(0), registry.champion("race").orElseThrow().version());
        assertEquals(List.of("00000001.json"), list("/registry/race/aliases/champion"), "no temporary files left");
    }
}
