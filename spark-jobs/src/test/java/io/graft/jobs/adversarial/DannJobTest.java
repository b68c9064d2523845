package io.graft.jobs.adversarial;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.config.ConfigLoader;
import io.graft.engine.JobOptions;
import io.graft.engine.MetricsLog;
import io.graft.engine.SyncAveraging;
import io.graft.spark.GraftDatasets;
import io.graft.spark.TaskRows;
import io.graft.store.Storage;
import io.graft.testing.SparkTests;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

class DannJobTest {
  private static DannConfig config(String output, String... overrides) {
    List<String> all = new ArrayList<>(List.of("source.train=" + SparkTests.mnistTrain(), "source.test=" + SparkTests.mnistTest(),
        "target.train=" + SparkTests.digits28(), "model.convChannels=[8, 16]", "model.dense=64", "training.epochs=1",
        "training.batchSizePerWorker=32", "training.maxRows=3000", "optimizer.updater=nesterovs", "optimizer.learningRate=0.01",
        "adversarial.lambda=0.3", "output=" + output));
    all.addAll(List.of(overrides));
    return ConfigLoader.load(null, all, DannConfig.class);
  }

  @Test
  void everyExecutorStartsEveryAveragingStepFromTheBroadcastWeightsAndTheModelServesTheTarget() throws Exception {
    String out = SparkTests.work().resolve("dann-e2e").toUri().toString();
    List<SyncAveraging.Step> steps = new ArrayList<>();
    DannJob.Result r = DannJob.run(config(out, "training.epochs=2"), SparkTests.spark(), JobOptions.quiet(), steps::add);

    assertThat(steps).hasSizeGreaterThan(10);
    for (SyncAveraging.Step s : steps) {
      assertThat(s.workers()).isEqualTo(2);
      assertThat(s.startChecksums()).as("round %d step %d", s.round(), s.step()).hasSize(2).containsOnly(s.broadcastChecksum());
    }
    assertThat(steps.stream().map(SyncAveraging.Step::broadcastChecksum).distinct().count()).as("weights move between steps")
        .isEqualTo(steps.size());

    Storage storage = new Storage(SparkTests.spark().sparkContext().hadoopConfiguration());
    Path output = new Path(out);
    assertThat(storage.exists(new Path(output, "graph.zip"))).isTrue();
    assertThat(storage.exists(new Path(output, "_checkpoint"))).isFalse();
    List<com.fasterxml.jackson.databind.JsonNode> metrics = MetricsLog.read(storage, output);
    assertThat(metrics).hasSize(2);
    for (String key : List.of("train_loss", "source_accuracy", "target_accuracy", "domain_accuracy", "domain_loss", "lambda", "learning_rate")) {
      assertThat(metrics.get(1).has(key)).as(key).isTrue();
    }
    assertThat(metrics.get(1).get("lambda").asDouble()).isGreaterThan(metrics.get(0).get("lambda").asDouble());
    assertThat(metrics.get(1).get("learning_rate").asDouble()).isLessThan(metrics.get(0).get("learning_rate").asDouble());
    assertThat(r.sourceAccuracy()).isGreaterThan(0.7);
    assertThat(r.targetAccuracy()).isGreaterThan(0.2);

    // model.zip is a plain MultiLayerNetwork: trunk + label head, no reversal layer.
    MultiLayerNetwork model;
    try (InputStream in = storage.open(new Path(output, DannJob.MODEL_FILE))) {
      model = ModelSerializer.restoreMultiLayerNetwork(in, false);
    }
    ComputationGraph graph;
    try (InputStream in = storage.open(new Path(output, DannJob.GRAPH_FILE))) {
      graph = ModelSerializer.restoreComputationGraph(in, false);
    }
    INDArray x = Nd4j.rand(DataType.FLOAT, 5, 784);
    assertThat(model.output(x, false)).isEqualTo(graph.output(false, x)[0]);
  }

  @Test
  void aResidualTrunkTrainsAdversariallyAndServesTheTargetAsAGraph() throws Exception {
    String out = SparkTests.work().resolve("dann-resnet").toUri().toString();
    DannJob.Result r = DannJob.run(config(out, "model.architecture=resnet", "model.stages=[1, 1]", "model.widths=[16, 32]",
        "training.maxRows=3000", "training.epochs=2", "optimizer.updater=adam", "optimizer.learningRate=0.003"), SparkTests.spark(), JobOptions.quiet());
    // a residual trunk this small warms up slowly: 0.36-0.37 after two rounds at Adam 0.003, 0.1 untrained. At 0.01 the
    // two rounds are chaotic (0.09 to 0.46 for float differences of 1e-6 in batch norm, or another seed)
    assertThat(r.sourceAccuracy()).as("an untrained trunk scores 0.1").isGreaterThan(0.25);

    Storage storage = new Storage(SparkTests.spark().sparkContext().hadoopConfiguration());
    ComputationGraph model;
    ComputationGraph graph;
    try (InputStream in = storage.open(new Path(out, DannJob.MODEL_FILE))) {
      model = ModelSerializer.restoreComputationGraph(in, false);
    }
    try (InputStream in = storage.open(new Path(out, DannJob.GRAPH_FILE))) {
      graph = ModelSerializer.restoreComputationGraph(in, false);
    }
    assertThat(model.getConfiguration().getNetworkOutputs()).containsExactly("label");
    assertThat(model.getConfiguration().getVertices()).containsKeys("stem", "stage2.block1.proj", "pool").doesNotContainKeys("domain",
        "domainReversal");
    INDArray x = Nd4j.rand(DataType.FLOAT, 5, 784);
    assertThat(model.outputSingle(x)).isEqualTo(graph.output(false, x)[0]);
  }

  /**
   * target.adaptBatchNorm: the served model's batch-norm layers hold the mean and variance of their
   * inputs over the target's rows, bottom up (a layer's statistics are those of its input with the
   * layers below already adapted); graph.zip keeps the training statistics.
   */
  @Test
  void adaptedBatchNormHoldsTheTargetsStatisticsLayerByLayer() throws Exception {
    String out = SparkTests.work().resolve("dann-adabn").toUri().toString();
    DannJob.Result r = DannJob.run(config(out, "model.architecture=resnet", "model.stages=[1, 1]", "model.widths=[8, 16]",
        "training.maxRows=1000", "optimizer.updater=adam", "optimizer.learningRate=0.01", "adversarial.lambda=0", "target.transductive=true",
        "target.adaptBatchNorm=true"), SparkTests.spark(), JobOptions.quiet());
    Storage storage = new Storage(SparkTests.spark().sparkContext().hadoopConfiguration());
    ComputationGraph model;
    ComputationGraph trained;
    try (InputStream in = storage.open(new Path(out, DannJob.MODEL_FILE))) {
      model = ModelSerializer.restoreComputationGraph(in, false);
    }
    try (InputStream in = storage.open(new Path(out, DannJob.GRAPH_FILE))) {
      trained = ModelSerializer.restoreComputationGraph(in, false);
    }
    List<Row> rows = SparkTests.spark().read().parquet(SparkTests.digits28()).select(GraftDatasets.FEATURES).collectAsList();
    INDArray x = Nd4j.create(DataType.FLOAT, rows.size(), 784);
    for (int i = 0; i < rows.size(); i++) {
      List<Float> f = rows.get(i).getList(0);
      for (int j = 0; j < 784; j++) {
        x.putScalar(i, j, f.get(j));
      }
    }
    Map<String, INDArray> acts = model.feedForward(x, false);
    for (String[] bnAndInput : new String[][] {{"stem.bn", "stem"}, {"stage2.block1.bn2", "stage2.block1.conv2"}}) {
      INDArray in = acts.get(bnAndInput[1]).permute(1, 0, 2, 3).dup('c').reshape(8 << (bnAndInput[0].startsWith("stage2") ? 1 : 0), -1)
          .castTo(DataType.DOUBLE);
      INDArray mean = in.mean(1);
      INDArray var = in.var(false, 1);
      INDArray saved = model.getLayer(bnAndInput[0]).getParam("mean");
      assertThat(saved.castTo(DataType.DOUBLE).reshape(mean.shape()).sub(mean).amaxNumber().doubleValue()).as(bnAndInput[0] + " mean")
          .isLessThan(1e-4 * Math.max(1, mean.amaxNumber().doubleValue()));
      INDArray logStd = model.getLayer(bnAndInput[0]).paramTable().get("log10stdev");
      double eps = ((org.deeplearning4j.nn.conf.layers.BatchNormalization) model.getLayer(bnAndInput[0]).conf().getLayer()).getEps();
      INDArray savedVar = logStd == null ? model.getLayer(bnAndInput[0]).getParam("var").castTo(DataType.DOUBLE)
          : Nd4j.createFromArray(java.util.Arrays.stream(logStd.toDoubleVector()).map(l -> Math.pow(10, 2 * l) - eps).toArray());
      assertThat(savedVar.reshape(var.shape()).sub(var).amaxNumber().doubleValue()).as(bnAndInput[0] + " variance")
          .isLessThan(1e-3 * var.amaxNumber().doubleValue());
      assertThat(trained.getLayer(bnAndInput[0]).getParam("mean").sub(saved).amaxNumber().doubleValue()).as("graph.zip keeps training's")
          .isGreaterThan(1e-3);
    }
    com.fasterxml.jackson.databind.JsonNode prov = io.graft.store.Provenance.read(storage, new Path(out));
    assertThat(prov.at("/metrics/adapted_batch_norm_layers").asInt()).isEqualTo(6);
    assertThat(prov.at("/metrics/target_accuracy").asDouble()).isEqualTo(r.targetAccuracy());
    assertThat(prov.at("/metrics/target_accuracy_training_statistics").isNumber()).isTrue();
  }

  @Test
  void unlabelledTargetRowsContributeNothingToTheLabelLoss() throws Exception {
    List<TaskRows.TaskRow> source = new ArrayList<>();
    List<TaskRows.TaskRow> target = new ArrayList<>();
    java.util.Random rng = new java.util.Random(1);
    for (int i = 0; i < 8; i++) {
      source.add(new TaskRows.TaskRow(0, i % 10, randomImage(rng)));
      target.add(new TaskRows.TaskRow(1, (i * 3) % 10, randomImage(rng)));
    }
    List<MultiDataSet> batches = new ArrayList<>();
    new TaskRows.AdversarialBatches(16, 10, 7).call(source.iterator(), target.iterator()).forEachRemaining(batches::add);
    assertThat(batches).hasSize(1);
    MultiDataSet batch = batches.get(0);
    INDArray labelMask = batch.getLabelsMaskArray(0);
    assertThat(labelMask.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 8)).sumNumber().intValue()).isEqualTo(8);
    assertThat(labelMask.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(8, 16)).sumNumber().intValue()).isZero();
    assertThat(batch.getLabels(0).get(org.nd4j.linalg.indexing.NDArrayIndex.interval(8, 16)).sumNumber().intValue())
        .as("target labels never enter the batch").isZero();
    assertThat(batch.getLabels(1).getColumn(1).sumNumber().intValue()).as("domain labels: 8 target rows").isEqualTo(8);

    // Even if a masked row carried a label, the label loss and every gradient would be unchanged.
    ComputationGraph graph = DannJob.plan(config(SparkTests.work().resolve("dann-mask").toString()),
        new Storage(new org.apache.hadoop.conf.Configuration()), false).graph();
    INDArray clean = gradient(graph, batch);
    INDArray poisoned = batch.getLabels(0).dup();
    for (int i = 8; i < 16; i++) {
      poisoned.putScalar(i, rng.nextInt(10), 1f);
    }
    MultiDataSet withLabels = new org.nd4j.linalg.dataset.MultiDataSet(batch.getFeatures(), new INDArray[] {poisoned, batch.getLabels(1)},
        null, batch.getLabelsMaskArrays());
    assertThat(gradient(graph, withLabels)).isEqualTo(clean);
  }

  private static INDArray gradient(ComputationGraph graph, MultiDataSet batch) {
    graph.setInputs(batch.getFeatures());
    graph.setLabels(batch.getLabels());
    graph.setLayerMaskArrays(null, batch.getLabelsMaskArrays());
    graph.computeGradientAndScore();
    return graph.gradient().gradient().dup();
  }

  private static float[] randomImage(java.util.Random rng) {
    float[] x = new float[784];
    for (int i = 0; i < x.length; i++) {
      x[i] = rng.nextFloat();
    }
    return x;
  }

  @Test
  void aRunKilledMidRoundResumesFromTheLastRoundsCheckpoint() throws Exception {
    String out = SparkTests.work().resolve("dann-resume").toUri().toString();
    DannConfig cfg = config(out, "training.epochs=2", "training.maxRows=1000");
    SyncAveraging.StepListener crash = step -> {
      if (step.round() == 2 && step.step() == 1) {
        throw new IllegalStateException("simulated driver crash");
      }
    };
    assertThatThrownBy(() -> DannJob.run(cfg, SparkTests.spark(), JobOptions.quiet(), crash)).hasMessage("simulated driver crash");
    Storage storage = new Storage(SparkTests.spark().sparkContext().hadoopConfiguration());
    // the crashed run's rounds stay beside its checkpoint; nothing reached the output
    List<com.fasterxml.jackson.databind.JsonNode> before = MetricsLog.read(storage, new Path(out, "_checkpoint"));
    assertThat(before).hasSize(1);
    assertThat(storage.exists(new Path(out, MetricsLog.FILE_NAME))).isFalse();

    DannJob.Result resumed = DannJob.run(cfg, SparkTests.spark(), JobOptions.quiet().withResume(true));
    assertThat(resumed.history()).hasSize(2);
    assertThat(resumed.history().get(0).evalAccuracy()).isEqualTo(before.get(0).get("target_accuracy").asDouble());
    assertThat(resumed.history().get(1).extra().get("lambda")).isGreaterThan(resumed.history().get(0).extra().get("lambda"));
    assertThat(storage.exists(new Path(out, "_checkpoint"))).isFalse();
  }

  @Test
  void theDomainHeadTellsDigitsFromClothesAtLambdaZeroButNotTwoHalvesOfMnist() throws Exception {
    // lambda = 0: the reversal passes no gradient into the trunk, so the domain head is a plain classifier on the trunk's
    // features. MNIST digits and Fashion-MNIST clothes share the input space and nothing else: it must tell them apart on
    // the rows of each domain, not by calling everything one domain (which scores 0.5 balanced).
    DannJob.Result apart = DannJob.run(config(SparkTests.work().resolve("dann-two-domains").toUri().toString(), "adversarial.lambda=0",
        "target.train=" + SparkTests.fashionTrain(), "training.maxRows=2000", "training.epochs=2", "optimizer.updater=adam",
        "optimizer.learningRate=0.002"), SparkTests.spark(), JobOptions.quiet());
    Map<String, Double> last = apart.history().get(apart.history().size() - 1).extra();
    assertThat(last.get("source_domain_accuracy")).as("MNIST rows called MNIST").isGreaterThan(0.8);
    assertThat(last.get("target_domain_accuracy")).as("Fashion-MNIST rows called Fashion-MNIST").isGreaterThan(0.8);

    // the same head on two halves of one dataset has nothing to learn
    DannJob.Result same = DannJob.run(config(SparkTests.work().resolve("dann-same-domain").toUri().toString(), "adversarial.lambda=0",
        "target.train=" + SparkTests.mnistTest(), "target.holdoutFraction=0.5", "training.maxRows=2000"), SparkTests.spark(),
        JobOptions.quiet());
    assertThat(same.domainAccuracy()).isBetween(0.40, 0.60);
    assertThat(apart.domainAccuracy() - same.domainAccuracy()).isGreaterThan(0.3);
  }

  @Test
  void aFixedSplitSeedHoldsOutTheSameTargetRowsWhateverTheTrainingSeed() {
    Storage storage = new Storage(SparkTests.spark().sparkContext().hadoopConfiguration());
    String out = SparkTests.work().resolve("dann-split").toString();
    java.util.function.Function<DannConfig, List<Row>> heldOut = c -> DannJob.split(SparkTests.spark(), storage, c.target(), "target", 784, 10,
        false, c.training(), s -> {}).heldOut().collectAsList();
    List<Row> seed1 = heldOut.apply(config(out, "target.splitSeed=7", "training.seed=1"));
    assertThat(heldOut.apply(config(out, "target.splitSeed=7", "training.seed=2"))).as("same split seed").isEqualTo(seed1);
    assertThat(heldOut.apply(config(out, "training.seed=1"))).as("training seed 1 splits differently from split seed 7").isNotEqualTo(seed1);
    assertThat(heldOut.apply(config(out, "training.seed=7"))).as("without splitSeed the training seed splits").isEqualTo(seed1);
    DannConfig transductive = config(out, "target.transductive=true");
    GraftDatasets.Split both = DannJob.split(SparkTests.spark(), storage, transductive.target(), "target", 784, 10, false,
        transductive.training(), s -> {});
    assertThat(both.train().count()).as("trains on every target row").isEqualTo(both.heldOut().count()).isEqualTo(1797);
  }

  @Test
  void badInputsAreNamedBeforeAnyTraining() {
    Storage storage = new Storage(new org.apache.hadoop.conf.Configuration());
    String out = SparkTests.work().resolve("dann-bad").toString();
    assertThatThrownBy(() -> DannJob.validate(config(out, "target.train=" + SparkTests.work().resolve("nowhere")), storage, false))
        .hasMessageStartingWith("Cannot use target dataset: ");
    assertThatThrownBy(() -> ConfigLoader.load(null, List.of("source.train=a", "target.train=b", "output=c", "adversarial.gamma=0"),
        DannConfig.class)).hasMessage("adversarial.gamma must be positive, cannot be: 0.0");
    assertThatThrownBy(() -> config(out, "target.transductive=true", "target.test=" + SparkTests.mnistTest()))
        .hasMessageStartingWith("target.transductive scores the target's own rows; it cannot take target.test");
    assertThatThrownBy(() -> config(out, "source.transductive=true")).hasMessageStartingWith("source.transductive is not a thing");
    assertThatThrownBy(() -> config(out, "source.adaptBatchNorm=true")).hasMessageStartingWith("source.adaptBatchNorm is not a thing");
    assertThatThrownBy(() -> DannJob.validate(config(out, "target.train=" + SparkTests.fashionTrain(),
        "source.train=" + SparkTests.digits8()), storage, false)).hasMessageContaining("must share one input space");
    assertThatThrownBy(() -> DannJob.validate(config(out), storage, true)).hasMessageStartingWith("Nothing to resume: no checkpoint at");
  }

  @Test
  void theScheduleRampsLambdaFromZeroAndAnnealsTheRate() {
    DannConfig.Adversarial a = new DannConfig.Adversarial(1.0, 10.0, 10.0, 0.75, 100);
    assertThat(a.lambdaAt(0)).isZero();
    assertThat(a.lambdaAt(1)).isCloseTo(2 / (1 + Math.exp(-10)) - 1, org.assertj.core.api.Assertions.within(1e-12));
    assertThat(a.learningRateAt(0.01, 0)).isEqualTo(0.01);
    assertThat(a.learningRateAt(0.01, 1)).isCloseTo(0.01 / Math.pow(11, 0.75), org.assertj.core.api.Assertions.within(1e-12));
    assertThat(new DannConfig.Adversarial(0.0, 10.0, 10.0, 0.75, 100).lambdaAt(0.7)).as("source-only").isZero();
  }
}
