package dev.shoal.driver.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.registry.GateMetric;
import dev.shoal.kernel.EvalResult;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelEvaluationTest {
    @Test
    void perClassFiguresFollowFromTheConfusionMatrix() {
        // Rows true, columns predicted: class 0 has 4 examples (3 right), class 1 has 6 (4 right), class 2 none;
        // class 0 is predicted 5 times, class 1 5 times, class 2 never.
        EvalResult counts = new EvalResult(new long[] {3, 1, 0, 2, 4, 0, 0, 0, 0}, 3, 5.0, 10);

        ModelEvaluation.Report r = ModelEvaluation.report(counts, "m", "d");

        assertEquals(10, r.examples());
        assertEquals(0.7, r.accuracy());
        assertEquals(0.5, r.loss());
        assertArrayEquals(new long[][] {{3, 1, 0}, {2, 4, 0}, {0, 0, 0}}, r.confusion());
        ModelEvaluation.ClassFigures zero = r.classes().get(0);
        assertEquals(List.of(4L, 5L), List.of(zero.support(), zero.predicted()));
        assertEquals(3.0 / 5, zero.precision());
        assertEquals(3.0 / 4, zero.recall());
        assertEquals(2 * 0.6 * 0.75 / (0.6 + 0.75), zero.f1(), 1e-15);
        ModelEvaluation.ClassFigures one = r.classes().get(1);
        assertEquals(4.0 / 5, one.precision());
        assertEquals(4.0 / 6, one.recall());
        ModelEvaluation.ClassFigures two = r.classes().get(2);
        assertTrue(Double.isNaN(two.precision()) && Double.isNaN(two.recall()), "no examples, no predictions");
        assertEquals(0, two.f1());
        assertEquals(Map.of(GateMetric.LOSS, 0.5, GateMetric.ACCURACY, 0.7, GateMetric.MACRO_F1,
                (zero.f1() + one.f1()) / 2), r.metrics(), "macro F1 over the classes that have examples");
        assertEquals(Map.of(GateMetric.LOSS, 0.25), ModelEvaluation.report(
                new EvalResult(new long[0], 0, 2.5, 10), "m", "d").metrics(), "no classes: loss only");
        String table = r.table();
        assertTrue(table.contains("10 examples  accuracy 70.00%  loss 0.5000"), table);
        assertTrue(table.contains("    0         4    0.6000    0.7500    0.6667"), table);
        String named = r.table(List.of("cat", "dog", "bird"));
        assertTrue(named.contains("\n  cat         4    0.6000    0.7500    0.6667"), named);
        assertTrue(named.contains("\n  dog         6    0.8000"), named);
    }
}
