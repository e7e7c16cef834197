package dev.shoal.driver.tensorboard;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * TensorFlow's record framing, which event files use: each record is its length (8 bytes, little-endian), the
 * masked CRC32C of those 8 bytes (4 bytes), the payload, and the masked CRC32C of the payload (4 bytes). The mask
 * (rotate right by 15 bits, add a constant) keeps a CRC of data that itself holds CRCs from being trivial.
 */
public final class EventRecords {
    private static final int MASK_DELTA = 0xa282ead8;

    private EventRecords() {
    }

    /** The CRC32C (Castagnoli) of {@code data}, as TensorFlow's {@code crc32c::Value}. */
    static int crc32c(byte[] data, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(data, offset, length);
        return (int) crc.getValue();
    }

    /** TensorFlow's {@code crc32c::Mask}. */
    static int mask(int crc) {
        return Integer.rotateRight(crc, 15) + MASK_DELTA;
    }

    static int maskedCrc32c(byte[] data, int offset, int length) {
        return mask(crc32c(data, offset, length));
    }

    /** Writes {@code payload} as one framed record. */
    public static void write(OutputStream out, byte[] payload) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        header.putLong(payload.length);
        header.putInt(maskedCrc32c(header.array(), 0, 8));
        out.write(header.array());
        out.write(payload);
        out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(maskedCrc32c(payload, 0, payload.length)).array());
    }

    /**
     * The payloads of every record in {@code file}, each checked against its CRCs; a damaged or cut record fails
     * with its number and byte offset.
     */
    public static List<byte[]> read(Path file) throws IOException {
        return read(file, false);
    }

    /**
     * Like {@link #read(Path)}, but with {@code whileWritten} a last record cut short is left out, as TensorBoard
     * does: a file being written (or whose writer was killed) ends that way.
     */
    public static List<byte[]> read(Path file, boolean whileWritten) throws IOException {
        List<byte[]> records = new ArrayList<>();
        try (InputStream in = Files.newInputStream(file)) {
            long offset = 0;
            byte[] header = new byte[12];
            while (true) {
                int first = in.read();
                if (first < 0) {
                    return records;
                }
                header[0] = (byte) first;
                if (in.readNBytes(header, 1, 11) < 11) {
                    return cutShort(file, records, offset, whileWritten);
                }
                ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
                long length = h.getLong();
                if (h.getInt() != maskedCrc32c(header, 0, 8)) {
                    throw corrupt(file, records.size(), offset, "its length's CRC does not match");
                }
                if (length < 0 || length > Integer.MAX_VALUE - 8) {
                    throw corrupt(file, records.size(), offset, "length " + length);
                }
                byte[] payload = new byte[(int) length + 4];
                if (in.readNBytes(payload, 0, payload.length) < payload.length) {
                    return cutShort(file, records, offset, whileWritten);
                }
                int crc = ByteBuffer.wrap(payload, (int) length, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
                if (crc != maskedCrc32c(payload, 0, (int) length)) {
                    throw corrupt(file, records.size(), offset, "its payload's CRC does not match");
                }
                records.add(java.util.Arrays.copyOf(payload, (int) length));
                offset += 12 + payload.length;
            }
        }
    }

    private static List<byte[]> cutShort(Path file, List<byte[]> records, long offset, boolean whileWritten)
            throws EOFException {
        if (whileWritten) {
            return records;
        }
        throw new EOFException(file + ": record " + records.size() + " at byte " + offset + " is cut short");
    }

    private static IOException corrupt(Path file, int record, long offset, String what) {
        return new IOException(file + ": record " + record + " at byte " + offset + " is damaged: " + what);
    }
}
