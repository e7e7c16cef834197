package dev.shoal.kernel.config;

/** Weight initialisation schemes, named as in job files. */
public enum WeightInit {
    XAVIER(org.deeplearning4j.nn.weights.WeightInit.XAVIER),
    /** He initialisation, suited to ReLU layers. */
    RELU(org.deeplearning4j.nn.weights.WeightInit.RELU);

    private final org.deeplearning4j.nn.weights.WeightInit dl4j;

    WeightInit(org.deeplearning4j.nn.weights.WeightInit dl4j) {
        this.dl4j = dl4j;
    }

    public org.deeplearning4j.nn.weights.WeightInit dl4j() {
        return dl4j;
    }
}
