package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class SnapshotCodecTest {

    @Provide
    Arbitrary<float[]> vectors() {
        // Raw bit patterns: NaNs with payloads, infinities, subnormals and signed zeros all included.
        return Arbitraries.integers().map(Float::intBitsToFloat).array(float[].class).ofMaxSize(300);
    }

    @Property(tries = 200)
    void roundTripIsBitExact(@ForAll("vectors") float[] params, @ForAll("vectors") float[] state) {
        ModelSnapshot s = new ModelSnapshot(params, state, 17, 3);
        ModelSnapshot back = SnapshotCodec.decode(SnapshotCodec.encode(s));
        assertEquals(17, back.iteration());
        assertEquals(3, back.epoch());
        assertArrayEquals(bits(params), bits(back.params()));
        assertArrayEquals(bits(state), bits(back.updaterState()));
    }

    @Property(tries = 100)
    void anyFlippedBitIsRejected(@ForAll("vectors") float[] params, @ForAll("positions") int position) {
        byte[] bytes = SnapshotCodec.encode(new ModelSnapshot(params, new float[] {1f}, 1, 0));
        int at = position % bytes.length;
        bytes[at] ^= 0x10;
        assertThrows(CorruptSnapshotException.class, () -> SnapshotCodec.decode(bytes));
    }

    @Provide
    Arbitrary<Integer> positions() {
        return Arbitraries.integers().between(0, Integer.MAX_VALUE);
    }

    @Test
    void wrongVersionNamesBothVersions() {
        byte[] bytes = SnapshotCodec.encode(new ModelSnapshot(new float[] {1, 2}, new float[0], 0, 0));
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(8, 7);
        var e = assertThrows(CorruptSnapshotException.class, () -> SnapshotCodec.decode(bytes));
        assertTrue(e.getMessage().contains("version 7") && e.getMessage().contains("version 1"), e.getMessage());
    }

    @Test
    void truncatedSnapshotSaysHowLong() {
        byte[] bytes = SnapshotCodec.encode(new ModelSnapshot(new float[] {1, 2, 3}, new float[0], 0, 0));
        byte[] cut = java.util.Arrays.copyOf(bytes, bytes.length - 5);
        var e = assertThrows(CorruptSnapshotException.class, () -> SnapshotCodec.decode(cut));
        assertTrue(e.getMessage().contains(cut.length + " bytes long"), e.getMessage());
    }

    @Test
    void foreignBytesAreNotASnapshot() {
        var e = assertThrows(CorruptSnapshotException.class,
                () -> SnapshotCodec.decode("PK\u0003\u0004 this is a zip file, not a snapshot".getBytes()));
        assertTrue(e.getMessage().contains("not a Shoal snapshot"), e.getMessage());
    }

    private static int[] bits(float[] v) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Float.floatToRawIntBits(v[i]);
        }
        return out;
    }
}
