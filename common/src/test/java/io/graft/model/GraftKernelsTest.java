package io.graft.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.graft.config.OptimizerConfig;
import io.graft.testing.TestData;
import io.graft.testing.TestNetworks;
import java.util.Arrays;
import java.util.List;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Graft's convolution and ReLU replacements change how fast DL4J trains, not what it computes: a
 * residual trunk and LeNet reading real MNIST digits train to the same weights (to float rounding:
 * the first convolution's weight gradient is summed in another order), the saved configuration
 * stays DL4J's, and a reused convolution output never outlives its step.
 */
class GraftKernelsTest {
  private static final int[] SHAPE = {1, 28, 28};
  private static DataSet batch;

  @BeforeAll
  static void mnistBatch() {
    batch = TestData.mnistTestBatch(32);
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
  void theBuildRunsTheVectorKernels() {
    // the build's JVMs get --add-modules=jdk.incubator.vector, as Graft's launchers do: without it every
    // vector-kernel test below would silently test the ND4J-op path twice
    assertThat(GraftKernels.vectorKernels()).isTrue();
    assertThat(GraftKernels.describe()).startsWith("Java Vector API");
  }

  /** With the Vector API's fused passes and with ND4J ops alike. */
  @ParameterizedTest(name = "vector kernels {0}")
  @ValueSource(booleans = {true, false})
  void aResidualTrunkTrainsToTheSameWeightsAndSavesTheSameConfiguration(boolean vector) {
    System.setProperty(GraftKernels.VECTOR_PROPERTY, Boolean.toString(vector));
    OneDnn.configure("auto");
    ComputationGraph reference = resnet();
    ComputationGraph graft = resnet();
    BatchNormKernels.install(reference); // the same batch norm on both sides: what differs is convolution and ReLU
    GraftKernels.Installed installed = GraftKernels.install(graft);
    long convolutions = Arrays.stream(graft.getLayers()).filter(l -> l instanceof org.deeplearning4j.nn.layers.convolution.ConvolutionLayer)
        .count();
    assertThat(installed.convolutions()).isEqualTo(convolutions);
    assertThat(installed.weightGradientsOnly()).as("the stem alone has nothing trainable below it").isEqualTo(1);
    assertThat(installed.relu()).isEqualTo(1 + 2 * 2); // stem, and two per residual block
    assertThat(graft.getLayer("stem.relu")).isInstanceOf(ReluLayer.class);
    assertThat(graft.getLayers()).contains(graft.getLayer("stage1.block1.relu1"));
    assertThat(GraftKernels.install(graft)).as("installed again").isEqualTo(installed);

    for (int i = 0; i < 3; i++) {
      reference.fit(batch);
      graft.fit(batch);
    }
    assertThat(graft.params().equals(reference.params())).as("the same weights, to ND4J's 1e-5").isTrue();
    assertThat(graft.outputSingle(batch.getFeatures()).equals(reference.outputSingle(batch.getFeatures()))).isTrue();
    long reused = Arrays.stream(graft.getLayers()).mapToLong(ConvolutionKernels::reused).sum();
    assertThat(reused).as("backward passes that took the forward's output").isGreaterThanOrEqualTo(3L * (convolutions - 1));
    assertThat(graft.getConfiguration().toJson()).as("what a save writes").isEqualTo(reference.getConfiguration().toJson())
        .contains("org.deeplearning4j.nn.conf.layers.ActivationLayer").doesNotContain("io.graft");
  }

  @Test
  void lenetsReluConvolutionsTrainToTheSameWeights() {
    OneDnn.configure("auto");
    MultiLayerNetwork reference = lenet();
    MultiLayerNetwork graft = lenet();
    assertThat(GraftKernels.install(graft)).isEqualTo(new GraftKernels.Installed(0, 2, 1, 0, 2));
    for (int i = 0; i < 3; i++) {
      reference.fit(batch);
      graft.fit(batch);
    }
    assertThat(graft.params().equals(reference.params())).isTrue();
    assertThat(ConvolutionKernels.reused(graft.getLayer("conv2"))).isEqualTo(3);
    assertThat(ConvolutionKernels.weightGradientsOnly(graft.getLayer("conv1"))).isEqualTo(3);
    // both passes of both max-pooling layers on Graft's kernels (DL4J's layer hands only its backward pass to a helper)
    for (String pool : new String[] {"pool1", "pool2"}) {
      assertThat(PoolingKernels.passes(graft.getLayer(pool))).as(pool).containsExactly(3, 3);
    }
    assertThat(graft.getLayerWiseConfigurations().toJson()).as("what a save writes")
        .isEqualTo(reference.getLayerWiseConfigurations().toJson()).doesNotContain("io.graft");
  }

  @Test
  void aConvolutionOutputIsNotReusedOnceItsStepIsOver() {
    OneDnn.configure("auto");
    // the convolution reads the network's input array itself (no preprocessor), twice, with new weights in between
    MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(1).list()
        .layer(new ConvolutionLayer.Builder(3, 3).nOut(4).activation(Activation.IDENTITY).build())
        .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10).activation(Activation.SOFTMAX).build())
        .setInputType(InputType.convolutional(28, 28, 1)).build());
    net.init();
    GraftKernels.install(net);
    INDArray x = batch.getFeatures().reshape(32, 1, 28, 28);
    INDArray before = net.output(x).dup();
    net.setParams(net.params().mul(0.5));
    assertThat(net.output(x).equals(before)).isFalse();
    assertThat(ConvolutionKernels.reused(net.getLayer(0))).isZero();
  }

  @Test
  void withOneDnnOffNothingIsReplaced() {
    OneDnn.configure("off");
    ComputationGraph graph = resnet();
    assertThat(GraftKernels.install(graph)).isEqualTo(new GraftKernels.Installed(0, 0, 0, 0, 0));
    for (Layer l : graph.getLayers()) {
      assertThat(l).isNotInstanceOf(ReluLayer.class);
    }
  }

  private static ComputationGraph resnet() {
    return TestNetworks.smallResnet(3);
  }

  private static MultiLayerNetwork lenet() {
    MultiLayerConfiguration conf = Architectures.build(new ModelConfig(ModelConfig.Architecture.LENET, null, null, null, null, null, false), SHAPE, 10,
        OptimizerConfig.defaults(), 7);
    MultiLayerNetwork net = new MultiLayerNetwork(conf);
    net.init();
    return net;
  }
}
