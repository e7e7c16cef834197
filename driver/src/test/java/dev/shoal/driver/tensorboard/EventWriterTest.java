package dev.shoal.driver.tensorboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.driver.testing.TensorBoardFiles;
import dev.shoal.tensorboard.proto.DataType;
import dev.shoal.tensorboard.proto.Event;
import dev.shoal.tensorboard.proto.HistogramProto;
import dev.shoal.tensorboard.proto.Summary;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EventWriterTest {
    @TempDir
    Path dir;

    @Test
    void writesAFileTensorBoardCanReadBack() throws IOException {
        BufferedImage picture = new BufferedImage(7, 5, BufferedImage.TYPE_INT_RGB);
        picture.setRGB(3, 2, 0xff0000);
        try (EventWriter w = EventWriter.create(dir.resolve("train"))) {
            w.write(1, EventWriter.scalar("loss", 0.75), EventWriter.text("plan", "`a: 1`"));
            w.write(2, EventWriter.scalar("loss", 0.5), EventWriter.image("grid", picture));
            w.flush();
        }
        List<Event> events = TensorBoardFiles.events(dir.resolve("train"));
        assertEquals("brain.Event:2", events.get(0).getFileVersion(), "TensorBoard's first record");
        assertEquals(3, events.size());
        assertEquals(0.5f, TensorBoardFiles.scalars(dir.resolve("train"), "loss").get(2L));
        Summary.Value text = TensorBoardFiles.values(dir.resolve("train"), "plan").get(1L);
        assertEquals("text", text.getMetadata().getPluginData().getPluginName());
        assertEquals(DataType.DT_STRING, text.getTensor().getDtype());
        assertEquals("`a: 1`", text.getTensor().getStringVal(0).toStringUtf8());
        Summary.Image image = TensorBoardFiles.values(dir.resolve("train"), "grid").get(2L).getImage();
        BufferedImage decoded = ImageIO.read(image.getEncodedImageString().newInput());
        assertEquals(7, image.getWidth());
        assertEquals(5, image.getHeight());
        assertEquals(3, image.getColorspace(), "RGB");
        assertEquals(0xff0000, decoded.getRGB(3, 2) & 0xffffff);
    }

    @Test
    void histogramsCountEveryValueOnceInBucketsFromMinToMax() {
        Random random = new Random(3);
        float[] values = new float[10_001];
        double sum = 0;
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
            sum += values[i];
        }
        HistogramProto h = EventWriter.histogram(values);
        assertEquals(values.length, h.getNum());
        assertEquals(values.length, h.getBucketList().stream().mapToDouble(Double::doubleValue).sum());
        assertEquals(EventWriter.BUCKETS, h.getBucketCount());
        assertEquals(sum, h.getSum(), 0);
        assertEquals(h.getMax(), h.getBucketLimit(EventWriter.BUCKETS - 1));
        for (int b = 1; b < EventWriter.BUCKETS; b++) {
            assertTrue(h.getBucketLimit(b) > h.getBucketLimit(b - 1));
        }
        // Bucket b holds the values in (limit[b-1], limit[b]], the first from min on.
        for (int b = 0; b < EventWriter.BUCKETS; b++) {
            double low = b == 0 ? h.getMin() : h.getBucketLimit(b - 1);
            double high = h.getBucketLimit(b);
            long inside = 0;
            for (float v : values) {
                if (b == 0 ? v >= low && v <= high : v > low && v <= high) {
                    inside++;
                }
            }
            assertEquals(inside, h.getBucket(b), 1, "bucket " + b + " (a value on an edge may fall either side)");
        }
        HistogramProto same = EventWriter.histogram(new float[] {2f, 2f, 2f});
        assertEquals(List.of(3.0), same.getBucketList(), "equal values make one bucket");
        assertEquals(2.0, same.getMin());
    }
}
