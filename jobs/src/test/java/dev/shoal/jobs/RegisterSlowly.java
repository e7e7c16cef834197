package dev.shoal.jobs;

import dev.shoal.driver.registry.Registry;
import java.nio.file.Path;
import java.util.Map;

/**
 * A registration, run in a JVM of its own, whose model.zip is read from a named pipe: it goes only as fast as
 * the test writes, so the test can kill it halfway ({@link RegistryCrashTest}).
 */
final class RegisterSlowly {
    private RegisterSlowly() {
    }

    /** Arguments: the registry, the model's name, the pipe. */
    public static void main(String[] args) {
        new Registry(args[0]).register(args[1], Map.of("model.zip", Path.of(args[2])), Map.of("by", "RegisterSlowly"));
    }
}
