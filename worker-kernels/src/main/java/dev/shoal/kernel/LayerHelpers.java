package dev.shoal.kernel;

import java.lang.reflect.Field;
import java.util.function.Function;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.layers.LayerHelper;
import org.deeplearning4j.nn.layers.wrapper.BaseWrapperLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/** Plugs Shoal's layer implementations into the {@code helper} slot DL4J's layers keep for cuDNN and oneDNN. */
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
