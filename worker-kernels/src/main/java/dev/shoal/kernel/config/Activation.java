package dev.shoal.kernel.config;

/** Hidden-layer activations, named as in job files. */
public enum Activation {
    RELU(org.nd4j.linalg.activations.Activation.RELU),
    LEAKYRELU(org.nd4j.linalg.activations.Activation.LEAKYRELU),
    ELU(org.nd4j.linalg.activations.Activation.ELU),
    TANH(org.nd4j.linalg.activations.Activation.TANH),
    SIGMOID(org.nd4j.linalg.activations.Activation.SIGMOID),
    IDENTITY(org.nd4j.linalg.activations.Activation.IDENTITY);

    private final org.nd4j.linalg.activations.Activation dl4j;

    Activation(org.nd4j.linalg.activations.Activation dl4j) {
        this.dl4j = dl4j;
    }

    public org.nd4j.linalg.activations.Activation dl4j() {
        return dl4j;
    }
}
