package dev.shoal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.data.IdxFile;
import dev.shoal.driver.run.BatchPrediction;
import dev.shoal.driver.testing.IdxFixtures;
import dev.shoal.kernel.testing.Rounding;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** {@code shoal predict}: every row once, with its keys, scored as plain DL4J scores it; the model loaded once. */
class PredictTest {
    @TempDir
    Path dir;

    private int train(String runId, String... job) throws IOException {
        return TestJobs.train(dir, runId, job);
    }

    @Test
    void idxImagesAreScoredOnceEachAsDl4jScoresThemWithTheModelLoadedOncePerJvm() throws IOException {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 1200, 300, 11);
        List<String> names = IntStream.range(0, 10).mapToObj(k -> "kind-" + (char) ('a' + k)).toList();
        assertEquals(0, train("m", "name: m", files.dataSection().replace("}", ", class-names: " + names + "}"),
                "model: {type: mlp, hidden: [32]}",
                "training: {epochs: 2, batch-size: 32}", "sync: {workers: 2}"));
        Path out = dir.resolve("scored");
        Path png = dir.resolve("predictions.png");
        int loadsBefore = BatchPrediction.loads();

        String printed = CapturedOutput.stdout(() -> assertEquals(0, Shoal.run("predict",
                dir.resolve("runs/m").toString(), "--input", files.testImages(), "--labels", files.testLabels(),
                "--output", out.toString(), "--output-format", "csv", "--batch-size", "64", "--grid",
                png.toString())));

        assertTrue(printed.contains("scored 300 rows in "), printed);
        assertEquals(1, BatchPrediction.loads() - loadsBefore, "restored once in this JVM, for both partitions");
        List<String[]> rows = new ArrayList<>(csvRows(out, "index,label,prediction,probability,model_version,"
                + "class_name")
                .stream().map(l -> l.split(",")).toList());
        rows.sort((a, b) -> Long.compare(Long.parseLong(a[0]), Long.parseLong(b[0])));
        assertEquals(300, rows.size());
        MultiLayerNetwork net = ModelSerializer.restoreMultiLayerNetwork(dir.resolve("runs/m/model.zip").toFile());
        float[] pixels = IdxFile.open(files.testImages()).readScaled(0, 300);
        float[] expected = net.output(Nd4j.create(pixels, new long[] {300, 784}, 'c'))
                .castTo(DataType.FLOAT).data().asFloat();
        float[] actual = new float[300 * 10];
        for (int i = 0; i < 300; i++) {
            String[] row = rows.get(i);
            assertEquals(i, Integer.parseInt(row[0]), "every index exactly once");
            String[] p = row[3].split(";");
            assertEquals(10, p.length, "one probability per class");
            for (int k = 0; k < 10; k++) {
                actual[i * 10 + k] = Float.parseFloat(p[k]);
            }
            assertEquals(argMax(actual, i), Integer.parseInt(row[2]), "row " + i);
            assertTrue(row[4].matches("sha256:[0-9a-f]{12}"), row[4]);
            assertEquals(names.get(Integer.parseInt(row[2])), row[5], "the predicted class's name");
        }
        // Minibatches of 64 against one of 300: the same products, other blocking.
        Rounding.assertClose("probabilities", expected, actual);
        assertEquals(labels(files.testLabels()), rows.stream().map(r -> Integer.parseInt(r[1])).toList());

        String bench = CapturedOutput.stdout(() -> assertEquals(0, Shoal.run("bench-predict",
                dir.resolve("runs/m").toString(), "--input", files.testImages(), "--repeats", "1")));
        assertTrue(bench.contains("300 rows of 784 values, batch 256, Shoal on local[2]"), bench);
        assertEquals(3, bench.lines().filter(l -> l.matches("\\| (dl4j|shoal) .* \\| [0-9.]+ \\|")).count(),
                bench);

        BufferedImage grid = ImageIO.read(png.toFile());
        assertEquals(5 * (124 + 4), grid.getWidth(), "5 columns of captioned 112-px images");
        String again = CapturedOutput.stderr(() -> assertEquals(2, Shoal.run("predict",
                dir.resolve("runs/m").toString(), "--input", files.testImages(), "--output", out.toString())));
        assertEquals("error: --output = " + out + ": exists; predict writes a new folder and never overwrites",
                again.strip());
    }

    @Test
    void aTableKeepsItsKeyColumnsBesideThePredictions() throws IOException {
        Random random = new Random(5);
        StringBuilder train = new StringBuilder("a,b,label\n");
        for (int i = 0; i < 400; i++) {
            int label = i % 2;
            train.append(String.format(Locale.ROOT, "%.3f,%.3f,%d%n", random.nextGaussian() + 3 * label,
                    random.nextGaussian(), label));
        }
        Path trainCsv = Files.writeString(dir.resolve("train.csv"), train);
        assertEquals(0, train("t", "name: t", "data: {format: csv, train: " + trainCsv + ", test: " + trainCsv
                + ", classes: 2}", "model: {type: mlp, hidden: [8]}", "training: {epochs: 2, batch-size: 16}",
                "sync: {workers: 2}"));
        StringBuilder today = new StringBuilder("customer,a,b,region\n");
        for (int i = 0; i < 50; i++) {
            today.append(String.format(Locale.ROOT, "c%03d,%.1f,0.0,%s%n", i, i < 25 ? -3.0 : 6.0,
                    i % 3 == 0 ? "north" : "south"));
        }
        Path input = Files.writeString(dir.resolve("today.csv"), today);
        Path out = dir.resolve("today-scored");

        assertEquals(0, Shoal.run("predict", dir.resolve("runs/t").toString(), "--input", input.toString(),
                "--output", out.toString()));

        MultiLayerNetwork net = ModelSerializer.restoreMultiLayerNetwork(dir.resolve("runs/t/model.zip").toFile());
        SparkSession spark = SparkSession.builder().master("local[1]").appName("read").getOrCreate();
        try {
            List<Row> scored = spark.read().parquet(out.toString()).orderBy("customer").collectAsList();
            assertEquals(List.of("customer", "region", "prediction", "probability", "model_version"),
                    Arrays.asList(spark.read().parquet(out.toString()).columns()));
            assertEquals(50, scored.size());
            for (int i = 0; i < 50; i++) {
                Row r = scored.get(i);
                assertEquals(String.format("c%03d", i), r.getString(0), "every customer once, with its key");
                assertEquals(i % 3 == 0 ? "north" : "south", r.getString(1));
                float[] p = net.output(Nd4j.create(new float[] {i < 25 ? -3f : 6f, 0f}, new long[] {1, 2}, 'c'))
                        .castTo(DataType.FLOAT).data().asFloat();
                Rounding.assertClose("probabilities of " + r.getString(0), p,
                        new float[] {r.<Float>getList(3).get(0), r.<Float>getList(3).get(1)});
                assertEquals(p[1] > p[0] ? 1 : 0, r.getInt(2));
            }
        } finally {
            spark.stop();
        }
    }

    @Test
    void textsAreScoredWithTheModelsOwnVocabularyAndKeepTheirIds() throws IOException {
        String[] good = {"great", "superb", "moving"};
        String[] bad = {"awful", "dull", "boring"};
        String[] shared = {"the", "film", "plot", "cast", "was"};
        Random random = new Random(3);
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 800; i++) {
            String[] opinion = i % 2 == 0 ? bad : good;
            String text = shared[random.nextInt(5)] + " " + opinion[random.nextInt(3)] + " " + shared[random.nextInt(5)]
                    + " " + opinion[random.nextInt(3)];
            lines.append("{\"t\": \"").append(text).append("\", \"s\": ").append(i % 2).append("}\n");
        }
        Path reviews = Files.writeString(dir.resolve("reviews.jsonl"), lines);
        assertEquals(0, train("txt", "name: txt", "data: {format: text, train: " + reviews + ", text: t, label: s, "
                        + "holdout: 0.2, classes: 2, max-length: 6, vocabulary: 20}",
                "model: {type: lstm-classifier, embedding: 8, units: 8, hidden: []}",
                "optimizer: {learning-rate: 0.02}", "training: {epochs: 2, batch-size: 16}", "sync: {workers: 2}"));
        String[] texts = {"the plot was superb", "a dull and boring film", "moving", "unheard words only"};
        StringBuilder array = new StringBuilder("[");
        for (int i = 0; i < texts.length; i++) {
            array.append(i == 0 ? "" : ",").append("{\"id\": \"r").append(i).append("\", \"t\": \"")
                    .append(texts[i]).append("\"}");
        }
        Path today = Files.writeString(dir.resolve("today.json"), array.append("]"));
        Path out = dir.resolve("texts-scored");

        assertEquals(0, Shoal.run("predict", dir.resolve("runs/txt").toString(), "--input", today.toString(),
                "--output", out.toString(), "--output-format", "csv"));

        List<String> rows = csvRows(out, "id,prediction,probability,model_version");
        rows.sort(null);
        assertEquals(texts.length, rows.size());
        MultiLayerNetwork net = ModelSerializer.restoreMultiLayerNetwork(dir.resolve("runs/txt/model.zip").toFile());
        var vocabulary = dev.shoal.driver.data.Vocabulary.read(dir.resolve("runs/txt/vocabulary.txt"));
        for (int i = 0; i < texts.length; i++) {
            String[] row = rows.get(i).split(",");
            assertEquals("r" + i, row[0]);
            float[] ids = new float[6];
            vocabulary.sequence(texts[i], 6, ids, 0);
            float[] expected = net.output(Nd4j.create(ids, new long[] {1, 6}, 'c')).castTo(DataType.FLOAT).data()
                    .asFloat();
            String[] p = row[2].split(";");
            Rounding.assertClose(texts[i], expected, new float[] {Float.parseFloat(p[0]), Float.parseFloat(p[1])});
        }
    }

    @Test
    void imageFilesAreDecodedAsTrainingDecodesThemAndKeepTheirPaths() throws IOException {
        Random random = new Random(9);
        int[][] colours = {{220, 30, 30}, {30, 200, 40}, {40, 50, 230}};
        String[] names = {"red", "green", "blue"};
        for (String set : List.of("train", "test")) {
            for (int c = 0; c < 3; c++) {
                Path folder = Files.createDirectories(dir.resolve("shapes").resolve(set).resolve(names[c]));
                for (int i = 0; i < 40; i++) {
                    ImageIO.write(square(colours[c], random), "png", folder.resolve(i + ".png").toFile());
                }
            }
        }
        assertEquals(0, train("img", "name: img", "data: {format: images, train: " + dir.resolve("shapes/train")
                        + ", test: " + dir.resolve("shapes/test") + ", classes: 3, shape: [8, 8, 3]}",
                "model: {type: mlp, hidden: [8]}", "optimizer: {learning-rate: 0.01}",
                "training: {epochs: 2, batch-size: 8}", "sync: {workers: 2}"));
        Path today = Files.createDirectories(dir.resolve("today/nested"));
        for (int i = 0; i < 5; i++) {
            ImageIO.write(square(colours[i % 3], random), "png", today.resolve("shot-" + i + ".png").toFile());
        }
        Files.writeString(today.resolve("notes.txt"), "not an image");
        Path out = dir.resolve("images-scored");

        Path png = dir.resolve("today.png");
        assertEquals(0, Shoal.run("predict", dir.resolve("runs/img").toString(), "--input",
                dir.resolve("today").toString(), "--output", out.toString(), "--output-format", "csv", "--grid",
                png.toString()));
        BufferedImage grid = ImageIO.read(png.toFile());
        assertEquals(List.of(3 * (124 + 4), 2 * (112 + 18 + 4)), List.of(grid.getWidth(), grid.getHeight()),
                "5 images in 3 columns and 2 rows, each 8 px shown 14 times as large, with a caption");

        List<String> rows = csvRows(out, "file,prediction,probability,model_version,class_name");
        rows.sort(null);
        assertEquals(5, rows.size(), "every image once, the text file left out: " + rows);
        MultiLayerNetwork net = ModelSerializer.restoreMultiLayerNetwork(dir.resolve("runs/img/model.zip").toFile());
        for (int i = 0; i < 5; i++) {
            String[] row = rows.get(i).split(",");
            assertTrue(row[0].endsWith("today/nested/shot-" + i + ".png"), row[0]);
            float[] x = dev.shoal.driver.data.ImageFolderDataSource.decode(
                    today.resolve("shot-" + i + ".png").toString(), new dev.shoal.kernel.InputShape(8, 8, 3));
            float[] expected = net.output(Nd4j.create(x, new long[] {1, x.length}, 'c')).castTo(DataType.FLOAT)
                    .data().asFloat();
            String[] p = row[2].split(";");
            float[] actual = new float[3];
            for (int k = 0; k < 3; k++) {
                actual[k] = Float.parseFloat(p[k]);
            }
            Rounding.assertClose(row[0], expected, actual);
            assertEquals(List.of("blue", "green", "red").get(Integer.parseInt(row[1])), row[4],
                    "the class folder's name, recorded in the run's plan by training");
        }
        assertTrue(Files.readString(dir.resolve("runs/img/plan.yaml")).contains("class-names:\n  - blue\n  - green\n  - red"),
                Files.readString(dir.resolve("runs/img/plan.yaml")));
    }

    /** An 8 x 8 square of {@code rgb} with a little noise. */
    private static BufferedImage square(int[] rgb, Random random) {
        BufferedImage image = new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 8; x++) {
                int r = Math.min(255, rgb[0] + random.nextInt(20));
                int g = Math.min(255, rgb[1] + random.nextInt(20));
                int b = Math.min(255, rgb[2] + random.nextInt(20));
                image.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        return image;
    }

    /** The data lines of every CSV part in {@code out}, each part checked to begin with {@code header}. */
    private static List<String> csvRows(Path out, String header) throws IOException {
        List<String> rows = new ArrayList<>();
        try (var parts = Files.list(out)) {
            for (Path part : parts.filter(p -> p.getFileName().toString().endsWith(".csv")).toList()) {
                List<String> lines = Files.readAllLines(part);
                assertEquals(header, lines.get(0), part.toString());
                rows.addAll(lines.subList(1, lines.size()));
            }
        }
        return rows;
    }

    private static List<Integer> labels(String idxLabels) {
        IdxFile file = IdxFile.open(idxLabels);
        List<Integer> labels = new ArrayList<>();
        file.forEachRecord((i, values) -> labels.add(values[0] & 0xff));
        return labels;
    }

    private static int argMax(float[] p, int row) {
        int best = 0;
        for (int k = 1; k < 10; k++) {
            if (p[row * 10 + k] > p[row * 10 + best]) {
                best = k;
            }
        }
        return best;
    }
}
