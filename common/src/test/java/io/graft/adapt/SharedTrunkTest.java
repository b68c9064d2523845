package io.graft.adapt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.config.OptimizerConfig;
import io.graft.model.Architectures;
import io.graft.model.ModelConfig;
import java.util.List;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class SharedTrunkTest {
  private static final int[] SHAPE = {1, 28, 28};

  private static MultiLayerNetwork lenet(long seed) {
    ModelConfig model = new ModelConfig(ModelConfig.Architecture.LENET, null, List.of(4, 8), 32, null, null, null);
    MultiLayerNetwork net = new MultiLayerNetwork(Architectures.build(model, SHAPE, 10, OptimizerConfig.defaults(), seed));
    net.init();
    return net;
  }

  private static final List<SharedTrunk.Head> HEADS = List.of(new SharedTrunk.Head("label", 10, 0, false),
      new SharedTrunk.Head("domain", 2, 16, true));

  @Test
  void aPretrainedTrunkKeepsItsWeightsAndItsFunction() {
    MultiLayerNetwork source = lenet(3);
    ComputationGraph graph = SharedTrunk.build(source, true, SHAPE, HEADS, OptimizerConfig.defaults(), 9);
    assertThat(SharedTrunk.trunkLayers(graph)).containsExactly("conv1", "pool1", "conv2", "pool2", "dense1");
    assertThat(graph.getConfiguration().getNetworkOutputs()).containsExactly("label", "domain");
    for (String layer : List.of("conv1", "conv2", "dense1")) {
      assertThat(graph.getLayer(layer).params()).isEqualTo(source.getLayer(indexOf(source, layer)).params());
    }
    INDArray x = Nd4j.rand(DataType.FLOAT, 3, 784);
    INDArray trunkOut = graph.feedForward(x, false).get("dense1");
    assertThat(trunkOut).isEqualTo(source.feedForwardToLayer(indexOf(source, "dense1"), x).get(indexOf(source, "dense1") + 1));
  }

  @Test
  void anExportedHeadIsAPlainNetworkComputingWhatTheGraphComputes() {
    ComputationGraph graph = SharedTrunk.build(lenet(3), false, SHAPE, HEADS, OptimizerConfig.defaults(), 9);
    INDArray x = Nd4j.rand(DataType.FLOAT, 4, 784);
    INDArray[] out = graph.output(false, x);
    MultiLayerNetwork label = (MultiLayerNetwork) SharedTrunk.export(graph, "label", SHAPE);
    MultiLayerNetwork domain = (MultiLayerNetwork) SharedTrunk.export(graph, "domain", SHAPE);
    assertThat(label.output(x, false)).isEqualTo(out[0]);
    assertThat(domain.output(x, false)).isEqualTo(out[1]);
    assertThat(domain.getnLayers()).as("the reversal layer is left out").isEqualTo(7);
    assertThatThrownBy(() -> SharedTrunk.export(graph, "digits", SHAPE))
        .hasMessage("Cannot export head 'digits': the model's heads are label, domain");
  }

  private static ComputationGraph resnet(long seed) {
    ModelConfig model = new ModelConfig(ModelConfig.Architecture.RESNET, null, null, null, null, null, null, List.of(1, 1), List.of(4, 8));
    ComputationGraph graph = new ComputationGraph(Architectures.resnet(model, SHAPE, 10, OptimizerConfig.defaults(), seed));
    graph.init();
    return graph;
  }

  @Test
  void aResidualTrunkKeepsItsVerticesWeightsAndFunction() {
    ComputationGraph source = resnet(3);
    ComputationGraph graph = SharedTrunk.build(source, true, SHAPE, HEADS, OptimizerConfig.defaults(), 9);
    assertThat(graph.getConfiguration().getNetworkOutputs()).containsExactly("label", "domain");
    assertThat(graph.getConfiguration().getVertexInputs().get("domainReversal")).containsExactly("pool");
    assertThat(SharedTrunk.trunkLayers(graph)).contains("stem", "stage1.block1.conv1", "stage2.block1.proj", "pool")
        .doesNotContain("output", "label", "domainHidden");
    assertThat(graph.getLayer("stage2.block1.conv2").params()).isEqualTo(source.getLayer("stage2.block1.conv2").params());
    INDArray x = Nd4j.rand(DataType.FLOAT, 3, 784);
    assertThat(graph.feedForward(x, false).get("pool")).isEqualTo(source.feedForward(x, false).get("pool"));
    assertThat(SharedTrunk.isLayerStack(graph)).isFalse();
    assertThat(SharedTrunk.isLayerStack(SharedTrunk.build(lenet(3), true, SHAPE, HEADS, OptimizerConfig.defaults(), 9))).isTrue();
  }

  @Test
  void anExportedHeadOfAResidualTrunkIsAOneOutputGraphComputingWhatTheSharedGraphComputes() {
    ComputationGraph graph = SharedTrunk.build(resnet(3), false, SHAPE, HEADS, OptimizerConfig.defaults(), 9);
    INDArray x = Nd4j.rand(DataType.FLOAT, 4, 784);
    INDArray[] out = graph.output(false, x);
    ComputationGraph label = (ComputationGraph) SharedTrunk.export(graph, "label", SHAPE);
    ComputationGraph domain = (ComputationGraph) SharedTrunk.export(graph, "domain", SHAPE);
    assertThat(label.getConfiguration().getNetworkOutputs()).containsExactly("label");
    assertThat(label.getConfiguration().getVertices()).doesNotContainKeys("domain", "domainHidden", "domainReversal");
    assertThat(label.outputSingle(x)).isEqualTo(out[0]);
    assertThat(domain.getConfiguration().getVertices()).as("the reversal layer is left out").doesNotContainKey("domainReversal");
    assertThat(domain.getConfiguration().getVertexInputs().get("domainHidden")).containsExactly("pool");
    assertThat(domain.outputSingle(x)).isEqualTo(out[1]);
  }

  @Test
  void badHeadsAreNamed() {
    assertThatThrownBy(() -> SharedTrunk.build(resnet(1), false, SHAPE, List.of(new SharedTrunk.Head("pool", 2, 0, false)),
        OptimizerConfig.defaults(), 1)).hasMessageStartingWith("Head name 'pool' clashes with a layer of the trunk or another head (stem, ");
    assertThatThrownBy(() -> new SharedTrunk.Head("my head", 2, 0, false))
        .hasMessage("A head name must be a letter followed by letters, digits or '-', cannot be: my head");
    assertThatThrownBy(() -> SharedTrunk.build(lenet(1), false, SHAPE, List.of(new SharedTrunk.Head("conv1", 2, 0, false)),
        OptimizerConfig.defaults(), 1)).hasMessage("Head name 'conv1' clashes with a layer of the trunk or another head "
            + "(conv1, pool1, conv2, pool2, dense1)");
  }

  private static int indexOf(MultiLayerNetwork net, String name) {
    for (int i = 0; i < net.getnLayers(); i++) {
      if (net.getLayerWiseConfigurations().getConf(i).getLayer().getLayerName().equals(name)) {
        return i;
      }
    }
    throw new AssertionError(name);
  }
}
