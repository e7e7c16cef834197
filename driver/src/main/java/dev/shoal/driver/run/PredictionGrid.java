package dev.shoal.driver.run;

import dev.shoal.kernel.InputShape;
import java.awt.BasicStroke;
import java.awt.Canvas;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@code predictions.png}: the first images scored, in a square grid, each with its predicted and true class
 * under it (names when the model has them) and a red frame and caption where the prediction is wrong (the
 * classic CIFAR-10 tutorial's picture).
 */
public final class PredictionGrid {
    private static final int LINE = 14;
    private static final int MIN_CAPTION_WIDTH = 124;
    private static final Color WRONG = new Color(0xd0, 0x20, 0x20);

    private PredictionGrid() {
    }

    /**
     * @param images      n images of {@code shape}, row after row, values in [0, 1]
     * @param predictions the predicted class of each
     * @param labels      the true class of each, or null when the input had no labels
     * @param names       the classes' names in label order, or empty to show class numbers
     */
    public static BufferedImage render(float[] images, InputShape shape, int[] predictions, int[] labels,
                                       List<String> names) {
        int n = predictions.length;
        int columns = (int) Math.ceil(Math.sqrt(n));
        int rows = (n + columns - 1) / columns;
        int scale = SampleGrid.scale(shape);
        List<String[]> captions = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            captions.add(labels == null ? new String[] {"predicted " + name(names, predictions[i])}
                    : new String[] {"pred " + name(names, predictions[i]), "true " + name(names, labels[i])});
        }
        Font font = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
        FontMetrics metrics = new Canvas().getFontMetrics(font);
        int widest = captions.stream().flatMap(Arrays::stream).mapToInt(metrics::stringWidth).max().orElse(0);
        int lines = labels == null ? 1 : 2;
        int cellWidth = Math.max(Math.max(shape.width() * scale, MIN_CAPTION_WIDTH), widest + 4)
                + 2 * SampleGrid.GAP;
        int cellHeight = shape.height() * scale + lines * LINE + 4 + 2 * SampleGrid.GAP;
        BufferedImage tiles = SampleGrid.render(Nd4j.create(images, new long[] {n, shape.size()}, 'c'), shape);
        BufferedImage grid = new BufferedImage(columns * cellWidth, rows * cellHeight, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = grid.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, grid.getWidth(), grid.getHeight());
            g.setFont(font);
            int tileColumns = (int) Math.ceil(Math.sqrt(n));
            int tile = shape.width() * scale + SampleGrid.GAP;
            int tileHeight = shape.height() * scale + SampleGrid.GAP;
            for (int i = 0; i < n; i++) {
                int left = (i % columns) * cellWidth + SampleGrid.GAP;
                int top = (i / columns) * cellHeight + SampleGrid.GAP;
                int sx = SampleGrid.GAP + (i % tileColumns) * tile;
                int sy = SampleGrid.GAP + (i / tileColumns) * tileHeight;
                g.drawImage(tiles.getSubimage(sx, sy, shape.width() * scale, shape.height() * scale), left, top,
                        null);
                boolean wrong = labels != null && labels[i] != predictions[i];
                if (wrong) {
                    g.setColor(WRONG);
                    g.setStroke(new BasicStroke(3));
                    g.drawRect(left - 1, top - 1, shape.width() * scale + 1, shape.height() * scale + 1);
                }
                g.setColor(wrong ? WRONG : Color.BLACK);
                for (int line = 0; line < captions.get(i).length; line++) {
                    g.drawString(captions.get(i)[line], left, top + shape.height() * scale + (line + 1) * LINE);
                }
            }
        } finally {
            g.dispose();
        }
        return grid;
    }

    /** Class {@code c}'s name, or its number when it has none. */
    static String name(List<String> names, int c) {
        return c < names.size() ? names.get(c) : String.valueOf(c);
    }

    public static void write(BufferedImage grid, Path png) {
        RunDirectory.writeAtomically(png, temp -> {
            if (!ImageIO.write(grid, "png", temp.toFile())) {
                throw new IOException("no PNG writer in this JVM");
            }
        });
    }
}
