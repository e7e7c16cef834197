package dev.shoal.driver.plan;

import dev.shoal.kernel.config.Key;

/** The {@code spark} section. */
public record SparkConfig(
        @Key(doc = "Spark master URL; 'auto' takes spark-submit's master, or local[workers] when run without it.",
                defaultValue = "auto") String master,
        @Key(doc = "Serve Spark's web UI while training.", defaultValue = "false") boolean ui) {
}
