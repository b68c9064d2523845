package io.graft.jobs.pretrain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.graft.config.ConfigLoader;
import io.graft.data.Augmentation;
import io.graft.data.Manifest;
import io.graft.engine.MetricsLog;
import io.graft.jobs.finetune.FinetuneConfig;
import io.graft.jobs.finetune.FinetuneJob;
import io.graft.selfsup.NtXentLoss;
import io.graft.selfsup.Objective;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import io.graft.surgery.Graphs;
import io.graft.surgery.Surgery;
import io.graft.testing.SparkTests;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;

class SelfSupervisedPretrainTest {
  final SparkSession spark = SparkTests.spark();
  final Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
  @TempDir Path dir;

  private PretrainConfig config(String output, String... overrides) {
    List<String> sets = new ArrayList<>(List.of(
        "data.train=" + SparkTests.mnistTrain(), "data.test=" + SparkTests.mnistTest(), "data.maxTestRows=300",
        "model.architecture=lenet", "model.convChannels=[8, 16]", "model.dense=64",
        "training.epochs=2", "training.batchSizePerWorker=64", "training.averagingFrequency=4", "training.maxRows=1200",
        "training.engine=graft", "training.seed=3", "output=" + output));
    sets.addAll(List.of(overrides));
    return ConfigLoader.load(null, sets, PretrainConfig.class);
  }

  private static final String[] CONTRASTIVE = {"objective.kind=contrastive", "objective.projection=[32, 16]", "augmentation.crop=0.6",
      "augmentation.rotation=10", "augmentation.noise=0.05"};

  @Test
  void contrastivePretrainingWithoutLabelsLogsProbeAndPlugsIntoFinetune() throws Exception {
    String out = dir.resolve("simclr").toUri().toString();
    List<String> sets = new ArrayList<>(List.of(CONTRASTIVE));
    sets.addAll(List.of("probe.train=" + SparkTests.mnistTrain(), "probe.labelsPerClass=30", "probe.maxTestRows=1000",
        "training.maxRows=2000"));
    PretrainJob.Result r = PretrainJob.run(config(out, sets.toArray(String[]::new)), spark, io.graft.engine.JobOptions.quiet());

    List<JsonNode> metrics = MetricsLog.read(storage, storage.path(out));
    assertThat(metrics).hasSize(2);
    for (JsonNode m : metrics) {
      assertThat(m.has("test_accuracy")).as("a contrastive round has no classification accuracy").isFalse();
      assertThat(m.get("probe_accuracy").asDouble()).isBetween(0.3, 1.0);
      assertThat(m.get("pair_accuracy").asDouble()).isBetween(0.0, 1.0);
    }
    assertThat(metrics.get(1).get("test_loss").asDouble()).as("held-out NT-Xent falls").isLessThan(metrics.get(0).get("test_loss").asDouble());
    assertThat(r.probeAccuracyAtInit()).isBetween(0.3, 1.0);
    // a random LeNet probes well on MNIST (67 % here); the trained encoder must do better, not just stay above a floor
    assertThat(metrics.get(1).get("probe_accuracy").asDouble()).as("probe after training vs at initialisation")
        .isGreaterThan(r.probeAccuracyAtInit() + 0.02);
    JsonNode prov = Provenance.read(storage, storage.path(out));
    assertThat(prov.at("/model/objective").asText()).isEqualTo("contrastive");
    assertThat(prov.at("/model/headLayers").toString()).isEqualTo("[\"proj1\",\"output\"]");
    assertThat(prov.at("/metrics/probe_accuracy_at_init").asDouble()).isEqualTo(r.probeAccuracyAtInit());

    MultiLayerNetwork saved = Surgery.load(storage, out).network();
    assertThat(((OutputLayer) saved.getLayerWiseConfigurations().getConf(saved.getnLayers() - 1).getLayer()).getLossFn())
        .isEqualTo(new NtXentLoss(0.5));
    assertThat(Surgery.selfSupervisedHead(saved)).containsExactly("proj1");

    // the encoder fine-tunes like any pretrained model: proj1 and the projection output are gone, dense1 feeds the classifier
    String ft = dir.resolve("ft").toUri().toString();
    FinetuneConfig fc = ConfigLoader.load(null, List.of("source=" + out, "data.train=" + SparkTests.fashionTrain(),
        "data.test=" + SparkTests.fashionTest(), "data.labelsPerClass=30", "strategy=full", "fullRateFactor=1", "epochs=3",
        "training.batchSizePerWorker=16",
        "output=" + ft), FinetuneConfig.class);
    FinetuneJob.Result fr = FinetuneJob.run(fc, spark, io.graft.engine.JobOptions.quiet());
    assertThat(fr.testAccuracy()).isGreaterThan(0.3);
    MultiLayerNetwork tuned = Surgery.load(storage, ft).network();
    assertThat(Surgery.layerNames(tuned)).containsExactly("conv1", "pool1", "conv2", "pool2", "dense1", "output");
  }

  /**
   * The same on the residual trunk ({@code model.architecture: resnet}, a ComputationGraph): the
   * probe reads {@code pool} and beats the random trunk's, and the graph fine-tunes (LoRA) with its
   * projection head dropped.
   */
  @Test
  void contrastivePretrainingOfAResidualGraphBeatsItsRandomTrunkAndFineTunes() throws Exception {
    String out = dir.resolve("simclr-resnet").toUri().toString();
    List<String> sets = new ArrayList<>(List.of(CONTRASTIVE));
    sets.addAll(List.of("model.architecture=resnet", "model.stages=[1, 1]", "model.widths=[8, 16]", "optimizer.learningRate=0.002",
        "probe.train=" + SparkTests.mnistTrain(), "probe.labelsPerClass=30", "probe.maxTestRows=1000", "training.maxRows=2000"));
    PretrainJob.Result r = PretrainJob.run(config(out, sets.toArray(String[]::new)), spark, io.graft.engine.JobOptions.quiet());

    List<JsonNode> metrics = MetricsLog.read(storage, storage.path(out));
    assertThat(metrics).hasSize(2);
    assertThat(metrics.get(1).get("test_loss").asDouble()).as("held-out NT-Xent falls").isLessThan(metrics.get(0).get("test_loss").asDouble());
    assertThat(metrics.get(1).get("probe_accuracy").asDouble()).as("probe on pool after training vs at initialisation")
        .isGreaterThan(r.probeAccuracyAtInit() + 0.02);
    JsonNode prov = Provenance.read(storage, storage.path(out));
    assertThat(prov.at("/model/headLayers").toString()).isEqualTo("[\"proj1\",\"output\"]");
    ComputationGraph saved = (ComputationGraph) Graphs.load(storage, out);
    assertThat(Surgery.selfSupervisedHead(saved.getConfiguration())).containsExactly("proj1");
    assertThat(saved.getConfiguration().getVertexInputs().get("proj1")).containsExactly("pool");

    for (String strategy : List.of("lora")) { // full fine-tuning of a contrastive encoder: the LeNet test above
      String ft = dir.resolve("ft-resnet-" + strategy).toUri().toString();
      FinetuneConfig fc = ConfigLoader.load(null, List.of("source=" + out, "data.train=" + SparkTests.fashionTrain(),
          "data.test=" + SparkTests.fashionTest(), "data.labelsPerClass=30", "strategy=" + strategy, "fullRateFactor=1", "epochs=4",
          "optimizer.learningRate=0.01",
          "training.batchSizePerWorker=16", "output=" + ft), FinetuneConfig.class);
      FinetuneJob.Result fr = FinetuneJob.run(fc, spark, io.graft.engine.JobOptions.quiet());
      assertThat(fr.testAccuracy()).as(strategy + ": twice chance or more").isGreaterThan(0.2);
      ComputationGraph tuned = (ComputationGraph) Graphs.load(storage, ft);
      assertThat(tuned.getConfiguration().getVertices()).as(strategy).doesNotContainKey("proj1");
      assertThat(tuned.getConfiguration().getVertexInputs().get("output")).as(strategy).containsExactly("pool");
    }
  }

  @Test
  void reconstructionTrainsOnADatasetWithoutALabelColumn() throws Exception {
    // MNIST rows with the label column dropped and a manifest that declares no classes
    Path unlabelled = dir.resolve("unlabelled");
    spark.read().parquet(SparkTests.mnistTrain()).select("features").limit(800).write().parquet(unlabelled.toString());
    ObjectMapper json = new ObjectMapper();
    ObjectNode manifest = (ObjectNode) json.readTree(storage.readString(new org.apache.hadoop.fs.Path(SparkTests.mnistTrain(), Manifest.FILE_NAME)));
    manifest.put("numClasses", 0).remove(List.of("classNames", "classCounts"));
    Files.writeString(unlabelled.resolve(Manifest.FILE_NAME), json.writeValueAsString(manifest));
    assertThat(spark.read().parquet(unlabelled.toString()).columns()).containsExactly("features");

    String out = dir.resolve("dae").toUri().toString();
    PretrainJob.Result r = PretrainJob.run(config(out, "data.train=" + unlabelled.toUri(), "data.test=null", "objective.kind=reconstruction",
        "objective.mask=0.5", "training.epochs=1"), spark, io.graft.engine.JobOptions.quiet());
    assertThat(r.trainRows() + r.testRows()).isEqualTo(800); // about 10 % held out
    assertThat(r.trainRows()).isBetween(680L, 760L);
    assertThat(r.testLoss()).isFinite().isPositive();
    MultiLayerNetwork net = Surgery.load(storage, out).network();
    assertThat(net.getLayer("output").getParam("W").shape()).containsExactly(64, 784);
    assertThat(Provenance.read(storage, storage.path(out)).at("/model/numClasses").isMissingNode()).isTrue();
  }

  @Test
  void viewsOfOneExampleSitSideBySideAndDifferFromEachOther() throws Exception {
    List<float[]> examples = new ArrayList<>();
    for (DataSet ds : io.graft.spark.GraftDatasets.miniBatches(spark.read().parquet(SparkTests.mnistTest()).limit(6), 6, 784, 10).collect()) {
      for (int i = 0; i < ds.numExamples(); i++) {
        examples.add(ds.getFeatures().getRow(i).toFloatVector());
      }
    }
    SelfSupervisedData.Spec spec = new SelfSupervisedData.Spec(Objective.Kind.CONTRASTIVE, new Augmentation(0, 0.0, 0.1), null,
        new int[] {1, 28, 28}, 12, 16, 1);
    DataSet batch = new SelfSupervisedData.Batches(spec, 1).views(examples, new Random(1));
    assertThat(batch.numExamples()).isEqualTo(12);
    assertThat(batch.getLabels().shape()).containsExactly(12, 16);
    for (int row = 0; row < 12; row++) {
      float[] view = batch.getFeatures().getRow(row).toFloatVector();
      int source = row / 2;
      double own = correlation(view, examples.get(source));
      assertThat(own).as("row %d is a view of example %d", row, source).isGreaterThan(0.9);
      for (int j = 0; j < 6; j++) {
        if (j != source) {
          assertThat(correlation(view, examples.get(j))).as("row %d against example %d", row, j).isLessThan(own - 0.05);
        }
      }
    }
    for (int k = 0; k < 6; k++) {
      assertThat(batch.getFeatures().getRow(2 * k).toFloatVector()).as("the two views of example %d", k)
          .isNotEqualTo(batch.getFeatures().getRow(2 * k + 1).toFloatVector());
    }
  }

  @Test
  void badSelfSupervisedSettingsAreRefusedBeforeSparkWork() {
    String out = dir.resolve("x").toUri().toString();
    assertThatThrownBy(() -> config(out, "objective.kind=contrastive"))
        .hasMessageContaining("A contrastive objective needs an augmentation");
    assertThatThrownBy(() -> config(out, "objective.kind=contrastive", "augmentation.noise=0.1", "training.batchSizePerWorker=33"))
        .hasMessage("A contrastive objective needs an even training.batchSizePerWorker (two views per example), cannot be: 33");
    assertThatThrownBy(() -> PretrainJob.validate(config(out, append(CONTRASTIVE, "probe.train=" + SparkTests.mnistTrain(), "probe.layer=proj1")),
        storage, false)).hasMessage("Cannot probe layer 'proj1': it is part of the contrastive head, not the encoder "
            + "(encoder layers: conv1, pool1, conv2, pool2, dense1)");
    assertThatThrownBy(() -> PretrainJob.validate(config(out, append(CONTRASTIVE, "probe.train=" + SparkTests.mnistTrain(), "probe.layer=conv9")),
        storage, false)).hasMessageStartingWith("Cannot probe: layer 'conv9' not found in the model (layers: conv1, pool1");
    assertThatThrownBy(() -> config(out, "data.test=null", "probe.train=" + SparkTests.mnistTrain()))
        .hasMessage("probe.test is required when data.test is not set (the probe is scored on labelled test rows)");
    assertThat(config(out, "augmentation.shift=2").augmentation().shift()).isEqualTo(2); // supervised pre-training augments too
  }

  private static String[] append(String[] a, String... more) {
    List<String> all = new ArrayList<>(List.of(a));
    all.addAll(List.of(more));
    return all.toArray(String[]::new);
  }

  private static double correlation(float[] a, float[] b) {
    double ma = 0;
    double mb = 0;
    for (int i = 0; i < a.length; i++) {
      ma += a[i];
      mb += b[i];
    }
    ma /= a.length;
    mb /= b.length;
    double sab = 0;
    double saa = 0;
    double sbb = 0;
    for (int i = 0; i < a.length; i++) {
      sab += (a[i] - ma) * (b[i] - mb);
      saa += (a[i] - ma) * (a[i] - ma);
      sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / Math.sqrt(saa * sbb);
  }
}
