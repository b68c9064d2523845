package io.graft.adapt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

class GradientReversalTest {
  private static final double LAMBDA = 0.7;

  /** dense(4 -> 3, tanh) -> gradient reversal -> softmax(3 -> 2), in double precision. */
  private static MultiLayerNetwork network(double lambda) {
    MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(5).dataType(DataType.DOUBLE).updater(new Sgd(0.1))
        .weightInit(WeightInit.XAVIER).list()
        .layer(new DenseLayer.Builder().name("features").nIn(4).nOut(3).activation(Activation.TANH).build())
        .layer(new GradientReversal("reversal", lambda))
        .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("domain").nIn(3).nOut(2).activation(Activation.SOFTMAX).build())
        .build();
    MultiLayerNetwork net = new MultiLayerNetwork(conf);
    net.init();
    return net;
  }

  private static final INDArray X = Nd4j.rand(DataType.DOUBLE, 5, 4).subi(0.5);
  private static final INDArray Y = Nd4j.create(new double[][] {{1, 0}, {0, 1}, {0, 1}, {1, 0}, {1, 0}});

  @Test
  void backwardIsMinusLambdaTimesTheNumericalGradientBelowTheLayerAndExactAbove() {
    MultiLayerNetwork net = network(LAMBDA);
    net.setInput(X);
    net.setLabels(Y);
    net.computeGradientAndScore();
    INDArray analytic = net.gradient().gradient().dup();
    INDArray params = net.params();
    long below = net.getLayer(0).numParams();
    double eps = 1e-6;
    for (int j = 0; j < params.length(); j++) {
      double original = params.getDouble(j);
      params.putScalar(j, original + eps);
      double plus = net.score(new DataSet(X, Y), true);
      params.putScalar(j, original - eps);
      double minus = net.score(new DataSet(X, Y), true);
      params.putScalar(j, original);
      // DL4J's raw gradient is summed over the minibatch (its updater divides by the batch size); the score is the mean.
      double numeric = X.size(0) * (plus - minus) / (2 * eps);
      double expected = j < below ? -LAMBDA * numeric : numeric;
      assertThat(analytic.getDouble(j)).as("parameter %d (%s)", j, j < below ? "below the reversal" : "domain head")
          .isCloseTo(expected, within(1e-7 + 1e-5 * Math.abs(expected)));
    }
  }

  @Test
  void theLayerMultipliesItsUpstreamGradientByMinusLambdaExactly() {
    MultiLayerNetwork net = network(LAMBDA);
    GradientReversalLayer layer = (GradientReversalLayer) net.getLayer(1);
    INDArray in = Nd4j.rand(DataType.DOUBLE, 5, 3);
    layer.setInput(in, LayerWorkspaceMgr.noWorkspaces());
    assertThat(layer.activate(true, LayerWorkspaceMgr.noWorkspaces())).isEqualTo(in);
    INDArray upstream = Nd4j.rand(DataType.DOUBLE, 5, 3);
    INDArray back = layer.backpropGradient(upstream, LayerWorkspaceMgr.noWorkspaces()).getSecond();
    assertThat(back).isEqualTo(upstream.mul(-LAMBDA));
    layer.setLambda(0.0);
    INDArray none = layer.backpropGradient(upstream, LayerWorkspaceMgr.noWorkspaces()).getSecond();
    assertThat(none.amaxNumber().doubleValue()).isZero();
  }

  @Test
  void lambdaSurvivesJsonAndModelZipRoundTrips() throws Exception {
    MultiLayerNetwork net = network(0.35);
    MultiLayerConfiguration back = MultiLayerConfiguration.fromJson(net.getLayerWiseConfigurations().toJson());
    assertThat(back.getConf(1).getLayer()).isInstanceOf(GradientReversal.class);
    assertThat(((GradientReversal) back.getConf(1).getLayer()).getLambda()).isEqualTo(0.35);

    ((GradientReversalLayer) net.getLayer(1)).setLambda(0.9);
    ByteArrayOutputStream zip = new ByteArrayOutputStream();
    ModelSerializer.writeModel(net, zip, true);
    MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(zip.toByteArray()), true);
    assertThat(((GradientReversalLayer) restored.getLayer(1)).lambda()).isEqualTo(0.9);
    assertThat(restored.params()).isEqualTo(net.params());
    assertThat(restored.output(X)).isEqualTo(net.output(X));
  }
}
