package dev.shoal.kernel;

import java.lang.reflect.Field;
import java.util.function.Function;
import java.util.function.Predicate;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.layers.LayerHelper;
import org.deeplearning4j.nn.layers.wrapper.BaseWrapperLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/**
 * Plugs Shoal's layer implementations into a network: into the {@code helper} slot DL4J's layers keep for cuDNN and
 * oneDNN, or, where a layer has none, as a layer object of Shoal's in the DL4J layer's place.
 */
final class LayerHelpers {
    private LayerHelpers() {
    }

    /**
     * Gives every layer of {@code net} whose class is exactly {@code type}, also inside wrappers (such as
     * LastTimeStep), a helper of its own, made for that layer; returns how many.
     */
    static int plug(MultiLayerNetwork net, Class<? extends Layer> type,
                    Function<Layer, ? extends LayerHelper> helper) {
        Field slot = slot(type);
        int plugged = 0;
        for (Layer layer : net.getLayers()) {
            while (layer instanceof BaseWrapperLayer wrapper) {
                layer = wrapper.getUnderlying();
            }
            if (layer.getClass() == type) {
                try {
                    slot.set(layer, helper.apply(layer));
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException("cannot plug a helper into DL4J's " + type.getSimpleName(), e);
                }
                plugged++;
            }
        }
        return plugged;
    }

    /**
     * Puts {@code replacement.apply(layer)} in the place of every layer of {@code net} that {@code which} accepts,
     * handing it the layer's index, listeners, parameter and gradient views (the network's own, so saving, the
     * updater and parameter averaging see no difference); returns how many. The replacement is made from the
     * layer's configuration. Call after {@code init()} and before the updater is made.
     */
    static int replace(MultiLayerNetwork net, Predicate<Layer> which, Function<Layer, ? extends Layer> replacement) {
        Layer[] layers = net.getLayers();
        int replaced = 0;
        for (int i = 0; i < layers.length; i++) {
            if (which.test(layers[i])) {
                Layer dl4j = layers[i];
                Layer shoal = replacement.apply(dl4j);
                shoal.setIndex(dl4j.getIndex());
                shoal.setListeners(dl4j.getListeners());
                shoal.setParamsViewArray(dl4j.params());
                shoal.setParamTable(dl4j.paramTable());
                if (dl4j.getGradientsViewArray() != null) {
                    shoal.setBackpropGradientsViewArray(dl4j.getGradientsViewArray());
                }
                layers[i] = shoal;
                replaced++;
            }
        }
        net.setLayers(layers);
        return replaced;
    }

    private static Field slot(Class<?> type) {
        try {
            Field f = type.getDeclaredField("helper");
            f.setAccessible(true);
            return f;
        } catch (NoSuchFieldException e) {
            throw new IllegalStateException("DL4J's " + type.getSimpleName() + " has no helper field: another DL4J "
                    + "version?", e);
        }
    }
}
