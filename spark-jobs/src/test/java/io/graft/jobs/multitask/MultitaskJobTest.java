package io.graft.jobs.multitask;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.adapt.SharedTrunk;
import io.graft.config.ConfigLoader;
import io.graft.engine.JobOptions;
import io.graft.engine.SyncAveraging;
import io.graft.spark.TaskRows;
import io.graft.store.Storage;
import io.graft.testing.SparkTests;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class MultitaskJobTest {
  private static MultitaskConfig config(String output, String... overrides) {
    List<String> all = new ArrayList<>(List.of(
        "tasks=[{name: digits, train: '" + SparkTests.mnistTrain() + "', test: '" + SparkTests.mnistTest() + "', labelsPerClass: 100}, "
            + "{name: fashion, train: '" + SparkTests.fashionTrain() + "', test: '" + SparkTests.fashionTest() + "', labelsPerClass: 100}]",
        "optimizer.learningRate=0.003",
        "model.convChannels=[8, 16]", "model.dense=64", "training.epochs=1", "training.batchSizePerWorker=32", "output=" + output));
    all.addAll(List.of(overrides));
    return ConfigLoader.load(null, all, MultitaskConfig.class);
  }

  @Test
  void oneTrunkServesBothTasksAndExportsEachAsASingleTaskModel() throws Exception {
    String out = SparkTests.work().resolve("multitask-e2e").toUri().toString();
    MultitaskJob.Result r = MultitaskJob.run(config(out, "weighting=uncertainty", "sampling=uniform", "training.epochs=3"), SparkTests.spark(), JobOptions.quiet());
    assertThat(r.accuracy().get("digits")).isGreaterThan(0.7);
    assertThat(r.accuracy().get("fashion")).isGreaterThan(0.5);
    assertThat(r.history().get(0).toMap()).containsKeys("digits_accuracy", "fashion_accuracy", "digits_train_loss", "fashion_weight", "mean_accuracy");
    assertThat(r.history().get(0).extra().get("digits_weight")).isEqualTo(1.0);
    assertThat(r.weights().get("digits")).as("uncertainty weights move off 1 after a round").isNotEqualTo(1.0);

    Storage storage = new Storage(SparkTests.spark().sparkContext().hadoopConfiguration());
    ComputationGraph graph;
    try (InputStream in = storage.open(new Path(out, MultitaskJob.MODEL_FILE))) {
      graph = ModelSerializer.restoreComputationGraph(in, false);
    }
    INDArray x = Nd4j.rand(DataType.FLOAT, 4, 784);
    INDArray[] both = graph.output(false, x);
    for (int t = 0; t < 2; t++) {
      String name = t == 0 ? "digits" : "fashion";
      try (InputStream in = storage.open(new Path(out, "tasks/" + name + "/model.zip"))) {
        MultiLayerNetwork single = ModelSerializer.restoreMultiLayerNetwork(in, false);
        assertThat(single.output(x, false)).as(name).isEqualTo(both[t]);
      }
    }
  }

  @Test
  void eachTasksWeightScalesItsGradientContributionProportionally() throws Exception {
    ComputationGraph graph = MultitaskJob.plan(config(SparkTests.work().resolve("multitask-grad").toString()),
        new Storage(new Configuration()), false).graph();
    Random rng = new Random(4);
    List<TaskRows.TaskRow> rows = new ArrayList<>();
    int[] headOf = new int[12];
    for (int i = 0; i < 12; i++) {
      float[] f = new float[784];
      for (int j = 0; j < f.length; j++) {
        f[j] = rng.nextFloat();
      }
      headOf[i] = i % 2;
      rows.add(new TaskRows.TaskRow(headOf[i], rng.nextInt(10), f));
    }
    INDArray g11 = gradient(graph, rows, headOf, 1, 1);
    INDArray g31 = gradient(graph, rows, headOf, 3, 1);
    INDArray g10 = gradient(graph, rows, headOf, 1, 0);
    INDArray g01 = gradient(graph, rows, headOf, 0, 1);
    assertThat(g10.amaxNumber().doubleValue()).isGreaterThan(0);
    assertThat(g01.amaxNumber().doubleValue()).isGreaterThan(0);
    // Linear in the weights, parameter by parameter: g(3, 1) = 3 g(1, 0) + g(0, 1) and g(1, 1) = g(1, 0) + g(0, 1).
    assertClose(g31, g10.mul(3).add(g01));
    assertClose(g11, g10.add(g01));
    // Each head's own parameters get gradient from its own task only, scaled by its weight.
    long trunk = 0;
    for (String layer : SharedTrunk.trunkLayers(graph)) {
      trunk += graph.getLayer(layer).numParams();
    }
    long digits = graph.getLayer("digits").numParams();
    INDArray digitsHead = g31.get(NDArrayIndex.interval(trunk, trunk + digits));
    assertClose(digitsHead, g10.get(NDArrayIndex.interval(trunk, trunk + digits)).mul(3));
    assertThat(g01.get(NDArrayIndex.interval(trunk, trunk + digits)).amaxNumber().doubleValue()).isZero();
  }

  private static INDArray gradient(ComputationGraph graph, List<TaskRows.TaskRow> rows, int[] headOf, double w0, double w1) {
    MultiDataSet batch = TaskRows.batch(rows, new int[] {10, 10}, headOf, -1, null);
    SyncAveraging.applyKnobs(graph, new SyncAveraging.Knobs(Double.NaN, Double.NaN, new double[] {w0, w1}));
    graph.setInputs(batch.getFeatures());
    graph.setLabels(batch.getLabels());
    graph.setLayerMaskArrays(null, batch.getLabelsMaskArrays());
    graph.computeGradientAndScore();
    return graph.gradient().gradient().dup();
  }

  private static void assertClose(INDArray actual, INDArray expected) {
    double scale = expected.amaxNumber().doubleValue();
    double diff = actual.sub(expected).amaxNumber().doubleValue();
    assertThat(diff).isLessThan(1e-4 * scale);
  }

  @Test
  void badTaskListsAreNamed() {
    assertThatThrownBy(() -> ConfigLoader.load(null, List.of("tasks=[{name: a, train: x}, {name: a, train: y}]", "output=o"),
        MultitaskConfig.class)).hasMessage("Two tasks are named 'a'");
    assertThatThrownBy(() -> ConfigLoader.load(null, List.of("tasks=[{name: 'a b', train: x}]", "output=o"), MultitaskConfig.class))
        .hasMessage("tasks[].name must be a letter followed by letters, digits or '-', cannot be: a b");
    assertThatThrownBy(() -> ConfigLoader.load(null, List.of("tasks=[{name: a, train: x, weight: 0}]", "output=o"), MultitaskConfig.class))
        .hasMessage("Task 'a' weight must be positive, cannot be: 0.0");
    String out = SparkTests.work().resolve("multitask-bad").toString();
    assertThatThrownBy(() -> MultitaskJob.validate(ConfigLoader.load(null, List.of("tasks=[{name: digits, train: '" + SparkTests.mnistTrain()
        + "'}, {name: small, train: '" + SparkTests.digits8() + "'}]", "output=" + out), MultitaskConfig.class), new Storage(new Configuration()),
        false)).hasMessage("Task 'small' has feature shape [1, 8, 8] but task 'digits' has [1, 28, 28]: tasks share one trunk and one input space");
  }
}
