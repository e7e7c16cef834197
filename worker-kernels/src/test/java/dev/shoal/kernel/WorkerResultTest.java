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
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
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
        return Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.just(WorkerResult.empty())),
                Tuple.of(5, one));
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

    /**
     * The merger (what an averaging stage's workers use) against the fold it replaces, on values whose double sums
     * round, so that any other order or arithmetic would show; one merger for every merge, as a stage reuses it.
     */
    @Property
    void theMergerMergesAsTheFoldToTheBit(@ForAll("roundingResults") List<WorkerResult> results,
                                          @ForAll("roundingResults") List<WorkerResult> next) {
        ResultMerger merger = new ResultMerger();
        for (List<WorkerResult> merge : List.of(results, next)) {
            merger.clear();
            WorkerResult fold = WorkerResult.empty();
            for (WorkerResult r : merge) {
                assertSameResult(r.withoutModel(), merger.add(WorkerResultCodec.encode(r)));
                fold = fold.merge(r);
            }
            assertSameResult(fold.withoutModel(), merger.figures());
            float[] params = new float[fold.paramSum().length];
            float[] updaterState = new float[fold.updaterSum().length];
            Arrays.fill(params, Float.NaN); // what the round before left there
            Arrays.fill(updaterState, Float.NaN);
            if (fold.workers() > 0) {
                ModelSnapshot mean = merger.average(3, 1, params, updaterState);
                assertEquals(fold.average(3, 1), mean);
                assertSame(params, mean.params());
                assertThrows(IllegalArgumentException.class,
                        () -> merger.average(3, 1, new float[params.length + 1], updaterState));
            } else {
                assertThrows(IllegalStateException.class, () -> merger.average(3, 1, params, updaterState));
            }
        }
    }

    /**
     * The mean multiplies by the reciprocal where the weight is a power of two: the same bits as the division,
     * for any sum (huge, tiny, subnormal results), and the division itself for other weights.
     */
    @Property
    void theMeanIsTheDivisionToTheBit(@ForAll double sum, @ForAll("weights") double weight) {
        float[] out = new float[2];
        WorkerResult.mean(new double[] {sum, -sum}, 2, weight, out, 0);
        assertEquals(Float.floatToIntBits((float) (sum / weight)), Float.floatToIntBits(out[0]));
        assertEquals(Float.floatToIntBits((float) (-sum / weight)), Float.floatToIntBits(out[1]));
    }

    @Provide
    Arbitrary<Double> weights() {
        return Arbitraries.oneOf(Arbitraries.integers().between(0, 1000).map(k -> Math.scalb(1.0, k)),
                Arbitraries.of(3.0, 7.0, 12.0, 1e6));
    }

    /** Models of more values than the merger reads at once. */
    @Test
    void theMergerAveragesModelsLongerThanItsChunks() {
        Random random = new Random(7);
        List<WorkerResult> results = new ArrayList<>();
        ResultMerger merger = new ResultMerger();
        for (int w = 0; w < 3; w++) {
            WorkerResult r = WorkerResult.of(gaussians(random, 9001), gaussians(random, 4099), 10 + w, 2, w, 5,
                    MemoryUse.none());
            results.add(r);
            merger.add(WorkerResultCodec.encode(r));
        }
        ModelSnapshot expected = results.get(0).merge(results.get(1)).merge(results.get(2)).average(6, 2);
        assertEquals(expected, merger.average(6, 2, new float[9001], new float[4099]));
    }

    /** A worker's bytes written from buffers (a network's, outside the heap; the updater state in parts). */
    @Test
    void aWorkersBytesFromBuffersAreItsResultsBytes() {
        Random random = new Random(8);
        float[] params = gaussians(random, 5000);
        float[] updater = gaussians(random, 300);
        WorkerResult result = WorkerResult.of(params, updater, 64, 2, 1.5, 9, MemoryUse.none());
        FloatBuffer direct = ByteBuffer.allocateDirect(Float.BYTES * params.length).order(ByteOrder.nativeOrder())
                .asFloatBuffer().put(params).flip();
        List<FloatBuffer> parts = List.of(FloatBuffer.wrap(updater, 0, 99),
                FloatBuffer.wrap(updater, 99, updater.length - 99));
        byte[] fromBuffers = WorkerResultCodec.encode(result.withoutModel(), direct, parts, new byte[0]);
        byte[] expected = WorkerResultCodec.encode(result);
        assertArrayEquals(expected, fromBuffers);
        assertEquals(0, direct.position(), "the network's buffer is left as it was");
        Arrays.fill(fromBuffers, (byte) -1);
        assertSame(fromBuffers, WorkerResultCodec.encode(result.withoutModel(), direct, parts, fromBuffers));
        assertArrayEquals(expected, fromBuffers, "a buffer of the encoding's size is written over");
        byte[] other = new byte[expected.length - 1];
        assertArrayEquals(expected, WorkerResultCodec.encode(result.withoutModel(), direct, parts, other));
        assertEquals(0, other[0], "one of another size is left alone");
    }

    private static float[] gaussians(Random random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian() * 1e3f;
        }
        return v;
    }

    @Provide
    Arbitrary<List<WorkerResult>> roundingResults() {
        Arbitrary<float[]> vector = Arbitraries.floats().between(-1e6f, 1e6f).array(float[].class).ofSize(SIZE);
        Arbitrary<WorkerResult> one = Combinators.combine(vector, vector, Arbitraries.integers().between(1, 512))
                .as((p, u, n) -> WorkerResult.of(p, u, n, 1, n / 3.0, n, MemoryUse.none()));
        Arbitrary<WorkerResult> any = Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.just(WorkerResult.empty())),
                Tuple.of(1, one.map(r -> r.weighted(7))),
                Tuple.of(5, one));
        return any.list().ofMinSize(1).ofMaxSize(5);
    }

    @Test
    void theMergerRefusesAnotherModelsResult() {
        ResultMerger merger = new ResultMerger();
        merger.add(WorkerResultCodec.encode(WorkerResult.of(new float[2], new float[1], 4, 1, 0, 1,
                MemoryUse.none())));
        byte[] other = WorkerResultCodec.encode(WorkerResult.of(new float[3], new float[1], 4, 1, 0, 1,
                MemoryUse.none()));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> merger.add(other)).getMessage()
                .contains("2 + 1 vs 3 + 1 values"));
        merger.clear();
        merger.add(other);
        assertEquals(3, merger.average(1, 0, new float[3], new float[1]).params().length,
                "a new merge may be of another size");
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
