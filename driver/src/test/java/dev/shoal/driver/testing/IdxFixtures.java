package dev.shoal.driver.testing;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

/** Writes IDX files for tests: exact bytes, and a synthetic Fashion-MNIST-shaped set that a model can learn. */
public final class IdxFixtures {
    public static final int SIDE = 28;
    public static final int PIXELS = SIDE * SIDE;
    public static final int CLASSES = 10;

    private IdxFixtures() {
    }

    /** Paths of a written train/test pair, as strings for a job file. */
    public record Files4(String trainImages, String trainLabels, String testImages, String testLabels) {
        /** The job file's {@code data} section for these files, as one YAML line. */
        public String dataSection() {
            return "data: {train-images: " + trainImages + ", train-labels: " + trainLabels + ", test-images: "
                    + testImages + ", test-labels: " + testLabels + "}";
        }
    }

    /** Images and labels. */
    public record Examples(byte[][] images, byte[] labels) {
    }

    /**
     * Ten classes, each a fixed random template of bright strokes, plus per-image noise and a random shift of up
     * to two pixels: separable, but not by memorising pixels.
     */
    public static Examples synthetic(int n, long seed) {
        Random templates = new Random(1234);
        byte[][] template = new byte[CLASSES][PIXELS];
        for (byte[] t : template) {
            for (int i = 0; i < 14; i++) {
                int r = templates.nextInt(SIDE - 8) + 4;
                int c = templates.nextInt(SIDE - 8) + 4;
                boolean horizontal = templates.nextBoolean();
                for (int k = -4; k <= 4; k++) {
                    t[horizontal ? r * SIDE + c + k : (r + k) * SIDE + c] = (byte) 200;
                }
            }
        }
        Random random = new Random(seed);
        byte[][] images = new byte[n][PIXELS];
        byte[] labels = new byte[n];
        for (int i = 0; i < n; i++) {
            int label = random.nextInt(CLASSES);
            labels[i] = (byte) label;
            int dr = random.nextInt(5) - 2;
            int dc = random.nextInt(5) - 2;
            for (int r = 0; r < SIDE; r++) {
                for (int c = 0; c < SIDE; c++) {
                    int sr = r - dr;
                    int sc = c - dc;
                    int base = sr >= 0 && sr < SIDE && sc >= 0 && sc < SIDE ? template[label][sr * SIDE + sc] & 0xff : 0;
                    int v = (int) (base * 0.7 + random.nextInt(90));
                    images[i][r * SIDE + c] = (byte) Math.min(255, v);
                }
            }
        }
        return new Examples(images, labels);
    }

    /** Writes a synthetic train and test set, gzipped like the Debian package's files. */
    public static Files4 writeSynthetic(Path dir, int train, int test, long seed) throws IOException {
        Examples tr = synthetic(train, seed);
        Examples te = synthetic(test, seed + 1);
        Path ti = dir.resolve("train-images-idx3-ubyte.gz");
        Path tl = dir.resolve("train-labels-idx1-ubyte.gz");
        Path vi = dir.resolve("t10k-images-idx3-ubyte.gz");
        Path vl = dir.resolve("t10k-labels-idx1-ubyte.gz");
        writeImages(ti, tr.images(), true);
        writeLabels(tl, tr.labels(), true);
        writeImages(vi, te.images(), true);
        writeLabels(vl, te.labels(), true);
        return new Files4(ti.toString(), tl.toString(), vi.toString(), vl.toString());
    }

    public static void writeImages(Path file, byte[][] images, boolean gzip) throws IOException {
        try (DataOutputStream out = new DataOutputStream(open(file, gzip))) {
            out.writeInt(0x00000803);
            out.writeInt(images.length);
            out.writeInt(SIDE);
            out.writeInt(SIDE);
            for (byte[] image : images) {
                out.write(image);
            }
        }
    }

    public static void writeLabels(Path file, byte[] labels, boolean gzip) throws IOException {
        try (DataOutputStream out = new DataOutputStream(open(file, gzip))) {
            out.writeInt(0x00000801);
            out.writeInt(labels.length);
            out.write(labels);
        }
    }

    private static OutputStream open(Path file, boolean gzip) throws IOException {
        OutputStream out = Files.newOutputStream(file);
        return gzip ? new GZIPOutputStream(out) : out;
    }
}
