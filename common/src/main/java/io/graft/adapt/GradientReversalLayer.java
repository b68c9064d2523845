package io.graft.adapt;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.ActivationLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The runtime side of {@link GradientReversal}: identity forward, {@code -lambda * epsilon} backward. */
public class GradientReversalLayer extends ActivationLayer {
  public GradientReversalLayer(NeuralNetConfiguration conf, DataType dataType) {
    super(conf, dataType);
  }

  /** The current reversal strength, read from the configuration. */
  public double lambda() {
    return ((GradientReversal) conf().getLayer()).getLambda();
  }

  /** Sets the reversal strength for the following backward passes. */
  public void setLambda(double lambda) {
    ((GradientReversal) conf().getLayer()).setLambda(lambda);
  }

  @Override
  public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
    assertInputSet(true);
    INDArray reversed = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, epsilon.dataType(), epsilon.shape(), epsilon.ordering());
    reversed.assign(epsilon).muli(-lambda());
    return new Pair<>(new DefaultGradient(), reversed);
  }
}
