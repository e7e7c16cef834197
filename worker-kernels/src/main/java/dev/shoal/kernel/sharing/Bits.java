package dev.shoal.kernel.sharing;

import java.io.IOException;
import java.util.Arrays;

/** A stream of bits, most significant first within each byte: written into a growing array, or read from one. */
final class Bits {
    private Bits() {
    }

    /** Appends bits to a byte array. */
    static final class Writer {
        private byte[] bytes;
        private long bitCount;

        Writer(int expectedBytes) {
            bytes = new byte[Math.max(16, expectedBytes)];
        }

        /** Appends the low {@code count} bits of {@code value} (0 to 32), the highest of them first. */
        void write(int value, int count) {
            for (int i = count - 1; i >= 0; i--) {
                writeBit((value >>> i) & 1);
            }
        }

        void writeBit(int bit) {
            int at = (int) (bitCount >>> 3);
            if (at == bytes.length) {
                bytes = Arrays.copyOf(bytes, 2 * bytes.length);
            }
            if (bit != 0) {
                bytes[at] |= (byte) (0x80 >>> (bitCount & 7));
            }
            bitCount++;
        }

        /** Appends {@code count} one bits. */
        void writeOnes(int count) {
            for (int i = 0; i < count; i++) {
                writeBit(1);
            }
        }

        /** The bits written, padded with zeros to whole bytes. */
        byte[] toByteArray() {
            return Arrays.copyOf(bytes, (int) ((bitCount + 7) >>> 3));
        }
    }

    /** Reads bits from a byte array; reading past its end is an {@link IOException} naming {@code what}. */
    static final class Reader {
        private final byte[] bytes;
        private final String what;
        private long position;

        Reader(byte[] bytes, String what) {
            this.bytes = bytes;
            this.what = what;
        }

        int readBit() throws IOException {
            int at = (int) (position >>> 3);
            if (at >= bytes.length) {
                throw new IOException("corrupt " + what + ": it ends inside an entry");
            }
            int bit = (bytes[at] >>> (7 - (position & 7))) & 1;
            position++;
            return bit;
        }

        /** Reads {@code count} bits (0 to 32) as an unsigned value, the highest first. */
        int read(int count) throws IOException {
            int value = 0;
            for (int i = 0; i < count; i++) {
                value = (value << 1) | readBit();
            }
            return value;
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
