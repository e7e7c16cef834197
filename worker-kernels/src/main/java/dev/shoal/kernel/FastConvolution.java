package dev.shoal.kernel;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

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
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.convolution.Convolution;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;

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
 * and {@code conv2d_bp} ops run the passes, and they run them through oneDNN. Otherwise, per layer: the patches
 * of the whole minibatch as one matrix [channels * kH * kW, batch * outH * outW] (one strided copy of the input
 * per kernel offset); one matrix product for the layer's output (channels first, then copied into contiguous
 * NCHW), and for the backward pass two products (the weight gradient, the input gradient in patch form) and one
 * col2im. Three large products per layer instead of three small ones per example run near the BLAS's peak. The
 * network's first layer takes the second path's weight gradient in both, and makes no input gradient:
 * {@code conv2d_bp} always makes one, and on a single input channel it took 22 ms of LeNet's step where the
 * patches and one product take ~4. All buffers are reused from step to step. Same arithmetic, in another order:
 * results agree with DL4J's to float rounding.
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
    /** Heap copies for {@link #floatPatches}: the input's values and its patches'. */
    private float[] inputValues = new float[0];
    private float[] patchValues = new float[0];
    /** The input gradient in patch form, the same shape. */
    private INDArray patchGradients;
    /** The input channels first: [channels, batch, h, w]. */
    private INDArray inputChannelsFirst;
    /** Output channels first, [outChannels, batch, outH, outW]: the forward product, then the output gradient. */
    private INDArray channelsFirst;
    /** The input gradient in patch form as col2im reads it, [batch, channels, kH, kW, outH, outW]. */
    private INDArray examplesFirst;
    /** The output gradient positions first, [batch, outH, outW, outChannels]. */
    private INDArray positionsFirst;
    /** The weight gradient as the product makes it, [channels * kH * kW, outChannels]. */
    private INDArray transposedWeightGradient;
    /** Ones, one per output position of the minibatch: their product with the output gradient is the bias's. */
    private INDArray ones;

    /** Whether libnd4j's conv2d ops run the passes (through oneDNN) instead of patches and matrix products. */
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

    /** {@link #install(MultiLayerNetwork)}, with oneDNN's passes or the patches-and-products path as told. */
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
                "inputChannelsFirst", Buffers.bytes(inputChannelsFirst), "channelsFirst", Buffers.bytes(channelsFirst),
                "examplesFirst", Buffers.bytes(examplesFirst), "positionsFirst", Buffers.bytes(positionsFirst),
                "transposedWeightGradient", Buffers.bytes(transposedWeightGradient), "ones", Buffers.bytes(ones));
    }

    private static boolean covered(CNN2DFormat format, int[] dilation) {
        return format == CNN2DFormat.NCHW && dilation[0] == 1 && dilation[1] == 1;
    }

    /**
     * The patches of {@code input} in {@link #patches}, returned as a matrix [channels * kH * kW, positions]: for
     * each kernel offset, the input's rows seen channels first. Input positions in the padding give zeros. Float
     * patches are put together in Java from a heap copy of the input ({@link #floatPatches}); others by one
     * strided copy of the input per kernel offset. (libnd4j's im2col, which writes [batch, channels, kH, kW, outH,
     * outW], then a copy into this order, took 4x as long on LeNet's second layer.)
     */
    private INDArray patches(INDArray input, int[] kernel, int[] strides, int[] pad, long outH, long outW) {
        long channels = input.size(1);
        patches = Buffers.reuse(patches, input,
                new long[] {channels, kernel[0], kernel[1], input.size(0), outH, outW});
        if (input.dataType() == DataType.FLOAT && Math.max(patches.length(), input.length()) <= Integer.MAX_VALUE) {
            floatPatches(input, kernel, strides, pad, (int) outH, (int) outW);
        } else {
            stridedPatches(input, kernel, strides, pad, outH, outW);
        }
        patchesOf = input;
        return matrix(patches, 3);
    }

    /**
     * {@link #patches} of a float input: one bulk copy of the input to the heap, each patch row copied from an
     * input row (a bulk copy where the stride is 1), one bulk copy into {@link #patches}. With libnd4j's strided
     * copies, one per kernel offset, the backward pass of LeNet's first layer (64 images) took 7.1-8.2 ms, with
     * these 4.2-4.9 (AMD EPYC; it makes the patches for the weight gradient).
     */
    private void floatPatches(INDArray input, int[] kernel, int[] strides, int[] pad, int outH, int outW) {
        int batch = (int) input.size(0);
        int channels = (int) input.size(1);
        int h = (int) input.size(2);
        int w = (int) input.size(3);
        float[] in = inputValues = HeapCopy.values(input, inputValues);
        float[] out = patchValues = HeapCopy.reuse(patchValues, patches.length());
        int o = 0;
        for (int c = 0; c < channels; c++) {
            for (int i = 0; i < kernel[0]; i++) {
                int firstY = firstInside(i, strides[0], pad[0]);
                int lastY = lastInside(i, strides[0], pad[0], h, outH);
                for (int j = 0; j < kernel[1]; j++) {
                    int firstX = firstInside(j, strides[1], pad[1]);
                    int lastX = lastInside(j, strides[1], pad[1], w, outW);
                    for (int n = 0; n < batch; n++) {
                        for (int oy = 0; oy < outH; oy++, o += outW) {
                            if (oy < firstY || oy > lastY || firstX > lastX) {
                                Arrays.fill(out, o, o + outW, 0);
                                continue;
                            }
                            Arrays.fill(out, o, o + firstX, 0);
                            Arrays.fill(out, o + lastX + 1, o + outW, 0);
                            int from = ((n * channels + c) * h + oy * strides[0] + i - pad[0]) * w + j - pad[1];
                            if (strides[1] == 1) {
                                System.arraycopy(in, from + firstX, out, o + firstX, lastX - firstX + 1);
                            } else {
                                for (int ox = firstX; ox <= lastX; ox++) {
                                    out[o + ox] = in[from + ox * strides[1]];
                                }
                            }
                        }
                    }
                }
            }
        }
        WorkerKernel.floats(patches).put(out, 0, o);
    }

    /** {@link #patches} by one strided copy of the input, seen channels first, per kernel offset. */
    private void stridedPatches(INDArray input, int[] kernel, int[] strides, int[] pad, long outH, long outW) {
        inputChannelsFirst = Buffers.reuse(inputChannelsFirst, input,
                new long[] {input.size(1), input.size(0), input.size(2), input.size(3)});
        inputChannelsFirst.assign(input.permute(1, 0, 2, 3));
        boolean padded = pad[0] > 0 || pad[1] > 0 || (outH - 1) * strides[0] + kernel[0] > input.size(2)
                || (outW - 1) * strides[1] + kernel[1] > input.size(3);
        if (padded) {
            patches.assign(0);
        }
        for (int i = 0; i < kernel[0]; i++) {
            INDArrayIndex[] rows = offsetRange(i, strides[0], pad[0], input.size(2), outH);
            for (int j = 0; j < kernel[1]; j++) {
                INDArrayIndex[] columns = offsetRange(j, strides[1], pad[1], input.size(3), outW);
                if (rows != null && columns != null) {
                    patches.get(all(), point(i), point(j), all(), rows[0], columns[0])
                            .assign(inputChannelsFirst.get(all(), all(), rows[1], columns[1]));
                }
            }
        }
    }

    /**
     * For kernel offset {@code k} along one axis: the output positions whose input position (position * stride +
     * k - pad) lies inside the input, and those input positions; null if none does.
     */
    private static INDArrayIndex[] offsetRange(int k, int stride, int pad, long inSize, long outSize) {
        long first = firstInside(k, stride, pad);
        long last = lastInside(k, stride, pad, inSize, outSize);
        if (first > last) {
            return null;
        }
        long from = first * stride + k - pad;
        long to = from + (last - first) * stride + 1;
        return new INDArrayIndex[] {interval(first, last + 1), interval(from, stride, to)};
    }

    /** The first output position whose input position for kernel offset {@code k} is not in the leading padding. */
    private static int firstInside(int k, int stride, int pad) {
        return Math.max(0, Math.floorDiv(pad - k + stride - 1, stride));
    }

    /** The last output position whose input position for kernel offset {@code k} lies inside the input. */
    private static int lastInside(int k, int stride, int pad, long inSize, long outSize) {
        return (int) Math.min(outSize - 1, Math.floorDiv(inSize - 1 + pad - k, stride));
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
            patchesOf = null; // kept patches are of an earlier pass, perhaps of this array with other contents
            return z;
        }
        long patchSize = input.size(1) * kernel[0] * kernel[1];
        INDArray cols = patches(input, kernel, strides, pad, out[0], out[1]);
        channelsFirst = Buffers.reuse(channelsFirst, input, new long[] {outChannels, batch, out[0], out[1]});
        INDArray product = matrix(channelsFirst, 1);
        Gemm.product(weights.reshape('c', outChannels, patchSize), false, cols, false, product);
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
            parameterGradients(input, weights, delta, kernel, strides, pad, biasGradView, weightGradView);
            if (inputGradient) {
                writeInputGradient(delta, weights, input, strides, pad, epsilon);
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
     * The weight and bias gradients, written into DL4J's gradient views: the patches of {@code input} times the
     * output gradient positions first, and a ones vector times the same. (The product with the output gradient
     * channels first and the patches transposed, both with the positions along their rows, ran at a quarter of
     * the speed.)
     */
    private void parameterGradients(INDArray input, INDArray weights, INDArray delta, int[] kernel, int[] strides,
                                    int[] pad, INDArray biasGradView, INDArray weightGradView) {
        long outChannels = weights.size(0);
        // The forward pass of this step made the patches of this very input, unless something ran in between.
        INDArray cols = patchesOf == input ? matrix(patches, 3)
                : patches(input, kernel, strides, pad, delta.size(2), delta.size(3));
        positionsFirst = Buffers.reuse(positionsFirst, delta,
                new long[] {delta.size(0), delta.size(2), delta.size(3), outChannels});
        positionsFirst.assign(delta.permute(0, 2, 3, 1));
        INDArray d = matrix(positionsFirst, 3);
        transposedWeightGradient = Buffers.reuse(transposedWeightGradient, delta,
                new long[] {cols.rows(), outChannels});
        Gemm.product(cols, false, d, false, transposedWeightGradient);
        weightGradView.reshape('c', outChannels, cols.rows()).assign(transposedWeightGradient.transpose());
        ones = Buffers.reuse(ones, delta, new long[] {1, d.rows()});
        ones.assign(1);
        Gemm.product(ones, false, d, false, biasGradView.reshape(1, outChannels));
    }

    /**
     * The input gradient into {@code epsilon}: one product in patch form, then col2im. (Adding each kernel
     * offset's patch gradients into a strided view of the input, the reverse of {@link #patches}, took 62 ms on
     * LeNet's second layer: libnd4j's in-place add walks such views slowly.)
     */
    private void writeInputGradient(INDArray delta, INDArray weights, INDArray input, int[] strides, int[] pad,
                                    INDArray epsilon) {
        long patchSize = weights.length() / weights.size(0);
        patchGradients = Buffers.reuse(patchGradients, patches, patches.shape());
        Gemm.product(weights.reshape('c', weights.size(0), patchSize), true, channelsFirst(delta), false,
                matrix(patchGradients, 3));
        long[] s = patchGradients.shape();
        examplesFirst = Buffers.reuse(examplesFirst, patchGradients, new long[] {s[3], s[0], s[1], s[2], s[4], s[5]});
        // Seen as rank 3: libnd4j copies between rank-3 layouts fast, between these rank-6 ones several times slower.
        examplesFirst.reshape('c', input.size(0), patchSize, s[4] * s[5])
                .assign(patchGradients.reshape('c', patchSize, input.size(0), s[4] * s[5]).permute(1, 0, 2));
        Convolution.col2im(examplesFirst, epsilon, strides[0], strides[1], pad[0], pad[1],
                (int) input.size(2), (int) input.size(3), 1, 1);
    }

    @Override
    public INDArray activate(INDArray z, IActivation afn, boolean training) {
        return afn.getActivation(z, training);
    }
}
