package io.graft.jobs.finetune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.graft.config.ConfigException;
import io.graft.config.ConfigLoader;
import io.graft.engine.JobOptions;
import io.graft.engine.RoundMetrics;
import io.graft.jobs.JobMain;
import io.graft.jobs.importer.ModelImportJob;
import io.graft.store.Storage;
import io.graft.surgery.GraphInserts;
import io.graft.testing.SparkTests;
import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.assertj.core.data.Offset;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * {@code graft finetune} on ComputationGraph sources: a residual graph written with plain DL4J
 * (names Graft did not choose, a skip connection, batch norm) through every strategy, frozen
 * vertices bit-identical under weight decay, a cut at the merge vertex, discriminative rates per
 * group, and a PyTorch-trained CNN imported from ONNX that transfers to UCI digits.
 */
class GraphFinetuneTest {
  static final SparkSession SPARK = SparkTests.spark();
  static final Storage STORAGE = new Storage(SPARK.sparkContext().hadoopConfiguration());
  static final List<String> PARAMETER_VERTICES = List.of("entry", "block.conv", "block.bn", "block.shortcut", "dense_top", "classifier");
  @TempDir static Path shared;
  @TempDir Path dir;
  static String residual;
  static String pytorchCnn;
  static String kerasTrunk;

  /** A small residual CNN as someone outside Graft writes and saves it with DL4J. */
  @BeforeAll
  static void sources() throws Exception {
    ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(11).updater(new Adam(1e-3)).graphBuilder()
        .addInputs("pixels").setInputTypes(InputType.convolutionalFlat(28, 28, 1))
        .addLayer("entry", new ConvolutionLayer.Builder(5, 5).stride(2, 2).nOut(8).activation(Activation.RELU).build(), "pixels")
        .addLayer("block.conv", new ConvolutionLayer.Builder(3, 3).convolutionMode(ConvolutionMode.Same).nOut(8).activation(Activation.IDENTITY)
            .build(), "entry")
        .addLayer("block.bn", new BatchNormalization.Builder().activation(Activation.RELU).build(), "block.conv")
        .addLayer("block.shortcut", new ConvolutionLayer.Builder(1, 1).nOut(8).activation(Activation.IDENTITY).build(), "entry")
        .addVertex("block.merge", new ElementWiseVertex(ElementWiseVertex.Op.Add), "block.bn", "block.shortcut")
        .addLayer("gap", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "block.merge")
        .addLayer("dense_top", new DenseLayer.Builder().nOut(16).activation(Activation.RELU).build(), "gap")
        .addLayer("classifier", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10).activation(Activation.SOFTMAX).build(),
            "dense_top")
        .setOutputs("classifier").build();
    ComputationGraph g = new ComputationGraph(conf);
    g.init();
    File zip = shared.resolve("residual.zip").toFile();
    ModelSerializer.writeModel(g, zip, true);
    residual = zip.toString();

    Path onnx = Path.of("..", "common", "src", "test", "resources", "onnx", "mnist-cnn.onnx").toAbsolutePath();
    pytorchCnn = shared.resolve("mnist-cnn").toString();
    assertThat(JobMain.run(ModelImportJob.JOB, "--format", "onnx", "--input", onnx.toString(), "--output", pytorchCnn, "--mean", "0.1307",
        "--std", "0.3081")).isZero();

    // a convolutional trunk Keras wrote (channel-last, batch norm, LeakyReLU, dropout), with a new 10-class head
    Path keras = Path.of("..", "common", "src", "test", "resources", "keras", "wgan_discriminator.h5").toAbsolutePath();
    kerasTrunk = shared.resolve("keras-trunk").toString();
    assertThat(JobMain.run(ModelImportJob.JOB, "--format", "keras", "--input", keras.toString(), "--output", kerasTrunk, "--classes", "10"))
        .isZero();
  }

  private FinetuneConfig config(String source, String output, String... overrides) {
    List<String> sets = new ArrayList<>(List.of("source=" + source, "data.train=" + SparkTests.digits28(), "data.test=" + SparkTests.digits28(),
        "data.labelsPerClass=20", "training.batchSizePerWorker=32", "training.averagingFrequency=2", "epochs=2", "output=" + output));
    sets.addAll(List.of(overrides));
    return ConfigLoader.load(null, sets, FinetuneConfig.class);
  }

  private static ComputationGraph load(Path out) throws Exception {
    return ModelSerializer.restoreComputationGraph(out.resolve("model.zip").toFile(), false);
  }

  @Test
  void everyStrategyFineTunesAPlainDl4jGraphWithASkipConnection() throws Exception {
    ComputationGraph base = FinetunePlan.of(config(residual, dir.resolve("p").toString()), STORAGE, false).graph().base();
    long all = PARAMETER_VERTICES.stream().mapToLong(v -> base.getVertex(v).numParams()).sum();
    long head = base.getVertex("classifier").numParams();
    Map<String, List<Long>> trained = new HashMap<>();
    Map<String, Long> inserted = new HashMap<>();
    for (String strategy : List.of("scratch", "feature-extraction", "full", "two-stage", "gradual-unfreeze", "discriminative", "adapters",
        "lora")) {
      Path out = dir.resolve(strategy);
      FinetuneJob.Result r = FinetuneJob.run(config(residual, out.toString(), "strategy=" + strategy, "adapters.after=[block.merge]",
          "adapters.size=4", "lora.rank=2"), SPARK, JobOptions.quiet());
      trained.put(strategy, r.stages().stream().map(FinetuneJob.StageReport::trainableParameters).toList());
      assertThat(r.testAccuracy()).as(strategy).isGreaterThan(0.0);
      ComputationGraph written = load(out);
      assertThat(written.getConfiguration().getVertices().keySet()).as(strategy).contains("block.merge", "classifier");
      assertThat(written.getOutputLayer(0).getParam("b").length()).isEqualTo(10);
      long added = written.getConfiguration().getVertices().keySet().stream().filter(GraphInserts::isInserted)
          .mapToLong(v -> written.getVertex(v).numParams()).sum();
      inserted.put(strategy, added);
      assertThat(r.stages()).allSatisfy(s -> assertThat(s.totalParameters()).isEqualTo(all + added));
    }
    assertThat(trained.get("feature-extraction")).containsExactly(head);
    assertThat(trained.get("full")).containsExactly(all);
    assertThat(trained.get("scratch")).containsExactly(all);
    assertThat(trained.get("two-stage")).containsExactly(head, all);
    // groups entry, block, dense_top, classifier: unfrozen from the top, one group per stage
    assertThat(trained.get("gradual-unfreeze")).hasSize(4).isSorted().startsWith(head).endsWith(all);
    assertThat(trained.get("discriminative")).containsExactly(all);
    // one adapter on the merge's 8 channels: 1x1 convolutions 8 -> 4 -> 8 with biases
    assertThat(inserted.get("adapters")).isEqualTo(8 * 4 + 4 + 4 * 8 + 8);
    assertThat(trained.get("adapters")).containsExactly(head + inserted.get("adapters"));
    // rank 2 on entry (5x5, 1 -> 8), block.conv (3x3, 8 -> 8), block.shortcut (1x1, 8 -> 8) and dense_top (8 -> 16)
    assertThat(inserted.get("lora")).isEqualTo((25 * 2 + 2 * 8) + (72 * 2 + 2 * 8) + (8 * 2 + 2 * 8) + (8 * 2 + 2 * 16));
    assertThat(trained.get("lora")).containsExactly(head + inserted.get("lora"));
    assertThat(inserted.get("full")).isZero();
  }

  @Test
  void loraOnALayerStackTurnsItIntoAGraphWithItsNamesAndLeavesTheBaseUntouched() throws Exception {
    Path out = dir.resolve("lora-lenet");
    FinetuneConfig c = config(SparkTests.lenetSource(), out.toString(), "strategy=lora", "lora.layers=[conv2, dense1]", "lora.rank=4",
        "optimizer.weightDecay=0.05");
    ComputationGraph before = FinetunePlan.of(c, STORAGE, false).graph().base();
    FinetuneJob.Result r = FinetuneJob.run(c, SPARK, JobOptions.quiet());
    ComputationGraph after = load(out);
    assertThat(after.getConfiguration().getVertexInputs().get("dense1")).containsExactly("dense1.lora");
    for (String v : List.of("conv1", "conv2.base", "dense1.base")) {
      assertThat(after.getVertex(v).params()).as(v).isEqualTo(before.getVertex(v).params());
    }
    assertThat(after.getVertex("dense1.lora_b").params().amaxNumber().doubleValue()).isGreaterThan(0);
    assertThat(r.testAccuracy()).isGreaterThan(0.5);
    assertThatThrownBy(() -> FinetunePlan.of(config(SparkTests.lenetSource(), out.toString(), "strategy=lora", "lora.layers=[pool1]"),
        STORAGE, false)).hasMessage("Cannot put LoRA on 'pool1': it is a SubsamplingLayer; LoRA applies to dense and convolution layers");
    assertThatThrownBy(() -> FinetunePlan.of(config(SparkTests.lenetSource(), out.toString(), "strategy=lora", "lora.layers=[conv1]",
        "lora.rank=20"), STORAGE, false)).hasMessageStartingWith("LoRA rank 20 is not smaller than layer 'conv1' (25 inputs, ");
  }

  @Test
  void frozenVerticesStayBitIdenticalUnderWeightDecayAndBatchNormKeepsItsStatistics() throws Exception {
    Path out = dir.resolve("frozen");
    FinetuneConfig c = config(residual, out.toString(), "strategy=feature-extraction", "optimizer.weightDecay=0.05", "epochs=2");
    ComputationGraph before = FinetunePlan.of(c, STORAGE, false).graph().base();
    FinetuneJob.run(c, SPARK, JobOptions.quiet());
    ComputationGraph after = load(out);
    for (String v : List.of("entry", "block.conv", "block.bn", "block.shortcut", "dense_top")) {
      assertThat(after.getVertex(v).params()).as(v).isEqualTo(before.getVertex(v).params());
    }
    assertThat(after.getVertex("classifier").params()).isNotEqualTo(before.getVertex("classifier").params());

    // batch norm that trains inside the frozen part changes the base's outputs every step: no feature cache, and it trains
    Path bn = dir.resolve("frozen-bn-trains");
    FinetuneJob.Result r = FinetuneJob.run(config(residual, bn.toString(), "strategy=feature-extraction", "surgery.freezeBatchNorm=false",
        "epochs=2"), SPARK, JobOptions.quiet());
    assertThat(r.stages().get(0).cachedFeatures()).isFalse();
    ComputationGraph adapted = load(bn);
    assertThat(adapted.getVertex("block.bn").params()).isNotEqualTo(before.getVertex("block.bn").params());
    assertThat(adapted.getVertex("block.conv").params()).isEqualTo(before.getVertex("block.conv").params());
  }

  @Test
  void aCutAtTheMergeVertexFreezesBothOfItsBranches() throws Exception {
    Path out = dir.resolve("merge");
    FinetuneConfig c = config(residual, out.toString(), "stages=[{name: top, trainFrom: block.merge, epochs: 2}]");
    ComputationGraph before = FinetunePlan.of(c, STORAGE, false).graph().base();
    FinetuneJob.Result r = FinetuneJob.run(c, SPARK, JobOptions.quiet());
    ComputationGraph after = load(out);
    for (String v : List.of("entry", "block.conv", "block.bn", "block.shortcut")) {
      assertThat(after.getVertex(v).params()).as(v + " (below the merge)").isEqualTo(before.getVertex(v).params());
    }
    for (String v : List.of("dense_top", "classifier")) {
      assertThat(after.getVertex(v).params()).as(v + " (above the merge)").isNotEqualTo(before.getVertex(v).params());
    }
    assertThat(r.stages().get(0).trainableParameters()).isEqualTo(before.getVertex("dense_top").numParams()
        + before.getVertex("classifier").numParams());

    assertThatThrownBy(() -> FinetunePlan.of(config(residual, dir.resolve("x").toString(), "stages=[{name: s, trainFrom: block.merg}]"),
        STORAGE, false)).isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("Cannot fine-tune from 'block.merg': no such group or vertex (groups: entry, block, dense_top, classifier; vertices: ")
        .hasMessageContaining("block.merge");
  }

  /**
   * Feature extraction on the frozen base's cached outputs trains the same head as feature extraction through the frozen base
   * (same seed, same minibatches, Graft's averaging both times); a cut the trainable part reads at two vertices trains through.
   */
  @Test
  void aCachedFrozenBaseTrainsTheSameHeadAsTrainingThroughIt() throws Exception {
    List<String> lines = new ArrayList<>();
    FinetuneJob.Result cached = FinetuneJob.run(config(residual, dir.resolve("cached").toString(), "training.engine=graft",
        "stages=[{name: head, trainFrom: head, epochs: 3, cacheFeatures: true}]"), SPARK, new JobOptions(false, List.of(), lines::add));
    FinetuneJob.Result through = FinetuneJob.run(config(residual, dir.resolve("through").toString(), "training.engine=graft",
        "stages=[{name: head, trainFrom: head, epochs: 3, cacheFeatures: false}]"), SPARK, JobOptions.quiet());
    assertThat(cached.stages().get(0).cachedFeatures()).isTrue();
    assertThat(through.stages().get(0).cachedFeatures()).isFalse();
    assertThat(lines).anyMatch(l -> l.startsWith("stage head: frozen base's outputs (vertex 'dense_top', 16 values a row) cached in"));
    INDArray a = load(dir.resolve("cached")).getVertex("classifier").params();
    INDArray b = load(dir.resolve("through")).getVertex("classifier").params();
    assertThat(a.sub(b).amaxNumber().doubleValue()).isLessThan(1e-4);
    assertThat(a.sub(FinetunePlan.of(config(residual, dir.resolve("p2").toString()), STORAGE, false).graph().base().getVertex("classifier")
        .params()).amaxNumber().doubleValue()).as("the head trained").isGreaterThan(1e-3);

    List<String> merge = new ArrayList<>();
    FinetuneJob.Result r = FinetuneJob.run(config(residual, dir.resolve("two-boundaries").toString(),
        "stages=[{name: top, trainFrom: block.merge, epochs: 1}]"), SPARK, new JobOptions(false, List.of(), merge::add));
    assertThat(r.stages().get(0).cachedFeatures()).isFalse();
    assertThat(merge).contains("stage top: the trainable vertices read the frozen part at more than one vertex, so the frozen base's outputs "
        + "cannot be cached; training through the frozen base");
  }

  /** One SGD step with alpha a and with alpha 1 from the same weights on the same batch: the updates' ratio per group is a^(L-l). */
  @Test
  void discriminativeRatesScaleEachGroupByAlphaToItsDepth() throws Exception {
    Map<String, Double> uniform = oneStepUpdates(1.0);
    Map<String, Double> disc = oneStepUpdates(0.5);
    Map<String, Integer> level = Map.of("entry", 1, "block.conv", 2, "block.shortcut", 2, "dense_top", 3, "classifier", 4);
    for (Map.Entry<String, Integer> e : level.entrySet()) {
      double expected = Math.pow(0.5, 4 - e.getValue());
      assertThat(disc.get(e.getKey()) / uniform.get(e.getKey())).as(e.getKey()).isCloseTo(expected, Offset.offset(1e-3 * expected));
    }
  }

  private Map<String, Double> oneStepUpdates(double alpha) throws Exception {
    Path out = dir.resolve("disc-" + alpha);
    FinetuneConfig c = config(residual, out.toString(), "stages=[{name: one, trainFrom: all, epochs: 1, alpha: " + alpha + ", learningRate: 0.01}]",
        "optimizer.updater=sgd", "data.labelsPerClass=4", "data.validationFraction=0.2", "training.workers=1", "training.batchSizePerWorker=64",
        "training.averagingFrequency=1", "training.approach=direct");
    FinetuneJob.run(c, SPARK, JobOptions.quiet());
    ComputationGraph before = FinetunePlan.of(c, STORAGE, false).graph().base();
    ComputationGraph after = load(out);
    Map<String, Double> norms = new HashMap<>();
    for (String v : List.of("entry", "block.conv", "block.shortcut", "dense_top", "classifier")) {
      INDArray delta = after.getVertex(v).params().sub(before.getVertex(v).params());
      norms.put(v, delta.norm2Number().doubleValue());
    }
    return norms;
  }

  /**
   * PyTorch's MNIST CNN, imported from ONNX, as a frozen feature extractor with a new head, against the same architecture from
   * scratch, at 10 labels per class of MNIST test digits (rows PyTorch never trained on): its features carry what PyTorch learned
   * through the import and the frozen graph.
   */
  @Test
  void aPyTorchCnnImportedFromOnnxTransfersWhatItLearned() throws Exception {
    FinetuneJob.Result[] r = featureExtractionAndScratch(pytorchCnn, "onnx");
    assertThat(r[0].testAccuracy()).as("transfer vs scratch %.4f", r[1].testAccuracy()).isGreaterThan(0.8)
        .isGreaterThan(r[1].testAccuracy() + 0.10);
    assertThat(r[0].history()).extracting(RoundMetrics::stage).containsOnly("head");
    assertThat(r[0].stages().get(0).cachedFeatures()).as("fc1's outputs cached").isTrue();
  }

  /** Feature extraction and training from scratch of the same source, at 10 labels per class of MNIST test digits. */
  private FinetuneJob.Result[] featureExtractionAndScratch(String source, String name) throws Exception {
    List<String> common = List.of("data.train=" + SparkTests.mnistTest(), "data.test=" + SparkTests.mnistTest(), "data.labelsPerClass=10",
        "epochs=25", "optimizer.learningRate=0.01", "training.batchSizePerWorker=16", "training.engine=graft");
    FinetuneJob.Result transfer = FinetuneJob.run(config(source, dir.resolve(name + "-fe").toString(),
        concat(common, "strategy=feature-extraction")), SPARK, JobOptions.quiet());
    FinetuneJob.Result scratch = FinetuneJob.run(config(source, dir.resolve(name + "-scratch").toString(),
        concat(common, "strategy=scratch")), SPARK, JobOptions.quiet());
    return new FinetuneJob.Result[] {transfer, scratch};
  }

  /**
   * A Keras trunk imported from HDF5 is a source like the others: its frozen, channel-last outputs are cached and a head
   * trained on them beats the same graph trained from scratch, at 10 labels per class of MNIST test digits.
   */
  @Test
  void aKerasTrunkImportedFromHdf5TransfersWhatItLearned() throws Exception {
    FinetuneJob.Result[] r = featureExtractionAndScratch(kerasTrunk, "keras");
    assertThat(r[0].stages().get(0).cachedFeatures()).as("dropout_4's channel-last outputs cached").isTrue();
    assertThat(r[0].testAccuracy()).as("transfer vs scratch %.4f", r[1].testAccuracy()).isGreaterThan(0.65)
        .isGreaterThan(r[1].testAccuracy() + 0.04);
  }

  private static String[] concat(List<String> a, String b) {
    List<String> all = new ArrayList<>(a);
    all.add(b);
    return all.toArray(String[]::new);
  }

  @Test
  void aGraphRunThatDiesResumesInsideItsSecondStage() throws Exception {
    Path out = dir.resolve("resume");
    FinetuneConfig c = config(residual, out.toString(), "strategy=two-stage", "epochs=3", "headEpochs=1");
    assertThatThrownBy(() -> FinetuneJob.run(c, SPARK, JobOptions.quiet().withListener((m, n) -> {
      if (m.round() == 2) {
        throw new IllegalStateException("driver killed");
      }
    }))).hasMessage("driver killed");
    assertThat(out.resolve("model.zip")).doesNotExist();
    List<Integer> rounds = new ArrayList<>();
    FinetuneJob.Result r = FinetuneJob.run(c, SPARK, JobOptions.quiet().withResume(true).withListener((m, n) -> rounds.add(m.round())));
    assertThat(rounds).containsExactly(3);
    assertThat(r.history()).extracting(RoundMetrics::stage).containsExactly("head", "all", "all");
  }

  /** LoRA and adapters change the graph before training: a resumed run rebuilds them and goes on from the checkpoint's weights. */
  @Test
  void loraAndAdapterRunsThatDieResumeMidStage() throws Exception {
    int sourceVertices = ModelSerializer.restoreComputationGraph(new File(residual), false).getConfiguration().getVertices().size();
    for (String[] strategy : new String[][] {{"lora"}, {"adapters", "adapters.after=[block.merge]"}}) {
      Path out = dir.resolve("resume-" + strategy[0]);
      List<String> sets = new ArrayList<>(List.of("strategy=" + strategy[0], "epochs=2"));
      sets.addAll(List.of(strategy).subList(1, strategy.length));
      FinetuneConfig c = config(residual, out.toString(), sets.toArray(String[]::new));
      assertThatThrownBy(() -> FinetuneJob.run(c, SPARK, JobOptions.quiet().withListener((m, n) -> {
        if (m.round() == 1) {
          throw new IllegalStateException("driver killed");
        }
      }))).hasMessage("driver killed");
      List<Integer> rounds = new ArrayList<>();
      FinetuneJob.Result r = FinetuneJob.run(c, SPARK, JobOptions.quiet().withResume(true).withListener((m, n) -> rounds.add(m.round())));
      assertThat(rounds).as(strategy[0]).containsExactly(2);
      assertThat(r.history()).as(strategy[0]).extracting(RoundMetrics::stage).containsExactly(strategy[0], strategy[0]);
      assertThat(load(out).getConfiguration().getVertices().size()).as(strategy[0] + ": the served graph keeps its inserted vertices")
          .isGreaterThan(sourceVertices);
    }
  }
}
