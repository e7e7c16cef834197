package dev.shoal.kernel.sharing;

import java.io.IOException;
import java.util.Arrays;

/** A stream of bits, most significant first within each byte: written into a growing array, or read from one. */
final class Bits {
    private Bits() {
    }

    /** Appends bits to a byte array, a byte at a time through a 64-bit buffer. */
    static final class Writer {
        private byte[] bytes;
        private int size;
        /** The bits not yet in {@code bytes}: the low {@code pending} bits, fewer than 8 between calls. */
        private long buffer;
        private int pending;

        Writer(int expectedBytes) {
            bytes = new byte[Math.max(16, expectedBytes)];
        }

        /** Appends the low {@code count} bits of {@code value} (0 to 32), the highest of them first. */
        void write(int value, int count) {
            buffer = (buffer << count) | (value & ((1L << count) - 1));
            pending += count;
            while (pending >= 8) {
                if (size == bytes.length) {
                    bytes = Arrays.copyOf(bytes, 2 * bytes.length);
                }
                pending -= 8;
                bytes[size++] = (byte) (buffer >>> pending);
            }
        }

        void writeBit(int bit) {
            write(bit, 1);
        }

        /** Appends {@code count} one bits. */
        void writeOnes(int count) {
            for (; count > 0; count -= 32) {
                write(-1, Math.min(count, 32));
            }
        }

        /** The bits written, padded with zeros to whole bytes. */
        byte[] toByteArray() {
            byte[] out = Arrays.copyOf(bytes, size + (pending > 0 ? 1 : 0));
            if (pending > 0) {
                out[size] = (byte) (buffer << (8 - pending));
            }
            return out;
        }
    }

    /** Reads bits from a byte array; reading past its end is an {@link IOException} naming {@code what}. */
    static final class Reader {
        private final byte[] bytes;
        private final String what;
        private int next;
        /** Bits read from {@code bytes} but not yet returned: the low {@code available} bits. */
        private long buffer;
        private int available;

        Reader(byte[] bytes, String what) {
            this.bytes = bytes;
            this.what = what;
        }

        int readBit() throws IOException {
            return read(1);
        }

        /** Reads {@code count} bits (0 to 32) as an unsigned value, the highest first. */
        int read(int count) throws IOException {
            while (available < count) {
                if (next >= bytes.length) {
                    throw new IOException("corrupt " + what + ": it ends inside an entry");
                }
                buffer = (buffer << 8) | (bytes[next++] & 0xff);
                available += 8;
            }
            available -= count;
            return (int) ((buffer >>> available) & ((1L << count) - 1));
        }

        /** Counts one bits up to the next zero, which is consumed, or up to {@code max} ones. */
        int readOnes(int max) throws IOException {
            int ones = 0;
            while (ones < max && readBit() == 1) {
                ones++;
            }
            return ones;
        }
    }
}
