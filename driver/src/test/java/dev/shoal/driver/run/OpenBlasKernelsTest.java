package dev.shoal.driver.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

class OpenBlasKernelsTest {
    /** Abridged flags of the Intel Xeon (family 6, model 207) this project measures on. */
    private static final String AVX512 = "flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx avx2 avx512f avx512dq "
            + "avx512cd avx512bw avx512vl avx512_vnni";
    private static final String AVX2 = "flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx avx2 bmi2";

    @Test
    void theKernelsFollowTheInstructionSets() {
        assertEquals(Optional.of("SkylakeX"), OpenBlasKernels.forCpuFlags(AVX512));
        assertEquals(Optional.of("Haswell"), OpenBlasKernels.forCpuFlags(AVX2));
        assertEquals(Optional.of("Haswell"), OpenBlasKernels.forCpuFlags(AVX512.replace(" avx512vl", "")),
                "AVX-512 without VL is not SkylakeX's set");
        assertEquals(Optional.empty(), OpenBlasKernels.forCpuFlags("flags : fpu sse sse2 avx"));
        assertEquals(Optional.empty(), OpenBlasKernels.forCpuFlags(""), "no /proc/cpuinfo");
    }

    @Test
    void aRunThatNamedNoKernelsIsToldWhatToSet() {
        String warning = OpenBlasKernels.warning(Optional.empty(), new SparkConf(false), AVX512).orElseThrow();
        assertTrue(warning.contains("OPENBLAS_CORETYPE=SkylakeX in the driver's environment"), warning);
        assertTrue(warning.contains("--conf spark.executorEnv.OPENBLAS_CORETYPE=SkylakeX"), warning);
    }

    @Test
    void aRunThatNamedThemOrCannotBeHelpedIsNotWarned() {
        SparkConf named = new SparkConf(false).set("spark.executorEnv.OPENBLAS_CORETYPE", "Haswell");
        assertEquals(Optional.empty(), OpenBlasKernels.warning(Optional.empty(), named, AVX512));
        assertEquals(Optional.empty(), OpenBlasKernels.warning(Optional.of("SkylakeX"), new SparkConf(false),
                AVX512));
        assertEquals(Optional.empty(), OpenBlasKernels.warning(Optional.empty(), new SparkConf(false),
                "flags : fpu sse sse2"));
    }
}
