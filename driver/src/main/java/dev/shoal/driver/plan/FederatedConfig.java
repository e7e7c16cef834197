package dev.shoal.driver.plan;

import dev.shoal.kernel.config.Checks;
import dev.shoal.kernel.config.ConfigException;
import dev.shoal.kernel.config.Key;

/** The {@code sync.federated} section: federated averaging (FedAvg, McMahan et al. 2017) over simulated clients. */
public record FederatedConfig(
        @Key(doc = "Clients K: the training data is dealt into this many parts, each one client's own data.",
                defaultValue = "100") int clients,
        @Key(doc = "How examples are dealt to clients: iid, shards (sorted by label, cut into equal shards, "
                + "shards-per-client each), dirichlet (each class spread with proportions from Dirichlet(alpha)) "
                + "or column (a table column names each row's client; clients is then its number of values).",
                defaultValue = "iid") ClientSplit split,
        @Key(doc = "shards: shards each client gets.", defaultValue = "2") int shardsPerClient,
        @Key(doc = "dirichlet: concentration; small values give each client few labels, large ones approach iid.",
                defaultValue = "0.5") double alpha,
        @Key(doc = "Fraction C of the clients sampled each round (at least one client).", defaultValue = "0.1")
        double fraction,
        @Key(doc = "Local epochs E: passes a sampled client makes over its own data each round.",
                defaultValue = "5") int localEpochs,
        @Key(doc = "Local minibatch size B; 0 takes all of a client's data as one batch.", defaultValue = "10")
        int batchSize,
        @Key(doc = "Rounds; each samples clients, averages their models and evaluates on the test set.",
                defaultValue = "100") int rounds,
        @Key(doc = "A client's weight in the average: examples (its example count, as FedAvg) or uniform.",
                defaultValue = "examples") ClientWeighting weighting,
        @Key(doc = "Server learning rate: the new model is old + rate x velocity; 1 (and no momentum) takes the "
                + "clients' average as it is.", defaultValue = "1.0") double serverLearningRate,
        @Key(doc = "Server momentum beta (FedAvgM): velocity = beta x velocity + (average - old); 0 for none.",
                defaultValue = "0") double serverMomentum,
        @Key(doc = "Chance that a sampled client drops out of its round (simulated failure); at least one stays.",
                defaultValue = "0") double dropout,
        @Key(doc = "column: the training table's column whose value names each row's client (e.g. a user id).",
                defaultValue = "''") String column) implements java.io.Serializable {

    /** The keys' defaults. */
    public static final FederatedConfig DEFAULT = new FederatedConfig(100, ClientSplit.IID, 2, 0.5, 0.1, 5, 10,
            100, ClientWeighting.EXAMPLES, 1.0, 0, 0, "");

    public FederatedConfig {
        Checks.atLeast("clients", clients, 1);
        Checks.atLeast("shards-per-client", shardsPerClient, 1);
        Checks.positive("alpha", alpha);
        if (!(fraction > 0 && fraction <= 1)) {
            throw new ConfigException("fraction", fraction, "must be in (0, 1]");
        }
        Checks.atLeast("local-epochs", localEpochs, 1);
        Checks.atLeast("batch-size", batchSize, 0);
        Checks.atLeast("rounds", rounds, 1);
        Checks.positive("server-learning-rate", serverLearningRate);
        Checks.fraction("server-momentum", serverMomentum);
        Checks.fraction("dropout", dropout);
        if (split == ClientSplit.COLUMN && column.isBlank()) {
            throw new ConfigException("column", "''", "split: column needs the name of the column that names "
                    + "each row's client");
        }
    }

    /** Settings without a client column. */
    public FederatedConfig(int clients, ClientSplit split, int shardsPerClient, double alpha, double fraction,
                           int localEpochs, int batchSize, int rounds, ClientWeighting weighting,
                           double serverLearningRate, double serverMomentum, double dropout) {
        this(clients, split, shardsPerClient, alpha, fraction, localEpochs, batchSize, rounds, weighting,
                serverLearningRate, serverMomentum, dropout, "");
    }

    /** Clients sampled each round of {@code k} clients: ⌈C·K⌉, at least one. */
    public int clientsPerRound(int k) {
        return Math.max(1, (int) Math.ceil(fraction * k - 1e-9));
    }

    /** The new model is the clients' average as it is: no server optimizer in the way. */
    public boolean plainAverage() {
        return serverLearningRate == 1 && serverMomentum == 0;
    }
}
