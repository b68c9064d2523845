package io.graft.surgery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.config.OptimizerConfig;
import io.graft.model.Architectures;
import io.graft.model.ModelConfig;
import java.util.List;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class GraphSurgeryTest {
  private static ComputationGraph resnet() {
    ModelConfig model = new ModelConfig(ModelConfig.Architecture.RESNET, null, null, null, null, null, null, List.of(1, 1), List.of(8, 16));
    ComputationGraph graph = new ComputationGraph(Architectures.resnet(model, new int[] {1, 28, 28}, 10, OptimizerConfig.defaults(), 1));
    graph.init();
    return graph;
  }

  @Test
  void removingThePoolLetsTheNewHeadReadTheLastBlocksImagesWithEveryOtherWeightKept() {
    ComputationGraph source = resnet();
    ComputationGraph cut = GraphSurgery.removeVertices(source, List.of("pool"));
    assertThat(cut.getConfiguration().getVertices()).doesNotContainKey("pool");
    assertThat(cut.getConfiguration().getVertexInputs().get("output")).containsExactly("stage2.block1");
    ComputationGraph headed = GraphSurgery.newHead(cut, 3, List.of(new Surgery.AddedLayer("fc", 12, "relu")), 4);
    assertThat(headed.getLayer("fc").getParam("W").shape()).as("16 channels of 14x14 flattened").containsExactly(16 * 14 * 14, 12);
    INDArray x = Nd4j.rand(DataType.FLOAT, 5, 784);
    assertThat(headed.feedForward(x, false).get("stage2.block1")).isEqualTo(source.feedForward(x, false).get("stage2.block1"));
    assertThat(headed.outputSingle(false, x).shape()).containsExactly(5, 3);
  }

  @Test
  void onlyTopVerticesWithOneInputCanBeRemoved() {
    ComputationGraph g = resnet();
    assertThatThrownBy(() -> GraphSurgery.removeVertices(g, List.of("stage2.block1.conv1"))).hasMessage("Cannot remove "
        + "'stage2.block1.conv1': 'stage2.block1.bn1' reads it and stays (surgery.removeLayers takes the top vertices below the output)");
    assertThatThrownBy(() -> GraphSurgery.removeVertices(g, List.of("stage2.block1.add", "stage2.block1", "pool"))).hasMessage(
        "Cannot remove 'stage2.block1.add': it reads 2 vertices (stage2.block1.bn2, stage2.block1.proj.bn); only a vertex with one input "
            + "can be cut out");
    assertThatThrownBy(() -> GraphSurgery.removeVertices(g, List.of("output"))).hasMessage(
        "Cannot remove 'output': it is the output layer, which fine-tuning replaces");
    assertThatThrownBy(() -> GraphSurgery.removeVertices(g, List.of("fc7"))).hasMessageStartingWith(
        "Cannot remove 'fc7': no such vertex (vertices: input, stem, ");
  }
}
