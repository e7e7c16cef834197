package dev.shoal.driver.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.kernel.WorkerResultCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

class ScalingModelTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Relative error of a few floating-point operations on values of a few thousand. */
    private static final double ROUNDING = 1e-12;

    @Test
    void aLineThroughTwoPointsIsExactAndOnePointGivesAFlatOne() {
        ScalingModel.Line line = ScalingModel.Line.fit(List.of(new double[] {1, 12}, new double[] {3, 18}));
        assertEquals(9, line.a(), 1e-12);
        assertEquals(3, line.b(), 1e-12);
        assertEquals(new ScalingModel.Line(5, 0), ScalingModel.Line.fit(List.<double[]>of(new double[] {2, 5})));
    }

    /** Runs made by a known model are predicted back by the model fitted to them, on their own machine. */
    @Test
    void theFittedModelPredictsTheRunsItWasFittedTo() {
        ScalingModel truth = new ScalingModel(0.04, new ScalingModel.Line(6, 9), new ScalingModel.Line(80, 20),
                2_800_100, 2560, 12);
        ScalingModel.Cluster machine = ScalingModel.Cluster.calibrationMachine(2);
        List<ScalingModel.Measured> runs = new ArrayList<>();
        for (int n = 1; n <= 3; n++) {
            // 3 workers on 2 cores measure compute 1.5 times as slow
            runs.add(new ScalingModel.Measured(n, 0.04 * Math.max(1, n / 2.0), truth.exchangeMs().at(n - 1),
                    truth.launchMs().at(n), n > 1 ? 2_800_100 : Double.NaN, 2560, 12));
        }
        ScalingModel fitted = ScalingModel.fit(runs, 2, OptionalDouble.empty());
        for (int n = 1; n <= 3; n++) {
            double expected = truth.examplesPerSecond(n, 2560, machine);
            assertEquals(expected, fitted.examplesPerSecond(n, 2560, machine), expected * ROUNDING);
        }
        // A per-peer cost measured apart replaces the fitted slope; the 1-worker run gives the rest.
        assertEquals(new ScalingModel.Line(6, 3), ScalingModel.fit(runs, 2, OptionalDouble.of(3)).exchangeMs());
        // By hand, 2 workers on 2 cores: a round is 2560 x 0.04 + 6 + 9 = 117.4 ms, a stage 12 rounds + 120 ms.
        assertEquals(2 * 2560 * 12 / (12 * 117.4 + 120) * 1e3, fitted.examplesPerSecond(2, 2560, machine), 1e-6);
        // 3 workers on 2 cores: compute takes 1.5 times as long.
        assertEquals(3 * 2560 * 12 / (12 * (2560 * 0.04 * 1.5 + 6 + 18) + 140) * 1e3,
                fitted.examplesPerSecond(3, 2560, machine), 1e-6);
    }

    @Test
    void aNetworkAddsEachPeersTransferAndEfficiencyFallsWithExecutorsAndRisesWithBandwidth() {
        ScalingModel model = new ScalingModel(0.04, new ScalingModel.Line(6, 1), new ScalingModel.Line(80, 2),
                2_800_100, 2560, 12);
        ScalingModel.Cluster tenGbit = new ScalingModel.Cluster(10, 50, 0);
        // 8 executors: 7 peers x (2,800,100 bytes at 1.25 GB/s = 2.24008 ms + 0.05 ms).
        double round = 2560 * 0.04 + 6 + 7 + 7 * (2_800_100 * 8 / 10e9 * 1e3 + 0.05);
        assertEquals(round, model.exchangeIntervalMs(8, 2560, tenGbit), 1e-9);
        assertEquals(1.0, model.efficiency(1, 2560, tenGbit), 1e-12);
        double previous = 1;
        for (int n : new int[] {2, 4, 8, 16, 64}) {
            double e = model.efficiency(n, 2560, tenGbit);
            assertTrue(e < previous, n + " executors: " + e);
            assertTrue(model.efficiency(n, 2560, new ScalingModel.Cluster(100, 50, 0)) > e);
            assertTrue(model.efficiency(n, 4 * 2560, tenGbit) > e, "averaging less often scales better");
            previous = e;
        }
    }

    @Test
    void anAveragingRunIsMeasuredAfterItsFirstEpoch() throws Exception {
        List<JsonNode> records = new ArrayList<>();
        // Epoch 1 is the warm-up, ignored; epoch 2's three rounds give the medians.
        records.add(round(1, 1, 500, 900, 400, 9));
        records.add(round(2, 1, 100, 20, 90, 10));
        records.add(round(2, 2, 104, 30, 0, 0));
        records.add(round(2, 3, 110, 25, 0, 0));
        ScalingModel.Measured m = ScalingModel.Measured.averaging(records, 1000);
        assertEquals(2, m.workers());
        assertEquals(104 / 2560.0, m.computeMsPerExample(), 1e-12);
        assertEquals(25, m.exchangeMs());
        assertEquals(100, m.launchMs(), "the stage's first round: idle and broadcast");
        assertEquals(WorkerResultCodec.workerBytes(1000), m.bytesPerPeer());
        assertEquals(2560, m.examplesPerExchange());
        assertEquals(3, m.exchangesPerStage());
    }

    private static JsonNode round(int epoch, int round, double compute, double aggregate, double idle,
                                  double broadcast) throws Exception {
        return JSON.readTree(String.format("{\"type\":\"round\",\"epoch\":%d,\"round\":%d,\"rounds\":3,"
                + "\"workers\":2,\"examples\":5120,\"computeMs\":%s,\"aggregateMs\":%s,\"idleMs\":%s,"
                + "\"broadcastMs\":%s}", epoch, round, compute, aggregate, idle, broadcast));
    }
}
