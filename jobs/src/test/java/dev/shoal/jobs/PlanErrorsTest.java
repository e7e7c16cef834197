package dev.shoal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.plan.TrainingPlan;
import dev.shoal.driver.registry.GateConfig;
import dev.shoal.driver.registry.GateMetric;
import dev.shoal.driver.registry.GateRule;
import dev.shoal.driver.run.Preflight;
import dev.shoal.driver.testing.IdxFixtures;
import dev.shoal.kernel.config.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every bad job file fails before Spark starts, in one line naming the key and the value. */
class PlanErrorsTest {
    @TempDir
    Path dir;
    private Path job;

    @BeforeEach
    void writeJob() throws IOException {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 300, 50, 1);
        job = dir.resolve("job.yaml");
        Files.writeString(job, String.join("\n",
                "name: test",
                "data:",
                "  train-images: " + files.trainImages(),
                "  train-labels: " + files.trainLabels(),
                "  test-images: " + files.testImages(),
                "  test-labels: " + files.testLabels(),
                "model:",
                "  type: mlp",
                "  hidden: [32]",
                "training:",
                "  epochs: 2",
                "  batch-size: 16",
                ""));
    }

    @Test
    void aValidJobBindsWithDefaultsAndOverrides() {
        TrainingPlan plan = TrainCommand.plan(job, List.of("training.epochs=3", "model.hidden=[64, 32]",
                "optimizer.updater=sgd", "output.run-id=off", "training.augment.flip=true"));
        assertEquals("off", plan.output().runId(), "a word, not YAML 1.1's boolean");
        assertTrue(plan.training().augment().flip());
        assertEquals(3, plan.training().epochs());
        assertEquals(List.of(64, 32), plan.model().hidden());
        assertEquals(2, plan.sync().workers());
        assertEquals(0.001, plan.optimizer().learningRate());
        assertEquals("sgd", PlanBinder.enumName(plan.optimizer().updater()));
        // The resolved plan reads back to the same plan.
        TrainingPlan again = PlanBinder.bind(PlanBinder.parse(PlanBinder.toYaml(plan), "plan.yaml"),
                TrainingPlan.class);
        assertEquals(plan, again);
        assertEquals(300, Preflight.check(plan).train().examples());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "unknown key          | colour=red                    | colour = \"red\": unknown key; keys in the top level: name, data",
        "typo with suggestion | training.epoch=3              | training.epoch = 3: unknown key; did you mean training.epochs?",
        "negative epochs      | training.epochs=-1            | training.epochs = -1: must be an integer >= 1",
        "zero workers         | sync.workers=0                | sync.workers = 0: must be an integer >= 1",
        "unknown model        | model.type=resnet             | model.type = \"resnet\": unknown value; allowed: mlp",
        "unknown updater      | optimizer.updater=adamw       | optimizer.updater = \"adamw\": unknown value; allowed: sgd, momentum, adam, rmsprop",
        "wrong type           | training.batch-size=lots      | training.batch-size = \"lots\": must be an integer",
        "dropout out of range | model.dropout=1.5             | model.dropout = 1.5: must be in [0, 1)",
        "negative rate        | optimizer.learning-rate=-0.1  | optimizer.learning-rate = -0.1: must be a finite number > 0",
        "missing data path    | data.train-images=/no/such.gz | data.train-images = /no/such.gz: no such file",
        "batch over dataset   | training.batch-size=151       | training.batch-size = 151: larger than the 150 examples each of the 2 workers holds (300 training examples)",
        "zero-size layer      | model.hidden=[32, 0]          | model.hidden = [32, 0]: every layer size must be >= 1",
        "table without train  | data.format=csv               | data.train = (missing): required with format csv",
        "image shape of 2     | data.shape=[28, 28]           | data.shape = [28, 28]: must be [height, width, channels] or empty",
        "scale of zero        | data.scale=0                  | data.scale = 0.0: must be a finite number > 0",
        "column split unnamed | sync.federated.split=column   | sync.federated.column = '': split: column needs the name",
        "no clients sampled   | sync.federated.fraction=0     | sync.federated.fraction = 0.0: must be in (0, 1]",
    })
    void badValuesFailInOneLineNamingKeyAndValue(String name, String override, String expected) {
        ConfigException e = assertThrows(ConfigException.class,
                () -> Preflight.check(TrainCommand.plan(job, List.of(override))));
        assertTrue(e.getMessage().startsWith(expected), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    @Test
    void federatedSettingsThatCannotWorkWithTheDataAreNamed() {
        ConfigException idx = assertThrows(ConfigException.class, () -> Preflight.check(TrainCommand.plan(job,
                List.of("sync.strategy=federated", "sync.federated.split=column", "sync.federated.column=user"))));
        assertTrue(idx.getMessage().startsWith("sync.federated.split = column: needs a table"), idx.getMessage());
        assertTrue(idx.getMessage().endsWith("data.format is idx"), idx.getMessage());
        ConfigException many = assertThrows(ConfigException.class, () -> Preflight.check(TrainCommand.plan(job,
                List.of("sync.strategy=federated", "sync.federated.clients=301"))));
        assertEquals("sync.federated.clients = 301: more clients than the 300 training examples", many.getMessage());
    }

    @Test
    void missingRequiredSectionIsNamed() throws IOException {
        Files.writeString(job, Files.readString(job).replace("model:\n  type: mlp\n  hidden: [32]\n", ""));
        ConfigException e = assertThrows(ConfigException.class, () -> TrainCommand.plan(job, List.of()));
        assertTrue(e.getMessage().startsWith("model = (missing): required"), e.getMessage());
    }

    @Test
    void missingJobFileIsNamed() {
        Path missing = dir.resolve("nope.yaml");
        ConfigException e = assertThrows(ConfigException.class, () -> TrainCommand.plan(missing, List.of()));
        assertEquals("job file = " + missing + ": no such file", e.getMessage());
    }

    @Test
    void cliExitsWithTwoOnAConfigError() {
        assertEquals(2, Shoal.run("train", job.toString(), "--set", "sync.workers=0", "--dry-run"));
        assertEquals(0, Shoal.run("train", job.toString(), "--dry-run"));
    }

    @Test
    void resumeNeedsARunDirectoryAndNothingElse() throws IOException {
        Path notARun = Files.createDirectories(dir.resolve("not-a-run"));
        assertEquals(List.of("--resume = " + notARun + ": is not a run directory: it has no plan.yaml"),
                stderrLines(() -> assertEquals(2, Shoal.run("train", "--resume", notARun.toString()))));
        Files.writeString(notARun.resolve("plan.yaml"), Files.readString(job));
        assertEquals(List.of("--set = training.epochs=3: a resumed run keeps the plan it started with "
                        + "(only --master may change)"),
                stderrLines(() -> assertEquals(2, Shoal.run("train", "--resume", notARun.toString(),
                        "--set", "training.epochs=3"))));
        assertEquals(List.of("command line = (nothing): give either a job file or --resume RUN_DIR"),
                stderrLines(() -> assertEquals(2, Shoal.run("train"))));
    }

    @Test
    void anOutputFolderThatCannotBeCreatedIsNamedAndNothingIsWritten() throws IOException {
        Path file = Files.writeString(dir.resolve("a-file"), "not a folder");
        assertEquals(List.of("cannot create run directory " + file.resolve("blocked") + ": " + file
                        + " is a file, not a folder (output.dir)"),
                stderrLines(() -> assertEquals(1, Shoal.run("train", job.toString(),
                        "--set", "output.dir=" + file, "--set", "output.run-id=blocked"))));
        assertEquals(List.of("cannot create run directory " + file.resolve("runs/blocked") + ": "
                        + file.resolve("runs") + ": Not a directory"),
                stderrLines(() -> assertEquals(1, Shoal.run("train", job.toString(),
                        "--set", "output.dir=" + file.resolve("runs"), "--set", "output.run-id=blocked"))));
        assertEquals("not a folder", Files.readString(file));
    }

    @Test
    void aKerasFileThatIsNotHdf5IsRefusedBeforeAnythingIsWritten() throws IOException {
        Path keras3 = Files.write(dir.resolve("model.keras"), new byte[] {'P', 'K', 3, 4});
        assertEquals(List.of("model.keras = " + keras3 + ": is not an HDF5 file; save the Keras model with "
                        + "model.save(\"model.h5\") (Keras 3's .keras archives cannot be imported)"),
                stderrLines(() -> assertEquals(2, Shoal.run("train", job.toString(), "--set", "model.type=keras",
                        "--set", "model.hidden=[]", "--set", "model.keras=" + keras3,
                        "--set", "output.dir=" + dir.resolve("runs")))));
        assertFalse(Files.exists(dir.resolve("runs")), "no run directory");
    }

    private static List<String> stderrLines(Runnable action) {
        return CapturedOutput.stderr(action).lines().map(l -> l.replaceFirst("^error: ", "")).toList();
    }

    @Test
    void gateRulesBindStrictly() {
        GateConfig gate = PlanBinder.bind(PlanBinder.parse("rules: [{metric: accuracy, kind: at-least, value: 0.85},"
                + " {metric: macro-f1, kind: relative-gain, value: -0.01}]", "gate"), GateConfig.class);
        assertEquals(List.of(new GateRule(GateMetric.ACCURACY, GateRule.Kind.AT_LEAST, 0.85),
                new GateRule(GateMetric.MACRO_F1, GateRule.Kind.RELATIVE_GAIN, -0.01)), gate.rules());
        ConfigException e = assertThrows(ConfigException.class, () -> PlanBinder.bind(PlanBinder.parse(
                "rules: [{metric: accuracy, kind: atleast, value: 0.85}]", "gate"), GateConfig.class));
        assertEquals("rules[0].kind = \"atleast\": unknown value; allowed: at-least, at-most, gain, relative-gain",
                e.getMessage());

        // plan.yaml writes the rules as a job file does, so a run's plan binds again (evaluate, registry copies).
        TrainingPlan plan = TrainCommand.plan(job, List.of("gate.rules=[{metric: macro-f1, kind: relative-gain, "
                + "value: -0.01}]"));
        TrainingPlan again = PlanBinder.bind(PlanBinder.parse(PlanBinder.toYaml(plan), "plan.yaml"),
                TrainingPlan.class);
        assertEquals(plan.gate(), again.gate());
    }

    @Test
    void keyTableListsEveryKeyWithItsDefault() {
        String table = KeysCommand.table();
        assertTrue(table.contains("| `training.batch-size` | `128` |"), table);
        assertTrue(table.contains("| `model.type` | (required) |"), table);
        assertTrue(table.contains("| `data.train` | `''` | Tables and cifar: the training set"), table);
        assertTrue(table.contains("| `optimizer.schedule.type` | `none` |"), table);
    }
}
