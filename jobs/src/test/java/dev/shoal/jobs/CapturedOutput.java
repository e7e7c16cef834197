package dev.shoal.jobs;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
import java.util.function.Supplier;

/** What a piece of code prints on System.out or System.err, for tests of the command line. */
final class CapturedOutput {
    private CapturedOutput() {
    }

    static String stdout(Runnable action) {
        return capture(action, () -> System.out, System::setOut);
    }

    static String stderr(Runnable action) {
        return capture(action, () -> System.err, System::setErr);
    }

    private static String capture(Runnable action, Supplier<PrintStream> current, Consumer<PrintStream> set) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream original = current.get();
        set.accept(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            action.run();
        } finally {
            set.accept(original);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
