package dev.shoal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.testing.IdxFixtures;
import dev.shoal.driver.testing.TensorBoardFiles;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The driver is killed with SIGKILL in the middle of a run, its newest checkpoint is then truncated, and
 * {@code shoal train --resume} finishes the run: with a warning about the damaged checkpoint, from the one
 * before it, ending with exactly the parameters of an uninterrupted run of the same plan.
 */
class KillAndResumeTest {
    @TempDir
    Path dir;

    @Test
    void aKilledRunResumedFromItsCheckpointsEndsExactlyAsAnUninterruptedOne() throws Exception {
        IdxFixtures.Files4 files = IdxFixtures.writeSynthetic(dir, 3000, 500, 21);
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, String.join("\n",
                "name: resume",
                files.dataSection(),
                "model: {type: mlp, hidden: [64], dropout: 0.1}",
                "training: {epochs: 8, batch-size: 32}",
                "sync: {workers: 2, average-every: 4}",
                "checkpoint: {every-rounds: 2, keep: 3}",
                "output: {dir: " + dir.resolve("runs") + "}",
                ""));
        Path killed = dir.resolve("runs/killed");

        Process driver = new ProcessBuilder(Shoal.inNewJvm("train", job.toString(), "--set", "output.run-id=killed"))
                .redirectErrorStream(true).redirectOutput(dir.resolve("killed.log").toFile()).start();
        try {
            awaitCheckpointOfEpoch(killed.resolve("checkpoints"), 2, driver);
            driver.destroyForcibly(); // SIGKILL: no shutdown hooks, no finally blocks
            assertTrue(driver.waitFor(30, TimeUnit.SECONDS));
        } finally {
            driver.destroyForcibly();
        }
        assertFalse(Files.exists(killed.resolve("provenance.json")), "the run was killed before it finished");
        assertFalse(Files.exists(killed.resolve("model.zip")));
        List<Path> checkpoints = checkpoints(killed.resolve("checkpoints"));
        assertTrue(checkpoints.size() >= 2, checkpoints.toString());
        Path newest = checkpoints.get(checkpoints.size() - 1);
        try (RandomAccessFile f = new RandomAccessFile(newest.toFile(), "rw")) {
            f.setLength(f.length() - 100);
        }

        String output = CapturedOutput.stdout(() -> assertEquals(0, Shoal.run("train", "--resume",
                killed.toString())));
        System.out.print(output);
        assertTrue(output.contains("warning: checkpoint") && output.contains(newest.getFileName().toString())
                && output.contains("checksum mismatch"), output);
        assertTrue(output.contains("resuming " + killed + " from "
                + checkpoints.get(checkpoints.size() - 2).getFileName()), output);

        assertEquals(0, Shoal.run("train", job.toString(), "--set", "output.run-id=whole"));
        Path whole = dir.resolve("runs/whole");

        MultiLayerNetwork a = ModelSerializer.restoreMultiLayerNetwork(whole.resolve("model.zip").toFile(), true);
        MultiLayerNetwork b = ModelSerializer.restoreMultiLayerNetwork(killed.resolve("model.zip").toFile(), true);
        assertArrayEquals(a.params().toFloatVector(), b.params().toFloatVector(), 0f);
        assertArrayEquals(a.getUpdater().getStateViewArray().toFloatVector(),
                b.getUpdater().getStateViewArray().toFloatVector(), 0f);
        assertEquals(a.getIterationCount(), b.getIterationCount());
        // metrics.jsonl was cut back to the checkpoint and continued: the same records, none twice.
        assertEquals(records(whole, "\"type\":\"round\""), records(killed, "\"type\":\"round\""));
        assertEquals(lossesOfEpochs(whole), lossesOfEpochs(killed));
        // TensorBoard shows the same curves: the resumed run's files restart its view at the checkpoint's round.
        assertEquals(TensorBoardFiles.scalars(whole.resolve("tensorboard/train"), "loss"),
                TensorBoardFiles.scalars(killed.resolve("tensorboard/train"), "loss"));
        assertEquals(TensorBoardFiles.scalars(whole.resolve("tensorboard/test"), "accuracy"),
                TensorBoardFiles.scalars(killed.resolve("tensorboard/test"), "accuracy"));

        String err = CapturedOutput.stderr(() -> assertEquals(1, Shoal.run("train", "--resume", killed.toString())));
        assertTrue(err.contains("has already completed"), err);
    }

    /** Waits until a checkpoint from inside epoch {@code epoch} (1-based) or later exists. */
    private static void awaitCheckpointOfEpoch(Path folder, int epoch, Process driver) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        String first = String.format("checkpoint-e%04d-", epoch - 1);
        while (System.nanoTime() < deadline) {
            if (!driver.isAlive()) {
                throw new AssertionError("the driver ended (exit " + driver.exitValue() + ") before it was killed");
            }
            if (checkpoints(folder).stream().anyMatch(p -> p.getFileName().toString().compareTo(first) > 0)) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no checkpoint of epoch " + epoch + " in " + folder + " within 3 minutes");
    }

    private static List<Path> checkpoints(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(folder)) {
            return files.filter(p -> p.getFileName().toString().matches("checkpoint-.*\\.shoal")).sorted().toList();
        }
    }

    private static long records(Path run, String type) throws IOException {
        return Files.readAllLines(run.resolve("metrics.jsonl")).stream().filter(l -> l.contains(type)).count();
    }

    private static List<String> lossesOfEpochs(Path run) throws IOException {
        return Files.readAllLines(run.resolve("metrics.jsonl")).stream()
                .filter(l -> l.contains("\"type\":\"epoch\""))
                .map(l -> l.replaceAll(".*(\"trainLoss\":[^,]*,\"testLoss\":[^,]*,\"testAccuracy\":[^,]*).*", "$1"))
                .toList();
    }

}
