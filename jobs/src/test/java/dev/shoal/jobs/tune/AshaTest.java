package dev.shoal.jobs.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AshaTest {

    @Test
    void rungsSitAtMinEpochsTimesPowersOfTheReduction() {
        Asha a = new Asha(1, 3);
        List<Integer> rungs = new ArrayList<>();
        for (int e = 1; e <= 30; e++) {
            if (a.isRung(e)) {
                rungs.add(e);
            }
        }
        assertEquals(List.of(1, 3, 9, 27), rungs);
        assertTrue(new Asha(2, 2).isRung(8));
        assertFalse(new Asha(2, 2).isRung(1));
    }

    /**
     * Six trials of known quality (each scores the same at every epoch), arriving at rung 1 in this order:
     * 0.5, 0.9, 0.1, 0.7, 0.3, 0.8. With reduction 3 a trial goes on when it is among the best n/3 of the n
     * scores at the rung so far (the best one while n < 6): 0.5 and 0.9 go on (each the best when it came),
     * 0.1, 0.7 and 0.3 stop, and 0.8 goes on as the second best of six.
     */
    @Test
    void stopsTheTrialsBehindTheirRung() {
        Asha asha = new Asha(1, 3);
        double[] arrivals = {0.5, 0.9, 0.1, 0.7, 0.3, 0.8};
        boolean[] expected = {true, true, false, false, false, true};
        double[] cuts = {0.5, 0.9, 0.9, 0.9, 0.9, 0.8};
        for (int i = 0; i < arrivals.length; i++) {
            Asha.Decision d = asha.reached(1, arrivals[i]);
            assertEquals(expected[i], d.goOn(), "trial scoring " + arrivals[i]);
            assertEquals(cuts[i], d.cut(), "the rung's cut when " + arrivals[i] + " arrived");
        }
        // Off the rungs nothing is judged; at rung 3 only the survivors compete.
        assertTrue(asha.reached(2, 0.0).goOn());
        assertTrue(asha.reached(3, 0.5).goOn(), "the first at rung 3");
        assertFalse(asha.reached(3, 0.4).goOn());
        assertTrue(asha.reached(3, 0.9).goOn());
    }

    /** With lower-is-better metrics the search passes the negated loss: the smallest loss goes on. */
    @Test
    void scoresAreHigherIsBetter() {
        Asha asha = new Asha(1, 2);
        assertTrue(asha.reached(1, -0.30).goOn());
        assertFalse(asha.reached(1, -0.45).goOn(), "a larger loss than the one before");
        assertTrue(asha.reached(1, -0.20).goOn());
    }
}
