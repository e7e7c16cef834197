package dev.shoal.driver.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.testing.SparkFixture;
import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.InputShape;
import dev.shoal.kernel.config.ConfigException;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.apache.spark.SparkException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Class folders of image files: classes, scaling and colour planes, transparency, and bad files named. */
class ImageFolderDataSourceTest {
    @RegisterExtension
    static final SparkFixture SPARK = new SparkFixture();
    private static final InputShape RGB4 = new InputShape(4, 4, 3);

    @TempDir
    Path dir;

    /** An 8x8 image of one colour (with alpha, for PNG) at {@code folder/name}, PNG or BMP by its name. */
    private Path image(Path folder, String name, Color color) throws IOException {
        boolean png = name.endsWith(".png");
        BufferedImage image = new BufferedImage(8, 8, png ? BufferedImage.TYPE_INT_ARGB : BufferedImage.TYPE_INT_RGB);
        for (int r = 0; r < 8; r++) {
            for (int c = 0; c < 8; c++) {
                image.setRGB(c, r, color.getRGB());
            }
        }
        Path file = Files.createDirectories(folder).resolve(name);
        assertTrue(ImageIO.write(image, png ? "png" : "bmp", file.toFile()));
        return file;
    }

    /** Class "blue" holds 3 blue images, class "red" 2 red ones and a transparent one. */
    private Path folders() throws IOException {
        Path root = dir.resolve("train");
        for (int i = 0; i < 3; i++) {
            image(root.resolve("blue"), "b" + i + ".png", Color.BLUE);
        }
        image(root.resolve("red"), "r0.png", Color.RED);
        image(root.resolve("red"), "r1.png", Color.RED);
        image(root.resolve("red"), "clear.png", new Color(0, 0, 0, 0));
        Files.writeString(root.resolve("red/notes.txt"), "not an image, not read");
        return root;
    }

    @Test
    void classesAreTheFoldersInNameOrderAndImagesAreScaledColourPlanesOverWhite() throws IOException {
        ImageFolderDataSource source = ImageFolderDataSource.open("data.train", folders().toString(), List.of(), 2,
                RGB4);
        assertEquals(List.of("blue", "red"), source.classNames());
        assertEquals(6, source.examples());

        int[] seen = new int[3];
        for (ExampleBlock b : source.load(SPARK.sc(), 2, 5).collect()) {
            assertEquals(3, b.size());
            for (int r = 0; r < b.size(); r++) {
                float red = b.feature(r * 48);
                float green = b.feature(r * 48 + 16);
                float blue = b.feature(r * 48 + 32 + 15);
                int kind = red == 1 && green == 1 && blue == 1 ? 2 : (int) red;
                seen[kind]++;
                assertEquals(kind == 0 ? 0 : 1, b.labels()[r], "blue images are class 0, red ones class 1");
                assertEquals(kind == 1 ? 0f : 1f, blue);
            }
        }
        assertEquals(List.of(3, 2, 1), List.of(seen[0], seen[1], seen[2]), "blue, red, transparent-as-white");
    }

    @Test
    void oneChannelIsTheGreyLevel() throws IOException {
        Path root = dir.resolve("grey");
        image(root.resolve("a"), "x.bmp", new Color(255, 255, 255));
        image(root.resolve("b"), "y.bmp", new Color(0, 0, 0));
        ImageFolderDataSource source = ImageFolderDataSource.open("data.train", root.toString(), List.of(), 2,
                new InputShape(2, 2, 1));
        float[] pixels = new float[4];
        source.pixels(source.files().get(0), pixels, 0);
        assertEquals(1f, pixels[3]);
    }

    @Test
    void foldersThatDoNotMatchTheClassesAndUnreadableImagesAreNamed() throws IOException {
        Path root = folders();
        assertEquals("data.classes = 3: but " + root + " has 2 class folders: [blue, red]",
                assertThrows(ConfigException.class, () -> ImageFolderDataSource.open("data.train", root.toString(),
                        List.of(), 3, RGB4)).getMessage());
        Path test = dir.resolve("test");
        image(test.resolve("green"), "g.png", Color.GREEN);
        assertEquals("data.test = " + test + ": has a folder 'green' that is not a class of the training set "
                + "[blue, red]", assertThrows(ConfigException.class, () -> ImageFolderDataSource.open("data.test",
                        test.toString(), List.of("blue", "red"), 2, RGB4)).getMessage());

        Files.write(root.resolve("blue/broken.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});
        ImageFolderDataSource broken = ImageFolderDataSource.open("data.train", root.toString(), List.of(), 2, RGB4);
        SparkException e = assertThrows(SparkException.class, () -> broken.load(SPARK.sc(), 2, 5));
        assertTrue(e.getMessage().contains("broken.png: not"), e.getMessage());
        assertEquals(6, broken.with(new BadRecords(true)).load(SPARK.sc(), 2, 5).collect().stream()
                .mapToInt(ExampleBlock::size).sum(), "the six good images of seven");
    }

    @Test
    void aSampleIsASeededSubset() throws IOException {
        ImageFolderDataSource source = ImageFolderDataSource.open("data.train", folders().toString(), List.of(), 2,
                RGB4);
        ImageFolderDataSource sample = source.sample(4, 1);
        assertEquals(4, sample.examples());
        assertTrue(source.files().containsAll(sample.files()));
        assertEquals(source.sample(4, 1), sample, "the same seed, the same sample");
    }
}
