package io.graft.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.graft.config.OptimizerConfig;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;

class FlopsTest {
  @Test
  void lenetOnMnistCountsEachWeightedLayerByHand() {
    MultiLayerNetwork net = new MultiLayerNetwork(Architectures.build(
        new ModelConfig(ModelConfig.Architecture.LENET, null, null, null, null, null, false), new int[] {1, 28, 28}, 10,
        OptimizerConfig.defaults(), 1));
    net.init();
    Flops f = Flops.of(net, 784);
    // conv1: 20 filters of 5x5x1 over 24x24 outputs; conv2: 50 of 5x5x20 over 8x8; dense1 800->500; output 500->10
    assertThat(f.layers()).extracting(Flops.LayerFlops::name).containsExactly("conv1", "conv2", "dense1", "output");
    assertThat(f.layers()).extracting(Flops.LayerFlops::forward)
        .containsExactly(2.0 * 20 * 25 * 24 * 24, 2.0 * 50 * 20 * 25 * 8 * 8, 2.0 * 800 * 500, 2.0 * 500 * 10);
    assertThat(f.forward()).isEqualTo(4_586_000);
    // the first layer computes no input gradient
    assertThat(f.training()).isEqualTo(3 * 4_586_000 - 576_000);
  }

  @Test
  void anMlpCountsItsMatrixProducts() {
    MultiLayerNetwork net = new MultiLayerNetwork(Architectures.build(
        new ModelConfig(ModelConfig.Architecture.MLP, List.of(256, 128), null, null, null, null, false), new int[] {784}, 10,
        OptimizerConfig.defaults(), 1));
    net.init();
    double fwd = 2.0 * (784 * 256 + 256 * 128 + 128 * 10);
    assertThat(Flops.of(net, 784).forward()).isEqualTo(fwd);
    assertThat(Flops.of(net, 784).training()).isEqualTo(3 * fwd - 2.0 * 784 * 256);
  }
}
