package io.graft.adapt;

import java.util.Collection;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The gradient-reversal layer of domain-adversarial training (Ganin and Lempitsky, 2015): the
 * identity going forward, {@code -lambda} times the upstream gradient going back. Placed between
 * the shared features and the domain classifier, it makes the feature extractor maximise the
 * domain loss the classifier minimises.
 *
 * <p>{@code lambda} is part of the configuration (so it survives JSON save and load) and is
 * changed between averaging steps by the round engine as the schedule
 * {@code lambda_p = 2 / (1 + exp(-gamma p)) - 1} advances; the layer reads it on every backward
 * pass. It has no parameters.
 */
public class GradientReversal extends ActivationLayer {
  private double lambda;

  /** For JSON. */
  public GradientReversal() {
    this.activationFn = Activation.IDENTITY.getActivationFunction();
  }

  public GradientReversal(String name, double lambda) {
    this();
    this.layerName = name;
    this.lambda = lambda;
  }

  public double getLambda() {
    return lambda;
  }

  public void setLambda(double lambda) {
    this.lambda = lambda;
  }

  @Override
  public GradientReversal clone() {
    return (GradientReversal) super.clone();
  }

  @Override
  public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners, int index, INDArray paramsView,
      boolean initializeParams, DataType dataType) {
    GradientReversalLayer layer = new GradientReversalLayer(conf, dataType);
    layer.setListeners(listeners);
    layer.setIndex(index);
    layer.setParamsViewArray(paramsView);
    Map<String, INDArray> table = initializer().init(conf, paramsView, initializeParams);
    layer.setParamTable(table);
    layer.setConf(conf);
    return layer;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GradientReversal g && super.equals(o) && Double.compare(g.lambda, lambda) == 0;
  }

  @Override
  public int hashCode() {
    return 31 * super.hashCode() + Double.hashCode(lambda);
  }
}
