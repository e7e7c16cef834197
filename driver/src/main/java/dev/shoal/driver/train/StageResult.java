package dev.shoal.driver.train;

import dev.shoal.kernel.MemoryUse;
import java.io.Serializable;
import java.util.List;

/**
 * What one worker reports after a gradient-sharing stage. Every replica ends with the same model, so only rank
 * 0 sends it; every rank sends the hash of its final parameters (and, when verifying, one per step) so the
 * driver can check that they agree.
 *
 * @param rank         the worker
 * @param model        encoded final snapshot from rank 0; null from the others
 * @param finalHash    hash of this replica's final parameters
 * @param stepHashes   hash after every step when verifying replicas; empty otherwise
 * @param residual     what this worker's threshold encoder has not sent yet, for the next stage; null when dense
 * @param steps        steps taken
 * @param examples     examples this worker trained on
 * @param lossSum      sum over its examples of the minibatch loss
 * @param computeNanos forward and backward passes
 * @param encodeNanos  encoding gradients
 * @param exchangeNanos sending and receiving them (waiting for peers included)
 * @param applyNanos   decoding, averaging and the updater step
 * @param bytesSent    bytes this worker sent to its peers
 * @param entriesSent  gradient entries it sent (all of them in dense mode)
 * @param thresholdSum sum over steps of the threshold used (threshold mode)
 * @param memory       memory of the worker's JVM at the end
 */
record StageResult(int rank, byte[] model, int finalHash, List<Integer> stepHashes, float[] residual, int steps, long examples,
                   double lossSum, long computeNanos, long encodeNanos, long exchangeNanos, long applyNanos,
                   long bytesSent, long entriesSent, double thresholdSum, MemoryUse memory) implements Serializable {
}
