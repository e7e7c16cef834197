package dev.shoal.kernel;

/** A snapshot's bytes failed a format, version, length or checksum check. */
public final class CorruptSnapshotException extends RuntimeException {
    public CorruptSnapshotException(String message) {
        super(message);
    }
}
