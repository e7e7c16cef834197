package dev.shoal.driver.run;

import dev.shoal.kernel.InputShape;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Images in [0, 1], one per row in the data's layout (channel planes), laid out as a square grid in a PNG. */
final class SampleGrid {
    private SampleGrid() {
    }

    /** Writes {@code images} ({@code n} rows of {@code shape}) as a grid of ceil(sqrt(n)) columns, 2 px apart. */
    static void write(INDArray images, InputShape shape, Path png) throws IOException {
        int n = (int) images.size(0);
        int columns = (int) Math.ceil(Math.sqrt(n));
        int rows = (n + columns - 1) / columns;
        int h = shape.height();
        int w = shape.width();
        int gap = 2;
        BufferedImage grid = new BufferedImage(columns * (w + gap) + gap, rows * (h + gap) + gap,
                BufferedImage.TYPE_INT_RGB);
        float[] values = images.castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).data().asFloat();
        int size = shape.size();
        int plane = h * w;
        for (int i = 0; i < n; i++) {
            int left = gap + (i % columns) * (w + gap);
            int top = gap + (i / columns) * (h + gap);
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int at = i * size + y * w + x;
                    int r = byteOf(values[at]);
                    int g = shape.channels() == 3 ? byteOf(values[at + plane]) : r;
                    int b = shape.channels() == 3 ? byteOf(values[at + 2 * plane]) : r;
                    grid.setRGB(left + x, top + y, (r << 16) | (g << 8) | b);
                }
            }
        }
        if (!ImageIO.write(grid, "png", png.toFile())) {
            throw new IOException("no PNG writer in this JVM");
        }
    }

    private static int byteOf(float v) {
        return Math.round(Math.max(0f, Math.min(1f, v)) * 255);
    }
}
