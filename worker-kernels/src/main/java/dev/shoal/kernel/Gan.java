package dev.shoal.kernel;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * Adversarial training of a network built as generator then discriminator ({@code NetworkFactory}'s gan): the
 * discriminator's layers carry a zero learning rate there ({@link #FIXED}; DL4J's NoOp updater would apply the raw
 * gradient), so fitting the whole network to "real" on noise moves the generator only; a second network of the
 * discriminator's layers alone, whose parameters are a view of the same array, learns to tell real images from
 * generated ones with the generator's updater. One step: a discriminator
 * step on a minibatch of real images and as many generated ones, then a generator step. Both parameter sets live
 * in the one flattened array, so averaging and checkpoints see a single model; the two updater states are
 * reported one after the other.
 */
public final class Gan {
    /** The updater of the discriminator's layers inside the whole network: they pass gradients but do not move. */
    static final IUpdater FIXED = new Sgd(0.0);
    private final MultiLayerNetwork combined;
    private final MultiLayerNetwork discriminator;
    private final int generatorLayers;
    private final int noise;

    private Gan(MultiLayerNetwork combined, MultiLayerNetwork discriminator, int generatorLayers, int noise) {
        this.combined = combined;
        this.discriminator = discriminator;
        this.generatorLayers = generatorLayers;
        this.noise = noise;
    }

    /**
     * The adversarial pair of {@code combined}, whose discriminator layers are those with the {@link #FIXED}
     * updater.
     */
    static Gan of(MultiLayerNetwork combined) {
        MultiLayerConfiguration conf = combined.getLayerWiseConfigurations();
        int n = conf.getConfs().size();
        int first = 0;
        while (first < n && !FIXED.equals(((BaseLayer) conf.getConf(first).getLayer()).getIUpdater())) {
            first++;
        }
        if (first == 0 || first == n) {
            throw new IllegalArgumentException("not a generator followed by a discriminator of fixed layers");
        }
        IUpdater updater = ((BaseLayer) conf.getConf(0).getLayer()).getIUpdater();
        NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder()
                .seed(conf.getConf(0).getSeed()).dataType(DataType.FLOAT).updater(updater).list();
        List<Layer> layers = new ArrayList<>();
        for (int i = first; i < n; i++) {
            BaseLayer layer = (BaseLayer) conf.getConf(i).getLayer().clone();
            layer.setIUpdater(updater.clone());
            layers.add(layer);
            list.layer(layer);
        }
        long image = ((FeedForwardLayer) layers.get(0)).getNIn();
        list.setInputType(InputType.feedForward(image));
        MultiLayerNetwork discriminator = new MultiLayerNetwork(list.build());
        long generatorParams = 0;
        for (int i = 0; i < first; i++) {
            generatorParams += combined.getLayer(i).numParams();
        }
        INDArray params = combined.params();
        discriminator.init(params.get(NDArrayIndex.interval(generatorParams, params.length())), false);
        int noise = (int) ((FeedForwardLayer) conf.getConf(0).getLayer()).getNIn();
        return new Gan(combined, discriminator, first, noise);
    }

    int generatorLayers() {
        return generatorLayers;
    }

    /**
     * {@code count} images that the generator of a trained GAN ({@code model}, e.g. a saved model.zip) draws from
     * noise drawn by {@code seed}, one per row, in the data's layout.
     */
    public static INDArray samples(MultiLayerNetwork model, int count, long seed) {
        Gan gan = of(model);
        INDArray noise = Nd4j.getRandomFactory().getNewRandomInstance(seed).nextGaussian(new long[] {count,
            gan.noise}).castTo(DataType.FLOAT);
        return model.activateSelectedLayers(0, gan.generatorLayers - 1, noise);
    }

    /** A discriminator step and a generator step on a minibatch of real images; returns the discriminator's loss. */
    double step(INDArray real) {
        long rows = real.size(0);
        INDArray fake = generate(rows);
        INDArray labels = Nd4j.vstack(Nd4j.ones(DataType.FLOAT, rows, 1), Nd4j.zeros(DataType.FLOAT, rows, 1));
        discriminator.fit(new DataSet(Nd4j.vstack(real, fake), labels));
        double loss = discriminator.score();
        combined.fit(new DataSet(noise(rows), Nd4j.ones(DataType.FLOAT, rows, 1)));
        return loss;
    }

    /** The discriminator's loss on real images and as many generated ones. */
    double score(INDArray real) {
        long rows = real.size(0);
        INDArray labels = Nd4j.vstack(Nd4j.ones(DataType.FLOAT, rows, 1), Nd4j.zeros(DataType.FLOAT, rows, 1));
        return discriminator.score(new DataSet(Nd4j.vstack(real, generate(rows)), labels), false);
    }

    /** {@code rows} images from the generator, for fresh noise. */
    INDArray generate(long rows) {
        return combined.activateSelectedLayers(0, generatorLayers - 1, noise(rows));
    }

    private INDArray noise(long rows) {
        return Nd4j.randn(DataType.FLOAT, rows, noise);
    }

    /** The discriminator's own updater state, which the combined network's state view does not hold. */
    INDArray discriminatorUpdaterState() {
        return discriminator.getUpdater().getStateViewArray();
    }
}
