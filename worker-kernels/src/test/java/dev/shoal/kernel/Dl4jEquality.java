package dev.shoal.kernel;

import java.util.function.Consumer;
import org.deeplearning4j.nn.gradient.Gradient;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shoal.kernel.testing.Rounding;
import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Checks shared by the tests of Shoal's layer helpers: they must compute what DL4J's own layers compute. */
final class Dl4jEquality {
    private Dl4jEquality() {
    }

    private record Pass(INDArray output, INDArray gradient, double score) {
    }

    private static Pass pass(MultiLayerNetwork net, INDArray x, INDArray y, Consumer<Gradient> correction) {
        INDArray output = net.output(x, true).dup();
        net.setInput(x);
        net.setLabels(y);
        net.computeGradientAndScore();
        correction.accept(net.gradient());
        return new Pass(output, net.gradient().gradient().dup(), net.score());
    }

    /**
     * {@code fast} (the same network with Shoal's helpers) gives {@code dl4j}'s outputs, gradients and score, up to
     * rounding: the helpers sum in another order than DL4J's layers.
     */
    static void assertSameAs(MultiLayerNetwork dl4j, MultiLayerNetwork fast, INDArray x, INDArray y) {
        assertSameAs(dl4j, fast, x, y, gradient -> { });
    }

    /**
     * As {@link #assertSameAs(MultiLayerNetwork, MultiLayerNetwork, INDArray, INDArray)}, with {@code correction}
     * applied to DL4J's gradient first: where DL4J's own gradient is wrong (and its numerical gradient check says so).
     */
    static void assertSameAs(MultiLayerNetwork dl4j, MultiLayerNetwork fast, INDArray x, INDArray y,
                             Consumer<Gradient> correction) {
        Pass expected = pass(dl4j, x, y, correction);
        Pass actual = pass(fast, x, y, gradient -> { });
        Rounding.assertClose("outputs", floats(expected.output()), floats(actual.output()));
        Rounding.assertClose("gradient", floats(expected.gradient()), floats(actual.gradient()));
        Rounding.assertClose("score", expected.score(), actual.score());
    }

    /** {@code fast} gives {@code dl4j}'s outputs, gradients and score bit for bit: it computes the same numbers. */
    static void assertIdentical(MultiLayerNetwork dl4j, MultiLayerNetwork fast, INDArray x, INDArray y) {
        Pass expected = pass(dl4j, x, y, gradient -> { });
        Pass actual = pass(fast, x, y, gradient -> { });
        assertArrayEquals(floats(expected.output()), floats(actual.output()), "outputs");
        assertArrayEquals(floats(expected.gradient()), floats(actual.gradient()), "gradient");
        assertEquals(expected.score(), actual.score(), "score");
    }

    /** The values of a float array of any shape, in order. */
    static float[] floats(INDArray a) {
        return a.dup('c').data().asFloat();
    }

    /** DL4J's numerical gradient check passes on {@code net}, a network of doubles. */
    static void assertGradientCheckPasses(MultiLayerNetwork net, INDArray x, INDArray y) {
        DataType defaultType = Nd4j.dataType();
        DataType defaultFloat = Nd4j.defaultFloatingPointType();
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE); // the check insists on it
        try {
            boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(net).input(x)
                    .labels(y).epsilon(1e-6).maxRelError(1e-3).minAbsoluteError(1e-8)
                    .print(GradientCheckUtil.PrintMode.FAILURES_ONLY));
            assertTrue(ok, "analytic and numerical gradients disagree");
        } finally {
            Nd4j.setDefaultDataTypes(defaultType, defaultFloat);
        }
    }
}
