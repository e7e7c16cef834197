package dev.shoal.kernel.config;

/** Optimizers (DL4J updaters), named as in job files. */
public enum UpdaterType {
    /** Plain stochastic gradient descent. */
    SGD,
    /** SGD with Nesterov momentum (DL4J's Nesterovs updater). */
    MOMENTUM,
    ADAM,
    RMSPROP
}
