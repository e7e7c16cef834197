package dev.shoal.driver.plan;

import dev.shoal.kernel.config.Checks;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.Key;

/** The {@code sync.sharing} section: how gradient sharing encodes and exchanges gradients. */
public record SharingConfig(
        @Key(doc = "threshold (sparse, with error feedback) or dense (every value, ring all-reduce).",
                defaultValue = "threshold") GradientEncoding encoding,
        @Key(doc = "Threshold encoding: share of gradient entries sent per step, in (0, 1].",
                defaultValue = "0.1") double fraction,
        @Key(doc = "Seconds a worker waits for a peer to connect or answer before the stage fails.",
                defaultValue = "60") int peerTimeoutSeconds,
        @Key(doc = "Attempts per stage: a failed stage restarts from the model it started with.",
                defaultValue = "3") int stageAttempts,
        @Key(doc = "Check after every step that all replicas hold bit-identical parameters (slow; for tests).",
                defaultValue = "false") boolean verifyReplicas) implements java.io.Serializable {

    public SharingConfig {
        if (!(fraction > 0 && fraction <= 1)) {
            throw new ConfigException("fraction", fraction, "must be in (0, 1]");
        }
        Checks.atLeast("peer-timeout-seconds", peerTimeoutSeconds, 1);
        Checks.atLeast("stage-attempts", stageAttempts, 1);
    }
}
