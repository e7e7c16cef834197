package dev.shoal.kernel.config;

import java.io.Serializable;

/**
 * The {@code kernel} section: Shoal's speed-ups of DL4J's layers and updaters, each of which can be switched off
 * (to diagnose a difference, or as an escape hatch when a DL4J upgrade breaks one); DL4J's own code runs instead.
 */
public record KernelOptions(
        @Key(doc = "ReLU's gradient in one pass (FastRelu).", defaultValue = "true") boolean fastRelu,
        @Key(doc = "Networks of dense layers: forward and backward passes by Shoal (DenseBackprop).",
                defaultValue = "true") boolean denseBackprop,
        @Key(doc = "Convolutions and max pooling by Shoal's kernels (FastConvolution; FastPooling except on AVX-512 "
                + "CPUs, where oneDNN's own pooling is faster).",
                defaultValue = "true")
        boolean fastConvolution,
        @Key(doc = "LSTM layers by Shoal's batched kernel (FastLstm).", defaultValue = "true") boolean fastLstm,
        @Key(doc = "Self-attention layers by Shoal's kernel (FastAttention; also corrects DL4J's gradient, which is "
                + "twice the true one).", defaultValue = "true") boolean fastAttention,
        @Key(doc = "Sequence embeddings' gradient by Shoal (FastEmbedding).", defaultValue = "true")
        boolean fastEmbedding,
        @Key(doc = "Adam's update and L2 in one pass (AdamStep, or FastAdam where AdamStep does not apply).",
                defaultValue = "true") boolean fastAdam,
        @Key(doc = "Parameters and optimizer state smaller than 1.2e-38 (subnormal floats, on which Intel CPUs "
                + "take ~100 cycles an operation) set to zero every 16 steps, as a CPU's flush-to-zero mode would "
                + "(Subnormals); false keeps DL4J's arithmetic exactly.", defaultValue = "true")
        boolean flushSubnormals) implements Serializable {

    /** Every speed-up on: the default. */
    public static final KernelOptions ALL = new KernelOptions(true, true, true, true, true, true, true, true);
    /** Plain DL4J. */
    public static final KernelOptions NONE = new KernelOptions(false, false, false, false, false, false, false, false);
}
