package dev.shoal.kernel;

import java.util.Arrays;
import java.util.Map;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.AlgoMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.BwdDataAlgo;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.BwdFilterAlgo;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.FwdAlgo;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.convolution.ConvolutionHelper;
import org.deeplearning4j.nn.layers.convolution.ConvolutionLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.params.ConvolutionParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.util.ConvolutionUtils;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.convolution.Convolution;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The forward and backward passes of DL4J's 2-D convolution layer, plugged in where DL4J takes a cuDNN or
 * oneDNN helper ({@link ConvolutionHelper}), so the layer's configuration, parameters, updater and saved models
 * stay DL4J's own.
 *
 * <p>Why: DL4J 1.0.0-M2.1's built-in path computes the convolution as one product whose result it hands on as
 * a permuted, strided view; every operation after it (bias, activation, pooling, their gradients) then walks
 * memory out of order, and the LeNet step took 231 ms for a batch of 128 on one thread. Its oneDNN helper is
 * never used in M2.1 (it looks up a native method under an old name).
 *
 * <p>Two paths. Where ND4J's native library was built with oneDNN ({@link OneDnn}), libnd4j's {@code conv2d}
 * and {@code conv2d_bp} ops run the passes, and they run them through oneDNN. Otherwise, per layer: im2col of
 * the whole minibatch, rearranged into [channels, kH, kW, batch, outH, outW] so that it is one matrix of every
 * example's patches side by side; one matrix product for the layer's output (channels first, then copied into
 * contiguous NCHW), and for the backward pass two products (the weight gradient straight into DL4J's gradient
 * view, the input gradient in patch form) and one col2im. Three large products per layer instead of three small
 * ones per example run near the BLAS's peak. The network's first layer takes the second path's weight gradient
 * in both, and makes no input gradient: {@code conv2d_bp} always makes one, and on a single input channel it
 * took 22 ms of LeNet's step where the patches and one product take ~7. All buffers are reused from step to
 * step. Same arithmetic, in another order: results agree with DL4J's to float rounding.
 *
 * <p>Covers NCHW data without dilation, in float or double; anything else returns null, and DL4J then runs its
 * built-in path. Not thread-safe: one per layer of a network that one thread trains.
 */
public final class FastConvolution implements ConvolutionHelper {
    /**
     * The patches of the last input, [channels, kH, kW, batch, outH, outW]: as a matrix, one row per weight of a
     * filter and one column per output position of every example. Reused by the backward pass.
     */
    private INDArray patches;
    private INDArray patchesOf;
    /** The input gradient in patch form, the same shape. */
    private INDArray patchGradients;
    /** Output channels first, [outChannels, batch, outH, outW]: the forward product, then the output gradient. */
    private INDArray channelsFirst;
    /**
     * Patches in the order im2col writes and col2im reads them, [batch, channels, kH, kW, outH, outW]: both ops
     * are several times slower on a permuted view than on contiguous memory plus a copy. Shared by both passes.
     */
    private INDArray examplesFirst;

    /** Whether libnd4j's conv2d ops run the passes (through oneDNN) instead of im2col and matrix products. */
    private final boolean oneDnn;
    /**
     * False for a network's first layer: training never reads the gradient of the network's input (DL4J drops it
     * unless asked for it), so it is not computed and zeros stand in for it.
     */
    private final boolean inputGradient;

    FastConvolution(boolean oneDnn, boolean inputGradient) {
        this.oneDnn = oneDnn;
        this.inputGradient = inputGradient;
    }

    /**
     * Plugs a {@code FastConvolution} into every convolution layer of {@code net}, using oneDNN where the loaded
     * native library has it; returns how many.
     */
    public static int install(MultiLayerNetwork net) {
        return install(net, OneDnn.available());
    }

    /** {@link #install(MultiLayerNetwork)}, with oneDNN's passes or the im2col path as told. */
    static int install(MultiLayerNetwork net, boolean oneDnn) {
        return LayerHelpers.plug(net, ConvolutionLayer.class,
                layer -> new FastConvolution(oneDnn, layer.getIndex() > 0));
    }

    private static int[] convArgs(int[] kernel, int[] strides, int[] pad, ConvolutionMode mode) {
        return new int[] {kernel[0], kernel[1], strides[0], strides[1], pad[0], pad[1], 1, 1,
                mode == ConvolutionMode.Same ? 1 : 0, 0, 1};
    }

    @Override
    public boolean checkSupported() {
        return true;
    }

    @Override
    public Map<String, Long> helperMemoryUse() {
        return Map.of("patches", Buffers.bytes(patches), "patchGradients", Buffers.bytes(patchGradients),
                "channelsFirst", Buffers.bytes(channelsFirst), "examplesFirst", Buffers.bytes(examplesFirst));
    }

    private static boolean covered(CNN2DFormat format, int[] dilation) {
        return format == CNN2DFormat.NCHW && dilation[0] == 1 && dilation[1] == 1;
    }

    /** The patches of {@code input} in {@link #patches}, returned as a matrix [channels * kH * kW, positions]. */
    private INDArray patches(INDArray input, int[] kernel, int[] strides, int[] pad, ConvolutionMode mode,
                             long outH, long outW) {
        patches = Buffers.reuse(patches, input,
                new long[] {input.size(1), kernel[0], kernel[1], input.size(0), outH, outW});
        INDArray scratch = examplesFirstScratch(patches);
        Convolution.im2col(input, kernel[0], kernel[1], strides[0], strides[1], pad[0], pad[1], 1, 1,
                mode == ConvolutionMode.Same, scratch);
        copySwapped(scratch, input.size(0), input.size(1) * kernel[0] * kernel[1], patches);
        patchesOf = input;
        return matrix(patches, 3);
    }

    /** {@link #examplesFirst} for a [channels, kH, kW, batch, outH, outW] patch array: its batch moved first. */
    private INDArray examplesFirstScratch(INDArray patchArray) {
        long[] s = patchArray.shape();
        examplesFirst = Buffers.reuse(examplesFirst, patchArray, new long[] {s[3], s[0], s[1], s[2], s[4], s[5]});
        return examplesFirst;
    }

    /**
     * Copies {@code from}, a c-order [a, b, ...] array, into {@code to} as [b, a, ...]. Seen as rank 3, since
     * libnd4j copies between rank-3 layouts fast and between the rank-6 patch layouts several times slower.
     */
    private static void copySwapped(INDArray from, long a, long b, INDArray to) {
        long rest = from.length() / a / b;
        to.reshape('c', b, a, rest).assign(from.reshape('c', a, b, rest).permute(1, 0, 2));
    }

    /** A c-order array as a matrix whose rows span its first {@code rowDims} dimensions. */
    private static INDArray matrix(INDArray array, int rowDims) {
        long rows = Arrays.stream(array.shape(), 0, rowDims).reduce(1, Math::multiplyExact);
        return array.reshape('c', rows, array.length() / rows);
    }

    /** {@code a} [batch, channels, h, w] copied into {@link #channelsFirst} as [channels, batch * h * w]. */
    private INDArray channelsFirst(INDArray a) {
        channelsFirst = Buffers.reuse(channelsFirst, a, new long[] {a.size(1), a.size(0), a.size(2), a.size(3)});
        channelsFirst.assign(a.permute(1, 0, 2, 3));
        return matrix(channelsFirst, 1);
    }

    @Override
    public INDArray preOutput(INDArray input, INDArray weights, INDArray bias, int[] kernel, int[] strides,
                              int[] pad, AlgoMode algoMode, FwdAlgo fwdAlgo, ConvolutionMode mode, int[] dilation,
                              CNN2DFormat format, LayerWorkspaceMgr workspaces) {
        if (!covered(format, dilation)) {
            return null;
        }
        int[] out = ConvolutionUtils.getOutputSize(input, kernel, strides, pad, mode, dilation, format);
        long batch = input.size(0);
        long outChannels = weights.size(0);
        INDArray z = workspaces.createUninitialized(ArrayType.ACTIVATIONS, input.dataType(),
                new long[] {batch, outChannels, out[0], out[1]}, 'c');
        if (oneDnn) {
            Nd4j.exec(DynamicCustomOp.builder("conv2d").addInputs(input, weights, bias.reshape(outChannels))
                    .addOutputs(z).addIntegerArguments(convArgs(kernel, strides, pad, mode)).build());
            return z;
        }
        long patchSize = input.size(1) * kernel[0] * kernel[1];
        INDArray cols = patches(input, kernel, strides, pad, mode, out[0], out[1]);
        channelsFirst = Buffers.reuse(channelsFirst, input, new long[] {outChannels, batch, out[0], out[1]});
        INDArray product = matrix(channelsFirst, 1);
        Nd4j.gemm(weights.reshape('c', outChannels, patchSize), cols, product, false, false, 1.0, 0.0);
        product.addiColumnVector(bias.reshape(outChannels, 1));
        z.permute(1, 0, 2, 3).assign(channelsFirst);
        return z;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray input, INDArray weights, INDArray bias,
                                                     INDArray delta, int[] kernel, int[] strides, int[] pad,
                                                     INDArray biasGradView, INDArray weightGradView,
                                                     IActivation afn, AlgoMode algoMode, BwdFilterAlgo filterAlgo,
                                                     BwdDataAlgo dataAlgo, ConvolutionMode mode, int[] dilation,
                                                     CNN2DFormat format, LayerWorkspaceMgr workspaces) {
        if (!covered(format, dilation)) {
            return null;
        }
        long outChannels = weights.size(0);
        INDArray epsilon = workspaces.createUninitialized(ArrayType.ACTIVATION_GRAD, input.dataType(),
                input.shape(), 'c');
        if (oneDnn && inputGradient) {
            Nd4j.exec(DynamicCustomOp.builder("conv2d_bp")
                    .addInputs(input, weights, bias.reshape(outChannels), delta)
                    .addOutputs(epsilon, weightGradView.reshape('c', weights.shape()),
                            biasGradView.reshape(outChannels))
                    .addIntegerArguments(convArgs(kernel, strides, pad, mode)).build());
        } else {
            // No oneDNN, or the first layer: conv2d_bp would make its input gradient (slowly, on one channel).
            INDArray d = parameterGradients(input, weights, delta, kernel, strides, pad, mode, biasGradView,
                    weightGradView);
            if (inputGradient) {
                writeInputGradient(d, weights, input, strides, pad, epsilon);
            } else {
                epsilon.assign(0);
            }
        }
        Gradient gradient = new DefaultGradient();
        gradient.setGradientFor(ConvolutionParamInitializer.BIAS_KEY, biasGradView);
        gradient.setGradientFor(ConvolutionParamInitializer.WEIGHT_KEY, weightGradView, 'c');
        return new Pair<>(gradient, epsilon);
    }

    /**
     * The weight and bias gradients, written into DL4J's gradient views, from the patches of {@code input};
     * returns the output gradient channels first, [outChannels, batch * outH * outW].
     */
    private INDArray parameterGradients(INDArray input, INDArray weights, INDArray delta, int[] kernel,
                                        int[] strides, int[] pad, ConvolutionMode mode, INDArray biasGradView,
                                        INDArray weightGradView) {
        long outChannels = weights.size(0);
        long patchSize = input.size(1) * kernel[0] * kernel[1];
        // The forward pass of this step made the patches of this very input, unless something ran in between.
        INDArray cols = patchesOf == input ? matrix(patches, 3)
                : patches(input, kernel, strides, pad, mode, delta.size(2), delta.size(3));
        INDArray d = channelsFirst(delta);
        Nd4j.gemm(d, cols, weightGradView.reshape('c', outChannels, patchSize), false, true, 1.0, 0.0);
        d.sum(biasGradView.reshape(outChannels), 1);
        return d;
    }

    /** The input gradient into {@code epsilon}: one product in patch form, then col2im. */
    private void writeInputGradient(INDArray d, INDArray weights, INDArray input, int[] strides, int[] pad,
                                    INDArray epsilon) {
        long patchSize = weights.length() / weights.size(0);
        patchGradients = Buffers.reuse(patchGradients, patches, patches.shape());
        Nd4j.gemm(weights.reshape('c', weights.size(0), patchSize), d, matrix(patchGradients, 3), true, false,
                1.0, 0.0);
        INDArray scratch = examplesFirstScratch(patchGradients);
        copySwapped(patchGradients, patchSize, input.size(0), scratch);
        Convolution.col2im(scratch, epsilon, strides[0], strides[1], pad[0], pad[1],
                (int) input.size(2), (int) input.size(3), 1, 1);
    }

    @Override
    public INDArray activate(INDArray z, IActivation afn, boolean training) {
        return afn.getActivation(z, training);
    }
}
