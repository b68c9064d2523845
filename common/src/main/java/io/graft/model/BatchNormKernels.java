package io.graft.model;

import java.lang.reflect.Field;
import java.util.Collections;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNBatchNormHelper;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import org.deeplearning4j.nn.layers.normalization.BatchNormalizationHelper;
import org.deeplearning4j.nn.layers.wrapper.BaseWrapperLayer;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.SubOp;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Graft's batch-norm kernels behind DL4J's {@code BatchNormalization} layer, in place of DL4J's
 * oneDNN helper.
 *
 * <p>DL4J 1.0.0-M2.1's oneDNN helper computes a training batch's variance with ND4J's
 * summary-statistics reduction over per-channel views (about 5 ms for a 64 x 16 x 28 x 28 batch on
 * one core, six times the normalisation itself) and its backward op costs as much again. This helper
 * does the same arithmetic with passes that run at memory speed on channel-first data seen as
 * rows of one channel of one example ({@code [N·C, H·W]}): per-row sums as one matrix-vector
 * product, per-channel scales and shifts as element-wise ops that broadcast a {@code [1, C, 1]}
 * vector. Training uses the batch mean and the (biased) batch variance, computed in two passes
 * (mean first, then squares of the centred values), and leaves them where DL4J's layer reads them
 * to update its running statistics; inference uses the running statistics DL4J hands in. The
 * network's configuration is untouched: a saved model is a plain DL4J model.
 *
 * <p>{@link #install} puts it on every batch-norm layer of a network that DL4J gave its oneDNN
 * helper (so on a build or setting without oneDNN, DL4J's built-in layer runs as before). Channel-
 * last batch norm and data types other than float are left to DL4J.
 */
public final class BatchNormKernels implements BatchNormalizationHelper {
  private static final Field HELPER = GraftKernels.field(BatchNormalization.class, "helper");

  /** Whether the element-wise passes run as {@link VectorKernels} (else as ND4J ops). */
  private final boolean vector;
  private INDArray mean;
  private INDArray var;
  /** The kept batch statistics as Java arrays, for the vector kernels' backward pass. */
  private float[] meanValues;
  private float[] varValues;

  private BatchNormKernels(boolean vector) {
    this.vector = vector;
  }

  /**
   * Puts Graft's kernels on every batch-norm layer of {@code model} that runs DL4J's oneDNN helper
   * (and on nothing else: see {@link GraftKernels#install} for all of Graft's kernels). Idempotent.
   *
   * @return how many layers run Graft's batch-norm kernels now
   */
  public static int install(Model model) {
    int count = 0;
    for (Layer layer : GraftKernels.layers(model)) {
      count += installOn(layer) ? 1 : 0;
    }
    return count;
  }

  /** Puts the kernels on {@code layer} (inside any wrapper) if it is batch norm on DL4J's oneDNN helper; true if it runs them now. */
  static boolean installOn(Layer layer) {
    Layer inner = layer;
    while (inner instanceof BaseWrapperLayer w) {
      inner = w.getUnderlying();
    }
    if (!(inner instanceof BatchNormalization bn)) {
      return false;
    }
    Object helper = GraftKernels.get(HELPER, bn);
    if (helper instanceof MKLDNNBatchNormHelper && !bn.layerConf().isLockGammaBeta()) {
      helper = new BatchNormKernels(GraftKernels.vectorKernels());
      GraftKernels.set(HELPER, bn, helper);
    }
    return helper instanceof BatchNormKernels;
  }

  @Override
  public boolean checkSupported() {
    return true;
  }

  @Override
  public boolean checkSupported(double eps, boolean fixedGammaBeta) {
    return !fixedGammaBeta;
  }

  @Override
  public Map<String, Long> helperMemoryUse() {
    return Collections.emptyMap();
  }

  @Override
  public INDArray getMeanCache(DataType dataType) {
    return mean;
  }

  @Override
  public INDArray getVarCache(DataType dataType) {
    return var;
  }

  private static boolean handles(INDArray x, CNN2DFormat format) {
    return x.dataType() == DataType.FLOAT && x.rank() == 4 && format != CNN2DFormat.NHWC;
  }

  @Override
  public INDArray preOutput(INDArray x, boolean training, long[] shape, INDArray gamma, INDArray beta, INDArray globalMean,
      INDArray globalVar, double decay, double eps, CNN2DFormat format, LayerWorkspaceMgr workspaceMgr) {
    long t0 = KernelClock.start();
    try {
      return forward(x, training, gamma, beta, globalMean, globalVar, eps, format, workspaceMgr);
    } finally {
      KernelClock.stop(KernelClock.Kind.BATCH_NORM, t0);
    }
  }

  @Override
  public Pair<Gradient, INDArray> backpropGradient(INDArray input, INDArray epsilon, long[] shape, INDArray gamma, INDArray beta,
      INDArray dGammaView, INDArray dBetaView, double eps, CNN2DFormat format, LayerWorkspaceMgr workspaceMgr) {
    long t0 = KernelClock.start();
    try {
      return backward(input, epsilon, gamma, dGammaView, dBetaView, eps, format, workspaceMgr);
    } finally {
      KernelClock.stop(KernelClock.Kind.BATCH_NORM, t0);
    }
  }

  private INDArray forward(INDArray x, boolean training, INDArray gamma, INDArray beta, INDArray globalMean, INDArray globalVar, double eps,
      CNN2DFormat format, LayerWorkspaceMgr workspaceMgr) {
    if (!handles(x, format) || gamma == null || beta == null) {
      return null;
    }
    INDArray in = Shape.hasDefaultStridesForShape(x) ? x : x.dup('c');
    if (vector && VectorKernels.handles(in) && in.size(1) * in.size(2) * in.size(3) <= Integer.MAX_VALUE) {
      return vectorPreOutput(in, training, gamma, beta, globalMean, globalVar, eps, workspaceMgr);
    }
    long n = in.size(0);
    long c = in.size(1);
    long hw = in.size(2) * in.size(3);
    INDArray rows = in.reshape('c', n * c, hw);
    INDArray scale;
    INDArray shift;
    if (training) {
      INDArray centred = workspaceMgr.createUninitialized(ArrayType.FF_WORKING_MEM, DataType.FLOAT, n, c, hw);
      INDArray batchMean = channelMean(rows, n, c, hw, workspaceMgr, ArrayType.FF_WORKING_MEM);
      Nd4j.exec(new SubOp(in.reshape('c', n, c, hw), batchMean.reshape(1, c, 1), centred));
      centred.muli(centred);
      INDArray batchVar = channelMean(centred.reshape('c', n * c, hw), n, c, hw, workspaceMgr, ArrayType.FF_WORKING_MEM);
      keep(batchMean, batchVar);
      scale = Transforms.sqrt(batchVar.add(eps), false).rdivi(gamma.reshape(c));
      shift = beta.reshape(c).sub(batchMean.mul(scale));
    } else {
      scale = Transforms.sqrt(globalVar.reshape(c).add(eps), false).rdivi(gamma.reshape(c));
      shift = beta.reshape(c).sub(globalMean.reshape(c).mul(scale));
    }
    INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, DataType.FLOAT, in.shape(), 'c');
    INDArray out3 = out.reshape('c', n, c, hw);
    Nd4j.exec(new MulOp(in.reshape('c', n, c, hw), scale.reshape(1, c, 1), out3));
    Nd4j.exec(new AddOp(out3, shift.reshape(1, c, 1), out3));
    return out;
  }

  private Pair<Gradient, INDArray> backward(INDArray input, INDArray epsilon, INDArray gamma, INDArray dGammaView, INDArray dBetaView,
      double eps, CNN2DFormat format, LayerWorkspaceMgr workspaceMgr) {
    if (!handles(input, format) || gamma == null || mean == null) {
      return null;
    }
    INDArray x = Shape.hasDefaultStridesForShape(input) ? input : input.dup('c');
    INDArray dy = Shape.hasDefaultStridesForShape(epsilon) ? epsilon : epsilon.dup('c');
    if (vector && meanValues != null && VectorKernels.handles(x) && VectorKernels.handles(dy)
        && x.size(1) * x.size(2) * x.size(3) <= Integer.MAX_VALUE) {
      return vectorBackprop(x, dy, gamma, dGammaView, dBetaView, eps, workspaceMgr);
    }
    long n = x.size(0);
    long c = x.size(1);
    long hw = x.size(2) * x.size(3);
    double m = (double) n * hw;
    INDArray x3 = x.reshape('c', n, c, hw);
    INDArray dy3 = dy.reshape('c', n, c, hw);

    // dβ = Σ dy; dγ = Σ dy·(x − μ)/σ, both per channel over examples and positions
    INDArray dBeta = channelMean(dy.reshape('c', n * c, hw), n, c, hw, workspaceMgr, ArrayType.BP_WORKING_MEM).muli(m);
    INDArray centred = workspaceMgr.createUninitialized(ArrayType.BP_WORKING_MEM, DataType.FLOAT, n, c, hw);
    Nd4j.exec(new SubOp(x3, mean.reshape(1, c, 1), centred));
    INDArray product = workspaceMgr.createUninitialized(ArrayType.BP_WORKING_MEM, DataType.FLOAT, n, c, hw);
    Nd4j.exec(new MulOp(centred, dy3, product));
    INDArray std = Transforms.sqrt(var.add(eps), false);
    INDArray dGamma = channelMean(product.reshape('c', n * c, hw), n, c, hw, workspaceMgr, ArrayType.BP_WORKING_MEM).muli(m).divi(std);

    // dx = γ/σ · (dy − dβ/m − (x − μ)/σ · dγ/m) = a·dy + b·(x − μ) + d per channel
    INDArray a = gamma.reshape(c).div(std);
    INDArray b = a.mul(dGamma).divi(std).divi(-m);
    INDArray d = a.mul(dBeta).divi(-m);
    INDArray dx = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, DataType.FLOAT, x.shape(), 'c');
    INDArray dx3 = dx.reshape('c', n, c, hw);
    Nd4j.exec(new MulOp(dy3, a.reshape(1, c, 1), dx3));
    Nd4j.exec(new MulOp(centred, b.reshape(1, c, 1), centred));
    dx3.addi(centred);
    Nd4j.exec(new AddOp(dx3, d.reshape(1, c, 1), dx3));

    dGammaView.assign(dGamma.reshape(dGammaView.shape()));
    dBetaView.assign(dBeta.reshape(dBetaView.shape()));
    Gradient g = new DefaultGradient();
    g.setGradientFor(BatchNormalizationParamInitializer.GAMMA, dGammaView);
    g.setGradientFor(BatchNormalizationParamInitializer.BETA, dBetaView);
    return new Pair<>(g, dx);
  }

  /**
   * The forward pass as {@link VectorKernels}: two read-only passes for the batch mean and the
   * (two-pass) variance, one pass for the output; the per-channel arithmetic on Java arrays.
   */
  private INDArray vectorPreOutput(INDArray in, boolean training, INDArray gamma, INDArray beta, INDArray globalMean, INDArray globalVar,
      double eps, LayerWorkspaceMgr workspaceMgr) {
    int c = (int) in.size(1);
    int hw = (int) (in.size(2) * in.size(3));
    double m = (double) in.size(0) * hw;
    float[] mu;
    float[] sigma2;
    if (training) {
      double[] sum = new double[c];
      VectorKernels.channelSums(in, c, hw, sum);
      mu = new float[c];
      for (int i = 0; i < c; i++) {
        mu[i] = (float) (sum[i] / m);
      }
      double[] squares = new double[c];
      VectorKernels.channelSquaredDeviations(in, c, hw, mu, squares);
      sigma2 = new float[c];
      for (int i = 0; i < c; i++) {
        sigma2[i] = (float) (squares[i] / m);
      }
      keep(mu, sigma2);
    } else {
      mu = VectorKernels.read(globalMean);
      sigma2 = VectorKernels.read(globalVar);
    }
    float[] g = VectorKernels.read(gamma);
    float[] b = VectorKernels.read(beta);
    float[] scale = new float[c];
    float[] shift = new float[c];
    for (int i = 0; i < c; i++) {
      scale[i] = (float) (g[i] / Math.sqrt(sigma2[i] + eps));
      shift[i] = b[i] - mu[i] * scale[i];
    }
    INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, DataType.FLOAT, in.shape(), 'c');
    VectorKernels.scaleShift(in, c, hw, scale, shift, out);
    return out;
  }

  /**
   * The backward pass as {@link VectorKernels}: one read-only pass over input and gradient for
   * {@code Σ dy} and {@code Σ dy·(x − μ)}, one pass writing the input gradient.
   */
  private Pair<Gradient, INDArray> vectorBackprop(INDArray x, INDArray dy, INDArray gamma, INDArray dGammaView, INDArray dBetaView,
      double eps, LayerWorkspaceMgr workspaceMgr) {
    int c = (int) x.size(1);
    int hw = (int) (x.size(2) * x.size(3));
    double m = (double) x.size(0) * hw;
    double[] sumDy = new double[c];
    double[] sumDyCentred = new double[c];
    VectorKernels.backwardSums(x, dy, c, hw, meanValues, sumDy, sumDyCentred);
    float[] g = VectorKernels.read(gamma);
    float[] dGamma = new float[c];
    float[] dBeta = new float[c];
    float[] a = new float[c];
    float[] b = new float[c];
    float[] d = new float[c];
    for (int i = 0; i < c; i++) {
      double sigma = Math.sqrt(varValues[i] + eps);
      double dg = sumDyCentred[i] / sigma;
      double ai = g[i] / sigma;
      dGamma[i] = (float) dg;
      dBeta[i] = (float) sumDy[i];
      a[i] = (float) ai;
      b[i] = (float) (-ai * dg / (sigma * m));
      d[i] = (float) (-ai * sumDy[i] / m);
    }
    INDArray dx = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, DataType.FLOAT, x.shape(), 'c');
    VectorKernels.backwardInput(x, dy, c, hw, meanValues, a, b, d, dx);
    VectorKernels.write(dGamma, dGammaView);
    VectorKernels.write(dBeta, dBetaView);
    Gradient grads = new DefaultGradient();
    grads.setGradientFor(BatchNormalizationParamInitializer.GAMMA, dGammaView);
    grads.setGradientFor(BatchNormalizationParamInitializer.BETA, dBetaView);
    return new Pair<>(grads, dx);
  }

  /** Per-channel mean of {@code rows} ([N·C, HW], one row per example and channel) as a [C] vector. */
  private static INDArray channelMean(INDArray rows, long n, long c, long hw, LayerWorkspaceMgr ws, ArrayType type) {
    INDArray ones = ws.createUninitialized(type, DataType.FLOAT, hw, 1).assign(1.0 / ((double) n * hw));
    INDArray perRow = ws.createUninitialized(type, DataType.FLOAT, n * c, 1);
    Nd4j.gemm(rows, ones, perRow, false, false, 1.0, 0.0);
    return perRow.reshape(n, c).sum(0);
  }

  /** Keeps the batch statistics for the backward pass and for DL4J's running-statistics update. */
  private void keep(INDArray batchMean, INDArray batchVar) {
    allocateStatistics(batchMean.length());
    mean.assign(batchMean);
    var.assign(batchVar);
    meanValues = null; // the ND4J path's backward pass reads the arrays
    varValues = null;
  }

  private void keep(float[] batchMean, float[] batchVar) {
    allocateStatistics(batchMean.length);
    VectorKernels.write(batchMean, mean);
    VectorKernels.write(batchVar, var);
    meanValues = batchMean;
    varValues = batchVar;
  }

  private void allocateStatistics(long channels) {
    if (mean == null || mean.length() != channels) {
      try (MemoryWorkspace ignored = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
        mean = Nd4j.createUninitialized(DataType.FLOAT, channels);
        var = Nd4j.createUninitialized(DataType.FLOAT, channels);
      }
    }
  }
}
