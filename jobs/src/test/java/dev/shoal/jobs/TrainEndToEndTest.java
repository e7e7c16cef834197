package dev.shoal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.driver.testing.IdxFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code shoal train} from a job file to a complete run directory, on local[2] with generated Fashion-MNIST-shaped data. */
class TrainEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void trainsWellAboveChanceAndWritesTheRunDirectory() throws IOException {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 3000, 500, 11);
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, String.join("\n",
                "name: e2e",
                files.dataSection(),
                "model: {type: mlp, hidden: [64]}",
                "training: {epochs: 3, batch-size: 32}",
                "sync: {workers: 2, average-every: 4}",
                "output: {dir: " + dir.resolve("runs") + ", run-id: r1}",
                ""));

        assertEquals(0, Shoal.run("train", job.toString()));

        Path run = dir.resolve("runs/r1");
        assertEquals(List.of("checkpoints", "metrics.jsonl", "model.zip", "plan.yaml", "provenance.json"),
                Files.list(run).map(p -> p.getFileName().toString()).sorted().toList());
        assertEquals(List.of("checkpoint-e0001-r00000.shoal", "checkpoint-e0002-r00000.shoal",
                        "checkpoint-e0003-r00000.shoal"),
                Files.list(run.resolve("checkpoints")).map(p -> p.getFileName().toString()).sorted().toList(),
                "one per epoch, the newest 3 kept");

        JsonNode provenance = JSON.readTree(run.resolve("provenance.json").toFile());
        assertEquals("completed", provenance.get("status").asText());
        double accuracy = provenance.get("result").get("testAccuracy").asDouble();
        assertTrue(accuracy > 0.7, "accuracy " + accuracy + " should be far above the 0.1 of chance");
        assertEquals(4, provenance.get("data").size());

        List<JsonNode> lines = Files.readAllLines(run.resolve("metrics.jsonl")).stream().map(l -> {
            try {
                return JSON.readTree(l);
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }).toList();
        // 1500 examples per worker, batch 32: 47 batches, 4 per round: 12 rounds per epoch.
        assertEquals(3 * 12, lines.stream().filter(l -> l.get("type").asText().equals("round")).count());
        List<JsonNode> epochs = lines.stream().filter(l -> l.get("type").asText().equals("epoch")).toList();
        assertEquals(3, epochs.size());
        for (JsonNode e : epochs) {
            assertEquals(3000, e.get("examples").asLong());
            // Executors (here: this JVM) report their memory; the resident set includes the committed heap.
            JsonNode memory = e.get("executorMemory");
            assertTrue(memory.get("rssMb").asLong() >= memory.get("heapUsedMb").asLong(), memory.toString());
            assertTrue(memory.get("heapCommittedMb").asLong() > 0, memory.toString());
        }
        assertTrue(epochs.get(2).get("trainLoss").asDouble() < epochs.get(0).get("trainLoss").asDouble());
        assertEquals(accuracy, epochs.get(2).get("testAccuracy").asDouble());

        var plan = PlanBinder.bind(PlanBinder.parse(Files.readString(run.resolve("plan.yaml")), "plan.yaml"),
                dev.shoal.driver.plan.TrainingPlan.class);
        assertEquals(3, plan.training().epochs());
        assertEquals(4, plan.sync().averageEvery());
        MultiLayerNetwork model = ModelSerializer.restoreMultiLayerNetwork(run.resolve("model.zip").toFile(), true);
        assertEquals(784, model.layerInputSize(0));
        assertEquals(3 * 47, model.getIterationCount(), "one iteration per local step");
    }

    /** A CSV of synthetic images: 784 pixel columns (0-255) and the label, with a header line. */
    private Path csv(String name, int n, long seed) throws IOException {
        IdxFixtures.Examples examples = IdxFixtures.synthetic(n, seed);
        StringBuilder text = new StringBuilder();
        for (int p = 0; p < IdxFixtures.PIXELS; p++) {
            text.append('p').append(p).append(',');
        }
        text.append("label\n");
        for (int i = 0; i < n; i++) {
            for (byte pixel : examples.images()[i]) {
                text.append(pixel & 0xff).append(',');
            }
            text.append(examples.labels()[i]).append('\n');
        }
        return Files.writeString(dir.resolve(name), text);
    }

    @Test
    void trainsALenetOnACsvTableShapedAsImages() throws IOException {
        Path train = csv("train.csv", 1500, 11);
        Path test = csv("test.csv", 300, 12);
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, String.join("\n",
                "name: csv",
                "data: {format: csv, train: " + train + ", test: " + test + ", scale: 0.00392156862745098,"
                        + " shape: [28, 28, 1]}",
                "model: {type: lenet, hidden: [32]}",
                "training: {epochs: 2, batch-size: 32}",
                "sync: {workers: 2, average-every: 4}",
                "output: {dir: " + dir.resolve("runs") + ", run-id: csv}",
                ""));

        assertEquals(0, Shoal.run("train", job.toString()));

        JsonNode provenance = JSON.readTree(dir.resolve("runs/csv/provenance.json").toFile());
        double accuracy = provenance.get("result").get("testAccuracy").asDouble();
        assertTrue(accuracy > 0.7, "accuracy " + accuracy + " should be far above the 0.1 of chance");
        assertEquals(List.of("data.train", "data.test"),
                List.of(provenance.get("data").get(0).get("key").asText(),
                        provenance.get("data").get(1).get("key").asText()));
        assertEquals(Files.size(train), provenance.get("data").get(0).get("bytes").asLong());
        MultiLayerNetwork model = ModelSerializer.restoreMultiLayerNetwork(
                dir.resolve("runs/csv/model.zip").toFile(), true);
        assertEquals(1, model.layerInputSize(0), "a convolution over one grey channel");
    }
}
