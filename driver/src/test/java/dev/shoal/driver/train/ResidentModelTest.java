package dev.shoal.driver.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.kernel.Checksum;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.SnapshotCodec;
import org.junit.jupiter.api.Test;

/** A stage starts from the kept model only when the driver's model is that model, bit for bit. */
class ResidentModelTest {

    @Test
    void theKeptModelIsFoundByTheShaOfTheModelTheDriverSends() {
        ModelSnapshot kept = new ModelSnapshot(new float[] {1, 2, 3}, new float[] {4, 5}, 40, 1);
        ResidentModel.keep(kept);

        ModelSnapshot nextEpoch = kept.atEpoch(2);
        ModelSnapshot found = ResidentModel.find(sha(nextEpoch), 2).orElseThrow();
        assertArrayEquals(kept.params(), found.params());
        assertArrayEquals(kept.updaterState(), found.updaterState());
        assertEquals(40, found.iteration());
        assertEquals(2, found.epoch(), "counted in the stage's epoch");

        assertTrue(ResidentModel.find(sha(kept), 2).isEmpty(), "the driver's model is of another epoch");
        ModelSnapshot oneBitOff = new ModelSnapshot(new float[] {1, 2, Math.nextUp(3f)}, new float[] {4, 5}, 40, 2);
        assertTrue(ResidentModel.find(sha(oneBitOff), 2).isEmpty());
        ModelSnapshot otherIteration = new ModelSnapshot(kept.params(), kept.updaterState(), 41, 2);
        assertTrue(ResidentModel.find(sha(otherIteration), 2).isEmpty());
    }

    private static String sha(ModelSnapshot s) {
        return Checksum.sha256(SnapshotCodec.encode(s));
    }
}
