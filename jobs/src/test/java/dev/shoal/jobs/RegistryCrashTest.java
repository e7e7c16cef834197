package dev.shoal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.registry.Registry;
import dev.shoal.driver.testing.RegistryRace;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A registration killed with SIGKILL halfway through leaves the registry as it was, and gc removes its debris. */
class RegistryCrashTest {
    @TempDir
    Path dir;

    @Test
    void aRegistrationKilledHalfwayLeavesTheRegistryReadableAndTheChampionUnchanged() throws Exception {
        Registry registry = new Registry(dir.resolve("registry").toString());
        RegistryRace.register(registry, "m", "the champion");
        assertTrue(registry.promote("m", 1, 0, "first"));
        Path pipe = dir.resolve("model.zip");
        assertEquals(0, new ProcessBuilder("mkfifo", pipe.toString()).start().waitFor());

        Process registering = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), RegisterSlowly.class.getName(), registry.root(), "m",
                pipe.toString()).redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
        Path version = dir.resolve("registry/m/versions/2");
        try (OutputStream model = Files.newOutputStream(pipe)) {
            model.write(new byte[256 * 1024]);
            model.flush();
            // Half a model is on its way into version 2 when the process dies.
            for (int i = 0; i < 300 && partialModel(version).isEmpty(); i++) {
                Thread.sleep(100);
            }
            assertTrue(partialModel(version).isPresent(), "the registration is writing version 2's model");
            registering.destroyForcibly();
            assertTrue(registering.waitFor(60, TimeUnit.SECONDS));
        } catch (IOException brokenPipe) {
            // the reader is gone: expected once it is killed
        }
        assertEquals(137, registering.exitValue(), "killed by SIGKILL");

        assertEquals(List.of(1), registry.versions("m"), "the unfinished version is not a version");
        assertEquals(1, registry.champion("m").orElseThrow().version());
        String list = CapturedOutput.stdout(() -> assertEquals(0, Shoal.run("registry", "list", "m", "--registry",
                registry.root())));
        assertTrue(list.contains("<- champion"), list);
        Registry.Collected collected = registry.gc("m", 5, Duration.ZERO);
        assertEquals(List.of(version.toString()), collected.debris());
        assertTrue(Files.notExists(version));
        assertEquals(2, RegistryRace.register(registry, "m", "next"), "registering goes on");
    }

    /** The temporary file of version 2's model.zip, once it holds bytes. */
    private static Optional<Path> partialModel(Path version) throws IOException {
        if (!Files.isDirectory(version)) {
            return Optional.empty();
        }
        try (Stream<Path> files = Files.list(version)) {
            return files.filter(f -> f.getFileName().toString().startsWith("_model.zip")).filter(f -> {
                try {
                    return Files.size(f) > 0;
                } catch (IOException e) {
                    return false;
                }
            }).findFirst();
        }
    }
}
