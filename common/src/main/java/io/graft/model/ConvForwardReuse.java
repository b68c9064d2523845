package io.graft.model;

import java.lang.reflect.Field;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.AlgoMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.BwdDataAlgo;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.BwdFilterAlgo;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.FwdAlgo;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.convolution.ConvolutionLayer;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNConvHelper;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * DL4J's oneDNN convolution, without computing the forward pass a second time for the backward.
 *
 * <p>DL4J 1.0.0-M2.1's {@code ConvolutionLayer.backpropGradient} asks for the layer's pre-activation
 * output again to differentiate its activation, and with oneDNN on it gets it by running the
 * convolution again: every convolution of a training step runs forward twice (a third of a 3x3
 * convolution's forward-and-backward cost on a 64 x 16 x 28 x 28 batch). This helper is DL4J's
 * own oneDNN helper (DL4J tests for that class by name) that remembers its last output: when the
 * same input and weight arrays come back while that output is still live in the step's workspace,
 * it is the same convolution of the same data, and the output is returned instead of recomputed.
 * An output outside a workspace is never reused (nothing tells when it went stale), nor one of
 * an earlier step (its workspace cycle has ended), and each output is reused at most once.
 *
 * <p>The layer applies its activation to that output in place, so the backward pass sees the
 * activation's output rather than its input: installed only where that gives the same derivative,
 * identity and the plain ReLU (a ReLU's output is positive exactly where its input is).
 */
final class ConvForwardReuse extends MKLDNNConvHelper {
  private static final Field HELPER = GraftKernels.field(ConvolutionLayer.class, "helper");

  private INDArray lastInput;
  private INDArray lastWeights;
  private INDArray lastOutput;
  private long reused;

  private ConvForwardReuse() {
    super(DataType.FLOAT);
  }

  /** Puts the helper on {@code layer} if it is a plain convolution on DL4J's oneDNN helper; true if it runs there now. */
  static boolean installOn(Layer layer) {
    if (layer.getClass() != ConvolutionLayer.class) {
      return false;
    }
    Object helper = GraftKernels.get(HELPER, layer);
    if (helper instanceof ConvForwardReuse) {
      return true;
    }
    IActivation activation = ((org.deeplearning4j.nn.conf.layers.ConvolutionLayer) layer.conf().getLayer()).getActivationFn();
    if (helper == null || helper.getClass() != MKLDNNConvHelper.class || !derivativeFromOutput(activation)) {
      return false;
    }
    GraftKernels.set(HELPER, layer, new ConvForwardReuse());
    return true;
  }

  /** How many forward passes {@code layer}'s helper has handed back instead of recomputing (0 without it). */
  static long reused(Layer layer) {
    return layer instanceof ConvolutionLayer && GraftKernels.get(HELPER, layer) instanceof ConvForwardReuse r ? r.reused : 0;
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
      return forward(input, weights, bias, kernel, strides, pad, algoMode, fwdAlgo, mode, dilation, format, workspaceMgr);
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
      return super.backpropGradient(input, weights, bias, delta, kernel, strides, pad, biasGradView, weightGradView, afn, mode, bwdFilterAlgo,
          bwdDataAlgo, convolutionMode, dilation, format, workspaceMgr);
    } finally {
      KernelClock.stop(KernelClock.Kind.CONVOLUTION, t0);
    }
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
