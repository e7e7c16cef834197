package dev.shoal.driver.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class BenchSummaryTest {

    private static EpochMeasurement epoch(int n, double seconds, double accuracy, long rss) {
        return new EpochMeasurement(n, 1000, seconds, accuracy, rss, 10, 0.5, null, null);
    }

    @Test
    void steadyRateIsTheMedianOfEveryEpochAfterTheFirst() {
        SystemRun a = new SystemRun(List.of(epoch(1, 10, .5, 100), epoch(2, 1, .6, 200), epoch(3, 2, .7, 210)), 0);
        SystemRun b = new SystemRun(List.of(epoch(1, 10, .5, 100), epoch(2, 4, .8, 200), epoch(3, 0.5, .9, 190)), 0);

        BenchSummary s = BenchSummary.of(BenchSystem.DL4J, List.of(a, b), 0.75);

        // Epochs after the first: 1000, 500, 250, 2000 ex/s; the slow first epochs (100 ex/s) are left out.
        assertEquals(750, s.steadyExamplesPerSec(), 1e-9);
        assertEquals(250, s.minExamplesPerSec(), 1e-9);
        assertEquals(2000, s.maxExamplesPerSec(), 1e-9);
        // Run a never reaches 75%, so there is no median time to it.
        assertTrue(Double.isNaN(s.secondsToTarget()));
        assertEquals((0.7 + 0.9) / 2, s.finalAccuracy(), 1e-12);
        assertEquals(210, s.peakRssMb());
        // RSS from epoch 2 to the last: +5% and -5%.
        assertEquals(0, s.rssDriftPercent(), 1e-9);
        assertEquals(2, s.runs());
    }

    @Test
    void timeToTargetSumsTrainingTimeUntilTheFirstEpochThatReachesIt() {
        List<EpochMeasurement> epochs = List.of(epoch(1, 3, .70, 1), epoch(2, 2, .86, 1), epoch(3, 2, .90, 1));
        assertEquals(5, BenchSummary.secondsTo(0.85, epochs), 1e-12);
        assertEquals(3, BenchSummary.secondsTo(0.70, epochs), 1e-12);
        assertTrue(Double.isNaN(BenchSummary.secondsTo(0.95, epochs)));
    }

    @Test
    void tableGivesRatiosToTheBaselineAndNamesSkippedSystems() {
        SystemRun fast = new SystemRun(List.of(epoch(1, 1, .9, 1), epoch(2, 0.5, .9, 1)), 1024);
        SystemRun slow = new SystemRun(List.of(epoch(1, 1, .9, 1), epoch(2, 1, .9, 1)), 0);
        String table = BenchReport.table(List.of(BenchSummary.of(BenchSystem.DL4J, List.of(slow), .85),
                        BenchSummary.of(BenchSystem.SHOAL_AVERAGING, List.of(fast), .85),
                        BenchSummary.skipped(BenchSystem.PYTORCH, "python3 has no torch")), .85);

        List<String> rows = table.lines().toList();
        assertEquals(5, rows.size(), table);
        assertTrue(rows.get(0).startsWith("| system | runs | ex/s (median) | min-max | x dl4j | s to 85.0% |"),
                "no PyTorch column when PyTorch did not run: " + rows.get(0));
        assertTrue(rows.get(2).startsWith("| dl4j | 1 | 1,000 | 1,000-1,000 | 1.00 |"), rows.get(2));
        assertTrue(rows.get(3).startsWith("| shoal-averaging | 1 | 2,000 | 2,000-2,000 | 2.00 | 1.0 |"), rows.get(3));
        assertTrue(rows.get(3).endsWith("| 1,024 |"), rows.get(3));
        assertTrue(rows.get(4).contains("skipped: python3 has no torch"), rows.get(4));
        rows.forEach(row -> assertEquals(11, row.chars().filter(c -> c == '|').count(), "columns of " + row));
    }

    @Test
    void withoutDl4jItsRatioIsADashAndPyTorchGetsAColumnWhenItRan() {
        SystemRun fast = new SystemRun(List.of(epoch(1, 1, .9, 1), epoch(2, 0.5, .9, 1)), 1024);
        SystemRun slow = new SystemRun(List.of(epoch(1, 1, .9, 1), epoch(2, 4, .9, 1)), 0);
        String table = BenchReport.table(List.of(BenchSummary.of(BenchSystem.SHOAL_AVERAGING, List.of(fast), .85),
                BenchSummary.of(BenchSystem.PYTORCH, List.of(slow), .85)), .85);

        List<String> rows = table.lines().toList();
        assertTrue(rows.get(0).contains("| x dl4j | x pytorch |"), rows.get(0));
        assertTrue(rows.get(2).startsWith("| shoal-averaging | 1 | 2,000 | 2,000-2,000 | – | 8.00 |"), rows.get(2));
        assertTrue(rows.get(3).startsWith("| pytorch | 1 | 250 | 250-250 | – | 1.00 |"), rows.get(3));
        assertFalse(table.contains("NaN"), table);
        rows.forEach(row -> assertEquals(12, row.chars().filter(c -> c == '|').count(), "columns of " + row));
    }

    @Test
    void stepTimesAddUpOverTheEpochsAfterTheFirstAndSayWhatIsNotKnown() {
        // Epochs after the first: 3 s and 1 s of training over 40 and 20 steps; 2 s and 0.4 s of it computing,
        // 0.5 s and 0.3 s exchanging. The first epoch (a slow one) is left out.
        SystemRun shoal = new SystemRun(List.of(new EpochMeasurement(1, 1000, 30, .5, 1, 40, 9, 20.0, 5.0),
                new EpochMeasurement(2, 1000, 3, .6, 1, 40, 0.25, 2.0, 0.5),
                new EpochMeasurement(3, 1000, 1, .7, 1, 20, 0.75, 0.4, 0.3)), 0);
        BenchSummary.StepTimes t = BenchSummary.of(BenchSystem.SHOAL_AVERAGING, List.of(shoal), .85).stepTimes();
        assertEquals(4000.0 / 60, t.trainMs(), 1e-9);
        assertEquals(2400.0 / 60, t.computeMs(), 1e-9);
        assertEquals(800.0 / 60, t.exchangeMs(), 1e-9);
        assertEquals(800.0 / 60, t.otherMs(), 1e-9);
        assertEquals(0.5, t.evalSeconds(), 1e-12);

        SystemRun ddp = new SystemRun(List.of(epoch(1, 2, .9, 1), epoch(2, 1, .9, 1)), 0);
        String table = BenchReport.stepTimes(List.of(BenchSummary.of(BenchSystem.SHOAL_AVERAGING, List.of(shoal),
                .85), BenchSummary.of(BenchSystem.PYTORCH_DDP, List.of(ddp), .85),
                BenchSummary.skipped(BenchSystem.PYTORCH, "python3 has no torch")));
        List<String> rows = table.lines().toList();
        assertEquals(4, rows.size(), "a skipped system has no row: " + table);
        assertEquals("| shoal-averaging | 66.67 | 40.00 (60%) | 13.33 (20%) | 13.33 (20%) | 0.50 |", rows.get(2));
        assertEquals("| pytorch-ddp | 100.00 | – | – | – | 0.50 |", rows.get(3));
    }

    /** Every system with workers splits the batch across them: an epoch takes as many steps as one process's. */
    @Test
    void systemsWithWorkersSplitTheBatchAcrossThem() {
        for (BenchSystem system : BenchSystem.values()) {
            boolean oneProcess = system == BenchSystem.DL4J || system.id().startsWith("pytorch")
                    && system != BenchSystem.PYTORCH_DDP;
            assertEquals(oneProcess ? 128 : 64, system.batchPerWorker(128, 2), system.id());
        }
        assertEquals(42, BenchSystem.SHOAL_SHARING_DENSE.batchPerWorker(128, 3));
        assertEquals(42, BenchSystem.SHOAL_AVERAGING.batchPerWorker(128, 3));
    }
}
