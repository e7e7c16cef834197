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
 * One worker of averaging on the workers ({@code sync.average-on: workers}), run on an executor inside a Spark
 * barrier stage: rounds without going back to the driver. After each round every worker sends its
 * {@link WorkerResult} to every other, then each merges all of them in rank order and averages them
 * ({@link ResultMerger}: the arithmetic of the driver's merge and average on the results it collects), so every
 * worker holds the driver's next model to the bit and starts the next round from it. Only rank 0 sends the model
 * back. After the epoch's last round every worker also evaluates that model on its test blocks, so the epoch's
 * evaluation needs no Spark job of its own.
 *
 * <p>Two ways to run: {@link #run}, one stage for some rounds, after which every executor keeps the model for the
 * next stage ({@link ResidentModel}); and {@link #serve}, one stage for the whole run ({@link WorkerSession}),
 * whose workers stay connected to each other and to the driver and train the rounds the driver asks for, one
 * request after another, from the model they hold.
 */
record AveragingStage(RoundTask task, byte[] secret, int peerTimeoutSeconds) implements Serializable {

    /**
     * What a worker returns for some rounds: rank 0 the final model, every worker each round's merged figures (no
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
        ModelSnapshot first = start.value();
        try (PeerGroup peers = rendezvous.connectPeers(stage, rank, size, peerTimeout(), secret)) {
            return List.of(KernelThreads.call(() -> {
                // The first model is the broadcast's, which the executor's tasks share: never written over.
                Worker worker = new Worker(rank, peers, blocks, examples, losses, first);
                Rounds rounds = worker.rounds(first, epoch, firstRound, endRound, steps, !blocks.test().isEmpty());
                ResidentModel.keep(worker.model);
                return rounds;
            })).iterator();
        }
    }

    /**
     * Rounds a {@link WorkerSession} asks for: rounds {@code firstRound} to {@code endRound} (exclusive) of
     * {@code epoch}, the last model evaluated on the test blocks when {@code evaluate}; from {@code model} (encoded),
     * or, when null, from the model the worker ended the last request with, whose parameters hash to
     * {@code startHash}.
     */
    record Request(int epoch, int firstRound, int endRound, int steps, boolean evaluate, byte[] model,
                   int startHash) implements Serializable {
    }

    /**
     * Serves a {@link WorkerSession}: trains the rounds of each {@link Request} from the model it carries or the
     * one this worker holds, and answers with their {@link Rounds}.
     */
    Iterator<Integer> serve(Rendezvous.Address rendezvous, WorkerSession.Address at, String session,
                            LongAccumulator examples, DoubleAccumulator losses,
                            Iterator<BarrierStages.WorkerBlocks> input) {
        return WorkerSession.serve(rendezvous, at, session, secret, peerTimeout(), Request.class, input,
                (rank, peers, blocks) -> new WorkerSession.Server<Request, Rounds>() {
                    private Worker worker;

                    @Override
                    public Rounds answer(Request r) {
                        ModelSnapshot start = WorkerSession.startModel(r.model(), worker == null ? null
                                : worker.model, r.startHash(), rank, "epoch " + (r.epoch() + 1) + ", round "
                                + (r.firstRound() + 1));
                        if (worker == null) {
                            worker = new Worker(rank, peers, blocks, examples, losses, start);
                        }
                        return worker.rounds(start.atEpoch(r.epoch()), r.epoch(), r.firstRound(), r.endRound(),
                                r.steps(), r.evaluate());
                    }
                });
    }

    private Duration peerTimeout() {
        return Duration.ofSeconds(peerTimeoutSeconds);
    }

    /** A worker's state across rounds: its peers, its blocks, the model it holds and the arrays it averages into. */
    private final class Worker {
        private final int rank;
        private final PeerGroup peers;
        private final BarrierStages.WorkerBlocks blocks;
        private final LongAccumulator examples;
        private final DoubleAccumulator losses;
        // Every round's average goes over the same arrays, and its bytes over the round before's: the next round
        // reads the model only to load it into its network, and the bytes are merged by then.
        private final float[] params;
        private final float[] updaterState;
        private final ResultMerger merger = new ResultMerger();
        private byte[] own = new byte[0];
        private ModelSnapshot model;

        Worker(int rank, PeerGroup peers, BarrierStages.WorkerBlocks blocks, LongAccumulator examples,
               DoubleAccumulator losses, ModelSnapshot shape) {
            this.rank = rank;
            this.peers = peers;
            this.blocks = blocks;
            this.examples = examples;
            this.losses = losses;
            this.params = new float[shape.params().length];
            this.updaterState = new float[shape.updaterState().length];
        }

        /**
         * Rounds {@code firstRound} to {@code endRound} (exclusive) of {@code epoch} from {@code start}; the model
         * evaluated on the test blocks when {@code evaluate} and every round ran.
         */
        Rounds rounds(ModelSnapshot start, int epoch, int firstRound, int endRound, int steps, boolean evaluate) {
            model = start;
            List<WorkerResult> figures = new ArrayList<>();
            List<Long> roundNanos = new ArrayList<>();
            for (int round = firstRound; round < endRound; round++) {
                long begin = System.nanoTime();
                own = task.trainRoundEncoded(rank, model, epoch, round * steps, steps, blocks.train(), own);
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
            long evaluationStart = System.nanoTime();
            List<ExampleBlock> test = blocks.test();
            EvalResult evaluation = !evaluate || test.isEmpty() || figures.size() < endRound - firstRound ? null
                    : task.evaluate(model, test);
            long evaluationNanos = System.nanoTime() - evaluationStart;
            byte[] encoded = rank == 0 ? SnapshotCodec.encode(model) : new byte[0];
            return new Rounds(rank, encoded, Arrays.hashCode(model.params()), figures, roundNanos, evaluation,
                    evaluationNanos);
        }
    }
}
