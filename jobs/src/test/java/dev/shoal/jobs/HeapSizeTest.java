package dev.shoal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.run.HeapSize;
import dev.shoal.driver.run.Preflight;
import dev.shoal.driver.testing.IdxFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HeapSizeTest {
    private static final Path HOME = Path.of(System.getProperty("shoal.home"));
    private static final long MB = 1L << 20;

    /** Shared by the tests: writing the larger data set takes seconds. */
    @TempDir
    static Path dir;

    private static int jobs;

    private static HeapSize heapOf(int train, int test, String... overrides) throws Exception {
        Path data = dir.resolve(train + "/data/fashion-mnist");
        if (!Files.isDirectory(data)) {
            IdxFixtures.writeSynthetic(Files.createDirectories(data), train, test, 5);
        }
        Path conf = Files.createDirectories(dir.resolve(train + "/conf"));
        Path job = Files.copy(HOME.resolve("conf/fashion-mnist-mlp.yaml"), conf.resolve("job" + jobs++ + ".yaml"));
        return HeapSize.of(Preflight.check(TrainCommand.plan(job, List.of(overrides)))).orElseThrow();
    }

    @Test
    void pixelsCountOneByteAValueAndTheHeapHoldsTheDataTwiceAndEveryNetworkFourTimes() throws Exception {
        HeapSize small = heapOf(600, 100);
        int side = IdxFixtures.SIDE;
        assertEquals(700L * (side * side + Integer.BYTES), small.dataBytes());
        assertTrue(small.networkBytes() > 0, "DL4J estimates an MLP");
        assertEquals(512 * MB, small.heapBytes(), "small jobs get the floor");
        assertEquals(List.of("-Xms512m", "-Xmx512m", "-XX:+AlwaysPreTouch", "-XX:+UseParallelGC"), small.jvmOptions());

        HeapSize large = heapOf(120_000, 20_000);
        assertEquals(200 * small.dataBytes(), large.dataBytes());
        long needed = 320 * MB + 2 * large.dataBytes() + 4 * 3 * large.networkBytes(); // 2 workers and the driver
        assertTrue(large.heapBytes() >= needed && large.heapBytes() < needed + 64 * MB, large.describe());
        assertEquals(0, large.heapBytes() % (64 * MB), "whole 64 MB steps");
    }

    @Test
    void aLargerMinibatchOrMoreWorkersNeedMore() throws Exception {
        HeapSize base = heapOf(120_000, 20_000);
        HeapSize wide = heapOf(120_000, 20_000, "training.batch-size=4096", "sync.workers=4",
                "sync.threads-per-worker=1");
        assertTrue(wide.networkBytes() > 4 * base.networkBytes(), wide.describe() + " vs " + base.describe());
        assertTrue(wide.heapBytes() > base.heapBytes(), wide.describe() + " vs " + base.describe());
    }

    @Test
    void aTableIsSizedOnlyOnceSparkHasReadIt() throws Exception {
        Path table = Files.writeString(dir.resolve("t.csv"), "x,label\n1,0\n");
        Path job = HOME.resolve("conf/fashion-mnist-mlp.yaml");
        List<String> csv = List.of("data.format=csv", "data.train=" + table, "data.test=" + table,
                "data.label=label", "data.fetch=none");
        assertTrue(HeapSize.of(Preflight.check(TrainCommand.plan(job, csv))).isEmpty());
    }
}
