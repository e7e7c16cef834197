package dev.shoal.driver.run;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.spark.SparkConf;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which OpenBLAS kernels a CPU should get ({@code OPENBLAS_CORETYPE}), and a warning for runs that did not name
 * them. OpenBLAS picks its kernels from a table of CPU models and runs its generic SSE3 kernels on a model newer
 * than the table, AVX-512 or not: ND4J's OpenBLAS 0.3.19 did on Intel's family 6 model 207, where its AVX-512
 * kernels took 25% off LeNet's step and 25-30% off the MLP's. {@code scripts/shoal} names them for every JVM it
 * starts (scripts/openblas-kernels, the same rule as {@link #forCpuFlags}); a run started any other way
 * ({@code spark-submit}) gets OpenBLAS's own choice, which this class cannot see, so it says what to set.
 */
public final class OpenBlasKernels {
    private static final Logger LOG = LoggerFactory.getLogger(OpenBlasKernels.class);
    private static final String EXECUTOR_ENV = "spark.executorEnv.OPENBLAS_CORETYPE";

    private OpenBlasKernels() {
    }

    /**
     * The kernels OpenBLAS picks itself on the CPUs it knows with these instruction sets: SkylakeX's with AVX-512
     * (F, CD, BW, DQ and VL), Haswell's with AVX2 and FMA; empty otherwise. {@code flags} is /proc/cpuinfo's
     * flags line, or its value.
     */
    static Optional<String> forCpuFlags(String flags) {
        Set<String> has = Set.of(flags.substring(flags.indexOf(':') + 1).trim().split("\\s+"));
        if (has.containsAll(List.of("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"))) {
            return Optional.of("SkylakeX");
        }
        if (has.containsAll(List.of("avx2", "fma"))) {
            return Optional.of("Haswell");
        }
        return Optional.empty();
    }

    /**
     * The warning for a run whose driver and executors were not told which kernels to use, on a CPU that has
     * some to name; empty when they were, or when there is nothing to suggest.
     */
    static Optional<String> warning(Optional<String> driverKernels, SparkConf conf, String cpuFlags) {
        if (driverKernels.isPresent() || conf.contains(EXECUTOR_ENV)) {
            return Optional.empty();
        }
        return forCpuFlags(cpuFlags).map(kernels -> "OPENBLAS_CORETYPE is not set: OpenBLAS takes its matrix "
                + "kernels from a table of CPU models and runs generic SSE3 kernels on models newer than the "
                + "table (25-30% slower steps measured). This machine's CPU takes " + kernels + "'s: set "
                + "OPENBLAS_CORETYPE=" + kernels + " in the driver's environment and --conf " + EXECUTOR_ENV + "="
                + kernels + " for executors on the same kind of CPU (scripts/shoal does both).");
    }

    /** Logs {@link #warning} for this run, with this machine's CPU flags (none where /proc/cpuinfo is missing). */
    static void warnIfUnnamed(SparkConf conf) {
        warning(SparkContexts.openBlasKernels(), conf, cpuFlags()).ifPresent(LOG::warn);
    }

    private static String cpuFlags() {
        try (var lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("flags")).findFirst().orElse("");
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }
}
