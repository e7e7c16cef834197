package dev.shoal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.driver.testing.IdxFixtures;
import dev.shoal.kernel.config.ModelType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code shoal bench --quick} end to end: every system in a process of its own, then bench.json and bench.md.
 * Timings are not asserted; what each system reports is.
 */
class BenchCommandTest {
    @TempDir
    Path dir;

    @Test
    void quickBenchMeasuresEveryShoalSystemAndReportsTheRestAsRunOrSkipped() throws Exception {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 1200, 300, 5);
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, String.join("\n",
                "name: bench-e2e",
                files.dataSection(),
                "model: {type: mlp, hidden: [32]}",
                "optimizer: {learning-rate: 0.005}",
                "training: {batch-size: 32}",
                "sync: {workers: 2, average-every: 4}",
                ""));
        Path out = dir.resolve("bench");
        List<String> systems = List.of("dl4j", "shoal-averaging", "shoal-sharing-threshold", "shoal-sharing-dense",
                "pytorch", "dl4j-spark-shared");

        assertEquals(0, Shoal.run("bench", "--job", job.toString(), "--quick", "--out", out.toString(),
                "--systems", String.join(",", systems)));

        JsonNode bench = new ObjectMapper().readTree(out.resolve("bench.json").toFile());
        Map<String, JsonNode> summaries = new HashMap<>();
        bench.get("summaries").forEach(s -> summaries.put(s.get("system").asText(), s));
        assertEquals(systems.size(), summaries.size(), summaries.keySet().toString());
        for (String system : List.of("dl4j", "shoal-averaging", "shoal-sharing-threshold", "shoal-sharing-dense")) {
            JsonNode s = summaries.get(system);
            assertEquals("ok", s.get("status").asText(), system);
            JsonNode epochs = bench.get("runs").get(system).get(0).get("epochs");
            assertEquals(2, epochs.size(), system + ": --quick trains 2 epochs");
            for (JsonNode e : epochs) {
                assertEquals(1200, e.get("examples").asLong(), system);
                assertTrue(e.get("trainSeconds").asDouble() > 0, system);
            }
            assertTrue(s.get("finalAccuracy").asDouble() > 0.5, system + " learns: " + s.get("finalAccuracy"));
            assertTrue(s.get("steadyExamplesPerSec").asDouble() > 0, system);
        }
        assertTrue(summaries.get("shoal-sharing-threshold").get("bytesPerStepPerWorker").asLong()
                < summaries.get("shoal-sharing-dense").get("bytesPerStepPerWorker").asLong());
        // The reference engine's gradient sharing runs too (each epoch a SharedTrainingMaster of its own).
        assertEquals("ok", summaries.get("dl4j-spark-shared").get("status").asText());
        assertEquals(2, bench.get("runs").get("dl4j-spark-shared").get(0).get("epochs").size());
        // PyTorch runs where torch is installed and is reported as skipped, with the reason, where it is not.
        JsonNode pytorch = summaries.get("pytorch");
        if (PyTorchBaseline.unavailableReason(PyTorchBaseline.python(), ModelType.MLP) == null) {
            assertEquals("ok", pytorch.get("status").asText());
            assertTrue(pytorch.get("finalAccuracy").asDouble() > 0.5, "pytorch learns too");
        } else {
            assertEquals("skipped", pytorch.get("status").asText());
            assertTrue(pytorch.get("reason").asText().contains("torch"), pytorch.toString());
        }
        String table = Files.readString(out.resolve("bench.md"));
        for (String system : systems) {
            assertTrue(table.contains("| " + system + " |"), system + " in bench.md");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lstm-classifier", "attention-classifier"})
    void textBenchTrainsEverySystemOnTheSameTokenisedReviews(String model) throws Exception {
        Path reviews = TestJobs.reviews(dir, 1200, 5);
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, String.join("\n",
                "name: bench-text",
                "data: {format: text, train: " + reviews + ", text: t, label: s, holdout: 0.25, classes: 2,"
                        + " max-length: 12, vocabulary: 50}",
                "model: {type: " + model + ", embedding: 16, units: 16, heads: 4, hidden: []}",
                "optimizer: {learning-rate: 0.01}",
                "training: {batch-size: 32}",
                "sync: {workers: 2, average-every: 4}",
                ""));
        Path out = dir.resolve("bench");
        List<String> systems = List.of("dl4j", "shoal-averaging", "pytorch");

        assertEquals(0, Shoal.run("bench", "--job", job.toString(), "--epochs", "3", "--out", out.toString(),
                "--systems", String.join(",", systems)));

        JsonNode bench = new ObjectMapper().readTree(out.resolve("bench.json").toFile());
        boolean torch = PyTorchBaseline.unavailableReason(PyTorchBaseline.python(), ModelType.MLP) == null;
        for (String system : torch ? systems : systems.subList(0, 2)) {
            JsonNode epochs = bench.get("runs").get(system).get(0).get("epochs");
            assertEquals(3, epochs.size(), system);
            // 900 of the 1,200 reviews train, 300 are held out: every system counts the same ones.
            assertEquals(900, epochs.get(0).get("examples").asLong(), system);
            assertTrue(epochs.get(2).get("testAccuracy").asDouble() > 0.8, system + " learns the opinion words: "
                    + epochs.get(2));
        }
        if (torch) {
            // PyTorch was given the JVM's tokenised reviews: ids below the vocabulary, 12 per review.
            Path data = out.resolve("pytorch-data");
            INDArray tokens = Nd4j.createFromNpyFile(data.resolve("train-x.npy").toFile());
            assertArrayEquals(new long[] {900, 12}, tokens.shape());
            assertTrue(tokens.minNumber().intValue() >= 0 && tokens.maxNumber().intValue() < 50 + 2,
                    "token ids of a vocabulary of 50 (and the padding and unknown ids)");
            assertEquals(300, Nd4j.createFromNpyFile(data.resolve("test-y.npy").toFile()).length());
        }
    }

    @Test
    void kernelBenchMeasuresBothPathsOfEveryModelAgainstTheSgemmCeiling() throws Exception {
        Path out = dir.resolve("kernel");
        assertEquals(0, Shoal.run("bench-kernel", "--models", "mlp,lenet,lstm", "--threads", "1", "--batch", "8",
                "--steps", "2", "--repeats", "1", "--out", out.toString()));

        JsonNode report = new ObjectMapper().readTree(out.resolve("kernel-bench.json").toFile());
        JsonNode results = report.get("results");
        List<String> measured = new java.util.ArrayList<>();
        for (JsonNode r : results) {
            measured.add(r.get("model").asText() + "/" + r.get("path").asText() + "/" + r.get("threads").asInt());
            assertTrue(r.get("msPerStep").asDouble() > 0, r.toString());
            assertEquals(8 * 1000 / r.get("msPerStep").asDouble(), r.get("examplesPerSecond").asDouble(), 1e-6);
            assertTrue(r.get("gflops").asDouble() > 0 && r.get("ceilingGflops").asDouble() > 0, r.toString());
        }
        // PyTorch's rows follow each model's JVM rows where torch is installed (it takes its turns with them);
        // where it is not, the report says why.
        String pytorch = PyTorchBaseline.unavailableReason(PyTorchBaseline.python(), PyTorchBaseline.kernelScript());
        List<String> expected = new java.util.ArrayList<>();
        for (String model : List.of("mlp", "lenet", "lstm")) {
            expected.add(model + "/shoal/1");
            expected.add(model + "/dl4j/1");
            if (pytorch == null) {
                expected.add(model + "/pytorch/1");
            }
        }
        assertEquals(expected, measured);
        if (pytorch != null) {
            assertEquals(pytorch, report.get("skipped").get("pytorch").asText());
        }
    }
}
