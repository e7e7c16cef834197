package dev.shoal.kernel;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import javax.management.JMException;
import javax.management.ObjectName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Points HotSpot's optimizing compiler at the code that trains. A fresh JVM compiles as it goes: on two cores,
 * C2's single thread took 60% of a core through the first three epochs of the Fashion-MNIST MLP (C1 another
 * 20%), most of it on Spark's scheduler, Java serialization and ND4J's Java dispatch, code that runs a few
 * times a step or a round and gains little from C2. The workers had the rest, so each epoch ran faster than
 * the one before as the compiler's queue emptied. A JVM with C1 only ran flat from epoch 2, at two thirds of
 * the speed: the warm-up was the JIT. With that code left to C1 ({@code jit-directives.json}), C2 compiles
 * Shoal's kernels and the JDK during epoch 1 and then falls quiet. C2 does not inline that code into what it
 * compiles either: Shoal's methods that only dispatch to ND4J (a dense network's forward and backward pass, the
 * ReLU's gradient) reached C2's thresholds in epochs 6-10 and took 250-500 ms of C2 each with ND4J's Java inlined
 * (7 kB of code), 6-31 ms without, and the epoch they fell in ran 10-20% slower. README.md (Speed from the second
 * epoch) has the runs before and after.
 *
 * <p>Installed at run time through the JVM's diagnostic command ({@code jcmd <pid> Compiler.directives_add}),
 * so every JVM Shoal trains in (the launcher's, an executor's, spark-submit's) gets them without flags or file
 * paths; a JVM without that command trains as before.
 */
public final class JitDirectives {
    private static final Logger LOG = LoggerFactory.getLogger(JitDirectives.class);
    private static final String RESOURCE = "jit-directives.json";
    private static boolean tried;
    private static boolean installed;

    private JitDirectives() {
    }

    /** Installs the directives once in this JVM; returns whether they are in force. */
    public static synchronized boolean install() {
        if (!tried) {
            tried = true;
            installed = add();
        }
        return installed;
    }

    private static boolean add() {
        try (InputStream in = JitDirectives.class.getResourceAsStream(RESOURCE)) {
            Path file = Files.createTempFile("shoal-jit-", ".json");
            try {
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                String answer = diagnosticCommand("compilerDirectivesAdd", file.toString());
                if (answer.contains("added")) {
                    return true;
                }
                LOG.warn("compiler directives not installed: {}", answer.strip());
            } finally {
                Files.deleteIfExists(file);
            }
        } catch (IOException | JMException | RuntimeException e) {
            LOG.debug("compiler directives not installed", e);
        }
        return false;
    }

    /** Runs one of the JVM's diagnostic commands ({@code jcmd}'s) by its MBean operation name. */
    static String diagnosticCommand(String operation, String... arguments) throws JMException {
        Object answer = ManagementFactory.getPlatformMBeanServer().invoke(
                new ObjectName("com.sun.management:type=DiagnosticCommand"), operation,
                new Object[] {arguments}, new String[] {String[].class.getName()});
        return String.valueOf(answer);
    }
}
