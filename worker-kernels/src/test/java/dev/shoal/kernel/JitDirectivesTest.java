package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class JitDirectivesTest {
    @Test
    void theDirectivesAreInForceOnceWhateverTheCalls() throws Exception {
        assertTrue(JitDirectives.install(), "HotSpot on Java 17 takes directives at run time");
        assertTrue(JitDirectives.install());
        String printed = JitDirectives.diagnosticCommand("compilerDirectivesPrint");
        // The first directive keeps C2 off the Spark and ND4J code, the second keeps C2 from inlining that code into
        // the methods it compiles: Spark's package is named once in each; installed twice, it would be four times.
        assertEquals(2, printed.split("org/apache/spark/\\*\\.\\*", -1).length - 1, printed);
        assertTrue(printed.contains("inline: -org/apache/spark/*.*"), printed);
        assertTrue(printed.contains("-org/nd4j/*.*"), printed);
    }
}
