package dev.shoal.driver.train;

import dev.shoal.kernel.EvalResult;
import dev.shoal.kernel.MemoryUse;
import java.io.Serializable;
import java.util.List;

/**
 * What one worker reports after a gradient-sharing stage. Every replica ends with the same model, so only rank
 * 0 sends it; every rank sends the hash of its final parameters (and, when verifying, one per step) so the
 * driver can check that they agree.
 *
 * @param rank       the worker
 * @param model      encoded final snapshot from rank 0; empty from the others
 * @param finalHash  hash of this replica's final parameters
 * @param stepHashes hash after every step when verifying replicas; empty otherwise
 * @param residual   what this worker's threshold encoder has not sent yet, for the next stage; empty when dense
 * @param examples   examples this worker trained on
 * @param lossSum    sum over its examples of the minibatch loss
 * @param log        times, bytes, entries and thresholds of every step
 * @param memory     memory of the worker's JVM at the end
 */
record StageResult(int rank, byte[] model, int finalHash, List<Integer> stepHashes, float[] residual, long examples,
                   double lossSum, StepLog log, MemoryUse memory, EvalResult evaluation, long evaluationNanos)
        implements Serializable {
}
