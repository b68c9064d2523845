package io.graft.testing;

import io.graft.config.OptimizerConfig;
import io.graft.model.Architectures;
import io.graft.model.ModelConfig;
import java.util.List;
import org.deeplearning4j.nn.graph.ComputationGraph;

/** Small networks for tests, initialised. */
public final class TestNetworks {
  private TestNetworks() {}

  /** Graft's ResNet trunk at its smallest useful size for 28x28 digits: stem, stages [1, 1], widths [8, 16]. */
  public static ComputationGraph smallResnet(long seed) {
    ModelConfig model = new ModelConfig(ModelConfig.Architecture.RESNET, null, null, null, null, null, null, List.of(1, 1), List.of(8, 16));
    ComputationGraph graph = new ComputationGraph(Architectures.resnet(model, new int[] {1, 28, 28}, 10, OptimizerConfig.defaults(), seed));
    graph.init();
    return graph;
  }
}
