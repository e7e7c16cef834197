package dev.shoal.kernel;

import java.util.zip.CRC32C;

/** The CRC-32C that ends every byte form Shoal writes (snapshots, worker results, checkpoints). */
public final class Checksum {
    private Checksum() {
    }

    /** CRC-32C of the first {@code length} bytes, as the int the formats store. */
    public static int crc32c(byte[] bytes, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, length);
        return (int) crc.getValue();
    }
}
