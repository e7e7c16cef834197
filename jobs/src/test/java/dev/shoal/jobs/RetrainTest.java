package dev.shoal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.driver.registry.Registry;
import dev.shoal.driver.testing.IdxFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** {@code shoal retrain} and {@code shoal registry} on a local registry, local[2] and generated images. */
class RetrainTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    private static Path job;

    @BeforeAll
    static void writeJob() throws IOException {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 1200, 300, 11);
        job = Files.writeString(dir.resolve("nightly.yaml"), String.join("\n", "name: nightly", files.dataSection(),
                "model: {type: mlp, hidden: [32]}",
                "optimizer: {learning-rate: 0.01}",
                "training: {epochs: 2, batch-size: 32}",
                "sync: {workers: 2, average-every: 4}",
                "output: {dir: " + dir.resolve("runs") + "}",
                "gate: {rules: [{metric: accuracy, kind: at-least, value: 0.5}, {metric: accuracy, kind: gain, "
                        + "value: 0}]}", ""));
    }

    /** Runs {@code shoal retrain} of the job into {@code registry}, as run {@code runId}; returns the exit code. */
    private static int retrain(Path registry, String runId, String... more) {
        List<String> args = new java.util.ArrayList<>(List.of("retrain", job.toString(), "--registry",
                registry.toString(), "--name", "fashion", "--set", "output.run-id=" + runId));
        args.addAll(List.of(more));
        return Shoal.run(args.toArray(String[]::new));
    }

    private static JsonNode json(Path file) throws IOException {
        return JSON.readTree(file.toFile());
    }

    private static double firstEpochLoss(String runId) throws IOException {
        for (String line : Files.readAllLines(dir.resolve("runs").resolve(runId).resolve("metrics.jsonl"))) {
            JsonNode node = JSON.readTree(line);
            if (node.get("type").asText().equals("epoch")) {
                return node.get("trainLoss").asDouble();
            }
        }
        throw new AssertionError("no epoch in " + runId);
    }

    @Test
    void theFirstModelIsPromotedAWorseOneIsRegisteredButNotAndAWarmStartBeginsFromTheChampion() throws IOException {
        Path registry = dir.resolve("registry");
        String out = CapturedOutput.stdout(() -> assertEquals(0, retrain(registry, "day1")));
        assertTrue(out.contains("no champion of fashion yet"), out);
        assertTrue(out.contains("version 1 is now the champion of fashion"), out);
        Path v1 = registry.resolve("fashion/versions/1");
        assertEquals(List.of("_claim", "evaluation.json", "metrics.jsonl", "model.zip", "plan.yaml",
                "provenance.json", "verdict.json"), Files.list(v1).map(p -> p.getFileName().toString()).sorted()
                .toList());
        JsonNode verdict = json(v1.resolve("verdict.json"));
        assertTrue(verdict.get("promote").asBoolean());
        assertEquals(List.of("PASS", "SKIPPED"), verdict.get("checks").findValuesAsText("outcome"));
        // The challenger's evaluation is training's own evaluation of the model on the same test set.
        JsonNode trained = json(dir.resolve("runs/day1/provenance.json")).get("result");
        assertEquals(trained.get("testAccuracy").asDouble(), json(v1.resolve("evaluation.json")).get("accuracy")
                .asDouble());

        // A gate no model can pass: registered with its verdict, champion unchanged.
        assertEquals(Challenge.NOT_PROMOTED, retrain(registry, "day2", "--set",
                "gate.rules=[{metric: accuracy, kind: gain, value: 0.5}]"));
        Path v2 = registry.resolve("fashion/versions/2");
        JsonNode failed = json(v2.resolve("verdict.json"));
        assertFalse(failed.get("promote").asBoolean());
        assertEquals(1, failed.get("champion").asInt());
        assertTrue(failed.get("reason").asText().startsWith("failed: accuracy "), failed.toString());
        // The champion was evaluated in the same run on the same data: the same figures as when it was registered.
        assertEquals(json(v1.resolve("evaluation.json")).get("accuracy").asDouble(),
                json(v2.resolve("champion-evaluation.json")).get("accuracy").asDouble());
        assertEquals(1, new Registry(registry.toString()).champion("fashion").orElseThrow().version());

        // Warm start: the first epoch begins where the champion ended, far below a start from the seed.
        assertEquals(Challenge.NOT_PROMOTED, retrain(registry, "day3", "--warm-start", "--set",
                "gate.rules=[{metric: accuracy, kind: gain, value: 0.5}]"));
        double scratch = firstEpochLoss("day2");
        double warm = firstEpochLoss("day3");
        assertTrue(warm < 0.5 * scratch, "first-epoch loss: warm start " + warm + ", from the seed " + scratch);
        assertEquals(1, json(registry.resolve("fashion/versions/3/provenance.json")).get("warmStartedFrom").asInt());
        String warmPlan = Files.readString(registry.resolve("fashion/versions/3/plan.yaml"));
        Path warmFrom = dir.resolve("runs/champions/fashion-v1/model.zip");
        assertTrue(warmPlan.contains("warm-start: \"" + warmFrom + "\"") || warmPlan.contains("warm-start: " + warmFrom),
                warmPlan);
        assertTrue(Files.exists(warmFrom), "the registered plan names a file that stays");

        String list = CapturedOutput.stdout(() -> assertEquals(0, Shoal.run("registry", "list", "--registry",
                registry.toString())));
        assertEquals(3, list.lines().filter(l -> l.matches(" +[123] .*")).count(), list);
        assertTrue(list.lines().anyMatch(l -> l.matches(" +1 .*passed +<- champion")), list);
        assertTrue(list.lines().anyMatch(l -> l.matches(" +2 .*failed")), list);
        String show = CapturedOutput.stdout(() -> assertEquals(0, Shoal.run("registry", "show", "fashion", "2",
                "--registry", registry.toString())));
        assertTrue(show.contains("FAIL failed: accuracy "), show);

        // The champion, as a scoring job names it, evaluates to the figures it was registered with.
        Path report = dir.resolve("champion.json");
        assertEquals(0, Shoal.run("evaluate", "registry:fashion@champion", "--registry", registry.toString(),
                "--output", report.toString()));
        assertEquals(json(v1.resolve("evaluation.json")).get("accuracy").asDouble(), json(report).get("accuracy")
                .asDouble());
        assertTrue(json(report).get("model").asText().startsWith("registry:fashion@champion (version 1, "));
        String missing = CapturedOutput.stderr(() -> assertEquals(2, Shoal.run("evaluate", "registry:fashion@9",
                "--registry", registry.toString())));
        assertEquals("error: MODEL = registry:fashion@9: fashion has no complete version 9 in " + registry,
                missing.strip());

        // By hand: promote a version the gate refused, roll back, collect.
        String reg = registry.toString();
        assertEquals(0, Shoal.run("registry", "promote", "fashion", "3", "--registry", reg));
        assertEquals(3, new Registry(reg).champion("fashion").orElseThrow().version());
        assertEquals(0, Shoal.run("registry", "rollback", "fashion", "--registry", reg));
        assertEquals(1, new Registry(reg).champion("fashion").orElseThrow().version());
        String gc = CapturedOutput.stdout(() -> assertEquals(0, Shoal.run("registry", "gc", "fashion", "--keep", "1",
                "--registry", reg)));
        assertTrue(gc.startsWith("removed 1 version(s) [2]"), "champion 1 and the one before, 3, are kept: " + gc);
        assertEquals(2, Shoal.run("registry", "gc", "fashion", "--keep", "0", "--registry", reg));
    }

    @Test
    void aPromotionThatLandsWhileARetrainRunsWinsAndTheRetrainExitsFour() throws Exception {
        Path registry = dir.resolve("race");
        assertEquals(0, retrain(registry, "race1", "--set", "training.epochs=1", "--set", "gate.rules=[]"));
        Registry reg = new Registry(registry.toString());
        CompletableFuture<Integer> racer = CompletableFuture.supplyAsync(() -> retrain(registry, "race2",
                "--set", "gate.rules=[]"));
        // Once the racer's run directory exists it has read the champion; another writer promotes first.
        Path started = dir.resolve("runs/race2/plan.yaml");
        for (int i = 0; i < 600 && !Files.exists(started); i++) {
            Thread.sleep(100);
        }
        assertTrue(Files.exists(started), "the racing retrain started training");
        Path v1 = registry.resolve("fashion/versions/1");
        int other = reg.register("fashion", Map.of("model.zip", v1.resolve("model.zip")), Map.of("by", "the test"));
        assertTrue(reg.promote("fashion", other, 1, "the other writer"));

        assertEquals(Challenge.LOST_RACE, racer.get(10, TimeUnit.MINUTES));
        assertEquals(other, reg.champion("fashion").orElseThrow().version(), "the first promotion stands");
        assertEquals(List.of(1, 2, 3), reg.versions("fashion"), "the loser's version is registered whole");
        assertTrue(json(registry.resolve("fashion/versions/3/verdict.json")).get("promote").asBoolean());
        assertEquals(2, reg.history("fashion").size());
    }

    @Test
    void aChampionThatCannotBeUsedOrARegistryThatIsAFileFailsBeforeTraining() throws IOException {
        Path registry = dir.resolve("broken");
        Registry reg = new Registry(registry.toString());
        Path garbage = Files.writeString(dir.resolve("garbage.zip"), "not a model");
        reg.register("fashion", Map.of("model.zip", garbage), Map.of("by", "the test"));
        assertTrue(reg.promote("fashion", 1, 0, "a broken champion"));
        String corrupt = CapturedOutput.stderr(() -> assertEquals(1, retrain(registry, "corrupt")));
        assertTrue(corrupt.startsWith("error: the champion's model " + registry + "/fashion/versions/1/model.zip"
                + " cannot be read: "), corrupt);

        // A model of 3 inputs where the data has 784.
        MultiLayerNetwork narrow = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().list()
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(3).nOut(10)
                        .activation(Activation.SOFTMAX).build()).build());
        narrow.init();
        Path narrowZip = dir.resolve("narrow.zip");
        ModelSerializer.writeModel(narrow, narrowZip.toFile(), false);
        reg.register("fashion", Map.of("model.zip", narrowZip), Map.of("by", "the test"));
        assertTrue(reg.promote("fashion", 2, 1, "a champion of another shape"));
        String misfit = CapturedOutput.stderr(() -> assertEquals(1, retrain(registry, "misfit")));
        assertTrue(misfit.startsWith("error: the champion, fashion version 2, cannot be evaluated on this data: "),
                misfit);
        assertTrue(misfit.contains("does not take the data's examples of 784 values"), misfit);
        assertFalse(Files.exists(dir.resolve("runs/misfit")), "nothing trained");
        assertEquals(List.of(1, 2), reg.versions("fashion"), "nothing registered");
        assertEquals(2, reg.champion("fashion").orElseThrow().version());

        Path file = Files.writeString(dir.resolve("registry-file"), "x");
        String notAFolder = CapturedOutput.stderr(() -> assertEquals(1, retrain(file, "file")));
        assertEquals("error: registry " + file + " is a file, not a folder", notAFolder.strip());
    }
}
