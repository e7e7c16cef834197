package dev.shoal.kernel.sharing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import java.util.stream.IntStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ThresholdEncoderTest {
    private static final int SIZE = 64;

    /** Gradients with zeros, tiny (subnormal) values, ordinary ones and huge ones, mixed. */
    @Provide
    Arbitrary<float[]> gradients() {
        Arbitrary<Float> value = Arbitraries.oneOf(
                Arbitraries.just(0f),
                // Subnormals: every bit pattern with a zero exponent.
                Arbitraries.integers().between(1 - (1 << 23), (1 << 23) - 1)
                        .map(b -> Math.copySign(Float.intBitsToFloat(Math.abs(b)), b)),
                Arbitraries.floats().between(-1f, 1f).ofScale(9),
                // Any float up to 1e37 in magnitude (two steps' sum stays finite).
                Arbitraries.integers().map(Float::intBitsToFloat).filter(f -> Math.abs(f) <= 1e37f));
        return value.array(float[].class).ofSize(SIZE);
    }

    @Property
    void sentPlusResidualIsExactlyWhatWasToSend(@ForAll("gradients") float[] g1, @ForAll("gradients") float[] g2) {
        ThresholdEncoder encoder = new ThresholdEncoder(SIZE, 0.1);
        // Step 1 from an empty residual: decoded + residual == g, bit for bit.
        assertReconstructs(g1, encoder.encode(g1, 1), encoder.residual());
        // Step 2 carries the residual over: decoded + residual == residual before + g2 (one float addition).
        float[] before = encoder.residual();
        float[] toSend = new float[SIZE];
        for (int i = 0; i < SIZE; i++) {
            toSend[i] = before[i] + g2[i];
        }
        assertReconstructs(toSend, encoder.encode(g2, 1), encoder.residual());
    }

    private static void assertReconstructs(float[] expected, GradientMessage message, float[] residual) {
        float[] decoded = new float[expected.length];
        message.addTo(decoded);
        for (int i = 0; i < expected.length; i++) {
            // Numeric equality: -0.0 and 0.0 are the same gradient.
            assertTrue(expected[i] == decoded[i] + residual[i], "entry " + i + ": " + expected[i] + " != "
                    + decoded[i] + " + " + residual[i]);
        }
        if (message.entries().length > 0) {
            float t = message.threshold();
            assertEquals(0, Float.floatToRawIntBits(t) & ((1 << 20) - 1), "threshold " + t + " has 3 mantissa bits");
        }
    }

    @Test
    void entriesAreSelectedAcrossBlocks() {
        // The encoder selects from a block of 4,096 entries at a time: three blocks and five entries more.
        int size = 3 * 4096 + 5;
        Random random = new Random(7);
        float[] g = new float[size];
        for (int i = 0; i < size; i++) {
            g[i] = (float) (random.nextGaussian() * Math.exp(2 * random.nextGaussian()));
        }
        g[size - 1] = 1e6f; // the last, short block has an entry to send
        ThresholdEncoder encoder = new ThresholdEncoder(size, 0.1);
        GradientMessage message = encoder.encode(g, 1);
        assertReconstructs(g, message, encoder.residual());

        float t = message.threshold();
        int[] entries = message.entries();
        assertEquals(IntStream.range(0, size).filter(i -> Math.abs(g[i]) >= t).count(), entries.length,
                "every entry of at least the threshold, once");
        for (int j = 1; j < entries.length; j++) {
            assertTrue(Math.abs(entries[j]) > Math.abs(entries[j - 1]), "entries in index order at " + j);
        }
        for (int block = 0; block < 4; block++) {
            int first = block * 4096;
            assertTrue(Arrays.stream(entries).anyMatch(e -> Math.abs(e) - 1 >= first && Math.abs(e) - 1 < first + 4096),
                    "an entry from block " + block);
        }
        assertEquals(size, entries[entries.length - 1], "the last entry, positive");
    }

    @Test
    void adaptiveThresholdSendsAboutTheTargetShare() {
        java.util.Random random = new java.util.Random(5);
        int size = 100_000;
        ThresholdEncoder encoder = new ThresholdEncoder(size, 0.01);
        for (int step = 0; step < 20; step++) {
            float[] g = new float[size];
            for (int i = 0; i < size; i++) {
                g[i] = (float) (random.nextGaussian() * 1e-3);
            }
            int sent = encoder.encode(g, 32).entries().length;
            // Bins of 1/8 binade: at least the target 1% (1,000 entries); residuals piling up under the
            // threshold can cross it together, but the share stays within a small factor.
            assertTrue(sent >= 1_000 && sent <= 2_500, "step " + step + " sent " + sent);
        }
    }

    @Test
    void entriesTravelAsWholeMultiplesOfTheThresholdAndTheRestFollowsLater() {
        ThresholdEncoder encoder = new ThresholdEncoder(4, 0.5);
        float[] sum = new float[4];
        // Two entries to send: the threshold is the bin edge of the second largest, 2.5 (1.25 x 2^1).
        GradientMessage first = encoder.encode(new float[] {-8, 2.625f, 0.5f, 0}, 1);
        assertEquals(2.5f, first.threshold());
        assertArrayEquals(new int[] {-1, 2}, first.entries());
        assertArrayEquals(new byte[] {3, 1}, first.multiples(), "8 = 3 x 2.5 + 0.5");
        first.addTo(sum);
        assertArrayEquals(new float[] {-7.5f, 2.5f, 0, 0}, sum);
        for (int step = 0; step < 3; step++) {
            encoder.encode(new float[4], 1).addTo(sum);
        }
        assertArrayEquals(new float[] {-8, 2.625f, 0.5f, 0}, sum, "what was held back arrives in later steps");
        assertArrayEquals(new float[4], encoder.residual());
    }

    @ParameterizedTest
    @CsvSource({"0.01, 1.35", "0.03, 1.15"})
    void sparseMessagesTakeAboutTenBitsPerEntry(double fraction, double bytesPerEntry) {
        float[] g = new float[100_000];
        java.util.Random random = new java.util.Random(3);
        for (int i = 0; i < g.length; i++) {
            g[i] = (float) random.nextGaussian();
        }
        GradientMessage m = new ThresholdEncoder(g.length, fraction).encode(g, 1);
        int entries = m.entries().length;
        // Gaps average 1 / fraction indices: a Rice code of ~log2(1 / fraction) + 2 bits; a sign bit; one bit
        // for a multiple of 1.
        assertTrue(m.toBytes().length < 18 + bytesPerEntry * entries, m.toBytes().length + " bytes for " + entries);
    }

    @Test
    void farApartEntriesAndLargeMultiplesRoundTrip() throws Exception {
        int[] entries = {1, -2, 40, 1 << 20, -((1 << 30) + 5), Integer.MAX_VALUE - 1};
        byte[] multiples = {1, 127, 2, 3, 64, 1};
        GradientMessage m = GradientMessage.sparse(3, 0.5f, entries, multiples);
        GradientMessage back = GradientMessage.read(new DataInputStream(new ByteArrayInputStream(m.toBytes())));
        assertArrayEquals(entries, back.entries());
        assertArrayEquals(multiples, back.multiples());
    }

    /**
     * The wire format, pinned: these bytes were written by the first version of the coder, which wrote and read
     * one field (and each unary bit) at a time; the faster one must not change a bit.
     */
    @Test
    void theWireFormatIsPinned() throws Exception {
        int[] entries = {1, -2, 5, -40, 41, 1000, -70000, 70001, 2_000_000_000};
        byte[] multiples = {1, 2, 3, 127, 64, 63, 7, 8, 100};
        GradientMessage m = GradientMessage.sparse(12, 0.375f, entries, multiples);
        String wire = "010000000c3ec00000000000091b0000002b00000004000000280000008c000008a07f000000001000000ef80fc0"
                + "04361e7000000008fffdcd20a38064";
        assertEquals(wire, HexFormat.of().formatHex(m.toBytes()));
        GradientMessage back = GradientMessage.read(new DataInputStream(new ByteArrayInputStream(
                HexFormat.of().parseHex(wire))));
        assertArrayEquals(entries, back.entries());
        assertArrayEquals(multiples, back.multiples());
    }

    /** One entry whose multiple begins with seven zeros: more than Elias-gamma's 127 allows. */
    @Test
    void aMultipleOverTheMaximumIsRejected() {
        ByteBuffer wire = ByteBuffer.allocate(20).put((byte) 1).putInt(1).putFloat(0.5f).putInt(1)
                .put((byte) 0).putInt(2) // Rice parameter 0, a body of 2 bytes
                .put((byte) 0b0000_0000).put((byte) 0b0100_0000); // gap 0, sign +, 0000000 1...
        IOException e = assertThrows(IOException.class,
                () -> GradientMessage.read(new DataInputStream(new ByteArrayInputStream(wire.array()))));
        assertEquals("corrupt gradient message: entry 0 has a multiple over 127", e.getMessage());
    }

    @Test
    void corruptSparseMessagesAreRejected() {
        float[] g = new float[1000];
        java.util.Random random = new java.util.Random(5);
        for (int i = 0; i < g.length; i++) {
            g[i] = (float) random.nextGaussian();
        }
        GradientMessage m = new ThresholdEncoder(g.length, 0.05).encode(g, 1);
        int n = m.entries().length;
        byte[] wire = m.toBytes();
        // After the 13-byte header: the Rice parameter (1 byte), the body's length (4 bytes), the body.
        byte[] badRice = wire.clone();
        badRice[13] = 31;
        byte[] shortBody = Arrays.copyOf(wire, 18 + (3 * n + 7) / 8);
        ByteBuffer.wrap(shortBody).putInt(14, (3 * n + 7) / 8);
        for (byte[] bad : new byte[][] {badRice, shortBody}) {
            IOException e = assertThrows(IOException.class,
                    () -> GradientMessage.read(new DataInputStream(new ByteArrayInputStream(bad))));
            assertTrue(e.getMessage().startsWith("corrupt gradient message"), e.getMessage());
        }
        assertThrows(EOFException.class, () -> GradientMessage.read(
                new DataInputStream(new ByteArrayInputStream(Arrays.copyOf(wire, wire.length - 1)))));
    }

    @Test
    void nonFiniteGradientsAreRejectedNamingTheEntry() {
        ThresholdEncoder encoder = new ThresholdEncoder(3, 0.5);
        var e = assertThrows(IllegalArgumentException.class, () -> encoder.encode(new float[] {1, Float.NaN, 0}, 1));
        assertEquals("gradient entry 1 is NaN", e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> encoder.encode(new float[] {Float.NEGATIVE_INFINITY, 0, 0}, 1));
        ThresholdEncoder full = new ThresholdEncoder(2, 0.5);
        full.encode(new float[] {3.3e38f, 2.5e38f}, 1);
        assertEquals(2.5e38f, full.residual()[1], "below the threshold: kept");
        e = assertThrows(IllegalArgumentException.class, () -> full.encode(new float[] {0, 2e38f}, 1));
        assertTrue(e.getMessage().startsWith("gradient entry 1 overflows"), e.getMessage());
    }

    @Property
    void messagesRoundTripOnTheWire(@ForAll("gradients") float[] g) throws Exception {
        for (GradientMessage m : new GradientMessage[] {new ThresholdEncoder(SIZE, 0.2).encode(g, 7),
                GradientMessage.dense(9, g)}) {
            GradientMessage back = GradientMessage.read(new DataInputStream(new ByteArrayInputStream(m.toBytes())));
            assertEquals(m.examples(), back.examples());
            assertEquals(m.threshold(), back.threshold());
            assertArrayEquals(m.entries(), back.entries());
            assertArrayEquals(m.multiples(), back.multiples());
            assertArrayEquals(m.dense(), back.dense());
        }
    }
}
