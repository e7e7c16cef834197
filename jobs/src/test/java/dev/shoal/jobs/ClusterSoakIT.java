package dev.shoal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.driver.testing.IdxFixtures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 20-epoch soak on a real standalone cluster, driven by {@code scripts/shoal} exactly as a user runs it: the
 * driver's and the executors' resident memory stay flat (within 5%) from epoch 2 on, and the scratch folders
 * (the executors' work and local folders, the driver's spark.local.dir) do not grow.
 */
class ClusterSoakIT {
    private static final LocalCluster CLUSTER = new LocalCluster("soak-cluster");
    private static final int EPOCHS = 20;

    @TempDir
    static Path dir;

    @BeforeAll
    static void startCluster() throws Exception {
        CLUSTER.start();
    }

    @AfterAll
    static void stopCluster() throws Exception {
        CLUSTER.stop();
    }

    /**
     * The files below {@code folder} and their bytes, executor logs (stdout, stderr) left out. Folders are not
     * counted: Spark's block manager makes its (at most 64) hash-bucket folders as it first needs each one.
     */
    private static long[] scratch(Path folder) {
        long files = 0;
        long bytes = 0;
        try (Stream<Path> paths = Files.walk(folder)) {
            for (Path p : (Iterable<Path>) paths::iterator) {
                if (Files.isRegularFile(p) && !p.getFileName().toString().matches("stdout|stderr")) {
                    files++;
                    bytes += Files.size(p);
                }
            }
        } catch (IOException | UncheckedIOException e) {
            return new long[] {-1, -1}; // a file deleted while we walked: no reading this time
        }
        return new long[] {files, bytes};
    }

    private static List<JsonNode> epochLines(Path metrics) throws IOException {
        if (!Files.exists(metrics)) {
            return List.of();
        }
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> epochs = new ArrayList<>();
        for (String line : Files.readAllLines(metrics)) {
            if (line.endsWith("}")) {
                JsonNode node = json.readTree(line);
                if ("epoch".equals(node.get("type").asText())) {
                    epochs.add(node);
                }
            }
        }
        return epochs;
    }

    private static void assertFlat(String what, Map<Integer, Long> byEpoch, double tolerance) {
        long base = byEpoch.get(2);
        for (var e : byEpoch.entrySet()) {
            if (e.getKey() >= 2) {
                assertTrue(Math.abs(e.getValue() - base) <= tolerance * base,
                        what + " at epoch " + e.getKey() + " is " + e.getValue() + ", at epoch 2 " + base + ": "
                                + byEpoch);
            }
        }
    }

    @Test
    void twentyEpochsOnAClusterKeepMemoryAndScratchSpaceFlat() throws Exception {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 12_000, 2_000, 7);
        Path job = Files.writeString(dir.resolve("soak.yaml"), "name: soak\n" + files.dataSection() + "\n");
        Path driverLocal = Files.createDirectories(dir.resolve("driver-local"));
        ProcessBuilder builder = new ProcessBuilder(LocalCluster.HOME.resolve("scripts/shoal").toString(), "train",
                job.toString(), "--master", CLUSTER.master(), "--set", "training.epochs=" + EPOCHS,
                "--set", "training.batch-size=32", "--set", "sync.average-every=5", "--set", "model.type=mlp", "--set", "model.hidden=[128]",
                "--set", "output.dir=" + dir.resolve("runs"), "--set", "output.run-id=soak")
                .redirectErrorStream(true).redirectOutput(dir.resolve("console.txt").toFile());
        builder.environment().put("SHOAL_JAVA_OPTS", "-Xms1g -Xmx1g -XX:+AlwaysPreTouch -Dspark.driver.host=127.0.0.1"
                + " -Dspark.executor.memory=2g -Dspark.local.dir=" + driverLocal);
        Process shoal = builder.start();

        // At every epoch end: the scratch space in use.
        Path metrics = dir.resolve("runs/soak/metrics.jsonl");
        Map<String, Path> folders = Map.of("executor work folders", CLUSTER.folder().resolve("work"),
                "executor local folders", CLUSTER.folder().resolve("local"), "driver spark.local.dir", driverLocal);
        Map<String, Map<Integer, List<Long>>> scratch = new TreeMap<>();
        int measured = 0;
        while (!shoal.waitFor(200, TimeUnit.MILLISECONDS)) {
            int epochs = epochLines(metrics).size();
            if (epochs > measured) {
                measured = epochs;
                folders.forEach((name, folder) -> {
                    long[] reading = scratch(folder);
                    scratch.computeIfAbsent(name, k -> new TreeMap<>()).put(epochs, List.of(reading[0], reading[1]));
                });
            }
        }
        String console = Files.readString(dir.resolve("console.txt"));
        assertEquals(0, shoal.exitValue(), console);
        System.out.println(console.lines().filter(l -> l.contains(" done ") || l.startsWith("done"))
                .reduce((a, b) -> a + "\n" + b).orElse(""));

        List<JsonNode> epochs = epochLines(metrics);
        assertEquals(EPOCHS, epochs.size());
        Map<Integer, Long> executorRss = new TreeMap<>();
        Map<Integer, Long> driverRss = new TreeMap<>();
        for (JsonNode e : epochs) {
            executorRss.put(e.get("epoch").asInt(), e.get("executorMemory").get("rssMb").asLong());
            driverRss.put(e.get("epoch").asInt(), e.get("driverMemory").get("rssMb").asLong());
        }
        System.out.println("executor RSS (MiB) by epoch: " + executorRss);
        System.out.println("driver RSS (MiB) by epoch: " + driverRss);
        scratch.forEach((name, byEpoch) -> System.out.println(name + " by epoch, [files, bytes]: " + byEpoch));
        assertFlat("executor RSS", executorRss, 0.05);
        assertFlat("driver RSS", driverRss, 0.05);
        scratch.forEach((name, byEpoch) -> {
            List<List<Long>> readings = byEpoch.entrySet().stream().filter(e -> e.getKey() >= 2)
                    .map(Map.Entry::getValue).filter(r -> r.get(0) >= 0).toList();
            List<Long> first = readings.get(0);
            assertTrue(readings.stream().allMatch(r -> r.get(0) <= first.get(0) && r.get(1) <= first.get(1)),
                    name + " grew after epoch 2: " + byEpoch);
        });
    }
}
