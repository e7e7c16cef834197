package dev.shoal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.UserFacingException;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Exit codes a script can trust: 0 only for what worked, 2 for a command line that is wrong. */
class CommandLineTest {
    @Test
    void anUnknownCommandExitsWithTwoWhateverFollowsIt() {
        for (List<String> args : List.of(List.of("serve"), List.of("serve", "--help"), List.of("serve", "-h"),
                List.of("serve", "--version"), List.of("trian", "conf/x.yaml"))) {
            int[] code = new int[1];
            String err = CapturedOutput.stderr(() -> code[0] = Shoal.run(args.toArray(String[]::new)));
            assertEquals(2, code[0], String.join(" ", args) + ": " + err);
            assertTrue(err.contains("'" + args.get(0) + "'"), "names the command: " + err);
        }
        String err = CapturedOutput.stderr(() -> Shoal.run("trian"));
        assertTrue(err.contains("train"), "suggests the closest command: " + err);
    }

    @Test
    void everyCommandsHelpExitsWithZero() {
        List<String> commands = List.copyOf(new CommandLine(new Shoal()).getSubcommands().keySet());
        assertTrue(commands.containsAll(List.of("train", "bench", "keys", "sample", "help")), commands.toString());
        for (String command : commands) {
            int[] code = new int[1];
            String out = CapturedOutput.stdout(() -> code[0] = Shoal.run(command, "--help"));
            assertEquals(0, code[0], command + " --help");
            assertTrue(out.contains("Usage: shoal " + command), command + ": " + out);
        }
        assertEquals(0, Shoal.run("--help"));
    }

    @Test
    void whatAUserCanActOnIsOneLineAndAnInternalErrorKeepsItsStackTrace() {
        UserFacingException user = new UserFacingException("run directory runs/x already exists");
        // Spark wraps a task's exception in its own; the user's cause is found inside.
        RuntimeException wrapped = new RuntimeException("Job aborted due to stage failure", user);
        assertSame(user, Shoal.userFacingCause(wrapped));
        assertSame(user, Shoal.userFacingCause(user));
        ConfigException config = new ConfigException("sync.workers", 0, "must be an integer >= 1");
        assertSame(config, Shoal.userFacingCause(config));

        assertNull(Shoal.userFacingCause(new IllegalStateException("a bug: replicas out of step")),
                "an internal IllegalStateException is not mistaken for a user's error");
        assertNull(Shoal.userFacingCause(new NullPointerException()));
    }
}
