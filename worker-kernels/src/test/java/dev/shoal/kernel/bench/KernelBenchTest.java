package dev.shoal.kernel.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The products the kernel bench counts per training step, from which it reports GFLOP/s. */
class KernelBenchTest {

    @Test
    void countsEveryProductOfTheModelsOnce() {
        int batch = 8;
        // A step is the forward products three times over: forward, weight gradient, input gradient.
        double mlp = 2.0 * batch * (784 * 256 + 256 * 128 + 128 * 10);
        assertEquals(3 * mlp, KernelBench.stepFlops("mlp", batch), 1e-6);
        // LeNet: 20 5x5 filters over 24x24 positions, 50 5x5x20 over 8x8, then 800 -> 500 -> 10.
        double lenet = 2.0 * batch * (24 * 24 * 20 * 25 + 8 * 8 * 50 * 25 * 20 + 800 * 500 + 500 * 10);
        assertEquals(3 * lenet, KernelBench.stepFlops("lenet", batch), 1e-6);
        // The LSTM inside its last-step wrapper: four gates over input and recurrent state at each of 128 steps;
        // the embedding is a lookup, not a product.
        double lstm = 2.0 * batch * (128 * 4 * (64 + 128) * 128 + 128 * 10);
        assertEquals(3 * lstm, KernelBench.stepFlops("lstm", batch), 1e-6);
        // conf/imdb-lstm.yaml's shape: 200 steps, embedding 64, 64 units, 2 classes.
        double imdb = 2.0 * batch * (200 * 4 * (64 + 64) * 64 + 64 * 2);
        assertEquals(3 * imdb, KernelBench.stepFlops("lstm-imdb", batch), 1e-6);
        // imdb-attention.yaml's: 4 heads of 16 over 200 steps, 64 in and out, then dense 64 -> 64 -> 2.
        double attention = 2.0 * batch * (200 * (3 * 64 * 64 + 2 * 4 * 200 * 16 + 64 * 64) + 64 * 64 + 64 * 2);
        assertEquals(3 * attention, KernelBench.stepFlops("attention-imdb", batch), 1e-6);
    }
}
