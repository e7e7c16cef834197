package dev.shoal.kernel.config;

/** Output losses: each fixes the output layer's activation as well. */
public enum Loss {
    /** Multi-class cross-entropy over a softmax output. */
    MCXENT,
    /** Mean squared error against one-hot labels, identity output. */
    MSE
}
