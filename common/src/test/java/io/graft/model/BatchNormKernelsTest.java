package io.graft.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.graft.config.OptimizerConfig;
import io.graft.testing.TestData;
import io.graft.testing.TestNetworks;
import java.util.List;
import org.assertj.core.data.Offset;
import org.deeplearning4j.nn.api.NeuralNetwork;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNBatchNormHelper;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Graft's batch-norm kernels give the outputs, gradients and running statistics of DL4J's batch norm
 * in double precision, on a residual trunk and on LeNet reading real MNIST digits, and are installed
 * only where DL4J chose its oneDNN helper.
 */
class BatchNormKernelsTest {
  private static final int[] SHAPE = {1, 28, 28};
  private static INDArray features;
  private static INDArray labels;

  @BeforeAll
  static void mnistBatch() {
    DataSet batch = TestData.mnistTestBatch(32);
    features = batch.getFeatures();
    labels = batch.getLabels();
  }

  @AfterAll
  static void restore() {
    OneDnn.configure("auto");
  }

  @AfterEach
  void vectorKernelsBack() {
    System.clearProperty(GraftKernels.VECTOR_PROPERTY);
  }

  @Test
  void installedOnlyOverDl4jsOneDnnHelperAndOnlyOnce() {
    OneDnn.configure("off");
    ComputationGraph builtIn = resnet();
    assertThat(BatchNormKernels.install(builtIn)).isZero();
    OneDnn.configure("auto");
    ComputationGraph graph = resnet();
    long batchNorms = java.util.Arrays.stream(graph.getLayers()).filter(l -> l instanceof BatchNormalization).count();
    assertThat(batchNorms).isGreaterThan(4);
    assertThat(graph.getLayers()).filteredOn(l -> l instanceof BatchNormalization)
        .allMatch(l -> l.getHelper() instanceof MKLDNNBatchNormHelper);
    assertThat(BatchNormKernels.install(graph)).isEqualTo(batchNorms);
    assertThat(BatchNormKernels.install(graph)).isEqualTo(batchNorms);
    assertThat(graph.getLayers()).filteredOn(l -> l instanceof BatchNormalization)
        .allMatch(l -> l.getHelper() instanceof BatchNormKernels);
  }

  /** With the Vector API's fused passes and with ND4J ops alike. */
  @ParameterizedTest(name = "vector kernels {0}")
  @ValueSource(booleans = {true, false})
  void residualTrunkGradientsMatchDoublePrecisionWhereDl4jsFloatBatchNormDoesNot(boolean vector) {
    System.setProperty(GraftKernels.VECTOR_PROPERTY, Boolean.toString(vector));
    OneDnn.configure("off");
    ComputationGraph exact = resnet().convertDataType(DataType.DOUBLE);
    OneDnn.configure("auto");
    ComputationGraph dl4j = resnet();
    ComputationGraph graft = resnet();
    dl4j.setParams(exact.params().castTo(DataType.FLOAT));
    graft.setParams(exact.params().castTo(DataType.FLOAT));
    assertThat(BatchNormKernels.install(graft)).isPositive();
    // Inputs far from zero mean, as after a layer with a large bias: a float variance from E[x²] − E[x]²
    // would lose most of its digits here.
    INDArray shifted = features.mul(4).addi(30);

    double dl4jWorst = 0;
    for (INDArray in : new INDArray[] {features, shifted}) {
      gradients(exact, in.castTo(DataType.DOUBLE), labels.castTo(DataType.DOUBLE));
      gradients(dl4j, in, labels);
      gradients(graft, in, labels);
      assertThat(graft.score()).isCloseTo(exact.score(), Offset.offset(1e-5 * exact.score()));
      for (String key : exact.gradient().gradientForVariable().keySet()) {
        INDArray expected = exact.gradient().getGradientFor(key).castTo(DataType.FLOAT);
        assertThat(relative(graft.gradient().getGradientFor(key), expected)).as("gradient %s", key).isLessThan(1e-3);
        dl4jWorst = Math.max(dl4jWorst, relative(dl4j.gradient().getGradientFor(key), expected));
      }
    }
    // DL4J 1.0.0-M2.1's own float batch norm (oneDNN helper or built-in alike) is off by more than 1 %
    // of a gradient's scale on the shifted input; Graft's kernels stay within 0.1 %.
    assertThat(dl4jWorst).isGreaterThan(1e-2);
  }

  /** With the Vector API's fused passes and with ND4J ops alike. */
  @ParameterizedTest(name = "vector kernels {0}")
  @ValueSource(booleans = {true, false})
  void aResidualTrunkTrainsLikeDoublePrecisionDl4j(boolean vector) {
    System.setProperty(GraftKernels.VECTOR_PROPERTY, Boolean.toString(vector));
    OneDnn.configure("off");
    ComputationGraph exact = resnet().convertDataType(DataType.DOUBLE);
    OneDnn.configure("auto");
    ComputationGraph graft = resnet();
    graft.setParams(exact.params().castTo(DataType.FLOAT));
    BatchNormKernels.install(graft);
    trainThreeSteps(exact, graft);
    INDArray expected = exact.outputSingle(false, features.castTo(DataType.DOUBLE)).castTo(DataType.FLOAT);
    assertThat(relative(graft.outputSingle(false, features), expected)).as("inference outputs").isLessThan(1e-4);
  }

  /** With the Vector API's fused passes and with ND4J ops alike. */
  @ParameterizedTest(name = "vector kernels {0}")
  @ValueSource(booleans = {true, false})
  void aLayerStackWithBatchNormOnConvolutionAndDenseFeaturesTrainsLikeDoublePrecisionDl4j(boolean vector) {
    System.setProperty(GraftKernels.VECTOR_PROPERTY, Boolean.toString(vector));
    OneDnn.configure("off");
    MultiLayerNetwork exact = lenet().convertDataType(DataType.DOUBLE);
    OneDnn.configure("auto");
    MultiLayerNetwork graft = lenet();
    graft.setParams(exact.params().castTo(DataType.FLOAT));
    assertThat(BatchNormKernels.install(graft)).isEqualTo(
        java.util.Arrays.stream(graft.getLayers()).filter(l -> l instanceof BatchNormalization).count());
    trainThreeSteps(exact, graft);
    INDArray expected = exact.output(features.castTo(DataType.DOUBLE), false).castTo(DataType.FLOAT);
    assertThat(relative(graft.output(features, false), expected)).as("inference outputs").isLessThan(1e-4);
  }

  /** Three steps of each on the same batch (in double for {@code exact}); the weights and running statistics must agree. */
  private static void trainThreeSteps(NeuralNetwork exact, NeuralNetwork graft) {
    for (int i = 0; i < 3; i++) {
      exact.fit(new DataSet(features.castTo(DataType.DOUBLE), labels.castTo(DataType.DOUBLE)));
      graft.fit(new DataSet(features, labels));
    }
    assertThat(relative(graft.params(), exact.params().castTo(DataType.FLOAT))).as("parameters and running statistics").isLessThan(1e-4);
  }

  private static void gradients(ComputationGraph graph, INDArray in, INDArray out) {
    graph.setInputs(in);
    graph.setLabels(out);
    graph.computeGradientAndScore();
  }

  private static ComputationGraph resnet() {
    return TestNetworks.smallResnet(3);
  }

  private static MultiLayerNetwork lenet() {
    ModelConfig model = new ModelConfig(ModelConfig.Architecture.LENET, null, null, null, null, null, true);
    MultiLayerNetwork net = new MultiLayerNetwork(Architectures.build(model, SHAPE, 10, OptimizerConfig.defaults(), 7));
    net.init();
    return net;
  }

  /** Largest difference relative to the larger array's largest magnitude. */
  private static double relative(INDArray a, INDArray b) {
    double scale = Math.max(a.amaxNumber().doubleValue(), b.amaxNumber().doubleValue());
    return a.sub(b).amaxNumber().doubleValue() / Math.max(scale, 1e-12);
  }
}
