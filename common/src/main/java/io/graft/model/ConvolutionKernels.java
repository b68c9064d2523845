package io.graft.model;

import java.lang.reflect.Field;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.AlgoMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.BwdDataAlgo;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.BwdFilterAlgo;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.FwdAlgo;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.convolution.ConvolutionLayer;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNConvHelper;
import org.deeplearning4j.nn.params.ConvolutionParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.util.ConvolutionUtils;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DL4J's oneDNN convolution, without the work a training step throws away.
 *
 * <p><b>The forward pass, once.</b> DL4J 1.0.0-M2.1's {@code ConvolutionLayer.backpropGradient} asks
 * for the layer's pre-activation output again to differentiate its activation, and with oneDNN on it
 * gets it by running the convolution again: every convolution of a training step runs forward twice
 * (a third of a 3x3 convolution's forward-and-backward cost on a 64 x 16 x 28 x 28 batch). This
 * helper is DL4J's own oneDNN helper (DL4J tests for that class by name) that remembers its last
 * output: when the same input and weight arrays come back while that output is still live in the
 * step's workspace, it is the same convolution of the same data, and the output is returned instead
 * of recomputed. An output outside a workspace is never reused (nothing tells when it went stale), nor
 * one of an earlier step (its workspace cycle has ended), and each output is reused at most once. The
 * layer applies its activation to that output in place, so the backward pass sees the activation's
 * output rather than its input: reused only where that gives the same derivative, identity and the
 * plain ReLU (a ReLU's output is positive exactly where its input is).
 *
 * <p><b>No gradient nobody reads.</b> DL4J's backward pass of a convolution always computes the
 * gradient at the layer's input, also for a network's first layer, where the network discards it.
 * oneDNN computes it with kernels that vectorise over input channels, so on one-channel images it
 * runs at a sixteenth of its width: LeNet's first convolution spent over a fifth of a 256-example
 * training step there. Where {@link GraftKernels#install} finds that nothing trainable lies below a
 * convolution, this helper computes only the weight and bias gradients and hands back zeros as the
 * input's gradient. The weight gradient of a stride-1 convolution, dW[o][i][u][v] =
 * Σ_n Σ_y,x dY[n][o][y][x] · X[n][i][y + u − p][x + v − p], is itself a convolution: of the input read
 * with batch and channels swapped, [i][n][h][w], by the output gradient as the kernel, [o][n][y][x],
 * with the layer's padding p (channel-last arrays are read the same way, through views). It runs as
 * one oneDNN forward convolution (brgemm kernels that vectorise over the batch), 4x to 8x faster than
 * DL4J's backward pass on LeNet's first layer; other convolutions keep DL4J's.
 *
 * <p><b>Channel-last gradients that are right.</b> For a channel-last (NHWC) layer DL4J differentiates
 * the activation on a channel-first view and hands the result back to the oneDNN helper as a permuted
 * view; where the derivative came back as a new channel-first array (ReLU's does), libnd4j's
 * {@code conv2d_bp} reads that view as if it were contiguous channel-last memory, and the layer's
 * weight, bias and input gradients are wrong (half their norm off on a small network). This helper
 * copies such a gradient into contiguous memory first, so channel-last convolutions (Keras models) train
 * as they do on DL4J's built-in layers.
 */
final class ConvolutionKernels extends MKLDNNConvHelper {
  private static final Field HELPER = GraftKernels.field(ConvolutionLayer.class, "helper");

  private final boolean reuseForward;
  /** Whether the layer's backward pass must compute the gradient at its input; set by each {@link #installOn}. */
  private boolean inputGradient;
  private OpContext weightGradientContext;
  private INDArray lastInput;
  private INDArray lastWeights;
  private INDArray lastOutput;
  private long reused;
  private long weightGradientsOnly;

  private ConvolutionKernels(boolean reuseForward, boolean inputGradient) {
    super(DataType.FLOAT);
    this.reuseForward = reuseForward;
    this.inputGradient = inputGradient;
  }

  /**
   * Puts the helper on {@code layer} if it is a plain convolution on DL4J's oneDNN helper and the
   * helper has something to save there; true if it runs there now.
   *
   * @param inputGradient whether anything trainable lies below the layer, so that its backward pass
   *     must compute the gradient at its input
   */
  static boolean installOn(Layer layer, boolean inputGradient) {
    if (layer.getClass() != ConvolutionLayer.class) {
      return false;
    }
    Object helper = GraftKernels.get(HELPER, layer);
    if (helper instanceof ConvolutionKernels k) {
      k.inputGradient = inputGradient;
      return true;
    }
    org.deeplearning4j.nn.conf.layers.ConvolutionLayer conf = (org.deeplearning4j.nn.conf.layers.ConvolutionLayer) layer.conf().getLayer();
    boolean reuse = derivativeFromOutput(conf.getActivationFn());
    boolean channelsLast = conf.getCnn2dDataFormat() == CNN2DFormat.NHWC;
    if (helper == null || helper.getClass() != MKLDNNConvHelper.class || !reuse && inputGradient && !channelsLast) {
      return false;
    }
    GraftKernels.set(HELPER, layer, new ConvolutionKernels(reuse, inputGradient));
    return true;
  }

  /** How many forward passes {@code layer}'s helper has handed back instead of recomputing (0 without it). */
  static long reused(Layer layer) {
    return kernels(layer) instanceof ConvolutionKernels k ? k.reused : 0;
  }

  /** How many backward passes of {@code layer} computed the weight gradients alone (0 without Graft's helper). */
  static long weightGradientsOnly(Layer layer) {
    return kernels(layer) instanceof ConvolutionKernels k ? k.weightGradientsOnly : 0;
  }

  private static Object kernels(Layer layer) {
    return layer instanceof ConvolutionLayer ? GraftKernels.get(HELPER, layer) : null;
  }

  /** Identity, or a ReLU without threshold, slope or cap: the derivative read from the output is the true one. */
  static boolean derivativeFromOutput(IActivation a) {
    return a instanceof ActivationIdentity
        || a instanceof ActivationReLU r && r.getMax() == null && r.getThreshold() == null && r.getNegativeSlope() == null;
  }

  @Override
  public INDArray preOutput(INDArray input, INDArray weights, INDArray bias, int[] kernel, int[] strides, int[] pad, AlgoMode algoMode,
      FwdAlgo fwdAlgo, ConvolutionMode mode, int[] dilation, CNN2DFormat format, LayerWorkspaceMgr workspaceMgr) {
    long t0 = KernelClock.start();
    try {
      return reuseForward ? forward(input, weights, bias, kernel, strides, pad, algoMode, fwdAlgo, mode, dilation, format, workspaceMgr)
          : super.preOutput(input, weights, bias, kernel, strides, pad, algoMode, fwdAlgo, mode, dilation, format, workspaceMgr);
    } finally {
      KernelClock.stop(KernelClock.Kind.CONVOLUTION, t0);
    }
  }

  @Override
  public Pair<Gradient, INDArray> backpropGradient(INDArray input, INDArray weights, INDArray bias, INDArray delta, int[] kernel,
      int[] strides, int[] pad, INDArray biasGradView, INDArray weightGradView, IActivation afn, AlgoMode mode, BwdFilterAlgo bwdFilterAlgo,
      BwdDataAlgo bwdDataAlgo, ConvolutionMode convolutionMode, int[] dilation, CNN2DFormat format, LayerWorkspaceMgr workspaceMgr) {
    long t0 = KernelClock.start();
    try {
      if (!inputGradient && weightGradients(input, delta, kernel, strides, pad, convolutionMode, dilation, format, weightGradView)) {
        weightGradientsOnly++;
        Gradient g = new DefaultGradient();
        if (bias != null && biasGradView != null) {
          delta.sum(biasGradView.reshape(biasGradView.length()), format == CNN2DFormat.NHWC ? new int[] {0, 1, 2} : new int[] {0, 2, 3});
          g.gradientForVariable().put(ConvolutionParamInitializer.BIAS_KEY, biasGradView);
        }
        g.gradientForVariable().put(ConvolutionParamInitializer.WEIGHT_KEY, weightGradView);
        // the network discards this: zeros, so that nothing reads stale memory as a gradient
        return new Pair<>(g, workspaceMgr.create(ArrayType.ACTIVATION_GRAD, input.dataType(), input.shape(), 'c'));
      }
      if (format == CNN2DFormat.NHWC && !Shape.hasDefaultStridesForShape(delta)) {
        // libnd4j's oneDNN conv2d_bp reads a channel-last output gradient as if it were contiguous: DL4J hands it a
        // permuted view wherever the activation's derivative comes back as a new channel-first array (ReLU's does)
        delta = workspaceMgr.dup(ArrayType.BP_WORKING_MEM, delta, 'c');
      }
      return super.backpropGradient(input, weights, bias, delta, kernel, strides, pad, biasGradView, weightGradView, afn, mode, bwdFilterAlgo,
          bwdDataAlgo, convolutionMode, dilation, format, workspaceMgr);
    } finally {
      KernelClock.stop(KernelClock.Kind.CONVOLUTION, t0);
    }
  }

  /**
   * The weight gradient into {@code weightGradView} ([out, in, kH, kW]) as one forward convolution
   * (see the class comment), for channel-first and channel-last data alike (both are read as [in][n][h][w]
   * views); false, with nothing written, where this helper leaves the layer to DL4J: strides or dilations
   * other than 1 (the rewritten convolution would be dilated, which libnd4j's oneDNN convolution refuses),
   * or other than float.
   */
  boolean weightGradients(INDArray input, INDArray delta, int[] kernel, int[] strides, int[] pad, ConvolutionMode mode, int[] dilation,
      CNN2DFormat format, INDArray weightGradView) {
    if (input.dataType() != DataType.FLOAT || delta.dataType() != DataType.FLOAT
        || strides[0] != 1 || strides[1] != 1 || dilation[0] != 1 || dilation[1] != 1) {
      return false;
    }
    boolean nhwc = format == CNN2DFormat.NHWC;
    int[] in = {(int) input.size(nhwc ? 1 : 2), (int) input.size(nhwc ? 2 : 3)};
    int[] out = {(int) delta.size(nhwc ? 1 : 2), (int) delta.size(nhwc ? 2 : 3)};
    int[] p = mode == ConvolutionMode.Same ? ConvolutionUtils.getSameModeTopLeftPadding(out, in, kernel, strides, dilation) : pad;
    for (int k = 0; k < 2; k++) {
      if (in[k] + 2 * p[k] - out[k] + 1 != kernel[k]) {
        return false; // padded differently at the top and the bottom
      }
    }
    if (weightGradientContext == null) {
      weightGradientContext = Nd4j.getExecutioner().buildContext();
    }
    OpContext c = weightGradientContext;
    // kernel = the output gradient's spatial size, stride 1, the layer's padding; NCHW, weights [out, in, kH, kW]
    c.setIArguments(out[0], out[1], 1, 1, p[0], p[1], 1, 1, 0, 0, 1);
    c.getInputArrays().clear();
    c.getOutputArrays().clear();
    int[] channelsThenBatch = nhwc ? new int[] {3, 0, 1, 2} : new int[] {1, 0, 2, 3};
    c.setInputArray(0, input.permute(channelsThenBatch));
    c.setInputArray(1, delta.permute(channelsThenBatch));
    c.setOutputArray(0, weightGradView.permute(1, 0, 2, 3));
    Nd4j.exec(new Conv2D(), c);
    c.purge();
    return true;
  }

  private INDArray forward(INDArray input, INDArray weights, INDArray bias, int[] kernel, int[] strides, int[] pad, AlgoMode algoMode,
      FwdAlgo fwdAlgo, ConvolutionMode mode, int[] dilation, CNN2DFormat format, LayerWorkspaceMgr workspaceMgr) {
    if (input == lastInput && weights == lastWeights && live(lastOutput)) {
      INDArray out = lastOutput;
      forget();
      reused++;
      return out;
    }
    INDArray out = super.preOutput(input, weights, bias, kernel, strides, pad, algoMode, fwdAlgo, mode, dilation, format, workspaceMgr);
    if (out != null && out.isAttached()) {
      lastInput = input;
      lastWeights = weights;
      lastOutput = out;
    } else {
      forget();
    }
    return out;
  }

  /** Attached to a workspace that is open and still in the cycle {@code out} was allocated in. */
  private static boolean live(INDArray out) {
    if (out == null || !out.isAttached() || !out.isInScope()) {
      return false;
    }
    MemoryWorkspace ws = out.data().getParentWorkspace();
    return ws != null && ws.getGenerationId() == out.data().getGenerationId();
  }

  private void forget() {
    lastInput = null;
    lastWeights = null;
    lastOutput = null;
  }
}
