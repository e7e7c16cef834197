package dev.shoal.kernel;

import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * Whether the loaded ND4J native library was built with oneDNN. nd4j-native ships such a build under the
 * classifier {@code linux-x86_64-onednn}; a JVM loads it instead of the plain one when started with
 * {@code -Dorg.bytedeco.javacpp.platform.extension=-onednn}, which conf/jvm.properties gives every Shoal JVM.
 * In it, libnd4j's convolution and pooling ops run through oneDNN (DL4J's pooling layers call those ops, so
 * they gain without a helper); {@link FastConvolution} calls the convolution ops when this says so.
 */
final class OneDnn {
    private static final boolean AVAILABLE =
            NativeOpsHolder.getInstance().getDeviceNativeOps().buildInfo().contains("HAVE_ONEDNN");

    private OneDnn() {
    }

    static boolean available() {
        return AVAILABLE;
    }
}
