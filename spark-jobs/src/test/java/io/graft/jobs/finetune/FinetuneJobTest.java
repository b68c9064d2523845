package io.graft.jobs.finetune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.databind.JsonNode;
import io.graft.config.ConfigException;
import io.graft.config.ConfigLoader;
import io.graft.data.ImportFormat;
import io.graft.engine.JobOptions;
import io.graft.engine.MetricsLog;
import io.graft.engine.RoundMetrics;
import io.graft.jobs.importer.ImportConfig;
import io.graft.jobs.importer.ImportJob;
import io.graft.store.Provenance;
import io.graft.store.Storage;
import io.graft.surgery.Surgery;
import io.graft.testing.SparkTests;
import io.graft.testing.TestData;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.assertj.core.data.Offset;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class FinetuneJobTest {
  final SparkSession spark = SparkTests.spark();
  final Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
  @TempDir Path dir;

  private FinetuneConfig config(String output, String... overrides) {
    List<String> sets = new ArrayList<>(List.of("source=" + SparkTests.lenetSource(), "data.train=" + SparkTests.fashionTrain(),
        "data.test=" + SparkTests.fashionTest(), "data.labelsPerClass=50", "training.batchSizePerWorker=32",
        "training.averagingFrequency=4", "output=" + output));
    sets.addAll(List.of(overrides));
    return ConfigLoader.load(null, sets, FinetuneConfig.class);
  }

  private static JobOptions quiet() {
    return JobOptions.quiet();
  }

  private MultiLayerNetwork load(Path zip) throws Exception {
    try (InputStream in = Files.newInputStream(zip)) {
      return ModelSerializer.restoreMultiLayerNetwork(in, false);
    }
  }

  @Test
  void frozenLayersStayBitIdenticalThroughASparkFitEvenWithWeightDecay() throws Exception {
    String out = dir.resolve("frozen").toUri().toString();
    // Freeze everything below dense1 (conv1, bn1, pool1, conv2, bn2, pool2); train dense1 and the new head.
    FinetuneConfig c = config(out, "stages=[{name: top, trainFrom: dense1, epochs: 2, cacheFeatures: false}]", "optimizer.weightDecay=0.1");
    MultiLayerNetwork source = Surgery.load(storage, SparkTests.lenetSource()).network();
    FinetuneJob.Result r = FinetuneJob.run(c, spark, quiet());
    MultiLayerNetwork tuned = load(dir.resolve("frozen/model.zip"));
    for (String layer : List.of("conv1", "bn1", "conv2", "bn2")) {
      INDArray before = source.getLayer(Surgery.indexOf(source, layer, "test")).params();
      INDArray after = tuned.getLayer(Surgery.indexOf(tuned, layer, "test")).params();
      assertThat(after).as(layer).isEqualTo(before);
    }
    INDArray denseBefore = source.getLayer(Surgery.indexOf(source, "dense1", "test")).params();
    INDArray denseAfter = tuned.getLayer(Surgery.indexOf(tuned, "dense1", "test")).params();
    assertThat(denseAfter.equalsWithEps(denseBefore, 1e-6)).isFalse();
    assertThat(r.stages().get(0).trainableParameters()).isLessThan(r.stages().get(0).totalParameters());
  }

  @Test
  void batchNormInAFrozenPartTrainsWhenAskedTo() throws Exception {
    String out = dir.resolve("bn").toUri().toString();
    // the feature cache is on by default: batch norm training below the cut must turn it off
    FinetuneConfig c = config(out, "stages=[{name: top, trainFrom: dense1, epochs: 1}]",
        "surgery.freezeBatchNorm=false");
    MultiLayerNetwork source = Surgery.load(storage, SparkTests.lenetSource()).network();
    FinetuneJob.run(c, spark, quiet());
    MultiLayerNetwork tuned = load(dir.resolve("bn/model.zip"));
    assertThat(tuned.getLayer(Surgery.indexOf(tuned, "bn1", "test")).params().equalsWithEps(
        source.getLayer(Surgery.indexOf(source, "bn1", "test")).params(), 1e-7)).isFalse();
    assertThat(tuned.getLayer(Surgery.indexOf(tuned, "conv1", "test")).params())
        .isEqualTo(source.getLayer(Surgery.indexOf(source, "conv1", "test")).params());
  }

  @Test
  void discriminativeRatesScaleEachLayersSgdUpdateByAlphaToTheDepth() throws Exception {
    // One SGD step from the same start on the same batch, uniform vs discriminative (alpha 0.5):
    // per layer group l of L, the update ratio is exactly alpha^(L-l).
    Map<String, Double> uniform = oneStepUpdates(1.0);
    Map<String, Double> disc = oneStepUpdates(0.5);
    List<String> groups = List.of("conv1", "bn1", "conv2", "bn2", "dense1", "output");
    int numGroups = groups.size();
    for (int l = 1; l <= numGroups; l++) {
      String name = groups.get(l - 1);
      double ratio = disc.get(name) / uniform.get(name);
      assertThat(ratio).as(name).isCloseTo(Math.pow(0.5, numGroups - l), Offset.offset(1e-3 * Math.pow(0.5, numGroups - l)));
    }
  }

  private Map<String, Double> oneStepUpdates(double alpha) throws Exception {
    String out = dir.resolve("disc-" + alpha).toUri().toString();
    FinetuneConfig c = config(out, "stages=[{name: one, trainFrom: all, epochs: 1, alpha: " + alpha + ", learningRate: 0.01}]",
        "optimizer.updater=sgd", "data.labelsPerClass=4", "data.validationFraction=0.2", "training.workers=1",
        "training.batchSizePerWorker=64", "training.averagingFrequency=1", "training.approach=direct", "surgery.freezeBatchNorm=false");
    MultiLayerNetwork[] start = new MultiLayerNetwork[1];
    FinetuneJob.run(c, spark, quiet());
    MultiLayerNetwork after = load(dir.resolve("disc-" + alpha + "/model.zip"));
    MultiLayerNetwork before = FinetunePlan.of(c, storage, false).base();
    Map<String, Double> norms = new HashMap<>();
    for (String layer : List.of("conv1", "bn1", "conv2", "bn2", "dense1", "output")) {
      int i = Surgery.indexOf(after, layer, "test");
      INDArray delta = after.getLayer(i).params().sub(before.getLayer(i).params());
      if (layer.startsWith("bn")) {
        delta = delta.get(NDArrayIndex.interval(0, delta.length() / 2)); // gamma, beta: the gradient-trained half
      }
      norms.put(layer, delta.norm2Number().doubleValue());
    }
    return norms;
  }

  @Test
  void adaptersStartAsTheIdentityAndTrainOnlyAFewParameters() throws Exception {
    MultiLayerNetwork source = Surgery.load(storage, SparkTests.lenetSource()).network();
    MultiLayerNetwork adapted = Surgery.insertAdapters(source, List.of("dense1"), 8, 1L);
    INDArray x = Nd4j.rand(DataType.FLOAT, 16, 784);
    assertThat(adapted.output(x)).isEqualTo(source.output(x));

    String out = dir.resolve("adapters").toUri().toString();
    FinetuneJob.Result r = FinetuneJob.run(config(out, "strategy=adapters", "epochs=5", "adapters.after=[dense1]", "adapters.size=8",
        "optimizer.learningRate=0.005"), spark,
        quiet());
    FinetuneJob.StageReport s = r.stages().get(0);
    assertThat(s.trainableParameters()).isEqualTo((64 * 8 + 8 + 8 * 64 + 64) + (64 * 10 + 10));
    assertThat(Surgery.layerNames(load(dir.resolve("adapters/model.zip")))).contains("adapter_dense1");
    assertThat(r.testAccuracy()).isGreaterThan(0.25);
  }

  @Test
  void earlyStoppingKeepsTheBestRoundsModel() throws Exception {
    String out = dir.resolve("early").toUri().toString();
    Map<Integer, INDArray> paramsByRound = new HashMap<>();
    JobOptions capture = quiet().withListener((m, net) -> paramsByRound.put(m.round(), net.params().dup()));
    FinetuneJob.Result r = FinetuneJob.run(config(out, "stages=[{name: all, trainFrom: all, epochs: 6, cacheFeatures: false, learningRate: 0.02}]",
        "earlyStopping.patience=2"), spark, capture);
    double bestVal = r.history().stream().mapToDouble(RoundMetrics::evalAccuracy).max().orElseThrow();
    assertThat(r.bestValAccuracy()).isEqualTo(bestVal);
    RoundMetrics best = r.history().stream().filter(m -> m.round() == r.bestRound()).findFirst().orElseThrow();
    assertThat(best.evalAccuracy()).isEqualTo(bestVal);
    assertThat(load(dir.resolve("early/model.zip")).params()).isEqualTo(paramsByRound.get(r.bestRound()));
    JsonNode prov = Provenance.read(storage, storage.path(out));
    assertThat(prov.at("/metrics/best_round").asInt()).isEqualTo(r.bestRound());
  }

  @Test
  void twoStageCachesTheBaseThenTrainsAllAndRecordsTheSource() throws Exception {
    String out = dir.resolve("two").toUri().toString();
    FinetuneJob.Result r = FinetuneJob.run(config(out, "strategy=two-stage", "epochs=3", "headEpochs=1"), spark, quiet());
    assertThat(r.stages()).extracting(FinetuneJob.StageReport::name).containsExactly("head", "all");
    assertThat(r.stages().get(0).cachedFeatures()).isTrue();
    assertThat(r.stages().get(1).trainableParameters()).isEqualTo(r.stages().get(1).totalParameters());
    assertThat(r.history()).extracting(RoundMetrics::round).containsExactly(1, 2, 3);
    JsonNode prov = Provenance.read(storage, storage.path(out));
    assertThat(prov.at("/source/provenance/job").asText()).isEqualTo("pretrain");
    assertThat(prov.at("/metrics/test_accuracy").asDouble()).isEqualTo(r.testAccuracy());
    assertThat(MetricsLog.read(storage, storage.path(out)).get(0).get("stage").asText()).isEqualTo("head");
  }

  @Test
  void twoStageTrainsTheHeadThenEveryLayerAtHalfTheRateWithoutDiscriminativeFactors() {
    // deploy/bench/two-stage.sh: alpha 0.3 in the second stage lost 10 points to scratch on UCI digits, alpha 1 won 17
    FinetuneConfig c = config(dir.resolve("expand").toUri().toString(), "strategy=two-stage", "epochs=6", "headEpochs=2",
        "optimizer.learningRate=0.002", "alpha=0.3");
    assertThat(Strategies.expand(c, null, 1)).extracting(FinetuneConfig.StageConfig::name, FinetuneConfig.StageConfig::trainFrom,
        FinetuneConfig.StageConfig::epochs, FinetuneConfig.StageConfig::learningRate, FinetuneConfig.StageConfig::alpha)
        .containsExactly(tuple("head", "head", 2, 0.002, 1.0), tuple("all", "all", 4, 0.001, 1.0));
  }

  @Test
  void resumeContinuesInsideTheSecondStage() throws Exception {
    String out = dir.resolve("resume").toUri().toString();
    FinetuneConfig c = config(out, "strategy=two-stage", "epochs=3", "headEpochs=1");
    assertThatThrownBy(() -> FinetuneJob.run(c, spark, quiet().withListener((m, n) -> {
      if (m.round() == 2) {
        throw new IllegalStateException("driver killed");
      }
    }))).hasMessage("driver killed");
    assertThat(dir.resolve("resume/model.zip")).doesNotExist();
    List<Integer> rounds = new ArrayList<>();
    FinetuneJob.Result r = FinetuneJob.run(c, spark, quiet().withResume(true).withListener((m, n) -> rounds.add(m.round())));
    assertThat(rounds).containsExactly(3);
    assertThat(r.history()).extracting(RoundMetrics::stage).containsExactly("head", "all", "all");
  }

  @Test
  void augmentationTurnsTheFeatureCacheOffAndSaysSo() throws Exception {
    String out = dir.resolve("aug").toUri().toString();
    List<String> lines = new ArrayList<>();
    FinetuneJob.Result r = FinetuneJob.run(config(out, "strategy=feature-extraction", "epochs=1", "augmentation.shift=2",
        "augmentation.rotation=10"), spark, new JobOptions(false, List.of(), lines::add));
    assertThat(r.stages().get(0).cachedFeatures()).isFalse();
    assertThat(lines).contains("stage head: augmentation changes the inputs every round, so the frozen base's outputs cannot be cached; "
        + "training through the frozen base");
  }

  @Test
  void aLabelBudgetDrawnFromTheTestSetIsLeftOutOfIt() throws Exception {
    String digits = SparkTests.digits28();
    FinetuneJob.Result r = FinetuneJob.run(config(dir.resolve("same").toUri().toString(), "data.train=" + digits, "data.test=" + digits,
        "data.labelsPerClass=10", "strategy=feature-extraction", "epochs=1"), spark, quiet());
    assertThat(r.trainRows() + r.valRows()).isEqualTo(100);
    assertThat(r.testRows()).as("1,797 digits less the 100 drawn").isEqualTo(1697);
    assertThatThrownBy(() -> FinetuneJob.validate(config(dir.resolve("all").toUri().toString(), "data.train=" + digits, "data.test=" + digits,
        "data.labelsPerClass=0"), storage, false))
        .hasMessage("data.test is data.train (" + digits + ") and every row of it trains: set data.labelsPerClass to draw a label budget, "
            + "the rest is the test set, or give a separate test set");
  }

  @Test
  void badInputsAreNamedBeforeTraining() throws Exception {
    String out = dir.resolve("bad").toUri().toString();
    assertThatThrownBy(() -> FinetuneJob.validate(config(out, "stages=[{trainFrom: conv9}]"), storage, false))
        .isInstanceOf(ConfigException.class)
        .hasMessage("Cannot fine-tune from a layer: layer 'conv9' not found in model (layers: conv1, bn1, pool1, conv2, bn2, pool2, dense1, output)");
    assertThatThrownBy(() -> FinetuneJob.validate(config(out, "strategy=adapters", "adapters.after=[conv2]"), storage, false))
        .hasMessage("Cannot insert an adapter after layer 'conv2': adapters go after dense layers, and it is a ConvolutionLayer");
    assertThatThrownBy(() -> FinetuneJob.validate(config(out, "source=" + dir.resolve("none")), storage, false))
        .hasMessage("Source model not found: " + dir.resolve("none"));
    String digits = dir.resolve("digits").toUri().toString();
    ImportJob.run(ImportConfig.of(ImportFormat.DIGITS_CSV, TestData.raw("digits").resolve("digits.csv.gz").toUri().toString(), digits),
        spark, s -> {});
    assertThatThrownBy(() -> FinetuneJob.validate(config(out, "data.train=" + digits, "data.test=" + digits), storage, false))
        .hasMessage("Cannot fine-tune: the target's features are [1, 8, 8] (64 values) but model " + SparkTests.lenetSource()
            + " takes 784 inputs");
    assertThatThrownBy(() -> FinetuneJob.validate(config(out, "strategy=two-stage", "alpha=1.5"), storage, false))
        .hasMessage("alpha must be in (0, 1], cannot be: 1.5");
  }
}
