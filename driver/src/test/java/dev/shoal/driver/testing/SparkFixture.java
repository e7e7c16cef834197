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
    private final String master;
    private JavaSparkContext sc;

    public SparkFixture() {
        this("local[2]");
    }

    /** A context on {@code master}: {@code local[2,3]} runs a failed task up to 3 times, as a cluster does. */
    public SparkFixture(String master) {
        this.master = master;
    }

    public JavaSparkContext sc() {
        return sc;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        sc = new JavaSparkContext(new SparkConf()
                .setMaster(master)
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
