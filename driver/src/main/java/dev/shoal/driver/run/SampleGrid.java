package dev.shoal.driver.run;

import dev.shoal.kernel.InputShape;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Images in [0, 1], one per row in the data's layout (channel planes), laid out as a square grid in a PNG that a
 * person can judge: each image enlarged by whole pixels (nearest neighbour, no blur) to at least
 * {@link #MIN_SIDE} pixels, on a grey gutter of {@link #GAP} pixels.
 */
final class SampleGrid {
    /** The smallest side an image is shown at: a 28-pixel image is drawn 4 times as large. */
    static final int MIN_SIDE = 112;
    static final int GAP = 2;
    private static final int GUTTER = 0x808080;

    private SampleGrid() {
    }

    /** How many screen pixels one image pixel becomes. */
    static int scale(InputShape shape) {
        int side = Math.max(shape.height(), shape.width());
        return Math.max(1, (MIN_SIDE + side - 1) / side);
    }

    /** Writes {@code images} ({@code n} rows of {@code shape}) as a grid of ceil(sqrt(n)) columns. */
    static void write(INDArray images, InputShape shape, Path png) throws IOException {
        if (!ImageIO.write(render(images, shape), "png", png.toFile())) {
            throw new IOException("no PNG writer in this JVM");
        }
    }

    static BufferedImage render(INDArray images, InputShape shape) {
        int n = (int) images.size(0);
        int columns = (int) Math.ceil(Math.sqrt(n));
        int rows = (n + columns - 1) / columns;
        int scale = scale(shape);
        int h = shape.height();
        int w = shape.width();
        int cellWidth = w * scale + GAP;
        int cellHeight = h * scale + GAP;
        BufferedImage grid = new BufferedImage(columns * cellWidth + GAP, rows * cellHeight + GAP,
                BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < grid.getHeight(); y++) {
            for (int x = 0; x < grid.getWidth(); x++) {
                grid.setRGB(x, y, GUTTER);
            }
        }
        float[] values = images.castTo(DataType.FLOAT).data().asFloat();
        int size = shape.size();
        int plane = h * w;
        for (int i = 0; i < n; i++) {
            int left = GAP + (i % columns) * cellWidth;
            int top = GAP + (i / columns) * cellHeight;
            for (int y = 0; y < h * scale; y++) {
                for (int x = 0; x < w * scale; x++) {
                    int at = i * size + (y / scale) * w + x / scale;
                    int r = byteOf(values[at]);
                    int g = shape.channels() == 3 ? byteOf(values[at + plane]) : r;
                    int b = shape.channels() == 3 ? byteOf(values[at + 2 * plane]) : r;
                    grid.setRGB(left + x, top + y, (r << 16) | (g << 8) | b);
                }
            }
        }
        return grid;
    }

    private static int byteOf(float v) {
        return Math.round(Math.max(0f, Math.min(1f, v)) * 255);
    }
}
