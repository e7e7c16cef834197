package dev.shoal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.driver.testing.IdxFixtures;
import dev.shoal.driver.testing.TensorBoardFiles;
import dev.shoal.tensorboard.proto.HParamsPluginData;
import dev.shoal.tensorboard.proto.HistogramProto;
import dev.shoal.tensorboard.proto.Status;
import dev.shoal.tensorboard.proto.Summary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import javax.imageio.ImageIO;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run's TensorBoard files, read back with the classes generated from TensorBoard's protos. */
class TensorBoardTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /**
     * 1,200 examples on 2 workers, batches of 32, 5 steps a round: 4 rounds an epoch, so the x axis runs 1..8 and
     * the epochs sit at 4 and 8. Every value is the one metrics.jsonl and model.zip hold.
     */
    @Test
    void aRunLeavesTheMetricsHistogramsImagesAndHyperparametersForTensorBoard() throws IOException {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 1200, 300, 5);
        assertEquals(0, TestJobs.train(dir, "tb", "name: tb", files.dataSection(), "model: {type: mlp, hidden: [32]}",
                "optimizer: {learning-rate: 0.003}", "training: {epochs: 2, batch-size: 32}",
                "sync: {workers: 2, average-every: 5}"));
        Path run = dir.resolve("runs/tb");
        Path train = run.resolve("tensorboard/train");
        Path test = run.resolve("tensorboard/test");

        List<JsonNode> rounds = metrics(run, "round");
        SortedMap<Long, Float> expected = new TreeMap<>();
        for (int i = 0; i < rounds.size(); i++) {
            expected.put(i + 1L, (float) rounds.get(i).get("loss").asDouble());
        }
        assertEquals(8, expected.size());
        assertEquals(expected, TensorBoardFiles.scalars(train, "loss"), "every round's loss at its round");
        List<JsonNode> epochs = metrics(run, "epoch");
        assertEquals(Map.of(4L, (float) epochs.get(0).get("testAccuracy").asDouble(),
                8L, (float) epochs.get(1).get("testAccuracy").asDouble()), TensorBoardFiles.scalars(test, "accuracy"));
        assertEquals(Map.of(4L, 0.003f, 8L, 0.003f), TensorBoardFiles.scalars(train, "learning_rate"));

        MultiLayerNetwork model = ModelSerializer.restoreMultiLayerNetwork(run.resolve("model.zip").toFile(), false);
        assertEquals(2, JSON.readTree(run.resolve("provenance.json").toFile()).at("/result/modelEpoch").asInt());
        model.paramTable().forEach((key, view) -> {
            float[] params = view.dup().data().asFloat();
            HistogramProto h = histogram(train, "parameters/" + key, 8);
            assertEquals(params.length, h.getNum(), key);
            double sum = 0;
            float min = Float.POSITIVE_INFINITY;
            for (float p : params) {
                sum += p;
                min = Math.min(min, p);
            }
            assertEquals(sum, h.getSum(), 0, key + ": the saved model's parameters, summed in the same order");
            assertEquals(min, h.getMin(), 0, key);
            assertEquals(params.length, histogram(train, "updates/" + key, 8).getNum(), key);
            float ratio = scalar(train, "update_ratio/" + key, 8);
            assertTrue(ratio > -8 && ratio < 1, key + " update ratio " + ratio);
        });

        var confusion = TensorBoardFiles.values(test, "confusion_matrix").get(8L).getImage();
        assertTrue(ImageIO.read(confusion.getEncodedImageString().newInput()).getWidth() > 300);
        assertEquals(5 * (124 + 4), TensorBoardFiles.values(test, "predictions").get(8L).getImage().getWidth(),
                "the 5 x 5 prediction grid");

        Path session = run.resolve("tensorboard");
        var start = hparams(session, "_hparams_/session_start_info").getSessionStartInfo();
        assertEquals(0.003, start.getHparamsOrThrow("optimizer.learning-rate").getNumberValue());
        assertEquals("[32]", start.getHparamsOrThrow("model.hidden").getStringValue());
        assertEquals("averaging", start.getHparamsOrThrow("sync.strategy").getStringValue());
        assertFalse(start.containsHparams("data.train-images"), "paths are not hyperparameters");
        assertEquals(Status.STATUS_SUCCESS,
                hparams(session, "_hparams_/session_end_info").getSessionEndInfo().getStatus());
        String plan = TensorBoardFiles.values(session, "plan").get(0L).getTensor().getStringVal(0).toStringUtf8();
        assertTrue(plan.startsWith("```yaml\n") && plan.contains(Files.readString(run.resolve("plan.yaml"))), plan);
    }

    /** output.tensorboard: false writes no folder. */
    @Test
    void canBeSwitchedOff() throws IOException {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 200, 50, 5);
        assertEquals(0, TestJobs.train(dir, "quiet", "name: quiet", files.dataSection(),
                "model: {type: mlp, hidden: [8]}", "training: {epochs: 1, batch-size: 32}",
                "output: {tensorboard: false}"));
        assertTrue(Files.exists(dir.resolve("runs/quiet/model.zip")));
        assertFalse(Files.exists(dir.resolve("runs/quiet/tensorboard")));
    }

    private static HistogramProto histogram(Path folder, String tag, long step) {
        return value(folder, tag, step).getHisto();
    }

    private static float scalar(Path folder, String tag, long step) {
        return value(folder, tag, step).getSimpleValue();
    }

    private static Summary.Value value(Path folder, String tag, long step) {
        try {
            Summary.Value v = TensorBoardFiles.values(folder, tag).get(step);
            assertTrue(v != null, tag + " at step " + step);
            return v;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static HParamsPluginData hparams(Path folder, String tag) throws IOException {
        Summary.Value v = value(folder, tag, 0);
        assertEquals("hparams", v.getMetadata().getPluginData().getPluginName());
        return HParamsPluginData.parseFrom(v.getMetadata().getPluginData().getContent());
    }

    private static List<JsonNode> metrics(Path run, String type) throws IOException {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            JsonNode node = JSON.readTree(line);
            if (node.get("type").asText().equals(type)) {
                lines.add(node);
            }
        }
        return lines;
    }
}
