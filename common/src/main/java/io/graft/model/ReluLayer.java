package io.graft.model;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.ActivationLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.Step;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DL4J's ReLU activation layer with a backward pass of two element-wise ops.
 *
 * <p>DL4J 1.0.0-M2.1 differentiates a ReLU with libnd4j's {@code relu_bp} op, about 2 ms for a
 * 64 x 16 x 28 x 28 batch on one core; a step mask (1 where the input is positive) times the incoming
 * gradient is the same gradient in a sixth of the time. Only the running layer object is replaced:
 * its configuration (DL4J's {@code ActivationLayer} with DL4J's ReLU) is the network's, so a saved
 * model is unchanged. Where the JVM has the Vector API ({@link GraftKernels#vectorKernels}), each pass
 * is one fused loop ({@link VectorKernels}) instead: the training forward pass writes {@code max(x, 0)}
 * once rather than copying the input and rectifying the copy, the backward pass picks the gradient where
 * the input is positive. Otherwise the forward pass is DL4J's.
 */
final class ReluLayer extends ActivationLayer {
  /** Whether both passes run as {@link VectorKernels} (one fused pass each) instead of ND4J ops. */
  private final boolean vector;

  ReluLayer(NeuralNetConfiguration conf, DataType dataType, boolean vector) {
    super(conf, dataType);
    this.vector = vector;
  }

  /** In training, DL4J copies the input and applies ReLU to the copy in place: one pass here. */
  @Override
  public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
    long t0 = KernelClock.start();
    try {
      return forward(training, workspaceMgr);
    } finally {
      KernelClock.stop(KernelClock.Kind.RELU, t0);
    }
  }

  @Override
  public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
    long t0 = KernelClock.start();
    try {
      return backward(epsilon, workspaceMgr);
    } finally {
      KernelClock.stop(KernelClock.Kind.RELU, t0);
    }
  }

  private INDArray forward(boolean training, LayerWorkspaceMgr workspaceMgr) {
    if (!training || !vector || !VectorKernels.handles(input)) {
      return super.activate(training, workspaceMgr);
    }
    assertInputSet(false);
    INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, input.dataType(), input.shape(), 'c');
    VectorKernels.relu(input, out);
    return out;
  }

  private Pair<Gradient, INDArray> backward(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
    assertInputSet(true);
    if (vector && VectorKernels.handles(input) && VectorKernels.handles(epsilon)) {
      INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, input.dataType(), input.shape(), 'c');
      VectorKernels.reluBackward(input, epsilon, out);
      return new Pair<>(new DefaultGradient(), out);
    }
    INDArray mask = workspaceMgr.createUninitialized(ArrayType.BP_WORKING_MEM, input.dataType(), input.shape(), 'c');
    Nd4j.exec(new Step(input, mask, 0.0));
    INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, input.dataType(), input.shape(), 'c');
    Nd4j.exec(new MulOp(epsilon, mask, out));
    return new Pair<>(new DefaultGradient(), out);
  }
}
