package io.graft.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.graft.config.OptimizerConfig;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class ArchitecturesTest {
  private static final int[] SHAPE = {1, 28, 28};

  /** The share of exact zeros: about half of a ReLU's outputs when its inputs are centred, none when they are squashed positive. */
  private static double zeros(INDArray a) {
    return a.eq(0).castTo(DataType.FLOAT).meanNumber().doubleValue();
  }

  @Test
  void theResNetsBatchNormCentresItsChannelsAndItsReluLayersClipHalfOfThem() {
    ModelConfig model = new ModelConfig(ModelConfig.Architecture.RESNET, null, null, null, null, null, null, List.of(1, 1), List.of(8, 16));
    ComputationGraph graph = new ComputationGraph(Architectures.resnet(model, SHAPE, 10, OptimizerConfig.defaults(), 1));
    graph.init();
    Nd4j.getRandom().setSeed(3);
    assertThat(graph.getLayer("stage1.block1.bn1").conf().getLayer().toString()).contains("activationFn=identity");
    Map<String, INDArray> acts = graph.feedForward(Nd4j.rand(DataType.FLOAT, 16, 784), true);
    INDArray bn = acts.get("stage1.block1.bn1");
    assertThat(bn.minNumber().doubleValue()).as("normalised channels go negative").isLessThan(-0.5);
    assertThat(bn.meanNumber().doubleValue()).as("and are centred").isBetween(-0.1, 0.1);
    for (String relu : List.of("stem.relu", "stage1.block1.relu1", "stage2.block1.relu1")) {
      assertThat(zeros(acts.get(relu))).as(relu).isBetween(0.3, 0.7);
    }
  }
}
