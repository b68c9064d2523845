package io.graft.jobs.multitask;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.adapt.SharedTrunk;
import io.graft.config.ConfigLoader;
import io.graft.engine.JobOptions;
import io.graft.engine.SyncAveraging;
import io.graft.jobs.JobMain;
import io.graft.jobs.finetune.FinetuneConfig;
import io.graft.jobs.finetune.FinetuneJob;
import io.graft.jobs.importer.ModelImportJob;
import io.graft.spark.TaskRows;
import io.graft.store.Storage;
import io.graft.surgery.Graphs;
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
  void anImportedPyTorchGraphIsTheTrunkAndEachTaskModelFineTunesAsAGraph() throws Exception {
    java.nio.file.Path dir = SparkTests.work().resolve("multitask-onnx");
    String cnn = dir.resolve("mnist-cnn").toString();
    java.nio.file.Path onnx = java.nio.file.Path.of("..", "common", "src", "test", "resources", "onnx", "mnist-cnn.onnx").toAbsolutePath();
    assertThat(JobMain.run(ModelImportJob.JOB, "--format", "onnx", "--input", onnx.toString(), "--output", cnn, "--mean", "0.1307", "--std",
        "0.3081")).isZero();
    String out = dir.resolve("run").toUri().toString();
    MultitaskJob.Result r = MultitaskJob.run(config(out, "pretrained=" + cnn, "optimizer.learningRate=0.001"), SparkTests.spark(),
        JobOptions.quiet());
    // the PyTorch CNN's MNIST features under a new head: one epoch on 100 labels per class is enough for MNIST
    assertThat(r.accuracy().get("digits")).isGreaterThan(0.75);
    MultitaskJob.Result scratch = MultitaskJob.run(config(dir.resolve("scratch").toUri().toString(), "optimizer.learningRate=0.001"),
        SparkTests.spark(), JobOptions.quiet());
    // 0.84 vs 0.49 when written
    assertThat(r.accuracy().get("digits")).as("the imported trunk beats a fresh one").isGreaterThan(scratch.accuracy().get("digits") + 0.2);

    Storage storage = new Storage(SparkTests.spark().sparkContext().hadoopConfiguration());
    ComputationGraph graph;
    try (InputStream in = storage.open(new Path(out, MultitaskJob.MODEL_FILE))) {
      graph = ModelSerializer.restoreComputationGraph(in, false);
    }
    assertThat(graph.getConfiguration().getVertices()).as("the import's vertices and normalisation kept").containsKeys("input.shift", "conv1",
        "digits", "fashion");
    INDArray x = Nd4j.rand(DataType.FLOAT, 4, 784);
    ComputationGraph task;
    try (InputStream in = storage.open(new Path(out, "tasks/fashion/model.zip"))) {
      task = ModelSerializer.restoreComputationGraph(in, false);
    }
    assertThat(task.outputSingle(x)).isEqualTo(graph.output(false, x)[1]);

    FinetuneJob.Result tuned = FinetuneJob.run(ConfigLoader.load(null, List.of("source=" + out + "/tasks/digits", "data.train="
        + SparkTests.digits28(), "data.test=" + SparkTests.digits28(), "data.labelsPerClass=20", "strategy=feature-extraction", "epochs=3",
        "training.batchSizePerWorker=32", "output=" + dir.resolve("tuned")), FinetuneConfig.class), SparkTests.spark(), JobOptions.quiet());
    // a new head on the task model's frozen graph: 0.53 when written after 3 rounds on 200 rows, chance 0.1
    assertThat(tuned.testAccuracy()).isGreaterThan(0.35);
    assertThat(Graphs.isGraphModel(storage, dir.resolve("tuned").toString())).isTrue();
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
