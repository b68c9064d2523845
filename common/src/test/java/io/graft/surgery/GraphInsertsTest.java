package io.graft.surgery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.config.OptimizerConfig;
import io.graft.model.Architectures;
import io.graft.model.ModelConfig;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;

class GraphInsertsTest {
  private static final int[] SHAPE = {1, 28, 28};

  private static ComputationGraph resnet() {
    ModelConfig model = new ModelConfig(ModelConfig.Architecture.RESNET, null, null, null, null, null, null, List.of(1, 1), List.of(8, 16));
    ComputationGraph graph = new ComputationGraph(Architectures.resnet(model, SHAPE, 10, OptimizerConfig.defaults(), 1));
    graph.init();
    // a model that has trained: batch norm statistics and weights off their initial values
    Nd4j.getRandom().setSeed(2);
    graph.fit(batch(32));
    return graph;
  }

  private static DataSet batch(int n) {
    INDArray x = Nd4j.rand(DataType.FLOAT, n, 784);
    INDArray y = Nd4j.zeros(DataType.FLOAT, n, 10);
    for (int i = 0; i < n; i++) {
      y.putScalar(i, i % 10, 1);
    }
    return new DataSet(x, y);
  }

  /** The graph with only {@code trainable} training, plain SGD. */
  private static ComputationGraph stage(ComputationGraph g, Set<String> trainable) {
    return GraphSurgery.stageGraph(g, new GraphSurgery.StagePlan(trainable, v -> new Sgd(0.1), 0, true));
  }

  @Test
  void loraOnConvolutionsAndDenseLayersComputesTheSameFunctionUntilItTrains() {
    ComputationGraph source = resnet();
    List<String> targets = GraphInserts.loraTargets(source, List.of("output"));
    assertThat(targets).contains("stem", "stage1.block1.conv1", "stage2.block1.proj").doesNotContain("output", "stem.bn");
    GraphInserts.Inserted lora = GraphInserts.lora(source, targets, 2, 7);
    ComputationGraph g = lora.graph();
    assertThat(g.getConfiguration().getVertexInputs().get("stage1.block1.bn1")).containsExactly("stage1.block1.conv1");
    assertThat(g.getConfiguration().getVertexInputs().get("stage1.block1.conv1")).containsExactly("stage1.block1.conv1.base",
        "stage1.block1.conv1.lora_b");
    assertThat(g.getVertex("stage1.block1.conv1.base").params()).isEqualTo(source.getVertex("stage1.block1.conv1").params());
    // stem: 3x3 from 1 channel to 8, rank 2: A 2x1x3x3, B 8x2x1x1
    assertThat(g.getVertex("stem.lora_a").numParams()).isEqualTo(18);
    assertThat(g.getVertex("stem.lora_b").numParams()).isEqualTo(16);
    assertThat(lora.parameters()).isEqualTo(lora.trainable().stream().mapToLong(v -> g.getVertex(v).numParams()).sum());

    INDArray x = Nd4j.rand(DataType.FLOAT, 6, 784);
    assertThat(g.outputSingle(false, x)).as("B = 0: unchanged at step 0").isEqualTo(source.outputSingle(false, x));

    Set<String> trainable = new HashSet<>(lora.trainable());
    trainable.add("output");
    ComputationGraph s = stage(g, trainable);
    long[] counts = GraphSurgery.trainableAndTotal(s);
    assertThat(counts[0]).isEqualTo(lora.parameters() + source.getVertex("output").numParams());
    assertThat(counts[1]).isEqualTo(source.numParams() + lora.parameters());
    for (int i = 0; i < 3; i++) {
      s.fit(batch(16));
    }
    assertThat(s.getVertex("stem.lora_b").params().amaxNumber().doubleValue()).as("B trains").isGreaterThan(0);
    assertThat(s.getVertex("stage1.block1.conv1.base").params()).as("W frozen").isEqualTo(source.getVertex("stage1.block1.conv1").params());
    assertThat(s.outputSingle(false, x)).isNotEqualTo(source.outputSingle(false, x));
  }

  @Test
  void loraOnAStackedDenseLayerKeepsItsActivationAfterTheSum() {
    ModelConfig model = new ModelConfig(ModelConfig.Architecture.MLP, List.of(32, 16), null, null, null, "tanh", null);
    MultiLayerNetwork net = new MultiLayerNetwork(Architectures.build(model, new int[] {784}, 10, OptimizerConfig.defaults(), 3));
    net.init();
    ComputationGraph g = Graphs.fromStack(net);
    INDArray x = Nd4j.rand(DataType.FLOAT, 4, 784);
    assertThat(g.outputSingle(false, x)).isEqualTo(net.output(x, false));
    ComputationGraph lora = GraphInserts.lora(g, List.of("dense1", "dense2"), 3, 1).graph();
    assertThat(lora.getConfiguration().getVertexInputs().get("dense1")).containsExactly("dense1.lora");
    assertThat(lora.getLayer("dense1").conf().getLayer().toString()).contains("tanh");
    assertThat(lora.getLayer("dense1.base").conf().getLayer().toString()).contains("activationFn=identity");
    assertThat(lora.outputSingle(false, x)).isEqualTo(net.output(x, false));
  }

  @Test
  void adaptersAfterABlockAndThePoolComputeTheSameFunctionUntilTheyTrain() {
    ComputationGraph source = resnet();
    GraphInserts.Inserted a = GraphInserts.adapters(source, List.of("stage1.block1", "pool"), 4, 5);
    ComputationGraph g = a.graph();
    assertThat(a.trainable()).containsExactly("stage1.block1.adapter.down", "stage1.block1.adapter.up", "pool.adapter.down",
        "pool.adapter.up");
    assertThat(g.getConfiguration().getVertexInputs().get("stage1.block1")).containsExactly("stage1.block1.base",
        "stage1.block1.adapter.up");
    assertThat(g.getConfiguration().getVertexInputs().get("output")).containsExactly("pool");
    // 1x1 convolutions 8 -> 4 -> 8 with biases on the block's images; dense 16 -> 4 -> 16 on the pooled vector
    assertThat(a.parameters()).isEqualTo((8 * 4 + 4) + (4 * 8 + 8) + (16 * 4 + 4) + (4 * 16 + 16));
    INDArray x = Nd4j.rand(DataType.FLOAT, 6, 784);
    assertThat(g.outputSingle(false, x)).isEqualTo(source.outputSingle(false, x));
    Set<String> trainable = new HashSet<>(a.trainable());
    trainable.add("output");
    ComputationGraph s = stage(g, trainable);
    s.fit(batch(16));
    s.fit(batch(16));
    assertThat(s.outputSingle(false, x)).isNotEqualTo(source.outputSingle(false, x));
    assertThat(s.getVertex("stage2.block1.conv1").params()).isEqualTo(source.getVertex("stage2.block1.conv1").params());
  }

  @Test
  void gradientsThroughFrozenBatchNormMatchFiniteDifferences() {
    ComputationGraph source = resnet();
    GraphInserts.Inserted lora = GraphInserts.lora(source, List.of("stage2.block1.conv1"), 2, 7);
    Set<String> trainable = new HashSet<>(lora.trainable());
    trainable.add("output");
    ComputationGraph s = stage(lora.graph(), trainable).convertDataType(DataType.DOUBLE);
    org.deeplearning4j.nn.conf.ComputationGraphConfiguration json =
        org.deeplearning4j.nn.conf.ComputationGraphConfiguration.fromJson(s.getConfiguration().toJson());
    assertThat(((org.deeplearning4j.nn.conf.graph.LayerVertex) json.getVertices().get("stage2.block1.bn1")).getLayerConf().getLayer())
        .as("a checkpointed stage keeps its frozen batch norm").isInstanceOf(FrozenBatchNorm.class);
    assertThat(json).isEqualTo(s.getConfiguration());
    Nd4j.getRandom().setSeed(9);
    DataSet d = batch(8);
    d.setFeatures(d.getFeatures().castTo(DataType.DOUBLE));
    d.setLabels(d.getLabels().castTo(DataType.DOUBLE));
    s.setInputs(d.getFeatures());
    s.setLabels(d.getLabels());
    s.computeGradientAndScore();
    org.nd4j.linalg.dataset.MultiDataSet md = new org.nd4j.linalg.dataset.MultiDataSet(d.getFeatures(), d.getLabels());
    // the head (nothing frozen above it), then B of the LoRA branch below the frozen bn1 (inference mode, gradients passed through)
    for (String v : List.of("output", "stage2.block1.conv1.lora_b")) {
      INDArray analytic = s.gradient().getGradientFor(v + "_W").div(8); // summed over the batch; the score is the mean
      INDArray w = s.getVertex(v).paramTable(false).get("W");
      assertThat(analytic.amaxNumber().doubleValue()).isGreaterThan(1e-5);
      double eps = 1e-6;
      for (long i = 0; i < 5; i++) {
        double p0 = w.getDouble(i);
        w.putScalar(i, p0 + eps);
        double up = s.score(md, false);
        w.putScalar(i, p0 - eps);
        double down = s.score(md, false);
        w.putScalar(i, p0);
        double numeric = (up - down) / (2 * eps);
        assertThat(analytic.getDouble(i)).as("%s parameter %d", v, i).isCloseTo(numeric, org.assertj.core.data.Offset.offset(1e-6 + 1e-3 * Math.abs(numeric)));
      }
    }
  }

  @Test
  void badTargetsAreNamedInOneLine() {
    ComputationGraph g = resnet();
    assertThatThrownBy(() -> GraphInserts.lora(g, List.of("stem.bn"), 2, 1))
        .hasMessage("Cannot put LoRA on 'stem.bn': it is a BatchNormalization; LoRA applies to dense and convolution layers");
    assertThatThrownBy(() -> GraphInserts.lora(g, List.of("stem"), 8, 1)).hasMessage("LoRA rank 8 is not smaller than layer 'stem' "
        + "(9 inputs, 8 outputs): a rank this large adds more parameters than the layer has; use a rank below 8");
    assertThatThrownBy(() -> GraphInserts.lora(g, List.of("stage9"), 2, 1))
        .hasMessageStartingWith("Cannot put LoRA on 'stage9': no such vertex (vertices: stem, stem.bn, stem.relu, ");
    assertThatThrownBy(() -> GraphInserts.lora(g, List.of("stage1.block1.add"), 2, 1))
        .hasMessage("Cannot put LoRA on 'stage1.block1.add': it is a ElementWiseVertex, not a layer");
    assertThatThrownBy(() -> GraphInserts.adapters(g, List.of("output"), 2, 1))
        .hasMessage("Cannot put an adapter after 'output': it is the output layer");
  }
}
