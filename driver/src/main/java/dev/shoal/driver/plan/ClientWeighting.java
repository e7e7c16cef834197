package dev.shoal.driver.plan;

/** How much each client counts in federated averaging's average. */
public enum ClientWeighting {
    /** By the examples it trained on, as FedAvg does. */
    EXAMPLES,
    /** Every client alike. */
    UNIFORM
}
