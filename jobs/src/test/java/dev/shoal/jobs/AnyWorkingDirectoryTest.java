package dev.shoal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.testing.IdxFixtures;
import dev.shoal.kernel.config.Key;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job runs the same from any working directory (schedulers rarely start in the project folder): relative
 * paths in a job file are read against the job file's folder, those given with --set against the working
 * directory; the shipped jobs, their data fetch and the bench's suites all follow.
 */
class AnyWorkingDirectoryTest {
    private static final Path HOME = Path.of(System.getProperty("shoal.home"));

    @TempDir
    Path dir;

    /** Every key declared a path, found in the plan's records, with its dotted name. */
    private static List<String> pathKeys(Class<?> type, String prefix) {
        List<String> keys = new ArrayList<>();
        for (RecordComponent c : type.getRecordComponents()) {
            String key = prefix + PlanBinder.keyName(c);
            if (c.getType().isRecord()) {
                keys.addAll(pathKeys(c.getType(), key + "."));
            } else if (c.getAnnotation(Key.class).path()) {
                keys.add(key);
            }
        }
        return keys;
    }

    private static JsonNode at(JsonNode root, String dotted) {
        JsonNode node = root;
        for (String part : dotted.split("\\.")) {
            node = node.get(part);
        }
        return node;
    }

    @Test
    void everyPathKeyIsReadAgainstTheJobFilesFolder() {
        List<String> keys = pathKeys(TrainingPlan.class, "");
        assertEquals(List.of("data.train-images", "data.train-labels", "data.test-images", "data.test-labels",
                "data.train", "data.test", "model.base", "model.json", "model.keras", "training.warm-start",
                "output.dir", "output.copy-to", "checkpoint.dir"), keys, "the keys that name files or folders");
        ObjectNode tree = JsonNodeFactory.instance.objectNode();
        keys.forEach(k -> PlanBinder.override(tree, k + "=../shared/" + k));
        PlanBinder.override(tree, "output.copy-to=hdfs://namenode/models");
        PlanBinder.override(tree, "data.test=/already/absolute");
        PlanBinder.override(tree, "model.json=");

        PlanBinder.resolvePaths(tree, TrainingPlan.class, dir.resolve("conf"));

        for (String k : keys) {
            String expected = switch (k) {
                case "output.copy-to" -> "hdfs://namenode/models";
                case "data.test" -> "/already/absolute";
                case "model.json" -> "";
                default -> dir.resolve("shared").resolve(k).toString();
            };
            assertEquals(expected, at(tree, k).asText(), k);
        }
    }

    @Test
    void relativePathsFromTheCommandLineAreReadAgainstTheWorkingDirectory() throws IOException {
        Path conf = Files.createDirectories(dir.resolve("conf"));
        Path job = Files.writeString(conf.resolve("job.yaml"), String.join("\n", "data:",
                "  train-images: ../data/a", "  train-labels: ../data/b", "  test-images: ../data/c",
                "  test-labels: ../data/d", "model: {type: mlp, hidden: [8]}", "checkpoint: {dir: checkpoints}", ""));
        TrainingPlan plan = TrainCommand.plan(job, List.of("data.test-labels=labels/d", "output.copy-to=copies"));

        Path cwd = Path.of("").toAbsolutePath();
        assertEquals(dir.resolve("data/a").toString(), plan.data().trainImages());
        assertEquals(cwd.resolve("labels/d").toString(), plan.data().testLabels(), "--set");
        assertEquals(conf.resolve("checkpoints").toString(), plan.checkpoint().dir());
        assertEquals(cwd.resolve("copies").toString(), plan.output().copyTo(), "--set");
        assertEquals(cwd.resolve("runs").toString(), plan.output().dir(), "the default");
        String yaml = PlanBinder.toYaml(plan);
        assertTrue(yaml.contains("train-images: " + dir.resolve("data/a")), "plan.yaml records absolute paths: " + yaml);
    }

    @Test
    void aShippedJobRunsFromAnotherFolderThroughARelativePath() throws Exception {
        Path project = Files.createDirectories(dir.resolve("project/conf"));
        Files.copy(HOME.resolve("conf/fashion-mnist-mlp.yaml"), project.resolve("fashion-mnist-mlp.yaml"));
        IdxFixtures.writeSynthetic(Files.createDirectories(dir.resolve("project/data/fashion-mnist")), 600, 100, 5);
        Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
        String job = "../project/conf/fashion-mnist-mlp.yaml";

        Output dry = shoal(elsewhere, "train", job, "--dry-run");
        assertEquals(0, dry.code(), dry.text());
        assertTrue(dry.text().contains("plan OK: 600 training and 100 test examples"), dry.text());
        assertTrue(dry.text().contains("train-images: " + dir.resolve("project/data/fashion-mnist/"
                + "train-images-idx3-ubyte.gz")), dry.text());

        Output run = shoal(elsewhere, "train", job, "--set", "training.epochs=1", "--set", "output.run-id=short");
        assertEquals(0, run.code(), run.text());
        assertTrue(Files.isRegularFile(dir.resolve("project/runs/short/model.zip")), run.text());
        try (Stream<Path> left = Files.list(elsewhere)) {
            assertEquals(List.of(), left.toList(), "nothing written in the working directory");
        }
    }

    @Test
    void everyShippedJobThatNamesADataSetFetchesItWhenAnyOfItsFilesIsMissing() throws Exception {
        Path home = Files.createDirectories(dir.resolve("home/scripts"));
        Path calls = dir.resolve("calls.txt");
        Path stub = Files.writeString(home.resolve("fetch-data"), "#!/bin/sh\necho \"$1\" >> " + calls + "\n");
        assertTrue(stub.toFile().setExecutable(true));
        Path conf = Files.createDirectories(dir.resolve("clone/conf"));
        List<String> expected = new ArrayList<>();
        try (Stream<Path> jobs = Files.list(HOME.resolve("conf"))) {
            // Search files (shoal tune) name a job rather than being one.
            for (Path shipped : jobs.filter(p -> p.toString().endsWith(".yaml")
                    && !p.toString().endsWith("-tune.yaml")).sorted().toList()) {
                Path copy = Files.copy(shipped, conf.resolve(shipped.getFileName()));
                TrainingPlan plan = TrainCommand.plan(copy, List.of());
                boolean fetched = DataFetcher.fetchIfMissing(plan.data(), dir.resolve("home"));
                assertEquals(!plan.data().fetch().isEmpty(), fetched, shipped.getFileName() + " on a fresh clone");
                if (fetched) {
                    expected.add(plan.data().fetch());
                }
            }
        }
        assertTrue(expected.containsAll(List.of("fashion-mnist", "mnist", "imdb", "moby-dick", "twemoji")),
                expected.toString());
        assertEquals(expected, Files.readAllLines(calls, StandardCharsets.UTF_8));
    }

    @Test
    void benchSuitesFindTheirJobFilesFromAnywhere() {
        for (BenchCommand.Suite suite : BenchCommand.Suite.values()) {
            Path job = suite.jobFile();
            assertTrue(job.isAbsolute() && Files.isRegularFile(job), suite + ": " + job);
            assertFalse(TrainCommand.plan(job, List.of()).data().fetch().isEmpty(), suite + " fetches its data");
        }
    }

    private record Output(int code, String text) {
    }

    private static Output shoal(Path workingDirectory, String... args) throws Exception {
        Process p = new ProcessBuilder(Shoal.inNewJvm(args)).directory(workingDirectory.toFile())
                .redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "shoal " + String.join(" ", args) + " did not finish");
        return new Output(p.exitValue(), text);
    }
}
