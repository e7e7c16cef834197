package dev.shoal.driver.registry;

import dev.shoal.kernel.config.Key;
import java.util.List;

/** The {@code gate} section: every rule must pass for the challenger to become champion. */
public record GateConfig(
        @Key(doc = "The rules, all of which must pass, e.g. [{metric: accuracy, kind: at-least, value: 0.85}, "
                + "{metric: accuracy, kind: gain, value: 0}]; empty promotes every challenger.",
                defaultValue = "[]") List<GateRule> rules) {

    /** No rules: every challenger is promoted. */
    public static final GateConfig NONE = new GateConfig(List.of());

    public GateConfig {
        rules = List.copyOf(rules);
    }
}
