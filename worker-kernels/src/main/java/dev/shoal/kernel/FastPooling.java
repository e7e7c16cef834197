package dev.shoal.kernel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.convolution.subsampling.SubsamplingHelper;
import org.deeplearning4j.nn.layers.convolution.subsampling.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Max pooling over windows that tile the image (stride = kernel size, no padding), forward and backward, as the
 * helper (the slot DL4J keeps for cuDNN and oneDNN) of a pooling layer that calls it in both passes
 * ({@link PoolingLayer}). Each output is the largest value of its window; the
 * backward pass hands each output's gradient to that value's position and zero to the others.
 *
 * <p>Why: libnd4j's {@code maxpool2d} ops run through oneDNN's pooling for plain NCHW data ({@code simple_nchw}),
 * which took 41% of a LeNet step on an AMD EPYC without AVX-512 (JFR: 20 ms for the first pooling's forward pass
 * of 128 images, 8 ms for its backward pass), more than the convolutions. Here LeNet's two poolings of 64 images
 * take 1.6 ms forward and 3.4 ms backward (2x2 windows unrolled; 4.5 and 8.9 ms with a loop per window).
 *
 * <p>Exact: a maximum is computed without rounding, and with windows that do not overlap each input position gets
 * at most one gradient, so outputs and gradients are DL4J's bit for bit. Where a window holds its maximum more than
 * once, the first in reading order (row by row) takes the gradient, as in oneDNN's and libnd4j's pooling. (Two
 * exceptions that training never meets: a window whose maximum is 0 held as both 0 and -0 gives 0 and hands the
 * gradient to the first 0, where oneDNN takes the first of either; and a NaN is passed on where oneDNN may skip
 * it, while a NaN loss stops training anyway.)
 *
 * <p>Covers float NCHW data, max pooling, windows that tile the input (stride = kernel, no padding, no dilation;
 * in 'Same' mode only an input the windows divide exactly); anything else returns null, and DL4J then runs its
 * built-in path.
 */
final class FastPooling implements SubsamplingHelper {
    /** Scratch slots: the input; the output, or in the backward pass the output's gradient; the input's gradient. */
    private static final int INPUT = 0;
    private static final int OUTPUT = 1;
    private static final int INPUT_GRADIENT = 2;
    /** {@link #preferred()}, read from the machine once. */
    private static final boolean PREFERRED = onThisMachine();
    /**
     * Heap copies, one a slot, reused from pass to pass (grown to the largest minibatch). Java reads a float[]
     * several times as fast as a buffer over ND4J's memory, and the copies in and out are bulk copies.
     */
    private final float[][] scratch = {new float[0], new float[0], new float[0]};

    /**
     * Whether this pooling is the faster one here. With ND4J's oneDNN build on a CPU with AVX-512, libnd4j's
     * pooling op (which DL4J's layer runs without a helper) is oneDNN's JIT kernel, which takes plain NCHW data:
     * a LeNet worker's step took 68-81 ms with it against 86-114 ms with this class on a Sapphire Rapids Xeon
     * (alternated runs). Below AVX-512, oneDNN pools NCHW data with its reference kernel (20 ms for LeNet's first
     * pooling on an AVX2 EPYC), and this class made the step 1.5x as fast. ONEDNN_MAX_CPU_ISA (or DNNL_MAX_CPU_ISA),
     * where it caps oneDNN below AVX-512, counts as the CPU's.
     */
    static boolean preferred() {
        return PREFERRED;
    }

    private static boolean onThisMachine() {
        String cpuinfo;
        try {
            cpuinfo = Files.readString(Path.of("/proc/cpuinfo"));
        } catch (IOException | UncheckedIOException e) {
            cpuinfo = "";
        }
        String cap = System.getenv("ONEDNN_MAX_CPU_ISA");
        return !(OneDnn.available() && avx512(cpuinfo, cap != null ? cap : System.getenv("DNNL_MAX_CPU_ISA")));
    }

    /** Whether oneDNN runs its AVX-512 kernels on a CPU of {@code cpuinfo}, its ISA capped at {@code isaCap}. */
    static boolean avx512(String cpuinfo, String isaCap) {
        if (isaCap != null && !isaCap.isBlank() && !isaCap.toUpperCase(Locale.ROOT).contains("AVX512")
                && !isaCap.equalsIgnoreCase("ALL")) {
            return false;
        }
        // oneDNN's avx512_core needs the foundation, byte/word, vector-length and doubleword/quadword extensions.
        return cpuinfo.lines().filter(line -> line.startsWith("flags")).findFirst()
                .map(line -> List.of(line.split("\\s+")))
                .map(flags -> flags.containsAll(List.of("avx512f", "avx512bw", "avx512vl", "avx512dq")))
                .orElse(false);
    }

    /**
     * Puts a {@link PoolingLayer} in place of each of {@code net}'s pooling layers; returns how many. Call after
     * {@code init()}.
     */
    static int install(MultiLayerNetwork net) {
        DataType type = net.getLayerWiseConfigurations().getDataType();
        return LayerHelpers.replace(net, layer -> layer.getClass() == SubsamplingLayer.class,
                layer -> new PoolingLayer(layer.conf(), type));
    }

    /**
     * DL4J's pooling layer with a {@code FastPooling} as its helper, which it calls in the forward pass too: DL4J
     * 1.0.0-M2.1's own layer calls its helper only in the backward pass.
     */
    static final class PoolingLayer extends SubsamplingLayer {
        PoolingLayer(NeuralNetConfiguration conf, DataType dataType) {
            super(conf, dataType);
            helper = new FastPooling();
        }

        @Override
        public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
            assertInputSet(false);
            var conf = layerConf();
            // 'Same' mode pads nothing where the windows divide the input, the only case the helper computes.
            int[] pad = convolutionMode == ConvolutionMode.Same ? new int[2] : conf.getPadding();
            INDArray output = helper.activate(input.castTo(dataType), training, conf.getKernelSize(),
                    conf.getStride(), pad, conf.getPoolingType(), convolutionMode, conf.getDilation(),
                    conf.getCnn2dDataFormat(), workspaceMgr);
            return output != null ? output : super.activate(training, workspaceMgr);
        }
    }

    @Override
    public boolean checkSupported() {
        return true;
    }

    @Override
    public Map<String, Long> helperMemoryUse() {
        return Map.of("scratch", (long) Float.BYTES * Arrays.stream(scratch).mapToInt(a -> a.length).sum());
    }

    /** The windows of a pooling this helper computes: the input's sizes and the window's. */
    private record Windows(int planes, int height, int width, int kh, int kw, int outH, int outW) {

        /** The windows of {@code input} as DL4J asks for them, or null where this helper does not apply. */
        static Windows of(INDArray input, int[] kernel, int[] strides, int[] pad, PoolingType type,
                          ConvolutionMode mode, int[] dilation, CNN2DFormat format) {
            if (type != PoolingType.MAX || format != CNN2DFormat.NCHW || input.dataType() != DataType.FLOAT
                    || input.rank() != 4 || input.length() > Integer.MAX_VALUE
                    || kernel[0] != strides[0] || kernel[1] != strides[1]
                    || pad[0] != 0 || pad[1] != 0 || dilation[0] != 1 || dilation[1] != 1) {
                return null;
            }
            int height = (int) input.size(2);
            int width = (int) input.size(3);
            if (height < kernel[0] || width < kernel[1]
                    || mode == ConvolutionMode.Same && (height % kernel[0] != 0 || width % kernel[1] != 0)) {
                return null;
            }
            return new Windows((int) (input.size(0) * input.size(1)), height, width, kernel[0], kernel[1],
                    height / kernel[0], width / kernel[1]);
        }

        /** The position in a plane-after-plane array of the first value of row {@code oy} of windows. */
        int first(int plane, int oy) {
            return plane * height * width + oy * kh * width;
        }

        /** Whether the windows are 2x2 (LeNet's), which {@link #maxima} and {@link #route} unroll. */
        boolean pairs() {
            return kh == 2 && kw == 2;
        }

        /** Whether the windows cover every input position (no remainder rows or columns). */
        boolean covers() {
            return outH * kh == height && outW * kw == width;
        }

        /** Each window's largest value, window after window ({@link #max}; 2x2 windows, LeNet's, unrolled). */
        void maxima(float[] in, float[] out) {
            int o = 0;
            for (int p = 0; p < planes; p++) {
                for (int oy = 0; oy < outH; oy++) {
                    int at = first(p, oy);
                    if (pairs()) {
                        for (int end = o + outW; o < end; o++, at += 2) {
                            out[o] = max4(in[at], in[at + 1], in[at + width], in[at + width + 1]);
                        }
                    } else {
                        for (int ox = 0; ox < outW; ox++, at += kw) {
                            out[o++] = max(in, at);
                        }
                    }
                }
            }
        }

        /**
         * The input's gradient: each window's output gradient {@code eps} at its first largest value
         * ({@link #argMax}), zero everywhere else. 2x2 windows write all four positions at once, choosing without a
         * branch; other windows scatter into a zeroed array.
         */
        void route(float[] in, float[] eps, float[] out) {
            boolean pairs = pairs();
            if (!pairs || !covers()) {
                Arrays.fill(out, 0, planes * height * width, 0);
            }
            int o = 0;
            for (int p = 0; p < planes; p++) {
                for (int oy = 0; oy < outH; oy++) {
                    int at = first(p, oy);
                    if (pairs) {
                        for (int end = o + outW; o < end; o++, at += 2) {
                            route4(in, at, eps[o], out);
                        }
                    } else {
                        for (int ox = 0; ox < outW; ox++, at += kw) {
                            out[argMax(in, at)] = eps[o++];
                        }
                    }
                }
            }
        }

        /**
         * {@link #route} for the 2x2 window at {@code at}: {@code g} to the first of its values (row by row) equal
         * to their maximum bit for bit, or to the first value if none is (a NaN), as {@link #argMax} picks; +0 to
         * the other three.
         */
        private void route4(float[] in, int at, float g, float[] out) {
            float a = in[at];
            float b = in[at + 1];
            float c = in[at + width];
            float d = in[at + width + 1];
            int max = Float.floatToRawIntBits(max4(a, b, c, d));
            int isA = same(a, max);
            int isB = same(b, max) & ~isA;
            int isC = same(c, max) & ~isA & ~isB;
            int isD = same(d, max) & ~isA & ~isB & ~isC;
            int bits = Float.floatToRawIntBits(g);
            out[at] = Float.intBitsToFloat(bits & ~(isB | isC | isD));
            out[at + 1] = Float.intBitsToFloat(bits & isB);
            out[at + width] = Float.intBitsToFloat(bits & isC);
            out[at + width + 1] = Float.intBitsToFloat(bits & isD);
        }

        /** All ones where {@code v}'s bits are {@code bits}, else 0. */
        private static int same(float v, int bits) {
            int differs = Float.floatToRawIntBits(v) ^ bits;
            return ~((differs | -differs) >> 31);
        }

        /** The largest of four values: {@link #max}'s result for a 2x2 window (max is exact, in any order). */
        private static float max4(float a, float b, float c, float d) {
            return Math.max(Math.max(a, b), Math.max(c, d));
        }

        /**
         * The largest value of the window that starts at {@code first}. Math.max compiles to no branch, where a
         * comparison that picks the larger one mispredicts about half the time on a convolution's output (5x as
         * long on LeNet's first pooling).
         */
        float max(float[] in, int first) {
            float max = in[first];
            for (int y = 0; y < kh; y++) {
                for (int x = 0; x < kw; x++) {
                    max = Math.max(max, in[first + y * width + x]);
                }
            }
            return max;
        }

        /**
         * The position of the window's first largest value, found without a branch: scanning backwards, each value
         * equal to the maximum (bit for bit) takes the place of the one found before.
         */
        int argMax(float[] in, int first) {
            int max = Float.floatToRawIntBits(max(in, first));
            int best = first;
            for (int y = kh - 1; y >= 0; y--) {
                for (int x = kw - 1; x >= 0; x--) {
                    int at = first + y * width + x;
                    int differs = Float.floatToRawIntBits(in[at]) ^ max;
                    int keep = (differs | -differs) >> 31; // 0 where the value is the maximum, else all ones
                    best = best & keep | at & ~keep;
                }
            }
            return best;
        }
    }

    /** Scratch array {@code slot}, at least {@code length} long. */
    private float[] reuse(int slot, int length) {
        return scratch[slot] = HeapCopy.reuse(scratch[slot], length);
    }

    /** {@code a}'s values in c order, in scratch array {@code slot}. */
    private float[] read(INDArray a, int slot) {
        return scratch[slot] = HeapCopy.values(a, scratch[slot]);
    }

    @Override
    public INDArray activate(INDArray input, boolean training, int[] kernel, int[] strides, int[] pad,
                             PoolingType poolingType, ConvolutionMode convolutionMode, int[] dilation,
                             CNN2DFormat format, LayerWorkspaceMgr workspaceMgr) {
        Windows w = Windows.of(input, kernel, strides, pad, poolingType, convolutionMode, dilation, format);
        if (w == null) {
            return null;
        }
        INDArray output = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, DataType.FLOAT,
                new long[] {input.size(0), input.size(1), w.outH(), w.outW()}, 'c');
        float[] out = reuse(OUTPUT, (int) output.length());
        w.maxima(read(input, INPUT), out);
        WorkerKernel.floats(output).put(out, 0, (int) output.length());
        return output;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray input, INDArray epsilon, int[] kernel, int[] strides,
                                                     int[] pad, PoolingType poolingType,
                                                     ConvolutionMode convolutionMode, int[] dilation,
                                                     CNN2DFormat format, LayerWorkspaceMgr workspaceMgr) {
        Windows w = Windows.of(input, kernel, strides, pad, poolingType, convolutionMode, dilation, format);
        if (w == null || epsilon.dataType() != DataType.FLOAT) {
            return null;
        }
        INDArray gradient = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, DataType.FLOAT,
                input.shape(), 'c');
        float[] out = reuse(INPUT_GRADIENT, (int) input.length());
        w.route(read(input, INPUT), read(epsilon, OUTPUT), out);
        WorkerKernel.floats(gradient).put(out, 0, (int) input.length());
        return new Pair<>(new DefaultGradient(), gradient);
    }
}
