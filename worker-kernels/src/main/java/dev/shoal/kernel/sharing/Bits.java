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

        /** Appends the low {@code count} bits of {@code value} (0 to 56), the highest of them first. */
        void write(long value, int count) {
            buffer = (buffer << count) | (value & ((1L << count) - 1));
            pending += count;
            if (size + 8 > bytes.length) {
                bytes = Arrays.copyOf(bytes, 2 * bytes.length + 8);
            }
            while (pending >= 8) {
                pending -= 8;
                bytes[size++] = (byte) (buffer >>> pending);
            }
        }

        /** Appends {@code count} one bits. */
        void writeOnes(int count) {
            for (; count > 0; count -= 56) {
                write(-1L, Math.min(count, 56));
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
            if (available < count) {
                fill();
                if (available < count) {
                    throw endsInside();
                }
            }
            available -= count;
            return (int) ((buffer >>> available) & ((1L << count) - 1));
        }

        /** Counts one bits up to the next zero, which is consumed, or up to {@code max} (at most 32) ones. */
        int readOnes(int max) throws IOException {
            int ones = run(true, max);
            available -= ones < max ? ones + 1 : max;
            return ones;
        }

        /** Counts the zero bits before the next one bit, up to {@code max} (at most 32), consuming nothing. */
        int peekZeros(int max) throws IOException {
            return run(false, max);
        }

        /** The length of the run of {@code ones} (or zeros) that starts here, up to {@code max}; reads ahead. */
        private int run(boolean ones, int max) throws IOException {
            fill();
            // The available bits, first at the top; the word's low bits beyond them are zeros.
            long window = available == 0 ? 0 : buffer << (64 - available);
            int length = Math.min(available, Long.numberOfLeadingZeros(ones ? ~window : window));
            if (length < max && length == available) {
                throw endsInside(); // fill() leaves at least 57 bits unless the bytes have ended
            }
            return Math.min(length, max);
        }

        /** Tops the buffered bits up to at least 57, or to the end of the bytes. */
        private void fill() {
            while (available <= 56 && next < bytes.length) {
                buffer = (buffer << 8) | (bytes[next++] & 0xff);
                available += 8;
            }
        }

        private IOException endsInside() {
            return new IOException("corrupt " + what + ": it ends inside an entry");
        }
    }
}
