package dev.shoal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.registry.Registry;
import dev.shoal.driver.testing.IdxFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TuneTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private Path job() throws IOException {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 1200, 300, 11);
        return Files.writeString(dir.resolve("job.yaml"), String.join("\n", "name: t", files.dataSection(),
                "model: {type: mlp, hidden: [32]}",
                "training: {epochs: 3, batch-size: 32}", "sync: {workers: 2, average-every: 5}", ""));
    }

    private Path search(String... lines) throws IOException {
        return Files.writeString(dir.resolve("search.yaml"), String.join("\n", lines) + "\n");
    }

    /**
     * A grid of two learning rates and two widths, one trial at a time: the two trials whose rate (1e-7) cannot
     * learn reach the first rung (epoch 1) behind the others and stop there; the best trial's plan is best.yaml.
     * Then the search is resumed as if it had been killed during its last trial: only that trial runs again.
     */
    @Test
    void prunesTheTrialsThatCannotLearnAndResumesWithoutRepeatingTheOthers() throws IOException {
        job();
        Path file = search("job: job.yaml", "trials: 0", "sampler: random", "dir: searches",
                "pruning: {min-epochs: 1, reduction: 2}",
                "space:", "  optimizer.learning-rate: {grid: [0.002, 0.0000001]}",
                "  model.hidden: {grid: [[32], [48]]}");
        String output = CapturedOutput.stdout(() -> assertEquals(0, Shoal.run("tune", file.toString())));
        System.out.print(output);
        Path search;
        try (Stream<Path> found = Files.list(dir.resolve("searches"))) {
            search = found.findFirst().orElseThrow();
        }
        List<JsonNode> ended = ended(search);
        assertEquals(4, ended.size());
        for (int t : new int[] {2, 3}) {
            JsonNode trial = ended.get(t);
            assertEquals(t, trial.get("trial").asInt());
            assertEquals(1e-7, trial.at("/params/optimizer.learning-rate").asDouble());
            assertEquals("pruned", trial.get("status").asText(), trial.toString());
            assertEquals(1, trial.get("prunedAfter").asInt());
            assertEquals(1, trial.get("epochs").size(), "stopped after its first epoch");
            JsonNode inRun = JSON.readTree(search.resolve("trials/trial-00" + t + "/trial.json").toFile());
            assertEquals("pruned", inRun.get("status").asText(), "the run directory says so");
            assertFalse(Files.exists(search.resolve("trials/trial-00" + t + "/model.zip")));
        }
        assertEquals("completed", ended.get(0).get("status").asText(), "the first at every rung goes on");
        assertEquals(3, ended.get(0).get("epochs").size());
        assertTrue(ended.get(0).get("value").asDouble() > 0.5, ended.get(0).toString());

        TrainingPlan best = TrainCommand.plan(search.resolve("best.yaml"), List.of());
        assertEquals(0.002, best.optimizer().learningRate());
        List<String> board = Files.readAllLines(search.resolve("leaderboard.md"));
        assertTrue(board.get(2).startsWith("| 1 |") && board.get(2).contains("completed"), board.toString());
        assertTrue(output.contains("pruned in") && output.contains("best: trial"), output);

        // Killed during trial 4: its end never reached trials.jsonl, its run directory is half written.
        String uninterrupted = Files.readString(search.resolve("leaderboard.md"));
        List<String> lines = new ArrayList<>(Files.readAllLines(search.resolve(TrialLog.FILE)));
        lines.remove(lines.size() - 1);
        Files.write(search.resolve(TrialLog.FILE), lines);
        String again = CapturedOutput.stdout(() -> assertEquals(0, Shoal.run("tune", file.toString(), "--resume",
                search.toString())));
        assertFalse(again.contains("trial 1/4 started") || again.contains("trial 2/4 started")
                || again.contains("trial 3/4 started"), again);
        assertTrue(again.contains("trial 4/4 started: optimizer.learning-rate=1.000e-07, model.hidden=[48]"), again);
        assertEquals(4, ended(search).size());
        assertEquals(uninterrupted, Files.readString(search.resolve("leaderboard.md")), "the same leaderboard");
        assertTrue(Files.isDirectory(search.resolve("trials/trial-003.interrupted-1")), "the old one kept aside");
    }

    /**
     * Two trials at once, each in a FAIR pool of the same Spark context, both trained to the end; the best is
     * handed to a registry with no champion yet, and becomes it.
     */
    @Test
    void runsTrialsInParallelAndRegistersTheBest() throws IOException {
        job();
        Path file = search("job: job.yaml", "trials: 2", "parallel: 2", "seed: 3", "dir: searches",
                "pruning: {enabled: false}", "space:", "  optimizer.learning-rate: {log-uniform: [0.001, 0.003]}");
        Path registry = dir.resolve("registry");
        assertEquals(0, Shoal.run("tune", file.toString(), "--register", "tuned", "--registry", registry.toString()));
        Path search;
        try (Stream<Path> found = Files.list(dir.resolve("searches")).filter(p -> p.getFileName().toString()
                .contains("-tune-"))) {
            search = found.findFirst().orElseThrow();
        }
        Registry.Promotion champion = new Registry(registry.toString()).champion("tuned").orElseThrow();
        assertEquals(1, champion.version());
        JsonNode verdict = JSON.readTree(bestRun(search).resolve("verdict.json").toFile());
        assertTrue(verdict.get("promote").asBoolean(), verdict.toString());
        Path copy = dir.resolve("champion.zip");
        new Registry(registry.toString()).copyToLocal("tuned", 1, "model.zip", copy);
        assertArrayEquals(params(bestRun(search).resolve("model.zip")), params(copy), 0f, "the best trial's model");
        List<JsonNode> both = ended(search);
        assertTrue(both.get(0).get("startedAt").asLong() < both.get(1).get("endedAt").asLong()
                && both.get(1).get("startedAt").asLong() < both.get(0).get("endedAt").asLong(),
                "the two trials trained at the same time: " + both);
        for (JsonNode trial : both) {
            assertEquals("completed", trial.get("status").asText(), trial.toString());
            assertTrue(trial.get("value").asDouble() > 0.5, trial.toString());
            // Sharing the Spark context and the executors changed nothing: alone, its plan trains the same model.
            Path run = search.resolve(trial.get("run").asText());
            Files.writeString(run.resolve("alone.yaml"), Files.readString(run.resolve("plan.yaml"))
                    .replace("run-id: " + run.getFileName(), "run-id: " + run.getFileName() + "-alone"));
            assertEquals(0, Shoal.run("train", run.resolve("alone.yaml").toString()));
            assertArrayEquals(params(run.resolve("model.zip")),
                    params(run.resolveSibling(run.getFileName() + "-alone").resolve("model.zip")), 0f);
        }
    }

    @Test
    void anUnknownSpaceKeyFailsInOneLineBeforeAnythingRuns() throws IOException {
        job();
        Path file = search("job: job.yaml", "dir: searches", "space:",
                "  optimizer.learnin-rate: {log-uniform: [0.01, 0.1]}");
        String err = CapturedOutput.stderr(() -> assertEquals(2, Shoal.run("tune", file.toString())));
        assertTrue(err.contains("space.optimizer.learnin-rate = ") && err.contains("did you mean "
                + "optimizer.learning-rate?"), err);
        assertFalse(Files.exists(dir.resolve("searches")));

        Path wrongType = search("job: job.yaml", "dir: searches", "space:", "  model.hidden: {uniform: [8, 64]}");
        String type = CapturedOutput.stderr(() -> assertEquals(2, Shoal.run("tune", wrongType.toString())));
        assertTrue(type.contains("space.model.hidden = ") && !type.contains("	at "), type);
        assertFalse(Files.exists(dir.resolve("searches")));
    }

    /** The run directory of the search's best completed trial. */
    private static Path bestRun(Path search) throws IOException {
        JsonNode best = ended(search).stream().filter(t -> t.get("status").asText().equals("completed"))
                .max(java.util.Comparator.comparingDouble(t -> t.get("value").asDouble())).orElseThrow();
        return search.resolve(best.get("run").asText());
    }

    private static float[] params(Path model) throws IOException {
        return ModelSerializer.restoreMultiLayerNetwork(model.toFile(), false).params().toFloatVector();
    }

    private static List<JsonNode> ended(Path search) throws IOException {
        List<JsonNode> ended = new ArrayList<>();
        for (String line : Files.readAllLines(search.resolve(TrialLog.FILE))) {
            JsonNode node = JSON.readTree(line);
            if (!node.get("status").asText().equals("started")) {
                ended.add(node);
            }
        }
        ended.sort(java.util.Comparator.comparingInt(n -> n.get("trial").asInt()));
        return ended;
    }
}
