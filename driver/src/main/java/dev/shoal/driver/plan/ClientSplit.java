package dev.shoal.driver.plan;

/** How federated averaging deals the training examples to its clients. */
public enum ClientSplit {
    /** Each client a random, equal share: the data source's own seeded placement. */
    IID,
    /** McMahan et al.'s pathological non-IID split: sorted by label, cut into equal shards, a few per client. */
    SHARDS,
    /** Label skew: each class spread over the clients in proportions drawn from Dirichlet(alpha). */
    DIRICHLET,
    /** A table column names each row's client (a user, a device): one client per distinct value. */
    COLUMN
}
