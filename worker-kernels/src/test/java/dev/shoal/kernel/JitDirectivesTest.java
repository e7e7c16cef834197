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
        // Each directive prints its match list; the default directive has none.
        assertEquals(1, printed.split("org/apache/spark/\\*\\.\\*", -1).length - 1, printed);
        assertTrue(printed.contains("org/nd4j/*.*"), printed);
    }
}
