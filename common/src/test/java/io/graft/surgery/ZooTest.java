package io.graft.surgery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.data.Example;
import io.graft.data.IdxReader;
import io.graft.data.ImageResize;
import io.graft.store.Storage;
import io.graft.testing.TestData;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

class ZooTest {
  private static final Storage STORAGE = new Storage(new Configuration());

  /** Four Fashion-MNIST images scaled to 224x224 in three channels, as flat C x H x W rows, with their labels (classes 0-4). */
  private static DataSet rgbRows() throws Exception {
    java.nio.file.Path dir = TestData.raw("fashion-mnist");
    Path images = new Path(dir.resolve("t10k-images-idx3-ubyte.gz").toUri());
    Path labels = new Path(dir.resolve("t10k-labels-idx1-ubyte.gz").toUri());
    List<Example> rows = IdxReader.read(STORAGE, images, labels, IdxReader.inspect(STORAGE, images, labels), 0, 4, 255f);
    INDArray x = Nd4j.create(DataType.FLOAT, 4, 3 * 224 * 224);
    INDArray y = Nd4j.zeros(DataType.FLOAT, 4, 5);
    for (int i = 0; i < 4; i++) {
      float[] big = ImageResize.bilinear(rows.get(i).features(), 1, 28, 28, 224, 224);
      float[] rgb = new float[3 * big.length];
      for (int c = 0; c < 3; c++) {
        System.arraycopy(big, 0, rgb, c * big.length, big.length);
      }
      x.putRow(i, Nd4j.createFromArray(rgb));
      y.putScalar(i, rows.get(i).label() % 5, 1);
    }
    return new DataSet(x, y);
  }

  @Test
  void aZooResNet50WithANewHeadTrainsOneStepOnRgbRows() throws Exception {
    ComputationGraph zoo = (ComputationGraph) Graphs.load(STORAGE, "zoo:resnet50");
    assertThat(Graphs.inputSize(zoo)).as("reads flat 3x224x224 rows").isEqualTo(3 * 224 * 224);
    assertThat(zoo.numParams()).isGreaterThan(25_000_000);
    ComputationGraph headed = GraphSurgery.newHead(zoo, 5, List.of(), 1);
    String out = GraphSurgery.outputLayer(headed);
    assertThat(headed.getOutputLayer(0).getParam("b").length()).isEqualTo(5);
    Set<String> top = new HashSet<>(GraphSurgery.trainableFrom(headed, GraphSurgery.groups(headed, GraphSurgery.Grouping.STAGES), out,
        List.of(out)));
    ComputationGraph stage = GraphSurgery.stageGraph(headed, new GraphSurgery.StagePlan(top, v -> new Adam(0.01), 0, true));
    DataSet d = rgbRows();
    INDArray before = stage.getLayer(out).params().dup();
    INDArray frozenBefore = stage.getVertex("res2a_branch2a").params().dup();
    stage.fit(d);
    assertThat(stage.getLayer(out).params()).as("the head trained").isNotEqualTo(before);
    assertThat(stage.getVertex("res2a_branch2a").params()).as("the trunk did not").isEqualTo(frozenBefore);
    assertThat(stage.outputSingle(false, d.getFeatures()).shape()).containsExactly(4, 5);
  }

  @Test
  void unknownZooNamesAndBadShapesAreNamedInOneLine() {
    assertThatThrownBy(() -> Graphs.load(STORAGE, "zoo:resnet51"))
        .hasMessage("Unknown zoo model 'resnet51' in zoo:resnet51 (Graft builds: resnet50, squeezenet, vgg16, vgg19)");
    assertThatThrownBy(() -> Graphs.load(STORAGE, "zoo:vgg16/3x224")).hasMessage("A zoo input shape is CxHxW, e.g. "
        + "zoo:resnet50/3x224x224, cannot be: zoo:vgg16/3x224");
    ComputationGraph squeeze = (ComputationGraph) Graphs.load(STORAGE, "zoo:squeezenet/3x64x64");
    assertThat(Graphs.inputSize(squeeze)).isEqualTo(3 * 64 * 64);
    assertThat(Graphs.isGraphModel(STORAGE, "zoo:vgg16")).isTrue();
  }
}
