package dev.shoal.driver.tensorboard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EventRecordsTest {
    @TempDir
    Path dir;

    /** The CRC32C test vectors of RFC 3720, appendix B.4, and the classic "123456789" check value. */
    @Test
    void crc32cMatchesThePublishedVectors() {
        byte[] zeros = new byte[32];
        byte[] ones = new byte[32];
        Arrays.fill(ones, (byte) 0xff);
        byte[] ascending = new byte[32];
        byte[] descending = new byte[32];
        for (int i = 0; i < 32; i++) {
            ascending[i] = (byte) i;
            descending[i] = (byte) (31 - i);
        }
        assertEquals(0x8a9136aa, crc(zeros));
        assertEquals(0x62a8ab43, crc(ones));
        assertEquals(0x46dd794e, crc(ascending));
        assertEquals(0x113fdb5c, crc(descending));
        assertEquals(0xe3069283, crc("123456789".getBytes(StandardCharsets.US_ASCII)));
    }

    private static int crc(byte[] data) {
        return EventRecords.crc32c(data, 0, data.length);
    }

    /**
     * Two records ("shoal", then an empty one) as TensorBoard 2.21's own Python RecordWriter frames them
     * (tensorboard.summary.writer.record_writer, run once to make this vector): length, masked CRC of the length,
     * payload, masked CRC of the payload.
     */
    @Test
    void framesRecordsByteForByteAsTensorBoardsOwnWriter() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        EventRecords.write(out, "shoal".getBytes(StandardCharsets.US_ASCII));
        EventRecords.write(out, new byte[0]);
        assertEquals("0500000000000000eab2043e73686f616ca5cd0ac4000000000000000029039807d8ea82a2",
                HexFormat.of().formatHex(out.toByteArray()));
    }

    @Test
    void readsBackWhatItWrote() throws IOException {
        List<byte[]> payloads = List.of(new byte[0], "a".getBytes(StandardCharsets.UTF_8), new byte[70_000]);
        Path file = write(payloads);
        List<byte[]> read = EventRecords.read(file);
        assertEquals(payloads.size(), read.size());
        for (int i = 0; i < payloads.size(); i++) {
            assertArrayEquals(payloads.get(i), read.get(i));
        }
    }

    /** Flipping any one bit of any byte, in a header, a payload or a CRC, is caught by a CRC or the length. */
    @Test
    void everyDamagedByteIsDetected() throws IOException {
        Path file = write(List.of("first".getBytes(StandardCharsets.UTF_8), "second".getBytes(StandardCharsets.UTF_8)));
        byte[] good = Files.readAllBytes(file);
        for (int i = 0; i < good.length; i++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] bad = good.clone();
                bad[i] ^= (byte) (1 << bit);
                Files.write(file, bad);
                int at = i;
                assertThrows(IOException.class, () -> EventRecords.read(file), () -> "byte " + at + " flipped");
            }
        }
        Files.write(file, Arrays.copyOf(good, good.length - 1));
        IOException cut = assertThrows(IOException.class, () -> EventRecords.read(file));
        assertEquals(file + ": record 1 at byte 21 is cut short", cut.getMessage());
        assertEquals(1, EventRecords.read(file, true).size(), "a file being written: its complete records");
    }

    private Path write(List<byte[]> payloads) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : payloads) {
            EventRecords.write(out, p);
        }
        return Files.write(dir.resolve("records"), out.toByteArray());
    }
}
