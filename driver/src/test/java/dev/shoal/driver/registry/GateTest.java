package dev.shoal.driver.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.registry.Gate.Outcome;
import dev.shoal.driver.registry.GateRule.Kind;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GateTest {
    private static Map<GateMetric, Double> figures(double accuracy, double loss) {
        return Map.of(GateMetric.ACCURACY, accuracy, GateMetric.LOSS, loss);
    }

    /** One rule, the challenger's and the champion's figure (empty: no champion), what the rule gives. */
    @ParameterizedTest(name = "{0} {1} {2}: challenger {3}, champion {4} -> {5}")
    @CsvSource({
        // Bounds on the challenger's own figure; the champion does not matter.
        "ACCURACY, AT_LEAST, 0.85, 0.85, , PASS",
        "ACCURACY, AT_LEAST, 0.85, 0.8499, 0.5, FAIL",
        "LOSS, AT_MOST, 0.4, 0.39, , PASS",
        "LOSS, AT_MOST, 0.4, 0.41, 0.9, FAIL",
        // Gains in the metric's better direction: higher accuracy, lower loss.
        "ACCURACY, GAIN, 0, 0.90, 0.90, PASS",
        "ACCURACY, GAIN, 0.01, 0.905, 0.90, FAIL",
        "ACCURACY, GAIN, -0.002, 0.899, 0.90, PASS",
        "LOSS, GAIN, 0.05, 0.30, 0.40, PASS",
        "LOSS, GAIN, 0, 0.41, 0.40, FAIL",
        "LOSS, RELATIVE_GAIN, 0.2, 0.30, 0.40, PASS",
        "LOSS, RELATIVE_GAIN, 0.3, 0.30, 0.40, FAIL",
        "ACCURACY, RELATIVE_GAIN, 0.1, 0.55, 0.50, PASS",
        // A champion near zero: the plain formula, however large; at exactly zero, the sign of the gain.
        "LOSS, RELATIVE_GAIN, 1000, 0.0, 1e-6, FAIL",
        "LOSS, RELATIVE_GAIN, 0.5, 0.0, 1e-6, PASS",
        "ACCURACY, RELATIVE_GAIN, 1000, 0.1, 0.0, PASS",
        "LOSS, RELATIVE_GAIN, 1000, 0.0, 0.0, FAIL",
        "LOSS, RELATIVE_GAIN, -1000, 1e-9, 0.0, FAIL",
        "ACCURACY, RELATIVE_GAIN, 0, 0.0, 0.0, PASS",
        // No champion yet: rules against it are skipped.
        "ACCURACY, GAIN, 0.01, 0.5, , SKIPPED",
        "LOSS, RELATIVE_GAIN, 0.01, 0.5, , SKIPPED",
    })
    void ruleSemantics(GateMetric metric, Kind kind, double threshold, double challenger, Double champion,
                       Outcome expected) {
        GateConfig gate = new GateConfig(List.of(new GateRule(metric, kind, threshold)));
        Optional<Map<GateMetric, Double>> championFigures = Optional.ofNullable(champion)
                .map(c -> Map.of(metric, c));

        Gate.Verdict verdict = Gate.judge(gate, Map.of(metric, challenger), championFigures);

        Gate.Check check = verdict.checks().get(0);
        assertEquals(expected, check.outcome(), check.reason());
        assertEquals(expected != Outcome.FAIL, verdict.promote(), verdict.reason());
        assertEquals(challenger, check.challenger());
        assertEquals(champion == null ? Double.NaN : champion, check.champion());
    }

    @Test
    void aMetricTheEvaluationLacksFailsTheGate() {
        GateConfig gate = new GateConfig(List.of(new GateRule(GateMetric.ACCURACY, Kind.AT_LEAST, 0)));
        Gate.Verdict autoencoder = Gate.judge(gate, Map.of(GateMetric.LOSS, 0.01), Optional.empty());
        assertFalse(autoencoder.promote());
        assertEquals("the challenger's evaluation has no accuracy", autoencoder.reason());
        Gate.Verdict nan = Gate.judge(gate, Map.of(GateMetric.ACCURACY, Double.NaN), Optional.empty());
        assertFalse(nan.promote());

        GateConfig gain = new GateConfig(List.of(new GateRule(GateMetric.MACRO_F1, Kind.GAIN, 0)));
        Gate.Verdict championLacks = Gate.judge(gain, Map.of(GateMetric.MACRO_F1, 0.9),
                Optional.of(figures(0.9, 0.3)));
        assertFalse(championLacks.promote());
        assertEquals("the champion's evaluation has no macro-f1", championLacks.reason());
    }

    @Test
    void everyRuleMustPassAndTheVerdictSaysWhich() {
        GateConfig gate = new GateConfig(List.of(new GateRule(GateMetric.ACCURACY, Kind.AT_LEAST, 0.8),
                new GateRule(GateMetric.ACCURACY, Kind.GAIN, 0), new GateRule(GateMetric.LOSS, Kind.AT_MOST, 0.5)));

        Gate.Verdict first = Gate.judge(gate, figures(0.86, 0.4), Optional.empty());
        assertTrue(first.promote(), first.reason());
        assertEquals("all 3 rules passed (1 against the champion skipped: there is none yet)", first.reason());

        Gate.Verdict worse = Gate.judge(gate, figures(0.86, 0.4), Optional.of(figures(0.87, 0.35)));
        assertFalse(worse.promote());
        assertEquals(List.of(Outcome.PASS, Outcome.FAIL, Outcome.PASS),
                worse.checks().stream().map(Gate.Check::outcome).toList());
        assertTrue(worse.reason().startsWith("failed: accuracy 0.86 against the champion's 0.87: gain -0.01"),
                worse.reason());

        Gate.Verdict none = Gate.judge(new GateConfig(List.of()), figures(0.1, 9), Optional.of(figures(0.9, 0.1)));
        assertTrue(none.promote());
        assertEquals("no rules: every challenger is promoted", none.reason());
    }
}
