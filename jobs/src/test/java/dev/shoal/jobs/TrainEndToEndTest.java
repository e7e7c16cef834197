package dev.shoal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.driver.data.Vocabulary;
import dev.shoal.driver.testing.IdxFixtures;
import dev.shoal.kernel.NetworkFiles;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** {@code shoal train} from a job file to a complete run directory, on local[2] with generated Fashion-MNIST-shaped data. */
class TrainEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void trainsWellAboveChanceAndWritesTheRunDirectory() throws IOException {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 3000, 500, 11);
        assertEquals(0, train("r1",
                files.dataSection(),
                "model: {type: mlp, hidden: [64]}",
                "training: {epochs: 3, batch-size: 32}",
                "sync: {workers: 2, average-every: 4}"));

        Path run = dir.resolve("runs/r1");
        assertEquals(List.of("checkpoints", "evaluation.json", "metrics.jsonl", "model.zip", "plan.yaml",
                "provenance.json", "report.html", "tensorboard"),
                Files.list(run).map(p -> p.getFileName().toString()).sorted().toList());
        assertEquals(List.of("checkpoint-e0001-r00000.shoal", "checkpoint-e0002-r00000.shoal",
                        "checkpoint-e0003-r00000.shoal"),
                Files.list(run.resolve("checkpoints")).map(p -> p.getFileName().toString()).sorted().toList(),
                "one per epoch, the newest 3 kept");

        JsonNode provenance = provenance("r1");
        assertEquals("completed", provenance.get("status").asText());
        double accuracy = accuracy(provenance);
        assertTrue(accuracy > 0.7, "accuracy " + accuracy + " should be far above the 0.1 of chance");
        assertEquals(4, provenance.get("data").size());

        List<JsonNode> lines = metrics(run);
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
        MultiLayerNetwork model = savedModel(run);
        assertEquals(784, model.layerInputSize(0));
        assertEquals(3 * 47, model.getIterationCount(), "one iteration per local step");
    }

    @Test
    void federatedAveragingOnNonIidClientsLearnsAndReportsRoundsToAccuracy() throws IOException {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 3000, 500, 12);
        Path job = jobFile("fed",
                files.dataSection(),
                "model: {type: mlp, hidden: [64]}",
                "optimizer: {updater: sgd, learning-rate: 0.05}",
                "sync: {strategy: federated, workers: 2, federated: {clients: 20, split: shards, fraction: 0.25, "
                        + "local-epochs: 2, batch-size: 16, rounds: 8}}");
        String out = CapturedOutput.stdout(() -> assertEquals(0, Shoal.run("train", job.toString())));

        Path run = dir.resolve("runs/fed");
        assertTrue(out.contains("round 1/8 done"), out);
        assertTrue(out.matches("(?s).*rounds to test accuracy: 90%: (\\d+|not in 8), 95%: .*99%: .*"), out);
        List<JsonNode> lines = metrics(run);
        List<JsonNode> rounds = lines.stream().filter(l -> l.get("type").asText().equals("round")).toList();
        assertEquals(8, rounds.size());
        for (JsonNode r : rounds) {
            assertEquals(5, r.get("workers").asInt(), "C = 0.25 of 20 clients");
            // 5 clients of 150 examples (shards of 75), two local epochs each.
            assertEquals(5 * 150 * 2, r.get("examples").asLong());
        }
        List<JsonNode> epochs = lines.stream().filter(l -> l.get("type").asText().equals("epoch")).toList();
        assertEquals(8, epochs.size());
        double accuracy = accuracy("fed");
        // Clients of two labels each drag the average around; three times chance is a wide margin (0.4-0.6 seen).
        assertTrue(accuracy > 0.3, "accuracy " + accuracy + " after 8 rounds on clients of two labels each");
        assertEquals(List.of("checkpoint-e0006-r00000.shoal", "checkpoint-e0007-r00000.shoal",
                        "checkpoint-e0008-r00000.shoal"),
                Files.list(run.resolve("checkpoints")).map(p -> p.getFileName().toString()).sorted().toList(),
                "one per round, the newest 3 kept");
        String report = Files.readString(run.resolve("report.html"));
        assertTrue(report.contains("Rounds to test accuracy"), "report.html has the rounds-to-accuracy table");
    }

    /** A CSV of synthetic images: 784 pixel columns (0-255) and the label, with a header line. */
    @Test
    void trainsAnLstmOnLabelledTextsAndSavesTheVocabularyThatReadsNewTexts() throws IOException {
        Path reviews = TestJobs.reviews(dir, 1200, 5);
        assertEquals(0, train("text",
                "data: {format: text, train: " + reviews + ", text: t, label: s, holdout: 0.25, classes: 2,"
                        + " max-length: 12, vocabulary: 100}",
                "model: {type: lstm-classifier, embedding: 16, units: 16, hidden: []}",
                "optimizer: {learning-rate: 0.01}",
                "training: {epochs: 4, batch-size: 32}",
                "sync: {workers: 2, average-every: 4}"));

        Path run = dir.resolve("runs/text");
        double accuracy = accuracy("text");
        assertTrue(accuracy > 0.9, "accuracy " + accuracy + " should be far above the 0.5 of chance");
        // The saved vocabulary turns new texts into the ids the model was trained on.
        Vocabulary vocabulary = Vocabulary.read(run.resolve("vocabulary.txt"));
        MultiLayerNetwork model = savedModel(run);
        String[] texts = {"the plot was great and the cast superb", "a dull and awful film, the worst"};
        float[] ids = new float[2 * 12];
        for (int i = 0; i < 2; i++) {
            vocabulary.sequence(texts[i], 12, ids, i * 12);
        }
        INDArray predicted = model.output(Nd4j.create(ids, new long[] {2, 12}, 'c')).argMax(1);
        assertEquals(1, predicted.getInt(0), texts[0]);
        assertEquals(0, predicted.getInt(1), texts[1]);
    }

    @Test
    void aCharLstmLearnsATextItsHeldOutLossFallsAndSampleContinuesAPrompt() throws IOException {
        Path text = Files.writeString(dir.resolve("text.txt"), "the cat sat on the mat. ".repeat(300));
        assertEquals(0, train("chars",
                "data: {format: chars, train: " + text + ", holdout: 0.1, max-length: 20}",
                "model: {type: char-lstm, embedding: 8, hidden: [32]}",
                "optimizer: {learning-rate: 0.02}",
                "training: {epochs: 4, batch-size: 16}",
                "sync: {workers: 2, average-every: 4}"));

        Path run = dir.resolve("runs/chars");
        List<JsonNode> epochs = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            JsonNode node = JSON.readTree(line);
            if (node.get("type").asText().equals("epoch")) {
                epochs.add(node);
            }
        }
        double first = epochs.get(0).get("testLoss").asDouble();
        double last = epochs.get(epochs.size() - 1).get("testLoss").asDouble();
        assertTrue(last < first / 2, "held-out loss " + first + " -> " + last);
        assertTrue(epochs.get(epochs.size() - 1).get("testAccuracy").asDouble() > 0.9, "next-character accuracy");

        String sample = CapturedOutput.stdout(() -> assertEquals(0, Shoal.run("sample", run.toString(),
                "--prompt", "the cat ", "--length", "40", "--temperature", "0.3")));
        assertTrue(sample.startsWith("the cat sat on the mat. the cat sat on the"), sample);
    }

    @Test
    void trainsACnnOnCifarBinaryFilesWithAugmentedImages() throws IOException {
        Path train = Files.createDirectories(dir.resolve("cifar-train"));
        cifar(train.resolve("data_batch_1.bin"), 400, 1);
        cifar(train.resolve("data_batch_2.bin"), 400, 2);
        Path test = cifar(dir.resolve("test_batch.bin"), 200, 3);
        assertEquals(0, train("cifar",
                "data: {format: cifar, train: " + train + ", test: " + test + ", classes: 3}",
                "model: {type: cnn, filters: [8, 8], hidden: [16]}",
                "training: {epochs: 2, batch-size: 32, augment: {flip: true, shift: 3}}",
                "sync: {workers: 2, average-every: 4}"));

        JsonNode provenance = provenance("cifar");
        double accuracy = accuracy(provenance);
        assertTrue(accuracy > 0.9, "accuracy " + accuracy + " should be far above the 0.33 of chance");
        assertEquals(800L * 3073, provenance.get("data").get(0).get("bytes").asLong(), "both training files");
        MultiLayerNetwork model = savedModel("cifar");
        assertEquals(3, model.layerInputSize(0), "a convolution over three colour planes");
    }

    /** {@code n} CIFAR-10 binary records of noise where the plane of the label's colour (0 red, 1 green, 2 blue) is brighter. */
    private static Path cifar(Path file, int n, long seed) throws IOException {
        Random random = new Random(seed);
        byte[] bytes = new byte[n * 3073];
        for (int r = 0; r < n; r++) {
            int label = random.nextInt(3);
            bytes[r * 3073] = (byte) label;
            for (int v = 0; v < 3072; v++) {
                bytes[r * 3073 + 1 + v] = (byte) (random.nextInt(128) + (v / 1024 == label ? 64 : 0));
            }
        }
        return Files.write(file, bytes);
    }


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
    void aFineTunedModelBeatsTrainingFromScratchOnASmallSubsetOfANewTask() throws IOException {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 3000, 500, 11);
        assertEquals(0, train("base", files.dataSection(), "model: {type: mlp, hidden: [64]}", quick(3)));
        Path base = dir.resolve("runs/base/model.zip");

        // The new task: the same kind of images, other class numbers, and only 96 training examples.
        IdxFixtures.Examples train = IdxFixtures.synthetic(3000, 11);
        IdxFixtures.Examples test = IdxFixtures.synthetic(500, 12);
        IdxFixtures.writeLabels(dir.resolve("new-train-labels"), shifted(train.labels()), false);
        IdxFixtures.writeLabels(dir.resolve("new-test-labels"), shifted(test.labels()), false);
        String newTask = new IdxFixtures.Files4(files.trainImages(), dir.resolve("new-train-labels").toString(),
                files.testImages(), dir.resolve("new-test-labels").toString()).dataSection()
                .replace("}", ", train-limit: 96}");
        assertEquals(0, train("tuned", newTask, "model: {type: fine-tune, base: " + base + ", freeze: 1}",
                quick(8)));
        assertEquals(0, train("scratch", newTask, "model: {type: mlp, hidden: [64]}", quick(8)));

        double tuned = accuracy("tuned");
        double scratch = accuracy("scratch");
        assertTrue(tuned > scratch + 0.1, "fine-tuned " + tuned + " vs from scratch " + scratch);
        MultiLayerNetwork model = savedModel("tuned");
        MultiLayerNetwork original = ModelSerializer.restoreMultiLayerNetwork(base.toFile(), false);
        assertEquals(original.getLayer(0).params(), model.getLayer(0).params(), "the frozen layer as the base had it");
        assertEquals("model.base", provenance("tuned").get("data").get(4).get("key").asText());
    }

    @Test
    void badRecordsFailTheRunOrWithSkipBadRecordsAreCountedInMetricsAndProvenance() throws IOException {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 600, 100, 11);
        IdxFixtures.Examples train = IdxFixtures.synthetic(600, 11);
        train.labels()[17] = 42;
        train.labels()[300] = 10;
        IdxFixtures.writeLabels(Path.of(files.trainLabels()), train.labels(), true);
        String[] job = {files.dataSection(), "model: {type: mlp, hidden: [16]}", quick(1)};
        Path strict = jobFile("strict", job);
        String failed = CapturedOutput.stderr(() -> assertEquals(1, Shoal.run("train", strict.toString())));
        assertTrue(failed.contains("labels must be in [0, 9], but got"), failed);

        Path skip = jobFile("skip", job);
        String out = CapturedOutput.stdout(() -> assertEquals(0, Shoal.run("train", skip.toString(),
                "--skip-bad-records")));
        assertTrue(out.contains("skipped 2 training and 0 test records that cannot be used"), out);
        assertEquals(2, provenance("skip").get("result").get("skippedRecords").get("train").asInt());
        JsonNode data = JSON.readTree(Files.readAllLines(dir.resolve("runs/skip/metrics.jsonl")).get(0));
        assertEquals("data", data.get("type").asText());
        assertEquals(598, data.get("trainExamples").asInt());
        assertEquals(2, data.get("trainSkipped").asInt());
    }

    @Test
    void aSavedModelEvaluatesToWhatTrainingReportedAndOnOtherData() throws IOException {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 1200, 300, 11);
        assertEquals(0, train("e", files.dataSection(), "model: {type: mlp, hidden: [32]}", quick(2)));
        Path report = dir.resolve("evaluation.json");

        String out = CapturedOutput.stdout(() -> assertEquals(0, Shoal.run("evaluate",
                dir.resolve("runs/e").toString(), "--output", report.toString())));

        JsonNode evaluation = JSON.readTree(report.toFile());
        JsonNode trained = provenance("e").get("result");
        // The same model, code and partitions on the same test set: the same counts and the same loss sums.
        assertEquals(trained.get("testAccuracy").asDouble(), evaluation.get("accuracy").asDouble());
        assertEquals(trained.get("testLoss").asDouble(), evaluation.get("loss").asDouble());
        assertEquals(300, evaluation.get("examples").asLong());
        long counted = 0;
        for (JsonNode row : evaluation.get("confusion")) {
            for (JsonNode n : row) {
                counted += n.asLong();
            }
        }
        assertEquals(300, counted, "the confusion matrix counts every test example once");
        assertEquals(10, evaluation.get("classes").size());
        assertTrue(out.contains("300 examples  accuracy"), out);

        // The training data gone (yesterday's partition): evaluation reads only the test set.
        Files.delete(Path.of(files.trainImages()));
        Files.delete(Path.of(files.trainLabels()));
        assertEquals(0, Shoal.run("evaluate", dir.resolve("runs/e").toString(), "--output", report.toString()));
        assertEquals(trained.get("testAccuracy").asDouble(), JSON.readTree(report.toFile()).get("accuracy").asDouble());
        String noTest = CapturedOutput.stderr(() -> assertEquals(2, Shoal.run("evaluate",
                dir.resolve("runs/e").toString(), "--set", "data.test-labels=" + dir.resolve("gone.gz"))));
        assertTrue(noTest.contains("data.test-labels = " + dir.resolve("gone.gz") + ": no such file"), noTest);

        IdxFixtures.Files4 other = IdxFixtures.writeSynthetic(Files.createDirectories(dir.resolve("other")), 100, 200, 12);
        assertEquals(0, Shoal.run("evaluate", dir.resolve("runs/e/model.zip").toString(), "--output",
                report.toString(), "--set", "data.test-images=" + other.testImages(), "--set",
                "data.test-labels=" + other.testLabels()));
        assertEquals(200, JSON.readTree(report.toFile()).get("examples").asLong());

        String err = CapturedOutput.stderr(() -> assertEquals(2, Shoal.run("evaluate", dir.toString())));
        assertTrue(err.contains("is neither a run directory with a model.zip, a model.zip nor registry:"), err);
        Path narrow = Files.writeString(dir.resolve("narrow.csv"), "a,b,c,label\n" + "1,2,3,0\n".repeat(40));
        String misfit = CapturedOutput.stderr(() -> assertEquals(2, Shoal.run("evaluate",
                dir.resolve("runs/e").toString(), "--output", report.toString(), "--set", "data.format=csv",
                "--set", "data.train=" + narrow, "--set", "data.test=" + narrow)));
        assertTrue(misfit.contains("does not take the data's examples of 3 values"), misfit);
        assertEquals(200, JSON.readTree(report.toFile()).get("examples").asLong(), "the last report is kept");
    }

    @Test
    void aTextModelIsEvaluatedWithItsOwnVocabularyAfterTheTrainingDataChanged() throws IOException {
        Path test = Files.move(TestJobs.reviews(dir, 300, 6), dir.resolve("test-reviews.json"));
        Path train = TestJobs.reviews(dir, 1200, 5);
        assertEquals(0, train("vocab", "data: {format: text, train: " + train + ", test: " + test + ", text: t, "
                        + "label: s, classes: 2, max-length: 12, vocabulary: 100}",
                "model: {type: lstm-classifier, embedding: 16, units: 16, hidden: []}", quick(2)));
        // The next day's training file: "the" is gone, so the vocabulary its counts give has other ids.
        Files.writeString(train, Files.readString(train).replace("the ", "qq ").replace("plot", "zz"));
        Path report = dir.resolve("vocab.json");

        assertEquals(0, Shoal.run("evaluate", dir.resolve("runs/vocab").toString(), "--output", report.toString()));

        JsonNode trained = provenance("vocab").get("result");
        assertEquals(trained.get("testLoss").asDouble(), JSON.readTree(report.toFile()).get("loss").asDouble(),
                "the model's own vocabulary.txt, not one rebuilt from today's training file");
    }

    @Test
    void aGanTrainsDataParallelAndLeavesAGridOfGeneratedImages() throws IOException {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 600, 100, 11);
        assertEquals(0, train("gan", files.dataSection(), "model: {type: gan, hidden: [32], units: 8}",
                quick(2)));

        BufferedImage grid = ImageIO.read(dir.resolve("runs/gan/samples.png").toFile());
        int side = 8 * (4 * IdxFixtures.SIDE + 2) + 2;
        assertEquals(List.of(side, side), List.of(grid.getWidth(), grid.getHeight()),
                "8 x 8 images of 28 x 28, each shown 4 times as large");
        MultiLayerNetwork model = ModelSerializer.restoreMultiLayerNetwork(
                dir.resolve("runs/gan/model.zip").toFile(), false);
        assertEquals(1, model.getOutputLayer().getParam("W").size(1), "the discriminator's one output");
        assertEquals("NaN", provenance("gan").get("result").get("testAccuracy").asText(), "no accuracy for a gan");
        org.jsoup.nodes.Document report = org.jsoup.Jsoup.parse(dir.resolve("runs/gan/report.html").toFile());
        assertTrue(report.getElementById("samples") != null, "the report shows the generated images");
        assertEquals(null, report.getElementById("accuracy"), "and no accuracy chart");
        assertEquals(null, report.getElementById("predictions"), "nor a prediction grid");
        assertFalse(Files.exists(dir.resolve("runs/gan/evaluation.json")), "no classes to evaluate");
    }

    @Test
    void trainsANetworkFromADl4jJsonConfiguration() throws IOException {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 1500, 300, 11);
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).updater(new Adam(0.005))
                .dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().nIn(IdxFixtures.PIXELS).nOut(24).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(24).nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .build();
        Path json = Files.writeString(dir.resolve("net.json"), conf.toJson());

        assertEquals(0, train("json", files.dataSection(), "model: {type: dl4j-json, json: " + json + "}",
                quick(2)));

        assertTrue(accuracy("json") > 0.7, "accuracy " + accuracy("json"));
        MultiLayerNetwork model = savedModel("json");
        assertEquals(IdxFixtures.PIXELS * 24 + 24 + 24 * 10 + 10, model.numParams());
        assertEquals("tanh", ((DenseLayer) model.getLayer(0).conf().getLayer()).getActivationFn().toString());
    }

    @Test
    void trainsAKerasModelOnFromItsWeightsAndFineTunesOne() throws Exception {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 1500, 300, 11);
        Path h5 = Path.of(getClass().getResource("/keras/mlp.h5").toURI());
        assertEquals(0, train("keras", files.dataSection(), "model: {type: keras, keras: " + h5 + "}", quick(2)));

        assertTrue(accuracy("keras") > 0.7, "accuracy " + accuracy("keras"));
        MultiLayerNetwork keras = NetworkFiles.importKeras(h5.toString(), "model.keras");
        MultiLayerNetwork model = savedModel("keras");
        assertEquals(keras.numParams(), model.numParams(), "the Keras model's 784 -> 16 -> 10 layers");
        assertNotEquals(keras.params(), model.params(), "trained on");
        assertEquals("model.keras", provenance("keras").get("data").get(4).get("key").asText());

        assertEquals(0, train("keras-tuned", files.dataSection(), "model: {type: fine-tune, base: " + h5
                + ", freeze: 1}", quick(3)));
        MultiLayerNetwork tuned = savedModel("keras-tuned");
        assertEquals(keras.getLayer(0).params(), tuned.getLayer(0).params(), "the frozen Keras layer");
        assertTrue(accuracy("keras-tuned") > 0.3, "accuracy " + accuracy("keras-tuned")
                + " from random frozen features, above the 0.1 of chance");
    }

    /** Runs {@code shoal train} on a job file of these YAML lines, writing runs/{@code runId}/. */
    private int train(String runId, String... sections) throws IOException {
        return Shoal.run("train", jobFile(runId, sections).toString());
    }

    /** A job file of these YAML lines, named {@code runId}, whose run goes to runs/{@code runId}/. */
    private Path jobFile(String runId, String... sections) throws IOException {
        List<String> lines = new ArrayList<>(List.of("name: " + runId));
        lines.addAll(List.of(sections));
        lines.add("output: {dir: " + dir.resolve("runs") + ", run-id: " + runId + "}");
        return Files.writeString(dir.resolve(runId + ".yaml"), String.join("\n", lines) + "\n");
    }

    /** Optimizer, training and sync lines for short runs on a few examples: fast learning, small batches. */
    private static String quick(int epochs) {
        return "optimizer: {learning-rate: 0.01}\ntraining: {epochs: " + epochs
                + ", batch-size: 16}\nsync: {workers: 2, average-every: 3}";
    }

    /** The records of a run's metrics.jsonl. */
    private static List<JsonNode> metrics(Path run) throws IOException {
        List<JsonNode> records = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            records.add(JSON.readTree(line));
        }
        return records;
    }

    private JsonNode provenance(String runId) throws IOException {
        return JSON.readTree(dir.resolve("runs/" + runId + "/provenance.json").toFile());
    }

    private double accuracy(String runId) throws IOException {
        return accuracy(provenance(runId));
    }

    private static double accuracy(JsonNode provenance) {
        return provenance.get("result").get("testAccuracy").asDouble();
    }

    /** The model a run saved, with its updater state. */
    private MultiLayerNetwork savedModel(String runId) throws IOException {
        return savedModel(dir.resolve("runs").resolve(runId));
    }

    private static MultiLayerNetwork savedModel(Path run) throws IOException {
        return ModelSerializer.restoreMultiLayerNetwork(run.resolve("model.zip").toFile(), true);
    }

    private static byte[] shifted(byte[] labels) {
        byte[] out = new byte[labels.length];
        for (int i = 0; i < labels.length; i++) {
            out[i] = (byte) ((labels[i] + 3) % 10);
        }
        return out;
    }

    @Test
    void trainsALenetOnACsvTableShapedAsImages() throws IOException {
        Path train = csv("train.csv", 1500, 11);
        Path test = csv("test.csv", 300, 12);
        assertEquals(0, train("csv",
                "data: {format: csv, train: " + train + ", test: " + test + ", scale: 0.00392156862745098,"
                        + " shape: [28, 28, 1]}",
                "model: {type: lenet, hidden: [32]}",
                "training: {epochs: 2, batch-size: 32}",
                "sync: {workers: 2, average-every: 4}"));

        JsonNode provenance = provenance("csv");
        double accuracy = accuracy(provenance);
        assertTrue(accuracy > 0.7, "accuracy " + accuracy + " should be far above the 0.1 of chance");
        assertEquals(List.of("data.train", "data.test"),
                List.of(provenance.get("data").get(0).get("key").asText(),
                        provenance.get("data").get(1).get("key").asText()));
        assertEquals(Files.size(train), provenance.get("data").get(0).get("bytes").asLong());
        MultiLayerNetwork model = savedModel("csv");
        assertEquals(1, model.layerInputSize(0), "a convolution over one grey channel");
    }
}
