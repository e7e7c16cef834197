package dev.shoal.kernel;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.zip.CRC32C;

/**
 * The CRC-32C that ends every byte form Shoal writes (snapshots, worker results, checkpoints), and the SHA-256
 * that names a model's bytes where a match must mean the same model.
 */
public final class Checksum {
    private Checksum() {
    }

    /** CRC-32C of the first {@code length} bytes, as the int the formats store. */
    public static int crc32c(byte[] bytes, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, length);
        return (int) crc.getValue();
    }

    /** The SHA-256 of {@code bytes}, in hex. */
    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
