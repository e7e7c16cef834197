package dev.shoal.driver.testing;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One local[2] Spark context per test class: {@code @RegisterExtension static final SparkFixture SPARK = new
 * SparkFixture();}. Shared with other modules through the driver's test-jar.
 */
public final class SparkFixture implements BeforeAllCallback, AfterAllCallback {
    private JavaSparkContext sc;

    public JavaSparkContext sc() {
        return sc;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        sc = new JavaSparkContext(new SparkConf()
                .setMaster("local[2]")
                .setAppName(context.getDisplayName())
                .set("spark.ui.enabled", "false")
                .set("spark.ui.showConsoleProgress", "false"));
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (sc != null) {
            sc.stop();
        }
    }
}
