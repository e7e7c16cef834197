package dev.shoal.driver.run;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.shoal.kernel.InputShape;
import java.awt.image.BufferedImage;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

class SampleGridTest {
    @Test
    void smallImagesAreEnlargedByWholePixelsOnAGreyGutter() {
        InputShape shape = new InputShape(28, 28, 1);
        float[] pixels = new float[5 * 28 * 28];
        pixels[4 * 28 * 28 + 28 + 2] = 1f; // image 4 (second row, second column), pixel (y 1, x 2) white
        BufferedImage grid = SampleGrid.render(Nd4j.create(pixels, new long[] {5, 28 * 28}, DataType.FLOAT), shape);

        assertEquals(4, SampleGrid.scale(shape), "28 px shown at 112 px");
        int cell = 28 * 4 + 2;
        assertEquals(List.of(3 * cell + 2, 2 * cell + 2), List.of(grid.getWidth(), grid.getHeight()),
                "3 columns and 2 rows of 112 px images, 2 px apart and around");
        int left = 2 + cell;
        int top = 2 + cell;
        for (int dy = 0; dy < 4; dy++) {
            for (int dx = 0; dx < 4; dx++) {
                assertEquals(0xffffff, grid.getRGB(left + 8 + dx, top + 4 + dy) & 0xffffff, "white block " + dx + dy);
            }
        }
        assertEquals(0, grid.getRGB(left + 7, top + 4) & 0xffffff, "black left of the block");
        assertEquals(0, grid.getRGB(left + 12, top + 8) & 0xffffff, "black below right of the block");
        assertEquals(0x808080, grid.getRGB(left - 1, top) & 0xffffff, "gutter");
        assertEquals(0x808080, grid.getRGB(grid.getWidth() - 1, grid.getHeight() - 1) & 0xffffff, "the empty cell");
    }

    @Test
    void largeImagesKeepTheirSizeAndColour() {
        InputShape shape = new InputShape(128, 128, 3);
        assertEquals(1, SampleGrid.scale(shape));
        float[] pixels = new float[3 * 128 * 128];
        pixels[2 * 128 * 128] = 1f; // blue plane, pixel (0, 0)
        BufferedImage grid = SampleGrid.render(Nd4j.create(pixels, new long[] {1, 3 * 128 * 128}, DataType.FLOAT),
                shape);
        assertEquals(128 + 4, grid.getWidth());
        assertEquals(0x0000ff, grid.getRGB(2, 2) & 0xffffff);
    }
}
