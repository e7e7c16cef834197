package dev.shoal.kernel.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * The one test helper for floats that are equal up to rounding: values Shoal computes in another order than
 * DL4J does (its own loops and products, one GEMM where DL4J makes several), or that several workers compute
 * where one process computes them whole. Where the same code runs on the same data, tests compare bits exactly
 * instead; where training is stochastic, they compare with a wide statistical margin.
 *
 * <p>The bound is norm-wise: {@code max |expected - actual| <= RTOL * scale}, where the scale is the largest
 * {@code |expected|} (or, after training, the largest change training made to a parameter). Why {@link #RTOL}:
 * <ul>
 *   <li>From below, rounding. A float32 sum of n terms taken in another order differs by at most
 *   {@code (n - 1) u sum|terms|} with unit roundoff {@code u = 2^-24 = 6e-8} (Higham, <i>Accuracy and Stability
 *   of Numerical Algorithms</i>, 3.1), and in practice by about {@code sqrt(n) u}. The reductions in these tests
 *   have n up to ~800 (LeNet's dense layer), so one forward and backward pass agrees to ~2e-6 of its scale
 *   (5e-5 in the worst case); a few training steps add a few of those, and adaptive updaters (RMSProp, Adam)
 *   divide by {@code sqrt(v)} and so pass a gradient's relative error on to the update unchanged. ND4J's
 *   OpenBLAS picks other kernels on other CPUs ({@code OPENBLAS_CORETYPE}) and oneDNN other instruction sets,
 *   so these last bits differ from machine to machine: {@code scripts/test-cpus} runs the suite under several and
 *   reports the largest difference seen (SHOAL_ROUNDING_LOG).</li>
 *   <li>From above, the bugs to catch. A gradient or an updater step off by 0.1% moves the result by 1e-3 of
 *   the scale, ten times the bound: such a change fails every comparison made here (checked by mutation).</li>
 * </ul>
 */
public final class Rounding {
    /** The norm-wise relative bound: ten times below a 0.1% error, well above what rounding gives (see above). */
    public static final double RTOL = 1e-4;

    private Rounding() {
    }

    /** {@code actual} equals {@code expected} up to rounding, relative to the largest {@code |expected|}. */
    public static void assertClose(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what + ": lengths");
        double scale = 0;
        for (float e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        check(what, expected, actual, scale, "max |expected|");
    }

    /**
     * Training moved the same parameters from {@code start} to {@code expected} and to {@code actual}: they agree
     * up to rounding relative to the largest change training made (not to the parameters themselves, which can
     * be far larger than what a few steps change, and would hide a wrong update).
     */
    public static void assertSameUpdate(String what, float[] start, float[] expected, float[] actual) {
        assertEquals(start.length, expected.length, what + ": lengths");
        assertEquals(expected.length, actual.length, what + ": lengths");
        double scale = 0;
        for (int i = 0; i < start.length; i++) {
            scale = Math.max(scale, Math.abs((double) expected[i] - start[i]));
        }
        if (scale == 0) {
            fail(what + ": training changed no parameter, so there is nothing to compare");
        }
        check(what, expected, actual, scale, "the largest change training made");
    }

    /** A scalar (a loss, a score) equal up to rounding, relative to its own size. */
    public static void assertClose(String what, double expected, double actual) {
        double difference = Math.abs(expected - actual);
        double scale = Math.abs(expected);
        record(what, difference / scale);
        if (!(difference <= RTOL * scale)) {
            fail(String.format(Locale.ROOT, "%s: expected %s but was %s, a difference of %.3g = %.3g of |expected|"
                    + " (bound %.0e)", what, expected, actual, difference, difference / scale, RTOL));
        }
    }

    private static void check(String what, float[] expected, float[] actual, double scale, String scaleName) {
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            double difference = Math.abs((double) expected[i] - actual[i]);
            if (!(difference <= worst)) { // NaN counts as the worst
                worst = difference;
                at = i;
                if (Double.isNaN(difference)) {
                    break;
                }
            }
        }
        record(what, worst / scale);
        if (!(worst <= RTOL * scale)) {
            fail(String.format(Locale.ROOT, "%s: largest difference %.3g at index %d (expected %s, actual %s) = %.3g"
                            + " of the scale %.3g (%s); bound %.0e of the scale", what, worst, at, expected[at],
                    actual[at], worst / scale, scale, scaleName, RTOL));
        }
    }

    /** Appends the relative difference seen to the file SHOAL_ROUNDING_LOG names, if any (scripts/test-cpus). */
    private static void record(String what, double relative) {
        String log = System.getenv("SHOAL_ROUNDING_LOG");
        if (log == null || log.isEmpty()) {
            return;
        }
        String test = StackWalker.getInstance().walk(frames -> frames
                .map(f -> f.getClassName().substring(f.getClassName().lastIndexOf('.') + 1) + "." + f.getMethodName())
                .filter(name -> name.contains("Test.")).findFirst().orElse("?"));
        String line = String.format(Locale.ROOT, "%.3e\t%s\t%s%n", relative, test, what);
        try {
            Files.writeString(Path.of(log), line, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
