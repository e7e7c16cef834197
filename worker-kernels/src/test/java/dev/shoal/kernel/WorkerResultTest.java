package dev.shoal.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * Merge laws. Parameter values are multiples of 2^-16 in [-2^10, 2^10], so their double sums are exact and
 * associativity can be checked with equality rather than a tolerance.
 */
class WorkerResultTest {
    private static final int SIZE = 12;

    @Provide
    Arbitrary<WorkerResult> results() {
        Arbitrary<float[]> vector = Arbitraries.integers().between(-(1 << 26), 1 << 26)
                .map(i -> i / 65536f).array(float[].class).ofSize(SIZE);
        Arbitrary<WorkerResult> one = Combinators.combine(vector, vector,
                Arbitraries.integers().between(1, 512), Arbitraries.integers().between(1, 20),
                Arbitraries.integers().between(0, 1 << 20), Arbitraries.longs().between(0, 1L << 40),
                Arbitraries.longs().between(0, 1 << 16))
                .as((p, u, n, steps, loss, nanos, mb) -> WorkerResult.of(p, u, n, steps, loss / 64.0, nanos,
                        new MemoryUse(mb, mb / 2, mb / 3)));
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(1, Arbitraries.just(WorkerResult.empty())),
                net.jqwik.api.Tuple.of(5, one));
    }

    @Property
    void mergeIsCommutative(@ForAll("results") WorkerResult a, @ForAll("results") WorkerResult b) {
        assertSameResult(a.merge(b), b.merge(a));
    }

    @Property
    void mergeIsAssociative(@ForAll("results") WorkerResult a, @ForAll("results") WorkerResult b,
                            @ForAll("results") WorkerResult c) {
        assertSameResult(a.merge(b).merge(c), a.merge(b.merge(c)));
    }

    @Property
    void emptyIsIdentity(@ForAll("results") WorkerResult a) {
        assertSame(a, a.merge(WorkerResult.empty()));
        assertSame(a, WorkerResult.empty().merge(a));
    }

    @Property
    void averageOfTwoIsTheirMean(@ForAll("results") WorkerResult a, @ForAll("results") WorkerResult b) {
        if (a.workers() == 0 || b.workers() == 0) {
            return;
        }
        ModelSnapshot mean = a.merge(b).average(5, 1);
        for (int i = 0; i < SIZE; i++) {
            assertEquals((float) ((a.paramSum()[i] + b.paramSum()[i]) / 2), mean.params()[i]);
            assertEquals((float) ((a.updaterSum()[i] + b.updaterSum()[i]) / 2), mean.updaterState()[i]);
        }
        assertEquals(2, a.merge(b).workers());
        assertEquals(a.examples() + b.examples(), a.merge(b).examples());
    }

    @Property
    void javaSerializationKeepsEveryValue(@ForAll("results") WorkerResult a, @ForAll("results") WorkerResult b)
            throws Exception {
        assertSameResult(a, roundTrip(a));
        assertSameResult(a.merge(b), roundTrip(a.merge(b)));
    }

    @Property
    void aWeightedResultTravelsWhole(@ForAll("results") WorkerResult a, @ForAll("results") WorkerResult b)
            throws Exception {
        if (a.workers() == 1) {
            WorkerResult weighted = a.weighted(600);
            assertSameResult(weighted, roundTrip(weighted));
            assertSameResult(weighted.merge(b), roundTrip(weighted.merge(b)));
        }
    }

    @Test
    void damagedOrForeignBytesAreRefusedNamingTheCheck() {
        byte[] bytes = WorkerResultCodec.encode(WorkerResult.of(new float[] {1, 2}, new float[] {3}, 4, 1, 0.5, 7,
                MemoryUse.none()));
        byte[] flipped = bytes.clone();
        flipped[40] ^= 1;
        assertTrue(assertThrows(CorruptSnapshotException.class, () -> WorkerResultCodec.decode(flipped))
                .getMessage().contains("checksum mismatch"));
        byte[] newer = bytes.clone();
        newer[8] = 2;
        assertTrue(assertThrows(CorruptSnapshotException.class, () -> WorkerResultCodec.decode(newer))
                .getMessage().contains("version 2 is not supported"));
        assertTrue(assertThrows(CorruptSnapshotException.class,
                () -> WorkerResultCodec.decode(java.util.Arrays.copyOf(bytes, 20))).getMessage().contains("shorter"));
    }

    @Test
    void oneWorkersResultTravelsAsFloats() throws Exception {
        int n = 50_000;
        WorkerResult one = WorkerResult.of(new float[n], new float[n], 128, 1, 1.0, 1, MemoryUse.now());
        assertTrue(serialize(one).length < 2 * n * Float.BYTES + 1024, "a float per value, plus headers");
        assertTrue(serialize(one.merge(one)).length > 2 * n * Double.BYTES, "merged sums stay doubles");
    }

    private static WorkerResult roundTrip(WorkerResult r) throws Exception {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(serialize(r)))) {
            return (WorkerResult) in.readObject();
        }
    }

    private static byte[] serialize(WorkerResult r) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(r);
        }
        return bytes.toByteArray();
    }

    private static void assertSameResult(WorkerResult x, WorkerResult y) {
        assertArrayEquals(x.paramSum(), y.paramSum());
        assertArrayEquals(x.updaterSum(), y.updaterSum());
        assertEquals(x.workers(), y.workers());
        assertEquals(x.weight(), y.weight());
        assertEquals(x.examples(), y.examples());
        assertEquals(x.maxSteps(), y.maxSteps());
        assertEquals(x.lossSum(), y.lossSum());
        assertEquals(x.computeNanos(), y.computeNanos());
        assertEquals(x.maxComputeNanos(), y.maxComputeNanos());
        assertEquals(x.memory(), y.memory());
    }
}
