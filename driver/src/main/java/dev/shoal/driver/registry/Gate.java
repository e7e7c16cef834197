package dev.shoal.driver.registry;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Decides whether a challenger replaces the champion. Every rule must pass. A figure the challenger's evaluation
 * lacks (absent or NaN: an autoencoder has no accuracy) fails its rule, as does a champion's missing figure for a
 * rule against it. With no champion yet, the rules against it are skipped, so the first model is promoted when it
 * passes the rules on its own figures. A champion at exactly 0 has no relative scale: a better challenger counts
 * as an infinite relative gain, an equal one as 0, a worse one as an infinite loss.
 */
public final class Gate {
    private Gate() {
    }

    /** How one rule came out. */
    public enum Outcome {
        PASS, FAIL, SKIPPED
    }

    /**
     * One rule with both figures (NaN where there is none), the number compared with the threshold, and why.
     *
     * @param compared the challenger's figure, or its (relative) gain over the champion
     */
    public record Check(GateMetric metric, GateRule.Kind kind, double threshold, double challenger,
                        double champion, double compared, Outcome outcome, String reason) {
    }

    /** The gate's decision, written as verdict.json whatever it is. */
    public record Verdict(boolean promote, String reason, List<Check> checks) {
    }

    public static Verdict judge(GateConfig gate, Map<GateMetric, Double> challenger,
                                Optional<Map<GateMetric, Double>> champion) {
        List<Check> checks = new ArrayList<>();
        for (GateRule rule : gate.rules()) {
            checks.add(check(rule, challenger, champion));
        }
        Optional<Check> failed = checks.stream().filter(c -> c.outcome() == Outcome.FAIL).findFirst();
        long skipped = checks.stream().filter(c -> c.outcome() == Outcome.SKIPPED).count();
        String reason = failed.map(Check::reason).orElseGet(() -> checks.isEmpty() ? "no rules: every challenger"
                + " is promoted" : "all " + checks.size() + " rules passed" + (skipped > 0 ? " (" + skipped
                + " against the champion skipped: there is none yet)" : ""));
        return new Verdict(failed.isEmpty(), reason, List.copyOf(checks));
    }

    private static Check check(GateRule rule, Map<GateMetric, Double> challenger,
                               Optional<Map<GateMetric, Double>> champion) {
        String name = rule.metric().name().toLowerCase(Locale.ROOT).replace('_', '-');
        double value = challenger.getOrDefault(rule.metric(), Double.NaN);
        double reference = champion.map(m -> m.getOrDefault(rule.metric(), Double.NaN)).orElse(Double.NaN);
        if (Double.isNaN(value)) {
            return new Check(rule.metric(), rule.kind(), rule.value(), value, reference, Double.NaN, Outcome.FAIL,
                    "the challenger's evaluation has no " + name);
        }
        if (rule.kind().againstChampion() && champion.isEmpty()) {
            return new Check(rule.metric(), rule.kind(), rule.value(), value, reference, Double.NaN,
                    Outcome.SKIPPED, "no champion to compare " + name + " with");
        }
        if (rule.kind().againstChampion() && Double.isNaN(reference)) {
            return new Check(rule.metric(), rule.kind(), rule.value(), value, reference, Double.NaN, Outcome.FAIL,
                    "the champion's evaluation has no " + name);
        }
        double gain = rule.metric().gain(value, reference);
        double compared = switch (rule.kind()) {
            case AT_LEAST, AT_MOST -> value;
            case GAIN -> gain;
            case RELATIVE_GAIN -> reference == 0 ? (gain == 0 ? 0 : Math.signum(gain) * Double.POSITIVE_INFINITY)
                    : gain / Math.abs(reference);
        };
        boolean pass = rule.kind() == GateRule.Kind.AT_MOST ? compared <= rule.value() : compared >= rule.value();
        String what = switch (rule.kind()) {
            case AT_LEAST -> name + " " + figure(value) + ", at least " + figure(rule.value());
            case AT_MOST -> name + " " + figure(value) + ", at most " + figure(rule.value());
            case GAIN -> name + " " + figure(value) + " against the champion's " + figure(reference) + ": gain "
                    + figure(gain) + ", at least " + figure(rule.value());
            case RELATIVE_GAIN -> name + " " + figure(value) + " against the champion's " + figure(reference)
                    + ": relative gain " + figure(compared) + ", at least " + figure(rule.value());
        };
        return new Check(rule.metric(), rule.kind(), rule.value(), value, reference, compared,
                pass ? Outcome.PASS : Outcome.FAIL, (pass ? "passed: " : "failed: ") + what);
    }

    /** A figure as a person reads it: 6 significant digits, no trailing zeros (the JSON keeps every digit). */
    static String figure(double x) {
        if (!Double.isFinite(x)) {
            return Double.toString(x);
        }
        return new BigDecimal(x).round(new MathContext(6)).stripTrailingZeros().toPlainString();
    }
}
