package dev.shoal.driver.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.train.Metrics;
import dev.shoal.driver.train.SyncState;
import dev.shoal.driver.train.TrainingState;
import dev.shoal.kernel.MemoryUse;
import dev.shoal.kernel.ModelSnapshot;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoints on the local file system through Hadoop's API: exact round trip, pruning, damaged files. */
class CheckpointStoreTest {
    @TempDir
    Path dir;

    private static ModelSnapshot snapshot(SplittableRandom random, int iteration, int epoch) {
        float[] params = new float[300];
        float[] updater = new float[600];
        for (int i = 0; i < params.length; i++) {
            params[i] = (float) random.nextGaussian();
        }
        for (int i = 0; i < updater.length; i++) {
            updater[i] = (float) random.nextGaussian() * 1e-3f;
        }
        return new ModelSnapshot(params, updater, iteration, epoch);
    }

    private static Metrics.Epoch epochMetrics(int epoch) {
        return new Metrics.Epoch(epoch, 5, 1000, 0.5 / epoch, 0.6 / epoch, 0.8 + 0.01 * epoch, 1.25, 0.25,
                800.0 / 3, Double.NaN, new MemoryUse(900, 512, 300), MemoryUse.none());
    }

    /** An averaging state after {@code epochs} epochs and {@code round} rounds, with a best model when epochs > 0. */
    static TrainingState state(int epochs, int round, long seed) {
        return state(epochs, new SyncState.Averaging(round, 321, 123.456789), seed);
    }

    private static TrainingState state(int epochs, SyncState sync, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Metrics.Epoch> history = new ArrayList<>();
        for (int e = 1; e <= epochs; e++) {
            history.add(epochMetrics(e));
        }
        return new TrainingState(epochs, snapshot(random, 40 * epochs + sync.round(), epochs), sync, history,
                epochs > 0 ? Optional.of(snapshot(random, 40, 1)) : Optional.empty(), epochs > 0 ? 1 : 0);
    }

    /** Residuals of three workers, the last without one (dense encoding). */
    private static SyncState.Sharing residuals() {
        float[][] residuals = {new float[300], new float[300], new float[0]};
        residuals[1][7] = 1e-30f;
        residuals[0][299] = -0.125f;
        return new SyncState.Sharing(List.of(residuals));
    }

    private static void assertSameState(TrainingState expected, TrainingState actual) {
        assertEquals(expected.epoch(), actual.epoch());
        assertEquals(expected.model(), actual.model());
        assertEquals(expected.history(), actual.history());
        assertEquals(expected.best(), actual.best());
        assertEquals(expected.bestEpoch(), actual.bestEpoch());
        assertEquals(expected.sync().getClass(), actual.sync().getClass());
        if (expected.sync() instanceof SyncState.Sharing e) {
            List<float[]> a = ((SyncState.Sharing) actual.sync()).residuals();
            assertEquals(e.residuals().size(), a.size());
            for (int r = 0; r < a.size(); r++) {
                assertArrayEquals(e.residuals().get(r), a.get(r));
            }
        } else if (expected.sync() instanceof SyncState.Federated e) {
            assertArrayEquals(e.velocity(), ((SyncState.Federated) actual.sync()).velocity());
        } else {
            assertEquals(expected.sync(), actual.sync());
        }
    }

    @Test
    void eachStrategysStateSurvivesTheFile() {
        float[] velocity = {0.5f, -0f, Float.MIN_VALUE, -3e7f};
        for (SyncState sync : List.of(residuals(), SyncState.Sharing.NONE, new SyncState.Federated(velocity),
                SyncState.Federated.NONE, SyncState.Averaging.EPOCH_START, new SyncState.Averaging(3, 7, 0.1))) {
            TrainingState written = state(2, sync, 5);
            assertSameState(written, CheckpointStore.decode(CheckpointStore.encode(written, 9), "x").state());
        }
    }

    @Test
    void readsBackExactlyWhatItWrote() {
        CheckpointStore store = new CheckpointStore(dir.resolve("ckpt").toUri().toString(), 3);
        TrainingState written = state(2, 7, 1);
        store.save(written, 4242);

        CheckpointStore.Saved saved = store.newest(w -> { throw new AssertionError(w); }).orElseThrow();
        assertSameState(written, saved.state());
        assertEquals(4242, saved.metricsBytes());
        assertEquals("checkpoint-e0002-r00007.shoal", saved.file());

        TrainingState bare = TrainingState.start(snapshot(new SplittableRandom(2), 0, 0),
                SyncState.Averaging.EPOCH_START);
        store.save(bare, 0);
        // An older position written later (a resume from further back) is not "newest".
        assertEquals("checkpoint-e0002-r00007.shoal", store.newest(w -> { }).orElseThrow().file());
        assertSameState(bare, CheckpointStore.decode(CheckpointStore.encode(bare, 0), "x").state());
    }

    @Test
    void keepsTheNewestAndLeavesNoTemporaryFiles() throws IOException {
        CheckpointStore store = new CheckpointStore(dir.toUri().toString(), 2);
        Files.writeString(dir.resolve("_checkpoint-e0000-r00003.shoal.tmp"), "left by a crash mid-write");
        for (int round = 1; round <= 4; round++) {
            store.save(state(0, round, round), 10L * round);
        }
        store.save(state(1, 0, 5), 50);
        assertEquals(List.of("checkpoint-e0000-r00004.shoal", "checkpoint-e0001-r00000.shoal"), store.names());
        assertEquals(List.of("checkpoint-e0000-r00004.shoal", "checkpoint-e0001-r00000.shoal"),
                Files.list(dir).map(p -> p.getFileName().toString()).sorted().toList(),
                "no temporary or .crc files beside the checkpoints");
    }

    @Test
    void aTruncatedOrDamagedNewestCheckpointFallsBackToThePreviousOneWithAWarning() throws IOException {
        CheckpointStore store = new CheckpointStore(dir.toUri().toString(), 3);
        TrainingState first = state(1, 0, 1);
        store.save(first, 100);
        store.save(state(2, 0, 2), 200);
        store.save(state(3, 0, 3), 300);
        Path newest = dir.resolve("checkpoint-e0003-r00000.shoal");
        Path middle = dir.resolve("checkpoint-e0002-r00000.shoal");
        try (RandomAccessFile f = new RandomAccessFile(newest.toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        try (RandomAccessFile f = new RandomAccessFile(middle.toFile(), "rw")) {
            f.seek(f.length() / 3);
            int b = f.read();
            f.seek(f.length() / 3);
            f.write(b ^ 0x10);
        }

        List<String> warnings = new ArrayList<>();
        CheckpointStore.Saved saved = store.newest(warnings::add).orElseThrow();

        assertSameState(first, saved.state());
        assertEquals(2, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains("checkpoint-e0003-r00000.shoal")
                && warnings.get(0).contains("checksum mismatch"), warnings.get(0));
        assertTrue(warnings.get(1).contains("checkpoint-e0002-r00000.shoal"), warnings.get(1));

        Files.writeString(dir.resolve("checkpoint-e0001-r00000.shoal"), "not a checkpoint at all");
        List<String> more = new ArrayList<>();
        assertTrue(store.newest(more::add).isEmpty());
        assertTrue(more.get(2).contains("not a Shoal checkpoint") && more.get(2).contains("no older one"),
                more.toString());
    }

    @Test
    void anUnwritableFolderIsAClearErrorAndLeavesTheLastCheckpointNewest() throws IOException {
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        CheckpointStore blocked = new CheckpointStore(file.resolve("checkpoints").toUri().toString(), 3);
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> blocked.save(state(1, 0, 1), 1));
        assertTrue(e.getMessage().contains("cannot write checkpoint") && e.getMessage().contains("a-file"),
                e.getMessage());
    }
}
