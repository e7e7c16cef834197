package dev.shoal.driver.train;

import dev.shoal.kernel.EvalResult;
import dev.shoal.kernel.ExampleBlock;
import dev.shoal.kernel.KernelThreads;
import dev.shoal.kernel.ModelSnapshot;
import dev.shoal.kernel.ResultMerger;
import dev.shoal.kernel.SnapshotCodec;
import dev.shoal.kernel.WorkerResult;
import dev.shoal.kernel.sharing.PeerGroup;
import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.util.DoubleAccumulator;
import org.apache.spark.util.LongAccumulator;

/**
 * One worker of an averaging stage ({@code sync.average-on: workers}), run on an executor inside a Spark barrier
 * stage: the rounds from {@code firstRound} to {@code endRound} without going back to the driver. After each
 * round every worker sends its {@link WorkerResult} to every other, then each merges all of them in rank order
 * and averages them ({@link ResultMerger}: the arithmetic of the driver's merge and average on the results it
 * collects), so every worker holds the driver's next model to the bit and starts the next round from it. Only
 * rank 0 sends the final model back; every executor keeps it for the next stage ({@link ResidentModel}). A stage
 * that ends an epoch also evaluates that model on the worker's test blocks, so the epoch's evaluation needs no
 * Spark job of its own.
 */
record AveragingStage(RoundTask task, byte[] secret, int peerTimeoutSeconds) implements Serializable {

    /**
     * What a stage returns from a worker: rank 0 the final model, every worker each round's merged figures (no
     * parameters) and how long the round took it, training and exchange; with test blocks, the final model's
     * evaluation on them (null without) and how long that took.
     */
    record Rounds(int rank, byte[] model, int finalHash, List<WorkerResult> figures, List<Long> roundNanos,
                  EvalResult evaluation, long evaluationNanos) implements Serializable {
    }

    /** Runs the stage's rounds on this worker from {@code start}. */
    Iterator<Rounds> run(Rendezvous.Address rendezvous, String stage, ModelBroadcast start, int epoch,
                         int firstRound, int endRound, int steps, LongAccumulator examples,
                         DoubleAccumulator losses, Iterator<BarrierStages.WorkerBlocks> input) {
        BarrierTaskContext context = BarrierTaskContext.get();
        int rank = context.partitionId();
        int size = context.getTaskInfos().length;
        BarrierStages.WorkerBlocks blocks = input.next();
        List<ExampleBlock> mine = blocks.train();
        ModelSnapshot first = start.value();
        Duration timeout = Duration.ofSeconds(peerTimeoutSeconds);
        try (PeerGroup peers = rendezvous.connectPeers(stage, rank, size, timeout, secret)) {
            return List.of(KernelThreads.call(() -> {
                ModelSnapshot model = first;
                // Every round's average goes over the same arrays, and its bytes over the round before's: the
                // next round reads the model only to load it into its network, and the bytes are merged by then.
                // (The first model is the broadcast's, which the executor's tasks share: never written over.)
                float[] params = new float[first.params().length];
                float[] updaterState = new float[first.updaterState().length];
                byte[] own = new byte[0];
                List<WorkerResult> figures = new ArrayList<>();
                List<Long> roundNanos = new ArrayList<>();
                ResultMerger merger = new ResultMerger();
                for (int round = firstRound; round < endRound; round++) {
                    long begin = System.nanoTime();
                    own = task.trainRoundEncoded(rank, model, epoch, round * steps, steps, mine, own);
                    merger.clear();
                    byte[][] results = peers.allGather(own);
                    for (int r = 0; r < results.length; r++) {
                        WorkerResult added = merger.add(results[r]);
                        if (r == rank) {
                            examples.add(added.examples());
                            losses.add(added.lossSum());
                        }
                    }
                    WorkerResult merged = merger.figures();
                    model = merger.average(model.iteration() + merged.maxSteps(), epoch, params, updaterState);
                    figures.add(merged);
                    roundNanos.add(System.nanoTime() - begin);
                    if (!Double.isFinite(merged.meanLoss()) || model.firstNonFinite() >= 0) {
                        break; // every worker stops here; the driver reports the round
                    }
                }
                ResidentModel.keep(model);
                long evaluationStart = System.nanoTime();
                EvalResult evaluation = blocks.test().isEmpty() || figures.size() < endRound - firstRound ? null
                        : task.evaluate(model, blocks.test());
                long evaluationNanos = System.nanoTime() - evaluationStart;
                byte[] encoded = rank == 0 ? SnapshotCodec.encode(model) : new byte[0];
                return new Rounds(rank, encoded, Arrays.hashCode(model.params()), figures, roundNanos, evaluation,
                        evaluationNanos);
            })).iterator();
        }
    }
}
